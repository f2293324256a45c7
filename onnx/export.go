package onnx

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/nn"
	pb "github.com/trustml/trustml/onnx/internal/onnxpb"
)

// Versions [Export] writes: the ai.onnx operator set and the ONNX IR version
// that the ONNX version table pairs with it (onnx 1.8; every later checker,
// onnx 1.12's included, accepts it).
const (
	ExportOpset     = 13
	ExportIRVersion = 7
)

// ExportOptions configures [Export]. The zero value exports the logits only,
// with the input named "input".
type ExportOptions struct {
	// InputName names the graph input (default "input"): float32, NCHW
	// [N, C, H, W] for image models and [N, D] for vector models, N dynamic.
	InputName string
	// Probabilities adds the output "probabilities", the softmax of the
	// logits.
	Probabilities bool
	// Features adds the output "features", [N, F]: the penultimate feature
	// vector (the input of the last dense layer) in the order of
	// [nn.Network.Features], so detectors fitted on trustml's features apply
	// to a served model's.
	Features bool
	// Metadata is stored in the model's metadata_props, sorted by key (a
	// checkpoint's training command, data and metrics, say). The key
	// "trustml.spec" is always set to the network's architecture as JSON.
	Metadata map[string]string
}

// SpecMetadataKey is the metadata_props key under which [Export] stores the
// exported network's [nn.Spec] as JSON.
const SpecMetadataKey = "trustml.spec"

// Export writes net as an ONNX model (opset [ExportOpset], IR version
// [ExportIRVersion]) to w, in inference form: batch norm uses the running
// statistics, dropout disappears. The graph has one input (see
// [ExportOptions.InputName]) with a dynamic batch dimension and the output
// "logits" [N, K], optionally followed by "probabilities" and "features".
//
// trustml keeps activations in NHWC order; the graph is plain NCHW ONNX: the
// convolution weights are transposed to [out, in, kh, kw], and the columns of
// a dense layer (and the statistics of a batch norm) that follow a flatten are
// permuted so that they read ONNX's flatten order. Only where a flattened
// image must itself be in trustml's order (it is the features output, or a
// residual adds it to a vector in that order) a Transpose to NHWC precedes
// the Flatten. The bytes depend on the network and the options only, so
// exporting twice gives the same file.
func Export(w io.Writer, net *nn.Network, opts ExportOptions) error {
	b, err := expMarshal(net, opts)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("onnx: writing the model: %w", err)
	}
	return nil
}

// ExportFile writes net to path as [Export] does, atomically: a reader sees
// the old file or the complete new one.
func ExportFile(path string, net *nn.Network, opts ExportOptions) error {
	b, err := expMarshal(net, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteFile(path, b, 0o644)
}

// ExportSignature describes the interface of the graph [Export] writes for
// net and opts, as a server's model configuration needs it, for example
//
//	input "input" float32 [N 1 28 28] (NCHW); outputs logits [N 10], features [N 128]
func ExportSignature(net *nn.Network, opts ExportOptions) string {
	if net == nil {
		return "no network"
	}
	if opts.InputName == "" {
		opts.InputName = "input"
	}
	in := net.InputShape()
	layout := map[bool]string{true: " (NCHW)", false: ""}[len(in) == 3]
	s := fmt.Sprintf("input %q float32 %s%s; outputs logits [N %d]", opts.InputName, expShapeString(in), layout, net.NumClasses())
	if opts.Probabilities {
		s += fmt.Sprintf(", probabilities [N %d]", net.NumClasses())
	}
	if opts.Features {
		s += fmt.Sprintf(", features [N %d]", net.FeatureDim())
	}
	return s
}

// expMarshal builds the model and encodes it deterministically.
func expMarshal(net *nn.Network, opts ExportOptions) ([]byte, error) {
	m, err := expModel(net, opts)
	if err != nil {
		return nil, err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: encoding the model: %w", err)
	}
	return b, nil
}

// expValue is a tensor of the graph being built. Shape is per sample in
// trustml's internal order (H, W, C or D); the ONNX tensor is [N, C, H, W]
// or [N, D]. For a vector made by flattening an image, perm maps ONNX's
// element order to trustml's: ONNX element i is trustml's element perm[i]
// (nil when the orders agree), and from names the Flatten that made it.
type expValue struct {
	name  string
	shape []int
	perm  []int
	from  string
}

// expGraph accumulates the nodes and initializers of a graph.
type expGraph struct {
	nodes  []*pb.NodeProto
	inits  []*pb.TensorProto
	params map[string]*nn.Param
	bufs   map[string]*nn.Buffer
	// ordered lists the flattens whose vectors must be in trustml's order
	// (they feed the features output or meet a vector in the other order
	// in a residual); they transpose to NHWC before flattening. missing
	// collects those found lacking during a build.
	ordered, missing map[string]bool
}

func expModel(net *nn.Network, opts ExportOptions) (*pb.ModelProto, error) {
	if net == nil {
		return nil, errors.New("onnx: export of a nil network")
	}
	spec := net.Spec()
	if opts.InputName == "" {
		opts.InputName = "input"
	}
	if slices.Contains([]string{"logits", "probabilities", "features"}, opts.InputName) || strings.HasPrefix(opts.InputName, expPrefix) {
		return nil, fmt.Errorf("onnx: input name %q is taken (by an output, or the %s… names of the layers)", opts.InputName, expPrefix)
	}
	// Build until no flatten lacks trustml's order; each round orders at
	// least one more flatten, so this ends.
	ordered := map[string]bool{}
	var g *expGraph
	var outputs []*pb.ValueInfoProto
	for {
		g = &expGraph{params: map[string]*nn.Param{}, bufs: map[string]*nn.Buffer{}, ordered: ordered, missing: map[string]bool{}}
		var err error
		if outputs, err = g.build(spec, net, opts); err != nil {
			return nil, err
		}
		if len(g.missing) == 0 {
			break
		}
		for f := range g.missing {
			if ordered[f] {
				return nil, fmt.Errorf("onnx: internal error: flatten %s still out of order", f)
			}
			ordered[f] = true
		}
	}
	onnxIn := spec.InputShape
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("onnx: encoding the architecture: %w", err)
	}
	meta := map[string]string{}
	for k, v := range opts.Metadata {
		meta[k] = v
	}
	meta[SpecMetadataKey] = string(specJSON)
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var props []*pb.StringStringEntryProto
	for _, k := range keys {
		props = append(props, &pb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(meta[k])})
	}
	return &pb.ModelProto{
		IrVersion:    proto.Int64(ExportIRVersion),
		OpsetImport:  []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(ExportOpset)}},
		ProducerName: proto.String("trustml"),
		DocString:    proto.String(fmt.Sprintf("trustml network %q: %s", spec.Name, ExportSignature(net, opts))),
		Graph: &pb.GraphProto{
			Name:        proto.String(expGraphName(spec.Name)),
			Node:        g.nodes,
			Initializer: g.inits,
			Input:       []*pb.ValueInfoProto{expValueInfo(opts.InputName, append([]int{-1}, onnxIn...)...)},
			Output:      outputs,
		},
		MetadataProps: props,
	}, nil
}

// build emits the graph of net and returns its outputs.
func (g *expGraph) build(spec nn.Spec, net *nn.Network, opts ExportOptions) ([]*pb.ValueInfoProto, error) {
	for _, p := range net.Params() {
		g.params[p.Name] = p
	}
	for _, b := range net.Buffers() {
		g.bufs[b.Name] = b
	}
	in := spec.InputShape
	x := expValue{name: opts.InputName, shape: in}
	if len(in) == 3 {
		x.shape = []int{in[1], in[2], in[0]}
	}
	last := len(spec.Layers) - 1
	x, err := g.seq(spec.Layers[:last], x, expPrefix)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	head := spec.Layers[last]
	prefix := fmt.Sprintf("%s%d.", expPrefix, last)
	if len(x.shape) == 3 {
		x = g.flatten(x, prefix+"flatten")
	}
	outputs := []*pb.ValueInfoProto{expValueInfo("logits", -1, spec.NumClasses)}
	// The head's Gemm writes "logits" directly.
	if _, err := g.dense(head, x, prefix, "logits"); err != nil {
		return nil, fmt.Errorf("onnx: layer %d (dense): %w", last, err)
	}
	if opts.Probabilities {
		g.node("Softmax", "probabilities", []string{"logits"}, []string{"probabilities"}, expAttrInt("axis", 1))
		outputs = append(outputs, expValueInfo("probabilities", -1, spec.NumClasses))
	}
	if opts.Features {
		g.needOrder(x)
		g.node("Identity", "features", []string{x.name}, []string{"features"})
		outputs = append(outputs, expValueInfo("features", -1, x.shape[0]))
	}
	return outputs, nil
}

// needOrder records that x must be in trustml's order.
func (g *expGraph) needOrder(x expValue) {
	if x.perm != nil {
		g.missing[x.from] = true
	}
}

func expGraphName(name string) string {
	if name == "" {
		return "trustml"
	}
	return name
}

func expShapeString(s []int) string {
	out := "[N"
	for _, d := range s {
		out += fmt.Sprintf(" %d", d)
	}
	return out + "]"
}

// seq emits the layers ls applied to x; prefix is the path of ls in the
// network (the prefix of its parameter names).
func (g *expGraph) seq(ls []nn.LayerSpec, x expValue, prefix string) (expValue, error) {
	for i, l := range ls {
		p := fmt.Sprintf("%s%d.", prefix, i)
		y, err := g.layer(l, x, p)
		if err != nil {
			return y, fmt.Errorf("layer %s (%s, input shape %v): %w", strings.TrimPrefix(p[:len(p)-1], expPrefix), l.Kind, x.shape, err)
		}
		x = y
	}
	return x, nil
}

// layer emits one layer; its nodes and values are named by path (the layer's
// prefix without the trailing dot).
func (g *expGraph) layer(l nn.LayerSpec, x expValue, prefix string) (expValue, error) {
	path := prefix[:len(prefix)-1]
	switch l.Kind {
	case nn.KindDense:
		if len(x.shape) == 3 {
			x = g.flatten(x, path+".flatten")
		}
		return g.dense(l, x, prefix, path)
	case nn.KindConv:
		return g.conv(l, x, prefix, path)
	case nn.KindMaxPool, nn.KindAvgPool:
		if len(x.shape) != 3 {
			return x, errors.New("pooling needs an image input")
		}
		stride := l.Stride
		if stride == 0 {
			stride = l.Kernel
		}
		if l.Kernel <= 0 || stride <= 0 || l.Kernel > x.shape[0] || l.Kernel > x.shape[1] {
			return x, fmt.Errorf("pooling window %d, stride %d do not fit the input", l.Kernel, stride)
		}
		op := map[bool]string{true: "MaxPool", false: "AveragePool"}[l.Kind == nn.KindMaxPool]
		k, s := int64(l.Kernel), int64(stride)
		g.node(op, path, []string{x.name}, []string{path},
			expAttrInts("kernel_shape", k, k), expAttrInts("strides", s, s))
		h, w := (x.shape[0]-l.Kernel)/stride+1, (x.shape[1]-l.Kernel)/stride+1
		return expValue{name: path, shape: []int{h, w, x.shape[2]}}, nil
	case nn.KindGlobalAvg:
		if len(x.shape) != 3 {
			return x, errors.New("global average pooling needs an image input")
		}
		g.node("GlobalAveragePool", path, []string{x.name}, []string{path + ".pool"})
		g.node("Flatten", path+".flatten", []string{path + ".pool"}, []string{path}, expAttrInt("axis", 1))
		return expValue{name: path, shape: []int{x.shape[2]}}, nil
	case nn.KindBatchNorm:
		return g.batchNorm(x, prefix, path)
	case nn.KindReLU:
		g.node("Relu", path, []string{x.name}, []string{path})
		return expValue{name: path, shape: x.shape, perm: x.perm, from: x.from}, nil
	case nn.KindDropout:
		return x, nil // the identity at inference
	case nn.KindFlatten:
		if len(x.shape) == 3 {
			return g.flatten(x, path), nil
		}
		return x, nil
	case nn.KindResidual:
		body, err := g.seq(l.Body, x, prefix+"body.")
		if err != nil {
			return x, err
		}
		short, err := g.seq(l.Shortcut, x, prefix+"shortcut.")
		if err != nil {
			return x, err
		}
		if !slices.Equal(body.shape, short.shape) {
			return x, fmt.Errorf("residual body output %v does not match shortcut output %v", body.shape, short.shape)
		}
		if !slices.Equal(body.perm, short.perm) {
			g.needOrder(body)
			g.needOrder(short)
		}
		g.node("Add", path, []string{body.name, short.name}, []string{path})
		return expValue{name: path, shape: body.shape, perm: body.perm, from: body.from}, nil
	}
	return x, fmt.Errorf("layer kind %q has no ONNX form", l.Kind)
}

// flatten emits Flatten on an image value. The vector it makes is in
// ONNX's C, H, W order, which perm records, unless the flatten is one that
// must give trustml's order: then a Transpose to N, H, W, C comes first.
func (g *expGraph) flatten(x expValue, name string) expValue {
	h, w, c := x.shape[0], x.shape[1], x.shape[2]
	v := expValue{name: name, shape: []int{h * w * c}, from: name}
	if c == 1 || h*w == 1 {
		g.node("Flatten", name, []string{x.name}, []string{name}, expAttrInt("axis", 1))
		return v
	}
	if g.ordered[name] {
		g.node("Transpose", name+".nhwc", []string{x.name}, []string{name + ".nhwc"}, expAttrInts("perm", 0, 2, 3, 1))
		g.node("Flatten", name, []string{name + ".nhwc"}, []string{name}, expAttrInt("axis", 1))
		return v
	}
	g.node("Flatten", name, []string{x.name}, []string{name}, expAttrInt("axis", 1))
	v.perm = make([]int, h*w*c)
	for ch := 0; ch < c; ch++ {
		for p := 0; p < h*w; p++ {
			v.perm[ch*h*w+p] = p*c + ch
		}
	}
	return v
}

// expPrefix starts the names of the layers' values and initializers:
// "layers.3.body.0.weight" is the network's parameter "3.body.0.weight".
const expPrefix = "layers."

// param returns the trainable tensor whose initializer is name, checking
// its number of values.
func (g *expGraph) param(name string, size int) ([]float32, error) {
	name = strings.TrimPrefix(name, expPrefix)
	p, ok := g.params[name]
	if !ok || len(p.W) != size {
		return nil, fmt.Errorf("network has no parameter %q of %d values", name, size)
	}
	return p.W, nil
}

func (g *expGraph) buffer(name string, size int) ([]float32, error) {
	name = strings.TrimPrefix(name, expPrefix)
	b, ok := g.bufs[name]
	if !ok || len(b.Data) != size {
		return nil, fmt.Errorf("network has no buffer %q of %d values", name, size)
	}
	return b.Data, nil
}

// dense emits Gemm(x, W, b) with transB, W's columns permuted to x's order.
func (g *expGraph) dense(l nn.LayerSpec, x expValue, prefix, out string) (expValue, error) {
	if len(x.shape) != 1 {
		return x, fmt.Errorf("dense layer on shape %v", x.shape)
	}
	in := x.shape[0]
	w, err := g.param(prefix+"weight", l.Out*in)
	if err != nil {
		return x, err
	}
	b, err := g.param(prefix+"bias", l.Out)
	if err != nil {
		return x, err
	}
	if x.perm != nil {
		pw := make([]float32, len(w))
		for o := 0; o < l.Out; o++ {
			for i, j := range x.perm {
				pw[o*in+i] = w[o*in+j]
			}
		}
		w = pw
	}
	g.init(prefix+"weight", w, l.Out, in)
	g.init(prefix+"bias", b, l.Out)
	g.node("Gemm", out, []string{x.name, prefix + "weight", prefix + "bias"}, []string{out}, expAttrInt("transB", 1))
	return expValue{name: out, shape: []int{l.Out}}, nil
}

// conv emits Conv with the weights transposed from [out, kh, kw, in] to
// [out, in, kh, kw].
func (g *expGraph) conv(l nn.LayerSpec, x expValue, prefix, out string) (expValue, error) {
	if len(x.shape) != 3 {
		return x, errors.New("convolution needs an image input")
	}
	h, wd, c := x.shape[0], x.shape[1], x.shape[2]
	k, s, pad := l.Kernel, max(l.Stride, 1), l.Pad
	if l.Out <= 0 || k <= 0 || pad < 0 || k > h+2*pad || k > wd+2*pad {
		return x, fmt.Errorf("convolution out %d, kernel %d, pad %d do not fit the input", l.Out, k, pad)
	}
	w, err := g.param(prefix+"weight", l.Out*k*k*c)
	if err != nil {
		return x, err
	}
	b, err := g.param(prefix+"bias", l.Out)
	if err != nil {
		return x, err
	}
	tw := make([]float32, len(w))
	for o := 0; o < l.Out; o++ {
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				for ch := 0; ch < c; ch++ {
					tw[((o*c+ch)*k+ky)*k+kx] = w[((o*k+ky)*k+kx)*c+ch]
				}
			}
		}
	}
	g.init(prefix+"weight", tw, l.Out, c, k, k)
	g.init(prefix+"bias", b, l.Out)
	k64, s64, p64 := int64(k), int64(s), int64(pad)
	g.node("Conv", out, []string{x.name, prefix + "weight", prefix + "bias"}, []string{out},
		expAttrInts("kernel_shape", k64, k64), expAttrInts("pads", p64, p64, p64, p64), expAttrInts("strides", s64, s64))
	oh, ow := (h+2*pad-k)/s+1, (wd+2*pad-k)/s+1
	return expValue{name: out, shape: []int{oh, ow, l.Out}}, nil
}

// batchNorm emits BatchNormalization with the running statistics, permuted
// to x's order for a flattened vector.
func (g *expGraph) batchNorm(x expValue, prefix, out string) (expValue, error) {
	c := x.shape[len(x.shape)-1]
	var ts [4][]float32
	for i, name := range []string{"weight", "bias", "running_mean", "running_var"} {
		var err error
		if i < 2 {
			ts[i], err = g.param(prefix+name, c)
		} else {
			ts[i], err = g.buffer(prefix+name, c)
		}
		if err != nil {
			return x, err
		}
		if x.perm != nil {
			p := make([]float32, c)
			for k, j := range x.perm {
				p[k] = ts[i][j]
			}
			ts[i] = p
		}
		g.init(prefix+name, ts[i], c)
	}
	g.node("BatchNormalization", out,
		[]string{x.name, prefix + "weight", prefix + "bias", prefix + "running_mean", prefix + "running_var"},
		[]string{out}, expAttrFloat("epsilon", 1e-5))
	return expValue{name: out, shape: x.shape, perm: x.perm, from: x.from}, nil
}

// init adds a float32 initializer.
func (g *expGraph) init(name string, v []float32, dims ...int) {
	d := make([]int64, len(dims))
	for i, x := range dims {
		d[i] = int64(x)
	}
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	g.inits = append(g.inits, &pb.TensorProto{
		Name:     proto.String(name),
		Dims:     d,
		DataType: proto.Int32(int32(pb.TensorProto_FLOAT)),
		RawData:  raw,
	})
}

func (g *expGraph) node(op, name string, in, out []string, attrs ...*pb.AttributeProto) {
	g.nodes = append(g.nodes, &pb.NodeProto{
		OpType:    proto.String(op),
		Name:      proto.String(name),
		Input:     in,
		Output:    out,
		Attribute: attrs,
	})
}

func expAttrInt(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func expAttrInts(name string, v ...int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum(), Ints: v}
}

func expAttrFloat(name string, v float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// expValueInfo declares a float32 tensor; a dimension of -1 is the dynamic
// batch dimension "N".
func expValueInfo(name string, dims ...int) *pb.ValueInfoProto {
	var ds []*pb.TensorShapeProto_Dimension
	for _, d := range dims {
		if d < 0 {
			ds = append(ds, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}})
		} else {
			ds = append(ds, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
		}
	}
	return &pb.ValueInfoProto{
		Name: proto.String(name),
		Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(pb.TensorProto_FLOAT)),
			Shape:    &pb.TensorShapeProto{Dim: ds},
		}}},
	}
}
