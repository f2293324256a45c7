package train

import (
	"fmt"
	"math"
	"sort"
)

// Schedule gives the learning rate at a step out of total steps.
type Schedule interface {
	LR(step, total int) float64
}

// Constant keeps the learning rate fixed.
type Constant struct{ Base float64 }

// LR implements [Schedule].
func (s Constant) LR(int, int) float64 { return s.Base }

// Cosine anneals from Base to Min along half a cosine over the run, updated
// every step: lr_t = Min + (Base−Min)·½(1+cos(π t/T)). Warmup steps, if any,
// ramp linearly from 0 to Base first.
type Cosine struct {
	Base, Min float64
	Warmup    int
}

// LR implements [Schedule].
func (s Cosine) LR(step, total int) float64 {
	if step < s.Warmup {
		return s.Base * float64(step+1) / float64(s.Warmup)
	}
	T := max(total-s.Warmup, 1)
	t := float64(step-s.Warmup) / float64(T)
	return s.Min + (s.Base-s.Min)*0.5*(1+math.Cos(math.Pi*t))
}

// Step multiplies Base by Gamma at each milestone, given as fractions of the
// run (0.5 and 0.75 are the ×0.1 milestones of many papers).
type Step struct {
	Base       float64
	Gamma      float64
	Milestones []float64
}

// LR implements [Schedule].
func (s Step) LR(step, total int) float64 {
	lr := s.Base
	for _, m := range s.Milestones {
		if float64(step) >= m*float64(total) {
			lr *= s.Gamma
		}
	}
	return lr
}

// ParseSchedule returns the schedule named "constant", "cosine" or "step"
// with base learning rate lr.
func ParseSchedule(name string, lr float64) (Schedule, error) {
	switch name {
	case "constant", "":
		return Constant{lr}, nil
	case "cosine":
		return Cosine{Base: lr}, nil
	case "step":
		m := []float64{0.5, 0.75}
		sort.Float64s(m)
		return Step{Base: lr, Gamma: 0.1, Milestones: m}, nil
	}
	return nil, fmt.Errorf("train: unknown schedule %q (constant, cosine, step)", name)
}
