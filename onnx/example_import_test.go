package onnx_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/trustml/trustml/onnx"
)

// Import a PyTorch CNN with input normalization, batch norm and a trailing
// softmax (exported by testdata/make_onnx.py) and classify an image.
func ExampleImportFile() {
	net, meta, err := onnx.ImportFile("testdata/cnn_bn.onnx")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("input", net.InputShape(), "classes", net.NumClasses(), "dropped", meta["onnx_dropped_output"])
	var kinds []string
	for _, l := range net.Spec().Layers {
		kinds = append(kinds, l.Kind)
	}
	fmt.Println(strings.Join(kinds, " "))
	x := make([]float32, 3*8*8) // one all-black image
	logits := make([]float32, net.NumClasses())
	if err := net.Logits(context.Background(), logits, x); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("logits %.3f\n", logits)
	// Output:
	// input [3 8 8] classes 4 dropped Softmax
	// affine batchnorm conv relu conv relu maxpool flatten dense batchnorm relu dense
	// logits [0.416 -0.366 0.141 0.184]
}
