// Package defensetest is the conformance test of package defense: the
// properties every defense must have, checked by one helper that each
// defense's tests call, in the style of gonum's testlapack.
//
// [Check] verifies, on random, tied, nearly tied, huge, tiny and
// adversarial-looking logits:
//   - shape errors (k < 2, ragged logits, wrong dst length) wrap
//     model.ErrShape, and NaN/±Inf logits give defense.ErrNonFinite without
//     writing dst or consuming randomness;
//   - outputs are finite; probabilities lie in [0, 1] and rows sum to 1;
//     scores lie in [0, 1];
//   - a defense claiming KeepsArgmax keeps it: exactly (first index) for
//     logits outputs, up to ties for probability and score outputs;
//   - the logits are not modified, and applying in place gives the same
//     result;
//   - two fresh instances given the same sequence of calls agree bit for bit;
//   - a batch gives the same outputs as its rows sent one at a time, or,
//     for a defense whose BatchSizeDependent method returns true (AAA's
//     official batch-mean loss), as the same rows in another order;
//   - a [defense.Preprocessor] keeps inputs in [0, 1], rejects bad lengths
//     and non-finite inputs, and is deterministic per seed.
package defensetest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
)

// Case is one batch of logits the conformance test feeds a defense.
type Case struct {
	Name   string
	K      int
	Logits []float32
}

// Cases returns the batches [Check] uses: random logits at several scales
// and class counts, exact and nearly exact ties, huge and tiny magnitudes,
// constant rows, and rows whose top-2 margin sits on or next to AAA's
// attractor boundaries (multiples of 3 logits for the default τ = 6).
func Cases() []Case {
	rng := rand.New(rand.NewPCG(11, 13))
	normal := func(n, k int, scale float64) []float32 {
		x := make([]float32, n*k)
		for i := range x {
			x[i] = float32(scale * rng.NormFloat64())
		}
		return x
	}
	var cs []Case
	cs = append(cs,
		Case{"random-k10-scale1", 10, normal(32, 10, 1)},
		Case{"random-k10-scale5", 10, normal(32, 10, 5)},
		Case{"random-k2", 2, normal(16, 2, 3)},
		Case{"random-k3", 3, normal(16, 3, 3)},
		Case{"random-k100", 100, normal(4, 100, 3)},
		Case{"random-batch-200", 10, normal(200, 10, 3)},
	)

	// Ties: all equal, top two equal (first or later positions), zeros.
	tied := []float32{
		3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		5, 5, 1, 0, -1, 2, 0, 0, 0, 0,
		1, 0, 2, 0, 7, 0, 7, 0, 7, 0,
		-4, -4, -4, -4, -4, -4, -4, -4, -2, -2,
	}
	cs = append(cs, Case{"tied", 10, tied})

	// Nearly tied: the top two one float32 ulp apart, at several magnitudes.
	var near []float32
	for _, m := range []float32{1e-6, 0.5, 1, 3, 6, 100, 1e6} {
		row := normal(1, 10, 1)
		for j := range row {
			row[j] = min(row[j], m-1)
		}
		j1, j2 := rng.IntN(10), rng.IntN(10)
		for j2 == j1 {
			j2 = rng.IntN(10)
		}
		row[j1], row[j2] = m, math.Nextafter32(m, float32(math.Inf(-1)))
		near = append(near, row...)
		row2 := slices.Clone(row)
		row2[j1], row2[j2] = row2[j2], row2[j1]
		near = append(near, row2...)
	}
	cs = append(cs, Case{"nearly-tied", 10, near})

	// Margins on and next to attractor boundaries (0, τ/2, τ, …, τ = 6),
	// and margins far beyond the attractor interval.
	var adv []float32
	for _, m := range []float32{0, 1e-4, 2.9999, 3, 3.0001, 5.9999, 6, 6.0001, 9, 12, 15, 18, 0.25, 1000} {
		row := normal(1, 10, 0.5)
		top := slices.Max(row)
		j1, j2 := rng.IntN(10), rng.IntN(10)
		for j2 == j1 {
			j2 = rng.IntN(10)
		}
		row[j2] = top + 0.5
		row[j1] = row[j2] + m
		adv = append(adv, row...)
	}
	cs = append(cs, Case{"attractor-margins", 10, adv})

	// Huge and tiny magnitudes.
	const big = math.MaxFloat32
	cs = append(cs,
		Case{"huge", 4, []float32{
			big, -big, 0, 1,
			-big, -big, -big, -big,
			big, big, -big, 0,
			1e30, -1e30, 1e29, 3e38,
			1e20, 1e20 + 1e13, -1e20, 5,
		}},
		Case{"tiny", 4, []float32{
			1e-30, -1e-30, 0, 2e-30,
			1e-45, 0, -1e-45, 1e-44,
			1e-38, 1.0000001e-38, 0, 0,
		}},
	)
	return cs
}

// Check runs the conformance test on the defense that newDefense builds.
// Every call of newDefense must return a fresh defense in the same initial
// state (for a randomized defense: seeded identically).
func Check(t *testing.T, newDefense func() (defense.Defense, error)) {
	t.Helper()
	fresh := func(t *testing.T) defense.Defense {
		t.Helper()
		d, err := newDefense()
		if err != nil {
			t.Fatalf("building the defense: %v", err)
		}
		return d
	}
	d := fresh(t)
	if d.Name() == "" {
		t.Error("Name is empty")
	}
	switch d.Output() {
	case defense.Logits, defense.Probabilities, defense.Scores:
	default:
		t.Errorf("Output() = %v, not a known kind", d.Output())
	}
	cases := Cases()

	t.Run("shape", func(t *testing.T) { checkShape(t, fresh(t)) })
	t.Run("non-finite", func(t *testing.T) { checkNonFinite(t, fresh) })
	t.Run("properties", func(t *testing.T) {
		d := fresh(t)
		for _, c := range cases {
			in := slices.Clone(c.Logits)
			out := make([]float32, len(in))
			if err := d.Apply(out, in, c.K); err != nil {
				t.Errorf("%s: Apply: %v", c.Name, err)
				continue
			}
			if !slices.Equal(in, c.Logits) {
				t.Errorf("%s: Apply modified the logits", c.Name)
			}
			checkRows(t, d, c, out)
		}
	})
	t.Run("in-place", func(t *testing.T) {
		a, b := fresh(t), fresh(t)
		for _, c := range cases {
			want := make([]float32, len(c.Logits))
			if err := a.Apply(want, c.Logits, c.K); err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			got := slices.Clone(c.Logits)
			if err := b.Apply(got, got, c.K); err != nil {
				t.Fatalf("%s: in place: %v", c.Name, err)
			}
			if i := firstDiff(got, want); i >= 0 {
				t.Errorf("%s: in place differs at %d: %v, want %v", c.Name, i, got[i], want[i])
			}
		}
	})
	t.Run("deterministic", func(t *testing.T) {
		a, b := fresh(t), fresh(t)
		for round := range 2 {
			for _, c := range cases {
				x := make([]float32, len(c.Logits))
				y := make([]float32, len(c.Logits))
				if err := a.Apply(x, c.Logits, c.K); err != nil {
					t.Fatal(err)
				}
				if err := b.Apply(y, c.Logits, c.K); err != nil {
					t.Fatal(err)
				}
				if i := firstDiff(x, y); i >= 0 {
					t.Errorf("round %d, %s: two instances differ at %d: %v and %v", round, c.Name, i, x[i], y[i])
				}
			}
		}
	})
	if bd, ok := d.(interface{ BatchSizeDependent() bool }); ok && bd.BatchSizeDependent() {
		t.Run("rows-coupled-by-size-only", func(t *testing.T) { checkRotated(t, fresh, cases) })
	} else {
		t.Run("rows-independent", func(t *testing.T) { checkRowsIndependent(t, fresh, cases) })
	}
	if _, ok := d.(defense.Preprocessor); ok {
		t.Run("preprocess", func(t *testing.T) { checkPreprocess(t, fresh) })
	}
}

// checkRowsIndependent checks that a batch gives the same outputs as its
// rows sent one at a time.
func checkRowsIndependent(t *testing.T, fresh func(*testing.T) defense.Defense, cases []Case) {
	{
		a, b := fresh(t), fresh(t)
		for _, c := range cases {
			want := make([]float32, len(c.Logits))
			if err := a.Apply(want, c.Logits, c.K); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, len(c.Logits))
			for i := 0; i < len(c.Logits); i += c.K {
				if err := b.Apply(got[i:i+c.K], c.Logits[i:i+c.K], c.K); err != nil {
					t.Fatal(err)
				}
			}
			if i := firstDiff(got, want); i >= 0 {
				t.Errorf("%s: row by row differs from the batch at %d: %v, want %v", c.Name, i, got[i], want[i])
			}
		}
	}
}

// checkRotated checks that a batch-size-dependent defense couples rows only
// through the batch size: the rows rotated by one give the same outputs,
// rotated.
func checkRotated(t *testing.T, fresh func(*testing.T) defense.Defense, cases []Case) {
	a, b := fresh(t), fresh(t)
	for _, c := range cases {
		want := make([]float32, len(c.Logits))
		if err := a.Apply(want, c.Logits, c.K); err != nil {
			t.Fatal(err)
		}
		rot := append(slices.Clone(c.Logits[c.K:]), c.Logits[:c.K]...)
		got := make([]float32, len(rot))
		if err := b.Apply(got, rot, c.K); err != nil {
			t.Fatal(err)
		}
		got = append(got[len(got)-c.K:], got[:len(got)-c.K]...)
		if i := firstDiff(got, want); i >= 0 {
			t.Errorf("%s: rotated batch differs at %d: %v, want %v", c.Name, i, got[i], want[i])
		}
	}
}

func checkShape(t *testing.T, d defense.Defense) {
	x := []float32{1, 2, 3, 4, 5, 6}
	bad := []struct {
		name     string
		dst, in  []float32
		k        int
		wantFail bool
	}{
		{"k=-1", make([]float32, 6), x, -1, true},
		{"k=0", make([]float32, 6), x, 0, true},
		{"k=1", make([]float32, 6), x, 1, true},
		{"ragged", make([]float32, 6), x, 4, true},
		{"short dst", make([]float32, 5), x, 3, true},
		{"long dst", make([]float32, 7), x, 3, true},
		{"empty", nil, nil, 3, false},
		{"ok", make([]float32, 6), x, 3, false},
	}
	for _, c := range bad {
		err := d.Apply(c.dst, c.in, c.k)
		switch {
		case c.wantFail && err == nil:
			t.Errorf("%s: no error", c.name)
		case c.wantFail && !errors.Is(err, model.ErrShape):
			t.Errorf("%s: error %q does not wrap model.ErrShape", c.name, err)
		case !c.wantFail && err != nil:
			t.Errorf("%s: unexpected error %v", c.name, err)
		}
	}
}

func checkNonFinite(t *testing.T, fresh func(*testing.T) defense.Defense) {
	good := []float32{0.5, 2, -1, 0, 1, 3}
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		a, b := fresh(t), fresh(t)
		in := append(slices.Clone(good), 1, v, 2)
		dst := make([]float32, len(in))
		for i := range dst {
			dst[i] = 42
		}
		err := a.Apply(dst, in, 3)
		if !errors.Is(err, defense.ErrNonFinite) {
			t.Errorf("logit %v: error %v, want one wrapping defense.ErrNonFinite", v, err)
		}
		if slices.ContainsFunc(dst, func(x float32) bool { return x != 42 }) {
			t.Errorf("logit %v: Apply wrote dst before failing", v)
		}
		// A failed call must not consume randomness.
		x := make([]float32, len(good))
		y := make([]float32, len(good))
		if err := a.Apply(x, good, 3); err != nil {
			t.Fatal(err)
		}
		if err := b.Apply(y, good, 3); err != nil {
			t.Fatal(err)
		}
		if i := firstDiff(x, y); i >= 0 {
			t.Errorf("logit %v: the call after a failed one differs from a fresh instance's first call at %d", v, i)
		}
	}
}

// checkRows checks the per-row output properties of one case.
func checkRows(t *testing.T, d defense.Defense, c Case, out []float32) {
	t.Helper()
	k := c.K
	for i := 0; i < len(out); i += k {
		row, in := out[i:i+k], c.Logits[i:i+k]
		r := i / k
		for j, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Errorf("%s row %d: output %d is %v", c.Name, r, j, v)
				return
			}
			if d.Output() != defense.Logits && (v < 0 || v > 1) {
				t.Errorf("%s row %d: %s output %d = %v outside [0, 1]", c.Name, r, d.Output(), j, v)
			}
		}
		if d.Output() == defense.Probabilities {
			var s float64
			for _, v := range row {
				s += float64(v)
			}
			if math.Abs(s-1) > 1e-5 {
				t.Errorf("%s row %d: probabilities sum to %v", c.Name, r, s)
			}
		}
		if !d.KeepsArgmax() {
			continue
		}
		cl := metrics.Argmax(in)
		if d.Output() == defense.Logits {
			if got := metrics.Argmax(row); got != cl {
				t.Errorf("%s row %d: argmax %d, want %d (logits %v → %v)", c.Name, r, got, cl, in, row)
			}
		} else if row[cl] < slices.Max(row) {
			t.Errorf("%s row %d: class %d has score %v below the row maximum %v (logits %v)", c.Name, r, cl, row[cl], slices.Max(row), in)
		}
	}
}

func checkPreprocess(t *testing.T, fresh func(*testing.T) defense.Defense) {
	pre := func(d defense.Defense) defense.Preprocessor { return d.(defense.Preprocessor) }
	rng := rand.New(rand.NewPCG(5, 8))
	x := make([]float32, 2*3*8*8)
	for i := range x {
		x[i] = rng.Float32()
	}
	x[0], x[1], x[2] = 0, 1, 0.5
	a, b := pre(fresh(t)), pre(fresh(t))
	for round := range 2 {
		in := slices.Clone(x)
		p, q := make([]float32, len(x)), make([]float32, len(x))
		if err := a.Preprocess(p, in); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(in, x) {
			t.Error("Preprocess modified its input")
		}
		if err := b.Preprocess(q, in); err != nil {
			t.Fatal(err)
		}
		if i := firstDiff(p, q); i >= 0 {
			t.Errorf("round %d: two instances differ at %d", round, i)
		}
		for i, v := range p {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("round %d: preprocessed value %d = %v outside [0, 1]", round, i, v)
			}
		}
	}
	// In place equals out of place for fresh instances.
	c, e := pre(fresh(t)), pre(fresh(t))
	want := make([]float32, len(x))
	if err := c.Preprocess(want, x); err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(x)
	if err := e.Preprocess(got, got); err != nil {
		t.Fatal(err)
	}
	if i := firstDiff(got, want); i >= 0 {
		t.Errorf("in place differs at %d", i)
	}
	if err := c.Preprocess(make([]float32, 3), x); !errors.Is(err, model.ErrShape) {
		t.Errorf("wrong dst length: error %v, want one wrapping model.ErrShape", err)
	}
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		if err := c.Preprocess(make([]float32, 2), []float32{0.5, v}); !errors.Is(err, defense.ErrNonFinite) {
			t.Errorf("input %v: error %v, want one wrapping defense.ErrNonFinite", v, err)
		}
	}
}

// firstDiff returns the first index where a and b differ bit for bit, or −1.
func firstDiff(a, b []float32) int {
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// String describes a case for failure messages.
func (c Case) String() string { return fmt.Sprintf("%s (%d×%d)", c.Name, len(c.Logits)/c.K, c.K) }
