package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/certify"
	"github.com/trustml/trustml/repro"
)

func init() {
	registerRepro(func() *cobra.Command {
		c := repro.DefaultCertifyConfig()
		return libCmd("certify", "Randomized smoothing, SOME and a deep ensemble at equal training cost: certified accuracy at radii, ACR",
			"  trustml repro certify --n-images 50 --n 500\n  trustml repro certify --shard 0/2 --out c0.json   # and 1/2 into c1.json, then:\n  trustml repro certify --from c0.json,c1.json", &c, repro.RunCertify)
	})
}

// newCertifyMergeCmd is "trustml certify merge FILE...", a subcommand of certify.
func newCertifyMergeCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{Use: "merge FILE...", Args: cobra.MinimumNArgs(1), Short: "Merge the --json reports of certify's shards and print the table of the whole", Example: "  trustml certify --shard 0/2 --json > c0.json; trustml certify --shard 1/2 --json > c1.json\n  trustml certify merge c0.json c1.json",
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := certify.MergeFiles(args...)
			return printResult(cmd, rep, err, asJSON)
		}}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the merged report as JSON")
	return cmd
}
