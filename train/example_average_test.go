package train_test

import (
	"fmt"

	"github.com/trustml/trustml/train"
)

// Set up the journal version of trainable weight averaging on a held-out
// split (TWA-v), as "trustml average twa --variant v --val-ratio 0.2"
// does: set reports the settings the user gave, by flag name; the method's
// learning rate and epochs fill in the others. A setting that the variant
// does not use is an error instead of being ignored.
func ExampleTWAConfig() {
	cfg := train.DefaultAverageConfig("twa")
	cfg.ValRatio = 0.2
	userSet := func(flag string) bool { return flag == "val-ratio" }
	v, err := train.TWAConfig(cfg, "v", userSet)
	fmt.Println(v.Method, v.LR, v.Epochs, v.ValRatio, err)

	_, err = train.TWAConfig(cfg, "iclr", userSet)
	fmt.Println(err)
	// Output:
	// twa-v 0.001 10 0.2 <nil>
	// --val-ratio applies to --variant v only
}
