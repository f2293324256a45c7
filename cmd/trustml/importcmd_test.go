package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/onnx"
	"github.com/trustml/trustml/robust"
)

// fashionONNX is a small CNN trained by PyTorch on Fashion-MNIST and exported
// to ONNX (onnx/testdata/make_onnx.py).
var fashionONNX = filepath.Join("..", "..", "onnx", "testdata", "fashion_cnn.onnx")

// TestImportCmd: "trustml import" writes a checkpoint that evaluates like
// the ONNX file itself, and a bad file is an error naming it.
func TestImportCmd(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "m.ckpt")
	out, err := run(t, "import", fashionONNX, "--out", ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "opset 13") || !strings.Contains(out, "10 classes") {
		t.Errorf("import output: %s", out)
	}
	a, b := evalJSON(t, "--model", ckpt).Accuracy, evalJSON(t, "--model", fashionONNX).Accuracy
	if a != b || a < 0.8 {
		t.Errorf("accuracy %v from the checkpoint, %v from the ONNX file (want equal, ≥ 0.8)", a, b)
	}
	bad := filepath.Join(dir, "bad.onnx")
	if err := os.WriteFile(bad, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"import", bad, "--out", ckpt}, {"import", fashionONNX}, {"eval", "--model", bad}} {
		if _, err := run(t, args...); err == nil {
			t.Errorf("%v accepted", args)
		} else if args[1] == bad && !strings.Contains(err.Error(), "bad.onnx") {
			t.Errorf("%v: error %v does not name the file", args, err)
		}
	}
}

// TestImportedFashionFullTestSet: eval of the PyTorch-trained ONNX model
// gives PyTorch's accuracy on the full Fashion-MNIST test set.
func TestImportedFashionFullTestSet(t *testing.T) {
	if _, err := data.FindFashionMNIST(""); errors.Is(err, data.ErrNotFound) {
		t.Skip("full Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
	}
	b, err := os.ReadFile(strings.TrimSuffix(fashionONNX, ".onnx") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Correct int `json:"test_correct"`
		N       int `json:"test_n"`
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	acc := evalJSON(t, "--model", fashionONNX, "--data", "fashion-mnist").Accuracy
	if got := int(acc*float64(want.N) + 0.5); got != want.Correct {
		t.Errorf("%d of %d correct under trustml, %d under PyTorch", got, want.N, want.Correct)
	}
}

// TestImportedModelCommands: attack, ood fit/eval and serve take --model
// x.onnx.
func TestImportedModelCommands(t *testing.T) {
	out, err := run(t, "attack", "--model", fashionONNX, "--attacks", "square", "--defenses", "none,aaa-linear", "--n", "2",
		"--budget", "10", "--checkpoints", "10", "--calibrate", "0", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r robust.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Pairs) != 2 || len(r.Pairs[0].Samples) != 2 {
		t.Fatalf("attack: %v, %s", err, out)
	}
	det := filepath.Join(t.TempDir(), "knn.json")
	if out, err = run(t, "ood", "fit", "--model", fashionONNX, "--detector", "knn", "--n-train", "100", "--out", det); err != nil {
		t.Fatal(err)
	}
	if out, err = run(t, "ood", "score", "--model", fashionONNX, "--detector-file", det, "--n", "4"); err != nil || strings.Count(out, "\n") != 4 {
		t.Fatalf("ood score: %v\n%s", err, out)
	}
	if out, err = run(t, "ood", "eval", "--model", fashionONNX, "--detectors", "msp,knn", "--n-train", "100", "--n-test", "50", "--n-ood", "30"); err != nil {
		t.Fatalf("ood eval: %v\n%s", err, out)
	}

	url, stop := startServe(t, "--model", fashionONNX, "--defense", "none")
	if !strings.HasSuffix(url, "/v2/models/fashion_cnn") {
		t.Errorf("serving at %s", url)
	}
	ctx := context.Background()
	c, err := oip.Dial(ctx, url, oip.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	net, _, err := onnx.ImportFile(fashionONNX)
	if err != nil {
		t.Fatal(err)
	}
	test, err := data.Open(data.DefaultName, data.Test, "")
	if err != nil {
		t.Fatal(err)
	}
	x := test.X[:3*784]
	served, local := make([]float32, 30), make([]float32, 30)
	if err := c.Logits(ctx, served, x); err != nil {
		t.Fatal(err)
	}
	if err := net.Logits(ctx, local, x); err != nil {
		t.Fatal(err)
	}
	for i := range local {
		if d := served[i] - local[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("served logits %v, in-process %v", served, local)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("graceful stop: %v", err)
	}
}
