package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/oip"
)

// rowModel is a linear classifier computed row by row in float64, so its
// logits do not depend on how rows are batched: dynamic batching can be
// checked bit for bit. It records the batch sizes it sees and can sleep per
// call to let batches form.
type rowModel struct {
	shape []int
	k     int
	w     []float64 // k × size
	delay time.Duration

	mu      *sync.Mutex
	batches *[]int
	block   chan struct{} // if set, each call waits for a value
	entered chan struct{} // if set, each call signals it (without blocking)
}

func newRowModel(seed uint64) *rowModel {
	r := rand.New(rand.NewPCG(seed, 7))
	m := &rowModel{shape: []int{1, 4, 4}, k: 4, mu: &sync.Mutex{}, batches: new([]int)}
	m.w = make([]float64, m.k*16)
	for i := range m.w {
		m.w[i] = 2 * r.NormFloat64()
	}
	return m
}

func (m *rowModel) InputShape() []int { return append([]int(nil), m.shape...) }
func (m *rowModel) NumClasses() int   { return m.k }

// Clone shares the weights and the record of batch sizes.
func (m *rowModel) Clone() model.Classifier { c := *m; return &c }

func (m *rowModel) Logits(ctx context.Context, dst, x []float32) error {
	n, err := model.CheckBatch(m, dst, x, m.k)
	if err != nil {
		return err
	}
	if m.entered != nil {
		select {
		case m.entered <- struct{}{}:
		default:
		}
	}
	if m.block != nil {
		select {
		case <-m.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if m.delay > 0 {
		time.Sleep(m.delay)
	}
	m.mu.Lock()
	*m.batches = append(*m.batches, n)
	m.mu.Unlock()
	m.rows(dst, x)
	return nil
}

// rows computes the logits without recording anything.
func (m *rowModel) rows(dst, x []float32) {
	size := 16
	for i := 0; i < len(x)/size; i++ {
		for j := 0; j < m.k; j++ {
			var s float64
			for t, v := range x[i*size : (i+1)*size] {
				s += m.w[j*size+t] * float64(v)
			}
			dst[i*m.k+j] = float32(s)
		}
	}
}

func (m *rowModel) seenBatches() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int(nil), *m.batches...)
}

// images returns n random inputs of size values each in [0, 1].
func images(seed uint64, n, size int) []float32 {
	r := rand.New(rand.NewPCG(seed, 3))
	x := make([]float32, n*size)
	for i := range x {
		x[i] = r.Float32()
	}
	return x
}

// defended returns what defense name (fresh, seed 0) makes of c's logits on x.
func defended(t testing.TB, c model.Classifier, name string, x []float32) []float32 {
	t.Helper()
	d, err := defense.New(name, defense.Options{})
	if err != nil {
		t.Error(err)
		return nil
	}
	out := make([]float32, len(x)/model.InputSize(c)*c.NumClasses())
	if err := defense.Wrap(c, d).Logits(context.Background(), out, x); err != nil {
		t.Error(err)
		return nil
	}
	return out
}

// request builds a v2 inference request body for images x of shape.
func request(x []float32, shape []int, outputs ...string) []byte {
	n := len(x)
	for _, d := range shape {
		n /= d
	}
	s := []int64{int64(n)}
	for _, d := range shape {
		s = append(s, int64(d))
	}
	req := oip.InferenceRequest{Inputs: []oip.RequestInput{{Name: oip.InputName, Shape: s, Datatype: oip.FP32, Data: x}}}
	for _, o := range outputs {
		req.Outputs = append(req.Outputs, oip.RequestOutput{Name: o})
	}
	b, _ := json.Marshal(req)
	return b
}

// post sends body to url and returns the status, the body and the headers
// (status -1 after reporting a transport error). Like the other helpers it
// reports errors with t.Error, so goroutines may call it.
func post(t testing.TB, c *http.Client, url string, body []byte, header ...string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return -1, nil, nil
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return -1, nil, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// output decodes a 200 reply and returns output name's data.
func output(t testing.TB, body []byte, name string) []float32 {
	t.Helper()
	var r oip.InferenceResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Errorf("reply %q: %v", body, err)
		return nil
	}
	o, ok := r.Output(name)
	if !ok {
		t.Errorf("reply %s has no output %q", body, name)
		return nil
	}
	return o.Data
}

// isV2Error reports whether body is {"error": "..."} containing msg.
func isV2Error(body []byte, msg string) error {
	var e map[string]any
	if err := json.Unmarshal(body, &e); err != nil {
		return fmt.Errorf("error body %q is not JSON", body)
	}
	s, ok := e["error"].(string)
	if !ok || len(e) != 1 {
		return fmt.Errorf("error body %q is not a v2 error object", body)
	}
	if !strings.Contains(s, msg) {
		return fmt.Errorf("error %q does not mention %q", s, msg)
	}
	return nil
}

// newTestServer builds a server and registers its Close.
func newTestServer(t testing.TB, m model.Classifier, o Options) *Server {
	t.Helper()
	if o.Name == "" {
		o.Name = "m"
	}
	s, err := New(m, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}
