package train

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
)

// errStopCO stops [Fit] when catastrophic overfitting is detected and
// RobustEval.StopOnCO is set.
var errStopCO = errors.New("train: stopped at catastrophic overfitting")

// advRun is the per-epoch robust evaluation of [Run]'s adversarial
// training: the held-out images, the history, the best weights and the
// catastrophic-overfitting epoch.
type advRun struct {
	ev       RobustEval
	eps      float64
	seed     uint64
	x        []float32
	y        []int
	split    string
	title    string
	hist     []RobustEpoch
	best     RobustEpoch
	bestW    []float32
	bestB    []float32
	co       int
	restored int
	rep      progress.Reporter
}

// newAdvRun picks the held-out images: the first N of the holdout
// indices of full when there are any, else the first N of test.
func newAdvRun(cfg *RunConfig, full *data.Dataset, held []int) (*advRun, error) {
	ev := cfg.RobustEval.withDefaults()
	a := &advRun{ev: ev, eps: cfg.Adversarial.Eps, seed: cfg.Seed, rep: progress.Or(cfg.Progress)}
	var src *data.Dataset
	if len(held) > 0 {
		src = full.Subset(held[:min(ev.N, len(held))])
		a.split = fmt.Sprintf("held-out (%d images)", src.Len())
	} else {
		src = cfg.Test.Head(min(ev.N, cfg.Test.Len()))
		a.split = fmt.Sprintf("%s[:%d]", cfg.Test.Name, src.Len())
	}
	if src.Len() == 0 {
		return nil, fmt.Errorf("train: no images for the robust evaluation")
	}
	a.x, a.y = src.X, src.Y
	a.title = fmt.Sprintf("%s on %s, evaluated at ε=%.3g", cfg.Adversarial, full.Name, a.eps)
	return a, nil
}

// eval evaluates net after epoch ep (0: before training), updates the best
// weights, detects CO and writes the plot. It returns errStopCO when
// training should stop.
func (a *advRun) eval(ctx context.Context, net *nn.Network, ep int) error {
	r, err := EvalRobust(ctx, net, a.x, a.y, a.eps, a.ev.PGDSteps, a.seed)
	if err != nil {
		return err
	}
	r.Epoch = ep
	a.hist = append(a.hist, r)
	if a.bestW == nil || r.PGD > a.best.PGD {
		a.best = r
		a.bestW = append(a.bestW[:0], net.Weights()...)
		a.bestB = append(a.bestB[:0], net.BufferData()...)
	}
	a.rep.Log("epoch %d  %s: clean %.2f%%  FGSM %.2f%%  PGD-%d %.2f%%", ep, a.split, 100*r.Clean, 100*r.FGSM, a.ev.PGDSteps, 100*r.PGD)
	if a.ev.Plot != "" {
		if err := PlotRobust(a.ev.Plot, a.title, a.hist); err != nil {
			return fmt.Errorf("train: robust curves: %w", err)
		}
	}
	if a.co == 0 {
		if a.co = DetectCO(a.hist, a.ev.CODrop); a.co != 0 {
			a.rep.Log("catastrophic overfitting at epoch %d: PGD accuracy fell from %.2f%% (epoch %d) to %.2f%% while FGSM accuracy is %.2f%%",
				a.co, 100*a.best.PGD, a.best.Epoch, 100*r.PGD, 100*r.FGSM)
			if a.ev.StopOnCO {
				copy(net.Weights(), a.bestW)
				copy(net.BufferData(), a.bestB)
				a.restored = a.best.Epoch
				a.rep.Log("stopped; restored the weights of epoch %d", a.best.Epoch)
				return errStopCO
			}
		}
	}
	return nil
}

// robustHistory returns a copy of the evaluations.
func (a *advRun) robustHistory() []RobustEpoch { return slices.Clone(a.hist) }

// reset forgets the history, the best weights and the CO epoch, for a new
// phase of training (Sub-AT's subspace training).
func (a *advRun) reset() {
	a.hist, a.best, a.bestW, a.bestB, a.co, a.restored = nil, RobustEpoch{}, nil, nil, 0, 0
}
