package train

import (
	"math/rand/v2"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
)

// BenchmarkFlatOptimizers measures the wall-clock time of one weight update
// of each optimizer on the small CNN of TestSmallCNNLearnsFashionMNIST
// (batch norm, width 16) at batch 128. RWP and m-ARWP make one update per
// two batches, so their update is two Steps.
func BenchmarkFlatOptimizers(b *testing.B) {
	tr, err := data.EmbeddedFashion(data.Train)
	if err != nil {
		b.Fatal(err)
	}
	const bs = 2 * 128
	size := len(tr.X) / tr.Len()
	x, y := tr.X[:bs*size], tr.Y[:bs]
	for _, tc := range []struct {
		name  string
		steps int
		mk    func(Updater) Optimizer
	}{
		{"sgd", 1, func(u Updater) Optimizer { return u.(*SGD) }},
		{"sam", 1, func(u Updater) Optimizer { o, _ := NewSAM(u, 0.05, false); return o }},
		{"fsam", 1, func(u Updater) Optimizer { o, _ := NewFSAM(u, 0.05, 1, 0.6); return o }},
		{"rwp", 2, func(u Updater) Optimizer { o, _ := NewRWP(u, 0.01, 0.5, rand.New(rand.NewPCG(1, 1))); return o }},
		{"arwp", 1, func(u Updater) Optimizer {
			o, _ := NewARWP(u, 0.001, 10, 0.1, 0.99, 1000, rand.New(rand.NewPCG(1, 1)))
			return o
		}},
		{"marwp", 2, func(u Updater) Optimizer {
			o, _ := NewMARWP(u, 0.015, 0.5, 0.1, 0.99, rand.New(rand.NewPCG(1, 1)))
			return o
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			net, err := nn.New(nn.CNN(tr.Shape, 10, nn.CNNOptions{Width: 16, Hidden: 64, BatchNorm: true}), 1)
			if err != nil {
				b.Fatal(err)
			}
			base, _ := NewSGD(0.05, 0.9, 5e-4, true)
			opt := tc.mk(base)
			closures := []Closure{netClosure(net, x[:bs/2*size], y[:bs/2]), netClosure(net, x[bs/2*size:], y[bs/2:])}
			for b.Loop() {
				for s := range tc.steps {
					if _, err := opt.Step(net, closures[s]); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
	// The two-worker forms: one update evaluates both batches concurrently,
	// the noisy one on a replica.
	for _, name := range []string{"rwp-parallel", "marwp-parallel"} {
		b.Run(name, func(b *testing.B) {
			net, err := nn.New(nn.CNN(tr.Shape, 10, nn.CNNOptions{Width: 16, Hidden: 64, BatchNorm: true}), 1)
			if err != nil {
				b.Fatal(err)
			}
			base, _ := NewSGD(0.05, 0.9, 5e-4, true)
			r := rand.New(rand.NewPCG(1, 1))
			var opt PairStepper
			if name == "rwp-parallel" {
				o, _ := NewRWP(base, 0.01, 0.5, r)
				o.Parallel(net.Copy())
				opt = o
			} else {
				o, _ := NewMARWP(base, 0.015, 0.5, 0.1, 0.99, r)
				o.Parallel(net.Copy())
				opt = o
			}
			rep := opt.Replica().(*nn.Network)
			clean, noisy := netClosure(net, x[:bs/2*size], y[:bs/2]), netClosure(rep, x[bs/2*size:], y[bs/2:])
			for b.Loop() {
				if _, _, err := opt.StepPair(net, clean, noisy); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
