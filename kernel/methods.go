package kernel

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/trustml/trustml/internal/registry"
)

// Method is a supervised kernel machine available by name to
// [NewRegressor], [NewClassifier], [Pipeline] and the command line. A method
// builds regressors, classifiers or both (LS-SVM).
type Method struct {
	// Doc is a one-line description for help text.
	Doc string
	// DefaultReg is the regularization used when none is given.
	DefaultReg float64
	// RegName names the regularization in help text ("γ", "λ").
	RegName string
	// NoKernel is set for methods that learn their own kernel (labrbf):
	// the kernel argument of the constructors is ignored.
	NoKernel bool
	// Regressor builds an unfitted regressor with kernel k, regularization
	// reg and, for randomized methods, rng. Nil if the method does not
	// regress.
	Regressor func(k Kernel, reg float64, rng *rand.Rand) Regressor
	// Classifier builds an unfitted classifier, as Regressor. Nil if the
	// method does not classify.
	Classifier func(k Kernel, reg float64, rng *rand.Rand) Classifier
}

// methods is the registry of estimators by name.
var methods = registry.New[Method]("method")

// RegisterMethod makes an estimator available by name. It panics if the
// name is empty or taken, or if m builds neither regressors nor classifiers
// (programming errors).
func RegisterMethod(name string, m Method) {
	if m.Regressor == nil && m.Classifier == nil {
		panic("kernel: method " + name + " builds neither regressors nor classifiers")
	}
	methods.Register(name, m)
}

// LookupMethod returns the method registered under name, or an error
// matching [ErrUnknown] that lists the registered names.
func LookupMethod(name string) (Method, error) {
	m, err := methods.Lookup(name)
	if err != nil {
		return Method{}, fmt.Errorf("kernel: %w", err)
	}
	return m, nil
}

// MethodNames returns the registered method names, sorted.
func MethodNames() []string { return methods.Names() }

// methodNamesFor lists the methods that regress (or classify).
func methodNamesFor(regression bool) []string {
	var out []string
	for _, n := range MethodNames() {
		m, _ := methods.Lookup(n)
		if (regression && m.Regressor != nil) || (!regression && m.Classifier != nil) {
			out = append(out, n)
		}
	}
	return out
}

// NewRegressor builds an unfitted regressor of the named method with
// kernel k (ignored by methods that learn their kernel), regularization
// reg and random source rng (used by randomized methods; nil means a
// fixed seed). A method that only classifies is an [ErrParam] error naming
// the methods that regress.
func NewRegressor(name string, k Kernel, reg float64, rng *rand.Rand) (Regressor, error) {
	m, err := LookupMethod(name)
	if err != nil {
		return nil, err
	}
	if m.Regressor == nil {
		return nil, fmt.Errorf("kernel: %s is a classifier; the data set has regression targets (use %s): %w",
			name, strings.Join(methodNamesFor(true), ", "), ErrParam)
	}
	return m.Regressor(k, reg, rng), nil
}

// NewClassifier builds an unfitted classifier of the named method, as
// [NewRegressor].
func NewClassifier(name string, k Kernel, reg float64, rng *rand.Rand) (Classifier, error) {
	m, err := LookupMethod(name)
	if err != nil {
		return nil, err
	}
	if m.Classifier == nil {
		return nil, fmt.Errorf("kernel: %s is a regressor; the data set has class labels (use %s): %w",
			name, strings.Join(methodNamesFor(false), ", "), ErrParam)
	}
	return m.Classifier(k, reg, rng), nil
}

// DefaultMethod is the method [Pipeline] uses when none is named: krr for
// regression, lssvm for classification.
func DefaultMethod(regression bool) string {
	if regression {
		return "krr"
	}
	return "lssvm"
}

// MethodHelp describes the registered methods, one line each.
func MethodHelp() string {
	var b strings.Builder
	for i, n := range MethodNames() {
		m, _ := methods.Lookup(n)
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%-7s %s (%s, default %g)", n, m.Doc, m.RegName, m.DefaultReg)
	}
	return b.String()
}

func init() {
	RegisterMethod("krr", Method{
		Doc: "kernel ridge regression, (K + λI)α = y with λ = scikit-learn's KernelRidge alpha", RegName: "λ", DefaultReg: 1e-3,
		Regressor: func(k Kernel, reg float64, _ *rand.Rand) Regressor { return &KRR{Kernel: k, Lambda: reg} },
	})
	RegisterMethod("lssvm", Method{
		Doc: "least-squares SVM, regression or one-vs-rest classification", RegName: "γ", DefaultReg: 10,
		Regressor:  func(k Kernel, reg float64, _ *rand.Rand) Regressor { return &LSSVMRegressor{Kernel: k, Gamma: reg} },
		Classifier: func(k Kernel, reg float64, _ *rand.Rand) Classifier { return &LSSVMClassifier{Kernel: k, Gamma: reg} },
	})
	RegisterMethod("askls", Method{
		Doc: "asymmetric-kernel LS-SVM, classification", RegName: "γ", DefaultReg: 10,
		Classifier: func(k Kernel, reg float64, _ *rand.Rand) Classifier { return &AsKLS{Kernel: k, Gamma: reg} },
	})
	RegisterMethod("labrbf", Method{
		Doc: "learned locally-adaptive-bandwidth RBF, regression", RegName: "λ", DefaultReg: 1e-3, NoKernel: true,
		Regressor: func(_ Kernel, reg float64, rng *rand.Rand) Regressor { return &LABRBF{Lambda: reg, Rand: rng} },
	})
}
