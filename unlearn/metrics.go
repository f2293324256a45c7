package unlearn

import (
	"context"
	"fmt"
	"math"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
)

// Metrics are the unlearning metrics of one model on a [Task] (training.md
// §11), accuracies as fractions:
//
//   - Forget: accuracy on the forget set (FA);
//   - Retain: accuracy on the retain set (RA);
//   - Test: accuracy on the test samples outside the forgotten class or
//     sub-class, all of them for random forgetting (TA);
//   - ForgetTest: accuracy on the test samples of the forgotten class or
//     sub-class (nil for random forgetting);
//   - MIA: the AUC of a loss-based membership-inference attack telling
//     forget samples (members, positive) from unseen test samples of the
//     same kind (those of TestForget, or all of TestKeep for random
//     forgetting), the score being the negated cross-entropy. A model that
//     never saw the forget set gives about 0.5; one that memorised it more;
//   - MIAEntropy: the papers' MIA ([EntropyMIA]), the fraction of forget
//     samples that an entropy-based attack fitted on the retain set
//     (members) and TestKeep (non-members) calls members.
type Metrics struct {
	Forget     float64  `json:"forget_acc"`
	Retain     float64  `json:"retain_acc"`
	Test       float64  `json:"test_acc"`
	ForgetTest *float64 `json:"forget_test_acc,omitempty"`
	MIA        float64  `json:"mia_auc"`
	MIAEntropy float64  `json:"mia_entropy"`
	Seconds    float64  `json:"seconds"` // wall time of the method (0 for the original model)
}

// Gap is the absolute difference to the retrained model on every metric
// and the mean over FA, RA, TA and the entropy MIA (the papers' "Avg.
// Gap"), with the method's time relative to retraining's.
type Gap struct {
	Forget     float64  `json:"forget_acc"`
	Retain     float64  `json:"retain_acc"`
	Test       float64  `json:"test_acc"`
	ForgetTest *float64 `json:"forget_test_acc,omitempty"`
	MIA        float64  `json:"mia_auc"`
	MIAEntropy float64  `json:"mia_entropy"`
	Avg        float64  `json:"avg"`
	TimeRatio  float64  `json:"time_ratio"` // method seconds / retraining seconds
}

// GapTo returns the gap of m to the retrained model's metrics ref.
func (m Metrics) GapTo(ref Metrics) Gap {
	g := Gap{Forget: math.Abs(m.Forget - ref.Forget), Retain: math.Abs(m.Retain - ref.Retain),
		Test: math.Abs(m.Test - ref.Test), MIA: math.Abs(m.MIA - ref.MIA), MIAEntropy: math.Abs(m.MIAEntropy - ref.MIAEntropy)}
	if m.ForgetTest != nil && ref.ForgetTest != nil {
		v := math.Abs(*m.ForgetTest - *ref.ForgetTest)
		g.ForgetTest = &v
	}
	g.Avg = (g.Forget + g.Retain + g.Test + g.MIAEntropy) / 4
	if ref.Seconds > 0 {
		g.TimeRatio = m.Seconds / ref.Seconds
	}
	return g
}

// Evaluate measures m on the task (inference mode).
func Evaluate(ctx context.Context, m model.Classifier, t *Task) (Metrics, error) {
	var out Metrics
	fa, fl, fe, err := accLossEnt(ctx, m, t.Train, t.Forget)
	if err != nil {
		return out, err
	}
	ra, _, re, err := accLossEnt(ctx, m, t.Train, t.Retain)
	if err != nil {
		return out, err
	}
	ta, tl, te, err := accLossEnt(ctx, m, t.Test, t.TestKeep)
	if err != nil {
		return out, err
	}
	if out.MIAEntropy, err = EntropyMIA(re, te, fe); err != nil {
		return out, err
	}
	out.Forget, out.Retain, out.Test = fa, ra, ta
	if len(t.TestForget) > 0 {
		fta, ftl, err := accLoss(ctx, m, t.Test, t.TestForget)
		if err != nil {
			return out, err
		}
		out.ForgetTest, tl = &fta, ftl
	}
	if out.MIA, err = MIA(fl, tl); err != nil {
		return out, err
	}
	return out, nil
}

// MIA is the AUC of the loss-based membership-inference attack: members'
// and non-members' per-sample cross-entropies, scored by their negation
// (ties count ½).
func MIA(memberLoss, nonMemberLoss []float64) (float64, error) {
	neg := func(s []float64) []float64 {
		o := make([]float64, len(s))
		for i, v := range s {
			o[i] = -v
		}
		return o
	}
	auc, err := metrics.AUROC(neg(memberLoss), neg(nonMemberLoss), metrics.InPositive)
	if err != nil {
		return 0, fmt.Errorf("unlearn: membership inference: %w", err)
	}
	return auc, nil
}

// accLoss returns the accuracy on the samples idx of d and their
// per-sample cross-entropies.
func accLoss(ctx context.Context, m model.Classifier, d *data.Dataset, idx []int) (float64, []float64, error) {
	a, l, _, err := accLossEnt(ctx, m, d, idx)
	return a, l, err
}

// accLossEnt is accLoss with the softmax entropies.
func accLossEnt(ctx context.Context, m model.Classifier, d *data.Dataset, idx []int) (float64, []float64, []float64, error) {
	k := m.NumClasses()
	const chunk = 256
	size := d.SampleSize()
	x := make([]float32, 0, chunk*size)
	lg := make([]float32, chunk*k)
	losses := make([]float64, 0, len(idx))
	ents := make([]float64, 0, len(idx))
	ok := 0
	for lo := 0; lo < len(idx); lo += chunk {
		part := idx[lo:min(lo+chunk, len(idx))]
		x = x[:0]
		for _, i := range part {
			x = append(x, d.Row(i)...)
		}
		if err := m.Logits(ctx, lg[:len(part)*k], x); err != nil {
			return 0, nil, nil, fmt.Errorf("unlearn: evaluating %s: %w", d.Name, err)
		}
		for p, i := range part {
			row := lg[p*k : (p+1)*k]
			if metrics.Argmax(row) == d.Y[i] {
				ok++
			}
			losses = append(losses, crossEntropy(row, d.Y[i]))
			ents = append(ents, entropy(row))
		}
	}
	if len(idx) == 0 {
		return math.NaN(), nil, nil, nil
	}
	return float64(ok) / float64(len(idx)), losses, ents, nil
}

// crossEntropy is −log softmax(row)[y], computed in float64.
func crossEntropy(row []float32, y int) float64 {
	m := float64(row[0])
	for _, v := range row {
		m = max(m, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s) - float64(row[y])
}
