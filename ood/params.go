package ood

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// paramKeys lists the settings each registered detector takes through
// [ParseDetectorParams] and [Config.With], with what they set.
var paramKeys = map[string][]string{
	"msp":                     {"t"},
	"energy":                  {"t"},
	"odin":                    {"t", "eps"},
	"maxlogit":                nil,
	"mahalanobis":             nil,
	"knn":                     {"k"},
	"vim":                     {"dim"},
	"kpca-linear":             {"ratio"},
	"kpca-cos":                {"ratio"},
	"kpca-cos-rff":            {"gamma", "m", "ratio", "seed", "rff"},
	"kpca-cos-nystrom":        {"gamma", "m", "ratio", "seed", "landmarks"},
	"kpca-cos-rff+msp":        {"gamma", "m", "ratio", "seed", "rff", "t"},
	"kpca-cos-nystrom+energy": {"gamma", "m", "ratio", "seed", "landmarks", "t"},
	"gradknn":                 {"k", "subspace", "dim", "fuse", "seed"},
}

// ParamHelp describes the per-detector settings, for flag help.
const ParamHelp = `settings of one detector, "NAME:key=value,..." (repeatable): ` +
	`kpca-*: gamma (kernel exp(−γ‖·‖²)), m (random features or landmarks), ratio (explained variance), seed; ` +
	`kpca-cos-rff: rff=FILE.npz (a random-feature draw: w M×D, u M, as the official code draws them; fixes γ and M); ` +
	`kpca-cos-nystrom: landmarks=energy|uniform; msp, energy: t (temperature); odin: t, eps; knn: k; vim: dim; ` +
	`gradknn: k, subspace, dim, fuse, seed`

// DetectorParams are per-detector settings: detector name → key → value.
type DetectorParams map[string]map[string]string

// ParseDetectorParams parses settings of individual detectors, each
// "NAME:key=value[,key=value...]" (the --detector-param flag), such as
// "kpca-cos-rff:gamma=2,m=2048,ratio=0.8". A name may come back with other
// keys; an unknown detector or key, a key given twice or a missing value is
// an error. The values are checked by [Config.With].
func ParseDetectorParams(specs []string) (DetectorParams, error) {
	out := DetectorParams{}
	for _, spec := range specs {
		name, list, ok := strings.Cut(spec, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.TrimSpace(list) == "" {
			return nil, fmt.Errorf("ood: detector settings %q: want NAME:key=value,...", spec)
		}
		keys, known := paramKeys[name]
		if !known {
			if _, err := New(name, Config{}); err != nil {
				return nil, fmt.Errorf("ood: detector settings %q: %w", spec, err)
			}
			return nil, fmt.Errorf("ood: detector settings %q: %s takes no settings", spec, name)
		}
		if out[name] == nil {
			out[name] = map[string]string{}
		}
		for _, kv := range strings.Split(list, ",") {
			k, v, ok := strings.Cut(kv, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch {
			case !ok || k == "" || v == "":
				return nil, fmt.Errorf("ood: detector settings %q: %q: want key=value", spec, kv)
			case !slices.Contains(keys, k):
				if len(keys) == 0 {
					return nil, fmt.Errorf("ood: detector settings %q: %s takes no settings", spec, name)
				}
				return nil, fmt.Errorf("ood: detector settings %q: %s has no setting %q (settings: %s)", spec, name, k, strings.Join(keys, ", "))
			}
			if _, dup := out[name][k]; dup {
				return nil, fmt.Errorf("ood: detector settings %q: %s given twice for %s", spec, k, name)
			}
			out[name][k] = v
		}
	}
	return out, nil
}

// check returns an error naming the detectors of p not in names (settings
// that would otherwise be silently unused).
func (p DetectorParams) check(names []string) error {
	for name := range p {
		if !slices.Contains(names, name) {
			return fmt.Errorf("ood: settings for %s, which is not among the detectors run (%s)", name, strings.Join(names, ", "))
		}
	}
	return nil
}

// With returns c with the settings p of detector name applied (p as
// [ParseDetectorParams] returns for that name; nil leaves c as it is).
// Values are checked: a number that does not parse or is out of range, or
// an RFF draw file that cannot be read, is an error naming the key.
func (c Config) With(name string, p map[string]string) (Config, error) {
	bad := func(k, v, want string) error {
		return fmt.Errorf("ood: %s setting %s=%s: want %s", name, k, v, want)
	}
	pos := func(k, v string) (float64, error) {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			return 0, bad(k, v, "a number > 0")
		}
		return f, nil
	}
	count := func(k, v string) (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, bad(k, v, "a whole number ≥ 1")
		}
		return n, nil
	}
	if _, ok := p["rff"]; ok {
		for _, k := range []string{"gamma", "m", "seed"} {
			if _, both := p[k]; both {
				return c, fmt.Errorf("ood: %s: rff (a random-feature draw) fixes γ, M and the randomness: leave %s unset", name, k)
			}
		}
	}
	for _, k := range sortedStrings(keysOf(p)) {
		v := p[k]
		var err error
		switch k {
		case "t":
			c.Temperature, err = pos(k, v)
		case "eps":
			if c.Epsilon, err = pos(k, v); err == nil && c.Epsilon > 1 {
				err = bad(k, v, "a number in (0, 1]")
			}
		case "k":
			c.K, err = count(k, v)
		case "dim":
			if name == "vim" {
				c.ViMDim, err = count(k, v)
			} else {
				c.GradDim, err = count(k, v)
			}
		case "gamma":
			c.KPCA.Gamma, err = pos(k, v)
		case "m":
			c.KPCA.M, err = count(k, v)
		case "ratio":
			if c.KPCA.ExpVarRatio, err = pos(k, v); err == nil && c.KPCA.ExpVarRatio > 1 {
				err = bad(k, v, "a number in (0, 1]")
			}
		case "landmarks":
			if v != "energy" && v != "uniform" {
				err = bad(k, v, "energy or uniform")
			}
			c.KPCA.Landmarks = v
		case "subspace":
			if v != "pca" && v != "class" {
				err = bad(k, v, "pca or class")
			}
			c.GradSubspace = v
		case "fuse":
			c.GradFuse, err = strconv.ParseFloat(v, 64)
			if err != nil || c.GradFuse < 0 || math.IsInf(c.GradFuse, 0) {
				err = bad(k, v, "a number ≥ 0")
			}
		case "seed":
			var s uint64
			if s, err = strconv.ParseUint(v, 10, 64); err != nil {
				err = bad(k, v, "a whole number ≥ 0")
			}
			c.Seed, c.KPCA.Seed = s, s
		case "rff":
			c.KPCA.Draw, err = LoadRFFDraw(v)
		default:
			err = fmt.Errorf("ood: %s has no setting %q", name, k)
		}
		if err != nil {
			return c, err
		}
	}
	return c, nil
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// newDetectors builds the named detectors from base with the settings of
// the --detector-param specs applied per detector; settings of a detector
// not in names are an error.
func newDetectors(names []string, base Config, specs []string) ([]Config, error) {
	p, err := ParseDetectorParams(specs)
	if err != nil {
		return nil, err
	}
	if err := p.check(names); err != nil {
		return nil, err
	}
	out := make([]Config, len(names))
	for i, n := range names {
		if out[i], err = base.With(n, p[n]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
