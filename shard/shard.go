// Package shard splits a long evaluation into independent jobs and checks
// that their results cover it exactly once before they are merged. A
// [Spec] "i/N" selects the samples (or runs) whose index is i modulo N, so
// N machines (for example a Kubernetes Indexed Job) each run one shard and
// a merge step combines their reports. The robustness evaluation, the OoD
// benchmark and the flat-minima reproduction all shard this way.
package shard

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Spec is shard Index of Count; the zero value and {0, 1} mean the whole
// evaluation.
type Spec struct {
	Index int `json:"shard"`
	Count int `json:"shards"`
}

// MaxCount is the largest number of shards a Spec may have; it bounds the
// memory a merge spends on checking coverage of untrusted shard files.
const MaxCount = 1 << 16

// ErrSpec is matched (errors.Is) by every error about a malformed shard.
var ErrSpec = errors.New("shard: invalid shard")

// Parse reads "i/N" with 0 ≤ i < N; the empty string is the whole
// evaluation, {0, 1}.
func Parse(s string) (Spec, error) {
	if s == "" {
		return Spec{0, 1}, nil
	}
	var sp Spec
	if _, err := fmt.Sscanf(s, "%d/%d", &sp.Index, &sp.Count); err != nil || sp.String() != s {
		return Spec{}, fmt.Errorf("%w %q: want i/N with 0 ≤ i < N, e.g. 0/4", ErrSpec, s)
	}
	if err := sp.Validate(); err != nil {
		return Spec{}, err
	}
	return sp, nil
}

// Validate checks 0 ≤ Index < Count (the zero value counts as {0, 1}).
func (s Spec) Validate() error {
	s = s.norm()
	if s.Count < 1 || s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("%w %d/%d: want i/N with 0 ≤ i < N", ErrSpec, s.Index, s.Count)
	}
	if s.Count > MaxCount {
		return fmt.Errorf("%w %d/%d: at most %d shards", ErrSpec, s.Index, s.Count, MaxCount)
	}
	return nil
}

func (s Spec) norm() Spec {
	if s.Count == 0 && s.Index == 0 {
		return Spec{0, 1}
	}
	return s
}

// String returns "i/N".
func (s Spec) String() string {
	s = s.norm()
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Whole reports whether the spec selects everything.
func (s Spec) Whole() bool { return s.norm().Count == 1 }

// Contains reports whether index i belongs to the shard.
func (s Spec) Contains(i int) bool {
	s = s.norm()
	return i%s.Count == s.Index
}

// Indices returns the indices below n that belong to the shard, ascending.
func (s Spec) Indices(n int) []int {
	s = s.norm()
	var idx []int
	for i := s.Index; i < n; i += s.Count {
		idx = append(idx, i)
	}
	return idx
}

// CheckCover checks that specs (one per report to be merged) are shards of
// one split that cover it exactly once: the same Count, no index twice, none
// missing. Its error names the first problem.
func CheckCover(specs []Spec) error {
	if len(specs) == 0 {
		return fmt.Errorf("%w: nothing to merge", ErrSpec)
	}
	if err := specs[0].Validate(); err != nil {
		return fmt.Errorf("report 1: %w", err)
	}
	n := specs[0].norm().Count
	seen := make([]bool, n)
	for k, s := range specs {
		s = s.norm()
		if err := s.Validate(); err != nil {
			return fmt.Errorf("report %d: %w", k+1, err)
		}
		if s.Count != n {
			return fmt.Errorf("%w: report %d is shard %s, report 1 of %d shards", ErrSpec, k+1, s, n)
		}
		if seen[s.Index] {
			return fmt.Errorf("%w: shard %s given twice", ErrSpec, s)
		}
		seen[s.Index] = true
	}
	var missing []string
	for i, ok := range seen {
		if !ok {
			missing = append(missing, Spec{i, n}.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing shards %s", ErrSpec, strings.Join(slices.Clip(missing), ", "))
	}
	return nil
}

// Set parses s as [Parse] does, so a *Spec is a command-line flag value
// (flag.Value and pflag.Value).
func (s *Spec) Set(v string) error {
	sp, err := Parse(v)
	if err != nil {
		return err
	}
	*s = sp
	return nil
}

// Type names the flag value's syntax in help text.
func (*Spec) Type() string { return "i/N" }
