package attack

import (
	"fmt"
	"math"
	"strings"

	"github.com/trustml/trustml/model"
)

// Loss selects the objective an attack minimises over the scores z of one
// input with label y (untargeted) or target t (targeted). See the package
// documentation for which attack uses which by default.
type Loss int

const (
	// LossDefault lets each attack use its reference objective. Evaluated
	// directly (Value, Grad, Func) it behaves as LossMargin.
	LossDefault Loss = iota
	// LossMargin is z_y − max_{j≠y} z_j; targeted max_{j≠t} z_j − z_t. The
	// sample is fooled when it is < 0 (on ties it depends on the index).
	LossMargin
	// LossCE is log p_y, the negative cross-entropy; targeted −log p_t, the
	// cross-entropy of the target. p = softmax(z).
	LossCE
	// LossProb is p_y; targeted −p_t (SimBA's criterion).
	LossProb
	// LossUp is the AAA paper's opposite-direction adaptive attack
	// ("up-Square", the official code's --loss=up): the objective is the
	// margin, but a candidate is accepted when the observed margin
	// increases or drops by more than [AdaptiveJump] (robustness.md §1.3).
	// Only [Square] implements it.
	LossUp
	// LossBi is the AAA paper's bi-directional adaptive attack
	// ("bi-Square", --loss=bi): each sample starts with the usual
	// acceptance (the margin must decrease) and switches to the LossUp rule
	// once a candidate's observed margin jumps up by more than
	// [AdaptiveJump]. Only [Square] implements it.
	LossBi
)

// AdaptiveJump is the margin change (in logits) that the adaptive rules
// LossUp and LossBi react to, as in the official AAA code.
const AdaptiveJump = 3.0

var lossNames = [...]string{"default", "margin", "ce", "prob", "up", "bi"}

// Adaptive reports whether l is one of the adaptive acceptance rules
// LossUp and LossBi, whose objective is the margin.
func (l Loss) Adaptive() bool { return l == LossUp || l == LossBi }

// String returns "default", "margin", "ce", "prob", "up" or "bi".
func (l Loss) String() string {
	if l >= 0 && int(l) < len(lossNames) {
		return lossNames[l]
	}
	return fmt.Sprintf("Loss(%d)", int(l))
}

// ParseLoss parses a loss name as printed by [Loss.String]
// ("cross-entropy" and "xent" are accepted for "ce").
func ParseLoss(s string) (Loss, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "default":
		return LossDefault, nil
	case "margin":
		return LossMargin, nil
	case "ce", "xent", "cross-entropy", "crossentropy":
		return LossCE, nil
	case "prob", "probability":
		return LossProb, nil
	case "up":
		return LossUp, nil
	case "bi":
		return LossBi, nil
	}
	return 0, fmt.Errorf("attack: unknown loss %q (want margin, ce, prob, up or bi)", s)
}

// MarshalText encodes the loss as its name.
func (l Loss) MarshalText() ([]byte, error) {
	if l < LossDefault || l > LossBi {
		return nil, fmt.Errorf("attack: invalid loss %d", int(l))
	}
	return []byte(l.String()), nil
}

// UnmarshalText decodes a loss name, see [ParseLoss].
func (l *Loss) UnmarshalText(b []byte) error {
	v, err := ParseLoss(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Margin returns z[label] − max_{j≠label} z[j], the top margin of the
// label: positive when the label is the unique argmax.
func Margin(z []float32, label int) float64 {
	m, _ := otherMax(z, label)
	return float64(z[label]) - m
}

// otherMax returns the largest z[j], j ≠ c, and its index (−1 if K = 1).
func otherMax(z []float32, c int) (float64, int) {
	best, at := math.Inf(-1), -1
	for j, v := range z {
		if j != c && (at < 0 || float64(v) > best) {
			best, at = float64(v), j
		}
	}
	return best, at
}

// logSumExp returns log Σ exp(z) computed stably in float64.
func logSumExp(z []float32) float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, float64(v))
	}
	if math.IsInf(m, 0) || math.IsNaN(m) {
		return m
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s)
}

// Value returns the objective of scores z for label (untargeted) or target
// (targeted); the adaptive rules LossUp and LossBi observe the margin. z must have at least 2 entries and label must index z.
func (l Loss) Value(z []float32, label int, targeted bool) float64 {
	switch l {
	case LossCE:
		lp := float64(z[label]) - logSumExp(z)
		if targeted {
			return -lp
		}
		return lp
	case LossProb:
		p := math.Exp(float64(z[label]) - logSumExp(z))
		if targeted {
			return -p
		}
		return p
	default:
		m := Margin(z, label)
		if targeted {
			return -m
		}
		return m
	}
}

// Grad writes the derivative of the objective with respect to the scores
// into dz (len(dz) == len(z)) and returns the objective, see [Loss.Value].
func (l Loss) Grad(dz, z []float32, label int, targeted bool) float64 {
	sign := 1.0
	if targeted {
		sign = -1
	}
	switch l {
	case LossCE, LossProb:
		lse := logSumExp(z)
		py := math.Exp(float64(z[label]) - lse)
		scale := sign // d log p_y / dz = e_y − p
		val := float64(z[label]) - lse
		if l == LossProb { // d p_y / dz = p_y (e_y − p)
			scale = sign * py
			val = py
		}
		for j, v := range z {
			p := math.Exp(float64(v) - lse)
			e := 0.0
			if j == label {
				e = 1
			}
			dz[j] = float32(scale * (e - p))
		}
		return sign * val
	default:
		m, at := otherMax(z, label)
		clear(dz)
		dz[label] = float32(sign)
		if at >= 0 {
			dz[at] = float32(-sign)
		}
		return sign * (float64(z[label]) - m)
	}
}

// Func returns the objective as a [model.LossFunc] over a batch whose row i
// has label (or target) labels[i]: the mean objective over the rows, with
// the gradient of that mean.
func (l Loss) Func(labels []int, targeted bool) model.LossFunc {
	return func(logits, dlogits []float32, n, k int) float64 {
		if n == 0 {
			return 0
		}
		var s float64
		inv := float32(1) / float32(n)
		for i := range n {
			z, dz := logits[i*k:(i+1)*k], dlogits[i*k:(i+1)*k]
			s += l.Grad(dz, z, labels[i], targeted)
			for j := range dz {
				dz[j] *= inv
			}
		}
		return s / float64(n)
	}
}

// resolve maps LossDefault to def.
func (l Loss) resolve(def Loss) Loss {
	if l == LossDefault {
		return def
	}
	return l
}
