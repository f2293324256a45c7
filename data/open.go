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
//   - a path ending in .csv, .libsvm, .svm, .txt or .npy, optionally
//     followed by .gz, or in .npz: a classification (or, for .npy, unlabeled)
//     file read with default options, see [OpenFile] (split is ignored).
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
	return nil, fmt.Errorf("data: unknown dataset %q: want one of %s, or a file ending in .csv, .libsvm, .svm, .txt, .npy or .npz", name, strings.Join(names, ", "))
}

// fileFormat returns "csv", "libsvm", "npy" or "npz" from a path's
// extension (ignoring a final .gz, which an .npz cannot have), or "".
func fileFormat(path string) string {
	p, gz := strings.CutSuffix(strings.ToLower(path), ".gz")
	switch filepath.Ext(p) {
	case ".csv":
		return "csv"
	case ".libsvm", ".svm", ".txt":
		return "libsvm"
	case ".npy":
		return "npy"
	case ".npz":
		if !gz {
			return "npz"
		}
	}
	return ""
}

// OpenFile reads a dataset file, choosing the format by extension: .csv is
// read by [LoadCSV] (header auto-detected, label in the last column); .libsvm,
// .svm and .txt by [LoadLIBSVM]; .npy and .npz (NumPy arrays) as below. A
// final .gz is allowed except on .npz; compression is detected from the
// content.
//
// An .npy file holds one array of samples, first axis = samples, and gives an
// unlabeled dataset. An .npz file (np.savez or np.savez_compressed) holds
// the samples as array "x" (or "X") and optionally their labels (or, with
// opt.Regression, targets) as array "y" (or "labels"); other arrays are not
// read. How shapes and values become samples and classes is described at
// [ArraysDataset]: N×28×28, N×1×28×28 and N×28×28×1 images become samples of
// shape [1 28 28] like Fashion-MNIST, uint8 images are scaled to [0, 1],
// float arrays are taken as they are, and labels 0..K-1 name classes "0".."K-1".
func OpenFile(path string, opt FileOptions) (*Dataset, error) {
	switch fileFormat(path) {
	case "csv":
		return LoadCSV(path, CSVOptions{Regression: opt.Regression})
	case "libsvm":
		return LoadLIBSVM(path, LIBSVMOptions{Regression: opt.Regression})
	case "npy":
		return loadNPY(path, opt)
	case "npz":
		return loadNPZ(path, opt)
	}
	return nil, fmt.Errorf("data: %s: unknown file format: want a name ending in .csv, .libsvm, .svm, .txt, .npy or .npz", path)
}
