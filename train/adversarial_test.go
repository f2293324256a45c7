package train

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
)

// TestTRADESLossMatchesPyTorch replays testdata/trades_golden.py: the
// official TRADES loss (cross-entropy plus β/n · KLDivLoss(sum)) and its
// gradients with respect to the clean and the adversarial logits.
func TestTRADESLossMatchesPyTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/trades_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Cases []struct {
			N, K   int
			Beta   float64
			Z, A   []float32
			Y      []int
			Loss   float64
			DZ, DA []float64
		}
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	for ci, c := range golden.Cases {
		dz, da := make([]float32, c.N*c.K), make([]float32, c.N*c.K)
		loss, _ := tradesLoss(c.Z, c.A, c.Y, c.K, c.Beta, dz, da)
		if math.Abs(loss-c.Loss) > 1e-6*math.Max(1, math.Abs(c.Loss)) {
			t.Errorf("case %d: loss %.9g, PyTorch %.9g", ci, loss, c.Loss)
		}
		for i := range dz {
			if math.Abs(float64(dz[i])-c.DZ[i]) > 1e-6 || math.Abs(float64(da[i])-c.DA[i]) > 1e-6 {
				t.Fatalf("case %d index %d: dz %.8g da %.8g, PyTorch %.8g %.8g", ci, i, dz[i], da[i], c.DZ[i], c.DA[i])
			}
		}
	}
}

func TestDetectCO(t *testing.T) {
	ep := func(e int, pgd, fgsm float64) RobustEpoch {
		return RobustEpoch{Epoch: e, Clean: 0.8, PGD: pgd, FGSM: fgsm}
	}
	cases := []struct {
		name string
		hist []RobustEpoch
		want int
	}{
		{"none", nil, 0},
		{"steady progress", []RobustEpoch{ep(0, 0, 0), ep(1, 0.3, 0.4), ep(2, 0.4, 0.5), ep(3, 0.42, 0.52)}, 0},
		{"collapse while FGSM rises", []RobustEpoch{ep(0, 0, 0), ep(1, 0.3, 0.4), ep(2, 0.45, 0.55), ep(3, 0.02, 0.85), ep(4, 0, 0.9)}, 3},
		{"collapse at a low level", []RobustEpoch{ep(0, 0, 0), ep(1, 0.15, 0.46), ep(2, 0.07, 0.57), ep(3, 0.05, 0.67)}, 3},
		{"robust overfitting, both fall", []RobustEpoch{ep(0, 0, 0), ep(1, 0.45, 0.55), ep(2, 0.2, 0.3), ep(3, 0.1, 0.2)}, 0},
		{"noise on PGD", []RobustEpoch{ep(0, 0, 0), ep(1, 0.4, 0.5), ep(2, 0.36, 0.5), ep(3, 0.41, 0.52)}, 0},
		{"overfit from the start: FGSM above clean", []RobustEpoch{ep(0, 0, 0), ep(1, 0, 0.6), ep(2, 0, 0.85)}, 2},
		{"FGSM above clean, PGD close behind", []RobustEpoch{ep(0, 0, 0), ep(1, 0.7, 0.82)}, 0},
	}
	for _, c := range cases {
		if got := DetectCO(c.hist, 0.2); got != c.want {
			t.Errorf("%s: DetectCO = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestAdversarialValidate(t *testing.T) {
	cases := []struct {
		a    Adversarial
		want string
	}{
		{Adversarial{Method: "fgsm", Eps: 0.1}, ""},
		{Adversarial{Method: "TRADES", Eps: 8.0 / 255, Beta: 1}, ""},
		{Adversarial{Method: "cw", Eps: 0.1}, "unknown --adversarial"},
		{Adversarial{Method: "pgd", Eps: 0}, "--eps 0 outside (0, 1]"},
		{Adversarial{Method: "pgd", Eps: 8}, "--eps 8 outside (0, 1]"},
		{Adversarial{Method: "pgd", Eps: math.NaN()}, "--eps NaN"},
		{Adversarial{Method: "pgd", Eps: 0.1, Steps: -1}, "--adv-steps"},
		{Adversarial{Method: "pgd", Eps: 0.1, Alpha: -0.1}, "--alpha"},
		{Adversarial{Method: "trades", Eps: 0.1, Beta: math.Inf(1)}, "--beta"},
	}
	for _, c := range cases {
		err := c.a.Validate()
		if c.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", c.a, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one containing %q", c.a, err, c.want)
		}
	}
	for m, want := range map[string]string{"fgsm": "fgsm ε=0.1 α=0.1", "fgsm-rs": "fgsm-rs ε=0.1 α=0.125", "pgd": "pgd ε=0.1 α=0.025 steps=10", "trades": "trades ε=0.1 α=0.025 steps=10 β=6"} {
		if got := (Adversarial{Method: m, Eps: 0.1}).String(); got != want {
			t.Errorf("%s: %q, want %q", m, got, want)
		}
	}
}

// robustToy is a two-class problem in [0, 1]^d: feature 0 separates the
// classes with a gap of 0.2 (robust at ε = 0.08); the other d−1 features
// are each shifted by only ±0.05 toward the class, so together they
// predict the class well but an ε = 0.08 perturbation reverses all of
// them.
// fashionHead returns the first n embedded Fashion-MNIST training images
// and the first m test images.
func fashionHead(t testing.TB, n, m int) (*data.Dataset, *data.Dataset) {
	tr, err := data.Open(data.DefaultName, data.Train, "")
	if err != nil {
		t.Fatal(err)
	}
	te, err := data.Open(data.DefaultName, data.Test, "")
	if err != nil {
		t.Fatal(err)
	}
	return tr.Head(n), te.Head(m)
}

func smallMLP(t testing.TB) *nn.Network {
	net, err := nn.New(nn.MLP([]int{1, 28, 28}, []int{64}, 10), 3)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// TestAdversarialTrainingRaisesPGDAccuracy trains the same MLP on 1,024
// Fashion-MNIST images plainly and with each adversarial method at
// ε = 0.1: every method must raise the PGD-10 accuracy on held-out images
// by at least 10 points over plain training (measured: plain 14%,
// adversarial 27–45%).
func TestAdversarialTrainingRaisesPGDAccuracy(t *testing.T) {
	const eps = 0.1
	tr, te := fashionHead(t, 1024, 200)
	ctx := context.Background()
	fit := func(adv *Adversarial) RobustEpoch {
		net := smallMLP(t)
		sgd, _ := NewSGD(0.05, 0.9, 0, false)
		cfg := Config{Epochs: 10, BatchSize: 64, Seed: 1, Optimizer: sgd}
		if adv != nil {
			o, err := NewAdversarialObjective(*adv)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Objective = o
		}
		if _, err := Fit(ctx, net, tr.X, tr.Y, cfg); err != nil {
			t.Fatal(err)
		}
		r, err := EvalRobust(ctx, net, te.X, te.Y, eps, 10, 1)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	plain := fit(nil)
	t.Logf("plain: clean %.3f FGSM %.3f PGD %.3f", plain.Clean, plain.FGSM, plain.PGD)
	if plain.Clean < 0.7 || plain.PGD > 0.25 {
		t.Fatalf("plain training should be accurate and not robust: %+v", plain)
	}
	for _, m := range AdversarialMethods {
		r := fit(&Adversarial{Method: m, Eps: eps, Steps: 2, Seed: 1})
		t.Logf("%s: clean %.3f FGSM %.3f PGD %.3f", m, r.Clean, r.FGSM, r.PGD)
		if r.PGD < plain.PGD+0.1 {
			t.Errorf("%s: PGD accuracy %.3f, plain training %.3f: adversarial training should add ≥ 0.1", m, r.PGD, plain.PGD)
		}
	}
}

// TestTRADESAttackStaysInBall checks the TRADES inner maximisation: inside
// the ε-box and [0, 1], and it raises the KL divergence above the random
// start's.
func TestTRADESAttackStaysInBall(t *testing.T) {
	const eps = 0.1
	tr, _ := fashionHead(t, 64, 1)
	x, y := tr.X, tr.Y
	net := smallMLP(t)
	o, err := NewAdversarialObjective(Adversarial{Method: "trades", Eps: eps, Steps: 5})
	if err != nil {
		t.Fatal(err)
	}
	o.adv = make([]float32, len(x))
	if err := o.tradesAttack(context.Background(), net, x, len(y), 10); err != nil {
		t.Fatal(err)
	}
	moved := 0
	for j, v := range o.adv {
		if v < 0 || v > 1 || math.Abs(float64(v-x[j])) > eps+1e-6 {
			t.Fatalf("value %d: %v from %v, outside the ε-box or [0, 1]", j, v, x[j])
		}
		if math.Abs(float64(v-x[j])) > eps/2 {
			moved++
		}
	}
	if moved < len(x)/2 {
		t.Errorf("only %d of %d values moved by more than ε/2 in 5 steps of 2.5ε/5", moved, len(x))
	}
}

// TestRunAdversarial runs "trustml train --adversarial" on a few embedded
// images: the robust history has one entry per epoch and epoch 0, and the
// checkpoint metadata names the method.
func TestRunAdversarial(t *testing.T) {
	tr, te := fashionHead(t, 256, 64)
	out := t.TempDir() + "/m.ckpt"
	cfg := RunConfig{Train: tr, Test: te, Arch: "mlp", Optimizer: "sgd", OptimizerConfig: DefaultOptimizerConfig(),
		Schedule: "constant", Epochs: 2, BatchSize: 64, Seed: 1, Out: out, Holdout: 0.25, HoldoutSeed: 1,
		Adversarial: Adversarial{Method: "fgsm-rs", Eps: 0.1}, RobustEval: RobustEval{N: 32, PGDSteps: 3, Plot: t.TempDir() + "/curves.png"}}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Robust) != 3 || res.Robust[2].Epoch != 2 || res.Robust[0].N != 32 {
		t.Fatalf("robust history %+v", res.Robust)
	}
	for _, r := range res.Robust {
		if r.PGD > r.FGSM+0.2 || r.PGD > r.Clean+1e-9 && r.Epoch > 0 {
			t.Errorf("epoch %d: PGD accuracy %.3f above clean %.3f", r.Epoch, r.PGD, r.Clean)
		}
	}
	if _, err := os.Stat(cfg.RobustEval.Plot); err != nil {
		t.Errorf("no plot: %v", err)
	}
	_, meta, err := nn.LoadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(meta["adversarial"], "fgsm-rs ε=0.1") {
		t.Errorf("metadata adversarial = %q", meta["adversarial"])
	}
	bad := cfg
	bad.Adversarial = Adversarial{Method: "fgsm", Eps: 2}
	if _, err := Run(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "--eps") {
		t.Errorf("ε = 2: error %v", err)
	}
}

// TestRunSubAT runs Sub-AT at a tiny size: 1 + 2·epochs samples, the
// subspace model differs from w₀ only inside the span of the samples'
// principal directions, and bad settings are named.
func TestRunSubAT(t *testing.T) {
	tr, te := fashionHead(t, 256, 64)
	cfg := RunConfig{Train: tr, Test: te, Arch: "mlp", Optimizer: "sgd", OptimizerConfig: DefaultOptimizerConfig(),
		Schedule: "constant", Epochs: 2, BatchSize: 64, Seed: 1, Holdout: 0.25, HoldoutSeed: 1,
		Adversarial: Adversarial{Method: "fgsm", Eps: 0.1}, RobustEval: RobustEval{N: 32, PGDSteps: 2}, AdversarialSubspace: 3, SubspaceEpochs: 1}
	net0, err := nn.New(mustSpec(t, "mlp", tr), cfg.Seed)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := res.SubAT
	if s == nil || s.Samples != 5 || s.Dim != 3 || len(s.Robust) != 3 || len(res.Robust) != 2 || s.Net == nil {
		t.Fatalf("Sub-AT result %+v, robust %+v", s, res.Robust)
	}
	if !(s.ExplainedVariance > 0 && s.ExplainedVariance <= 1+1e-9) {
		t.Errorf("explained variance %v", s.ExplainedVariance)
	}
	// The subspace model restarted from w₀ and moved, and it is not the
	// sampling run's model.
	var moved, other float64
	for i, v := range res.Net.Weights() {
		d, e := float64(v-net0.Weights()[i]), float64(v-s.Net.Weights()[i])
		moved, other = moved+d*d, other+e*e
	}
	if moved == 0 || other == 0 {
		t.Errorf("‖w − w₀‖² = %g, ‖w − w_sampling‖² = %g: both must be positive", moved, other)
	}
	for _, c := range []struct {
		mod  func(*RunConfig)
		want string
	}{
		{func(c *RunConfig) { c.Adversarial = Adversarial{} }, "needs --adversarial"},
		{func(c *RunConfig) { c.AdversarialSubspace = 5 }, "needs at least 6 samples"},
		{func(c *RunConfig) { c.Steps = 4 }, "not --steps"},
	} {
		bad := cfg
		c.mod(&bad)
		if _, err := Run(context.Background(), bad); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

func mustSpec(t *testing.T, arch string, d *data.Dataset) nn.Spec {
	s, err := nn.SpecFor(arch, d.Shape, len(d.Classes))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
