package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// completeNames registers shell completion of flag's values from names (a
// registry's); a comma-separated list completes its last element.
func completeNames(cmd *cobra.Command, flag string, names []string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, func(_ *cobra.Command, _ []string, typed string) ([]string, cobra.ShellCompDirective) {
		prefix := typed[:strings.LastIndex(typed, ",")+1]
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = prefix + n
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
}
