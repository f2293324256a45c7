package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
)

func init() { register(newDataCmd) }

func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "List and inspect data sets: the embedded ones, Fashion-MNIST, CSV and LIBSVM files",
		Long: `List the built-in data sets and inspect any data set: its source, size,
sample shape, classes with their counts, and value range.

Built-in sets need no download: "fashion-mnist-small" (the default, a
stratified 10,000/2,000-image subset of Fashion-MNIST) and the tabular sets
iris, wine, breast-cancer, digits and diabetes are embedded in the binary.
The full "fashion-mnist" is read from --data-dir, $` + data.EnvDataDir + ` or
` + data.DebianFashionDir + ` (apt-get install dataset-fashion-mnist).`,
		Example: `  trustml data list
  trustml data info                        # the embedded Fashion-MNIST subset
  trustml data info fashion-mnist --data-dir ~/datasets/fashion
  trustml data info wine --json
  trustml data info measurements.tsv --label-col 1 --regression`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDataInfoCmd(), newDataListCmd())
	return cmd
}

func newDataListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the built-in data sets",
		Example: `  trustml data list
  trustml data list --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names := data.Names()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), names)
			}
			rows := make([][]string, len(names))
			for i, in := range names {
				splits := "-"
				if in.Splits {
					splits = "train/test"
				}
				rows[i] = []string{in.Name, splits, in.Description}
			}
			table(cmd.OutOrStdout(), []string{"NAME", "SPLITS", "DESCRIPTION"}, rows)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

func newDataInfoCmd() *cobra.Command {
	var (
		dir    string
		asJSON bool
		opt    data.FileOptions
	)
	cmd := &cobra.Command{
		Use:   "info [NAME|FILE]",
		Short: "Describe a data set: source, samples, shape, classes with counts, value range",
		Long: `Describe a data set: where it comes from, how many samples it has, their
shape, the classes with their counts (or the range of a regression target),
and the range of the values. NAME is a built-in name (see "trustml data
list"; default ` + data.DefaultName + `) or a file ending in .csv, .tsv, .libsvm,
.svm, .txt (optionally .gz), .npy or .npz (arrays x and y). Sets with an official split are described for
both the train and the test split. The data are checked on the way: a
malformed file is reported with its line or byte offset. A CSV file's
task is inferred (names or integers: classes; other numbers: a regression
target; an integer column with many values: an error asking which).`,
		Example: `  trustml data info
  trustml data info fashion-mnist --data-dir /srv/data/fashion-mnist
  trustml data info breast-cancer --json
  trustml data info train.libsvm
  trustml data info house-prices.csv --label-col price --regression
  trustml data info images.csv --shape 1,28,28 --header no`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := data.DefaultName
			if len(args) == 1 {
				name = args[0]
			}
			summaries, err := data.DescribeWith(name, dir, opt)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), summaries)
			}
			for i, s := range summaries {
				if i > 0 {
					fmt.Fprintln(cmd.OutOrStdout())
				}
				s.WriteText(cmd.OutOrStdout())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "data-dir", "", "directory with the Fashion-MNIST IDX files (default: $"+data.EnvDataDir+", then "+data.DebianFashionDir+")")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (a list with one object per split) instead of text")
	addFileFlags(cmd, &opt, true)
	return cmd
}
