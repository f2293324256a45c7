package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// FashionClasses are the ten Fashion-MNIST classes, indexed by label.
var FashionClasses = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// DebianFashionDir is where Debian's dataset-fashion-mnist package installs
// the Fashion-MNIST files.
const DebianFashionDir = "/usr/share/datasets/fashion-mnist"

// EnvDataDir names the environment variable that points at a directory
// holding the Fashion-MNIST files (directly or in a fashion-mnist
// subdirectory).
const EnvDataDir = "TRUSTML_DATA"

// fashionFiles are the base names of the Fashion-MNIST files, each accepted
// raw or with a ".gz" suffix.
var fashionFiles = []string{
	"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
}

// fashionPrefix is the file name prefix of a split.
func fashionPrefix(split Split) (string, error) {
	switch split {
	case Train:
		return "train", nil
	case Test:
		return "t10k", nil
	}
	return "", fmt.Errorf("data: unknown split %v", split)
}

// missingFashionFiles lists the Fashion-MNIST files dir lacks.
func missingFashionFiles(dir string) []string {
	var missing []string
	for _, f := range fashionFiles {
		p := filepath.Join(dir, f)
		if !isFile(p) && !isFile(p+".gz") {
			missing = append(missing, f+"[.gz]")
		}
	}
	return missing
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// FindFashionMNIST returns the directory holding the four Fashion-MNIST files
// (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
// t10k-labels-idx1-ubyte, each raw or gzip-compressed with a ".gz" suffix).
//
// When dir is not empty, the files must be in dir or in dir/fashion-mnist: an
// explicitly named directory is never silently replaced by another. Otherwise
// it looks in $TRUSTML_DATA (or $TRUSTML_DATA/fashion-mnist) when that is set,
// then in [DebianFashionDir]. When the files are not found the error wraps
// [ErrNotFound] and says how to get them.
func FindFashionMNIST(dir string) (string, error) {
	var tried []string
	note := func(dir string, missing []string) {
		if len(missing) == len(fashionFiles) {
			tried = append(tried, dir)
		} else {
			tried = append(tried, fmt.Sprintf("%s (missing %s)", dir, strings.Join(missing, ", ")))
		}
	}
	try := func(base string) (string, bool) {
		for _, c := range []string{base, filepath.Join(base, "fashion-mnist")} {
			m := missingFashionFiles(c)
			if len(m) == 0 {
				return c, true
			}
			note(c, m)
		}
		return "", false
	}
	if dir != "" {
		if c, ok := try(dir); ok {
			return c, nil
		}
	} else {
		if env := os.Getenv(EnvDataDir); env != "" {
			if c, ok := try(env); ok {
				return c, nil
			}
		}
		if len(missingFashionFiles(DebianFashionDir)) == 0 {
			return DebianFashionDir, nil
		}
		note(DebianFashionDir, missingFashionFiles(DebianFashionDir))
	}
	return "", fmt.Errorf(`%w: Fashion-MNIST: no train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] in %s.
To get it, either
  - install Debian's package: sudo apt-get install dataset-fashion-mnist
    (it puts the files in %s, where they are found automatically), or
  - download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
    t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (gzip-compressed
    or not) from https://github.com/zalandoresearch/fashion-mnist into one
    directory and pass it as the data directory (--data-dir) or set %s to it.
The embedded subset "fashion-mnist-small" needs no files`,
		ErrNotFound, strings.Join(tried, ", "), DebianFashionDir, EnvDataDir)
}

// FashionMNIST reads the full Fashion-MNIST split (60,000 training or 10,000
// test images of shape [1 28 28], values in [0, 1]) from the directory that
// [FindFashionMNIST] resolves dir to.
func FashionMNIST(dir string, split Split) (*Dataset, error) {
	prefix, err := fashionPrefix(split)
	if err != nil {
		return nil, err
	}
	dir, err = FindFashionMNIST(dir)
	if err != nil {
		return nil, err
	}
	images, err := ReadIDXFile(filepath.Join(dir, prefix+"-images-idx3-ubyte"))
	if err != nil {
		return nil, err
	}
	labels, err := ReadIDXFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte"))
	if err != nil {
		return nil, err
	}
	d, err := fashionDataset(images, labels, "fashion-mnist")
	if err != nil {
		return nil, err
	}
	d.Source = fmt.Sprintf("%s (%s split)", images.Name, split)
	return d, nil
}

// fashionDataset builds a Fashion-MNIST dataset, checking the image size.
func fashionDataset(images, labels *IDX, name string) (*Dataset, error) {
	if len(images.Dims) != 3 || images.Dims[1] != 28 || images.Dims[2] != 28 {
		return nil, &ParseError{File: images.Name, Offset: 4, Field: "dims",
			Err: fmt.Errorf("dimensions %v: Fashion-MNIST images are [N 28 28]", images.Dims)}
	}
	return IDXDataset(images, labels, name, FashionClasses)
}

// Embedded Fashion-MNIST subset: see embedded/README.md.
const (
	// EmbeddedFashionSeed is the seed that drew the embedded subset.
	EmbeddedFashionSeed = 1
	// EmbeddedFashionTrainPerClass is the number of training images per
	// class in the embedded subset.
	EmbeddedFashionTrainPerClass = 1000
	// EmbeddedFashionTestPerClass is the number of test images per class in
	// the embedded subset.
	EmbeddedFashionTestPerClass = 200
	// DebianFashionVersion is the version of Debian's dataset-fashion-mnist
	// package the embedded subset was drawn from.
	DebianFashionVersion = "0.0~git20200523.55506a9-1"

	embeddedFashionDir = "embedded/fashion-mnist-small"
)

var embeddedFashion [2]struct {
	once sync.Once
	d    *Dataset
	err  error
}

// EmbeddedFashion returns the Fashion-MNIST subset embedded in the binary:
// 10,000 training images (1,000 per class) drawn from the official training
// set and 2,000 test images (200 per class) from the official test set, with
// seed [EmbeddedFashionSeed], in stratified-shuffled order (each run of ten
// consecutive images holds one image of each class, so every prefix is
// balanced to within one image per class). [EmbeddedFashionIndices] gives each
// image's index in the official files.
//
// The files are decoded once per process; every call returns a fresh copy the
// caller may modify. It is safe for concurrent use.
func EmbeddedFashion(split Split) (*Dataset, error) {
	if split != Train && split != Test {
		return nil, fmt.Errorf("data: unknown split %v", split)
	}
	e := &embeddedFashion[split]
	e.once.Do(func() { e.d, e.err = loadEmbeddedFashion(split) })
	if e.err != nil {
		return nil, e.err
	}
	return e.d.Clone(), nil
}

func loadEmbeddedFashion(split Split) (*Dataset, error) {
	prefix, _ := fashionPrefix(split)
	images, err := readEmbeddedIDX(path.Join(embeddedFashionDir, prefix+"-images-idx3-ubyte.gz"))
	if err != nil {
		return nil, err
	}
	labels, err := readEmbeddedIDX(path.Join(embeddedFashionDir, prefix+"-labels-idx1-ubyte.gz"))
	if err != nil {
		return nil, err
	}
	d, err := fashionDataset(images, labels, "fashion-mnist-small")
	if err != nil {
		return nil, err
	}
	per := EmbeddedFashionTrainPerClass
	if split == Test {
		per = EmbeddedFashionTestPerClass
	}
	d.Source = fmt.Sprintf("embedded: Fashion-MNIST %s subset, %d per class, seed %d, from Debian dataset-fashion-mnist %s",
		split, per, EmbeddedFashionSeed, DebianFashionVersion)
	return d, nil
}

// readEmbedded returns an embedded file, with an error that says how to
// regenerate it when it is missing.
func readEmbedded(name string) ([]byte, error) {
	b, err := embeddedFS.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: embedded file data/%s is missing from this build: regenerate it with \"go run ./data/internal/mkembed\"", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("data: embedded %s: %w", name, err)
	}
	return b, nil
}

func readEmbeddedIDX(name string) (*IDX, error) {
	b, err := readEmbedded(name)
	if err != nil {
		return nil, err
	}
	return ReadIDX(bytes.NewReader(b), "embedded:"+name)
}

// EmbeddedFashionIndices returns, for each image of the embedded subset's
// split in order, its 0-based index in the official Fashion-MNIST file of the
// same split.
func EmbeddedFashionIndices(split Split) ([]int, error) {
	prefix, err := fashionPrefix(split)
	if err != nil {
		return nil, err
	}
	name := path.Join(embeddedFashionDir, prefix+"-indices.txt.gz")
	b, err := readEmbedded(name)
	if err != nil {
		return nil, err
	}
	r, _, err := maybeGunzip(bytes.NewReader(b), "embedded:"+name)
	if err != nil {
		return nil, err
	}
	var idx []int
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		v, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
		if err != nil || v < 0 {
			return nil, lineError("embedded:"+name, line, "", "bad index %q", sc.Text())
		}
		idx = append(idx, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fileError("embedded:"+name, "%w", err)
	}
	return idx, nil
}
