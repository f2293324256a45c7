package tensor

import (
	"errors"
	"fmt"
	"strings"
)

// Decomposition is a fitted low-parameter form of a tensor.
type Decomposition interface {
	// Shape is the shape of the represented tensor.
	Shape() []int
	// NumParams is the number of stored values.
	NumParams() int
	// Reconstruct returns the full tensor.
	Reconstruct() *Dense
}

var (
	_ Decomposition = (*Train)(nil)
	_ Decomposition = (*Ring)(nil)
	_ Decomposition = (*Tucker)(nil)
)

// Methods lists the names [Fit] accepts: tensor train, semi-tensor train,
// tensor ring, semi-tensor ring, Tucker and semi-tensor Tucker.
var Methods = []string{"tt", "stt", "tr", "str", "tucker", "sttu"}

// ErrUnknown is returned (wrapped) for a method name not in [Methods].
var ErrUnknown = errors.New("tensor: unknown decomposition")

// Spec names a decomposition and its sizes.
type Spec struct {
	// Method is one of [Methods].
	Method string
	// Rank is the uniform rank (TT/TR links, Tucker modes), a multiple of
	// T for the semi-tensor methods; ranks larger than an unfolding's are
	// capped.
	Rank int
	// T is the STP factor of stt, str and sttu (≥ 1; 1 gives the ordinary
	// decomposition); tt, tr and tucker use 1 whatever it is.
	T int
	// Iters is the number of HOOI sweeps after the HOSVD of tucker and
	// sttu.
	Iters int
}

func (s Spec) t() int {
	switch s.Method {
	case "stt", "str", "sttu":
		return s.T
	}
	return 1
}

// String names the method with its STP factor and rank ("stt t=2 r=8").
func (s Spec) String() string {
	if s.t() > 1 {
		return fmt.Sprintf("%s t=%d r=%d", s.Method, s.T, s.Rank)
	}
	return fmt.Sprintf("%s r=%d", s.Method, s.Rank)
}

func (s Spec) check() error {
	for _, m := range Methods {
		if m == s.Method {
			return nil
		}
	}
	return fmt.Errorf("%w %q (want one of %s)", ErrUnknown, s.Method, strings.Join(Methods, ", "))
}

// Params returns the number of values the decomposition of a tensor of
// the given shape stores, without fitting it.
func (s Spec) Params(shape []int) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	if _, err := size(shape); err != nil {
		return 0, err
	}
	t := s.t()
	sum := func(plans [][]int) int {
		n := 0
		for _, p := range plans {
			n += p[0] * p[1] * p[2]
		}
		return n
	}
	switch s.Method {
	case "tt", "stt":
		plans, err := trainPlan(shape, s.Rank, t)
		if err != nil {
			return 0, err
		}
		return sum(plans), nil
	case "tr", "str":
		r0, r1, zshape, err := ringPlan(shape, s.Rank, t)
		if err != nil {
			return 0, err
		}
		plans, err := trainPlan(zshape, s.Rank, t)
		if err != nil {
			return 0, err
		}
		return r0*shape[0]*r1 + sum(plans), nil
	}
	rq, err := tuckerPlan(shape, s.Rank, t)
	if err != nil {
		return 0, err
	}
	core, fac := 1, 0
	for n, r := range rq {
		core *= r * t
		fac += shape[n] / t * r
	}
	return core + fac, nil
}

// Fit fits the decomposition s to x.
func Fit(x *Dense, s Spec) (Decomposition, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	t := s.t()
	switch s.Method {
	case "tt", "stt":
		return STT(x, s.Rank, t)
	case "tr", "str":
		return STR(x, s.Rank, t)
	}
	return STTu(x, s.Rank, t, s.Iters)
}

// MaxRank returns the largest rank (a multiple of the STP factor) whose
// decomposition of a tensor of the given shape stores at most budget
// values, and that count. Ranks beyond which the capped decomposition no
// longer grows are not tried.
func (s Spec) MaxRank(shape []int, budget int) (rank, params int, err error) {
	if err := s.check(); err != nil {
		return 0, 0, err
	}
	t := s.t()
	prev := -1
	for r := t; ; r += t {
		s.Rank = r
		p, err := s.Params(shape)
		if err != nil {
			return 0, 0, err
		}
		if p > budget || p == prev {
			break
		}
		rank, params, prev = r, p, p
	}
	if rank == 0 {
		s.Rank = t
		p, _ := s.Params(shape)
		return 0, 0, fmt.Errorf("tensor: %s of %v: the smallest rank (%d) stores %d values, over the budget of %d", s.Method, shape, t, p, budget)
	}
	return rank, params, nil
}

// FitBudget fits s to x at the largest rank ([Spec.MaxRank]) that stores
// at most budget values; s.Rank is ignored and the fitted spec returned.
func FitBudget(x *Dense, s Spec, budget int) (Decomposition, Spec, error) {
	r, _, err := s.MaxRank(x.Shape, budget)
	if err != nil {
		return nil, s, err
	}
	s.Rank = r
	d, err := Fit(x, s)
	return d, s, err
}
