package onnx

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
	pb "github.com/trustml/trustml/onnx/internal/onnxpb"
	"github.com/trustml/trustml/zoo"
)

var expUpdate = flag.Bool("update", false, "rewrite the exported models in testdata/export (then run testdata/check_export.py)")

// expFixture is a small network whose export is checked in under
// testdata/export, with the outputs of check_export.py's numpy evaluator.
type expFixture struct {
	name string
	spec func() (nn.Spec, error)
	opts ExportOptions
}

var expFixtures = []expFixture{
	{"mlp", func() (nn.Spec, error) { return nn.MLP([]int{3, 4, 5}, []int{16, 8}, 4), nil }, ExportOptions{}},
	{"vecnet", func() (nn.Spec, error) {
		// A flatten of a 2-channel image whose ONNX order flows through batch
		// norm on the vector (statistics permuted) and a residual, then
		// dropout and a residual on a dense layer's output.
		return nn.Spec{Name: "vecnet", InputShape: []int{2, 3, 3}, NumClasses: 3, Layers: []nn.LayerSpec{
			{Kind: nn.KindFlatten},
			{Kind: nn.KindBatchNorm},
			{Kind: nn.KindResidual, Body: []nn.LayerSpec{{Kind: nn.KindReLU}, {Kind: nn.KindBatchNorm}}},
			{Kind: nn.KindReLU},
			{Kind: nn.KindDropout, Rate: 0.5},
			{Kind: nn.KindDense, Out: 8},
			{Kind: nn.KindReLU},
			{Kind: nn.KindResidual, Body: []nn.LayerSpec{{Kind: nn.KindDense, Out: 8}}},
			{Kind: nn.KindDense, Out: 3},
		}}, nil
	}, ExportOptions{Probabilities: true, Features: true}},
	{"mixnet", func() (nn.Spec, error) {
		// A residual whose body ends in trustml's order while the shortcut
		// is a flattened image: the flatten transposes to NHWC first.
		return nn.Spec{Name: "mixnet", InputShape: []int{2, 3, 3}, NumClasses: 3, Layers: []nn.LayerSpec{
			{Kind: nn.KindFlatten},
			{Kind: nn.KindResidual, Body: []nn.LayerSpec{{Kind: nn.KindDense, Out: 10}, {Kind: nn.KindReLU}, {Kind: nn.KindDense, Out: 18}}},
			{Kind: nn.KindDense, Out: 3},
		}}, nil
	}, ExportOptions{}},
	{"convnet", func() (nn.Spec, error) {
		// Strided, padded convolutions, both poolings (one with stride ≠
		// kernel) and a head on the image itself, whose features need
		// trustml's order back.
		return nn.Spec{Name: "convnet", InputShape: []int{3, 10, 9}, NumClasses: 5, Layers: []nn.LayerSpec{
			{Kind: nn.KindConv, Out: 4, Kernel: 3, Stride: 1, Pad: 1},
			{Kind: nn.KindBatchNorm},
			{Kind: nn.KindReLU},
			{Kind: nn.KindMaxPool, Kernel: 2},
			{Kind: nn.KindConv, Out: 6, Kernel: 3, Stride: 2, Pad: 1},
			{Kind: nn.KindReLU},
			{Kind: nn.KindAvgPool, Kernel: 2, Stride: 1},
			{Kind: nn.KindDense, Out: 5},
		}}, nil
	}, ExportOptions{InputName: "images", Features: true}},
	{"cnn-bn", func() (nn.Spec, error) {
		return nn.CNN([]int{1, 12, 12}, 10, nn.CNNOptions{Width: 4, Hidden: 16, BatchNorm: true, Dropout: 0.25}), nil
	}, ExportOptions{Probabilities: true, Features: true}},
	{"tabular", func() (nn.Spec, error) {
		// A vector input (scikit-learn style features) with batch norm.
		return nn.Spec{Name: "tabular", InputShape: []int{7}, NumClasses: 3, Layers: []nn.LayerSpec{
			{Kind: nn.KindBatchNorm}, {Kind: nn.KindDense, Out: 6}, {Kind: nn.KindReLU}, {Kind: nn.KindDense, Out: 3},
		}}, nil
	}, ExportOptions{InputName: "x", Probabilities: true}},
	{"resnet8", func() (nn.Spec, error) { return nn.ResNet([]int{3, 8, 8}, 10, 8, 4) }, ExportOptions{Features: true}},
}

// expNetwork builds f's network with seeded weights and batch-norm
// statistics and affine parameters away from their initial values, so
// that every tensor matters.
func expNetwork(t *testing.T, f expFixture) *nn.Network {
	t.Helper()
	spec, err := f.spec()
	if err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(spec, 7)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, 13))
	for _, p := range net.Params() {
		if len(p.Shape) != 1 {
			continue
		}
		for i := range p.W { // biases and batch-norm scales and shifts
			p.W[i] += float32(r.Float64() - 0.5)
		}
	}
	for _, b := range net.Buffers() {
		for i := range b.Data {
			if strings.HasSuffix(b.Name, "running_var") {
				b.Data[i] = float32(0.5 + 1.5*r.Float64())
			} else {
				b.Data[i] = float32(r.NormFloat64() * 0.5)
			}
		}
	}
	return net
}

func expBytes(t *testing.T, net *nn.Network, opts ExportOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Export(&buf, net, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestExportGolden checks each fixture's export against the checked-in
// file (the export is deterministic) and trustml's outputs against those
// an independent numpy evaluation of that file gave
// (testdata/check_export.py).
func TestExportGolden(t *testing.T) {
	dir := filepath.Join("testdata", "export")
	for _, f := range expFixtures {
		t.Run(f.name, func(t *testing.T) {
			net := expNetwork(t, f)
			got := expBytes(t, net, f.opts)
			if again := expBytes(t, net, f.opts); !bytes.Equal(got, again) {
				t.Fatal("two exports of one network differ")
			}
			if d, want := expDescribe(expDecode(t, got).GetGraph()), ExportSignature(net, f.opts); d != want {
				t.Errorf("graph interface %q, ExportSignature says %q", d, want)
			}
			path := filepath.Join(dir, f.name+".onnx")
			if *expUpdate {
				if err := ExportFile(path, net, f.opts); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("export differs from %s (%d bytes, checked in %d); if the change is intended, run go test -run TestExportGolden -update and testdata/check_export.py", path, len(got), len(want))
			}
			x := expReadNPY(t, dir, f.name+".input", nil)
			size := 1
			for _, d := range net.InputShape() {
				size *= d
			}
			n := len(x) / size
			ctx := context.Background()
			logits := make([]float32, n*net.NumClasses())
			if err := net.Logits(ctx, logits, x); err != nil {
				t.Fatal(err)
			}
			expClose(t, "logits", logits, expReadNPY(t, dir, f.name+".logits", []int{n, net.NumClasses()}))
			if f.opts.Probabilities {
				probs := expSoftmax(logits, net.NumClasses())
				expClose(t, "probabilities", probs, expReadNPY(t, dir, f.name+".probabilities", []int{n, net.NumClasses()}))
			}
			if f.opts.Features {
				feats := make([]float32, n*net.FeatureDim())
				if err := net.Features(ctx, feats, x); err != nil {
					t.Fatal(err)
				}
				expClose(t, "features", feats, expReadNPY(t, dir, f.name+".features", []int{n, net.FeatureDim()}))
			}
		})
	}
}

// expReadNPY reads testdata/export/name.npy, checking its shape when want
// is set.
func expReadNPY(t *testing.T, dir, name string, want []int) []float32 {
	t.Helper()
	a, err := data.ReadNPYFile(filepath.Join(dir, name+".npy"))
	if err != nil {
		t.Fatal(err)
	}
	if want != nil && !slices.Equal(a.Shape, want) {
		t.Fatalf("%s.npy has shape %v, want %v", name, a.Shape, want)
	}
	return a.Float32()
}

// expClose fails unless got and want agree within 1e-4.
func expClose(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, numpy %d", what, len(got), len(want))
	}
	worst, at := 0.0, 0
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > worst || d != d {
			worst, at = d, i
		}
	}
	if worst > 1e-4 || worst != worst {
		t.Errorf("%s: trustml %v, numpy evaluation of the export %v at index %d (|diff| %.3g > 1e-4)", what, got[at], want[at], at, worst)
	}
	t.Logf("%s: max |trustml − numpy| = %.3g over %d values", what, worst, len(got))
}

func expSoftmax(logits []float32, k int) []float32 {
	out := make([]float32, len(logits))
	for i := 0; i < len(logits); i += k {
		m := math.Inf(-1)
		for _, v := range logits[i : i+k] {
			m = math.Max(m, float64(v))
		}
		var s float64
		for j, v := range logits[i : i+k] {
			e := math.Exp(float64(v) - m)
			out[i+j] = float32(e)
			s += e
		}
		for j := range out[i : i+k] {
			out[i+j] = float32(float64(out[i+j]) / s)
		}
	}
	return out
}

// expDecode parses an exported model.
func expDecode(t *testing.T, b []byte) *pb.ModelProto {
	t.Helper()
	var m pb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// TestExportEmbedded exports the embedded models (too large to check in):
// deterministic bytes, the graph's interface, and one node per layer kind
// as expected.
func TestExportEmbedded(t *testing.T) {
	for _, name := range zoo.Names() {
		t.Run(name, func(t *testing.T) {
			net, meta, err := zoo.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			opts := ExportOptions{Probabilities: true, Features: true, Metadata: meta}
			b := expBytes(t, net, opts)
			if !bytes.Equal(b, expBytes(t, net, opts)) {
				t.Fatal("two exports differ")
			}
			m := expDecode(t, b)
			if m.GetIrVersion() != ExportIRVersion || len(m.OpsetImport) != 1 || m.OpsetImport[0].GetVersion() != ExportOpset {
				t.Errorf("IR %d, opsets %v", m.GetIrVersion(), m.OpsetImport)
			}
			g := m.GetGraph()
			in := g.GetInput()[0]
			dims := in.GetType().GetTensorType().GetShape().GetDim()
			if in.GetName() != "input" || len(dims) != 4 || dims[0].GetDimParam() != "N" || dims[1].GetDimValue() != 1 || dims[2].GetDimValue() != 28 {
				t.Errorf("input %v", in)
			}
			var outs []string
			for _, o := range g.GetOutput() {
				outs = append(outs, o.GetName())
			}
			if strings.Join(outs, ",") != "logits,probabilities,features" {
				t.Errorf("outputs %v", outs)
			}
			if got, want := expDescribe(g), ExportSignature(net, opts); got != want {
				t.Errorf("graph interface %q, ExportSignature says %q", got, want)
			}
			ops := map[string]int{}
			for _, n := range g.GetNode() {
				ops[n.GetOpType()]++
			}
			var bn, conv, dense int
			expCount(net.Spec().Layers, &bn, &conv, &dense)
			if ops["BatchNormalization"] != bn || ops["Conv"] != conv || ops["Gemm"] != dense || ops["Dropout"] != 0 {
				t.Errorf("ops %v for %d batch norms, %d convolutions, %d dense layers", ops, bn, conv, dense)
			}
			var params int
			for _, init := range g.GetInitializer() {
				if init.GetDataType() == int32(pb.TensorProto_FLOAT) {
					params += len(init.GetRawData()) / 4
				}
			}
			if want := net.NumParams() + len(net.BufferData()); params != want {
				t.Errorf("%d float values in initializers, network has %d parameters and buffers", params, want)
			}
			found := false
			for _, p := range m.GetMetadataProps() {
				found = found || p.GetKey() == SpecMetadataKey && strings.Contains(p.GetValue(), `"layers"`)
			}
			if !found {
				t.Errorf("no %s in metadata", SpecMetadataKey)
			}
			t.Logf("%s: %d bytes, ops %v", name, len(b), ops)
		})
	}
}

// expDescribe formats a decoded graph's interface as [ExportSignature] does.
func expDescribe(g *pb.GraphProto) string {
	shape := func(v *pb.ValueInfoProto) string {
		var ds []string
		for _, d := range v.GetType().GetTensorType().GetShape().GetDim() {
			if d.GetDimParam() != "" {
				ds = append(ds, d.GetDimParam())
			} else {
				ds = append(ds, strconv.FormatInt(d.GetDimValue(), 10))
			}
		}
		return "[" + strings.Join(ds, " ") + "]"
	}
	in := g.GetInput()[0]
	s := fmt.Sprintf("input %q float32 %s", in.GetName(), shape(in))
	if len(in.GetType().GetTensorType().GetShape().GetDim()) == 4 {
		s += " (NCHW)"
	}
	for i, o := range g.GetOutput() {
		s += map[bool]string{true: "; outputs ", false: ", "}[i == 0] + o.GetName() + " " + shape(o)
	}
	return s
}

func expCount(ls []nn.LayerSpec, bn, conv, dense *int) {
	for _, l := range ls {
		switch l.Kind {
		case nn.KindBatchNorm:
			*bn++
		case nn.KindConv:
			*conv++
		case nn.KindDense:
			*dense++
		}
		expCount(l.Body, bn, conv, dense)
		expCount(l.Shortcut, bn, conv, dense)
	}
}

func TestExportErrors(t *testing.T) {
	net := expNetwork(t, expFixtures[0])
	cases := []struct {
		name string
		err  func() error
		msg  string
	}{
		{"nil network", func() error { return Export(&bytes.Buffer{}, nil, ExportOptions{}) }, "nil network"},
		{"input named like an output", func() error { return Export(&bytes.Buffer{}, net, ExportOptions{InputName: "logits"}) }, `input name "logits" is taken`},
		{"input named like a layer", func() error { return Export(&bytes.Buffer{}, net, ExportOptions{InputName: "layers.0"}) }, `input name "layers.0" is taken`},
		{"failing writer", func() error { return Export(expFailWriter{}, net, ExportOptions{}) }, "disk full"},
		{"missing directory", func() error {
			return ExportFile(filepath.Join(t.TempDir(), "no", "such", "m.onnx"), net, ExportOptions{})
		}, "m.onnx"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.err()
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %v, want one containing %q", err, c.msg)
			}
		})
	}
}

type expFailWriter struct{}

func (expFailWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestExportFile checks the atomic file write gives Export's bytes.
func TestExportFile(t *testing.T) {
	net := expNetwork(t, expFixtures[3])
	path := filepath.Join(t.TempDir(), "m.onnx")
	opts := ExportOptions{Features: true}
	if err := ExportFile(path, net, opts); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, expBytes(t, net, opts)) {
		t.Error("ExportFile and Export wrote different bytes")
	}
}
