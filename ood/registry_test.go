package ood

import (
	"errors"
	"strings"
	"testing"

	"github.com/trustml/trustml/model"
)

func TestNewUnknown(t *testing.T) {
	names := Names()
	if len(names) < 10 {
		t.Fatalf("only %d registered detectors: %v", len(names), names)
	}
	for _, name := range []string{"nope", "", "KNN", "kpca"} {
		_, err := New(name, Config{})
		if !errors.Is(err, ErrUnknown) {
			t.Errorf("New(%q): %v, want ErrUnknown", name, err)
			continue
		}
		for _, n := range names {
			if !strings.Contains(err.Error(), n) {
				t.Errorf("New(%q): error %q does not list %s", name, err, n)
			}
		}
	}
	if _, err := NewScoreEnsemble("nope", Config{}, 2); !errors.Is(err, ErrUnknown) {
		t.Errorf("NewScoreEnsemble(nope): %v, want ErrUnknown", err)
	}
	if _, err := Run(t.Context(), RunConfig{Models: []model.Classifier{loadFixture(t).net}, Detectors: []string{"energy", "nope"}}); !errors.Is(err, ErrUnknown) {
		t.Errorf("Run with an unknown detector: %v, want ErrUnknown", err)
	}
}

func TestNamesBuildTheirDetector(t *testing.T) {
	for _, name := range Names() {
		d, err := New(name, Config{})
		if err != nil {
			t.Fatalf("New(%q): %v", name, err)
		}
		if d.Name() != name {
			t.Errorf("New(%q).Name() = %q", name, d.Name())
		}
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering a taken name did not panic")
		}
	}()
	Register("energy", func(Config) Detector { return &Energy{} })
}
