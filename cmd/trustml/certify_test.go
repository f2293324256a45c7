package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCertifyCommand(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, "certify", "--n0", "5", "--n", "40", "--n-images", "3", "--skip", "7", "--sigma", "0.25,0.5", "--predict", "--out-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"3 images (every 7-th image), n0 = 5, n = 40", "r=0.25", "r=1", "ACR", "abstained", "predict acc", "\n0.25  ", "\n0.5  "} {
		if !strings.Contains(out, want) {
			t.Errorf("certify output lacks %q:\n%s", want, out)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "certified-accuracy.png")); err != nil || st.Size() == 0 {
		t.Errorf("plot: %v", err)
	}
	out, err = run(t, "certify", "--n0", "5", "--n", "40", "--n-images", "2", "--shard", "1/2", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Images int
		Sigmas []struct {
			Samples []struct {
				Index, Class int
				Radius       float64
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if rep.Images != 2 || len(rep.Sigmas) != 1 || len(rep.Sigmas[0].Samples) != 1 || rep.Sigmas[0].Samples[0].Index != 1 {
		t.Errorf("shard 1/2 of 2 images: %+v, want the one sample of index 1", rep)
	}
}

func TestCertifyBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--sigma", "0"}, "σ > 0"},
		{[]string{"--sigma", "-0.5"}, "σ > 0"},
		{[]string{"--n0", "50", "--n", "10"}, "n0 50"},
		{[]string{"--n0", "0"}, "n0 0"},
		{[]string{"--alpha", "1.5"}, "outside (0, 1)"},
		{[]string{"--alpha", "0"}, "outside (0, 1)"},
		{[]string{"--data", "iris"}, "does not fit model"},
		{[]string{"--shard", "3/2"}, "i/N"},
	} {
		_, err := run(t, append([]string{"certify", "--n0", "5", "--n", "20", "--n-images", "1"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("certify %v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
}

func TestTrainNoiseSigmaFlag(t *testing.T) {
	_, err := run(t, "train", "--arch", "mlp", "--steps", "1", "--noise-sigma", "-0.25", "--out", filepath.Join(t.TempDir(), "m.ckpt"))
	if err == nil || !strings.Contains(err.Error(), "--noise-sigma -0.25") {
		t.Errorf("train --noise-sigma -0.25: %v, want an error naming the flag", err)
	}
}
