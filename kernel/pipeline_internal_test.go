package kernel

import "testing"

func TestSetKernelParam(t *testing.T) {
	for _, tc := range []struct {
		in, name string
		v        float64
		want     string
	}{
		{"rbf:gamma=0.5", "gamma", 2, "rbf:gamma=2"},
		{"sne:sigma=1,power=1", "sigma", 3, "sne:power=1,sigma=3"},
		{"linear", "x", 1, "linear:x=1"},
	} {
		if got := setKernelParam(tc.in, tc.name, tc.v); got != tc.want {
			t.Errorf("setKernelParam(%q, %q, %v) = %q, want %q", tc.in, tc.name, tc.v, got, tc.want)
		}
	}
}
