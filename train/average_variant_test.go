package train

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// setOf reports the named settings as set.
func setOf(names ...string) func(string) bool {
	return func(n string) bool { return slices.Contains(names, n) }
}

func TestTWAConfig(t *testing.T) {
	base := DefaultAverageConfig("twa")
	base.LR, base.Epochs = 0.5, 7 // as the caller set them, or zero from its flags
	for _, tc := range []struct {
		variant    string
		set        []string
		method     string
		lr         float64
		epochs     int
		err        string
		errUnknown bool
	}{
		{variant: "iclr", method: "twa", lr: 2, epochs: 2},
		{variant: "t", method: "twa-t", lr: 1e-3, epochs: 10},
		{variant: "v", method: "twa-v", lr: 1e-3, epochs: 10},
		{variant: "iclr", set: []string{"lr", "wd", "momentum", "start"}, method: "twa", lr: 0.5, epochs: 2},
		{variant: "v", set: []string{"epochs", "val-ratio"}, method: "twa-v", lr: 1e-3, epochs: 7},
		{variant: "iclr", set: []string{"val-ratio"}, err: "--val-ratio applies to --variant v only"},
		{variant: "t", set: []string{"val-ratio"}, err: "--val-ratio applies to --variant v only"},
		{variant: "t", set: []string{"momentum"}, err: "--momentum applies to --variant iclr only"},
		{variant: "v", set: []string{"wd", "start"}, err: "--wd applies to --variant iclr only"},
		{variant: "v", set: []string{"start"}, err: "--start applies to --variant iclr only"},
		{variant: "x", err: `--variant "x": want iclr, t or v`, errUnknown: true},
		{variant: "", err: `--variant "": want iclr, t or v`, errUnknown: true},
		{variant: "twa", err: `--variant "twa": want iclr, t or v`, errUnknown: true},
	} {
		got, err := TWAConfig(base, tc.variant, setOf(tc.set...))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || errors.Is(err, ErrUnknown) != tc.errUnknown {
				t.Errorf("%q %v: err %v, want %q (ErrUnknown %t)", tc.variant, tc.set, err, tc.err, tc.errUnknown)
			}
			if got.Method != base.Method || got.LR != base.LR {
				t.Errorf("%q %v: config changed on error: %+v", tc.variant, tc.set, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q %v: %v", tc.variant, tc.set, err)
			continue
		}
		if got.Method != tc.method || got.LR != tc.lr || got.Epochs != tc.epochs {
			t.Errorf("%q %v: method %s, lr %g, epochs %d; want %s, %g, %d", tc.variant, tc.set, got.Method, got.LR, got.Epochs, tc.method, tc.lr, tc.epochs)
		}
		if got.Momentum != base.Momentum || got.ValRatio != base.ValRatio || got.Start != base.Start {
			t.Errorf("%q: other settings changed: %+v", tc.variant, got)
		}
	}
	if c, err := TWAConfig(base, "t", nil); err != nil || c.Method != "twa-t" {
		t.Errorf("nil set: %v, method %s", err, c.Method)
	}
}

func TestSoupNames(t *testing.T) {
	got := SoupNames()
	if want := []string{"uniform", "greedy", "mehl", "mehl+"}; !slices.Equal(got, want) {
		t.Fatalf("SoupNames() = %v, want %v", got, want)
	}
	for _, n := range got {
		if _, err := LookupAveragingMethod("soup-" + n); err != nil {
			t.Errorf("soup-%s: %v", n, err)
		}
	}
}

func TestSoupConfig(t *testing.T) {
	base := DefaultAverageConfig("soup-mehl+")
	for _, n := range SoupNames() {
		if c, err := SoupConfig(base, n); err != nil || c.Method != "soup-"+n || c.LR != base.LR {
			t.Errorf("%s: %v, method %s", n, err, c.Method)
		}
	}
	for _, n := range []string{"x", "", "soup-mehl", "swa"} {
		c, err := SoupConfig(base, n)
		if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "want one of uniform, greedy, mehl, mehl+") || c.Method != base.Method {
			t.Errorf("%q: %v, method %s", n, err, c.Method)
		}
	}
}

func TestDLDRCheckSet(t *testing.T) {
	for _, tc := range []struct {
		checkpoints []string
		set         []string
		err         string
	}{
		{nil, append(slices.Clone(dldrSamplingFlags), "dim"), ""},
		{[]string{"a", "b"}, []string{"dim", "method", "epochs", "start", "seed", "label-noise"}, ""},
		{[]string{"a", "b"}, []string{"dim", "lr"}, "--lr only applies to the sampling run, which dldr makes when no checkpoints are given (2 given)"},
		{[]string{"a"}, []string{"sgd-batch"}, "--sgd-batch only applies"},
		{[]string{"a"}, []string{"arch"}, "--arch only applies"},
	} {
		cfg := DefaultDLDRConfig()
		cfg.Checkpoints = tc.checkpoints
		err := cfg.CheckSet(setOf(tc.set...))
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("checkpoints %v, set %v: err %v, want %q", tc.checkpoints, tc.set, err, tc.err)
		}
	}
}
