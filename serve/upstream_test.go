package serve

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/oip"
)

// TestProxy puts AAA in front of an undefended v2 server on loopback and
// checks that the proxied replies equal the in-process defended model.
func TestProxy(t *testing.T) {
	net := testNet(t)
	up := httptest.NewServer((&oip.Server{Name: "cnn", Model: net.Copy()}).Handler())
	defer up.Close()
	ctx := context.Background()
	x := images(4, 6, 36)
	for _, c := range []struct {
		name string
		o    oip.ClientOptions
		// logits returns what the proxy defends for x.
		logits func() []float32
	}{
		{"logits", oip.ClientOptions{}, func() []float32 {
			z := make([]float32, 6*3)
			net.Logits(ctx, z, x)
			return z
		}},
		{"probabilities", oip.ClientOptions{Output: "probabilities", Probabilities: true}, func() []float32 {
			z := make([]float32, 6*3)
			net.Logits(ctx, z, x)
			p := make([]float32, len(z))
			metrics.Softmax(p, z, 3)
			for i, v := range p {
				z[i] = float32(math.Log(max(float64(v), math.SmallestNonzeroFloat32)))
			}
			return z
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, err := oip.Dial(ctx, up.URL+"/v2/models/cnn", c.o)
			if err != nil {
				t.Fatal(err)
			}
			if u.Name() != "cnn" || u.NumClasses() != 3 || !slices.Equal(u.InputShape(), []int{1, 6, 6}) {
				t.Fatalf("upstream %s: %d classes, shape %v", u.Name(), u.NumClasses(), u.InputShape())
			}
			s := newTestServer(t, u, Options{Name: "cnn-aaa"})
			ts := httptest.NewServer(s.Handler())
			defer ts.Close()
			d, _ := defense.New("aaa-linear", defense.Options{})
			want := c.logits()
			if err := d.Apply(want, want, 3); err != nil {
				t.Fatal(err)
			}
			code, body, _ := post(t, nil, ts.URL+"/v2/models/cnn-aaa/infer", request(x, []int{1, 6, 6}))
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			if got := output(t, body, "logits"); !slices.Equal(got, want) {
				t.Errorf("proxied %v\nwant %v", got, want)
			}
		})
	}
}

// TestProxyFaults makes the upstream fail in each way and checks the
// status, the error message, and that the proxy keeps serving.
func TestProxyFaults(t *testing.T) {
	meta := `{"name":"m","platform":"x","inputs":[{"name":"x","datatype":"FP32","shape":[-1,4]}],"outputs":[{"name":"logits","datatype":"FP32","shape":[-1,2]}]}`
	var mode atomic.Value
	var flaky atomic.Int32
	mode.Store("good")
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Write([]byte(meta))
			return
		}
		switch mode.Load().(string) {
		case "good":
			w.Write([]byte(`{"model_name":"m","outputs":[{"name":"logits","shape":[1,2],"datatype":"FP32","data":[0.5,-1]}]}`))
		case "500":
			http.Error(w, `{"error":"out of memory"}`, 500)
		case "400":
			http.Error(w, `{"error":"bad input"}`, 400)
		case "malformed":
			w.Write([]byte(`{"outputs":[{"name":"logits","data":[1,`))
		case "html":
			w.Write([]byte(`<html>gateway</html>`))
		case "short":
			w.Write([]byte(`{"outputs":[{"name":"logits","shape":[1,2],"datatype":"FP32","data":[1]}]}`))
		case "missing":
			w.Write([]byte(`{"outputs":[{"name":"other","shape":[1,2],"datatype":"FP32","data":[1,2]}]}`))
		case "overflow":
			w.Write([]byte(`{"outputs":[{"name":"logits","shape":[1,2],"datatype":"FP32","data":[1e39,0]}]}`))
		case "slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "flaky": // 503 on every other request
			if flaky.Add(1)%2 == 1 {
				http.Error(w, `{"error":"warming up"}`, 503)
				return
			}
			w.Write([]byte(`{"model_name":"m","outputs":[{"name":"logits","shape":[1,2],"datatype":"FP32","data":[0.5,-1]}]}`))
		case "hangup":
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close()
		}
	}))
	defer up.Close()
	// A second: long enough for a loaded CI machine, short for the slow case.
	u, err := oip.Dial(context.Background(), up.URL+"/v2/models/m", oip.ClientOptions{Timeout: time.Second, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, u, Options{Name: "m"})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	body := []byte(`{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[0,0.5,1,0.25]}]}`)
	for _, c := range []struct {
		mode   string
		status int
		msg    string
	}{
		{"good", 200, ""},
		{"500", 502, "status 500: out of memory"},
		{"400", 502, "status 400: bad input"},
		{"malformed", 502, "malformed reply"},
		{"html", 502, "malformed reply"},
		{"short", 502, "1 values for 1 inputs of 2 classes"},
		{"missing", 502, `no output "logits"`},
		{"overflow", 502, "malformed reply"},
		{"slow", 504, "no reply within 1s"},
		{"hangup", 502, "remote model"},
		{"flaky", 502, "status 503: warming up"},
		{"good", 200, ""},
	} {
		mode.Store(c.mode)
		code, b, _ := post(t, nil, ts.URL+"/v2/models/m/infer", body)
		if code != c.status {
			t.Errorf("%s: status %d %s, want %d", c.mode, code, b, c.status)
			continue
		}
		if code != 200 {
			if err := isV2Error(b, c.msg); err != nil {
				t.Errorf("%s: %v", c.mode, err)
			}
		}
	}
	// With retries (the default), the proxy rides over a transient 503.
	u2, err := oip.Dial(context.Background(), up.URL+"/v2/models/m", oip.ClientOptions{Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s2 := newTestServer(t, u2, Options{Name: "m"})
	ts2 := httptest.NewServer(s2.Handler())
	defer ts2.Close()
	mode.Store("flaky")
	for i := 0; i < 3; i++ {
		if code, b, _ := post(t, nil, ts2.URL+"/v2/models/m/infer", body); code != 200 {
			t.Errorf("flaky upstream with retries: %d %s", code, b)
		}
	}
	// A closed upstream.
	close(release)
	up.CloseClientConnections()
	up.Close()
	if code, b, _ := post(t, nil, ts.URL+"/v2/models/m/infer", body); code != 502 {
		t.Errorf("closed upstream: %d %s", code, b)
	}
}
