package train

import "fmt"

// dldrSamplingFlags are the flags of "trustml dldr" that set
// [DLDRConfig.Sampling].
var dldrSamplingFlags = []string{"arch", "sample-epochs", "samples-per-epoch", "sgd-epochs", "lr", "momentum", "wd", "schedule", "sgd-batch"}

// CheckSet returns an error when the caller set a setting that does not
// apply: set reports whether it set one, by the name of its "trustml dldr"
// flag. With Checkpoints, the settings of the sampling run (Sampling:
// arch, sample-epochs, samples-per-epoch, sgd-epochs, lr, momentum, wd,
// schedule, sgd-batch) do not apply, since DLDR makes that run only
// without them.
func (cfg *DLDRConfig) CheckSet(set func(flag string) bool) error {
	for _, name := range dldrSamplingFlags {
		if len(cfg.Checkpoints) > 0 && set(name) {
			return fmt.Errorf("--%s only applies to the sampling run, which dldr makes when no checkpoints are given (%d given)", name, len(cfg.Checkpoints))
		}
	}
	return nil
}
