package unlearn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/train"
)

// BlendMasks returns NatMU's four h×w blending masks (row-major), the
// forget image's weight per pixel, as the reference code builds them: each
// half of the rows (masks 0 and 2) or columns (1 and 3) ramps j/b for
// j = 0..b−1, b = h/2 (w/2), the first half rising and the second falling
// for masks 0 and 1, the reverse for 2 and 3; then delta is added and the
// result clipped to [0, 1].
func BlendMasks(h, w int, delta float64) [4][]float32 {
	var m [4][]float32
	for k := range m {
		m[k] = make([]float32, h*w)
	}
	ramp := func(i, n int) (up, down float64) {
		b := n / 2
		if b == 0 {
			return 0, 0
		}
		half, j := min(i/b, 1), i%b
		if i >= 2*b { // odd size: the last row or column continues the second half
			j = b - 1
		}
		v := float64(j) / float64(b)
		if half == 0 {
			return v, float64(b-1)/float64(b) - v
		}
		return float64(b-1)/float64(b) - v, v
	}
	clip := func(v float64) float32 { return float32(min(max(v+delta, 0), 1)) }
	for r := range h {
		ru, rd := ramp(r, h)
		for c := range w {
			cu, cd := ramp(c, w)
			m[0][r*w+c], m[2][r*w+c] = clip(ru), clip(rd)
			m[1][r*w+c], m[3][r*w+c] = clip(cu), clip(cd)
		}
	}
	return m
}

// NaturalInstances builds NatMU's natural unlearning instances: for every
// forget sample x_f the original model's top-patterns classes other than
// its label are taken, and for the k-th of them (class c) a retain image
// x_r of class c, drawn without replacement, is blended as
// M_k ⊙ x_f + (1 − M_k) ⊙ x_r ([BlendMasks]) and labelled c. When a class
// has no unused retain image left, the next class in the model's ranking
// is used (the reference code's re-balancing of over-picked classes, in
// its simplest form). Images must be C×H×W.
func NaturalInstances(ctx context.Context, net *nn.Network, t *Task, patterns int, delta float64, r *rand.Rand) (*data.Dataset, error) {
	tr := t.Train
	if len(tr.Shape) != 3 {
		return nil, fmt.Errorf("unlearn: natmu blends images; %s has samples of shape %v", tr.Name, tr.Shape)
	}
	ch, h, w := tr.Shape[0], tr.Shape[1], tr.Shape[2]
	masks := BlendMasks(h, w, delta)
	k := net.NumClasses()
	pool := make([][]int, k)
	for _, i := range t.Retain {
		pool[tr.Y[i]] = append(pool[tr.Y[i]], i)
	}
	for c := range pool {
		r.Shuffle(len(pool[c]), func(a, b int) { pool[c][a], pool[c][b] = pool[c][b], pool[c][a] })
	}
	fs := t.ForgetSet()
	logits := make([]float32, fs.Len()*k)
	if err := net.Logits(ctx, logits, fs.X); err != nil {
		return nil, fmt.Errorf("unlearn: natmu: %w", err)
	}
	out := &data.Dataset{Name: tr.Name + " (natmu instances)", Shape: slices.Clone(tr.Shape), Classes: slices.Clone(tr.Classes), Source: tr.Source}
	size := fs.SampleSize()
	order := make([]int, k)
	for i := range fs.Len() {
		row := logits[i*k : (i+1)*k]
		for c := range order {
			order[c] = c
		}
		slices.SortStableFunc(order, func(a, b int) int {
			switch {
			case row[a] > row[b]:
				return -1
			case row[a] < row[b]:
				return 1
			}
			return 0
		})
		xf := fs.Row(i)
		p := 0
		for _, c := range order {
			if p == patterns {
				break
			}
			if c == fs.Y[i] || len(pool[c]) == 0 {
				continue
			}
			j := pool[c][len(pool[c])-1]
			pool[c] = pool[c][:len(pool[c])-1]
			xr := tr.Row(j)
			m := masks[p]
			blend := make([]float32, size)
			for q := range ch {
				for s := range h * w {
					v := q*h*w + s
					blend[v] = min(max(m[s]*xf[v]+(1-m[s])*xr[v], 0), 1)
				}
			}
			out.X = append(out.X, blend...)
			out.Y = append(out.Y, c)
			p++
		}
	}
	return out, nil
}

// NatMU is natural machine unlearning (training.md §13): fine-tune on the
// retain set together with the natural instances ([NaturalInstances],
// h.Patterns per forget sample, mask shift h.Delta), AdamW (weight decay
// 2e-3) on a cosine schedule.
func NatMU(ctx context.Context, net *nn.Network, t *Task, h Hyper, r *rand.Rand, rep progress.Reporter) error {
	e, lr := h.epochsLR("natmu")
	nat, err := NaturalInstances(ctx, net, t, h.Patterns, h.Delta, r)
	if err != nil {
		return err
	}
	rs := t.RetainSet()
	x := append(rs.X, nat.X...)
	y := append(rs.Y, nat.Y...)
	return fit(ctx, net, x, y, train.NewAdamW(lr, 2e-3), e, h.Batch, r, rep)
}
