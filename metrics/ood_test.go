package metrics

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

type goldenSide struct {
	FPR, TPR, Thresholds []float64
	AUROC, AUPR, FPR95   float64
}

type goldenCase struct {
	Name    string
	ID, OoD []float64
	In, Out goldenSide
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*(1+math.Abs(b)) }

func nearSlice(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !near(got[i], want[i]) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestMetricsGolden compares with scikit-learn 1.2.1 (testdata/ood_golden.py).
func TestMetricsGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/ood_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Cases []goldenCase }
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			for _, side := range []struct {
				pos  Positive
				want goldenSide
			}{{InPositive, c.In}, {OutPositive, c.Out}} {
				r, err := NewROC(c.ID, c.OoD, side.pos)
				if err != nil {
					t.Fatal(err)
				}
				nearSlice(t, side.pos.String()+" fpr", r.FPR, side.want.FPR)
				nearSlice(t, side.pos.String()+" tpr", r.TPR, side.want.TPR)
				nearSlice(t, side.pos.String()+" thresholds", r.Thresholds, side.want.Thresholds)
				for _, m := range []struct {
					name string
					f    func([]float64, []float64, Positive) (float64, error)
					want float64
				}{{"auroc", AUROC, side.want.AUROC}, {"aupr", AUPR, side.want.AUPR}, {"fpr95", FPR95, side.want.FPR95}} {
					got, err := m.f(c.ID, c.OoD, side.pos)
					if err != nil {
						t.Fatal(err)
					}
					if !near(got, m.want) {
						t.Errorf("%s %s = %v, want %v", side.pos, m.name, got, m.want)
					}
				}
			}
			m, err := EvaluateOoD(c.ID, c.OoD)
			if err != nil {
				t.Fatal(err)
			}
			if !near(m.AUROC, c.In.AUROC) || !near(m.AUPRIn, c.In.AUPR) || !near(m.AUPROut, c.Out.AUPR) || !near(m.FPR95, c.In.FPR95) {
				t.Errorf("Evaluate = %+v, golden in %+v out %+v", m, c.In, c.Out)
			}
		})
	}
}

func TestMetricsProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		n, m := 5+rng.IntN(50), 5+rng.IntN(50)
		id, od := make([]float64, n), make([]float64, m)
		for i := range id {
			id[i] = 10 + rng.Float64()
		}
		for i := range od {
			od[i] = rng.Float64()
		}
		// A perfect separator.
		got, err := EvaluateOoD(id, od)
		if err != nil {
			t.Fatal(err)
		}
		if got != (OoD{FPR95: 0, AUROC: 1, AUPRIn: 1, AUPROut: 1}) {
			t.Fatalf("trial %d: perfect separator gives %+v", trial, got)
		}
		// Mirror: swapping the positive class and the roles of the two
		// sets (negating the scores) gives the same numbers.
		for i := range od {
			od[i] = math.Round(20 * rng.Float64()) // overlapping, with ties
		}
		for i := range id {
			id[i] = math.Round(5 + 20*rng.Float64())
		}
		neg := func(s []float64) []float64 {
			o := make([]float64, len(s))
			for i, v := range s {
				o[i] = -v
			}
			return o
		}
		for _, f := range []func([]float64, []float64, Positive) (float64, error){AUROC, AUPR, FPR95} {
			a, _ := f(id, od, InPositive)
			b, _ := f(neg(od), neg(id), OutPositive)
			if !near(a, b) {
				t.Fatalf("trial %d: mirrored metric %v != %v", trial, b, a)
			}
		}
		a, _ := AUROC(id, od, InPositive)
		b, _ := AUROC(id, od, OutPositive)
		if !near(a, b) {
			t.Fatalf("AUROC depends on the positive class: %v vs %v", a, b)
		}
		// AUROC equals the Mann–Whitney statistic with ties counted ½.
		var u float64
		for _, x := range id {
			for _, y := range od {
				switch {
				case x > y:
					u++
				case x == y:
					u += 0.5
				}
			}
		}
		if !near(a, u/float64(n*m)) {
			t.Fatalf("AUROC %v, Mann–Whitney %v", a, u/float64(n*m))
		}
	}
}

func TestMetricsErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		id, ood []float64
	}{
		{"empty id", nil, []float64{1}},
		{"empty ood", []float64{1}, nil},
		{"nan", []float64{math.NaN()}, []float64{1}},
		{"inf", []float64{1}, []float64{math.Inf(-1)}},
	} {
		if _, err := EvaluateOoD(c.id, c.ood); !errors.Is(err, ErrScores) {
			t.Errorf("%s: err = %v, want ErrScores", c.name, err)
		}
	}
	if _, err := AUROC([]float64{1}, []float64{0}, Positive(7)); err == nil {
		t.Error("unknown positive class accepted")
	}
}

// FuzzMetrics checks metric invariants on arbitrary scores.
func FuzzMetrics(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, uint8(3))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(1))
	f.Fuzz(func(t *testing.T, raw []byte, split uint8) {
		var s []float64
		for len(raw) >= 2 {
			s = append(s, float64(int16(binary.LittleEndian.Uint16(raw)))/100)
			raw = raw[2:]
		}
		k := int(split)
		if k < 1 || k >= len(s) {
			return
		}
		id, od := s[:k], s[k:]
		m, err := EvaluateOoD(id, od)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []float64{m.FPR95, m.AUROC, m.AUPRIn, m.AUPROut} {
			if v < 0 || v > 1 || math.IsNaN(v) {
				t.Fatalf("metric %v outside [0, 1]: %+v", v, m)
			}
		}
		neg := func(s []float64) []float64 {
			o := make([]float64, len(s))
			for i, v := range s {
				o[i] = -v
			}
			return o
		}
		// Negating the scores and swapping the sets mirrors In and Out.
		mm, err := EvaluateOoD(neg(od), neg(id))
		if err != nil {
			t.Fatal(err)
		}
		if !near(mm.AUPRIn, m.AUPROut) || !near(mm.AUPROut, m.AUPRIn) || !near(mm.AUROC, m.AUROC) {
			t.Fatalf("mirror: %+v vs %+v", mm, m)
		}
	})
}
