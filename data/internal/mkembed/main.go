// Command mkembed generates the datasets embedded in package data
// (data/embedded), bit for bit, from Debian's packages:
//
//   - a stratified subset of Fashion-MNIST (dataset-fashion-mnist): 1,000
//     training and 200 test images per class, drawn with
//     data.StratifiedSampleIndices and seed data.EmbeddedFashionSeed, written
//     as gzip-compressed IDX files with the source index of every image;
//   - the iris, wine, breast-cancer, digits, diabetes and boston tables of
//     python3-sklearn, rewritten as gzip-compressed CSV with a header.
//
// It also writes SHA256SUMS. Run it from the repository root:
//
//	go run ./data/internal/mkembed
//
// and check that the committed files are reproduced with
//
//	go run ./data/internal/mkembed -check
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/atomicfile"
)

func main() {
	fashionDir := flag.String("fashion", data.DebianFashionDir, "directory of the official Fashion-MNIST files")
	sklearnDir := flag.String("sklearn", "/usr/lib/python3/dist-packages/sklearn/datasets/data", "scikit-learn's datasets/data directory")
	out := flag.String("out", "data/embedded", "output directory")
	check := flag.Bool("check", false, "compare with the files in -out instead of writing them")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("mkembed: ")

	files := map[string][]byte{} // relative path → content
	if err := fashion(files, *fashionDir); err != nil {
		log.Fatal(err)
	}
	if err := tabular(files, *sklearnDir); err != nil {
		log.Fatal(err)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range files {
			if !yield(k) {
				return
			}
		}
	})
	var sums bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(files[n]), n)
	}
	files["SHA256SUMS"] = sums.Bytes()
	names = append(names, "SHA256SUMS")

	bad := 0
	for _, n := range names {
		p := filepath.Join(*out, filepath.FromSlash(n))
		if *check {
			old, err := os.ReadFile(p)
			switch {
			case err != nil:
				log.Printf("%s: %v", p, err)
				bad++
			case !bytes.Equal(old, files[n]):
				log.Printf("%s: differs from the regenerated file", p)
				bad++
			default:
				log.Printf("%s: identical (%d bytes)", p, len(old))
			}
			continue
		}
		if err := writeAtomic(p, files[n]); err != nil {
			log.Fatal(err)
		}
		log.Printf("wrote %s (%d bytes)", p, len(files[n]))
	}
	if bad > 0 {
		log.Fatalf("%d files differ", bad)
	}
}

// writeAtomic writes b to path atomically, creating its directory.
func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o644)
}

// gz compresses b with gzip at the best compression and an empty header
// (no name, zero modification time), so that the output depends only on b
// (and the Go version's compress/flate).
func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		panic(err) // BestCompression is a valid level
	}
	if _, err := zw.Write(b); err != nil {
		panic(err) // writes to a bytes.Buffer do not fail
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func fashion(files map[string][]byte, dir string) error {
	for _, s := range []struct {
		prefix   string
		perClass int
	}{{"train", data.EmbeddedFashionTrainPerClass}, {"t10k", data.EmbeddedFashionTestPerClass}} {
		images, err := data.ReadIDXFile(filepath.Join(dir, s.prefix+"-images-idx3-ubyte"))
		if err != nil {
			return err
		}
		labels, err := data.ReadIDXFile(filepath.Join(dir, s.prefix+"-labels-idx1-ubyte"))
		if err != nil {
			return err
		}
		d, err := data.IDXDataset(images, labels, "fashion-mnist", data.FashionClasses)
		if err != nil {
			return err
		}
		idx, err := data.StratifiedSampleIndices(d, s.perClass, data.EmbeddedFashionSeed)
		if err != nil {
			return err
		}
		size := images.Dims[1] * images.Dims[2]
		subImages := &data.IDX{Dims: []int{len(idx), images.Dims[1], images.Dims[2]}, Data: make([]byte, 0, len(idx)*size)}
		subLabels := &data.IDX{Dims: []int{len(idx)}, Data: make([]byte, 0, len(idx))}
		var list bytes.Buffer
		for _, i := range idx {
			subImages.Data = append(subImages.Data, images.Data[i*size:(i+1)*size]...)
			subLabels.Data = append(subLabels.Data, labels.Data[i])
			fmt.Fprintln(&list, i)
		}
		for name, x := range map[string]*data.IDX{"images-idx3-ubyte": subImages, "labels-idx1-ubyte": subLabels} {
			var buf bytes.Buffer
			if err := data.WriteIDX(&buf, x); err != nil {
				return err
			}
			files["fashion-mnist-small/"+s.prefix+"-"+name+".gz"] = gz(buf.Bytes())
		}
		files["fashion-mnist-small/"+s.prefix+"-indices.txt.gz"] = gz(list.Bytes())
	}
	return nil
}

// Feature names as scikit-learn's loaders give them.
var (
	irisFeatures = []string{"sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"}
	wineFeatures = []string{"alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
		"flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
		"od280/od315_of_diluted_wines", "proline"}
	cancerFeatures   = breastCancerFeatures()
	diabetesFeatures = []string{"age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"}
)

func breastCancerFeatures() []string {
	base := []string{"radius", "texture", "perimeter", "area", "smoothness", "compactness",
		"concavity", "concave points", "symmetry", "fractal dimension"}
	var f []string
	for _, b := range base {
		f = append(f, "mean "+b)
	}
	for _, b := range base {
		f = append(f, b+" error")
	}
	for _, b := range base {
		f = append(f, "worst "+b)
	}
	return f
}

func tabular(files map[string][]byte, dir string) error {
	add := func(name string, d *data.Dataset) error {
		if err := d.Validate(); err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := data.WriteCSV(&buf, d); err != nil {
			return err
		}
		files[name+".csv.gz"] = gz(buf.Bytes())
		return nil
	}
	for _, s := range []struct {
		name, file string
		features   []string
	}{
		{"iris", "iris.csv", irisFeatures},
		{"wine", "wine_data.csv", wineFeatures},
		{"breast-cancer", "breast_cancer.csv", cancerFeatures},
	} {
		d, err := sklearnCSV(filepath.Join(dir, s.file), s.name, s.features)
		if err != nil {
			return err
		}
		if err := add(s.name, d); err != nil {
			return err
		}
	}
	digits, err := digitsCSV(filepath.Join(dir, "digits.csv.gz"))
	if err != nil {
		return err
	}
	if err := add("digits", digits); err != nil {
		return err
	}
	diabetes, err := diabetesData(filepath.Join(dir, "diabetes_data_raw.csv.gz"), filepath.Join(dir, "diabetes_target.csv.gz"))
	if err != nil {
		return err
	}
	if err := add("diabetes", diabetes); err != nil {
		return err
	}
	boston, err := bostonCSV(filepath.Join(dir, "boston_house_prices.csv"))
	if err != nil {
		return err
	}
	return add("boston", boston)
}

// bostonFeatures are the column names of boston_house_prices.csv.
var bostonFeatures = []string{"CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT"}

// bostonCSV reads scikit-learn's Boston housing file: a line "506,13,...",
// a header of the 13 feature names and MEDV, then 506 rows of 13 features
// and the median home value (in $1000s) as the regression target.
func bostonCSV(path string) (*data.Dataset, error) {
	b, err := readAll(path)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(bytes.NewReader(b))
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dim := len(bostonFeatures)
	if len(recs) < 3 || len(recs[0]) < 2 {
		return nil, fmt.Errorf("%s: no scikit-learn count line", path)
	}
	n, err1 := strconv.Atoi(recs[0][0])
	d0, err2 := strconv.Atoi(recs[0][1])
	if err1 != nil || err2 != nil || d0 != dim || n != len(recs)-2 {
		return nil, fmt.Errorf("%s: count line %q does not match %d rows of %d features", path, recs[0][:2], len(recs)-2, dim)
	}
	if !slices.Equal(recs[1], append(slices.Clone(bostonFeatures), "MEDV")) {
		return nil, fmt.Errorf("%s: header %q, want %q and MEDV", path, recs[1], bostonFeatures)
	}
	d := &data.Dataset{Name: "boston", Shape: []int{dim}, Features: slices.Clone(bostonFeatures)}
	for i, rec := range recs[2:] {
		if len(rec) != dim+1 {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d", path, i+3, len(rec), dim+1)
		}
		for _, f := range rec[:dim] {
			v, err := parseF32(path, i+3, f)
			if err != nil {
				return nil, err
			}
			d.X = append(d.X, v)
		}
		t, err := strconv.ParseFloat(strings.TrimSpace(rec[dim]), 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: MEDV: %w", path, i+3, err)
		}
		d.Target = append(d.Target, t)
	}
	return d, nil
}

// readAll reads a file, gunzipping it when its name ends in .gz.
func readAll(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil || !strings.HasSuffix(path, ".gz") {
		return b, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return io.ReadAll(zr)
}

// parseF32 parses a feature value as float32, the precision of
// data.Dataset.X. The embedded CSV holds its shortest float32 form, which
// reads back to exactly this float32.
func parseF32(path string, line int, s string) (float32, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
	if err != nil {
		return 0, fmt.Errorf("%s:%d: %w", path, line, err)
	}
	return float32(v), nil
}

// sklearnCSV reads scikit-learn's CSV layout: a first line "n,d,class
// names...", then n rows of d features and an integer label.
func sklearnCSV(path, name string, features []string) (*data.Dataset, error) {
	b, err := readAll(path)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = -1 // the header line is shorter than the rows
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) < 2 || len(recs[0]) < 3 {
		return nil, fmt.Errorf("%s: no scikit-learn header line", path)
	}
	n, err1 := strconv.Atoi(recs[0][0])
	dim, err2 := strconv.Atoi(recs[0][1])
	if err1 != nil || err2 != nil || dim != len(features) || n != len(recs)-1 {
		return nil, fmt.Errorf("%s: header %q does not match %d rows of %d features", path, recs[0], len(recs)-1, len(features))
	}
	d := &data.Dataset{Name: name, Shape: []int{dim}, Classes: slices.Clone(recs[0][2:]), Features: features}
	for i, rec := range recs[1:] {
		if len(rec) != dim+1 {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d", path, i+2, len(rec), dim+1)
		}
		for _, f := range rec[:dim] {
			v, err := parseF32(path, i+2, f)
			if err != nil {
				return nil, err
			}
			d.X = append(d.X, v)
		}
		y, err := strconv.Atoi(rec[dim])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: label: %w", path, i+2, err)
		}
		d.Y = append(d.Y, y)
	}
	return d, nil
}

// digitsCSV reads scikit-learn's digits: rows of 64 pixel counts and a label.
func digitsCSV(path string) (*data.Dataset, error) {
	b, err := readAll(path)
	if err != nil {
		return nil, err
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	d := &data.Dataset{Name: "digits", Shape: []int{64}}
	for r := range 8 {
		for c := range 8 {
			d.Features = append(d.Features, fmt.Sprintf("pixel_%d_%d", r, c))
		}
	}
	for k := range 10 {
		d.Classes = append(d.Classes, strconv.Itoa(k))
	}
	for i, rec := range recs {
		if len(rec) != 65 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 65", path, i+1, len(rec))
		}
		for _, f := range rec[:64] {
			v, err := parseF32(path, i+1, f)
			if err != nil {
				return nil, err
			}
			d.X = append(d.X, v)
		}
		y, err := strconv.Atoi(rec[64])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: label: %w", path, i+1, err)
		}
		d.Y = append(d.Y, y)
	}
	return d, nil
}

// diabetesData reads scikit-learn's raw diabetes features (whitespace
// separated) and targets (one per line).
func diabetesData(xPath, yPath string) (*data.Dataset, error) {
	xb, err := readAll(xPath)
	if err != nil {
		return nil, err
	}
	yb, err := readAll(yPath)
	if err != nil {
		return nil, err
	}
	d := &data.Dataset{Name: "diabetes", Shape: []int{len(diabetesFeatures)}, Features: diabetesFeatures}
	sc := bufio.NewScanner(bytes.NewReader(xb))
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != len(diabetesFeatures) {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d", xPath, line, len(f), len(diabetesFeatures))
		}
		for _, s := range f {
			v, err := parseF32(xPath, line, s)
			if err != nil {
				return nil, err
			}
			d.X = append(d.X, v)
		}
	}
	sc = bufio.NewScanner(bytes.NewReader(yb))
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		t, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", yPath, line, err)
		}
		d.Target = append(d.Target, t)
	}
	if len(d.Target) != d.Len() {
		return nil, fmt.Errorf("%s: %d targets for the %d samples of %s", yPath, len(d.Target), d.Len(), xPath)
	}
	return d, nil
}
