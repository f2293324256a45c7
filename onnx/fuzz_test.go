package onnx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzImport: no input makes Import panic; whatever it accepts is a
// network that runs.
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.onnx"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 20000 {
			continue // the fuzzer mutates small models better
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		net, meta, err := Import(bytes.NewReader(b))
		if err != nil {
			return
		}
		if meta["format"] != "onnx" {
			t.Errorf("metadata %v", meta)
		}
		n := 1
		for _, d := range net.InputShape() {
			n *= d
		}
		if n <= 1<<16 {
			net.Forward(make([]float32, n), 1, false)
		}
	})
}

// TestImportMalformed: truncated and corrupted files are errors naming
// the problem, never panics.
func TestImportMalformed(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "resnet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 10, len(b) / 3, len(b) - 1} {
		if _, _, err := Import(bytes.NewReader(b[:n])); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		} else if !errors.Is(err, ErrMalformed) && !strings.Contains(err.Error(), "onnx:") {
			t.Errorf("truncated to %d bytes: error %v", n, err)
		}
	}
	if _, _, err := ImportFile(filepath.Join("testdata", "missing.onnx")); err == nil || !strings.Contains(err.Error(), "missing.onnx") {
		t.Errorf("missing file: %v", err)
	}
}
