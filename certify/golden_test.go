package certify

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// golden is testdata/golden.json, written by testdata/golden.py with scipy.
type golden struct {
	CP []struct {
		NA, N         int
		Alpha, Lower  float64
		Sigma, Radius float64
		OK            bool
	} `json:"cp"`
	PPF   []struct{ P, Q float64 } `json:"ppf"`
	Binom []struct {
		K, N      int
		P, Pvalue float64
	} `json:"binom"`
}

func loadGolden(t *testing.T) golden {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.CP) == 0 || len(g.PPF) == 0 || len(g.Binom) == 0 {
		t.Fatal("golden file has an empty table")
	}
	return g
}

// near reports whether got is within tol of want, absolutely or relative
// to want.
func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestClopperPearsonGolden(t *testing.T) {
	for _, c := range loadGolden(t).CP {
		if got := ClopperPearsonLower(c.NA, c.N, c.Alpha); !near(got, c.Lower, 1e-9) {
			t.Errorf("ClopperPearsonLower(%d, %d, %g) = %.15g, scipy beta.ppf %.15g", c.NA, c.N, c.Alpha, got, c.Lower)
		}
		r, ok := Radius(c.Sigma, c.NA, c.N, c.Alpha)
		if ok != c.OK || !near(r, c.Radius, 1e-9) {
			t.Errorf("Radius(%g, %d, %d, %g) = %.15g, %v; scipy %.15g, %v", c.Sigma, c.NA, c.N, c.Alpha, r, ok, c.Radius, c.OK)
		}
	}
}

func TestNormalQuantileGolden(t *testing.T) {
	for _, c := range loadGolden(t).PPF {
		if got := NormalQuantile(c.P); !near(got, c.Q, 1e-9) {
			t.Errorf("NormalQuantile(%g) = %.15g, scipy norm.ppf %.15g", c.P, got, c.Q)
		}
	}
}

func TestBinomTestGolden(t *testing.T) {
	for _, c := range loadGolden(t).Binom {
		if got := BinomTest(c.K, c.N, c.P); !near(got, c.Pvalue, 1e-9) {
			t.Errorf("BinomTest(%d, %d, %g) = %.15g, scipy binomtest %.15g", c.K, c.N, c.P, got, c.Pvalue)
		}
	}
}

func TestMaxRadius(t *testing.T) {
	// σ·Φ⁻¹(α^{1/n}): the spec's caps ≈ 3.8σ (n = 100,000) and ≈ 3.2σ (n = 10,000) at α = 0.001.
	for _, c := range []struct {
		n      int
		lo, hi float64
	}{{100000, 3.7, 3.9}, {10000, 3.1, 3.3}} {
		got := MaxRadius(1, c.n, 0.001)
		want := NormalQuantile(math.Pow(0.001, 1/float64(c.n)))
		if !near(got, want, 1e-9) || got < c.lo || got > c.hi {
			t.Errorf("MaxRadius(1, %d, 0.001) = %g, want Φ⁻¹(α^{1/n}) = %g in [%g, %g]", c.n, got, want, c.lo, c.hi)
		}
	}
}
