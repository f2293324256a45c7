// Package benchrow appends the rows of "make bench"'s table (bench/all.sh,
// bench/summary.py) from the Go benchmark programs, as bench/emit.py does
// from the Python ones.
package benchrow

import (
	"encoding/json"
	"fmt"
	"os"
)

// Row is one comparison: trustml's Value against the peer's PeerValue (a
// program measured in the same run, or a goal where there is no peer).
type Row struct {
	Suite, Case, Engine string
	Value               float64
	Peer                string
	PeerValue           float64
	Unit                string
	HigherIsBetter      bool
	// Goal is the ratio asked for (0: none).
	Goal float64
}

// Emit appends r to the JSON-lines file $BENCH_JSONL; nothing happens when
// the variable is unset (a suite run on its own) or a value is not
// positive. Its ratio is > 1 when trustml is better.
func Emit(r Row) {
	path := os.Getenv("BENCH_JSONL")
	if path == "" || !(r.Value > 0) || !(r.PeerValue > 0) {
		return
	}
	ratio := r.Value / r.PeerValue
	if !r.HigherIsBetter {
		ratio = r.PeerValue / r.Value
	}
	var goal any
	if r.Goal > 0 {
		goal = r.Goal
	}
	b, _ := json.Marshal(map[string]any{"suite": r.Suite, "case": r.Case, "engine": r.Engine, "value": r.Value,
		"peer": r.Peer, "peer_value": r.PeerValue, "unit": r.Unit, "higher_is_better": r.HigherIsBetter,
		"ratio": ratio, "goal": goal, "note": ""})
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		_, err = f.Write(append(b, '\n'))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
}
