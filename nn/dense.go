package nn

import (
	"fmt"

	"github.com/trustml/trustml/internal/linalg"
)

// dense is a fully connected layer y = x·Wᵀ + b with W of shape [out, in].
type dense struct {
	in, out int
	w, b    *Param
	st      *state
	x       []float32
	n       int
	y, dx   []float32
	dy      []float32 // the output gradient of the last backward ([Network.Taps])
}

func (l *dense) setup(in []int, b *builder) ([]int, error) {
	if l.out <= 0 {
		return nil, fmt.Errorf("dense layer needs out > 0, got %d", l.out)
	}
	l.in = prod(in)
	l.st = b.st
	l.w = b.param("weight", []int{l.out, l.in}, uniformInit(l.in))
	l.b = b.param("bias", []int{l.out}, uniformInit(l.in))
	return []int{l.out}, nil
}

func (l *dense) forward(x []float32, n int, _ bool) []float32 {
	l.x, l.n = x, n
	l.y = grow(l.y, n*l.out)
	fillRows(l.y, l.b.W)
	linalg.Sgemm(false, true, n, l.out, l.in, 1, x, l.in, l.w.W, l.in, 1, l.y, l.out)
	return l.y
}

func (l *dense) backward(dy []float32, needDX bool) []float32 {
	n := l.n
	l.dy = dy
	if !l.st.skipParamGrad {
		linalg.Sgemm(true, false, l.out, l.in, n, 1, dy, l.out, l.x, l.in, 1, l.w.G, l.in)
		addColSums(l.b.G, dy, n, l.out)
	}
	if !needDX {
		return nil
	}
	l.dx = grow(l.dx, n*l.in)
	linalg.Sgemm(false, false, n, l.in, l.out, 1, dy, l.out, l.w.W, l.in, 0, l.dx, l.in)
	return l.dx
}

// addColSums adds the column sums of the rows×cols matrix m to dst.
func addColSums(dst, m []float32, rows, cols int) {
	j0 := 0
	if avx2Kernels && cols >= 8 && rows > 0 {
		j0 = cols &^ 7
		_ = dst[j0-1]
		_ = m[(rows-1)*cols+j0-1]
		addColSumsAVX2(&dst[0], &m[0], rows, cols, j0)
	}
	if j0 == cols {
		return
	}
	for r := 0; r < rows; r++ {
		row := m[r*cols+j0 : (r+1)*cols]
		for j, v := range row {
			dst[j0+j] += v
		}
	}
}
