package pcb

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/nn"
)

// TestDetLossGolden checks the detection loss and its gradient against
// PyTorch autograd (testdata/detloss_golden.py).
func TestDetLossGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/detloss_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		O, Reg, Grad []float64
		Cls          []int8
		Norm         float64
		Loss         float64
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	o, reg := make([]float32, len(g.O)), make([]float32, len(g.Reg))
	for i, v := range g.O {
		o[i] = float32(v)
	}
	for i, v := range g.Reg {
		reg[i] = float32(v)
	}
	d := make([]float32, len(o))
	loss := detLoss(o, d, g.Cls, reg, g.Norm)
	if math.Abs(loss-g.Loss) > 1e-5*g.Loss {
		t.Errorf("loss %v, PyTorch %v", loss, g.Loss)
	}
	for i := range d {
		if math.Abs(float64(d[i])-g.Grad[i]) > 1e-5 {
			t.Errorf("gradient[%d] (cell %d output %d) = %v, PyTorch %v", i, i/headOut, i%headOut, d[i], g.Grad[i])
		}
	}
}

// TestTargetsDecode: maps that put a confident logit and the exact
// distances on the positive cells of some boxes decode back to the boxes.
func TestTargetsDecode(t *testing.T) {
	const side = 64
	shapes := [][]int{{16, 16, headOut}, {8, 8, headOut}}
	boxes := []fbox{
		{10, 12, 22, 20, Open},   // small: stride 4
		{30, 30, 62, 58, Copper}, // large: stride 8
		{40, 4, 50, 14, PinHole}, // small
		{44, 40, 56, 52, Short},  // small, inside the copper box
	}
	cls, reg := [][]int8{make([]int8, 256), make([]int8, 64)}, [][]float32{make([]float32, 1024), make([]float32, 256)}
	targets(boxes, shapes, side, 16, cls, reg)
	outs := [][]float32{make([]float32, 256*headOut), make([]float32, 64*headOut)}
	npos := [2]int{}
	for h := range outs {
		for i, c := range cls[h] {
			v := outs[h][i*headOut : (i+1)*headOut]
			for k := range NumClasses {
				v[k] = -10
			}
			if c != 0 {
				npos[h]++
				v[c-1] = 10
				copy(v[NumClasses:], reg[h][4*i:4*i+4])
			}
		}
	}
	if npos[0] < 3 || npos[1] < 9 {
		t.Errorf("positives per head %v", npos)
	}
	dets := nms(decode(outs, shapes, side, 0.5, 10), 0.33)
	var got []Box
	for _, d := range dets {
		got = append(got, d.Box)
	}
	for _, b := range boxes {
		want := Box{int(math.Round(b.x1 * 10)), int(math.Round(b.y1 * 10)), int(math.Round(b.x2 * 10)), int(math.Round(b.y2 * 10)), b.class}
		if !slices.Contains(got, want) {
			t.Errorf("box %v not decoded (got %v)", want, got)
		}
	}
	if len(got) != len(boxes) {
		t.Errorf("%d boxes decoded, want %d: %v", len(got), len(boxes), got)
	}
	// Two boxes claiming a cell: the smaller takes it.
	targets([]fbox{{36, 4, 52, 18, Spur}, {41, 5, 49, 13, PinHole}}, shapes, side, 16, cls, reg)
	if c := cls[0][2*16+11]; c != int8(PinHole) { // the cell centred at (46, 10)
		t.Errorf("shared cell labelled %v, want the smaller box's pin-hole", Class(c))
	}
}

func tinyDeep() DeepParams {
	p := DefaultDeepParams()
	p.Down, p.Width, p.Crop, p.Epochs, p.Batch = 5, 2, 64, 2, 2
	return p
}

func TestTrainDeepSaveDetect(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	out := filepath.Join(dir, "deep.ckpt")
	tc := TrainConfig{DataDir: testRoot, Split: "trainval", Detector: "deep", Out: out, Params: DefaultParams(), Deep: tinyDeep()}
	tr, err := RunTrain(ctx, &tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Deep == nil || tr.Deep.Pairs != 4 || tr.Deep.Steps != 4 || !(tr.Deep.Loss > 0) {
		t.Fatalf("training report %+v", tr.Deep)
	}
	d, st, err := OpenDeep(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Steps != 4 || d.Params != tinyDeep() {
		t.Errorf("reopened: %+v %+v", st, d.Params)
	}
	// Training is deterministic: the same settings give the same weights.
	pairs, err := ReadSplit(testRoot, "trainval")
	if err != nil {
		t.Fatal(err)
	}
	d2, _, err := TrainDeep(ctx, pairs, tinyDeep(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Net().Weights(), d2.Net().Weights()) {
		t.Error("two trainings with one seed differ")
	}
	dc := DetectConfig{DataDir: testRoot, Split: "test", Detector: "deep", Model: out, Out: filepath.Join(dir, "dets")}
	r, err := RunDetect(ctx, &dc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Result.Images != 2 || r.ImagesPerSecond <= 0 {
		t.Errorf("detect: %+v", r.Result)
	}
	for _, ds := range r.Detections {
		if len(ds) > maxDetections {
			t.Errorf("%d detections", len(ds))
		}
		for i, det := range ds {
			if det.X1 < 0 || det.Y1 < 0 || det.X2 > ImageSize || det.Y2 > ImageSize || det.X2 <= det.X1 || !det.Class.Valid() ||
				det.Confidence < d.Params.Score || (i > 0 && det.Confidence > ds[i-1].Confidence) {
				t.Fatalf("detection %d %+v", i, det)
			}
		}
	}
	ev, err := RunEval(ctx, &EvalConfig{DataDir: testRoot, Split: "test", Dets: dc.Out}, nil)
	if err != nil || math.Abs(ev.MAP-r.Result.MAP) > 1e-9 {
		t.Errorf("eval of the written files: %v, %v vs %v", err, ev, r.Result.MAP)
	}
}

func TestOpenDeepErrors(t *testing.T) {
	dir := t.TempDir()
	other, err := nn.NewMapNet(DeepSpec(2, 64), 1)
	if err != nil {
		t.Fatal(err)
	}
	noMeta := filepath.Join(dir, "plain.ckpt")
	if err := nn.SaveMapFile(noMeta, other, nil); err != nil {
		t.Fatal(err)
	}
	badParams := filepath.Join(dir, "bad.ckpt")
	if err := nn.SaveMapFile(badParams, other, map[string]string{"detector": "pcb-deep", "params": `{"down": 3}`}); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.ckpt")
	os.WriteFile(junk, []byte("{}"), 0o644)
	for name, c := range map[string]struct{ path, want string }{
		"none":       {"", "no deep detector"},
		"missing":    {filepath.Join(dir, "nope"), "no such file"},
		"not a net":  {junk, "bad checkpoint"},
		"no meta":    {noMeta, "not a deep PCB detector"},
		"bad params": {badParams, "deep-down 3"},
	} {
		if _, _, err := OpenDeep(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
	if _, err := RunTrain(context.Background(), &TrainConfig{DataDir: testRoot, Split: "trainval", Detector: "cnn"}, nil); err == nil || !strings.Contains(err.Error(), "baseline or deep") {
		t.Errorf("unknown detector: %v", err)
	}
}

func TestDeepParamsValidate(t *testing.T) {
	for name, mod := range map[string]func(*DeepParams){
		"down":  func(p *DeepParams) { p.Down = 4 },
		"width": func(p *DeepParams) { p.Width = 0 },
		"crop":  func(p *DeepParams) { p.Crop = 100 },
		"big":   func(p *DeepParams) { p.Crop = 384 },
		"score": func(p *DeepParams) { p.Score = 1 },
		"nms":   func(p *DeepParams) { p.NMS = 0 },
		"lr":    func(p *DeepParams) { p.LR = math.NaN() },
		"batch": func(p *DeepParams) { p.Batch = 0 },
	} {
		p := DefaultDeepParams()
		mod(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := DefaultDeepParams().Validate(); err != nil {
		t.Error(err)
	}
}

// TestCropFlip: a flipped crop moves the pixels and the boxes alike.
func TestCropFlip(t *testing.T) {
	const side, c = 8, 4
	s := sample{tmpl: make([]uint8, side*side), test: make([]uint8, side*side), boxes: []fbox{{3, 2, 5, 3, Spur}, {0, 0, 1, 1, Open}}}
	s.test[2*side+3] = 255 // inside the spur box
	x := make([]float32, 2*c*c)
	boxes := s.crop(x, side, 2, 1, c, true, true)
	if len(boxes) != 1 || boxes[0] != (fbox{c - 3, c - 2, c - 1, c - 1, Spur}) {
		t.Fatalf("boxes %v", boxes)
	}
	// pixel (3, 2) is (1, 1) in the crop, (2, 2) flipped both ways
	if x[c*c+2*c+2] != 1 || x[c*c+1*c+1] != -1 {
		t.Errorf("flipped crop %v", x[c*c:])
	}
}
