package linalg

import "testing"

func TestFloat64sZeroed(t *testing.T) {
	for _, n := range []int{0, 1, 1000, hugeMin/8 - 1, hugeMin/8 + 12345} {
		s := Float64s(n)
		if len(s) != n {
			t.Fatalf("Float64s(%d) has length %d", n, len(s))
		}
		for i := 0; i < n; i += 4093 {
			if s[i] != 0 {
				t.Fatalf("Float64s(%d)[%d] = %g, want 0", n, i, s[i])
			}
		}
		f := float32s(2 * n)
		if len(f) != 2*n {
			t.Fatalf("float32s(%d) has length %d", 2*n, len(f))
		}
		for i := 0; i < len(f); i += 4093 {
			if f[i] != 0 {
				t.Fatalf("float32s(%d)[%d] = %g, want 0", 2*n, i, f[i])
			}
		}
	}
}
