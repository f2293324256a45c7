package main

import (
	"strings"
	"testing"
)

func TestReproRobustOpt(t *testing.T) {
	out, err := run(t, "repro", "robustopt", "--reps", "1", "--targets", "3", "--target-n", "100", "--shift", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"RKHS-ball robust", "SAA", "certified bound", "shift 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := run(t, "repro", "robustopt", "--reps", "0"); err == nil {
		t.Error("--reps 0: no error")
	}
}
