// Package pwl is the piecewise-linear view of ReLU networks (Tao, Li,
// Huang et al., "Piecewise Linear Neural Networks and Deep Learning",
// Nature Reviews Methods Primers 2022): a ReLU MLP is continuous and
// piecewise linear, and on the region of inputs sharing one activation
// pattern it is exactly one affine map. [FromNetwork] converts a trained
// [nn.Network] MLP; [Net.Region] returns the pattern, the affine map and
// the linear inequalities of the region at a point; [Net.Line] counts the
// linear regions crossed by a segment exactly (breakpoints where a unit's
// pre-activation changes sign), and [Net.Slice] labels a 2-D slice of input
// space by activation pattern and draws it as a PNG. The primer's shallow
// model classes are here too: [Canonical] (the canonical representation of
// Chua and Kang), [Hinging] (Breiman's hinging hyperplanes) and [Lattice]
// (max-min of planes), each with exact piece counts along segments. [Run]
// is what "trustml pwl" does with a checkpoint.
//
// Arithmetic is float64 on the network's float32 weights, so the affine
// map equals this package's forward pass up to rounding (1e-9) and the
// network's float32 forward pass up to float32 rounding.
package pwl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/zoo"
)

// Layer is one affine layer y = W x + b, W row-major Out×In.
type Layer struct {
	In, Out int
	W, B    []float64
}

// Net is a ReLU MLP: affine layers with a ReLU after each but the last.
type Net struct {
	Layers []Layer
}

// ErrNotPWL is returned (wrapped) for a network that is not a ReLU MLP.
var ErrNotPWL = errors.New("pwl: not a ReLU MLP")

// Open reads a network as [zoo.OpenNetwork] does (a checkpoint file or an
// embedded model name) and converts it with [FromNetwork].
func Open(spec string) (*Net, error) {
	net, _, err := zoo.OpenNetwork(spec)
	if err != nil {
		return nil, err
	}
	n, err := FromNetwork(net)
	if err != nil {
		return nil, fmt.Errorf("pwl: model %s: %w", spec, err)
	}
	return n, nil
}

// FromNetwork converts net, which must be flatten (optional), then dense
// layers each followed by relu (dropout, the identity at inference, is
// allowed), then a final dense layer: the layout of [nn.MLP].
func FromNetwork(net *nn.Network) (*Net, error) {
	spec := net.Spec()
	params := net.Params()
	var n Net
	pi, in := 0, 1
	for _, d := range spec.InputShape {
		in *= d
	}
	needReLU := false
	for i, l := range spec.Layers {
		switch l.Kind {
		case nn.KindFlatten, nn.KindDropout:
			if l.Kind == nn.KindFlatten && i != 0 {
				return nil, fmt.Errorf("%w: layer %d is a flatten after the first layer", ErrNotPWL, i)
			}
		case nn.KindDense:
			if needReLU {
				return nil, fmt.Errorf("%w: layer %d: two dense layers without a relu between them", ErrNotPWL, i)
			}
			if pi+1 >= len(params) {
				return nil, fmt.Errorf("%w: layer %d: missing parameters", ErrNotPWL, i)
			}
			w, b := params[pi], params[pi+1]
			pi += 2
			if len(w.Shape) != 2 || w.Shape[0] != l.Out || w.Shape[1] != in || len(b.W) != l.Out {
				return nil, fmt.Errorf("%w: layer %d: weight shape %v, want [%d %d]", ErrNotPWL, i, w.Shape, l.Out, in)
			}
			L := Layer{In: in, Out: l.Out, W: make([]float64, len(w.W)), B: make([]float64, l.Out)}
			for j, v := range w.W {
				L.W[j] = float64(v)
			}
			for j, v := range b.W {
				L.B[j] = float64(v)
			}
			n.Layers = append(n.Layers, L)
			in, needReLU = l.Out, true
		case nn.KindReLU:
			if !needReLU {
				return nil, fmt.Errorf("%w: layer %d: relu not after a dense layer", ErrNotPWL, i)
			}
			needReLU = false
		default:
			return nil, fmt.Errorf("%w: layer %d is %q (supported: flatten, dense, relu, dropout)", ErrNotPWL, i, l.Kind)
		}
	}
	if len(n.Layers) == 0 || !needReLU {
		return nil, fmt.Errorf("%w: it must end in a dense layer", ErrNotPWL)
	}
	if sh := spec.InputShape; len(sh) == 3 && sh[0] > 1 {
		// The network sees images as H×W×C; Net takes them as C×H×W.
		C, H, W := sh[0], sh[1], sh[2]
		l := &n.Layers[0]
		w := make([]float64, len(l.W))
		for o := 0; o < l.Out; o++ {
			for c := 0; c < C; c++ {
				for y := 0; y < H*W; y++ {
					w[o*l.In+c*H*W+y] = l.W[o*l.In+y*C+c]
				}
			}
		}
		l.W = w
	}
	return &n, nil
}

// InputDim is the input size.
func (n *Net) InputDim() int { return n.Layers[0].In }

// OutputDim is the output size.
func (n *Net) OutputDim() int { return n.Layers[len(n.Layers)-1].Out }

// Hidden is the number of ReLU units (the length of a [Pattern]).
func (n *Net) Hidden() int {
	h := 0
	for _, l := range n.Layers[:len(n.Layers)-1] {
		h += l.Out
	}
	return h
}

func (l *Layer) apply(dst, x []float64) {
	for o := 0; o < l.Out; o++ {
		s := l.B[o]
		row := l.W[o*l.In : (o+1)*l.In]
		for i, v := range row {
			s += v * x[i]
		}
		dst[o] = s
	}
}

// Forward evaluates the network at x in float64 and returns the outputs
// and the activation pattern (unit on where its pre-activation is > 0).
func (n *Net) Forward(x []float64) ([]float64, Pattern, error) {
	if len(x) != n.InputDim() {
		return nil, nil, fmt.Errorf("pwl: input has %d values, the network takes %d", len(x), n.InputDim())
	}
	p := make(Pattern, 0, n.Hidden())
	h := x
	for li := range n.Layers {
		l := &n.Layers[li]
		z := make([]float64, l.Out)
		l.apply(z, h)
		if li < len(n.Layers)-1 {
			for j, v := range z {
				p = append(p, v > 0)
				if v <= 0 {
					z[j] = 0
				}
			}
		}
		h = z
	}
	return h, p, nil
}

// Pattern is an activation pattern: one bool per hidden unit, layer by
// layer, true where the unit is on.
type Pattern []bool

// String is the pattern as 0s and 1s, layers separated by '|' not kept.
func (p Pattern) String() string {
	var b strings.Builder
	for _, on := range p {
		if on {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return b.String()
}

// Region is a linear region: the set of inputs x with the activation
// pattern P, where Pre·x + PreB has the sign P gives each unit (> 0 on,
// ≤ 0 off), and where the network is exactly f(x) = A·x + C.
type Region struct {
	P Pattern
	// A is row-major OutputDim×InputDim, C has OutputDim values.
	A, C []float64
	// Pre is row-major Hidden×InputDim and PreB has Hidden values: the
	// pre-activation of every hidden unit as an affine function of x on
	// the region.
	Pre, PreB []float64
	in, out   int
}

// Region returns the linear region of the network containing x.
func (n *Net) Region(x []float64) (*Region, error) {
	_, p, err := n.Forward(x)
	if err != nil {
		return nil, err
	}
	return n.RegionOf(p)
}

// RegionOf returns the affine maps of activation pattern p (the region may
// be empty: no input needs to have that pattern).
func (n *Net) RegionOf(p Pattern) (*Region, error) {
	if len(p) != n.Hidden() {
		return nil, fmt.Errorf("pwl: pattern has %d units, the network %d", len(p), n.Hidden())
	}
	d := n.InputDim()
	r := &Region{P: append(Pattern(nil), p...), in: d, out: n.OutputDim()}
	// M (rows×d), c: the current layer's input as an affine map of x.
	M := make([]float64, d*d)
	for i := 0; i < d; i++ {
		M[i*d+i] = 1
	}
	c := make([]float64, d)
	rows, u := d, 0
	for li := range n.Layers {
		l := &n.Layers[li]
		M2, c2 := make([]float64, l.Out*d), make([]float64, l.Out)
		for o := 0; o < l.Out; o++ {
			s := l.B[o]
			dst := M2[o*d : (o+1)*d]
			for k := 0; k < rows; k++ {
				w := l.W[o*l.In+k]
				if w == 0 {
					continue
				}
				s += w * c[k]
				for j, v := range M[k*d : (k+1)*d] {
					dst[j] += w * v
				}
			}
			c2[o] = s
		}
		if li == len(n.Layers)-1 {
			r.A, r.C = M2, c2
			break
		}
		r.Pre, r.PreB = append(r.Pre, M2...), append(r.PreB, c2...)
		for o := 0; o < l.Out; o++ {
			if !p[u+o] {
				clear(M2[o*d : (o+1)*d])
				c2[o] = 0
			}
		}
		u += l.Out
		M, c, rows = M2, c2, l.Out
	}
	return r, nil
}

// Eval returns A·x + C.
func (r *Region) Eval(x []float64) []float64 {
	y := make([]float64, r.out)
	for o := range y {
		s := r.C[o]
		for j, v := range r.A[o*r.in : (o+1)*r.in] {
			s += v * x[j]
		}
		y[o] = s
	}
	return y
}

// Contains reports whether x satisfies the region's inequalities.
func (r *Region) Contains(x []float64) bool {
	for k, on := range r.P {
		s := r.PreB[k]
		for j, v := range r.Pre[k*r.in : (k+1)*r.in] {
			s += v * x[j]
		}
		if (s > 0) != on {
			return false
		}
	}
	return true
}
