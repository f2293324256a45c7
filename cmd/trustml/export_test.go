package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/onnx"
	"github.com/trustml/trustml/zoo"
)

func TestExportONNX(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.onnx")
	out, err := run(t, "export", "--model", "fashion-resnet8", "--onnx", path, "--features")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "wrote "+path) || !strings.Contains(out, `input "input" float32 [N 1 28 28]`) || !strings.Contains(out, "features [N 64]") {
		t.Errorf("output %q", out)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	net, meta, err := zoo.Load("fashion-resnet8")
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := onnx.Export(&want, net, onnx.ExportOptions{Features: true, Metadata: meta}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("the CLI wrote %d bytes, onnx.Export %d", len(got), want.Len())
	}
}

func TestExportONNXErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.ckpt")
	os.WriteFile(garbage, []byte("not a checkpoint"), 0o644)
	ok := filepath.Join(dir, "m.onnx")
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"export"}, `required flag(s) "onnx" not set`},
		{[]string{"export", "--onnx", ok, "--model", filepath.Join(dir, "missing.ckpt")}, "missing.ckpt"},
		{[]string{"export", "--onnx", ok, "--model", garbage}, "checkpoint"},
		{[]string{"export", "--onnx", ok, "--model", "http://localhost:1/v2/models/m"}, "served model has no weights"},
		{[]string{"export", "--onnx", filepath.Join(dir, "no", "such", "dir", "m.onnx")}, filepath.Join(dir, "no", "such", "dir", "m.onnx")},
		{[]string{"export", "--onnx", ok, "fashion-resnet8"}, "unknown command"},
	}
	for _, c := range cases {
		_, err := run(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v: error %v, want one containing %q", c.args, err, c.msg)
		}
	}
	if _, err := os.Stat(ok); !os.IsNotExist(err) {
		t.Errorf("a failed export left %s (%v)", ok, err)
	}
}
