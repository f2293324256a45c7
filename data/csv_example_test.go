package data_test

import (
	"fmt"
	"strings"

	"github.com/trustml/trustml/data"
)

// Read a TSV file with the target in the first column, named "price": the
// header is dropped with a note, and the float64 values are kept.
func ExampleReadCSV_options() {
	in := "price\trooms\tarea\n250000.5\t3\t81.25\n199999.25\t2\t64.5\n"
	d, err := data.ReadCSV(strings.NewReader(in), "houses.tsv", data.CSVOptions{
		Comma: '\t', LabelName: "price", Regression: true, Float64: true,
		Warn: func(m string) { fmt.Println("note:", m) },
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Features, d.Shape, d.Target, d.X64)
	// Output: [rooms area] [2] [250000.5 199999.25] [3 81.25 2 64.5]
}

// An integer label column with as many values as rows is not silently read
// as one class per row.
func ExampleReadCSV_ambiguousTask() {
	var b strings.Builder
	for i := range 20 {
		fmt.Fprintf(&b, "%d,%d\n", i%3, 100+i)
	}
	_, err := data.ReadCSV(strings.NewReader(b.String()), "f.csv", data.CSVOptions{})
	fmt.Println(err)
	// Output: f.csv: column 2 has 20 distinct integer values in 20 rows: is it a regression target, or is the label in another column? Say which: --regression, --classification, --label-col or --no-label
}
