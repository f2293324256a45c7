package defense_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/defense"
)

func TestRegistry(t *testing.T) {
	want := []string{"aaa-linear", "aaa-sine", "class-labels", "gaussian-noise", "high-confidence", "none", "outrnd", "reverse-sigmoid", "rnd", "rounded", "top-k", "unig"}
	if got := defense.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	infos := defense.List()
	if len(infos) != len(want) {
		t.Fatalf("List has %d entries", len(infos))
	}
	for i, info := range infos {
		if info.Name != want[i] {
			t.Errorf("List()[%d] = %s, want %s", i, info.Name, want[i])
		}
		if info.Description == "" || strings.Contains(info.Description, "\n") {
			t.Errorf("%s: description %q is not one line", info.Name, info.Description)
		}
		d, err := defense.New(info.Name, defense.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Name() != info.Name {
			t.Errorf("New(%q).Name() = %q", info.Name, d.Name())
		}
		got, err := defense.Lookup(info.Name)
		if err != nil || got.Description != info.Description || len(got.Params) != len(info.Params) {
			t.Errorf("Lookup(%q) = %+v, %v", info.Name, got, err)
		}
		// Every parameter can be set to its default explicitly.
		params := map[string]float64{}
		for _, p := range info.Params {
			params[p.Name] = p.Default
		}
		if _, err := defense.New(info.Name, defense.Options{Params: params}); err != nil {
			t.Errorf("%s with explicit defaults: %v", info.Name, err)
		}
		if info.Randomized != slices.Contains([]string{"outrnd", "gaussian-noise", "rnd", "unig"}, info.Name) {
			t.Errorf("%s: Randomized = %v", info.Name, info.Randomized)
		}
	}
	for _, bad := range []string{"nope", "", "AAA-linear"} {
		_, err := defense.Lookup(bad)
		_, nerr := defense.New(bad, defense.Options{})
		for _, e := range []error{err, nerr} {
			if !errors.Is(e, defense.ErrUnknown) || !strings.Contains(e.Error(), "known: aaa-linear") {
				t.Errorf("unknown defense %q: err %v, want ErrUnknown listing the defenses", bad, e)
			}
		}
	}
	// The registered AAA defaults are the official ones, except τ (0:
	// automatic, see defense.AutoTau).
	aaa, _ := defense.Lookup("aaa-linear")
	defaults := map[string]float64{}
	for _, p := range aaa.Params {
		defaults[p.Name] = p.Default
	}
	wantAAA := map[string]float64{"tau": 0, "alpha": 1, "kappa": 5, "temperature": 1, "iters": 100, "lr": 0.1, "eps": 1e-8, "rowwise": 0, "workers": 0}
	if !maps.Equal(defaults, wantAAA) {
		t.Errorf("aaa-linear defaults %v, want %v", defaults, wantAAA)
	}
	d, _ := defense.New("aaa-sine", defense.Options{})
	if cfg := d.(*defense.AAA).Config(); cfg != defense.DefaultAAAConfig(defense.Sine) {
		t.Errorf("aaa-sine config %+v", cfg)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]float64
		want   string // in the error message
	}{
		{"nope", nil, "unknown defense"},
		{"aaa-linear", map[string]float64{"taux": 1}, `unknown parameter "taux"`},
		{"aaa-sine", map[string]float64{"alpha": 1}, `unknown parameter "alpha"`},
		{"aaa-linear", map[string]float64{"iters": 2.5}, "whole number"},
		{"aaa-linear", map[string]float64{"iters": 1e12}, "iters"},
		{"aaa-linear", map[string]float64{"tau": -1}, "tau"},
		{"aaa-linear", map[string]float64{"temperature": 0}, "temperature"},
		{"aaa-sine", map[string]float64{"workers": -1}, "workers"},
		{"outrnd", map[string]float64{"sigma": -0.1}, "noise scale"},
		{"rnd", map[string]float64{"sigma": 2e6}, "noise scale"},
		{"gaussian-noise", map[string]float64{"scale": -1}, "noise scale"},
		{"reverse-sigmoid", map[string]float64{"beta": 0}, "beta"},
		{"reverse-sigmoid", map[string]float64{"gamma": -1}, "gamma"},
		{"high-confidence", map[string]float64{"cutoff": 0}, "cutoff"},
		{"rounded", map[string]float64{"decimals": 0}, "decimals"},
		{"top-k", map[string]float64{"k": 0}, "k="},
		{"class-labels", map[string]float64{"k": 1}, "known: none"},
	}
	for _, tt := range tests {
		_, err := defense.New(tt.name, defense.Options{Params: tt.params})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%q, %v): error %v, want one containing %q", tt.name, tt.params, err, tt.want)
		}
	}
}

func TestRegisterPanics(t *testing.T) {
	for _, info := range []defense.Info{
		{Name: "none"},
		{Name: ""},
		{Name: "dup-param", Params: []defense.Param{{Name: "a"}, {Name: "a"}}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%+v) did not panic", info)
				}
			}()
			defense.Register(info, func(defense.Options) (defense.Defense, error) { return defense.Identity{}, nil })
		}()
	}
}

func TestParseParams(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]float64
		err  string
	}{
		{"", map[string]float64{}, ""},
		{"tau=3", map[string]float64{"tau": 3}, ""},
		{"tau=3, iters=50", map[string]float64{"tau": 3, "iters": 50}, ""},
		{" lr=1e-2 ,k=-1 ", map[string]float64{"lr": 0.01, "k": -1}, ""},
		{"tau", nil, "want name=value"},
		{"=3", nil, "want name=value"},
		{"tau=x", nil, "not a finite number"},
		{"tau=NaN", nil, "not a finite number"},
		{"tau=inf", nil, "not a finite number"},
		{"tau=1,tau=2", nil, "given twice"},
	}
	for _, tt := range tests {
		got, err := defense.ParseParams(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseParams(%q): error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tt.want) {
			t.Errorf("ParseParams(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestOutputString(t *testing.T) {
	for o, want := range map[defense.Output]string{defense.Logits: "logits", defense.Probabilities: "probabilities", defense.Scores: "scores", 9: "Output(9)"} {
		if o.String() != want {
			t.Errorf("%d: %q, want %q", int(o), o.String(), want)
		}
	}
	if defense.Linear.String() != "linear" || defense.Sine.String() != "sine" || defense.Variant(5).String() != "Variant(5)" {
		t.Error("Variant.String")
	}
}
