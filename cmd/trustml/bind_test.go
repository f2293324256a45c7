package main

import (
	"slices"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/trustml/trustml/shard"
)

type bindInner struct {
	Timeout time.Duration `flag:"timeout" help:"t"`
}

type bindConfig struct {
	N       int        `flag:"n" help:"count"`
	Rate    float64    `flag:"rate"`
	Name    string     `flag:"name"`
	On      bool       `flag:"on"`
	Seed    uint64     `flag:"seed"`
	Big     int64      `flag:"big"`
	Ints    []int      `flag:"ints"`
	Floats  []float64  `flag:"floats"`
	List    []string   `flag:"list"`
	Params  []string   `flag:"param" flagkind:"array"`
	Shard   shard.Spec `flag:"shard"`
	Inner   bindInner  `flagprefix:"up-"`
	Skipped int        // no tag: no flag
	hidden  bindInner  // unexported: never bound
}

// TestBindFlags parses a command line into every kind of field bindFlags
// binds and checks that untagged fields get no flag.
func TestBindFlags(t *testing.T) {
	c := bindConfig{N: 3, Name: "x", List: []string{"a"}}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	bindFlags(fs, &c)
	if fs.Lookup("n").DefValue != "3" || fs.Lookup("n").Usage != "count" || fs.Lookup("skipped") != nil || fs.Lookup("timeout") != nil {
		t.Fatalf("flags: n %+v, skipped %v, unprefixed timeout %v", fs.Lookup("n"), fs.Lookup("skipped"), fs.Lookup("timeout"))
	}
	err := fs.Parse([]string{"--n", "5", "--rate", "0.5", "--name", "y", "--on", "--seed", "7", "--big", "9000000000",
		"--ints", "1,2", "--floats", "0.25", "--list", "b,c", "--param", "aaa:tau=1,t=2", "--param", "rnd:nu=0.1",
		"--shard", "1/4", "--up-timeout", "2s"})
	if err != nil {
		t.Fatal(err)
	}
	want := bindConfig{N: 5, Rate: 0.5, Name: "y", On: true, Seed: 7, Big: 9e9, Ints: []int{1, 2}, Floats: []float64{0.25},
		List: []string{"b", "c"}, Params: []string{"aaa:tau=1,t=2", "rnd:nu=0.1"}, Shard: shard.Spec{Index: 1, Count: 4}, Inner: bindInner{2 * time.Second}}
	if c.N != want.N || c.Rate != want.Rate || c.Name != want.Name || c.On != want.On || c.Seed != want.Seed || c.Big != want.Big ||
		!slices.Equal(c.Ints, want.Ints) || !slices.Equal(c.Floats, want.Floats) || !slices.Equal(c.List, want.List) ||
		!slices.Equal(c.Params, want.Params) || c.Shard != want.Shard || c.Inner != want.Inner {
		t.Errorf("parsed %+v\nwant   %+v", c, want)
	}
	if err := fs.Parse([]string{"--shard", "4/4"}); err == nil {
		t.Error("--shard 4/4 parsed")
	}
}

// TestBindFlagsUnsupported: a tagged field of a type no flag binds is a
// programming error that panics when the command is built.
func TestBindFlagsUnsupported(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a map field")
		}
	}()
	var c struct {
		M map[string]int `flag:"m"`
	}
	bindFlags(pflag.NewFlagSet("t", pflag.ContinueOnError), &c)
}
