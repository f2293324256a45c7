package pcb

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"math"
	"slices"

	"github.com/trustml/trustml/progress"
)

// Params are the image-processing settings of the [Baseline] detector.
type Params struct {
	Threshold   int     `flag:"threshold" help:"binarisation threshold: pixels brighter than this are copper" json:"threshold"`
	MaxShift    int     `flag:"max-shift" help:"alignment check: search shifts of the tested image up to this many pixels" json:"max_shift"`
	OpenRadius  int     `flag:"open" help:"radius of the square opening that removes edge noise from the difference" json:"open"`
	CloseRadius int     `flag:"close" help:"radius of the square closing that merges fragments of a defect" json:"close"`
	MinArea     int     `flag:"min-area" help:"smallest component (pixels) kept as a candidate" json:"min_area"`
	Margin      int     `flag:"margin" help:"margin (pixels) of the window around a component whose copper regions and holes are counted" json:"margin"`
	NMS         float64 `flag:"nms" help:"drop a detection overlapping a more confident one of the same type with IoU above this" json:"nms"`
}

// DefaultParams returns the settings used by trustml repro pcb.
func DefaultParams() Params {
	return Params{Threshold: 127, MaxShift: 2, OpenRadius: 1, CloseRadius: 3, MinArea: 20, Margin: 8, NMS: 0.33}
}

// Validate checks that the settings are usable.
func (p Params) Validate() error {
	switch {
	case p.Threshold < 0 || p.Threshold > 254:
		return fmt.Errorf("pcb: threshold %d: want 0…254", p.Threshold)
	case p.MaxShift < 0 || p.MaxShift > 32:
		return fmt.Errorf("pcb: max-shift %d: want 0…32", p.MaxShift)
	case p.OpenRadius < 0 || p.CloseRadius < 0 || p.OpenRadius > 16 || p.CloseRadius > 16:
		return fmt.Errorf("pcb: open %d, close %d: want radii 0…16", p.OpenRadius, p.CloseRadius)
	case p.MinArea < 1 || p.Margin < 1:
		return fmt.Errorf("pcb: min-area %d, margin %d: want ≥ 1", p.MinArea, p.Margin)
	case !(p.NMS > 0 && p.NMS <= 1):
		return fmt.Errorf("pcb: nms %g: want (0, 1]", p.NMS)
	}
	return nil
}

// FeatureNames names the features of a candidate component, in order.
var FeatureNames = []string{"log area", "log width", "log height", "|log aspect|", "fill", "polarity", "diff density",
	"Δregions", "Δholes", "Δregions>0", "Δregions<0", "Δholes>0", "Δholes<0", "template copper"}

// numK is the number of classifier outputs: background and the six types.
const numK = NumClasses + 1

// Baseline is the image-difference detector with its fitted classifier:
// a multinomial logistic regression over background and the six defect
// types on standardised component features, and per type a linear map from
// a component's width and height to its box's (annotators' boxes are
// larger than the defect). [Fit] fits it; it is saved as JSON.
type Baseline struct {
	Params Params `json:"params"`
	// Features names the inputs (FeatureNames when fitted).
	Features []string `json:"features"`
	// Mean and Std standardise the features.
	Mean []float64 `json:"mean"`
	Std  []float64 `json:"std"`
	// Weights has one row per output (background, open … pin-hole): the
	// feature weights then the bias.
	Weights [][]float64 `json:"weights"`
	// BoxScale has one row per output: box width = a + b·component width,
	// box height = c + d·component height, as [a b c d].
	BoxScale [][4]float64 `json:"box_scale"`
}

// Detection is a detected defect box with its confidence.
type Detection struct {
	Box
	Confidence float64
}

// Alignment is the result of the alignment check of a pair.
type Alignment struct {
	DX, DY int // shift applied to the tested image
	// Diff is the fraction of pixels differing at that shift; Unshifted at
	// none.
	Diff, Unshifted float64
}

// candidate is a connected component of the difference with its features.
type candidate struct {
	box  Box // tight box, Class unset
	feat []float64
}

// candidates runs the image part of the detector: binarisation, alignment
// check, difference, opening, closing, components and their features.
func candidates(p Params, tmplG, testG *image.Gray) ([]candidate, Alignment) {
	tmpl, test := binarize(tmplG, p.Threshold), binarize(testG, p.Threshold)
	var al Alignment
	al.DX, al.DY, al.Diff, al.Unshifted = align(tmpl, test, p.MaxShift)
	// A shift is applied only when it removes most of the difference:
	// DeepPCB's pairs are registered, and noise must not move them.
	if al.Diff > 0.5*al.Unshifted {
		al.DX, al.DY, al.Diff = 0, 0, al.Unshifted
	}
	test = test.shifted(al.DX, al.DY)
	w, h := tmpl.w, tmpl.h
	diff := newMask(w, h)
	for i := range diff.px {
		diff.px[i] = tmpl.px[i] ^ test.px[i]
	}
	m := closing(opening(diff, p.OpenRadius), p.CloseRadius)
	var out []candidate
	for _, c := range components(m, false) {
		if len(c.pixels) < p.MinArea {
			continue
		}
		bw, bh := c.x2-c.x1, c.y2-c.y1
		var pos, neg, dens, tcu int
		for _, q := range c.pixels {
			if diff.px[q] != 0 {
				if test.px[q] != 0 {
					pos++
				} else {
					neg++
				}
			}
		}
		for y := c.y1; y < c.y2; y++ {
			for x := c.x1; x < c.x2; x++ {
				dens += int(diff.px[y*w+x])
			}
		}
		x1, y1 := max(0, c.x1-p.Margin), max(0, c.y1-p.Margin)
		x2, y2 := min(w, c.x2+p.Margin), min(h, c.y2+p.Margin)
		for y := y1; y < y2; y++ {
			for x := x1; x < x2; x++ {
				tcu += int(tmpl.px[y*w+x])
			}
		}
		r0, h0 := topology(tmpl, x1, y1, x2, y2)
		r1, h1 := topology(test, x1, y1, x2, y2)
		dr, dh := float64(max(-2, min(2, r1-r0))), float64(max(-2, min(2, h1-h0)))
		pol := 0.0
		if pos+neg > 0 {
			pol = float64(pos-neg) / float64(pos+neg)
		}
		b2f := func(b bool) float64 {
			if b {
				return 1
			}
			return 0
		}
		out = append(out, candidate{box: Box{X1: c.x1, Y1: c.y1, X2: c.x2, Y2: c.y2}, feat: []float64{
			math.Log(float64(len(c.pixels))), math.Log(float64(bw)), math.Log(float64(bh)),
			math.Abs(math.Log(float64(bw) / float64(bh))), float64(len(c.pixels)) / float64(bw*bh),
			pol, float64(dens) / float64(bw*bh), dr, dh, b2f(dr > 0), b2f(dr < 0), b2f(dh > 0), b2f(dh < 0),
			float64(tcu) / float64((x2-x1)*(y2-y1)),
		}})
	}
	return out, al
}

// probs writes the classifier's output probabilities for features f into
// dst (length numK).
func (b *Baseline) probs(dst, f []float64) {
	mx := math.Inf(-1)
	for k, row := range b.Weights {
		s := row[len(f)]
		for j, v := range f {
			s += row[j] * (v - b.Mean[j]) / b.Std[j]
		}
		dst[k] = s
		mx = max(mx, s)
	}
	var z float64
	for k := range dst {
		dst[k] = math.Exp(dst[k] - mx)
		z += dst[k]
	}
	for k := range dst {
		dst[k] /= z
	}
}

// Detect finds the defects of the tested image against its template: every
// candidate component becomes a box of its most probable defect type, with
// that type's probability as confidence, scaled to the annotators' box
// size; same-type boxes overlapping a more confident one are dropped.
// Detections are sorted by decreasing confidence.
func (b *Baseline) Detect(tmpl, test *image.Gray) ([]Detection, Alignment, error) {
	if err := b.check(); err != nil {
		return nil, Alignment{}, err
	}
	if tmpl.Rect.Size() != test.Rect.Size() {
		return nil, Alignment{}, fmt.Errorf("pcb: template is %v, tested image %v: want the same size", tmpl.Rect.Size(), test.Rect.Size())
	}
	cands, al := candidates(b.Params, tmpl, test)
	w, h := test.Rect.Dx(), test.Rect.Dy()
	p := make([]float64, numK)
	var dets []Detection
	for _, c := range cands {
		b.probs(p, c.feat)
		k := 1
		for j := 2; j < numK; j++ {
			if p[j] > p[k] {
				k = j
			}
		}
		s := b.BoxScale[k]
		bw := max(1, s[0]+s[1]*float64(c.box.X2-c.box.X1))
		bh := max(1, s[2]+s[3]*float64(c.box.Y2-c.box.Y1))
		cx, cy := float64(c.box.X1+c.box.X2)/2, float64(c.box.Y1+c.box.Y2)/2
		box := Box{X1: int(math.Round(cx - bw/2)), Y1: int(math.Round(cy - bh/2)), X2: int(math.Round(cx + bw/2)), Y2: int(math.Round(cy + bh/2)), Class: Class(k)}
		box.X1, box.Y1, box.X2, box.Y2 = max(0, box.X1), max(0, box.Y1), min(w, box.X2), min(h, box.Y2)
		if box.X2 <= box.X1 || box.Y2 <= box.Y1 {
			continue
		}
		dets = append(dets, Detection{Box: box, Confidence: p[k]})
	}
	return nms(dets, b.Params.NMS), al, nil
}

// nms sorts dets by decreasing confidence and drops each that overlaps a
// kept one of the same type with IoU above thr.
func nms(dets []Detection, thr float64) []Detection {
	slices.SortStableFunc(dets, func(a, b Detection) int {
		switch {
		case a.Confidence > b.Confidence:
			return -1
		case a.Confidence < b.Confidence:
			return 1
		}
		return 0
	})
	var kept []Detection
	for _, d := range dets {
		ok := true
		for _, k := range kept {
			if k.Class == d.Class && IoU(k.Box, d.Box) > thr {
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, d)
		}
	}
	return kept
}

// check validates a baseline's shapes (a file read from disk may be
// inconsistent).
func (b *Baseline) check() error {
	if err := b.Params.Validate(); err != nil {
		return err
	}
	nf := len(FeatureNames)
	if len(b.Features) != nf || len(b.Mean) != nf || len(b.Std) != nf {
		return fmt.Errorf("%w: baseline has %d features, %d means, %d stds: want %d (%v)", ErrFormat, len(b.Features), len(b.Mean), len(b.Std), nf, FeatureNames)
	}
	for i, n := range FeatureNames {
		if b.Features[i] != n {
			return fmt.Errorf("%w: baseline feature %d is %q, want %q", ErrFormat, i, b.Features[i], n)
		}
		if !(b.Std[i] > 0) || math.IsInf(b.Std[i], 0) || math.IsNaN(b.Mean[i]) || math.IsInf(b.Mean[i], 0) {
			return fmt.Errorf("%w: feature %q has mean %g, std %g: want finite, std > 0", ErrFormat, n, b.Mean[i], b.Std[i])
		}
	}
	if len(b.Weights) != numK || len(b.BoxScale) != numK {
		return fmt.Errorf("%w: baseline has %d weight rows and %d box scales, want %d (background and 6 types)", ErrFormat, len(b.Weights), len(b.BoxScale), numK)
	}
	for k, row := range b.Weights {
		if len(row) != nf+1 {
			return fmt.Errorf("%w: weight row %d has %d values, want %d", ErrFormat, k, len(row), nf+1)
		}
		for _, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: weight row %d is not finite", ErrFormat, k)
			}
		}
		for _, v := range b.BoxScale[k] {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e4 {
				return fmt.Errorf("%w: box scale %d is %v: want finite values", ErrFormat, k, b.BoxScale[k])
			}
		}
	}
	return nil
}

// ReadBaseline reads a baseline saved by [Baseline.Write] and checks it.
func ReadBaseline(r io.Reader, name string) (*Baseline, error) {
	var b Baseline
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, name, err)
	}
	if err := b.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &b, nil
}

// Write saves the baseline as indented JSON.
func (b *Baseline) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(b)
}

// TrainStats describes a fit.
type TrainStats struct {
	Pairs      int `json:"pairs"`
	Candidates int `json:"candidates"`
	// PerClass counts the candidates labelled with each output (background,
	// open … pin-hole): a component is labelled with the annotated box that
	// holds most of it, when that is at least half of it.
	PerClass [numK]int `json:"per_class"`
	// Accuracy is the classifier's accuracy on the training candidates.
	Accuracy float64 `json:"accuracy"`
}

// Fit fits the baseline's classifier and box scales on the pairs'
// candidate components, labelled by the annotations. The fit is
// deterministic.
func Fit(ctx context.Context, pairs []Pair, p Params, rep progress.Reporter) (*Baseline, TrainStats, error) {
	rep = progress.Or(rep)
	var st TrainStats
	if err := p.Validate(); err != nil {
		return nil, st, err
	}
	if len(pairs) == 0 {
		return nil, st, fmt.Errorf("pcb: no training pairs")
	}
	var X [][]float64
	var y []int
	type sizes struct{ cw, ch, gw, gh float64 }
	matched := make([][]sizes, numK)
	for i, pr := range pairs {
		if err := ctx.Err(); err != nil {
			return nil, st, err
		}
		tmpl, test, err := pr.Load()
		if err != nil {
			return nil, st, err
		}
		cands, _ := candidates(p, tmpl, test)
		for _, c := range cands {
			label, bestI := 0, 0
			var g Box
			for _, gt := range pr.Boxes {
				iw := min(c.box.X2, gt.X2) - max(c.box.X1, gt.X1)
				ih := min(c.box.Y2, gt.Y2) - max(c.box.Y1, gt.Y1)
				if iw > 0 && ih > 0 && iw*ih > bestI {
					bestI, g = iw*ih, gt
				}
			}
			if 2*bestI >= c.box.Area() {
				label = int(g.Class)
				matched[label] = append(matched[label], sizes{float64(c.box.X2 - c.box.X1), float64(c.box.Y2 - c.box.Y1), float64(g.X2 - g.X1), float64(g.Y2 - g.Y1)})
			}
			X, y = append(X, c.feat), append(y, label)
			st.PerClass[label]++
		}
		rep.Update("pcb train: candidates", i+1, len(pairs), fmt.Sprintf("%d", len(X)))
	}
	st.Pairs, st.Candidates = len(pairs), len(X)
	if len(X) == 0 {
		return nil, st, fmt.Errorf("pcb: the %d training pairs gave no candidate components", len(pairs))
	}
	b := &Baseline{Params: p, Features: slices.Clone(FeatureNames)}
	b.Mean, b.Std = standardize(X)
	b.Weights = fitSoftmax(ctx, X, y, b.Mean, b.Std, numK, 1e-4, 400)
	b.BoxScale = make([][4]float64, numK)
	for k := range numK {
		var cw, gw, ch, gh []float64
		for _, s := range matched[k] {
			cw, gw, ch, gh = append(cw, s.cw), append(gw, s.gw), append(ch, s.ch), append(gh, s.gh)
		}
		a, bb := linfit(cw, gw)
		c, d := linfit(ch, gh)
		b.BoxScale[k] = [4]float64{a, bb, c, d}
	}
	p2 := make([]float64, numK)
	hit := 0
	for i, f := range X {
		b.probs(p2, f)
		if argmax(p2) == y[i] {
			hit++
		}
	}
	st.Accuracy = float64(hit) / float64(len(X))
	return b, st, ctx.Err()
}

func argmax(p []float64) int {
	k := 0
	for j := range p {
		if p[j] > p[k] {
			k = j
		}
	}
	return k
}

// standardize returns the features' means and standard deviations (1 for a
// constant feature).
func standardize(X [][]float64) (mean, std []float64) {
	nf := len(X[0])
	mean, std = make([]float64, nf), make([]float64, nf)
	for _, f := range X {
		for j, v := range f {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(len(X))
	}
	for _, f := range X {
		for j, v := range f {
			std[j] += (v - mean[j]) * (v - mean[j])
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / float64(len(X)))
		if std[j] < 1e-9 {
			std[j] = 1
		}
	}
	return mean, std
}

// fitSoftmax fits a multinomial logistic regression with L2 penalty lambda
// (on the weights, not the biases) by full-batch gradient descent with
// Nesterov momentum on standardised features; rows are weights then bias.
func fitSoftmax(ctx context.Context, X [][]float64, y []int, mean, std []float64, k int, lambda float64, iters int) [][]float64 {
	nf := len(mean)
	n := float64(len(X))
	Z := make([][]float64, len(X))
	for i, f := range X {
		Z[i] = make([]float64, nf)
		for j, v := range f {
			Z[i][j] = (v - mean[j]) / std[j]
		}
	}
	W := make([][]float64, k)
	V := make([][]float64, k)
	G := make([][]float64, k)
	for c := range k {
		W[c], V[c], G[c] = make([]float64, nf+1), make([]float64, nf+1), make([]float64, nf+1)
	}
	p := make([]float64, k)
	const lr, mom = 0.5, 0.9
	look := make([][]float64, k)
	for c := range k {
		look[c] = make([]float64, nf+1)
	}
	for it := 0; it < iters && ctx.Err() == nil; it++ {
		for c := range k {
			for j := range look[c] {
				look[c][j] = W[c][j] + mom*V[c][j]
				G[c][j] = 0
			}
		}
		for i, z := range Z {
			mx := math.Inf(-1)
			for c := range k {
				s := look[c][nf]
				for j, v := range z {
					s += look[c][j] * v
				}
				p[c] = s
				mx = max(mx, s)
			}
			var sum float64
			for c := range k {
				p[c] = math.Exp(p[c] - mx)
				sum += p[c]
			}
			for c := range k {
				g := p[c] / sum
				if c == y[i] {
					g--
				}
				for j, v := range z {
					G[c][j] += g * v
				}
				G[c][nf] += g
			}
		}
		for c := range k {
			for j := range G[c] {
				g := G[c][j] / n
				if j < nf {
					g += lambda * look[c][j]
				}
				V[c][j] = mom*V[c][j] - lr*g
				W[c][j] += V[c][j]
			}
		}
	}
	return W
}

// linfit returns a, b of the least-squares line y ≈ a + b·x; with fewer
// than 3 points or no spread in x, the line through the mean ratio (a = 0).
func linfit(x, y []float64) (a, b float64) {
	n := float64(len(x))
	if len(x) == 0 {
		return 0, 1
	}
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx, sy, sxx, sxy = sx+x[i], sy+y[i], sxx+x[i]*x[i], sxy+x[i]*y[i]
	}
	den := n*sxx - sx*sx
	if len(x) < 3 || den <= 1e-9*n*sxx {
		if sx == 0 {
			return 0, 1
		}
		return 0, sy / sx
	}
	b = (n*sxy - sx*sy) / den
	return (sy - b*sx) / n, b
}
