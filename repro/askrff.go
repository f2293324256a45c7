package repro

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/kernel"
	"github.com/trustml/trustml/kernel/features"
	"github.com/trustml/trustml/progress"
)

// AsK-RFFs: "Random Fourier features for asymmetric kernels". No official
// code and no table of the paper could be read (paper-numbers.md has no
// section for it; kernels.md §4.4 lists its protocol).
const (
	askrffPaper  = "Random Fourier features for asymmetric kernels (AsK-RFFs)"
	askrffSource = "AsK-RFF paper: data sets and numbers not retrieved (methods/kernels.md §4.4)"
	// askrffProtocol is the paper's protocol as summarised in
	// methods/kernels.md §4.4.
	askrffProtocol  = "kernel approximation error ‖K − K̃‖_F/‖K‖_F against D on several large-scale classification sets; downstream AsK-LS accuracy; speed-up of the subset mass estimate"
	askrffPaperData = "large-scale classification sets (not named in text form)"
)

// AsKRFFConfig configures [AsKRFF].
type AsKRFFConfig struct {
	// Reps is the number of feature draws (and AsK-LS splits) per setting
	// (default 3).
	Reps int `flag:"reps" help:"repetitions (random splits / feature draws)"`
	// N is the number of points the approximation error is measured on
	// (default 500; 300 for the quick protocol).
	N int `flag:"n" help:"points for the approximation error (0: 300, or 500 with --full)"`
	// Full runs the long protocol (about 3 minutes on 2 cores): D up to
	// 1024 for the approximation and AsK-LS on digits. Without it, the
	// quick protocol (under a minute) stops D at 256 and runs the
	// downstream AsK-LS comparison on breast-cancer only.
	Full bool `flag:"full" help:"the long protocol (about 3 minutes on 2 cores)"`
	// D lists the frequencies per part for the approximation error
	// (default 16, 64, 256; with Full also 1024).
	D []int
	// DownstreamD lists the frequencies per part for AsK-LS on AsK-RFF
	// features (default 64, 256).
	DownstreamD []int
	// Seed is the base seed: draw r uses Seed+r. The trustml command uses 1.
	Seed uint64 `flag:"seed" help:"base seed; repetition r uses seed+r"`
	// Data names the classification sets (default digits, breast-cancer).
	Data []string `flag:"data" help:"data sets (default: the paper's stand-ins)"`
	// Progress, if set, receives one update per data set and step.
	Progress progress.Reporter
}

// askrffPlan is what a protocol (quick or full) runs.
type askrffPlan struct {
	approxD     []int // D per part for the approximation error
	downD       []int // D per part for the downstream AsK-LS
	gammas      []float64
	downMaxRows int // data sets with more rows skip the downstream comparison (0: none skip)
}

func (cfg *AsKRFFConfig) plan() askrffPlan {
	pl := askrffPlan{approxD: []int{16, 64, 256}, downD: []int{64, 256}, gammas: []float64{1, 10}, downMaxRows: 1000}
	if cfg.Full {
		pl.approxD, pl.downMaxRows = []int{16, 64, 256, 1024}, 0
	}
	if cfg.D != nil {
		pl.approxD = cfg.D
	}
	if cfg.DownstreamD != nil {
		pl.downD = cfg.DownstreamD
	}
	return pl
}

// AsKRFF reproduces the AsK-RFF evaluation on an asymmetric shift-invariant
// kernel, the shifted Gaussian k(x,z) = exp(−‖x−z−c‖²/(2σ²)) (σ² the
// median squared distance, ‖c‖ = σ/2 along a random direction), on
// standardized data:
//
//  1. the relative approximation error ‖K − φ_s(X)φ_t(X)ᵀ‖_F/‖K‖_F on up to
//     N points against D (frequencies per part), with exact total masses
//     and with the paper's subset-fitted masses;
//  2. downstream AsK-LS test accuracy (γ = 1 and 10) in the primal on
//     AsK-RFF features (D = 64, 256 per part, subset masses) against the
//     exact dual AsK-LS, with fit times.
//
// The paper's numbers are not public in text form: rows give its protocol.
// A data set that fails is listed in Table.Failed and the others still
// run.
func AsKRFF(ctx context.Context, cfg AsKRFFConfig) (*Table, error) {
	if cfg.Reps < 0 {
		return nil, fmt.Errorf("repro: --reps %d: the number of repetitions must be ≥ 1 (0: 3)", cfg.Reps)
	}
	cfg.Reps = cmp.Or(cfg.Reps, 3)
	if cfg.N == 0 {
		cfg.N = 300
		if cfg.Full {
			cfg.N = 500
		}
	}
	if err := kernCheckReps(cfg.Reps); err != nil {
		return nil, err
	}
	if cfg.N < 2 {
		return nil, fmt.Errorf("repro: AsK-RFF needs at least 2 points for the approximation error, got %d", cfg.N)
	}
	pl := cfg.plan()
	for _, D := range append(slices.Clone(pl.approxD), pl.downD...) {
		if D < 1 {
			return nil, fmt.Errorf("repro: AsK-RFF frequencies per part must be positive, got %d", D)
		}
	}
	proto := "quick protocol (Full for the long one)"
	if cfg.Full {
		proto = "full protocol"
	}
	t := &Table{
		Paper:    askrffPaper,
		Protocol: fmt.Sprintf("%s: shifted-Gaussian kernel; %d feature draws per D ∈ %v; approximation on ≤ %d points; AsK-LS on a stratified 80/20 split per repetition, D ∈ %v, γ ∈ %v", proto, cfg.Reps, pl.approxD, cfg.N, pl.downD, pl.gammas),
		Claim:    "approximation error decays with D (uniform convergence); AsK-LS on AsK-RFFs approaches the exact AsK-LS accuracy at a fraction of the cost; the subset mass estimate speeds up feature construction; numbers not public in text form",
		Notes: []string{
			"no official AsK-RFF code exists; the feature construction follows the spec's derivation (four-part Jordan decomposition, rejection sampling)",
			"the paper's large-scale classification sets are not retrieved; digits (1797×64) and breast-cancer (569×30) stand in",
		},
	}
	if pl.downMaxRows > 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("quick protocol: the downstream AsK-LS comparison runs only on sets of at most %d samples (the exact dual on digits takes minutes); Full runs it everywhere", pl.downMaxRows))
	}
	sets := kernSets(cfg.Data, []kernStandIn{{askrffPaperData, "digits"}, {askrffPaperData, "breast-cancer"}}, askrffPaperData)
	rep := progress.Or(cfg.Progress)
	err := kernEachSet(ctx, t, sets, func(s kernStandIn) error { return askrffSet(ctx, t, s, cfg, pl, rep) })
	return t, err
}

func askrffRow(s kernStandIn, method, setting, metric string, v []float64) Row {
	if setting != "" {
		setting = s.Ours + ", " + setting
	} else {
		setting = s.Ours
	}
	return Row{Setting: setting, Method: method, Metric: metric, Paper: NotPublic(askrffSource, askrffProtocol), Ours: NewStat(v), Differs: kernDiffers(s)}
}

func askrffSet(ctx context.Context, t *Table, s kernStandIn, cfg AsKRFFConfig, pl askrffPlan, rep progress.Reporter) error {
	d, err := kernLoad(s.Ours)
	if err != nil {
		return err
	}
	full, err := kernPrepare(d, 0, cfg.Seed)
	if err != nil {
		return err
	}
	X := full.Xtr
	n, dim := X.Dims()
	rng := rand.New(rand.NewPCG(cfg.Seed, 5))
	sigma := math.Sqrt(kernMedianSqDist(X, rng))
	shift := make([]float64, dim)
	var nrm float64
	for i := range shift {
		shift[i] = rng.NormFloat64()
		nrm += shift[i] * shift[i]
	}
	for i := range shift {
		shift[i] *= sigma / 2 / math.Sqrt(nrm)
	}
	kx := kernel.ShiftedGaussian{Sigma: sigma, Shift: shift}
	mu := features.ShiftedGaussian{Sigma: sigma, Shift: shift}
	idx := rng.Perm(n)[:min(n, cfg.N)]
	Xs := kernRows(X, idx)
	K, err := kernel.Gram(kx, Xs, Xs)
	if err != nil {
		return err
	}
	for _, mass := range []features.MassMethod{features.MassExact, features.MassSubset} {
		for _, D := range pl.approxD {
			if err := ctx.Err(); err != nil {
				return err
			}
			rep.Update("AsK-RFF "+s.Ours+" approximation", 0, 1, fmt.Sprintf("%s masses, D=%d", mass, D))
			var errs []float64
			for r := 0; r < cfg.Reps; r++ {
				a, err := features.NewAsKRFF(mu, features.AsKRFFConfig{D: D, Mass: mass}, X, kx, rand.New(rand.NewPCG(cfg.Seed+uint64(r), 6)))
				if err != nil {
					return err
				}
				G, err := a.Gram(Xs, Xs)
				if err != nil {
					return err
				}
				errs = append(errs, kernRelFrob(K, G))
			}
			t.Rows = append(t.Rows, askrffRow(s, "AsK-RFF, "+mass.String()+" masses", fmt.Sprintf("D=%d per part", D), "‖K−K̃‖_F/‖K‖_F", errs))
		}
	}
	if pl.downMaxRows > 0 && n > pl.downMaxRows {
		return nil
	}
	return askrffDownstream(ctx, t, s, d, cfg, pl, kx, mu, rep)
}

// askrffDownstream compares the exact dual AsK-LS with the primal AsK-LS on
// AsK-RFF features. The AsK-LS system [I/γ H; Hᵀ I/γ] has eigenvalues
// 1/γ ± σ_i(H), so its solution is sensitive to γ near the spectrum of a
// low-rank approximate kernel: two γ values are reported rather than one.
func askrffDownstream(ctx context.Context, t *Table, s kernStandIn, d *data.Dataset, cfg AsKRFFConfig, pl askrffPlan,
	kx kernel.ShiftedGaussian, mu features.ShiftedGaussian, rep progress.Reporter) error {
	accExact := make([][]float64, len(pl.gammas))
	accRFF := make([][][]float64, len(pl.gammas))
	for gi := range pl.gammas {
		accRFF[gi] = make([][]float64, len(pl.downD))
	}
	var tExact []float64
	tRFF := make([][]float64, len(pl.downD))
	for r := 0; r < cfg.Reps; r++ {
		rep.Update("AsK-RFF "+s.Ours+" AsK-LS", r, cfg.Reps, "")
		seed := cfg.Seed + uint64(r)
		p, err := kernPrepare(d, 0.2, seed)
		if err != nil {
			return err
		}
		for gi, gamma := range pl.gammas {
			t0 := time.Now()
			ex := &kernel.AsKLS{Kernel: kx, Gamma: gamma}
			if err := ex.Fit(ctx, p.Xtr, p.ytr); err != nil {
				return fmt.Errorf("exact AsK-LS: %w", err)
			}
			pe, err := ex.Predict(p.Xte)
			if err != nil {
				return fmt.Errorf("exact AsK-LS: %w", err)
			}
			if gi == 0 {
				tExact = append(tExact, time.Since(t0).Seconds())
			}
			accExact[gi] = append(accExact[gi], kernel.Accuracy(p.yte, pe))
		}
		for di, D := range pl.downD {
			t0 := time.Now()
			a, err := features.NewAsKRFF(mu, features.AsKRFFConfig{D: D, Mass: features.MassSubset}, p.Xtr, kx, rand.New(rand.NewPCG(seed, 7)))
			if err != nil {
				return err
			}
			S, T, err := askrffSides(a, p.Xtr)
			if err != nil {
				return err
			}
			St, Tt, err := askrffSides(a, p.Xte)
			if err != nil {
				return err
			}
			for gi, gamma := range pl.gammas {
				pm := &features.AsKLSPrimal{Gamma: gamma}
				if err := pm.Fit(ctx, S, T, p.ytr); err != nil {
					return fmt.Errorf("primal AsK-LS: %w", err)
				}
				pp, err := pm.Predict(St, Tt)
				if err != nil {
					return fmt.Errorf("primal AsK-LS: %w", err)
				}
				if gi == 0 {
					tRFF[di] = append(tRFF[di], time.Since(t0).Seconds())
				}
				accRFF[gi][di] = append(accRFF[gi][di], kernel.Accuracy(p.yte, pp))
			}
		}
	}
	for gi, gamma := range pl.gammas {
		t.Rows = append(t.Rows, askrffRow(s, "AsK-LS exact (dual)", fmt.Sprintf("γ=%g", gamma), "test accuracy", accExact[gi]))
		for di, D := range pl.downD {
			t.Rows = append(t.Rows, askrffRow(s, "AsK-LS on AsK-RFF (primal)", fmt.Sprintf("γ=%g, D=%d per part, subset masses", gamma, D), "test accuracy", accRFF[gi][di]))
		}
	}
	t.Rows = append(t.Rows, askrffRow(s, "AsK-LS exact (dual)", "one γ", "fit+predict seconds", tExact))
	for di, D := range pl.downD {
		t.Rows = append(t.Rows, askrffRow(s, "AsK-LS on AsK-RFF (primal)", fmt.Sprintf("one γ, D=%d per part, features included", D), "fit+predict seconds", tRFF[di]))
	}
	return nil
}

// askrffSides returns the source and target features of X.
func askrffSides(a *features.AsymMap, X *mat.Dense) (S, T *mat.Dense, err error) {
	if S, err = a.Source(X); err != nil {
		return nil, nil, err
	}
	if T, err = a.Target(X); err != nil {
		return nil, nil, err
	}
	return S, T, nil
}
