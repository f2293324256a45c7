package oip

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trustml/trustml/nn"
)

func testNet(t testing.TB) *nn.Network {
	t.Helper()
	net, err := nn.New(nn.CNN([]int{1, 6, 6}, 3, nn.CNNOptions{Width: 2, Hidden: 4, BatchNorm: true}), 5)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func images(n int) []float32 {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*36)
	for i := range x {
		x[i] = r.Float32()
	}
	return x
}

// TestRoundTrip serves a network on loopback and checks that the client's
// logits equal the local network's bit for bit, across request batching.
func TestRoundTrip(t *testing.T) {
	net := testNet(t)
	srv := httptest.NewServer((&Server{Name: "cnn", Model: net.Copy()}).Handler())
	defer srv.Close()
	ctx := context.Background()
	c, err := Dial(ctx, srv.URL+"/v2/models/cnn", ClientOptions{MaxBatch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if c.NumClasses() != 3 || len(c.InputShape()) != 3 {
		t.Fatalf("metadata: %d classes, shape %v", c.NumClasses(), c.InputShape())
	}
	x := images(7)
	got, want := make([]float32, 21), make([]float32, 21)
	if err := c.Logits(ctx, got, x); err != nil {
		t.Fatal(err)
	}
	if err := net.Logits(ctx, want, x); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("logit %d: remote %v, local %v", i, got[i], want[i])
		}
	}
}

func TestServerRejectsBadRequests(t *testing.T) {
	srv := httptest.NewServer((&Server{Name: "cnn", Model: testNet(t), MaxBodyBytes: 4096}).Handler())
	defer srv.Close()
	good := `{"inputs":[{"name":"input","shape":[1,1,6,6],"datatype":"FP32","data":[` + strings.Repeat("0.5,", 35) + `0.5]}]}`
	cases := []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"unknown model", "POST", "/v2/models/other/infer", good, 404, "unknown model"},
		{"malformed", "POST", "/v2/models/cnn/infer", `{"inputs":[`, 400, "malformed JSON"},
		{"datatype", "POST", "/v2/models/cnn/infer", strings.Replace(good, "FP32", "INT8", 1), 400, "datatype"},
		{"shape", "POST", "/v2/models/cnn/infer", strings.Replace(good, "[1,1,6,6]", "[1,6,6,1]", 1), 400, "shape"},
		{"count", "POST", "/v2/models/cnn/infer", strings.Replace(good, "[1,1,6,6]", "[2,1,6,6]", 1), 400, "needs 72 values"},
		{"range", "POST", "/v2/models/cnn/infer", strings.Replace(good, "0.5]", "1.5]", 1), 400, "outside [0, 1]"},
		{"not a number", "POST", "/v2/models/cnn/infer", strings.Replace(good, "0.5]", `"x"]`, 1), 400, "not a float32"},
		{"output", "POST", "/v2/models/cnn/infer", strings.Replace(good, "]}]}", `]}],"outputs":[{"name":"features"}]}`, 1), 400, "unknown output"},
		{"too large", "POST", "/v2/models/cnn/infer", strings.Repeat(" ", 5000) + good, 413, "larger than"},
		{"no endpoint", "GET", "/v2/other", "", 404, "no endpoint"},
		{"good", "POST", "/v2/models/cnn/infer", good, 200, "probabilities"},
		{"nested data", "POST", "/v2/models/cnn/infer", strings.Replace(strings.Replace(good, `"data":[`, `"data":[[`, 1), "]}]", "]]}]", 1), 200, "logits"},
		{"ready", "GET", "/v2/models/cnn/ready", "", 200, ""},
		{"live", "GET", "/v2/health/live", "", 200, ""},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(b.String(), c.msg) {
			t.Errorf("%s: status %d body %q, want %d containing %q", c.name, resp.StatusCode, b.String(), c.status, c.msg)
		}
		if c.status != 200 && !strings.HasPrefix(b.String(), `{"error":`) {
			t.Errorf("%s: error body %q is not a v2 error object", c.name, b.String())
		}
	}
}

func TestClientErrors(t *testing.T) {
	meta := `{"name":"m","platform":"x","inputs":[{"name":"input","datatype":"FP32","shape":[-1,4]}],"outputs":[{"name":"logits","datatype":"FP32","shape":[-1,2]}]}`
	var mode string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Write([]byte(meta))
			return
		}
		switch mode {
		case "500":
			http.Error(w, `{"error":"boom"}`, 500)
		case "malformed":
			w.Write([]byte(`{"outputs":[{"name":"logits","data":[1,`))
		case "short":
			w.Write([]byte(`{"outputs":[{"name":"logits","shape":[1,2],"datatype":"FP32","data":[1]}]}`))
		case "slow":
			time.Sleep(300 * time.Millisecond)
		}
	}))
	ctx := context.Background()
	c, err := Dial(ctx, srv.URL+"/v2/models/m", ClientOptions{Timeout: 100 * time.Millisecond, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"500", "malformed", "short", "slow"} {
		mode = m
		err := c.Logits(ctx, make([]float32, 2), make([]float32, 4))
		if !errors.Is(err, ErrRemote) {
			t.Errorf("%s: err = %v, want ErrRemote", m, err)
		}
		if got := errors.Is(err, ErrTimeout); got != (m == "slow") {
			t.Errorf("%s: errors.Is(err, ErrTimeout) = %v", m, got)
		}
	}
	srv.Close()
	if err := c.Logits(ctx, make([]float32, 2), make([]float32, 4)); !errors.Is(err, ErrRemote) {
		t.Errorf("closed server: err = %v", err)
	}
	for _, u := range []string{"ftp://x/v2/models/m", "http://x/models/m", "::"} {
		if _, err := Dial(ctx, u, ClientOptions{}); err == nil {
			t.Errorf("Dial(%q) accepted", u)
		}
	}
}
