package oip

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testMeta = `{"name":"m","platform":"x","inputs":[{"name":"x","datatype":"FP32","shape":[-1,4]}],"outputs":[{"name":"logits","datatype":"FP32","shape":[-1,2]}]}`

func TestDialErrors(t *testing.T) {
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
		_, err := Dial(ctx, up.URL+"/v2/models/m", ClientOptions{})
		if !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("metadata %s: err %v, want ErrRemote mentioning %q", c.meta, err, c.msg)
		}
	}
	for _, bad := range []string{"ftp://x/v2/models/m", "http://x/models/m", "http:///v2/models/m", "http://x/v2/models/", "::"} {
		if _, err := Dial(ctx, bad, ClientOptions{}); err == nil {
			t.Errorf("Dial(%q) accepted", bad)
		}
	}
}

// TestRetries checks the retry policy: transient failures are retried up to
// Retries times with backoff, others are not, and a cancelled context stops
// the retries.
func TestRetries(t *testing.T) {
	good := `{"outputs":[{"name":"logits","shape":[1,2],"datatype":"FP32","data":[0.5,-1]}]}`
	for _, c := range []struct {
		name     string
		fail     int // attempts that fail before one succeeds
		status   int // how they fail (0: a slow reply, past the timeout)
		retries  int
		attempts int // attempts expected
		ok       bool
	}{
		{"503 then ok", 2, 503, 2, 3, true},
		{"500 then ok", 1, 500, 0, 2, true},
		{"502 too often", 5, 502, 2, 3, false},
		{"timeout then ok", 1, 0, 1, 2, true},
		{"400 not retried", 5, 400, 2, 1, false},
		{"404 not retried", 5, 404, 2, 1, false},
		{"no retries", 5, 503, -1, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					w.Write([]byte(testMeta))
					return
				}
				if int(calls.Add(1)) <= c.fail {
					if c.status == 0 {
						select {
						case <-time.After(time.Second):
						case <-r.Context().Done():
						}
						return
					}
					http.Error(w, `{"error":"busy"}`, c.status)
					return
				}
				w.Write([]byte(good))
			}))
			defer srv.Close()
			ctx := context.Background()
			cl, err := Dial(ctx, srv.URL+"/v2/models/m", ClientOptions{Retries: c.retries, Backoff: time.Millisecond, Timeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]float32, 2)
			err = cl.Logits(ctx, dst, make([]float32, 4))
			if (err == nil) != c.ok {
				t.Fatalf("err %v, want success %v", err, c.ok)
			}
			if got := int(calls.Load()); got != c.attempts {
				t.Errorf("%d attempts, want %d", got, c.attempts)
			}
			if c.ok && (dst[0] != 0.5 || dst[1] != -1) {
				t.Errorf("logits %v", dst)
			}
			if !c.ok && !errors.Is(err, ErrRemote) {
				t.Errorf("err %v does not wrap ErrRemote", err)
			}
		})
	}
	// A cancelled context ends the waiting between retries.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Write([]byte(testMeta))
			return
		}
		http.Error(w, "busy", 503)
	}))
	defer srv.Close()
	cl, err := Dial(context.Background(), srv.URL+"/v2/models/m", ClientOptions{Retries: 5, Backoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := cl.Logits(ctx, make([]float32, 2), make([]float32, 4)); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("cancelled during backoff: err %v after %v", err, time.Since(start))
	}
}

// TestConcurrent queries one client from many goroutines.
func TestConcurrent(t *testing.T) {
	net := testNet(t)
	srv := httptest.NewServer((&Server{Name: "cnn", Model: net.Copy()}).Handler())
	defer srv.Close()
	ctx := context.Background()
	c, err := Dial(ctx, srv.URL+"/v2/models/cnn", ClientOptions{MaxBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	x := images(5)
	want := make([]float32, 15)
	if err := net.Logits(ctx, want, x); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make([]float32, 15)
			if err := c.Clone().Logits(ctx, got, x); err != nil {
				t.Error(err)
				return
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("logit %d: %v, want %v", i, got[i], want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

// fuzzClient is a client for a model of 4 inputs and 2 classes, as Dial
// would make it from testMeta, without a network.
func fuzzClient(t testing.TB, probs bool) *Client {
	c := &Client{base: "test", o: ClientOptions{Probabilities: probs}}
	c.o.defaults()
	if err := c.setMetadataJSON([]byte(testMeta)); err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzInferenceReply feeds arbitrary bytes to the client as an inference
// reply: it must give an error or finite logits, never a panic.
func FuzzInferenceReply(f *testing.F) {
	f.Add([]byte(`{"outputs":[{"name":"logits","shape":[1,2],"datatype":"FP32","data":[0.5,-1]}]}`), uint8(1), false)
	f.Add([]byte(`{"outputs":[{"name":"logits","shape":[2,2],"datatype":"FP32","data":[0.5,0.5,0,1]}]}`), uint8(2), true)
	f.Add([]byte(`{"outputs":[{"name":"logits","data":[1e39,0]}]}`), uint8(1), false)
	f.Add([]byte(`{"outputs":[{"name":"logits","data":[null,0]}]}`), uint8(1), false)
	f.Add([]byte(`{"outputs":null}`), uint8(0), false)
	f.Fuzz(func(t *testing.T, body []byte, n uint8, probs bool) {
		c := fuzzClient(t, probs)
		dst := make([]float32, int(n%8)*2)
		if err := c.decodeLogitsJSON(dst, body); err != nil {
			if !errors.Is(err, ErrRemote) {
				t.Fatalf("error %v does not wrap ErrRemote", err)
			}
			return
		}
		for i, v := range dst {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("accepted reply gives non-finite logit %v at %d", v, i)
			}
		}
	})
}

// FuzzMetadataReply feeds arbitrary bytes to the client as model metadata:
// it must give an error or a usable model description, never a panic.
func FuzzMetadataReply(f *testing.F) {
	f.Add([]byte(testMeta))
	f.Add([]byte(`{"inputs":[{"name":"x","datatype":"FP32","shape":[-1,3,32,32]}],"outputs":[{"name":"p","datatype":"FP64","shape":[-1,10]}]}`))
	f.Add([]byte(`{"inputs":[{"name":"x","datatype":"FP32","shape":[-1,65536,65536]}],"outputs":[]}`))
	f.Add([]byte(`{"inputs":[{"name":"x","datatype":"FP32","shape":[-1]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := &Client{base: "test"}
		c.o.defaults()
		if err := c.setMetadataJSON(body); err != nil {
			if !errors.Is(err, ErrRemote) {
				t.Fatalf("error %v does not wrap ErrRemote", err)
			}
			return
		}
		size := 1
		for _, d := range c.InputShape() {
			if d <= 0 {
				t.Fatalf("accepted input shape %v", c.InputShape())
			}
			size *= d
		}
		if size > 1<<24 || c.NumClasses() < 2 || c.input != c.meta.Inputs[0].Name {
			t.Fatalf("accepted input size %d, %d classes", size, c.NumClasses())
		}
	})
}
