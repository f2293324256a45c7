package train_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

// vec is a model whose loss is ½‖w‖²-like: L(w) = ½ Σ a_i w_i².
type vec struct{ a, w, g []float32 }

func (v *vec) Weights() []float32 { return v.w }
func (v *vec) Grads() []float32   { return v.g }
func (v *vec) closure() (float64, error) {
	var l float64
	for i, w := range v.w {
		v.g[i] = v.a[i] * w
		l += 0.5 * float64(v.a[i]*w*w)
	}
	return l, nil
}

// One SAM step by hand: at w = (3, 1) the gradient of ½(w₁² + 4w₂²) is
// (3, 4); SAM evaluates it again at w + 0.5·(3, 4)/5 = (3.3, 1.4), giving
// (3.3, 5.6), and SGD steps from w with it.
func ExampleSAM() {
	m := &vec{a: []float32{1, 4}, w: []float32{3, 1}, g: make([]float32, 2)}
	sam, _ := train.NewSAM(&train.SGD{Rate: 0.1}, 0.5, false)
	loss, _ := sam.Step(m, m.closure)
	fmt.Printf("loss %.2f, w = (%.2f, %.2f)\n", loss, m.w[0], m.w[1])
	// Output: loss 6.50, w = (2.67, 0.44)
}

// Train with Friendly SAM around SGD, average the last epochs' weights
// (SWA), recompute the batch-norm statistics and evaluate.
func ExampleSWA() {
	wine, _ := data.Tabular("wine")
	std, _ := data.FitStandardizer(wine)
	std.Apply(wine)
	tr, te, _ := data.StratifiedSplit(wine, 0.3, 1)
	net, _ := nn.New(nn.MLP(tr.Shape, []int{16}, len(tr.Classes)), 1)
	base, _ := train.NewSGD(0.1, 0.9, 1e-3, false)
	opt, _ := train.NewFSAM(base, 0.05, 1, 0.6)
	var swa train.SWA
	_, err := train.Fit(context.Background(), net, tr.X, tr.Y, train.Config{
		Epochs: 30, BatchSize: 16, Seed: 1, Optimizer: opt,
		Schedule: train.SWALR{Base: 0.1, SWA: 0.05, StartFrac: 0.7},
		OnEpoch: func(st train.EpochStats) error {
			if st.Epoch > 20 {
				return swa.Add(net.Weights())
			}
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	swa.CopyTo(net.Weights())
	if err := train.UpdateBN(context.Background(), net, tr.X, 16); err != nil {
		fmt.Println(err)
		return
	}
	m, _, _ := metrics.EvaluateClassifier(context.Background(), net, te.X, te.Y)
	fmt.Println("averaged", swa.N(), "epochs; test accuracy above 90%:", m.Accuracy > 0.9)
	// Output: averaged 10 epochs; test accuracy above 90%: true
}

// The top Hessian eigenvalue of ½(w₁² + 4w₂² + 9w₃²) is 9.
func ExampleTopEigenvalue() {
	m := &vec{a: []float32{1, 4, 9}, w: []float32{1, 1, 1}, g: make([]float32, 3)}
	lambda, _, _ := train.TopEigenvalue(context.Background(), m, m.closure, 100, 1e-9, rand.New(rand.NewPCG(1, 1)))
	fmt.Printf("%.2f\n", lambda)
	// Output: 9.00
}
