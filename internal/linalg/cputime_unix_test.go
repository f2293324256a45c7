//go:build unix

package linalg

import (
	"syscall"
	"time"
)

// cpuTime is the process's user and system CPU time, which on a shared
// machine measures a kernel's speed better than the wall clock.
func cpuTime() time.Duration {
	var r syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &r) != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
