package repro

import (
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/shard"
)

// RunFile is the run file of one shard of a sharded reproduction ("repro
// flat", "repro at", "repro fngd", "repro continual"): the shard, the setup
// that defines the runs, and the runs of the shard.
type RunFile[R any] struct {
	shard.Spec
	Setup string `json:"setup"`
	Runs  []R    `json:"runs"`
}

// writeRunFile saves the runs of one shard atomically for a later merge.
func writeRunFile[R any](name, path string, sh shard.Spec, setup string, runs []R) error {
	b, err := json.MarshalIndent(RunFile[R]{Spec: sh, Setup: setup, Runs: runs}, "", " ")
	if err != nil {
		return fmt.Errorf("repro %s: %w", name, err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("repro %s: %w", name, err)
	}
	return nil
}

// DecodeRunFile decodes one run file written by a sharded reproduction's
// --out, checking its shard and that it names its setup.
func DecodeRunFile[R any](b []byte) (*RunFile[R], error) {
	var f RunFile[R]
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("not a run file of a reproduction's --out: %w", err)
	}
	if err := f.Spec.Validate(); err != nil {
		return nil, err
	}
	if f.Setup == "" {
		return nil, fmt.Errorf("run file without its setup")
	}
	return &f, nil
}

// readRunFiles merges run files; they must all have one setup and their
// shards must cover it exactly once.
func readRunFiles[R any](name string, paths []string) ([]R, string, error) {
	var runs []R
	var specs []shard.Spec
	setup := ""
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, "", fmt.Errorf("repro %s: %w", name, err)
		}
		f, err := DecodeRunFile[R](b)
		if err != nil {
			return nil, "", fmt.Errorf("repro %s: %s: %w", name, p, err)
		}
		if setup == "" {
			setup = f.Setup
		} else if f.Setup != setup {
			return nil, "", fmt.Errorf("repro %s: %s has setup %q, %s had %q: shards of different runs cannot be merged", name, p, f.Setup, paths[0], setup)
		}
		specs = append(specs, f.Spec)
		runs = append(runs, f.Runs...)
	}
	if err := shard.CheckCover(specs); err != nil {
		return nil, "", fmt.Errorf("repro %s: %w", name, err)
	}
	return runs, setup, nil
}

// median is the median of v (NaN when empty).
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return flatMedian(v)
}
