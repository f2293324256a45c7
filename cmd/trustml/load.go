package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/zoo"
)

// modelHelp is the help of the --model flag shared by the commands that take a model.
const modelHelp = zoo.SpecHelp

// parseShard parses "i/N" (0 ≤ i < N); see package shard.
func parseShard(s string) (int, int, error) {
	sp, err := shard.Parse(s)
	if err != nil {
		return 0, 0, fmt.Errorf("--shard: %w", err)
	}
	return sp.Index, sp.Count, nil
}

// dataFlags are the flags that choose a data set and read its file.
type dataFlags struct {
	name, dir string
	file      data.FileOptions
}

func (f *dataFlags) add(cmd *cobra.Command, def string) {
	cmd.Flags().StringVar(&f.name, "data", def, `data set: "fashion-mnist-small" (embedded), "fashion-mnist" (full, Debian package), a tabular name, or a .csv/.tsv/.libsvm/.npy/.npz file`)
	cmd.Flags().StringVar(&f.dir, "data-dir", "", "directory with the Fashion-MNIST IDX files (default: $"+data.EnvDataDir+", then "+data.DebianFashionDir+")")
	f.file.Classification = true
	addFileFlags(cmd, &f.file, false)
}

func (f *dataFlags) load(split data.Split) (*data.Dataset, error) {
	return data.OpenWith(f.name, split, f.dir, f.file)
}

// addFileFlags registers data.FileFlags (the task flags only when tabular)
// setting o, whose notes go to stderr.
func addFileFlags(cmd *cobra.Command, o *data.FileOptions, tabular bool) {
	bindFileOptions(cmd.Flags(), o, tabular, cmd.ErrOrStderr)
}

// bindFileOptions adds the data file options (data.FileFlags) setting *o;
// the task options (--regression, --classification) are hidden unless
// tabular. Notes on choices made while reading go to stderr().
func bindFileOptions(fs *pflag.FlagSet, o *data.FileOptions, tabular bool, stderr func() io.Writer) {
	o.Warn = func(m string) { fmt.Fprintln(stderr(), "note:", m) }
	for _, ff := range data.FileFlags {
		if fl := fs.VarPF(o.Value(ff.Name), ff.Name, "", ff.Usage); ff.Bool {
			fl.NoOptDefVal = "true"
			fl.Hidden = ff.Task && !tabular
		}
	}
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
