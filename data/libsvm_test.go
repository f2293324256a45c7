package data

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadLIBSVM(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		opt     LIBSVMOptions
		shape   []int
		x       []float32
		y       []int
		target  []float64
		classes []string
		wantErr string
	}{
		{name: "binary", in: "+1 1:0.5 3:2\n-1 2:1e-1\n+1\n",
			shape: []int{3}, x: []float32{0.5, 0, 2, 0, 0.1, 0, 0, 0, 0}, y: []int{1, 0, 1}, classes: []string{"-1", "+1"}},
		{name: "comments qid tabs", in: "# header\n2 qid:7 1:1\t4:4 # tail\n\n  1 2:2  \n10 1:-3\n",
			shape: []int{4}, x: []float32{1, 0, 0, 4, 0, 2, 0, 0, -3, 0, 0, 0}, y: []int{1, 0, 2}, classes: []string{"1", "2", "10"}},
		{name: "fixed dim", in: "0 1:1\n1 2:1\n", opt: LIBSVMOptions{Dim: 4},
			shape: []int{4}, x: []float32{1, 0, 0, 0, 0, 1, 0, 0}, y: []int{0, 1}, classes: []string{"0", "1"}},
		{name: "zero based", in: "a 0:1 2:3\nb 1:2\n", opt: LIBSVMOptions{ZeroBased: true},
			shape: []int{3}, x: []float32{1, 0, 3, 0, 2, 0}, y: []int{0, 1}, classes: []string{"a", "b"}},
		{name: "regression", in: "1.5 1:1\n-2e2 1:2\n", opt: LIBSVMOptions{Regression: true},
			shape: []int{1}, x: []float32{1, 2}, target: []float64{1.5, -200}},
		{name: "no trailing newline crlf", in: "1 1:1\r\n0 1:2", shape: []int{1}, x: []float32{1, 2}, y: []int{1, 0}, classes: []string{"0", "1"}},

		{name: "order", in: "1 1:1\n1 3:1 2:1\n", wantErr: `f.svm:2: token 3 ("2:1"): index 2 not greater than the previous index 3: indices must be strictly increasing`},
		{name: "repeat", in: "1 2:1 2:1\n", wantErr: `f.svm:1: token 3 ("2:1"): index 2 not greater than the previous index 2: indices must be strictly increasing`},
		{name: "zero index", in: "1 0:1\n", wantErr: `f.svm:1: token 2 ("0:1"): index 0 below 1 (indices are 1-based)`},
		{name: "not index value", in: "1 1:1 5\n", wantErr: `f.svm:1: token 3 ("5"): want <index>:<value>`},
		{name: "double colon", in: "1 1:1:1\n", wantErr: `f.svm:1: token 2 ("1:1:1"): want <index>:<value>`},
		{name: "bad index", in: "1 x:1\n", wantErr: `f.svm:1: token 2 ("x:1"): index "x" is not an integer`},
		{name: "huge index", in: "1 99999999999999999999:1\n", wantErr: `f.svm:1: token 2 ("99999999999999999999:1"): index 99999999999999999999 out of range`},
		{name: "bad value", in: "1 1:abc\n", wantErr: `f.svm:1: token 2 ("1:abc"): value "abc" is not a number`},
		{name: "nan value", in: "1 1:nan\n", wantErr: `f.svm:1: token 2 ("1:nan"): non-finite value "nan"`},
		{name: "beyond dim", in: "1 5:1\n", opt: LIBSVMOptions{Dim: 4}, wantErr: `f.svm:1: token 2 ("5:1"): index 5 beyond the dimension 4`},
		{name: "beyond max dim", in: "1 2000000:1\n", wantErr: `f.svm:1: token 2 ("2000000:1"): index 2000000 beyond the largest allowed dimension 1048576 (set LIBSVMOptions.Dim or MaxDim)`},
		{name: "missing label", in: "1:1 2:2\n", wantErr: `f.svm:1: label: line starts with "1:1", not a label: want "<label> <index>:<value> ..."`},
		{name: "bad target", in: "x 1:1\n", opt: LIBSVMOptions{Regression: true}, wantErr: `f.svm:1: label: target "x" is not a number`},
		{name: "inf target", in: "inf 1:1\n", opt: LIBSVMOptions{Regression: true}, wantErr: `f.svm:1: label: non-finite target "inf"`},
		{name: "late qid", in: "1 1:1 qid:3\n", wantErr: `f.svm:1: token 3 ("qid:3"): qid must directly follow the label`},
		{name: "empty", in: "# nothing\n\n", wantErr: `f.svm: no samples`},
		{name: "no features", in: "1\n2\n", wantErr: `f.svm: no features: every sample is empty (set LIBSVMOptions.Dim)`},
		{name: "negative dim", in: "1 1:1\n", opt: LIBSVMOptions{Dim: -1}, wantErr: `f.svm: negative Dim -1 or MaxDim 0`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ReadLIBSVM(strings.NewReader(tc.in), "f.svm", tc.opt)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("no error, want %q", tc.wantErr)
				}
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Errorf("error %v is not a *ParseError", err)
				}
				if err.Error() != tc.wantErr {
					t.Errorf("error\n %q, want\n %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			if !equalInts(d.Shape, tc.shape) || !slices.Equal(d.X, tc.x) || !slices.Equal(d.Y, tc.y) ||
				!slices.Equal(d.Target, tc.target) || !slices.Equal(d.Classes, tc.classes) {
				t.Errorf("got shape %v x %v y %v target %v classes %q\nwant shape %v x %v y %v target %v classes %q",
					d.Shape, d.X, d.Y, d.Target, d.Classes, tc.shape, tc.x, tc.y, tc.target, tc.classes)
			}
		})
	}
}

func TestLIBSVMRoundTrip(t *testing.T) {
	for _, name := range []string{"wine", "diabetes"} {
		d, err := Tabular(name)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteLIBSVM(&buf, d); err != nil {
			t.Fatal(err)
		}
		e, err := ReadLIBSVM(&buf, name, LIBSVMOptions{Dim: d.SampleSize(), Regression: d.Target != nil})
		if err != nil {
			t.Fatal(err)
		}
		if !sameData(d, e) {
			t.Errorf("%s: round trip differs", name)
		}
	}
	// Class names that are not LIBSVM labels, and unlabeled data, are refused.
	bad := &Dataset{Name: "b", Shape: []int{1}, X: []float32{1}, Y: []int{0}, Classes: []string{"a b"}}
	if err := WriteLIBSVM(&buf0{}, bad); err == nil {
		t.Error("class name with a space accepted")
	}
	if err := WriteLIBSVM(&buf0{}, &Dataset{Name: "u", Shape: []int{1}, X: []float32{1}}); err == nil {
		t.Error("unlabeled data accepted")
	}
}

type buf0 struct{}

func (buf0) Write(p []byte) (int, error) { return len(p), nil }

func TestLoadLIBSVMGzip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "t.svm.gz")
	if err := os.WriteFile(p, gzipBytes(t, []byte("1 1:1\n0 2:1\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := LoadLIBSVM(p, LIBSVMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 2 || d.SampleSize() != 2 {
		t.Errorf("len %d size %d", d.Len(), d.SampleSize())
	}
}

func FuzzReadLIBSVM(f *testing.F) {
	for _, s := range []string{
		"+1 1:0.5 3:2\n-1 2:1e-1\n+1\n",
		"# c\n2 qid:7 1:1\t4:4 # tail\n\n1 2:2\n",
		"1.5 1:1\n-2e2 1:2\n",
		"1 3:1 2:1\n",
		"1 0:1\n",
		"1 1:nan\n",
		"1:1\n",
		"1 4000000:1\n",
		"a 1:1\nb 1:x\n",
		"",
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(0xff))
	}
	f.Fuzz(func(t *testing.T, in string, flags uint8) {
		opt := LIBSVMOptions{
			Dim:        int(flags & 0x0f),
			MaxDim:     1 << 12,
			ZeroBased:  flags&0x40 != 0,
			Regression: flags&0x80 != 0,
		}
		d, err := ReadLIBSVM(strings.NewReader(in), "fuzz.svm", opt)
		if err != nil {
			requireParseError(t, err, "fuzz.svm")
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("parsed an invalid dataset: %v", err)
		}
		if opt.Dim > 0 && d.SampleSize() != opt.Dim {
			t.Fatalf("dimension %d, want %d", d.SampleSize(), opt.Dim)
		}
		if opt.Regression != (d.Target != nil) || opt.Regression == (d.Y != nil) {
			t.Fatal("labels or targets missing")
		}
		// Round trip through WriteLIBSVM when the class names are tokens.
		var buf bytes.Buffer
		if err := WriteLIBSVM(&buf, d); err != nil {
			return // class names that WriteLIBSVM cannot write
		}
		e, err := ReadLIBSVM(&buf, "round", LIBSVMOptions{Dim: d.SampleSize(), Regression: opt.Regression})
		if err != nil {
			t.Fatalf("reading back %q: %v", buf.String(), err)
		}
		if !sameData(d, e) {
			t.Fatalf("round trip differs:\n%+v\n%+v", d, e)
		}
	})
}
