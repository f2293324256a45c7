package serve

import (
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trustml/trustml/oip"
)

func TestKServeApply(t *testing.T) {
	for _, c := range []struct {
		k                    KServe
		name, addr, upstream string
		err                  string
	}{
		{KServe{Name: "fraud", PredictorHost: "fraud-predictor.ns", Port: 8080, Protocol: "v2"}, "fraud", ":8080", "http://fraud-predictor.ns/v2/models/fraud", ""},
		{KServe{Name: "a", PredictorHost: "https://p:81/", PredictorModel: "b"}, "a", "", "https://p:81/v2/models/b", ""},
		{KServe{PredictorHost: "x:80"}, "", "", "", "model name"},
		{KServe{Name: "m", PredictorHost: "p.ns:9000", Protocol: "grpc-v2"}, "m", "", "grpc://p.ns:9000/m", ""},
		{KServe{Name: "m", PredictorHost: "http://p.ns:9000/", Protocol: "grpc-v2"}, "m", "", "grpc://p.ns:9000/m", ""},
		{KServe{Protocol: "v1"}, "", "", "", "v2 (REST) and grpc-v2 only"},
	} {
		var cfg Config
		err := c.k.Apply(&cfg)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v: err %v, want %q", c.k, err, c.err)
			}
			continue
		}
		if err != nil || cfg.Server.Name != c.name || cfg.Addr != c.addr || cfg.Upstream != c.upstream {
			t.Errorf("%+v: name %q addr %q upstream %q, err %v", c.k, cfg.Server.Name, cfg.Addr, cfg.Upstream, err)
		}
	}
}

// TestRun serves an upstream through Run (proxy mode) until the context
// ends, and checks the configuration errors Run reports.
func TestRun(t *testing.T) {
	up := httptest.NewServer((&oip.Server{Name: "cnn", Model: testNet(t)}).Handler())
	defer up.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Addr: "127.0.0.1:0", Upstream: up.URL + "/v2/models/cnn", Server: Options{Defense: "none"}})
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, c := range []struct {
		cfg Config
		msg string
	}{
		{Config{}, "no model"},
		{Config{Model: testNet(t), KeysFile: "k"}, "counts file"},
		{Config{Model: testNet(t), Limits: LimitOptions{Rate: 1}}, "key file"},
		{Config{Upstream: "http://127.0.0.1:1/v2/models/m", UpstreamOptions: oip.ClientOptions{Retries: -1}}, "upstream"},
		{Config{Model: testNet(t), Addr: "127.0.0.1:-1", Server: Options{Name: "m"}}, "invalid port"},
	} {
		if err := Run(context.Background(), c.cfg); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Run(%+v): err %v, want %q", c.cfg, err, c.msg)
		}
	}
}

// TestRunGRPC serves a model over HTTP and gRPC through Run, queries it
// over gRPC, and checks that both shut down cleanly when the context ends.
func TestRunGRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Addr: "127.0.0.1:0", GRPCAddr: addr, Model: testNet(t), Server: Options{Name: "cnn"}})
	}()
	var c *oip.Client
	for i := 0; i < 50; i++ {
		if c, err = oip.Dial(ctx, "grpc://"+addr+"/cnn", oip.ClientOptions{Retries: -1}); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Logits(ctx, make([]float32, 3), images(1, 1, 36)); err != nil {
		t.Errorf("gRPC query through Run: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	err = Run(context.Background(), Config{Addr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:-1", Model: testNet(t), Server: Options{Name: "m"}})
	if err == nil || !strings.Contains(err.Error(), "grpc") {
		t.Errorf("bad gRPC address: %v", err)
	}
}
