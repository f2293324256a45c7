package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trustml/trustml/continual"
)

func TestContinualCmd(t *testing.T) {
	out, err := run(t, "continual", "--data", "digits", "--method", "las", "--buffer", "100", "--tau", "1", "--window", "2", "--seed", "3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r continual.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Method != "las" || r.Buffer != 100 || r.Window != 2 || r.Seed != 3 || len(r.Acc) != 5 || r.FinalAccuracy <= 0.2 {
		t.Errorf("unexpected result %+v", r)
	}
	text, err := run(t, "continual", "--data", "digits", "--method", "ft")
	if err != nil || !strings.Contains(text, "final average accuracy") || !strings.Contains(text, "buffer 0") {
		t.Errorf("text output: %v\n%s", err, text)
	}
	for _, bad := range [][]string{{"--method", "mir"}, {"--method", "er", "--buffer", "0"}, {"--window", "0"}} {
		if _, err := run(t, append([]string{"continual", "--data", "digits"}, bad...)...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
