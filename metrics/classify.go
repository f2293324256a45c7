// Package metrics computes the numbers trustml reports, with no plotting
// dependency: accuracy, negative log-likelihood, expected calibration error
// and reliability bins of a classifier's logits (laid out n×K row-major as in
// package model), softmax and argmax, and the out-of-distribution detection
// metrics (ROC, FPR at 95% TPR, AUROC, AUPR) with an explicit positive class.
// Package plot draws the figures.
package metrics

import (
	"fmt"
	"math"
)

// ECEBins is the number of equal-width confidence bins used by [ECE], as in
// the AAA paper's evaluation code.
const ECEBins = 15

// Softmax writes the row-wise softmax of the n×k logits into dst (which may
// alias logits), computed stably in float64.
func Softmax(dst, logits []float32, k int) {
	for i := 0; i+k <= len(logits); i += k {
		row := logits[i : i+k]
		m := row[0]
		for _, v := range row[1:] {
			if v > m {
				m = v
			}
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v - m))
		}
		for j, v := range row {
			dst[i+j] = float32(math.Exp(float64(v-m)) / s)
		}
	}
}

// Argmax returns the index of the largest value of row (the first on ties).
func Argmax[T float32 | float64](row []T) int {
	best := 0
	for j, v := range row {
		if v > row[best] {
			best = j
		}
	}
	return best
}

// Classification summarises a classifier's predictions on a labelled set.
type Classification struct {
	N        int     `json:"n"`
	Accuracy float64 `json:"accuracy"` // fraction in [0, 1]
	NLL      float64 `json:"nll"`      // mean negative log-likelihood, nats
	ECE      float64 `json:"ece"`      // expected calibration error in [0, 1], 15 bins
}

// Evaluate computes accuracy, NLL and ECE of n×k logits against labels.
func Evaluate(logits []float32, labels []int, k int) (Classification, error) {
	n := len(labels)
	if k <= 0 || len(logits) != n*k {
		return Classification{}, fmt.Errorf("metrics: %d logits for %d labels and %d classes", len(logits), n, k)
	}
	if n == 0 {
		return Classification{}, fmt.Errorf("metrics: no samples")
	}
	var correct int
	var nll float64
	conf := make([]float64, n)
	hit := make([]bool, n)
	for i := 0; i < n; i++ {
		row := logits[i*k : (i+1)*k]
		y := labels[i]
		if y < 0 || y >= k {
			return Classification{}, fmt.Errorf("metrics: label %d of sample %d outside [0, %d)", y, i, k)
		}
		lse, p := logSumExp(row)
		if math.IsNaN(lse) || math.IsInf(lse, 0) {
			return Classification{}, fmt.Errorf("metrics: non-finite logits for sample %d", i)
		}
		nll += lse - float64(row[y])
		a := Argmax(row)
		hit[i] = a == y
		if hit[i] {
			correct++
		}
		conf[i] = p
	}
	return Classification{
		N:        n,
		Accuracy: float64(correct) / float64(n),
		NLL:      nll / float64(n),
		ECE:      ece(conf, hit, ECEBins),
	}, nil
}

// logSumExp returns log Σ exp(row) and the largest softmax probability.
func logSumExp(row []float32) (float64, float64) {
	m := float64(row[0])
	for _, v := range row[1:] {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s), 1 / s
}

// ECE returns the expected calibration error of probabilities (n×k rows that
// sum to 1) against labels: the confidence-weighted gap between accuracy and
// mean confidence over [ECEBins] equal-width bins (m/B, (m+1)/B]. A sample
// with confidence exactly 0 falls in no bin, as in the reference code.
func ECE(probs []float32, labels []int, k int) (float64, error) {
	n := len(labels)
	if k <= 0 || len(probs) != n*k || n == 0 {
		return 0, fmt.Errorf("metrics: %d probabilities for %d labels and %d classes", len(probs), n, k)
	}
	conf := make([]float64, n)
	hit := make([]bool, n)
	for i := range n {
		row := probs[i*k : (i+1)*k]
		a := Argmax(row)
		conf[i] = float64(row[a])
		hit[i] = a == labels[i]
	}
	return ece(conf, hit, ECEBins), nil
}

func ece(conf []float64, hit []bool, bins int) float64 {
	count := make([]int, bins)
	sumConf := make([]float64, bins)
	sumHit := make([]float64, bins)
	for i, c := range conf {
		if c <= 0 {
			continue
		}
		b := int(math.Ceil(c*float64(bins))) - 1
		b = min(max(b, 0), bins-1)
		count[b]++
		sumConf[b] += c
		if hit[i] {
			sumHit[b]++
		}
	}
	var e float64
	for b := range bins {
		if count[b] > 0 {
			e += math.Abs(sumHit[b]-sumConf[b]) / float64(len(conf))
		}
	}
	return e
}

// Bin is one confidence bin of a reliability diagram.
type Bin struct {
	Lo         float64 `json:"lo"` // confidence interval (Lo, Hi]
	Hi         float64 `json:"hi"`
	Count      int     `json:"count"`
	Accuracy   float64 `json:"accuracy"`
	Confidence float64 `json:"confidence"` // mean confidence in the bin
}

// Reliability bins the top-class confidences conf (with hit telling whether
// each prediction was right) into [ECEBins] equal-width bins, the data of a
// reliability diagram; ECE is Σ Count/N·|Accuracy − Confidence|.
func Reliability(conf []float64, hit []bool) []Bin {
	bins := make([]Bin, ECEBins)
	for b := range bins {
		bins[b].Lo, bins[b].Hi = float64(b)/ECEBins, float64(b+1)/ECEBins
	}
	for i, c := range conf {
		if !(c > 0) {
			continue
		}
		b := min(max(int(math.Ceil(c*ECEBins))-1, 0), ECEBins-1)
		bins[b].Count++
		bins[b].Confidence += c
		if hit[i] {
			bins[b].Accuracy++
		}
	}
	for b := range bins {
		if n := float64(bins[b].Count); n > 0 {
			bins[b].Accuracy /= n
			bins[b].Confidence /= n
		}
	}
	return bins
}
