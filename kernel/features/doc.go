// Package features provides explicit random feature maps for kernels and the
// linear models that use them in the primal.
//
// # Feature maps
//
// A feature map φ turns an n×d data matrix (one sample per row) into an n×D'
// feature matrix such that inner products of features approximate a kernel:
//
//   - [NewRFF]: random Fourier features (Rahimi–Recht) for a shift-invariant
//     positive-definite kernel given by its spectral measure ([Gaussian],
//     [Laplacian]);
//   - [NewORF]: orthogonal random features (Yu et al. 2016) for isotropic
//     kernels such as the Gaussian: frequency directions are drawn in
//     Haar-orthogonal blocks, lowering the variance of the estimate;
//   - [NewSORF]: structured orthogonal random features, W = (√p/σ)·HD₁HD₂HD₃
//     with Walsh–Hadamard matrices H, applied with a fast transform in
//     O(p log p) per sample;
//   - [NewGORF] and [NewGRFF]: Krein features for stationary indefinite
//     kernels (Delta-Gaussian, polynomial kernel on the sphere):
//     k(x,z) ≈ Φ₊(x)·Φ₊(z) − Φ₋(x)·Φ₋(z), with orthogonal (GORF) or i.i.d.
//     (GRFF) directions;
//   - [NewAsKRFF]: source/target features for asymmetric shift-invariant
//     kernels, k(x,z) ≈ φ_s(x)·φ_t(z), from the four-part Jordan decomposition
//     of the kernel's complex spectral measure, with exact, Monte-Carlo or
//     subset-fitted total masses.
//
// Every randomized constructor takes a seeded *rand.Rand (math/rand/v2): the
// same seed gives the same features bit for bit. Feature computation on many
// rows is one GEMM (internal/linalg.Dgemm) followed by a parallel pass for the
// trigonometric non-linearity; SORF uses a parallel fast Walsh–Hadamard
// transform instead.
//
// # Primal models
//
// [Ridge] (regression) and [RidgeClassifier] (one-vs-rest ±1 targets) solve
// the D×D ridge system on a feature matrix; the least-squares SVM in the
// primal is the same problem with λ = 1/γ (see [LSSVMRegressor] and
// [LSSVMClassifier]). [Ridge.FitMap] streams the feature matrix in row blocks
// so that n×D features never need to be held at once. [AsKLSPrimal] is the
// asymmetric-kernel LS-SVM of He et al. in the primal, on source/target
// features from [NewAsKRFF] (it runs kernel.AsKLS.FitFeatures, the one
// primal solver). [LinearSVC] is an L2-regularized squared-hinge linear SVM
// (liblinear's model), used on GORF features as in the GORF paper. Every
// fit takes a context.Context, checked between stages or row blocks.
//
// # Errors
//
// Errors wrap the sentinels [ErrShape], [ErrNonFinite], [ErrNotFitted],
// [ErrParam] and [ErrIllConditioned], which are package kernel's, so one
// errors.Is test covers both packages.
package features
