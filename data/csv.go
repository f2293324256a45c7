package data

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// HeaderMode says whether the first row of a CSV file is a header.
type HeaderMode int

// Header modes.
const (
	// HeaderAuto treats the first row as a header when one of its feature
	// fields is neither a number nor empty (and warns through
	// [CSVOptions].Warn that it did).
	HeaderAuto HeaderMode = iota
	// HeaderYes always treats the first row as a header.
	HeaderYes
	// HeaderNo treats every row as data.
	HeaderNo
)

// String returns "auto", "yes" or "no".
func (h HeaderMode) String() string {
	switch h {
	case HeaderYes:
		return "yes"
	case HeaderNo:
		return "no"
	}
	return "auto"
}

// ParseHeaderMode parses "auto", "yes" (or "true") and "no" (or "false").
func ParseHeaderMode(s string) (HeaderMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto", "":
		return HeaderAuto, nil
	case "yes", "true":
		return HeaderYes, nil
	case "no", "false":
		return HeaderNo, nil
	}
	return 0, fmt.Errorf("data: header %q: want auto, yes or no", s)
}

// ParseDelimiter parses a CSV field delimiter: one character, or "tab"
// (also written \t), "comma", "semicolon", "space" or "pipe".
func ParseDelimiter(s string) (rune, error) {
	named := map[string]rune{"tab": '\t', `\t`: '\t', "comma": ',', "semicolon": ';', "space": ' ', "pipe": '|'}
	if r, ok := named[strings.ToLower(s)]; ok {
		return r, nil
	}
	r, size := utf8.DecodeRuneInString(s)
	if s == "" || size != len(s) || !validDelim(r) {
		return 0, fmt.Errorf("data: delimiter %q: want one character other than a quote or line break, or tab, comma, semicolon, space, pipe", s)
	}
	return r, nil
}

// validDelim is encoding/csv's rule for a delimiter.
func validDelim(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

// ParseShape parses a sample shape such as "1,28,28" or "1x28x28".
func ParseShape(s string) ([]int, error) {
	var shape []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == 'x' || r == ' ' }) {
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 || v > 1<<24 {
			return nil, fmt.Errorf("data: shape %q: %q is not a positive dimension", s, f)
		}
		shape = append(shape, v)
	}
	if len(shape) == 0 {
		return nil, fmt.Errorf("data: shape %q: want dimensions such as 1,28,28", s)
	}
	return shape, nil
}

// MaxInferredClasses bounds the classes [ReadCSV] infers from an integer
// label column without being told the task; see [CSVOptions].
const MaxInferredClasses = 100

// CSVOptions configures [ReadCSV]. The zero value reads comma-separated
// data with the label in the last column, auto-detects a header and infers
// the task from the labels.
//
// Task inference (neither Regression nor Classification set): labels that
// are not all numbers are class names; numbers of which one is not an
// integer make a regression target (Warn says so); integers are class
// labels, unless they take more than [MaxInferredClasses] distinct values,
// or more than 10 with fewer than two rows per value on average: then the
// task is ambiguous (a regression target, or the label in another column)
// and ReadCSV returns an error asking for Regression or Classification.
type CSVOptions struct {
	// Header says whether the first row names the columns.
	Header HeaderMode
	// LabelColumn is the 1-based column of the label or target. 0 (the
	// default) and -1 mean the last column; other negative values count from
	// the end (-2 is the last but one).
	LabelColumn int
	// LabelName, if set, selects the label column by its header name (the
	// first row is then a header; LabelColumn is ignored).
	LabelName string
	// NoLabel reads unlabeled data: every column is a feature.
	NoLabel bool
	// Regression reads the label column as a float64 target.
	Regression bool
	// Classification reads the label column as class names.
	Classification bool
	// Comma is the field delimiter; 0 means ','.
	Comma rune
	// Comment, if not 0, starts comment lines (at the start of a line only).
	Comment rune
	// Shape, if set, is the shape of one sample, such as [1 28 28] for
	// images; the feature columns must fill it. When no label column is
	// given (LabelColumn 0, no LabelName, not NoLabel) and the rows have
	// exactly as many columns as the shape has values, the file is read
	// without labels (Warn says so), whatever the task; with one column
	// more, the last column is the label; anything else is an error. With
	// a shape, labels that are non-negative integers are class indices
	// (a file of images of classes 3 and 7 keeps them as classes 3 and 7).
	Shape []int
	// Float64 also keeps the features as parsed in float64, in the
	// dataset's X64 (for the kernel methods, which compute in float64).
	Float64 bool
	// Warn, if not nil, receives one-line notes on choices made for the
	// caller: a first row dropped as a header, an inferred task or layout.
	// Notes and errors name the command-line options of [FileFlags].
	Warn func(msg string)
	// Missing reads an empty feature field, NA, NaN, N/A or ? as a missing
	// value (NaN) instead of an error, for imputation; labels and targets
	// must still be present.
	Missing bool
}

// isMissing reports whether a feature field marks a missing value (see
// CSVOptions.Missing).
func isMissing(f string) bool {
	switch strings.ToLower(f) {
	case "", "na", "nan", "n/a", "?":
		return true
	}
	return false
}

func (o *CSVOptions) warn(format string, args ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, args...))
	}
}

// labelNames are header names that suggest a label column.
var labelNames = []string{"label", "labels", "target", "class"}

// ReadCSV reads a dataset from comma-separated values: one sample per row, a
// label column (see [CSVOptions]) and numeric features. Class labels may be
// any strings; classes are ordered numerically when all labels are numbers
// ("-1" before "1") and as strings otherwise, and Y indexes the sorted
// Classes. The samples have shape [D], D the number of feature columns (or
// opt.Shape), and Features holds the header's names when there is a header.
//
// Bad input (a ragged row, a field that is not a number, NaN or Inf, an empty
// label, no data rows, an ambiguous task) is a [*ParseError] naming the
// file, line and column.
func ReadCSV(r io.Reader, name string, opt CSVOptions) (*Dataset, error) {
	if opt.Regression && opt.Classification {
		return nil, fileError(name, "both regression and classification asked for")
	}
	if opt.NoLabel && (opt.LabelName != "" || opt.LabelColumn != 0) {
		return nil, fileError(name, "a label column is given for unlabeled data")
	}
	if opt.Comma != 0 && !validDelim(opt.Comma) {
		return nil, fileError(name, "invalid delimiter %q", opt.Comma)
	}
	// Skip a UTF-8 byte order mark, as spreadsheet programs write.
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\uFEFF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	if opt.Comma != 0 {
		cr.Comma = opt.Comma
	}
	if opt.Comment == cr.Comma || opt.Comment != 0 && !validDelim(opt.Comment) {
		return nil, fileError(name, "invalid comment character %q", opt.Comment)
	}
	cr.Comment = opt.Comment
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	d := &Dataset{Name: name, Source: name}
	var (
		width     int // fields per row
		labelCol  = -1
		labelName string // the label column's header name
		firstRow  = 0    // line of the first row
		labels    = newLabelMap()
		rows      int
		noLabel   = opt.NoLabel
	)
	colName := func(j int) string {
		if d.Features != nil && j != labelCol {
			k := j
			if labelCol >= 0 && j > labelCol {
				k--
			}
			return fmt.Sprintf("column %d (%q)", j+1, d.Features[k])
		}
		if j == labelCol && labelName != "" {
			return fmt.Sprintf("column %d (%q)", j+1, labelName)
		}
		return fmt.Sprintf("column %d", j+1)
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, lineError(name, pe.Line, fmt.Sprintf("byte %d of the line", pe.Column), "%v", pe.Err)
			}
			return nil, fileError(name, "%w", err)
		}
		line, _ := cr.FieldPos(0)
		if width == 0 {
			// First row: fix the layout, decide on the header.
			width = len(rec)
			firstRow = line
			header := opt.Header == HeaderYes
			switch {
			case opt.LabelName != "":
				if opt.Header == HeaderNo {
					return nil, lineError(name, line, "", "label column %q named, but the file has no header", opt.LabelName)
				}
				labelCol = slices.IndexFunc(rec, func(f string) bool { return strings.TrimSpace(f) == opt.LabelName })
				if labelCol < 0 {
					return nil, lineError(name, line, "", "no column named %q in the header (%s)", opt.LabelName, headerList(rec))
				}
				header = true
			case opt.Shape != nil && !noLabel && opt.LabelColumn == 0 && shapeProduct(opt.Shape) == width:
				noLabel = true
				opt.warn("%s: rows of %d values fill shape %v: read without labels (--label-col reads one)", name, width, opt.Shape)
			case !noLabel:
				lc := opt.LabelColumn
				switch {
				case lc == 0 || lc == -1:
					labelCol = width - 1
				case lc > 0:
					labelCol = lc - 1
				default:
					labelCol = width + lc
				}
				if labelCol < 0 || labelCol >= width {
					return nil, lineError(name, line, "", "label column %d out of range: the first row has %d columns", opt.LabelColumn, width)
				}
			}
			nf := width
			if labelCol >= 0 {
				nf--
			}
			if nf < 1 {
				return nil, lineError(name, line, "", "%d columns: no feature columns besides the label", width)
			}
			d.Shape = []int{nf}
			if opt.Shape != nil {
				if s := shapeProduct(opt.Shape); s != nf {
					return nil, lineError(name, line, "", "rows of %d columns (%d features) do not fit shape %v, which needs %d values per row (%d with a label column)", width, nf, opt.Shape, s, s+1)
				}
				d.Shape = clone(opt.Shape)
			}
			if opt.Header == HeaderAuto && !header {
				for j, f := range rec {
					if j == labelCol {
						continue
					}
					f = strings.TrimSpace(f)
					if _, err := strconv.ParseFloat(f, 64); f != "" && err != nil && !errors.Is(err, strconv.ErrRange) && !(opt.Missing && isMissing(f)) {
						header = true
						opt.warn("%s: line %d read as a header (%s): its column %d, %q, is not a number (--header no reads it as data)", name, line, headerList(rec), j+1, f)
						break
					}
				}
			}
			if header {
				d.Features = make([]string, 0, nf)
				for j, f := range rec {
					if j != labelCol {
						d.Features = append(d.Features, strings.TrimSpace(f))
					}
				}
				if labelCol >= 0 {
					labelName = strings.TrimSpace(rec[labelCol])
				}
				if labelCol >= 0 && opt.LabelName == "" && opt.LabelColumn == 0 && !slices.Contains(labelNames, strings.ToLower(labelName)) {
					if j := slices.IndexFunc(rec, func(f string) bool { return slices.Contains(labelNames, strings.ToLower(strings.TrimSpace(f))) }); j >= 0 {
						return nil, lineError(name, line, "", "column %d is named %q, but the label is read from the last column, %d (%q): say which with --label-col (a number or a name), or --no-label", j+1, strings.TrimSpace(rec[j]), labelCol+1, labelName)
					}
				}
				continue
			}
		}
		if len(rec) != width {
			return nil, lineError(name, line, "", "ragged row: %d fields, want %d as in line %d", len(rec), width, firstRow)
		}
		for j, f := range rec {
			f = strings.TrimSpace(f)
			if j == labelCol {
				if f == "" {
					return nil, lineError(name, line, colName(j), "empty label")
				}
				if opt.Regression {
					t, err := strconv.ParseFloat(f, 64)
					if err != nil {
						return nil, lineError(name, line, colName(j), "target %q is not a number", f)
					}
					if math.IsNaN(t) || math.IsInf(t, 0) {
						return nil, lineError(name, line, colName(j), "non-finite target %q", f)
					}
					d.Target = append(d.Target, t)
				} else {
					labels.add(f)
				}
				continue
			}
			v, err := parseValue64(f)
			if opt.Missing && isMissing(f) {
				v, err = math.NaN(), nil
			}
			if err != nil {
				return nil, lineError(name, line, colName(j), "%v", err)
			}
			d.X = append(d.X, float32(v))
			if opt.Float64 {
				d.X64 = append(d.X64, v)
			}
		}
		rows++
	}
	if rows == 0 {
		return nil, fileError(name, "no data rows")
	}
	if labelCol >= 0 && !opt.Regression {
		field := colName(labelCol)
		if opt.Classification {
			d.Y, d.Classes = labels.finish()
		} else if err := inferTask(d, labels, rows, &opt, field); err != nil {
			return nil, err
		}
		if opt.Shape != nil {
			classByValue(d)
		}
	}
	return d, nil
}

// classByValue makes a class label that is a non-negative integer its own
// class index (classes "0" to the largest label), so that the rows of a
// file holding only some of a model's classes keep the model's numbering.
// Labels that are not all such integers keep their sorted order.
func classByValue(d *Dataset) {
	value := make([]int, len(d.Classes))
	top := -1
	for i, c := range d.Classes {
		v, err := strconv.Atoi(c)
		if err != nil || v < 0 || v >= MaxInferredClasses || strconv.Itoa(v) != c {
			return
		}
		value[i], top = v, max(top, v)
	}
	if top == len(d.Classes)-1 {
		return // already 0..k−1 in order
	}
	for i, y := range d.Y {
		d.Y[i] = value[y]
	}
	d.Classes = make([]string, top+1)
	for i := range d.Classes {
		d.Classes[i] = strconv.Itoa(i)
	}
}

// inferTask reads the labels as classes or targets; see [CSVOptions].
func inferTask(d *Dataset, labels *labelMap, rows int, opt *CSVOptions, field string) error {
	values := make(map[string]float64, len(labels.first))
	nonInt := ""
	for s := range labels.first {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			d.Y, d.Classes = labels.finish() // class names
			if k := len(d.Classes); k == rows && k > 10 {
				return fileError(d.Name, "%s holds a different name in each of its %d rows: is the label in another column? Say which with --label-col, or read it without labels with --no-label", field, rows)
			}
			return oneClass(d, rows, opt, field)
		}
		values[s] = v
		if v != math.Trunc(v) && (nonInt == "" || s < nonInt) {
			nonInt = s
		}
	}
	if nonInt != "" {
		d.Target = make([]float64, len(labels.raw))
		for i, s := range labels.raw {
			d.Target[i] = values[s]
		}
		opt.warn("%s: %s holds numbers that are not integers (such as %s): read as a regression target (--classification reads classes)", d.Name, field, nonInt)
		return nil
	}
	d.Y, d.Classes = labels.finish()
	k := len(d.Classes)
	if k > MaxInferredClasses || k > 10 && 2*k > rows {
		return fileError(d.Name, "%s has %d distinct integer values in %d rows: is it a regression target, or is the label in another column? Say which: --regression, --classification, --label-col or --no-label", field, k, rows)
	}
	return oneClass(d, rows, opt, field)
}

// oneClass notes a label column with one class.
func oneClass(d *Dataset, rows int, opt *CSVOptions, field string) error {
	if len(d.Classes) == 1 {
		opt.warn("%s: %s holds one value, %s, in all %d rows: one class", d.Name, field, d.Classes[0], rows)
	}
	return nil
}

// headerList quotes up to 5 fields of a row for a message.
func headerList(rec []string) string {
	var b strings.Builder
	for j, f := range rec {
		if j == 5 {
			fmt.Fprintf(&b, ", ... (%d in all)", len(rec))
			break
		}
		if j > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(strings.TrimSpace(f)))
	}
	return b.String()
}

func shapeProduct(shape []int) int {
	s := 1
	for _, v := range shape {
		s *= v
	}
	return s
}

// parseValue parses a feature value as float32, rejecting NaN and ±Inf.
func parseValue(f string) (float32, error) {
	v, err := parseValue64(f)
	return float32(v), err
}

// parseValue64 parses a feature value in float64, rejecting NaN, ±Inf and
// values beyond the float32 range.
func parseValue64(f string) (float64, error) {
	if f == "" {
		return 0, errors.New("empty value")
	}
	v, err := strconv.ParseFloat(f, 64)
	if err == nil && !math.IsInf(v, 0) && math.Abs(v) > math.MaxFloat32 {
		err = strconv.ErrRange
	}
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("value %q out of float32 range", f)
		}
		return 0, fmt.Errorf("value %q is not a number", f)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("non-finite value %q", f)
	}
	return v, nil
}

// WriteCSV writes d as CSV that [ReadCSV] reads back to the same dataset: a
// header row (the Features names, or x1, x2, ... for unnamed ones; then "label" or
// "target"), then one row per sample with the features (X64 when kept, else
// X), and the class name or target in the last column. Unlabeled sets have
// no label column.
func WriteCSV(w io.Writer, d *Dataset) error {
	if err := d.Validate(); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	s := d.SampleSize()
	rec := make([]string, 0, s+1)
	for j := range s {
		if d.Features != nil && d.Features[j] != "" {
			rec = append(rec, d.Features[j])
		} else {
			rec = append(rec, "x"+strconv.Itoa(j+1))
		}
	}
	switch {
	case d.Y != nil:
		rec = append(rec, "label")
	case d.Target != nil:
		rec = append(rec, "target")
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	for i := range d.Len() {
		rec = rec[:0]
		if len(d.X64) == len(d.X) {
			for _, v := range d.X64[i*s : (i+1)*s] {
				rec = append(rec, strconv.FormatFloat(v, 'g', -1, 64))
			}
		} else {
			for _, v := range d.Row(i) {
				rec = append(rec, strconv.FormatFloat(float64(v), 'g', -1, 32))
			}
		}
		switch {
		case d.Y != nil:
			rec = append(rec, d.Classes[d.Y[i]])
		case d.Target != nil:
			rec = append(rec, strconv.FormatFloat(d.Target[i], 'g', -1, 64))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// LoadCSV reads the CSV file at path (gzip-compressed or not); see [ReadCSV].
func LoadCSV(path string, opt CSVOptions) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	r, _, err := maybeGunzip(f, path)
	if err != nil {
		return nil, err
	}
	return ReadCSV(r, path, opt)
}
