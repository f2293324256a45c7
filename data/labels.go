package data

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
)

// labelMap assigns class indices to label strings as a text file is read.
// When every label parses as a number, classes are ordered numerically (and
// "1", "+1" and "1.0" are one class, named by its first spelling); otherwise
// they are ordered as strings.
type labelMap struct {
	raw   []string       // label string of each sample
	first map[string]int // distinct label strings, in order of appearance
}

func newLabelMap() *labelMap { return &labelMap{first: map[string]int{}} }

func (m *labelMap) add(s string) {
	m.raw = append(m.raw, s)
	if _, ok := m.first[s]; !ok {
		m.first[s] = len(m.first)
	}
}

// finish returns the label of each sample and the class names.
func (m *labelMap) finish() (y []int, classes []string) {
	distinct := make([]string, len(m.first))
	for s, i := range m.first {
		distinct[i] = s
	}
	numeric := true
	value := make(map[string]float64, len(distinct))
	for _, s := range distinct {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			numeric = false
			break
		}
		value[s] = v
	}
	index := make(map[string]int, len(distinct))
	if numeric {
		// One class per value, named by its first spelling.
		byValue := map[float64]string{}
		for _, s := range distinct {
			if _, ok := byValue[value[s]]; !ok {
				byValue[value[s]] = s
				classes = append(classes, s)
			}
		}
		slices.SortFunc(classes, func(a, b string) int { return cmp.Compare(value[a], value[b]) })
		pos := make(map[float64]int, len(classes))
		for i, c := range classes {
			pos[value[c]] = i
		}
		for _, s := range distinct {
			index[s] = pos[value[s]]
		}
	} else {
		classes = slices.Clone(distinct)
		slices.SortFunc(classes, strings.Compare)
		for i, c := range classes {
			index[c] = i
		}
	}
	y = make([]int, len(m.raw))
	for i, s := range m.raw {
		y[i] = index[s]
	}
	return y, classes
}
