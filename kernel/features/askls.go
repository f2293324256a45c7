package features

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
)

// AsKLSPrimal is the asymmetric-kernel LS-SVM (AsK-LS, He et al.) in the
// primal, for explicit source/target features Φ_s, Φ_t (n×D each, e.g. from
// [NewAsKRFF]) of a kernel k(x, z) ≈ φ_s(x)·φ_t(z). For labels y ∈ {±1} it
// solves the stationarity system of
//
//	min ωᵀν + (γ/2)Σe_i² + (γ/2)Σh_i²,  e_i = 1 − y_i(ωᵀφ_s(x_i) + b₁), h_i = 1 − y_i(νᵀφ_t(x_i) + b₂):
//
//	[ γΦ_sᵀΦ_s   I          γΦ_sᵀ1   0      ] [ω ]     [Φ_sᵀy]
//	[ I          γΦ_tᵀΦ_t   0        γΦ_tᵀ1 ] [ν ] = γ [Φ_tᵀy]
//	[ γ1ᵀΦ_s     0          γn       0      ] [b₁]     [1ᵀy  ]
//	[ 0          γ1ᵀΦ_t     0        γn     ] [b₂]     [1ᵀy  ]
//
// (size 2D+2, non-symmetric: LU with partial pivoting; the one-vs-rest
// problems of C classes share one factorization). Decisions: f_s(x) =
// ωᵀφ_s(x) + b₁, f_t(x) = νᵀφ_t(x) + b₂, class = argmax of f_s + f_t. It
// matches the dual AsK-LS on the Gram matrix K = Φ_sΦ_tᵀ.
//
// The solver is [kernel.AsKLS.FitFeatures]; AsKLSPrimal gives it this
// package's defaults (γ = 1, the fallback threshold 1e-14).
type AsKLSPrimal struct {
	Gamma float64 // γ > 0, default 1 when zero
	// RcondMin: below this reciprocal condition number the regularized
	// normal equations (AᵀA + λI)x = Aᵀb replace the direct solve;
	// default 1e-14.
	RcondMin       float64
	FallbackLambda float64 // λ of the fallback, default 1

	m kernel.AsKLS
}

// Classes returns the sorted class labels.
func (m *AsKLSPrimal) Classes() []int { return m.m.Classes() }

// UsedFallback reports whether the last Fit used the regularized fallback,
// and the reciprocal condition estimate it saw.
func (m *AsKLSPrimal) UsedFallback() (bool, float64) {
	info := m.m.Info()
	return info.Fallback, info.RCond
}

// Model returns the fitted model of package kernel (its primal weights
// are [kernel.AsKLS.Primal]).
func (m *AsKLSPrimal) Model() *kernel.AsKLS { return &m.m }

// Fit fits the one-vs-rest models on source features S, target features T
// (both n×D) and labels y.
func (m *AsKLSPrimal) Fit(ctx context.Context, S, T *mat.Dense, y []int) error {
	gamma := m.Gamma
	if gamma == 0 {
		gamma = 1
	}
	if !(gamma > 0) || math.IsInf(gamma, 0) {
		return fmt.Errorf("features: AsK-LS gamma must be positive, got %v: %w", m.Gamma, ErrParam)
	}
	rcondMin, lambda := m.RcondMin, m.FallbackLambda
	if rcondMin <= 0 {
		rcondMin = 1e-14
	}
	if lambda <= 0 {
		lambda = 1
	}
	m.m = kernel.AsKLS{Gamma: gamma, RCondMin: rcondMin, FallbackLambda: lambda}
	if err := m.m.FitFeatures(ctx, S, T, y); err != nil {
		return fmt.Errorf("features: AsK-LS: %w", err)
	}
	return nil
}

// Decision returns the one-vs-rest source and target decision values
// f_s = Φ_sω + b₁ and f_t = Φ_tν + b₂ (n×C each; for two classes the
// columns are −f and f).
func (m *AsKLSPrimal) Decision(S, T *mat.Dense) (fs, ft *mat.Dense, err error) {
	fs, ft, err = m.m.DecisionFeatures(S, T)
	if err != nil {
		return nil, nil, fmt.Errorf("features: AsK-LS: %w", err)
	}
	return fs, ft, nil
}

// Predict returns argmax_c (f_s + f_t).
func (m *AsKLSPrimal) Predict(S, T *mat.Dense) ([]int, error) {
	p, err := m.m.PredictFeatures(S, T)
	if err != nil {
		return nil, fmt.Errorf("features: AsK-LS: %w", err)
	}
	return p, nil
}
