package defense_test

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/model"
)

func floatBytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// FuzzApply feeds arbitrary logits (NaN, ±Inf, huge, subnormal, any k) to
// every registered defense: none may panic, and each either returns an error
// or writes finite outputs of its declared kind.
func FuzzApply(f *testing.F) {
	inf := float32(math.Inf(1))
	f.Add(floatBytes(1, 2, 3, 4, 5, 6), uint8(3), uint8(0))
	f.Add(floatBytes(float32(math.NaN()), 0, 1, 2), uint8(2), uint8(1))
	f.Add(floatBytes(inf, -inf, 0, 0), uint8(2), uint8(2))
	f.Add(floatBytes(math.MaxFloat32, -math.MaxFloat32, 1e-45, 0, 3, 3), uint8(3), uint8(3))
	f.Add(floatBytes(0, 0, 0, 0, 0, 0, 0, 0), uint8(4), uint8(4))
	f.Add(floatBytes(5, 5, 1e-30, 6, 6.0000005, 0), uint8(3), uint8(5))
	f.Add([]byte{1, 2, 3}, uint8(1), uint8(6))
	names := defense.Names()
	f.Fuzz(func(t *testing.T, data []byte, kb, params uint8) {
		x := make([]float32, len(data)/4)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		if len(x) > 4096 {
			x = x[:4096]
		}
		k := int(kb % 16)
		for _, name := range names {
			opts := defense.Options{Seed: uint64(params)}
			if params%2 == 1 && name == "aaa-linear" {
				opts.Params = map[string]float64{"tau": 0.5, "iters": 20}
			}
			d, err := defense.New(name, opts)
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]float32, len(x))
			err = d.Apply(dst, x, k)
			if err != nil {
				if !errors.Is(err, model.ErrShape) && !errors.Is(err, defense.ErrNonFinite) {
					t.Errorf("%s: unexpected error kind: %v", name, err)
				}
				continue
			}
			for i, v := range dst {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("%s: output %d is %v for logits %v (k=%d)", name, i, v, x, k)
				}
				if d.Output() != defense.Logits && (v < 0 || v > 1) {
					t.Fatalf("%s: %s output %d is %v", name, d.Output(), i, v)
				}
			}
			if p, ok := d.(defense.Preprocessor); ok {
				if err := p.Preprocess(dst, x); err == nil {
					for i, v := range dst {
						if !(v >= 0 && v <= 1) {
							t.Fatalf("%s: preprocessed value %d is %v", name, i, v)
						}
					}
				} else if !errors.Is(err, defense.ErrNonFinite) {
					t.Errorf("%s: unexpected Preprocess error: %v", name, err)
				}
			}
		}
	})
}

// FuzzParseParams checks that the command-line parameter parser never
// panics and returns only finite values.
func FuzzParseParams(f *testing.F) {
	for _, s := range []string{"", "tau=3", "tau=3, iters=50", "a=1e400", "=", "x=nan", "k=0x1p-2", ",,,", "a==1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := defense.ParseParams(s)
		if err != nil {
			return
		}
		for name, v := range m {
			if name == "" || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("ParseParams(%q): %q = %v", s, name, v)
			}
		}
	})
}
