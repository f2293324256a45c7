package onnx_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/trustml/trustml/onnx"
	"github.com/trustml/trustml/zoo"
)

// Export the default model, with its penultimate features as a second
// output, for an ONNX server such as Triton or KServe.
func ExampleExportFile() {
	net, meta, err := zoo.Default()
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "export")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	err = onnx.ExportFile(filepath.Join(dir, "fashion-cnn.onnx"), net, onnx.ExportOptions{Features: true, Metadata: meta})
	if err != nil {
		log.Fatal(err)
	}
	c := net.InputShape()
	fmt.Printf("opset %d: input [N %d %d %d] (NCHW, N dynamic), outputs logits [N %d], features [N %d]\n",
		onnx.ExportOpset, c[0], c[1], c[2], net.NumClasses(), net.FeatureDim())
	// Output: opset 13: input [N 1 28 28] (NCHW, N dynamic), outputs logits [N 10], features [N 128]
}
