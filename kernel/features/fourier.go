package features

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/linalg"
)

// Map is an explicit feature map x ↦ φ(x) from R^InputDim to R^Dim.
type Map interface {
	// InputDim is the number of columns the map expects.
	InputDim() int
	// Dim is the number of feature columns it produces.
	Dim() int
	// TransformTo writes φ of every row of X into the rows of dst, which
	// must be X.rows×Dim.
	TransformTo(dst, X *mat.Dense) error
}

// Transform returns the n×m.Dim() feature matrix of X under m.
func Transform(m Map, X *mat.Dense) (*mat.Dense, error) {
	if X == nil {
		return nil, fmt.Errorf("features: nil data matrix: %w", ErrShape)
	}
	n, _ := X.Dims()
	if n == 0 {
		return nil, fmt.Errorf("features: data matrix has no rows: %w", ErrShape)
	}
	dst := mat.NewDense(n, m.Dim(), nil)
	if err := m.TransformTo(dst, X); err != nil {
		return nil, err
	}
	return dst, nil
}

// Form selects the trigonometric form of a Fourier feature map.
type Form int

const (
	// CosSin is φ(x) = s·[cos(Wx); sin(Wx)] with 2D outputs for D frequencies
	// (s = √(1/D) for a probability spectrum). It has lower variance than
	// [Phase] and is the form used by ORF/SORF and GORF.
	CosSin Form = iota
	// Phase is φ(x) = s·cos(Wx + b), b ~ U[0, 2π), with D outputs
	// (s = √(2/D)); scikit-learn's RBFSampler uses this form.
	Phase
)

// String returns "cossin" or "phase".
func (f Form) String() string {
	switch f {
	case CosSin:
		return "cossin"
	case Phase:
		return "phase"
	}
	return fmt.Sprintf("Form(%d)", int(f))
}

// ParseForm parses "cossin" or "phase".
func ParseForm(s string) (Form, error) {
	switch s {
	case "cossin", "cos-sin", "":
		return CosSin, nil
	case "phase":
		return Phase, nil
	}
	return 0, fmt.Errorf("features: unknown feature form %q (want cossin or phase): %w", s, ErrParam)
}

// Fourier is a fitted random Fourier feature map: a frequency matrix W
// (D×d, dense or structured), optional phases b and a scale s. It is the
// map returned by [NewRFF], [NewORF] and [NewSORF], and each half of a
// [KreinMap]. A Fourier map is immutable after construction and safe for
// concurrent use.
type Fourier struct {
	d, nfreq int
	w        []float64 // nfreq×d row-major frequencies; nil when structured
	sorf     *sorfBlocks
	phase    []float64 // nil for CosSin
	scale    float64
	form     Form
}

var _ Map = (*Fourier)(nil)

// NewFourier builds a map from explicit frequencies W (D×d, row j is ω_j).
// For [Phase] form, b must hold D phases; for [CosSin] it must be nil. The
// scale is √(2/D) for Phase and √(1/D) for CosSin, the Monte-Carlo weights
// of a probability spectrum. W and b are copied.
func NewFourier(W *mat.Dense, b []float64, form Form) (*Fourier, error) {
	if W == nil {
		return nil, fmt.Errorf("features: nil frequency matrix: %w", ErrShape)
	}
	D, d := W.Dims()
	if D == 0 || d == 0 {
		return nil, fmt.Errorf("features: empty frequency matrix %d×%d: %w", D, d, ErrShape)
	}
	f := &Fourier{d: d, nfreq: D, form: form, w: make([]float64, D*d)}
	for j := 0; j < D; j++ {
		copy(f.w[j*d:(j+1)*d], W.RawRowView(j))
	}
	for _, v := range f.w {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("features: frequency matrix has a non-finite entry: %w", ErrNonFinite)
		}
	}
	switch form {
	case Phase:
		if len(b) != D {
			return nil, fmt.Errorf("features: phase form needs %d phases, got %d: %w", D, len(b), ErrShape)
		}
		f.phase = append([]float64(nil), b...)
		f.scale = math.Sqrt(2 / float64(D))
	case CosSin:
		if b != nil {
			return nil, fmt.Errorf("features: cos-sin form takes no phases: %w", ErrShape)
		}
		f.scale = math.Sqrt(1 / float64(D))
	default:
		return nil, fmt.Errorf("features: unknown form %v: %w", form, ErrParam)
	}
	return f, nil
}

// InputDim returns d.
func (f *Fourier) InputDim() int { return f.d }

// NumFreq returns the number of frequencies D.
func (f *Fourier) NumFreq() int { return f.nfreq }

// Dim returns the number of output columns: D for [Phase], 2D for [CosSin].
func (f *Fourier) Dim() int {
	if f.form == CosSin {
		return 2 * f.nfreq
	}
	return f.nfreq
}

// Form returns the trigonometric form.
func (f *Fourier) Form() Form { return f.form }

// Scale returns the factor s multiplying every feature.
func (f *Fourier) Scale() float64 { return f.scale }

// Frequencies returns a copy of W (D×d). For SORF the structured matrix is
// materialized.
func (f *Fourier) Frequencies() *mat.Dense {
	if f.sorf != nil {
		return f.sorf.dense(f.nfreq, f.d)
	}
	return mat.NewDense(f.nfreq, f.d, append([]float64(nil), f.w...))
}

// Phases returns a copy of b (nil for [CosSin]).
func (f *Fourier) Phases() []float64 { return append([]float64(nil), f.phase...) }

// Transform returns the feature matrix of X.
func (f *Fourier) Transform(X *mat.Dense) (*mat.Dense, error) { return Transform(f, X) }

// TransformTo writes the features of the rows of X into dst (n×Dim).
func (f *Fourier) TransformTo(dst, X *mat.Dense) error {
	if err := checkShapes(dst, X, f.d, f.Dim()); err != nil {
		return err
	}
	f.transformRaw(dst.RawMatrix(), X.RawMatrix())
	return nil
}

// Approx returns the kernel estimate φ(x)·φ(z) for one pair.
func (f *Fourier) Approx(x, z []float64) float64 {
	X := mat.NewDense(2, f.d, nil)
	X.SetRow(0, x)
	X.SetRow(1, z)
	F, _ := f.Transform(X)
	return mat.Dot(F.RowView(0), F.RowView(1))
}

func checkShapes(dst, X *mat.Dense, d, D int) error {
	if X == nil || dst == nil {
		return fmt.Errorf("features: nil matrix: %w", ErrShape)
	}
	n, c := X.Dims()
	if c != d {
		return fmt.Errorf("features: data has %d columns, the map expects %d: %w", c, d, ErrShape)
	}
	r, dc := dst.Dims()
	if r != n || dc != D {
		return fmt.Errorf("features: destination is %d×%d, want %d×%d: %w", r, dc, n, D, ErrShape)
	}
	return nil
}

// transformRaw computes the features; shapes are already checked.
func (f *Fourier) transformRaw(dst, X blas64.General) {
	n := X.Rows
	D := f.nfreq
	// Projections P = X·Wᵀ go into the first D columns of each dst row.
	if f.sorf != nil {
		f.sorf.project(dst, X, D)
	} else {
		linalg.Dgemm(false, true, n, D, f.d, 1, X.Data, X.Stride, f.w, f.d, 0, dst.Data, dst.Stride)
	}
	s := f.scale
	parallelRows(n, 256, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := dst.Data[i*dst.Stride : i*dst.Stride+f.Dim()]
			if f.form == Phase {
				for j, p := range f.phase {
					row[j] = s * math.Cos(row[j]+p)
				}
				continue
			}
			for j := 0; j < D; j++ {
				sn, cs := math.Sincos(row[j])
				row[j] = s * cs
				row[D+j] = s * sn
			}
		}
	})
}

// parallelRows runs body over [0, n) in chunks of at least grain rows on up
// to GOMAXPROCS goroutines. Chunks are fixed by n, so results that are
// written per row are deterministic.
func parallelRows(n, grain int, body func(lo, hi int)) {
	workers := workers()
	chunks := (n + grain - 1) / grain
	if chunks <= 1 || workers == 1 {
		body(0, n)
		return
	}
	if chunks > workers*4 {
		chunks = workers * 4
	}
	size := (n + chunks - 1) / chunks
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for lo := 0; lo < n; lo += size {
		hi := min(lo+size, n)
		wg.Add(1)
		sem <- struct{}{}
		go func(lo, hi int) {
			defer wg.Done()
			body(lo, hi)
			<-sem
		}(lo, hi)
	}
	wg.Wait()
}

// workers is the number of goroutines parallel loops use.
func workers() int { return max(1, runtime.GOMAXPROCS(0)) }
