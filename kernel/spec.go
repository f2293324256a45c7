package kernel

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/registry"
)

// Spec is a serializable description of a kernel: its registered name and
// parameters. Models save their kernel as a Spec; the CLI builds kernels
// from the text form read by [ParseKernel].
type Spec struct {
	Name     string               `json:"name"`
	Params   map[string]float64   `json:"params,omitempty"`
	Vectors  map[string][]float64 `json:"vectors,omitempty"`
	Matrices map[string]*Matrix   `json:"matrices,omitempty"`
}

// Matrix is the serialized form of a dense row-major matrix.
type Matrix struct {
	Rows int       `json:"rows"`
	Cols int       `json:"cols"`
	Data []float64 `json:"data"`
}

// NewMatrix returns the serialized form of m (nil for nil).
func NewMatrix(m *mat.Dense) *Matrix {
	if m == nil {
		return nil
	}
	r, c := m.Dims()
	out := &Matrix{Rows: r, Cols: c, Data: make([]float64, 0, r*c)}
	for i := 0; i < r; i++ {
		out.Data = append(out.Data, m.RawRowView(i)...)
	}
	return out
}

// Dense returns the matrix, checking its shape and values.
func (m *Matrix) Dense() (*mat.Dense, error) {
	if m == nil {
		return nil, nil
	}
	if m.Rows <= 0 || m.Cols <= 0 || len(m.Data)%m.Cols != 0 || len(m.Data)/m.Cols != m.Rows {
		return nil, fmt.Errorf("kernel: stored matrix %d×%d has %d values: %w", m.Rows, m.Cols, len(m.Data), ErrShape)
	}
	for i, v := range m.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("kernel: stored matrix value %d is %v: %w", i, v, ErrNonFinite)
		}
	}
	return mat.NewDense(m.Rows, m.Cols, append([]float64(nil), m.Data...)), nil
}

// Specifier is implemented by kernels that can describe themselves as a
// [Spec]; every built-in kernel does. Models can only be saved with such
// kernels.
type Specifier interface {
	Spec() Spec
}

// kernels is the registry of kernel constructors by name.
var kernels = registry.New[func(Spec) (Kernel, error)]("kernel")

// ErrUnknown is matched (errors.Is) by the error for a kernel or method
// name that is not registered; the error lists the registered names.
var ErrUnknown = registry.ErrUnknown

// RegisterKernel makes a kernel constructor available by name to
// [NewKernel], [ParseKernel] and [Load]. It panics if the name is empty or
// taken (a programming error, as image.RegisterFormat).
func RegisterKernel(name string, build func(Spec) (Kernel, error)) {
	kernels.Register(name, build)
}

// KernelNames returns the registered kernel names, sorted.
func KernelNames() []string { return kernels.Names() }

// NewKernel builds the kernel a Spec describes and validates it (data-
// dependent kernels that are not bound yet are not validated). An
// unregistered name is an error matching both [ErrUnknown] and [ErrParam].
func NewKernel(s Spec) (Kernel, error) {
	build, err := kernels.Lookup(s.Name)
	if err != nil {
		return nil, fmt.Errorf("kernel: %w: %w", err, ErrParam)
	}
	k, err := build(s)
	if err != nil {
		return nil, err
	}
	if _, isBinder := k.(Binder); !isBinder {
		if err := validateKernel(k); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// SpecOf returns the Spec of k, or an error if k does not implement
// [Specifier].
func SpecOf(k Kernel) (Spec, error) {
	if k == nil {
		return Spec{}, errNilKernel
	}
	s, ok := k.(Specifier)
	if !ok {
		return Spec{}, fmt.Errorf("kernel: %T cannot be saved: it does not implement Specifier: %w", k, ErrParam)
	}
	return s.Spec(), nil
}

// ParseKernel reads the text form "name" or "name:key=value,key=value" of a
// kernel, for example "rbf:gamma=0.5", "poly:gamma=1,degree=2,coef0=1" or
// "shifted-gaussian:sigma=1,shift=0.5;0;-0.5" (vector values separated by
// ';'). Missing parameters take the defaults listed by [KernelHelp];
// required ones (gamma, sigma) have none.
func ParseKernel(text string) (Kernel, error) {
	text = strings.TrimSpace(text)
	name, rest, _ := strings.Cut(text, ":")
	s := Spec{Name: strings.ToLower(strings.TrimSpace(name))}
	if rest = strings.TrimSpace(rest); rest != "" {
		for _, kv := range strings.Split(rest, ",") {
			key, val, ok := strings.Cut(kv, "=")
			key = strings.ToLower(strings.TrimSpace(key))
			if !ok || key == "" {
				return nil, fmt.Errorf("kernel: %q: parameter %q is not key=value: %w", text, kv, ErrParam)
			}
			parts := strings.Split(val, ";")
			vals := make([]float64, len(parts))
			for i, p := range parts {
				v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
				if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
					return nil, fmt.Errorf("kernel: %q: parameter %s=%q is not a finite number: %w", text, key, val, ErrParam)
				}
				vals[i] = v
			}
			if len(parts) == 1 && !vectorParam[key] {
				if s.Params == nil {
					s.Params = map[string]float64{}
				}
				s.Params[key] = vals[0]
			} else {
				if s.Vectors == nil {
					s.Vectors = map[string][]float64{}
				}
				s.Vectors[key] = vals
			}
		}
	}
	return NewKernel(s)
}

// vectorParam names parameters that are always vectors.
var vectorParam = map[string]bool{"shift": true, "c": true}

// kernelUsage is the help line of each built-in kernel's text form.
var kernelUsage = map[string]string{
	"linear":           "linear                               x·z",
	"poly":             "poly:gamma=G,coef0=1,degree=3        (G x·z + coef0)^degree",
	"rbf":              "rbf:gamma=G                          exp(−G‖x−z‖²)",
	"laplacian":        "laplacian:gamma=G                    exp(−G‖x−z‖₁)",
	"cosine":           "cosine                               x·z/(‖x‖‖z‖)",
	"sigmoid":          "sigmoid:gamma=G,coef0=1              tanh(G x·z + coef0)   (indefinite)",
	"cosine-gaussian":  "cosine-gaussian:gamma=G              exp(−G‖x/‖x‖ − z/‖z‖‖²)",
	"delta-gaussian":   "delta-gaussian:sigma1=1,sigma2=10    exp(−‖Δ‖²/2σ1²) − exp(−‖Δ‖²/2σ2²)   (indefinite)",
	"sphere-poly":      "sphere-poly:a=3,p=1                  (1 − ‖x−z‖²/a²)^p   (indefinite)",
	"shifted-gaussian": "shifted-gaussian:sigma=S,shift=c1;c2 exp(−‖x−z−c‖²/2S²)   (asymmetric)",
	"skewed-gaussian":  "skewed-gaussian:sigma=S,a=A,c=c1;c2  exp(−‖Δ‖²/2S²)(1 + A sin(cᵀΔ))   (asymmetric)",
	"sne":              "sne:sigma=S,power=2                  exp(−‖x−z‖^p/S²)/Σ_u exp(−‖x−u‖^p/S²)   (asymmetric, bound to the training set)",
	"tsne":             "tsne:power=2                         (1+‖x−z‖^p)⁻¹/Σ_u (1+‖x−u‖^p)⁻¹   (asymmetric, bound to the training set)",
	"lab":              "lab                                  learned by the labrbf method; read from model files only",
}

// KernelHelp describes the text forms [ParseKernel] accepts, one line per
// registered kernel (in name order; a kernel registered without a help
// line is listed by name).
func KernelHelp() string {
	var b strings.Builder
	for i, name := range KernelNames() {
		if i > 0 {
			b.WriteByte('\n')
		}
		if u, ok := kernelUsage[name]; ok {
			b.WriteString(u)
		} else {
			b.WriteString(name)
		}
	}
	return b.String()
}

// params reads the allowed parameters of s with defaults; a missing key
// without a default is NaN (and fails validation with a clear message).
func params(s Spec, defaults map[string]float64, vectors ...string) (map[string]float64, error) {
	out := map[string]float64{}
	for k, v := range defaults {
		out[k] = v
	}
	for k, v := range s.Params {
		if _, ok := defaults[k]; !ok {
			return nil, fmt.Errorf("kernel: %s has no parameter %q (parameters: %s): %w", s.Name, k, keys(defaults, vectors), ErrParam)
		}
		out[k] = v
	}
	for k := range s.Vectors {
		found := false
		for _, v := range vectors {
			found = found || v == k
		}
		if !found {
			return nil, fmt.Errorf("kernel: %s has no vector parameter %q (parameters: %s): %w", s.Name, k, keys(defaults, vectors), ErrParam)
		}
	}
	return out, nil
}

func keys(m map[string]float64, extra []string) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	ks = append(ks, extra...)
	sort.Strings(ks)
	if len(ks) == 0 {
		return "none"
	}
	return strings.Join(ks, ", ")
}

func intParam(name string, v float64) (int, error) {
	if v != math.Trunc(v) || math.Abs(v) > 1<<20 {
		return 0, fmt.Errorf("kernel: %s must be an integer, got %v: %w", name, v, ErrParam)
	}
	return int(v), nil
}

var nan = math.NaN()

func init() {
	RegisterKernel("linear", func(s Spec) (Kernel, error) {
		if _, err := params(s, nil); err != nil {
			return nil, err
		}
		return Linear{}, nil
	})
	RegisterKernel("poly", func(s Spec) (Kernel, error) {
		p, err := params(s, map[string]float64{"gamma": nan, "coef0": 1, "degree": 3})
		if err != nil {
			return nil, err
		}
		d, err := intParam("poly degree", p["degree"])
		if err != nil {
			return nil, err
		}
		return Polynomial{Gamma: p["gamma"], Coef0: p["coef0"], Degree: d}, nil
	})
	RegisterKernel("rbf", func(s Spec) (Kernel, error) {
		p, err := params(s, map[string]float64{"gamma": nan})
		if err != nil {
			return nil, err
		}
		return RBF{Gamma: p["gamma"]}, nil
	})
	RegisterKernel("laplacian", func(s Spec) (Kernel, error) {
		p, err := params(s, map[string]float64{"gamma": nan})
		if err != nil {
			return nil, err
		}
		return Laplacian{Gamma: p["gamma"]}, nil
	})
	RegisterKernel("cosine", func(s Spec) (Kernel, error) {
		if _, err := params(s, nil); err != nil {
			return nil, err
		}
		return Cosine{}, nil
	})
	RegisterKernel("sigmoid", func(s Spec) (Kernel, error) {
		p, err := params(s, map[string]float64{"gamma": nan, "coef0": 1})
		if err != nil {
			return nil, err
		}
		return Sigmoid{Gamma: p["gamma"], Coef0: p["coef0"]}, nil
	})
	RegisterKernel("cosine-gaussian", func(s Spec) (Kernel, error) {
		p, err := params(s, map[string]float64{"gamma": nan})
		if err != nil {
			return nil, err
		}
		return CosineGaussian{Gamma: p["gamma"]}, nil
	})
	RegisterKernel("delta-gaussian", func(s Spec) (Kernel, error) {
		p, err := params(s, map[string]float64{"sigma1": 1, "sigma2": 10})
		if err != nil {
			return nil, err
		}
		return DeltaGaussian{Sigma1: p["sigma1"], Sigma2: p["sigma2"]}, nil
	})
	RegisterKernel("sphere-poly", func(s Spec) (Kernel, error) {
		p, err := params(s, map[string]float64{"a": 3, "p": 1})
		if err != nil {
			return nil, err
		}
		d, err := intParam("sphere-poly p", p["p"])
		if err != nil {
			return nil, err
		}
		return SpherePolynomial{A: p["a"], P: d}, nil
	})
	RegisterKernel("shifted-gaussian", func(s Spec) (Kernel, error) {
		p, err := params(s, map[string]float64{"sigma": nan}, "shift")
		if err != nil {
			return nil, err
		}
		return ShiftedGaussian{Sigma: p["sigma"], Shift: append([]float64(nil), s.Vectors["shift"]...)}, nil
	})
	RegisterKernel("skewed-gaussian", func(s Spec) (Kernel, error) {
		p, err := params(s, map[string]float64{"sigma": nan, "a": nan}, "c")
		if err != nil {
			return nil, err
		}
		return SkewedGaussian{Sigma: p["sigma"], A: p["a"], C: append([]float64(nil), s.Vectors["c"]...)}, nil
	})
	RegisterKernel("sne", func(s Spec) (Kernel, error) {
		p, err := params(s, map[string]float64{"sigma": nan, "power": 2})
		if err != nil {
			return nil, err
		}
		k := SNE{Sigma: p["sigma"], Power: p["power"]}
		if m := s.Matrices["ref"]; m != nil {
			ref, err := m.Dense()
			if err != nil {
				return nil, err
			}
			k.ref = ref
			if err := k.Validate(); err != nil {
				return nil, err
			}
		}
		return k, nil
	})
	RegisterKernel("tsne", func(s Spec) (Kernel, error) {
		p, err := params(s, map[string]float64{"power": 2})
		if err != nil {
			return nil, err
		}
		k := TSNE{Power: p["power"]}
		if m := s.Matrices["ref"]; m != nil {
			ref, err := m.Dense()
			if err != nil {
				return nil, err
			}
			k.ref = ref
			if err := k.Validate(); err != nil {
				return nil, err
			}
		}
		return k, nil
	})
	RegisterKernel("lab", func(s Spec) (Kernel, error) {
		p, err := params(s, map[string]float64{"squared": 0})
		if err != nil {
			return nil, err
		}
		c, err := s.Matrices["centers"].Dense()
		if err != nil {
			return nil, err
		}
		t, err := s.Matrices["theta"].Dense()
		if err != nil {
			return nil, err
		}
		k := LABKernel{Centers: c, Theta: t, Shape: LABLaplace}
		if p["squared"] != 0 {
			k.Shape = LABGauss
		}
		return k, nil
	})
}

// Spec describes the kernel.
func (Linear) Spec() Spec { return Spec{Name: "linear"} }

// Spec describes the kernel.
func (k Polynomial) Spec() Spec {
	return Spec{Name: "poly", Params: map[string]float64{"gamma": k.Gamma, "coef0": k.Coef0, "degree": float64(k.Degree)}}
}

// Spec describes the kernel.
func (k RBF) Spec() Spec { return Spec{Name: "rbf", Params: map[string]float64{"gamma": k.Gamma}} }

// Spec describes the kernel.
func (k Laplacian) Spec() Spec {
	return Spec{Name: "laplacian", Params: map[string]float64{"gamma": k.Gamma}}
}

// Spec describes the kernel.
func (Cosine) Spec() Spec { return Spec{Name: "cosine"} }

// Spec describes the kernel.
func (k Sigmoid) Spec() Spec {
	return Spec{Name: "sigmoid", Params: map[string]float64{"gamma": k.Gamma, "coef0": k.Coef0}}
}

// Spec describes the kernel.
func (k CosineGaussian) Spec() Spec {
	return Spec{Name: "cosine-gaussian", Params: map[string]float64{"gamma": k.Gamma}}
}

// Spec describes the kernel.
func (k DeltaGaussian) Spec() Spec {
	return Spec{Name: "delta-gaussian", Params: map[string]float64{"sigma1": k.Sigma1, "sigma2": k.Sigma2}}
}

// Spec describes the kernel.
func (k SpherePolynomial) Spec() Spec {
	return Spec{Name: "sphere-poly", Params: map[string]float64{"a": k.A, "p": float64(k.P)}}
}

// Spec describes the kernel.
func (k ShiftedGaussian) Spec() Spec {
	return Spec{Name: "shifted-gaussian", Params: map[string]float64{"sigma": k.Sigma},
		Vectors: map[string][]float64{"shift": append([]float64(nil), k.Shift...)}}
}

// Spec describes the kernel.
func (k SkewedGaussian) Spec() Spec {
	return Spec{Name: "skewed-gaussian", Params: map[string]float64{"sigma": k.Sigma, "a": k.A},
		Vectors: map[string][]float64{"c": append([]float64(nil), k.C...)}}
}

// Spec describes the kernel, including its reference set when bound.
func (k SNE) Spec() Spec {
	s := Spec{Name: "sne", Params: map[string]float64{"sigma": k.Sigma, "power": k.power()}}
	if k.ref != nil {
		s.Matrices = map[string]*Matrix{"ref": NewMatrix(k.ref)}
	}
	return s
}

// Spec describes the kernel, including its reference set when bound.
func (k TSNE) Spec() Spec {
	s := Spec{Name: "tsne", Params: map[string]float64{"power": k.Power}}
	if k.ref != nil {
		s.Matrices = map[string]*Matrix{"ref": NewMatrix(k.ref)}
	}
	return s
}

// Spec describes the kernel with its support set.
func (k LABKernel) Spec() Spec {
	sq := 0.0
	if k.shape() == LABGauss {
		sq = 1
	}
	return Spec{Name: "lab", Params: map[string]float64{"squared": sq},
		Matrices: map[string]*Matrix{"centers": NewMatrix(k.Centers), "theta": NewMatrix(k.Theta)}}
}
