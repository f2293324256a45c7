package robust

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/zoo"
)

// TestWhiteBoxAttacks: white-box attacks reach the undefended model's
// gradients (defense none), AutoAttack's per-sample components reach the
// report and its text, and a defended output is a clear error.
func TestWhiteBoxAttacks(t *testing.T) {
	net, _, err := zoo.Default()
	if err != nil {
		t.Fatal(err)
	}
	test, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		t.Fatal(err)
	}
	x, y := test.X[:8*784], test.Y[:8]
	cfg := named(t, []string{"apgd-ce", "autoattack"}, []string{"none"}, nil)
	cfg.Attacks[1].(*attack.AutoAttack).Iters = 5
	cfg.Attacks[1].(*attack.AutoAttack).SquareQueries = 20
	cfg.Norm, cfg.Eps, cfg.Budget, cfg.Seed = attack.LInf, 0.05, 400, 1
	rep, err := Run(context.Background(), net, x, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	by := 0
	for _, s := range rep.Pairs[1].Samples {
		if s.By != "" {
			by++
			if s.FooledAt < 0 || !s.CleanCorrect {
				t.Errorf("sample %d: by %q but fooled at %d, clean correct %v", s.Index, s.By, s.FooledAt, s.CleanCorrect)
			}
		}
	}
	if by == 0 {
		t.Fatalf("no sample attributed to an AutoAttack component: %+v", rep.Pairs[1].Samples)
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "autoattack vs none: samples fooled by each component: apgd-ce") {
		t.Errorf("text report lacks the component counts:\n%s", b.String())
	}

	cfg = named(t, []string{"apgd-ce"}, []string{"aaa-linear"}, nil)
	cfg.Eps, cfg.Budget = 0.3, 50
	if _, err := Run(context.Background(), net, x, y, cfg); !errors.Is(err, attack.ErrNotDifferentiable) {
		t.Fatalf("white-box attack on a defended output: error %v, want ErrNotDifferentiable", err)
	}
}
