package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Positive selects which samples a metric treats as the positive class.
type Positive int

const (
	// InPositive: in-distribution samples are positives, ranked by the
	// scores as given (higher = more in-distribution).
	InPositive Positive = iota
	// OutPositive: OoD samples are positives, ranked by the negated
	// scores.
	OutPositive
)

// String returns "in" or "out".
func (p Positive) String() string {
	if p == OutPositive {
		return "out"
	}
	return "in"
}

// ErrScores is returned (wrapped) for empty or non-finite score sets.
var ErrScores = errors.New("metrics: invalid scores")

// ROC is a receiver operating characteristic curve with one point per
// distinct score, as scikit-learn's roc_curve(drop_intermediate=False)
// returns it: FPR[0] = TPR[0] = 0 (threshold +∞), then point i+1 classifies
// as positive every sample whose (oriented) score ≥ Thresholds[i].
// Thresholds are in the orientation of the positive class: the scores for
// [InPositive], the negated scores for [OutPositive].
type ROC struct {
	FPR, TPR   []float64
	Thresholds []float64 // len(FPR) − 1, descending
	// Precision[i] is the precision at point i+1 (for average precision).
	Precision []float64
}

// orient returns the positive and negative scores in the orientation of pos.
func orient(id, ood []float64, pos Positive) (p, n []float64, err error) {
	if len(id) == 0 || len(ood) == 0 {
		return nil, nil, fmt.Errorf("%w: need at least one ID and one OoD score (got %d and %d)", ErrScores, len(id), len(ood))
	}
	for name, s := range map[string][]float64{"ID": id, "OoD": ood} {
		for i, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, nil, fmt.Errorf("%w: %s score %d is %v", ErrScores, name, i, v)
			}
		}
	}
	switch pos {
	case InPositive:
		return id, ood, nil
	case OutPositive:
		neg := func(s []float64) []float64 {
			o := make([]float64, len(s))
			for i, v := range s {
				o[i] = -v
			}
			return o
		}
		return neg(ood), neg(id), nil
	}
	return nil, nil, fmt.Errorf("metrics: unknown positive class %d", int(pos))
}

// NewROC computes the ROC curve of ID scores against OoD scores with the
// given positive class.
func NewROC(id, ood []float64, pos Positive) (*ROC, error) {
	p, n, err := orient(id, ood, pos)
	if err != nil {
		return nil, err
	}
	type item struct {
		s   float64
		pos bool
	}
	all := make([]item, 0, len(p)+len(n))
	for _, v := range p {
		all = append(all, item{v, true})
	}
	for _, v := range n {
		all = append(all, item{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].s > all[j].s })
	r := &ROC{FPR: []float64{0}, TPR: []float64{0}}
	np, nn := float64(len(p)), float64(len(n))
	var tp, fp float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].s == all[i].s {
			if all[j].pos {
				tp++
			} else {
				fp++
			}
			j++
		}
		r.Thresholds = append(r.Thresholds, all[i].s)
		r.TPR = append(r.TPR, tp/np)
		r.FPR = append(r.FPR, fp/nn)
		r.Precision = append(r.Precision, tp/(tp+fp))
		i = j
	}
	return r, nil
}

// AUC is the trapezoid area under the curve.
func (r *ROC) AUC() float64 {
	var a float64
	for i := 1; i < len(r.FPR); i++ {
		a += (r.FPR[i] - r.FPR[i-1]) * (r.TPR[i] + r.TPR[i-1]) / 2
	}
	return a
}

// AveragePrecision is Σₙ (Rₙ − Rₙ₋₁)·Pₙ over the distinct thresholds, the
// area under the precision–recall curve as scikit-learn's
// average_precision_score computes it (no interpolation).
func (r *ROC) AveragePrecision() float64 {
	var a float64
	for i := 1; i < len(r.TPR); i++ {
		a += (r.TPR[i] - r.TPR[i-1]) * r.Precision[i-1]
	}
	return a
}

// FPRAt returns the false positive rate at the first ROC point (highest
// threshold) whose true positive rate reaches tpr.
func (r *ROC) FPRAt(tpr float64) float64 {
	i, _ := slices.BinarySearch(r.TPR, tpr)
	if i >= len(r.FPR) {
		i = len(r.FPR) - 1
	}
	return r.FPR[i]
}

// FPR95 is the false positive rate at 95% true positive rate: with
// [InPositive], the fraction of OoD samples accepted as ID when the
// threshold keeps 95% of the ID samples. It is read off the ROC at the first
// point with TPR ≥ 0.95, so tied scores at the threshold are all accepted.
// (The KNN-OoD and mode-ensemble reference code instead thresholds at the ID
// score of index round(0.05·n) in ascending order and counts OoD scores
// strictly above it; without ties the two differ by at most one ID sample's
// worth of threshold.)
func FPR95(id, ood []float64, pos Positive) (float64, error) {
	r, err := NewROC(id, ood, pos)
	if err != nil {
		return 0, err
	}
	return r.FPRAt(0.95), nil
}

// AUROC is the area under the ROC curve (ties count ½). It is the same for
// either positive class.
func AUROC(id, ood []float64, pos Positive) (float64, error) {
	r, err := NewROC(id, ood, pos)
	if err != nil {
		return 0, err
	}
	return r.AUC(), nil
}

// AUPR is the average precision with the given positive class: AUPR-In for
// [InPositive], AUPR-Out for [OutPositive].
func AUPR(id, ood []float64, pos Positive) (float64, error) {
	r, err := NewROC(id, ood, pos)
	if err != nil {
		return 0, err
	}
	return r.AveragePrecision(), nil
}

// OoD holds the standard OoD detection numbers, as fractions in [0, 1].
type OoD struct {
	FPR95   float64 `json:"fpr95"`    // FPR at 95% TPR, ID positive (lower is better)
	AUROC   float64 `json:"auroc"`    // area under the ROC
	AUPRIn  float64 `json:"aupr_in"`  // average precision, ID positive
	AUPROut float64 `json:"aupr_out"` // average precision, OoD positive
}

// EvaluateOoD computes [OoD] of ID scores against OoD scores.
func EvaluateOoD(id, ood []float64) (OoD, error) {
	in, err := NewROC(id, ood, InPositive)
	if err != nil {
		return OoD{}, err
	}
	out, err := NewROC(id, ood, OutPositive)
	if err != nil {
		return OoD{}, err
	}
	return OoD{FPR95: in.FPRAt(0.95), AUROC: in.AUC(), AUPRIn: in.AveragePrecision(), AUPROut: out.AveragePrecision()}, nil
}
