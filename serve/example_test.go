package serve_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/serve"
)

// Serve a model behind AAA (the default defense) and query it over the
// protocol, as an attacker or any client would.
func Example() {
	ctx := context.Background()
	net, _ := nn.New(nn.MLP([]int{4}, []int{8}, 3), 1)
	srv, err := serve.New(net, serve.Options{Name: "tiny"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close(ctx)
	ts := httptest.NewServer(srv.Handler()) // or serve.Serve(ctx, listener, srv, serve.HTTPOptions{})
	defer ts.Close()

	c, err := oip.Dial(ctx, ts.URL+"/v2/models/tiny", oip.ClientOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range c.Metadata().Outputs {
		fmt.Println("output", o.Name, o.Shape)
	}
	x := []float32{0.1, 0.9, 0.3, 0.5}
	served, raw := make([]float32, 3), make([]float32, 3)
	c.Logits(ctx, served, x)
	net.Logits(ctx, raw, x)
	fmt.Println("AAA keeps the class:", metrics.Argmax(served) == metrics.Argmax(raw))
	// Output:
	// output logits [-1 3]
	// output probabilities [-1 3]
	// AAA keeps the class: true
}

// Serve a model's penultimate features next to its defended outputs (they
// are not defended: opt in only where that is acceptable), and read them
// with a client dialled for that output, a model.FeatureExtractor as
// feature-space OoD detectors need.
func Example_features() {
	ctx := context.Background()
	net, _ := nn.New(nn.MLP([]int{4}, []int{8}, 3), 1)
	srv, err := serve.New(net, serve.Options{Name: "tiny", FeaturesOutput: "features"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close(ctx)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	// Without FeaturesOutput the client returns no features.
	plain, _ := oip.Dial(ctx, ts.URL+"/v2/models/tiny", oip.ClientOptions{})
	_, err = model.RequireFeatures(plain.Model(), "tiny")
	fmt.Println(err != nil)

	c, err := oip.Dial(ctx, ts.URL+"/v2/models/tiny", oip.ClientOptions{FeaturesOutput: "features"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fe, err := model.RequireFeatures(c.Model(), "tiny")
	if err != nil {
		fmt.Println(err)
		return
	}
	x := []float32{0.1, 0.9, 0.3, 0.5}
	served, local := make([]float32, fe.FeatureDim()), make([]float32, net.FeatureDim())
	fe.Features(ctx, served, x)
	net.Features(ctx, local, x)
	fmt.Println(fe.FeatureDim(), slices.Equal(served, local))
	// Output:
	// true
	// 8 true
}

// Put a defense in front of a model that another v2 server (KServe, Triton,
// MLServer) serves: the upstream, reached through oip's client, is the
// server's model (proxy mode).
func Example_proxy() {
	ctx := context.Background()
	net, _ := nn.New(nn.MLP([]int{4}, []int{8}, 3), 1)
	upstream := httptest.NewServer((&oip.Server{Name: "plain", Model: net}).Handler())
	defer upstream.Close()

	up, err := oip.Dial(ctx, upstream.URL+"/v2/models/plain", oip.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := serve.New(up, serve.Options{Name: "plain", Defense: "aaa-sine"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close(ctx)
	proxy := httptest.NewServer(srv.Handler())
	defer proxy.Close()

	body := `{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[0.1,0.9,0.3,0.5]}],"outputs":[{"name":"probabilities"}]}`
	resp, err := http.Post(proxy.URL+"/v2/models/plain/infer", "application/json", strings.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// 200 OK
}

// API keys with budgets: every input image is one query, counted in a store
// that survives restarts.
func ExampleNewLimiter() {
	dir, _ := os.MkdirTemp("", "keys")
	defer os.RemoveAll(dir)
	keys, err := serve.ParseKeys(strings.NewReader(`
# name  token                    limits
alice   alice-0123456789abcdef   budget=2
`), "keys.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	store, err := serve.OpenStore(filepath.Join(dir, "counts"), serve.StoreOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	lim, _ := serve.NewLimiter(keys, store, serve.LimitOptions{})
	alice, _ := lim.Authenticate("Bearer alice-0123456789abcdef")
	for range 3 {
		c, err := lim.Admit(alice, 1)
		fmt.Println(c.Total, err)
	}
	// Output:
	// 1 <nil>
	// 2 <nil>
	// 2 query budget exhausted: key alice has used 2 of its 2 queries, asked for 1 more
}

// Run serves a configured model until the context ends, then shuts down
// gracefully: what "trustml serve" does with its flags.
func ExampleRun() {
	net, _ := nn.New(nn.MLP([]int{4}, []int{8}, 3), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := serve.Run(ctx, serve.Config{
		Addr:   "127.0.0.1:0",
		Model:  net,
		Server: serve.Options{Name: "tiny", Defense: "aaa-linear"},
	})
	fmt.Println("stopped cleanly:", err == nil)
	// Output: stopped cleanly: true
}
