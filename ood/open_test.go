package ood

import (
	"context"
	"errors"
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/serve"
)

// featureModel is a classifier with features and nothing else (as a v2
// client reading a features output will be): no gradients, no weights.
type featureModel struct{ m model.FeatureExtractor }

func (f featureModel) InputShape() []int { return f.m.InputShape() }
func (f featureModel) NumClasses() int   { return f.m.NumClasses() }
func (f featureModel) FeatureDim() int   { return f.m.FeatureDim() }
func (f featureModel) Logits(ctx context.Context, dst, x []float32) error {
	return f.m.Logits(ctx, dst, x)
}
func (f featureModel) Features(ctx context.Context, dst, x []float32) error {
	return f.m.Features(ctx, dst, x)
}

// TestServedModel runs the detectors on a model served over the v2
// protocol (logits only: the feature detectors fail naming the detector and
// what to do) and on a fake that returns features like a served model with a
// features output (they run, equal to the network's scores).
func TestServedModel(t *testing.T) {
	f := loadFixture(t)
	srv := httptest.NewServer((&oip.Server{Name: "m", Model: f.net.Copy()}).Handler())
	defer srv.Close()
	url := srv.URL + "/v2/models/m"
	ms, err := OpenModels(t.Context(), url, "")
	if err != nil {
		t.Fatal(err)
	}
	tr, te := f.train.Subset(seq(0, 150)), f.test.Subset(seq(0, 30))
	ctx := t.Context()
	served := make([]float64, te.Len())
	for _, name := range []string{"energy", "knn"} {
		det, _ := New(name, Config{K: 5})
		_, err := Benchmark(ctx, ms[0], []Detector{det}, NewInputs(tr.X, tr.Y), NewInputs(te.X, nil), []Set{{Name: "noise", X: f.sets[2].X[:30*784]}})
		switch {
		case name == "energy" && err != nil:
			t.Fatalf("energy on a served model: %v", err)
		case name == "knn" && (err == nil || !errors.Is(err, ErrNoFeatures) || !strings.Contains(err.Error(), "fit knn") || !strings.Contains(err.Error(), "--features-output")):
			t.Fatalf("knn on a served model without features: %v", err)
		}
	}
	rep, err := Run(ctx, RunConfig{ModelName: url, Detectors: []string{"energy"}, NTrain: 50, NTest: 40, NOoD: 20})
	if err != nil || rep.Model != url || len(rep.Results) != 4 {
		t.Fatalf("ood eval of a served model: %v", err)
	}
	if _, err := Run(ctx, RunConfig{ModelName: url, Detectors: []string{"mahalanobis"}, NTrain: 50, NTest: 40, NOoD: 20}); err == nil || !strings.Contains(err.Error(), "fit mahalanobis") || !strings.Contains(err.Error(), "--features-output") {
		t.Errorf("mahalanobis on a served model without features: %v", err)
	}
	if _, err := OpenModels(ctx, url, "feat"); err == nil || !strings.Contains(err.Error(), "feat") {
		t.Errorf("features output: %v", err)
	}
	for _, name := range []string{"knn", "kpca-cos-rff"} {
		want := make([]float64, te.Len())
		for i, m := range []model.Classifier{f.net, featureModel{f.net}} {
			det, _ := New(name, Config{K: 5, KPCA: KPCA{M: 32}})
			if err := det.Fit(ctx, m, NewInputs(tr.X, tr.Y)); err != nil {
				t.Fatal(err)
			}
			dst := map[int][]float64{0: want, 1: served}[i]
			if err := det.Score(ctx, m, dst, NewInputs(te.X, nil)); err != nil {
				t.Fatal(err)
			}
		}
		if !slicesEqual(served, want) {
			t.Errorf("%s on a features-only model differs from the network", name)
		}
	}
	if err := (&ViM{}).Fit(ctx, featureModel{f.net}, NewInputs(tr.X, nil)); err == nil || !strings.Contains(err.Error(), "last layer") {
		t.Errorf("vim without the last layer: %v", err)
	}
}

// TestServedModelFeatures runs feature detectors on a model served by
// trustml serve with its features published: the scores equal those of the
// same network in process.
func TestServedModelFeatures(t *testing.T) {
	f := loadFixture(t)
	s, err := serve.New(f.net.Copy(), serve.Options{Name: "m", Defense: "none", FeaturesOutput: "features"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.APIHandler())
	defer srv.Close()
	defer s.Close(context.Background())
	ms, err := OpenModels(t.Context(), srv.URL+"/v2/models/m", "features")
	if err != nil {
		t.Fatal(err)
	}
	tr, te := f.train.Subset(seq(0, 150)), f.test.Subset(seq(0, 30))
	for _, name := range []string{"mahalanobis", "knn"} {
		var got [2][]float64
		for i, m := range []model.Classifier{f.net, ms[0]} {
			det, _ := New(name, Config{K: 5})
			if err := det.Fit(t.Context(), m, NewInputs(tr.X, tr.Y)); err != nil {
				t.Fatalf("%s, model %d: %v", name, i, err)
			}
			got[i] = make([]float64, te.Len())
			if err := det.Score(t.Context(), m, got[i], NewInputs(te.X, nil)); err != nil {
				t.Fatal(err)
			}
		}
		for j := range got[0] {
			if math.Abs(got[0][j]-got[1][j]) > 1e-4*(1+math.Abs(got[0][j])) {
				t.Fatalf("%s: served score %d = %g, in process %g", name, j, got[1][j], got[0][j])
			}
		}
	}
}
