package pcb

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// IoUThreshold is the authors' criterion: a detection is correct when its
// IoU with a ground-truth box of the same type is larger than this.
const IoUThreshold = 0.33

// ClassResult is the evaluation of one defect type.
type ClassResult struct {
	Class      Class `json:"class"`
	GT         int   `json:"gt"`         // annotated boxes
	Detections int   `json:"detections"` // all detections of the type
	Correct    int   `json:"correct"`    // detections matched to a box
	// AP is the average precision: the mean over the type's annotated
	// boxes of the precision at the rank where each is found (0 for a box
	// never found), as the authors' evaluation script computes it (no
	// interpolation). NaN when the type has no annotated box.
	AP float64 `json:"ap"`
}

// Result is the evaluation of detections on a set of images.
type Result struct {
	Images   int           `json:"images"`
	PerClass []ClassResult `json:"per_class"`
	// MAP is the mean of the types' AP (over types with annotated boxes).
	MAP float64 `json:"map"`
	// PooledAP is the same AP over the detections of all types ranked
	// together, which is what the authors' script reports as "AP".
	PooledAP float64 `json:"pooled_ap"`
	// F is the best F-score 2PR/(P+R) over confidence thresholds, reached
	// keeping the detections with confidence ≥ Threshold, at Precision and
	// Recall (all types pooled).
	F         float64 `json:"f"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	Threshold float64 `json:"threshold"`
	GT        int     `json:"gt"`
	// Detections counts all detections.
	Detections int `json:"detections"`
}

// scored is one detection in a ranking.
type scored struct {
	conf float64
	tp   bool
}

// rankConf sorts by decreasing confidence, keeping input order among ties.
func rankConf(s []scored) {
	slices.SortStableFunc(s, func(a, b scored) int {
		switch {
		case a.conf > b.conf:
			return -1
		case a.conf < b.conf:
			return 1
		}
		return 0
	})
}

// ap is the authors' compute_ap: Σ over correct detections of the precision
// at their rank, divided by the number of annotated boxes.
func ap(ranked []scored, nGT int) float64 {
	if nGT == 0 {
		return math.NaN()
	}
	var correct, sum float64
	for n, s := range ranked {
		if s.tp {
			correct++
			sum += correct / float64(n+1)
		}
	}
	return sum / float64(nGT)
}

// Evaluate scores dets against gt, both indexed by image. Each type is
// matched separately: its detections, by decreasing confidence (ties in
// image, then detection order), each take the not yet matched annotated
// box of the same type and image with the largest IoU, when that IoU is
// larger than [IoUThreshold]; the others are false positives.
func Evaluate(gt [][]Box, dets [][]Detection) (Result, error) {
	if len(gt) != len(dets) {
		return Result{}, fmt.Errorf("pcb: %d images of annotations, %d of detections", len(gt), len(dets))
	}
	r := Result{Images: len(gt)}
	for _, bs := range gt {
		r.GT += len(bs)
	}
	if r.GT == 0 {
		return Result{}, fmt.Errorf("pcb: the %d images have no annotated box to evaluate against", len(gt))
	}
	r.GT = 0
	var pooled []scored
	type ref struct{ img, i int }
	for _, c := range Classes() {
		cr := ClassResult{Class: c}
		var order []ref
		for img, ds := range dets {
			for i, d := range ds {
				if !d.Class.Valid() {
					return Result{}, fmt.Errorf("pcb: image %d detection %d: %v", img, i, d.Class)
				}
				if math.IsNaN(d.Confidence) {
					return Result{}, fmt.Errorf("pcb: image %d detection %d: confidence is NaN", img, i)
				}
				if d.Class == c {
					order = append(order, ref{img, i})
				}
			}
		}
		slices.SortStableFunc(order, func(a, b ref) int {
			ca, cb := dets[a.img][a.i].Confidence, dets[b.img][b.i].Confidence
			switch {
			case ca > cb:
				return -1
			case ca < cb:
				return 1
			}
			return 0
		})
		used := make([][]bool, len(gt))
		for img, bs := range gt {
			used[img] = make([]bool, len(bs))
			for _, b := range bs {
				if b.Class == c {
					cr.GT++
				}
			}
		}
		ranked := make([]scored, 0, len(order))
		for _, o := range order {
			d := dets[o.img][o.i]
			best, bi := IoUThreshold, -1
			for j, b := range gt[o.img] {
				if b.Class == c && !used[o.img][j] {
					if v := IoU(d.Box, b); v > best {
						best, bi = v, j
					}
				}
			}
			if bi >= 0 {
				used[o.img][bi] = true
				cr.Correct++
			}
			ranked = append(ranked, scored{d.Confidence, bi >= 0})
		}
		cr.Detections = len(order)
		cr.AP = ap(ranked, cr.GT)
		r.PerClass = append(r.PerClass, cr)
		r.GT += cr.GT
		r.Detections += cr.Detections
		pooled = append(pooled, ranked...)
	}
	var sum float64
	var n int
	for _, cr := range r.PerClass {
		if !math.IsNaN(cr.AP) {
			sum, n = sum+cr.AP, n+1
		}
	}
	r.MAP = math.NaN()
	if n > 0 {
		r.MAP = sum / float64(n)
	}
	// Pooled: rank all types together (stable: class, then confidence
	// order within the class, among ties).
	rankConf(pooled)
	r.PooledAP = ap(pooled, r.GT)
	tp, first := 0, true
	for i, s := range pooled {
		if s.tp {
			tp++
		}
		if i+1 < len(pooled) && pooled[i+1].conf == s.conf {
			continue // a threshold keeps all detections of equal confidence
		}
		p := float64(tp) / float64(i+1)
		rec := 0.0
		if r.GT > 0 {
			rec = float64(tp) / float64(r.GT)
		}
		if f := fscore(p, rec); f > r.F || first {
			r.F, r.Precision, r.Recall, r.Threshold, first = f, p, rec, s.conf, false
		}
	}
	return r, nil
}

// MarshalJSON writes a NaN AP (a type without annotated boxes) as null.
func (c ClassResult) MarshalJSON() ([]byte, error) {
	type plain ClassResult
	v := struct {
		plain
		AP *float64 `json:"ap"`
	}{plain: plain(c)}
	if !math.IsNaN(c.AP) {
		v.AP = &c.AP
	}
	return json.Marshal(v)
}

func fscore(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}
