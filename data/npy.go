package data

import (
	"archive/zip"
	"encoding/binary"
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

// Array is a NumPy array read from an .npy file or an .npz member by
// [ReadNPY], [ReadNPYFile] or [ReadNPZ].
//
// Array keeps the elements in the type they were stored in (as their
// little-endian bytes, in C order), so that a large uint8 or float32 array
// costs no more memory than in the file; [Array.At], [Array.Float64] and
// [Array.Float32] convert them. Element i is the i-th in C (row-major) order.
type Array struct {
	// Name is the file the array was read from, "file.npz[x.npy]" for an
	// .npz member.
	Name string
	// Shape is the array's shape, outermost first; empty for a 0-d (scalar)
	// array.
	Shape []int
	// DType is the element type: "float32", "float64", "uint8", "int32" or
	// "int64".
	DType string

	size int    // bytes per element
	data []byte // Len()*size bytes, little-endian
	off  int64  // offset of data in the file (in decompressed data when gz)
	gz   bool   // whether the offsets count decompressed bytes
}

// Len is the number of elements, the product of Shape (1 for a 0-d array).
func (a *Array) Len() int {
	if a.size == 0 {
		return 0
	}
	return len(a.data) / a.size
}

// At returns element i as a float64. Integers beyond ±2⁵³ lose precision.
// It panics if i is out of range, like slice indexing.
func (a *Array) At(i int) float64 {
	if i < 0 || i >= a.Len() {
		panic(fmt.Sprintf("data: Array.At(%d) out of range [0, %d)", i, a.Len()))
	}
	b := a.data[i*a.size:]
	switch a.DType {
	case "float32":
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	case "float64":
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	case "uint8":
		return float64(b[0])
	case "int32":
		return float64(int32(binary.LittleEndian.Uint32(b)))
	case "int64":
		return float64(int64(binary.LittleEndian.Uint64(b)))
	}
	panic("data: Array of unknown dtype " + a.DType)
}

// Float64 returns the elements as a new []float64 (integers beyond ±2⁵³
// lose precision).
func (a *Array) Float64() []float64 {
	out := make([]float64, a.Len())
	for i := range out {
		out[i] = a.At(i)
	}
	return out
}

// Float32 returns the elements as a new []float32, rounded to the nearest
// float32 (float64 values beyond the float32 range become ±Inf).
func (a *Array) Float32() []float32 {
	out := make([]float32, a.Len())
	if a.DType == "float32" {
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(a.data[4*i:]))
		}
		return out
	}
	for i := range out {
		out[i] = float32(a.At(i))
	}
	return out
}

// integer returns element i as an int64 when it is a whole number: integer
// dtypes always, float dtypes when the value is finite, integral and in the
// int64 range.
func (a *Array) integer(i int) (int64, bool) {
	b := a.data[i*a.size:]
	switch a.DType {
	case "uint8":
		return int64(b[0]), true
	case "int32":
		return int64(int32(binary.LittleEndian.Uint32(b))), true
	case "int64":
		return int64(binary.LittleEndian.Uint64(b)), true
	}
	v := a.At(i)
	if v != math.Trunc(v) || math.IsInf(v, 0) || v < -(1<<63) || v >= 1<<63 {
		return 0, false
	}
	return int64(v), true
}

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// Limits on what a .npy header may declare, so that a corrupt or hostile
// file cannot make the reader allocate unboundedly.
const (
	// maxNPYHeader bounds the header dict in bytes; it is numpy's own default
	// (max_header_size), far above what an array of a supported dtype needs.
	maxNPYHeader = 10000
	// maxNPYDims bounds the number of dimensions (numpy's NPY_MAXDIMS is 64).
	maxNPYDims = 64
	// maxNPYBytes bounds the data of one array (16 GiB).
	maxNPYBytes = 1 << 34
	// maxNPYClasses bounds the number of classes of integer labels.
	maxNPYClasses = 1 << 16
)

// npyType is a supported element type.
type npyType struct {
	name string
	size int
}

// npyTypes are the supported dtype descriptors. Single bytes have no byte
// order; numpy writes "|u1".
var npyTypes = map[string]npyType{
	"<f4": {"float32", 4},
	"<f8": {"float64", 8},
	"|u1": {"uint8", 1},
	"<u1": {"uint8", 1},
	"<i4": {"int32", 4},
	"<i8": {"int64", 8},
}

const npySupported = "'<f4' (float32), '<f8' (float64), '|u1' (uint8), '<i4' (int32) or '<i8' (int64)"

// ReadNPY reads a NumPy .npy file from r, gzip-compressed (detected by its
// magic bytes) or raw. name is used in error messages.
//
// It reads format versions 1.0, 2.0 and 3.0 of arrays of little-endian
// float32, float64, uint8, int32 or int64 in C order. The header dict is
// parsed strictly: exactly the keys 'descr', 'fortran_order' and 'shape',
// Python literals of the right types, nothing but white space after it.
// A Fortran-order array, a big-endian or other dtype, a header longer than
// 10,000 bytes, data of more than 16 GiB, fewer or more data bytes than the
// shape needs are each a [*ParseError] naming the file, the byte offset
// (in the decompressed data for gzip input) and the field. Memory grows with
// the bytes actually read, never with what the header claims.
func ReadNPY(r io.Reader, name string) (*Array, error) {
	zr, gz, err := maybeGunzip(r, name)
	if err != nil {
		return nil, err
	}
	return decodeNPY(zr, name, gz, -1)
}

// ReadNPYFile reads the .npy file at path (gzip-compressed or raw); see
// [ReadNPY].
func ReadNPYFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return ReadNPY(f, path)
}

// ReadNPZ reads all arrays of the NumPy .npz file (a zip archive of .npy
// files, as np.savez and np.savez_compressed write) at path, keyed by member
// name without ".npy". Each member is read as by [ReadNPY] and errors name it
// as "path[member.npy]". A member that is not a .npy file, a name given twice
// or a file that is not a zip archive is an error.
func ReadNPZ(path string) (map[string]*Array, error) {
	z, err := zip.OpenReader(path)
	if err != nil {
		return nil, npzOpenError(path, err)
	}
	defer z.Close()
	return readNPZ(&z.Reader, path, nil)
}

// npzOpenError reports a failure to open path as a zip archive.
func npzOpenError(path string, err error) error {
	if errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrAlgorithm) || errors.Is(err, zip.ErrChecksum) {
		return &ParseError{File: path, Offset: -1, Err: fmt.Errorf("not a NumPy .npz file (a zip archive of .npy files): %w", err)}
	}
	return fmt.Errorf("data: %w", err)
}

// readNPZ reads the members of z whose key (name without ".npy") want
// accepts, or all when want is nil.
func readNPZ(z *zip.Reader, path string, want func(string) bool) (map[string]*Array, error) {
	out := map[string]*Array{}
	seen := map[string]bool{}
	for _, f := range z.File {
		key, ok := strings.CutSuffix(f.Name, ".npy")
		if !ok || key == "" {
			return nil, &ParseError{File: path, Offset: -1, Field: fmt.Sprintf("member %q", f.Name),
				Err: errors.New("not a .npy array: an .npz holds only .npy files")}
		}
		if seen[key] {
			return nil, &ParseError{File: path, Offset: -1, Field: fmt.Sprintf("member %q", f.Name),
				Err: errors.New("array stored twice")}
		}
		seen[key] = true
		if want != nil && !want(key) {
			continue
		}
		member := path + "[" + f.Name + "]"
		rc, err := f.Open()
		if err != nil {
			return nil, &ParseError{File: member, Offset: -1, Err: err}
		}
		avail := int64(-1)
		if f.UncompressedSize64 <= math.MaxInt64 {
			avail = int64(f.UncompressedSize64)
		}
		a, err := decodeNPY(rc, member, f.Method != zip.Store, avail)
		rc.Close()
		if err != nil {
			return nil, err
		}
		out[key] = a
	}
	return out, nil
}

// decodeNPY reads one .npy stream. avail is its length in bytes when known
// (an .npz member), or -1; gz says whether r is decompressed gzip data.
func decodeNPY(r io.Reader, name string, gz bool, avail int64) (*Array, error) {
	perr := func(off int64, field string, format string, args ...any) error {
		return &ParseError{File: name, Offset: off, Field: field, Decompressed: gz, Err: fmt.Errorf(format, args...)}
	}
	// read fills p from r, reporting a short read at offset off.
	read := func(p []byte, off int64, field string) error {
		n, err := io.ReadFull(r, p)
		if err == nil {
			return nil
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return &ParseError{File: name, Offset: off + int64(n), Field: field, Decompressed: gz,
				Err: fmt.Errorf("truncated file: want %d more bytes: %w", len(p)-n, io.ErrUnexpectedEOF)}
		}
		return &ParseError{File: name, Offset: off + int64(n), Field: field, Decompressed: gz, Err: err}
	}

	var pre [8]byte
	if err := read(pre[:6], 0, "magic"); err != nil {
		return nil, err
	}
	if string(pre[:6]) != npyMagic {
		return nil, perr(0, "magic", "wrong magic string %q: not a NumPy .npy file (one starts with \"\\x93NUMPY\")", pre[:6])
	}
	if err := read(pre[6:], 6, "version"); err != nil {
		return nil, err
	}
	major, minor := pre[6], pre[7]
	var lenSize int
	switch {
	case major == 1 && minor == 0:
		lenSize = 2
	case (major == 2 || major == 3) && minor == 0:
		lenSize = 4
	default:
		return nil, perr(6, "version", "format version %d.%d not supported: want 1.0, 2.0 or 3.0", major, minor)
	}
	var lb [4]byte
	if err := read(lb[:lenSize], 8, "header length"); err != nil {
		return nil, err
	}
	hlen := int64(binary.LittleEndian.Uint16(lb[:]))
	if lenSize == 4 {
		hlen = int64(binary.LittleEndian.Uint32(lb[:]))
	}
	hoff := int64(8 + lenSize)
	if hlen > maxNPYHeader {
		return nil, perr(8, "header length", "header of %d bytes: more than the limit of %d", hlen, maxNPYHeader)
	}
	if avail >= 0 && hoff+hlen > avail {
		return nil, perr(8, "header length", "header of %d bytes, but only %d bytes follow", hlen, max(avail-hoff, 0))
	}
	hdr := make([]byte, hlen)
	if err := read(hdr, hoff, "header"); err != nil {
		return nil, err
	}
	if major == 3 && !utf8.Valid(hdr) {
		return nil, perr(hoff, "header", "version 3.0 header is not valid UTF-8")
	}
	h, err := parseNPYHeader(hdr)
	if err != nil {
		var he *npyHeaderError
		if errors.As(err, &he) {
			return nil, perr(hoff+int64(he.pos), he.field, "%s", he.msg)
		}
		return nil, perr(hoff, "header", "%v", err)
	}
	t, ok := npyTypes[h.descr]
	if !ok {
		if strings.HasPrefix(h.descr, ">") {
			if _, le := npyTypes["<"+h.descr[1:]]; le {
				return nil, perr(hoff+int64(h.descrPos), "descr", "big-endian dtype %q not supported: save a little-endian array (a.astype('<%s'))", h.descr, h.descr[1:])
			}
		}
		return nil, perr(hoff+int64(h.descrPos), "descr", "dtype %q not supported: want %s", h.descr, npySupported)
	}
	if h.fortran {
		return nil, perr(hoff+int64(h.fortranPos), "fortran_order", "Fortran-order (column-major) array not supported: save np.ascontiguousarray(a)")
	}
	// The size in bytes, checked against the limit before any multiplication
	// can overflow.
	size := int64(t.size)
	for _, d := range h.shape {
		if d > 0 && size > maxNPYBytes/int64(d) {
			return nil, perr(hoff+int64(h.shapePos), "shape", "shape %s of %s: more than %d bytes", pyShape(h.shape), h.descr, int64(maxNPYBytes))
		}
		size *= int64(d)
	}
	if size > math.MaxInt {
		return nil, perr(hoff+int64(h.shapePos), "shape", "shape %s too large for this machine", pyShape(h.shape))
	}
	doff := hoff + hlen
	if avail >= 0 && doff+size > avail {
		return nil, perr(doff, "data", "truncated data: shape %s of %s needs %d bytes, only %d present", pyShape(h.shape), h.descr, size, avail-doff)
	}
	// Read the data in growing chunks, so that a header promising more than
	// the input holds does not allocate it all up front.
	data := make([]byte, 0, min(size, 1<<16))
	for int64(len(data)) < size {
		if len(data) == cap(data) {
			data = slices.Grow(data, int(min(size-int64(len(data)), int64(cap(data)))))
		}
		end := int(min(int64(cap(data)), size))
		n, err := io.ReadFull(r, data[len(data):end])
		data = data[:len(data)+n]
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, &ParseError{File: name, Offset: doff + int64(len(data)), Field: "data", Decompressed: gz,
					Err: fmt.Errorf("truncated data: shape %s of %s needs %d bytes, only %d present: %w", pyShape(h.shape), h.descr, size, len(data), io.ErrUnexpectedEOF)}
			}
			return nil, &ParseError{File: name, Offset: doff + int64(len(data)), Field: "data", Decompressed: gz, Err: err}
		}
	}
	// No trailing data: it would mean the shape is wrong. Reading to the end
	// also makes a zip member verify its checksum.
	var one [1]byte
	n, err := io.ReadFull(r, one[:])
	if n > 0 {
		return nil, perr(doff+size, "data", "trailing data after the %d bytes of shape %s of %s: the shape does not match the data", size, pyShape(h.shape), h.descr)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, &ParseError{File: name, Offset: doff + size, Field: "data", Decompressed: gz, Err: err}
	}
	return &Array{Name: name, Shape: h.shape, DType: t.name, size: t.size, data: data, off: doff, gz: gz}, nil
}

// elemError is a ParseError at element i of a.
func (a *Array) elemError(i int, field string, format string, args ...any) error {
	return &ParseError{File: a.Name, Offset: a.off + int64(i)*int64(a.size), Field: field, Decompressed: a.gz, Err: fmt.Errorf(format, args...)}
}

// pyShape formats a shape as Python prints a tuple: (), (5,), (2, 3).
func pyShape(s []int) string {
	if len(s) == 1 {
		return fmt.Sprintf("(%d,)", s[0])
	}
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.Itoa(v)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// npyHeader is a parsed .npy header dict, with the positions of its values
// in the header.
type npyHeader struct {
	descr                          string
	fortran                        bool
	shape                          []int
	descrPos, fortranPos, shapePos int
}

// npyHeaderError is a problem at byte pos of the header dict.
type npyHeaderError struct {
	pos   int
	field string
	msg   string
}

func (e *npyHeaderError) Error() string {
	return fmt.Sprintf("header byte %d: %s: %s", e.pos, e.field, e.msg)
}

// npyParser parses the Python literal of a .npy header dict.
type npyParser struct {
	s []byte
	i int
}

func (p *npyParser) fail(field, format string, args ...any) error {
	return &npyHeaderError{pos: p.i, field: field, msg: fmt.Sprintf(format, args...)}
}

// ws skips white space.
func (p *npyParser) ws() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

// next returns the next byte, or 0 at the end.
func (p *npyParser) next() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// what describes the next byte for messages.
func (p *npyParser) what() string {
	if p.i >= len(p.s) {
		return "end of header"
	}
	return strconv.QuoteRune(rune(p.s[p.i]))
}

// str parses a quoted string without escapes.
func (p *npyParser) str(field string) (string, error) {
	q := p.next()
	if q != '\'' && q != '"' {
		return "", p.fail(field, "want a quoted string, found %s", p.what())
	}
	start := p.i
	p.i++
	for p.i < len(p.s) && p.s[p.i] != q && p.s[p.i] != '\n' {
		if p.s[p.i] == '\\' {
			return "", p.fail(field, "escape sequences in strings are not supported")
		}
		p.i++
	}
	if p.i >= len(p.s) || p.s[p.i] == '\n' {
		p.i = start
		return "", p.fail(field, "unterminated string")
	}
	p.i++
	return string(p.s[start+1 : p.i-1]), nil
}

// word parses a run of letters.
func (p *npyParser) word() string {
	start := p.i
	for p.i < len(p.s) && (p.s[p.i] >= 'a' && p.s[p.i] <= 'z' || p.s[p.i] >= 'A' && p.s[p.i] <= 'Z') {
		p.i++
	}
	return string(p.s[start:p.i])
}

// shape parses a tuple of non-negative integers: (), (5,), (2, 3).
func (p *npyParser) shape() ([]int, error) {
	if p.next() != '(' {
		return nil, p.fail("shape", "want a tuple such as (2, 3), found %s", p.what())
	}
	p.i++
	var dims []int
	commas := 0
	for {
		p.ws()
		if p.next() == ')' {
			p.i++
			break
		}
		if len(dims) > commas {
			return nil, p.fail("shape", "want ',' or ')' in the shape tuple, found %s", p.what())
		}
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if p.i == start {
			return nil, p.fail("shape", "want a non-negative integer dimension, found %s", p.what())
		}
		v, err := strconv.ParseInt(string(p.s[start:p.i]), 10, 64)
		if err != nil || v > maxNPYBytes || v > math.MaxInt {
			digits := string(p.s[start:p.i])
			if len(digits) > 24 {
				digits = digits[:24] + "..."
			}
			p.i = start
			return nil, p.fail("shape", "dimension %s too large", digits)
		}
		if p.next() == 'L' { // Python 2 long, as old numpy versions wrote
			p.i++
		}
		dims = append(dims, int(v))
		if len(dims) > maxNPYDims {
			return nil, p.fail("shape", "more than %d dimensions", maxNPYDims)
		}
		p.ws()
		if p.next() == ',' {
			p.i++
			commas++
		}
	}
	if len(dims) == 1 && commas == 0 {
		return nil, p.fail("shape", "(%d) is not a tuple: want (%d,)", dims[0], dims[0])
	}
	if dims == nil {
		dims = []int{}
	}
	return dims, nil
}

// parseNPYHeader parses a header dict such as
//
//	{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
//
// followed by white space.
func parseNPYHeader(s []byte) (npyHeader, error) {
	var h npyHeader
	p := &npyParser{s: s}
	p.ws()
	if p.next() != '{' {
		return h, p.fail("header", "want a dict starting with '{', found %s", p.what())
	}
	p.i++
	seen := map[string]bool{}
	for {
		p.ws()
		if p.next() == '}' {
			break
		}
		kpos := p.i
		key, err := p.str("header")
		if err != nil {
			return h, err
		}
		if key != "descr" && key != "fortran_order" && key != "shape" {
			p.i = kpos
			return h, p.fail("header", "unknown key %q: want only 'descr', 'fortran_order' and 'shape'", key)
		}
		if seen[key] {
			p.i = kpos
			return h, p.fail(key, "key given twice")
		}
		seen[key] = true
		p.ws()
		if p.next() != ':' {
			return h, p.fail("header", "want ':' after %q, found %s", key, p.what())
		}
		p.i++
		p.ws()
		switch key {
		case "descr":
			h.descrPos = p.i
			if p.next() == '[' {
				return h, p.fail("descr", "structured dtype (a list of fields) not supported: want %s", npySupported)
			}
			if h.descr, err = p.str("descr"); err != nil {
				return h, err
			}
		case "fortran_order":
			h.fortranPos = p.i
			switch w := p.word(); w {
			case "True":
				h.fortran = true
			case "False":
			default:
				p.i = h.fortranPos
				return h, p.fail("fortran_order", "want True or False, found %s", p.what())
			}
		case "shape":
			h.shapePos = p.i
			if h.shape, err = p.shape(); err != nil {
				return h, err
			}
		}
		p.ws()
		if p.next() == ',' {
			p.i++
			continue
		}
		if p.next() != '}' {
			return h, p.fail("header", "want ',' or '}' in the dict, found %s", p.what())
		}
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, p.fail(k, "missing key %q", k)
		}
	}
	p.i++
	p.ws()
	if p.i < len(p.s) {
		return h, p.fail("header", "unexpected %s after the header dict", p.what())
	}
	return h, nil
}

// loadNPY reads a .npy file as an unlabeled dataset; see [OpenFile].
func loadNPY(path string, opt FileOptions) (*Dataset, error) {
	if opt.Regression {
		return nil, fileError(path, "a .npy file holds one array, no regression targets: save an .npz with arrays x and y")
	}
	x, err := ReadNPYFile(path)
	if err != nil {
		return nil, err
	}
	return ArraysDataset(x, nil, path, opt.Regression)
}

// npzSampleKeys and npzLabelKeys are the accepted names of the sample and
// label arrays of an .npz dataset.
var (
	npzSampleKeys = []string{"x", "X"}
	npzLabelKeys  = []string{"y", "labels"}
)

// loadNPZ reads an .npz file as a dataset; see [OpenFile].
func loadNPZ(path string, opt FileOptions) (*Dataset, error) {
	z, err := zip.OpenReader(path)
	if err != nil {
		return nil, npzOpenError(path, err)
	}
	defer z.Close()
	arrays, err := readNPZ(&z.Reader, path, func(k string) bool {
		return slices.Contains(npzSampleKeys, k) || slices.Contains(npzLabelKeys, k)
	})
	if err != nil {
		return nil, err
	}
	pick := func(keys []string) (*Array, error) {
		var found []string
		for _, k := range keys {
			if arrays[k] != nil {
				found = append(found, k)
			}
		}
		if len(found) > 1 {
			return nil, fileError(path, "holds both %q and %q: which one is meant is ambiguous", found[0], found[1])
		}
		if len(found) == 1 {
			return arrays[found[0]], nil
		}
		return nil, nil
	}
	x, err := pick(npzSampleKeys)
	if err != nil {
		return nil, err
	}
	if x == nil {
		names := make([]string, 0, len(z.File))
		for _, f := range z.File {
			names = append(names, strings.TrimSuffix(f.Name, ".npy"))
		}
		return nil, fileError(path, "no array named x (or X) holding the samples; it holds [%s]: save with np.savez(file, x=samples, y=labels)", strings.Join(names, ", "))
	}
	y, err := pick(npzLabelKeys)
	if err != nil {
		return nil, err
	}
	if opt.Regression && y == nil {
		return nil, fileError(path, "no array named y (or labels) holding the regression targets")
	}
	return ArraysDataset(x, y, path, opt.Regression)
}

// ArraysDataset builds a dataset from an array x of samples, the first axis
// indexing them, and optionally an array y of their labels (nil for an
// unlabeled set); name becomes the dataset's Name and Source.
//
// The shape of a sample follows x's shape:
//
//   - (N, D): features, Shape [D];
//   - (N, H, W): grey images, Shape [1 H W] (N×28×28 gives Fashion-MNIST's
//     [1 28 28]);
//   - (N, C, H, W) with C of 1, 3 or 4: images in NCHW order, Shape [C H W];
//   - (N, H, W, C) with C of 1, 3 or 4 and H not: images in NHWC order,
//     transposed to Shape [C H W] (N×28×28×1 gives [1 28 28]);
//   - other shapes (N, ...): Shape x.Shape[1:], taken in C order as is.
//
// A one-dimensional x is an error (reshape one feature to (N, 1)).
//
// uint8 values are taken as pixel intensities and scaled to [0, 1] by
// dividing by 255; float and int values are taken as they are, rounded to
// float32, and must be finite there.
//
// y must have shape (N,) or (N, 1). For classification (regression false)
// its values must be whole numbers ≥ 0 (integer dtypes, or floats such as
// 3.0) below 65,536; the classes are named "0", "1", ... up to the largest
// label. With regression true, y is read as finite float64 targets.
// Problems are [*ParseError]s naming the array's file and the field.
func ArraysDataset(x, y *Array, name string, regression bool) (*Dataset, error) {
	xerr := func(field string, format string, args ...any) error {
		return &ParseError{File: x.Name, Offset: -1, Field: field, Err: fmt.Errorf(format, args...)}
	}
	if len(x.Shape) < 2 {
		return nil, xerr("shape", "samples array of shape %s: want at least 2 dimensions, samples first (reshape one feature to (N, 1))", pyShape(x.Shape))
	}
	n := x.Shape[0]
	if n == 0 {
		return nil, xerr("shape", "samples array of shape %s holds no samples", pyShape(x.Shape))
	}
	shape := clone(x.Shape[1:])
	nhwc := false
	small := func(c int) bool { return c == 1 || c == 3 || c == 4 }
	switch len(shape) {
	case 2:
		shape = []int{1, shape[0], shape[1]}
	case 3:
		if small(shape[2]) && !small(shape[0]) {
			shape = []int{shape[2], shape[0], shape[1]}
			nhwc = shape[0] > 1
		}
	}
	for _, v := range shape {
		if v == 0 {
			return nil, xerr("shape", "samples of shape %s are empty", pyShape(x.Shape[1:]))
		}
	}
	d := &Dataset{Name: name, Source: name, Shape: shape}
	s := d.SampleSize()
	if x.DType == "uint8" {
		d.X = make([]float32, len(x.data))
		for i, b := range x.data {
			d.X[i] = pixelScale[b]
		}
	} else {
		d.X = x.Float32()
		for i, v := range d.X {
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, x.elemError(i, fmt.Sprintf("sample %d, value %d", i/s, i%s), "non-finite value %v (as float32)", x.At(i))
			}
		}
	}
	if nhwc {
		c, h, w := shape[0], shape[1], shape[2]
		t := make([]float32, len(d.X))
		for k := range n {
			src, dst := d.X[k*s:(k+1)*s], t[k*s:(k+1)*s]
			for i := range h * w {
				for j := range c {
					dst[j*h*w+i] = src[i*c+j]
				}
			}
		}
		d.X = t
	}
	if y == nil {
		return d, nil
	}
	yerr := func(field string, format string, args ...any) error {
		return &ParseError{File: y.Name, Offset: -1, Field: field, Err: fmt.Errorf(format, args...)}
	}
	if !(len(y.Shape) == 1 || len(y.Shape) == 2 && y.Shape[1] == 1) {
		return nil, yerr("shape", "labels array of shape %s: want (%d,)", pyShape(y.Shape), n)
	}
	if y.Shape[0] != n {
		return nil, yerr("shape", "%d labels for the %d samples of %s", y.Shape[0], n, x.Name)
	}
	if regression {
		d.Target = y.Float64()
		for i, v := range d.Target {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, y.elemError(i, fmt.Sprintf("target %d", i), "non-finite target %v", v)
			}
		}
		return d, nil
	}
	d.Y = make([]int, n)
	k := 0
	for i := range d.Y {
		v, ok := y.integer(i)
		if !ok || v < 0 {
			return nil, y.elemError(i, fmt.Sprintf("label %d", i), "label %v is not a whole number ≥ 0", y.At(i))
		}
		if v >= maxNPYClasses {
			return nil, y.elemError(i, fmt.Sprintf("label %d", i), "label %d: more than %d classes", v, maxNPYClasses)
		}
		d.Y[i] = int(v)
		k = max(k, int(v)+1)
	}
	d.Classes = make([]string, k)
	for i := range d.Classes {
		d.Classes[i] = strconv.Itoa(i)
	}
	return d, nil
}
