package data_test

import (
	"fmt"
	"log"

	"github.com/trustml/trustml/data"
)

// An .npz file written by np.savez(file, x=images, y=labels), with uint8
// images of shape (N, 28, 28) and integer labels, opens as a labeled dataset
// of [1 28 28] images scaled to [0, 1], like Fashion-MNIST.
func ExampleOpenFile_npz() {
	d, err := data.OpenFile("testdata/npy/images.npz", data.FileOptions{})
	if err != nil {
		log.Fatal(err)
	}
	lo, hi, _ := d.ValueRange()
	fmt.Println(d.Len(), d.Shape, d.Classes, d.Y, lo, hi)

	// The arrays themselves, as stored.
	arrays, err := data.ReadNPZ("testdata/npy/images.npz")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(arrays["x"].DType, arrays["x"].Shape, arrays["y"].DType, arrays["y"].Float64())
	// Output:
	// 4 [1 28 28] [0 1 2] [0 2 1 2] 0 1
	// uint8 [4 28 28] int64 [0 2 1 2]
}
