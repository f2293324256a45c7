package nn

import (
	"fmt"
	"math"

	"github.com/trustml/trustml/model"
)

// SoftmaxCrossEntropy returns the mean cross-entropy of n×k logits against
// labels, with label smoothing eps (PyTorch's convention: the target puts
// 1−eps+eps/k on the label and eps/k elsewhere), and writes the gradient of
// that mean with respect to the logits into dlogits. It also returns the
// number of correct argmax predictions.
func SoftmaxCrossEntropy(logits, dlogits []float32, labels []int, k int, eps float64) (loss float64, correct int) {
	n := len(labels)
	inv := 1 / float64(n)
	off := eps / float64(k)
	for i := 0; i < n; i++ {
		row := logits[i*k : (i+1)*k]
		d := dlogits[i*k : (i+1)*k]
		y := labels[i]
		m, arg := row[0], 0
		for j, v := range row {
			if v > m {
				m, arg = v, j
			}
		}
		if arg == y {
			correct++
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v - m))
		}
		lse := float64(m) + math.Log(s)
		for j, v := range row {
			p := math.Exp(float64(v) - lse) // softmax
			t := off
			if j == y {
				t += 1 - eps
			}
			loss -= t * (float64(v) - lse)
			d[j] = float32((p - t) * inv)
		}
	}
	return loss * inv, correct
}

// CrossEntropyLoss returns a [model.LossFunc] computing the mean
// cross-entropy against labels (for example for white-box attacks, which
// ascend it).
func CrossEntropyLoss(labels []int) model.LossFunc {
	return func(logits, dlogits []float32, n, k int) float64 {
		if n != len(labels) {
			panic(fmt.Sprintf("nn: CrossEntropyLoss built for %d labels used on %d inputs", len(labels), n))
		}
		l, _ := SoftmaxCrossEntropy(logits, dlogits, labels, k, 0)
		return l
	}
}
