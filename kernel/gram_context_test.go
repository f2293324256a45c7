package kernel_test

import (
	"context"
	"errors"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
)

// TestGramContext: a cancelled context stops the Gram matrix of every kind
// of kernel, and a live one gives Gram's matrix.
func TestGramContext(t *testing.T) {
	X, _ := regression(3, 64, 2, 0.1)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, k := range []kernel.Kernel{
		kernel.RBF{Gamma: 0.5}, // inner-product kernel
		kernel.ShiftedGaussian{Sigma: 1, Shift: []float64{0.2, 0}}, // pairwise
		kernel.Laplacian{Gamma: 1},
	} {
		want, err := kernel.Gram(k, X, X)
		if err != nil {
			t.Fatal(err)
		}
		got, err := kernel.GramContext(context.Background(), k, X, X)
		if err != nil || !mat.Equal(got, want) {
			t.Errorf("%T: GramContext differs from Gram (err %v)", k, err)
		}
		if _, err := kernel.GramContext(cancelled, k, X, X); !errors.Is(err, context.Canceled) {
			t.Errorf("%T: cancelled GramContext returned %v", k, err)
		}
		dst := mat.NewDense(64, 64, nil)
		if err := kernel.GramToContext(cancelled, dst, k, X, X); !errors.Is(err, context.Canceled) {
			t.Errorf("%T: cancelled GramToContext returned %v", k, err)
		}
	}
}
