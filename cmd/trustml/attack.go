package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/robust"
)

func init() {
	register(newAttackCmd)
	register(newMergeCmd)
}

func newAttackCmd() *cobra.Command {
	var df dataFlags
	var outDir string
	var asJSON, allowFailures bool
	spec := robust.DefaultSpec()
	cmd := &cobra.Command{
		Use:   "attack",
		Short: "Evaluate attacks against defenses: robust accuracy, queries, calibration",
		Long: `Run score-based query attacks (and white-box references) against a model
behind each output defense, on the same samples, and report per attack ×
defense: clean accuracy, robust accuracy at query budgets, mean and median
queries of successful attacks, the defended model's ECE and the mean absolute
change the defense makes to the outputs, with PNG plots (--out-dir). The model
may be a checkpoint, an embedded model, or a model served over the Open
Inference Protocol: --model http://host:port/v2/models/NAME. A large
evaluation splits into jobs with --shard i/N; "trustml merge" combines their
--json outputs.

Attacks: ` + strings.Join(attack.Names(), ", ") + `
Defenses: ` + strings.Join(defense.Names(), ", "),
		Example: `  # AAA against Square on 200 embedded test images, 500 queries
  trustml attack --attacks square --defenses none,aaa-linear --n 200 --budget 500

  # every attack against every defense, as 4 jobs, then merged
  trustml attack --attacks all --defenses all --shard 0/4 --json > s0.json   # ... s3.json
  trustml merge s0.json s1.json s2.json s3.json

  # a served model
  trustml attack --model http://127.0.0.1:8080/v2/models/fashion-cnn --attacks square --budget 100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := df.load(spec.Split)
			if err != nil {
				return err
			}
			bar := newBar(cmd.ErrOrStderr())
			spec.Progress = bar
			rep, err := robust.Evaluate(cmd.Context(), spec, d)
			if err != nil {
				return err
			}
			return failures(bar, rep.Failures(), allowFailures, printReport(cmd.OutOrStdout(), rep, asJSON, outDir))
		},
	}
	fl := cmd.Flags()
	df.add(cmd, data.DefaultName)
	bindFlags(fl, &spec)
	fl.StringVar(&outDir, "out-dir", "", "write PNG plots into this directory (created if needed)")
	fl.BoolVar(&asJSON, "json", false, "print the full report (per-sample records included) as JSON, for trustml merge")
	fl.BoolVar(&allowFailures, "allow-failures", false, "exit 0 even if samples failed (the model errored); they are reported either way")
	completeNames(cmd, "attacks", append(attack.Names(), "all"))
	completeNames(cmd, "defenses", append(defense.Names(), "all"))
	return cmd
}

// failures is a command's exit error once its report is printed (err,
// from printing it, or nil): failed samples are an error too unless
// allowed, and are then logged.
func failures(bar *Bar, failed error, allow bool, err error) error {
	if failed != nil && allow {
		bar.Log("%v (allowed)", failed)
	} else if failed != nil {
		err = errors.Join(err, fmt.Errorf("%w (--allow-failures to exit 0)", failed))
	}
	return err
}

// printReport writes the plots into outDir (if set) and prints the report
// as a table or as JSON.
func printReport(w io.Writer, rep *robust.Report, asJSON bool, outDir string) error {
	if outDir != "" {
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return err
		}
		files, err := rep.WritePlots(outDir)
		if err != nil {
			return fmt.Errorf("plots: %w", err)
		}
		if !asJSON {
			fmt.Fprintf(w, "plots: %s\n\n", strings.Join(files, ", "))
		}
	}
	if asJSON {
		return writeJSON(w, rep)
	}
	return rep.WriteText(w)
}

func newMergeCmd() *cobra.Command {
	var (
		asJSON bool
		outDir string
	)
	cmd := &cobra.Command{
		Use:   "merge SHARD.json...",
		Short: "Merge the --json reports of sharded \"trustml attack\" runs into one report",
		Example: `  trustml attack --shard 0/2 --json > a.json
  trustml attack --shard 1/2 --json > b.json
  trustml merge a.json b.json --out-dir plots`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := robust.MergeFiles(args...)
			if err != nil {
				return err
			}
			return printReport(cmd.OutOrStdout(), m, asJSON, outDir)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the merged report as JSON")
	cmd.Flags().StringVar(&outDir, "out-dir", "", "write PNG plots into this directory")
	return cmd
}
