package defense_test

import "golang.org/x/sys/unix"

// threadCPU returns the calling thread's CPU time in ns, or −1 where it
// cannot be read. On a shared machine it is less sensitive to other load
// than wall time (the thread is not charged while descheduled).
func threadCPU() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return -1
	}
	return ts.Nano()
}
