package nn

import (
	"runtime"
	"sync"
)

// parallelFor runs body over [0, n) split into contiguous ranges, one per
// worker, when the work is large enough to pay for goroutines. cost is a
// rough per-item cost in floating-point operations.
func parallelFor(n int, cost int, body func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	if workers <= 1 || n*cost < 1<<15 {
		body(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(lo, hi)
		}()
	}
	wg.Wait()
}

// grow returns buf resliced to length n, reallocating only when its capacity
// is too small.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

func clear32(x []float32) {
	for i := range x {
		x[i] = 0
	}
}

// posMask is all ones when v > 0 and zero otherwise (NaN included), for
// branch-free selection on the bits of a float32.
func posMask(v float32) uint32 {
	var m uint32
	if v > 0 {
		m = ^uint32(0)
	}
	return m
}

// fillRows fills dst (a whole number of rows of len(row) values) with
// copies of row, doubling the filled prefix with each copy: a few large
// copies instead of one small copy per row.
func fillRows(dst, row []float32) {
	if len(dst) == 0 {
		return
	}
	filled := copy(dst, row)
	for filled < len(dst) {
		filled += copy(dst[filled:], dst[:filled])
	}
}
