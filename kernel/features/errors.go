package features

import "github.com/trustml/trustml/kernel"

// Sentinel errors, shared with package kernel: every error of this package
// wraps one of them, so test with errors.Is.
var (
	// ErrShape reports mismatched, empty or nil matrices and dimensions.
	ErrShape = kernel.ErrShape
	// ErrNonFinite reports a NaN or infinite value.
	ErrNonFinite = kernel.ErrNonFinite
	// ErrNotFitted reports use of a model before Fit.
	ErrNotFitted = kernel.ErrNotFitted
	// ErrParam reports an invalid setting or an unsupported kernel.
	ErrParam = kernel.ErrParam
	// ErrIllConditioned reports a numerically singular system.
	ErrIllConditioned = kernel.ErrIllConditioned
)
