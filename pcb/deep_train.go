package pcb

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/train"
)

// DeepStats describes a training run of the deep detector.
type DeepStats struct {
	Pairs  int `json:"pairs"`
	Steps  int `json:"steps"`
	Params int `json:"params"`
	// Loss is the mean training loss of the last epoch.
	Loss    float64 `json:"loss"`
	Seconds float64 `json:"seconds"`
}

// sample is a training pair, downscaled, with its boxes in downscaled
// pixels.
type sample struct {
	tmpl, test []uint8
	boxes      []fbox
}

// loadSamples reads and downscales the pairs.
func loadSamples(ctx context.Context, pairs []Pair, down int, rep progress.Reporter) ([]sample, error) {
	side := ImageSize / down
	buf := make([]float32, side*side)
	q := func(g *image.Gray) []uint8 {
		downscale(buf, g, down)
		o := make([]uint8, len(buf))
		for i, v := range buf {
			o[i] = uint8(math.Round(float64(v+1) * 127.5))
		}
		return o
	}
	out := make([]sample, len(pairs))
	for i, p := range pairs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tmpl, test, err := p.Load()
		if err != nil {
			return nil, err
		}
		if tmpl.Rect.Dx() != ImageSize || tmpl.Rect.Dy() != ImageSize {
			return nil, fmt.Errorf("pcb: %s is %dx%d: the deep detector wants %d×%d pairs", p.Name, tmpl.Rect.Dx(), tmpl.Rect.Dy(), ImageSize, ImageSize)
		}
		out[i] = sample{tmpl: q(tmpl), test: q(test)}
		for _, b := range p.Boxes {
			f := float64(down)
			out[i].boxes = append(out[i].boxes, fbox{float64(b.X1) / f, float64(b.Y1) / f, float64(b.X2) / f, float64(b.Y2) / f, b.Class})
		}
		rep.Update("pcb train deep: reading pairs", i+1, len(pairs), p.Name)
	}
	return out, nil
}

// crop writes the crop at (x0, y0) of side c of sample s, flipped as asked,
// into x (2·c·c values: template, tested) and returns its boxes (those whose
// centre lies inside it), in crop pixels.
func (s *sample) crop(x []float32, side, x0, y0, c int, fx, fy bool) []fbox {
	for ch, im := range [2][]uint8{s.tmpl, s.test} {
		dst := x[ch*c*c : (ch+1)*c*c]
		for y := range c {
			sy := y0 + y
			if fy {
				sy = y0 + c - 1 - y
			}
			row := im[sy*side:]
			for xx := range c {
				sx := x0 + xx
				if fx {
					sx = x0 + c - 1 - xx
				}
				dst[y*c+xx] = float32(row[sx])/127.5 - 1
			}
		}
	}
	var out []fbox
	fc := float64(c)
	for _, b := range s.boxes {
		b.x1, b.x2, b.y1, b.y2 = b.x1-float64(x0), b.x2-float64(x0), b.y1-float64(y0), b.y2-float64(y0)
		cx, cy := (b.x1+b.x2)/2, (b.y1+b.y2)/2
		if cx < 0 || cy < 0 || cx >= fc || cy >= fc {
			continue
		}
		if fx {
			b.x1, b.x2 = fc-b.x2, fc-b.x1
		}
		if fy {
			b.y1, b.y2 = fc-b.y2, fc-b.y1
		}
		out = append(out, b)
	}
	return out
}

// TrainDeep trains the deep detector on the pairs: every epoch takes one
// crop of Params.Crop downscaled pixels per pair (centred near one of its
// defects, jittered, with probability 0.8; anywhere otherwise), flipped at
// random, in batches of Params.Batch; Adam with a cosine learning rate
// minimises the focal loss of the type logits plus the L1 loss of the box
// distances. Training is deterministic for a seed.
func TrainDeep(ctx context.Context, pairs []Pair, p DeepParams, rep progress.Reporter) (*Deep, DeepStats, error) {
	rep = progress.Or(rep)
	var st DeepStats
	if err := p.Validate(); err != nil {
		return nil, st, err
	}
	if len(pairs) == 0 {
		return nil, st, fmt.Errorf("pcb: no training pairs")
	}
	t0 := time.Now()
	samples, err := loadSamples(ctx, pairs, p.Down, rep)
	if err != nil {
		return nil, st, err
	}
	c, side := p.Crop, ImageSize/p.Down
	net, err := nn.NewMapNet(DeepSpec(p.Width, c), p.Seed)
	if err != nil {
		return nil, st, fmt.Errorf("pcb: %w", err)
	}
	for _, pr := range net.Params() { // the type logits start at probability 0.01
		if pr.Name == "heads.0.2.bias" || pr.Name == "heads.1.2.bias" {
			for k := range NumClasses {
				pr.W[k] = priorLogit
			}
		}
	}
	shapes := net.OutputShapes()
	nh := len(shapes)
	cls, reg := make([][][]int8, p.Batch), make([][][]float32, p.Batch)
	for i := range cls {
		cls[i], reg[i] = make([][]int8, nh), make([][]float32, nh)
		for h, s := range shapes {
			cls[i][h], reg[i][h] = make([]int8, s[0]*s[1]), make([]float32, 4*s[0]*s[1])
		}
	}
	dys := make([][]float32, nh)
	for h, s := range shapes {
		dys[h] = make([]float32, p.Batch*s[0]*s[1]*headOut)
	}
	x := make([]float32, p.Batch*2*c*c)
	r := rand.New(rand.NewPCG(p.Seed, 0x5eed))
	opt := train.NewAdam(p.LR, 0)
	perEpoch := (len(samples) + p.Batch - 1) / p.Batch
	total := p.Epochs * perEpoch
	st.Pairs, st.Params = len(samples), len(net.Weights())
	for ep := 0; ep < p.Epochs; ep++ {
		order := r.Perm(len(samples))
		var epLoss float64
		for b := 0; b < perEpoch; b++ {
			if err := ctx.Err(); err != nil {
				return nil, st, err
			}
			idx := order[b*p.Batch : min((b+1)*p.Batch, len(order))]
			n := len(idx)
			npos := 0
			for j, si := range idx {
				s := &samples[si]
				x0, y0 := r.IntN(side-c+1), r.IntN(side-c+1)
				if len(s.boxes) > 0 && r.Float64() < 0.8 {
					bx := s.boxes[r.IntN(len(s.boxes))]
					jit := func(v float64) int { return int(v) - c/2 + r.IntN(c/2+1) - c/4 }
					x0, y0 = max(0, min(side-c, jit((bx.x1+bx.x2)/2))), max(0, min(side-c, jit((bx.y1+bx.y2)/2)))
				}
				boxes := s.crop(x[j*2*c*c:(j+1)*2*c*c], side, x0, y0, c, r.IntN(2) == 1, r.IntN(2) == 1)
				targets(boxes, shapes, c, p.Split, cls[j], reg[j])
				for h := range nh {
					for _, v := range cls[j][h] {
						if v != 0 {
							npos++
						}
					}
				}
			}
			outs := net.Forward(x[:n*2*c*c], n, true)
			norm := float64(max(npos, 1))
			var loss float64
			for h, s := range shapes {
				cells := s[0] * s[1]
				for j := range n {
					loss += detLoss(outs[h][j*cells*headOut:(j+1)*cells*headOut], dys[h][j*cells*headOut:(j+1)*cells*headOut], cls[j][h], reg[j][h], norm)
				}
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return nil, st, fmt.Errorf("pcb: training diverged at epoch %d step %d (loss %v): lower --deep-lr", ep+1, b+1, loss)
			}
			net.ZeroGrad()
			for h, s := range shapes {
				dys[h] = dys[h][:n*s[0]*s[1]*headOut]
			}
			net.Backward(dys, false)
			for h, s := range shapes {
				dys[h] = dys[h][:p.Batch*s[0]*s[1]*headOut]
			}
			opt.SetLR(p.LR * 0.5 * (1 + math.Cos(math.Pi*float64(st.Steps)/float64(max(total, 1)))))
			opt.Update(net.Weights(), net.Grads())
			st.Steps++
			epLoss += loss
			rep.Update(fmt.Sprintf("pcb train deep: epoch %d/%d", ep+1, p.Epochs), st.Steps, total, fmt.Sprintf("loss %.4f", epLoss/float64(b+1)))
		}
		st.Loss = epLoss / float64(perEpoch)
		rep.Log("pcb train deep: epoch %d/%d: mean loss %.4f, %.0fs", ep+1, p.Epochs, st.Loss, time.Since(t0).Seconds())
	}
	d, err := newDeep(p, net)
	if err != nil {
		return nil, st, err
	}
	st.Seconds = time.Since(t0).Seconds()
	return d, st, nil
}

// Save writes the detector as a map network checkpoint ([nn.SaveMapFile],
// atomic) whose metadata holds its settings and training statistics.
func (d *Deep) Save(path string, st DeepStats) error {
	pj, err := json.Marshal(d.Params)
	if err != nil {
		return err
	}
	sj, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return nn.SaveMapFile(path, d.net, map[string]string{"detector": "pcb-deep", "params": string(pj), "stats": string(sj),
		"train_seconds": strconv.FormatFloat(st.Seconds, 'f', 1, 64)})
}

// OpenDeep reads a detector saved by [Deep.Save] ("trustml pcb train
// --detector deep") and its training statistics.
func OpenDeep(path string) (*Deep, DeepStats, error) {
	var st DeepStats
	if path == "" {
		return nil, st, fmt.Errorf("pcb: no deep detector given: train one with trustml pcb train --detector deep --out FILE and pass --model FILE")
	}
	net, meta, err := nn.LoadMapFile(path)
	if err != nil {
		return nil, st, fmt.Errorf("pcb: %w (train one with trustml pcb train --detector deep --out %s)", err, path)
	}
	if meta["detector"] != "pcb-deep" {
		return nil, st, fmt.Errorf("%w: %s is not a deep PCB detector (metadata detector %q)", ErrFormat, path, meta["detector"])
	}
	p := DefaultDeepParams()
	if err := json.Unmarshal([]byte(meta["params"]), &p); err != nil {
		return nil, st, fmt.Errorf("%w: %s: settings: %v", ErrFormat, path, err)
	}
	if err := p.Validate(); err != nil {
		return nil, st, fmt.Errorf("%s: %w", path, err)
	}
	if s := meta["stats"]; s != "" {
		if err := json.Unmarshal([]byte(s), &st); err != nil {
			return nil, st, fmt.Errorf("%w: %s: statistics: %v", ErrFormat, path, err)
		}
	}
	d, err := newDeep(p, net)
	if err != nil {
		return nil, st, fmt.Errorf("%w: %s: %v", ErrFormat, path, err)
	}
	return d, st, nil
}
