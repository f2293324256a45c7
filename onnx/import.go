package onnx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/onnx/internal/onnxpb"
	"github.com/trustml/trustml/zoo"
)

// maxImportBytes bounds the size of a model file read by [Import].
const maxImportBytes = 1 << 30

// maxTensorValues bounds the number of values of one initializer, so a
// hostile header cannot make the importer allocate without bound.
const maxTensorValues = 1 << 28

// nnBNEps is the variance epsilon of nn's batch normalization (PyTorch's
// default); a model's different epsilon is folded into its running variance.
const nnBNEps = 1e-5

// ErrMalformed is returned (wrapped) when the input is not a well-formed ONNX
// model: undecodable protobuf, missing graph, inconsistent tensors.
var ErrMalformed = errors.New("onnx: malformed model")

// UnsupportedOpError reports a node the importer cannot map onto nn's
// layers: its operator type, node name, the model's opset and why.
type UnsupportedOpError struct {
	Op     string // operator type, e.g. "Concat"
	Node   string // node name (or its first output when unnamed)
	Opset  int64  // the model's default-domain opset
	Reason string // what is unsupported, e.g. "group 2"
}

// Error names the node, operator and opset, and what is unsupported.
func (e *UnsupportedOpError) Error() string {
	s := fmt.Sprintf("onnx: node %q: op %s (opset %d) is not supported by the importer (it maps %s)", e.Node, e.Op, e.Opset, strings.Join(impOps, ", "))
	if e.Reason != "" {
		s = fmt.Sprintf("onnx: node %q: op %s (opset %d): %s is not supported by the importer", e.Node, e.Op, e.Opset, e.Reason)
	}
	return s
}

// init lets zoo.OpenNetwork, and so every --model flag, open .onnx files.
func init() { zoo.RegisterFormat(".onnx", ImportFile) }

// ImportFile reads the ONNX model at path with [Import]; the metadata
// also records the file as "onnx_file".
func ImportFile(path string) (*nn.Network, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	net, meta, err := Import(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	meta["onnx_file"] = path
	return net, meta, nil
}

// Import reads an ONNX model and returns it as a network, with metadata
// describing its origin (producer, opset, input and output names, a dropped
// trailing softmax). See the package documentation for the operators it
// maps.
func Import(r io.Reader) (*nn.Network, map[string]string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxImportBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("onnx: reading model: %w", err)
	}
	if len(b) > maxImportBytes {
		return nil, nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, maxImportBytes)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	im, err := newImporter(&m)
	if err != nil {
		return nil, nil, err
	}
	return im.run()
}

// impTensor is a constant: an initializer or the value of a Constant node.
type impTensor struct {
	dims []int
	f    []float64
}

// impLayer is a layer spec with the weights that go with it.
type impLayer struct {
	spec     nn.LayerSpec
	params   [][]float32 // in the order nn declares them
	bufs     [][]float32
	branches [][]impLayer // residual: body, shortcut; concat: the branches
	biasOpen bool         // dense from MatMul or Gemm: a following constant Add joins its bias
}

// impState is the shape of the tensor being followed, in nn's internal
// order (H, W, C or D), and, after flattening an image, the C, H, W it came
// from (until a dense layer consumes it).
type impState struct {
	shape []int
	flat  []int
}

type importer struct {
	m         *onnxpb.ModelProto
	g         *onnxpb.GraphProto
	opset     int64
	consts    map[string]*impTensor
	consumers map[string][]*onnxpb.NodeProto
	input     string
	output    string
	dropped   string
	meta      map[string]string
	forks     int // forks mapped so far, bounded by the node count
}

func newImporter(m *onnxpb.ModelProto) (*importer, error) {
	g := m.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("%w: no graph", ErrMalformed)
	}
	im := &importer{m: m, g: g, consts: map[string]*impTensor{}, consumers: map[string][]*onnxpb.NodeProto{}, meta: map[string]string{}}
	for _, o := range m.GetOpsetImport() {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			im.opset = o.GetVersion()
		}
	}
	if im.opset == 0 {
		return nil, fmt.Errorf("%w: no opset for the default domain", ErrMalformed)
	}
	if im.opset < 7 {
		return nil, fmt.Errorf("onnx: opset %d is older than 7, the oldest the importer reads; convert the model with onnx.version_converter", im.opset)
	}
	for _, t := range g.GetInitializer() {
		c, err := impConst(t)
		if err != nil {
			return nil, err
		}
		im.consts[t.GetName()] = c
	}
	if err := im.chooseOutput(); err != nil {
		return nil, err
	}
	needed := im.needed()
	for _, n := range g.GetNode() {
		if !needed[n] {
			continue // computes only outputs other than the logits
		}
		if d := n.GetDomain(); d != "" && d != "ai.onnx" {
			return nil, im.unsupported(n, "domain "+strconv.Quote(d))
		}
		if n.GetOpType() == "Constant" {
			if len(n.GetOutput()) != 1 {
				return nil, fmt.Errorf("%w: Constant node %q has %d outputs", ErrMalformed, impName(n), len(n.GetOutput()))
			}
			var t *onnxpb.TensorProto
			for _, a := range n.GetAttribute() {
				if a.GetName() == "value" {
					t = a.GetT()
				}
			}
			if t == nil {
				return nil, im.unsupported(n, "a value other than a tensor")
			}
			c, err := impConst(t)
			if err != nil {
				return nil, fmt.Errorf("Constant node %q: %w", impName(n), err)
			}
			im.consts[n.GetOutput()[0]] = c
			continue
		}
		seen := map[string]bool{}
		for _, in := range n.GetInput() {
			if in == "" || im.consts[in] != nil || seen[in] {
				continue
			}
			seen[in] = true
			im.consumers[in] = append(im.consumers[in], n)
		}
	}
	for _, in := range g.GetInput() {
		if im.consts[in.GetName()] == nil {
			if im.input != "" {
				return nil, fmt.Errorf("onnx: the graph has several inputs (%q, %q); trustml models take one", im.input, in.GetName())
			}
			im.input = in.GetName()
		}
	}
	if im.input == "" {
		return nil, fmt.Errorf("%w: the graph has no input", ErrMalformed)
	}
	return im, nil
}

// chooseOutput picks the graph output the network computes: the only one,
// or the one named "logits" (as in models [Export] writes with
// probabilities or features).
func (im *importer) chooseOutput() error {
	var names, others []string
	for _, o := range im.g.GetOutput() {
		names = append(names, o.GetName())
		if o.GetName() == "logits" {
			im.output = "logits"
		} else {
			others = append(others, o.GetName())
		}
	}
	switch {
	case len(names) == 0:
		return fmt.Errorf("%w: the graph has no output", ErrMalformed)
	case len(names) == 1:
		im.output = names[0]
	case im.output == "":
		return fmt.Errorf("onnx: the graph has %d outputs (%s); trustml reads the only output or the one named \"logits\"", len(names), strings.Join(names, ", "))
	default:
		im.meta["onnx_ignored_outputs"] = strings.Join(others, ",")
	}
	return nil
}

// needed returns the nodes the chosen output depends on.
func (im *importer) needed() map[*onnxpb.NodeProto]bool {
	producer := map[string]*onnxpb.NodeProto{}
	for _, n := range im.g.GetNode() {
		for _, o := range n.GetOutput() {
			if o != "" {
				producer[o] = n
			}
		}
	}
	needed := map[*onnxpb.NodeProto]bool{}
	stack := []string{im.output}
	for len(stack) > 0 {
		n := producer[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		if n == nil || needed[n] {
			continue
		}
		needed[n] = true
		stack = append(stack, n.GetInput()...)
	}
	return needed
}

func (im *importer) run() (*nn.Network, map[string]string, error) {
	var in *onnxpb.ValueInfoProto
	for _, v := range im.g.GetInput() {
		if v.GetName() == im.input {
			in = v
		}
	}
	tt := in.GetType().GetTensorType()
	if tt == nil {
		return nil, nil, fmt.Errorf("onnx: input %q is not a tensor", im.input)
	}
	if tt.GetElemType() != int32(onnxpb.TensorProto_FLOAT) {
		return nil, nil, fmt.Errorf("onnx: input %q has element type %s; trustml models take float32", im.input, onnxpb.TensorProto_DataType(tt.GetElemType()))
	}
	dims := tt.GetShape().GetDim()
	if len(dims) != 2 && len(dims) != 4 {
		return nil, nil, fmt.Errorf("onnx: input %q has %d dimensions; trustml models take N×C×H×W or N×D", im.input, len(dims))
	}
	var shape []int
	for i, d := range dims[1:] {
		v := d.GetDimValue()
		if v <= 0 || v > 1<<16 {
			return nil, nil, fmt.Errorf("onnx: input %q dimension %d is %q; it must be a fixed size in [1, 65536]", im.input, i+1, impDim(d))
		}
		shape = append(shape, int(v))
	}
	st := &impState{shape: shape}
	if len(shape) == 3 {
		st.shape = []int{shape[1], shape[2], shape[0]}
	}
	layers, end, join, err := im.walk(im.input, nil, st)
	if err != nil {
		return nil, nil, err
	}
	if join != nil {
		return nil, nil, im.unsupported(join, "a join of tensors that do not fork from one tensor")
	}
	if end != im.output {
		return nil, nil, fmt.Errorf("onnx: the chain from input %q ends at %q, not at the graph output %q", im.input, end, im.output)
	}
	if len(layers) == 0 || layers[len(layers)-1].spec.Kind != nn.KindDense {
		return nil, nil, fmt.Errorf("onnx: the model must end with a dense layer (Gemm or MatMul) giving the logits, optionally followed by Softmax or LogSoftmax")
	}
	classes := layers[len(layers)-1].spec.Out
	name := "onnx"
	if g := im.g.GetName(); g != "" {
		name = "onnx:" + g
	}
	spec := nn.Spec{Name: name, InputShape: shape, NumClasses: classes, Layers: impSpecs(layers)}
	net, err := nn.New(spec, 1)
	if err != nil {
		return nil, nil, fmt.Errorf("onnx: mapped network: %w", err)
	}
	var params, bufs [][]float32
	impCollect(layers, &params, &bufs)
	if len(params) != len(net.Params()) || len(bufs) != len(net.Buffers()) {
		return nil, nil, fmt.Errorf("onnx: internal error: %d/%d weight tensors for %d/%d in the network", len(params), len(bufs), len(net.Params()), len(net.Buffers()))
	}
	for i, p := range net.Params() {
		if len(params[i]) != len(p.W) {
			return nil, nil, fmt.Errorf("onnx: internal error: %s has %d values, the model gives %d", p.Name, len(p.W), len(params[i]))
		}
		copy(p.W, params[i])
	}
	for i, b := range net.Buffers() {
		if len(bufs[i]) != len(b.Data) {
			return nil, nil, fmt.Errorf("onnx: internal error: %s has %d values, the model gives %d", b.Name, len(b.Data), len(bufs[i]))
		}
		copy(b.Data, bufs[i])
	}
	meta := im.meta
	meta["format"] = "onnx"
	meta["onnx_producer"] = strings.TrimSpace(im.m.GetProducerName() + " " + im.m.GetProducerVersion())
	meta["onnx_opset"] = strconv.FormatInt(im.opset, 10)
	meta["onnx_ir_version"] = strconv.FormatInt(im.m.GetIrVersion(), 10)
	meta["onnx_input"] = im.input
	meta["onnx_output"] = im.output
	if im.dropped != "" {
		meta["onnx_dropped_output"] = im.dropped
	}
	return net, meta, nil
}

// walk follows the graph from tensor t (starting with node first when set)
// and returns the layers up to the end of the chain (the graph output, or
// an Add joining t's branch with another, returned as join).
func (im *importer) walk(t string, first *onnxpb.NodeProto, st *impState) (layers []impLayer, end string, join *onnxpb.NodeProto, err error) {
	for steps := 0; ; steps++ {
		if steps > len(im.g.GetNode())+1 {
			return nil, "", nil, fmt.Errorf("%w: the graph has a cycle", ErrMalformed)
		}
		n := first
		first = nil
		if n == nil {
			cs := im.consumers[t]
			switch {
			case len(cs) == 0:
				return layers, t, nil, nil
			case t == im.output:
				return nil, "", nil, fmt.Errorf("onnx: the graph output %q also feeds node %q", t, impName(cs[0]))
			case len(cs) >= 2:
				res, next, err := im.fork(t, cs, st)
				if err != nil {
					return nil, "", nil, err
				}
				layers, t = append(layers, res), next
				continue
			}
			n = cs[0]
		}
		if im.isJoin(n) {
			return layers, t, n, nil
		}
		if err := im.apply(n, t, st, &layers); err != nil {
			return nil, "", nil, err
		}
		t = n.GetOutput()[0]
	}
}

// isJoin reports whether n adds two computed tensors (a residual join) or
// concatenates computed tensors.
func (im *importer) isJoin(n *onnxpb.NodeProto) bool {
	in := n.GetInput()
	if n.GetOpType() != "Add" && n.GetOpType() != "Concat" || len(in) < 2 || n.GetOpType() == "Add" && len(in) != 2 || len(n.GetOutput()) == 0 {
		return false
	}
	return !slices.ContainsFunc(in, func(s string) bool { return im.consts[s] != nil })
}

// fork maps the branches leaving t, which must join in one Add (two
// branches: a residual layer) or Concat (a concat layer), and returns the
// layer with the join's output.
func (im *importer) fork(t string, cs []*onnxpb.NodeProto, st *impState) (impLayer, string, error) {
	if im.forks++; im.forks > len(im.g.GetNode()) {
		return impLayer{}, "", fmt.Errorf("%w: the graph has a cycle", ErrMalformed)
	}
	k := len(cs)
	branches, ends, states := make([][]impLayer, k), make([]string, k), make([]*impState, k)
	var j *onnxpb.NodeProto
	for i, c := range cs {
		states[i] = &impState{shape: slices.Clone(st.shape), flat: st.flat}
		ends[i] = t
		jn := c
		if !im.isJoin(c) {
			ls, end, jj, err := im.walk(t, c, states[i])
			if err != nil {
				return impLayer{}, "", err
			}
			if jj == nil {
				return impLayer{}, "", im.unsupported(c, fmt.Sprintf("a fork at %q whose branches do not join in an Add or Concat", t))
			}
			branches[i], ends[i], jn = ls, end, jj
		}
		if j == nil {
			j = jn
		} else if j != jn {
			return impLayer{}, "", im.unsupported(j, fmt.Sprintf("a fork at %q whose branches join in different nodes (%q, %q)", t, impName(j), impName(jn)))
		}
	}
	in := j.GetInput()
	if len(in) != k {
		return impLayer{}, "", im.unsupported(j, fmt.Sprintf("a join of %d inputs after a fork at %q into %d branches", len(in), t, k))
	}
	order, used := make([]int, k), make([]bool, k)
	for a, name := range in {
		i := -1
		for b := range ends {
			if ends[b] == name && !used[b] {
				i = b
				break
			}
		}
		if i < 0 {
			return impLayer{}, "", im.unsupported(j, fmt.Sprintf("a join of %q with the branches of a fork at %q", name, t))
		}
		order[a], used[i] = i, true
	}
	for _, s := range states {
		if s.flat != nil {
			return impLayer{}, "", im.unsupported(j, "a join of flattened images")
		}
	}
	if j.GetOpType() == "Add" {
		b, s := 0, 1
		if len(branches[1]) > len(branches[0]) {
			b, s = 1, 0
		}
		if !slices.Equal(states[0].shape, states[1].shape) {
			return impLayer{}, "", im.unsupported(j, fmt.Sprintf("adding shapes %v and %v", states[0].shape, states[1].shape))
		}
		st.shape = states[b].shape
		return impLayer{spec: nn.LayerSpec{Kind: nn.KindResidual}, branches: [][]impLayer{branches[b], branches[s]}}, j.GetOutput()[0], nil
	}
	rank := len(st.shape) + 1
	if axis := impAttrsOf(j).int("axis", 1); axis != 1 && axis != int64(1-rank) {
		return impLayer{}, "", im.unsupported(j, fmt.Sprintf("axis %d (concatenation along channels only)", axis))
	}
	first := states[order[0]].shape
	out := slices.Clone(first)
	out[len(out)-1] = 0
	res := impLayer{spec: nn.LayerSpec{Kind: nn.KindConcat}}
	for _, i := range order {
		sh := states[i].shape
		if len(sh) != len(first) || !slices.Equal(sh[:len(sh)-1], first[:len(first)-1]) {
			return impLayer{}, "", im.unsupported(j, fmt.Sprintf("concatenating shapes %v and %v", states[order[0]].nchw(), states[i].nchw()))
		}
		out[len(out)-1] += sh[len(sh)-1]
		res.branches = append(res.branches, branches[i])
	}
	st.shape = out
	return res, j.GetOutput()[0], nil
}

// apply maps node n, whose computed input is t, appending to layers and
// updating st.
func (im *importer) apply(n *onnxpb.NodeProto, t string, st *impState, layers *[]impLayer) error {
	if len(n.GetOutput()) == 0 {
		return fmt.Errorf("%w: node %q has no output", ErrMalformed, impName(n))
	}
	for _, o := range n.GetOutput()[1:] {
		if o != "" && len(im.consumers[o]) > 0 || o == im.output && o != "" {
			return im.unsupported(n, fmt.Sprintf("use of its output %q", o))
		}
	}
	if !slices.Contains(impOps, n.GetOpType()) {
		return im.unsupported(n, "")
	}
	if len(n.GetInput()) == 0 || n.GetInput()[0] != t && !slices.Contains([]string{"Add", "Sub", "Mul", "Div"}, n.GetOpType()) {
		return im.unsupported(n, fmt.Sprintf("this graph shape (its first input is not %q)", t))
	}
	add := func(l impLayer) { *layers = append(*layers, l) }
	switch op := n.GetOpType(); op {
	case "Identity", "Dropout":
		return nil
	case "Relu":
		add(impLayer{spec: nn.LayerSpec{Kind: nn.KindReLU}})
	case "Sigmoid":
		add(impLayer{spec: nn.LayerSpec{Kind: nn.KindSigmoid}})
	case "Tanh":
		add(impLayer{spec: nn.LayerSpec{Kind: nn.KindTanh}})
	case "LeakyRelu":
		a := impAttrsOf(n)
		add(impLayer{spec: nn.LayerSpec{Kind: nn.KindLeakyReLU, Rate: float64(a.float("alpha", 0.01))}})
	case "Softmax", "LogSoftmax":
		if n.GetOutput()[0] != im.output {
			return im.unsupported(n, "a softmax that is not the last node")
		}
		im.dropped = op
	case "Conv":
		return im.conv(n, st, add)
	case "MaxPool", "AveragePool":
		return im.pool(n, st, add)
	case "GlobalAveragePool":
		if len(st.shape) != 3 {
			return im.unsupported(n, fmt.Sprintf("input shape %v (not an image)", st.shape))
		}
		add(impLayer{spec: nn.LayerSpec{Kind: nn.KindGlobalAvg}})
		st.shape = []int{st.shape[2]}
	case "BatchNormalization":
		return im.batchNorm(n, st, add)
	case "Flatten", "Reshape":
		return im.flatten(n, st, add)
	case "Gemm", "MatMul":
		return im.dense(n, st, add)
	case "Add", "Sub", "Mul", "Div":
		return im.arith(n, t, st, layers)
	case "Pad":
		return im.pad(n, st, add)
	case "Concat":
		return im.unsupported(n, "a Concat that is not the join of branches forking from one tensor (constant inputs, say)")
	default:
		return im.unsupported(n, "")
	}
	return nil
}

// impOps lists the operators the importer maps (besides Constant).
var impOps = []string{"Add", "AveragePool", "BatchNormalization", "Concat", "Conv", "Div", "Dropout", "Flatten", "Gemm",
	"GlobalAveragePool", "Identity", "LeakyRelu", "LogSoftmax", "MatMul", "MaxPool", "Mul", "Pad", "Relu",
	"Reshape", "Sigmoid", "Softmax", "Sub", "Tanh"}

func (im *importer) unsupported(n *onnxpb.NodeProto, reason string) error {
	return &UnsupportedOpError{Op: n.GetOpType(), Node: impName(n), Opset: im.opset, Reason: reason}
}

// impSpecs returns the layer specs of ls.
func impSpecs(ls []impLayer) []nn.LayerSpec {
	out := make([]nn.LayerSpec, len(ls))
	for i, l := range ls {
		out[i] = l.spec
		switch l.spec.Kind {
		case nn.KindResidual:
			out[i].Body, out[i].Shortcut = impSpecs(l.branches[0]), impSpecs(l.branches[1])
		case nn.KindConcat:
			for _, b := range l.branches {
				out[i].Branches = append(out[i].Branches, impSpecs(b))
			}
		}
	}
	return out
}

// impCollect lists the weights of ls in the order nn declares them: layer
// by layer, a residual's body before its shortcut, a concat's branches in
// order.
func impCollect(ls []impLayer, params, bufs *[][]float32) {
	for _, l := range ls {
		*params = append(*params, l.params...)
		*bufs = append(*bufs, l.bufs...)
		for _, b := range l.branches {
			impCollect(b, params, bufs)
		}
	}
}

func impName(n *onnxpb.NodeProto) string {
	if n.GetName() != "" {
		return n.GetName()
	}
	if len(n.GetOutput()) > 0 {
		return n.GetOutput()[0]
	}
	return "(unnamed " + n.GetOpType() + ")"
}

func impDim(d *onnxpb.TensorShapeProto_Dimension) string {
	if p := d.GetDimParam(); p != "" {
		return p
	}
	return strconv.FormatInt(d.GetDimValue(), 10)
}

func impF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// ConvertFile imports the ONNX model at src ([ImportFile]) and saves it as a
// trustml checkpoint at dst ([nn.SaveFile]), with the import's metadata.
func ConvertFile(src, dst string) (*nn.Network, map[string]string, error) {
	net, meta, err := ImportFile(src)
	if err != nil {
		return nil, nil, err
	}
	if err := nn.SaveFile(dst, net, meta); err != nil {
		return nil, nil, fmt.Errorf("onnx: %w", err)
	}
	return net, meta, nil
}
