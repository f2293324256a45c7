package impute_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/impute"
)

// TestKNNGolden checks KNN against scikit-learn's KNNImputer
// (testdata/knn_golden.py).
func TestKNNGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/knn_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		X     [][]*float64
		Cases []struct {
			K    int
			Want [][]float64
		}
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	X := mat.NewDense(len(g.X), len(g.X[0]), nil)
	for i, r := range g.X {
		for j, v := range r {
			if v == nil {
				X.Set(i, j, math.NaN())
			} else {
				X.Set(i, j, *v)
			}
		}
	}
	if len(g.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	for _, c := range g.Cases {
		got, err := impute.KNN(X, c.K)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range c.Want {
			for j, w := range r {
				if v := got.At(i, j); math.Abs(v-w) > 1e-12 {
					t.Errorf("k=%d: [%d,%d] = %g, scikit-learn %g", c.K, i, j, v, w)
				}
			}
		}
	}
}

func TestMeanAndErrors(t *testing.T) {
	nan := math.NaN()
	X := mat.NewDense(3, 2, []float64{1, nan, 3, 4, nan, 8})
	got, err := impute.Mean(X)
	if err != nil {
		t.Fatal(err)
	}
	if want := mat.NewDense(3, 2, []float64{1, 6, 3, 4, 2, 8}); !mat.Equal(got, want) {
		t.Errorf("Mean = %v, want %v", mat.Formatted(got), mat.Formatted(want))
	}
	empty := mat.NewDense(2, 2, []float64{1, nan, 2, nan})
	tests := []struct {
		name string
		err  error
	}{
		{"mean all-missing column", func() error { _, err := impute.Mean(empty); return err }()},
		{"knn all-missing column", func() error { _, err := impute.KNN(empty, 1); return err }()},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, impute.ErrNoObserved) {
			t.Errorf("%s: err = %v, want ErrNoObserved", tc.name, tc.err)
		}
	}
	bad := []struct {
		name string
		err  error
	}{
		{"k = 0", func() error { _, err := impute.KNN(X, 0); return err }()},
		{"rate 1", func() error { _, err := impute.MCAR(X, 1, rand.NewPCG(1, 1)); return err }()},
		{"constant targets", func() error {
			_, err := impute.Bandwidth(context.Background(), X, impute.Labels{Target: []float64{1, 1, 1}}, impute.DefaultBandwidthConfig())
			return err
		}()},
		{"no labels", func() error {
			_, err := impute.Bandwidth(context.Background(), X, impute.Labels{}, impute.DefaultBandwidthConfig())
			return err
		}()},
	}
	for _, tc := range bad {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// twoBlobs returns n rows of a 2-class problem whose d features are
// correlated with the class and with each other.
func twoBlobs(n, d int, seed uint64) (*mat.Dense, []int) {
	rng := rand.New(rand.NewPCG(seed, 2))
	X := mat.NewDense(n, d, nil)
	y := make([]int, n)
	for i := range n {
		y[i] = i % 2
		z := rng.NormFloat64()
		for j := range d {
			X.Set(i, j, 2*float64(y[i])+z+0.2*rng.NormFloat64())
		}
	}
	return X, y
}

func TestBandwidthBeatsMean(t *testing.T) {
	X, y := twoBlobs(80, 4, 3)
	miss, err := impute.MCAR(X, 0.3, rand.NewPCG(5, 5))
	if err != nil {
		t.Fatal(err)
	}
	res, err := impute.Bandwidth(context.Background(), miss, impute.Labels{Class: y[:60]}, impute.DefaultBandwidthConfig())
	if err != nil {
		t.Fatal(err)
	}
	mean, _ := impute.Mean(miss)
	knn, _ := impute.KNN(miss, 5)
	rs, rm, rk := impute.RMSE(res.X, X, miss), impute.RMSE(mean, X, miss), impute.RMSE(knn, X, miss)
	t.Logf("RMSE supervised %.3f knn %.3f mean %.3f (γ %g, CV acc %.3f)", rs, rk, rm, res.Gamma, res.CVScore)
	if !(rs < rm && rk < rm) {
		t.Errorf("RMSE supervised %.3f knn %.3f, want both below mean imputation's %.3f", rs, rk, rm)
	}
	if res.CVScore < 0.7 {
		t.Errorf("CV accuracy %.3f, want ≥ 0.7 on the blobs", res.CVScore)
	}
	n, d := miss.Dims()
	for i := range n {
		for j := range d {
			if v := res.X.At(i, j); math.IsNaN(v) || (!math.IsNaN(miss.At(i, j)) && v != X.At(i, j)) {
				t.Fatalf("[%d,%d] = %g: observed entries must be kept and missing ones filled", i, j, v)
			}
		}
	}
	again, err := impute.Bandwidth(context.Background(), miss, impute.Labels{Class: y[:60]}, impute.DefaultBandwidthConfig())
	if err != nil || !mat.Equal(again.X, res.X) || again.Gamma != res.Gamma {
		t.Errorf("same seed, different result (err %v)", err)
	}
	// Regression labels take the KRR path.
	target := make([]float64, 60)
	for i := range target {
		target[i] = X.At(i, 0) + X.At(i, 1)
	}
	if _, err := impute.Bandwidth(context.Background(), miss, impute.Labels{Target: target}, impute.BandwidthConfig{}); err != nil {
		t.Fatal(err)
	}
}

func TestBandwidthCancelled(t *testing.T) {
	X, y := twoBlobs(30, 3, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := impute.Bandwidth(ctx, X, impute.Labels{Class: y}, impute.DefaultBandwidthConfig()); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestMCARRate(t *testing.T) {
	X := mat.NewDense(200, 10, nil)
	miss, err := impute.MCAR(X, 0.3, rand.NewPCG(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	var c int
	for _, v := range miss.RawMatrix().Data {
		if math.IsNaN(v) {
			c++
		}
	}
	if f := float64(c) / 2000; math.Abs(f-0.3) > 0.04 {
		t.Errorf("missing fraction %.3f, want ≈ 0.3", f)
	}
}
