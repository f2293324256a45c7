// Package kernel provides kernel functions and kernel machines: kernel ridge
// regression, LS-SVM, asymmetric-kernel LS-SVM (AsK-LS), learned
// locally-adaptive-bandwidth RBF kernels (LAB RBF), Nyström approximation and
// kernel PCA, with k-fold cross-validation and grid search. Random feature
// maps live in package kernel/features.
//
// Data matrices are gonum *mat.Dense with one sample per row.
//
// # Kernels
//
// A [Kernel] evaluates k(x, z) for one pair; [Gram] builds a whole block
// K[i][j] = k(X_i, Z_j) in parallel, through the BLAS seam
// (internal/linalg) where the kernel is a function of inner products
// ([InnerKernel]: linear, polynomial, sigmoid, cosine, RBF, cosine-Gaussian,
// Delta-Gaussian, sphere polynomial), using ‖x−z‖² = ‖x‖²+‖z‖²−2x·z for
// distance kernels. Kernels need not be symmetric (AsK-LS and AsK-RFF use
// [ShiftedGaussian], [SkewedGaussian], [SNE], [TSNE]; LAB RBF uses
// [LABKernel]) nor positive semidefinite ([Sigmoid], [DeltaGaussian],
// [SpherePolynomial]); the optional interfaces below tell which.
//
// Kernels are named and serializable through [Spec]: [ParseKernel] reads
// "rbf:gamma=0.5", and every model saves its kernel with [Save].
//
// # Estimators
//
// Every model has the same shape: a struct of settings, Fit(ctx, X, y),
// Predict(X), and Transform/Score/Decision where they apply. Methods return
// errors, never panic, on bad shapes, non-finite input or numerically
// singular systems. Models that accept precomputed kernel matrices have
// FitGram/PredictGram variants. Fitted models are saved with [Save] /
// [SaveFile] and read back with [Load] / [LoadFile].
//
// # Pipelines and names
//
// Kernels and methods are registered by name ([RegisterKernel],
// [KernelNames], [RegisterMethod], [MethodNames]); [ParseKernel],
// [NewRegressor] and [NewClassifier] build them, and an unknown name is an
// error matching [ErrUnknown] that lists the registered ones. A [Pipeline]
// standardizes a tabular data set and fits a named method with a kernel
// given as text: [Pipeline.FitHoldout], [Pipeline.Predict],
// [Pipeline.GridSearch] and [Pipeline.Refit] are what "trustml kernel
// fit|predict|cv" run (through [Pipeline.FitSave], [Pipeline.PredictReport]
// and [Pipeline.SearchReport], which return a printable [Report]), and a
// pipeline is saved with [SaveFile] like any other model. A [PCAPipeline]
// does the same for kernel PCA ("trustml kernel pca"). Features come from
// [data.Dataset.Float64], which uses the float64 values a CSV file was read
// with when they were kept. [DefaultsHelp] lists the defaults that differ
// from scikit-learn's.
//
// # Linear algebra
//
// Symmetric positive definite systems are solved by Cholesky; when the
// factorization fails (an indefinite kernel, a ridgeless fit) the solvers
// fall back to LU with partial pivoting. Both report the estimated
// reciprocal condition number, and a system whose estimate is below
// machine epsilon is an *[IllConditionedError], never a silent answer.
package kernel

import (
	"gonum.org/v1/gonum/mat"
)

// Kernel is a (possibly asymmetric or indefinite) kernel function.
// Eval(x, z) need not equal Eval(z, x) unless Symmetric reports true.
// Implementations must be safe for concurrent use: [Gram] calls Eval from
// several goroutines.
type Kernel interface {
	// Eval returns k(x, z). x and z have the same length.
	Eval(x, z []float64) float64
	// Symmetric reports whether k(x, z) == k(z, x) for all x, z.
	Symmetric() bool
}

// Definite is implemented by kernels that know whether they are positive
// semidefinite (every Gram matrix K(X, X) is PSD). See [IsPSD].
type Definite interface {
	PSD() bool
}

// IsPSD reports whether k declares itself positive semidefinite. Kernels that
// do not implement [Definite] are assumed indefinite.
func IsPSD(k Kernel) bool {
	d, ok := k.(Definite)
	return ok && d.PSD() && k.Symmetric()
}

// Validator is implemented by kernels whose parameters can be invalid. [Gram]
// and every model call Validate before using the kernel.
type Validator interface {
	Validate() error
}

// InnerKernel is a kernel that is a function of x·z, ‖x‖² and ‖z‖² only.
// [Gram] builds such kernels with one matrix product (GEMM or SYRK) and an
// element-wise map.
type InnerKernel interface {
	Kernel
	// FromInner returns k(x, z) given xz = x·z, xx = ‖x‖² and zz = ‖z‖².
	FromInner(xz, xx, zz float64) float64
}

// GramKernel is a kernel with its own way to build a Gram block, for
// example one that precomputes per-row statistics. [Gram] delegates to it.
type GramKernel interface {
	Kernel
	// GramTo writes K[i][j] = k(X_i, Z_j) into dst (rows(X)×rows(Z)). The
	// shapes have been checked by the caller.
	GramTo(dst *mat.Dense, X, Z *mat.Dense) error
}

// Binder is implemented by data-dependent kernels (for example [SNE], which
// normalizes over a reference set). Models call Bind with their training
// inputs at Fit and use the returned kernel from then on.
type Binder interface {
	Kernel
	// Bind returns the kernel bound to the reference rows of X.
	Bind(X *mat.Dense) (Kernel, error)
}

func validateKernel(k Kernel) error {
	if k == nil {
		return errNilKernel
	}
	if v, ok := k.(Validator); ok {
		return v.Validate()
	}
	return nil
}
