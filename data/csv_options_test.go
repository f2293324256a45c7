package data

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadCSVOptions checks the options a scikit-learn user reaches for
// (label column by name, delimiter, shape, task) and the notes and errors
// that keep a file from silently changing meaning.
func TestReadCSVOptions(t *testing.T) {
	many := "a,y\n"
	for i := range 30 {
		many += "1," + strings.Repeat("1", 1) + string(rune('0'+i%10)) + string(rune('0'+i/10)) + "\n"
	}
	tests := []struct {
		name    string
		in      string
		opt     CSVOptions
		shape   []int
		y       []int
		target  []float64
		classes []string
		warn    string // substring of the only note; "" for none
		wantErr string // substring of the error
	}{
		{name: "header note", in: "a,b,l\n1,2,x\n1,2,z\n", shape: []int{2}, y: []int{0, 1}, classes: []string{"x", "z"},
			warn: `f.csv: line 1 read as a header ("a", "b", "l")`},
		{name: "label by name", in: "price,a,b\n1.5,2,3\n2.5,4,5\n", opt: CSVOptions{LabelName: "price"}, shape: []int{2},
			target: []float64{1.5, 2.5}, warn: `column 1 ("price") holds numbers that are not integers (such as 1.5): read as a regression target`},
		{name: "label name missing", in: "a,b\n1,2\n", opt: CSVOptions{LabelName: "price"}, wantErr: `f.csv:1: no column named "price" in the header ("a", "b")`},
		{name: "label name without header", in: "a,b\n1,2\n", opt: CSVOptions{LabelName: "a", Header: HeaderNo}, wantErr: "no header"},
		{name: "tab", in: "1\t2\tx\n", opt: CSVOptions{Comma: '\t'}, shape: []int{2}, y: []int{0}, classes: []string{"x"}, warn: "one class"},
		{name: "shape unlabeled", in: "1,2,3,4\n5,6,7,8\n", opt: CSVOptions{Shape: []int{1, 2, 2}}, shape: []int{1, 2, 2},
			warn: "f.csv: rows of 4 values fill shape [1 2 2]: read without labels"},
		{name: "shape keeps class indices", in: "1,2,3,4,7\n5,6,7,8,3\n1,1,1,1,3\n", opt: CSVOptions{Shape: []int{1, 2, 2}}, shape: []int{1, 2, 2},
			y: []int{7, 3, 3}, classes: []string{"0", "1", "2", "3", "4", "5", "6", "7"}},
		{name: "shape with class names", in: "1,2,3,4,cat\n5,6,7,8,dog\n", opt: CSVOptions{Shape: []int{1, 2, 2}}, shape: []int{1, 2, 2},
			y: []int{0, 1}, classes: []string{"cat", "dog"}},
		{name: "shape labeled", in: "1,2,3,4,0\n5,6,7,8,1\n", opt: CSVOptions{Shape: []int{1, 2, 2}}, shape: []int{1, 2, 2},
			y: []int{0, 1}, classes: []string{"0", "1"}},
		{name: "shape with label column", in: "1,2,3,4\n", opt: CSVOptions{Shape: []int{1, 2, 2}, LabelColumn: -1, Regression: true},
			wantErr: "f.csv:1: rows of 4 columns (3 features) do not fit shape [1 2 2], which needs 4 values per row (5 with a label column)"},
		{name: "shape regression unlabeled", in: "1,2,3,4\n", opt: CSVOptions{Shape: []int{1, 2, 2}, Regression: true}, shape: []int{1, 2, 2},
			warn: "read without labels"},
		{name: "shape classes unlabeled", in: "1,2,3,4\n", opt: CSVOptions{Shape: []int{1, 2, 2}, Classification: true}, shape: []int{1, 2, 2},
			warn: "read without labels"},
		{name: "shape mismatch", in: "1,2,3\n", opt: CSVOptions{Shape: []int{1, 2, 2}}, wantErr: "do not fit shape [1 2 2]"},
		{name: "ambiguous integers", in: many, wantErr: `f.csv: column 2 ("y") has 30 distinct integer values in 30 rows`},
		{name: "ambiguous told", in: many, opt: CSVOptions{Regression: true}, shape: []int{1}, warn: "read as a header"},
		{name: "names in every row", in: "1,a\n1,b\n1,c\n1,d\n1,e\n1,f\n1,g\n1,h\n1,i\n1,j\n1,k\n", wantErr: "holds a different name in each of its 11 rows"},
		{name: "label column named elsewhere", in: "label,p1,p2\n3,0,0\n1,0,0\n", wantErr: `column 1 is named "label", but the label is read from the last column, 3 ("p2")`},
		{name: "both tasks", in: "1,2\n", opt: CSVOptions{Regression: true, Classification: true}, wantErr: "both regression and classification"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var notes []string
			tc.opt.Warn = func(m string) { notes = append(notes, m) }
			d, err := ReadCSV(strings.NewReader(tc.in), "f.csv", tc.opt)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				requireParseError(t, err, "f.csv")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(d.Shape, tc.shape) || tc.y != nil && !slices.Equal(d.Y, tc.y) || tc.target != nil && !slices.Equal(d.Target, tc.target) ||
				tc.classes != nil && !slices.Equal(d.Classes, tc.classes) {
				t.Errorf("shape %v y %v target %v classes %q", d.Shape, d.Y, d.Target, d.Classes)
			}
			if tc.warn == "" && len(notes) > 0 || tc.warn != "" && (len(notes) != 1 || !strings.Contains(notes[0], tc.warn)) {
				t.Errorf("notes %q, want one containing %q", notes, tc.warn)
			}
		})
	}
}

// TestFloat64Values checks that Float64 keeps values float32 cannot hold
// and that splits, clones and the standardizer use them.
func TestFloat64Values(t *testing.T) {
	d, err := ReadCSV(strings.NewReader("0.1,1\n0.30000000000000004,2\n1e-300,1\n"), "f.csv", CSVOptions{Float64: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.1, 0.30000000000000004, 1e-300}
	if !slices.Equal(d.X64, want) || !slices.Equal(d.Float64().RawMatrix().Data, want) {
		t.Fatalf("X64 %v Float64 %v, want %v", d.X64, d.Float64().RawMatrix().Data, want)
	}
	if s := d.Subset([]int{2, 0}); !slices.Equal(s.X64, []float64{1e-300, 0.1}) {
		t.Errorf("Subset X64 %v", s.X64)
	}
	if c := d.Clone(); !slices.Equal(c.X64, want) {
		t.Errorf("Clone X64 %v", c.X64)
	}
	st, err := FitStandardizer(d)
	if err != nil {
		t.Fatal(err)
	}
	m32 := (float64(float32(0.1)) + float64(float32(0.30000000000000004)) + float64(float32(1e-300))) / 3
	if m := (0.1 + 0.30000000000000004 + 1e-300) / 3; math.Abs(st.Mean[0]-m) > 1e-16 || math.Abs(m32-m) < 1e-9 {
		t.Errorf("mean %v, want %v (float32 data: %v)", st.Mean[0], m, m32)
	}
}

// TestOpenWith checks the file options through OpenWith: .tsv, errors for
// built-in sets and other formats, and the flag values.
func TestOpenWith(t *testing.T) {
	dir := t.TempDir()
	tsv := filepath.Join(dir, "x.tsv")
	if err := os.WriteFile(tsv, []byte("a\tb\n1\tx\n2\ty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var opt FileOptions
	for name, v := range map[string]string{"header": "yes", "label-col": "-1", "classification": "true"} {
		if err := opt.Value(name).Set(v); err != nil {
			t.Fatal(err)
		}
	}
	d, err := OpenWith(tsv, Train, "", opt)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Classes, []string{"x", "y"}) || !slices.Equal(d.Features, []string{"a"}) {
		t.Errorf("classes %q features %q", d.Classes, d.Features)
	}
	for _, tc := range []struct {
		name string
		opt  FileOptions
		want string
	}{
		{"iris", FileOptions{LabelColumn: 2}, `"iris" is a built-in data set: the label column option applies to files only`},
		{"iris", FileOptions{Regression: true}, "iris is a classification data set, not a regression one"},
		{"diabetes", FileOptions{Classification: true}, "diabetes is a regression data set, not a classification one"},
		{filepath.Join(dir, "a.libsvm"), FileOptions{Shape: []int{2}}, "the shape option applies to CSV files only"},
	} {
		if _, err := OpenWith(tc.name, Train, "", tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %+v: error %v, want %q", tc.name, tc.opt, err, tc.want)
		}
	}
	for name, v := range map[string]string{"label-col": "0", "header": "maybe", "delimiter": "ab", "shape": "1,0", "no-label": "perhaps"} {
		if err := new(FileOptions).Value(name).Set(v); err == nil {
			t.Errorf("--%s %s: no error", name, v)
		}
	}
	if r, err := ParseDelimiter(`\t`); err != nil || r != '\t' {
		t.Errorf(`ParseDelimiter(\t) = %q, %v`, r, err)
	}
}
