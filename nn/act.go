package nn

import (
	"fmt"
	"math"
)

// relu is max(x, 0).
type relu struct {
	y, dx []float32
	// intoPool: the max pooling that follows applies this ReLU (see
	// [pool]), so forward and backward pass values through unchanged.
	intoPool bool
}

func (l *relu) setup(in []int, _ *builder) ([]int, error) { return in, nil }

func (l *relu) forward(x []float32, n int, _ bool) []float32 {
	if l.intoPool {
		return x
	}
	l.y = grow(l.y, len(x))
	y := l.y
	parallelFor(len(x), 1, func(lo, hi int) {
		for i, v := range x[lo:hi] {
			y[lo+i] = max(v, 0)
		}
	})
	return l.y
}

func (l *relu) backward(dy []float32, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	if l.intoPool {
		return dy
	}
	l.dx = grow(l.dx, len(dy))
	y, dx := l.y, l.dx
	parallelFor(len(dy), 1, func(lo, hi int) {
		for i, v := range dy[lo:hi] {
			// Branch-free: the sign pattern of activations is random,
			// so a branch here mispredicts about half the time.
			dx[lo+i] = math.Float32frombits(math.Float32bits(v) & posMask(y[lo+i]))
		}
	})
	return l.dx
}

// dropout zeroes each value with probability rate during training and
// scales the rest by 1/(1-rate); it is the identity at inference.
type dropout struct {
	rate     float64
	st       *state
	mask     []float32
	y, dx    []float32
	training bool
}

func (l *dropout) setup(in []int, b *builder) ([]int, error) {
	if l.rate < 0 || l.rate >= 1 {
		return nil, fmt.Errorf("dropout rate %g outside [0, 1)", l.rate)
	}
	l.st = b.st
	return in, nil
}

func (l *dropout) forward(x []float32, n int, train bool) []float32 {
	l.training = train && l.rate > 0
	if !l.training {
		return x
	}
	l.mask = grow(l.mask, len(x))
	l.y = grow(l.y, len(x))
	scale := float32(1 / (1 - l.rate))
	for i, v := range x {
		if l.st.rng.Float64() < l.rate {
			l.mask[i] = 0
		} else {
			l.mask[i] = scale
		}
		l.y[i] = v * l.mask[i]
	}
	return l.y
}

func (l *dropout) backward(dy []float32, needDX bool) []float32 {
	if !needDX || !l.training {
		return dy
	}
	l.dx = grow(l.dx, len(dy))
	for i, v := range dy {
		l.dx[i] = v * l.mask[i]
	}
	return l.dx
}

// flatten reshapes each sample to a vector; with NHWC activations this is free.
type flatten struct{}

func (flatten) setup(in []int, _ *builder) ([]int, error) { return []int{prod(in)}, nil }

func (flatten) forward(x []float32, _ int, _ bool) []float32 { return x }

func (flatten) backward(dy []float32, _ bool) []float32 { return dy }

// residual computes body(x) + shortcut(x), with an identity shortcut when
// the shortcut chain is empty.
type residual struct {
	body, short seq
	y, dx       []float32
}

func (l *residual) setup(in []int, b *builder) ([]int, error) {
	prefix := b.prefix
	b.prefix = prefix + "body."
	out, err := l.body.setup(in, b)
	if err != nil {
		return nil, err
	}
	b.prefix = prefix + "shortcut."
	sout, err := l.short.setup(in, b)
	b.prefix = prefix
	if err != nil {
		return nil, err
	}
	if prod(out) != prod(sout) || len(out) != len(sout) {
		return nil, fmt.Errorf("residual body output %v does not match shortcut output %v", out, sout)
	}
	return out, nil
}

func (l *residual) forward(x []float32, n int, train bool) []float32 {
	a := l.body.forward(x, n, train)
	s := x
	if len(l.short) > 0 {
		s = l.short.forward(x, n, train)
	}
	l.y = grow(l.y, len(a))
	for i := range a {
		l.y[i] = a[i] + s[i]
	}
	return l.y
}

func (l *residual) backward(dy []float32, needDX bool) []float32 {
	da := l.body.backward(dy, true)
	ds := dy
	if len(l.short) > 0 {
		ds = l.short.backward(dy, true)
	}
	if !needDX {
		return nil
	}
	l.dx = grow(l.dx, len(da))
	for i := range da {
		l.dx[i] = da[i] + ds[i]
	}
	return l.dx
}
