package kernel

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Sentinel errors; the errors returned by this package wrap them, so test
// with errors.Is.
var (
	// ErrShape reports mismatched or empty dimensions.
	ErrShape = errors.New("kernel: bad shape")
	// ErrNonFinite reports a NaN or infinite input value.
	ErrNonFinite = errors.New("kernel: non-finite value")
	// ErrNotFitted reports use of a model before Fit (or Load).
	ErrNotFitted = errors.New("kernel: model is not fitted")
	// ErrParam reports an invalid setting (a negative regularization, an
	// unknown option, ...).
	ErrParam = errors.New("kernel: invalid parameter")
	// ErrIllConditioned reports a numerically singular linear system; the
	// concrete error is an *IllConditionedError.
	ErrIllConditioned = errors.New("kernel: ill-conditioned system")
)

var errNilKernel = fmt.Errorf("kernel is nil: %w", ErrParam)

// IllConditionedError is returned when a linear system is numerically
// singular: its estimated reciprocal condition number is below machine
// epsilon, so a solution would be noise. It wraps [ErrIllConditioned].
type IllConditionedError struct {
	// System names the system ("K + λI", "AsK-LS block system", ...).
	System string
	// RCond is the estimated reciprocal condition number in the 1-norm.
	RCond float64
	// Hint says what to change.
	Hint string
}

// Error describes the system, its condition estimate and the hint.
func (e *IllConditionedError) Error() string {
	s := fmt.Sprintf("kernel: %s is numerically singular (rcond %.3g)", e.System, e.RCond)
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// Unwrap returns [ErrIllConditioned].
func (e *IllConditionedError) Unwrap() error { return ErrIllConditioned }

// FromRows builds a matrix from rows, returning an error (not a panic) for
// ragged or empty input and for non-finite values.
func FromRows(rows [][]float64) (*mat.Dense, error) {
	if len(rows) == 0 || len(rows[0]) == 0 {
		return nil, fmt.Errorf("kernel: no rows or no columns: %w", ErrShape)
	}
	d := len(rows[0])
	m := mat.NewDense(len(rows), d, nil)
	for i, r := range rows {
		if len(r) != d {
			return nil, fmt.Errorf("kernel: row %d has %d values, row 0 has %d: %w", i, len(r), d, ErrShape)
		}
		for j, v := range r {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("kernel: row %d column %d is %v: %w", i, j, v, ErrNonFinite)
			}
		}
		m.SetRow(i, r)
	}
	return m, nil
}

// checkData validates a data matrix: non-nil, non-empty, finite. name is
// used in messages ("X", "Z", ...).
func checkData(name string, X *mat.Dense) error {
	if X == nil {
		return fmt.Errorf("kernel: %s is nil: %w", name, ErrShape)
	}
	r, c := X.Dims()
	if r == 0 || c == 0 {
		return fmt.Errorf("kernel: %s is empty (%d×%d): %w", name, r, c, ErrShape)
	}
	raw := X.RawMatrix()
	for i := 0; i < r; i++ {
		row := raw.Data[i*raw.Stride : i*raw.Stride+c]
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("kernel: %s[%d][%d] is %v: %w", name, i, j, v, ErrNonFinite)
			}
		}
	}
	return nil
}

// checkCols reports a feature-count mismatch between predict and fit data.
func checkCols(name string, X *mat.Dense, want int) error {
	if err := checkData(name, X); err != nil {
		return err
	}
	if _, c := X.Dims(); c != want {
		return fmt.Errorf("kernel: %s has %d features, the model was fitted on %d: %w", name, c, want, ErrShape)
	}
	return nil
}

func checkTargets(y []float64, n int) error {
	if len(y) != n {
		return fmt.Errorf("kernel: %d targets for %d samples: %w", len(y), n, ErrShape)
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("kernel: target %d is %v: %w", i, v, ErrNonFinite)
		}
	}
	return nil
}

// checkSquare validates a precomputed n×n kernel matrix.
func checkGramMatrix(name string, K *mat.Dense, rows, cols int) error {
	if err := checkData(name, K); err != nil {
		return err
	}
	r, c := K.Dims()
	if (rows >= 0 && r != rows) || (cols >= 0 && c != cols) {
		return fmt.Errorf("kernel: %s is %d×%d, want %s×%s: %w", name, r, c, dimStr(rows), dimStr(cols), ErrShape)
	}
	return nil
}

func dimStr(n int) string {
	if n < 0 {
		return "any"
	}
	return fmt.Sprint(n)
}

func checkPositive(name string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return fmt.Errorf("kernel: %s must be positive and finite, got %v: %w", name, v, ErrParam)
	}
	return nil
}

func checkNonNegative(name string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 0) {
		return fmt.Errorf("kernel: %s must be non-negative and finite, got %v: %w", name, v, ErrParam)
	}
	return nil
}
