package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"reflect"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/repro"
)

// bindFlags adds a flag for every field of the struct *cfg tagged
// `flag:"name"`, with usage from its `help` tag and the field's current
// value as default; the tagged fields of untagged struct fields are bound in
// turn, their names prefixed by the field's `flagprefix` tag; `flag:"-"`
// skips a field. A []string field is a comma-separated list, or with
// `flagkind:"array"` a repeatable flag whose values may hold commas. A
// data.FileOptions field gets the data file options (data.FileFlags; the
// task options shown only with `flagkind:"tabular"`). Library
// configurations carry the tags, so a command is its Use line and one call.
// A field type it cannot bind is a programming error, caught by the test
// that builds every command.
// Notes while reading a data file go to os.Stderr; bindCmd sends them to
// the command's stderr instead.
func bindFlags(fs *pflag.FlagSet, cfg any) {
	bindPrefixed(fs, reflect.ValueOf(cfg).Elem(), "", func() io.Writer { return os.Stderr })
}

// bindCmd is bindFlags on cmd's flags, with notes to cmd's stderr.
func bindCmd(cmd *cobra.Command, cfg any) {
	bindPrefixed(cmd.Flags(), reflect.ValueOf(cfg).Elem(), "", cmd.ErrOrStderr)
}

func bindPrefixed(fs *pflag.FlagSet, v reflect.Value, prefix string, stderr func() io.Writer) {
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		name, ok := f.Tag.Lookup("flag")
		if name == "-" {
			continue
		}
		if !ok {
			if f.IsExported() && fv.Kind() == reflect.Struct {
				bindPrefixed(fs, fv, prefix+f.Tag.Get("flagprefix"), stderr)
			}
			continue
		}
		name, help := prefix+name, f.Tag.Get("help")
		switch p := fv.Addr().Interface().(type) {
		case *data.FileOptions: // its options, under their own names
			bindFileOptions(fs, p, f.Tag.Get("flagkind") == "tabular", stderr)
		case pflag.Value:
			fs.Var(p, name, help)
		case *int:
			fs.IntVar(p, name, *p, help)
		case *int64:
			fs.Int64Var(p, name, *p, help)
		case *uint64:
			fs.Uint64Var(p, name, *p, help)
		case *float64:
			fs.Float64Var(p, name, *p, help)
		case *string:
			fs.StringVar(p, name, *p, help)
		case *bool:
			fs.BoolVar(p, name, *p, help)
		case *[]int:
			fs.IntSliceVar(p, name, *p, help)
		case *[]float64:
			fs.Float64SliceVar(p, name, *p, help)
		case *[]string:
			if f.Tag.Get("flagkind") == "array" { // repeatable, each value whole
				fs.StringArrayVar(p, name, *p, help)
			} else {
				fs.StringSliceVar(p, name, *p, help)
			}
		case *time.Duration:
			fs.DurationVar(p, name, *p, help)
		default:
			panic(fmt.Sprintf("bindFlags: field %s has type %s, which no flag binds", f.Name, f.Type))
		}
	}
}

// report is what a library call returns for a command to print.
type report interface{ WriteText(io.Writer) error }

// libCmd makes the command use (its first word names it) whose flags are
// cfg's tagged fields (bindFlags) plus --json, and which prints run's
// report; cmd.Long is left for the caller to set where help needs more than
// short.
func libCmd[C any, R report](use, short, example string, cfg C, run func(context.Context, C, progress.Reporter) (R, error)) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{Use: use, Short: short, Example: example, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := run(cmd.Context(), cfg, newBar(cmd.ErrOrStderr()))
			if t, ok := any(r).(*repro.Table); ok {
				return printReproTable(cmd, t, err, asJSON) // an incomplete table is printed, then fails
			}
			return printResult(cmd, r, err, asJSON)
		}}
	bindCmd(cmd, cfg)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// byValue adapts a library call that takes its configuration by value, with
// a Progress field, to libCmd: the command's progress bar goes into the
// field.
func byValue[C any, R report](run func(context.Context, C) (R, error)) func(context.Context, *C, progress.Reporter) (R, error) {
	return func(ctx context.Context, c *C, p progress.Reporter) (R, error) {
		if f := reflect.ValueOf(c).Elem().FieldByName("Progress"); f.IsValid() && f.Type() == reflect.TypeFor[progress.Reporter]() {
			f.Set(reflect.ValueOf(&p).Elem())
		}
		return run(ctx, *c)
	}
}
