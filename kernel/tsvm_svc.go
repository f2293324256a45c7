package kernel

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// SVC is the C-SVM classifier on a precomputed Gram matrix (the dual
// max Σα − ½ Σ α_i α_j y_i y_j K_ij, 0 ≤ α ≤ C, yᵀα = 0), solved by the
// same SMO as tSVM-MTL's steps (LIBSVM's working-set selection, KKT
// tolerance Tol); one-vs-rest for more than two classes. Supervised kernel
// imputation (package impute) uses it for the SVM on a learned kernel.
type SVC struct {
	// C is the box constraint (> 0).
	C float64
	// Tol is the KKT violation at which SMO stops; 0 means 1e-3.
	Tol float64

	classes []int
	beta    [][]float64 // y_i α_i per machine
	bias    []float64
}

// FitGram fits on the n×n training Gram matrix K and labels y.
func (s *SVC) FitGram(ctx context.Context, K *mat.Dense, y []int) error {
	if err := checkPositive("SVC C", s.C); err != nil {
		return err
	}
	tol := s.Tol
	if tol == 0 {
		tol = 1e-3
	}
	if err := checkPositive("SVC Tol", tol); err != nil {
		return err
	}
	n, c := K.Dims()
	if n != c {
		return fmt.Errorf("kernel: SVC Gram matrix is %d×%d, want square: %w", n, c, ErrShape)
	}
	classes, targets, T, err := encodeLabels(y, n)
	if err != nil {
		return err
	}
	Q := contiguous(K)
	task := make([]int, n)
	col := make([]float64, n)
	s.beta, s.bias = make([][]float64, T), make([]float64, T)
	for m := 0; m < T; m++ {
		for i := range col {
			col[i] = targets[i*T+m]
		}
		beta, bias, _, err := mtlSVM(ctx, Q, n, col, task, []int{0}, nil, s.C, 0, tol, true)
		if err != nil {
			return err
		}
		s.beta[m], s.bias[m] = beta, bias[0]
	}
	s.classes = classes
	return nil
}

// DecisionGram returns the decision values (m×C columns as
// [LSSVMClassifier.Decision]) of rows with test-to-train kernel Kt (m×n).
func (s *SVC) DecisionGram(Kt *mat.Dense) (*mat.Dense, error) {
	if s.beta == nil {
		return nil, ErrNotFitted
	}
	r, c := Kt.Dims()
	if c != len(s.beta[0]) {
		return nil, fmt.Errorf("kernel: SVC kernel rows have %d columns, the model has %d training rows: %w", c, len(s.beta[0]), ErrShape)
	}
	T := len(s.beta)
	raw := make([]float64, r*T)
	for i := 0; i < r; i++ {
		row := Kt.RawRowView(i)
		for m, b := range s.beta {
			v := s.bias[m]
			for j, bj := range b {
				v += bj * row[j]
			}
			raw[i*T+m] = v
		}
	}
	return scores(raw, T), nil
}

// PredictGram returns the predicted labels of rows with test-to-train
// kernel Kt.
func (s *SVC) PredictGram(Kt *mat.Dense) ([]int, error) {
	d, err := s.DecisionGram(Kt)
	if err != nil {
		return nil, err
	}
	return ArgmaxClasses(d, s.classes), nil
}

// Dual returns y_i·α_i of each training row, one slice per one-vs-rest
// machine (one for two classes).
func (s *SVC) Dual() [][]float64 { return s.beta }
