package pcb

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

const testRoot = "testdata/deeppcb"

func TestParseAnnotations(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Box
		err      string // substring of the error; "" for none
	}{
		{"deeppcb", "409 394 435 422 3\n275 383 319 417 1\n", []Box{{409, 394, 435, 422, Mousebite}, {275, 383, 319, 417, Open}}, ""},
		{"commas, names, blank, CRLF", "1,2,30,40,pin-hole\r\n\n5, 6, 7, 8, short\r\n", []Box{{1, 2, 30, 40, PinHole}, {5, 6, 7, 8, Short}}, ""},
		{"no final newline", "0 0 640 640 6", []Box{{0, 0, 640, 640, PinHole}}, ""},
		{"empty", "", nil, ""},
		{"four fields", "1 2 3 4\n", nil, "a.txt:1: 4 fields"},
		{"concatenated lines", "1 2 3 4 5\n108 345 135 378 5178 202 212 225 3\n", nil, "a.txt:2: 9 fields"},
		{"not an integer", "1 2 3.5 4 5\n", nil, `a.txt:1: field 3 (x2) is "3.5"`},
		{"type 0", "1 2 3 4 0\n", nil, "a.txt:1: defect type 0"},
		{"type name", "1 2 3 4 scratch\n", nil, `a.txt:1: defect type "scratch"`},
		{"empty box", "10 2 10 4 1\n", nil, "a.txt:1: empty box"},
		{"outside", "600 2 641 40 1\n", nil, "a.txt:1: box (600,2)-(641,40) outside the 640×640 image"},
		{"negative", "-1 2 30 40 1\n", nil, "outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAnnotations(strings.NewReader(tc.in), "a.txt", ImageSize, ImageSize)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrFormat) {
					t.Fatalf("err %v, want one containing %q wrapping ErrFormat", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func FuzzParseAnnotations(f *testing.F) {
	f.Add("409 394 435 422 3\n275 383 319 417 1\n")
	f.Add("1,2,30,40,pin-hole\r\n\n")
	f.Add("1 2 3 4 99999999999999999999\n")
	f.Fuzz(func(t *testing.T, s string) {
		boxes, err := ParseAnnotations(strings.NewReader(s), "fuzz", ImageSize, ImageSize)
		if err != nil {
			return
		}
		for _, b := range boxes {
			if !b.Class.Valid() || b.X1 < 0 || b.Y1 < 0 || b.X2 > ImageSize || b.Y2 > ImageSize || b.X2 <= b.X1 || b.Y2 <= b.Y1 {
				t.Fatalf("accepted invalid box %+v from %q", b, s)
			}
		}
	})
}

func TestDetectionsRoundTrip(t *testing.T) {
	in := []Detection{{Box{1, 2, 30, 40, Open}, 0.5}, {Box{100, 200, 130, 260, PinHole}, 1}}
	var buf bytes.Buffer
	if err := WriteDetections(&buf, in); err != nil {
		t.Fatal(err)
	}
	if want := "1,2,30,40,0.500000,open\n100,200,130,260,1.000000,pin-hole\n"; buf.String() != want {
		t.Fatalf("wrote %q, want %q", buf.String(), want)
	}
	out, err := ParseDetections(&buf, "d.txt", ImageSize, ImageSize)
	if err != nil || !reflect.DeepEqual(out, in) {
		t.Fatalf("read %v, %v; want %v", out, err, in)
	}
	for _, bad := range []string{"1,2,3,4,open", "1,2,3,4,1.5,open", "1,2,3,4,NaN,open", "1,2,3,4,0.5,hole", "1,2,700,4,0.5,open"} {
		if _, err := ParseDetections(strings.NewReader("0,0,5,5,0.1,spur\n"+bad), "d.txt", ImageSize, ImageSize); err == nil || !strings.Contains(err.Error(), "d.txt:2:") {
			t.Errorf("%q: err %v, want one naming d.txt:2", bad, err)
		}
	}
}

func FuzzParseDetections(f *testing.F) {
	f.Add("1,2,30,40,0.500000,open\n100,200,130,260,1,6\n")
	f.Fuzz(func(t *testing.T, s string) {
		dets, err := ParseDetections(strings.NewReader(s), "fuzz", ImageSize, ImageSize)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteDetections(&buf, dets); err != nil {
			t.Fatal(err)
		}
		again, err := ParseDetections(&buf, "again", ImageSize, ImageSize)
		if err != nil || len(again) != len(dets) {
			t.Fatalf("round trip of %q: %v, %d of %d", s, err, len(again), len(dets))
		}
		for i := range dets {
			if again[i].Box != dets[i].Box || math.Abs(again[i].Confidence-dets[i].Confidence) > 1e-6 {
				t.Fatalf("round trip changed %v into %v", dets[i], again[i])
			}
		}
	})
}

func TestReadSplit(t *testing.T) {
	for _, tc := range []struct {
		split string
		n     int
	}{{"trainval", 4}, {"train", 4}, {"test", 2}} {
		pairs, err := ReadSplit(testRoot, tc.split)
		if err != nil || len(pairs) != tc.n {
			t.Fatalf("%s: %d pairs, %v; want %d", tc.split, len(pairs), err, tc.n)
		}
	}
	pairs, _ := ReadSplit(testRoot+"/PCBData", "test") // PCBData itself is accepted
	if len(pairs) != 2 || pairs[0].Name != "44000053" || len(pairs[0].Boxes) == 0 {
		t.Fatalf("test pairs %+v", pairs)
	}
	if _, err := ReadSplit(testRoot, "val"); err == nil {
		t.Error("split val accepted")
	}
	t.Setenv(EnvDir, testRoot)
	if p, err := ReadSplit("", "test"); err != nil || len(p) != 2 {
		t.Errorf("$%s not used: %v", EnvDir, err)
	}
}

// copyTree copies the test data set into a temporary directory that a test
// may damage.
func copyTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(testRoot, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(testRoot, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestReadSplitErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(root string) error
		want   string
	}{
		{"missing template", func(r string) error {
			return os.Remove(filepath.Join(r, "PCBData/group44000/44000/44000017_temp.jpg"))
		}, "test.txt:2: template of 44000017 missing"},
		{"malformed annotation", func(r string) error {
			return os.WriteFile(filepath.Join(r, "PCBData/group44000/44000_not/44000053.txt"), []byte("1 2 3 4 5\n1 2 3 4\n"), 0o644)
		}, "44000053.txt:2: 4 fields"},
		{"box outside", func(r string) error {
			return os.WriteFile(filepath.Join(r, "PCBData/group44000/44000_not/44000053.txt"), []byte("600 600 650 630 2\n"), 0o644)
		}, "44000053.txt:1: box (600,600)-(650,630) outside the 640×640 image"},
		{"malformed list", func(r string) error {
			return os.WriteFile(filepath.Join(r, "PCBData/test.txt"), []byte("group44000/44000/44000053.jpg\n"), 0o644)
		}, "test.txt:1:"},
		{"no list", func(r string) error { return os.Remove(filepath.Join(r, "PCBData/test.txt")) }, "test.txt not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := copyTree(t)
			if err := tc.damage(root); err != nil {
				t.Fatal(err)
			}
			_, err := ReadSplit(root, "test")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestIoU(t *testing.T) {
	for _, tc := range []struct {
		a, b Box
		want float64
	}{
		{Box{0, 0, 10, 10, 0}, Box{0, 0, 10, 10, 0}, 1},
		{Box{0, 0, 10, 10, 0}, Box{5, 0, 15, 10, 0}, 50.0 / 150},
		{Box{0, 0, 10, 10, 0}, Box{10, 0, 20, 10, 0}, 0},
		{Box{0, 0, 10, 10, 0}, Box{2, 2, 4, 4, 0}, 0.04},
	} {
		if got := IoU(tc.a, tc.b); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("IoU(%v, %v) = %g, want %g", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestEvaluateRules(t *testing.T) {
	gt := [][]Box{{{0, 0, 10, 10, Open}, {100, 100, 120, 120, Short}}}
	for _, tc := range []struct {
		name    string
		dets    []Detection
		correct [NumClasses + 1]int
		mAP     float64
	}{
		{"exact", []Detection{{Box{0, 0, 10, 10, Open}, 0.9}, {Box{100, 100, 120, 120, Short}, 0.8}}, [7]int{0, 1, 1}, 1},
		{"wrong type", []Detection{{Box{0, 0, 10, 10, Short}, 0.9}}, [7]int{}, 0},
		// IoU 0.33 exactly is not > 0.33: 33 of 100 pixels inside a 10×10 box.
		{"iou 0.33", []Detection{{Box{0, 0, 33, 1, Open}, 0.9}}, [7]int{}, 0},
		{"duplicate", []Detection{{Box{0, 0, 10, 10, Open}, 0.9}, {Box{0, 0, 10, 9, Open}, 0.95}}, [7]int{0, 1}, 0.5},
		{"fp first", []Detection{{Box{300, 300, 310, 310, Open}, 0.9}, {Box{0, 0, 10, 10, Open}, 0.5}}, [7]int{0, 1}, 0.25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Evaluate(gt, [][]Detection{tc.dets})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range r.PerClass {
				if c.Correct != tc.correct[c.Class] {
					t.Errorf("%s: %d correct, want %d", c.Class, c.Correct, tc.correct[c.Class])
				}
			}
			// mAP over the two types with boxes.
			if got := (r.PerClass[0].AP + r.PerClass[1].AP) / 2; math.Abs(got-tc.mAP) > 1e-12 || math.Abs(r.MAP-tc.mAP) > 1e-12 {
				t.Errorf("mAP %g (%g), want %g", r.MAP, got, tc.mAP)
			}
		})
	}
	if _, err := Evaluate([][]Box{{}}, [][]Detection{{}}); err == nil {
		t.Error("no annotated box: no error")
	}
}

// TestEvaluateGolden checks Evaluate against testdata/golden_eval.py's
// independent numpy implementation.
func TestEvaluateGolden(t *testing.T) {
	gt, dets := make([][]Box, 24), make([][]Detection, 24)
	f, err := os.Open("testdata/eval_gt.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		img, rest, _ := strings.Cut(sc.Text(), " ")
		i, _ := strconv.Atoi(img)
		b, err := ParseAnnotations(strings.NewReader(rest), "eval_gt.txt", ImageSize, ImageSize)
		if err != nil {
			t.Fatal(err)
		}
		gt[i] = append(gt[i], b...)
	}
	raw, err := os.ReadFile("testdata/eval_det.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		img, rest, _ := strings.Cut(line, " ")
		i, _ := strconv.Atoi(img)
		d, err := ParseDetections(strings.NewReader(rest), "eval_det.txt", ImageSize, ImageSize)
		if err != nil {
			t.Fatal(err)
		}
		dets[i] = append(dets[i], d...)
	}
	got, err := Evaluate(gt, dets)
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		PerClass []struct {
			Class                   string
			GT, Detections, Correct int
			AP                      float64
		} `json:"per_class"`
		MAP        float64 `json:"map"`
		PooledAP   float64 `json:"pooled_ap"`
		F          float64 `json:"f"`
		Precision  float64 `json:"precision"`
		Recall     float64 `json:"recall"`
		Threshold  float64 `json:"threshold"`
		GT         int     `json:"gt"`
		Detections int     `json:"detections"`
	}
	b, _ := os.ReadFile("testdata/eval_golden.json")
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	near := func(what string, g, w float64) {
		if math.Abs(g-w) > 1e-12 {
			t.Errorf("%s = %.15g, numpy %.15g", what, g, w)
		}
	}
	for i, w := range want.PerClass {
		c := got.PerClass[i]
		if c.Class.String() != w.Class || c.GT != w.GT || c.Detections != w.Detections || c.Correct != w.Correct {
			t.Errorf("class %d: %+v, numpy %+v", i, c, w)
		}
		near(w.Class+" AP", c.AP, w.AP)
	}
	near("mAP", got.MAP, want.MAP)
	near("pooled AP", got.PooledAP, want.PooledAP)
	near("F", got.F, want.F)
	near("precision", got.Precision, want.Precision)
	near("recall", got.Recall, want.Recall)
	near("threshold", got.Threshold, want.Threshold)
	if got.GT != want.GT || got.Detections != want.Detections {
		t.Errorf("%d boxes %d detections, numpy %d %d", got.GT, got.Detections, want.GT, want.Detections)
	}
}

func maskOf(rows ...string) *mask {
	m := newMask(len(rows[0]), len(rows))
	for y, r := range rows {
		for x, c := range r {
			if c == '#' {
				m.px[y*m.w+x] = 1
			}
		}
	}
	return m
}

func TestMorphologyAndComponents(t *testing.T) {
	m := maskOf(
		"#........",
		".........",
		"..###.##.",
		"..###.##.",
		"..###.##.",
		".........",
	)
	if n := len(components(m, false)); n != 3 {
		t.Errorf("%d components, want 3", n)
	}
	o := opening(m, 1) // the lone pixel and the 2-wide bar go, the 3×3 block stays
	if cs := components(o, false); len(cs) != 1 || len(cs[0].pixels) != 9 || cs[0].x1 != 2 || cs[0].x2 != 5 {
		t.Errorf("after opening: %+v", cs)
	}
	c := closing(m, 1) // the one-pixel gap between block and bar closes
	if cs := components(c, false); len(cs) != 2 {
		t.Errorf("after closing: %d components, want 2", len(cs))
	}
	ring := maskOf(
		".....",
		".###.",
		".#.#.",
		".###.",
		".....",
	)
	if r, h := topology(ring, 0, 0, 5, 5); r != 1 || h != 1 {
		t.Errorf("ring: %d regions %d holes, want 1 1", r, h)
	}
	if r, h := topology(ring, 0, 0, 3, 5); r != 1 || h != 0 { // cut: the hole touches the border
		t.Errorf("cut ring: %d regions %d holes, want 1 0", r, h)
	}
}

func TestAlign(t *testing.T) {
	pairs, err := ReadSplit(testRoot, "test")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, _, err := pairs[0].Load()
	if err != nil {
		t.Fatal(err)
	}
	m := binarize(tmpl, 127)
	for _, s := range [][2]int{{0, 0}, {2, -1}, {-1, 1}} {
		dx, dy, best, none := align(m, m.shifted(s[0], s[1]), 2)
		if dx != -s[0] || dy != -s[1] || best != 0 || (s != [2]int{} && none == 0) {
			t.Errorf("shift %v: found (%d,%d), diff %g (unshifted %g)", s, dx, dy, best, none)
		}
	}
}

// fitTestBaseline fits the baseline on the 4 training pairs of testdata.
func fitTestBaseline(t *testing.T) *Baseline {
	t.Helper()
	pairs, err := ReadSplit(testRoot, "trainval")
	if err != nil {
		t.Fatal(err)
	}
	b, st, err := Fit(context.Background(), pairs, DefaultParams(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pairs != 4 || st.Candidates == 0 || st.Accuracy < 0.8 {
		t.Fatalf("fit: %+v", st)
	}
	for c := 1; c < numK; c++ {
		if st.PerClass[c] == 0 {
			t.Errorf("no training candidate labelled %s", Class(c))
		}
	}
	return b
}

func TestFitDetectEval(t *testing.T) {
	b := fitTestBaseline(t)
	// The saved baseline gives the same detections.
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	b2, err := ReadBaseline(&buf, "b.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := DetectConfig{DataDir: testRoot, Split: "test", Base: b2, Out: filepath.Join(dir, "dets"), PNG: filepath.Join(dir, "png"), MinConf: 0.3}
	rep, err := RunDetect(context.Background(), &c, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Result
	t.Logf("mAP %.3f F %.3f P %.3f R %.3f, %d detections of %d boxes", r.MAP, r.F, r.Precision, r.Recall, r.Detections, r.GT)
	// Fitted on 4 pairs only: weak, but far from chance.
	if r.Images != 2 || r.MAP < 0.35 || r.F < 0.45 {
		t.Errorf("baseline on the 2 test pairs: %+v", r)
	}
	// eval reads the files detect wrote and finds the same numbers.
	ev, err := RunEval(context.Background(), &EvalConfig{DataDir: testRoot, Split: "test", Dets: c.Out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ev.MAP-r.MAP) > 1e-5 || math.Abs(ev.F-r.F) > 1e-5 {
		t.Errorf("eval of the written files: mAP %g F %g, detect said %g %g", ev.MAP, ev.F, r.MAP, r.F)
	}
	f, err := os.Open(filepath.Join(c.PNG, "44000053.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width != 2*ImageSize+8 || cfg.Height != ImageSize {
		t.Errorf("drawing: %+v, %v", cfg, err)
	}
	// A missing detection file is an error unless allowed.
	os.Remove(filepath.Join(c.Out, "44000017.txt"))
	if _, err := RunEval(context.Background(), &EvalConfig{DataDir: testRoot, Split: "test", Dets: c.Out}, nil); err == nil || !strings.Contains(err.Error(), "44000017") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := RunEval(context.Background(), &EvalConfig{DataDir: testRoot, Split: "test", Dets: c.Out, Missing: true}, nil); err != nil {
		t.Error(err)
	}
}

func TestReadBaselineErrors(t *testing.T) {
	good := Baseline{Params: DefaultParams(), Features: FeatureNames, Mean: make([]float64, len(FeatureNames)), Std: make([]float64, len(FeatureNames)),
		Weights: make([][]float64, numK), BoxScale: make([][4]float64, numK)}
	for i := range good.Std {
		good.Std[i] = 1
	}
	for k := range good.Weights {
		good.Weights[k] = make([]float64, len(FeatureNames)+1)
	}
	enc := func(b Baseline) string { j, _ := json.Marshal(b); return string(j) }
	if _, err := ReadBaseline(strings.NewReader(enc(good)), "b.json"); err != nil {
		t.Fatal(err)
	}
	short := good
	short.Weights = good.Weights[:3]
	zero := good
	zero.Std = make([]float64, len(FeatureNames))
	for name, s := range map[string]string{"not json": "{", "unknown field": `{"foo":1}`, "short weights": enc(short), "zero std": enc(zero)} {
		if _, err := ReadBaseline(strings.NewReader(s), "b.json"); err == nil || !strings.Contains(err.Error(), "b.json") {
			t.Errorf("%s: err %v, want one naming b.json", name, err)
		}
	}
}

func FuzzReadBaseline(f *testing.F) {
	f.Add(`{"params":{"threshold":127}}`)
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ReadBaseline(strings.NewReader(s), "fuzz")
		if err != nil {
			return
		}
		// An accepted baseline must run without panicking.
		g := image.NewGray(image.Rect(0, 0, 32, 32))
		g.Pix[5*32+5] = 255
		if _, _, err := b.Detect(g, image.NewGray(g.Rect)); err != nil {
			t.Fatal(err)
		}
	})
}
