package data

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		opt      CSVOptions
		shape    []int
		x        []float32
		y        []int
		target   []float64
		classes  []string
		features []string
		wantErr  string // exact error text; "" for success
	}{
		{name: "header auto", in: "a,b,label\n1,2,cat\n3,4.5,dog\n-1e3, 0 ,cat\n",
			shape: []int{2}, x: []float32{1, 2, 3, 4.5, -1000, 0}, y: []int{0, 1, 0},
			classes: []string{"cat", "dog"}, features: []string{"a", "b"}},
		{name: "no header auto", in: "1,2,1\n3,4,-1\n5,6,1.0\n",
			shape: []int{2}, x: []float32{1, 2, 3, 4, 5, 6}, y: []int{1, 0, 1}, classes: []string{"-1", "1"}},
		{name: "numeric label order", in: "0,10\n0,9\n0,-2\n0,9\n",
			shape: []int{1}, x: []float32{0, 0, 0, 0}, y: []int{2, 1, 0, 1}, classes: []string{"-2", "9", "10"}},
		{name: "label first", in: "y,f1,f2\nb,1,2\na,3,4\n", opt: CSVOptions{LabelColumn: 1},
			shape: []int{2}, x: []float32{1, 2, 3, 4}, y: []int{1, 0}, classes: []string{"a", "b"}, features: []string{"f1", "f2"}},
		{name: "label middle negative", in: "1,x,2\n3,y,4\n", opt: CSVOptions{LabelColumn: -2},
			shape: []int{2}, x: []float32{1, 2, 3, 4}, y: []int{0, 1}, classes: []string{"x", "y"}},
		{name: "regression", in: "x,t\n1,2.5\n2,-0.25\n", opt: CSVOptions{Regression: true},
			shape: []int{1}, x: []float32{1, 2}, target: []float64{2.5, -0.25}, features: []string{"x"}},
		{name: "unlabeled", in: "1,2\n3,4\n", opt: CSVOptions{NoLabel: true}, shape: []int{2}, x: []float32{1, 2, 3, 4}},
		{name: "semicolon comment", in: "# data\n1;2;a\n\n# more\n3;4;b\n", opt: CSVOptions{Comma: ';', Comment: '#'},
			shape: []int{2}, x: []float32{1, 2, 3, 4}, y: []int{0, 1}, classes: []string{"a", "b"}},
		{name: "quoted", in: "\"x\",\"y\"\n\"1.5\",\"a,b\"\n", shape: []int{1}, x: []float32{1.5}, y: []int{0},
			classes: []string{"a,b"}, features: []string{"x"}},
		{name: "header yes numeric names", in: "1,2\n3,4\n", opt: CSVOptions{Header: HeaderYes},
			shape: []int{1}, x: []float32{3}, y: []int{0}, classes: []string{"4"}, features: []string{"1"}},
		{name: "bom", in: "\uFEFF1,x\n", shape: []int{1}, x: []float32{1}, y: []int{0}, classes: []string{"x"}},
		{name: "crlf", in: "a,l\r\n1,x\r\n", shape: []int{1}, x: []float32{1}, y: []int{0}, classes: []string{"x"}, features: []string{"a"}},

		{name: "ragged", in: "a,b,l\n1,2,x\n3,x\n", wantErr: "f.csv:3: ragged row: 2 fields, want 3 as in line 1"},
		{name: "not a number", in: "a,b,l\n1,2,x\n3,abc,y\n", wantErr: `f.csv:3: column 2 ("b"): value "abc" is not a number`},
		{name: "not a number no header", in: "1,2,x\n3,abc,y\n", opt: CSVOptions{Header: HeaderNo}, wantErr: `f.csv:2: column 2: value "abc" is not a number`},
		{name: "header no", in: "a,b,l\n1,2,x\n", opt: CSVOptions{Header: HeaderNo}, wantErr: `f.csv:1: column 1: value "a" is not a number`},
		{name: "nan", in: "1,NaN,x\n", wantErr: `f.csv:1: column 2: non-finite value "NaN"`},
		{name: "inf", in: "a,l\n1,x\n-Inf,y\n", wantErr: `f.csv:3: column 1 ("a"): non-finite value "-Inf"`},
		{name: "overflow", in: "1e39,x\n", wantErr: `f.csv:1: column 1: value "1e39" out of float32 range`},
		{name: "empty value", in: "1,,x\n", wantErr: `f.csv:1: column 2: empty value`},
		{name: "empty label", in: "1,2, \n", wantErr: `f.csv:1: column 3: empty label`},
		{name: "bad target", in: "1,abc\n", opt: CSVOptions{Regression: true}, wantErr: `f.csv:1: column 2: target "abc" is not a number`},
		{name: "inf target", in: "1,inf\n", opt: CSVOptions{Regression: true}, wantErr: `f.csv:1: column 2: non-finite target "inf"`},
		{name: "only label", in: "1\n2\n", wantErr: `f.csv:1: 1 columns: no feature columns besides the label`},
		{name: "label column range", in: "1,2\n", opt: CSVOptions{LabelColumn: 3}, wantErr: `f.csv:1: label column 3 out of range: the first row has 2 columns`},
		{name: "header only", in: "a,b\n", wantErr: `f.csv: no data rows`},
		{name: "empty", in: "", wantErr: `f.csv: no data rows`},
		{name: "bad quote", in: "1,2,x\n3,\"4,y\n", wantErr: `f.csv:2: byte 8 of the line: extraneous or missing " in quoted-field`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ReadCSV(strings.NewReader(tc.in), "f.csv", tc.opt)
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
				!slices.Equal(d.Target, tc.target) || !slices.Equal(d.Classes, tc.classes) || !slices.Equal(d.Features, tc.features) {
				t.Errorf("got shape %v x %v y %v target %v classes %q features %q\nwant shape %v x %v y %v target %v classes %q features %q",
					d.Shape, d.X, d.Y, d.Target, d.Classes, d.Features, tc.shape, tc.x, tc.y, tc.target, tc.classes, tc.features)
			}
			if d.Name != "f.csv" || d.Source != "f.csv" {
				t.Errorf("name %q source %q", d.Name, d.Source)
			}
		})
	}
}

func TestLoadCSVGzip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "t.csv.gz")
	if err := os.WriteFile(p, gzipBytes(t, []byte("a,l\n1,x\n2,y\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := LoadCSV(p, CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 2 || d.Source != p {
		t.Errorf("len %d source %q", d.Len(), d.Source)
	}
	if _, err := LoadCSV(filepath.Join(dir, "missing.csv"), CSVOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestCSVRoundTrip writes embedded datasets and reads them back.
func TestCSVRoundTrip(t *testing.T) {
	for _, name := range []string{"iris", "diabetes"} {
		d, err := Tabular(name)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, d); err != nil {
			t.Fatal(err)
		}
		e, err := ReadCSV(&buf, name, CSVOptions{Regression: d.Target != nil})
		if err != nil {
			t.Fatal(err)
		}
		if !sameData(d, e) {
			t.Errorf("%s: round trip differs", name)
		}
	}
}

// sameData compares the samples, labels and targets of two datasets
// (Classes as strings, since the reader orders them itself).
func sameData(a, b *Dataset) bool {
	if !equalInts(a.Shape, b.Shape) || !slices.Equal(a.X, b.X) || !slices.Equal(a.Target, b.Target) ||
		(a.Y == nil) != (b.Y == nil) || len(a.Y) != len(b.Y) {
		return false
	}
	for i := range a.Y {
		if a.Classes[a.Y[i]] != b.Classes[b.Y[i]] {
			return false
		}
	}
	return true
}

func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		"a,b,label\n1,2,cat\n3,4.5,dog\n",
		"1,2,1\n3,4,-1\n5,6,+1\n",
		"x,t\n1,2.5\n2,-0.25\n",
		"1,2\n3\n",
		"1,NaN,x\n",
		"1e39,x\n",
		"\"a\",\"b\nc\"\n1,2\n",
		"1,,x\n",
		"a;b\n1;2\n",
		"label\tf\n1\t0.1\n2\t0.30000000000000004\n",
		"0,0,0,0,1\n1,1,1,1,0\n",
		"y,a\n1,2\n2,3\n3,4\n4,5\n5,6\n6,7\n7,8\n8,9\n9,10\n10,11\n11,12\n12,13\n",
		"",
	} {
		f.Add(s, uint8(0), uint16(0))
		f.Add(s, uint8(0xff), uint16(0xffff))
		f.Add(s, uint8(0x03), uint16(0x0418))
	}
	f.Fuzz(func(t *testing.T, in string, flags uint8, more uint16) {
		var warnings []string
		opt := CSVOptions{
			Header:         HeaderMode(flags % 3),
			LabelColumn:    int(int8(flags>>2)) % 4,
			NoLabel:        flags&0x40 != 0,
			Regression:     flags&0x80 != 0,
			Classification: more&1 != 0,
			Comma:          []rune{0, ';', '\t', '|'}[more>>1&3],
			Float64:        more&0x400 != 0,
			Warn:           func(m string) { warnings = append(warnings, m) },
		}
		if more&8 != 0 {
			opt.Shape = []int{1, int(more>>4)%5 + 1}
		}
		if more&0x200 != 0 {
			opt.LabelName = "label"
		}
		d, err := ReadCSV(strings.NewReader(in), "fuzz.csv", opt)
		for _, w := range warnings {
			if !strings.HasPrefix(w, "fuzz.csv") {
				t.Fatalf("warning %q does not name the file", w)
			}
		}
		if err != nil {
			requireParseError(t, err, "fuzz.csv")
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("parsed an invalid dataset: %v", err)
		}
		if d.Len() == 0 || opt.Shape == nil && len(d.Shape) != 1 || opt.Shape != nil && !slices.Equal(d.Shape, opt.Shape) {
			t.Fatalf("len %d shape %v, options' shape %v", d.Len(), d.Shape, opt.Shape)
		}
		for _, v := range d.X {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("non-finite value %v", v)
			}
		}
		if opt.Float64 != (d.X64 != nil) {
			t.Fatalf("Float64 %v, X64 kept %v", opt.Float64, d.X64 != nil)
		}
		for i, v := range d.X64 {
			if float32(v) != d.X[i] {
				t.Fatalf("X64[%d] = %v, X = %v", i, v, d.X[i])
			}
		}
		switch {
		case opt.NoLabel && (d.Y != nil || d.Target != nil):
			t.Fatal("labels on unlabeled data")
		case !opt.NoLabel && opt.Regression && len(d.Target) != d.Len() && (opt.Shape == nil || d.Y != nil):
			t.Fatal("missing targets")
		case !opt.NoLabel && opt.Classification && len(d.Y) != d.Len() && (opt.Shape == nil || d.Target != nil):
			t.Fatal("missing labels")
		case opt.Shape != nil && len(d.Y)+len(d.Target) == 0 && !opt.NoLabel && opt.LabelColumn == 0 && opt.LabelName == "" && len(warnings) == 0:
			t.Fatal("read without labels without a note")
		case !opt.NoLabel && opt.Shape == nil && len(d.Y)+len(d.Target) != d.Len():
			t.Fatal("neither labels nor targets")
		case !opt.Regression && !opt.Classification && len(d.Classes) > MaxInferredClasses:
			t.Fatalf("inferred %d classes", len(d.Classes))
		}
		// Round trip: what WriteCSV writes reads back to the same data.
		var buf bytes.Buffer
		if err := WriteCSV(&buf, d); err != nil {
			t.Fatal(err)
		}
		e, err := ReadCSV(&buf, "round", CSVOptions{Header: HeaderYes, NoLabel: d.Y == nil && d.Target == nil,
			Regression: d.Target != nil, Classification: d.Y != nil, Float64: opt.Float64})
		if err != nil {
			t.Fatalf("reading back %q: %v", buf.String(), err)
		}
		e.Shape = d.Shape
		if !sameData(d, e) || !slices.Equal(d.X64, e.X64) {
			t.Fatalf("round trip differs:\n%+v\n%+v", d, e)
		}
	})
}
