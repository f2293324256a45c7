package serve

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	rtmetrics "runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustml/trustml/oip"
)

// TestGracefulShutdown cancels Serve's context while a request is in the
// model: the listener closes at once, the request still gets its answer,
// and Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	m := newRowModel(1)
	m.block, m.entered = make(chan struct{}), make(chan struct{}, 1)
	s, err := New(m, Options{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, s, HTTPOptions{ShutdownTimeout: 10 * time.Second}) }()
	url := "http://" + ln.Addr().String()
	x := images(5, 1, 16)
	type reply struct {
		code int
		body []byte
	}
	replies := make(chan reply, 1)
	go func() {
		code, body, _ := post(t, &http.Client{}, url+"/v2/models/m/infer", request(x, []int{1, 4, 4}, "logits"))
		replies <- reply{code, body}
	}()
	<-m.entered
	cancel()
	// The listener closes; the in-flight request is not cut off.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting 5 s after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}
	m.block <- struct{}{}
	r := <-replies
	want := defended(t, newRowModel(1), "aaa-linear", x)
	if r.code != 200 || !slices.Equal(output(t, r.body, "logits"), want) {
		t.Errorf("in-flight request: %d %s", r.code, r.body)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	// After Close, the batcher refuses work instead of hanging.
	if _, err := s.Infer(context.Background(), &oip.InferenceRequest{Inputs: []oip.RequestInput{{Name: "input", Shape: []int64{1, 1, 4, 4}, Data: x}}}); err == nil {
		t.Error("Infer after shutdown succeeded")
	}
}

// TestShutdownTimeout: a request that outlives the grace period is
// cancelled, and Serve reports it.
func TestShutdownTimeout(t *testing.T) {
	m := newRowModel(1)
	m.block, m.entered = make(chan struct{}), make(chan struct{}, 1)
	s, err := New(m, Options{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, s, HTTPOptions{ShutdownTimeout: 100 * time.Millisecond}) }()
	go post(t, &http.Client{}, "http://"+ln.Addr().String()+"/v2/models/m/infer", request(images(1, 1, 16), []int{1, 4, 4}))
	<-m.entered
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "deadline") {
			t.Errorf("Serve: %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not give up after its grace period")
	}
}

// runtimeStats returns the number of goroutines and the live heap after a
// garbage collection, from runtime/metrics.
func runtimeStats() (goroutines, heap uint64) {
	runtime.GC()
	s := []rtmetrics.Sample{{Name: "/sched/goroutines:goroutines"}, {Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// TestLoadMixed drives the server with concurrent clients sending a mix of
// valid and invalid requests, with API keys and counting on: every valid
// request gets its own correct answer, every invalid one its error, every
// image is counted, and after the load there are no more goroutines and no
// more live heap than after the first round.
func TestLoadMixed(t *testing.T) {
	kr, _ := ParseKeys(strings.NewReader("alice "+aliceToken+"\nbob "+bobHash()+"\n"), "keys")
	st, err := OpenStore(t.TempDir()+"/counts", StoreOptions{CompactAfter: 500})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l, _ := NewLimiter(kr, st, LimitOptions{})
	m := newRowModel(3)
	s := newTestServer(t, m, Options{Name: "m", Limiter: l, MaxBodyBytes: 8192, Batch: BatchOptions{MaxBatch: 16, MaxDelay: time.Millisecond}})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{Handler: s.Handler()}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/v2/models/m/infer"
	ref := newRowModel(3)

	const clients, perClient = 8, 60
	var valid [2]int64 // images per key
	var mu sync.Mutex
	round := func(seed uint64) {
		tr := &http.Transport{MaxIdleConnsPerHost: clients}
		hc := &http.Client{Transport: tr}
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, uint64(c)))
				tok, key := aliceToken, 0
				if c%2 == 1 {
					tok, key = bobToken, 1
				}
				auth := []string{"Authorization", "Bearer " + tok}
				for i := range perClient {
					n := 1 + r.IntN(3)
					x := images(seed*1000+uint64(c*perClient+i), n, 16)
					kind := r.IntN(8)
					var body []byte
					wantCode := 400
					u := url
					switch kind {
					case 0:
						body = []byte(`{"inputs":[{"name":"input"`)
					case 1:
						body = request(x, []int{16})
					case 2:
						x[r.IntN(len(x))] = 2
						body = request(x, []int{1, 4, 4})
					case 3:
						body = []byte(strings.Replace(string(request(x, []int{1, 4, 4})), "FP32", "BYTES", 1))
					case 4:
						body, wantCode = []byte(strings.Repeat("[", 9000)), 413
					case 5:
						body, wantCode, u = request(x, []int{1, 4, 4}), 404, strings.Replace(url, "/m/", "/other/", 1)
					default:
						body, wantCode = request(x, []int{1, 4, 4}, "logits"), 200
					}
					code, b, _ := post(t, hc, u, body, auth...)
					if code != wantCode {
						errs <- fmt.Errorf("client %d request %d (kind %d): status %d %s, want %d", c, i, kind, code, b, wantCode)
						return
					}
					if code != 200 {
						if err := isV2Error(b, ""); err != nil {
							errs <- err
							return
						}
						continue
					}
					mu.Lock()
					valid[key] += int64(n)
					mu.Unlock()
					if got, want := output(t, b, "logits"), defended(t, ref, "aaa-linear", x); !slices.Equal(got, want) {
						errs <- fmt.Errorf("client %d request %d: got %v, want %v", c, i, got, want)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		tr.CloseIdleConnections()
	}
	settle := func() (uint64, uint64) {
		// Give the server's connection goroutines time to exit.
		var g, h uint64
		for range 50 {
			g, h = runtimeStats()
			time.Sleep(20 * time.Millisecond)
			if g2, _ := runtimeStats(); g2 == g {
				break
			}
		}
		return g, h
	}
	round(1)
	g0, h0 := settle()
	round(2)
	round(3)
	g1, h1 := settle()
	t.Logf("goroutines %d → %d, live heap %d → %d KiB", g0, g1, h0>>10, h1>>10)
	if g1 > g0+2 {
		t.Errorf("goroutines grew from %d to %d over two rounds of load", g0, g1)
	}
	if h1 > h0+4<<20 {
		t.Errorf("live heap grew from %d to %d KiB over two rounds of load", h0>>10, h1>>10)
	}
	if a, b := st.Get("alice").Total, st.Get("bob").Total; a != valid[0] || b != valid[1] {
		t.Errorf("store counted alice %d, bob %d; valid images were %d and %d", a, b, valid[0], valid[1])
	}
	if seen := m.seenBatches(); len(seen) == 0 || slices.Max(seen) > 16 {
		t.Errorf("batches %v", seen)
	}
}
