package nn

import (
	"math/rand/v2"
	"testing"
)

// benchStep measures one SGD-free training step (forward, loss, backward),
// or one inference pass ([Network.Infer]), of the small CNN on a batch of 128
// Fashion-MNIST-sized images; images/s is reported as a custom metric.
func benchStep(b *testing.B, spec Spec, train bool) {
	net, err := New(spec, 1)
	if err != nil {
		b.Fatal(err)
	}
	const n = 128
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, n*784)
	for i := range x {
		x[i] = r.Float32()
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = r.IntN(10)
	}
	d := make([]float32, n*10)
	b.ResetTimer()
	for b.Loop() {
		if !train {
			net.Infer(x, n)
			continue
		}
		out := net.Forward(x, n, true)
		SoftmaxCrossEntropy(out, d, labels, 10, 0)
		net.Backward(d, false)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "img/s")
}

func BenchmarkCNNTrainStep(b *testing.B) {
	benchStep(b, CNN([]int{1, 28, 28}, 10, CNNOptions{}), true)
}

func BenchmarkCNNInference(b *testing.B) {
	benchStep(b, CNN([]int{1, 28, 28}, 10, CNNOptions{}), false)
}

func BenchmarkCNNBNTrainStep(b *testing.B) {
	benchStep(b, CNN([]int{1, 28, 28}, 10, CNNOptions{BatchNorm: true, Dropout: 0.25}), true)
}

func BenchmarkCNNBNInference(b *testing.B) {
	benchStep(b, CNN([]int{1, 28, 28}, 10, CNNOptions{BatchNorm: true, Dropout: 0.25}), false)
}
