package oip

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trustml/trustml/model"
)

// ClientOptions configures [Dial]. Zero values take the defaults.
type ClientOptions struct {
	// HTTP is the client to use (default: one with keep-alive connections,
	// up to 64 idle per host, and no overall timeout: Timeout bounds each
	// attempt).
	HTTP *http.Client
	// Timeout bounds each attempt of a request (default 30 s); an attempt
	// that runs out of time fails with [ErrTimeout].
	Timeout time.Duration `flag:"timeout" help:"time limit of each attempt of a request"`
	// Retries is how many times a request is retried after a transient
	// failure: a timeout, a connection error, or status 500, 502, 503 or
	// 504 (default 2; negative for none). Inference is idempotent, so a
	// retried request gives the same answer.
	Retries int `flag:"retries" help:"retries of a request after a timeout, connection error or 5xx (0: none)"`
	// Backoff is the wait before the first retry; it doubles for each
	// further retry (default 100 ms).
	Backoff time.Duration
	// MaxBatch bounds the inputs sent in one request (default 256).
	MaxBatch int
	// Output is the output tensor to read logits from (default "logits" if
	// the model has it, else its first output).
	Output string `flag:"output" help:"output to read logits from (default \"logits\" if the model has it, else its first)"`
	// Probabilities says that Output holds probabilities rather than
	// logits. They are turned into logits by log p, which changes neither
	// the softmax nor the differences between classes.
	Probabilities bool `flag:"probabilities" help:"the output holds probabilities (turned into logits by log p)"`
	// MaxResponseBytes bounds reply bodies (default 64 MiB).
	MaxResponseBytes int64
	// FeaturesOutput, if set, names an output tensor holding the model's
	// penultimate-layer features (shape [-1 dims...], FP32 or FP64), as
	// "trustml serve --features-output NAME" publishes them: [Dial] fails
	// when the server has no such output, and [Client.Model] is then a
	// [*FeatureClient], a [model.FeatureExtractor]. Empty (the default)
	// reads no features: the client is not a model.FeatureExtractor.
	FeaturesOutput string
	// Binary sends inputs and asks for outputs as binary tensor data (the
	// protocol's binary extension, [HeaderContentLength]) instead of JSON
	// numbers over HTTP: smaller bodies, no number parsing. The server must
	// support the extension (Triton, KServe and trustml serve do). A gRPC
	// model (grpc://) always sends raw bytes.
	Binary bool `flag:"binary" help:"send and receive tensors as binary data (the v2 binary tensor extension) instead of JSON"`
}

func (o *ClientOptions) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Retries == 0 {
		o.Retries = 2
	}
	o.Retries = max(o.Retries, 0)
	if o.Backoff <= 0 {
		o.Backoff = 100 * time.Millisecond
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 64 << 20
	}
	if o.HTTP == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		o.HTTP = &http.Client{Transport: tr}
	}
}

// Client is a model served over the protocol (by KServe, Triton, MLServer
// or trustml), usable as a [model.Classifier]: attacks and evaluations query
// it like a local model, and package serve puts a defense in front of it. It
// is safe for concurrent use and immutable after [Dial].
type Client struct {
	base   string    // .../v2/models/NAME or grpc://host:port/NAME
	g      *grpcConn // the gRPC connection of a grpc:// model, else nil
	o      ClientOptions
	meta   ModelMetadata
	shape  []int
	k      int
	input  string
	output string
	// features is the feature output (empty for none), fdim the length
	// of one input's features.
	features string
	fdim     int
}

var (
	_ model.Classifier     = (*Client)(nil)
	_ model.Cloner         = (*Client)(nil)
	_ model.FeaturesHinter = (*Client)(nil)
)

// Errors of a remote model. Errors that come from the remote server or the
// network wrap ErrRemote; those of an attempt that ran out of time wrap
// ErrTimeout as well.
var (
	ErrRemote  = errors.New("oip: remote model")
	ErrTimeout = errors.New("oip: remote model timed out")
)

// Dial connects to a model at a URL of the form
// http://host:port/v2/models/NAME (the REST protocol, JSON or, with
// [ClientOptions.Binary], binary tensors) or grpc://host:port/NAME (the v2
// gRPC service), reads its metadata and checks that it has one FP32 input
// [-1 dims...] and an FP32 (or FP64) output [-1 K], and, with
// [ClientOptions.FeaturesOutput], that output too. Use [Client.Model] for
// the classifier with its features.
func Dial(ctx context.Context, modelURL string, o ClientOptions) (*Client, error) {
	o.defaults()
	if strings.HasPrefix(modelURL, "grpc://") {
		return dialGRPC(ctx, modelURL, o)
	}
	u, err := url.Parse(modelURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		!strings.HasPrefix(u.Path, "/v2/models/") || len(strings.Trim(strings.TrimPrefix(u.Path, "/v2/models/"), "/")) == 0 {
		return nil, fmt.Errorf("oip: model URL %q: want http://host:port/v2/models/NAME or grpc://host:port/NAME", modelURL)
	}
	c := &Client{base: strings.TrimSuffix(modelURL, "/"), o: o}
	body, _, err := c.do(ctx, http.MethodGet, c.base, nil, -1)
	if err != nil {
		return nil, err
	}
	var md ModelMetadata
	if err := json.Unmarshal(body, &md); err != nil {
		return nil, fmt.Errorf("%w %s: malformed metadata: %v", ErrRemote, c.base, err)
	}
	if err := c.setMetadata(md); err != nil {
		return nil, err
	}
	return c, nil
}

// setMetadata checks the model's metadata and keeps it.
func (c *Client) setMetadata(md ModelMetadata) error {
	c.meta = md
	if len(c.meta.Inputs) != 1 {
		return fmt.Errorf("%w %s: %d inputs, trustml needs exactly one", ErrRemote, c.base, len(c.meta.Inputs))
	}
	in := c.meta.Inputs[0]
	if in.Datatype != FP32 || len(in.Shape) < 2 || len(in.Shape) > 8 {
		return fmt.Errorf("%w %s: input %q is %s %v, need FP32 [-1 dims...]", ErrRemote, c.base, in.Name, in.Datatype, in.Shape)
	}
	size := int64(1)
	c.shape = nil
	for _, d := range in.Shape[1:] {
		if d <= 0 || d > 1<<16 || size*d > 1<<24 {
			return fmt.Errorf("%w %s: input %q has a dynamic or invalid dimension in %v", ErrRemote, c.base, in.Name, in.Shape)
		}
		size *= d
		c.shape = append(c.shape, int(d))
	}
	c.input = in.Name
	var out *TensorMetadata
	for i := range c.meta.Outputs {
		t := &c.meta.Outputs[i]
		if (c.o.Output != "" && t.Name == c.o.Output) || (c.o.Output == "" && t.Name == LogitsName) {
			out = t
		}
	}
	if out == nil && c.o.Output == "" && len(c.meta.Outputs) > 0 {
		out = &c.meta.Outputs[0]
	}
	if out == nil {
		return fmt.Errorf("%w %s: no output %q", ErrRemote, c.base, c.o.Output)
	}
	if out.Datatype != FP32 && out.Datatype != FP64 || len(out.Shape) != 2 || out.Shape[1] < 2 || out.Shape[1] > 1<<20 {
		return fmt.Errorf("%w %s: output %q is %s %v, need FP32 [-1 K]", ErrRemote, c.base, out.Name, out.Datatype, out.Shape)
	}
	c.output, c.k = out.Name, int(out.Shape[1])
	return c.setFeatures()
}

// maxFeatures bounds the features of one input a client accepts.
const maxFeatures = 1 << 20

// setFeatures finds and checks the feature output of the metadata.
func (c *Client) setFeatures() error {
	c.features, c.fdim = "", 0
	name := c.o.FeaturesOutput
	if name == "" {
		return nil
	}
	var ft *TensorMetadata
	names := make([]string, 0, len(c.meta.Outputs))
	for i := range c.meta.Outputs {
		t := &c.meta.Outputs[i]
		names = append(names, fmt.Sprintf("%q", t.Name))
		if t.Name == name {
			ft = t
		}
	}
	if ft == nil {
		have := strings.Join(names, ", ")
		if have == "" {
			have = "none"
		}
		return fmt.Errorf("%w %s: no feature output %q (the server's outputs: %s); serve the features under that name (trustml serve --features-output %s) or name one of these", ErrRemote, c.base, name, have, name)
	}
	dim, ok := tensorSize(ft.Shape[min(len(ft.Shape), 1):], maxFeatures)
	if (ft.Datatype != FP32 && ft.Datatype != FP64) || len(ft.Shape) < 2 || !ok || dim == 0 {
		return fmt.Errorf("%w %s: feature output %q is %s %v, need FP32 [-1 dims...] with fixed dims and at most %d features", ErrRemote, c.base, name, ft.Datatype, ft.Shape, maxFeatures)
	}
	c.features, c.fdim = name, int(dim)
	return nil
}

// tensorSize is the number of elements of a tensor of the given shape, ok
// false when a dimension is negative or the count exceeds limit (checked
// before it could overflow).
func tensorSize(shape []int64, limit int64) (n int64, ok bool) {
	n = 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > limit/d) {
			return 0, false
		}
		n *= d
	}
	return n, n <= limit
}

// Metadata returns the model metadata read by Dial.
func (c *Client) Metadata() ModelMetadata { return c.meta }

// Name returns the remote model's name.
func (c *Client) Name() string { return c.meta.Name }

// URL returns the model URL the client was dialled with.
func (c *Client) URL() string { return c.base }

// InputShape implements [model.Classifier].
func (c *Client) InputShape() []int { return append([]int(nil), c.shape...) }

// NumClasses implements [model.Classifier].
func (c *Client) NumClasses() int { return c.k }

// Clone implements [model.Cloner]: a Client is safe for concurrent use, so
// it returns itself.
func (c *Client) Clone() model.Classifier { return c }

// FeaturesHint implements [model.FeaturesHinter]: what to do for features.
func (c *Client) FeaturesHint() string {
	return "serve them and pass --features-output (oip.ClientOptions.FeaturesOutput) naming the server's feature output"
}

// Model returns the classifier to use: a [*FeatureClient] when the client
// was dialled with [ClientOptions.FeaturesOutput], else c itself, which is
// not a [model.FeatureExtractor].
func (c *Client) Model() model.Classifier {
	if c.features != "" {
		return &FeatureClient{c}
	}
	return c
}

// FeatureClient is a [Client] dialled with [ClientOptions.FeaturesOutput]:
// a [model.FeatureExtractor] whose features are the server's feature
// output, for feature-space detectors on a served model. Get it from
// [Client.Model]. It is safe for concurrent use.
type FeatureClient struct {
	*Client
}

var (
	_ model.FeatureExtractor = (*FeatureClient)(nil)
	_ model.Cloner           = (*FeatureClient)(nil)
)

// FeaturesOutput is the name of the output the features are read from.
func (f *FeatureClient) FeaturesOutput() string { return f.features }

// FeatureDim implements [model.FeatureExtractor]: the number of values of
// one input's feature output in the metadata.
func (f *FeatureClient) FeatureDim() int { return f.fdim }

// Clone implements [model.Cloner]: it returns f, safe for concurrent use.
func (f *FeatureClient) Clone() model.Classifier { return f }

// Features implements [model.FeatureExtractor]: it requests the feature
// output for the inputs in x, at most MaxBatch inputs per request, and
// writes the n×FeatureDim features into dst.
func (f *FeatureClient) Features(ctx context.Context, dst, x []float32) error {
	c := f.Client
	n, err := model.CheckBatch(c, dst, x, c.fdim)
	if err != nil {
		return err
	}
	return c.run(ctx, x, n, c.features, func(resp *InferenceResponse, lo, hi int) error {
		return c.decodeFeatures(dst[lo*c.fdim:hi*c.fdim], hi-lo, resp)
	})
}

// Logits implements [model.Classifier]: it sends the inputs in requests of
// at most MaxBatch inputs and writes the remote logits (or log-probabilities)
// into dst.
func (c *Client) Logits(ctx context.Context, dst, x []float32) error {
	n, err := model.CheckBatch(c, dst, x, c.k)
	if err != nil {
		return err
	}
	return c.run(ctx, x, n, c.output, func(resp *InferenceResponse, lo, hi int) error {
		return c.decodeLogits(dst[lo*c.k:hi*c.k], resp)
	})
}

// run sends the n inputs in x in requests of at most MaxBatch inputs that
// ask for output, and passes each reply with its inputs' range to read.
func (c *Client) run(ctx context.Context, x []float32, n int, output string, read func(resp *InferenceResponse, lo, hi int) error) error {
	size := len(x) / max(n, 1)
	for lo := 0; lo < n; lo += c.o.MaxBatch {
		hi := min(lo+c.o.MaxBatch, n)
		shape := []int64{int64(hi - lo)}
		for _, d := range c.shape {
			shape = append(shape, int64(d))
		}
		req := InferenceRequest{
			Inputs:  []RequestInput{{Name: c.input, Shape: shape, Datatype: FP32, Data: x[lo*size : hi*size]}},
			Outputs: []RequestOutput{{Name: output}},
		}
		resp, err := c.infer(ctx, &req)
		if err != nil {
			return err
		}
		if err := read(resp, lo, hi); err != nil {
			return err
		}
	}
	return nil
}

// infer sends one request over the client's transport.
func (c *Client) infer(ctx context.Context, req *InferenceRequest) (*InferenceResponse, error) {
	if c.g != nil {
		return c.g.infer(ctx, c, req)
	}
	body, jsonLen, err := EncodeRequest(req, c.o.Binary)
	if err != nil {
		return nil, err
	}
	reply, replyLen, err := c.do(ctx, http.MethodPost, c.base+"/infer", body, jsonLen)
	if err != nil {
		return nil, err
	}
	resp, err := DecodeResponse(reply, replyLen)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, c.base)
	}
	return resp, nil
}

// decodeFeatures reads an inference reply's feature output for n inputs
// into dst (n×FeatureDim): its datatype must be FP32 or FP64 and its shape
// [n dims...] with the metadata's number of values per input, its values
// finite.
func (c *Client) decodeFeatures(dst []float32, n int, resp *InferenceResponse) error {
	out, ok := resp.Output(c.features)
	if !ok {
		return fmt.Errorf("%w %s: reply has no feature output %q", ErrRemote, c.base, c.features)
	}
	if out.Datatype != FP32 && out.Datatype != FP64 {
		return fmt.Errorf("%w %s: feature output %q has datatype %q, need FP32", ErrRemote, c.base, c.features, out.Datatype)
	}
	per, ok := tensorSize(out.Shape[min(len(out.Shape), 1):], maxFeatures)
	if len(out.Shape) < 2 || out.Shape[0] != int64(n) || !ok || per != int64(c.fdim) {
		return fmt.Errorf("%w %s: feature output %q has shape %v, want [%d dims...] with %d features per input", ErrRemote, c.base, c.features, out.Shape, n, c.fdim)
	}
	if len(out.Data) != len(dst) {
		return fmt.Errorf("%w %s: feature output %q has %d values for %d inputs of %d features", ErrRemote, c.base, c.features, len(out.Data), n, c.fdim)
	}
	for i, v := range out.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w %s: feature output %q: non-finite value for input %d", ErrRemote, c.base, c.features, i/c.fdim)
		}
	}
	copy(dst, out.Data)
	return nil
}

// decodeLogits reads an inference reply for len(dst)/K inputs into dst.
func (c *Client) decodeLogits(dst []float32, resp *InferenceResponse) error {
	out, ok := resp.Output(c.output)
	if !ok {
		return fmt.Errorf("%w %s: reply has no output %q", ErrRemote, c.base, c.output)
	}
	if len(out.Data) != len(dst) {
		return fmt.Errorf("%w %s: output %q has %d values for %d inputs of %d classes", ErrRemote, c.base, c.output, len(out.Data), len(dst)/c.k, c.k)
	}
	for i, v := range out.Data {
		if c.o.Probabilities {
			if !(v >= 0 && v <= 1) {
				return fmt.Errorf("%w %s: output %q: probability %v of input %d outside [0, 1]", ErrRemote, c.base, c.output, v, i/c.k)
			}
			v = float32(math.Log(max(float64(v), math.SmallestNonzeroFloat32)))
		} else if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w %s: output %q: non-finite value for input %d", ErrRemote, c.base, c.output, i/c.k)
		}
		dst[i] = v
	}
	return nil
}

// do sends a request (with the binary extension's header when jsonLen is
// not negative), retrying transient failures, and returns the body of the
// 200 reply and its JSON header's length (-1 for a plain JSON reply).
func (c *Client) do(ctx context.Context, method, u string, body []byte, jsonLen int) ([]byte, int, error) {
	var reply []byte
	var replyLen int
	err := retry(ctx, c.o, u, func() (transient bool, err error) {
		reply, replyLen, transient, err = c.once(ctx, method, u, body, jsonLen)
		return transient, err
	})
	return reply, replyLen, err
}

// retry calls attempt until it succeeds, fails for good, or has been
// retried o.Retries times, with exponential backoff from o.Backoff.
func retry(ctx context.Context, o ClientOptions, u string, attempt func() (transient bool, err error)) error {
	wait := o.Backoff
	for i := 0; ; i++ {
		transient, err := attempt()
		if err == nil || !transient || i >= o.Retries || ctx.Err() != nil {
			if err != nil && i > 0 {
				err = fmt.Errorf("%w (after %d attempts)", err, i+1)
			}
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("oip: %s: %w", u, ctx.Err())
		case <-t.C:
		}
		wait *= 2
	}
}

// once makes one attempt; transient says whether a retry may succeed.
func (c *Client) once(ctx context.Context, method, u string, body []byte, jsonLen int) ([]byte, int, bool, error) {
	actx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, u, rd)
	if err != nil {
		return nil, -1, false, fmt.Errorf("%w %s: %w", ErrRemote, u, err)
	}
	if body != nil {
		if jsonLen >= 0 {
			req.Header.Set("Content-Type", "application/octet-stream")
			req.Header.Set(HeaderContentLength, strconv.Itoa(jsonLen))
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	resp, err := c.o.HTTP.Do(req)
	if err != nil {
		return nil, -1, true, c.netError(ctx, actx, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.o.MaxResponseBytes+1))
	if err != nil {
		return nil, -1, true, c.netError(ctx, actx, u, err)
	}
	if int64(len(b)) > c.o.MaxResponseBytes {
		return nil, -1, false, fmt.Errorf("%w %s: reply larger than %d bytes", ErrRemote, u, c.o.MaxResponseBytes)
	}
	if resp.StatusCode != http.StatusOK {
		var e ErrorResponse
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		transient := false
		switch resp.StatusCode {
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			transient = true
		}
		return nil, -1, transient, fmt.Errorf("%w %s: status %d: %s", ErrRemote, u, resp.StatusCode, msg)
	}
	replyLen := -1
	if v := resp.Header.Get(HeaderContentLength); v != "" {
		if replyLen, err = strconv.Atoi(strings.TrimSpace(v)); err != nil || replyLen < 0 {
			return nil, -1, false, fmt.Errorf("%w %s: reply header %s %q is not a byte count", ErrRemote, u, HeaderContentLength, v)
		}
	}
	return b, replyLen, false, nil
}

// netError classifies a transport error: the caller's cancellation is
// returned as it is, a deadline of the attempt (or the transport's) is a
// timeout, anything else a failed remote.
func (c *Client) netError(ctx, actx context.Context, u string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("oip: %s: %w", u, ctx.Err())
	}
	var ne net.Error
	if errors.Is(actx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w (%w) %s: no reply within %v", ErrRemote, ErrTimeout, u, c.o.Timeout)
	}
	return fmt.Errorf("%w %s: %v", ErrRemote, u, err)
}
