package train

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
)

func TestAFAValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  AFA
		want string // "" = valid
	}{
		{"defaults", AFA{Eps: 0.1}, ""},
		{"eps 1", AFA{Eps: 1, Steps: 3, Lambda: 2, FullProb: 1}, ""},
		{"eps 0", AFA{}, "outside (0, 1]"},
		{"eps above 1", AFA{Eps: 8}, "outside (0, 1]"},
		{"eps NaN", AFA{Eps: math.NaN()}, "outside (0, 1]"},
		{"negative steps", AFA{Eps: 0.1, Steps: -1}, "steps"},
		{"negative lambda", AFA{Eps: 0.1, Lambda: -1}, "lambda"},
		{"infinite lambda", AFA{Eps: 0.1, Lambda: math.Inf(1)}, "lambda"},
		{"probability above 1", AFA{Eps: 0.1, FullProb: 1.5}, "probability"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if _, err := NewAFAObjective(tc.cfg); err == nil {
				t.Error("NewAFAObjective accepted it")
			}
		})
	}
	if s := (AFA{Eps: 0.1}).String(); s != "afa ε=0.1 steps=10 λ=1 p_full=0.5" {
		t.Errorf("String() = %q", s)
	}
}

// TestAFANeedsDualBN: the objective refuses a network without dual batch
// norms, and RunAFA an architecture without batch norm.
func TestAFANeedsDualBN(t *testing.T) {
	o, err := NewAFAObjective(AFA{Eps: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(nn.MLP([]int{4}, []int{3}, 2), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.BatchLoss(context.Background(), net, make([]float32, 8), []int{0, 1}, true); err == nil || !strings.Contains(err.Error(), "dual batch norm") {
		t.Errorf("BatchLoss on an MLP: %v", err)
	}
	tr, err := data.Open(data.DefaultName, data.Train, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = RunAFA(context.Background(), AFARunConfig{Train: tr.Head(20), Test: tr.Head(10), Arch: "mlp", AFA: AFA{Eps: 0.1},
		OptimizerConfig: DefaultOptimizerConfig(), Schedule: "constant", Epochs: 1, BatchSize: 10})
	if err == nil || !strings.Contains(err.Error(), "batch norm") {
		t.Errorf("RunAFA on mlp: %v", err)
	}
	if _, err := RunAFA(context.Background(), AFARunConfig{Train: tr.Head(20), Test: tr.Head(10), Arch: "cnn-small", AFA: AFA{Eps: 2}, Epochs: 1}); err == nil {
		t.Error("RunAFA accepted ε = 2")
	}
}

// TestAFABatchLoss: one step's loss is finite, the adversarial examples
// stay in the ε-box and [0, 1], and the parameters get a gradient.
func TestAFABatchLoss(t *testing.T) {
	spec := nn.WithDualBN(nn.CNN([]int{1, 6, 6}, 3, nn.CNNOptions{Width: 2, Hidden: 4, BatchNorm: true}))
	net, err := nn.New(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewAFAObjective(AFA{Eps: 0.1, Steps: 2, FullProb: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 4*36)
	for i := range x {
		x[i] = float32(i%7) / 6
	}
	y := []int{0, 1, 2, 0}
	loss, _, err := o.BatchLoss(context.Background(), net, x, y, true)
	if err != nil || math.IsNaN(loss) || loss <= 0 {
		t.Fatalf("loss %v, err %v", loss, err)
	}
	if o.s != 1 {
		t.Errorf("strength %v with FullProb 1", o.s)
	}
	for i, v := range o.adv {
		if v < 0 || v > 1 || math.Abs(float64(v-x[i])) > 0.1+1e-6 {
			t.Fatalf("adv[%d] = %v, clean %v", i, v, x[i])
		}
	}
	var g float64
	for _, v := range net.Grads() {
		g += math.Abs(float64(v))
	}
	if g == 0 {
		t.Error("no gradient")
	}
}
