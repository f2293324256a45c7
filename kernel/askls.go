package kernel

import (
	"context"
	"errors"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/linalg"
)

// AsKLS is the LS-SVM classifier for asymmetric kernels (AsK-LS). It reads
// K(x, z) = ⟨φ_s(x), φ_t(z)⟩ with a source and a target feature map and
// learns one linear function in each space. With H_ij = y_i y_j K(x_i, x_j)
// the dual is the (2n+2)×(2n+2) system
//
//	[ 0   0   yᵀ    0   ] [b1]   [0]
//	[ 0   0   0     yᵀ  ] [b2]   [0]
//	[ y   0   I/γ   H   ] [α ] = [1]
//	[ 0   y   Hᵀ    I/γ ] [β ]   [1]
//
// solved (after the change of variables α' = diag(y)α, β' = diag(y)β, which
// makes the matrix independent of the labels so one LU factorization serves
// every one-vs-rest class) by LU with partial pivoting. The decision
// functions are
//
//	f_s(x) = Σ_j β_j y_j K(x, x_j) + b1   (test→train row)
//	f_t(x) = Σ_j α_j y_j K(x_j, x) + b2   (train→test column)
//
// and classes are predicted by the argmax of f_s + f_t. On a symmetric kernel
// α = β, b1 = b2 and the model is the LS-SVM classifier.
//
// When the estimated reciprocal condition number of the system is below
// RCondMin, the official code's fallback is used: the regularized normal
// equations (AᵀA + λI)x = Aᵀb with λ = FallbackLambda; [AsKLS.Info] reports
// it.
type AsKLS struct {
	Kernel Kernel
	Gamma  float64 // regularization γ > 0 (the official default is 1)
	// RCondMin is the reciprocal-condition threshold of the fallback; 0
	// means 1e-8 (the graph demo and Python port), negative disables the
	// fallback (a singular system is then an error).
	RCondMin float64
	// FallbackLambda is λ of the fallback; 0 means 1.
	FallbackLambda float64

	t        trained
	classes  []int
	T        int
	alpha    []float64 // n×T: α_i y_i
	beta     []float64 // n×T: β_i y_i
	b1, b2   []float64
	features bool      // fitted in the primal by FitFeatures
	ws, wt   []float64 // D×T primal weights (ω, ν)
	dim      int       // D
	info     SolveInfo
}

func (m *AsKLS) settings() (rcondMin, lambda float64, err error) {
	if err := checkPositive("AsK-LS Gamma", m.Gamma); err != nil {
		return 0, 0, err
	}
	rcondMin, lambda = m.RCondMin, m.FallbackLambda
	if rcondMin == 0 {
		rcondMin = 1e-8
	}
	if lambda == 0 {
		lambda = 1
	}
	if err := checkPositive("AsK-LS FallbackLambda", lambda); err != nil {
		return 0, 0, err
	}
	return rcondMin, lambda, nil
}

// Fit fits the classifier on the rows of X with the (possibly asymmetric)
// kernel.
func (m *AsKLS) Fit(ctx context.Context, X *mat.Dense, y []int) error {
	if _, _, err := m.settings(); err != nil {
		return err
	}
	t, err := bindTrained(m.Kernel, X)
	if err != nil {
		return err
	}
	K, err := gramCross(ctx, t.kern, t.x, t.x)
	if err != nil {
		return err
	}
	if err := m.fitGram(ctx, K, y); err != nil {
		return err
	}
	m.t = t
	return nil
}

// FitGram fits the classifier on a precomputed n×n training kernel matrix
// K[i][j] = k(x_i, x_j) (for example a directed graph's adjacency matrix or
// an exponentiated KL-divergence matrix). Predict with
// [AsKLS.PredictGram], which needs both orientations of the test kernel.
func (m *AsKLS) FitGram(ctx context.Context, K *mat.Dense, y []int) error {
	if _, _, err := m.settings(); err != nil {
		return err
	}
	n, err := squareGram(K)
	if err != nil {
		return err
	}
	if err := m.fitGram(ctx, K, y); err != nil {
		return err
	}
	m.t = trained{n: n}
	return nil
}

func (m *AsKLS) fitGram(ctx context.Context, K *mat.Dense, y []int) error {
	rcondMin, lambda, _ := m.settings()
	n, _ := K.Dims()
	classes, targets, T, err := encodeLabels(y, n)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	N := 2*n + 2
	A := make([]float64, N*N)
	ig := 1 / m.Gamma
	for j := 0; j < n; j++ {
		A[2+j] = 1
		A[N+2+n+j] = 1
	}
	for i := 0; i < n; i++ {
		ra := A[(2+i)*N : (3+i)*N]
		ra[0] = 1
		ra[2+i] = ig
		copy(ra[2+n:], K.RawRowView(i))
		rb := A[(2+n+i)*N : (3+n+i)*N]
		rb[1] = 1
		for j := 0; j < n; j++ {
			rb[2+j] = K.At(j, i)
		}
		rb[2+n+i] = ig
	}
	rhs := make([]float64, N*T)
	for i := 0; i < n; i++ {
		copy(rhs[(2+i)*T:(3+i)*T], targets[i*T:(i+1)*T])
		copy(rhs[(2+n+i)*T:(3+n+i)*T], targets[i*T:(i+1)*T])
	}
	info, err := solveGeneralWithFallback(ctx, A, N, rhs, T, rcondMin, lambda, "AsK-LS block system")
	if err != nil {
		return err
	}
	m.classes, m.T, m.info = classes, T, info
	m.b1, m.b2 = append([]float64(nil), rhs[:T]...), append([]float64(nil), rhs[T:2*T]...)
	m.alpha = append([]float64(nil), rhs[2*T:(2+n)*T]...)
	m.beta = append([]float64(nil), rhs[(2+n)*T:]...)
	m.features, m.ws, m.wt, m.dim = false, nil, nil, 0
	return nil
}

// FitFeatures fits the classifier in the primal from explicit source and
// target features Φ_s, Φ_t (n×D each, K(x, z) ≈ φ_s(x)·φ_t(z), for example
// AsK-RFF maps), solving the (2D+2)×(2D+2) system
//
//	[ γΦ_sᵀΦ_s  I          γΦ_sᵀ1  0      ] [ω ]     [Φ_sᵀy]
//	[ I         γΦ_tᵀΦ_t   0       γΦ_tᵀ1 ] [ν ] = γ [Φ_tᵀy]
//	[ γ1ᵀΦ_s    0          γn      0      ] [b1]     [1ᵀy  ]
//	[ 0         γ1ᵀΦ_t     0       γn     ] [b2]     [1ᵀy  ]
//
// with f_s(x) = ωᵀφ_s(x) + b1 and f_t(x) = νᵀφ_t(x) + b2. It gives the same
// decisions as FitGram on K = Φ_sΦ_tᵀ at O(nD²) cost. Predict with
// [AsKLS.PredictFeatures].
func (m *AsKLS) FitFeatures(ctx context.Context, Fs, Ft *mat.Dense, y []int) error {
	rcondMin, lambda, err := m.settings()
	if err != nil {
		return err
	}
	if err := checkData("source features", Fs); err != nil {
		return err
	}
	if err := checkData("target features", Ft); err != nil {
		return err
	}
	n, D := Fs.Dims()
	if r, c := Ft.Dims(); r != n || c != D {
		return fmt.Errorf("kernel: source features are %d×%d, target features %d×%d; want equal shapes: %w", n, D, r, c, ErrShape)
	}
	classes, targets, T, err := encodeLabels(y, n)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	g := m.Gamma
	N := 2*D + 2
	A := make([]float64, N*N)
	fs, ft := contiguous(Fs), contiguous(Ft)
	// Gram blocks via the BLAS seam.
	ss := make([]float64, D*D)
	tt := make([]float64, D*D)
	linalg.Dgemm(true, false, D, D, n, g, fs, D, fs, D, 0, ss, D)
	linalg.Dgemm(true, false, D, D, n, g, ft, D, ft, D, 0, tt, D)
	colSum := func(f []float64) []float64 {
		s := make([]float64, D)
		for i := 0; i < n; i++ {
			for j, v := range f[i*D : (i+1)*D] {
				s[j] += v
			}
		}
		return s
	}
	ss1, tt1 := colSum(fs), colSum(ft)
	for i := 0; i < D; i++ {
		copy(A[i*N:i*N+D], ss[i*D:(i+1)*D])
		A[i*N+D+i] = 1
		A[i*N+2*D] = g * ss1[i]
		r := (D + i) * N
		A[r+i] = 1
		copy(A[r+D:r+2*D], tt[i*D:(i+1)*D])
		A[r+2*D+1] = g * tt1[i]
	}
	for j := 0; j < D; j++ {
		A[2*D*N+j] = g * ss1[j]
		A[(2*D+1)*N+D+j] = g * tt1[j]
	}
	A[2*D*N+2*D] = g * float64(n)
	A[(2*D+1)*N+2*D+1] = g * float64(n)
	// Right-hand sides γ[Φ_sᵀy; Φ_tᵀy; 1ᵀy; 1ᵀy].
	rhs := make([]float64, N*T)
	linalg.Dgemm(true, false, D, T, n, g, fs, D, targets, T, 0, rhs[:D*T], T)
	linalg.Dgemm(true, false, D, T, n, g, ft, D, targets, T, 0, rhs[D*T:2*D*T], T)
	for c := 0; c < T; c++ {
		var s float64
		for i := 0; i < n; i++ {
			s += targets[i*T+c]
		}
		rhs[2*D*T+c] = g * s
		rhs[(2*D+1)*T+c] = g * s
	}
	info, err := solveGeneralWithFallback(ctx, A, N, rhs, T, rcondMin, lambda, "AsK-LS primal system")
	if err != nil {
		return err
	}
	m.classes, m.T, m.info = classes, T, info
	m.ws = append([]float64(nil), rhs[:D*T]...)
	m.wt = append([]float64(nil), rhs[D*T:2*D*T]...)
	m.b1 = append([]float64(nil), rhs[2*D*T:(2*D+1)*T]...)
	m.b2 = append([]float64(nil), rhs[(2*D+1)*T:]...)
	m.features, m.dim = true, D
	m.alpha, m.beta = nil, nil
	m.t = trained{n: n}
	return nil
}

// solveGeneralWithFallback solves A·X = B (A N×N, B N×T, both overwritten:
// B receives X) by LU, or by the regularized normal equations when the
// estimated rcond is below rcondMin (rcondMin < 0 disables that).
func solveGeneralWithFallback(ctx context.Context, A []float64, N int, B []float64, T int, rcondMin, lambda float64, system string) (SolveInfo, error) {
	orig := append([]float64(nil), A...)
	anorm := linalg.OneNorm(N, N, A, N)
	ipiv := make([]int, N)
	rc := 0.0
	err := linalg.Dgetrf(N, A, N, ipiv)
	if err == nil {
		rc = linalg.Dgecon(N, A, N, anorm)
	} else {
		var s *linalg.SingularError
		if !errors.As(err, &s) {
			return SolveInfo{}, err
		}
	}
	if err == nil && rc >= max(rcondMin, minRCond) {
		linalg.Dgetrs(false, N, T, A, N, ipiv, B, T)
		return SolveInfo{Method: "lu", RCond: rc}, nil
	}
	if rcondMin < 0 {
		return SolveInfo{}, &IllConditionedError{System: system, RCond: rc, Hint: "enable the fallback (RCondMin ≥ 0) or change Gamma"}
	}
	if err := ctx.Err(); err != nil {
		return SolveInfo{}, err
	}
	// (AᵀA + λI) X = AᵀB.
	ata := make([]float64, N*N)
	linalg.Dsyrk(true, N, N, 1, orig, N, 0, ata, N)
	addDiag(ata, N, lambda)
	atb := make([]float64, N*T)
	linalg.Dgemm(true, false, N, T, N, 1, orig, N, B, T, 0, atb, T)
	if err := linalg.Dpotrf(N, ata, N); err != nil {
		return SolveInfo{}, &IllConditionedError{System: system + " (normal equations)", RCond: rc, Hint: "increase FallbackLambda"}
	}
	linalg.Dpotrs(N, T, ata, N, atb, T)
	copy(B, atb)
	return SolveInfo{Method: "normal-equations", RCond: rc, Fallback: true}, nil
}

// Decision returns the m×C combined decision f_s + f_t for the rows of X
// (two classes: [−f, f], f positive for Classes()[1]).
func (m *AsKLS) Decision(X *mat.Dense) (*mat.Dense, error) {
	fs, ft, err := m.DecisionST(X)
	if err != nil {
		return nil, err
	}
	fs.Add(fs, ft)
	return fs, nil
}

// DecisionST returns the source and target decisions f_s and f_t (m×C each,
// same layout as [AsKLS.Decision]) for the rows of X.
func (m *AsKLS) DecisionST(X *mat.Dense) (fs, ft *mat.Dense, err error) {
	if err := m.fittedDual(); err != nil {
		return nil, nil, err
	}
	ctx := context.Background()
	Kx2tr, err := m.t.cross(ctx, X)
	if err != nil {
		return nil, nil, err
	}
	Ktr2x, err := m.t.crossT(ctx, X)
	if err != nil {
		return nil, nil, err
	}
	fs, ft = m.decisionGram(Kx2tr, Ktr2x)
	return fs, ft, nil
}

// DecisionGram returns f_s and f_t from precomputed test kernels:
// Kx2tr[i][j] = k(x_i, x_train_j) (m×n) and Ktr2x[j][i] = k(x_train_j, x_i)
// (n×m). Passing the same orientation twice silently turns the model
// into a symmetric-kernel one; the shapes catch the common mistake when
// m ≠ n.
func (m *AsKLS) DecisionGram(Kx2tr, Ktr2x *mat.Dense) (fs, ft *mat.Dense, err error) {
	if err := m.fittedDual(); err != nil {
		return nil, nil, err
	}
	if err := checkGramMatrix("test-to-train Gram matrix", Kx2tr, -1, m.t.n); err != nil {
		return nil, nil, err
	}
	r, _ := Kx2tr.Dims()
	if err := checkGramMatrix("train-to-test Gram matrix", Ktr2x, m.t.n, r); err != nil {
		return nil, nil, err
	}
	fs, ft = m.decisionGram(Kx2tr, Ktr2x)
	return fs, ft, nil
}

func (m *AsKLS) decisionGram(Kx2tr, Ktr2x *mat.Dense) (fs, ft *mat.Dense) {
	T := m.T
	s := matMul(Kx2tr, m.beta, T)
	t := matTMul(Ktr2x, m.alpha, T)
	addBias(s, m.b1)
	addBias(t, m.b2)
	return scores(s, T), scores(t, T)
}

func addBias(v, b []float64) {
	T := len(b)
	for i := 0; i < len(v); i += T {
		for c := 0; c < T; c++ {
			v[i+c] += b[c]
		}
	}
}

// Predict returns the predicted label of each row of X.
func (m *AsKLS) Predict(X *mat.Dense) ([]int, error) {
	d, err := m.Decision(X)
	if err != nil {
		return nil, err
	}
	return ArgmaxClasses(d, m.classes), nil
}

// PredictGram returns labels from precomputed test kernels in both
// orientations (see [AsKLS.DecisionGram]).
func (m *AsKLS) PredictGram(Kx2tr, Ktr2x *mat.Dense) ([]int, error) {
	fs, ft, err := m.DecisionGram(Kx2tr, Ktr2x)
	if err != nil {
		return nil, err
	}
	fs.Add(fs, ft)
	return ArgmaxClasses(fs, m.classes), nil
}

// DecisionFeatures returns f_s and f_t from source and target features of
// test points, for a model fitted by [AsKLS.FitFeatures].
func (m *AsKLS) DecisionFeatures(Fs, Ft *mat.Dense) (fs, ft *mat.Dense, err error) {
	if m.b1 == nil {
		return nil, nil, ErrNotFitted
	}
	if !m.features {
		return nil, nil, fmt.Errorf("kernel: AsK-LS was fitted in the dual; use Decision or DecisionGram: %w", ErrNotFitted)
	}
	if err := checkCols("source features", Fs, m.dim); err != nil {
		return nil, nil, err
	}
	if err := checkCols("target features", Ft, m.dim); err != nil {
		return nil, nil, err
	}
	r1, _ := Fs.Dims()
	if r2, _ := Ft.Dims(); r1 != r2 {
		return nil, nil, fmt.Errorf("kernel: %d source and %d target feature rows: %w", r1, r2, ErrShape)
	}
	s := matMul(Fs, m.ws, m.T)
	t := matMul(Ft, m.wt, m.T)
	addBias(s, m.b1)
	addBias(t, m.b2)
	return scores(s, m.T), scores(t, m.T), nil
}

// PredictFeatures returns labels from test features (see
// [AsKLS.DecisionFeatures]).
func (m *AsKLS) PredictFeatures(Fs, Ft *mat.Dense) ([]int, error) {
	fs, ft, err := m.DecisionFeatures(Fs, Ft)
	if err != nil {
		return nil, err
	}
	fs.Add(fs, ft)
	return ArgmaxClasses(fs, m.classes), nil
}

func (m *AsKLS) fittedDual() error {
	if m.b1 == nil {
		return ErrNotFitted
	}
	if m.features {
		return fmt.Errorf("kernel: AsK-LS was fitted on features; use DecisionFeatures: %w", ErrNotFitted)
	}
	return nil
}

// Dual returns the dual coefficients α_i y_i and β_i y_i (n×T, one column
// per binary machine: T = 1 for two classes, else one per class) and the
// biases b1, b2. Nil for a model fitted on features.
func (m *AsKLS) Dual() (alpha, beta *mat.Dense, b1, b2 []float64) {
	if m.alpha == nil {
		return nil, nil, nil, nil
	}
	n := len(m.alpha) / m.T
	return mat.NewDense(n, m.T, append([]float64(nil), m.alpha...)), mat.NewDense(n, m.T, append([]float64(nil), m.beta...)),
		append([]float64(nil), m.b1...), append([]float64(nil), m.b2...)
}

// Classes returns the sorted distinct training labels.
func (m *AsKLS) Classes() []int { return append([]int(nil), m.classes...) }

// Info reports how the system was solved.
func (m *AsKLS) Info() SolveInfo { return m.info }

// Primal returns the primal weights ω (source) and ν (target) (D×T, one
// column per binary machine as in [AsKLS.Dual]) and the biases b1, b2 of a
// model fitted by [AsKLS.FitFeatures]; nil for a model fitted in the dual.
func (m *AsKLS) Primal() (ws, wt *mat.Dense, b1, b2 []float64) {
	if !m.features || m.ws == nil {
		return nil, nil, nil, nil
	}
	return mat.NewDense(m.dim, m.T, append([]float64(nil), m.ws...)), mat.NewDense(m.dim, m.T, append([]float64(nil), m.wt...)),
		append([]float64(nil), m.b1...), append([]float64(nil), m.b2...)
}
