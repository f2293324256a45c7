// Package data loads, checks, splits and standardizes the datasets that
// trustml's methods train and evaluate on.
//
// # Datasets
//
// A [Dataset] is a flat row-major []float32 of samples with a per-sample
// shape ([1 28 28] for Fashion-MNIST, [D] for tabular data), plus either
// class labels (classification) or float64 targets (regression). Images are
// scaled to [0, 1], the convention of package model. Tabular values read
// from text can also be kept in float64 (X64), for code that computes in
// float64 such as package kernel.
//
// Built-in datasets, by name (see [Names] and [Open]):
//
//   - "fashion-mnist-small": a stratified subset of Fashion-MNIST (10,000
//     train and 2,000 test images, 1,000 and 200 per class) embedded in the
//     binary, so that programs and tests need no download. It is the default
//     everywhere. See [EmbeddedFashion].
//   - "fashion-mnist": the full 60,000/10,000 Fashion-MNIST, read from a
//     directory, the TRUSTML_DATA environment variable or Debian's
//     dataset-fashion-mnist package. See [FashionMNIST] and [FindFashionMNIST].
//   - "iris", "wine", "breast-cancer", "digits" (classification),
//     "diabetes" and "boston" (regression): small tabular sets embedded from Debian's
//     scikit-learn copies. See [Tabular].
//
// The provenance and licenses of the embedded files are in
// data/embedded/README.md; the program that generates them, bit for bit, is
// data/internal/mkembed.
//
// # File formats
//
// [ReadIDX] reads the IDX files of (Fashion-)MNIST, gzip-compressed or raw;
// [ReadCSV] reads comma- or tab-separated values with an optional header,
// a label column chosen by index or name (or none), an optional sample
// shape, and a task inferred from the labels unless given (see
// [CSVOptions]); [OpenWith] passes the same [FileOptions] for any file, and
// [FileFlags] are their command-line options;
// [ReadLIBSVM] reads the sparse LIBSVM/SVMlight text format; [ReadNPY] and
// [ReadNPZ] read NumPy arrays, which [ArraysDataset] (and [Open] for .npy and
// .npz files) turns into a data set. Every reader
// rejects bad input with a [*ParseError] that names the file, the line or
// byte offset, the field and the problem, and never panics on any input.
//
// # Splits and preprocessing
//
// [StratifiedSplit] and [StratifiedSample] draw seeded, class-stratified
// subsets: the same seed gives the same split, bit for bit. A [Standardizer]
// fitted on training data rescales features to zero mean and unit variance.
package data
