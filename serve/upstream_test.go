package serve

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
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
		o    UpstreamOptions
		// logits returns what the proxy defends for x.
		logits func() []float32
	}{
		{"logits", UpstreamOptions{}, func() []float32 {
			z := make([]float32, 6*3)
			net.Logits(ctx, z, x)
			return z
		}},
		{"probabilities", UpstreamOptions{Output: "probabilities", Probabilities: true}, func() []float32 {
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
			u, err := DialUpstream(ctx, up.URL+"/v2/models/cnn", c.o)
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
		case "hangup":
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close()
		}
	}))
	defer up.Close()
	u, err := DialUpstream(context.Background(), up.URL+"/v2/models/m", UpstreamOptions{Timeout: 150 * time.Millisecond})
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
		{"slow", 504, "no reply within 150ms"},
		{"hangup", 502, "upstream"},
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
	// A closed upstream.
	close(release)
	up.CloseClientConnections()
	up.Close()
	if code, b, _ := post(t, nil, ts.URL+"/v2/models/m/infer", body); code != 502 {
		t.Errorf("closed upstream: %d %s", code, b)
	}
}

func TestDialUpstreamErrors(t *testing.T) {
	var meta atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(meta.Load().(string)))
	}))
	defer up.Close()
	ctx := context.Background()
	for _, c := range []struct{ meta, msg string }{
		{`{`, "malformed metadata"},
		{`{"inputs":[],"outputs":[]}`, "0 inputs"},
		{`{"inputs":[{"name":"x","datatype":"INT8","shape":[-1,4]}]}`, "need FP32"},
		{`{"inputs":[{"name":"x","datatype":"FP32","shape":[-1,-1]}]}`, "dynamic or invalid"},
		{`{"inputs":[{"name":"x","datatype":"FP32","shape":[-1,4]}],"outputs":[]}`, "no output"},
		{`{"inputs":[{"name":"x","datatype":"FP32","shape":[-1,4]}],"outputs":[{"name":"y","datatype":"FP32","shape":[-1,1]}]}`, "need FP32 [-1 K]"},
	} {
		meta.Store(c.meta)
		_, err := DialUpstream(ctx, up.URL+"/v2/models/m", UpstreamOptions{})
		if !errors.Is(err, ErrUpstream) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("metadata %s: err %v, want ErrUpstream mentioning %q", c.meta, err, c.msg)
		}
	}
	for _, bad := range []string{"ftp://x/v2/models/m", "http://x/models/m", "http:///v2/models/m", "http://x/v2/models/", "::"} {
		if _, err := DialUpstream(ctx, bad, UpstreamOptions{}); err == nil {
			t.Errorf("DialUpstream(%q) accepted", bad)
		}
	}
}
