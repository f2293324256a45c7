package train

import (
	"fmt"
	"strings"
)

// TWAVariants are the variants of trainable weight averaging that
// [TWAConfig] takes: "iclr" (the ICLR 2023 version, method "twa"), "t" and
// "v" (the journal version on the training or a held-out split, methods
// "twa-t" and "twa-v").
var TWAVariants = []string{"iclr", "t", "v"}

// twaOnly are the settings, by the name of their flag, that only one TWA
// variant uses.
var twaOnly = []struct{ setting, variant string }{{"wd", "iclr"}, {"momentum", "iclr"}, {"start", "iclr"}, {"val-ratio", "v"}}

// TWAConfig returns cfg set up for the TWA variant ([TWAVariants]): its
// averaging method, and the method's default learning rate and epochs
// unless the caller set them. set reports whether the caller set a
// setting, by the name of its "trustml average twa" flag (lr, epochs, wd,
// momentum, start, val-ratio; nil: none). A setting that the variant does
// not use is an error rather than silently ignored, and an unknown variant
// is an error matching [ErrUnknown].
func TWAConfig(cfg AverageConfig, variant string, set func(setting string) bool) (AverageConfig, error) {
	if set == nil {
		set = func(string) bool { return false }
	}
	method := "twa"
	if variant != "iclr" {
		method = "twa-" + variant
	}
	m, err := LookupAveragingMethod(method)
	if err != nil || strings.HasPrefix(variant, "twa") {
		return cfg, fmt.Errorf("--variant %q: want iclr, t or v (%w)", variant, ErrUnknown)
	}
	for _, o := range twaOnly {
		if set(o.setting) && variant != o.variant {
			return cfg, fmt.Errorf("--%s applies to --variant %s only", o.setting, o.variant)
		}
	}
	cfg.Method = method
	if !set("lr") {
		cfg.LR = m.LR
	}
	if !set("epochs") {
		cfg.Epochs = m.Epochs
	}
	return cfg, nil
}

// SoupNames lists the model soups of [Average] without their "soup-"
// prefix, in the order they are compared: uniform, greedy, mehl, mehl+.
func SoupNames() []string {
	var names []string
	for _, n := range AveragingMethodNames("soup-") {
		names = append(names, strings.TrimPrefix(n, "soup-"))
	}
	return names
}

// SoupConfig returns cfg set up for the model soup name ([SoupNames]):
// its averaging method "soup-"+name. An unknown name is an error matching
// [ErrUnknown] that lists the soups.
func SoupConfig(cfg AverageConfig, name string) (AverageConfig, error) {
	if _, err := LookupAveragingMethod("soup-" + name); err != nil {
		return cfg, fmt.Errorf("--method %q: want one of %s (%w)", name, strings.Join(SoupNames(), ", "), ErrUnknown)
	}
	cfg.Method = "soup-" + name
	return cfg, nil
}
