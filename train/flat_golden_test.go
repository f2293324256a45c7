package train

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestSAMFamilyMatchesPyTorch replays testdata/flat_golden.py: the reference
// SAM and the official FriendlySAM around PyTorch's SGD and AdamW, on a
// quadratic whose linear term changes every step.
func TestSAMFamilyMatchesPyTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/flat_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		A     []float32              `json:"a"`
		W0    []float32              `json:"w0"`
		Cases map[string][][]float64 `json:"cases"`
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	sgd := func() Updater { s, _ := NewSGD(0.05, 0.9, 1e-3, false); return s }
	mk := map[string]func() (Optimizer, error){
		"sam":        func() (Optimizer, error) { return NewSAM(sgd(), 0.2, false) },
		"asam":       func() (Optimizer, error) { return NewSAM(sgd(), 0.5, true) },
		"fsam":       func() (Optimizer, error) { return NewFSAM(sgd(), 0.2, 1, 0.6) },
		"fsam_adamw": func() (Optimizer, error) { return NewFSAM(NewAdamW(0.01, 0.1), 0.1, 0.8, 0.95) },
	}
	if len(mk) != len(golden.Cases) {
		t.Fatalf("%d golden cases, %d under test", len(golden.Cases), len(mk))
	}
	for name, traj := range golden.Cases {
		t.Run(name, func(t *testing.T) {
			o, err := mk[name]()
			if err != nil {
				t.Fatal(err)
			}
			q := newQuad(golden.A, golden.W0)
			for step, want := range traj {
				q.batch(step)
				if _, err := o.Step(q, q.closure()); err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if math.Abs(float64(q.w[i])-want[i]) > 1e-5 {
						t.Fatalf("step %d: w[%d] = %.7f, PyTorch %.7f", step, i, q.w[i], want[i])
					}
				}
			}
		})
	}
}
