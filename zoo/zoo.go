// Package zoo ships trained trustml models inside the binary, so that the
// main job, the examples and the tests need no download. Each model was
// trained by trustml's own code; the command that reproduces it is recorded
// in its checkpoint metadata and in the README.
package zoo

import (
	_ "embed"
	"fmt"
	"sort"

	"github.com/trustml/trustml/nn"
)

//go:embed fashion-cnn.ckpt
var fashionCNN []byte

//go:embed fashion-resnet8.ckpt
var fashionResNet8 []byte

// DefaultName is the name of the model used when none is given.
const DefaultName = "fashion-cnn"

// Embedded models: the default small CNN with batch norm, and a ResNet-8
// (the second architecture of the AAA reproduction), both trained on the
// full Fashion-MNIST training set by "trustml train" (see the README).
var models = map[string][]byte{
	DefaultName:       fashionCNN,
	"fashion-resnet8": fashionResNet8,
}

// Names lists the embedded models.
func Names() []string {
	var s []string
	for k := range models {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Load returns a fresh copy of the named embedded model and its metadata
// (training command, data, metrics).
func Load(name string) (*nn.Network, map[string]string, error) {
	b, ok := models[name]
	if !ok {
		return nil, nil, fmt.Errorf("zoo: no embedded model %q (have %v)", name, Names())
	}
	net, meta, err := nn.Load(b)
	if err != nil {
		return nil, nil, fmt.Errorf("zoo: embedded model %q: %w", name, err)
	}
	return net, meta, nil
}

// Default returns the default model: the small CNN with batch norm trained
// on the full Fashion-MNIST training set.
func Default() (*nn.Network, map[string]string, error) { return Load(DefaultName) }
