package impute_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/impute"
)

const missingCSV = "a,b,c,label\n1,2,NA,x\n2,,3,y\n3,4,5,x\n?,5,6,y\n5,6,7,x\n6,7,,y\n7,8,9,x\n8,9,10,y\n9,,11,x\n10,11,12,y\n"

func TestRunFile(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "m.csv"), filepath.Join(dir, "filled.csv")
	if err := os.WriteFile(in, []byte(missingCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"mean", "knn", "bandwidth", "supervised"} {
		cfg := impute.DefaultConfig()
		cfg.Data, cfg.Method, cfg.Out, cfg.Force, cfg.K = in, method, out, true, 2
		cfg.Supervised.Steps, cfg.Supervised.Sweeps = 5, 5
		r, err := impute.Run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if r.Missing != 5 || r.Removed != 0 || r.RMSE != nil || r.Metric != "test accuracy" || r.TestRows != 3 {
			t.Errorf("%s: report %+v", method, r)
		}
		d, err := data.OpenWith(out, data.Train, "", data.FileOptions{Float64: true})
		if err != nil {
			t.Fatalf("%s: the completed file does not read back: %v", method, err)
		}
		// Observed values are kept, in the file's row order.
		if d.Len() != 10 || d.X64[0] != 1 || d.X64[1] != 2 || d.X64[29] != 12 || d.Classes[d.Y[1]] != "y" {
			t.Errorf("%s: completed rows %v", method, d.X64)
		}
	}
	if strings.Count(mustRead(t, out), "\n") != 11 {
		t.Errorf("completed file:\n%s", mustRead(t, out))
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunRemoveScoresRMSE(t *testing.T) {
	cfg := impute.DefaultConfig()
	cfg.Data, cfg.Method, cfg.Remove = "iris", "knn", 0.2
	r, err := impute.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.RMSE == nil || !(*r.RMSE > 0 && *r.RMSE < 1) || r.Removed < 80 || r.Removed > 160 || r.Score < 0.8 {
		t.Errorf("report %+v (RMSE %v)", r, r.RMSE)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	exists := filepath.Join(dir, "x.csv")
	if err := os.WriteFile(exists, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mod  func(*impute.Config)
		want string
	}{
		{func(c *impute.Config) { c.Method = "median" }, `unknown method "median"`},
		{func(c *impute.Config) { c.Data = "" }, "no data set"},
		{func(c *impute.Config) { c.Remove = 1 }, "--remove 1"},
		{func(c *impute.Config) { c.Out = filepath.Join(dir, "x.txt") }, "want a .csv, .libsvm or .npz"},
		{func(c *impute.Config) { c.Out = exists }, "exists; --force overwrites it"},
		{func(c *impute.Config) { c.Data = filepath.Join(dir, "none.csv") }, "none.csv"},
	} {
		cfg := impute.DefaultConfig()
		cfg.Data = "iris"
		tc.mod(&cfg)
		if _, err := impute.Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
	if mustRead(t, exists) != "old" {
		t.Error("an existing --out was overwritten without --force")
	}
}
