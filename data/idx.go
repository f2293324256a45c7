package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// IDX is a decoded IDX file, the format of the (Fashion-)MNIST images and
// labels: an n-dimensional array of unsigned bytes. Only the unsigned-byte
// element type (code 0x08) is supported, which is what (Fashion-)MNIST uses.
type IDX struct {
	// Name is the file or stream name the IDX was read from.
	Name string
	// Dims are the array's dimensions, outermost first: [N] for labels,
	// [N H W] for images.
	Dims []int
	// Data holds the prod(Dims) elements, row-major.
	Data []byte
}

// HeaderLen is the length in bytes of x's IDX header: the 4-byte magic number
// and 4 bytes per dimension. Data element i is at byte HeaderLen()+i.
func (x *IDX) HeaderLen() int { return 4 + 4*len(x.Dims) }

// idxTypeUint8 is the IDX element type code of unsigned bytes.
const idxTypeUint8 = 0x08

// maxIDXDims bounds the number of dimensions of an IDX file.
const maxIDXDims = 16

// maxIDXSize bounds the number of elements of an IDX array (16 GiB).
const maxIDXSize = 1 << 34

var idxTypeNames = map[byte]string{
	0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "int16",
	0x0C: "int32", 0x0D: "float32", 0x0E: "float64",
}

// gzipMagic starts every gzip stream.
var gzipMagic = []byte{0x1f, 0x8b}

// maybeGunzip returns a reader of r's content, decompressing it when it starts
// with the gzip magic bytes.
func maybeGunzip(r io.Reader, name string) (io.Reader, bool, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false, &ParseError{File: name, Offset: 0, Err: err}
	}
	if len(head) == 2 && head[0] == gzipMagic[0] && head[1] == gzipMagic[1] {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, false, &ParseError{File: name, Offset: 0, Field: "gzip header", Err: err}
		}
		return zr, true, nil
	}
	return br, false, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ReadIDX reads an IDX file from r, gzip-compressed (detected by its magic
// bytes) or raw. name is used in error messages. It rejects a wrong magic
// number, an unsupported element type, a truncated file and trailing data,
// with a [*ParseError] giving the byte offset (in the decompressed data when
// the input is gzip-compressed).
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	zr, gz, err := maybeGunzip(r, name)
	if err != nil {
		return nil, err
	}
	cr := &countingReader{r: zr}
	perr := func(off int64, field string, format string, args ...any) error {
		return &ParseError{File: name, Offset: off, Field: field, Decompressed: gz, Err: fmt.Errorf(format, args...)}
	}
	// readErr turns a read error at offset off into a ParseError.
	readErr := func(off int64, field string, want int, err error) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return &ParseError{File: name, Offset: off, Field: field, Decompressed: gz,
				Err: fmt.Errorf("truncated file: want %d more bytes: %w", want, io.ErrUnexpectedEOF)}
		}
		return &ParseError{File: name, Offset: off, Field: field, Decompressed: gz, Err: err}
	}

	var magic [4]byte
	if n, err := io.ReadFull(cr, magic[:]); err != nil {
		return nil, readErr(int64(n), "magic", 4-n, err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, perr(0, "magic", "wrong magic number 0x%08x: not an IDX file (an IDX file starts with two zero bytes, a type code and the number of dimensions, e.g. 0x00000803 for images)", binary.BigEndian.Uint32(magic[:]))
	}
	if magic[2] != idxTypeUint8 {
		t, ok := idxTypeNames[magic[2]]
		if !ok {
			return nil, perr(2, "type", "unknown element type code 0x%02x", magic[2])
		}
		return nil, perr(2, "type", "element type 0x%02x (%s) not supported: only unsigned bytes (0x08)", magic[2], t)
	}
	nd := int(magic[3])
	if nd == 0 || nd > maxIDXDims {
		return nil, perr(3, "dims", "%d dimensions: want 1 to %d", nd, maxIDXDims)
	}
	hdr := make([]byte, 4*nd)
	if n, err := io.ReadFull(cr, hdr); err != nil {
		return nil, readErr(4+int64(n), "dims", len(hdr)-n, err)
	}
	x := &IDX{Name: name, Dims: make([]int, nd)}
	size := int64(1)
	for i := range nd {
		v := int64(binary.BigEndian.Uint32(hdr[4*i:]))
		x.Dims[i] = int(v)
		if v > 0 && size > maxIDXSize/v {
			return nil, perr(int64(4+4*i), "dims", "dimensions %v: more than %d elements", dimsPrefix(hdr, i+1), int64(maxIDXSize))
		}
		size *= v
	}
	if size > math.MaxInt {
		return nil, perr(4, "dims", "dimensions %v too large for this machine", x.Dims)
	}
	// Read the data in growing chunks, so that a header promising more data
	// than the input holds does not allocate it all up front.
	off := int64(x.HeaderLen())
	data := make([]byte, 0, min(size, 1<<16))
	for int64(len(data)) < size {
		if len(data) == cap(data) {
			grow := min(size-int64(len(data)), int64(max(cap(data), 1<<16)))
			data = slices.Grow(data, int(grow))
		}
		end := int(min(int64(cap(data)), size))
		n, err := io.ReadFull(cr, data[len(data):end])
		data = data[:len(data)+n]
		if err != nil {
			return nil, readErr(off+int64(len(data)), "data", int(size-int64(len(data))), err)
		}
	}
	x.Data = data
	// No trailing data: it would mean the dimensions are wrong.
	var one [1]byte
	n, err := io.ReadFull(cr, one[:])
	if n > 0 {
		return nil, perr(off+size, "data", "trailing data after the %d elements of dimensions %v", size, x.Dims)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, &ParseError{File: name, Offset: off + size, Field: "data", Decompressed: gz, Err: err}
	}
	return x, nil
}

// dimsPrefix decodes the first k dimensions of an IDX header for messages.
func dimsPrefix(hdr []byte, k int) []uint32 {
	d := make([]uint32, k)
	for i := range d {
		d[i] = binary.BigEndian.Uint32(hdr[4*i:])
	}
	return d
}

// WriteIDX writes x as a raw (uncompressed) IDX file of unsigned bytes.
func WriteIDX(w io.Writer, x *IDX) error {
	if len(x.Dims) == 0 || len(x.Dims) > maxIDXDims {
		return fmt.Errorf("data: WriteIDX %s: %d dimensions, want 1 to %d", x.Name, len(x.Dims), maxIDXDims)
	}
	size := 1
	hdr := make([]byte, x.HeaderLen())
	hdr[2] = idxTypeUint8
	hdr[3] = byte(len(x.Dims))
	for i, v := range x.Dims {
		if v < 0 || int64(v) > math.MaxUint32 {
			return fmt.Errorf("data: WriteIDX %s: dimension %d out of range", x.Name, v)
		}
		binary.BigEndian.PutUint32(hdr[4+4*i:], uint32(v))
		size *= v
	}
	if size != len(x.Data) {
		return fmt.Errorf("data: WriteIDX %s: dimensions %v need %d elements, have %d", x.Name, x.Dims, size, len(x.Data))
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := w.Write(x.Data)
	return err
}

// openFile opens path, or path+".gz" when path does not exist (or path
// without ".gz" when path ends in ".gz" and does not exist). It returns the
// file and the path it opened.
func openFile(path string) (*os.File, string, error) {
	f, err := os.Open(path)
	if err == nil {
		return f, path, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, "", err
	}
	alt := path + ".gz"
	if s, ok := strings.CutSuffix(path, ".gz"); ok {
		alt = s
	}
	if f, err2 := os.Open(alt); err2 == nil {
		return f, alt, nil
	}
	return nil, "", err
}

// ReadIDXFile reads the IDX file at path, gzip-compressed or raw; when path
// does not exist it tries path+".gz" (or path without its ".gz").
func ReadIDXFile(path string) (*IDX, error) {
	f, p, err := openFile(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return ReadIDX(f, p)
}

// IDXDataset builds a dataset from an IDX array of images ([N H W], or
// [N D...] in general) and an IDX array of N labels. Pixel bytes are scaled to
// [0, 1] by dividing by 255; a 3-dimensional images array gives samples of
// shape [1 H W]. classes names the classes; when nil, the classes are "0",
// "1", ... up to the largest label. A label outside classes, or a different
// number of images and labels, is a [*ParseError].
func IDXDataset(images, labels *IDX, name string, classes []string) (*Dataset, error) {
	if len(images.Dims) < 2 {
		return nil, &ParseError{File: images.Name, Offset: 3, Field: "dims",
			Err: fmt.Errorf("images array has dimensions %v: want [N H W] or at least [N D]", images.Dims)}
	}
	if len(labels.Dims) != 1 {
		return nil, &ParseError{File: labels.Name, Offset: 3, Field: "dims",
			Err: fmt.Errorf("labels array has dimensions %v: want [N]", labels.Dims)}
	}
	n := images.Dims[0]
	if labels.Dims[0] != n {
		return nil, &ParseError{File: labels.Name, Offset: 4, Field: "dims",
			Err: fmt.Errorf("dimension mismatch: %d labels for the %d images of %s", labels.Dims[0], n, images.Name)}
	}
	if n == 0 {
		return nil, &ParseError{File: images.Name, Offset: 4, Field: "dims", Err: errors.New("no images")}
	}
	shape := clone(images.Dims[1:])
	if len(shape) == 2 {
		shape = []int{1, shape[0], shape[1]}
	}
	for _, v := range shape {
		if v == 0 {
			return nil, &ParseError{File: images.Name, Offset: 4, Field: "dims", Err: fmt.Errorf("images of dimensions %v are empty", images.Dims)}
		}
	}
	if classes == nil {
		k := 0
		for _, y := range labels.Data {
			k = max(k, int(y)+1)
		}
		classes = make([]string, k)
		for i := range classes {
			classes[i] = strconv.Itoa(i)
		}
	}
	d := &Dataset{
		Name:    name,
		Shape:   shape,
		X:       make([]float32, len(images.Data)),
		Y:       make([]int, n),
		Classes: clone(classes),
		Source:  images.Name,
	}
	for i, y := range labels.Data {
		if int(y) >= len(classes) {
			return nil, &ParseError{File: labels.Name, Offset: int64(labels.HeaderLen() + i), Field: fmt.Sprintf("label %d", i),
				Err: fmt.Errorf("label %d out of range [0, %d)", y, len(classes))}
		}
		d.Y[i] = int(y)
	}
	for i, b := range images.Data {
		d.X[i] = pixelScale[b]
	}
	return d, nil
}

// pixelScale maps a byte to byte/255 as float32.
var pixelScale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()
