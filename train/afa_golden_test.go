package train

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/trustml/trustml/nn"
)

// TestAFAMatchesPyTorch replays testdata/afa_golden.py: the AFA loss (two
// passes through a dual batch norm forced to 0 and to s, cross-entropy and
// the fusing-weight alignment loss), its parameter gradients, the running
// statistics it leaves, and the inference-mode forward with predicted and
// forced fusing weights, against PyTorch's F.batch_norm and autograd.
func TestAFAMatchesPyTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/afa_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		N, C, H, W, K        int
		S                    float64
		Lambda               float64
		X, Adv, XEval        []float32
		Y                    []int
		Params, Buffers      map[string][]float32
		Loss                 float64
		Grads, BuffersAfter  map[string][]float64
		EvalLogits, EvalFuse []float64
		EvalLogitsFuse1      []float64 `json:"eval_logits_fuse1"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	// encoding/json matches snake_case keys only through tags; map the rest.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for key, dst := range map[string]any{"x_eval": &g.XEval, "buffers_after": &g.BuffersAfter, "eval_logits": &g.EvalLogits, "eval_fuse": &g.EvalFuse} {
		if err := json.Unmarshal(raw[key], dst); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	spec := nn.Spec{Name: "afa-golden", InputShape: []int{g.C, g.H, g.W}, NumClasses: g.K, Layers: []nn.LayerSpec{
		{Kind: nn.KindDualBN}, {Kind: nn.KindTanh}, {Kind: nn.KindGlobalAvg}, {Kind: nn.KindDense, Out: g.K}}}
	net, err := nn.New(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range net.Params() {
		if len(g.Params[p.Name]) != len(p.W) {
			t.Fatalf("param %s: golden has %d values, network %d", p.Name, len(g.Params[p.Name]), len(p.W))
		}
		copy(p.W, g.Params[p.Name])
	}
	for _, bf := range net.Buffers() {
		copy(bf.Data, g.Buffers[bf.Name])
	}
	o, err := NewAFAObjective(AFA{Eps: 0.1, Lambda: g.Lambda})
	if err != nil {
		t.Fatal(err)
	}
	net.ZeroGrad()
	loss, _, err := o.loss(net, g.X, g.Adv, g.Y, g.S)
	if err != nil {
		t.Fatal(err)
	}
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %.7g, PyTorch %.7g", what, got, want)
		}
	}
	near("loss", loss, g.Loss, 1e-5)
	for _, p := range net.Params() {
		for i, v := range g.Grads[p.Name] {
			near(p.Name+" grad", float64(p.G[i]), v, 1e-4)
		}
	}
	for _, bf := range net.Buffers() {
		for i, v := range g.BuffersAfter[bf.Name] {
			near(bf.Name+" after", float64(bf.Data[i]), v, 1e-5)
		}
	}
	ne := len(g.XEval) / (g.C * g.H * g.W)
	out := net.Forward(g.XEval, ne, false)
	for i, v := range g.EvalLogits {
		near("eval logit", float64(out[i]), v, 1e-5)
	}
	for i, v := range net.Fuse() {
		near("eval fusing weight", float64(v), g.EvalFuse[i], 1e-5)
	}
	if err := net.SetFuse(1); err != nil {
		t.Fatal(err)
	}
	out = net.Forward(g.XEval, ne, false)
	for i, v := range g.EvalLogitsFuse1 {
		near("eval logit (fuse 1)", float64(out[i]), v, 1e-5)
	}
}
