package impute

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
)

// SupervisedConfig configures [Supervised]. Zero fields take the defaults
// the field comments give.
type SupervisedConfig struct {
	// C is the SVM's box constraint; 0: chosen with Gamma by 3-fold
	// cross-validation of an SVM on the mean-imputed labeled rows (C ∈
	// {0.1, 1, 10, 100}).
	C float64
	// Gamma is γ = 1/(2σ²) of the observed-coordinate Gaussian kernel on
	// features min–max scaled to [0, 1]; 0: chosen with C (γ·d ∈ {1, 4,
	// 16} for d features).
	Gamma float64
	// Eta is the penalty η on ‖K_Δ − 11ᵀ‖²_F; 0: ‖α_MI‖, the norm of the
	// dual of the SVM on the mean-imputed rows (the paper's choice).
	Eta float64
	// Radius is r, the bound ‖E − 11ᵀ‖_F ≤ r; 0: 0.2·n·(missing rate).
	Radius float64
	// Steps is the number of stage-1 Adam steps (default 40).
	Steps int
	// Sweeps is the number of stage-2 passes over the rows (default 30).
	Sweeps int
	// LR is stage 2's Adam learning rate (default 0.02; stage 1 uses the
	// paper's 0.1/√(t+1)).
	LR float64
	// Reg is the ridge λ of the regression form (KRR dual; default 1e-2·n).
	Reg float64
	// Seed seeds the folds of the C, γ search.
	Seed uint64
}

// SupervisedResult is the output of [Supervised].
type SupervisedResult struct {
	// X is the imputed matrix.
	X *mat.Dense
	// K is the learned kernel matrix (n×n, PSD, unit diagonal).
	K *mat.Dense
	// C, Gamma, Eta and Radius are the settings used (chosen or given).
	C, Gamma, Eta, Radius float64
	// Objective is the stage-1 dual objective after each step (its
	// saddle value: it need not decrease monotonically).
	Objective []float64
	// Stress is Σ_ij (‖x_i − x_j‖² + 2σ² log K_ij)² / n² after stage 2.
	Stress float64
}

// Supervised imputes X (NaN = missing) with a kernel learned for the
// downstream task (methods/kernels.md §9), labels y for the first rows.
// Features are min–max scaled to [0, 1] on their observed values (and the
// result scaled back).
//
// Stage 1 learns K = P(K_obs ∘ K_Δ ∘ E): K_obs,ij = exp(−γ‖(x_i −
// x_j)∘m_ij‖²) with m_ij the coordinates observed in both rows, P the
// projection on PSD matrices with unit diagonal (symmetrize, clip
// eigenvalues at 0, normalize). It runs Steps alternating Adam steps
// (learning rate 0.1/√(t+1)) on the SVM dual
//
//	J = Σα − ½ (α∘y)ᵀ K (α∘y) + η‖K_Δ − 11ᵀ‖²_F,
//
// descending in K_Δ (then clipped to its box [B_l, 1], B_l,ij = exp(−γ·
// the largest squared distance the coordinates missing in i or j can add
// in [0, 1])) and in E (then projected on the ball ‖E − 11ᵀ‖_F ≤ r),
// ascending in α (then projected on {0 ≤ α ≤ C, yᵀα = 0}); K is
// re-projected after each step. Multiclass labels sum one-vs-rest duals;
// regression targets use the kernel ridge dual Σ α y − ½αᵀ(K + λI)α
// (α free). The gradients treat P as the identity.
//
// Stage 2 fits the missing entries (in [0, 1]) so that squared distances
// match the learned kernel, minimizing Σ_ij (‖x_i − x_j‖² − t_ij)² with
// t_ij = −log(K_ij)/γ (= −2σ² log K_ij) clipped to the squared distances
// the observed coordinates allow (observed part plus [0, the largest the
// missing ones can add]), block-coordinate over rows with Adam, from mean
// imputation.
func Supervised(ctx context.Context, X *mat.Dense, y Labels, cfg SupervisedConfig) (*SupervisedResult, error) {
	n, d := X.Dims()
	if (y.Class == nil) == (y.Target == nil) {
		return nil, errors.New("impute: give exactly one of Labels.Class and Labels.Target")
	}
	nl := y.n()
	if nl < 3 || nl > n {
		return nil, fmt.Errorf("impute: %d labels for %d rows, want 3..%d", nl, n, n)
	}
	for _, v := range []float64{cfg.C, cfg.Gamma, cfg.Eta, cfg.Radius, cfg.LR, cfg.Reg} {
		if !(v >= 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("impute: supervised settings must be finite and ≥ 0: C %g, Gamma %g, Eta %g, Radius %g, LR %g, Reg %g", cfg.C, cfg.Gamma, cfg.Eta, cfg.Radius, cfg.LR, cfg.Reg)
		}
	}
	if cfg.Steps < 0 || cfg.Sweeps < 0 {
		return nil, fmt.Errorf("impute: supervised Steps %d and Sweeps %d must be ≥ 0", cfg.Steps, cfg.Sweeps)
	}
	steps, sweeps, lr := cmp.Or(cfg.Steps, 40), cmp.Or(cfg.Sweeps, 30), cmp.Or(cfg.LR, 0.02)
	// Scale to [0, 1] on the observed values.
	lo, span := make([]float64, d), make([]float64, d)
	for j := range d {
		lo[j], span[j] = math.Inf(1), 0
		hi := math.Inf(-1)
		for i := range n {
			if v := X.At(i, j); !math.IsNaN(v) {
				lo[j], hi = min(lo[j], v), max(hi, v)
			}
		}
		if math.IsInf(lo[j], 1) {
			return nil, fmt.Errorf("column %d: %w", j, ErrNoObserved)
		}
		if span[j] = hi - lo[j]; span[j] == 0 {
			span[j] = 1
		}
	}
	S := mat.NewDense(n, d, nil)
	var nmiss int
	for i := range n {
		for j := range d {
			v := X.At(i, j)
			if math.IsNaN(v) {
				nmiss++
				S.Set(i, j, math.NaN())
			} else {
				S.Set(i, j, (v-lo[j])/span[j])
			}
		}
	}
	meanS, err := Mean(S)
	if err != nil {
		return nil, err
	}
	task := newDualTask(y, n, cfg.Reg)
	// C and γ around the mean-imputation optimum, η = ‖α_MI‖.
	C, gamma := cfg.C, cfg.Gamma
	if C == 0 || gamma == 0 {
		if C, gamma, err = selectCGamma(ctx, meanS, y, task, C, gamma, cfg.Seed); err != nil {
			return nil, err
		}
	}
	task.C = C
	eta := cfg.Eta
	if eta == 0 {
		if eta, err = task.dualNorm(ctx, rbfGram(meanS, gamma)); err != nil {
			return nil, err
		}
	}
	r := cfg.Radius
	if r == 0 {
		r = 0.2 * float64(n) * float64(nmiss) / float64(n*d)
	}
	res := &SupervisedResult{C: C, Gamma: gamma, Eta: eta, Radius: r}

	// Stage 1.
	Kobs, Bl := make([]float64, n*n), make([]float64, n*n)
	dObs, dMiss := make([]float64, n*n), make([]float64, n*n)
	for i := range n {
		for k := range n {
			var obs, miss float64
			for j := range d {
				a, b := S.At(i, j), S.At(k, j)
				switch {
				case !math.IsNaN(a) && !math.IsNaN(b):
					obs += (a - b) * (a - b)
				case math.IsNaN(a) && math.IsNaN(b):
					miss++
				case math.IsNaN(a):
					miss += max(b, 1-b) * max(b, 1-b)
				default:
					miss += max(a, 1-a) * max(a, 1-a)
				}
			}
			Kobs[i*n+k], Bl[i*n+k] = math.Exp(-gamma*obs), math.Exp(-gamma*miss)
			dObs[i*n+k], dMiss[i*n+k] = obs, miss
		}
	}
	KD, E := ones(n*n), ones(n*n)
	K := make([]float64, n*n)
	prod := func() error {
		for u := range K {
			K[u] = Kobs[u] * KD[u] * E[u]
		}
		return projectPSD(K, n)
	}
	if err := prod(); err != nil {
		return nil, err
	}
	adKD, adE := newAdam(n*n), newAdam(n*n)
	adA := newAdam(len(task.alpha))
	G := make([]float64, n*n)
	gKD, gE := make([]float64, n*n), make([]float64, n*n)
	for t := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		step := 0.1 / math.Sqrt(float64(t+1))
		// α ascent on the current kernel.
		ga := task.alphaGrad(K)
		for i := range ga {
			ga[i] = -ga[i] // Adam descends
		}
		adA.step(task.alpha, ga, step)
		task.project()
		// G = Σ_c v_c v_cᵀ.
		task.outer(G)
		for u := range G {
			gKD[u] = -0.5*G[u]*Kobs[u]*E[u] + 2*eta*(KD[u]-1)
			gE[u] = -0.5 * G[u] * Kobs[u] * KD[u]
		}
		adKD.step(KD, gKD, step)
		for u := range KD {
			KD[u] = min(max(KD[u], Bl[u]), 1)
		}
		adE.step(E, gE, step)
		projectBall(E, r)
		if err := prod(); err != nil {
			return nil, err
		}
		res.Objective = append(res.Objective, task.objective(K)+eta*sqDist1(KD))
	}

	// Stage 2: distances regressed to the learned kernel.
	target := make([]float64, n*n)
	for u, v := range K {
		// The squared distance the kernel asks for, kept in the range the
		// observed coordinates allow.
		t := -math.Log(min(max(v, 1e-300), 1)) / gamma
		target[u] = min(max(t, dObs[u]), dObs[u]+dMiss[u])
	}
	Z := mat.DenseCopyOf(meanS)
	ad := newAdam(n * d)
	grad := make([]float64, d)
	for range sweeps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for i := range n {
			xi := Z.RawRowView(i)
			hasMiss := false
			for j := range d {
				grad[j] = 0
				hasMiss = hasMiss || math.IsNaN(S.At(i, j))
			}
			if !hasMiss {
				continue
			}
			for k := range n {
				if k == i {
					continue
				}
				xk := Z.RawRowView(k)
				var d2 float64
				for j := range d {
					d2 += (xi[j] - xk[j]) * (xi[j] - xk[j])
				}
				c := 4 * (d2 - target[i*n+k]) / float64(n)
				for j := range d {
					grad[j] += c * (xi[j] - xk[j])
				}
			}
			for j := range d {
				if !math.IsNaN(S.At(i, j)) {
					grad[j] = 0
				}
			}
			ad.stepAt(i*d, xi, grad, lr)
			for j := range d {
				if math.IsNaN(S.At(i, j)) {
					xi[j] = min(max(xi[j], 0), 1)
				}
			}
		}
	}
	var stress float64
	for i := range n {
		for k := range n {
			var d2 float64
			for j := range d {
				t := Z.At(i, j) - Z.At(k, j)
				d2 += t * t
			}
			stress += (d2 - target[i*n+k]) * (d2 - target[i*n+k])
		}
	}
	res.Stress = stress / float64(n*n)
	out := mat.DenseCopyOf(X)
	for i := range n {
		for j := range d {
			if math.IsNaN(X.At(i, j)) {
				out.Set(i, j, lo[j]+span[j]*Z.At(i, j))
			}
		}
	}
	res.X, res.K = out, mat.NewDense(n, n, K)
	return res, nil
}

func ones(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

// sqDist1 is ‖v − 1‖².
func sqDist1(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += (x - 1) * (x - 1)
	}
	return s
}

// projectBall projects v on {‖v − 1‖ ≤ r}.
func projectBall(v []float64, r float64) {
	nrm := math.Sqrt(sqDist1(v))
	if nrm <= r {
		return
	}
	f := r / nrm
	for i := range v {
		v[i] = 1 + f*(v[i]-1)
	}
}

// projectPSD replaces the n×n matrix K by its projection on PSD matrices
// with unit diagonal: symmetrize, clip negative eigenvalues, normalize
// K_ij/√(K_ii K_jj) (a zero diagonal entry becomes 1, its row 0).
func projectPSD(K []float64, n int) error {
	sym := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			sym.SetSym(i, j, (K[i*n+j]+K[j*n+i])/2)
		}
	}
	var e mat.EigenSym
	if !e.Factorize(sym, true) {
		return errors.New("impute: eigendecomposition of the learned kernel failed")
	}
	vals := e.Values(nil)
	var V mat.Dense
	e.VectorsTo(&V)
	for c, v := range vals {
		s := math.Sqrt(max(v, 0))
		for i := range n {
			V.Set(i, c, V.At(i, c)*s)
		}
	}
	var P mat.Dense
	P.Mul(&V, V.T())
	diag := make([]float64, n)
	for i := range n {
		diag[i] = math.Sqrt(max(P.At(i, i), 0))
	}
	for i := range n {
		for j := range n {
			switch {
			case i == j:
				K[i*n+j] = 1
			case diag[i] > 1e-12 && diag[j] > 1e-12:
				K[i*n+j] = P.At(i, j) / (diag[i] * diag[j])
			default:
				K[i*n+j] = 0
			}
		}
	}
	return nil
}

// rbfGram is exp(−γ‖x_i − x_j‖²) of the rows of X.
func rbfGram(X *mat.Dense, gamma float64) *mat.Dense {
	n, d := X.Dims()
	K := mat.NewDense(n, n, nil)
	for i := range n {
		for k := range n {
			var s float64
			for j := range d {
				t := X.At(i, j) - X.At(k, j)
				s += t * t
			}
			K.Set(i, k, math.Exp(-gamma*s))
		}
	}
	return K
}

// adam is the Adam optimizer's state (β₁ 0.9, β₂ 0.999, ε 1e-8).
type adam struct {
	m, v []float64
	t    []int
}

func newAdam(n int) *adam {
	return &adam{m: make([]float64, n), v: make([]float64, n), t: make([]int, n)}
}

// step moves x against g with learning rate lr.
func (a *adam) step(x, g []float64, lr float64) { a.stepAt(0, x, g, lr) }

// stepAt moves x (the entries off.. of the state) against g.
func (a *adam) stepAt(off int, x, g []float64, lr float64) {
	for i := range x {
		k := off + i
		a.t[k]++
		a.m[k] = 0.9*a.m[k] + 0.1*g[i]
		a.v[k] = 0.999*a.v[k] + 0.001*g[i]*g[i]
		mh := a.m[k] / (1 - math.Pow(0.9, float64(a.t[k])))
		vh := a.v[k] / (1 - math.Pow(0.999, float64(a.t[k])))
		x[i] -= lr * mh / (math.Sqrt(vh) + 1e-8)
	}
}

// dualTask is the downstream dual of stage 1: one-vs-rest SVMs on the
// labeled rows (classification) or kernel ridge (regression).
type dualTask struct {
	n, nl int
	cls   bool
	ys    [][]float64 // ±1 per machine (classification) or the targets
	alpha []float64   // machines × nl
	C     float64
	reg   float64
}

func newDualTask(y Labels, n int, reg float64) *dualTask {
	t := &dualTask{n: n, nl: y.n()}
	if y.Class != nil {
		t.cls = true
		classes := map[int]bool{}
		var order []int
		for _, c := range y.Class {
			if !classes[c] {
				classes[c] = true
				order = append(order, c)
			}
		}
		slices.Sort(order)
		if len(order) == 2 {
			order = order[1:]
		}
		for _, c := range order {
			v := make([]float64, t.nl)
			for i, yc := range y.Class {
				v[i] = -1
				if yc == c {
					v[i] = 1
				}
			}
			t.ys = append(t.ys, v)
		}
	} else {
		t.ys = [][]float64{append([]float64(nil), y.Target...)}
		t.reg = reg
		if t.reg == 0 {
			t.reg = 1e-2 * float64(t.nl)
		}
	}
	t.alpha = make([]float64, len(t.ys)*t.nl)
	return t
}

// vec returns machine c's v = α∘y (classification) or α (regression).
func (t *dualTask) vec(c int) []float64 {
	a := t.alpha[c*t.nl : (c+1)*t.nl]
	v := make([]float64, t.nl)
	for i := range v {
		v[i] = a[i]
		if t.cls {
			v[i] *= t.ys[c][i]
		}
	}
	return v
}

// alphaGrad is ∂J/∂α on the n×n kernel K.
func (t *dualTask) alphaGrad(K []float64) []float64 {
	g := make([]float64, len(t.alpha))
	for c := range t.ys {
		v := t.vec(c)
		for i := range t.nl {
			var kv float64
			for j := range t.nl {
				kv += K[i*t.n+j] * v[j]
			}
			if t.cls {
				g[c*t.nl+i] = 1 - t.ys[c][i]*kv
			} else {
				g[c*t.nl+i] = t.ys[c][i] - kv - t.reg*v[i]
			}
		}
	}
	return g
}

// objective is Σ_c J_c(α) on K (without the penalty).
func (t *dualTask) objective(K []float64) float64 {
	var s float64
	for c := range t.ys {
		v := t.vec(c)
		for i := range t.nl {
			var kv float64
			for j := range t.nl {
				kv += K[i*t.n+j] * v[j]
			}
			if t.cls {
				s += v[i]*t.ys[c][i] - 0.5*v[i]*kv
			} else {
				s += v[i]*t.ys[c][i] - 0.5*v[i]*kv - 0.5*t.reg*v[i]*v[i]
			}
		}
	}
	return s
}

// outer writes Σ_c v_c v_cᵀ into the n×n G (zero outside the labeled
// rows).
func (t *dualTask) outer(G []float64) {
	for u := range G {
		G[u] = 0
	}
	for c := range t.ys {
		v := t.vec(c)
		for i := range t.nl {
			for j := range t.nl {
				G[i*t.n+j] += v[i] * v[j]
			}
		}
	}
}

// project puts each classification machine's α on {0 ≤ α ≤ C, yᵀα = 0}
// (bisection on the shift μ of α − μy).
func (t *dualTask) project() {
	if !t.cls {
		return
	}
	for c, y := range t.ys {
		a := t.alpha[c*t.nl : (c+1)*t.nl]
		orig := append([]float64(nil), a...)
		sum := func(mu float64) float64 {
			var s float64
			for i := range a {
				a[i] = min(max(orig[i]-mu*y[i], 0), t.C)
				s += y[i] * a[i]
			}
			return s
		}
		var M float64
		for _, v := range orig {
			M = max(M, math.Abs(v))
		}
		lo, hi := -(M + t.C + 1), M+t.C+1
		for range 100 {
			mid := (lo + hi) / 2
			if sum(mid) > 0 {
				lo = mid
			} else {
				hi = mid
			}
		}
		sum((lo + hi) / 2)
	}
}

// dualNorm is ‖α‖ of the downstream model on K (labeled rows): the SVM's
// dual (stacked over machines) or kernel ridge's coefficients.
func (t *dualTask) dualNorm(ctx context.Context, K *mat.Dense) (float64, error) {
	Kl := K.Slice(0, t.nl, 0, t.nl).(*mat.Dense)
	var s float64
	if t.cls {
		for c, y := range t.ys {
			lab := make([]int, t.nl)
			for i, v := range y {
				if v > 0 {
					lab[i] = 1
				}
			}
			m := &kernel.SVC{C: t.C}
			if err := m.FitGram(ctx, mat.DenseCopyOf(Kl), lab); err != nil {
				return 0, fmt.Errorf("impute: SVM on mean-imputed rows (machine %d): %w", c, err)
			}
			for _, v := range m.Dual()[0] {
				s += v * v
			}
		}
	} else {
		m := &kernel.KRR{Lambda: t.reg}
		if err := m.FitGram(ctx, mat.DenseCopyOf(Kl), t.ys[0]); err != nil {
			return 0, fmt.Errorf("impute: kernel ridge on mean-imputed rows: %w", err)
		}
		for _, v := range m.Dual() {
			s += v * v
		}
	}
	return math.Sqrt(s), nil
}

// selectCGamma picks the unset of C and γ by 3-fold cross-validation of
// the downstream model (SVM; kernel ridge for regression, whose C is then
// unused) on the mean-imputed labeled rows.
func selectCGamma(ctx context.Context, X *mat.Dense, y Labels, task *dualTask, C, gamma float64, seed uint64) (float64, float64, error) {
	_, d := X.Dims()
	Cs, gammas := []float64{C}, []float64{gamma}
	if C == 0 {
		Cs = []float64{0.1, 1, 10, 100}
		if !task.cls {
			Cs = []float64{1}
		}
	}
	if gamma == 0 {
		gammas = []float64{1 / float64(d), 4 / float64(d), 16 / float64(d)}
	}
	nl := task.nl
	perm := rand.New(rand.NewPCG(seed, 0x5c)).Perm(nl)
	bestC, bestG, best := 0.0, 0.0, math.Inf(-1)
	for _, g := range gammas {
		K := rbfGram(X, g)
		for _, c := range Cs {
			var score float64
			for f := range 3 {
				var tr, te []int
				for p, i := range perm {
					if p%3 == f {
						te = append(te, i)
					} else {
						tr = append(tr, i)
					}
				}
				if y.Class != nil {
					m := &kernel.SVC{C: c}
					if err := m.FitGram(ctx, sub(K, tr, tr), pick(y.Class, tr)); err != nil {
						return 0, 0, fmt.Errorf("impute: choosing C and γ: %w", err)
					}
					p, err := m.PredictGram(sub(K, te, tr))
					if err != nil {
						return 0, 0, err
					}
					score += kernel.Accuracy(pick(y.Class, te), p)
				} else {
					m := &kernel.KRR{Lambda: task.reg}
					if err := m.FitGram(ctx, sub(K, tr, tr), pick(y.Target, tr)); err != nil {
						return 0, 0, fmt.Errorf("impute: choosing γ: %w", err)
					}
					p, err := m.PredictGram(sub(K, te, tr))
					if err != nil {
						return 0, 0, err
					}
					score += kernel.R2(pick(y.Target, te), p)
				}
			}
			if score > best {
				bestC, bestG, best = c, g, score
			}
		}
	}
	if best == math.Inf(-1) {
		return 0, 0, errors.New("impute: no C, γ gave a cross-validated score")
	}
	return bestC, bestG, nil
}
