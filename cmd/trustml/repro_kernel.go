package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/kernel"
	"github.com/trustml/trustml/kernel/features"
)

func init() {
	registerRepro(newReproAsKLSCmd)
	registerRepro(newReproLABRBFCmd)
	registerRepro(newReproAsKRFFCmd)
	registerRepro(newReproGORFCmd)
}

// notRetrieved is printed where the spec could not retrieve a paper's table.
const notRetrieved = "not retrieved"

// reproRow is one line of a reproduction: what the paper measured (on its
// data set) and what we measured (on ours).
type reproRow struct {
	PaperData  string    `json:"paper_data"`
	Data       string    `json:"data"`
	Method     string    `json:"method"`
	Setting    string    `json:"setting,omitempty"`
	Metric     string    `json:"metric"`
	PaperValue string    `json:"paper_value"`
	Mean       float64   `json:"mean"`
	Std        float64   `json:"std"`
	Values     []float64 `json:"values"`
}

// reproReport is the output of a repro subcommand.
type reproReport struct {
	Paper    string     `json:"paper"`
	Protocol string     `json:"protocol"`
	Claim    string     `json:"paper_claim"`
	Rows     []reproRow `json:"rows"`
	Notes    []string   `json:"notes"`
	Seconds  float64    `json:"seconds"`
}

func (r *reproReport) add(row reproRow) {
	row.Mean, row.Std = meanStd(row.Values)
	r.Rows = append(r.Rows, row)
}

func (r *reproReport) print(w io.Writer, asJSON bool) error {
	if asJSON {
		return writeJSON(w, r)
	}
	fmt.Fprintf(w, "%s\nprotocol: %s\npaper's claim: %s\n\n", r.Paper, r.Protocol, r.Claim)
	rows := make([][]string, len(r.Rows))
	for i, x := range r.Rows {
		data := x.Data
		if x.PaperData != x.Data {
			data = x.PaperData + " → " + x.Data
		}
		rows[i] = []string{data, x.Method, x.Setting, x.Metric, x.PaperValue, fmt.Sprintf("%.4g ± %.2g", x.Mean, x.Std)}
	}
	table(w, []string{"data (paper → ours)", "method", "setting", "metric", "paper", "ours (mean ± std)"}, rows)
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range r.Notes {
			fmt.Fprintln(w, "note:", n)
		}
	}
	fmt.Fprintf(w, "(%.1fs)\n", r.Seconds)
	return nil
}

func meanStd(v []float64) (float64, float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	var m float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	var s float64
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return m, math.Sqrt(s / float64(len(v)))
}

// reproFlags are the flags every kernel repro command takes.
type reproFlags struct {
	reps   int
	seed   uint64
	asJSON bool
}

func (f *reproFlags) add(cmd *cobra.Command, reps int) {
	cmd.Flags().IntVar(&f.reps, "reps", reps, "repetitions (random splits / feature draws)")
	cmd.Flags().Uint64Var(&f.seed, "seed", 1, "base seed; repetition r uses seed+r")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print JSON instead of a table")
}

func (f *reproFlags) check() error {
	if f.reps < 1 {
		return fmt.Errorf("--reps must be at least 1, got %d", f.reps)
	}
	return nil
}

// medianSqDist is the median squared distance over up to 400 random pairs.
func medianSqDist(X *mat.Dense, rng *rand.Rand) float64 {
	n, _ := X.Dims()
	var d []float64
	for t := 0; t < 400; t++ {
		i, j := rng.IntN(n), rng.IntN(n)
		if i == j {
			continue
		}
		var s float64
		for k, v := range X.RawRowView(i) {
			u := v - X.At(j, k)
			s += u * u
		}
		d = append(d, s)
	}
	sort.Float64s(d)
	if len(d) == 0 {
		return 1
	}
	return d[len(d)/2]
}

func rowsOf(X *mat.Dense, idx []int) *mat.Dense {
	_, c := X.Dims()
	out := mat.NewDense(len(idx), c, nil)
	for i, r := range idx {
		out.SetRow(i, X.RawRowView(r))
	}
	return out
}

func pickInts(y []int, idx []int) []int {
	out := make([]int, len(idx))
	for i, r := range idx {
		out[i] = y[r]
	}
	return out
}

// cvSelect returns the index of the parameter combination with the best
// mean validation accuracy over stratified folds of (X, y).
func cvSelect(ctx context.Context, X *mat.Dense, y []int, folds int, rng *rand.Rand, ncombo int,
	eval func(c int, Xa *mat.Dense, ya []int, Xb *mat.Dense, yb []int) (float64, error)) (int, error) {
	fs, err := kernel.StratifiedKFold(y, folds, rng)
	if err != nil {
		return 0, err
	}
	n := len(y)
	best, bestScore := 0, math.Inf(-1)
	for c := 0; c < ncombo; c++ {
		var s float64
		for _, test := range fs {
			in := make([]bool, n)
			for _, i := range test {
				in[i] = true
			}
			var train []int
			for i := 0; i < n; i++ {
				if !in[i] {
					train = append(train, i)
				}
			}
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			acc, err := eval(c, rowsOf(X, train), pickInts(y, train), rowsOf(X, test), pickInts(y, test))
			if err != nil {
				return 0, err
			}
			s += acc / float64(len(fs))
		}
		if s > bestScore {
			best, bestScore = c, s
		}
	}
	return best, nil
}

// ---------------------------------------------------------------- AsK-LS

func newReproAsKLSCmd() *cobra.Command {
	var rf reproFlags
	var folds int
	cmd := &cobra.Command{
		Use:   "asksl",
		Short: "AsK-LS (He et al.): asymmetric-kernel LS-SVM vs symmetrized and RBF LS-SVM on UCI-type sets",
		Long: `Reproduces the UCI part of the AsK-LS evaluation: LS-SVM with an asymmetric
SNE-type conditional-probability kernel k(x,z) = exp(−‖x−z‖²/σ²)/Σ_u exp(−‖x−u‖²/σ²)
(normalized over the training set) solved by AsK-LS, against LS-SVM on the
symmetrized kernel (K+Kᵀ)/2 and LS-SVM with the RBF kernel. Each repetition
draws a stratified 80/20 split, selects σ (or the RBF γ) and the
regularization γ by stratified cross-validation on the training part, and
reports test accuracy.

The paper's UCI sets (Sonar, Ionosphere, Pima, Monks) and its KL-kernel image
sets and directed graphs (Cora, Citeseer, ...) are not available here; the
embedded breast-cancer, wine and iris sets stand in.`,
		Example: `  trustml repro asksl
  trustml repro asksl --reps 10 --json`,
		Aliases: []string{"askls"},
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := rf.check(); err != nil {
				return err
			}
			t0 := time.Now()
			rep := &reproReport{
				Paper:    "AsK-LS: LS-SVM with asymmetric kernels (He, Tao, Suykens et al.)",
				Protocol: fmt.Sprintf("stratified 80/20 splits × %d, standardized features, %d-fold CV on the training part over σ (or RBF γ) ∈ median-distance × {½, 1, 2} and regularization γ ∈ {1, 10, 100}; test accuracy", rf.reps, folds),
				Claim:    "AsK-LS beats symmetrization-based LS-SVM/SVM when asymmetry is informative (KL-kernel image sets, directed graphs) and is on par on UCI sets; table values " + notRetrieved,
			}
			sets := []struct{ paper, ours string }{
				{"UCI (Sonar/Ionosphere/Pima/Monks)", "breast-cancer"},
				{"UCI (Sonar/Ionosphere/Pima/Monks)", "wine"},
				{"UCI (Sonar/Ionosphere/Pima/Monks)", "iris"},
			}
			for _, s := range sets {
				if err := reproAsKLSSet(cmd.Context(), rep, s.paper, s.ours, rf, folds); err != nil {
					return err
				}
			}
			rep.Notes = append(rep.Notes,
				"Cora, Citeseer, Pubmed, Amazon graphs and the KL-divergence image kernels (Corel, Caltech101, PASCAL VOC) are not available in Debian; not run",
				"Sonar, Ionosphere, Pima and Monks are not embedded; breast-cancer, wine and iris are the closest available UCI-type sets")
			rep.Seconds = time.Since(t0).Seconds()
			return rep.print(cmd.OutOrStdout(), rf.asJSON)
		},
	}
	rf.add(cmd, 3)
	cmd.Flags().IntVar(&folds, "folds", 3, "cross-validation folds for model selection")
	return cmd
}

func reproAsKLSSet(ctx context.Context, rep *reproReport, paperName, name string, rf reproFlags, folds int) error {
	d, err := loadKernelData(name, false)
	if err != nil {
		return err
	}
	methods := []string{"AsK-LS, SNE kernel", "LS-SVM, symmetrized SNE", "LS-SVM, RBF"}
	acc := make([][]float64, len(methods))
	scales := []float64{0.5, 1, 2}
	gammas := []float64{1, 10, 100}
	for r := 0; r < rf.reps; r++ {
		seed := rf.seed + uint64(r)
		p, err := prepare(d, 0.2, seed, true)
		if err != nil {
			return err
		}
		m2 := medianSqDist(p.Xtr, rand.New(rand.NewPCG(seed, 1)))
		for mi := range methods {
			fit := func(c int, Xa *mat.Dense, ya []int, Xb *mat.Dense, yb []int) (float64, error) {
				sc, g := scales[c/len(gammas)], gammas[c%len(gammas)]
				var pred []int
				switch mi {
				case 0:
					m := &kernel.AsKLS{Kernel: kernel.SNE{Sigma: math.Sqrt(sc * m2)}, Gamma: g}
					if err := m.Fit(ctx, Xa, ya); err != nil {
						return 0, err
					}
					if pred, err = m.Predict(Xb); err != nil {
						return 0, err
					}
				case 1:
					kb, err := kernel.SNE{Sigma: math.Sqrt(sc * m2)}.Bind(Xa)
					if err != nil {
						return 0, err
					}
					K, err := kernel.Gram(kb, Xa, Xa)
					if err != nil {
						return 0, err
					}
					var Ks mat.Dense
					Ks.Add(K, K.T())
					Ks.Scale(0.5, &Ks)
					m := &kernel.LSSVMClassifier{Gamma: g}
					if err := m.FitGram(ctx, &Ks, ya); err != nil {
						return 0, err
					}
					Kx, err := kernel.Gram(kb, Xb, Xa)
					if err != nil {
						return 0, err
					}
					Kt, err := kernel.Gram(kb, Xa, Xb)
					if err != nil {
						return 0, err
					}
					Kx.Add(Kx, Kt.T())
					Kx.Scale(0.5, Kx)
					if pred, err = m.PredictGram(Kx); err != nil {
						return 0, err
					}
				case 2:
					m := &kernel.LSSVMClassifier{Kernel: kernel.RBF{Gamma: 1 / (sc * m2)}, Gamma: g}
					if err := m.Fit(ctx, Xa, ya); err != nil {
						return 0, err
					}
					if pred, err = m.Predict(Xb); err != nil {
						return 0, err
					}
				}
				return kernel.Accuracy(yb, pred), nil
			}
			best, err := cvSelect(ctx, p.Xtr, p.ytr, folds, rand.New(rand.NewPCG(seed, 2)), len(scales)*len(gammas), fit)
			if err != nil {
				return fmt.Errorf("%s on %s: %w", methods[mi], name, err)
			}
			a, err := fit(best, p.Xtr, p.ytr, p.Xte, p.yte)
			if err != nil {
				return fmt.Errorf("%s on %s: %w", methods[mi], name, err)
			}
			acc[mi] = append(acc[mi], a)
		}
	}
	for mi, m := range methods {
		rep.add(reproRow{PaperData: paperName, Data: name, Method: m, Metric: "test accuracy", PaperValue: notRetrieved, Values: acc[mi]})
	}
	return nil
}

// ---------------------------------------------------------------- LAB RBF

func newReproLABRBFCmd() *cobra.Command {
	var rf reproFlags
	var iters []int
	var maxSV int
	cmd := &cobra.Command{
		Use:   "labrbf",
		Short: "LAB RBF kernels (He et al.): learned bandwidths vs RBF kernel ridge regression",
		Long: `Reproduces the LAB RBF regression protocol: random 80/20 splits, R² (the
official code's "1 − RSSE") on the test part, comparing the LAB RBF model
(learned per-support-point bandwidths, asymmetric KRR on the support set,
two stages of Adam with support-set growth) with RBF kernel ridge regression
whose γ and λ are chosen by 5-fold CV on the training part.

The paper's sets (Yacht, Airfoil, Parkinson, Tecator, SML2010, California
housing, ...) are not in Debian; diabetes (embedded) and Boston housing
(python3-sklearn) stand in. The support-set budget is scaled to the small
sets (--max-sv) because the official 350 would interpolate every training
point here.`,
		Example: `  trustml repro labrbf
  trustml repro labrbf --reps 5 --iters 500,5000 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := rf.check(); err != nil {
				return err
			}
			t0 := time.Now()
			rep := &reproReport{
				Paper:    "Learning with asymmetric kernels: LAB RBF kernels and asymmetric KRR (He, Suykens et al.)",
				Protocol: fmt.Sprintf("random 80/20 splits × %d; LAB RBF with Laplace shape (official default), λ = 1e-3, Adam lr 1e-2, batch 128, iterations %v, max support %d; baseline RBF KRR with 5-fold CV over γ ∈ {¼,½,1,2,4}/median-sq-distance and λ ∈ {1e-3, 1e-2, 1e-1, 1}; test R²", rf.reps, iters, maxSV),
				Claim:    "better R² than fixed-kernel KRR/SVR/MKL and a ResNet regressor on most sets, with far fewer support points than Nyström on large sets; table values " + notRetrieved,
			}
			for _, s := range []struct{ paper, ours string }{
				{"Yacht/Airfoil/Parkinson/...", "diabetes"},
				{"California housing", "boston"},
			} {
				if err := reproLABSet(cmd.Context(), rep, s.paper, s.ours, rf, iters, maxSV); err != nil {
					return err
				}
			}
			rep.Notes = append(rep.Notes,
				"none of the paper's regression sets is packaged in Debian; diabetes (442×10) and Boston housing (506×13) are the closest small regression sets available",
				"the official code's California-housing class (named \"Boston\") loads California housing; we use the real Boston housing data")
			rep.Seconds = time.Since(t0).Seconds()
			return rep.print(cmd.OutOrStdout(), rf.asJSON)
		},
	}
	rf.add(cmd, 3)
	cmd.Flags().IntSliceVar(&iters, "iters", []int{500, 2000}, "Adam steps per stage (official: 500,5000)")
	cmd.Flags().IntVar(&maxSV, "max-sv", 90, "maximum support-set size (official 350, for larger sets)")
	return cmd
}

func reproLABSet(ctx context.Context, rep *reproReport, paperName, name string, rf reproFlags, iters []int, maxSV int) error {
	d, err := loadKernelData(name, true)
	if err != nil {
		return err
	}
	var lab, krr []float64
	for r := 0; r < rf.reps; r++ {
		seed := rf.seed + uint64(r)
		p, err := prepare(d, 0.2, seed, true)
		if err != nil {
			return err
		}
		m := &kernel.LABRBF{Iters: iters, MaxSV: maxSV, Rand: rand.New(rand.NewPCG(seed, 3))}
		if err := m.Fit(ctx, p.Xtr, p.ttr); err != nil {
			return fmt.Errorf("LAB RBF on %s: %w", name, err)
		}
		pred, err := m.Predict(p.Xte)
		if err != nil {
			return err
		}
		lab = append(lab, kernel.R2(p.tte, pred))

		m2 := medianSqDist(p.Xtr, rand.New(rand.NewPCG(seed, 1)))
		grid := kernel.Grid{"g": {0.25 / m2, 0.5 / m2, 1 / m2, 2 / m2, 4 / m2}, "lambda": {1e-3, 1e-2, 1e-1, 1}}
		res, err := kernel.GridSearch(ctx, kernel.CV{Folds: 5, Rand: rand.New(rand.NewPCG(seed, 4))}, p.Xtr, p.ttr, grid,
			func(pr map[string]float64, _ int) (kernel.Estimator[float64], error) {
				return &kernel.KRR{Kernel: kernel.RBF{Gamma: pr["g"]}, Lambda: pr["lambda"]}, nil
			}, kernel.R2)
		if err != nil {
			return err
		}
		bp := res.BestParams()
		k := &kernel.KRR{Kernel: kernel.RBF{Gamma: bp["g"]}, Lambda: bp["lambda"]}
		if err := k.Fit(ctx, p.Xtr, p.ttr); err != nil {
			return err
		}
		pk, err := k.Predict(p.Xte)
		if err != nil {
			return err
		}
		krr = append(krr, kernel.R2(p.tte, pk))
	}
	rep.add(reproRow{PaperData: paperName, Data: name, Method: "LAB RBF", Metric: "test R²", PaperValue: notRetrieved, Values: lab})
	rep.add(reproRow{PaperData: paperName, Data: name, Method: "KRR, RBF (CV)", Metric: "test R²", PaperValue: notRetrieved, Values: krr})
	return nil
}

// ---------------------------------------------------------------- AsK-RFF

func newReproAsKRFFCmd() *cobra.Command {
	var rf reproFlags
	var nmax int
	cmd := &cobra.Command{
		Use:   "askrff",
		Short: "AsK-RFFs: random Fourier features for asymmetric kernels (approximation error, AsK-LS accuracy, speed)",
		Long: `Reproduces the AsK-RFF evaluation on an asymmetric shift-invariant kernel,
the shifted Gaussian k(x,z) = exp(−‖x−z−c‖²/(2σ²)) (σ² the median squared
distance, ‖c‖ = σ/2 along a random direction), on standardized data:

  1. relative approximation error ‖K − φ_s(X)φ_t(X)ᵀ‖_F/‖K‖_F on up to --n
     points against D (frequencies per part), with exact total masses and
     with the paper's subset-fitted masses;
  2. downstream AsK-LS test accuracy (γ = 1 and 10) in the primal on
     AsK-RFF features (D = 64, 256 per part, subset masses) vs the exact
     dual AsK-LS, with fit times.

The paper's data sets are not retrieved; LetterRecognition is not packaged
readably; digits and breast-cancer (scikit-learn, embedded) stand in.`,
		Example: `  trustml repro askrff
  trustml repro askrff --reps 10 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := rf.check(); err != nil {
				return err
			}
			t0 := time.Now()
			rep := &reproReport{
				Paper:    "Random Fourier features for asymmetric kernels (AsK-RFFs)",
				Protocol: fmt.Sprintf("shifted-Gaussian kernel; %d feature draws per D; approximation on ≤ %d points; AsK-LS on a stratified 80/20 split per repetition", rf.reps, nmax),
				Claim:    "approximation error decays with D (uniform convergence); AsK-LS on AsK-RFFs approaches the exact AsK-LS accuracy at a fraction of the cost; the subset mass estimate speeds up feature construction; numbers " + notRetrieved,
			}
			for _, name := range []string{"digits", "breast-cancer"} {
				if err := reproAsKRFFSet(cmd.Context(), rep, name, rf, nmax); err != nil {
					return err
				}
			}
			rep.Notes = append(rep.Notes,
				"no official AsK-RFF code exists; the feature construction follows the spec's derivation (four-part Jordan decomposition, rejection sampling)",
				"the paper's large-scale classification sets are not retrieved; digits (1797×64) and breast-cancer (569×30) stand in")
			rep.Seconds = time.Since(t0).Seconds()
			return rep.print(cmd.OutOrStdout(), rf.asJSON)
		},
	}
	rf.add(cmd, 3)
	cmd.Flags().IntVar(&nmax, "n", 500, "points for the approximation error")
	return cmd
}

func relFrob(K, A *mat.Dense) float64 {
	var D mat.Dense
	D.Sub(K, A)
	return mat.Norm(&D, 2) / mat.Norm(K, 2)
}

func reproAsKRFFSet(ctx context.Context, rep *reproReport, name string, rf reproFlags, nmax int) error {
	d, err := loadKernelData(name, false)
	if err != nil {
		return err
	}
	full, err := prepare(d, 0, rf.seed, true)
	if err != nil {
		return err
	}
	X := full.Xtr
	n, dim := X.Dims()
	rng := rand.New(rand.NewPCG(rf.seed, 5))
	m2 := medianSqDist(X, rng)
	sigma := math.Sqrt(m2)
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
	idx := rng.Perm(n)[:min(n, nmax)]
	Xs := rowsOf(X, idx)
	K, err := kernel.Gram(kx, Xs, Xs)
	if err != nil {
		return err
	}
	for _, mass := range []features.MassMethod{features.MassExact, features.MassSubset} {
		for _, D := range []int{16, 64, 256, 1024} {
			var errs []float64
			for r := 0; r < rf.reps; r++ {
				a, err := features.NewAsKRFF(mu, features.AsKRFFConfig{D: D, Mass: mass}, X, kx, rand.New(rand.NewPCG(rf.seed+uint64(r), 6)))
				if err != nil {
					return err
				}
				G, err := a.Gram(Xs, Xs)
				if err != nil {
					return err
				}
				errs = append(errs, relFrob(K, G))
			}
			rep.add(reproRow{PaperData: notRetrieved, Data: name, Method: "AsK-RFF, " + mass.String() + " masses",
				Setting: fmt.Sprintf("D=%d per part", D), Metric: "‖K−K̃‖_F/‖K‖_F", PaperValue: notRetrieved, Values: errs})
		}
	}
	// Downstream AsK-LS: exact dual vs primal on features. The AsK-LS system
	// [I/γ H; Hᵀ I/γ] has eigenvalues 1/γ ± σ_i(H), so its solution is
	// sensitive to γ near the spectrum of a low-rank approximate kernel:
	// report two γ values rather than one.
	gammas := []float64{1, 10}
	Ds := []int{64, 256}
	accExact := make([][]float64, len(gammas))
	accRFF := make([][][]float64, len(gammas))
	for gi := range gammas {
		accRFF[gi] = make([][]float64, len(Ds))
	}
	var tExact []float64
	tRFF := make([][]float64, len(Ds))
	for r := 0; r < rf.reps; r++ {
		seed := rf.seed + uint64(r)
		p, err := prepare(d, 0.2, seed, true)
		if err != nil {
			return err
		}
		for gi, gamma := range gammas {
			t0 := time.Now()
			ex := &kernel.AsKLS{Kernel: kx, Gamma: gamma}
			if err := ex.Fit(ctx, p.Xtr, p.ytr); err != nil {
				return err
			}
			pe, err := ex.Predict(p.Xte)
			if err != nil {
				return err
			}
			if gi == 0 {
				tExact = append(tExact, time.Since(t0).Seconds())
			}
			accExact[gi] = append(accExact[gi], kernel.Accuracy(p.yte, pe))
		}
		for di, D := range Ds {
			t0 := time.Now()
			a, err := features.NewAsKRFF(mu, features.AsKRFFConfig{D: D, Mass: features.MassSubset}, p.Xtr, kx, rand.New(rand.NewPCG(seed, 7)))
			if err != nil {
				return err
			}
			S, err := a.Source(p.Xtr)
			if err != nil {
				return err
			}
			T, err := a.Target(p.Xtr)
			if err != nil {
				return err
			}
			St, err := a.Source(p.Xte)
			if err != nil {
				return err
			}
			Tt, err := a.Target(p.Xte)
			if err != nil {
				return err
			}
			for gi, gamma := range gammas {
				pm := &features.AsKLSPrimal{Gamma: gamma}
				if err := pm.Fit(S, T, p.ytr); err != nil {
					return err
				}
				pp, err := pm.Predict(St, Tt)
				if err != nil {
					return err
				}
				if gi == 0 {
					tRFF[di] = append(tRFF[di], time.Since(t0).Seconds())
				}
				accRFF[gi][di] = append(accRFF[gi][di], kernel.Accuracy(p.yte, pp))
			}
		}
	}
	for gi, gamma := range gammas {
		rep.add(reproRow{PaperData: notRetrieved, Data: name, Method: "AsK-LS exact (dual)", Setting: fmt.Sprintf("γ=%g", gamma), Metric: "test accuracy", PaperValue: notRetrieved, Values: accExact[gi]})
		for di, D := range Ds {
			rep.add(reproRow{PaperData: notRetrieved, Data: name, Method: "AsK-LS on AsK-RFF (primal)", Setting: fmt.Sprintf("γ=%g, D=%d per part, subset masses", gamma, D), Metric: "test accuracy", PaperValue: notRetrieved, Values: accRFF[gi][di]})
		}
	}
	rep.add(reproRow{PaperData: notRetrieved, Data: name, Method: "AsK-LS exact (dual)", Setting: "one γ", Metric: "fit+predict seconds", PaperValue: notRetrieved, Values: tExact})
	for di, D := range Ds {
		rep.add(reproRow{PaperData: notRetrieved, Data: name, Method: "AsK-LS on AsK-RFF (primal)", Setting: fmt.Sprintf("one γ, D=%d per part, features included", D), Metric: "fit+predict seconds", PaperValue: notRetrieved, Values: tRFF[di]})
	}
	return nil
}

// ---------------------------------------------------------------- GORF

func newReproGORFCmd() *cobra.Command {
	var rf reproFlags
	var rmax float64
	var nmax int
	cmd := &cobra.Command{
		Use:   "gorf",
		Short: "GORF: generalized orthogonal random features for indefinite kernels vs i.i.d. GRFF",
		Long: `Reproduces the GORF protocol (official code): ℓ2-normalized inputs, D = 2^{-2..3}·d
frequencies per part, relative Frobenius error ‖K − K̃‖_F/‖K‖_F on up to --n
training points and test accuracy of a linear L2-loss SVM (liblinear -s 2
model, C = 1000) on the features [Φ₊, Φ₋], mean ± std over --reps draws, for
the Delta-Gaussian kernel (σ₁ = 1, σ₂ = 10) and the polynomial kernel on the
sphere (a = 3, p = 1), GORF (orthogonal directions) against GRFF (i.i.d.).
Housing is a regression set: RMSE of ridge regression on the features
replaces the paper's SVR.

Radial densities include the r^{d−1} Jacobian and the true masses (the
mathematically correct sampler; the official code omits the Jacobian and
renormalizes). For the truncated polynomial kernel the masses grow like
rmax^{(d−1)/2}, so its unbiased estimates are very noisy in these dimensions;
the output reports the masses, and adds rows with the official code's
sampler (biased; evaluated, as the code does, with the diagonal of K̃ set
to the true values).`,
		Example: `  trustml repro gorf
  trustml repro gorf --reps 10 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := rf.check(); err != nil {
				return err
			}
			if !(rmax > 0) {
				return fmt.Errorf("--rmax must be positive, got %v", rmax)
			}
			t0 := time.Now()
			rep := &reproReport{
				Paper:    "Generalized orthogonal random features for indefinite kernels (GORF)",
				Protocol: fmt.Sprintf("ℓ2-normalized standardized inputs, %d repetitions, D ∈ {d/4, d, 8d} per part; error on ≤ %d points; linear SVM C=1000 (classification, stratified 80/20) or ridge λ=1e-3 RMSE (housing); sphere-poly grid r ∈ [0, %g], 20,000 points", rf.reps, nmax, rmax),
				Claim:    "GORF has the lowest approximation error and variance and the best or competitive accuracy among RM, TS, SRF, DIGMM and GRFF; numbers " + notRetrieved,
			}
			sets := []struct{ paper, ours string }{
				{"letter (d=16)", "wine"},
				{"usps (d=256)", "digits"},
				{"housing (d=13)", "boston"},
			}
			for _, s := range sets {
				if err := reproGORFSet(cmd.Context(), rep, s.paper, s.ours, rf, rmax, nmax); err != nil {
					return err
				}
			}
			rep.Notes = append(rep.Notes,
				"letter (mlbench .rda) is not readable without R; wine (d=13) stands in. ijcnn1 and usps are LIBSVM downloads, not in Debian: ijcnn1 is not run, digits (d=64) stands in for usps",
				"housing: the paper's SVR is replaced by ridge regression on the features; metric RMSE in the target's units",
				"baselines RM, TS, SRF and DIGMM are not implemented; GRFF (i.i.d. directions) is")
			rep.Seconds = time.Since(t0).Seconds()
			return rep.print(cmd.OutOrStdout(), rf.asJSON)
		},
	}
	rf.add(cmd, 3)
	cmd.Flags().Float64Var(&rmax, "rmax", 100, "radius grid bound for the sphere-poly spectral density (official 100)")
	cmd.Flags().IntVar(&nmax, "n", 1000, "points for the approximation error (official 1,000)")
	return cmd
}

func l2rows(X *mat.Dense) {
	r, _ := X.Dims()
	for i := 0; i < r; i++ {
		row := X.RawRowView(i)
		var s float64
		for _, v := range row {
			s += v * v
		}
		if s = math.Sqrt(s); s > 0 {
			for j := range row {
				row[j] /= s
			}
		}
	}
}

func reproGORFSet(ctx context.Context, rep *reproReport, paperName, name string, rf reproFlags, rmax float64, nmax int) error {
	regression := name == "boston"
	d, err := loadKernelData(name, regression)
	if err != nil {
		return err
	}
	full, err := prepare(d, 0, rf.seed, true)
	if err != nil {
		return err
	}
	X := full.Xtr
	l2rows(X)
	n, dim := X.Dims()
	kernels := []struct {
		label string
		k     kernel.Kernel
	}{
		{"delta-gaussian σ₁=1 σ₂=10", kernel.DeltaGaussian{Sigma1: 1, Sigma2: 10}},
		{"sphere-poly a=3 p=1", kernel.SpherePolynomial{A: 3, P: 1}},
	}
	idx := rand.New(rand.NewPCG(rf.seed, 8)).Perm(n)[:min(n, nmax)]
	Xs := rowsOf(X, idx)
	for _, kk := range kernels {
		meas, err := features.RadialMeasureOf(kk.k, dim, rmax, 20000)
		if err != nil {
			return err
		}
		type sampler struct {
			suffix   string
			m        features.RadialMeasure
			official bool
		}
		samplers := []sampler{{"", meas, false}}
		if sp, ok := kk.k.(kernel.SpherePolynomial); ok {
			mp, mn := meas.Masses()
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s, d=%d: sphere-poly masses M₊ = %.3g, M₋ = %.3g (κ(0) = 1): the unbiased estimate's variance is hopeless at this d", name, dim, mp, mn))
			off, err := features.PolySphereOfficial(dim, sp.A, sp.P, rmax, 20000)
			if err != nil {
				return err
			}
			samplers = append(samplers, sampler{" (official-code sampler)", off, true})
		}
		K, err := kernel.Gram(kk.k, Xs, Xs)
		if err != nil {
			return err
		}
		for _, smp := range samplers {
			for _, D := range []int{max(1, dim/4), dim, 8 * dim} {
				for _, ortho := range []bool{true, false} {
					method := "GRFF"
					if ortho {
						method = "GORF"
					}
					method += smp.suffix
					var errs, scores []float64
					for r := 0; r < rf.reps; r++ {
						seed := rf.seed + uint64(r)
						rng := rand.New(rand.NewPCG(seed, 9))
						var km *features.KreinMap
						if ortho {
							km, err = features.NewGORF(smp.m, dim, D, rng)
						} else {
							km, err = features.NewGRFF(smp.m, dim, D, rng)
						}
						if err != nil {
							return err
						}
						G, err := km.Gram(Xs, Xs)
						if err != nil {
							return err
						}
						if smp.official { // the official metric overwrites the diagonal
							for i := range idx {
								G.Set(i, i, K.At(i, i))
							}
						}
						errs = append(errs, relFrob(K, G))
						s, err := gorfDownstream(ctx, d, km, seed, regression)
						if err != nil {
							return err
						}
						scores = append(scores, s)
					}
					setting := fmt.Sprintf("%s, D=%d", kk.label, D)
					errMetric := "‖K−K̃‖_F/‖K‖_F"
					if smp.official {
						errMetric += " (diag of K̃ set to K's)"
					}
					rep.add(reproRow{PaperData: paperName, Data: name, Method: method, Setting: setting, Metric: errMetric, PaperValue: notRetrieved, Values: errs})
					metric := "test accuracy (linear SVM)"
					if regression {
						metric = "test RMSE (ridge)"
					}
					rep.add(reproRow{PaperData: paperName, Data: name, Method: method, Setting: setting, Metric: metric, PaperValue: notRetrieved, Values: scores})
				}
			}
		}
	}
	return nil
}

// gorfDownstream fits the linear model on [Φ₊, Φ₋] of a stratified 80/20
// split of d and returns test accuracy or RMSE.
func gorfDownstream(ctx context.Context, d *data.Dataset, km *features.KreinMap, seed uint64, regression bool) (float64, error) {
	p, err := prepare(d, 0.2, seed, true)
	if err != nil {
		return 0, err
	}
	l2rows(p.Xtr)
	l2rows(p.Xte)
	Ftr, err := km.Transform(p.Xtr)
	if err != nil {
		return 0, err
	}
	Fte, err := km.Transform(p.Xte)
	if err != nil {
		return 0, err
	}
	if regression {
		r := &features.Ridge{Lambda: 1e-3}
		if err := r.Fit(Ftr, p.ttr); err != nil {
			return 0, err
		}
		pred, err := r.Predict(Fte)
		if err != nil {
			return 0, err
		}
		var s float64
		for i, v := range pred {
			s += (v - p.tte[i]) * (v - p.tte[i])
		}
		return math.Sqrt(s / float64(len(pred))), nil
	}
	svc := &features.LinearSVC{C: 1000, MaxIter: 300}
	if err := svc.Fit(ctx, Ftr, p.ytr, rand.New(rand.NewPCG(seed, 10))); err != nil {
		return 0, err
	}
	pred, err := svc.Predict(Fte)
	if err != nil {
		return 0, err
	}
	return kernel.Accuracy(p.yte, pred), nil
}
