package onnx

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
)

func readNPY(t *testing.T, name string) *data.Array {
	t.Helper()
	a, err := data.ReadNPYFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestImportGolden checks imported PyTorch models (made by
// testdata/make_onnx.py) against PyTorch's logits and the input gradient of
// the loss Σ logits ⊙ w.
func TestImportGolden(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kinds   []string // layer kinds the import must produce (top level)
		dropped string
	}{
		{"mlp", []string{nn.KindFlatten, nn.KindDense, nn.KindReLU, nn.KindTanh, nn.KindLeakyReLU}, ""},
		{"matmul", []string{nn.KindDense, nn.KindSigmoid}, ""},
		{"cnn", []string{nn.KindConv, nn.KindMaxPool, nn.KindPad, nn.KindAvgPool, nn.KindSigmoid}, ""},
		{"cnn_bn", []string{nn.KindAffine, nn.KindBatchNorm, nn.KindConv, nn.KindMaxPool}, "Softmax"},
		{"resnet", []string{nn.KindResidual, nn.KindGlobalAvg, nn.KindPad, nn.KindMaxPool}, ""},
		{"concat", []string{nn.KindConcat, nn.KindConv}, ""},
		{"grouped", []string{nn.KindConcat, nn.KindTanh, nn.KindPad, nn.KindMaxPool}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net, meta, err := ImportFile(filepath.Join("testdata", tc.name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, l := range net.Spec().Layers {
				have[l.Kind] = true
			}
			for _, k := range tc.kinds {
				if !have[k] {
					t.Errorf("no %s layer in %+v", k, net.Spec().Layers)
				}
			}
			if meta["onnx_dropped_output"] != tc.dropped || meta["onnx_opset"] != "13" {
				t.Errorf("metadata %v", meta)
			}
			x, want, w, grad := readNPY(t, tc.name+"_x.npy"), readNPY(t, tc.name+"_logits.npy"), readNPY(t, tc.name+"_w.npy"), readNPY(t, tc.name+"_grad.npy")
			n := x.Shape[0]
			got := net.Forward(x.Float32(), n, false)
			compare(t, "logits", got, want.Float32())
			net.ZeroGrad()
			gx := net.Backward(w.Float32(), true)
			compare(t, "input gradient", gx, grad.Float32())

			// A checkpoint of the imported network is the same network.
			var buf bytes.Buffer
			if err := nn.Save(&buf, net, meta); err != nil {
				t.Fatal(err)
			}
			back, meta2, err := nn.Load(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if !back.Spec().Equal(net.Spec()) || meta2["onnx_opset"] != "13" {
				t.Errorf("checkpoint round trip: spec or metadata changed (%v)", meta2)
			}
			compare(t, "logits after checkpoint round trip", back.Forward(x.Float32(), n, false), want.Float32())
		})
	}
}

// compare checks got against want within 1e-4 relative to the largest
// reference value (at least 1).
func compare(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 1.0
	for _, v := range want {
		scale = max(scale, math.Abs(float64(v)))
	}
	worst, at := 0.0, 0
	for i := range got {
		if d := math.Abs(float64(got[i]-want[i])) / scale; d > worst {
			worst, at = d, i
		}
	}
	t.Logf("%s: largest relative difference %.2g", what, worst)
	if worst > 1e-4 {
		t.Errorf("%s[%d] = %v, PyTorch %v (relative error %.2g)", what, at, got[at], want[at], worst)
	}
}

func TestImportUnsupportedOp(t *testing.T) {
	_, _, err := ImportFile(filepath.Join("testdata", "unsupported.onnx"))
	var ue *UnsupportedOpError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v, want an UnsupportedOpError", err)
	}
	if ue.Op != "Elu" || ue.Node == "" || ue.Opset != 13 {
		t.Errorf("error %+v", ue)
	}
	t.Log(err)
}
