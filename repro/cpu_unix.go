//go:build unix

package repro

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system, all threads) the process
// has used: timing a pass by it, rather than by the wall clock, does not
// count the time other processes of a shared machine took the cores.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuClock says what [processCPU] measures.
const cpuClock = "CPU time of the process"
