package uap_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/uap"
	"github.com/trustml/trustml/zoo"
)

// Craft an FG-UAP for the embedded model on 256 training images, then
// measure how often it changes the prediction on 500 test images.
func ExampleCraft() {
	ctx := context.Background()
	net, _, err := zoo.Load(zoo.DefaultName)
	if err != nil {
		panic(err)
	}
	train, _ := data.Open(data.DefaultName, data.Train, "")
	test, _ := data.Open(data.DefaultName, data.Test, "")
	o := uap.DefaultOptions() // FG-UAP, ℓ∞ ε = 0.1, penultimate features
	o.Epochs = 1
	p, err := uap.Craft(ctx, net, train.Head(256), o, nil)
	if err != nil {
		panic(err)
	}
	e, err := uap.Evaluate(ctx, net, zoo.DefaultName, test.Head(500), p.V)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s on layer %s, within ε: %v\n", p.Method, p.Layer, p.MaxAbs() <= p.Eps)
	fmt.Println("changes over a third of the predictions:", e.Unclipped.FoolingRate > 1.0/3)
	// Output:
	// fg-uap on layer dropout1, within ε: true
	// changes over a third of the predictions: true
}
