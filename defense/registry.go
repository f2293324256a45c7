package defense

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/trustml/trustml/internal/registry"
)

// Param describes one numeric parameter of a registered defense.
type Param struct {
	Name    string  `json:"name"`
	Default float64 `json:"default"`
	Doc     string  `json:"doc"`
	// Integer parameters accept only whole numbers.
	Integer bool `json:"integer,omitempty"`
}

// Info describes a registered defense for the command line's help.
type Info struct {
	Name        string  `json:"name"`
	Description string  `json:"description"` // one line
	Params      []Param `json:"params,omitempty"`
	// Randomized defenses draw noise from a source seeded by Options.Seed.
	Randomized bool `json:"randomized,omitempty"`
}

// Options configures a defense built by name with [New].
type Options struct {
	// Seed seeds randomized defenses (ignored by deterministic ones).
	Seed uint64 `flag:"seed" help:"seed of randomized defenses"`
	// Params overrides parameters by name (see [Info.Params]); names the
	// defense does not have are an error.
	Params Params `flag:"defense-param" help:"defense parameters as key=value,... (e.g. \"tau=3,temperature=2\")"`
}

// Params are a defense's parameters by name. A *Params is a command-line
// flag value read by [ParseParams].
type Params map[string]float64

// Set replaces p by the parameters [ParseParams] reads from s.
func (p *Params) Set(s string) error {
	m, err := ParseParams(s)
	if err != nil {
		return err
	}
	*p = m
	return nil
}

// String lists the parameters as key=value,... sorted by name.
func (p *Params) String() string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(*p)) {
		kv = append(kv, fmt.Sprintf("%s=%g", k, (*p)[k]))
	}
	return strings.Join(kv, ",")
}

// Type names the flag value's syntax in help text.
func (*Params) Type() string { return "key=value,..." }

// Factory builds a defense from options.
type Factory func(Options) (Defense, error)

type entry struct {
	info    Info
	factory Factory
}

var defenses = registry.New[entry]("defense")

// ErrUnknown is matched (errors.Is) by the error of [New] and [Lookup] for a
// name no defense is registered under; the error lists the registered names.
var ErrUnknown = registry.ErrUnknown

// Register makes a defense available by info.Name to [New]. It is meant to be
// called from init functions and panics if the name is empty or taken, or a
// parameter is declared twice (programming errors, not user input).
func Register(info Info, f Factory) {
	if f == nil {
		panic("defense: Register with nil factory for " + info.Name)
	}
	seen := map[string]bool{}
	for _, p := range info.Params {
		if seen[p.Name] {
			panic("defense: parameter " + p.Name + " declared twice for " + info.Name)
		}
		seen[p.Name] = true
	}
	info.Params = slices.Clone(info.Params)
	defenses.Register(info.Name, entry{info, f})
}

// New builds the defense registered under name. An unknown name is an error
// matching [ErrUnknown].
func New(name string, opts Options) (Defense, error) {
	e, err := defenses.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("defense: %w", err)
	}
	for p := range opts.Params {
		if !slices.ContainsFunc(e.info.Params, func(q Param) bool { return q.Name == p }) {
			return nil, fmt.Errorf("defense %s: unknown parameter %q (known: %s)", name, p, paramNames(e.info.Params))
		}
	}
	for _, p := range e.info.Params {
		v, ok := opts.Params[p.Name]
		if !ok {
			continue
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("defense %s: parameter %s=%v is not finite", name, p.Name, v)
		}
		if p.Integer && v != math.Trunc(v) {
			return nil, fmt.Errorf("defense %s: parameter %s=%v must be a whole number", name, p.Name, v)
		}
	}
	d, err := e.factory(opts)
	if err != nil {
		return nil, fmt.Errorf("defense %s: %w", name, err)
	}
	return d, nil
}

// Names returns the registered defense names, sorted.
func Names() []string { return defenses.Names() }

// List returns the registered defenses' descriptions, sorted by name.
func List() []Info {
	var infos []Info
	for _, name := range defenses.Names() {
		if info, err := Lookup(name); err == nil {
			infos = append(infos, info)
		}
	}
	return infos
}

// Lookup returns the description of the defense registered under name, or
// an error matching [ErrUnknown] that lists the registered names.
func Lookup(name string) (Info, error) {
	e, err := defenses.Lookup(name)
	if err != nil {
		return Info{}, fmt.Errorf("defense: %w", err)
	}
	info := e.info
	info.Params = slices.Clone(info.Params)
	return info, nil
}

// ParseParams parses a command-line parameter list such as "tau=3,iters=50"
// (commas or spaces between pairs) into a map for [Options.Params]. Values
// are decimal or scientific numbers; an empty string gives an empty map.
func ParseParams(s string) (map[string]float64, error) {
	out := map[string]float64{}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	for i, f := range fields {
		name, val, ok := strings.Cut(f, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("defense: parameter %d %q: want name=value", i+1, f)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("defense: parameter %s: value %q is not a finite number", name, val)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("defense: parameter %s given twice", name)
		}
		out[name] = v
	}
	return out, nil
}

func paramNames(ps []Param) string {
	if len(ps) == 0 {
		return "none"
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// param returns the value of parameter name from opts, or its default from
// info. Names are validated by New before the factory runs.
func param(info Info, opts Options, name string) float64 {
	if v, ok := opts.Params[name]; ok {
		return v
	}
	for _, p := range info.Params {
		if p.Name == name {
			return p.Default
		}
	}
	panic("defense: parameter " + name + " not declared for " + info.Name)
}

// intParam returns integer parameter name, checked to lie in [lo, hi].
func intParam(info Info, opts Options, name string, lo, hi int) (int, error) {
	v := param(info, opts, name)
	if v < float64(lo) || v > float64(hi) {
		return 0, fmt.Errorf("parameter %s=%v outside [%d, %d]", name, v, lo, hi)
	}
	return int(v), nil
}

// newRand returns the source a registered randomized defense draws from.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x7472757374646566)) // "trustdef"
}

func init() {
	Register(Info{
		Name:        "none",
		Description: "no defense: the model's logits unchanged (baseline)",
	}, func(Options) (Defense, error) { return Identity{}, nil })
}
