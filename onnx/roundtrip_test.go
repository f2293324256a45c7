package onnx

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/zoo"
)

// TestExportImportRoundTrip: a trustml network exported with [Export] and
// read back with [Import] computes the same logits and features.
func TestExportImportRoundTrip(t *testing.T) {
	nets := map[string]*nn.Network{}
	for _, name := range zoo.Names() {
		net, _, err := zoo.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		nets[name] = net
	}
	for _, arch := range []string{"mlp", "cnn-bn", "resnet8"} {
		spec, err := nn.SpecFor(arch, []int{3, 8, 8}, 5)
		if err != nil {
			t.Fatal(err)
		}
		net, err := nn.New(spec, 7)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		for i := range net.BufferData() { // non-trivial batch-norm statistics
			net.BufferData()[i] = float32(0.5 + r.Float64())
		}
		nets[arch] = net
	}
	ctx := context.Background()
	for name, net := range nets {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Export(&buf, net, ExportOptions{}); err != nil {
				t.Fatal(err)
			}
			back, _, err := Import(&buf)
			if err != nil {
				t.Fatal(err)
			}
			// With extra outputs the importer follows "logits".
			buf.Reset()
			if err := Export(&buf, net, ExportOptions{Features: true, Probabilities: true}); err != nil {
				t.Fatal(err)
			}
			back2, meta, err := Import(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if meta["onnx_ignored_outputs"] != "probabilities,features" && meta["onnx_ignored_outputs"] != "features,probabilities" {
				t.Errorf("metadata %v", meta)
			}
			if !back2.Spec().Equal(back.Spec()) || !slices.Equal(back2.Weights(), back.Weights()) {
				t.Errorf("import with extra outputs differs: %+v", back2.Spec())
			}
			n, size := 4, 1
			for _, d := range net.InputShape() {
				size *= d
			}
			r := rand.New(rand.NewPCG(3, 4))
			x := make([]float32, n*size)
			for i := range x {
				x[i] = r.Float32()
			}
			k := net.NumClasses()
			want, got := make([]float32, n*k), make([]float32, n*k)
			if err := net.Logits(ctx, want, x); err != nil {
				t.Fatal(err)
			}
			if err := back.Logits(ctx, got, x); err != nil {
				t.Fatal(err)
			}
			compare(t, "logits", got, want)
			if back.FeatureDim() != net.FeatureDim() {
				t.Fatalf("feature dimension %d, want %d", back.FeatureDim(), net.FeatureDim())
			}
			fw, fg := make([]float32, n*net.FeatureDim()), make([]float32, n*net.FeatureDim())
			if err := net.Features(ctx, fw, x); err != nil {
				t.Fatal(err)
			}
			if err := back.Features(ctx, fg, x); err != nil {
				t.Fatal(err)
			}
			compare(t, "features", fg, fw)
		})
	}
}
