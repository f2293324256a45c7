package kernel

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/linalg"
)

// LABRBF is regression with a locally-adaptive-bandwidth RBF kernel whose
// bandwidth vectors θ_i (one per support point, one entry per feature) are
// learned. The model is
//
//	f(x) = Σ_i α_i k_i(x) + b,   k_i(x) = exp(−‖θ_i ⊙ (x − x_i)‖^q),
//
// over a support set {x_i} ⊂ training set, with b = mean of the support
// targets and α from the asymmetric kernel ridge system
// (Kᵀ + λI)α = y_sv − b·1, K_ij = k_i(x_j). Fit alternates:
//
//  1. support set: MaxSV/3 training points evenly spaced in sorted-target
//     order; all θ entries √(InitWeight/d);
//  2. for each stage, Iters[stage] Adam steps (lr LR, minibatches of Batch
//     from reshuffled epochs, gradient-norm clipping at ClipNorm) on the
//     mean squared training error, differentiating through the solve
//     (closed-form adjoint: u = (K + λI)⁻¹ ∂L/∂α);
//  3. between stages, the min(max(10, N/10), MaxSV − N) training points with
//     the largest absolute error join the support set with θ = the mean of
//     the learned θ's.
//
// Features and targets are min–max scaled to [−1, 1] first (a feature that
// is constant in the training set maps to 0), predictions are mapped back
// and clipped to the training target range, as in the official code.
//
// With Ridgeless set, λ = 0 (kernel ridgeless regression): the support set
// interpolates its targets, duplicated support inputs are skipped, and a
// numerically singular final system is solved by the pseudo-inverse
// ([LABRBF.Info] reports Method "pinv").
type LABRBF struct {
	Lambda     float64    // ridge λ on the support system; 0 means 1e-3
	Ridgeless  bool       // λ = 0
	Shape      LABShape   // "" means LABLaplace (the official default)
	InitWeight float64    // θ init √(InitWeight/d); 0 means 30
	LR         float64    // Adam learning rate; 0 means 1e-2
	Batch      int        // minibatch size; 0 means 128
	Iters      []int      // Adam steps per stage (the last entry repeats); nil means {500, 5000}
	MaxSV      int        // maximum support-set size; 0 means 350
	Stages     int        // 0 means 2
	ClipNorm   float64    // gradient-norm clip; 0 means 10, negative disables
	NoScale    bool       // skip the min–max scaling of features and targets
	NoClip     bool       // do not clip predictions to the training target range
	Rand       *rand.Rand // minibatch source; nil means a fixed seed (0, 0)

	d               int
	sv, theta       *mat.Dense // scaled units
	alpha           []float64
	b               float64
	xLo, xScale     []float64 // x̃ = (x − lo)·scale − 1 (scale 0 for constant features)
	yLo, yHi        float64
	yScale          float64
	history         []float64
	info            SolveInfo
	shape           LABShape
	lambda          float64
	fittedNoClipped bool
}

type labSettings struct {
	lambda, initW, lr, clip float64
	batch, maxSV, stages    int
	iters                   []int
	shape                   LABShape
}

func (m *LABRBF) settings() (labSettings, error) {
	s := labSettings{lambda: m.Lambda, initW: m.InitWeight, lr: m.LR, clip: m.ClipNorm,
		batch: m.Batch, maxSV: m.MaxSV, stages: m.Stages, iters: m.Iters, shape: m.Shape}
	if s.lambda == 0 {
		s.lambda = 1e-3
	}
	if m.Ridgeless {
		s.lambda = 0
	}
	if s.initW == 0 {
		s.initW = 30
	}
	if s.lr == 0 {
		s.lr = 1e-2
	}
	if s.clip == 0 {
		s.clip = 10
	}
	if s.batch == 0 {
		s.batch = 128
	}
	if s.maxSV == 0 {
		s.maxSV = 350
	}
	if s.stages == 0 {
		s.stages = 2
	}
	if s.iters == nil {
		s.iters = []int{500, 5000}
	}
	if s.shape == "" {
		s.shape = LABLaplace
	}
	switch {
	case !m.Ridgeless && !(m.Lambda >= 0):
		return s, fmt.Errorf("kernel: LABRBF Lambda must be ≥ 0, got %v: %w", m.Lambda, ErrParam)
	case !(s.initW > 0), !(s.lr > 0), math.IsNaN(s.clip):
		return s, fmt.Errorf("kernel: LABRBF InitWeight, LR must be positive and ClipNorm a number: %w", ErrParam)
	case s.batch < 1 || s.maxSV < 1 || s.stages < 1 || len(s.iters) == 0:
		return s, fmt.Errorf("kernel: LABRBF Batch, MaxSV, Stages must be ≥ 1 and Iters non-empty: %w", ErrParam)
	case !s.shape.valid():
		return s, fmt.Errorf("kernel: LABRBF Shape %q is not %q or %q: %w", s.shape, LABLaplace, LABGauss, ErrParam)
	}
	for _, it := range s.iters {
		if it < 0 {
			return s, fmt.Errorf("kernel: LABRBF Iters has negative entry %d: %w", it, ErrParam)
		}
	}
	return s, nil
}

// labState is the working state of LAB RBF training in scaled units.
type labState struct {
	shape  LABShape
	lambda float64
	d      int
	sv     [][]float64 // support inputs
	ysv    []float64
	theta  [][]float64
	b      float64
}

// Fit learns the support set, bandwidths and coefficients from the rows of
// X and targets y.
func (m *LABRBF) Fit(ctx context.Context, X *mat.Dense, y []float64) error {
	s, err := m.settings()
	if err != nil {
		return err
	}
	if err := checkData("X", X); err != nil {
		return err
	}
	n, d := X.Dims()
	if err := checkTargets(y, n); err != nil {
		return err
	}
	rng := m.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(0, 0))
	}
	// Scaling.
	xLo, xScale := make([]float64, d), make([]float64, d)
	yLo, yHi := y[0], y[0]
	for _, v := range y {
		yLo, yHi = math.Min(yLo, v), math.Max(yHi, v)
	}
	yScale := 0.0
	if yHi > yLo {
		yScale = 2 / (yHi - yLo)
	}
	xs := make([][]float64, n)
	ys := make([]float64, n)
	if m.NoScale {
		for j := range xScale {
			xScale[j] = math.NaN() // marks identity
		}
		for i := range xs {
			xs[i] = append([]float64(nil), X.RawRowView(i)...)
		}
		copy(ys, y)
	} else {
		for j := 0; j < d; j++ {
			lo, hi := math.Inf(1), math.Inf(-1)
			for i := 0; i < n; i++ {
				v := X.At(i, j)
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
			xLo[j] = lo
			if hi > lo {
				xScale[j] = 2 / (hi - lo)
			}
		}
		for i := range xs {
			xs[i] = scaleRow(X.RawRowView(i), xLo, xScale, nil)
		}
		for i, v := range y {
			ys[i] = (v-yLo)*yScale - 1
			if yScale == 0 {
				ys[i] = 0
			}
		}
	}

	// Initial support set: evenly spaced in sorted-target order.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return ys[order[a]] < ys[order[b]] })
	maxSV := min(s.maxSV, n)
	n0 := max(1, maxSV/3)
	st := &labState{shape: s.shape, lambda: s.lambda, d: d}
	inSV := make([]bool, n)
	th0 := math.Sqrt(s.initW / float64(d))
	for k := 0; k < n0; k++ {
		i := order[k*n/n0]
		if s.lambda == 0 && st.hasInput(xs[i]) {
			continue
		}
		inSV[i] = true
		st.add(xs[i], ys[i], constVec(d, th0))
	}
	st.b = mean(st.ysv)

	history := []float64{}
	loss, err := st.trainMSE(xs, ys)
	if err != nil {
		return err
	}
	history = append(history, loss)

	perm := rng.Perm(n)
	pos := 0
	nextBatch := func(B int) []int {
		if B >= n {
			return perm
		}
		if pos+B > n {
			perm = rng.Perm(n)
			pos = 0
		}
		b := perm[pos : pos+B]
		pos += B
		return b
	}
	for stage := 0; stage < s.stages; stage++ {
		iters := s.iters[min(stage, len(s.iters)-1)]
		adam := newAdam(len(st.sv) * d)
		grad := make([]float64, len(st.sv)*d)
		for it := 0; it < iters; it++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			batch := nextBatch(s.batch)
			if _, err := st.lossGrad(xs, ys, batch, grad); err != nil {
				return err
			}
			if s.clip > 0 {
				var g2 float64
				for _, g := range grad {
					g2 += g * g
				}
				if nrm := math.Sqrt(g2); nrm > s.clip {
					for i := range grad {
						grad[i] *= s.clip / nrm
					}
				}
			}
			adam.step(st.theta, grad, s.lr)
		}
		loss, err := st.trainMSE(xs, ys)
		if err != nil {
			return err
		}
		history = append(history, loss)
		if stage == s.stages-1 {
			break
		}
		// Grow the support set by the worst-fitted training points.
		k := min(max(10, len(st.sv)/10), maxSV-len(st.sv))
		if k <= 0 {
			continue
		}
		pred, err := st.predictScaled(xs)
		if err != nil {
			return err
		}
		cand := make([]int, 0, n)
		for i := 0; i < n; i++ {
			if !inSV[i] {
				cand = append(cand, i)
			}
		}
		sort.SliceStable(cand, func(a, b int) bool {
			return math.Abs(pred[cand[a]]-ys[cand[a]]) > math.Abs(pred[cand[b]]-ys[cand[b]])
		})
		meanTheta := make([]float64, d)
		for _, t := range st.theta {
			for j, v := range t {
				meanTheta[j] += v / float64(len(st.theta))
			}
		}
		added := 0
		for _, i := range cand {
			if added == k {
				break
			}
			if s.lambda == 0 && st.hasInput(xs[i]) {
				continue
			}
			inSV[i] = true
			st.add(xs[i], ys[i], append([]float64(nil), meanTheta...))
			added++
		}
		st.b = mean(st.ysv)
	}

	// Final coefficients.
	alpha, info, err := st.finalSolve()
	if err != nil {
		return err
	}
	N := len(st.sv)
	m.d, m.shape, m.lambda = d, s.shape, s.lambda
	m.sv, m.theta = mat.NewDense(N, d, nil), mat.NewDense(N, d, nil)
	for i := 0; i < N; i++ {
		m.sv.SetRow(i, st.sv[i])
		m.theta.SetRow(i, st.theta[i])
	}
	m.alpha, m.b, m.info = alpha, st.b, info
	m.xLo, m.xScale, m.yLo, m.yHi, m.yScale = xLo, xScale, yLo, yHi, yScale
	m.history = history
	m.fittedNoClipped = m.NoClip
	return nil
}

func scaleRow(x, lo, scale, dst []float64) []float64 {
	if dst == nil {
		dst = make([]float64, len(x))
	}
	for j, v := range x {
		switch {
		case math.IsNaN(scale[j]):
			dst[j] = v
		case scale[j] == 0:
			dst[j] = 0
		default:
			dst[j] = (v-lo[j])*scale[j] - 1
		}
	}
	return dst
}

func constVec(d int, v float64) []float64 {
	out := make([]float64, d)
	for i := range out {
		out[i] = v
	}
	return out
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func (st *labState) add(x []float64, y float64, theta []float64) {
	st.sv = append(st.sv, x)
	st.ysv = append(st.ysv, y)
	st.theta = append(st.theta, theta)
}

func (st *labState) hasInput(x []float64) bool {
	for _, s := range st.sv {
		if sqDist(s, x) == 0 {
			return true
		}
	}
	return false
}

// factor builds M = Kᵀ + λI (K_ij = k_i(x_j)) and factors it by LU.
func (st *labState) factor() (*factored, error) {
	N := len(st.sv)
	M := make([]float64, N*N)
	_ = parallelRows(context.Background(), N, 8, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for j := 0; j < N; j++ {
				// M[j][i] = K[i][j] = k_i(x_j).
				M[j*N+i] = labValue(st.shape, st.theta[i], st.sv[i], st.sv[j])
			}
		}
	})
	addDiag(M, N, st.lambda)
	hint := "increase Lambda"
	if st.lambda == 0 {
		hint = "use a positive Lambda (ridgeless support system is singular)"
	}
	return factorGeneral(M, N, "LAB RBF support system Kᵀ + λI", hint)
}

// coefficients returns α = (Kᵀ + λI)⁻¹(y_sv − b) and the factorization.
func (st *labState) coefficients() ([]float64, *factored, error) {
	f, err := st.factor()
	if err != nil {
		return nil, nil, err
	}
	alpha := make([]float64, len(st.sv))
	for i, v := range st.ysv {
		alpha[i] = v - st.b
	}
	f.solve(false, alpha, 1)
	return alpha, f, nil
}

// finalSolve computes the final α, falling back to the pseudo-inverse when
// the support system is numerically singular and ridgeless.
func (st *labState) finalSolve() ([]float64, SolveInfo, error) {
	alpha, f, err := st.coefficients()
	if err == nil {
		return alpha, f.info, nil
	}
	if st.lambda != 0 {
		return nil, SolveInfo{}, err
	}
	N := len(st.sv)
	M := mat.NewDense(N, N, nil)
	for i := 0; i < N; i++ {
		for j := 0; j < N; j++ {
			M.Set(j, i, labValue(st.shape, st.theta[i], st.sv[i], st.sv[j]))
		}
	}
	var svd mat.SVD
	if !svd.Factorize(M, mat.SVDThin) {
		return nil, SolveInfo{}, err
	}
	rhs := mat.NewDense(N, 1, nil)
	for i, v := range st.ysv {
		rhs.Set(i, 0, v-st.b)
	}
	vals := svd.Values(nil)
	rank := 0
	for _, v := range vals {
		if v > 1e-12*vals[0] {
			rank++
		}
	}
	var sol mat.Dense
	svd.SolveTo(&sol, rhs, rank)
	alpha = make([]float64, N)
	for i := range alpha {
		alpha[i] = sol.At(i, 0)
	}
	rc := 0.0
	if vals[0] > 0 {
		rc = vals[N-1] / vals[0]
	}
	return alpha, SolveInfo{Method: "pinv", RCond: rc, Fallback: true}, nil
}

// predictScaled returns f at the scaled points xs.
func (st *labState) predictScaled(xs [][]float64) ([]float64, error) {
	alpha, _, err := st.coefficients()
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(xs))
	_ = parallelRows(context.Background(), len(xs), 64, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			f := st.b
			for i, a := range alpha {
				f += a * labValue(st.shape, st.theta[i], st.sv[i], xs[p])
			}
			out[p] = f
		}
	})
	return out, nil
}

func (st *labState) trainMSE(xs [][]float64, ys []float64) (float64, error) {
	pred, err := st.predictScaled(xs)
	if err != nil {
		return 0, err
	}
	var s float64
	for i, p := range pred {
		s += (p - ys[i]) * (p - ys[i])
	}
	return s / float64(len(ys)), nil
}

// lossGrad returns the minibatch loss L = mean_n (f(x_n) − y_n)² and writes
// ∂L/∂θ (N×d, row-major) into grad:
//
//	∂L/∂θ_i = α_i [ (2/B) Σ_n e_n ∂k_i(x_n)/∂θ_i − Σ_j u_j ∂K_ij/∂θ_i ],
//	u = (K + λI)⁻¹ g,  g = (2/B) Σ_n e_n k(x_n).
func (st *labState) lossGrad(xs [][]float64, ys []float64, batch []int, grad []float64) (float64, error) {
	N, d := len(st.sv), st.d
	alpha, f, err := st.coefficients()
	if err != nil {
		return 0, err
	}
	B := len(batch)
	kb := make([]float64, B*N)
	e := make([]float64, B)
	var loss float64
	_ = parallelRows(context.Background(), B, 16, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			x := xs[batch[p]]
			row := kb[p*N : (p+1)*N]
			fx := st.b
			for i := 0; i < N; i++ {
				row[i] = labValue(st.shape, st.theta[i], st.sv[i], x)
				fx += alpha[i] * row[i]
			}
			e[p] = fx - ys[batch[p]]
		}
	})
	for _, v := range e {
		loss += v * v
	}
	loss /= float64(B)
	// g = (2/B) kbᵀ e; u = (K + λI)⁻¹ g = M⁻ᵀ g.
	u := make([]float64, N)
	w := make([]float64, B)
	for p, v := range e {
		w[p] = 2 * v / float64(B)
	}
	linalg.Dgemm(true, false, N, 1, B, 1, kb, N, w, 1, 0, u, 1)
	f.solve(true, u, 1)
	// Per support point i: Σ over batch points (weight w_n) and support
	// points (weight −u_j) of weight·∂k_i(point)/∂θ_i.
	_ = parallelRows(context.Background(), N, 4, func(lo, hi int) {
		acc := make([]float64, d)
		for i := lo; i < hi; i++ {
			for c := range acc {
				acc[c] = 0
			}
			th, c0 := st.theta[i], st.sv[i]
			term := func(x []float64, weight, kval float64) {
				if weight == 0 || kval == 0 {
					return
				}
				var coef float64
				if st.shape == LABGauss {
					coef = -2 * kval
				} else {
					var r2 float64
					for c, t := range th {
						dd := t * (x[c] - c0[c])
						r2 += dd * dd
					}
					if r2 == 0 {
						return
					}
					coef = -kval / math.Sqrt(r2)
				}
				coef *= weight
				for c, t := range th {
					dx := x[c] - c0[c]
					acc[c] += coef * t * dx * dx
				}
			}
			for p, bi := range batch {
				term(xs[bi], w[p], kb[p*N+i])
			}
			for j := 0; j < N; j++ {
				term(st.sv[j], -u[j], labValue(st.shape, th, c0, st.sv[j]))
			}
			g := grad[i*d : (i+1)*d]
			for c := range g {
				g[c] = alpha[i] * acc[c]
			}
		}
	})
	return loss, nil
}

// adam is the Adam optimizer with PyTorch's defaults (β = 0.9, 0.999,
// ε = 1e-8).
type adam struct {
	m, v []float64
	t    int
}

func newAdam(n int) *adam { return &adam{m: make([]float64, n), v: make([]float64, n)} }

func (a *adam) step(theta [][]float64, grad []float64, lr float64) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	a.t++
	c1 := 1 - math.Pow(b1, float64(a.t))
	c2 := 1 - math.Pow(b2, float64(a.t))
	k := 0
	for _, row := range theta {
		for c := range row {
			g := grad[k]
			a.m[k] = b1*a.m[k] + (1-b1)*g
			a.v[k] = b2*a.v[k] + (1-b2)*g*g
			row[c] -= lr * (a.m[k] / c1) / (math.Sqrt(a.v[k]/c2) + eps)
			k++
		}
	}
}

// Predict returns the predictions for the rows of X, in the units of the
// training targets (clipped to their range unless NoClip was set at Fit).
func (m *LABRBF) Predict(X *mat.Dense) ([]float64, error) {
	if m.alpha == nil {
		return nil, ErrNotFitted
	}
	if err := checkCols("X", X, m.d); err != nil {
		return nil, err
	}
	r, _ := X.Dims()
	out := make([]float64, r)
	N := len(m.alpha)
	_ = parallelRows(context.Background(), r, 64, func(lo, hi int) {
		buf := make([]float64, m.d)
		for p := lo; p < hi; p++ {
			x := scaleRow(X.RawRowView(p), m.xLo, m.xScale, buf)
			f := m.b
			for i := 0; i < N; i++ {
				f += m.alpha[i] * labValue(m.shape, m.theta.RawRowView(i), m.sv.RawRowView(i), x)
			}
			out[p] = m.unscaleY(f)
		}
	})
	return out, nil
}

func (m *LABRBF) unscaleY(f float64) float64 {
	if math.IsNaN(m.xScale[0]) { // NoScale
		return f
	}
	if m.yScale == 0 {
		return m.yLo
	}
	v := (f+1)/m.yScale + m.yLo
	if !m.fittedNoClipped {
		v = math.Min(math.Max(v, m.yLo), m.yHi)
	}
	return v
}

// SupportSet returns the learned model in the units of the training data:
// f(x) = Σ_i alpha_i exp(−‖theta_i ⊙ (x − Xsv_i)‖^q) + b before clipping.
// Bandwidths of features that were constant in the training set are 0.
func (m *LABRBF) SupportSet() (Xsv, theta *mat.Dense, alpha []float64, b float64) {
	if m.alpha == nil {
		return nil, nil, nil, 0
	}
	N, d := m.sv.Dims()
	Xsv, theta = mat.NewDense(N, d, nil), mat.NewDense(N, d, nil)
	noScale := math.IsNaN(m.xScale[0])
	for i := 0; i < N; i++ {
		for j := 0; j < d; j++ {
			s, t := m.sv.At(i, j), m.theta.At(i, j)
			if !noScale {
				if m.xScale[j] == 0 {
					s, t = m.xLo[j], 0
				} else {
					s = (s+1)/m.xScale[j] + m.xLo[j]
					t *= m.xScale[j]
				}
			}
			Xsv.Set(i, j, s)
			theta.Set(i, j, t)
		}
	}
	alpha = make([]float64, N)
	switch {
	case noScale:
		copy(alpha, m.alpha)
		b = m.b
	case m.yScale == 0:
		b = m.yLo
	default:
		for i, a := range m.alpha {
			alpha[i] = a / m.yScale
		}
		b = (m.b+1)/m.yScale + m.yLo
	}
	return Xsv, theta, alpha, b
}

// Kernel returns the learned LAB kernel in the units of the training data.
func (m *LABRBF) Kernel() LABKernel {
	Xsv, theta, _, _ := m.SupportSet()
	return LABKernel{Centers: Xsv, Theta: theta, Shape: m.shape}
}

// History returns the training mean squared error (in scaled target units)
// before learning and after each stage.
func (m *LABRBF) History() []float64 { return append([]float64(nil), m.history...) }

// Info reports how the final support system was solved.
func (m *LABRBF) Info() SolveInfo { return m.info }
