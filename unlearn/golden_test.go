package unlearn

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
)

// golden holds testdata/golden.json, written by testdata/make_golden.py
// (PyTorch, NumPy, scikit-learn).
type golden struct {
	MIA struct {
		Member, Nonmember []float64
		AUC               float64
	}
	SFRon struct {
		LR, Alpha, Lambda, Gamma, MaxNorm float64 `json:"-"`
		Iters                             int
		XF, XR, Init, Mask, Final         []float64
		YF, YR                            []int
	} `json:"sfron"`
	NatMU struct {
		Delta float64
		Masks [][]float64
	}
}

func loadGolden(t *testing.T) (golden, map[string]float64) {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	var raw struct{ Sfron map[string]any }
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	num := map[string]float64{}
	for _, k := range []string{"lr", "alpha", "lambda", "gamma", "max_norm"} {
		num[k] = raw.Sfron[k].(float64)
	}
	return g, num
}

func TestMIAGolden(t *testing.T) {
	g, _ := loadGolden(t)
	auc, err := MIA(g.MIA.Member, g.MIA.Nonmember)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(auc-g.MIA.AUC) > 1e-12 {
		t.Errorf("MIA AUC %.15f, scikit-learn %.15f", auc, g.MIA.AUC)
	}
}

func f32(v []float64) []float32 {
	o := make([]float32, len(v))
	for i, x := range v {
		o[i] = float32(x)
	}
	return o
}

func TestSFROnGolden(t *testing.T) {
	g, num := loadGolden(t)
	s := g.SFRon
	net, err := nn.New(nn.MLP([]int{1, 4, 4}, []int{8}, 3), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(net.Weights()) != len(s.Init) {
		t.Fatalf("%d weights, PyTorch %d", len(net.Weights()), len(s.Init))
	}
	copy(net.Weights(), f32(s.Init))
	mk := func(x []float64, y []int) *data.Dataset {
		return &data.Dataset{Name: "golden", Shape: []int{1, 4, 4}, X: f32(x), Y: y, Classes: []string{"a", "b", "c"}}
	}
	fs, rs := mk(s.XF, s.YF), mk(s.XR, s.YR)
	ctx := context.Background()
	mask, err := FisherMask(ctx, net, fs, rs, 8, num["gamma"])
	if err != nil {
		t.Fatal(err)
	}
	diff := 0
	for i, m := range mask {
		if float64(m) != s.Mask[i] {
			diff++
		}
	}
	if diff > 0 {
		t.Errorf("Fisher mask differs from PyTorch's in %d of %d entries", diff, len(mask))
	}
	c := SFRConfig{Iters: s.Iters, ForgetFreq: 1, Alpha: num["alpha"], MaxNorm: num["max_norm"], Lambda: num["lambda"], Gamma: num["gamma"]}
	r := rand.New(rand.NewPCG(1, 2))
	if err := sfrLoop(ctx, net, sgd(num["lr"]), newBatcher(fs, 8, r), newBatcher(rs, 8, r), mask, c, nil); err != nil {
		t.Fatal(err)
	}
	var worst, moved float64
	for i, w := range net.Weights() {
		worst = max(worst, math.Abs(float64(w)-s.Final[i]))
		moved = max(moved, math.Abs(s.Final[i]-s.Init[i]))
	}
	if worst > 2e-5 {
		t.Errorf("weights after 2 SFR-on iterations differ from PyTorch's by up to %g (the step moved them up to %g)", worst, moved)
	}
	if moved < 1e-3 {
		t.Errorf("the golden step moved the weights by only %g: the test would not see a wrong update", moved)
	}
}

func TestBlendMasksGolden(t *testing.T) {
	g, _ := loadGolden(t)
	m := BlendMasks(28, 28, g.NatMU.Delta)
	for k := range m {
		for i, v := range m[k] {
			if math.Abs(float64(v)-g.NatMU.Masks[k][i]) > 1e-6 {
				t.Fatalf("mask %d pixel %d: %g, reference %g", k, i, v, g.NatMU.Masks[k][i])
			}
		}
	}
}

func TestEntropyMIAGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		EntropyMIA struct {
			Retain, Test, Forget []float64
			MemberFraction       float64 `json:"member_fraction"`
			Threshold            float64
		} `json:"entropy_mia"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	e := g.EntropyMIA
	if e.MemberFraction == 0 {
		t.Fatal("golden.json lacks entropy_mia.member_fraction")
	}
	w, c, err := entropyLR(e.Retain, e.Test)
	if err != nil {
		t.Fatal(err)
	}
	if th := -c / w; math.Abs(th-e.Threshold) > 1e-6 {
		t.Errorf("decision threshold %.10f, scikit-learn %.10f", th, e.Threshold)
	}
	f, err := EntropyMIA(e.Retain, e.Test, e.Forget)
	if err != nil || f != e.MemberFraction {
		t.Errorf("EntropyMIA = %v, %v; scikit-learn %v", f, err, e.MemberFraction)
	}
}
