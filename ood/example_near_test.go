package ood_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/trustml/trustml/ood"
)

// The near-OoD split by held-out classes of the embedded Fashion-MNIST:
// train on classes 0–5, the test images of classes 6–9 are OoD. Train a
// model on it with ood.TrainHeldOut and benchmark detectors with
// ood.Benchmark (split.Train to fit, split.TestID against split.TestOoD).
func ExampleFashionHeldOut() {
	split, err := ood.FashionHeldOut()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(split.Name)
	fmt.Println("ID:", split.Train.Classes)
	fmt.Println(split.Train.Len(), "train,", split.TestID.Len(), "ID test,", split.TestOoD.Len(), "OoD test images")
	// Output:
	// near: held-out classes 6-9
	// ID: [T-shirt/top Trouser Pullover Dress Coat Sandal]
	// 6000 train, 1200 ID test, 800 OoD test images
}

// Save a detector and load it back. Fitted detectors (KNN, KPCA, ...) are
// saved with their state; ood.SaveDetectorFile writes a file atomically.
func ExampleSaveDetector() {
	var buf bytes.Buffer
	if err := ood.SaveDetector(&buf, &ood.Energy{T: 2}); err != nil {
		fmt.Println(err)
		return
	}
	d, err := ood.LoadDetector(&buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Name(), d.(*ood.Energy).T)
	_, err = ood.LoadDetector(strings.NewReader(`{"format": "trustml-ood-detector", "version": 2}`))
	fmt.Println(err)
	// Output:
	// energy 2
	// ood: load detector: version 2, this build reads version 1
}
