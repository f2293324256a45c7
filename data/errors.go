package data

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNotFound is returned (wrapped) when the files of a dataset cannot be
// found; the error's text says how to get them.
var ErrNotFound = errors.New("data: dataset files not found")

// ParseError reports malformed input: the file, where in it, which field, and
// the problem. Text formats (CSV, LIBSVM) give a Line; binary formats (IDX)
// give a byte Offset. Its message has the form
//
//	file:line: field: problem
//	file: byte N: field: problem
//
// where a Line of 0 selects the byte form and an Offset below 0 means no
// position is known (the problem concerns the file as a whole).
type ParseError struct {
	File   string // file or stream name as given to the reader
	Line   int    // 1-based line number in text formats, 0 if not applicable
	Offset int64  // byte offset in binary formats, -1 if not applicable
	Field  string // the field concerned ("magic", "column 3", "label", ...), may be empty
	// Decompressed is set when Offset counts bytes of gzip-decompressed data
	// rather than of the file itself.
	Decompressed bool
	Err          error // the problem
}

// Error formats the error as "file:line: field: problem" or
// "file: byte N: field: problem".
func (e *ParseError) Error() string {
	var b strings.Builder
	file := e.File
	if file == "" {
		file = "<input>"
	}
	b.WriteString(file)
	switch {
	case e.Line > 0:
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	case e.Offset >= 0:
		b.WriteString(": byte ")
		b.WriteString(strconv.FormatInt(e.Offset, 10))
		if e.Decompressed {
			b.WriteString(" (decompressed)")
		}
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("invalid input")
	}
	return b.String()
}

// Unwrap returns the underlying problem.
func (e *ParseError) Unwrap() error { return e.Err }

// lineError is a ParseError at a line of a text file.
func lineError(file string, line int, field string, format string, args ...any) *ParseError {
	return &ParseError{File: file, Line: line, Offset: -1, Field: field, Err: fmt.Errorf(format, args...)}
}

// fileError is a ParseError about a file as a whole.
func fileError(file string, format string, args ...any) *ParseError {
	return &ParseError{File: file, Offset: -1, Err: fmt.Errorf(format, args...)}
}
