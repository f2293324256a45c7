package attack

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/zoo"
)

// fashion returns the embedded model and its first n test images.
func fashion(t *testing.T, n int) (model.Classifier, []float32, []int) {
	t.Helper()
	net, _, err := zoo.Default()
	if err != nil {
		t.Fatal(err)
	}
	test, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		t.Fatal(err)
	}
	return net, test.X[:n*test.SampleSize()], test.Y[:n]
}

// smallQueryNet is QueryNet with ε = 0.1 and training cut short for tests.
func smallQueryNet(norm Norm, eps float64) *QueryNet {
	a := NewQueryNet()
	a.Norm, a.Eps = norm, eps
	a.InitSteps, a.RoundSteps, a.Batch = 10, 1, 16
	return a
}

// TestQueryNetBudgetAndBall: every query QueryNet makes, and every
// adversarial example it returns, lies in the ε ball and in [0, 1]
// (the oracle checks [0, 1] in tests); no sample exceeds its budget, the
// result's counts are the oracle's, and a sample never fooled used its
// whole budget (1 clean + 1 initialisation + 1 per iteration).
func TestQueryNetBudgetAndBall(t *testing.T) {
	net, x, y := fashion(t, 4)
	for _, c := range []struct {
		norm Norm
		eps  float64
	}{{LInf, 0.05}, {L2, 1}} {
		const budget = 20
		rec := &recorder{Classifier: net}
		o, err := NewOracle(rec, OracleOptions{Budget: budget, Trace: true})
		if err != nil {
			t.Fatal(err)
		}
		a := smallQueryNet(c.norm, c.eps)
		res, err := a.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(1)})
		if err != nil {
			t.Fatal(err)
		}
		d := 784
		within := func(v []float32, i int) bool {
			x0 := x[i*d : (i+1)*d]
			if c.norm == LInf {
				for j, u := range v {
					if math.Abs(float64(u)-float64(x0[j])) > c.eps || u < 0 || u > 1 {
						return false
					}
				}
				return true
			}
			return dist2(v, x0) <= c.eps
		}
		tr := o.Trace()
		if len(tr) != len(rec.inputs) {
			t.Fatalf("%v: %d trace entries, %d model inputs", c.norm, len(tr), len(rec.inputs))
		}
		for q, e := range tr {
			if !within(rec.inputs[q], e.Sample) {
				t.Fatalf("%v: query %d of sample %d leaves the ε ball", c.norm, e.Query, e.Sample)
			}
		}
		for i := range y {
			if !within(res.Adv[i*d:(i+1)*d], i) {
				t.Errorf("%v: adversarial example %d leaves the ε ball", c.norm, i)
			}
			if res.Queries[i] != o.Count(i) || o.Count(i) > budget {
				t.Errorf("%v: sample %d: %d queries reported, oracle counted %d (budget %d)", c.norm, i, res.Queries[i], o.Count(i), budget)
			}
			if res.CleanCorrect[i] && !res.Success[i] && res.Failed[i] == nil && res.Queries[i] != budget {
				t.Errorf("%v: unfooled sample %d used %d of %d queries", c.norm, i, res.Queries[i], budget)
			}
			if res.Success[i] && (res.FooledAt[i] < 1 || res.FooledAt[i] > res.Queries[i]) {
				t.Errorf("%v: sample %d fooled at %d of %d queries", c.norm, i, res.FooledAt[i], res.Queries[i])
			}
		}
	}
}

// TestQueryNetBeatsSquare: on a small non-linear model of 12×12 images,
// ℓ∞ ε = 0.05 and a budget of 50 queries, QueryNet (default settings,
// shorter training)
// fools at least as many samples as Square over three seeds, with fewer
// queries per success. Measured when written: see the log line.
func TestQueryNetBeatsSquare(t *testing.T) {
	m := newMLP(3, []int{1, 12, 12}, 16, 5)
	x, y := dataset(m, 30, 4, 0.2)
	const budget = 50
	fooled := map[string]int{}
	queries := map[string]float64{}
	for seed := uint64(1); seed <= 3; seed++ {
		q := NewQueryNet()
		q.Eps, q.InitSteps, q.RoundSteps = 0.05, 50, 3
		for _, a := range []Attack{q, &Square{Threat: Threat{Norm: LInf, Eps: 0.05}, PInit: 0.05, NIters: 10000}} {
			o, err := NewOracle(m, OracleOptions{Budget: budget})
			if err != nil {
				t.Fatal(err)
			}
			res, err := a.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(seed)})
			if err != nil {
				t.Fatal(err)
			}
			mean, _, c := res.QueryStats(budget)
			fooled[a.Name()] += c
			if c > 0 {
				queries[a.Name()] += mean * float64(c)
			}
		}
	}
	t.Logf("fooled: %v, queries of successes: %v", fooled, queries)
	if fooled["querynet"] < fooled["square"] {
		t.Errorf("QueryNet fooled %d samples, Square %d: want at least as many", fooled["querynet"], fooled["square"])
	}
	if fooled["querynet"] == 0 || queries["querynet"]/float64(fooled["querynet"]) >= queries["square"]/float64(max(fooled["square"], 1)) {
		t.Errorf("QueryNet mean queries per success (%v over %d) not below Square's (%v over %d)", queries["querynet"], fooled["querynet"], queries["square"], fooled["square"])
	}
}

// TestQueryNetDeterministic: the same seed gives the same result bit for
// bit; another seed a different one.
func TestQueryNetDeterministic(t *testing.T) {
	net, x, y := fashion(t, 4)
	run := func(seed uint64) *Result {
		o, err := NewOracle(net, OracleOptions{Budget: 15})
		if err != nil {
			t.Fatal(err)
		}
		res, err := smallQueryNet(LInf, 0.05).Run(context.Background(), o, x, y, RunOptions{Rand: seeded(seed)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b, c := run(7), run(7), run(8)
	if !reflect.DeepEqual(a, b) {
		t.Error("two runs with seed 7 differ")
	}
	if reflect.DeepEqual(a.Adv, c.Adv) {
		t.Error("seeds 7 and 8 gave the same adversarial examples")
	}
}

// TestQueryNetConfig: the registry builds it, JSON overrides its settings
// (as robust.Run's copies do), and bad settings are errors before any
// query.
func TestQueryNetConfig(t *testing.T) {
	a, err := New("querynet")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`{"eps": 0.1, "surrogates": ["mlp"], "square_plus": false}`), a); err != nil {
		t.Fatal(err)
	}
	if q := a.(*QueryNet); q.Eps != 0.1 || !reflect.DeepEqual(q.Surrogates, []string{"mlp"}) || q.SquarePlus || q.NIters != 10000 {
		t.Errorf("after JSON override: %+v", q)
	}
	net, x, y := fashion(t, 2)
	for _, c := range []struct {
		name string
		edit func(q *QueryNet)
		want string
	}{
		{"no surrogates", func(q *QueryNet) { q.Surrogates = nil }, "no surrogates"},
		{"unknown surrogate", func(q *QueryNet) { q.Surrogates = []string{"resnet"} }, `unknown surrogate "resnet"`},
		{"zero batch", func(q *QueryNet) { q.Batch = 0 }, "batch 0"},
		{"negative lr", func(q *QueryNet) { q.LR = -1 }, "lr -1"},
		{"plus trials", func(q *QueryNet) { q.PlusTrials = 0 }, "plus_trials"},
		{"adaptive loss", func(q *QueryNet) { q.Loss = LossUp }, "adaptive"},
		{"p_init", func(q *QueryNet) { q.PInit = 2 }, "p_init"},
	} {
		q := NewQueryNet()
		c.edit(q)
		o, err := NewOracle(net, OracleOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = q.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(1)})
		if err == nil || !strings.Contains(err.Error(), c.want) || o.Total() != 0 {
			t.Errorf("%s: error %v after %d queries, want one containing %q before any", c.name, err, o.Total(), c.want)
		}
	}
	// Inputs that are not images are refused.
	m := newLinear(1, []int{12}, 3, 1)
	o, _ := NewOracle(m, OracleOptions{})
	if _, err := NewQueryNet().Run(context.Background(), o, make([]float32, 12), []int{0}, RunOptions{Rand: seeded(1)}); err == nil || !strings.Contains(err.Error(), "image") {
		t.Errorf("vector inputs: %v", err)
	}
}

// TestQueryNetSurrogatesTrain: a surrogate trained on a buffer of pairs
// lowers its mean squared error, and the buffer keeps the last pairs.
func TestQueryNetSurrogatesTrain(t *testing.T) {
	net, x, _ := fashion(t, 64)
	z := make([]float32, 64*10)
	if err := net.Logits(context.Background(), z, x); err != nil {
		t.Fatal(err)
	}
	buf := &pairBuffer{d: 784, k: 10, capacity: 48}
	for i := range 64 {
		buf.add(x[i*784:(i+1)*784], z[i*10:(i+1)*10])
	}
	if buf.n != 48 || !reflect.DeepEqual(buf.x[:784], x[48*784:49*784]) {
		t.Fatalf("buffer holds %d pairs, slot 0 not the 49th pair", buf.n)
	}
	q := NewQueryNet()
	q.StopLoss, q.Batch = 0, 16
	for _, name := range QueryNetSurrogates {
		s, err := newSurrogate(name, 1, 28, 28, 10, 1, q.Batch)
		if err != nil {
			t.Fatal(err)
		}
		first, err := s.train(context.Background(), q, buf, seeded(1), 1)
		if err != nil {
			t.Fatal(err)
		}
		last, err := s.train(context.Background(), q, buf, seeded(2), 60)
		if err != nil {
			t.Fatal(err)
		}
		if !(last < first/2) {
			t.Errorf("%s: MSE %v after training, %v before", name, last, first)
		}
	}
}

// TestQueryNetTargetedAndCancel: targeted QueryNet only counts a sample as
// fooled when the model predicts its target; a cancelled context returns
// the partial result with the context's error.
func TestQueryNetTargetedAndCancel(t *testing.T) {
	m := newMLP(3, []int{1, 12, 12}, 16, 5)
	x, y := dataset(m, 8, 4, 0.2)
	tg, err := RandomTargets(seeded(9), y, 5)
	if err != nil {
		t.Fatal(err)
	}
	q := smallQueryNet(LInf, 0.2)
	o, _ := NewOracle(m, OracleOptions{Budget: 40})
	res, err := q.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(1), Targets: tg})
	if err != nil {
		t.Fatal(err)
	}
	z := make([]float32, 5)
	fooled := 0
	for i := range y {
		if !res.Success[i] {
			continue
		}
		fooled++
		if err := m.Logits(context.Background(), z, res.Adv[i*144:(i+1)*144]); err != nil {
			t.Fatal(err)
		}
		if got := Margin(z, tg[i]); got <= 0 {
			t.Errorf("sample %d counted fooled, but target %d has margin %v", i, tg[i], got)
		}
	}
	if fooled == 0 {
		t.Error("targeted QueryNet fooled nothing at ε = 0.2")
	}
	ctx, cancel := context.WithCancel(context.Background())
	o2, _ := NewOracle(m, OracleOptions{Budget: 40})
	rounds := 0
	res, err = q.Run(ctx, o2, x, y, RunOptions{Rand: seeded(1), Progress: func(Progress) {
		if rounds++; rounds == 3 {
			cancel()
		}
	}})
	if err != context.Canceled || res == nil || o2.Total() == 0 || o2.Total() >= 8*40 {
		t.Errorf("cancelled run: error %v, result %v, %d queries", err, res != nil, o2.Total())
	}
}
