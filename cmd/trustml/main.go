// Command trustml is the command-line interface to the trustml toolkit:
// train and evaluate models, attack and defend them, detect
// out-of-distribution inputs, and learn with kernels.
//
// Run "trustml --help" for the list of commands; every command has --help
// with an example.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// subcommands is filled by init functions in this package's files, one file
// per command group, the way image formats register themselves.
var subcommands []func() *cobra.Command

func register(f func() *cobra.Command) { subcommands = append(subcommands, f) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "trustml",
		Short: "Trustworthy and efficient machine learning: attacks, defenses, OoD detection, flat-minima training, kernels",
		Long: `trustml turns research on trustworthy and efficient machine learning into
tools: defend a model's prediction API against black-box query attacks, attack
and evaluate models, detect out-of-distribution inputs, train with flatter
minima, and learn with (asymmetric) kernels.

Everything runs on embedded defaults: "trustml demo" needs no download.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, f := range subcommands {
		root.AddCommand(f())
	}
	return root
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "trustml:", err)
		os.Exit(1)
	}
}
