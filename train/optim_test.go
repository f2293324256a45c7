package train

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestOptimizersMatchPyTorch replays testdata/optim_golden.py's gradient
// sequence through each optimizer and compares the trajectory with
// PyTorch's.
func TestOptimizersMatchPyTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/optim_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		W0    []float64              `json:"w0"`
		Cases map[string][][]float64 `json:"cases"`
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	mk := map[string]func() Updater{
		"sgd":             func() Updater { return &SGD{Rate: 0.1} },
		"sgd_momentum_wd": func() Updater { return &SGD{Rate: 0.1, Momentum: 0.9, WeightDecay: 5e-4} },
		"sgd_nesterov":    func() Updater { return &SGD{Rate: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-3} },
		"sgd_dampening":   func() Updater { return &SGD{Rate: 0.05, Momentum: 0.5, Dampening: 0.3} },
		"adam":            func() Updater { return NewAdam(0.01, 1e-2) },
		"adamw":           func() Updater { return NewAdamW(0.01, 1e-1) },
	}
	if len(mk) != len(golden.Cases) {
		t.Fatalf("%d golden cases, %d optimizers under test", len(golden.Cases), len(mk))
	}
	for name, traj := range golden.Cases {
		t.Run(name, func(t *testing.T) {
			u := mk[name]()
			w := make([]float32, len(golden.W0))
			for i, v := range golden.W0 {
				w[i] = float32(v)
			}
			g := make([]float32, len(w))
			for step, want := range traj {
				base := []float64{0.1 * float64(step+1), -0.2, 0.05 * float64(step), 0.3, -0.1}
				for i := range g {
					g[i] = float32(base[i] + 0.5*float64(w[i]))
				}
				u.Update(w, g)
				for i := range w {
					if math.Abs(float64(w[i])-want[i]) > 1e-5 {
						t.Fatalf("step %d: w[%d] = %.7f, PyTorch %.7f", step, i, w[i], want[i])
					}
				}
			}
		})
	}
}

func TestNewSGDRejectsBadHyperparameters(t *testing.T) {
	for _, c := range []struct {
		lr, mom, wd float64
		nesterov    bool
	}{{-1, 0, 0, false}, {0.1, -0.5, 0, false}, {0.1, 0, -1, false}, {0.1, 0, 0, true}, {math.NaN(), 0, 0, false}} {
		if _, err := NewSGD(c.lr, c.mom, c.wd, c.nesterov); err == nil {
			t.Errorf("NewSGD(%v) accepted", c)
		}
	}
	if _, err := NewSGD(0.1, 0.9, 5e-4, true); err != nil {
		t.Errorf("valid SGD rejected: %v", err)
	}
}

func TestSchedules(t *testing.T) {
	cases := []struct {
		name        string
		s           Schedule
		step, total int
		want        float64
	}{
		{"constant", Constant{0.1}, 50, 100, 0.1},
		{"cosine start", Cosine{Base: 0.1}, 0, 100, 0.1},
		{"cosine middle", Cosine{Base: 0.1}, 50, 100, 0.05},
		{"cosine end", Cosine{Base: 0.1}, 100, 100, 0},
		{"cosine min", Cosine{Base: 0.1, Min: 0.01}, 100, 100, 0.01},
		{"cosine warmup", Cosine{Base: 0.1, Warmup: 10}, 4, 110, 0.05},
		{"cosine after warmup", Cosine{Base: 0.1, Warmup: 10}, 10, 110, 0.1},
		{"step before", Step{Base: 1, Gamma: 0.1, Milestones: []float64{0.5, 0.75}}, 49, 100, 1},
		{"step first", Step{Base: 1, Gamma: 0.1, Milestones: []float64{0.5, 0.75}}, 50, 100, 0.1},
		{"step second", Step{Base: 1, Gamma: 0.1, Milestones: []float64{0.5, 0.75}}, 80, 100, 0.01},
	}
	for _, c := range cases {
		if got := c.s.LR(c.step, c.total); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: LR(%d, %d) = %v, want %v", c.name, c.step, c.total, got, c.want)
		}
	}
	if _, err := ParseSchedule("linear", 0.1); err == nil {
		t.Error("unknown schedule accepted")
	}
}
