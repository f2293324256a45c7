package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/oip"
)

func testNet(t testing.TB) *nn.Network {
	t.Helper()
	net, err := nn.New(nn.CNN([]int{1, 6, 6}, 3, nn.CNNOptions{Width: 2, Hidden: 4, BatchNorm: true}), 5)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// TestServeDefended serves a network behind each kind of defense and checks
// that a protocol client sees exactly what the in-process defended model
// returns (one client, so the server's batches are the client's), with the
// outputs the defense's kind calls for.
func TestServeDefended(t *testing.T) {
	x := images(1, 5, 36)
	cases := []struct {
		defense string
		outputs []string
	}{
		{"none", []string{"logits", "probabilities"}},
		{"aaa-linear", []string{"logits", "probabilities"}},
		{"aaa-sine", []string{"logits", "probabilities"}},
		{"reverse-sigmoid", []string{"probabilities"}},
		{"rounded", []string{"scores"}},
	}
	for _, c := range cases {
		t.Run(c.defense, func(t *testing.T) {
			if _, err := defense.Lookup(c.defense); err != nil {
				t.Skipf("defense %s not registered", c.defense)
			}
			net := testNet(t)
			s := newTestServer(t, net.Copy(), Options{Name: "cnn", Defense: c.defense})
			ts := httptest.NewServer(s.Handler())
			defer ts.Close()
			md := s.Metadata()
			var names []string
			for _, o := range md.Outputs {
				names = append(names, o.Name)
			}
			if !slices.Equal(names, c.outputs) || !slices.Equal(md.Inputs[0].Shape, []int64{-1, 1, 6, 6}) {
				t.Fatalf("metadata %+v, want outputs %v", md, c.outputs)
			}
			want := defended(t, net, c.defense, x)
			code, body, _ := post(t, nil, ts.URL+"/v2/models/cnn/infer", request(x, []int{1, 6, 6}))
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			got := output(t, body, c.outputs[0])
			if !slices.Equal(got, want) {
				t.Fatalf("served %v\nin-process %v", got, want)
			}
			if c.outputs[0] == "logits" {
				p := make([]float32, len(want))
				metrics.Softmax(p, want, 3)
				if got := output(t, body, "probabilities"); !slices.Equal(got, p) {
					t.Errorf("probabilities %v, want softmax %v", got, p)
				}
				// Through the client the attack CLI uses.
				cl, err := oip.Dial(context.Background(), ts.URL+"/v2/models/cnn", oip.ClientOptions{})
				if err != nil {
					t.Fatal(err)
				}
				got := make([]float32, len(want))
				if err := cl.Logits(context.Background(), got, x); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("oip.Client %v, want %v", got, want)
				}
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	s := newTestServer(t, newRowModel(1), Options{Name: "m", Version: "3", MaxBodyBytes: 4096})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	good := string(request(images(2, 1, 16), []int{1, 4, 4}))
	infer := "/v2/models/m/infer"
	// withFirst replaces the first value of good's data.
	withFirst := func(v string) string {
		j := strings.Index(good, `"data":[`) + len(`"data":[`)
		k := j + strings.IndexByte(good[j:], ',')
		return good[:j] + v + good[k:]
	}
	cases := []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"unknown model", "POST", "/v2/models/other/infer", good, 404, "unknown model"},
		{"unknown version", "POST", "/v2/models/m/versions/9/infer", good, 404, "no version"},
		{"malformed", "POST", infer, `{"inputs":[`, 400, "malformed JSON"},
		{"empty", "POST", infer, ``, 400, "malformed JSON"},
		{"no inputs", "POST", infer, `{"inputs":[]}`, 400, "no inputs"},
		{"datatype", "POST", infer, strings.Replace(good, "FP32", "INT8", 1), 400, "datatype"},
		{"shape", "POST", infer, strings.Replace(good, "[1,1,4,4]", "[1,4,4,1]", 1), 400, "want [N 1 4 4]"},
		{"no images", "POST", infer, `{"inputs":[{"name":"input","shape":[0,1,4,4],"datatype":"FP32","data":[]}]}`, 400, "no images"},
		{"count", "POST", infer, strings.Replace(good, "[1,1,4,4]", "[2,1,4,4]", 1), 400, "needs 32 values"},
		{"above range", "POST", infer, withFirst("1.5"), 400, "outside [0, 1]"},
		{"negative", "POST", infer, withFirst("-0.25"), 400, "value -0.25 at index 0 (image 0) outside [0, 1]"},
		{"overflow", "POST", infer, withFirst("1e39"), 400, "float32"},
		{"string value", "POST", infer, withFirst(`"x"`), 400, "not a float32"},
		{"input name", "POST", infer, strings.Replace(good, `"name":"input"`, `"name":"pixels"`, 1), 400, "unknown input"},
		{"two inputs", "POST", infer, strings.Replace(good, `]}]}`, `]},`+good[len(`{"inputs":[`):], 1), 400, "one input tensor"},
		{"output", "POST", infer, strings.Replace(good, "]}]}", `]}],"outputs":[{"name":"features"}]}`, 1), 400, "unknown output"},
		{"too large", "POST", infer, good + strings.Repeat(" ", 5000), 413, "larger than"},
		{"no endpoint", "GET", "/v2/other", "", 404, "no endpoint"},
		{"wrong method", "GET", infer, "", 404, "no endpoint"},
		{"good", "POST", infer, good, 200, ""},
		{"good with version", "POST", "/v2/models/m/versions/3/infer", good, 200, ""},
		{"nested data", "POST", infer, strings.Replace(strings.Replace(good, `"data":[`, `"data":[[`, 1), "]}]", "]]}]", 1), 200, ""},
		{"FP64", "POST", infer, strings.Replace(good, "FP32", "FP64", 1), 200, ""},
		{"metadata", "GET", "/v2/models/m", "", 200, ""},
		{"metadata version", "GET", "/v2/models/m/versions/3", "", 200, ""},
		{"model ready", "GET", "/v2/models/m/ready", "", 200, ""},
		{"unknown model ready", "GET", "/v2/models/x/ready", "", 404, "unknown model"},
		{"live", "GET", "/v2/health/live", "", 200, ""},
		{"ready", "GET", "/v2/health/ready", "", 200, ""},
		{"server", "GET", "/v2", "", 200, ""},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d (%s), want %d", c.name, resp.StatusCode, b, c.status)
			continue
		}
		if c.status != 200 {
			if err := isV2Error(b, c.msg); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
	}
	// A body over the limit sent without a Content-Length.
	req, _ := http.NewRequest("POST", ts.URL+infer, struct{ *strings.Reader }{strings.NewReader(good + strings.Repeat(" ", 5000))})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("chunked oversized body: status %d, want 413", resp.StatusCode)
	}
	// The server still serves.
	if code, body, _ := post(t, nil, ts.URL+infer, []byte(good)); code != 200 {
		t.Errorf("after bad requests: %d %s", code, body)
	}
}

// TestDynamicBatching sends concurrent requests and checks that they were
// gathered into batches no larger than MaxBatch while every client got
// exactly its own defended rows.
func TestDynamicBatching(t *testing.T) {
	for _, c := range []struct {
		name     string
		opts     BatchOptions
		batched  bool
		maxBatch int
	}{
		{"batched", BatchOptions{MaxBatch: 8, MaxDelay: 20 * time.Millisecond}, true, 8},
		{"two workers", BatchOptions{MaxBatch: 8, MaxDelay: 20 * time.Millisecond, Workers: 2}, true, 8},
		{"off", BatchOptions{MaxBatch: 1}, false, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newRowModel(2)
			m.delay = time.Millisecond
			s := newTestServer(t, m, Options{Batch: c.opts})
			ts := httptest.NewServer(s.Handler())
			defer ts.Close()
			const clients = 24
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			start := make(chan struct{})
			for i := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n := 1 + i%2 // one or two images
					x := images(uint64(100+i), n, 16)
					want := defended(t, newRowModel(2), "aaa-linear", x)
					<-start
					code, body, _ := post(t, nil, ts.URL+"/v2/models/m/infer", request(x, []int{1, 4, 4}, "logits"))
					if code != 200 {
						errs <- fmt.Errorf("client %d: status %d %s", i, code, body)
						return
					}
					var r oip.InferenceResponse
					json.Unmarshal(body, &r)
					if len(r.Outputs) != 1 || !slices.Equal(r.Outputs[0].Data, want) || !slices.Equal(r.Outputs[0].Shape, []int64{int64(n), 4}) {
						errs <- fmt.Errorf("client %d: got %+v, want its own rows %v", i, r.Outputs, want)
					}
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			seen := m.seenBatches()
			total, largest := 0, 0
			for _, b := range seen {
				total += b
				largest = max(largest, b)
			}
			if total != clients/2+clients {
				t.Errorf("model saw %d images in batches %v, want %d", total, seen, clients/2+clients)
			}
			if largest > c.maxBatch && c.maxBatch > 1 {
				t.Errorf("batch of %d images exceeds MaxBatch %d: %v", largest, c.maxBatch, seen)
			}
			if c.batched && len(seen) >= clients {
				t.Errorf("no batching: %d forward passes for %d requests: %v", len(seen), clients, seen)
			}
			if !c.batched && len(seen) != clients {
				t.Errorf("batching off: %d forward passes for %d requests", len(seen), clients)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	m := newRowModel(1)
	for _, c := range []struct {
		o   Options
		msg string
	}{
		{Options{}, "model name"},
		{Options{Name: "a/b"}, "model name"},
		{Options{Name: "m", Defense: "nope"}, "unknown defense"},
		{Options{Name: "m", Defense: "aaa-linear", DefenseOptions: defense.Options{Params: map[string]float64{"tau": -1}}}, "tau"},
		{Options{Name: "m", Batch: BatchOptions{MaxDelay: -1}}, "negative"},
		{Options{Name: "m", InputRange: [2]float32{1, 0}}, "range"},
	} {
		if _, err := New(m, c.o); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("New(%+v) = %v, want error mentioning %q", c.o, err, c.msg)
		}
	}
	// Several workers need a model that can be cloned.
	if _, err := New(noClone{m}, Options{Name: "m", Batch: BatchOptions{Workers: 2}}); err == nil {
		t.Error("2 workers on a model without Clone accepted")
	}
}

func TestMetrics(t *testing.T) {
	s := newTestServer(t, newRowModel(1), Options{Name: "m"})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	x := images(3, 3, 16)
	post(t, nil, ts.URL+"/v2/models/m/infer", request(x, []int{1, 4, 4}))
	post(t, nil, ts.URL+"/v2/models/m/infer", []byte("{"))
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	text := string(b)
	for _, want := range []string{
		`trustml_serve_requests_total{code="200",defense="aaa-linear",endpoint="infer",model="m"} 1`,
		`trustml_serve_requests_total{code="400",defense="aaa-linear",endpoint="infer",model="m"} 1`,
		`trustml_serve_queries_total{defense="aaa-linear",key="",model="m"} 3`,
		`trustml_serve_batch_size_sum{defense="aaa-linear",model="m"} 3`,
		`trustml_serve_request_duration_seconds_count{defense="aaa-linear",model="m"} 2`,
		`trustml_serve_defense_duration_seconds_count{defense="aaa-linear",model="m"} 1`,
		`trustml_serve_model_duration_seconds_count{defense="aaa-linear",model="m"} 1`,
		`trustml_serve_held_images_total{defense="aaa-linear",model="m"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The API handler alone does not serve them.
	rec := httptest.NewRecorder()
	s.APIHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 404 {
		t.Errorf("APIHandler /metrics: %d", rec.Code)
	}
}

// noClone hides rowModel's Clone method.
type noClone struct{ m *rowModel }

func (c noClone) InputShape() []int { return c.m.InputShape() }
func (c noClone) NumClasses() int   { return c.m.NumClasses() }
func (c noClone) Logits(ctx context.Context, dst, x []float32) error {
	return c.m.Logits(ctx, dst, x)
}

// FuzzInfer sends arbitrary bodies to the inference endpoint of a server
// that also serves features: the answer is 200 with the requested outputs
// of consistent shapes or a v2 error with 400 or 413, never a
// server error.
func FuzzInfer(f *testing.F) {
	for _, s := range []string{
		`{"inputs":[{"name":"input","shape":[1,16],"datatype":"FP32","data":[` + strings.Repeat("0.5,", 15) + `1]}]}`,
		`{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","data":[[1],[2]]}]}`,
		`{"inputs":[{"name":"input","shape":[4294967296,4294967296],"datatype":"FP32","data":[]}]}`,
		`{"inputs":[{"name":"input","shape":[1],"datatype":"INT8","data":[1]}]}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Add(request(images(1, 2, 16), []int{1, 4, 4}))
	f.Add(request(images(1, 1, 16), []int{16}))
	f.Add(request(images(1, 3, 16), []int{1, 4, 4}, "f", "probabilities"))
	// The model serves its features as output "f".
	s := newTestServer(f, featRowModel{newRowModel(1)}, Options{Name: "m", MaxBodyBytes: 1 << 16, FeaturesOutput: "f"})
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/v2/models/m/infer", strings.NewReader(string(body))))
		switch rec.Code {
		case 200:
			var r oip.InferenceResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || len(r.Outputs) == 0 {
				t.Fatalf("200 with body %q", rec.Body.Bytes())
			}
			for _, o := range r.Outputs {
				if len(o.Shape) != 2 || int64(len(o.Data)) != o.Shape[0]*o.Shape[1] {
					t.Fatalf("output %s of shape %v has %d values", o.Name, o.Shape, len(o.Data))
				}
			}
		case 400, 413:
			if err := isV2Error(rec.Body.Bytes(), ""); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body.Bytes())
		}
	})
}

// TestKeptJobs checks how a batch is rounded down to a multiple of images.
func TestKeptJobs(t *testing.T) {
	for _, c := range []struct {
		sizes    []int // images per job, oldest first
		multiple int
		want     int // jobs kept
	}{
		{[]int{1, 1, 1, 1, 1, 1}, 4, 4},                  // 6 → 4, two held
		{[]int{1, 1, 1, 1, 1, 1, 1, 1}, 4, 8},            // a multiple: all kept
		{[]int{1, 1, 1}, 4, 3},                           // at most one multiple: all kept
		{[]int{1, 1, 1, 1, 1}, 1, 5},                     // rounding off
		{[]int{1, 1, 1, 1, 1}, 0, 5},                     // (resolved to 1 before use)
		{[]int{2, 2, 2, 1}, 4, 2},                        // 7 → 4
		{[]int{1, 2, 2, 2}, 4, 3},                        // 7 → 5: the next job would leave 3
		{[]int{9}, 4, 1},                                 // one large request runs whole
		{[]int{1, 9}, 4, 2},                              // 10: holding the 9 would leave 1 < 4
		{[]int{16, 1, 1, 1}, 16, 1},                      // 19 → 16
		{slices.Repeat([]int{1}, 37), 16, 32},            // a serving batch
		{append(slices.Repeat([]int{1}, 20), 3), 16, 16}, // 23 → 16
	} {
		batch := make([]*job, len(c.sizes))
		for i, n := range c.sizes {
			batch[i] = &job{n: n}
		}
		if got := keptJobs(batch, c.multiple); got != c.want {
			t.Errorf("keptJobs(%v, %d) = %d, want %d", c.sizes, c.multiple, got, c.want)
		}
	}
}

// TestBatchMultiple queues requests behind a blocked forward pass and
// checks that the next batch is rounded down to the multiple, that the
// requests held over run in the batch after it, oldest first, and that
// every client gets exactly its own rows.
func TestBatchMultiple(t *testing.T) {
	for _, c := range []struct {
		name     string
		multiple int
		queued   int
		want     []int // the model's batch sizes
	}{
		{"rounded", 4, 6, []int{1, 4, 2}},
		{"multiple", 4, 8, []int{1, 8}},
		{"below", 4, 3, []int{1, 3}},
		{"off", 1, 6, []int{1, 6}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newRowModel(3)
			m.block = make(chan struct{})
			m.entered = make(chan struct{}, 1)
			none := func(int) (defense.Defense, error) { return defense.New("none", defense.Options{}) }
			mt, err := newMetrics(prometheus.NewRegistry(), "m", "none")
			if err != nil {
				t.Fatal(err)
			}
			b, err := newBatcher(m, BatchOptions{MaxBatch: 64, BatchMultiple: c.multiple}, none, mt, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer b.close(context.Background())
			var wg sync.WaitGroup
			send := func(i int) {
				defer wg.Done()
				x := images(uint64(200+i), 1, 16)
				want := make([]float32, m.k)
				m.rows(want, x)
				got, _, err := b.do(context.Background(), x, 1, false)
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("request %d: got %v, %v; want its own rows %v", i, got, err, want)
				}
			}
			wg.Add(1)
			go send(0)
			<-m.entered // the first request's pass is running and blocked
			for i := 1; i <= c.queued; i++ {
				wg.Add(1)
				go send(i)
				for len(b.queue) < i { // queue the requests in order
					time.Sleep(100 * time.Microsecond)
				}
			}
			close(m.block)
			wg.Wait()
			if got := m.seenBatches(); !slices.Equal(got, c.want) {
				t.Errorf("batches %v, want %v", got, c.want)
			}
			var held dto.Metric
			if err := mt.held.Write(&held); err != nil {
				t.Fatal(err)
			}
			if got, want := held.GetCounter().GetValue(), float64(c.queued-c.want[1]); got != want { // the queued images the second batch left
				t.Errorf("held images counted %v, want %v", got, want)
			}
		})
	}
}
