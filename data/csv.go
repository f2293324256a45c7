package data

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// HeaderMode says whether the first row of a CSV file is a header.
type HeaderMode int

// Header modes.
const (
	// HeaderAuto treats the first row as a header when one of its feature
	// fields is neither a number nor empty.
	HeaderAuto HeaderMode = iota
	// HeaderYes always treats the first row as a header.
	HeaderYes
	// HeaderNo treats every row as data.
	HeaderNo
)

// CSVOptions configures [ReadCSV]. The zero value reads comma-separated
// classification data with the label in the last column and auto-detects a
// header.
type CSVOptions struct {
	// Header says whether the first row names the columns.
	Header HeaderMode
	// LabelColumn is the 1-based column of the label or target. 0 (the
	// default) and -1 mean the last column; other negative values count from
	// the end (-2 is the last but one).
	LabelColumn int
	// NoLabel reads unlabeled data: every column is a feature.
	NoLabel bool
	// Regression reads the label column as a float64 target instead of a
	// class label.
	Regression bool
	// Comma is the field delimiter; 0 means ','.
	Comma rune
	// Comment, if not 0, starts comment lines (at the start of a line only).
	Comment rune
}

// ReadCSV reads a dataset from comma-separated values: one sample per row, a
// label column (see [CSVOptions]) and numeric features. Class labels may be
// any strings; classes are ordered numerically when all labels are numbers
// ("-1" before "1") and as strings otherwise, and Y indexes the sorted
// Classes. The samples have shape [D], D the number of feature columns, and
// Features holds the header's names when there is a header.
//
// Bad input (a ragged row, a field that is not a number, NaN or Inf, an empty
// label, no data rows) is a [*ParseError] naming the file, line and column.
func ReadCSV(r io.Reader, name string, opt CSVOptions) (*Dataset, error) {
	// Skip a UTF-8 byte order mark, as spreadsheet programs write.
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\uFEFF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	if opt.Comma != 0 {
		cr.Comma = opt.Comma
	}
	cr.Comment = opt.Comment
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	d := &Dataset{Name: name, Source: name}
	var (
		width    int // fields per row
		labelCol = -1
		firstRow = 0 // line of the first row
		labels   = newLabelMap()
		rows     int
	)
	colName := func(j int) string {
		if d.Features != nil && j != labelCol {
			k := j
			if labelCol >= 0 && j > labelCol {
				k--
			}
			return fmt.Sprintf("column %d (%q)", j+1, d.Features[k])
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
			if !opt.NoLabel {
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
			header := opt.Header == HeaderYes
			if opt.Header == HeaderAuto {
				for j, f := range rec {
					if j == labelCol {
						continue
					}
					f = strings.TrimSpace(f)
					if _, err := strconv.ParseFloat(f, 32); f != "" && err != nil && !errors.Is(err, strconv.ErrRange) {
						header = true
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
			v, err := parseValue(f)
			if err != nil {
				return nil, lineError(name, line, colName(j), "%v", err)
			}
			d.X = append(d.X, v)
		}
		rows++
	}
	if rows == 0 {
		return nil, fileError(name, "no data rows")
	}
	if !opt.NoLabel && !opt.Regression {
		d.Y, d.Classes = labels.finish()
	}
	return d, nil
}

// parseValue parses a feature value as float32, rejecting NaN and ±Inf.
func parseValue(f string) (float32, error) {
	if f == "" {
		return 0, errors.New("empty value")
	}
	v, err := strconv.ParseFloat(f, 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("value %q out of float32 range", f)
		}
		return 0, fmt.Errorf("value %q is not a number", f)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("non-finite value %q", f)
	}
	return float32(v), nil
}

// WriteCSV writes d as CSV that [ReadCSV] reads back to the same dataset: a
// header row (the Features names, or x1, x2, ... for unnamed ones; then "label" or
// "target"), then one row per sample with the features, and the class name or
// target in the last column. Unlabeled sets have no label column.
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
		for _, v := range d.Row(i) {
			rec = append(rec, strconv.FormatFloat(float64(v), 'g', -1, 32))
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
