package train_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/train"
)

// The loss surface of ½(w₁² + 4w₂²) around w = (0, 0) along the two
// coordinate axes, on a 3×3 grid over [−1, 1]²: z[i][j] is the loss at
// (α_i, β_j), the centre the model's own loss. (For a network, draw d1
// and d2 with FilterNormalizedDirection and use FullBatchLoss.)
func ExampleLossSurface() {
	m := &vec{a: []float32{1, 4}, w: []float32{0, 0}, g: make([]float32, 2)}
	grid, _ := train.CenteredGrid(1, 3)
	z, _ := train.LossSurface(context.Background(), m, m.closure, []float32{1, 0}, []float32{0, 1}, grid, grid)
	for i, row := range z {
		fmt.Printf("α = %+.0f: %v\n", grid[i], row)
	}
	// Output:
	// α = -1: [2.5 0.5 2.5]
	// α = +0: [2 0 2]
	// α = +1: [2.5 0.5 2.5]
}

// The line L((1−t)·a + t·b) between two points on opposite sides of the
// bowl ½(w₁² + 4w₂²): it dips through the minimum, so the barrier (the
// loss above the straight line between the end losses) is 0 — one basin.
func ExampleLossLine() {
	m := &vec{a: []float32{1, 4}, w: []float32{0, 0}, g: make([]float32, 2)}
	a := train.Endpoint{Weights: []float32{-1, 0}}
	b := train.Endpoint{Weights: []float32{1, 0}}
	ts, _ := train.LineGrid(5, 0.25) // t = −0.25, 0, 0.25, …, 1.25
	losses, _ := train.LossLine(context.Background(), m, m.closure, a, b, ts, nil)
	for k, t := range ts {
		fmt.Printf("t = %+.2f: %.3f\n", t, losses[k])
	}
	barrier, _ := train.Barrier(ts, losses)
	fmt.Printf("barrier %.3f\n", barrier)
	// Output:
	// t = -0.25: 1.125
	// t = +0.00: 0.500
	// t = +0.25: 0.125
	// t = +0.50: 0.000
	// t = +0.75: 0.125
	// t = +1.00: 0.500
	// t = +1.25: 1.125
	// barrier 0.000
}
