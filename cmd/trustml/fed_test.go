package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trustml/trustml/fed"
)

func TestFedCmd(t *testing.T) {
	small := []string{"--data", "digits", "--clients", "3", "--train-samples", "400", "--test-per-client", "30", "--rounds", "1"}
	out, err := run(t, append([]string{"fed", "--method", "learn2pfed"}, small...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"learn2pfed on digits: 3 clients (goroutines), Dirichlet α=0.3", "mean", "communication: 6.0 messages", "learned personal fraction β"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = run(t, append([]string{"fed", "--method", "local", "--json"}, small...)...)
	var r fed.Report
	if err != nil || json.Unmarshal([]byte(out), &r) != nil || r.Result == nil || len(r.Result.Evaluated()) != 3 {
		t.Errorf("--json: %v\n%s", err, out)
	}
	if out, err := run(t, "fed", "--method", "fedprox"); err == nil || !strings.Contains(out+err.Error(), `unknown federated method "fedprox"`) {
		t.Errorf("unknown method: %v\n%s", err, out)
	}
}

func TestReproPFed(t *testing.T) {
	out, err := run(t, "repro", "pfed", "--procs=false", "--seeds", "1", "--methods", "fedavg,local", "--data", "digits", "--clients", "3",
		"--train-samples", "400", "--test-per-client", "30", "--rounds", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"Learn2pFed", "personalized test accuracy %", "bytes / round", "not public in text form"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
