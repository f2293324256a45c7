package main

import (
	"context"
	"math/rand/v2"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

// stepper is one PGD-AT training step on a fixed random batch.
type stepper struct {
	net *nn.Network
	obj *train.AdversarialObjective
	opt train.Optimizer
	x   []float32
	y   []int
}

func newStepper(arch string, batch, pgdSteps int) (*stepper, error) {
	spec, err := nn.SpecFor(arch, []int{1, 28, 28}, 10)
	if err != nil {
		return nil, err
	}
	net, err := nn.New(spec, 1)
	if err != nil {
		return nil, err
	}
	obj, err := train.NewAdversarialObjective(train.Adversarial{Method: "pgd", Eps: 0.1, Steps: pgdSteps, Seed: 1})
	if err != nil {
		return nil, err
	}
	opt, err := train.NewSGD(0.01, 0.9, 5e-4, false)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(1, 1))
	s := &stepper{net: net, obj: obj, opt: opt, x: make([]float32, batch*784), y: make([]int, batch)}
	for i := range s.x {
		s.x[i] = r.Float32()
	}
	for i := range s.y {
		s.y[i] = r.IntN(10)
	}
	return s, nil
}

// step runs the inner attack and one SGD step.
func (s *stepper) step(ctx context.Context) error {
	var inner error
	_, err := s.opt.Step(s.net, func() (float64, error) {
		s.net.ZeroGrad()
		l, _, err := s.obj.BatchLoss(ctx, s.net, s.x, s.y, true)
		inner = err
		return l, err
	})
	if inner != nil {
		return inner
	}
	return err
}
