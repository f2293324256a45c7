package zoo_test

import (
	"path/filepath"
	"testing"

	_ "github.com/trustml/trustml/onnx" // registers .onnx with zoo
	"github.com/trustml/trustml/zoo"
)

// TestOpenNetworkONNX: a .onnx path is imported (package onnx registers
// the format), with the import's metadata.
func TestOpenNetworkONNX(t *testing.T) {
	net, meta, err := zoo.OpenNetwork(filepath.Join("..", "onnx", "testdata", "mlp.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "onnx" || net.NumClasses() != 4 {
		t.Errorf("metadata %v, %d classes", meta, net.NumClasses())
	}
	if _, _, err := zoo.OpenNetwork(filepath.Join(t.TempDir(), "missing.onnx")); err == nil {
		t.Error("missing .onnx file accepted")
	}
}
