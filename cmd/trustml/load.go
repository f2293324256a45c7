package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/zoo"
)

// modelFlag is the --model flag shared by the commands that take a model.
const modelHelp = `model: "default" (the embedded Fashion-MNIST CNN), another embedded name, or a checkpoint file written by "trustml train"`

// loadNetwork resolves a --model value to a network.
func loadNetwork(spec string) (*nn.Network, map[string]string, error) {
	if spec == "" || spec == "default" {
		spec = zoo.DefaultName
	}
	for _, n := range zoo.Names() {
		if n == spec {
			return zoo.Load(n)
		}
	}
	if strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://") {
		return nil, nil, fmt.Errorf("model %q: remote models are not supported by this command", spec)
	}
	return nn.LoadFile(spec)
}

// loadClassifier resolves a --model value that may also be a served model:
// an http(s) URL of the form http://host:port/v2/models/NAME is reached over
// the Open Inference Protocol.
func loadClassifier(ctx context.Context, spec string) (model.Classifier, error) {
	if strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://") {
		return oip.Dial(ctx, spec, oip.ClientOptions{})
	}
	net, _, err := loadNetwork(spec)
	return net, err
}

// parseShard parses "i/N" (0 ≤ i < N); see package shard.
func parseShard(s string) (int, int, error) {
	sp, err := shard.Parse(s)
	if err != nil {
		return 0, 0, fmt.Errorf("--shard: %w", err)
	}
	return sp.Index, sp.Count, nil
}

// dataFlags are the flags that choose a data set.
type dataFlags struct {
	name string
	dir  string
}

func (f *dataFlags) add(cmd *cobra.Command, def string) {
	cmd.Flags().StringVar(&f.name, "data", def, `data set: "fashion-mnist-small" (embedded), "fashion-mnist" (full, Debian package), a tabular name, or a .csv/.libsvm file`)
	cmd.Flags().StringVar(&f.dir, "data-dir", "", "directory with the Fashion-MNIST IDX files (default: $"+data.EnvDataDir+", then "+data.DebianFashionDir+")")
}

func (f *dataFlags) load(split data.Split) (*data.Dataset, error) {
	return data.Open(f.name, split, f.dir)
}

func parseSplit(s string) (data.Split, error) {
	switch s {
	case "train":
		return data.Train, nil
	case "test":
		return data.Test, nil
	}
	return 0, fmt.Errorf("split %q: want train or test", s)
}

// checkShapes verifies a labelled data set fits a classifier.
func checkShapes(c model.Classifier, d *data.Dataset) error {
	return d.CheckFits(c.InputShape(), c.NumClasses())
}
