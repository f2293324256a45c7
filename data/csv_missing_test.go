package data

import (
	"math"
	"strings"
	"testing"
)

func TestReadCSVMissing(t *testing.T) {
	const in = "a,b,label\nNA,1,x\n2,,y\n?,n/a,x\n4,5,y\n"
	if _, err := ReadCSV(strings.NewReader(in), "m.csv", CSVOptions{Float64: true}); err == nil {
		t.Fatal("missing values read without CSVOptions.Missing")
	}
	d, err := ReadCSV(strings.NewReader(in), "m.csv", CSVOptions{Float64: true, Missing: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{math.NaN(), 1, 2, math.NaN(), math.NaN(), math.NaN(), 4, 5} {
		if got := d.X64[i]; got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("value %d = %v, want %v", i, got, want)
		}
	}
	// A missing label is still an error.
	if _, err := ReadCSV(strings.NewReader("a,label\n1,\n"), "m.csv", CSVOptions{Missing: true}); err == nil || !strings.Contains(err.Error(), "empty label") {
		t.Errorf("missing label: err = %v", err)
	}
	// With auto header detection, a first data row of missing markers is data.
	d, err = ReadCSV(strings.NewReader("NA,1,x\n2,?,y\n"), "m.csv", CSVOptions{Missing: true})
	if err != nil || d.Len() != 2 {
		t.Errorf("first row NA: %v rows, err %v", d, err)
	}
}

// FuzzReadCSVMissing reads arbitrary input with missing values allowed:
// an error or a dataset whose features are numbers or NaN, never a panic.
func FuzzReadCSVMissing(f *testing.F) {
	f.Add("a,b,label\nNA,1,x\n2,,y\n")
	f.Add("?,n/a,1\n1,2,2\n")
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ReadCSV(strings.NewReader(in), "f.csv", CSVOptions{Missing: true, Float64: true})
		if err != nil {
			return
		}
		for _, v := range d.X64 {
			if math.IsInf(v, 0) {
				t.Fatalf("infinite feature from %q", in)
			}
		}
	})
}
