package repro

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/impute"
	"github.com/trustml/trustml/kernel"
	"github.com/trustml/trustml/progress"
)

const (
	imputePaper  = "Supervised kernel-based data imputation (methods/kernels.md §9)"
	imputeSource = "paper: per-set accuracy tables not available in text form"
	imputeProto  = "australian, heart and two other LIBSVM sets, MCAR missing ratios 0.1–0.8, 8–10 repeats, SVM test accuracy after imputation; baselines mean imputation, GEOM, KARMA, genRBF"
	// Method names of the impute reproduction's rows.
	ImputeMean       = "mean imputation"
	ImputeKNN        = "kNN imputation (k = 5)"
	ImputeSupervised = "supervised kernel imputation (§9)"
	ImputeBandwidth  = "bandwidth-only kernel imputation"
)

// ImputeConfig configures [Impute].
type ImputeConfig struct {
	// Data names the tabular sets (default iris, wine, diabetes).
	Data []string `flag:"data" help:"tabular sets (default: iris, wine, diabetes)"`
	// Rates are the MCAR missing rates (default 0.1, 0.3).
	Rates []float64 `flag:"rates" help:"MCAR missing rates"`
	// Reps is the number of repetitions (split and mask; default 3).
	Reps int `flag:"reps" help:"repetitions (split and mask)"`
	// Seed is the base seed: repetition r uses Seed+r.
	Seed uint64 `flag:"seed" help:"base seed; repetition r uses seed+r"`
	// Progress, if set, receives one update per set, rate and repetition.
	Progress progress.Reporter
}

// DefaultImputeConfig is the configuration of `trustml repro impute`.
func DefaultImputeConfig() ImputeConfig {
	return ImputeConfig{Data: []string{"iris", "wine", "diabetes"}, Rates: []float64{0.1, 0.3}, Reps: 3, Seed: 1}
}

// Impute compares mean, kNN, supervised kernel imputation
// ([impute.Supervised], the full method) and its bandwidth-only form
// ([impute.Bandwidth]) on embedded tabular sets: 70/30 split,
// standardization with the complete training data's statistics, entries
// of train and test removed MCAR, imputation of all rows at once (the
// training labels only guide the supervised method), then the downstream
// model (LS-SVM classifier or KRR with an RBF kernel, γ = 1/d) fitted on
// the imputed training rows. Rows: test accuracy or R², imputation RMSE
// (standardized units) and seconds.
func Impute(ctx context.Context, cfg ImputeConfig) (*Table, error) {
	def := DefaultImputeConfig()
	cfg.Reps = cmp.Or(cfg.Reps, def.Reps)
	if len(cfg.Rates) == 0 {
		cfg.Rates = def.Rates
	}
	if err := kernCheckReps(cfg.Reps); err != nil {
		return nil, err
	}
	t := &Table{
		Paper: imputePaper,
		Protocol: fmt.Sprintf("70/30 stratified split, standardized, MCAR rates %v on train and test, %d repetitions; downstream LS-SVM (γ_reg 1) or KRR (λ 1e-2·n), RBF γ = 1/d; supervised (§9): C, γ by 3-fold CV of an SVM (KRR) on the mean-imputed training rows, η = ‖α_MI‖, r = 0.2·n·rate, 40 Adam steps on the dual over K_Δ, E, α with PSD projection, 30 sweeps of distance regression; bandwidth-only: observed-coordinate Gaussian kernel, γ ∈ {1/2, 1, …, 16} by 3-fold CV of the downstream model, kernel-weighted fill",
			cfg.Rates, cfg.Reps),
		Claim: "imputation with a kernel learned for the task beats mean imputation and other baselines in SVM accuracy, by large margins when more than 60% of the features are missing",
		Notes: []string{
			"the paper's sets (australian, heart, …) are not packaged in Debian; embedded UCI sets stand in",
			"supervised (§9) follows the spec's two stages; C and γ come from the mean-imputation optimum without the paper's ×{½, 1, 2} refinement around it; gradients treat the PSD projection as the identity; regression targets use the kernel ridge dual in place of the SVM's",
			"bandwidth-only is the earlier reduced form (only the kernel's bandwidth learned, kernel-weighted means), kept as a row",
		},
	}
	names := cfg.Data
	if len(names) == 0 {
		names = def.Data
	}
	sets := kernSets(names, nil, "australian/heart")
	rep := progress.Or(cfg.Progress)
	err := kernEachSet(ctx, t, sets, func(s kernStandIn) error { return imputeSet(ctx, t, s, cfg, rep) })
	return t, err
}

func imputeSet(ctx context.Context, t *Table, s kernStandIn, cfg ImputeConfig, rep progress.Reporter) error {
	d, err := kernLoad(s.Ours)
	if err != nil {
		return err
	}
	paper := NotPublic(imputeSource, imputeProto)
	methods := []string{ImputeMean, ImputeKNN, ImputeSupervised, ImputeBandwidth}
	metric := "test accuracy %"
	if d.IsRegression() {
		metric = "test R²"
	}
	for _, rate := range cfg.Rates {
		var score, rmse, secs [4][]float64
		for r := range cfg.Reps {
			rep.Update(fmt.Sprintf("impute %s r=%g", s.Ours, rate), r, cfg.Reps, "")
			if err := ctx.Err(); err != nil {
				return err
			}
			seed := cfg.Seed + uint64(r)
			p, err := kernPrepare(d, 0.3, seed)
			if err != nil {
				return err
			}
			var full mat.Dense
			full.Stack(p.Xtr, p.Xte)
			miss, err := impute.MCAR(&full, rate, rand.NewPCG(seed, 0x1d))
			if err != nil {
				return err
			}
			ntr, _ := p.Xtr.Dims()
			for m := range methods {
				start := time.Now()
				var X *mat.Dense
				switch m {
				case 0:
					X, err = impute.Mean(miss)
				case 1:
					X, err = impute.KNN(miss, 5)
				case 2:
					var res *impute.SupervisedResult
					res, err = impute.Supervised(ctx, miss, impute.Labels{Class: p.ytr, Target: p.ttr}, impute.SupervisedConfig{Seed: seed})
					if res != nil {
						X = res.X
					}
				default:
					var res *impute.BandwidthResult
					res, err = impute.Bandwidth(ctx, miss, impute.Labels{Class: p.ytr, Target: p.ttr}, impute.BandwidthConfig{Seed: seed})
					if res != nil {
						X = res.X
					}
				}
				if err != nil {
					return fmt.Errorf("%s: %w", methods[m], err)
				}
				secs[m] = append(secs[m], time.Since(start).Seconds())
				rmse[m] = append(rmse[m], impute.RMSE(X, &full, miss))
				sc, err := imputeDownstream(ctx, X, ntr, p)
				if err != nil {
					return fmt.Errorf("%s downstream: %w", methods[m], err)
				}
				score[m] = append(score[m], sc)
			}
		}
		rep.Update(fmt.Sprintf("impute %s r=%g", s.Ours, rate), cfg.Reps, cfg.Reps, "")
		set := fmt.Sprintf("%s, r = %g", s.Ours, rate)
		for m, name := range methods {
			t.Rows = append(t.Rows,
				Row{Setting: set, Method: name, Metric: metric, Paper: paper, Ours: NewStat(score[m]), Differs: kernDiffers(s)},
				Row{Setting: set, Method: name, Metric: "imputation RMSE (standardized)", Paper: paper, Ours: NewStat(rmse[m])},
				Row{Setting: set, Method: name, Metric: "imputation seconds", Paper: paper, Ours: NewStat(secs[m])})
		}
	}
	return nil
}

// imputeDownstream fits the downstream model on the first ntr rows of X
// and scores it on the rest.
func imputeDownstream(ctx context.Context, X *mat.Dense, ntr int, p *kernPrepared) (float64, error) {
	n, d := X.Dims()
	Xtr, Xte := X.Slice(0, ntr, 0, d).(*mat.Dense), X.Slice(ntr, n, 0, d).(*mat.Dense)
	k := kernel.RBF{Gamma: 1 / float64(d)}
	if p.ytr != nil {
		m := &kernel.LSSVMClassifier{Kernel: k, Gamma: 1}
		if err := m.Fit(ctx, Xtr, p.ytr); err != nil {
			return 0, err
		}
		pred, err := m.Predict(Xte)
		if err != nil {
			return 0, err
		}
		return 100 * kernel.Accuracy(p.yte, pred), nil
	}
	m := &kernel.KRR{Kernel: k, Lambda: 1e-2, ScaleByN: true}
	if err := m.Fit(ctx, Xtr, p.ttr); err != nil {
		return 0, err
	}
	pred, err := m.Predict(Xte)
	if err != nil {
		return 0, err
	}
	return kernel.R2(p.tte, pred), nil
}
