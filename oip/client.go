package oip

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trustml/trustml/model"
)

// ClientOptions configures [Dial].
type ClientOptions struct {
	// HTTP is the client to use (default: one with Timeout).
	HTTP *http.Client
	// Timeout bounds each request (default 30 s).
	Timeout time.Duration
	// MaxBatch bounds the inputs sent in one request (default 256).
	MaxBatch int
	// Output is the output tensor to read logits from (default "logits" if
	// the model has it, else its first output).
	Output string
	// MaxResponseBytes bounds response bodies (default 64 MiB).
	MaxResponseBytes int64
}

// Client is a model served over the protocol, usable as a
// [model.Classifier]: attacks and evaluations query it like a local model.
type Client struct {
	base     string // .../v2/models/NAME
	http     *http.Client
	meta     ModelMetadata
	shape    []int
	k        int
	input    string
	output   string
	maxBatch int
	maxResp  int64
}

var _ model.Classifier = (*Client)(nil)

// ErrRemote is wrapped by errors that come from the remote server or the
// network: unreachable host, timeout, non-200 status, malformed reply.
var ErrRemote = errors.New("oip: remote model")

// Dial connects to a model at a URL of the form
// http://host:port/v2/models/NAME, reads its metadata and checks that it
// has one FP32 input [-1 dims...] and an FP32 output [-1 K].
func Dial(ctx context.Context, modelURL string, o ClientOptions) (*Client, error) {
	u, err := url.Parse(modelURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.Contains(u.Path, "/v2/models/") {
		return nil, fmt.Errorf("oip: model URL %q: want http://host:port/v2/models/NAME", modelURL)
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: o.Timeout}
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 64 << 20
	}
	c := &Client{base: strings.TrimSuffix(modelURL, "/"), http: o.HTTP, maxBatch: o.MaxBatch, maxResp: o.MaxResponseBytes}
	if err := c.do(ctx, http.MethodGet, c.base, nil, &c.meta); err != nil {
		return nil, err
	}
	if len(c.meta.Inputs) != 1 {
		return nil, fmt.Errorf("%w %s: %d inputs, trustml needs exactly one", ErrRemote, c.base, len(c.meta.Inputs))
	}
	in := c.meta.Inputs[0]
	if in.Datatype != FP32 || len(in.Shape) < 2 {
		return nil, fmt.Errorf("%w %s: input %q is %s %v, need FP32 [-1 dims...]", ErrRemote, c.base, in.Name, in.Datatype, in.Shape)
	}
	for _, d := range in.Shape[1:] {
		if d <= 0 || d > 1<<16 {
			return nil, fmt.Errorf("%w %s: input %q has dynamic or invalid dimension in %v", ErrRemote, c.base, in.Name, in.Shape)
		}
		c.shape = append(c.shape, int(d))
	}
	c.input = in.Name
	var out *TensorMetadata
	for i := range c.meta.Outputs {
		t := &c.meta.Outputs[i]
		if (o.Output != "" && t.Name == o.Output) || (o.Output == "" && t.Name == LogitsName) {
			out = t
		}
	}
	if out == nil && o.Output == "" && len(c.meta.Outputs) > 0 {
		out = &c.meta.Outputs[0]
	}
	if out == nil {
		return nil, fmt.Errorf("%w %s: no output %q", ErrRemote, c.base, o.Output)
	}
	if len(out.Shape) != 2 || out.Shape[1] < 2 {
		return nil, fmt.Errorf("%w %s: output %q has shape %v, need [-1 K]", ErrRemote, c.base, out.Name, out.Shape)
	}
	c.output, c.k = out.Name, int(out.Shape[1])
	return c, nil
}

// Metadata returns the model metadata read by Dial.
func (c *Client) Metadata() ModelMetadata { return c.meta }

// InputShape implements [model.Classifier].
func (c *Client) InputShape() []int { return append([]int(nil), c.shape...) }

// NumClasses implements [model.Classifier].
func (c *Client) NumClasses() int { return c.k }

// Logits implements [model.Classifier]: it sends the inputs in requests of
// at most MaxBatch inputs.
func (c *Client) Logits(ctx context.Context, dst, x []float32) error {
	n, err := model.CheckBatch(c, dst, x, c.k)
	if err != nil {
		return err
	}
	size := len(x) / max(n, 1)
	for lo := 0; lo < n; lo += c.maxBatch {
		hi := min(lo+c.maxBatch, n)
		shape := []int64{int64(hi - lo)}
		for _, d := range c.shape {
			shape = append(shape, int64(d))
		}
		req := InferenceRequest{
			Inputs:  []RequestInput{{Name: c.input, Shape: shape, Datatype: FP32, Data: x[lo*size : hi*size]}},
			Outputs: []RequestOutput{{Name: c.output}},
		}
		var resp InferenceResponse
		if err := c.do(ctx, http.MethodPost, c.base+"/infer", &req, &resp); err != nil {
			return err
		}
		out, ok := resp.Output(c.output)
		if !ok {
			return fmt.Errorf("%w %s: reply has no output %q", ErrRemote, c.base, c.output)
		}
		if len(out.Data) != (hi-lo)*c.k {
			return fmt.Errorf("%w %s: output %q has %d values for %d inputs of %d classes", ErrRemote, c.base, c.output, len(out.Data), hi-lo, c.k)
		}
		copy(dst[lo*c.k:hi*c.k], out.Data)
	}
	return nil
}

func (c *Client) do(ctx context.Context, method, u string, body, into any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("oip: encoding request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("oip: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w %s: %w", ErrRemote, u, err)
	}
	defer resp.Body.Close()
	b, err := readLimited(resp.Body, c.maxResp)
	if err != nil {
		return fmt.Errorf("%w %s: reading reply: %v", ErrRemote, u, err)
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
		return fmt.Errorf("%w %s: status %d: %s", ErrRemote, u, resp.StatusCode, msg)
	}
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("%w %s: malformed reply: %v", ErrRemote, u, err)
	}
	return nil
}
