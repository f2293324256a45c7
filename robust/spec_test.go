package robust

import (
	"slices"
	"strings"
	"testing"
)

func TestSpecConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Spec)
		err  string
		ckpt []int
	}{
		{"defaults", func(*Spec) {}, "", []int{100, 500, 2500}},
		{"above budget dropped", func(s *Spec) { s.Budget = 500 }, "", []int{100, 500}},
		{"zero checkpoint", func(s *Spec) { s.Checkpoints = []int{0} }, "--checkpoints", nil},
		{"bad norm", func(s *Spec) { s.Norm = "l3" }, "l3", nil},
		{"bad loss", func(s *Spec) { s.Loss = "hinge" }, "hinge", nil},
		{"unknown attack", func(s *Spec) { s.Attacks = []string{"nope"} }, "nope", nil},
		{"bad defense param", func(s *Spec) { s.DefenseParams = []string{"aaa-linear:tau"} }, "--defense-param", nil},
		{"bad attack param", func(s *Spec) { s.AttackParams = []string{"square"} }, "--attack-param", nil},
	} {
		s := DefaultSpec()
		tc.edit(&s)
		cfg, err := s.Config()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want one naming %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(cfg.Checkpoints, tc.ckpt) || cfg.Eps != s.Eps || cfg.Budget != s.Budget {
			t.Errorf("%s: %v, checkpoints %v (want %v), eps %g, budget %d", tc.name, err, cfg.Checkpoints, tc.ckpt, cfg.Eps, cfg.Budget)
		}
	}
}
