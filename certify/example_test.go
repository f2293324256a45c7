package certify_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/trustml/trustml/certify"
)

// halfPlane classifies a two-pixel input as class 1 when x0 + x1 > 1.
type halfPlane struct{}

func (halfPlane) InputShape() []int { return []int{2} }
func (halfPlane) NumClasses() int   { return 2 }
func (halfPlane) Logits(_ context.Context, dst, x []float32) error {
	for i := 0; i < len(x)/2; i++ {
		dst[2*i], dst[2*i+1] = 0, x[2*i]+x[2*i+1]-1
	}
	return nil
}

// Certify a point at L2 distance 0.5/√2 ≈ 0.354 from the decision
// boundary: the smoothed classifier's certified radius stays below it.
func Example() {
	s := certify.Smooth{Base: halfPlane{}, Sigma: 0.25}
	rng := rand.New(rand.NewPCG(1, 2))
	class, radius, err := s.Certify(context.Background(), []float32{0.75, 0.75}, 100, 10000, 0.001, rng)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("class %d, certified radius %.2f (largest possible with n = 10000: %.2f)\n",
		class, radius, certify.MaxRadius(0.25, 10000, 0.001))
	pred, _ := s.Predict(context.Background(), []float32{0.5, 0.5}, 1000, 0.001, rng)
	fmt.Println("on the boundary Predict gives", pred, "(abstain)")
	// Output:
	// class 1, certified radius 0.34 (largest possible with n = 10000: 0.80)
	// on the boundary Predict gives -1 (abstain)
}
