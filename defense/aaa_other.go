//go:build !amd64 || purego

package defense

// aaaWidths is empty: without the amd64 kernels every row takes the scalar
// path [AAA.row].
var aaaWidths []int

// aaaWidth is 0: the scalar path.
var aaaWidth = 0

// steps is never called without the amd64 kernels.
func steps(l *aaaLanes, b *aaaBufs, width int) { panic("defense: no AAA kernel on this platform") }
