//go:build !unix

package repro

import "time"

var start = time.Now()

// processCPU is the wall-clock time since the program started where the
// process's CPU time is not available.
func processCPU() time.Duration { return time.Since(start) }

// cpuClock says what [processCPU] measures.
const cpuClock = "wall-clock time"
