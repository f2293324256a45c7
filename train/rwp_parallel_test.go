package train

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
)

// TestParallelRWPEqualsSequential: the two-worker form of RWP and m-ARWP
// (both batches at once, the noisy one on a replica) makes exactly the
// updates of the sequential single-process form — same weights and the
// same batch-norm statistics after a few epochs with augmentation and a
// schedule — and the replica's statistics never leak into the model.
func TestParallelRWPEqualsSequential(t *testing.T) {
	tr, err := data.EmbeddedFashion(data.Train)
	if err != nil {
		t.Fatal(err)
	}
	x, y := tr.X[:1024*784], tr.Y[:1024]
	spec := nn.CNN(tr.Shape, 10, nn.CNNOptions{Width: 4, Hidden: 16, BatchNorm: true})
	for _, name := range []string{"rwp", "marwp"} {
		t.Run(name, func(t *testing.T) {
			fit := func(parallel bool) *nn.Network {
				net, err := nn.New(spec, 3)
				if err != nil {
					t.Fatal(err)
				}
				base, _ := NewSGD(0.05, 0.9, 5e-4, true)
				r := rand.New(rand.NewPCG(5, 5))
				var opt Optimizer
				switch name {
				case "rwp":
					o, _ := NewRWP(base, 0.05, 0.5, r)
					if parallel {
						o.Parallel(net.Copy())
					}
					opt = o
				case "marwp":
					o, _ := NewMARWP(base, 0.05, 0.5, 0.1, 0.99, r)
					if parallel {
						o.Parallel(net.Copy())
					}
					opt = o
				}
				hist, err := Fit(context.Background(), net, x, y, Config{
					Epochs: 3, BatchSize: 128, Seed: 2, Optimizer: opt, Schedule: Cosine{Base: 0.05},
					Augment: Augment{CropPad: 2, FlipH: true},
				})
				if err != nil {
					t.Fatal(err)
				}
				if got := hist[len(hist)-1].Step; got != 24 {
					t.Fatalf("parallel=%v: %d steps (batches), want 24", parallel, got)
				}
				return net
			}
			seq, par := fit(false), fit(true)
			if !slices.Equal(seq.Weights(), par.Weights()) {
				t.Fatal("parallel and sequential forms ended at different weights")
			}
			if !slices.Equal(seq.BufferData(), par.BufferData()) {
				t.Fatal("parallel and sequential forms ended with different batch-norm statistics")
			}
			init, _ := nn.New(spec, 3)
			if slices.Equal(init.Weights(), par.Weights()) {
				t.Fatal("no training happened")
			}
		})
	}
}

func TestParallelRWPErrors(t *testing.T) {
	x, y := toyProblem(64)
	net, _ := nn.New(nn.MLP([]int{16}, []int{8}, 2), 1)
	base, _ := NewSGD(0.1, 0, 0, false)
	o, _ := NewRWP(base, 0.01, 0.5, rand.New(rand.NewPCG(1, 1)))
	other, _ := nn.New(nn.MLP([]int{16}, []int{4}, 2), 1)
	o.Parallel(other)
	if _, err := Fit(context.Background(), net, x, y, Config{Steps: 4, BatchSize: 16, Optimizer: o}); err == nil {
		t.Error("a replica of another architecture was accepted")
	}
	o.Parallel(net.Copy())
	if _, err := Fit(context.Background(), net, x, y, Config{Steps: 4, BatchSize: 64, Optimizer: o}); err == nil {
		t.Error("one batch per epoch cannot feed the two-batch update, but no error")
	}
}
