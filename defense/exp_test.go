package defense

import (
	"bufio"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestExpShifted checks the hand-inlined exponential against math.Exp to
// 4 ulp over the range AAA uses (and beyond), including the clamp below −708.
func TestExpShifted(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	z := []float64{0, -1e-300, 1e-300, -0.5, 0.5, 1, -1, math.Ln2 / 128, -math.Ln2 / 128, -700, -708, 709, -745, -1e30}
	for range 20000 {
		z = append(z, (rng.Float64()*2-1)*50, (rng.Float64()-0.9)*800)
	}
	e := make([]float64, len(z))
	s := expShifted(e, z, 0)
	var want float64
	for i, x := range z {
		w := math.Exp(x)
		want += w
		if x < -708 {
			if e[i] > 1e-307 || e[i] < 0 {
				t.Errorf("exp(%v) = %v, want about 0", x, e[i])
			}
			continue
		}
		if ulp := math.Abs(e[i]-w) / (math.Nextafter(w, math.Inf(1)) - w); ulp > 4 {
			t.Errorf("exp(%v) = %v, math.Exp %v (%.1f ulp)", x, e[i], w, ulp)
		}
	}
	if math.Abs(s-want) > 1e-14*want {
		t.Errorf("sum %v, want %v", s, want)
	}
	// The shift is subtracted before exponentiating.
	expShifted(e[:1], []float64{5}, 5)
	if e[0] != 1 {
		t.Errorf("exp(5−5) = %v, want 1", e[0])
	}
}

// TestExpConstants checks the table and the split of ln2/16 against the
// standard library: each entry (plus j<<48) within an ulp of math.Exp2,
// entry k&15 plus k<<48 the bits of 2^(k/16) for every k of the
// exponential's range, hi the float64 nearest ln2/16 and lo below its half
// ulp.
func TestExpConstants(t *testing.T) {
	for j, bits := range expTable {
		got, want := math.Float64frombits(bits+uint64(j)<<48), math.Exp2(float64(j)/16)
		if math.Abs(got-want) > math.Nextafter(want, 2)-want {
			t.Errorf("expTable[%d] = %v, math.Exp2 %v", j, got, want)
		}
	}
	for k := int64(-1022 * 16); k <= 16; k++ { // normal results; expMin keeps k ≥ −16343
		got := math.Float64frombits(expTable[k&15] + uint64(k)<<48)
		want := math.Ldexp(math.Float64frombits(expTable[k&15]+uint64(k&15)<<48), int(k>>4))
		if got != want {
			t.Fatalf("k = %d: table entry plus k<<48 is %v, want %v", k, got, want)
		}
	}
	if want := math.Ln2 / 16; expLn2Hi != want {
		t.Errorf("ln2/16 hi = %v, want %v", expLn2Hi, want)
	}
	if half := (math.Nextafter(expLn2Hi, 1) - expLn2Hi) / 2; !(math.Abs(expLn2Lo) < half && expLn2Lo != 0) {
		t.Errorf("ln2/16 lo = %v, want nonzero and below %v", expLn2Lo, half)
	}
}

// TestExpCoef checks expCoef against the fit of testdata/exp_coef.py (its
// output, testdata/exp_coef.txt, one coefficient per line, highest degree
// first).
func TestExpCoef(t *testing.T) {
	f, err := os.Open("testdata/exp_coef.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []float64
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		c, err := strconv.ParseFloat(text, 64)
		if err != nil {
			t.Fatalf("testdata/exp_coef.txt:%d: %v", line, err)
		}
		want = append(want, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(expCoef) {
		t.Fatalf("testdata/exp_coef.txt holds %d coefficients, expCoef %d", len(want), len(expCoef))
	}
	for i, c := range want {
		if expCoef[i] != c {
			t.Errorf("expCoef[%d] = %v, the fit gives %v", i, expCoef[i], c)
		}
	}
}
