package repro

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/trustml/trustml/kernel"
	"github.com/trustml/trustml/progress"
)

// LAB RBF: F. He, M. He, L. Shi, X. Huang, J.A.K. Suykens, "Enhancing
// Kernel Flexibility via Learning Asymmetric Locally-Adaptive Kernels"
// (arXiv 2310.05236), with the ridgeless analysis of arXiv 2406.01435.
const (
	labrbfPaper  = "Learning with asymmetric kernels: LAB RBF kernels and asymmetric KRR (He, Suykens et al.)"
	labrbfSource = "LAB RBF (arXiv 2310.05236), regression tables: not found"
	// labrbfProtocol is read from the authors' repository
	// hefansjtu/LABRBF_kernel (paper-numbers.md §2, REPO-SETTING).
	labrbfProtocol = "Yacht, Tecator, Comp_activ, Parkinson, SML, Airfoil, Tomshardware, Electricity, KCprice; random 80/20 splits (train ⌈0.8n⌉), " +
		"max_sv 350, ini_sv max_sv/3, WEIGHT 30, lr 1e-2, batch 128, seed = repeat index; mean ± std of test MAE, R², RMSE"
	labrbfSmall = "Yacht/Airfoil/Parkinson/..."
)

// LABRBFConfig configures [LABRBF].
type LABRBFConfig struct {
	// Reps is the number of random 80/20 splits (default 3).
	Reps int `flag:"reps" help:"repetitions (random splits / feature draws)"`
	// Iters are the Adam steps per stage (default 500, 2000; the official
	// code's 500, 5000).
	Iters []int `flag:"iters" help:"Adam steps per stage (official: 500,5000)"`
	// MaxSV is the maximum support-set size (default 90; the official 350
	// would interpolate every training point of these small sets).
	MaxSV int `flag:"max-sv" help:"maximum support-set size (official 350, for larger sets)"`
	// Seed is the base seed: repetition r uses Seed+r. The trustml command
	// uses 1.
	Seed uint64 `flag:"seed" help:"base seed; repetition r uses seed+r"`
	// Data names the regression sets (default diabetes and boston).
	Data []string `flag:"data" help:"data sets (default: the paper's stand-ins)"`
	// Progress, if set, receives one update per data set and repetition.
	Progress progress.Reporter
}

// LABRBF reproduces the LAB RBF regression protocol: random 80/20 splits,
// test R² (the official code's "1 − RSSE"), comparing the LAB RBF model
// (learned per-support-point bandwidths, asymmetric KRR on the support set,
// two stages of Adam with support-set growth) with RBF kernel ridge
// regression whose γ and λ are chosen by 5-fold CV on the training part.
//
// The paper's tables are not public in text form: its rows give the
// paper's protocol instead. A data set that fails is listed in
// Table.Failed and the others still run.
func LABRBF(ctx context.Context, cfg LABRBFConfig) (*Table, error) {
	if cfg.Reps < 0 {
		return nil, fmt.Errorf("repro: --reps %d: the number of repetitions must be ≥ 1 (0: 3)", cfg.Reps)
	}
	cfg.Reps = cmp.Or(cfg.Reps, 3)
	if cfg.Iters == nil {
		cfg.Iters = []int{500, 2000}
	}
	if cfg.MaxSV == 0 {
		cfg.MaxSV = 90
	}
	if err := kernCheckReps(cfg.Reps); err != nil {
		return nil, err
	}
	t := &Table{
		Paper:    labrbfPaper,
		Protocol: fmt.Sprintf("random 80/20 splits × %d; LAB RBF with Laplace shape (official default), λ = 1e-3, Adam lr 1e-2, batch 128, iterations %v, max support %d; baseline RBF KRR with 5-fold CV over γ ∈ {¼,½,1,2,4}/median-sq-distance and λ ∈ {1e-3, 1e-2, 1e-1, 1}; test R²", cfg.Reps, cfg.Iters, cfg.MaxSV),
		Claim:    "better R² than fixed-kernel KRR/SVR/MKL and a ResNet regressor on most sets, with far fewer support points than Nyström on large sets; table values not public in text form",
		Notes: []string{
			"none of the paper's regression sets is packaged in Debian; diabetes (442×10) and Boston housing (506×13, embedded) are the closest small regression sets available",
			"the official code's California-housing class (named \"Boston\") loads California housing; we use the real Boston housing data",
		},
	}
	sets := kernSets(cfg.Data, []kernStandIn{{labrbfSmall, "diabetes"}, {"California housing", "boston"}}, labrbfSmall)
	rep := progress.Or(cfg.Progress)
	err := kernEachSet(ctx, t, sets, func(s kernStandIn) error { return labrbfSet(ctx, t, s, cfg, rep) })
	return t, err
}

func labrbfSet(ctx context.Context, t *Table, s kernStandIn, cfg LABRBFConfig, rep progress.Reporter) error {
	d, err := kernLoad(s.Ours)
	if err != nil {
		return err
	}
	if !d.IsRegression() {
		return fmt.Errorf("data set %s is not a regression set", d.Name)
	}
	var lab, krr []float64
	for r := 0; r < cfg.Reps; r++ {
		rep.Update("LAB RBF "+s.Ours, r, cfg.Reps, "")
		seed := cfg.Seed + uint64(r)
		p, err := kernPrepare(d, 0.2, seed)
		if err != nil {
			return err
		}
		m := &kernel.LABRBF{Iters: cfg.Iters, MaxSV: cfg.MaxSV, Rand: rand.New(rand.NewPCG(seed, 3))}
		if err := m.Fit(ctx, p.Xtr, p.ttr); err != nil {
			return fmt.Errorf("LAB RBF: %w", err)
		}
		pred, err := m.Predict(p.Xte)
		if err != nil {
			return fmt.Errorf("LAB RBF: %w", err)
		}
		lab = append(lab, kernel.R2(p.tte, pred))

		m2 := kernMedianSqDist(p.Xtr, rand.New(rand.NewPCG(seed, 1)))
		grid := kernel.Grid{"g": {0.25 / m2, 0.5 / m2, 1 / m2, 2 / m2, 4 / m2}, "lambda": {1e-3, 1e-2, 1e-1, 1}}
		res, err := kernel.GridSearch(ctx, kernel.CV{Folds: 5, Rand: rand.New(rand.NewPCG(seed, 4))}, p.Xtr, p.ttr, grid,
			func(pr map[string]float64, _ int) (kernel.Estimator[float64], error) {
				return &kernel.KRR{Kernel: kernel.RBF{Gamma: pr["g"]}, Lambda: pr["lambda"]}, nil
			}, kernel.R2)
		if err != nil {
			return fmt.Errorf("KRR grid search: %w", err)
		}
		bp := res.BestParams()
		k := &kernel.KRR{Kernel: kernel.RBF{Gamma: bp["g"]}, Lambda: bp["lambda"]}
		if err := k.Fit(ctx, p.Xtr, p.ttr); err != nil {
			return fmt.Errorf("KRR: %w", err)
		}
		pk, err := k.Predict(p.Xte)
		if err != nil {
			return fmt.Errorf("KRR: %w", err)
		}
		krr = append(krr, kernel.R2(p.tte, pk))
	}
	rep.Update("LAB RBF "+s.Ours, cfg.Reps, cfg.Reps, "")
	paper := NotPublic(labrbfSource, labrbfProtocol)
	t.Rows = append(t.Rows,
		Row{Setting: s.Ours, Method: "LAB RBF", Metric: "test R²", Paper: paper, Ours: NewStat(lab), Differs: kernDiffers(s)},
		Row{Setting: s.Ours, Method: "KRR, RBF (CV)", Metric: "test R²", Paper: paper, Ours: NewStat(krr), Differs: kernDiffers(s)})
	return nil
}
