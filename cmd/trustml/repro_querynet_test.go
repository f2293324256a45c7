package main

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/repro"
	"github.com/trustml/trustml/zoo"
)

// TestReproQueryNetServedModel: "repro querynet" attacks a model served
// over the Open Inference Protocol (in-process, on loopback) with the same
// per-sample outcome as the in-process model with the same seed.
func TestReproQueryNetServedModel(t *testing.T) {
	net, _, err := zoo.Default()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&oip.Server{Name: "fashion-cnn", Model: net}).Handler())
	defer srv.Close()
	args := []string{"repro", "querynet", "--n", "3", "--budgets", "5,12", "--defenses", "none", "--calibrate", "0", "--seed", "2", "--json"}
	var res []repro.QueryNetResult
	for _, m := range []string{srv.URL + "/v2/models/fashion-cnn", "default"} {
		out, err := run(t, append(args, "--model", m)...)
		if err != nil {
			t.Fatalf("--model %s: %v", m, err)
		}
		var r repro.QueryNetResult
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		res = append(res, r)
	}
	if len(res[0].Report.Pairs) != 2 {
		t.Fatalf("%d pairs, want querynet and square", len(res[0].Report.Pairs))
	}
	for i := range res[0].Report.Pairs {
		a, b := res[0].Report.Pairs[i], res[1].Report.Pairs[i]
		if !reflect.DeepEqual(a.Samples, b.Samples) {
			t.Errorf("%s/%s: served %+v, in-process %+v", a.Attack, a.Defense, a.Samples, b.Samples)
		}
	}
}
