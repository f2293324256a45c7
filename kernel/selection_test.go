package kernel_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/trustml/trustml/kernel"
)

func TestKFoldPartitions(t *testing.T) {
	for _, tc := range []struct{ n, k int }{{10, 2}, {11, 3}, {7, 7}, {100, 10}} {
		folds, err := kernel.KFold(tc.n, tc.k, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		seen := make([]int, tc.n)
		for _, f := range folds {
			if len(f) < tc.n/tc.k || len(f) > tc.n/tc.k+1 {
				t.Errorf("n=%d k=%d: fold of size %d", tc.n, tc.k, len(f))
			}
			for _, i := range f {
				seen[i]++
			}
		}
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d k=%d: index %d in %d folds", tc.n, tc.k, i, c)
			}
		}
	}
	if _, err := kernel.KFold(3, 4, nil); !errors.Is(err, kernel.ErrParam) {
		t.Errorf("more folds than samples: %v", err)
	}
	y := []int{0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2}
	folds, err := kernel.StratifiedKFold(y, 3, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		t.Fatal(err)
	}
	for fi, f := range folds {
		count := map[int]int{}
		for _, i := range f {
			count[y[i]]++
		}
		if count[0] != 2 || count[1] != 1 || count[2] != 1 {
			t.Errorf("stratified fold %d has class counts %v", fi, count)
		}
	}
}

// TestCVDeterministicPerSeed: the same seed gives the same folds and
// scores; a different seed gives different folds.
func TestCVDeterministicPerSeed(t *testing.T) {
	X, y := regression(30, 60, 2, 0.2)
	newModel := func(int) (kernel.Estimator[float64], error) {
		return &kernel.KRR{Kernel: kernel.RBF{Gamma: 1}, Lambda: 0.1}, nil
	}
	run := func(seed uint64) []float64 {
		s, err := kernel.CrossValidate(bg, kernel.CV{Folds: 4, Rand: rand.New(rand.NewPCG(seed, 0))}, X, y, newModel, kernel.R2)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b, c := run(1), run(1), run(2)
	same := true
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, fold %d: %v vs %v", i, a[i], b[i])
		}
		same = same && a[i] == c[i]
	}
	if same {
		t.Error("different seeds gave identical fold scores")
	}
	for _, s := range a {
		if s < 0.5 {
			t.Errorf("fold R² %v on an easy problem", s)
		}
	}
}

func TestGridSearch(t *testing.T) {
	X, y := blobs(31, 60, 2, 3, 1.0)
	grid := kernel.Grid{"gamma": {50, 0.5}, "reg": {1e-3, 10}}
	build := func(p map[string]float64, _ int) (kernel.Estimator[int], error) {
		return &kernel.LSSVMClassifier{Kernel: kernel.RBF{Gamma: p["gamma"]}, Gamma: p["reg"]}, nil
	}
	cv := kernel.CV{Folds: 3, Rand: rand.New(rand.NewPCG(3, 3)), Stratify: true}
	res, err := kernel.GridSearch(bg, cv, X, y, grid, build, kernel.Accuracy)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Points) != 4 {
		t.Fatalf("%d grid points, want 4", len(res.Points))
	}
	// Order: sorted names (gamma, reg), cartesian product.
	want := [][2]float64{{50, 1e-3}, {50, 10}, {0.5, 1e-3}, {0.5, 10}}
	for i, p := range res.Points {
		if p.Params["gamma"] != want[i][0] || p.Params["reg"] != want[i][1] || len(p.Scores) != 3 {
			t.Errorf("point %d = %+v", i, p)
		}
		if p.Mean > res.Points[res.Best].Mean {
			t.Errorf("point %d beats the best", i)
		}
	}
	// γ = 50 isolates every point (test decisions ≈ the bias).
	if best := res.BestParams(); best["gamma"] != 0.5 || res.Points[res.Best].Mean < 0.9 {
		t.Errorf("best %v (mean %v), want gamma=0.5", best, res.Points[res.Best].Mean)
	}
	if res.Points[0].Mean > 0.7 {
		t.Errorf("gamma=50 scored %v; the grid does not discriminate", res.Points[0].Mean)
	}
	// Errors name the combination.
	bad := func(p map[string]float64, _ int) (kernel.Estimator[int], error) {
		return &kernel.LSSVMClassifier{Kernel: kernel.RBF{Gamma: p["gamma"]}, Gamma: -1}, nil
	}
	if _, err := kernel.GridSearch(bg, cv, X, y, grid, bad, kernel.Accuracy); !errors.Is(err, kernel.ErrParam) {
		t.Errorf("bad setting: %v", err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := kernel.GridSearch(ctx, cv, X, y, grid, build, kernel.Accuracy); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
