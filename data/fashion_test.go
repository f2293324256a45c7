package data

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestEmbeddedFashion(t *testing.T) {
	for _, tc := range []struct {
		split    Split
		perClass int
	}{{Train, 1000}, {Test, 200}} {
		d, err := EmbeddedFashion(tc.split)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		if d.Name != "fashion-mnist-small" || !equalInts(d.Shape, []int{1, 28, 28}) || !slices.Equal(d.Classes, FashionClasses) {
			t.Errorf("%v: name %q shape %v classes %q", tc.split, d.Name, d.Shape, d.Classes)
		}
		if d.Len() != 10*tc.perClass {
			t.Fatalf("%v: %d images, want %d", tc.split, d.Len(), 10*tc.perClass)
		}
		for c, n := range d.ClassCounts() {
			if n != tc.perClass {
				t.Errorf("%v: class %d has %d images, want %d", tc.split, c, n, tc.perClass)
			}
		}
		// Stratified-shuffled order: each run of ten holds every class once.
		for r := 0; r < d.Len(); r += 10 {
			if got := slices.Sorted(slices.Values(d.Y[r : r+10])); !equalInts(got, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
				t.Fatalf("%v: images %d..%d have classes %v", tc.split, r, r+9, d.Y[r:r+10])
			}
		}
		if slices.Equal(d.Y[:10], d.Y[10:20]) && slices.Equal(d.Y[10:20], d.Y[20:30]) {
			t.Errorf("%v: class order within rounds is not shuffled", tc.split)
		}
		lo, hi, _ := d.ValueRange()
		if lo != 0 || hi != 1 {
			t.Errorf("%v: values in [%v, %v], want [0, 1]", tc.split, lo, hi)
		}
		if !strings.HasPrefix(d.Source, "embedded: ") {
			t.Errorf("source %q", d.Source)
		}
		idx, err := EmbeddedFashionIndices(tc.split)
		if err != nil {
			t.Fatal(err)
		}
		if len(idx) != d.Len() || len(slices.Compact(slices.Sorted(slices.Values(idx)))) != d.Len() {
			t.Errorf("%v: %d source indices, or repeated", tc.split, len(idx))
		}
		// Callers get copies.
		x0, y0 := d.X[0], d.Y[0]
		d.X[0], d.Y[0] = 7, (y0+1)%10
		e, _ := EmbeddedFashion(tc.split)
		if e.X[0] != x0 || e.Y[0] != y0 {
			t.Errorf("%v: EmbeddedFashion returned shared memory", tc.split)
		}
	}
	if _, err := EmbeddedFashion(Split(3)); err == nil {
		t.Error("bad split accepted")
	}
}

// TestEmbeddedChecksums checks the embedded files against SHA256SUMS, as
// written by data/internal/mkembed.
func TestEmbeddedChecksums(t *testing.T) {
	f, err := os.Open("embedded/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("bad line %q", sc.Text())
		}
		b, err := embeddedFS.ReadFile("embedded/" + name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := fmt.Sprintf("%x", sha256.Sum256(b)); got != sum {
			t.Errorf("%s: sha256 %s, SHA256SUMS says %s: regenerate with go run ./data/internal/mkembed", name, got, sum)
		}
		listed[name] = true
	}
	err = fs.WalkDir(embeddedFS, "embedded", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		name := strings.TrimPrefix(p, "embedded/")
		if name != "README.md" && name != "SHA256SUMS" && !listed[name] {
			t.Errorf("embedded file %s is not in SHA256SUMS", name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 12 {
		t.Errorf("SHA256SUMS lists %d files, want 12", len(listed))
	}
}

// debianFashion skips the test when the Debian Fashion-MNIST files are absent.
func debianFashion(t *testing.T) string {
	t.Helper()
	if len(missingFashionFiles(DebianFashionDir)) > 0 {
		t.Skipf("Fashion-MNIST not installed in %s (apt-get install dataset-fashion-mnist)", DebianFashionDir)
	}
	return DebianFashionDir
}

// TestEmbeddedFashionMatchesDebian checks that every embedded image and label
// is byte-identical to the official one at its recorded index, and that
// StratifiedSampleIndices still draws exactly the embedded subset.
func TestEmbeddedFashionMatchesDebian(t *testing.T) {
	dir := debianFashion(t)
	for _, tc := range []struct {
		split    Split
		perClass int
	}{{Train, EmbeddedFashionTrainPerClass}, {Test, EmbeddedFashionTestPerClass}} {
		prefix, _ := fashionPrefix(tc.split)
		images, err := ReadIDXFile(filepath.Join(dir, prefix+"-images-idx3-ubyte"))
		if err != nil {
			t.Fatal(err)
		}
		labels, err := ReadIDXFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte"))
		if err != nil {
			t.Fatal(err)
		}
		eImages, err := readEmbeddedIDX(embeddedFashionDir + "/" + prefix + "-images-idx3-ubyte.gz")
		if err != nil {
			t.Fatal(err)
		}
		eLabels, err := readEmbeddedIDX(embeddedFashionDir + "/" + prefix + "-labels-idx1-ubyte.gz")
		if err != nil {
			t.Fatal(err)
		}
		idx, err := EmbeddedFashionIndices(tc.split)
		if err != nil {
			t.Fatal(err)
		}
		if len(idx) != eImages.Dims[0] || len(idx) != eLabels.Dims[0] {
			t.Fatalf("%v: %d indices for %d images and %d labels", tc.split, len(idx), eImages.Dims[0], eLabels.Dims[0])
		}
		const size = 28 * 28
		for j, i := range idx {
			if i >= images.Dims[0] {
				t.Fatalf("%v: index %d out of range", tc.split, i)
			}
			if !bytes.Equal(eImages.Data[j*size:(j+1)*size], images.Data[i*size:(i+1)*size]) || eLabels.Data[j] != labels.Data[i] {
				t.Fatalf("%v: embedded image %d differs from official image %d", tc.split, j, i)
			}
		}
		full, err := IDXDataset(images, labels, "fashion-mnist", FashionClasses)
		if err != nil {
			t.Fatal(err)
		}
		again, err := StratifiedSampleIndices(full, tc.perClass, EmbeddedFashionSeed)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(again, idx) {
			t.Errorf("%v: StratifiedSampleIndices no longer draws the embedded subset: regenerate it with go run ./data/internal/mkembed, or restore the algorithm", tc.split)
		}
	}
}

// TestFashionMNISTFull loads the full Debian Fashion-MNIST.
func TestFashionMNISTFull(t *testing.T) {
	dir := debianFashion(t)
	for _, tc := range []struct {
		split    Split
		n, per   int
		fileName string
	}{{Train, 60000, 6000, "train-images"}, {Test, 10000, 1000, "t10k-images"}} {
		d, err := FashionMNIST(dir, tc.split)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		if d.Len() != tc.n || !equalInts(d.Shape, []int{1, 28, 28}) || d.Name != "fashion-mnist" {
			t.Fatalf("%v: %d images of shape %v", tc.split, d.Len(), d.Shape)
		}
		for c, n := range d.ClassCounts() {
			if n != tc.per {
				t.Errorf("%v: class %d (%s) has %d images, want %d", tc.split, c, FashionClasses[c], n, tc.per)
			}
		}
		if !strings.Contains(d.Source, tc.fileName) {
			t.Errorf("source %q", d.Source)
		}
	}
}

// writeFakeFashion writes the four files with n images each (raw or gzip).
func writeFakeFashion(t *testing.T, dir string, n, h int, gz bool) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"train", "t10k"} {
		img := idxBytes([]int{n, h, h}, seq(n*h*h))
		lab := idxBytes([]int{n}, seq(n))
		for i := range n {
			lab[8+i] = byte(i % 10)
		}
		for name, b := range map[string][]byte{"-images-idx3-ubyte": img, "-labels-idx1-ubyte": lab} {
			p := filepath.Join(dir, prefix+name)
			if gz {
				b, p = gzipBytes(t, b), p+".gz"
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestFindFashionMNIST(t *testing.T) {
	t.Setenv(EnvDataDir, "")
	root := t.TempDir()
	raw := filepath.Join(root, "raw")
	writeFakeFashion(t, raw, 3, 28, false)
	gz := filepath.Join(root, "gz")
	writeFakeFashion(t, filepath.Join(gz, "fashion-mnist"), 4, 28, true)
	empty := filepath.Join(root, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}

	if got, err := FindFashionMNIST(raw); err != nil || got != raw {
		t.Errorf("raw: %q %v", got, err)
	}
	if got, err := FindFashionMNIST(gz); err != nil || got != filepath.Join(gz, "fashion-mnist") {
		t.Errorf("gz subdirectory: %q %v", got, err)
	}
	d, err := FashionMNIST(gz, Test)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 4 || d.Y[3] != 3 {
		t.Errorf("fake test split: len %d labels %v", d.Len(), d.Y)
	}

	// An explicit directory without the files is an error, never a fallback.
	_, err = FindFashionMNIST(empty)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty dir: %v", err)
	}
	for _, want := range []string{"apt-get install dataset-fashion-mnist", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", empty, "no train-images-idx3-ubyte[.gz]", "--data-dir", EnvDataDir, "fashion-mnist-small"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if _, err := FashionMNIST(empty, Train); !errors.Is(err, ErrNotFound) {
		t.Errorf("FashionMNIST(empty): %v", err)
	}

	// The environment variable is used when no directory is given.
	t.Setenv(EnvDataDir, raw)
	if got, err := FindFashionMNIST(""); err != nil || got != raw {
		t.Errorf("env: %q %v", got, err)
	}
	// An environment variable without the files falls back to Debian's path.
	t.Setenv(EnvDataDir, empty)
	got, err := FindFashionMNIST("")
	if len(missingFashionFiles(DebianFashionDir)) == 0 {
		if err != nil || got != DebianFashionDir {
			t.Errorf("env fallback: %q %v", got, err)
		}
	} else if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), empty) || !strings.Contains(err.Error(), DebianFashionDir) {
		t.Errorf("env fallback error: %v", err)
	}

	// Wrong image size.
	small := filepath.Join(root, "small")
	writeFakeFashion(t, small, 2, 8, false)
	if _, err := FashionMNIST(small, Train); err == nil || !strings.Contains(err.Error(), "Fashion-MNIST images are [N 28 28]") {
		t.Errorf("8x8 images: %v", err)
	}
	// A corrupt file is reported with its name.
	if err := os.WriteFile(filepath.Join(raw, "train-labels-idx1-ubyte"), []byte{0, 0, 8, 1, 0, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FashionMNIST(raw, Train); err == nil || !strings.Contains(err.Error(), "train-labels-idx1-ubyte: byte 6: dims: truncated file: want 2 more bytes") {
		t.Errorf("corrupt labels: %v", err)
	}
}
