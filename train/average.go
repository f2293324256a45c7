package train

import (
	"context"
	"fmt"
	"strings"

	"github.com/trustml/trustml/nn"
)

// SWA is stochastic weight averaging (Izmailov et al., UAI 2018): the
// running mean w̄ ← w̄ + (w − w̄)/(n+1) of the weight vectors added to it,
// kept in float64. Add the weights at the end of every epoch from the
// averaging start on (Config.OnEpoch), copy the average into the network,
// then recompute batch-norm statistics with [UpdateBN].
type SWA struct {
	avg []float64
	n   int
}

// Add folds w into the average.
func (s *SWA) Add(w []float32) error {
	if s.n == 0 {
		s.avg = make([]float64, len(w))
	} else if len(w) != len(s.avg) {
		return fmt.Errorf("train: SWA: averaging %d weights into an average of %d", len(w), len(s.avg))
	}
	inv := 1 / float64(s.n+1)
	for i, v := range w {
		s.avg[i] += (float64(v) - s.avg[i]) * inv
	}
	s.n++
	return nil
}

// N is the number of weight vectors averaged.
func (s *SWA) N() int { return s.n }

// CopyTo writes the average into dst (a network's Weights).
func (s *SWA) CopyTo(dst []float32) error {
	if s.n == 0 {
		return fmt.Errorf("train: SWA: nothing averaged yet")
	}
	if len(dst) != len(s.avg) {
		return fmt.Errorf("train: SWA: average has %d weights, destination %d", len(s.avg), len(dst))
	}
	for i, v := range s.avg {
		dst[i] = float32(v)
	}
	return nil
}

// SWALR is the SWA learning-rate schedule of the reference code, applied
// per step: with t the fraction of the averaging start reached
// (t = (step/total)/StartFrac), the rate is Base for t ≤ 0.5, falls
// linearly to SWA for 0.5 < t ≤ 0.9 and stays at SWA afterwards.
// StartFrac is swa_start/epochs (161/300 in the reference VGG16 run).
type SWALR struct {
	Base, SWA float64
	StartFrac float64
}

// LR implements [Schedule].
func (s SWALR) LR(step, total int) float64 {
	if total <= 0 || s.StartFrac <= 0 {
		return s.SWA
	}
	t := float64(step) / float64(total) / s.StartFrac
	r := s.SWA / s.Base
	factor := r
	switch {
	case t <= 0.5:
		factor = 1
	case t <= 0.9:
		factor = 1 - (1-r)*(t-0.5)/0.4
	}
	return s.Base * factor
}

// BNModel is what [UpdateBN] needs of a network; [nn.Network] implements
// it.
type BNModel interface {
	BNController
	Buffers() []*nn.Buffer
	InputShape() []int
	Forward(x []float32, n int, train bool) []float32
}

var _ BNModel = (*nn.Network)(nil)

// UpdateBN recomputes batch-norm running statistics for the current
// weights, as PyTorch's swa_utils.update_bn: running means are reset to 0
// and variances to 1, then the n inputs x go through the network in
// training mode in batches of batch, the k-th batch with momentum 1/k, so
// the statistics end as the plain average of the per-batch statistics. The
// momentum is restored afterwards. A network without batch norm is left
// unchanged.
func UpdateBN(ctx context.Context, net BNModel, x []float32, batch int) error {
	bufs := net.Buffers()
	if len(bufs) == 0 {
		return nil
	}
	size := 1
	for _, d := range net.InputShape() {
		size *= d
	}
	if batch <= 0 {
		return fmt.Errorf("train: UpdateBN: batch size %d must be positive", batch)
	}
	if len(x) == 0 || len(x)%size != 0 {
		return fmt.Errorf("train: UpdateBN: %d input values are not a positive multiple of the input size %d", len(x), size)
	}
	for _, b := range bufs {
		fill := float32(0)
		switch {
		case strings.HasSuffix(b.Name, "running_var"):
			fill = 1
		case strings.HasSuffix(b.Name, "running_mean"):
		default:
			return fmt.Errorf("train: UpdateBN: unknown buffer %q", b.Name)
		}
		for i := range b.Data {
			b.Data[i] = fill
		}
	}
	m := net.BNMomentum()
	defer net.SetBNMomentum(m)
	n := len(x) / size
	for k, lo := 1, 0; lo < n; k, lo = k+1, lo+batch {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("train: UpdateBN: %w", err)
		}
		hi := min(lo+batch, n)
		net.SetBNMomentum(1 / float32(k))
		net.Forward(x[lo*size:hi*size], hi-lo, true)
	}
	return nil
}
