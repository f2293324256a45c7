package defense

import "slices"

// AAAWidths returns the SIMD kernel widths the CPU can run, widest first.
func AAAWidths() []int { return slices.Clone(aaaWidths) }

// SetAAAWidth selects AAA's kernel by its width (0: the scalar path), for
// benchmarks that compare them, and returns the previous one.
func SetAAAWidth(width int) (was int) {
	was = aaaWidth
	aaaWidth = width
	return was
}
