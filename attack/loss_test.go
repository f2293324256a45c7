package attack

import (
	"encoding/json"
	"math"
	"testing"
)

func TestLossHand(t *testing.T) {
	// z = (1, 3, 2): log Σ e^z = 3 + log(1 + e^-1 + e^-2) = 3.40760596444438.
	z := []float32{1, 3, 2}
	const lse = 3.40760596444438
	cases := []struct {
		loss     Loss
		label    int
		targeted bool
		want     float64
	}{
		{LossMargin, 0, false, 1 - 3},           // z_0 − max(z_1, z_2)
		{LossMargin, 1, false, 3 - 2},           // the label is the argmax
		{LossMargin, 2, true, -(2 - 3)},         // target 2: max_{j≠2} z_j − z_2
		{LossDefault, 0, false, -2},             // LossDefault evaluates as margin
		{LossCE, 0, false, 1 - lse},             // log p_0
		{LossCE, 2, true, -(2 - lse)},           // −log p_2
		{LossProb, 0, false, math.Exp(1 - lse)}, // p_0 = 0.0900305731703805
		{LossProb, 2, true, -math.Exp(2 - lse)}, // −p_2 = −0.244728471054798
	}
	for _, c := range cases {
		if got := c.loss.Value(z, c.label, c.targeted); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%v.Value(z, %d, %v) = %.15g, want %.15g", c.loss, c.label, c.targeted, got, c.want)
		}
	}
	if got := Margin(z, 1); got != 1 {
		t.Errorf("Margin(z, 1) = %v, want 1", got)
	}
	if p := math.Exp(1 - lse); math.Abs(p-0.09003057317038048) > 1e-15 {
		t.Fatalf("hand value of p_0 = %v", p)
	}
	// Margin gradient: +1 on the label, −1 on the runner-up.
	dz := make([]float32, 3)
	LossMargin.Grad(dz, z, 0, false)
	if dz[0] != 1 || dz[1] != -1 || dz[2] != 0 {
		t.Errorf("margin gradient %v, want [1 -1 0]", dz)
	}
	LossMargin.Grad(dz, z, 2, true)
	if dz[2] != -1 || dz[1] != 1 || dz[0] != 0 {
		t.Errorf("targeted margin gradient %v, want [0 1 -1]", dz)
	}
}

// TestLossGradFiniteDifference checks Grad against central differences of
// Value for the smooth losses.
func TestLossGradFiniteDifference(t *testing.T) {
	rng := seeded(4)
	for _, l := range []Loss{LossCE, LossProb, LossMargin} {
		for trial := range 20 {
			k := 2 + trial%6
			z := make([]float32, k)
			for j := range z {
				z[j] = float32(rng.NormFloat64() * 2)
			}
			label := rng.IntN(k)
			targeted := trial%2 == 1
			dz := make([]float32, k)
			l.Grad(dz, z, label, targeted)
			for j := range z {
				const h = 1e-2
				zp := append([]float32(nil), z...)
				zm := append([]float32(nil), z...)
				zp[j] += h
				zm[j] -= h
				fd := (l.Value(zp, label, targeted) - l.Value(zm, label, targeted)) / (float64(zp[j]) - float64(zm[j]))
				if math.Abs(fd-float64(dz[j])) > 2e-3 {
					// The margin is piecewise linear; skip kinks.
					if l == LossMargin {
						continue
					}
					t.Errorf("%v k=%d label=%d targeted=%v: dz[%d] = %v, finite difference %v", l, k, label, targeted, j, dz[j], fd)
				}
			}
		}
	}
}

func TestLossFuncMean(t *testing.T) {
	logits := []float32{1, 3, 2, 0, -1, 4}
	labels := []int{0, 2}
	f := LossCE.Func(labels, false)
	dl := make([]float32, 6)
	got := f(logits, dl, 2, 3)
	want := (LossCE.Value(logits[:3], 0, false) + LossCE.Value(logits[3:], 2, false)) / 2
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("Func = %v, want mean %v", got, want)
	}
	dz := make([]float32, 3)
	LossCE.Grad(dz, logits[:3], 0, false)
	for j := range dz {
		if math.Abs(float64(dl[j]-dz[j]/2)) > 1e-7 {
			t.Errorf("Func gradient[%d] = %v, want %v", j, dl[j], dz[j]/2)
		}
	}
}

func TestLossAndNormText(t *testing.T) {
	type s struct {
		N Norm `json:"n"`
		L Loss `json:"l"`
	}
	b, err := json.Marshal(s{L2, LossCE})
	if err != nil || string(b) != `{"n":"l2","l":"ce"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var v s
	if err := json.Unmarshal([]byte(`{"n":"linf","l":"prob"}`), &v); err != nil || v.N != LInf || v.L != LossProb {
		t.Fatalf("Unmarshal = %+v, %v", v, err)
	}
	if err := json.Unmarshal([]byte(`{"n":"l3"}`), &v); err == nil {
		t.Error("norm l3 accepted")
	}
	if _, err := ParseLoss("hinge"); err == nil {
		t.Error("loss hinge accepted")
	}
}
