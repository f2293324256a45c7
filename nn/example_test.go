package nn_test

import (
	"bytes"
	"context"
	"fmt"
	"math"

	"github.com/trustml/trustml/nn"
)

// Build the small CNN for 28×28 grey images, classify a batch, and save and
// reload it bit for bit.
func Example() {
	spec := nn.CNN([]int{1, 28, 28}, 10, nn.CNNOptions{BatchNorm: true})
	net, err := nn.New(spec, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := make([]float32, 2*28*28) // two black images
	logits := make([]float32, 2*10)
	if err := net.Logits(context.Background(), logits, x); err != nil {
		fmt.Println(err)
		return
	}
	var buf bytes.Buffer
	if err := nn.Save(&buf, net, map[string]string{"note": "untrained"}); err != nil {
		fmt.Println(err)
		return
	}
	again, meta, err := nn.Load(buf.Bytes())
	if err != nil {
		fmt.Println(err)
		return
	}
	logits2 := make([]float32, 2*10)
	again.Logits(context.Background(), logits2, x)
	fmt.Println(spec.Name, net.NumParams(), "parameters;", meta["note"], logits[3] == logits2[3])
	// Output: cnn 421834 parameters; untrained true
}

// Training-step building blocks: forward in training mode, the loss and its
// gradient, backward into the flat gradient vector.
func ExampleNetwork_Backward() {
	net, _ := nn.New(nn.MLP([]int{4}, []int{8}, 3), 1)
	x := []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}
	labels := []int{0, 2}
	dlogits := make([]float32, 2*3)
	net.ZeroGrad()
	logits := net.Forward(x, 2, true)
	loss, _ := nn.SoftmaxCrossEntropy(logits, dlogits, labels, 3, 0)
	net.Backward(dlogits, false)
	fmt.Printf("loss %.2f, %d gradients for %d tensors\n", loss, len(net.Grads()), len(net.Params()))
	// Output: loss 1.18, 67 gradients for 4 tensors
}

// Inference through the fused path: the same logits as an inference-mode
// Forward, up to float32 rounding, without the state a backward pass needs.
func ExampleNetwork_Infer() {
	net, _ := nn.New(nn.CNN([]int{1, 28, 28}, 10, nn.CNNOptions{BatchNorm: true}), 1)
	x := make([]float32, 4*28*28)
	for i := range x {
		x[i] = float32(i%29) / 29
	}
	plain := append([]float32(nil), net.Forward(x, 4, false)...)
	fused := net.Infer(x, 4)
	var worst float64
	for i := range plain {
		worst = max(worst, math.Abs(float64(fused[i]-plain[i])))
	}
	fmt.Println(len(fused), "logits; largest difference below 1e-5:", worst < 1e-5)
	// Output: 40 logits; largest difference below 1e-5: true
}
