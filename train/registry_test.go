package train

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
)

// TestRegistriesUnknown: every registry's unknown name is ErrUnknown and
// its error lists the valid names.
func TestRegistriesUnknown(t *testing.T) {
	net, _ := nn.New(nn.MLP([]int{4}, []int{3}, 2), 1)
	_, errOpt := NewOptimizer("lion", net, DefaultOptimizerConfig())
	_, errAvg := LookupAveragingMethod("median")
	_, errDLDR := LookupDLDRMethod("lbfgs")
	_, errAverage := Average(context.Background(), AverageConfig{Method: "median"})
	for _, tc := range []struct {
		err   error
		names []string
	}{
		{errOpt, OptimizerNames()},
		{errAvg, AveragingMethodNames("")},
		{errDLDR, DLDRMethodNames()},
		{errAverage, AveragingMethodNames("")},
	} {
		if !errors.Is(tc.err, ErrUnknown) {
			t.Errorf("%v is not ErrUnknown", tc.err)
			continue
		}
		for _, n := range tc.names {
			if !strings.Contains(tc.err.Error(), n) {
				t.Errorf("%v does not list %q", tc.err, n)
			}
		}
	}
}

func TestRegistryNames(t *testing.T) {
	for _, tc := range []struct {
		got, want []string
	}{
		{OptimizerNames(), []string{"adam", "adamw", "arwp", "asam", "fngd", "fsam", "kfac", "marwp", "nesterov", "ngd", "rwp", "sam", "sgd"}},
		{AveragingMethodNames("soup-"), []string{"soup-uniform", "soup-greedy", "soup-mehl", "soup-mehl+"}},
		{AveragingMethodNames("twa"), []string{"twa", "twa-t", "twa-v"}},
		{DLDRMethodNames(), []string{"pbfgs", "psgd"}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("names %v, want %v", tc.got, tc.want)
		}
	}
}

// TestNewOptimizer builds every registered optimizer with the defaults and
// checks its type, its two-batch form and the checks of its settings.
func TestNewOptimizer(t *testing.T) {
	net, _ := nn.New(nn.MLP([]int{4}, []int{3}, 2), 1)
	def := DefaultOptimizerConfig()
	for _, tc := range []struct {
		name  string
		edit  func(*OptimizerConfig)
		want  string // %T, or an error substring
		pairs bool
	}{
		{"sgd", nil, "*train.SGD", false},
		{"nesterov", func(c *OptimizerConfig) { c.Nesterov = false }, "*train.SGD", false},
		{"adam", nil, "*train.Adam", false},
		{"adamw", func(c *OptimizerConfig) { c.LR = 0 }, "lr > 0", false},
		{"sam", nil, "*train.SAM", false},
		{"asam", nil, "*train.SAM", false},
		{"fsam", func(c *OptimizerConfig) { c.Base = "adamw" }, "*train.FSAM", false},
		{"fsam", func(c *OptimizerConfig) { c.Base = "lion" }, "--base", false},
		{"rwp", nil, "*train.RWP", true},
		{"rwp", func(c *OptimizerConfig) { c.Parallel = false }, "*train.RWP", false},
		{"marwp", nil, "*train.MARWP", true},
		{"arwp", func(c *OptimizerConfig) { c.NoiseBeta = 1 }, "β", false},
		{"sam", func(c *OptimizerConfig) { c.Rho = -1 }, "ρ", false},
	} {
		cfg := def
		if tc.edit != nil {
			tc.edit(&cfg)
		}
		o, err := NewOptimizer(tc.name, net, cfg)
		if err != nil {
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
			}
			continue
		}
		if got := fmt.Sprintf("%T", o); got != tc.want {
			t.Errorf("%s: %T, want %s", tc.name, o, tc.want)
		}
		ps, ok := o.(PairStepper)
		if (ok && ps.Replica() != nil) != tc.pairs {
			t.Errorf("%s: parallel form %v, want %v", tc.name, ok, tc.pairs)
		}
		if s, ok := o.(*SGD); ok && !s.Nesterov {
			t.Errorf("%s: SGD without Nesterov", tc.name)
		}
		if s, ok := o.(*SAM); ok && s.Adaptive != (tc.name == "asam") {
			t.Errorf("%s: adaptive %v", tc.name, s.Adaptive)
		}
		info, _ := LookupOptimizer(tc.name)
		if want := map[bool]int{true: 2, false: 1}[tc.name == "rwp" || tc.name == "marwp"]; info.BatchesPerUpdate != want {
			t.Errorf("%s: %d batches per update", tc.name, info.BatchesPerUpdate)
		}
	}
}

// TestCounter: SGD evaluates once per step, SAM twice, a parallel RWP
// update counts two evaluations.
func TestCounter(t *testing.T) {
	x := []float32{1, 0, 0, 1, 1, 1, 0, 0}
	y := []int{0, 1, 0, 1}
	for _, tc := range []struct {
		name              string
		evals, steps, prs int
	}{{"sgd", 4, 4, 0}, {"sam", 8, 4, 0}, {"rwp", 4, 0, 2}} {
		net, _ := nn.New(nn.MLP([]int{2}, []int{3}, 2), 1)
		o, err := NewOptimizer(tc.name, net, DefaultOptimizerConfig())
		if err != nil {
			t.Fatal(err)
		}
		c := &Counter{Optimizer: o}
		if _, err := Fit(context.Background(), net, x, y, Config{Steps: 4, BatchSize: 1, Optimizer: c}); err != nil {
			t.Fatal(err)
		}
		if c.Evals != tc.evals || c.Steps != tc.steps || c.Pairs != tc.prs {
			t.Errorf("%s: %d evals, %d steps, %d pairs; want %d, %d, %d", tc.name, c.Evals, c.Steps, c.Pairs, tc.evals, tc.steps, tc.prs)
		}
	}
}

// TestStepSampler: K samples per epoch of P steps, evenly spaced, the last
// at the epoch's end, up to the limit.
func TestStepSampler(t *testing.T) {
	p := fakeParams{w: []float32{0}, g: []float32{0}}
	sgd, _ := NewSGD(1, 0, 0, false)
	s := &stepSampler{Optimizer: sgd, perEpoch: 3, steps: 7, limit: 14}
	for range 20 {
		if _, err := s.Step(p, func() (float64, error) { p.g[0] = -1; return 0, nil }); err != nil {
			t.Fatal(err)
		}
	}
	// w counts the steps: sampled after steps 3, 5, 7 and 10, 12, 14.
	var got []float32
	for _, smp := range s.samples {
		got = append(got, smp[0])
	}
	if want := []float32{3, 5, 7, 10, 12, 14}; !slices.Equal(got, want) {
		t.Errorf("sampled after steps %v, want %v", got, want)
	}
}

type fakeParams struct{ w, g []float32 }

func (f fakeParams) Weights() []float32 { return f.w }
func (f fakeParams) Grads() []float32   { return f.g }

// TestBoundaryErrors: the package's long calls name themselves in their
// errors and keep the cause (errors.Is).
func TestBoundaryErrors(t *testing.T) {
	tr, _ := data.Tabular("wine")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := DefaultDLDRConfig()
	cfg.Train, cfg.Test, cfg.Out, cfg.Sampling.Arch = tr, tr, "", "mlp"
	_, err := DLDR(ctx, cfg)
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "dldr: ") {
		t.Errorf("DLDR with a cancelled context: %v", err)
	}
	_, err = Run(ctx, RunConfig{Train: tr, Test: tr, Arch: "mlp", Optimizer: "sgd", OptimizerConfig: DefaultOptimizerConfig(),
		Schedule: "constant", Epochs: 1})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: %v", err)
	}
	_, err = Landscape(context.Background(), LandscapeConfig{})
	if err == nil || !strings.HasPrefix(err.Error(), "landscape: ") {
		t.Errorf("Landscape without a model: %v", err)
	}
}
