package features

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// sorfBlocks is the structured frequency matrix of SORF: ⌈D/p⌉ stacked
// blocks (√p/σ)·H·D₁·H·D₂·H·D₃ acting on inputs zero-padded to p = 2^k ≥ d.
type sorfBlocks struct {
	p     int
	sigma float64
	signs [][3][]float64 // per block: D₁, D₂, D₃ diagonals (±1)
}

// NewSORF draws D structured orthogonal random features (Yu et al. 2016) for
// the Gaussian kernel exp(−‖x−z‖²/(2σ²)) on R^d: W = (√p/σ)·HD₁HD₂HD₃ with
// H the normalized p×p Walsh–Hadamard matrix (p the next power of two ≥ d,
// inputs zero-padded) and D_i diagonal Rademacher matrices; ⌈D/p⌉
// independent blocks are stacked and truncated to D rows. Features are
// computed with a fast Walsh–Hadamard transform, O(D log p) per sample, and
// W is never stored. SORF is nearly unbiased, with a bias that vanishes as d
// grows.
func NewSORF(sigma float64, d, D int, form Form, rng *rand.Rand) (*Fourier, error) {
	if err := checkArgs(Gaussian{Sigma: sigma}, d, D, rng); err != nil {
		return nil, err
	}
	p := 1
	for p < d {
		p *= 2
	}
	nb := (D + p - 1) / p
	s := &sorfBlocks{p: p, sigma: sigma, signs: make([][3][]float64, nb)}
	for b := range s.signs {
		for k := 0; k < 3; k++ {
			v := make([]float64, p)
			for i := range v {
				if rng.Uint64()&1 == 1 {
					v[i] = 1
				} else {
					v[i] = -1
				}
			}
			s.signs[b][k] = v
		}
	}
	f := &Fourier{d: d, nfreq: D, sorf: s, form: form}
	switch form {
	case Phase:
		f.phase = make([]float64, D)
		for j := range f.phase {
			f.phase[j] = 2 * math.Pi * rng.Float64()
		}
		f.scale = math.Sqrt(2 / float64(D))
	case CosSin:
		f.scale = math.Sqrt(1 / float64(D))
	default:
		return nil, fmt.Errorf("features: unknown form: %w", ErrParam)
	}
	return f, nil
}

// fwht applies the unnormalized Walsh–Hadamard transform in place;
// len(v) is a power of two.
func fwht(v []float64) {
	n := len(v)
	for h := 1; h < n; h *= 2 {
		for i := 0; i < n; i += 2 * h {
			a := v[i : i+h]
			b := v[i+h : i+2*h]
			for j := range a {
				x, y := a[j], b[j]
				a[j], b[j] = x+y, x-y
			}
		}
	}
}

// apply computes block b of W times x (zero-padded in v, length p) in place.
func (s *sorfBlocks) apply(b int, v []float64) {
	sg := s.signs[b]
	for k := 2; k >= 0; k-- {
		for i, t := range sg[k] {
			v[i] *= t
		}
		fwht(v)
	}
	// Three normalized transforms (1/√p each) times √p/σ.
	c := 1 / (float64(s.p) * s.sigma)
	for i := range v {
		v[i] *= c
	}
}

// project writes X·Wᵀ (n×D) into the first D columns of the rows of dst.
func (s *sorfBlocks) project(dst, X blas64.General, D int) {
	d := X.Cols
	parallelRows(X.Rows, 64, func(lo, hi int) {
		v := make([]float64, s.p)
		for i := lo; i < hi; i++ {
			x := X.Data[i*X.Stride : i*X.Stride+d]
			out := dst.Data[i*dst.Stride : i*dst.Stride+D]
			for b := range s.signs {
				copy(v, x)
				clear(v[d:])
				s.apply(b, v)
				copy(out[b*s.p:min((b+1)*s.p, D)], v)
			}
		}
	})
}

// dense materializes W (D×d): column k is W·e_k.
func (s *sorfBlocks) dense(D, d int) *mat.Dense {
	I := mat.NewDense(d, d, nil)
	for k := 0; k < d; k++ {
		I.Set(k, k, 1)
	}
	P := mat.NewDense(d, D, nil)
	s.project(P.RawMatrix(), I.RawMatrix(), D)
	W := mat.NewDense(D, d, nil)
	W.Copy(P.T())
	return W
}
