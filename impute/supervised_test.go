package impute_test

import (
	"context"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/trustml/trustml/impute"
)

func TestSupervisedFull(t *testing.T) {
	X, y := twoBlobs(60, 4, 3)
	miss, err := impute.MCAR(X, 0.3, rand.NewPCG(5, 5))
	if err != nil {
		t.Fatal(err)
	}
	res, err := impute.Supervised(context.Background(), miss, impute.Labels{Class: y[:45]}, impute.SupervisedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	mean, _ := impute.Mean(miss)
	rs, rm := impute.RMSE(res.X, X, miss), impute.RMSE(mean, X, miss)
	t.Logf("RMSE supervised %.3f mean %.3f; C %g γ %g η %.3g r %.3g stress %.3g obj %.4g→%.4g", rs, rm, res.C, res.Gamma, res.Eta, res.Radius, res.Stress, res.Objective[0], res.Objective[len(res.Objective)-1])
	as, am := downstream(t, res.X, y, 45), downstream(t, mean, y, 45)
	t.Logf("downstream accuracy supervised %.3f mean %.3f", as, am)
	if !(as >= am) {
		t.Errorf("downstream accuracy supervised %.3f, want ≥ mean imputation's %.3f", as, am)
	}
	n, d := miss.Dims()
	for i := range n {
		if res.K.At(i, i) != 1 {
			t.Fatalf("K[%d,%d] = %v, want unit diagonal", i, i, res.K.At(i, i))
		}
		for j := range d {
			if v := res.X.At(i, j); math.IsNaN(v) || (!math.IsNaN(miss.At(i, j)) && v != X.At(i, j)) {
				t.Fatalf("[%d,%d] = %g: observed entries must be kept and missing ones filled", i, j, v)
			}
		}
	}
}

// downstream is the test accuracy of an RBF LS-SVM fitted on the first
// ntr rows of X and tested on the rest.
func downstream(t *testing.T, X *mat.Dense, y []int, ntr int) float64 {
	t.Helper()
	n, d := X.Dims()
	m := &kernel.LSSVMClassifier{Kernel: kernel.RBF{Gamma: 1 / float64(d)}, Gamma: 1}
	if err := m.Fit(context.Background(), X.Slice(0, ntr, 0, d).(*mat.Dense), y[:ntr]); err != nil {
		t.Fatal(err)
	}
	p, err := m.Predict(X.Slice(ntr, n, 0, d).(*mat.Dense))
	if err != nil {
		t.Fatal(err)
	}
	return kernel.Accuracy(y[ntr:], p)
}
