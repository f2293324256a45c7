package main

import "github.com/spf13/cobra"

func init() { register(newReproCmd) }

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
