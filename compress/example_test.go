package compress_test

import (
	"fmt"
	"math"

	"github.com/trustml/trustml/compress"
)

// Example compresses a smooth 64×128 weight matrix tenfold by the
// semi-tensor train (t = 2) of its 3-way tensor and by the truncated SVD.
func Example() {
	w := make([]float64, 64*128)
	for i := range 64 {
		for j := range 128 {
			w[i*128+j] = math.Sin(float64(i)/9)*math.Cos(float64(j)/13+float64(i)/30) + 0.1*math.Sin(float64(i*j)/50)
		}
	}
	for _, m := range []string{"stt", "svd"} {
		o := compress.DefaultOptions()
		o.Method, o.Ratio = m, 10
		var l compress.Layer
		if _, err := compress.Matrix(w, 64, 128, o, &l); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-12s tensor %v: %d of %d values, relative error %.4f\n", l.Spec, l.Tensor, l.After, l.Before, l.RelError)
	}
	// Output:
	// stt t=2 r=8  tensor [16 16 32]: 672 of 8192 values, relative error 0.1334
	// svd r=4      tensor [64 128]: 768 of 8192 values, relative error 0.1365
}
