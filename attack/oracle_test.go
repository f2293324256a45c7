package attack

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/trustml/trustml/model"
)

// batchSpy records the largest batch a classifier was called with and the
// last inputs it saw.
type batchSpy struct {
	model.Classifier
	maxBatch, calls int
	last            []float32
}

func (b *batchSpy) Logits(ctx context.Context, dst, x []float32) error {
	b.calls++
	b.maxBatch = max(b.maxBatch, len(x)/model.InputSize(b.Classifier))
	b.last = append(b.last[:0], x...)
	return b.Classifier.Logits(ctx, dst, x)
}

func TestOracleCountsBudgetAndBatches(t *testing.T) {
	m := newLinear(1, []int{1, 2, 2}, 3, 1)
	spy := &batchSpy{Classifier: m}
	o, err := NewOracle(spy, OracleOptions{Budget: 3, BatchSize: 2, Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	o.Reset(3)
	ctx := context.Background()
	x := make([]float32, 5*4)
	for j := range x {
		x[j] = float32(j%7) / 7
	}
	dst := make([]float32, 5*3)
	idx := []int{0, 1, 0, 2, 0} // sample 0 three times
	if err := o.Query(ctx, idx, x, dst); err != nil {
		t.Fatal(err)
	}
	if o.Count(0) != 3 || o.Count(1) != 1 || o.Count(2) != 1 || o.Total() != 5 {
		t.Fatalf("counts %d %d %d total %d, want 3 1 1 total 5", o.Count(0), o.Count(1), o.Count(2), o.Total())
	}
	if spy.maxBatch != 2 || spy.calls != 3 {
		t.Errorf("model saw %d calls, largest batch %d; want 3 calls of ≤ 2", spy.calls, spy.maxBatch)
	}
	want := make([]float32, 5*3)
	if err := m.Logits(ctx, want, x); err != nil {
		t.Fatal(err)
	}
	for j := range want {
		if dst[j] != want[j] {
			t.Fatalf("scores differ from the model's at %d", j)
		}
	}
	// Sample 0 is out of budget: the whole call is refused, nothing counted.
	err = o.Query(ctx, []int{1, 0}, x[:8], dst[:6])
	var be *BudgetError
	if !errors.As(err, &be) || !errors.Is(err, ErrBudget) || be.Sample != 0 || be.Budget != 3 {
		t.Fatalf("over-budget query returned %v", err)
	}
	if o.Count(1) != 1 || o.Total() != 5 || spy.calls != 3 {
		t.Errorf("refused query changed counts (%d, total %d) or called the model (%d calls)", o.Count(1), o.Total(), spy.calls)
	}
	if o.Remaining(0) != 0 || o.Remaining(1) != 2 {
		t.Errorf("Remaining = %d, %d; want 0, 2", o.Remaining(0), o.Remaining(1))
	}
	// Trace: per-sample query numbers in row order.
	tr := o.Trace()
	wantQ := []struct{ s, q int }{{0, 1}, {1, 1}, {0, 2}, {2, 1}, {0, 3}}
	if len(tr) != len(wantQ) {
		t.Fatalf("trace has %d entries, want %d", len(tr), len(wantQ))
	}
	for j, w := range wantQ {
		if tr[j].Sample != w.s || tr[j].Query != w.q || tr[j].Scores[0] != want[j*3] {
			t.Errorf("trace[%d] = %+v, want sample %d query %d", j, tr[j], w.s, w.q)
		}
	}
	o.Reset(3)
	if o.Count(0) != 0 || o.Total() != 0 || len(o.Trace()) != 0 {
		t.Error("Reset did not clear counts and trace")
	}
}

func TestOracleQuantize(t *testing.T) {
	m := newLinear(1, []int{4}, 2, 1)
	spy := &batchSpy{Classifier: m}
	o, err := NewOracle(spy, OracleOptions{Quantize: true})
	if err != nil {
		t.Fatal(err)
	}
	o.Reset(1)
	x := []float32{0, 0.5, 0.99999, 1}
	if err := o.Query(context.Background(), []int{0}, x, make([]float32, 2)); err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 127.0 / 255, 254.0 / 255, 1} // floor(255·x)/255
	for j := range want {
		if spy.last[j] != want[j] {
			t.Errorf("quantised input[%d] = %v, want %v", j, spy.last[j], want[j])
		}
	}
	if x[1] != 0.5 {
		t.Error("quantisation modified the caller's input")
	}
}

func TestOracleErrors(t *testing.T) {
	m := newLinear(1, []int{1, 2, 2}, 3, 1)
	o, err := NewOracle(m, OracleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o.Reset(2)
	ctx := context.Background()
	x := make([]float32, 4)
	dst := make([]float32, 3)
	cases := []struct {
		name string
		idx  []int
		x    []float32
		dst  []float32
		want error
	}{
		{"short input", []int{0}, x[:3], dst, model.ErrShape},
		{"short dst", []int{0}, x, dst[:2], model.ErrShape},
		{"NaN input", []int{0}, []float32{0, float32(math.NaN()), 0, 0}, dst, ErrInput},
		{"negative input", []int{0}, []float32{0, -0.1, 0, 0}, dst, ErrInput},
		{"input above 1", []int{0}, []float32{0, 1.01, 0, 0}, dst, ErrInput},
		{"sample out of range", []int{2}, x, dst, nil},
		{"negative sample", []int{-1}, x, dst, nil},
	}
	for _, c := range cases {
		err := o.Query(ctx, c.idx, c.x, c.dst)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
	}
	if o.Total() != 0 {
		t.Errorf("invalid queries counted: total %d", o.Total())
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := o.Query(cctx, []int{0}, x, dst); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if _, err := NewOracle(nil, OracleOptions{}); err == nil {
		t.Error("nil classifier accepted")
	}
	if _, err := NewOracle(m, OracleOptions{Budget: -1}); err == nil {
		t.Error("negative budget accepted")
	}
	if _, err := NewOracle(&constModel{shape: []int{2}, z: []float32{1}}, OracleOptions{}); err == nil {
		t.Error("one-class classifier accepted")
	}
	// InputGrad on a classifier without gradients.
	oc, _ := NewOracle(struct{ model.Classifier }{m}, OracleOptions{})
	oc.Reset(1)
	err = oc.InputGrad(ctx, []int{0}, x, make([]float32, 4), dst, func(int, []float32, []float32) float64 { return 0 })
	if !errors.Is(err, ErrNotDifferentiable) {
		t.Errorf("InputGrad on a plain classifier: %v", err)
	}
}

func TestOracleInputGrad(t *testing.T) {
	m := newLinear(2, []int{3}, 4, 1)
	o, _ := NewOracle(m, OracleOptions{BatchSize: 1, Budget: 5})
	o.Reset(2)
	x := []float32{0.1, 0.5, 0.9, 0.3, 0.2, 0.7}
	gx := make([]float32, 6)
	sc := make([]float32, 8)
	labels := []int{1, 3}
	err := o.InputGrad(context.Background(), []int{0, 1}, x, gx, sc, func(row int, z, dz []float32) float64 {
		return LossCE.Grad(dz, z, labels[row], false)
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.Count(0) != 1 || o.Count(1) != 1 {
		t.Errorf("InputGrad counted %d, %d; want 1, 1", o.Count(0), o.Count(1))
	}
	// d log p_y / dx = Wᵀ (e_y − p), checked against central differences.
	for r := range 2 {
		for j := range 3 {
			const h = 1e-3
			xp := append([]float32(nil), x[r*3:(r+1)*3]...)
			xm := append([]float32(nil), xp...)
			xp[j] += h
			xm[j] -= h
			zp, zm := make([]float32, 4), make([]float32, 4)
			_ = m.Logits(context.Background(), zp, xp)
			_ = m.Logits(context.Background(), zm, xm)
			fd := (LossCE.Value(zp, labels[r], false) - LossCE.Value(zm, labels[r], false)) / float64(xp[j]-xm[j])
			if math.Abs(fd-float64(gx[r*3+j])) > 1e-2 {
				t.Errorf("row %d: gx[%d] = %v, finite difference %v", r, j, gx[r*3+j], fd)
			}
		}
	}
	want := make([]float32, 8)
	_ = m.Logits(context.Background(), want, x)
	for j := range want {
		if sc[j] != want[j] {
			t.Fatalf("InputGrad scores differ from Logits at %d", j)
		}
	}
}

// FuzzOracleQuery feeds arbitrary sample indices and input values to the
// oracle: it must never panic, must accept exactly the valid queries and
// must count exactly the accepted ones.
func FuzzOracleQuery(f *testing.F) {
	f.Add([]byte{2, 0, 1, 0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 5, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, data []byte) {
		m := newLinear(1, []int{2, 2}, 3, 1)
		o, err := NewOracle(m, OracleOptions{Budget: 2, BatchSize: 3, Trace: true, Quantize: len(data)%2 == 0})
		if err != nil {
			t.Fatal(err)
		}
		o.Reset(4)
		if len(data) == 0 {
			return
		}
		n := int(data[0] % 8)
		data = data[1:]
		idx := make([]int, 0, n)
		for r := 0; r < n && len(data) > 0; r++ {
			idx = append(idx, int(int8(data[0]))) // may be negative or ≥ 4
			data = data[1:]
		}
		x := make([]float32, 0, len(data)/4)
		for len(data) >= 4 {
			x = append(x, math.Float32frombits(binary.LittleEndian.Uint32(data)))
			data = data[4:]
		}
		dst := make([]float32, len(idx)*3)
		before := make([]int, 4)
		for i := range before {
			before[i] = o.Count(i)
		}
		err = o.Query(context.Background(), idx, x, dst)
		valid := len(x) == len(idx)*4
		use := map[int]int{}
		for _, i := range idx {
			if i < 0 || i >= 4 {
				valid = false
			}
			use[i]++
			if use[i] > 2 {
				valid = false
			}
		}
		for _, v := range x {
			if !(v >= 0 && v <= 1) {
				valid = false
			}
		}
		if valid != (err == nil) {
			t.Fatalf("idx %v x %v: valid=%v but error %v", idx, x, valid, err)
		}
		for i := range before {
			want := before[i]
			if err == nil {
				want += use[i]
			}
			if o.Count(i) != want {
				t.Fatalf("sample %d counted %d, want %d (error %v)", i, o.Count(i), want, err)
			}
		}
		if err == nil && len(o.Trace()) != len(idx) {
			t.Fatalf("trace has %d entries for %d rows", len(o.Trace()), len(idx))
		}
	})
}

func TestQuantize8(t *testing.T) {
	rng := seeded(3)
	vals := []float32{0, 1, 0.5, math.Nextafter32(1, 0)}
	for i := range 256 {
		v := float32(float64(i) / 255)
		vals = append(vals, v, math.Nextafter32(v, 0), math.Nextafter32(v, 2))
	}
	for range 1000 {
		vals = append(vals, rng.Float32())
	}
	for _, v := range vals {
		if v < 0 || v > 1 {
			continue
		}
		want := float32(math.Floor(float64(v)*255) / 255)
		if got := Quantize8(v); got != want {
			t.Errorf("Quantize8(%v) = %v, want %v", v, got, want)
		}
	}
}
