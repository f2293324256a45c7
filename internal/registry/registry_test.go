package registry

import (
	"errors"
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := New[int]("widget")
	r.Register("b", 2)
	r.Register("a", 1)
	if got := strings.Join(r.Names(), ","); got != "a,b" {
		t.Errorf("Names = %s, want a,b", got)
	}
	tests := []struct {
		name    string
		want    int
		unknown bool
	}{
		{"a", 1, false},
		{"b", 2, false},
		{"c", 0, true},
		{"", 0, true},
	}
	for _, tc := range tests {
		v, err := r.Lookup(tc.name)
		if tc.unknown {
			var ue *UnknownError
			if !errors.Is(err, ErrUnknown) || !errors.As(err, &ue) || ue.Kind != "widget" || ue.Name != tc.name {
				t.Errorf("Lookup(%q) error %v, want an UnknownError for a widget", tc.name, err)
			}
			if err != nil && !strings.Contains(err.Error(), "known: a, b") {
				t.Errorf("error %q does not list the valid names", err)
			}
			continue
		}
		if err != nil || v != tc.want {
			t.Errorf("Lookup(%q) = %d, %v; want %d", tc.name, v, err, tc.want)
		}
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	r := New[int]("widget")
	r.Register("a", 1)
	for _, name := range []string{"a", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", name)
				}
			}()
			r.Register(name, 2)
		}()
	}
}
