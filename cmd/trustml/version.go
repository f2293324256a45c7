package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/internal/linalg"
)

// version is set at link time (-ldflags "-X main.version=...") for releases.
var version = "dev"

func init() { register(newVersionCmd) }

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the trustml version, Go version and linear-algebra backend",
		Example: "  trustml version\n  trustml version --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version
			if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						v = "dev-" + s.Value[:12]
					}
				}
			}
			info := map[string]string{"version": v, "go": runtime.Version(), "linalg": linalg.Backend(), "platform": runtime.GOOS + "/" + runtime.GOARCH}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), info)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "trustml %s (%s, %s, linear algebra: %s)\n", info["version"], info["go"], info["platform"], info["linalg"])
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
