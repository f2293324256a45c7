package train

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/trustml/trustml/nn"
)

// someGolden is train/testdata/some_loss.json, written by some_loss.py
// with PyTorch autograd.
type someGolden struct {
	Heads, Copies, N, K int
	Lambda              float64
	Z                   []float32
	Y                   []int
	Loss                float64
	HeadLoss            []float64 `json:"head_loss"`
	DZ                  []float64 `json:"dz"`
	WeightsEasy         int       `json:"weights_easy"`
	Theta               [][]float64
	Orth                float64
	DTheta              [][]float64 `json:"dtheta"`
	Scheduler           [][]float64
}

func TestSOMELossMatchesPyTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/some_loss.json")
	if err != nil {
		t.Fatal(err)
	}
	var g someGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if g.WeightsEasy == 0 || g.WeightsEasy == g.Heads*g.N {
		t.Fatalf("golden case has %d easy of %d: both branches of the weight must occur", g.WeightsEasy, g.Heads*g.N)
	}
	dz := make([]float32, len(g.Z))
	loss, heads := SOMELoss(dz, g.Z, g.Y, g.Heads, g.Copies, g.K, g.Lambda)
	if math.Abs(loss-g.Loss) > 1e-5 {
		t.Errorf("loss %.8g, PyTorch %.8g", loss, g.Loss)
	}
	for h := range heads {
		if math.Abs(heads[h]-g.HeadLoss[h]) > 1e-5 {
			t.Errorf("head %d loss %.8g, PyTorch %.8g", h, heads[h], g.HeadLoss[h])
		}
	}
	for i := range dz {
		if math.Abs(float64(dz[i])-g.DZ[i]) > 1e-6 {
			t.Fatalf("dz[%d] = %.8g, PyTorch %.8g", i, dz[i], g.DZ[i])
		}
	}

	// orthogonality: the head vectors laid out one after another
	var w []float32
	var spans [][]nn.Span
	for _, th := range g.Theta {
		spans = append(spans, []nn.Span{{Off: len(w), Len: len(th)}})
		for _, v := range th {
			w = append(w, float32(v))
		}
	}
	grad := make([]float32, len(w))
	orth := HeadOrthogonality(grad, w, spans, 2)
	if math.Abs(orth-g.Orth) > 1e-5 {
		t.Errorf("orthogonality %.8g, PyTorch %.8g", orth, g.Orth)
	}
	i := 0
	for h, d := range g.DTheta {
		for j, v := range d {
			if math.Abs(float64(grad[i])-2*v) > 1e-5 {
				t.Fatalf("head %d: gradient %d = %.8g, want 2 × PyTorch %.8g", h, j, grad[i], v)
			}
			i++
		}
	}
	for _, s := range g.Scheduler {
		if got := SOMELambda(int(s[0]), int(s[1]), int(s[2]), s[3]); math.Abs(got-s[4]) > 1e-12 {
			t.Errorf("λ(epoch %g of %g, %g classes, last %g) = %.12g, official %.12g", s[0], s[1], s[2], s[3], got, s[4])
		}
	}
}

func TestSOMEValidate(t *testing.T) {
	for _, c := range []struct {
		s     SOME
		sigma float64
		want  string
	}{
		{SOME{Heads: 1}, 0.25, "--some-heads 1"},
		{SOME{Heads: 3}, 0, "--noise-sigma 0"},
		{SOME{Heads: 3}, math.NaN(), "--noise-sigma NaN"},
		{SOME{Heads: 3, Noises: -1}, 0.25, "--some-noises -1"},
		{SOME{Heads: 3, LambdaLast: -1}, 0.25, "--some-lambda-last -1"},
		{SOME{Heads: 3, Orth: math.Inf(1)}, 0.25, "--some-orth"},
	} {
		if err := c.s.Validate(c.sigma); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v σ=%g: %v, want %q", c.s, c.sigma, err, c.want)
		}
	}
	if err := (SOME{}).Validate(0); err != nil {
		t.Errorf("SOME off: %v", err)
	}
}

// TestRunSOME trains a 3-head MLP with SOME for four epochs: the
// checkpoint is multi-head, records SOME, the test accuracy is well above
// chance, and the orthogonality penalty was computed.
func TestRunSOME(t *testing.T) {
	tr, te := fashionHead(t, 512, 200)
	out := t.TempDir() + "/some.ckpt"
	oc := DefaultOptimizerConfig()
	oc.LR = 0.1
	cfg := RunConfig{Train: tr, Test: te, Arch: "mlp", Optimizer: "sgd", OptimizerConfig: oc,
		Schedule: "constant", Epochs: 4, BatchSize: 32, Seed: 1, Out: out,
		Augment: Augment{NoiseSigma: 0.25}, SOME: SOME{Heads: 3}}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Net.NumHeads() != 3 {
		t.Fatalf("trained network has %d heads", res.Net.NumHeads())
	}
	if res.Test.Accuracy < 0.4 {
		t.Errorf("test accuracy %.3f after SOME training", res.Test.Accuracy)
	}
	back, meta, err := nn.LoadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if back.NumHeads() != 3 || !strings.HasPrefix(meta["some"], "3 heads, 2 noisy copies, λ_last 1.2") {
		t.Errorf("checkpoint: %d heads, some=%q", back.NumHeads(), meta["some"])
	}
	bad := cfg
	bad.Augment.NoiseSigma = 0
	if _, err := Run(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "--noise-sigma") {
		t.Errorf("SOME without noise: %v", err)
	}
	bad = cfg
	bad.LabelSmoothing = 0.1
	if _, err := Run(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "--label-smoothing") {
		t.Errorf("SOME with label smoothing: %v", err)
	}
	bad = cfg
	bad.Adversarial = Adversarial{Method: "fgsm", Eps: 0.1}
	if _, err := Run(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "--adversarial") {
		t.Errorf("SOME with adversarial training: %v", err)
	}
}

// TestSOMEObjectiveDiversifies checks what the penalty is for: a step of
// the objective with the orthogonality weight lowers Σ cos² of heads that
// start out aligned.
func TestSOMEObjectiveDiversifies(t *testing.T) {
	spec, err := nn.MultiHead(nn.MLP([]int{1, 4, 4}, []int{8}, 3), 2)
	if err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	spans, err := net.HeadSpans()
	if err != nil {
		t.Fatal(err)
	}
	w := net.Weights()
	for i, s := range spans[0] { // head 1 := head 0 + a little: cos ≈ 1
		for j := 0; j < s.Len; j++ {
			w[spans[1][i].Off+j] = w[s.Off+j] * 1.01
		}
	}
	obj, err := NewSOMEObjective(SOME{Heads: 2, Orth: 1}, 0.25, 1, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 4*16)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	y := []int{0, 1, 2, 0}
	net.ZeroGrad()
	if _, _, err := obj.BatchLoss(context.Background(), net, x, y, true); err != nil {
		t.Fatal(err)
	}
	before := obj.Orthogonality
	if before < 0.9 {
		t.Fatalf("aligned heads: Σ cos² = %g", before)
	}
	g := net.Grads()
	for i := range w {
		w[i] -= 0.5 * g[i]
	}
	after := HeadOrthogonality(make([]float32, len(w)), w, spans, 0)
	if !(after < before) {
		t.Errorf("a gradient step moved Σ cos² from %g to %g", before, after)
	}
	if _, _, err := obj.BatchLoss(context.Background(), &nn.Network{}, x, y, true); err == nil {
		t.Error("a network that is not multi-head was accepted")
	}
}
