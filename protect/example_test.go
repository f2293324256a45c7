package protect_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/protect"
)

// Example_ops protects the first 1,000 embedded Fashion-MNIST training
// images with the one-pixel shortcut: one pixel per class, set in every
// image of the class. SEP and EM are called the same way with their
// Settings (and train a model first).
func Example_ops() {
	d, err := data.EmbeddedFashion(data.Train)
	if err != nil {
		panic(err)
	}
	s := protect.DefaultSettings()
	s.Method = "ops"
	p, err := protect.Protect(context.Background(), d.Head(1000), s, nil)
	if err != nil {
		panic(err)
	}
	for _, px := range p.Pixels[:3] {
		fmt.Printf("class %d (%s): pixel (%d, %d) set to %v\n", px.Class, d.Classes[px.Class], px.Row, px.Col, px.Color)
	}
	fmt.Printf("%d images, largest change %g\n", p.Images, p.MaxChange)
	// Output:
	// class 0 (T-shirt/top): pixel (0, 0) set to [1]
	// class 1 (Trouser): pixel (0, 1) set to [1]
	// class 2 (Pullover): pixel (0, 26) set to [1]
	// 1000 images, largest change 1
}
