package kernel_test

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/kernel"
)

func tabular(t testing.TB, name string) *data.Dataset {
	t.Helper()
	d, err := data.Tabular(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRegistriesUnknown: unknown kernel and method names are errors that
// match ErrUnknown and list the registered names.
func TestRegistriesUnknown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   func() error
		known []string
	}{
		{"kernel", func() error { _, err := kernel.ParseKernel("gauss:sigma=1"); return err }, kernel.KernelNames()},
		{"kernel spec", func() error { _, err := kernel.NewKernel(kernel.Spec{Name: "nope"}); return err }, kernel.KernelNames()},
		{"method", func() error { _, err := kernel.LookupMethod("svm"); return err }, kernel.MethodNames()},
		{"regressor", func() error { _, err := kernel.NewRegressor("svm", kernel.Linear{}, 1, nil); return err }, kernel.MethodNames()},
		{"classifier", func() error { _, err := kernel.NewClassifier("", kernel.Linear{}, 1, nil); return err }, kernel.MethodNames()},
		{"pipeline", func() error {
			p := kernel.Pipeline{Method: "ridge"}
			return p.Fit(bg, tabular(t, "iris"))
		}, kernel.MethodNames()},
	} {
		err := tc.err()
		if !errors.Is(err, kernel.ErrUnknown) {
			t.Errorf("%s: error %v does not match ErrUnknown", tc.name, err)
			continue
		}
		if !strings.Contains(err.Error(), strings.Join(tc.known, ", ")) {
			t.Errorf("%s: error %q does not list %v", tc.name, err, tc.known)
		}
	}
	if !errors.Is(func() error { _, err := kernel.ParseKernel("nope"); return err }(), kernel.ErrParam) {
		t.Error("an unknown kernel no longer matches ErrParam")
	}
}

// TestMethods: every registered method builds what it declares, and a
// method asked for the other task says which methods fit.
func TestMethods(t *testing.T) {
	names := kernel.MethodNames()
	for _, want := range []string{"askls", "krr", "labrbf", "lssvm"} {
		if !slices.Contains(names, want) {
			t.Errorf("method %s is not registered (have %v)", want, names)
		}
	}
	for _, tc := range []struct {
		name              string
		regress, classify bool
		wrongTaskMentions string
	}{
		{"krr", true, false, "lssvm"},
		{"lssvm", true, true, ""},
		{"askls", false, true, "krr, labrbf, lssvm"},
		{"labrbf", true, false, "askls, lssvm"},
	} {
		r, rerr := kernel.NewRegressor(tc.name, kernel.RBF{Gamma: 1}, 1, nil)
		c, cerr := kernel.NewClassifier(tc.name, kernel.RBF{Gamma: 1}, 1, nil)
		if (r != nil) != tc.regress || (rerr == nil) != tc.regress {
			t.Errorf("%s: NewRegressor = %v, %v", tc.name, r, rerr)
		}
		if (c != nil) != tc.classify || (cerr == nil) != tc.classify {
			t.Errorf("%s: NewClassifier = %v, %v", tc.name, c, cerr)
		}
		for _, err := range []error{rerr, cerr} {
			if err != nil && (!errors.Is(err, kernel.ErrParam) || !strings.Contains(err.Error(), tc.wrongTaskMentions)) {
				t.Errorf("%s: wrong-task error %q, want ErrParam naming %q", tc.name, err, tc.wrongTaskMentions)
			}
		}
	}
	if h := kernel.MethodHelp(); strings.Count(h, "\n")+1 != len(names) {
		t.Errorf("MethodHelp has %d lines for %d methods:\n%s", strings.Count(h, "\n")+1, len(names), h)
	}
	if h := kernel.KernelHelp(); strings.Count(h, "\n")+1 != len(kernel.KernelNames()) {
		t.Errorf("KernelHelp has %d lines for %d kernels", strings.Count(h, "\n")+1, len(kernel.KernelNames()))
	}
}

// TestPipelineRoundTrip: a fitted pipeline saved with SaveFile and loaded
// back predicts the same, and its training score is FitHoldout's.
func TestPipelineRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		data   string
		p      kernel.Pipeline
		method string
	}{
		{"iris", kernel.Pipeline{Kernel: "rbf:gamma=0.5"}, "lssvm"},
		{"wine", kernel.Pipeline{Method: "askls", Kernel: "sne:sigma=4"}, "askls"},
		{"diabetes", kernel.Pipeline{Method: "krr", NoStandardize: true}, "krr"},
	} {
		t.Run(tc.data, func(t *testing.T) {
			d := tabular(t, tc.data)
			p := tc.p
			h, err := p.FitHoldout(bg, d, 0)
			if err != nil {
				t.Fatal(err)
			}
			if p.Method != tc.method || p.Reg == 0 || p.Kernel == "" || h.NTrain != d.Len() || h.NTest != 0 || !math.IsNaN(h.TestScore) {
				t.Errorf("resolved %+v, holdout %+v", p, h)
			}
			path := filepath.Join(dir, tc.data)
			if err := kernel.SaveFile(path, &p); err != nil {
				t.Fatal(err)
			}
			q, err := kernel.LoadPipelineFile(path)
			if err != nil {
				t.Fatal(err)
			}
			a, err := p.Predict(d)
			if err != nil {
				t.Fatal(err)
			}
			b, err := q.Predict(d)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Values, b.Values) || !slices.Equal(a.Labels, b.Labels) || a.Score != b.Score || !b.Scored {
				t.Errorf("loaded pipeline predicts differently: score %v vs %v", a.Score, b.Score)
			}
			if b.Score != h.TrainScore {
				t.Errorf("Predict score %v, FitHoldout's training score %v", b.Score, h.TrainScore)
			}
			if s, err := q.Score(d); err != nil || s != b.Score {
				t.Errorf("Score = %v, %v; want %v", s, err, b.Score)
			}
			if len(b.Lines()) != d.Len() {
				t.Errorf("%d lines for %d rows", len(b.Lines()), d.Len())
			}
		})
	}
}

// TestPipelineHoldout: the held-out part is scored and both parts add up.
func TestPipelineHoldout(t *testing.T) {
	d := tabular(t, "iris")
	p := kernel.Pipeline{Seed: 3}
	h, err := p.FitHoldout(bg, d, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	if h.NTrain+h.NTest != d.Len() || h.NTest != 30 || h.Metric != "accuracy" || !(h.TestScore > 0.8) || !(h.TrainScore > 0.8) {
		t.Errorf("holdout %+v", h)
	}
	if p.Kernel != "rbf:gamma=0.25" || p.Reg != 10 || p.Method != "lssvm" || len(p.Classes) != 3 || p.Features != 4 {
		t.Errorf("defaults not resolved: %+v", p)
	}
	s, err := kernel.Prepare(d, 0.2, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Xte.Dims(); r != h.NTest || !slices.Equal(s.Mean, p.Mean) {
		t.Errorf("Prepare splits %d test rows (want %d) or standardizes differently", r, h.NTest)
	}
}

// TestPipelineErrors: bad settings and data give errors naming them.
func TestPipelineErrors(t *testing.T) {
	iris, dia := tabular(t, "iris"), tabular(t, "diabetes")
	img := &data.Dataset{Name: "img", Shape: []int{1, 2, 2}, X: make([]float32, 8), Y: []int{0, 1}, Classes: []string{"a", "b"}}
	for _, tc := range []struct {
		name string
		run  func() error
		want string
		is   error
	}{
		{"krr on classes", func() error { p := kernel.Pipeline{Method: "krr"}; return p.Fit(bg, iris) }, "krr is a regressor", kernel.ErrParam},
		{"askls on targets", func() error { p := kernel.Pipeline{Method: "askls"}; return p.Fit(bg, dia) }, "askls is a classifier", kernel.ErrParam},
		{"bad kernel", func() error { p := kernel.Pipeline{Kernel: "rbf:gama=1"}; return p.Fit(bg, iris) }, `no parameter "gama"`, kernel.ErrParam},
		{"test fraction", func() error { p := kernel.Pipeline{}; _, err := p.FitHoldout(bg, iris, 1); return err }, "test fraction", kernel.ErrParam},
		{"images", func() error { p := kernel.Pipeline{}; return p.Fit(bg, img) }, "tabular", kernel.ErrShape},
		{"nil data", func() error { p := kernel.Pipeline{}; return p.Fit(bg, nil) }, "nil data set", kernel.ErrShape},
		{"unfitted", func() error { p := kernel.Pipeline{}; _, err := p.Predict(iris); return err }, "not fitted", kernel.ErrNotFitted},
		{"features", func() error {
			p := kernel.Pipeline{}
			if err := p.Fit(bg, iris); err != nil {
				return err
			}
			_, err := p.Predict(tabular(t, "wine"))
			return err
		}, "fitted on 4 features", kernel.ErrShape},
		{"grid reg", func() error {
			p := kernel.Pipeline{}
			_, err := p.GridSearch(bg, iris, kernel.SearchGrid{Kernel: kernel.Grid{"reg": {1}}})
			return err
		}, `"reg"`, kernel.ErrParam},
		{"nystrom", func() error { _, err := kernel.AsPipeline(&kernel.Nystrom{}); return err }, "does not predict", kernel.ErrParam},
	} {
		err := tc.run()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
			t.Errorf("%s: error %v, want one mentioning %q matching %v", tc.name, err, tc.want, tc.is)
		}
	}
}

// TestPipelineGridSearch: every combination is scored with the same folds,
// the best is the maximum, and the parameters are named as documented.
func TestPipelineGridSearch(t *testing.T) {
	p := kernel.Pipeline{Seed: 2}
	res, err := p.GridSearch(bg, tabular(t, "iris"), kernel.SearchGrid{Kernel: kernel.Grid{"gamma": {0.1, 1}}, Reg: []float64{1, 10}, Folds: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Points) != 4 || res.Folds != 3 || res.Method != "lssvm" || res.Kernel != "rbf:gamma=0.25" || res.Regression {
		t.Fatalf("search %+v", res)
	}
	for _, pt := range res.Points {
		if len(pt.Scores) != 3 || pt.Mean > res.Points[res.Best].Mean {
			t.Errorf("point %+v (best %v)", pt, res.Points[res.Best].Mean)
		}
	}
	if got := kernel.FormatParams(res.Points[0].Params); got != "gamma=0.1 reg=1" {
		t.Errorf("first point %q, want gamma=0.1 reg=1", got)
	}
	if p.Model != nil {
		t.Error("GridSearch fitted the pipeline")
	}
}

func TestParseGrid(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want kernel.Grid
		err  string
	}{
		{nil, kernel.Grid{}, ""},
		{[]string{"gamma=0.1, 1", "sigma=2"}, kernel.Grid{"gamma": {0.1, 1}, "sigma": {2}}, ""},
		{[]string{"gamma"}, nil, "want name=v1,v2"},
		{[]string{"=1"}, nil, "want name=v1,v2"},
		{[]string{"gamma=1,x"}, nil, "not a number"},
	} {
		g, err := kernel.ParseGrid(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, kernel.ErrParam) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || len(g) != len(tc.want) {
			t.Errorf("%q: %v, %v", tc.in, g, err)
		}
		for k, v := range tc.want {
			if !slices.Equal(g[k], v) {
				t.Errorf("%q: %s = %v, want %v", tc.in, k, g[k], v)
			}
		}
	}
}

// TestLoadLegacyCLIFile: files written by "trustml kernel fit" before the
// pipeline was a model kind load as a *Pipeline.
func TestLoadLegacyCLIFile(t *testing.T) {
	X, y := regression(7, 8, 2, 0.1)
	m := &kernel.KRR{Kernel: kernel.RBF{Gamma: 1}, Lambda: 0.1}
	if err := m.Fit(bg, X, y); err != nil {
		t.Fatal(err)
	}
	var inner bytes.Buffer
	if err := kernel.Save(&inner, m); err != nil {
		t.Fatal(err)
	}
	legacy := `{"format":"trustml-kernel-cli-model","version":1,"method":"krr","kernel":"rbf:gamma=1","regression":true,` +
		`"features":2,"mean":[0,0],"std":[1,1],"trained_on":"synthetic","model":` + strings.TrimSpace(inner.String()) + `}`
	got, err := kernel.Load(strings.NewReader(legacy))
	if err != nil {
		t.Fatal(err)
	}
	p, ok := got.(*kernel.Pipeline)
	if !ok || p.Method != "krr" || !p.Regression || p.Features != 2 || p.TrainedOn != "synthetic" {
		t.Fatalf("loaded %T %+v", got, got)
	}
	if _, ok := p.Model.(*kernel.KRR); !ok {
		t.Errorf("inner model %T", p.Model)
	}
	for _, bad := range []string{
		strings.Replace(legacy, `"features":2`, `"features":3`, 1),
		strings.Replace(legacy, `"std":[1,1]`, `"std":[1,0]`, 1),
		strings.Replace(legacy, `"regression":true`, `"regression":false`, 1),
		strings.Replace(legacy, `"version":1`, `"version":2`, 1),
	} {
		if _, err := kernel.Load(strings.NewReader(bad)); !errors.Is(err, kernel.ErrFormat) {
			t.Errorf("error %v, want ErrFormat for %s", err, bad[:80])
		}
	}
}
