package robust

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/model"
)

// logitsOnly hides a network's features and head.
type logitsOnly struct{ c model.Classifier }

func (m logitsOnly) InputShape() []int { return m.c.InputShape() }
func (m logitsOnly) NumClasses() int   { return m.c.NumClasses() }
func (m logitsOnly) Logits(ctx context.Context, dst, x []float32) error {
	return m.c.Logits(ctx, dst, x)
}

// UniG, a defense built into the model, runs through Run like an output
// defense; a model without features is an error before any work.
func TestRunUniG(t *testing.T) {
	net, x, y := tiny(t, 8)
	cfg := named(t, []string{"square"}, []string{"none", "unig"}, nil)
	cfg.Norm, cfg.Eps, cfg.Budget, cfg.Seed = attack.LInf, 0.2, 20, 3
	r, err := Run(context.Background(), net, x, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Clean) != 2 || r.Clean[1].Defense != "unig" || r.Clean[1].Summary.Failed != 0 || r.Pairs[1].Summary.Failed != 0 {
		t.Fatalf("unig clean %+v", r.Clean)
	}
	if r.Clean[1].Summary.LogitChange == 0 {
		t.Error("unig changed no output")
	}
	_, err = Run(context.Background(), logitsOnly{net}, x, y, cfg)
	if !errors.Is(err, defense.ErrNoHead) || !strings.Contains(err.Error(), `defense "unig"`) {
		t.Errorf("model without features: %v, want ErrNoHead naming the defense", err)
	}
}
