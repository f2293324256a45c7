package continual

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
)

// TestLASGolden checks the window counts, the adjustment, the loss and its
// gradient against PyTorch (testdata/las_golden.py).
func TestLASGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/las_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		K, Window                int
		Tau                      float64
		Batches                  [][]int
		Logits                   []float64
		Labels                   []int
		Counts, Adjustment, Grad []float64
		Loss                     float64
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	l := &LAS{Tau: g.Tau, Window: g.Window, NumClasses: g.K}
	for _, bt := range g.Batches {
		l.Observe(bt)
	}
	for i, c := range l.Counts() {
		if c != g.Counts[i] {
			t.Fatalf("counts %v, PyTorch %v", l.Counts(), g.Counts)
		}
	}
	for i, a := range l.Adjustment() {
		if math.Abs(a-g.Adjustment[i]) > 1e-9*math.Max(1, math.Abs(a)) {
			t.Errorf("adjustment[%d] = %v, PyTorch %v", i, a, g.Adjustment[i])
		}
	}
	n := len(g.Labels)
	logits := make([]float32, len(g.Logits))
	for i, v := range g.Logits {
		logits[i] = float32(v)
	}
	dl := make([]float32, len(logits))
	loss := l.Loss(g.Labels, nil)(logits, dl, n, g.K)
	if math.Abs(loss-g.Loss) > 1e-5 {
		t.Errorf("loss %v, PyTorch %v", loss, g.Loss)
	}
	for i, v := range dl {
		if math.Abs(float64(v)-g.Grad[i]) > 1e-6 {
			t.Errorf("dlogits[%d] = %v, PyTorch %v", i, v, g.Grad[i])
		}
	}
	if float32(g.Logits[0]) != logits[0] {
		t.Error("the loss changed its input logits")
	}
}

// TestLASMasksAbsentClasses: a class absent from the window gets (nearly)
// zero probability and gradient, however large its logit.
func TestLASMasksAbsentClasses(t *testing.T) {
	l := &LAS{Tau: 1, Window: 1, NumClasses: 4}
	l.Observe([]int{0, 0, 9 % 4, 9 % 4}) // classes 0 and 1 present
	l.Observe([]int{2, 3, 3})            // window 1: only classes 2 and 3 remain
	logits := []float32{50, 40, 0, 1}    // absent classes 0 and 1 dominate the raw logits
	dl := make([]float32, 4)
	loss := l.Loss([]int{3}, nil)(logits, dl, 1, 4)
	if dl[0] > 1e-20 || dl[1] > 1e-20 {
		t.Errorf("gradient on absent classes %v, want ≈ 0 (≤ 1e-20)", dl[:2])
	}
	// softmax over the present classes only: log(1)+0 vs log(2)+1
	want := -(math.Log(2) + 1 - math.Log(math.Exp(0)+math.Exp(math.Log(2)+1)))
	if math.Abs(loss-want) > 1e-5 {
		t.Errorf("loss %v, want the two-class loss %v", loss, want)
	}
	// τ = 0 is plain cross-entropy: no masking.
	l0 := &LAS{Tau: 0, Window: 1, NumClasses: 4}
	l0.Observe([]int{3})
	l0.Loss([]int{3}, nil)(logits, dl, 1, 4)
	if !(dl[0] > 0.5) {
		t.Errorf("τ=0: gradient on class 0 %v, want ≈ 1", dl[0])
	}
}

// TestReservoirUniform: after streaming N items through a buffer of M, each
// item is held with probability M/N. Over many seeded trials the inclusion
// counts must fit that within a χ² bound (it fails, for example, for a
// buffer that keeps the first M or replaces with j ~ U{0..M}).
func TestReservoirUniform(t *testing.T) {
	const n, m, trials = 60, 12, 5000
	counts := make([]float64, n)
	r := rand.New(rand.NewPCG(3, 4))
	x := []float32{0}
	for range trials {
		b := NewReservoir(m, 1, r)
		for i := range n {
			x[0] = float32(i)
			b.Add(x, i)
		}
		if b.Len() != m || b.Seen() != n {
			t.Fatalf("len %d seen %d", b.Len(), b.Seen())
		}
		for _, y := range b.Labels() {
			counts[y]++
		}
	}
	p := float64(m) / n
	e := trials * p
	var chi2 float64
	for i, c := range counts {
		chi2 += (c - e) * (c - e) / (e * (1 - p))
		if math.Abs(c-e) > 5*math.Sqrt(e*(1-p)) {
			t.Errorf("item %d kept %v times, expected %v", i, c, e)
		}
	}
	// χ² with ~60 degrees of freedom: mean 60, sd 11; 110 is > 4 sd.
	if chi2 > 110 {
		t.Errorf("χ² = %.1f over %d items: inclusion is not uniform", chi2, n)
	}
	// the replay sample is drawn without replacement
	b := NewReservoir(5, 1, r)
	for i := range 3 {
		b.Add([]float32{float32(i)}, i)
	}
	dy := make([]int, 4)
	if got := b.Sample(make([]float32, 4), dy, r); got != 3 || dy[0]+dy[1]+dy[2] != 3 {
		t.Errorf("sample of 4 from 3 gave %d items %v", got, dy[:got])
	}
}

func TestMetrics(t *testing.T) {
	tests := []struct {
		name       string
		a          [][]float64
		avg, forgt float64
	}{
		{"one task", [][]float64{{0.9}}, 0.9, 0},
		{"no forgetting", [][]float64{{0.8}, {0.8, 0.6}}, 0.7, 0},
		{"three tasks", [][]float64{{0.9}, {0.5, 0.8}, {0.6, 0.4, 0.7}}, (0.6 + 0.4 + 0.7) / 3, ((0.9 - 0.6) + (0.8 - 0.4)) / 2},
		{"max over earlier rows", [][]float64{{0.5}, {0.9, 0.7}, {0.3, 0.7, 1}}, (0.3 + 0.7 + 1) / 3, ((0.9 - 0.3) + 0) / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AverageAccuracy(tt.a); math.Abs(got-tt.avg) > 1e-12 {
				t.Errorf("AverageAccuracy = %v, want %v", got, tt.avg)
			}
			if got := Forgetting(tt.a); math.Abs(got-tt.forgt) > 1e-12 {
				t.Errorf("Forgetting = %v, want %v", got, tt.forgt)
			}
		})
	}
}

func smallSets(t *testing.T, perTrain, perTest int) (*data.Dataset, *data.Dataset) {
	t.Helper()
	tr, err := data.EmbeddedFashion(data.Train)
	if err != nil {
		t.Fatal(err)
	}
	te, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		t.Fatal(err)
	}
	if tr, err = data.StratifiedSample(tr, perTrain, 1); err != nil {
		t.Fatal(err)
	}
	if te, err = data.StratifiedSample(te, perTest, 1); err != nil {
		t.Fatal(err)
	}
	return tr, te
}

// TestRunBehaviour: fine-tuning forgets the first task almost fully in the
// class-incremental stream; replay keeps part of it; LAS runs and reports a
// consistent matrix.
func TestRunBehaviour(t *testing.T) {
	tr, te := smallSets(t, 300, 40)
	res := map[string]*Result{}
	for _, m := range Methods {
		cfg := DefaultConfig()
		cfg.Method, cfg.Buffer, cfg.Train, cfg.Test = m, 200, tr, te
		r, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if len(r.Acc) != 5 || len(r.Acc[4]) != 5 || r.Steps != 5*((600+31)/32) {
			t.Fatalf("%s: matrix %v, %d steps", m, r.Acc, r.Steps)
		}
		if math.Abs(r.FinalAccuracy-r.Seen[4]) > 1e-12 {
			t.Errorf("%s: final average %v ≠ accuracy on all classes %v (tasks have equal test sizes)", m, r.FinalAccuracy, r.Seen[4])
		}
		res[m] = r
	}
	ft, er, las := res["ft"], res["er"], res["las"]
	if ft.LastTaskShare < 0.9 || las.LastTaskShare >= er.LastTaskShare {
		t.Errorf("share of predictions in the last task: ft %.3f (want ≥ 0.9), las %.3f (want < er's %.3f)", ft.LastTaskShare, las.LastTaskShare, er.LastTaskShare)
	}
	if ft.Acc[4][0] >= 0.2 || ft.Forgetting < 0.5 {
		t.Errorf("ft: task 1 accuracy after task 5 %.3f (want < 0.2), forgetting %.3f (want ≥ 0.5)", ft.Acc[4][0], ft.Forgetting)
	}
	if er.Acc[4][0] <= ft.Acc[4][0]+0.1 || er.FinalAccuracy <= ft.FinalAccuracy+0.05 {
		t.Errorf("er keeps no more than ft: task 1 %.3f vs %.3f, final %.3f vs %.3f", er.Acc[4][0], ft.Acc[4][0], er.FinalAccuracy, ft.FinalAccuracy)
	}
	if las.FinalAccuracy <= ft.FinalAccuracy+0.05 {
		t.Errorf("las final %.3f not above ft %.3f", las.FinalAccuracy, ft.FinalAccuracy)
	}
	var sb strings.Builder
	if err := las.WriteText(&sb); err != nil || !strings.Contains(sb.String(), "final average accuracy") {
		t.Errorf("WriteText: %v\n%s", err, sb.String())
	}
}

// TestRunSeeded: the same seed gives the same matrix, another seed another.
func TestRunSeeded(t *testing.T) {
	tr, te := smallSets(t, 30, 10)
	cfg := DefaultConfig()
	cfg.Buffer, cfg.Train, cfg.Test = 50, tr, te
	var got []*Result
	for _, seed := range []uint64{1, 1, 2} {
		cfg.Seed = seed
		r, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if !reflect.DeepEqual(got[0].Acc, got[1].Acc) {
		t.Errorf("seed 1 twice: %v vs %v", got[0].Acc, got[1].Acc)
	}
	if reflect.DeepEqual(got[0].Acc, got[2].Acc) {
		t.Errorf("seeds 1 and 2 gave the same matrix %v", got[0].Acc)
	}
}

func TestRunBadInput(t *testing.T) {
	tr, te := smallSets(t, 4, 2)
	ok := DefaultConfig()
	ok.Train, ok.Test = tr, te
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"method", func(c *Config) { c.Method = "mir" }, "unknown method"},
		{"buffer", func(c *Config) { c.Buffer = 0 }, "needs a buffer"},
		{"window", func(c *Config) { c.Window = 0 }, "window"},
		{"tau", func(c *Config) { c.Tau = math.NaN() }, "τ"},
		{"lr", func(c *Config) { c.LR = 0 }, "learning rate"},
		{"overlap", func(c *Config) { c.Tasks = [][]int{{0, 1}, {1, 2}} }, "already in an earlier task"},
		{"class", func(c *Config) { c.Tasks = [][]int{{0, 10}} }, "outside"},
		{"arch", func(c *Config) { c.Arch = "vgg" }, "unknown architecture"},
		{"no test", func(c *Config) { c.Test = nil }, "test set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			_, err := Run(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	c := ok
	c.Method = "x"
	if _, err := Run(context.Background(), c); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown method: %v does not match ErrUnknown", err)
	}
	c = ok
	c.Method, c.Buffer = "ft", 0 // ft needs no buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, c); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
