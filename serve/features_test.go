package serve

import (
	"context"
	"encoding/json"
	"math"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/oip"
)

// localFeatures returns net's features of x computed in chunks of at most
// batch inputs, as a client with MaxBatch batch has the server compute them.
func localFeatures(t *testing.T, net model.FeatureExtractor, x []float32, batch int) []float32 {
	t.Helper()
	size := model.InputSize(net)
	n, d := len(x)/size, net.FeatureDim()
	out := make([]float32, n*d)
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		if err := net.Features(context.Background(), out[lo*d:hi*d], x[lo*size:hi*size]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// outputNames lists the outputs of a 200 reply.
func outputNames(t *testing.T, body []byte) []string {
	t.Helper()
	var r oip.InferenceResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("reply %s: %v", body, err)
	}
	var names []string
	for _, o := range r.Outputs {
		names = append(names, o.Name)
	}
	return names
}

// TestServeFeatures serves a network's features next to its AAA-defended
// logits and reads them with the feature client: they equal the network's
// own features bit for bit, only requests that name them get them, bad
// requests are refused and the server keeps serving.
func TestServeFeatures(t *testing.T) {
	net := testNet(t)
	s := newTestServer(t, net.Copy(), Options{Name: "cnn", FeaturesOutput: "features"})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	d := net.FeatureDim()
	md := s.Metadata()
	if f := md.Outputs[len(md.Outputs)-1]; f.Name != "features" || f.Datatype != oip.FP32 || !slices.Equal(f.Shape, []int64{-1, int64(d)}) {
		t.Fatalf("metadata outputs %+v", md.Outputs)
	}
	ctx := context.Background()
	c, err := oip.Dial(ctx, ts.URL+"/v2/models/cnn", oip.ClientOptions{FeaturesOutput: "features", MaxBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	fe, err := model.RequireFeatures(c.Model(), "cnn")
	if err != nil {
		t.Fatal(err)
	}
	if fe.FeatureDim() != d {
		t.Fatalf("served FeatureDim %d, network's %d", fe.FeatureDim(), d)
	}
	x := images(9, 7, 36)
	got := make([]float32, 7*d)
	if err := fe.Features(ctx, got, x); err != nil {
		t.Fatal(err)
	}
	if want := localFeatures(t, net, x, 4); !slices.Equal(got, want) {
		t.Errorf("served features %v\nnetwork's %v", got, want)
	}
	// The logits stay defended.
	logits := make([]float32, 7*3)
	if err := fe.Logits(ctx, logits, x[:4*36]); err == nil {
		t.Error("a short destination was accepted")
	}
	if err := fe.Logits(ctx, logits, x); err != nil {
		t.Fatal(err)
	}
	if want := slices.Concat(defended(t, net, "aaa-linear", x[:4*36]), defended(t, net, "aaa-linear", x[4*36:])); !slices.Equal(logits, want) {
		t.Errorf("served logits %v\nwant AAA's %v", logits, want)
	}

	infer := ts.URL + "/v2/models/cnn/infer"
	// Without outputs named, a reply has the defended outputs only.
	code, body, _ := post(t, nil, infer, request(x[:36], []int{1, 6, 6}))
	if code != 200 || !slices.Equal(outputNames(t, body), []string{"logits", "probabilities"}) {
		t.Errorf("no outputs named: %d %s", code, body)
	}
	code, body, _ = post(t, nil, infer, request(x[:72], []int{1, 6, 6}, "features", "logits"))
	if code != 200 || !slices.Equal(outputNames(t, body), []string{"logits", "features"}) {
		t.Fatalf("features and logits: %d %s", code, body)
	}
	if f := output(t, body, "features"); !slices.Equal(f, localFeatures(t, net, x[:72], 2)) {
		t.Errorf("features %v", f)
	}
	for _, bad := range []struct {
		body []byte
		msg  string
	}{
		{request(x[:36], []int{1, 6, 6}, "feats"), `unknown output "feats" (have logits, probabilities, features)`},
		{request(x[:35], []int{1, 5, 7}, "features"), "want [N 1 6 6]"},
		{[]byte(`{"inputs":[{"name":"input","shape":[1,1,6,6],"datatype":"FP32","data":[1]}],"outputs":[{"name":"features"}]}`), "needs 36 values"},
	} {
		code, body, _ := post(t, nil, infer, bad.body)
		if code != 400 {
			t.Errorf("bad request: status %d %s", code, body)
		} else if err := isV2Error(body, bad.msg); err != nil {
			t.Error(err)
		}
	}
	if err := fe.Features(ctx, got[:d], x[:36]); err != nil {
		t.Errorf("after bad requests: %v", err)
	}

	// A client dialled without the feature output is no FeatureExtractor.
	plain, err := oip.Dial(ctx, ts.URL+"/v2/models/cnn", oip.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := model.RequireFeatures(plain.Model(), "cnn"); err == nil || !strings.Contains(err.Error(), "model cnn returns no features; serve them and pass --features-output") {
		t.Errorf("feature-less client: %v", err)
	}
}

// featRowModel is a rowModel whose features (two per input: twice its first
// two values) do not depend on the batch.
type featRowModel struct{ *rowModel }

func (m featRowModel) FeatureDim() int { return 2 }
func (m featRowModel) Features(_ context.Context, dst, x []float32) error {
	n, err := model.CheckBatch(m, dst, x, 2)
	if err != nil {
		return err
	}
	for i := range n {
		dst[2*i], dst[2*i+1] = 2*x[i*16], 2*x[i*16+1]
	}
	return nil
}
func (m featRowModel) Clone() model.Classifier {
	return featRowModel{m.rowModel.Clone().(*rowModel)}
}

// TestFeaturesMixedBatch sends concurrent requests, half of them for
// features, that the server gathers into shared batches: each gets exactly
// its own rows.
func TestFeaturesMixedBatch(t *testing.T) {
	m := featRowModel{newRowModel(2)}
	s := newTestServer(t, m, Options{Defense: "none", FeaturesOutput: "f", Batch: BatchOptions{MaxBatch: 64, MaxDelay: 200 * time.Millisecond}})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := images(uint64(100+i), 1+i%3, 16)
			var outs []string
			if i%2 == 0 {
				outs = []string{"f", "logits"}
			}
			code, body, _ := post(t, nil, ts.URL+"/v2/models/m/infer", request(x, []int{1, 4, 4}, outs...))
			if code != 200 {
				t.Errorf("request %d: %d %s", i, code, body)
				return
			}
			want := make([]float32, len(x)/16*m.k)
			m.rows(want, x)
			if got := output(t, body, "logits"); !slices.Equal(got, want) {
				t.Errorf("request %d: logits %v, want %v", i, got, want)
			}
			if i%2 != 0 {
				if slices.Contains(outputNames(t, body), "f") {
					t.Errorf("request %d got features it did not ask for", i)
				}
				return
			}
			wantF := make([]float32, len(x)/16*2)
			m.Features(context.Background(), wantF, x)
			if got := output(t, body, "f"); !slices.Equal(got, wantF) {
				t.Errorf("request %d: features %v, want %v", i, got, wantF)
			}
		}()
	}
	wg.Wait()
	if b := m.seenBatches(); len(b) >= 8 {
		t.Errorf("batches %v: no request shared a batch, the test checks nothing", b)
	}
}

// nanFeatures is a featRowModel whose features are not finite.
type nanFeatures struct{ featRowModel }

func (m nanFeatures) Features(ctx context.Context, dst, x []float32) error {
	m.featRowModel.Features(ctx, dst, x)
	dst[len(dst)-1] = float32(math.Inf(1))
	return nil
}

// TestFeaturesNonFinite checks that a model's non-finite features are a
// clear server error for the request that wants them, and that the server
// keeps serving the defended outputs.
func TestFeaturesNonFinite(t *testing.T) {
	s := newTestServer(t, nanFeatures{featRowModel{newRowModel(3)}}, Options{FeaturesOutput: "features"})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	x := images(4, 2, 16)
	code, body, _ := post(t, nil, ts.URL+"/v2/models/m/infer", request(x, []int{1, 4, 4}, "features"))
	if code != 500 {
		t.Errorf("non-finite features: status %d %s", code, body)
	} else if err := isV2Error(body, "the model's feature 1 of an input is +Inf, not finite"); err != nil {
		t.Error(err)
	}
	if code, body, _ := post(t, nil, ts.URL+"/v2/models/m/infer", request(x, []int{1, 4, 4})); code != 200 {
		t.Errorf("without features: status %d %s", code, body)
	}
}

// TestFeaturesNewErrors checks what New refuses.
func TestFeaturesNewErrors(t *testing.T) {
	for _, c := range []struct {
		m   model.Classifier
		o   Options
		msg string
	}{
		{newRowModel(1), Options{Name: "m", FeaturesOutput: "features"}, "model m returns no features"},
		{testNet(t), Options{Name: "m", FeaturesOutput: "logits"}, `features output "logits": the defense's output has that name`},
		{testNet(t), Options{Name: "m", FeaturesOutput: "probabilities", Defense: "none"}, "has that name"},
	} {
		if _, err := New(c.m, c.o); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("New(%T, %+v) = %v, want error mentioning %q", c.m, c.o, err, c.msg)
		}
	}
}

// TestProxyFeatures forwards the features of an upstream trustml server
// that serves them, and Run refuses an upstream without them.
func TestProxyFeatures(t *testing.T) {
	net := testNet(t)
	upSrv := newTestServer(t, net.Copy(), Options{Name: "plain", Defense: "none", FeaturesOutput: "features"})
	up := httptest.NewServer(upSrv.Handler())
	defer up.Close()
	ctx := context.Background()
	u, err := oip.Dial(ctx, up.URL+"/v2/models/plain", oip.ClientOptions{FeaturesOutput: "features"})
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTestServer(t, u.Model(), Options{Name: "guarded", FeaturesOutput: "features"})
	ts := httptest.NewServer(proxy.Handler())
	defer ts.Close()
	c, err := oip.Dial(ctx, ts.URL+"/v2/models/guarded", oip.ClientOptions{FeaturesOutput: "features"})
	if err != nil {
		t.Fatal(err)
	}
	x := images(5, 5, 36)
	got := make([]float32, 5*net.FeatureDim())
	if err := c.Model().(model.FeatureExtractor).Features(ctx, got, x); err != nil {
		t.Fatal(err)
	}
	if want := localFeatures(t, net, x, 5); !slices.Equal(got, want) {
		t.Errorf("proxied features %v\nnetwork's %v", got, want)
	}

	// Run dials the upstream for the feature output it serves.
	bare := httptest.NewServer((&oip.Server{Name: "bare", Model: net.Copy()}).Handler())
	defer bare.Close()
	err = Run(ctx, Config{Addr: "127.0.0.1:0", Upstream: bare.URL + "/v2/models/bare", Server: Options{Defense: "none", FeaturesOutput: "features"}})
	if err == nil || !strings.Contains(err.Error(), `no feature output "features" (the server's outputs: "logits", "probabilities")`) {
		t.Errorf("Run with an upstream without features: %v", err)
	}
}
