//go:build amd64 && !purego

package defense

import (
	"strconv"

	"golang.org/x/sys/cpu"
)

// aaaWidths lists the SIMD kernels the CPU can run, by their number of
// float64 lanes (rows per block), widest first: 16 (two interleaved groups
// of 8) and 8 with AVX-512F, 4 with AVX2 and FMA. Each runs AAA's Adam
// steps exactly as the scalar [AAA.row] does (its arithmetic in the same
// order, fused multiply-adds where it calls math.FMA, the same top two
// logits and e_c, so the outputs are bit-for-bit the same). They are chosen at run time from the CPU's
// (and the OS's) features, as internal/linalg chooses its SGEMM.
var aaaWidths = func() []int {
	var w []int
	if cpu.X86.HasAVX512F {
		w = append(w, 16, 8)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		w = append(w, 4)
	}
	return w
}()

// aaaWidth is the kernel [AAA.Apply] uses: the widest, or 0 (scalar).
var aaaWidth = func() int {
	if len(aaaWidths) == 0 {
		return 0
	}
	return aaaWidths[0]
}()

// aaaSteps4 computes the starting exponentials (e, Σe, e_c) and runs
// l.iters Adam steps of AAA on the first four lanes of l with AVX2 and FMA,
// on the vectors of b; see [aaaLanes] and the scalar loop of [AAA.row].
//
//go:noescape
func aaaSteps4(l *aaaLanes, b *aaaBufs)

// aaaSteps8 is aaaSteps4 on the eight lanes of l with AVX-512.
//
//go:noescape
func aaaSteps8(l *aaaLanes, b *aaaBufs)

// aaaSteps16 is aaaSteps4 on the sixteen lanes of l with AVX-512, in two
// interleaved groups of eight.
//
//go:noescape
func aaaSteps16(l *aaaLanes, b *aaaBufs)

// steps runs the Adam steps of l's rows with the kernel of width lanes.
func steps(l *aaaLanes, b *aaaBufs, width int) {
	switch width {
	case 4:
		aaaSteps4(l, b)
	case 8:
		aaaSteps8(l, b)
	case 16:
		aaaSteps16(l, b)
	default:
		panic("defense: no AAA kernel of width " + strconv.Itoa(width))
	}
}
