package ood

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/model"
)

// saveArrays extracts the default model's arrays of x (labels y) into
// dir/name.npz and returns the path.
func saveArrays(t *testing.T, dir, name string, m model.Classifier, x []float32, y []int) string {
	t.Helper()
	a, err := ExtractArrays(t.Context(), m, x, y)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".npz")
	if err := a.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestArraysScoresEqualModel is the golden test of detectors on arrays:
// fitted and scored on features and logits read back from .npz files they
// give exactly the scores they give when the model computes the same arrays.
func TestArraysScoresEqualModel(t *testing.T) {
	f := loadFixture(t)
	dir := t.TempDir()
	tr, te := f.train.Subset(seq(0, 200)), f.test.Subset(seq(0, 40))
	trP := saveArrays(t, dir, "train", f.net, tr.X, tr.Y)
	teP := saveArrays(t, dir, "test", f.net, te.X, nil)
	trA, err := LoadArrays(ArrayFiles{trP, trP, trP})
	if err != nil {
		t.Fatal(err)
	}
	teA, err := LoadArrays(ArrayFiles{Features: teP, Logits: teP + ":logits"})
	if err != nil {
		t.Fatal(err)
	}
	if trA.N != 200 || trA.D != 128 || trA.K != 10 || teA.N != 40 || len(trA.Labels) != 200 || trA.Labels[7] != tr.Y[7] {
		t.Fatalf("loaded %d×%d, %d classes, %d labels; test %d", trA.N, trA.D, trA.K, len(trA.Labels), teA.N)
	}
	cfg := Config{Seed: 3, K: 5, KPCA: KPCA{M: 32}}
	for _, name := range Names() {
		if _, ok := arraysOnly[name]; ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			want, got := make([]float64, te.Len()), make([]float64, te.Len())
			d1, _ := New(name, cfg)
			if err := d1.Fit(ctx, f.net, NewInputs(tr.X, tr.Y)); err != nil {
				t.Fatal(err)
			}
			if err := d1.Score(ctx, f.net, want, NewInputs(te.X, nil)); err != nil {
				t.Fatal(err)
			}
			d2, _ := New(name, cfg)
			if err := d2.Fit(ctx, trA.Model(), trA.Inputs()); err != nil {
				t.Fatal(err)
			}
			if err := d2.Score(ctx, teA.Model(), got, teA.Inputs()); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("score %d: %v from arrays, %v from the model", i, got[i], want[i])
				}
			}
		})
	}
}

// TestScoreArraysCLIPath checks Fit and Score on array files against the
// model path, the detector file round trip and the errors for arrays that
// do not fit.
func TestScoreArraysCLIPath(t *testing.T) {
	f := loadFixture(t)
	dir := t.TempDir()
	ctx := t.Context()
	tr, te := f.train.Subset(seq(0, 300)), f.test.Subset(seq(0, 40))
	trP := saveArrays(t, dir, "train", f.net, tr.X, tr.Y)
	teP := saveArrays(t, dir, "test", f.net, te.X, nil)
	params := []string{"kpca-cos-rff:m=48,gamma=2,ratio=0.7,seed=5"}
	det, err := Fit(ctx, nil, FitConfig{Detector: "kpca-cos-rff", Params: params, Arrays: ArrayFiles{Features: trP}, Out: filepath.Join(dir, "d.json")})
	if err != nil {
		t.Fatal(err)
	}
	ref := make([]float64, te.Len())
	if err := det.Score(ctx, f.net, ref, NewInputs(te.X, nil)); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []ScoreConfig{
		{Detector: "kpca-cos-rff", Params: params, TrainArrays: ArrayFiles{Features: trP}, Arrays: ArrayFiles{Features: teP}},
		{DetectorFile: filepath.Join(dir, "d.json"), Arrays: ArrayFiles{Features: teP}},
	} {
		res, err := Score(ctx, nil, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := range ref {
			if res.Scores[i] != ref[i] {
				t.Fatalf("%+v: score %d = %v, want %v", cfg, i, res.Scores[i], ref[i])
			}
		}
	}
	// Wrong dimensions, mismatched rows, missing arrays: errors naming the file.
	short := filepath.Join(dir, "short.npz")
	a, _ := LoadArrays(ArrayFiles{Features: teP, Logits: teP})
	a.D, a.Features = 64, a.Features[:a.N*64]
	if err := a.Save(short); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		err  func() error
		want string
	}{
		{"dims vs detector file", func() error {
			_, err := Score(ctx, nil, nil, ScoreConfig{DetectorFile: filepath.Join(dir, "d.json"), Arrays: ArrayFiles{Features: short}})
			return err
		}, "64 features, fitted on 128"},
		{"dims vs training arrays", func() error {
			_, err := Score(ctx, nil, nil, ScoreConfig{Detector: "knn", TrainArrays: ArrayFiles{Features: trP}, Arrays: ArrayFiles{Features: short}})
			return err
		}, "short.npz[features.npy] has 64 features per sample, the ID training features"},
		{"rows", func() error {
			_, err := LoadArrays(ArrayFiles{Features: trP, Logits: teP})
			return err
		}, "has 300 rows"},
		{"no logits", func() error {
			_, err := Score(ctx, nil, nil, ScoreConfig{Detector: "energy", TrainArrays: ArrayFiles{Features: trP}, Arrays: ArrayFiles{Features: teP}})
			return err
		}, "no logits"},
		{"no features", func() error {
			_, err := Fit(ctx, nil, FitConfig{Detector: "knn", Arrays: ArrayFiles{Logits: trP}})
			return err
		}, "no features"},
		{"vim", func() error {
			_, err := Fit(ctx, nil, FitConfig{Detector: "vim", Arrays: ArrayFiles{Features: trP, Logits: trP}})
			return err
		}, "vim cannot run on precomputed"},
		{"member", func() error {
			_, err := LoadArrays(ArrayFiles{Features: trP + ":feats"})
			return err
		}, `no member "feats" (members: features, labels, logits)`},
		{"too many", func() error {
			_, err := Fit(ctx, nil, FitConfig{Detector: "msp", NTrain: 301, Arrays: ArrayFiles{Logits: trP}})
			return err
		}, "301 samples requested"},
		{"model and arrays", func() error {
			_, err := Fit(ctx, nil, FitConfig{Detector: "msp", Model: "default", Arrays: ArrayFiles{Logits: trP}})
			return err
		}, "give one"},
	} {
		err := c.err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestLoadArraysShapes checks the shape and value checks of LoadArrays on
// hand-made .npy files.
func TestLoadArraysShapes(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, shape []int, f32 []float32) string {
		p := filepath.Join(dir, name+".npz")
		a := &Arrays{N: shape[0], Features: f32}
		if len(shape) > 1 {
			a.D = shape[1]
		}
		if err := a.Save(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	nan := write("nan", []int{2, 2}, []float32{1, 2, float32(math.NaN()), 4})
	if _, err := LoadArrays(ArrayFiles{Features: nan}); err == nil || !strings.Contains(err.Error(), "features (") || !strings.Contains(err.Error(), "input 1 (column 0)") {
		t.Errorf("NaN feature: %v", err)
	}
	lab := &Arrays{N: 2, K: 3, Logits: []float32{1, 2, 3, 4, 5, 6}, Labels: []int{0, 3}}
	p := filepath.Join(dir, "lab.npz")
	if err := lab.Save(p); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadArrays(ArrayFiles{Logits: p, Labels: p}); err == nil || !strings.Contains(err.Error(), "value 3 of sample 1") {
		t.Errorf("label 3 of 3 classes: %v", err)
	}
	if _, err := LoadArrays(ArrayFiles{Labels: p}); err == nil {
		t.Error("labels alone accepted")
	}
	if _, err := LoadArrays(ArrayFiles{Features: filepath.Join(dir, "none.npy")}); err == nil || !strings.Contains(err.Error(), "none.npy") {
		t.Errorf("missing file: %v", err)
	}
}

// TestKPCARFFDrawGolden checks kpca-cos-rff with the official code's random
// draw supplied as a file against the official algorithm
// (testdata/kpca_rff_golden.py), and that the draw survives saving.
func TestKPCARFFDrawGolden(t *testing.T) {
	g, err := data.ReadNPZ("testdata/kpca_rff_golden.npz")
	if err != nil {
		t.Fatal(err)
	}
	arr := func(k string) *Arrays {
		a := g[k]
		return &Arrays{Name: k, N: a.Shape[0], D: a.Shape[1], Features: a.Float32()}
	}
	cfg, err := Config{}.With("kpca-cos-rff", map[string]string{"rff": "testdata/kpca_rff_draw.npz", "ratio": "0.8"})
	if err != nil {
		t.Fatal(err)
	}
	det, _ := New("kpca-cos-rff", cfg)
	ctx := t.Context()
	tr := arr("train")
	if err := det.Fit(ctx, tr.Model(), tr.Inputs()); err != nil {
		t.Fatal(err)
	}
	k := det.(*KPCA)
	if q := int(g["q"].At(0)); k.Components() != q {
		t.Fatalf("q = %d, official %d", k.Components(), q)
	}
	var buf strings.Builder
	if err := SaveDetector(&buf, det); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadDetector(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []string{"test", "ood"} {
		a, want := arr(set), g["scores_"+set].Float64()
		for _, d := range []Detector{det, loaded} {
			got := make([]float64, a.N)
			if err := d.Score(ctx, a.Model(), got, a.Inputs()); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-9 {
					t.Fatalf("%s score %d: %v, official %v", set, i, got[i], want[i])
				}
			}
		}
	}
	// The draw saved from a fitted detector reads back as the same map.
	p := filepath.Join(t.TempDir(), "draw.npz")
	if err := SaveRFFDraw(p, k.RFF()); err != nil {
		t.Fatal(err)
	}
	back, err := LoadRFFDraw(p)
	if err != nil {
		t.Fatal(err)
	}
	if !slicesEqual(back.Frequencies().RawMatrix().Data, k.RFF().Frequencies().RawMatrix().Data) || !slicesEqual(back.Phases(), k.RFF().Phases()) {
		t.Error("saved draw differs")
	}
	if _, err := (Config{}).With("kpca-cos-rff", map[string]string{"rff": "testdata/kpca_rff_draw.npz", "gamma": "2"}); err == nil {
		t.Error("rff and gamma accepted together")
	}
	if _, err := LoadRFFDraw("testdata/kpca_rff_golden.npz"); err != nil {
		t.Errorf("golden file has w and u: %v", err)
	}
	if _, err := LoadRFFDraw(p + ".missing"); err == nil {
		t.Error("missing draw file accepted")
	}
}

func slicesEqual(a, b []float64) bool { return slices.Equal(a, b) }

// TestKPCALoadSeedOnlyState checks that a saved cos-rff detector without
// its draw (files written before the draw was saved) regenerates the same
// map from its seed.
func TestKPCALoadSeedOnlyState(t *testing.T) {
	f := loadFixture(t)
	ctx := t.Context()
	det := &KPCA{Map: "cos-rff", M: 32, Seed: 9}
	if err := det.Fit(ctx, f.net, NewInputs(f.train.X[:200*784], nil)); err != nil {
		t.Fatal(err)
	}
	s, err := saveState(det)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(s.State, &st); err != nil || st["RFFW"] == nil {
		t.Fatalf("state without the draw: %v", err)
	}
	delete(st, "RFFW")
	delete(st, "RFFU")
	s.State, _ = json.Marshal(st)
	old, err := loadState(s)
	if err != nil {
		t.Fatal(err)
	}
	x := f.test.X[:20*784]
	want, got := make([]float64, 20), make([]float64, 20)
	if err := det.Score(ctx, f.net, want, NewInputs(x, nil)); err != nil {
		t.Fatal(err)
	}
	if err := old.Score(ctx, f.net, got, NewInputs(x, nil)); err != nil {
		t.Fatal(err)
	}
	if !slicesEqual(got, want) {
		t.Errorf("seed-only state scores %v, want %v", got[:3], want[:3])
	}
}

// TestParseDetectorParams covers the --detector-param grammar.
func TestParseDetectorParams(t *testing.T) {
	p, err := ParseDetectorParams([]string{"kpca-cos-rff:gamma=2,m=2048,ratio=0.8", "kpca-cos-nystrom:m=64", "knn:k=7", "kpca-cos-rff:seed=4"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Config{Temperature: 2}.With("kpca-cos-rff", p["kpca-cos-rff"])
	if err != nil || c.KPCA.Gamma != 2 || c.KPCA.M != 2048 || c.KPCA.ExpVarRatio != 0.8 || c.Seed != 4 || c.Temperature != 2 {
		t.Fatalf("kpca-cos-rff settings %+v, %v", c, err)
	}
	if c, _ := (Config{}).With("kpca-cos-nystrom", p["kpca-cos-nystrom"]); c.KPCA.M != 64 || c.KPCA.Gamma != 0 {
		t.Errorf("nystrom settings %+v shared with rff", c.KPCA)
	}
	for _, bad := range [][]string{
		{"kpca-cos-rff"}, {"kpca-cos-rff:"}, {"nope:k=1"}, {"knn:gamma=1"}, {"knn:k=1,k=2"}, {"knn:k"}, {"mahalanobis:k=1"}, {":k=1"},
	} {
		if _, err := ParseDetectorParams(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseDetectorParams([]string{"nope:k=1"}); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown detector: %v, want ErrUnknown", err)
	}
	for _, kv := range []map[string]string{{"k": "0"}, {"k": "x"}, {"t": "-1"}, {"ratio": "1.5"}, {"landmarks": "best"}, {"eps": "2"}, {"m": "1.5"}} {
		name := "knn"
		switch {
		case kv["t"] != "":
			name = "msp"
		case kv["ratio"] != "" || kv["m"] != "":
			name = "kpca-cos-rff"
		case kv["landmarks"] != "":
			name = "kpca-cos-nystrom"
		case kv["eps"] != "":
			name = "odin"
		}
		if _, err := (Config{}).With(name, kv); err == nil {
			t.Errorf("%s %v accepted", name, kv)
		}
	}
	if _, err := newDetectors([]string{"msp"}, Config{}, []string{"knn:k=3"}); err == nil || !strings.Contains(err.Error(), "not among the detectors") {
		t.Errorf("settings of a detector not run: %v", err)
	}
}

// TestMetricsFilesGolden checks ood metrics on .npy and text score files
// against scikit-learn (testdata/score_files.py).
func TestMetricsFilesGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/score_files.json")
	if err != nil {
		t.Fatal(err)
	}
	var want Metrics
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []MetricsConfig{
		{ID: "testdata/id.npy", OoD: []string{"testdata/ood.npy", "testdata/ood.txt"}},
		{ID: "testdata/id.txt", OoD: []string{"testdata/ood.txt"}},
		{ID: "testdata/err_id.npy", OoD: []string{"testdata/err_ood.txt"}, LowerIsID: true},
	} {
		res, err := MetricsFiles(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.NID != 300 || len(res.Results) != len(cfg.OoD) {
			t.Fatalf("%+v: %d ID scores, %d results", cfg, res.NID, len(res.Results))
		}
		for _, r := range res.Results {
			for _, c := range [][2]float64{{r.AUROC, want.AUROC}, {r.AUPRIn, want.AUPRIn}, {r.AUPROut, want.AUPROut}, {r.FPR95, want.FPR95}} {
				if math.Abs(c[0]-c[1]) > 1e-12 {
					t.Errorf("%s vs %s: %+v, scikit-learn %+v", cfg.ID, r.OoD, r.Metrics, want)
					break
				}
			}
		}
		var text strings.Builder
		if err := res.WriteText(&text); err != nil || !strings.Contains(text.String(), "73.07%") {
			t.Errorf("text: %v\n%s", err, text.String())
		}
	}
	if _, err := MetricsFiles(MetricsConfig{ID: "testdata/id.txt", OoD: []string{"testdata/score_files.json"}}); err == nil || !strings.Contains(err.Error(), "score_files.json:1") {
		t.Errorf("JSON as scores: %v", err)
	}
}

// FuzzParseScores checks that the score-file parser never panics and that
// whatever it accepts is finite and survives a print/parse round trip.
func FuzzParseScores(f *testing.F) {
	for _, s := range []string{"1\n2\n", "# c\n\n-0.5\r\n3e2", "", "nan\n", "1 2\n", "+Inf", "0x1p-2\n", strings.Repeat("9", 2000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseScores(strings.NewReader(s), "fuzz")
		if err != nil {
			var pe *data.ParseError
			if !errors.As(err, &pe) || pe.File != "fuzz" {
				t.Fatalf("error %v is not a ParseError naming the input", err)
			}
			return
		}
		r := &ScoreResult{Scores: v}
		var b strings.Builder
		if err := r.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		back, err := ParseScores(strings.NewReader(b.String()), "again")
		if err != nil || !slicesEqual(back, v) {
			t.Fatalf("round trip: %v, %v != %v", err, back, v)
		}
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("non-finite %v accepted", x)
			}
		}
	})
}

// FuzzParseDetectorParams checks that the --detector-param parser and
// Config.With never panic, and that accepted settings name known keys.
func FuzzParseDetectorParams(f *testing.F) {
	for _, s := range []string{"kpca-cos-rff:gamma=2,m=2048,ratio=0.8", "knn:k=5", "odin:t=1000,eps=0.002", "kpca-cos-nystrom:landmarks=uniform", "gradknn:fuse=0.5,subspace=class", "a:b", ":", "msp:t=,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseDetectorParams([]string{s})
		if err != nil {
			return
		}
		for name, kv := range p {
			for k := range kv {
				if !slices.Contains(paramKeys[name], k) {
					t.Fatalf("%s: unknown key %q accepted", name, k)
				}
			}
			if _, ok := kv["rff"]; ok {
				continue // a file name: not opened here
			}
			if c, err := (Config{}).With(name, kv); err == nil {
				if _, err := New(name, c); err != nil {
					t.Fatalf("%s with %v: %v", name, kv, err)
				}
			}
		}
	})
}
