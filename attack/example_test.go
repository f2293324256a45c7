package attack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/model"
)

// toyModel is a linear classifier on 1×8×8 images with smooth weights,
// standing in for a trained network.
type toyModel struct{ w, b []float32 }

func newToyModel() *toyModel {
	rng := rand.New(rand.NewPCG(1, 2))
	m := &toyModel{w: make([]float32, 10*64), b: make([]float32, 10)}
	for c := range 10 {
		var grid [16]float32
		for j := range grid {
			grid[j] = float32(rng.NormFloat64())
		}
		for p := range 64 {
			m.w[c*64+p] = grid[(p/8/2)*4+(p%8)/2] // 2×2 blocks
		}
	}
	return m
}

func (m *toyModel) InputShape() []int { return []int{1, 8, 8} }
func (m *toyModel) NumClasses() int   { return 10 }
func (m *toyModel) Logits(_ context.Context, dst, x []float32) error {
	n, err := model.CheckBatch(m, dst, x, 10)
	if err != nil {
		return err
	}
	for i := range n {
		for c := range 10 {
			s := m.b[c]
			for p := range 64 {
				s += m.w[c*64+p] * x[i*64+p]
			}
			dst[i*10+c] = s
		}
	}
	return nil
}

func (m *toyModel) InputGrad(ctx context.Context, gx, x []float32, loss model.LossFunc) (float64, error) {
	n := len(x) / 64
	z, dz := make([]float32, n*10), make([]float32, n*10)
	if err := m.Logits(ctx, z, x); err != nil {
		return 0, err
	}
	l := loss(z, dz, n, 10)
	clear(gx)
	for i := range n {
		for c := range 10 {
			for p := range 64 {
				gx[i*64+p] += dz[i*10+c] * m.w[c*64+p]
			}
		}
	}
	return l, nil
}

// toyData returns n random images labelled by the model itself.
func toyData(m model.Classifier, n int) ([]float32, []int) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, n*64)
	for j := range x {
		x[j] = rng.Float32()
	}
	z := make([]float32, n*10)
	_ = m.Logits(context.Background(), z, x)
	y := make([]int, n)
	for i := range y {
		for c := range 10 {
			if z[i*10+c] > z[i*10+y[i]] {
				y[i] = c
			}
		}
	}
	return x, y
}

// Square L∞ against a black box with a 500-query budget and 8-bit inputs,
// reporting robust accuracy after 100 and 500 queries as in the AAA
// protocol.
func Example() {
	m := newToyModel()
	x, y := toyData(m, 50)
	o, err := attack.NewOracle(m, attack.OracleOptions{Budget: 500, Quantize: true})
	if err != nil {
		panic(err)
	}
	sq := attack.NewSquare()
	sq.Eps = 0.1
	res, err := sq.Run(context.Background(), o, x, y, attack.RunOptions{Rand: rand.New(rand.NewPCG(0, 0))})
	if err != nil {
		panic(err)
	}
	_, median, fooled := res.QueryStats(0)
	fmt.Printf("robust accuracy: %.2f after 100 queries, %.2f after 500\n", res.RobustAccuracy(100), res.RobustAccuracy(500))
	fmt.Printf("fooled %d of %d, median %v queries\n", fooled, res.N(), median)
	// Output:
	// robust accuracy: 0.42 after 100 queries, 0.36 after 500
	// fooled 32 of 50, median 27.5 queries
}

// The oracle counts every query per sample and refuses queries over budget.
func ExampleOracle_Query() {
	o, _ := attack.NewOracle(newToyModel(), attack.OracleOptions{Budget: 2})
	o.Reset(1)
	x := make([]float32, 64)
	scores := make([]float32, 10)
	for range 3 {
		err := o.Query(context.Background(), []int{0}, x, scores)
		fmt.Println(o.Count(0), err)
	}
	// Output:
	// 1 <nil>
	// 2 <nil>
	// 2 attack: query budget exhausted for sample 0 (2 of 2 used)
}

// Attacks are created by name with the spec's defaults; their settings can
// be overridden from JSON, as a command line does.
func ExampleNew() {
	a, err := attack.New("square")
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal([]byte(`{"eps": 0.1, "p_init": 0.3}`), a); err != nil {
		panic(err)
	}
	t := a.ThreatModel()
	fmt.Println(a.Name(), t.Norm, t.Eps, a.(*attack.Square).PInit)
	fmt.Println(attack.Names())
	// Output:
	// square linf 0.1 0.3
	// [apgd-ce apgd-dlr apgd-t autoattack bandits bi-square fgsm mi-fgsm nes pgd pgd-l2 querynet signhunter simba simba-dct square square-l2 up-square]
}

// The objectives attacks minimise, on scores z = (1, 3, 2) with label 0.
func ExampleLoss_Value() {
	z := []float32{1, 3, 2}
	fmt.Printf("margin %.4f\n", attack.LossMargin.Value(z, 0, false))
	fmt.Printf("log p_0 %.4f\n", attack.LossCE.Value(z, 0, false))
	fmt.Printf("p_0 %.4f\n", attack.LossProb.Value(z, 0, false))
	fmt.Printf("targeted at class 2, margin %.4f\n", attack.LossMargin.Value(z, 2, true))
	// Output:
	// margin -2.0000
	// log p_0 -2.4076
	// p_0 0.0900
	// targeted at class 2, margin 1.0000
}

// PGD on a differentiable model, as adversarial training uses it.
func ExamplePGD_Perturb() {
	m := newToyModel()
	x, y := toyData(m, 20)
	pgd := attack.NewPGD()
	pgd.Eps = 0.1
	adv := make([]float32, len(x))
	if err := pgd.Perturb(context.Background(), m, adv, x, y, rand.New(rand.NewPCG(1, 1))); err != nil {
		panic(err)
	}
	z := make([]float32, 20*10)
	_ = m.Logits(context.Background(), z, adv)
	correct := 0
	for i := range y {
		best := 0
		for c := range 10 {
			if z[i*10+c] > z[i*10+best] {
				best = c
			}
		}
		if best == y[i] {
			correct++
		}
	}
	fmt.Printf("accuracy under PGD: %d/20\n", correct)
	// Output:
	// accuracy under PGD: 4/20
}

// Progress reports can drive a progress bar.
func ExampleRunOptions_progress() {
	m := newToyModel()
	x, y := toyData(m, 10)
	o, _ := attack.NewOracle(m, attack.OracleOptions{Budget: 50})
	last := attack.Progress{}
	opts := attack.RunOptions{
		Rand:     rand.New(rand.NewPCG(0, 0)),
		Progress: func(p attack.Progress) { last = p },
	}
	a := attack.NewSimBA()
	a.Eps = 0.05
	if _, err := a.Run(context.Background(), o, x, y, opts); err != nil {
		panic(err)
	}
	fmt.Println(last.Attack, last.N, last.Active)
	// Output:
	// simba 10 0
}
