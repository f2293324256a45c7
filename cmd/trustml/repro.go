package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/repro"
)

func init() {
	register(newReproCmd)
	registerRepro(atRepro("co", "Catastrophic overfitting of FGSM-AT at a large ε, and two remedies", repro.CO))
	registerRepro(atRepro("subat", "Sub-AT: FGSM-AT in the DLDR subspace of its own trajectory, beside FGSM-AT", repro.SubAT))
}

// atRepro makes the command of a reproduction of adversarial training.
func atRepro(use, short string, run repro.ATRepro) func() *cobra.Command {
	return func() *cobra.Command {
		c := repro.DefaultCOConfig()
		return libCmd(use, short, "  trustml repro "+use+" --epochs 3 --train-n 2000 --plot-dir /tmp", &c, byValue(run))
	}
}

// reproSubcommands holds the "trustml repro <paper>" commands; files of this
// package add theirs with registerRepro from an init function, as command
// groups do with register.
var reproSubcommands []func() *cobra.Command

// registerRepro adds a subcommand of "trustml repro".
func registerRepro(f func() *cobra.Command) { reproSubcommands = append(reproSubcommands, f) }

func newReproCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repro",
		Short: "Reproduce papers' experiments on the data available here, beside the papers' numbers",
		Long: `Each subcommand runs one paper's evaluation protocol on the data sets this
installation has (embedded sets, Debian packages) and prints the paper's
reported numbers beside ours. Where a paper's data set is not available the
output says so and names the closest available substitute.`,
		Example: `  trustml repro --help          # list the papers
  trustml repro gorf --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	for _, f := range reproSubcommands {
		cmd.AddCommand(f())
	}
	return cmd
}

// printReproTable prints a reproduction's table, as JSON or text, even when
// the run stopped early, and then fails when it did or when a setting
// failed (a table that is incomplete makes the command exit non-zero).
func printReproTable(cmd *cobra.Command, t *repro.Table, err error, asJSON bool) error {
	if t == nil {
		return err
	}
	var perr error
	if asJSON {
		perr = writeJSON(cmd.OutOrStdout(), t)
	} else {
		perr = t.WriteText(cmd.OutOrStdout())
	}
	switch {
	case err != nil:
		return err
	case perr != nil:
		return perr
	case !t.Complete():
		return fmt.Errorf("reproduction incomplete: %d data set(s) failed: %s", len(t.Failed), strings.Join(t.Failed, "; "))
	}
	return nil
}
