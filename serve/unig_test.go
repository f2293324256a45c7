package serve

import (
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/defense"
)

// TestServeUniG serves a network behind UniG, a defense built into the
// model: the first reply equals the in-process defended model's logits
// (same seed, same batch), and a model without features is refused at
// start with an error naming it.
func TestServeUniG(t *testing.T) {
	x := images(1, 5, 36)
	net := testNet(t)
	s := newTestServer(t, net.Copy(), Options{Name: "cnn", Defense: "unig"})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	want := defended(t, net, "unig", x)
	code, body, _ := post(t, nil, ts.URL+"/v2/models/cnn/infer", request(x, []int{1, 6, 6}))
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	if got := output(t, body, "logits"); !slices.Equal(got, want) {
		t.Fatalf("served %v\nin-process %v", got, want)
	}
	plain := make([]float32, len(want))
	if err := net.Logits(t.Context(), plain, x); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(plain, want) {
		t.Error("unig returned the undefended logits")
	}

	_, err := New(newRowModel(1), Options{Name: "rows", Defense: "unig"})
	if !errors.Is(err, defense.ErrNoHead) || !strings.Contains(err.Error(), "model rows") {
		t.Errorf("serving a model without features behind unig: %v, want ErrNoHead naming the model", err)
	}
}

// Several workers each wrap their own copy of the model.
func TestServeUniGWorkers(t *testing.T) {
	s := newTestServer(t, testNet(t), Options{Name: "cnn", Defense: "unig", Batch: BatchOptions{Workers: 2}})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	code, body, _ := post(t, nil, ts.URL+"/v2/models/cnn/infer", request(images(1, 7, 36), []int{1, 6, 6}))
	if code != 200 || len(output(t, body, "logits")) != 7*3 {
		t.Fatalf("status %d: %s", code, body)
	}
}
