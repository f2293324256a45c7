package onnx

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/onnx/internal/onnxpb"
)

// Hand-built graphs for the mappings and errors the PyTorch golden files
// do not reach.

func tNode(op string, in []string, out string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String("n_" + out), Input: in, Output: []string{out}, Attribute: attrs}
}

func aInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), I: proto.Int64(v), Type: onnxpb.AttributeProto_INT.Enum()}
}

func aInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Ints: v, Type: onnxpb.AttributeProto_INTS.Enum()}
}

func aFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), F: proto.Float32(v), Type: onnxpb.AttributeProto_FLOAT.Enum()}
}

func tConst(name string, dims []int64, v ...float32) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: v}
}

func tInt64(name string, v ...int64) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(v))}, DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: v}
}

func valueInfo(name string, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for i, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
		if d < 0 {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "dyn" + string(rune('0'+i))}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: shape}}}}
}

// tModel encodes a model with input "x" of shape in (batch first) whose
// output is the last node's output.
func tModel(t *testing.T, in []int64, inits []*onnxpb.TensorProto, nodes ...*onnxpb.NodeProto) []byte {
	t.Helper()
	return tModelOut(t, in, inits, []string{nodes[len(nodes)-1].Output[0]}, nodes...)
}

// tModelOut is tModel with the given graph outputs.
func tModelOut(t *testing.T, in []int64, inits []*onnxpb.TensorProto, outs []string, nodes ...*onnxpb.NodeProto) []byte {
	t.Helper()
	var ov []*onnxpb.ValueInfoProto
	for _, o := range outs {
		ov = append(ov, valueInfo(o))
	}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(7), OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{Name: proto.String("test"), Node: nodes, Initializer: inits,
			Input: []*onnxpb.ValueInfoProto{valueInfo("x", in...)}, Output: ov}}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func importBytes(t *testing.T, b []byte) (*nn.Network, map[string]string) {
	t.Helper()
	net, meta, err := Import(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return net, meta
}

func kinds(net *nn.Network) string {
	var k []string
	for _, l := range net.Spec().Layers {
		k = append(k, l.Kind)
	}
	return strings.Join(k, " ")
}

func near(t *testing.T, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// TestImportMatMulBiasLogSoftmax: MatMul + Add becomes one dense layer,
// Identity and Dropout vanish, a trailing LogSoftmax is dropped.
func TestImportMatMulBiasLogSoftmax(t *testing.T) {
	b := tModel(t, []int64{-1, 3}, []*onnxpb.TensorProto{
		tConst("W", []int64{3, 2}, 1, 2, 3, 4, 5, 6), tConst("b", []int64{2}, 0.5, -1)},
		tNode("MatMul", []string{"x", "W"}, "h"), tNode("Add", []string{"b", "h"}, "h2"),
		tNode("Identity", []string{"h2"}, "h3"), tNode("Dropout", []string{"h3"}, "h4"),
		tNode("LogSoftmax", []string{"h4"}, "y", aInt("axis", 1)))
	net, meta := importBytes(t, b)
	if kinds(net) != "dense" || meta["onnx_dropped_output"] != "LogSoftmax" {
		t.Fatalf("layers %q, metadata %v", kinds(net), meta)
	}
	// x = (1, 0, -1): xW + b = (1-5, 2-6) + b.
	near(t, net.Forward([]float32{1, 0, -1}, 1, false), []float32{-3.5, -5})
}

// TestImportAffineAndBNEpsilon: Sub, Mul and Div by constants merge into
// one affine layer; a batch norm epsilon other than 1e-5 is folded into
// the running variance.
func TestImportAffineAndBNEpsilon(t *testing.T) {
	b := tModel(t, []int64{1, 2}, []*onnxpb.TensorProto{
		tConst("half", nil, 0.5), tConst("two", []int64{1, 2}, 2, 4), tConst("s", []int64{2}, 1.5, 0.5),
		tConst("bb", []int64{2}, 0.1, -0.2), tConst("m", []int64{2}, 0.3, -0.4), tConst("v", []int64{2}, 0.7, 2),
		tConst("I", []int64{2, 2}, 1, 0, 0, 1)},
		tNode("Sub", []string{"x", "half"}, "a"), tNode("Mul", []string{"a", "two"}, "b"), tNode("Div", []string{"b", "two"}, "c"),
		tNode("BatchNormalization", []string{"c", "s", "bb", "m", "v"}, "d", aFloat("epsilon", 1e-3)),
		tNode("Gemm", []string{"d", "I"}, "y", aInt("transB", 1)))
	net, meta := importBytes(t, b)
	if kinds(net) != "affine batchnorm dense" || meta["onnx_bn_epsilon"] != "0.001" {
		t.Fatalf("layers %q, metadata %v", kinds(net), meta)
	}
	x := []float32{0.9, -0.3}
	want := make([]float32, 2)
	for j := range want {
		c := (float64(x[j]) - 0.5)
		want[j] = float32([]float64{1.5, 0.5}[j]*(c-[]float64{0.3, -0.4}[j])/math.Sqrt([]float64{0.7, 2}[j]+1e-3) + []float64{0.1, -0.2}[j])
	}
	near(t, net.Forward(x, 1, false), want)
}

// TestImportReshapeOrder: a Reshape to (batch, C·H·W) followed by Gemm
// gives the NCHW-ordered product although nn flattens in H, W, C order.
func TestImportReshapeOrder(t *testing.T) {
	w := make([]float32, 2*8)
	for i := range w {
		w[i] = float32(i%5) - 2
	}
	b := tModel(t, []int64{-1, 2, 2, 2}, []*onnxpb.TensorProto{tInt64("shape", 0, -1), tConst("W", []int64{2, 8}, w...)},
		tNode("Reshape", []string{"x", "shape"}, "f"), tNode("Gemm", []string{"f", "W"}, "y", aInt("transB", 1), aFloat("alpha", 2)))
	net, _ := importBytes(t, b)
	x := []float32{1, -2, 3, 0.5, -1, 4, 2, -3} // NCHW
	want := make([]float32, 2)
	for o := range want {
		for i, v := range x {
			want[o] += 2 * w[o*8+i] * v
		}
	}
	near(t, net.Forward(x, 1, false), want)
}

// TestImportErrors: unsupported constructs name the op, node and opset;
// malformed models name the problem.
func TestImportErrors(t *testing.T) {
	w := tConst("W", []int64{4, 1, 3, 3}, make([]float32, 36)...)
	gemm := func(in string) *onnxpb.NodeProto { return tNode("Gemm", []string{in, "G"}, "y", aInt("transB", 1)) }
	g := tConst("G", []int64{2, 4}, make([]float32, 8)...)
	ext := tConst("E", []int64{2, 4})
	ext.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
	for _, tc := range []struct {
		name   string
		in     []int64
		inits  []*onnxpb.TensorProto
		nodes  []*onnxpb.NodeProto
		op     string // wanted UnsupportedOpError.Op, or
		substr string // a substring of the error
	}{
		{"conv group", []int64{1, 2, 4, 4}, []*onnxpb.TensorProto{w, g}, []*onnxpb.NodeProto{
			tNode("Conv", []string{"x", "W"}, "c", aInt("group", 3)), tNode("Flatten", []string{"c"}, "f"), gemm("f")}, "Conv", "group 3"},
		{"avgpool pads", []int64{1, 1, 4, 4}, []*onnxpb.TensorProto{g}, []*onnxpb.NodeProto{
			tNode("AveragePool", []string{"x"}, "p", aInts("kernel_shape", 2, 2), aInts("strides", 2, 2), aInts("pads", 1, 1, 1, 1)),
			tNode("Flatten", []string{"p"}, "f"), gemm("f")}, "AveragePool", "count_include_pad 0"},
		{"softmax inside", []int64{1, 4}, []*onnxpb.TensorProto{g}, []*onnxpb.NodeProto{
			tNode("Softmax", []string{"x"}, "s"), gemm("s")}, "Softmax", "not the last"},
		{"unknown op", []int64{1, 4}, []*onnxpb.TensorProto{g}, []*onnxpb.NodeProto{
			tNode("Erf", []string{"x"}, "s"), gemm("s")}, "Erf", "opset 13"},
		{"crossed joins", []int64{1, 4}, []*onnxpb.TensorProto{g}, []*onnxpb.NodeProto{
			tNode("Relu", []string{"x"}, "a"), tNode("Relu", []string{"x"}, "b"), tNode("Add", []string{"a", "x"}, "s"),
			tNode("Add", []string{"b", "s"}, "u"), gemm("u")}, "Add", "join in different nodes"},
		{"concat constant", []int64{1, 2}, []*onnxpb.TensorProto{g, tConst("C", []int64{1, 2}, 1, 2)}, []*onnxpb.NodeProto{
			tNode("Concat", []string{"x", "C"}, "c", aInt("axis", 1)), gemm("c")}, "Concat", "not the join"},
		{"concat repeats", []int64{1, 2}, []*onnxpb.TensorProto{g}, []*onnxpb.NodeProto{
			tNode("Relu", []string{"x"}, "a"), tNode("Concat", []string{"x", "a", "a"}, "c", aInt("axis", 1)), gemm("c")}, "Concat", "3 inputs"},
		{"concat twice", []int64{1, 2}, []*onnxpb.TensorProto{g}, []*onnxpb.NodeProto{
			tNode("Relu", []string{"x"}, "a"), tNode("Relu", []string{"x"}, "b"), tNode("Concat", []string{"a", "a"}, "c", aInt("axis", 1)), gemm("c")}, "", ""},
		{"computed weight", []int64{1, 4}, nil, []*onnxpb.NodeProto{
			tNode("Gemm", []string{"x", "x"}, "y")}, "Gemm", "computed weight"},
		{"ends with relu", []int64{1, 4}, []*onnxpb.TensorProto{g}, []*onnxpb.NodeProto{gemm("x"), tNode("Relu", []string{"y"}, "z")}, "", "must end with a dense"},
		{"symbolic size", []int64{1, -1}, []*onnxpb.TensorProto{g}, []*onnxpb.NodeProto{gemm("x")}, "", `dimension 1 is "dyn1"`},
		{"3-d input", []int64{1, 4, 4}, []*onnxpb.TensorProto{g}, []*onnxpb.NodeProto{gemm("x")}, "", "3 dimensions"},
		{"external data", []int64{1, 4}, []*onnxpb.TensorProto{ext}, []*onnxpb.NodeProto{tNode("Gemm", []string{"x", "E"}, "y")}, "", "external data"},
		{"short raw data", []int64{1, 4}, []*onnxpb.TensorProto{{Name: proto.String("G"), Dims: []int64{2, 4}, DataType: proto.Int32(1), RawData: make([]byte, 31)}},
			[]*onnxpb.NodeProto{gemm("x")}, "", "31 bytes of raw data"},
		{"gemm shape", []int64{1, 5}, []*onnxpb.TensorProto{g}, []*onnxpb.NodeProto{gemm("x")}, "", "does not fit 5 inputs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Import(bytes.NewReader(tModel(t, tc.in, tc.inits, tc.nodes...)))
			if err == nil {
				t.Fatal("no error")
			}
			var ue *UnsupportedOpError
			if tc.op != "" && (!errors.As(err, &ue) || ue.Op != tc.op || ue.Node == "" || ue.Opset != 13) {
				t.Errorf("error %v, want an UnsupportedOpError for %s", err, tc.op)
			}
			if !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("error %q does not contain %q", err, tc.substr)
			}
		})
	}
}

// TestImportOutputs: of several outputs the importer follows "logits" and
// ignores the nodes only the others need; without "logits" it refuses.
func TestImportOutputs(t *testing.T) {
	inits := []*onnxpb.TensorProto{tConst("G", []int64{2, 4}, 1, 0, 0, 0, 0, 1, 0, 0)}
	nodes := []*onnxpb.NodeProto{
		tNode("Relu", []string{"x"}, "dead"), // feeds nothing the logits need
		tNode("Gemm", []string{"x", "G"}, "logits", aInt("transB", 1)),
		tNode("Softmax", []string{"logits"}, "probabilities"),
	}
	net, meta := importBytes(t, tModelOut(t, []int64{-1, 4}, inits, []string{"probabilities", "logits"}, nodes...))
	if kinds(net) != "dense" || meta["onnx_ignored_outputs"] != "probabilities" {
		t.Errorf("layers %q, metadata %v", kinds(net), meta)
	}
	near(t, net.Forward([]float32{3, -4, 5, 6}, 1, false), []float32{3, -4})
	nodes[1].Output[0], nodes[2].Input[0] = "y", "y"
	_, _, err := Import(bytes.NewReader(tModelOut(t, []int64{-1, 4}, inits, []string{"probabilities", "y"}, nodes...)))
	if err == nil || !strings.Contains(err.Error(), `2 outputs (probabilities, y)`) {
		t.Errorf("error %v", err)
	}
}
