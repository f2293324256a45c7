package serve

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
	"strings"
	"time"

	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/oip"
)

// Errors of an upstream v2 server, answered with 502 and 504.
var (
	// ErrUpstream is wrapped by every error that comes from the upstream
	// server or the network to it: unreachable, a non-200 status, a
	// malformed reply or one with the wrong outputs.
	ErrUpstream = errors.New("serve: upstream model")
	// ErrUpstreamTimeout is wrapped (together with ErrUpstream) when the
	// upstream does not answer within [UpstreamOptions.Timeout].
	ErrUpstreamTimeout = errors.New("serve: upstream model timed out")
)

// UpstreamOptions configures [DialUpstream].
type UpstreamOptions struct {
	// HTTP is the client to use (default: a client with keep-alive
	// connections and no overall timeout; Timeout bounds each request).
	HTTP *http.Client
	// Timeout bounds each request to the upstream (default 10 s).
	Timeout time.Duration
	// Output is the upstream output tensor to defend (default "logits" if
	// the model has it, else its first output).
	Output string
	// Probabilities says that Output holds probabilities rather than
	// logits. They are turned into logits by log p (which changes neither
	// the softmax nor the differences between classes AAA works on).
	Probabilities bool
	// MaxResponseBytes bounds reply bodies (default 64 MiB).
	MaxResponseBytes int64
}

// Upstream is a model served by another Open Inference Protocol server
// (KServe, Triton, MLServer, trustml), usable as a [model.Classifier] so that
// a [Server] can put a defense in front of it. Unlike [oip.Client] it tells
// timeouts ([ErrUpstreamTimeout]) from other failures ([ErrUpstream]), and it
// is safe for concurrent use.
type Upstream struct {
	base    string // .../v2/models/NAME
	http    *http.Client
	timeout time.Duration
	meta    oip.ModelMetadata
	shape   []int
	k       int
	input   string
	output  string
	probs   bool
	maxResp int64
}

var (
	_ model.Classifier = (*Upstream)(nil)
	_ model.Cloner     = (*Upstream)(nil)
)

// DialUpstream connects to a model at a URL of the form
// http://host:port/v2/models/NAME, reads its metadata and checks that it
// has one FP32 input [-1 dims...] and an FP32 output [-1 K].
func DialUpstream(ctx context.Context, modelURL string, o UpstreamOptions) (*Upstream, error) {
	u, err := url.Parse(modelURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		!strings.HasPrefix(u.Path, "/v2/models/") || len(strings.Trim(strings.TrimPrefix(u.Path, "/v2/models/"), "/")) == 0 {
		return nil, fmt.Errorf("serve: upstream URL %q: want http://host:port/v2/models/NAME", modelURL)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.HTTP == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		o.HTTP = &http.Client{Transport: tr}
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 64 << 20
	}
	c := &Upstream{base: strings.TrimSuffix(modelURL, "/"), http: o.HTTP, timeout: o.Timeout, probs: o.Probabilities, maxResp: o.MaxResponseBytes}
	body, err := c.do(ctx, http.MethodGet, c.base, nil)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, &c.meta); err != nil {
		return nil, fmt.Errorf("%w %s: malformed metadata: %v", ErrUpstream, c.base, err)
	}
	if len(c.meta.Inputs) != 1 {
		return nil, fmt.Errorf("%w %s: %d inputs, trustml needs exactly one", ErrUpstream, c.base, len(c.meta.Inputs))
	}
	in := c.meta.Inputs[0]
	if in.Datatype != oip.FP32 || len(in.Shape) < 2 || len(in.Shape) > 8 {
		return nil, fmt.Errorf("%w %s: input %q is %s %v, need FP32 [-1 dims...]", ErrUpstream, c.base, in.Name, in.Datatype, in.Shape)
	}
	size := int64(1)
	for _, d := range in.Shape[1:] {
		if d <= 0 || d > 1<<16 || size*d > 1<<24 {
			return nil, fmt.Errorf("%w %s: input %q has a dynamic or invalid dimension in %v", ErrUpstream, c.base, in.Name, in.Shape)
		}
		size *= d
		c.shape = append(c.shape, int(d))
	}
	c.input = in.Name
	var out *oip.TensorMetadata
	for i := range c.meta.Outputs {
		t := &c.meta.Outputs[i]
		if (o.Output != "" && t.Name == o.Output) || (o.Output == "" && t.Name == oip.LogitsName) {
			out = t
		}
	}
	if out == nil && o.Output == "" && len(c.meta.Outputs) > 0 {
		out = &c.meta.Outputs[0]
	}
	if out == nil {
		return nil, fmt.Errorf("%w %s: no output %q", ErrUpstream, c.base, o.Output)
	}
	if out.Datatype != oip.FP32 && out.Datatype != oip.FP64 || len(out.Shape) != 2 || out.Shape[1] < 2 || out.Shape[1] > 1<<20 {
		return nil, fmt.Errorf("%w %s: output %q is %s %v, need FP32 [-1 K]", ErrUpstream, c.base, out.Name, out.Datatype, out.Shape)
	}
	c.output, c.k = out.Name, int(out.Shape[1])
	return c, nil
}

// Metadata returns the upstream model's metadata read by DialUpstream.
func (c *Upstream) Metadata() oip.ModelMetadata { return c.meta }

// Name returns the upstream model's name.
func (c *Upstream) Name() string { return c.meta.Name }

// URL returns the model URL the upstream was dialled with.
func (c *Upstream) URL() string { return c.base }

// InputShape implements [model.Classifier].
func (c *Upstream) InputShape() []int { return append([]int(nil), c.shape...) }

// NumClasses implements [model.Classifier].
func (c *Upstream) NumClasses() int { return c.k }

// Clone implements [model.Cloner]: an Upstream is safe for concurrent use, so
// it returns itself.
func (c *Upstream) Clone() model.Classifier { return c }

// Logits implements [model.Classifier]: it sends the inputs in one request
// and writes the upstream's logits (or log-probabilities) into dst.
func (c *Upstream) Logits(ctx context.Context, dst, x []float32) error {
	n, err := model.CheckBatch(c, dst, x, c.k)
	if err != nil {
		return err
	}
	shape := make([]int64, 0, len(c.shape)+1)
	shape = append(shape, int64(n))
	for _, d := range c.shape {
		shape = append(shape, int64(d))
	}
	req := oip.InferenceRequest{
		Inputs:  []oip.RequestInput{{Name: c.input, Shape: shape, Datatype: oip.FP32, Data: x}},
		Outputs: []oip.RequestOutput{{Name: c.output}},
	}
	b, err := json.Marshal(&req)
	if err != nil {
		return fmt.Errorf("serve: encoding upstream request: %w", err)
	}
	body, err := c.do(ctx, http.MethodPost, c.base+"/infer", b)
	if err != nil {
		return err
	}
	var resp oip.InferenceResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return fmt.Errorf("%w %s: malformed reply: %v", ErrUpstream, c.base, err)
	}
	out, ok := resp.Output(c.output)
	if !ok {
		return fmt.Errorf("%w %s: reply has no output %q", ErrUpstream, c.base, c.output)
	}
	if len(out.Data) != n*c.k {
		return fmt.Errorf("%w %s: output %q has %d values for %d inputs of %d classes", ErrUpstream, c.base, c.output, len(out.Data), n, c.k)
	}
	for i, v := range out.Data {
		if c.probs {
			if !(v >= 0 && v <= 1) {
				return fmt.Errorf("%w %s: output %q: probability %v of input %d outside [0, 1]", ErrUpstream, c.base, c.output, v, i/c.k)
			}
			dst[i] = float32(math.Log(max(float64(v), math.SmallestNonzeroFloat32)))
			continue
		}
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w %s: output %q: non-finite value for input %d", ErrUpstream, c.base, c.output, i/c.k)
		}
		dst[i] = v
	}
	return nil
}

// do sends one request and returns the body of a 200 reply.
func (c *Upstream) do(ctx context.Context, method, u string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrUpstream, u, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.netError(ctx, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxResp+1))
	if err != nil {
		return nil, c.netError(ctx, u, err)
	}
	if int64(len(b)) > c.maxResp {
		return nil, fmt.Errorf("%w %s: reply larger than %d bytes", ErrUpstream, u, c.maxResp)
	}
	if resp.StatusCode != http.StatusOK {
		var e oip.ErrorResponse
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		return nil, fmt.Errorf("%w %s: status %d: %s", ErrUpstream, u, resp.StatusCode, msg)
	}
	return b, nil
}

// netError classifies a transport error: a deadline (ours or the
// transport's) is a timeout; anything else is a failed upstream.
func (c *Upstream) netError(ctx context.Context, u string, err error) error {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w (%w) %s: no reply within %v", ErrUpstream, ErrUpstreamTimeout, u, c.timeout)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w %s: %w", ErrUpstream, u, err)
	}
	return fmt.Errorf("%w %s: %v", ErrUpstream, u, err)
}
