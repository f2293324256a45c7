package data_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/trustml/trustml/data"
)

// The embedded Fashion-MNIST subset needs no download.
func ExampleEmbeddedFashion() {
	train, err := data.EmbeddedFashion(data.Train)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(train.Len(), train.Shape, train.Classes[train.Y[0]] != "")
	fmt.Println(train.ClassCounts())
	// Output:
	// 10000 [1 28 28] true
	// [1000 1000 1000 1000 1000 1000 1000 1000 1000 1000]
}

// Split a tabular set, stratified by class, and standardize it with
// statistics of the training part only.
func ExampleStratifiedSplit() {
	iris, err := data.Tabular("iris")
	if err != nil {
		log.Fatal(err)
	}
	train, test, err := data.StratifiedSplit(iris, 0.2, 1)
	if err != nil {
		log.Fatal(err)
	}
	st, err := data.FitStandardizer(train)
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Apply(train); err != nil {
		log.Fatal(err)
	}
	if err := st.Apply(test); err != nil {
		log.Fatal(err)
	}
	fmt.Println(train.ClassCounts(), test.ClassCounts())
	// Output:
	// [40 40 40] [10 10 10]
}

// Read a LIBSVM file: labels -1/+1 become classes 0 and 1.
func ExampleReadLIBSVM() {
	in := "+1 1:0.5 3:2\n-1 2:1\n"
	d, err := data.ReadLIBSVM(strings.NewReader(in), "toy.svm", data.LIBSVMOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Classes, d.Y, d.Shape, d.X)
	// Output:
	// [-1 +1] [1 0] [3] [0.5 0 2 0 1 0]
}

// Errors name the file, the line and the field.
func ExampleReadCSV_error() {
	in := "width,height,label\n1.5,2,cat\n3,NaN,dog\n"
	_, err := data.ReadCSV(strings.NewReader(in), "pets.csv", data.CSVOptions{})
	fmt.Println(err)
	// Output:
	// pets.csv:3: column 2 ("height"): non-finite value "NaN"
}

// Open accepts the built-in names and file paths.
func ExampleNames() {
	for _, in := range data.Names() {
		fmt.Println(in.Name)
	}
	// Output:
	// fashion-mnist-small
	// fashion-mnist
	// iris
	// wine
	// breast-cancer
	// digits
	// diabetes
	// boston
}

// Describe a built-in data set: source, size, classes with their counts.
func ExampleDescribe() {
	sums, err := data.Describe("iris", "", false)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := sums[0]
	fmt.Println(s.Name, s.Samples, s.Task, s.Shape)
	for _, c := range s.Classes {
		fmt.Println(c.Name, c.Count)
	}
	// Output:
	// iris 150 classification [4]
	// setosa 50
	// versicolor 50
	// virginica 50
}
