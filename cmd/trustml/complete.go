package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// completeFrom registers shell completion for flag from a registry's names;
// comma-separated list flags complete their last element.
func completeFrom(cmd *cobra.Command, flag string, names func() []string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, func(_ *cobra.Command, _ []string, typed string) ([]string, cobra.ShellCompDirective) {
		prefix := ""
		if i := strings.LastIndex(typed, ","); i >= 0 {
			prefix = typed[:i+1]
		}
		var out []string
		for _, n := range names() {
			out = append(out, prefix+n)
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	})
}
