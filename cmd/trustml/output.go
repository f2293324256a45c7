package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// table prints rows under a header, aligned in columns.
func table(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func pct(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }

// printResult prints a command's result as indented JSON or as its text
// report; err, the error of the call that made res, is returned first.
func printResult(cmd *cobra.Command, res interface{ WriteText(io.Writer) error }, err error, asJSON bool) error {
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), res)
	}
	return res.WriteText(cmd.OutOrStdout())
}

// commandMeta is the checkpoint metadata naming the command line that made it.
func commandMeta() map[string]string {
	return map[string]string{"command": "trustml " + strings.Join(os.Args[1:], " ")}
}
