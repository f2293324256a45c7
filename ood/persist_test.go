package ood

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// smallConfig keeps the KPCA maps small so that fitting stays fast.
var smallConfig = Config{Seed: 3, KPCA: KPCA{M: 128}}

func TestSaveLoadDetectorRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := loadFixture(t)
	dir := t.TempDir()
	// One Inputs each, so that the forward passes are shared.
	x := f.test.X[:50*f.test.SampleSize()]
	trainIn, testIn := NewInputs(f.train.X, f.train.Y), NewInputs(x, nil)
	for _, name := range savable() {
		t.Run(name, func(t *testing.T) {
			d, err := New(name, smallConfig)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Fit(ctx, f.net, trainIn); err != nil {
				t.Fatal(err)
			}
			want := make([]float64, 50)
			if err := d.Score(ctx, f.net, want, testIn); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, name+".json")
			if err := SaveDetectorFile(p, d); err != nil {
				t.Fatal(err)
			}
			l, err := LoadDetectorFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if l.Name() != name {
				t.Fatalf("loaded %s", l.Name())
			}
			got := make([]float64, 50)
			if err := l.Score(ctx, f.net, got, testIn); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("score %d: %v after loading, %v before", i, got[i], want[i])
				}
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) != len(savable()) {
		t.Errorf("%d files in the directory, want %d (temporary files left?)", len(ents), len(savable()))
	}
}

func TestSaveDetectorErrors(t *testing.T) {
	var buf bytes.Buffer
	for _, d := range []Detector{&KNN{}, &Mahalanobis{}, &ViM{}, &KPCA{Map: "cos"}, &GradKNN{}} {
		if err := SaveDetector(&buf, d); err == nil {
			t.Errorf("%s: saved unfitted or unsupported detector", d.Name())
		}
	}
	if err := SaveDetector(&buf, &KNN{}); !errors.Is(err, ErrNotFitted) {
		t.Errorf("unfitted knn: %v, want ErrNotFitted", err)
	}
}

func validKNNFile(t testing.TB) []byte {
	d := &KNN{K: 1, train: []float64{1, 0, 0, 1}, sq: []float64{1, 1}, n: 2, d: 2}
	var buf bytes.Buffer
	if err := SaveDetector(&buf, d); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoadDetectorCorrupt(t *testing.T) {
	valid := string(validKNNFile(t))
	if _, err := LoadDetector(strings.NewReader(valid)); err != nil {
		t.Fatalf("valid file: %v", err)
	}
	var s savedDetector
	if err := json.Unmarshal([]byte(valid), &s); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(*savedDetector)) string {
		c := s
		f(&c)
		b, _ := json.Marshal(c)
		return string(b)
	}
	tests := []struct{ name, file, want string }{
		{"empty", "", "not a detector file"},
		{"truncated", valid[:len(valid)/2], "not a detector file"},
		{"format", edit(func(s *savedDetector) { s.Format = "x" }), "format"},
		{"version", edit(func(s *savedDetector) { s.Version = 99 }), "version 99"},
		{"unknown", edit(func(s *savedDetector) { s.Detector = "nope" }), "unknown detector"},
		{"gradknn", edit(func(s *savedDetector) { s.Detector = "gradknn" }), "unknown detector"},
		{"k > n", edit(func(s *savedDetector) {
			s.State = json.RawMessage(strings.Replace(string(s.State), `"K":1`, `"K":3`, 1))
		}), "corrupt state"},
		{"short data", edit(func(s *savedDetector) {
			s.State = json.RawMessage(strings.Replace(string(s.State), `"N":2`, `"N":3`, 1))
		}), "corrupt state"},
		{"bad base64", edit(func(s *savedDetector) { s.State = json.RawMessage(`{"K":1,"N":1,"D":1,"Train":"!!"}`) }), "corrupt state"},
		{"NaN", edit(func(s *savedDetector) { s.State = json.RawMessage(`{"K":1,"N":1,"D":1,"Train":"AAAAAAAA+H8="}`) }), "not finite"},
		{"kpca map", edit(func(s *savedDetector) {
			s.Detector = "kpca-cos"
			s.State = json.RawMessage(`{"Map":"cos-rff","D":1,"Dim":1,"Q":1}`)
		}), "corrupt state"},
		{"rff too big", edit(func(s *savedDetector) {
			s.Detector = "kpca-cos-rff"
			st, _ := json.Marshal(kpcaState{Map: "cos-rff", Gamma: 1, Ratio: 0.8, M: 128, D: 65536, Dim: 128, Q: 1, Mean: make(f64s, 128), U: make(f64s, 128)})
			s.State = st
		}), "corrupt state"},
	}
	for _, tc := range tests {
		_, err := LoadDetector(strings.NewReader(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := LoadDetectorFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
}

// FuzzLoadDetector checks that no file makes LoadDetector, or scoring with
// what it loads, panic.
func FuzzLoadDetector(f *testing.F) {
	f.Add(validKNNFile(f))
	for _, d := range []Detector{&MSP{T: 2}, &ODIN{}, &Mahalanobis{k: 1, d: 2, r: 1, w: []float64{1, 0}, means: []float64{0}},
		&ViM{o: []float64{0, 0}, p: []float64{1, 0}, dim: 2, dp: 1, alpha: 1},
		&KPCA{Map: "cos", d: 2, dim: 2, q: 1, mean: []float64{0, 0}, u: []float64{1, 0}, fited: true}} {
		var buf bytes.Buffer
		if err := SaveDetector(&buf, d); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte(`{"format":"trustml-ood-detector","version":1,"detector":"kpca-cos-nystrom","state":{"Map":"cos-nystrom","Gamma":1,"M":1,"D":2,"Dim":1,"Q":1}}`))
	net := twoFeatureModel{}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := LoadDetector(bytes.NewReader(b))
		if err != nil {
			return
		}
		if d.Name() == "odin" {
			return // needs a model with input gradients
		}
		dst := make([]float64, 3)
		_ = d.Score(context.Background(), net, dst, NewFeatureInputs([]float32{1, 2, 3, 4, 5, 6}, []float32{1, 0, 0.5, 0.5, -1, 2}, nil))
	})
}

// twoFeatureModel is a 2-class model of 2 inputs whose features and logits
// are its inputs.
type twoFeatureModel struct{}

func (twoFeatureModel) InputShape() []int { return []int{2} }
func (twoFeatureModel) NumClasses() int   { return 2 }
func (twoFeatureModel) FeatureDim() int   { return 2 }
func (twoFeatureModel) Logits(_ context.Context, dst, x []float32) error {
	copy(dst, x)
	return nil
}
func (twoFeatureModel) Features(_ context.Context, dst, x []float32) error {
	copy(dst, x)
	return nil
}
