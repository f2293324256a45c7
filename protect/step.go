package protect

import (
	"context"
	"fmt"
	"math"

	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/nn"
)

// boxBounds returns the float32 interval [lo, hi] of the values v with
// |v − x0| ≤ eps and 0 ≤ v ≤ 1, rounded inward so that the constraint
// holds exactly when checked in float64 on the float32 result.
func boxBounds(x0 float32, eps float64) (lo, hi float32) {
	x := float64(x0)
	l, h := math.Max(0, x-eps), math.Min(1, x+eps)
	lo, hi = float32(l), float32(h)
	if float64(lo) < l {
		lo = math.Nextafter32(lo, 2)
	}
	if float64(hi) > h {
		hi = math.Nextafter32(hi, -1)
	}
	if lo > hi { // x0 outside [0, 1] by rounding: keep what is feasible
		lo, hi = hi, lo
	}
	return lo, hi
}

// projectBox clamps v into the ε-box of x0 intersected with [0, 1].
func projectBox(v, x0 []float32, eps float64) {
	for j, x := range x0 {
		lo, hi := boxBounds(x, eps)
		v[j] = min(max(v[j], lo), hi)
	}
}

// signStep makes one step of error-minimizing (targeted) descent on the
// batch xadv: it sums over the models the input gradient g of the mean
// cross-entropy CE(f(xadv), labels), moves xadv by −alpha·sign(g) and
// projects the result onto the ε-box of the originals x0 and [0, 1]. A
// zero gradient entry does not move (sign(0) = 0, as torch.sign). It is the
// inner step of SEP (labels = the target classes, models = the
// self-ensemble) and of error-minimizing noise (labels = the true classes,
// one model). g and sum are scratch buffers of len(xadv).
func signStep(ctx context.Context, models []model.InputGrader, xadv, x0 []float32, labels []int, eps, alpha float64, g, sum []float32) error {
	loss := nn.CrossEntropyLoss(labels)
	clear(sum)
	for _, m := range models {
		if _, err := m.InputGrad(ctx, g, xadv, loss); err != nil {
			return fmt.Errorf("protect: input gradient: %w", err)
		}
		for j, v := range g {
			sum[j] += v
		}
	}
	a := float32(alpha)
	for j, v := range sum {
		switch {
		case v > 0:
			xadv[j] -= a
		case v < 0:
			xadv[j] += a
		}
	}
	projectBox(xadv, x0, eps)
	return nil
}

// maxLinf is the largest |a_j − b_j|, in float64.
func maxLinf(a, b []float32) float64 {
	var m float64
	for j, v := range a {
		m = math.Max(m, math.Abs(float64(v)-float64(b[j])))
	}
	return m
}
