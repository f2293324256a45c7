package pcb

import (
	"cmp"
	"fmt"
	"image"
	"math"
	"slices"

	"github.com/trustml/trustml/nn"
)

// DeepParams are the settings of the [Deep] detector and of its training
// ([TrainDeep]); bound with the prefix "deep-" on the command line.
type DeepParams struct {
	Down   int     `flag:"down" help:"downscale the 640×640 images by this factor before the network (2: 320×320)" json:"down"`
	Width  int     `flag:"width" help:"channels of the network's first convolution; the others are 2, 4 and 8 times this" json:"width"`
	Split  float64 `flag:"split" help:"boxes whose longer side (downscaled pixels) is at most this go to the stride-4 head, larger ones to the stride-8 head" json:"split"`
	Score  float64 `flag:"score" help:"keep detections with a confidence of at least this" json:"score"`
	NMS    float64 `flag:"nms" help:"drop a detection overlapping a more confident one of the same type with IoU above this" json:"nms"`
	Crop   int     `flag:"crop" help:"training crop side in downscaled pixels (a multiple of 64)" json:"crop"`
	Epochs int     `flag:"epochs" help:"training epochs (one crop per training pair each)" json:"epochs"`
	Batch  int     `flag:"batch" help:"crops per training step" json:"batch"`
	LR     float64 `flag:"lr" help:"Adam learning rate (cosine decay to 0)" json:"lr"`
	Seed   uint64  `flag:"seed" help:"seed of the weights, the crops and the flips" json:"seed"`
}

// DefaultDeepParams returns the settings of the deep detector that trustml
// repro pcb trains: 320×320 inputs (the 640×640 images halved), width 8,
// 128×128 training crops, 36 epochs of batch 8.
func DefaultDeepParams() DeepParams {
	return DeepParams{Down: 2, Width: 8, Split: 24, Score: 0.05, NMS: 0.33, Crop: 128, Epochs: 36, Batch: 8, LR: 2e-3, Seed: 1}
}

// Validate checks that the settings are usable.
func (p DeepParams) Validate() error {
	switch {
	case p.Down < 1 || p.Down > 10 || ImageSize%p.Down != 0 || (ImageSize/p.Down)%64 != 0:
		return fmt.Errorf("pcb: deep-down %d: want 1, 2, 5 or 10 (640/down a multiple of 64)", p.Down)
	case p.Width < 1 || p.Width > 64:
		return fmt.Errorf("pcb: deep-width %d: want 1…64", p.Width)
	case !(p.Split > 0):
		return fmt.Errorf("pcb: deep-split %g: want > 0", p.Split)
	case !(p.Score >= 0 && p.Score < 1):
		return fmt.Errorf("pcb: deep-score %g: want [0, 1)", p.Score)
	case !(p.NMS > 0 && p.NMS <= 1):
		return fmt.Errorf("pcb: deep-nms %g: want (0, 1]", p.NMS)
	case p.Crop < 64 || p.Crop%64 != 0 || p.Crop > ImageSize/p.Down:
		return fmt.Errorf("pcb: deep-crop %d: want a multiple of 64 between 64 and %d", p.Crop, ImageSize/p.Down)
	case p.Epochs < 0 || p.Batch < 1:
		return fmt.Errorf("pcb: deep-epochs %d, deep-batch %d: want epochs ≥ 0, batch ≥ 1", p.Epochs, p.Batch)
	case !(p.LR > 0 && p.LR < 1):
		return fmt.Errorf("pcb: deep-lr %g: want (0, 1)", p.LR)
	}
	return nil
}

// Per-cell outputs of a prediction head: one logit per defect type, then
// the log distances (in strides) from the cell centre to the box's left,
// top, right and bottom edges.
const (
	headReg    = 4
	headOut    = NumClasses + headReg
	priorLogit = -4.59 // log(0.01/0.99): every type starts at probability 0.01
)

// DeepSpec returns the deep detector's architecture for side×side inputs
// (side a multiple of 64): a siamese stem (the template and the tested
// image through the same two convolutions, features concatenated), a trunk
// with a stride-8 group pyramid pooling module (average pooling over 2, 4
// and 8 cells, 1×1 convolutions, upsampling, concatenation) in a residual
// block that brings its context back to stride 4, and two anchor-free
// prediction heads, at strides 4 and 8, each giving per cell six type
// logits and four log box distances.
func DeepSpec(width, side int) nn.MapSpec {
	w := width
	conv := func(out, k, s int) nn.LayerSpec {
		return nn.LayerSpec{Kind: nn.KindConv, Out: out, Kernel: k, Stride: s, Pad: k / 2}
	}
	relu := nn.LayerSpec{Kind: nn.KindReLU}
	head := func(ch int) []nn.LayerSpec { return []nn.LayerSpec{conv(ch, 3, 1), relu, conv(headOut, 1, 1)} }
	return nn.MapSpec{
		Name:       "pcb-deep",
		InputShape: []int{2, side, side},
		Groups:     2,
		Shared:     []nn.LayerSpec{conv(w, 3, 1), relu, conv(2*w, 3, 2), relu},
		Trunk: []nn.LayerSpec{
			conv(4*w, 3, 2), relu, // stride 4
			{Kind: nn.KindResidual, Body: []nn.LayerSpec{
				conv(8*w, 3, 2), relu, // stride 8
				nn.PyramidPooling([]int{2, 4, 8}, 2*w),
				conv(4*w, 1, 1), relu,
				{Kind: nn.KindUpsample, Stride: 2},
			}},
			relu,                  // 4: the stride-4 head
			conv(8*w, 3, 2), relu, // 6: the stride-8 head
		},
		Heads: []nn.MapHead{{Name: "stride4", At: 4, Layers: head(4 * w)}, {Name: "stride8", At: 6, Layers: head(4 * w)}},
	}
}

// Deep is the two-input convolutional detector: a [DeepSpec] network and
// its settings. [TrainDeep] trains one; [OpenDeep] reads a saved one.
type Deep struct {
	Params DeepParams
	net    *nn.MapNet // for whole (downscaled) images
	x      []float32
}

// newDeep wraps a trained network (of any input size) for whole images.
func newDeep(p DeepParams, net *nn.MapNet) (*Deep, error) {
	side := ImageSize / p.Down
	full, err := net.WithInput(side, side)
	if err != nil {
		return nil, err
	}
	return &Deep{Params: p, net: full}, nil
}

// Net returns the detector's network (for 640/Down-pixel square inputs).
func (d *Deep) Net() *nn.MapNet { return d.net }

// downscale writes the mean of every Down×Down block of g, mapped to
// [-1, 1], into dst (side×side).
func downscale(dst []float32, g *image.Gray, down int) {
	side := g.Rect.Dx() / down
	inv := 2 / (255 * float32(down*down))
	for y := range side {
		for x := range side {
			var s int
			for dy := range down {
				row := g.Pix[(y*down+dy)*g.Stride+x*down:]
				for dx := range down {
					s += int(row[dx])
				}
			}
			dst[y*side+x] = float32(s)*inv - 1
		}
	}
}

// Detect finds the defects of the tested image against its template (both
// 640×640): every cell of both heads whose most probable type reaches
// Params.Score gives a box of that type, decoded from its distances;
// same-type boxes overlapping a more confident one (IoU > Params.NMS) are
// dropped. Detections are sorted by decreasing confidence.
func (d *Deep) Detect(tmpl, test *image.Gray) ([]Detection, error) {
	if tmpl.Rect.Size() != test.Rect.Size() || tmpl.Rect.Dx() != ImageSize || tmpl.Rect.Dy() != ImageSize {
		return nil, fmt.Errorf("pcb: template is %v, tested image %v: the deep detector wants %d×%d pairs", tmpl.Rect.Size(), test.Rect.Size(), ImageSize, ImageSize)
	}
	side := ImageSize / d.Params.Down
	if len(d.x) != 2*side*side {
		d.x = make([]float32, 2*side*side)
	}
	downscale(d.x[:side*side], tmpl, d.Params.Down)
	downscale(d.x[side*side:], test, d.Params.Down)
	outs := d.net.Forward(d.x, 1, false)
	dets := decode(outs, d.net.OutputShapes(), side, d.Params.Score, float64(d.Params.Down))
	for i := range dets {
		b := &dets[i].Box
		b.X1, b.Y1, b.X2, b.Y2 = max(0, b.X1), max(0, b.Y1), min(ImageSize, b.X2), min(ImageSize, b.Y2)
	}
	kept := dets[:0]
	for _, det := range dets {
		if det.X2 > det.X1 && det.Y2 > det.Y1 {
			kept = append(kept, det)
		}
	}
	if len(kept) > maxCandidates {
		slices.SortStableFunc(kept, func(a, b Detection) int { return cmp.Compare(b.Confidence, a.Confidence) })
		kept = kept[:maxCandidates]
	}
	kept = nms(kept, d.Params.NMS)
	return kept[:min(len(kept), maxDetections)], nil
}

// The deep detector keeps the maxCandidates most confident cells of an
// image for non-maximum suppression and reports at most maxDetections
// boxes (DeepPCB's images hold at most a few dozen defects).
const (
	maxCandidates = 400
	maxDetections = 100
)

func sigmoid(v float32) float64 { return 1 / (1 + math.Exp(-float64(v))) }

// decode turns the heads' maps of one image (side×side network input)
// into boxes in input pixels times scale.
func decode(outs [][]float32, shapes [][]int, side int, score, scale float64) []Detection {
	var dets []Detection
	for h, o := range outs {
		gh, gw := shapes[h][0], shapes[h][1]
		s := float64(side / gh)
		for gy := range gh {
			for gx := range gw {
				v := o[(gy*gw+gx)*headOut:]
				k := 0
				for c := 1; c < NumClasses; c++ {
					if v[c] > v[k] {
						k = c
					}
				}
				p := sigmoid(v[k])
				if p < score {
					continue
				}
				cx, cy := (float64(gx)+0.5)*s, (float64(gy)+0.5)*s
				ex := func(i int) float64 { return math.Exp(min(float64(v[NumClasses+i]), 6)) * s }
				dets = append(dets, Detection{Box: Box{
					X1: int(math.Round((cx - ex(0)) * scale)), Y1: int(math.Round((cy - ex(1)) * scale)),
					X2: int(math.Round((cx + ex(2)) * scale)), Y2: int(math.Round((cy + ex(3)) * scale)),
					Class: Class(k + 1)}, Confidence: p})
			}
		}
	}
	return dets
}

// fbox is a box in downscaled, fractional pixels.
type fbox struct {
	x1, y1, x2, y2 float64
	class          Class
}

// targets assigns the boxes of one crop to the cells of the heads (strides
// from shapes, crop side×side): a box goes to the stride-4 head when its
// longer side is at most split, else to the stride-8 head; the cells whose
// centre lies inside the box and within 1.5 strides of its centre, and
// always the cell holding its centre, are its positives (a cell claimed by
// two boxes takes the smaller). cls[h][cell] is the type (0: background)
// and reg[h][cell·4…] the log distances in strides.
func targets(boxes []fbox, shapes [][]int, side int, split float64, cls [][]int8, reg [][]float32) {
	area := make([][]float64, len(shapes))
	for h := range shapes {
		n := shapes[h][0] * shapes[h][1]
		cls[h], reg[h], area[h] = cls[h][:n], reg[h][:4*n], make([]float64, n)
		clear(cls[h])
	}
	for _, b := range boxes {
		bw, bh := b.x2-b.x1, b.y2-b.y1
		h := 0
		if max(bw, bh) > split && len(shapes) > 1 {
			h = 1
		}
		gh, gw := shapes[h][0], shapes[h][1]
		s := float64(side / gh)
		bcx, bcy := (b.x1+b.x2)/2, (b.y1+b.y2)/2
		ccx, ccy := int(math.Floor(bcx/s)), int(math.Floor(bcy/s))
		for gy := max(0, ccy-2); gy <= min(gh-1, ccy+2); gy++ {
			for gx := max(0, ccx-2); gx <= min(gw-1, ccx+2); gx++ {
				cx, cy := (float64(gx)+0.5)*s, (float64(gy)+0.5)*s
				centre := gx == ccx && gy == ccy
				if !centre && (math.Abs(cx-bcx) > 1.5*s || math.Abs(cy-bcy) > 1.5*s || cx <= b.x1 || cx >= b.x2 || cy <= b.y1 || cy >= b.y2) {
					continue
				}
				i := gy*gw + gx
				if cls[h][i] != 0 && area[h][i] <= bw*bh {
					continue
				}
				cls[h][i], area[h][i] = int8(b.class), bw*bh
				for j, dist := range [4]float64{cx - b.x1, cy - b.y1, b.x2 - cx, b.y2 - cy} {
					reg[h][4*i+j] = float32(math.Log(max(dist, 0.25*s) / s))
				}
			}
		}
	}
}

// Focal loss settings (Lin et al.): α weighs the positives, γ the easy
// examples down.
const (
	focalAlpha = 0.25
	focalGamma = 2
)

// detLoss adds the detection loss of one head's output o (cells × headOut)
// with targets cls, reg into the gradient do and returns the loss: the
// sigmoid focal loss of every cell and type plus the L1 loss of the log
// distances of the positive cells, both divided by norm (the number of
// positive cells of the batch).
func detLoss(o, do []float32, cls []int8, reg []float32, norm float64) float64 {
	var loss float64
	for i, c := range cls {
		v, d := o[i*headOut:(i+1)*headOut], do[i*headOut:(i+1)*headOut]
		for k := range NumClasses {
			p := sigmoid(v[k])
			var l, g float64
			if int(c) == k+1 {
				q := 1 - p
				l = -focalAlpha * math.Pow(q, focalGamma) * math.Log(max(p, 1e-12))
				g = focalAlpha * (focalGamma*math.Pow(q, focalGamma)*p*math.Log(max(p, 1e-12)) - math.Pow(q, focalGamma+1))
			} else {
				l = -(1 - focalAlpha) * math.Pow(p, focalGamma) * math.Log(max(1-p, 1e-12))
				g = (1 - focalAlpha) * math.Pow(p, focalGamma) * (p - focalGamma*(1-p)*math.Log(max(1-p, 1e-12)))
			}
			loss += l / norm
			d[k] = float32(g / norm)
		}
		for j := range headReg {
			d[NumClasses+j] = 0
			if c == 0 {
				continue
			}
			e := float64(v[NumClasses+j] - reg[4*i+j])
			loss += math.Abs(e) / norm
			if e > 0 {
				d[NumClasses+j] = float32(1 / norm)
			} else if e < 0 {
				d[NumClasses+j] = float32(-1 / norm)
			}
		}
	}
	return loss
}
