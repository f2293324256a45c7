package ood

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/zoo"
)

type fixture struct {
	net         *nn.Network
	train, test *data.Dataset
	sets        []Set
}

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  error
)

// loadFixture returns the default model, 1500 ID training and 300 ID test
// images, and 300-image far-OoD sets.
func loadFixture(t *testing.T) fixture {
	t.Helper()
	fixOnce.Do(func() {
		fix.net, _, fixErr = zoo.Default()
		if fixErr != nil {
			return
		}
		var tr, te *data.Dataset
		if tr, fixErr = data.EmbeddedFashion(data.Train); fixErr != nil {
			return
		}
		if te, fixErr = data.EmbeddedFashion(data.Test); fixErr != nil {
			return
		}
		fix.train = tr.Subset(seq(0, 1500))
		fix.test = te.Subset(seq(0, 300))
		fix.sets, fixErr = FarOoDSets(te.Subset(seq(300, 600)), 300, rand.New(rand.NewPCG(1, 1)))
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func seq(lo, hi int) []int {
	s := make([]int, hi-lo)
	for i := range s {
		s[i] = lo + i
	}
	return s
}

// TestDetectorsSeparateNoise fits every registered detector on the default
// model and checks it separates noise images from ID test images.
func TestDetectorsSeparateNoise(t *testing.T) {
	f := loadFixture(t)
	ctx := context.Background()
	train := NewInputs(f.train.X, f.train.Y)
	test := NewInputs(f.test.X, nil)
	var noise []Set
	for _, s := range f.sets {
		if s.Name == "uniform" {
			noise = append(noise, s)
		}
	}
	// Feature-based detectors must reach AUROC 0.9; logit-based ones are
	// weaker on noise (measured 0.88–0.93 for MSP…ODIN) and must reach 0.8.
	logitBased := map[string]bool{"msp": true, "maxlogit": true, "energy": true, "odin": true}
	cfg := Config{Seed: 1, KPCA: KPCA{M: 256}}
	for _, name := range Names() {
		if name == "gradknn" {
			continue // per-sample gradients: TestGradKNNSeparatesNoise, on fewer images
		}
		t.Run(name, func(t *testing.T) {
			d, err := New(name, cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Benchmark(ctx, f.net, []Detector{d}, train, test, noise)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				t.Logf("%s vs %s: %+v", name, r.OoD, r.Metrics)
				want := 0.9
				if logitBased[name] {
					want = 0.8
				}
				if r.AUROC < want {
					t.Errorf("%s vs %s: AUROC %.3f < %v", name, r.OoD, r.AUROC, want)
				}
			}
		})
	}
}

func TestDetectorErrors(t *testing.T) {
	f := loadFixture(t)
	ctx := context.Background()
	d := f.net.FeatureDim()
	k := f.net.NumClasses()
	constant := make([]float32, 300*d)
	logits := make([]float32, 300*k)
	few := make([]float32, 20*d)
	for i := range few {
		few[i] = float32(i % 7)
	}
	nanFeat := make([]float32, 300*d)
	for i := range nanFeat {
		nanFeat[i] = float32(i % 13)
	}
	nanFeat[5*d+3] = float32(0) / float32(0*len(nanFeat)+0) // NaN
	cases := []struct {
		det  string
		in   *Inputs
		want error
	}{
		{"mahalanobis", NewFeatureInputs(make([]float32, 20*k), few, nil), ErrFeatures},
		{"mahalanobis", NewFeatureInputs(logits, constant, nil), ErrFeatures},
		{"knn", NewFeatureInputs(logits, constant, nil), ErrFeatures},
		{"knn", NewFeatureInputs(make([]float32, 20*k), few, nil), ErrFeatures},
		{"vim", NewFeatureInputs(logits, constant, nil), ErrFeatures},
		{"kpca-cos", NewFeatureInputs(logits, constant, nil), ErrFeatures},
		{"kpca-cos-nystrom", NewFeatureInputs(make([]float32, 20*k), few, nil), ErrFeatures},
		{"kpca-cos-rff", NewFeatureInputs(logits, nanFeat, nil), ErrFeatures},
	}
	for _, c := range cases {
		det, err := New(c.det, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if err := det.Fit(ctx, f.net, c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: Fit error %v, want %v", c.det, err, c.want)
		} else {
			t.Logf("%s: %v", c.det, err)
		}
	}
	for _, name := range []string{"mahalanobis", "knn", "vim", "kpca-cos", "kpca-cos-rff", "kpca-cos-nystrom", "kpca-cos-rff+msp"} {
		det, _ := New(name, Config{})
		err := det.Score(ctx, f.net, make([]float64, 10), NewInputs(f.test.X[:10*784], nil))
		if !errors.Is(err, ErrNotFitted) {
			t.Errorf("%s: Score before Fit: %v, want ErrNotFitted", name, err)
		}
	}
	if _, err := New("nope", Config{}); err == nil {
		t.Error("unknown detector accepted")
	}
	for _, c := range []struct {
		name string
		d    Detector
	}{
		{"odin eps", &ODIN{Eps: -1}},
		{"msp T", &MSP{T: -1}},
		{"kpca map", &KPCA{Map: "rbf"}},
		{"kpca ratio", &KPCA{Map: "cos", ExpVarRatio: 2}},
		{"knn K", &KNN{K: -3}},
	} {
		if err := c.d.Fit(ctx, f.net, NewInputs(f.train.X[:100*784], nil)); err == nil {
			t.Errorf("%s: bad parameter accepted", c.name)
		}
	}
}

// TestSeedDeterminism: same seed ⇒ same RFF scores bit for bit.
func TestSeedDeterminism(t *testing.T) {
	f := loadFixture(t)
	ctx := context.Background()
	train := NewInputs(f.train.X, nil)
	test := NewInputs(f.test.X[:50*784], nil)
	var prev []float64
	for range 2 {
		d := &KPCA{Map: "cos-rff", M: 128, Seed: 9}
		if err := d.Fit(ctx, f.net, train); err != nil {
			t.Fatal(err)
		}
		s := make([]float64, 50)
		if err := d.Score(ctx, f.net, s, test); err != nil {
			t.Fatal(err)
		}
		if prev != nil {
			for i := range s {
				if s[i] != prev[i] {
					t.Fatalf("score %d differs between runs: %v vs %v", i, s[i], prev[i])
				}
			}
		}
		prev = s
	}
}
