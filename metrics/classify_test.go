package metrics

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

func TestEvaluateGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/classify_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		K             int       `json:"k"`
		Logits        []float32 `json:"logits"`
		Labels        []int     `json:"labels"`
		Accuracy, NLL float64
		ECE           float64 `json:"ece"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		m, err := Evaluate(c.Logits, c.Labels, c.K)
		if err != nil {
			t.Fatal(err)
		}
		if m.Accuracy != c.Accuracy || math.Abs(m.NLL-c.NLL) > 1e-5 || math.Abs(m.ECE-c.ECE) > 1e-6 {
			t.Errorf("case %d: got %+v, want accuracy %v nll %v ece %v", i, m, c.Accuracy, c.NLL, c.ECE)
		}
		probs := make([]float32, len(c.Logits))
		Softmax(probs, c.Logits, c.K)
		e, err := ECE(probs, c.Labels, c.K)
		if err != nil || math.Abs(e-c.ECE) > 1e-5 {
			t.Errorf("case %d: ECE from probabilities %v (err %v), want %v", i, e, err, c.ECE)
		}
	}
}

func TestEvaluateErrors(t *testing.T) {
	cases := []struct {
		name   string
		logits []float32
		labels []int
		k      int
	}{
		{"length", []float32{1, 2, 3}, []int{0, 1}, 2},
		{"label range", []float32{1, 2}, []int{2}, 2},
		{"negative label", []float32{1, 2}, []int{-1}, 2},
		{"nan", []float32{float32(math.NaN()), 2}, []int{0}, 2},
		{"empty", nil, nil, 2},
		{"zero classes", nil, nil, 0},
	}
	for _, c := range cases {
		if _, err := Evaluate(c.logits, c.labels, c.k); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// TestECEPerfectCalibration: when every sample's confidence equals its
// bin's accuracy, ECE is zero; when a confident model is always wrong, ECE
// is its confidence.
func TestECEExtremes(t *testing.T) {
	probs := []float32{0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1,
		0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.1, 0.9}
	labels := []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // 9 of 10 predictions right at confidence 0.9
	labels[9] = 0
	if e, _ := ECE(probs, labels, 2); math.Abs(e) > 1e-6 {
		t.Errorf("calibrated ECE = %v, want 0", e)
	}
	wrong := []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
	wrong[9] = 0
	if e, _ := ECE(probs, wrong, 2); math.Abs(e-0.9) > 1e-6 {
		t.Errorf("always-wrong ECE = %v, want 0.9", e)
	}
}

func TestArgmaxFirstOnTies(t *testing.T) {
	for _, c := range []struct {
		row  []float32
		want int
	}{{[]float32{1, 3, 3}, 1}, {[]float32{5}, 0}, {[]float32{-1, -2}, 0}} {
		if got := Argmax(c.row); got != c.want {
			t.Errorf("Argmax(%v) = %d, want %d", c.row, got, c.want)
		}
	}
}

func TestReliabilityMatchesECE(t *testing.T) {
	conf := []float64{0.95, 0.9, 0.55, 0.52, 0.3, 0.99, 0.0}
	hit := []bool{true, false, true, false, false, true, true}
	bins := Reliability(conf, hit)
	var e float64
	var n int
	for _, b := range bins {
		n += b.Count
		e += float64(b.Count) / float64(len(conf)) * math.Abs(b.Accuracy-b.Confidence)
	}
	if n != 6 {
		t.Errorf("%d samples binned, want 6 (confidence 0 falls in no bin)", n)
	}
	if want := ece(conf, hit, ECEBins); math.Abs(e-want) > 1e-12 {
		t.Errorf("ECE from bins %v, ece() %v", e, want)
	}
}
