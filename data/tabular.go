package data

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// tabularSet describes an embedded tabular dataset.
type tabularSet struct {
	name        string
	description string
	classes     []string // canonical class order (scikit-learn's); nil for regression
	origin      string   // for Source
}

// ScikitLearnVersion is the version of Debian's python3-sklearn package the
// embedded tabular datasets were copied from.
const ScikitLearnVersion = "1.2.1+dfsg-1"

var tabularSets = []tabularSet{
	{
		name:        "iris",
		description: "Fisher's iris: 150 flowers, 4 measurements (cm), 3 species (classification)",
		classes:     []string{"setosa", "versicolor", "virginica"},
		origin:      "R.A. Fisher (1936), UCI ML repository",
	},
	{
		name:        "wine",
		description: "UCI wine recognition: 178 wines, 13 chemical features, 3 cultivars (classification)",
		classes:     []string{"class_0", "class_1", "class_2"},
		origin:      "Forina et al., PARVUS; UCI ML repository",
	},
	{
		name:        "breast-cancer",
		description: "Breast Cancer Wisconsin (Diagnostic): 569 samples, 30 features, malignant/benign (classification)",
		classes:     []string{"malignant", "benign"},
		origin:      "Wolberg, Street and Mangasarian (1995), UCI ML repository",
	},
	{
		name:        "digits",
		description: "UCI optical handwritten digits: 1797 8x8 images as 64 features with values 0..16, 10 digits (classification)",
		classes:     []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		origin:      "E. Alpaydin and C. Kaynak (1998), UCI ML repository",
	},
	{
		name:        "diabetes",
		description: "Efron et al. diabetes: 442 patients, 10 raw baseline features, disease progression after one year (regression)",
		origin:      "Efron, Hastie, Johnstone and Tibshirani (2004), Least Angle Regression",
	},
	{
		name:        "boston",
		description: "Boston housing: 506 census tracts, 13 features, median home value in $1000s (regression)",
		origin:      "Harrison and Rubinfeld (1978), Hedonic prices and the demand for clean air; StatLib",
	},
}

var tabularCache = func() map[string]*tabularEntry {
	m := make(map[string]*tabularEntry, len(tabularSets))
	for i := range tabularSets {
		m[tabularSets[i].name] = &tabularEntry{set: &tabularSets[i]}
	}
	return m
}()

type tabularEntry struct {
	set  *tabularSet
	once sync.Once
	d    *Dataset
	err  error
}

// TabularNames lists the names of the embedded tabular datasets.
func TabularNames() []string {
	names := make([]string, len(tabularSets))
	for i, s := range tabularSets {
		names[i] = s.name
	}
	return names
}

// Tabular returns one of the small tabular datasets embedded in the binary,
// copied from Debian's scikit-learn package (see embedded/README.md for
// provenance and licenses): "iris", "wine", "breast-cancer", "digits"
// (classification), "diabetes" or "boston" (regression). The samples have shape [D],
// Features names the columns, and the classes are in scikit-learn's order
// (breast-cancer: malignant = 0, benign = 1). Values are as published: not
// standardized (digits 0..16; diabetes the raw, unscaled features, i.e.
// scikit-learn's load_diabetes(scaled=False)); use a [Standardizer]. X64
// holds the values in float64, as scikit-learn reads them.
//
// The data are decoded once per process; every call returns a fresh copy. It
// is safe for concurrent use.
func Tabular(name string) (*Dataset, error) {
	e, ok := tabularCache[name]
	if !ok {
		return nil, fmt.Errorf("data: unknown tabular dataset %q (have %s)", name, strings.Join(TabularNames(), ", "))
	}
	e.once.Do(func() { e.d, e.err = loadTabular(e.set) })
	if e.err != nil {
		return nil, e.err
	}
	return e.d.Clone(), nil
}

func loadTabular(s *tabularSet) (*Dataset, error) {
	file := "embedded/" + s.name + ".csv.gz"
	b, err := readEmbedded(file)
	if err != nil {
		return nil, err
	}
	r, _, err := maybeGunzip(bytes.NewReader(b), "embedded:"+file)
	if err != nil {
		return nil, err
	}
	d, err := ReadCSV(r, "embedded:"+file, CSVOptions{Header: HeaderYes, Regression: s.classes == nil, Classification: s.classes != nil, Float64: true})
	if err != nil {
		return nil, err
	}
	d.Name = s.name
	d.Source = fmt.Sprintf("embedded: %s, from Debian python3-sklearn %s (%s)", s.name, ScikitLearnVersion, s.origin)
	if s.classes != nil {
		if err := reorderClasses(d, s.classes); err != nil {
			return nil, fmt.Errorf("data: embedded %s: %w", s.name, err)
		}
	}
	return d, d.Validate()
}

// reorderClasses renumbers d's labels so that d.Classes becomes want.
func reorderClasses(d *Dataset, want []string) error {
	have := slices.Sorted(slices.Values(d.Classes))
	if !slices.Equal(have, slices.Sorted(slices.Values(want))) {
		return fmt.Errorf("classes %q, want %q", d.Classes, want)
	}
	pos := make(map[string]int, len(want))
	for i, c := range want {
		pos[c] = i
	}
	for i, y := range d.Y {
		d.Y[i] = pos[d.Classes[y]]
	}
	d.Classes = slices.Clone(want)
	return nil
}
