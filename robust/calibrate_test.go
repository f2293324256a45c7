package robust

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/metrics"
)

// fixedLogits is a classifier whose input is a sample index and whose
// logits are looked up in a table; calls counts the Logits calls, and a
// non-nil err fails every call.
type fixedLogits struct {
	k     int
	table []float32
	calls int
	err   error
}

func (f *fixedLogits) InputShape() []int { return []int{1} }
func (f *fixedLogits) NumClasses() int   { return f.k }
func (f *fixedLogits) Logits(_ context.Context, dst, x []float32) error {
	f.calls++
	if f.err != nil {
		return f.err
	}
	for i, v := range x {
		copy(dst[i*f.k:(i+1)*f.k], f.table[int(v)*f.k:(int(v)+1)*f.k])
	}
	return nil
}

// calibrationSet returns n rows of k logits from a model that is well
// calibrated at temperature 1 (labels drawn from softmax(logits)), with
// margins spread over [0, 8], and inputs 0..n-1 indexing them.
func calibrationSet(n, k int, seed uint64) (*fixedLogits, []float32, []int) {
	rng := rand.New(rand.NewPCG(seed, 3))
	f := &fixedLogits{k: k, table: make([]float32, n*k)}
	x := make([]float32, n)
	y := make([]int, n)
	p := make([]float32, k)
	for i := range n {
		row := f.table[i*k : (i+1)*k]
		for j := range row {
			row[j] = float32(rng.NormFloat64())
		}
		row[rng.IntN(k)] += float32(8 * rng.Float64())
		metrics.Softmax(p, row, k)
		u, c := rng.Float64(), 0
		for ; c < k-1 && u > float64(p[c]); c++ {
			u -= float64(p[c])
		}
		x[i], y[i] = float32(i), c
	}
	return f, x, y
}

type logLines []string

func (l *logLines) Update(string, int, int, string) {}
func (l *logLines) Log(format string, args ...any)  { *l = append(*l, fmt.Sprintf(format, args...)) }

// TestCalibrateSkipped: without a defense to tune, calibration computes
// nothing, so a failing model or mismatched labels cannot fail the run.
func TestCalibrateSkipped(t *testing.T) {
	tests := []struct {
		name     string
		defenses []string
		params   map[string]map[string]float64
	}{
		{"no AAA", []string{"none", "rnd", "outrnd"}, nil},
		{"AAA with a fixed temperature", []string{"none", "aaa-linear"}, map[string]map[string]float64{"aaa-linear": {"temperature": 1.5}}},
		{"no defenses", nil, nil},
	}
	for _, tt := range tests {
		cfg := named(t, []string{"square"}, tt.defenses, tt.params)
		if cfg.TunesTemperature() {
			t.Errorf("%s: TunesTemperature = true", tt.name)
		}
		f := &fixedLogits{k: 3, err: errors.New("model down")}
		cfg.CalibrationX, cfg.CalibrationY = []float32{0, 1}, []int{0} // mismatched on purpose
		temps, res, err := calibrate(context.Background(), f, &cfg, &logLines{})
		if err != nil || temps != nil || res != nil || f.calls != 0 {
			t.Errorf("%s: calibrate = %v, %v, %v with %d model calls; want nothing done", tt.name, temps, res, err, f.calls)
		}
	}
	// With an AAA defense the same data is used, and fails.
	cfg := named(t, []string{"square"}, []string{"none", "aaa-sine"}, nil)
	if !cfg.TunesTemperature() {
		t.Fatal("aaa-sine: TunesTemperature = false")
	}
	f := &fixedLogits{k: 3, err: errors.New("model down")}
	cfg.CalibrationX, cfg.CalibrationY = []float32{0, 1}, []int{0, 1}
	if _, _, err := calibrate(context.Background(), f, &cfg, &logLines{}); err == nil || !strings.Contains(err.Error(), "model down") {
		t.Errorf("aaa-sine with a failing model: err %v", err)
	}
}

// TestNamedDefenseTunes: only AAA defenses without a temperature parameter
// are marked for tuning.
func TestNamedDefenseTunes(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]float64
		want   bool
	}{
		{"aaa-linear", nil, true},
		{"aaa-sine", map[string]float64{"tau": 6}, true},
		{"aaa-sine", map[string]float64{"temperature": 1}, false},
		{"none", nil, false},
		{"rnd", nil, false},
		{"outrnd", nil, false},
		{"reverse-sigmoid", nil, false},
	}
	for _, tt := range tests {
		d, err := NamedDefense(tt.name, tt.params)
		if err != nil {
			t.Fatal(err)
		}
		if d.TuneTemperature != tt.want {
			t.Errorf("%s %v: TuneTemperature = %v, want %v", tt.name, tt.params, d.TuneTemperature, tt.want)
		}
	}
}

// TestCalibrateSearchRule: the tuned temperature minimises the ECE of the
// defended output (batches of cleanChunk rows) over the grid, the result
// says whether that is at or below the undefended ECE, a line is logged
// when it is not, and the tuned defense carries the temperature.
func TestCalibrateSearchRule(t *testing.T) {
	const n, k = 300, 10
	f, x, y := calibrationSet(n, k, 1)
	for _, tt := range []struct {
		name   string
		params map[string]float64
	}{
		{"aaa-linear", nil},                                     // automatic τ
		{"aaa-sine", nil},                                       //
		{"aaa-linear", map[string]float64{"tau": 6}},            // the released runs' τ
		{"aaa-linear", map[string]float64{"rowwise": 1}},        // per-row mode
		{"aaa-sine", map[string]float64{"tau": 6, "iters": 50}}, //
	} {
		label := fmt.Sprintf("%s %v", tt.name, tt.params)
		cfg := named(t, []string{"square"}, []string{"none", tt.name}, map[string]map[string]float64{tt.name: tt.params})
		cfg.CalibrationX, cfg.CalibrationY = x, y
		var lines logLines
		temps, results, err := calibrate(context.Background(), f, &cfg, &lines)
		if err != nil {
			t.Fatal(err)
		}
		res, ok := results[tt.name]
		if !ok || temps[tt.name] != res.Temperature {
			t.Fatalf("%s: results %v, temperatures %v", label, results, temps)
		}
		// Recompute every grid point independently.
		base, err := defense.New(tt.name, defense.Options{Params: tt.params})
		if err != nil {
			t.Fatal(err)
		}
		bestT, bestECE := math.NaN(), math.Inf(1)
		for _, temp := range defense.TemperatureGrid() {
			c := base.(*defense.AAA).Config()
			c.Temperature = temp
			d, err := defense.NewAAA(c)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, n*k)
			for lo := 0; lo < n; lo += cleanChunk {
				hi := min(lo+cleanChunk, n)
				if err := d.Apply(out[lo*k:hi*k], f.table[lo*k:hi*k], k); err != nil {
					t.Fatal(err)
				}
			}
			metrics.Softmax(out, out, k)
			ece, _ := metrics.ECE(out, y, k)
			if ece < bestECE {
				bestT, bestECE = temp, ece
			}
		}
		probs := make([]float32, n*k)
		metrics.Softmax(probs, f.table, k)
		und, _ := metrics.ECE(probs, y, k)
		if res.Temperature != bestT || math.Abs(res.ECE-bestECE) > 1e-12 || math.Abs(res.Undefended-und) > 1e-12 {
			t.Errorf("%s: T=%v ECE %v undefended %v; want T=%v ECE %v undefended %v", label, res.Temperature, res.ECE, res.Undefended, bestT, bestECE, und)
		}
		if res.AtOrBelow != (bestECE <= und) {
			t.Errorf("%s: AtOrBelow = %v with ECE %v, undefended %v", label, res.AtOrBelow, bestECE, und)
		}
		if logged := len(lines) > 0; logged == res.AtOrBelow {
			t.Errorf("%s: logged %q with AtOrBelow %v", label, lines, res.AtOrBelow)
		}
		t.Logf("%s: T=%v, defended ECE %.4f, undefended %.4f", label, res.Temperature, res.ECE, res.Undefended)
		var tuned *defense.AAA
		for _, dd := range cfg.Defenses {
			if dd.Name == tt.name {
				d, err := dd.New(7)
				if err != nil {
					t.Fatal(err)
				}
				tuned = d.(*defense.AAA)
				if dd.TuneTemperature {
					t.Errorf("%s: still marked for tuning", label)
				}
			}
		}
		if tuned == nil || tuned.Config().Temperature != res.Temperature {
			t.Errorf("%s: tuned defense %v, want temperature %v", label, tuned, res.Temperature)
		}
	}
}
