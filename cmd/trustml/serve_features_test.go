package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/zoo"
)

// writeTestNPZ writes the first n images of the embedded test set (as
// uint8, which they are) and their labels to an uncompressed .npz.
func writeTestNPZ(t *testing.T, n int) string {
	t.Helper()
	d, err := data.Open(data.DefaultName, data.Test, "")
	if err != nil {
		t.Fatal(err)
	}
	npy := func(descr string, shape string, payload []byte) []byte {
		h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
		h += strings.Repeat(" ", 63-(10+len(h))%64) + "\n"
		var b bytes.Buffer
		b.WriteString("\x93NUMPY\x01\x00")
		binary.Write(&b, binary.LittleEndian, uint16(len(h)))
		b.WriteString(h)
		b.Write(payload)
		return b.Bytes()
	}
	size := d.SampleSize()
	x := make([]byte, n*size)
	for i, v := range d.X[:n*size] {
		x[i] = byte(math.Round(float64(v) * 255))
	}
	y := make([]byte, 8*n)
	for i, l := range d.Y[:n] {
		binary.LittleEndian.PutUint64(y[8*i:], uint64(l))
	}
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for name, b := range map[string][]byte{
		"x.npy": npy("|u1", fmt.Sprintf("(%d, 28, 28)", n), x),
		"y.npy": npy("<i8", fmt.Sprintf("(%d,)", n), y),
	} {
		w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "test.npz")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// evalJSON runs "trustml eval --json" with args and returns its metrics.
func evalJSON(t *testing.T, args ...string) metrics.Classification {
	t.Helper()
	out, err := run(t, append([]string{"eval", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("eval %v: %v", args, err)
	}
	var r struct{ Metrics metrics.Classification }
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("eval %v printed %s: %v", args, out, err)
	}
	return r.Metrics
}

// TestServeEvalFeaturesEndToEnd serves the default model with its features
// on loopback, evaluates it by URL with "trustml eval" as the in-process
// model, reads its features exactly, does the same through a proxy with
// AAA, and checks the errors for a missing feature output.
func TestServeEvalFeaturesEndToEnd(t *testing.T) {
	npz := writeTestNPZ(t, 120)
	url, stop := startServe(t, "--defense", "none", "--features-output", "features")
	local := evalJSON(t, "--model", "default", "--data", npz)
	if local.N != 120 {
		t.Fatalf("local eval on %d images", local.N)
	}
	same := func(a, b metrics.Classification) bool {
		return a.N == b.N && a.Accuracy == b.Accuracy && math.Abs(a.NLL-b.NLL) < 1e-6 && math.Abs(a.ECE-b.ECE) < 1e-6
	}
	if served := evalJSON(t, "--model", url, "--data", npz, "--features-output", "features"); !same(served, local) {
		t.Errorf("served model: %+v\nin-process: %+v", served, local)
	}

	net, _, err := zoo.Default()
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 3*784)
	for i := range x {
		x[i] = float32(i%89) / 88
	}
	want := make([]float32, 3*net.FeatureDim())
	net.Features(context.Background(), want, x)
	ctx := context.Background()
	features := func(url string) []float32 {
		t.Helper()
		c, err := zoo.Open(ctx, url, oip.ClientOptions{FeaturesOutput: "features"})
		if err != nil {
			t.Fatal(err)
		}
		fe, err := model.RequireFeatures(c, url)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, 3*fe.FeatureDim())
		if err := fe.Features(ctx, got, x); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := features(url); !slices.Equal(got, want) {
		t.Errorf("served features differ from the network's")
	}

	// Through a proxy with AAA (which keeps every argmax), features forwarded.
	proxy, _ := startServe(t, "--upstream", url, "--features-output", "features", "--name", "guarded")
	if got := features(proxy); !slices.Equal(got, want) {
		t.Errorf("proxied features differ from the network's")
	}
	if m := evalJSON(t, "--model", proxy, "--data", npz); m.Accuracy != local.Accuracy || m.N != local.N {
		t.Errorf("served with AAA: %+v, in-process undefended: %+v", m, local)
	}

	_, err = run(t, "eval", "--model", url, "--data", npz, "--features-output", "nope")
	if err == nil || !strings.Contains(err.Error(), `no feature output "nope" (the server's outputs: "logits", "probabilities", "features")`) {
		t.Errorf("eval with a missing feature output: %v", err)
	}
	// Features are off by default.
	plain, _ := startServe(t, "--defense", "none")
	_, err = run(t, "attack", "--model", plain, "--n", "1", "--features-output", "features")
	if err == nil || !strings.Contains(err.Error(), `no feature output "features" (the server's outputs: "logits", "probabilities")`) {
		t.Errorf("attack on a server without features: %v", err)
	}
	if err := stop(); err != nil {
		t.Errorf("graceful stop: %v", err)
	}
}
