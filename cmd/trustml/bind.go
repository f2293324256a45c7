package main

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/repro"
)

// bindFlags adds a flag for every field of the struct *cfg tagged
// `flag:"name"`, with usage from its `help` tag and the field's current
// value as default; the tagged fields of untagged struct fields are bound in
// turn, their names prefixed by the field's `flagprefix` tag. A []string
// field is a comma-separated list, or with `flagkind:"array"` a repeatable
// flag whose values may hold commas. Library
// configurations carry the tags, so a command is its Use line and one call.
// A field type it cannot bind is a programming error, caught by the test
// that builds every command.
func bindFlags(fs *pflag.FlagSet, cfg any) { bindPrefixed(fs, reflect.ValueOf(cfg).Elem(), "") }

func bindPrefixed(fs *pflag.FlagSet, v reflect.Value, prefix string) {
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		name, ok := f.Tag.Lookup("flag")
		if !ok {
			if f.IsExported() && fv.Kind() == reflect.Struct {
				bindPrefixed(fs, fv, prefix+f.Tag.Get("flagprefix"))
			}
			continue
		}
		name, help := prefix+name, f.Tag.Get("help")
		switch p := fv.Addr().Interface().(type) {
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
	bindFlags(cmd.Flags(), cfg)
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
