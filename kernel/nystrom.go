package kernel

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/linalg"
)

// NystromEigFloor is the floor applied to the eigenvalues of the landmark
// Gram matrix before the inverse square root, as scikit-learn's Nystroem.
const NystromEigFloor = 1e-12

// Nystrom is the Nyström feature map of a symmetric kernel: with landmarks
// L (m rows of the training set) and K_LL = U S Uᵀ,
//
//	φ(x) = k(x, L) · U S^{-1/2} Uᵀ,   S clamped at [NystromEigFloor],
//
// so φ(x)·φ(z) = k(x, L) K_LL⁺ k(L, z). Landmarks are the rows Landmarks
// when given (for example the low-confidence points of the KPCA OoD
// extension), otherwise Components rows drawn uniformly without
// replacement with Rand.
type Nystrom struct {
	Kernel     Kernel
	Components int        // number of landmarks m; ignored when Landmarks is set
	Landmarks  []int      // explicit landmark rows of X (optional)
	Rand       *rand.Rand // source for uniform landmarks; nil means a fixed seed (0, 0)

	t    trained // landmarks
	idx  []int
	norm []float64 // m×m, U S^{-1/2} Uᵀ
}

// Fit chooses the landmarks among the rows of X and factors their Gram
// matrix.
func (m *Nystrom) Fit(ctx context.Context, X *mat.Dense) error {
	if err := checkData("X", X); err != nil {
		return err
	}
	if err := validateKernelForSym(m.Kernel, "Nyström"); err != nil {
		return err
	}
	n, _ := X.Dims()
	var idx []int
	if m.Landmarks != nil {
		seen := map[int]bool{}
		for _, i := range m.Landmarks {
			if i < 0 || i >= n {
				return fmt.Errorf("kernel: Nyström landmark index %d out of range [0, %d): %w", i, n, ErrParam)
			}
			if seen[i] {
				return fmt.Errorf("kernel: Nyström landmark index %d repeated: %w", i, ErrParam)
			}
			seen[i] = true
		}
		idx = append(idx, m.Landmarks...)
	} else {
		if m.Components < 1 || m.Components > n {
			return fmt.Errorf("kernel: Nyström Components = %d, want 1..%d (the number of rows): %w", m.Components, n, ErrParam)
		}
		rng := m.Rand
		if rng == nil {
			rng = rand.New(rand.NewPCG(0, 0))
		}
		idx = rng.Perm(n)[:m.Components]
	}
	if len(idx) == 0 {
		return fmt.Errorf("kernel: Nyström needs at least one landmark: %w", ErrParam)
	}
	L := mat.NewDense(len(idx), X.RawMatrix().Cols, nil)
	for r, i := range idx {
		L.SetRow(r, X.RawRowView(i))
	}
	t, err := bindTrained(m.Kernel, L)
	if err != nil {
		return err
	}
	k := len(idx)
	K, err := gramSym(ctx, t.kern, t.x, true)
	if err != nil {
		return err
	}
	w := make([]float64, k)
	u := make([]float64, k*k) // rows are eigenvectors
	if err := linalg.DsyevTop(k, contiguous(K), k, k, w, u, k); err != nil {
		return fmt.Errorf("kernel: Nyström landmark eigendecomposition: %w", err)
	}
	// norm = Σ_l u_l u_lᵀ / √s_l = Uᵀ diag(s^{-1/2}) U with U's rows u_l.
	scaled := make([]float64, k*k)
	for l := 0; l < k; l++ {
		s := 1 / math.Sqrt(math.Max(w[l], NystromEigFloor))
		for i := 0; i < k; i++ {
			scaled[l*k+i] = u[l*k+i] * s
		}
	}
	norm := make([]float64, k*k)
	linalg.Dgemm(true, false, k, k, k, 1, u, k, scaled, k, 0, norm, k)
	m.t, m.idx, m.norm = t, idx, norm
	return nil
}

// Transform returns the m-dimensional features of the rows of X.
func (m *Nystrom) Transform(X *mat.Dense) (*mat.Dense, error) {
	if m.norm == nil {
		return nil, ErrNotFitted
	}
	Kx, err := m.t.cross(context.Background(), X)
	if err != nil {
		return nil, err
	}
	k := len(m.idx)
	r, _ := X.Dims()
	return mat.NewDense(r, k, matMul(Kx, m.norm, k)), nil
}

// LandmarkIndices returns the rows of the training set used as landmarks.
func (m *Nystrom) LandmarkIndices() []int { return append([]int(nil), m.idx...) }

// Dim returns the number of output features (landmarks); 0 before Fit.
func (m *Nystrom) Dim() int { return len(m.idx) }

func validateKernelForSym(k Kernel, method string) error {
	if k == nil {
		return errNilKernel
	}
	if !k.Symmetric() {
		return fmt.Errorf("kernel: %s needs a symmetric kernel, %T is asymmetric: %w", method, k, ErrParam)
	}
	return nil
}
