package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/nn"
)

func TestUnlearnCommand(t *testing.T) {
	dir := t.TempDir()
	src, out := filepath.Join(dir, "m.ckpt"), filepath.Join(dir, "u.ckpt")
	net, _ := nn.New(nn.MLP([]int{1, 28, 28}, []int{16}, 10), 1)
	if err := nn.SaveFile(src, net, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(src)
	got, err := run(t, "unlearn", "--model", src, "--method", "ga", "--forget", "random:0.05", "--epochs", "1", "--retrain-epochs", "1", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"500 forget, 9500 retain", "original", "ga", "retrained", "|gap| to retrained", "wrote " + out} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if after, _ := os.ReadFile(src); !bytes.Equal(before, after) {
		t.Errorf("the source checkpoint changed")
	}
	if _, meta, err := nn.LoadFile(out); err != nil || meta["unlearn_method"] != "ga" {
		t.Errorf("unlearned checkpoint: %v, %v", meta, err)
	}
	js, err := run(t, "unlearn", "--model", src, "--method", "ft", "--forget", "subclass:Shirt", "--epochs", "1", "--reference", "none", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		NForget   int `json:"n_forget"`
		Unlearned struct {
			ForgetTest *float64 `json:"forget_test_acc"`
			MIAEntropy *float64 `json:"mia_entropy"`
		}
		Gap *struct{}
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil || rep.NForget != 500 || rep.Unlearned.ForgetTest == nil || rep.Unlearned.MIAEntropy == nil || rep.Gap != nil {
		t.Errorf("--json: %v %+v\n%s", err, rep, js)
	}
	small, _ := nn.New(nn.MLP([]int{4}, []int{3}, 3), 1)
	bad := filepath.Join(dir, "small.ckpt")
	if err := nn.SaveFile(bad, small, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", bad}, "does not match the data"},
		{[]string{"--model", src, "--forget", "random:1"}, "selects nothing or everything"},
		{[]string{"--model", src, "--forget", "class:Horse"}, `no class "Horse"`},
		{[]string{"--model", src, "--method", "forget"}, "known: ft, ga, l1, natmu, retrain, rl, salun, sfr-on"},
		{[]string{"--model", src, "--out", src}, "never modified"},
	} {
		if _, err := run(t, append([]string{"unlearn"}, c.args...)...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}

func TestReproUnlearnCommand(t *testing.T) {
	got, err := run(t, "repro", "unlearn", "--data", "fashion-mnist-small", "--train-n", "300", "--seeds", "1", "--methods", "ft",
		"--forget", "random:0.2", "--clu-seeds", "0", "--retrain-epochs", "1", "--epochs", "1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"forget random:0.2", "original", "retrain", "ft", "avg gap"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
