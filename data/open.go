package data

import (
	"fmt"
	"path/filepath"
	"strings"
)

// DefaultName is the dataset used when none is named: the embedded
// Fashion-MNIST subset, which needs no download.
const DefaultName = "fashion-mnist-small"

// Info describes a built-in dataset.
type Info struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Splits is true for datasets with an official train/test split; the
	// others are one set, to be split with [StratifiedSplit].
	Splits bool `json:"splits"`
}

// Names lists the built-in datasets that [Open] accepts, the default first.
func Names() []Info {
	out := []Info{
		{Name: "fashion-mnist-small", Splits: true,
			Description: "embedded Fashion-MNIST subset: 10,000 train / 2,000 test 28x28 grey images, 10 classes, balanced (the default)"},
		{Name: "fashion-mnist", Splits: true,
			Description: "full Fashion-MNIST: 60,000 train / 10,000 test 28x28 grey images, 10 classes (needs the files: apt-get install dataset-fashion-mnist)"},
	}
	for _, s := range tabularSets {
		out = append(out, Info{Name: s.name, Description: s.description})
	}
	return out
}

// FileOptions configures reading a dataset file by [OpenFile].
type FileOptions struct {
	// Regression reads the label column as float targets.
	Regression bool
}

// Open returns a dataset by name:
//
//   - "fashion-mnist-small" (or ""): the embedded subset, see [EmbeddedFashion];
//   - "fashion-mnist": the full set from dataDir, $TRUSTML_DATA or Debian's
//     install path, see [FashionMNIST];
//   - "iris", "wine", "breast-cancer", "digits", "diabetes", "boston": see [Tabular]
//     (one set; split is ignored);
//   - a path ending in .csv, .libsvm, .svm or .txt, optionally followed by
//     .gz: a classification file read with default options, see [OpenFile]
//     (split is ignored).
func Open(name string, split Split, dataDir string) (*Dataset, error) {
	switch name {
	case "", DefaultName:
		return EmbeddedFashion(split)
	case "fashion-mnist":
		return FashionMNIST(dataDir, split)
	}
	if _, ok := tabularCache[name]; ok {
		return Tabular(name)
	}
	if fileFormat(name) != "" {
		return OpenFile(name, FileOptions{})
	}
	names := make([]string, 0, 8)
	for _, in := range Names() {
		names = append(names, in.Name)
	}
	return nil, fmt.Errorf("data: unknown dataset %q: want one of %s, or a file ending in .csv, .libsvm, .svm or .txt", name, strings.Join(names, ", "))
}

// fileFormat returns "csv" or "libsvm" from a path's extension (ignoring a
// final .gz), or "".
func fileFormat(path string) string {
	p := strings.ToLower(strings.TrimSuffix(strings.ToLower(path), ".gz"))
	switch filepath.Ext(p) {
	case ".csv":
		return "csv"
	case ".libsvm", ".svm", ".txt":
		return "libsvm"
	}
	return ""
}

// OpenFile reads a dataset file, choosing the format by extension: .csv is
// read by [LoadCSV] (header auto-detected, label in the last column); .libsvm,
// .svm and .txt by [LoadLIBSVM]. A final .gz is allowed; compression is
// detected from the content.
func OpenFile(path string, opt FileOptions) (*Dataset, error) {
	switch fileFormat(path) {
	case "csv":
		return LoadCSV(path, CSVOptions{Regression: opt.Regression})
	case "libsvm":
		return LoadLIBSVM(path, LIBSVMOptions{Regression: opt.Regression})
	}
	return nil, fmt.Errorf("data: %s: unknown file format: want a name ending in .csv, .libsvm, .svm or .txt", path)
}
