package repro_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/repro"
)

// The certification reproduction at a tiny size: one smoothed model, SOME
// and a deep ensemble at σ = 0.25, each trained on the same number of noisy
// images and certified on the first 5 test images.
func ExampleCertify() {
	t, err := repro.Certify(context.Background(), repro.CertifyConfig{TrainN: 256, TestN: 5, Epochs: 6, Batch: 32,
		Sigmas: []float64{0.25}, N0: 10, N: 100, Alpha: 0.01})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range t.Rows[:5] {
		fmt.Println(r.Setting, r.Method, r.Metric, "paper", r.Paper.Format("%g"))
	}
	// Output:
	// σ=0.25 Gaussian certified acc % at r=0 paper 77
	// σ=0.25 Gaussian certified acc % at r=0.25 paper 60
	// σ=0.25 Gaussian certified acc % at r=0.5 paper 42
	// σ=0.25 Gaussian certified acc % at r=1 paper not public in text form
	// σ=0.25 Gaussian ACR paper not public in text form
}
