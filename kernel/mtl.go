package kernel

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/mat"
)

// TensorMTL holds the settings of the tensorized multitask LS-SVM
// (tLSSVM-MTL, Liu et al.): tasks are indexed by a multi-index
// t = (t_1, …, t_N), task t's weight vector is w_t = L·ũ_t with a shared
// factor L (implicit through the kernel) and ũ_t = U⁽¹⁾[t_1,:] ⊙ … ⊙
// U⁽ᴺ⁾[t_N,:] a row of the Khatri–Rao product of the task-mode factors
// U⁽ⁿ⁾ ∈ R^{T_n×R}, and f_t(x) = φ(x)ᵀw_t + b_t with one bias per task.
//
// Fitting alternates, from U⁽ⁿ⁾ drawn uniform on [0, 1]:
//   - the L-step, an LS-SVM with the task-coupled kernel
//     k(x_i, x_j)·⟨ũ_t(i), ũ_t(j)⟩ and per-task biases;
//   - the U-steps, for each mode n and index τ, a linear LS-SVM on the
//     R-dimensional features z_i = (ΦL)_i ⊙ Π_{m≠n} U⁽ᵐ⁾[t_m(i),:] of the
//     samples with t_n = τ, whose weight becomes U⁽ⁿ⁾[τ,:];
//
// until the relative change of the factors is below Tol or MaxIter rounds,
// then a last L-step makes the dual coefficients agree with the final
// factors. Prediction is f_t(x) = Σ_j β_j k(x, x_j)⟨ũ_t(j), ũ_t⟩ + b_t
// (β_j = α_j y_j for classification). With Loss = [LossSVM] (tSVM-MTL)
// every step is instead the SVM dual with the same coupled kernel and one
// equality constraint per task (the same alternation; Gamma is the box
// C). Tasks absent from the training rows
// get no bias (b_t = 0). The problem is not convex: different seeds give
// different local optima.
//
// [TensorMTLRegressor] and [TensorMTLClassifier] are the estimators; with
// TaskColumn > 0 they read a single task mode from a column of X, which is
// how [Pipeline] (Pipeline.Tasks) and "trustml kernel fit --method
// tlssvm-mtl --tasks COL" use them.
type TensorMTL struct {
	Kernel Kernel
	// Gamma is the LS-SVM regularization γ > 0 of every step.
	Gamma float64
	// Rank is the CP rank R ≥ 1 of the task tensor; 0 means 3.
	Rank int
	// MaxIter bounds the alternating rounds; 0 means 50.
	MaxIter int
	// Tol is the relative change of the task factors that stops the
	// alternation; 0 means 1e-3.
	Tol float64
	// Seed seeds the uniform initialization of the task factors.
	Seed uint64
	// InitFactors, if not nil, are the starting task factors U⁽ⁿ⁾
	// (T_n×Rank, one per mode) instead of the random ones.
	InitFactors []*mat.Dense
	// Loss is [LossLSSVM] (tLSSVM-MTL; "" means it) or [LossSVM]
	// (tSVM-MTL: hinge loss for classification, ε-insensitive loss for
	// regression, Gamma playing the SVM's C; each step a QP with one
	// equality constraint per task, solved by SMO within task blocks).
	Loss string
	// Epsilon is tSVM-MTL regression's ε (on standardized targets); 0
	// means 0.1.
	Epsilon float64
	// SVMTol is the KKT violation at which tSVM-MTL's SMO stops; 0 means
	// 1e-3 (LIBSVM's default). A step on which SMO stalls (a numerically
	// low-rank kernel) is finished by an interior-point method.
	SVMTol float64
	// TaskColumn, if > 0, is the 1-based column of X holding the task of
	// each row as a number (one task per distinct value; a single task
	// mode), removed from the features; Fit, Predict and Decision then take
	// X alone. 0: the tasks are given to FitTasks and PredictTasks.
	TaskColumn int
}

// initFactors returns the starting factors: InitFactors, or uniform on
// [0, 1) from Seed.
func (m *TensorMTL) initFactors(dims []int, R int) ([][]float64, error) {
	U := make([][]float64, len(dims))
	if m.InitFactors != nil {
		if len(m.InitFactors) != len(dims) {
			return nil, fmt.Errorf("kernel: %d initial task factors for %d task modes: %w", len(m.InitFactors), len(dims), ErrParam)
		}
		for k, f := range m.InitFactors {
			if r, c := f.Dims(); r != dims[k] || c != R {
				return nil, fmt.Errorf("kernel: initial task factor %d is %d×%d, want %d×%d (tasks × rank): %w", k, r, c, dims[k], R, ErrParam)
			}
			U[k] = slices.Clone(contiguous(f))
		}
		return U, nil
	}
	rng := rand.New(rand.NewPCG(m.Seed, 0x746d746c))
	for k, d := range dims {
		U[k] = make([]float64, d*R)
		for i := range U[k] {
			U[k][i] = rng.Float64()
		}
	}
	return U, nil
}

// mtlFit is one fitted tLSSVM-MTL machine (targets ±1 for classification).
type mtlFit struct {
	Dims  []int       `json:"dims"`  // T_n per mode
	U     [][]float64 `json:"u"`     // per mode, T_n×R row-major
	Beta  []float64   `json:"beta"`  // α_j·y_j (classification) or α_j
	Tasks []int       `json:"tasks"` // linear task id of each training row
	Bias  []float64   `json:"bias"`  // per linear task; 0 when not trained
	Iters int         `json:"iters"` // alternating rounds run
}

func (m *TensorMTL) defaults() (rank, iters int, tol float64, err error) {
	rank, iters, tol = m.Rank, m.MaxIter, m.Tol
	if rank == 0 {
		rank = 3
	}
	if iters == 0 {
		iters = 50
	}
	if tol == 0 {
		tol = 1e-3
	}
	if rank < 1 || iters < 1 || !(tol > 0) {
		return 0, 0, 0, fmt.Errorf("kernel: tLSSVM-MTL rank %d, max iterations %d, tolerance %v must be positive: %w", m.Rank, m.MaxIter, m.Tol, ErrParam)
	}
	return rank, iters, tol, checkPositive("tLSSVM-MTL Gamma", m.Gamma)
}

// taskDims returns T_n (max index + 1) per mode and checks the indices.
func taskDims(tasks [][]int, n int) ([]int, error) {
	if len(tasks) != n {
		return nil, fmt.Errorf("kernel: %d task indices for %d samples: %w", len(tasks), n, ErrShape)
	}
	if n == 0 || len(tasks[0]) == 0 {
		return nil, fmt.Errorf("kernel: tLSSVM-MTL needs at least one sample and one task mode: %w", ErrShape)
	}
	dims := make([]int, len(tasks[0]))
	for i, t := range tasks {
		if len(t) != len(dims) {
			return nil, fmt.Errorf("kernel: sample %d has %d task indices, sample 0 has %d: %w", i, len(t), len(dims), ErrShape)
		}
		for k, v := range t {
			if v < 0 {
				return nil, fmt.Errorf("kernel: sample %d has task index %d in mode %d; indices are 0-based: %w", i, v, k, ErrShape)
			}
			dims[k] = max(dims[k], v+1)
		}
	}
	return dims, nil
}

// linearTask is the column-major linear index of t in dims.
func linearTask(t, dims []int) int {
	id, stride := 0, 1
	for k, v := range t {
		id += v * stride
		stride *= dims[k]
	}
	return id
}

// khatriRao returns ũ_t = ⊙_n U⁽ⁿ⁾[t_n,:] (skipping mode skip if ≥ 0).
func khatriRao(U [][]float64, t []int, R, skip int, dst []float64) {
	for r := range dst[:R] {
		dst[r] = 1
	}
	for k, v := range t {
		if k == skip {
			continue
		}
		row := U[k][v*R : (v+1)*R]
		for r := 0; r < R; r++ {
			dst[r] *= row[r]
		}
	}
}

// mtlLSSVM solves the LS-SVM with per-task biases on the n×n matrix Q
// (the coupled kernel, targets folded in as for classification when cls):
// (Q + I/γ)α + Ab = rhs, Aᵀα = 0, with A the task membership (entry y_i
// for classification, 1 for regression) and rhs = 1 (cls) or y (reg). It
// returns α, the bias of each of the distinct tasks in ids (in order) and
// the solve information.
func mtlLSSVM(Q []float64, n int, y []float64, task []int, ids []int, gamma float64, cls bool) ([]float64, []float64, SolveInfo, error) {
	T := len(ids)
	col := make(map[int]int, T)
	for c, id := range ids {
		col[id] = c
	}
	// rhs columns: [rhs, A] (n × (T+1)).
	B := make([]float64, n*(T+1))
	for i := 0; i < n; i++ {
		a := 1.0
		if cls {
			a = y[i]
			B[i*(T+1)] = 1
		} else {
			B[i*(T+1)] = y[i]
		}
		B[i*(T+1)+1+col[task[i]]] = a
	}
	a := slices.Clone(Q)
	addDiag(a, n, 1/gamma)
	refill := func(dst []float64) error {
		copy(dst, Q)
		addDiag(dst, n, 1/gamma)
		return nil
	}
	f, err := factorSym(a, n, refill, "tLSSVM-MTL Q + I/γ", "decrease Gamma")
	if err != nil {
		return nil, nil, SolveInfo{}, err
	}
	f.solve(false, B, T+1) // B = [ν, η]
	// S = Aᵀη (T×T), s = Aᵀν.
	S := mat.NewDense(T, T, nil)
	s := mat.NewVecDense(T, nil)
	for i := 0; i < n; i++ {
		c := col[task[i]]
		ai := 1.0
		if cls {
			ai = y[i]
		}
		s.SetVec(c, s.AtVec(c)+ai*B[i*(T+1)])
		for d := 0; d < T; d++ {
			S.Set(c, d, S.At(c, d)+ai*B[i*(T+1)+1+d])
		}
	}
	var b mat.VecDense
	if err := b.SolveVec(S, s); err != nil {
		return nil, nil, SolveInfo{}, &IllConditionedError{System: "tLSSVM-MTL bias system Aᵀ(Q + I/γ)⁻¹A", RCond: 0, Hint: "change Gamma or the kernel"}
	}
	alpha := make([]float64, n)
	for i := 0; i < n; i++ {
		v := B[i*(T+1)]
		for d := 0; d < T; d++ {
			v -= B[i*(T+1)+1+d] * b.AtVec(d)
		}
		alpha[i] = v
	}
	bias := make([]float64, T)
	for d := range bias {
		bias[d] = b.AtVec(d)
	}
	return alpha, bias, f.info, nil
}

// stepSolver returns the solver of one step for the model's loss: given
// the n×n coupled matrix Q (labels not folded in), the targets, each row's
// task and the distinct tasks ids, it returns β (f_i = Σ_j Q_ij β_j +
// b_task(i)) and the bias of each task in ids. V, if not nil, is a
// low-rank factor (n×R, Q = VVᵀ: the U-steps' linear kernel), which the
// SVM step uses.
func (m *TensorMTL) stepSolver(ctx context.Context, cls bool) (func(Q []float64, n int, y []float64, task, ids []int, V []float64) ([]float64, []float64, SolveInfo, error), error) {
	switch m.Loss {
	case "", LossLSSVM:
		return func(Q []float64, n int, y []float64, task, ids []int, _ []float64) ([]float64, []float64, SolveInfo, error) {
			if cls {
				Q = slices.Clone(Q)
				for i := 0; i < n; i++ {
					for j := 0; j < n; j++ {
						Q[i*n+j] *= y[i] * y[j]
					}
				}
			}
			alpha, bias, info, err := mtlLSSVM(Q, n, y, task, ids, m.Gamma, cls)
			if err == nil && cls {
				for i := range alpha {
					alpha[i] *= y[i]
				}
			}
			return alpha, bias, info, err
		}, nil
	case LossSVM:
		eps, tol, err := m.svmDefaults()
		if err != nil {
			return nil, err
		}
		return func(Q []float64, n int, y []float64, task, ids []int, V []float64) ([]float64, []float64, SolveInfo, error) {
			beta, bias, _, err := mtlSVM(ctx, Q, n, y, task, ids, V, m.Gamma, eps, tol, cls)
			return beta, bias, SolveInfo{}, err
		}, nil
	}
	return nil, fmt.Errorf("kernel: TensorMTL Loss %q, want %q or %q: %w", m.Loss, LossLSSVM, LossSVM, ErrParam)
}

// name is the method's name in messages: tLSSVM-MTL or tSVM-MTL.
func (m *TensorMTL) name() string {
	if m.Loss == LossSVM {
		return "tSVM-MTL"
	}
	return "tLSSVM-MTL"
}

// fitMTL runs the alternating algorithm on the n×n training Gram matrix K
// with targets y (±1 when cls) and task multi-indices tasks.
func (m *TensorMTL) fitMTL(ctx context.Context, K []float64, y []float64, tasks [][]int, cls bool) (*mtlFit, SolveInfo, error) {
	n := len(y)
	R, maxIter, tol, err := m.defaults()
	if err != nil {
		return nil, SolveInfo{}, err
	}
	dims, err := taskDims(tasks, n)
	if err != nil {
		return nil, SolveInfo{}, err
	}
	nt := 1
	for _, d := range dims {
		nt *= d
	}
	lin := make([]int, n)
	for i, t := range tasks {
		lin[i] = linearTask(t, dims)
	}
	ids := slices.Compact(slices.Sorted(slices.Values(slices.Clone(lin))))
	U, err := m.initFactors(dims, R)
	if err != nil {
		return nil, SolveInfo{}, err
	}
	solve, err := m.stepSolver(ctx, cls)
	if err != nil {
		return nil, SolveInfo{}, err
	}
	ut := make([]float64, n*R)
	Q := make([]float64, n*n)
	var info SolveInfo
	// lStep solves for β and the biases with the current factors.
	lStep := func() ([]float64, []float64, error) {
		for i, t := range tasks {
			khatriRao(U, t, R, -1, ut[i*R:(i+1)*R])
		}
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				var g float64
				for r := 0; r < R; r++ {
					g += ut[i*R+r] * ut[j*R+r]
				}
				Q[i*n+j] = K[i*n+j] * g
			}
		}
		beta, bias, inf, err := solve(Q, n, y, lin, ids, nil)
		info = inf
		return beta, bias, err
	}
	iters := 0
	for iters < maxIter {
		if err := ctx.Err(); err != nil {
			return nil, info, err
		}
		iters++
		bt, _, err := lStep()
		if err != nil {
			return nil, info, err
		}
		// Z = K·diag(β)·Ũ (n×R).
		Z := make([]float64, n*R)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				c := K[i*n+j] * bt[j]
				for r := 0; r < R; r++ {
					Z[i*R+r] += c * ut[j*R+r]
				}
			}
		}
		var diff, norm float64
		z := make([]float64, R)
		for k, d := range dims {
			for tau := 0; tau < d; tau++ {
				var rows []int
				for i, t := range tasks {
					if t[k] == tau {
						rows = append(rows, i)
					}
				}
				if len(rows) == 0 {
					continue
				}
				ns := len(rows)
				zs := make([]float64, ns*R)
				ys := make([]float64, ns)
				ls := make([]int, ns)
				for a, i := range rows {
					khatriRao(U, tasks[i], R, k, z)
					for r := 0; r < R; r++ {
						zs[a*R+r] = Z[i*R+r] * z[r]
					}
					ys[a], ls[a] = y[i], lin[i]
				}
				Qs := make([]float64, ns*ns)
				for a := 0; a < ns; a++ {
					for b := 0; b < ns; b++ {
						var g float64
						for r := 0; r < R; r++ {
							g += zs[a*R+r] * zs[b*R+r]
						}
						Qs[a*ns+b] = g
					}
				}
				sub := slices.Compact(slices.Sorted(slices.Values(slices.Clone(ls))))
				bs, _, _, err := solve(Qs, ns, ys, ls, sub, zs)
				if err != nil {
					return nil, info, fmt.Errorf("kernel: %s U-step (mode %d, index %d): %w", m.name(), k, tau, err)
				}
				row := U[k][tau*R : (tau+1)*R]
				for r := 0; r < R; r++ {
					var v float64
					for a := 0; a < ns; a++ {
						v += bs[a] * zs[a*R+r]
					}
					diff += (v - row[r]) * (v - row[r])
					norm += row[r] * row[r]
					row[r] = v
				}
			}
		}
		if math.Sqrt(diff) <= tol*math.Sqrt(norm) {
			break
		}
	}
	beta, b, err := lStep()
	if err != nil {
		return nil, info, err
	}
	bias := make([]float64, nt)
	for c, id := range ids {
		bias[id] = b[c]
	}
	return &mtlFit{Dims: dims, U: U, Beta: beta, Tasks: lin, Bias: bias, Iters: iters}, info, nil
}

// predict returns f_t(x) for the m×n test-to-train kernel rows Kt.
func (f *mtlFit) predict(Kt *mat.Dense, tasks [][]int) ([]float64, error) {
	mrows, n := Kt.Dims()
	if len(tasks) != mrows {
		return nil, fmt.Errorf("kernel: %d task indices for %d samples: %w", len(tasks), mrows, ErrShape)
	}
	R := len(f.U[0]) / f.Dims[0]
	// Task factors ũ of the training tasks, by linear id.
	trainU := make([]float64, n*R)
	mt := make([]int, len(f.Dims))
	for j, id := range f.Tasks {
		rem := id
		for k, d := range f.Dims {
			mt[k] = rem % d
			rem /= d
		}
		khatriRao(f.U, mt, R, -1, trainU[j*R:(j+1)*R])
	}
	out := make([]float64, mrows)
	u := make([]float64, R)
	for i, t := range tasks {
		if len(t) != len(f.Dims) {
			return nil, fmt.Errorf("kernel: sample %d has %d task indices, the model has %d task modes: %w", i, len(t), len(f.Dims), ErrShape)
		}
		for k, v := range t {
			if v < 0 || v >= f.Dims[k] {
				return nil, fmt.Errorf("kernel: sample %d has task index %d in mode %d; the model knows 0..%d: %w", i, v, k, f.Dims[k]-1, ErrShape)
			}
		}
		khatriRao(f.U, t, R, -1, u)
		row := Kt.RawRowView(i)
		var v float64
		for j := 0; j < n; j++ {
			var g float64
			for r := 0; r < R; r++ {
				g += trainU[j*R+r] * u[r]
			}
			v += f.Beta[j] * row[j] * g
		}
		out[i] = v + f.Bias[linearTask(t, f.Dims)]
	}
	return out, nil
}

// TaskFactors returns the fitted factors U⁽ⁿ⁾ (T_n×R), one per mode.
func (f *mtlFit) taskFactors() []*mat.Dense {
	out := make([]*mat.Dense, len(f.U))
	for k, u := range f.U {
		out[k] = mat.NewDense(f.Dims[k], len(u)/f.Dims[k], slices.Clone(u))
	}
	return out
}

// splitTasks removes the task column from X and maps its values to task
// indices: with values == nil the distinct values found (sorted) define
// them and are returned; otherwise an unknown value is an error.
func splitTasks(X *mat.Dense, col int, values []float64) (*mat.Dense, [][]int, []float64, error) {
	if err := checkData("X", X); err != nil {
		return nil, nil, nil, err
	}
	r, c := X.Dims()
	if col >= c {
		return nil, nil, nil, fmt.Errorf("kernel: task column %d, data have %d columns: %w", col+1, c, ErrShape)
	}
	if c < 2 {
		return nil, nil, nil, fmt.Errorf("kernel: the task column is the only column; tLSSVM-MTL needs features besides it: %w", ErrShape)
	}
	if values == nil {
		for i := 0; i < r; i++ {
			values = append(values, X.At(i, col))
		}
		values = slices.Compact(slices.Sorted(slices.Values(values)))
	}
	Xf := mat.NewDense(r, c-1, nil)
	tasks := make([][]int, r)
	for i := 0; i < r; i++ {
		row, dst := X.RawRowView(i), Xf.RawRowView(i)
		copy(dst, row[:col])
		copy(dst[col:], row[col+1:])
		k, ok := slices.BinarySearch(values, row[col])
		if !ok {
			return nil, nil, nil, fmt.Errorf("kernel: row %d has task value %s, the model was fitted on tasks %v: %w", i+1, strconv.FormatFloat(row[col], 'g', -1, 64), values, ErrShape)
		}
		tasks[i] = []int{k}
	}
	return Xf, tasks, values, nil
}
