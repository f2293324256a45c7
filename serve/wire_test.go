package serve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/oip/v2grpc"
	"github.com/trustml/trustml/zoo"
)

// servedBoth serves s over HTTP and gRPC on loopback and returns the
// HTTP model URL and the gRPC one.
func servedBoth(t *testing.T, s *Server) (string, string) {
	t.Helper()
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := NewGRPCServer(s)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	return ts.URL + "/v2/models/" + s.o.Name, "grpc://" + ln.Addr().String() + "/" + s.o.Name
}

// TestWires checks that the JSON, binary HTTP and gRPC wires give the
// in-process defended logits bit for bit, for one image and a batch.
func TestWires(t *testing.T) {
	net := testNet(t)
	s := newTestServer(t, net.Copy(), Options{Name: "cnn"})
	httpURL, grpcURL := servedBoth(t, s)
	ctx := context.Background()
	for _, n := range []int{1, 5} {
		x := images(uint64(n), n, 36)
		want := defended(t, net, "aaa-linear", x)
		for _, w := range []struct {
			name, url string
			o         oip.ClientOptions
		}{{"json", httpURL, oip.ClientOptions{}}, {"binary", httpURL, oip.ClientOptions{Binary: true}}, {"grpc", grpcURL, oip.ClientOptions{}}} {
			c, err := oip.Dial(ctx, w.url, w.o)
			if err != nil {
				t.Fatalf("%s: %v", w.name, err)
			}
			if c.NumClasses() != 3 || !slices.Equal(c.InputShape(), []int{1, 6, 6}) {
				t.Fatalf("%s: %d classes, shape %v", w.name, c.NumClasses(), c.InputShape())
			}
			got := make([]float32, n*3)
			if err := c.Logits(ctx, got, x); err != nil {
				t.Fatalf("%s: %v", w.name, err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s, %d images: logits %v, want %v", w.name, n, got, want)
			}
			c.Close()
		}
	}
}

// TestBinaryBadRequests sends malformed binary requests and checks each is
// a 400 naming the problem, and that the server answers a good request
// after them.
func TestBinaryBadRequests(t *testing.T) {
	s := newTestServer(t, testNet(t), Options{Name: "cnn"})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	url := ts.URL + "/v2/models/cnn/infer"
	x := images(1, 1, 36)
	good, jsonLen, err := oip.EncodeRequest(&oip.InferenceRequest{Inputs: []oip.RequestInput{{Name: "input", Shape: []int64{1, 1, 6, 6}, Datatype: oip.FP32, Data: x}}}, true)
	if err != nil {
		t.Fatal(err)
	}
	hdr := strconv.Itoa(jsonLen)
	for _, c := range []struct {
		name, header string
		body         []byte
		msg          string
	}{
		{"header not a number", "abc", good, "not a byte count"},
		{"header negative", "-1", good, "is -1"},
		{"header past the body", strconv.Itoa(len(good) + 1), good, "the body has"},
		{"header cuts the JSON", strconv.Itoa(jsonLen - 3), good, "malformed JSON"},
		{"truncated body", hdr, good[:len(good)-4], "only 140 bytes of binary data are left"},
		{"trailing bytes", hdr, append(slices.Clone(good), 0, 0, 0, 0), "4 bytes of binary data after"},
		{"size mismatch", hdr, []byte(strings.Replace(string(good), `"binary_data_size":144`, `"binary_data_size":140`, 1)), "the shape's 36 FP32 values need 144"},
		{"no header", "", good, "trailing data after the JSON object"},
	} {
		var code int
		var body []byte
		if c.header == "" {
			code, body, _ = post(t, nil, url, c.body)
		} else {
			code, body, _ = post(t, nil, url, c.body, oip.HeaderContentLength, c.header)
		}
		if code != http.StatusBadRequest {
			t.Errorf("%s: status %d (%s), want 400", c.name, code, body)
			continue
		}
		if err := isV2Error(body, c.msg); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	code, body, h := post(t, nil, url, good, oip.HeaderContentLength, hdr)
	if code != http.StatusOK || h.Get(oip.HeaderContentLength) == "" {
		t.Fatalf("good request after the bad ones: status %d, header %q: %s", code, h.Get(oip.HeaderContentLength), body)
	}
	n, _ := strconv.Atoi(h.Get(oip.HeaderContentLength))
	resp, err := oip.DecodeResponse(body, n)
	if err != nil || len(resp.Outputs) != 2 || len(resp.Outputs[0].Data) != 3 {
		t.Fatalf("good request's reply: %v, %+v", err, resp)
	}
}

// TestGRPCService checks the gRPC service's health, metadata and errors,
// and API keys in the authorization metadata.
func TestGRPCService(t *testing.T) {
	dir := t.TempDir()
	kr, err := ParseKeys(strings.NewReader("alice s3cret-0123456789abcdef budget=3\n"), "keys")
	if err != nil {
		t.Fatal(err)
	}
	store, err := OpenStore(dir+"/counts", StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	lim, err := NewLimiter(kr, store, LimitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, testNet(t), Options{Name: "cnn", Version: "2", Limiter: lim})
	_, u := servedBoth(t, s)
	cc, err := grpc.NewClient(strings.TrimSuffix(strings.TrimPrefix(u, "grpc://"), "/cnn"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	api := v2grpc.NewGRPCInferenceServiceClient(cc)
	ctx := context.Background()
	if r, err := api.ServerReady(ctx, &v2grpc.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Fatalf("ServerReady: %v %v", r, err)
	}
	if r, err := api.ModelReady(ctx, &v2grpc.ModelReadyRequest{Name: "cnn", Version: "2"}); err != nil || !r.Ready {
		t.Fatalf("ModelReady: %v %v", r, err)
	}
	md, err := api.ModelMetadata(ctx, &v2grpc.ModelMetadataRequest{Name: "cnn"})
	if err != nil || md.Inputs[0].Name != "input" || !slices.Equal(md.Inputs[0].Shape, []int64{-1, 1, 6, 6}) || len(md.Outputs) != 2 {
		t.Fatalf("ModelMetadata: %v %v", md, err)
	}
	req := oip.RequestToProto("cnn", "", &oip.InferenceRequest{Inputs: []oip.RequestInput{{Name: "input", Shape: []int64{2, 1, 6, 6}, Datatype: oip.FP32, Data: images(3, 2, 36)}}})
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer s3cret-0123456789abcdef")
	for _, c := range []struct {
		name string
		ctx  context.Context
		mod  func(*v2grpc.ModelInferRequest)
		code codes.Code
	}{
		{"no key", ctx, nil, codes.Unauthenticated},
		{"unknown model", authed, func(m *v2grpc.ModelInferRequest) { m.ModelName = "x" }, codes.NotFound},
		{"unknown version", authed, func(m *v2grpc.ModelInferRequest) { m.ModelVersion = "9" }, codes.NotFound},
		{"bad shape", authed, func(m *v2grpc.ModelInferRequest) { m.Inputs[0].Shape = []int64{2, 36} }, codes.InvalidArgument},
		{"short raw", authed, func(m *v2grpc.ModelInferRequest) { m.RawInputContents[0] = m.RawInputContents[0][:8] }, codes.InvalidArgument},
		{"ok", authed, nil, codes.OK},
		{"over budget", authed, nil, codes.ResourceExhausted},
	} {
		m := proto(req)
		if c.mod != nil {
			c.mod(m)
		}
		r, err := api.ModelInfer(c.ctx, m)
		if status.Code(err) != c.code {
			t.Errorf("%s: code %v (%v), want %v", c.name, status.Code(err), err, c.code)
		}
		if c.code == codes.OK {
			resp, err := oip.ResponseFromProto(r)
			if err != nil || len(resp.Outputs) != 2 || len(resp.Outputs[1].Data) != 6 {
				t.Errorf("%s: reply %v, %v", c.name, resp, err)
			}
		}
	}
}

// proto copies a request so that a test case may change it.
func proto(m *v2grpc.ModelInferRequest) *v2grpc.ModelInferRequest {
	return &v2grpc.ModelInferRequest{ModelName: m.ModelName, ModelVersion: m.ModelVersion,
		Inputs:           []*v2grpc.ModelInferRequest_InferInputTensor{{Name: m.Inputs[0].Name, Datatype: m.Inputs[0].Datatype, Shape: m.Inputs[0].Shape}},
		RawInputContents: [][]byte{m.RawInputContents[0]}}
}

// TestGRPCUpstream puts AAA in front of an undefended model served over
// gRPC (proxy mode with a grpc:// upstream) and compares with in-process.
func TestGRPCUpstream(t *testing.T) {
	net := testNet(t)
	up := newTestServer(t, net.Copy(), Options{Name: "cnn", Defense: "none"})
	_, u := servedBoth(t, up)
	ctx := context.Background()
	c, err := oip.Dial(ctx, u, oip.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := newTestServer(t, c, Options{Name: "cnn-aaa"})
	httpURL, _ := servedBoth(t, s)
	front, err := oip.Dial(ctx, httpURL, oip.ClientOptions{Binary: true})
	if err != nil {
		t.Fatal(err)
	}
	x := images(9, 3, 36)
	got := make([]float32, 9)
	if err := front.Logits(ctx, got, x); err != nil {
		t.Fatal(err)
	}
	if want := defended(t, net, "aaa-linear", x); !slices.Equal(got, want) {
		t.Errorf("proxied logits %v, want %v", got, want)
	}
	// A gRPC model that goes away is a remote error, not a hang.
	up.Close(ctx)
	if err := c.Logits(ctx, got, x); !errors.Is(err, oip.ErrRemote) {
		t.Errorf("closed upstream: %v, want ErrRemote", err)
	}
}

// wireModel is a 28×28-input, 10-class model that costs next to nothing,
// so that BenchmarkWire measures the wire.
type wireModel struct{}

func (wireModel) InputShape() []int         { return []int{1, 28, 28} }
func (wireModel) NumClasses() int           { return 10 }
func (m wireModel) Clone() model.Classifier { return m }
func (wireModel) Logits(_ context.Context, dst, x []float32) error {
	for i := range dst {
		dst[i] = x[(i*7)%len(x)]
	}
	return nil
}

// BenchmarkWire sends single-image requests from 32 concurrent clients per
// core through each wire to one server (no defense, dynamic batching) in
// the same process: the time per request is the wire's cost, client and
// server together, with the model's taken out.
func BenchmarkWire(b *testing.B) {
	s, err := New(wireModel{}, Options{Name: "w", Defense: "none"})
	if err != nil {
		b.Fatal(err)
	}
	benchWires(b, s)
}

// benchWires serves s over HTTP and gRPC and sends single-image requests
// over each wire (JSON, binary, gRPC) from 32 clients per core.
func benchWires(b *testing.B, s *Server) {
	defer s.Close(context.Background())
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	gs := NewGRPCServer(s)
	go gs.Serve(ln)
	defer gs.Stop()
	x := images(1, 1, 784)
	for _, w := range []struct {
		name, url string
		o         oip.ClientOptions
	}{
		{"json", ts.URL + "/v2/models/w", oip.ClientOptions{}},
		{"binary", ts.URL + "/v2/models/w", oip.ClientOptions{Binary: true}},
		{"grpc", "grpc://" + ln.Addr().String() + "/w", oip.ClientOptions{}},
	} {
		b.Run(w.name, func(b *testing.B) {
			c, err := oip.Dial(context.Background(), w.url, w.o)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.SetParallelism(32)
			b.RunParallel(func(pb *testing.PB) {
				dst := make([]float32, 10)
				for pb.Next() {
					if err := c.Logits(context.Background(), dst, x); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// TestWiresFeatures reads the served features over each wire: the same
// values as the network's, bit for bit.
func TestWiresFeatures(t *testing.T) {
	net := testNet(t)
	s := newTestServer(t, net.Copy(), Options{Name: "cnn", FeaturesOutput: "features"})
	httpURL, grpcURL := servedBoth(t, s)
	ctx := context.Background()
	x := images(2, 3, 36)
	want := make([]float32, 3*net.FeatureDim())
	if err := net.Features(ctx, want, x); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		name, url string
		o         oip.ClientOptions
	}{{"binary", httpURL, oip.ClientOptions{Binary: true, FeaturesOutput: "features"}}, {"grpc", grpcURL, oip.ClientOptions{FeaturesOutput: "features"}}} {
		c, err := oip.Dial(ctx, w.url, w.o)
		if err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		fe, ok := c.Model().(model.FeatureExtractor)
		if !ok {
			t.Fatalf("%s: not a feature extractor", w.name)
		}
		got := make([]float32, len(want))
		if err := fe.Features(ctx, got, x); err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: features %v (%v), want %v", w.name, got, err, want)
		}
		c.Close()
	}
}

// BenchmarkServeDefault is BenchmarkWire with the default model and AAA:
// single-image requests over each wire from 32 clients per core. With
// -cpuprofile it shows how the server's time splits between the forward
// pass, the defense and the wire.
func BenchmarkServeDefault(b *testing.B) {
	m, _, err := zoo.OpenNetwork("default")
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(m, Options{Name: "w"})
	if err != nil {
		b.Fatal(err)
	}
	benchWires(b, s)
}

// TestWireBodyLimit checks that the body limit bounds binary HTTP bodies
// (413) and gRPC messages (ResourceExhausted) alike.
func TestWireBodyLimit(t *testing.T) {
	s := newTestServer(t, testNet(t), Options{Name: "cnn", MaxBodyBytes: 400})
	httpURL, grpcURL := servedBoth(t, s)
	ctx := context.Background()
	x := images(1, 4, 36) // 576 bytes of tensor data
	for _, w := range []struct {
		name, url string
		o         oip.ClientOptions
		msg       string
	}{{"binary", httpURL, oip.ClientOptions{Binary: true, Retries: -1}, "status 413"}, {"grpc", grpcURL, oip.ClientOptions{Retries: -1}, "ResourceExhausted"}} {
		c, err := oip.Dial(ctx, w.url, w.o)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Logits(ctx, make([]float32, 12), x); !errors.Is(err, oip.ErrRemote) || !strings.Contains(err.Error(), w.msg) {
			t.Errorf("%s: 4 images over a 400-byte limit: %v, want %q", w.name, err, w.msg)
		}
		if err := c.Logits(ctx, make([]float32, 3), x[:36]); err != nil {
			t.Errorf("%s: one image after: %v", w.name, err)
		}
		c.Close()
	}
}
