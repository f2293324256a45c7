package onnx

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/onnx/internal/onnxpb"
)

// The mapping of each supported operator onto nn layers: one method of
// importer per operator family.

// constInput returns input i of n, which must be a constant.
func (im *importer) constInput(n *onnxpb.NodeProto, i int, what string) (*impTensor, error) {
	if i >= len(n.GetInput()) || n.GetInput()[i] == "" {
		return nil, fmt.Errorf("%w: node %q (%s) lacks its %s input", ErrMalformed, impName(n), n.GetOpType(), what)
	}
	c := im.consts[n.GetInput()[i]]
	if c == nil {
		return nil, im.unsupported(n, fmt.Sprintf("a computed %s (input %q; it must be an initializer or Constant)", what, n.GetInput()[i]))
	}
	return c, nil
}

func (im *importer) conv(n *onnxpb.NodeProto, st *impState, add func(impLayer)) error {
	if len(st.shape) != 3 {
		return im.unsupported(n, fmt.Sprintf("input shape %v (not an image)", st.shape))
	}
	w, err := im.constInput(n, 1, "weight")
	if err != nil {
		return err
	}
	a := impAttrsOf(n)
	h, wd, c := st.shape[0], st.shape[1], st.shape[2]
	g := a.int("group", 1)
	if g < 1 || g > int64(c) || int64(c)%g != 0 {
		return im.unsupported(n, fmt.Sprintf("group %d for %d input channels", g, c))
	}
	groups, cg := int(g), c/int(g)
	if len(w.dims) != 4 || w.dims[1] != cg || w.dims[2] != w.dims[3] || w.dims[0]%groups != 0 {
		return im.unsupported(n, fmt.Sprintf("weight shape %v for %d input channels in %d groups (square 2-D kernels only)", w.dims, c, groups))
	}
	out, k := w.dims[0], w.dims[2]
	if d := a.ints("dilations"); d != nil && slices.ContainsFunc(d, func(v int64) bool { return v != 1 }) {
		return im.unsupported(n, fmt.Sprintf("dilations %v", d))
	}
	stride, err := im.square(n, a.ints("strides"), "strides")
	if err != nil {
		return err
	}
	pads, err := im.pads(n, a, h, wd, k, stride)
	if err != nil {
		return err
	}
	bias := make([]float32, out)
	if len(n.GetInput()) > 2 && n.GetInput()[2] != "" {
		b, err := im.constInput(n, 2, "bias")
		if err != nil {
			return err
		}
		if len(b.f) != out {
			return fmt.Errorf("%w: node %q: bias of %d values for %d output channels", ErrMalformed, impName(n), len(b.f), out)
		}
		bias = impF32(b.f)
	}
	// ONNX weights are [out, in/groups, kh, kw]; nn's are [out, kh, kw, in].
	wt := make([]float32, len(w.f))
	for o := 0; o < out; o++ {
		for i := 0; i < cg; i++ {
			for y := 0; y < k; y++ {
				for x := 0; x < k; x++ {
					wt[((o*k+y)*k+x)*cg+i] = float32(w.f[((o*cg+i)*k+y)*k+x])
				}
			}
		}
	}
	p := 0
	if pads[0] == pads[1] && pads[1] == pads[2] && pads[2] == pads[3] {
		p = pads[0]
	} else {
		add(impLayer{spec: nn.LayerSpec{Kind: nn.KindPad, Pads: pads}})
	}
	h, wd = h+pads[0]+pads[2]-2*p, wd+pads[1]+pads[3]-2*p
	st.shape = []int{(h+2*p-k)/stride + 1, (wd+2*p-k)/stride + 1, out}
	spec := nn.LayerSpec{Kind: nn.KindConv, Out: out, Kernel: k, Stride: stride, Pad: p}
	if groups == 1 {
		add(impLayer{spec: spec, params: [][]float32{wt, bias}})
		return nil
	}
	// A grouped convolution is one convolution per group, each on its
	// slice of the input channels, concatenated.
	og, per := out/groups, out/groups*k*k*cg
	spec.Out = og
	res := impLayer{spec: nn.LayerSpec{Kind: nn.KindConcat}}
	for i := 0; i < groups; i++ {
		res.branches = append(res.branches, []impLayer{
			{spec: nn.LayerSpec{Kind: nn.KindSlice, Channels: []int{i * cg, (i + 1) * cg}}},
			{spec: spec, params: [][]float32{wt[i*per : (i+1)*per], bias[i*og : (i+1)*og]}},
		})
	}
	add(res)
	return nil
}

// square returns the single value of a 2-D attribute with equal entries
// (default 1).
func (im *importer) square(n *onnxpb.NodeProto, v []int64, what string) (int, error) {
	if v == nil {
		return 1, nil
	}
	if len(v) != 2 || v[0] != v[1] || v[0] < 1 || v[0] > 1<<16 {
		return 0, im.unsupported(n, fmt.Sprintf("%s %v (equal 2-D values only)", what, v))
	}
	return int(v[0]), nil
}

// pads returns the padding (top, left, bottom, right) of a convolution or
// pooling node, which must leave no input row or column unused.
func (im *importer) pads(n *onnxpb.NodeProto, a impAttrs, h, w, k, stride int) ([]int, error) {
	switch ap := a.str("auto_pad", "NOTSET"); ap {
	case "NOTSET", "VALID", "":
	default:
		return nil, im.unsupported(n, "auto_pad "+ap)
	}
	p := a.ints("pads")
	if p == nil {
		p = make([]int64, 4)
	}
	if len(p) != 4 {
		return nil, fmt.Errorf("%w: node %q: pads %v (want 4 values for a 2-D op)", ErrMalformed, impName(n), p)
	}
	// ONNX order: begins (H, W), then ends (H, W).
	out := []int{int(p[0]), int(p[1]), int(p[2]), int(p[3])}
	for _, v := range out {
		if v < 0 || v >= k {
			return nil, im.unsupported(n, fmt.Sprintf("pads %v with kernel %d (pads in [0, kernel) only)", p, k))
		}
	}
	if h+out[0]+out[2] < k || w+out[1]+out[3] < k {
		return nil, fmt.Errorf("onnx: node %q: kernel %d larger than the padded %dx%d input", impName(n), k, h+out[0]+out[2], w+out[1]+out[3])
	}
	if a.int("ceil_mode", 0) != 0 && ((h+out[0]+out[2]-k)%stride != 0 || (w+out[1]+out[3]-k)%stride != 0) {
		return nil, im.unsupported(n, "ceil_mode 1 with a partial last window")
	}
	return []int{out[0], out[1], out[2], out[3]}, nil
}

func (im *importer) pool(n *onnxpb.NodeProto, st *impState, add func(impLayer)) error {
	if len(st.shape) != 3 {
		return im.unsupported(n, fmt.Sprintf("input shape %v (not an image)", st.shape))
	}
	a := impAttrsOf(n)
	k, err := im.square(n, a.ints("kernel_shape"), "kernel_shape")
	if err != nil || a.ints("kernel_shape") == nil {
		return im.unsupported(n, fmt.Sprintf("kernel_shape %v", a.ints("kernel_shape")))
	}
	stride, err := im.square(n, a.ints("strides"), "strides")
	if err != nil {
		return err
	}
	if d := a.ints("dilations"); d != nil && slices.ContainsFunc(d, func(v int64) bool { return v != 1 }) {
		return im.unsupported(n, fmt.Sprintf("dilations %v", d))
	}
	if a.int("storage_order", 0) != 0 {
		return im.unsupported(n, "storage_order 1")
	}
	h, w, c := st.shape[0], st.shape[1], st.shape[2]
	pads, err := im.pads(n, a, h, w, k, stride)
	if err != nil {
		return err
	}
	kind := nn.KindMaxPool
	if n.GetOpType() == "AveragePool" {
		kind = nn.KindAvgPool
	}
	if slices.ContainsFunc(pads, func(v int) bool { return v != 0 }) {
		fill := "lowest" // max pooling ignores the padding
		if kind == nn.KindAvgPool {
			if a.int("count_include_pad", 0) == 0 {
				return im.unsupported(n, fmt.Sprintf("pads %v with count_include_pad 0 (padded average pooling counts the zeros)", pads))
			}
			fill = ""
		}
		add(impLayer{spec: nn.LayerSpec{Kind: nn.KindPad, Pads: pads, Fill: fill}})
		h, w = h+pads[0]+pads[2], w+pads[1]+pads[3]
	}
	add(impLayer{spec: nn.LayerSpec{Kind: kind, Kernel: k, Stride: stride}})
	st.shape = []int{(h-k)/stride + 1, (w-k)/stride + 1, c}
	return nil
}

func (im *importer) pad(n *onnxpb.NodeProto, st *impState, add func(impLayer)) error {
	a := impAttrsOf(n)
	if m := a.str("mode", "constant"); m != "constant" {
		return im.unsupported(n, "mode "+m)
	}
	var p []int64
	if im.opset < 11 {
		p = a.ints("pads")
		if a.float("value", 0) != 0 {
			return im.unsupported(n, "a non-zero padding value")
		}
	} else {
		c, err := im.constInput(n, 1, "pads")
		if err != nil {
			return err
		}
		for _, v := range c.f {
			p = append(p, int64(v))
		}
		if len(n.GetInput()) > 2 && n.GetInput()[2] != "" {
			v, err := im.constInput(n, 2, "constant_value")
			if err != nil {
				return err
			}
			if len(v.f) != 1 || v.f[0] != 0 {
				return im.unsupported(n, "a non-zero padding value")
			}
		}
		if len(n.GetInput()) > 3 && n.GetInput()[3] != "" {
			return im.unsupported(n, "the axes input")
		}
	}
	if len(st.shape) != 3 || len(p) != 8 {
		return im.unsupported(n, fmt.Sprintf("pads %v on shape %v (4-D images only)", p, st.shape))
	}
	if p[0] != 0 || p[1] != 0 || p[4] != 0 || p[5] != 0 {
		return im.unsupported(n, fmt.Sprintf("pads %v on the batch or channel axis", p))
	}
	for _, v := range p {
		if v < 0 || v > int64(max(st.shape[0], st.shape[1])) {
			return im.unsupported(n, fmt.Sprintf("pads %v on a %dx%d image (pads in [0, image size] only)", p, st.shape[0], st.shape[1]))
		}
	}
	pads := []int{int(p[2]), int(p[3]), int(p[6]), int(p[7])}
	if pads[0]+pads[1]+pads[2]+pads[3] == 0 {
		return nil
	}
	add(impLayer{spec: nn.LayerSpec{Kind: nn.KindPad, Pads: pads}})
	st.shape = []int{st.shape[0] + pads[0] + pads[2], st.shape[1] + pads[1] + pads[3], st.shape[2]}
	return nil
}

func (im *importer) batchNorm(n *onnxpb.NodeProto, st *impState, add func(impLayer)) error {
	a := impAttrsOf(n)
	if a.int("training_mode", 0) != 0 {
		return im.unsupported(n, "training_mode 1")
	}
	if len(n.GetOutput()) > 1 {
		for _, o := range n.GetOutput()[1:] {
			if o != "" {
				return im.unsupported(n, "the training outputs (running statistics)")
			}
		}
	}
	c := st.shape[len(st.shape)-1]
	var v [4][]float64
	for i, what := range []string{"scale", "bias", "mean", "var"} {
		t, err := im.constInput(n, i+1, what)
		if err != nil {
			return err
		}
		if len(t.f) != c {
			return fmt.Errorf("%w: node %q: %s of %d values for %d channels", ErrMalformed, impName(n), what, len(t.f), c)
		}
		v[i] = t.f
	}
	eps := float64(a.float("epsilon", 1e-5))
	vars := make([]float64, c)
	for j := range vars {
		vars[j] = max(v[3][j]+eps-nnBNEps, 0)
	}
	if eps != float64(float32(nnBNEps)) {
		im.meta["onnx_bn_epsilon"] = strconv.FormatFloat(eps, 'g', -1, 32)
	}
	perm := st.perm()
	add(impLayer{spec: nn.LayerSpec{Kind: nn.KindBatchNorm},
		params: [][]float32{perm(v[0]), perm(v[1])}, bufs: [][]float32{perm(v[2]), perm(vars)}})
	return nil
}

// perm returns a function that reorders a per-feature vector in ONNX order
// into nn's order: from C, H, W to H, W, C after a flattened image, the
// identity otherwise.
func (st *impState) perm() func([]float64) []float32 {
	flat := st.flat
	return func(v []float64) []float32 {
		out := make([]float32, len(v))
		if flat == nil {
			for i, x := range v {
				out[i] = float32(x)
			}
			return out
		}
		c, h, w := flat[0], flat[1], flat[2]
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					out[(y*w+x)*c+ch] = float32(v[(ch*h+y)*w+x])
				}
			}
		}
		return out
	}
}

func (im *importer) flatten(n *onnxpb.NodeProto, st *impState, add func(impLayer)) error {
	size := 1
	for _, d := range st.shape {
		size *= d
	}
	if n.GetOpType() == "Flatten" {
		if ax := impAttrsOf(n).int("axis", 1); ax != 1 {
			return im.unsupported(n, fmt.Sprintf("axis %d (only 1: batch × features)", ax))
		}
	} else {
		s, err := im.constInput(n, 1, "shape")
		if err != nil {
			return err
		}
		ok := len(s.f) == 2 && (s.f[0] == 0 || s.f[0] == -1) && (s.f[1] == float64(size) || s.f[1] == -1 && s.f[0] == 0)
		if !ok {
			return im.unsupported(n, fmt.Sprintf("shape %v (only a flattening to (batch, %d))", s.f, size))
		}
	}
	if len(st.shape) == 3 {
		add(impLayer{spec: nn.LayerSpec{Kind: nn.KindFlatten}})
		if c := st.shape[2]; c > 1 && st.shape[0]*st.shape[1] > 1 {
			st.flat = []int{c, st.shape[0], st.shape[1]}
		}
		st.shape = []int{size}
	}
	return nil
}

func (im *importer) dense(n *onnxpb.NodeProto, st *impState, add func(impLayer)) error {
	if len(st.shape) != 1 {
		return im.unsupported(n, fmt.Sprintf("input shape %v (flatten images first)", st.shape))
	}
	in := st.shape[0]
	w, err := im.constInput(n, 1, "weight")
	if err != nil {
		return err
	}
	a := impAttrsOf(n)
	transB := n.GetOpType() == "Gemm" && a.int("transB", 0) != 0
	if n.GetOpType() == "Gemm" && a.int("transA", 0) != 0 {
		return im.unsupported(n, "transA 1")
	}
	if len(w.dims) != 2 {
		return im.unsupported(n, fmt.Sprintf("weight shape %v (2-D only)", w.dims))
	}
	out := w.dims[1]
	if transB {
		out = w.dims[0]
	}
	if w.dims[0]*w.dims[1] != in*out || out < 1 {
		return fmt.Errorf("onnx: node %q: weight shape %v does not fit %d inputs", impName(n), w.dims, in)
	}
	alpha, beta := 1.0, 1.0
	if n.GetOpType() == "Gemm" {
		alpha, beta = float64(a.float("alpha", 1)), float64(a.float("beta", 1))
	}
	// nn's dense weight is [out, in] with inputs in nn's order.
	perm := st.perm()
	wt := make([]float32, 0, in*out)
	row := make([]float64, in)
	for o := 0; o < out; o++ {
		for i := 0; i < in; i++ {
			if transB {
				row[i] = alpha * w.f[o*in+i]
			} else {
				row[i] = alpha * w.f[i*out+o]
			}
		}
		wt = append(wt, perm(row)...)
	}
	bias := make([]float32, out)
	if n.GetOpType() == "Gemm" && len(n.GetInput()) > 2 && n.GetInput()[2] != "" {
		b, err := im.constInput(n, 2, "bias")
		if err != nil {
			return err
		}
		switch len(b.f) {
		case out:
			for i := range bias {
				bias[i] = float32(beta * b.f[i])
			}
		case 1:
			for i := range bias {
				bias[i] = float32(beta * b.f[0])
			}
		default:
			return im.unsupported(n, fmt.Sprintf("bias shape %v for %d outputs", b.dims, out))
		}
	}
	st.shape, st.flat = []int{out}, nil
	add(impLayer{spec: nn.LayerSpec{Kind: nn.KindDense, Out: out}, params: [][]float32{wt, bias}, biasOpen: true})
	return nil
}

// arith maps Add, Sub, Mul and Div by a constant to an affine layer (or a
// dense layer's bias).
func (im *importer) arith(n *onnxpb.NodeProto, t string, st *impState, layers *[]impLayer) error {
	op, in := n.GetOpType(), n.GetInput()
	if len(in) != 2 {
		return fmt.Errorf("%w: node %q (%s) has %d inputs, want 2", ErrMalformed, impName(n), op, len(in))
	}
	ci := 1
	if in[1] == t {
		ci = 0
	}
	if in[1-ci] != t {
		return im.unsupported(n, fmt.Sprintf("this graph shape (neither input is %q)", t))
	}
	c := im.consts[in[ci]]
	if c == nil {
		return im.unsupported(n, "two computed inputs outside a residual block")
	}
	ch := st.shape[len(st.shape)-1]
	// The constant must broadcast per channel (image: [C,1,1]) or per
	// feature (vector: [D]), or be a scalar.
	dims := c.dims
	for len(dims) > 0 && dims[0] == 1 {
		dims = dims[1:]
	}
	var vals []float64
	switch {
	case len(c.f) == 1:
		vals = slices.Repeat(c.f[:1], ch)
	case len(st.shape) == 3 && len(dims) == 3 && dims[0] == ch && dims[1] == 1 && dims[2] == 1,
		len(st.shape) == 1 && len(dims) == 1 && dims[0] == ch:
		vals = c.f
	default:
		return im.unsupported(n, fmt.Sprintf("a constant of shape %v on a tensor of shape %v (only scalars and per-channel constants)", c.dims, st.nchw()))
	}
	scale, shift := make([]float64, ch), make([]float64, ch)
	for j, v := range vals {
		switch {
		case op == "Add":
			scale[j], shift[j] = 1, v
		case op == "Sub" && ci == 1:
			scale[j], shift[j] = 1, -v
		case op == "Sub":
			scale[j], shift[j] = -1, v
		case op == "Mul":
			scale[j] = v
		case op == "Div" && ci == 1:
			if v == 0 {
				return im.unsupported(n, "division by zero")
			}
			scale[j] = 1 / v
		default:
			return im.unsupported(n, "division by a computed tensor")
		}
	}
	perm := st.perm()
	sc, sh := perm(scale), perm(shift)
	if k := len(*layers); k > 0 {
		last := &(*layers)[k-1]
		if last.spec.Kind == nn.KindDense && last.biasOpen && (op == "Add" || op == "Sub" && ci == 1) {
			for j := range sh {
				last.params[1][j] += sh[j]
			}
			return nil
		}
		if last.spec.Kind == nn.KindAffine {
			for j := range sc {
				last.spec.Shift[j] = last.spec.Shift[j]*sc[j] + sh[j]
				last.spec.Scale[j] *= sc[j]
			}
			return nil
		}
	}
	*layers = append(*layers, impLayer{spec: nn.LayerSpec{Kind: nn.KindAffine, Scale: sc, Shift: sh}})
	return nil
}

// nchw is the shape in ONNX order, for messages.
func (st *impState) nchw() []int {
	if len(st.shape) == 3 {
		return []int{st.shape[2], st.shape[0], st.shape[1]}
	}
	return st.shape
}
