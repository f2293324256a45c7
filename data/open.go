package data

import (
	"fmt"
	"path/filepath"
	"strconv"
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

// FileOptions configures reading a dataset file by [OpenFile] and
// [OpenWith]. The zero value reads a file as [Open] does. The CSV options
// (Header, LabelColumn, LabelName, NoLabel, Comma, Shape) are those of
// [CSVOptions]; setting one for another format is an error. Regression and
// Classification set the task (neither: a CSV file's task is inferred as
// [CSVOptions] describes; other formats read classes).
type FileOptions struct {
	// Regression reads the label column as float targets.
	Regression bool
	// Classification reads the label column as class names.
	Classification bool
	// Header says whether a CSV file's first row names the columns.
	Header HeaderMode
	// LabelColumn is the 1-based label column of a CSV file (negative: from
	// the end; 0: the last), LabelName the label column's header name.
	LabelColumn int
	LabelName   string
	// NoLabel reads a CSV file without labels.
	NoLabel bool
	// Comma is a CSV file's delimiter; 0 means tab for .tsv files, else ','.
	Comma rune
	// Shape is the sample shape of a CSV file's rows (see [CSVOptions]).
	Shape []int
	// Features, if not 0 and Shape is nil, is the number of features a
	// caller expects (a fitted model's): a CSV file is read as with Shape
	// [Features], so rows of exactly that many columns are unlabeled. It
	// is ignored for other formats and built-in sets.
	Features int
	// Float64 keeps a CSV file's values in float64 too (Dataset.X64).
	Float64 bool
	// Warn, if not nil, receives notes on choices made while reading (a
	// dropped header row, an inferred task); see [CSVOptions].
	Warn func(msg string)
	// Missing reads missing CSV feature values as NaN (CSVOptions.Missing).
	Missing bool
}

// FileFlag describes a command-line option of [FileOptions], set by
// [FileOptions.Set] under its Name.
type FileFlag struct {
	Name, Usage string
	Bool        bool // a switch: "--name" alone means "--name=true"
	Task        bool // sets the task (regression or classification)
}

// FileFlags are the command-line options of [FileOptions], for commands
// that read data files.
var FileFlags = []FileFlag{
	{Name: "header", Usage: "CSV header row: auto (a first row with a non-numeric feature is a header; a note says so), yes, no"},
	{Name: "label-col", Usage: "CSV label column: 1-based index, negative from the end (-1 = last, the default), or header name"},
	{Name: "no-label", Usage: "CSV file without labels: every column is a feature", Bool: true},
	{Name: "delimiter", Usage: `CSV delimiter: one character, or tab (\t), comma, semicolon, space, pipe (default: tab for .tsv, else comma)`},
	{Name: "shape", Usage: "sample shape of CSV rows, e.g. 1,28,28 for images (rows of exactly that many values are read without labels)"},
	{Name: "regression", Usage: "read the label column as a regression target (default: inferred: non-integer numbers)", Bool: true, Task: true},
	{Name: "classification", Usage: "read the label column as classes (default: inferred: names or integers)", Bool: true, Task: true},
}

// Set sets the option of the [FileFlags] entry called name from its
// command-line text.
func (o *FileOptions) Set(name, value string) error {
	var err error
	switch name {
	case "header":
		o.Header, err = ParseHeaderMode(value)
	case "label-col":
		o.LabelColumn, o.LabelName = 0, ""
		if v, e := strconv.Atoi(value); e == nil {
			if v == 0 {
				return fmt.Errorf("data: label column 0: columns count from 1 (the first is 1, the last -1)")
			}
			o.LabelColumn = v
		} else if o.LabelName = strings.TrimSpace(value); o.LabelName == "" {
			return fmt.Errorf("data: empty label column name")
		}
	case "delimiter":
		o.Comma, err = ParseDelimiter(value)
	case "shape":
		o.Shape, err = ParseShape(value)
	case "no-label", "regression", "classification":
		var b bool
		if b, err = strconv.ParseBool(value); err == nil {
			*map[string]*bool{"no-label": &o.NoLabel, "regression": &o.Regression, "classification": &o.Classification}[name] = b
		}
	default:
		return fmt.Errorf("data: unknown file option %q", name)
	}
	return err
}

// Value returns the option called name as a flag value (the Set, String
// and Type methods of package flag's and pflag's Value) that sets o.
func (o *FileOptions) Value(name string) *FileOptionValue {
	return &FileOptionValue{o: o, name: name}
}

// FileOptionValue is one option of a [FileOptions] as a flag value.
type FileOptionValue struct {
	o          *FileOptions
	name, text string
}

// Set sets the option from its text.
func (v *FileOptionValue) Set(s string) error {
	if err := v.o.Set(v.name, s); err != nil {
		return err
	}
	v.text = s
	return nil
}

// String returns the text last set.
func (v *FileOptionValue) String() string { return v.text }

// Type returns "bool" for switches and "string" otherwise.
func (v *FileOptionValue) Type() string {
	for _, f := range FileFlags {
		if f.Name == v.name && f.Bool {
			return "bool"
		}
	}
	return "string"
}

// IsBoolFlag reports a switch to package flag.
func (v *FileOptionValue) IsBoolFlag() bool { return v.Type() == "bool" }

// csvOnly returns the name of a CSV option that is set, or "".
func (o *FileOptions) csvOnly() string {
	switch {
	case o.Header != HeaderAuto:
		return "header"
	case o.LabelColumn != 0 || o.LabelName != "":
		return "label column"
	case o.NoLabel:
		return "no-label"
	case o.Comma != 0:
		return "delimiter"
	case o.Shape != nil:
		return "shape"
	}
	return ""
}

// Open returns a dataset by name:
//
//   - "fashion-mnist-small" (or ""): the embedded subset, see [EmbeddedFashion];
//   - "fashion-mnist": the full set from dataDir, $TRUSTML_DATA or Debian's
//     install path, see [FashionMNIST];
//   - "iris", "wine", "breast-cancer", "digits", "diabetes", "boston": see [Tabular]
//     (one set; split is ignored);
//   - a path ending in .csv, .tsv, .libsvm, .svm, .txt or .npy, optionally
//     followed by .gz, or in .npz: a file read with default options, see
//     [OpenFile] (split is ignored).
func Open(name string, split Split, dataDir string) (*Dataset, error) {
	return OpenWith(name, split, dataDir, FileOptions{})
}

// OpenWith is [Open] with options for files. The options of files are an
// error for a built-in set, and so is a task that is not the set's.
func OpenWith(name string, split Split, dataDir string, opt FileOptions) (*Dataset, error) {
	if fileFormat(name) != "" {
		return OpenFile(name, opt)
	}
	if o := opt.csvOnly(); o != "" {
		return nil, fmt.Errorf("data: %q is a built-in data set: the %s option applies to files only", name, o)
	}
	var d *Dataset
	var err error
	switch name {
	case "", DefaultName:
		d, err = EmbeddedFashion(split)
	case "fashion-mnist":
		d, err = FashionMNIST(dataDir, split)
	default:
		if _, ok := tabularCache[name]; !ok {
			names := make([]string, 0, 8)
			for _, in := range Names() {
				names = append(names, in.Name)
			}
			return nil, fmt.Errorf("data: unknown dataset %q: want one of %s, or a file ending in .csv, .tsv, .libsvm, .svm, .txt, .npy or .npz", name, strings.Join(names, ", "))
		}
		d, err = Tabular(name)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case opt.Regression && !d.IsRegression():
		return nil, fmt.Errorf("data: %s is a classification data set, not a regression one", name)
	case opt.Classification && !d.IsLabeled():
		return nil, fmt.Errorf("data: %s is a regression data set, not a classification one", name)
	}
	return d, nil
}

// fileFormat returns "csv", "libsvm", "npy" or "npz" from a path's
// extension (ignoring a final .gz, which an .npz cannot have), or "".
func fileFormat(path string) string {
	p, gz := strings.CutSuffix(strings.ToLower(path), ".gz")
	switch filepath.Ext(p) {
	case ".csv", ".tsv":
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

// OpenFile reads a dataset file, choosing the format by extension: .csv and
// .tsv (tab-separated) are read by [LoadCSV] (by default the header
// auto-detected, the label in the last column, the task inferred); .libsvm,
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
	format := fileFormat(path)
	if o := opt.csvOnly(); o != "" && format != "csv" && format != "" {
		return nil, fmt.Errorf("data: %s: the %s option applies to CSV files only", path, o)
	}
	if opt.Regression && opt.Classification {
		return nil, fmt.Errorf("data: %s: both regression and classification asked for", path)
	}
	switch format {
	case "csv":
		comma := opt.Comma
		if p, _ := strings.CutSuffix(strings.ToLower(path), ".gz"); comma == 0 && filepath.Ext(p) == ".tsv" {
			comma = '\t'
		}
		shape := opt.Shape
		if shape == nil && opt.Features > 0 && !opt.NoLabel {
			shape = []int{opt.Features}
		}
		return LoadCSV(path, CSVOptions{Header: opt.Header, LabelColumn: opt.LabelColumn, LabelName: opt.LabelName, NoLabel: opt.NoLabel,
			Regression: opt.Regression, Classification: opt.Classification, Comma: comma, Shape: shape, Float64: opt.Float64, Warn: opt.Warn, Missing: opt.Missing})
	case "libsvm":
		return LoadLIBSVM(path, LIBSVMOptions{Regression: opt.Regression})
	case "npy":
		return loadNPY(path, opt)
	case "npz":
		return loadNPZ(path, opt)
	}
	return nil, fmt.Errorf("data: %s: unknown file format: want a name ending in .csv, .tsv, .libsvm, .svm, .txt, .npy or .npz", path)
}
