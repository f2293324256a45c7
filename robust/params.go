package robust

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/trustml/trustml/defense"
)

// ParseNamedParams parses parameter flags of the form NAME:key=value,...
// (repeatable, as --defense-param and --attack-param take them) into
// parameters by name; values are numbers (defense.ParseParams). A name
// given twice is an error.
func ParseNamedParams(specs []string) (map[string]map[string]float64, error) {
	out := map[string]map[string]float64{}
	for _, spec := range specs {
		name, ps, ok := strings.Cut(spec, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%w: %q: want NAME:key=value,...", ErrConfig, spec)
		}
		m, err := defense.ParseParams(ps)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrConfig, spec, err)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%w: parameters for %q given twice", ErrConfig, name)
		}
		out[name] = m
	}
	return out, nil
}

// SetAttackParams sets settings of the configured attacks by attack name:
// the keys are the JSON names of the attack's settings, e.g. square's
// p_init (initial fraction of pixels changed) and n_iters (the length of
// its p-schedule), as in {"square": {"p_init": 0.3, "n_iters": 10000}}.
// Each named attack is replaced by a copy with the settings changed. An
// unknown attack or key, or a value of the wrong type (a fraction for an
// integer), is an error wrapping ErrConfig.
func (cfg *Config) SetAttackParams(params map[string]map[string]float64) error {
	done := map[string]bool{}
	for i, a := range cfg.Attacks {
		ps, ok := params[a.Name()]
		if !ok {
			continue
		}
		b, err := json.Marshal(ps)
		if err != nil {
			return fmt.Errorf("%w: attack %s: %w", ErrConfig, a.Name(), err)
		}
		c := copyAttack(a)
		if c == a {
			return fmt.Errorf("%w: attack %s is not registered: set its fields directly", ErrConfig, a.Name())
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(c); err != nil {
			return fmt.Errorf("%w: attack %s parameters %v: %w", ErrConfig, a.Name(), ps, err)
		}
		cfg.Attacks[i] = c
		done[a.Name()] = true
	}
	var errs []error
	for name := range params {
		if !done[name] {
			errs = append(errs, fmt.Errorf("%w: parameters for attack %q, which is not evaluated", ErrConfig, name))
		}
	}
	return errors.Join(errs...)
}
