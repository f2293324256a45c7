package data

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "a.csv")
	svmPath := filepath.Join(dir, "b.svm.gz")
	regPath := filepath.Join(dir, "r.csv")
	if err := os.WriteFile(csvPath, []byte("x,y,l\n1,2,a\n3,4,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(svmPath, gzipBytes(t, []byte("1 1:1\n-1 3:2\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(regPath, []byte("x,t\n1,0.5\n2,1.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		split Split
		n     int
		shape []int
	}{
		{"", Train, 10000, []int{1, 28, 28}},
		{"fashion-mnist-small", Test, 2000, []int{1, 28, 28}},
		{"iris", Test, 150, []int{4}},
		{"wine", Train, 178, []int{13}},
		{"breast-cancer", Train, 569, []int{30}},
		{"digits", Train, 1797, []int{64}},
		{"diabetes", Train, 442, []int{10}},
		{csvPath, Test, 2, []int{2}},
		{svmPath, Train, 2, []int{3}},
	}
	for _, tc := range tests {
		d, err := Open(tc.name, tc.split, "")
		if err != nil {
			t.Fatalf("Open(%q): %v", tc.name, err)
		}
		if d.Len() != tc.n || !equalInts(d.Shape, tc.shape) {
			t.Errorf("Open(%q): %d samples of shape %v, want %d of %v", tc.name, d.Len(), d.Shape, tc.n, tc.shape)
		}
	}
	d, err := OpenFile(regPath, FileOptions{Regression: true})
	if err != nil || len(d.Target) != 2 || d.Target[1] != 1.5 {
		t.Errorf("OpenFile regression: %v %v", d, err)
	}
	if _, err := Open("fashion-mnist", Train, filepath.Join(dir, "nothing")); !errors.Is(err, ErrNotFound) {
		t.Errorf("fashion-mnist from an empty dir: %v", err)
	}
	_, err = Open("cifar10", Train, "")
	if err == nil || !strings.Contains(err.Error(), "fashion-mnist-small") || !strings.Contains(err.Error(), ".libsvm") {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing.csv"), Train, ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := OpenFile(filepath.Join(dir, "x.parquet"), FileOptions{}); err == nil {
		t.Error("unknown extension accepted")
	}
}

func TestNames(t *testing.T) {
	names := Names()
	if names[0].Name != DefaultName {
		t.Errorf("first name %q, want the default %q", names[0].Name, DefaultName)
	}
	seen := map[string]bool{}
	for _, in := range names {
		if in.Description == "" || seen[in.Name] {
			t.Errorf("bad entry %+v", in)
		}
		seen[in.Name] = true
		if in.Name == "fashion-mnist" {
			continue // needs the files
		}
		d, err := Open(in.Name, Train, "")
		if err != nil {
			t.Errorf("%s: %v", in.Name, err)
			continue
		}
		if err := d.Validate(); err != nil {
			t.Errorf("%s: %v", in.Name, err)
		}
	}
	if len(names) != 8 {
		t.Errorf("%d names, want 8", len(names))
	}
}
