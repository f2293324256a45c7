package benchrow

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmit: rows land in $BENCH_JSONL with the ratio oriented so that > 1
// means trustml is better; a non-positive value writes nothing.
func TestEmit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rows.jsonl")
	t.Setenv("BENCH_JSONL", path)
	Emit(Row{Suite: "s", Case: "faster", Value: 2, PeerValue: 4, Unit: "s"})
	Emit(Row{Suite: "s", Case: "more", Value: 6, PeerValue: 4, Unit: "req/s", HigherIsBetter: true, Goal: 1})
	Emit(Row{Suite: "s", Case: "unmeasured", Value: 0, PeerValue: 4})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d rows, want 2:\n%s", len(lines), b)
	}
	for i, want := range []struct {
		ratio float64
		goal  any
	}{{2, nil}, {1.5, 1.0}} {
		var r map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &r); err != nil {
			t.Fatal(err)
		}
		if r["ratio"] != want.ratio || r["goal"] != want.goal {
			t.Errorf("row %d: ratio %v goal %v, want %v %v", i, r["ratio"], r["goal"], want.ratio, want.goal)
		}
	}
}
