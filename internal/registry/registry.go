// Package registry is the one shape in which trustml's packages make their
// methods available by name: attacks, defenses, OoD detectors, optimizers,
// averaging methods and kernels each keep a [Registry] filled from init
// functions (the way image formats register themselves), and the command
// line lists and resolves names through it. An unknown name is an
// [*UnknownError] that matches [ErrUnknown] with errors.Is and lists the
// valid names; each package re-exports ErrUnknown for its callers.
package registry

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ErrUnknown is matched (errors.Is) by every error for a name that no
// registry holds.
var ErrUnknown = errors.New("unknown name")

// UnknownError reports a name that is not registered, with the names that
// are.
type UnknownError struct {
	Kind  string   // what was looked up: "attack", "defense", ...
	Name  string   // the name asked for
	Known []string // the registered names, sorted
}

// Error says what was unknown and lists the valid names.
func (e *UnknownError) Error() string {
	return fmt.Sprintf("unknown %s %q (known: %s)", e.Kind, e.Name, strings.Join(e.Known, ", "))
}

// Is reports whether target is [ErrUnknown].
func (e *UnknownError) Is(target error) bool { return target == ErrUnknown }

// Registry maps names to values of type T (typically factories or
// descriptions of methods). It is safe for concurrent use.
type Registry[T any] struct {
	kind string
	mu   sync.RWMutex
	m    map[string]T
}

// New returns an empty registry of things of the given kind ("attack"),
// the word its errors use.
func New[T any](kind string) *Registry[T] {
	return &Registry[T]{kind: kind, m: map[string]T{}}
}

// Register adds v under name. It is meant for init functions and panics
// if the name is empty or already taken (a programming error, never user
// input).
func (r *Registry[T]) Register(name string, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" {
		panic("registry: empty " + r.kind + " name")
	}
	if _, dup := r.m[name]; dup {
		panic("registry: " + r.kind + " " + name + " registered twice")
	}
	r.m[name] = v
}

// Lookup returns the value registered under name, or an [*UnknownError].
func (r *Registry[T]) Lookup(name string) (T, error) {
	r.mu.RLock()
	v, ok := r.m[name]
	r.mu.RUnlock()
	if !ok {
		var zero T
		return zero, &UnknownError{Kind: r.kind, Name: name, Known: r.Names()}
	}
	return v, nil
}

// Names returns the registered names, sorted.
func (r *Registry[T]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.m))
	for n := range r.m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
