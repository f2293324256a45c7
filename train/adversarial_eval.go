package train

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/plot"
)

// RobustEpoch is the accuracy of a network on held-out images, clean and
// under L∞ FGSM and PGD at the training radius, after one epoch of
// adversarial training.
type RobustEpoch struct {
	Epoch int     `json:"epoch"` // 0: before training
	N     int     `json:"n"`
	Clean float64 `json:"clean_accuracy"`
	FGSM  float64 `json:"fgsm_accuracy"` // one step of ε from the clean input
	PGD   float64 `json:"pgd_accuracy"`  // PGD-Steps of 2.5ε/Steps from a random start
}

// RobustEval configures [EvalRobust] and the per-epoch evaluation of
// [Run]'s adversarial training.
type RobustEval struct {
	// N is the number of held-out images (default 500): the first N of
	// the --holdout split when Run has one, else the first N of the test
	// split.
	N int `json:"n"`
	// PGDSteps is the number of PGD steps (default 10).
	PGDSteps int `json:"pgd_steps"`
	// CODrop is the drop of PGD accuracy (absolute, default 0.2) that
	// [DetectCO] calls catastrophic overfitting.
	CODrop float64 `json:"co_drop"`
	// StopOnCO stops training at the epoch where catastrophic overfitting
	// is detected and restores the weights of the epoch with the best PGD
	// accuracy (Wong et al.'s early stopping); otherwise CO is only
	// reported.
	StopOnCO bool `json:"stop_on_co"`
	// Plot, if set, is a PNG written after every epoch with the clean,
	// FGSM and PGD accuracy curves.
	Plot string `json:"-"`
}

func (e RobustEval) withDefaults() RobustEval {
	if e.N == 0 {
		e.N = 500
	}
	if e.PGDSteps == 0 {
		e.PGDSteps = 10
	}
	if e.CODrop == 0 {
		e.CODrop = 0.2
	}
	return e
}

func (e RobustEval) validate() error {
	switch {
	case e.N < 0:
		return fmt.Errorf("train: RobustEval.N %d must be ≥ 0 (0: 500 held-out images)", e.N)
	case e.PGDSteps < 0:
		return fmt.Errorf("train: PGD evaluation steps %d must be ≥ 1 (0: 10)", e.PGDSteps)
	case !(e.CODrop >= 0 && e.CODrop < 1):
		return fmt.Errorf("train: catastrophic-overfitting drop %v outside [0, 1)", e.CODrop)
	}
	return nil
}

// EvalRobust returns the accuracy of g on the n inputs x with labels y:
// clean, under FGSM (one step of ε, no random start) and under PGD
// (pgdSteps steps of 2.5ε/pgdSteps from a uniform random start seeded by
// seed, no early stop), all L∞ at radius eps, in batches of 250. Both
// attacks are [attack.PGD.Perturb].
func EvalRobust(ctx context.Context, g model.InputGrader, x []float32, y []int, eps float64, pgdSteps int, seed uint64) (RobustEpoch, error) {
	n := len(y)
	if n == 0 {
		return RobustEpoch{}, fmt.Errorf("train: robust evaluation on no images")
	}
	if len(x)%n != 0 {
		return RobustEpoch{}, fmt.Errorf("train: robust evaluation: %d values for %d labels", len(x), n)
	}
	d, k := len(x)/n, g.NumClasses()
	th := attack.Threat{Norm: attack.LInf, Eps: eps, Loss: attack.LossCE}
	fgsm := &attack.PGD{Threat: th, Steps: 1, StepSize: eps}
	pgd := &attack.PGD{Threat: th, Steps: pgdSteps, RandomStart: true}
	rng := rand.New(rand.NewPCG(seed, 0xe7a1))
	const chunk = 250
	adv := make([]float32, chunk*d)
	logits := make([]float32, chunk*k)
	var clean, cf, cp int
	count := func(xs []float32, ys []int) (int, error) {
		if err := g.Logits(ctx, logits[:len(ys)*k], xs); err != nil {
			return 0, err
		}
		c := 0
		for i, l := range ys {
			if metrics.Argmax(logits[i*k:(i+1)*k]) == l {
				c++
			}
		}
		return c, nil
	}
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		xs, ys, a := x[lo*d:hi*d], y[lo:hi], adv[:(hi-lo)*d]
		c, err := count(xs, ys)
		if err != nil {
			return RobustEpoch{}, fmt.Errorf("train: robust evaluation: %w", err)
		}
		clean += c
		if err := fgsm.Perturb(ctx, g, a, xs, ys, nil); err != nil {
			return RobustEpoch{}, fmt.Errorf("train: robust evaluation (FGSM): %w", err)
		}
		if c, err = count(a, ys); err != nil {
			return RobustEpoch{}, err
		}
		cf += c
		if err := pgd.Perturb(ctx, g, a, xs, ys, rng); err != nil {
			return RobustEpoch{}, fmt.Errorf("train: robust evaluation (PGD): %w", err)
		}
		if c, err = count(a, ys); err != nil {
			return RobustEpoch{}, err
		}
		cp += c
	}
	f := func(c int) float64 { return float64(c) / float64(n) }
	return RobustEpoch{N: n, Clean: f(clean), FGSM: f(cf), PGD: f(cp)}, nil
}

// DetectCO returns the first epoch of catastrophic overfitting in a
// history of per-epoch evaluations, or 0 when there is none
// (robustness.md §14). An epoch is flagged when
//
//   - its PGD accuracy has fallen to half the best PGD accuracy of the
//     earlier epochs or lower (or by at least drop) while the gap between
//     FGSM and PGD accuracy has grown by at least drop over that best
//     epoch's gap; or
//   - its FGSM accuracy exceeds its clean accuracy while its PGD accuracy
//     is at least 2·drop below the FGSM accuracy (a run that overfits from
//     its first epoch never has a PGD accuracy to fall from).
//
// Single-step AT that overfits catastrophically keeps (or raises) its
// accuracy against the attack it trains on — above its clean accuracy,
// since the perturbation carries information about the network itself —
// while multi-step accuracy collapses; robust overfitting, where both fall
// together, is not flagged.
func DetectCO(hist []RobustEpoch, drop float64) int {
	if len(hist) == 0 {
		return 0
	}
	best := hist[0]
	for i, h := range hist {
		if h.Epoch > 0 && h.FGSM > h.Clean && h.FGSM-h.PGD >= 2*drop {
			return h.Epoch
		}
		if i == 0 {
			continue
		}
		fell := h.PGD <= best.PGD/2 || best.PGD-h.PGD >= drop
		if best.PGD > 0 && fell && (h.FGSM-h.PGD)-(best.FGSM-best.PGD) >= drop {
			return h.Epoch
		}
		if h.PGD > best.PGD {
			best = h
		}
	}
	return 0
}

// PlotRobust writes the clean, FGSM and PGD accuracy curves of a history
// as a PNG.
func PlotRobust(path, title string, hist []RobustEpoch) error {
	var ep, cl, fg, pg []float64
	for _, h := range hist {
		ep = append(ep, float64(h.Epoch))
		cl, fg, pg = append(cl, 100*h.Clean), append(fg, 100*h.FGSM), append(pg, 100*h.PGD)
	}
	return plot.Lines(path, title, "epoch", "held-out accuracy (%)", false, []plot.Series{
		{Name: "clean", X: ep, Y: cl}, {Name: "FGSM", X: ep, Y: fg}, {Name: "PGD", X: ep, Y: pg}})
}
