package data

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The golden files in testdata/npy are written by testdata/npy/make_npy.py
// with numpy.
const npyDir = "testdata/npy"

// npyFile builds a .npy file of format version major.0 from a header dict
// and data, padding the header with spaces and a newline to a multiple of 64
// bytes as numpy does.
func npyFile(major byte, dict string, data []byte) []byte {
	lenSize := 2
	if major >= 2 {
		lenSize = 4
	}
	h := dict
	for (6+2+lenSize+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	var b bytes.Buffer
	b.WriteString(npyMagic)
	b.WriteByte(major)
	b.WriteByte(0)
	if lenSize == 2 {
		binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	} else {
		binary.Write(&b, binary.LittleEndian, uint32(len(h)))
	}
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

// npyDict formats a header dict as numpy writes it.
func npyDict(descr, shape string) string {
	return fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
}

// f32Bytes encodes float32 values little-endian.
func f32Bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// writeNPZ writes an uncompressed zip of the given members.
func writeNPZ(t testing.TB, path string, members map[string][]byte) {
	t.Helper()
	writeNPZMethod(t, path, members, zip.Store)
}

// writeNPZMethod writes a zip of the given members, compressed by method.
func writeNPZMethod(t testing.TB, path string, members map[string][]byte, method uint16) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(members))
	for n := range members {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(members[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goldenPixel is pixel (r, c) of image k in the golden image files.
func goldenPixel(k, r, c int) byte { return byte((k*64 + r*28 + c) % 256) }

var f32Golden = []float64{0, 1.5, -2, 3.25, 4, float64(float32(1e-3))}

func TestReadNPYGolden(t *testing.T) {
	images := make([]float64, 4*28*28)
	for i := range images {
		images[i] = float64(goldenPixel(i/784, i/28%28, i%28))
	}
	tests := []struct {
		file  string
		dtype string
		shape []int
		want  []float64
	}{
		{"f32.npy", "float32", []int{2, 3}, f32Golden},
		{"v2.npy", "float32", []int{2, 3}, f32Golden},
		{"v3.npy", "float32", []int{2, 3}, f32Golden},
		{"f64.npy", "float64", []int{3, 2}, []float64{0.1, -0.2, 1e10, 2.5, -3, 1.0 / 3}},
		{"i32.npy", "int32", []int{4}, []float64{-1, 0, 7, math.MaxInt32}},
		{"i64.npy", "int64", []int{1, 2}, []float64{-5, 9007199254740992}},
		{"scalar.npy", "float64", []int{}, []float64{2.5}},
		{"images_nchw.npy", "uint8", []int{4, 1, 28, 28}, images},
	}
	for _, tc := range tests {
		a, err := ReadNPYFile(filepath.Join(npyDir, tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if a.DType != tc.dtype || !slices.Equal(a.Shape, tc.shape) || a.Len() != len(tc.want) {
			t.Fatalf("%s: %s %v (%d elements), want %s %v (%d)", tc.file, a.DType, a.Shape, a.Len(), tc.dtype, tc.shape, len(tc.want))
		}
		if got := a.Float64(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: values %v, want %v", tc.file, got[:min(len(got), 8)], tc.want[:min(len(got), 8)])
		}
		f32 := a.Float32()
		for i, w := range tc.want {
			if f32[i] != float32(w) {
				t.Errorf("%s: Float32()[%d] = %v, want %v", tc.file, i, f32[i], float32(w))
				break
			}
		}
	}
	// Labels of int64 keep their exact value.
	a, err := ReadNPYFile(filepath.Join(npyDir, "i64.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := a.integer(1); !ok || v != 9007199254740993 {
		t.Errorf("int64 element: %d %v", v, ok)
	}
	// gzip-compressed input is detected.
	raw, err := os.ReadFile(filepath.Join(npyDir, "f32.npy"))
	if err != nil {
		t.Fatal(err)
	}
	a, err = ReadNPY(bytes.NewReader(gzipBytes(t, raw)), "f32.npy.gz")
	if err != nil || !slices.Equal(a.Float64(), f32Golden) {
		t.Errorf("gzip: %v %v", a, err)
	}
}

func TestReadNPZ(t *testing.T) {
	for _, tc := range []struct{ file, x, y, ydtype string }{
		{"images.npz", "x", "y", "int64"},
		{"images_nhwc.npz", "X", "labels", "int32"},
	} {
		m, err := ReadNPZ(filepath.Join(npyDir, tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if len(m) != 2 || m[tc.x] == nil || m[tc.y] == nil {
			t.Fatalf("%s: arrays %v", tc.file, m)
		}
		x, y := m[tc.x], m[tc.y]
		if x.DType != "uint8" || x.Shape[0] != 4 || x.Len() != 4*784 || x.At(784+28+3) != float64(goldenPixel(1, 1, 3)) {
			t.Errorf("%s: x %s %v", tc.file, x.DType, x.Shape)
		}
		if y.DType != tc.ydtype || !slices.Equal(y.Float64(), []float64{0, 2, 1, 2}) {
			t.Errorf("%s: y %s %v", tc.file, y.DType, y.Float64())
		}
		if want := filepath.Join(npyDir, tc.file) + "[" + tc.x + ".npy]"; x.Name != want {
			t.Errorf("%s: name %q, want %q", tc.file, x.Name, want)
		}
	}
}

func TestReadNPYErrors(t *testing.T) {
	f4 := f32Bytes(1, 2, 3, 4, 5, 6)
	good := npyFile(1, npyDict("<f4", "(2, 3)"), f4)
	withVersion := func(b []byte, major, minor byte) []byte {
		b = bytes.Clone(b)
		b[6], b[7] = major, minor
		return b
	}
	// hdr is the offset of the header dict in a version 1.0 file.
	const hdr = 10
	dict := func(s string) []byte { return npyFile(1, s, f4) }
	pos := func(d, sub string) int { return hdr + strings.Index(d, sub) }
	fortran := "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"
	tests := []struct {
		name string
		in   []byte
		want string // the error's text starts with "bad.npy: " + want
	}{
		{"empty", nil, "byte 0: magic: truncated file"},
		{"bad magic", append([]byte("\x93NUMPX"), good[6:]...), `byte 0: magic: wrong magic string "\x93NUMPX"`},
		{"text file", []byte("a,b,c\n1,2,3\n"), "byte 0: magic: wrong magic"},
		{"version 4.0", withVersion(good, 4, 0), "byte 6: version: format version 4.0 not supported"},
		{"version 1.1", withVersion(good, 1, 1), "byte 6: version: format version 1.1"},
		{"no version", good[:7], "byte 7: version: truncated"},
		{"huge header length", append([]byte(npyMagic+"\x02\x00\xff\xff\xff\x7f"), good[10:]...), "byte 8: header length: header of 2147483647 bytes: more than the limit of 10000"},
		{"truncated header", good[:40], "byte 40: header: truncated file: want 88 more bytes"},
		{"not a dict", dict("['descr', '<f4']"), "byte 10: header: want a dict starting with '{'"},
		{"unknown key", dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}"),
			fmt.Sprintf("byte %d: header: unknown key \"extra\"", pos("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}", "'extra'"))},
		{"missing shape", dict("{'descr': '<f4', 'fortran_order': False}"), "byte 49: shape: missing key \"shape\""},
		{"key twice", dict("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}"), "byte 27: descr: key given twice"},
		{"unquoted key", dict("{descr: '<f4'}"), "byte 11: header: want a quoted string"},
		{"unterminated string", dict("{'descr"), "byte 11: header: unterminated string"},
		{"odd key", dict("{'descr: '<f4'}"), "byte 11: header: unknown key \"descr: \""},
		{"no colon", dict("{'descr' '<f4'}"), "byte 19: header: want ':' after \"descr\""},
		{"missing comma", dict("{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3)}"), "byte 26: header: want ',' or '}' in the dict, found '\\''"},
		{"garbage after dict", dict(npyDict("<f4", "(2, 3)") + " x"), "byte 70: header: unexpected 'x' after the header dict"},
		{"unsupported dtype", dict(npyDict("<f2", "(2, 3)")), "byte 20: descr: dtype \"<f2\" not supported: want '<f4' (float32)"},
		{"complex dtype", dict(npyDict("<c8", "(2, 3)")), "byte 20: descr: dtype \"<c8\" not supported"},
		{"object dtype", dict(npyDict("|O", "(2, 3)")), "byte 20: descr: dtype \"|O\" not supported"},
		{"big-endian", dict(npyDict(">f4", "(2, 3)")), "byte 20: descr: big-endian dtype \">f4\" not supported: save a little-endian array (a.astype('<f4'))"},
		{"structured", dict("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }"), "byte 20: descr: structured dtype"},
		{"descr not a string", dict("{'descr': 4, 'fortran_order': False, 'shape': (2, 3), }"), "byte 20: descr: want a quoted string"},
		{"fortran order", dict(fortran), fmt.Sprintf("byte %d: fortran_order: Fortran-order (column-major) array not supported", pos(fortran, "True"))},
		{"fortran not a bool", dict("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }"), "byte 44: fortran_order: want True or False, found '0'"},
		{"shape not a tuple", dict(npyDict("<f4", "[2, 3]")), "byte 60: shape: want a tuple such as (2, 3), found '['"},
		{"shape int in parens", dict(npyDict("<f4", "(6)")), "byte 63: shape: (6) is not a tuple: want (6,)"},
		{"negative dimension", dict(npyDict("<f4", "(-1, 6)")), "byte 61: shape: want a non-negative integer dimension, found '-'"},
		{"float dimension", dict(npyDict("<f4", "(2.0, 3)")), "byte 62: shape: want ',' or ')' in the shape tuple, found '.'"},
		{"missing comma in shape", dict(npyDict("<f4", "(2 3)")), "byte 63: shape: want ',' or ')' in the shape tuple, found '3'"},
		{"huge dimension", dict(npyDict("<f4", "(99999999999999999999999999999,)")), "byte 61: shape: dimension 999999999999999999999999... too large"},
		{"huge shape", dict(npyDict("<f8", "(65536, 65536, 65536)")), "byte 60: shape: shape (65536, 65536, 65536) of <f8: more than 17179869184 bytes"},
		{"too many dimensions", dict(npyDict("<f4", "("+strings.Repeat("1, ", 65)+")")), "byte 254: shape: more than 64 dimensions"},
		{"truncated data", good[:len(good)-5], "byte 147: data: truncated data: shape (2, 3) of <f4 needs 24 bytes, only 19 present"},
		{"no data", npyFile(1, npyDict("<f4", "(2, 3)"), nil), "byte 128: data: truncated data"},
		{"shape too small", npyFile(1, npyDict("<f4", "(5,)"), f4), "byte 148: data: trailing data after the 20 bytes of shape (5,) of <f4: the shape does not match the data"},
		{"lying shape", npyFile(1, npyDict("|u1", "(1000000000,)"), seq(10)), "byte 138: data: truncated data: shape (1000000000,) of |u1 needs 1000000000 bytes, only 10 present"},
		{"bad utf-8 v3", npyFile(3, "{'descr': '\xff<f4', 'fortran_order': False, 'shape': (2, 3), }", f4), "byte 12: header: version 3.0 header is not valid UTF-8"},
		{"latin-1 v1", npyFile(1, "{'descr': '\xff<f4', 'fortran_order': False, 'shape': (2, 3), }", f4), "byte 20: descr: dtype \"\\xff<f4\" not supported"},
	}
	for _, tc := range tests {
		_, err := ReadNPY(bytes.NewReader(tc.in), "bad.npy")
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: error %v is not a *ParseError", tc.name, err)
			continue
		}
		if want := "bad.npy: " + tc.want; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s:\n got  %v\n want %s...", tc.name, err, want)
		}
	}
	// The good file is read, and so is the same with a v2.0 header.
	for _, b := range [][]byte{good, npyFile(2, npyDict("<f4", "(2, 3)"), f4)} {
		if a, err := ReadNPY(bytes.NewReader(b), "good.npy"); err != nil || a.Len() != 6 {
			t.Errorf("good: %v %v", a, err)
		}
	}
	// A truncated gzip stream says the offset is in the decompressed data.
	_, err := ReadNPY(bytes.NewReader(gzipBytes(t, good[:100])), "bad.npy.gz")
	if err == nil || !strings.HasPrefix(err.Error(), "bad.npy.gz: byte 100 (decompressed): header: truncated") {
		t.Errorf("gzip truncated: %v", err)
	}
}

func TestReadNPYGoldenErrors(t *testing.T) {
	for file, want := range map[string]string{
		"fortran.npy":   "testdata/npy/fortran.npy: byte 44: fortran_order: Fortran-order (column-major) array not supported: save np.ascontiguousarray(a)",
		"bigendian.npy": "testdata/npy/bigendian.npy: byte 20: descr: big-endian dtype \">f4\" not supported",
		"nothing.npy":   "data: open testdata/npy/nothing.npy: no such file",
	} {
		_, err := ReadNPYFile(filepath.Join(npyDir, file))
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s:\n got  %v\n want %s...", file, err, want)
		}
	}
}

// A header that declares a gigabyte over a few bytes of data must not make
// the reader allocate the gigabyte.
func TestReadNPYLyingHeaderAllocation(t *testing.T) {
	in := npyFile(2, npyDict("<f8", "(1000000000,)"), seq(100))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := ReadNPY(bytes.NewReader(in), "lie.npy"); err == nil {
			t.Fatal("no error")
		}
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 10<<20 {
		t.Errorf("10 reads of a lying header allocated %d bytes", got)
	}
	// In an .npz the member's size is known, so the claim is refused before
	// reading.
	path := filepath.Join(t.TempDir(), "lie.npz")
	writeNPZ(t, path, map[string][]byte{"x.npy": in})
	_, err := ReadNPZ(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+"[x.npy]: byte 128: data: truncated data: shape (1000000000,) of <f8 needs 8000000000 bytes, only 100 present") {
		t.Errorf("npz: %v", err)
	}
}

func TestReadNPZErrors(t *testing.T) {
	dir := t.TempDir()
	good := npyFile(1, npyDict("<f4", "(2, 3)"), f32Bytes(1, 2, 3, 4, 5, 6))
	notZip := filepath.Join(dir, "text.npz")
	if err := os.WriteFile(notZip, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		members map[string][]byte
		want    string // after the path
	}{
		{"not npy", map[string][]byte{"x.npy": good, "notes.txt": []byte("hi")}, `: member "notes.txt": not a .npy array`},
		{"bad member", map[string][]byte{"x.npy": good[:50]}, "[x.npy]: byte 8: header length: header of 118 bytes, but only 40 bytes follow"},
		{"fortran member", map[string][]byte{"y.npy": npyFile(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", good[128:])}, "[y.npy]: byte 44: fortran_order"},
	}
	for _, tc := range tests {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".npz")
		writeNPZ(t, path, tc.members)
		_, err := ReadNPZ(path)
		if err == nil || !strings.HasPrefix(err.Error(), path+tc.want) {
			t.Errorf("%s:\n got  %v\n want %s...", tc.name, err, path+tc.want)
		}
	}
	// Offsets in a compressed member count decompressed bytes.
	comp := filepath.Join(dir, "compressed.npz")
	writeNPZMethod(t, comp, map[string][]byte{"x.npy": npyFile(1, npyDict(">f4", "(2, 3)"), good[128:])}, zip.Deflate)
	if _, err := ReadNPZ(comp); err == nil || !strings.HasPrefix(err.Error(), comp+"[x.npy]: byte 20 (decompressed): descr: big-endian") {
		t.Errorf("compressed member: %v", err)
	}
	// A stored member whose bytes changed fails its checksum.
	raw, err := os.ReadFile(filepath.Join(npyDir, "images_nhwc.npz"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(raw, []byte("'shape': (4, 28, 28, 1)"))
	raw[i+200] ^= 1 // a pixel
	corrupt := filepath.Join(dir, "corrupt.npz")
	if err := os.WriteFile(corrupt, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadNPZ(corrupt); err == nil || !errors.Is(err, zip.ErrChecksum) || !strings.HasPrefix(err.Error(), corrupt+"[X.npy]: byte 3264: data: ") {
		t.Errorf("corrupt member: %v", err)
	}
	if _, err := ReadNPZ(notZip); err == nil || !strings.HasPrefix(err.Error(), notZip+": not a NumPy .npz file") {
		t.Errorf("not a zip: %v", err)
	}
	if _, err := ReadNPZ(filepath.Join(dir, "none.npz")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

// goldenImages returns the dataset values of the golden images.
func goldenImages() []float32 {
	x := make([]float32, 4*784)
	for i := range x {
		x[i] = float32(goldenPixel(i/784, i/28%28, i%28)) / 255
	}
	return x
}

func TestOpenNPY(t *testing.T) {
	images := goldenImages()
	f64 := []float32{0.1, -0.2, 1e10, 2.5, -3, float32(1.0 / 3)}
	tests := []struct {
		file    string
		shape   []int
		x       []float32
		y       []int
		classes []string
	}{
		{"images.npz", []int{1, 28, 28}, images, []int{0, 2, 1, 2}, []string{"0", "1", "2"}},
		{"images_nhwc.npz", []int{1, 28, 28}, images, []int{0, 2, 1, 2}, []string{"0", "1", "2"}},
		{"images_nchw.npy", []int{1, 28, 28}, images, nil, nil},
		{"features.npz", []int{2}, f64, []int{1, 0, 1}, []string{"0", "1"}},
		{"f64.npy", []int{2}, f64, nil, nil},
		{"f32.npy", []int{3}, []float32{0, 1.5, -2, 3.25, 4, 1e-3}, nil, nil},
	}
	for _, tc := range tests {
		path := filepath.Join(npyDir, tc.file)
		d, err := Open(path, Test, "")
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if err := d.Validate(); err != nil {
			t.Errorf("%s: %v", tc.file, err)
		}
		if d.Name != path || d.Source != path || !slices.Equal(d.Shape, tc.shape) || !slices.Equal(d.X, tc.x) ||
			!slices.Equal(d.Y, tc.y) || !slices.Equal(d.Classes, tc.classes) || d.Target != nil {
			t.Errorf("%s: got %s %s %v %v %v, X[:4] %v", tc.file, d.Name, d.Source, d.Shape, d.Y, d.Classes, d.X[:4])
		}
	}
	d, err := OpenFile(filepath.Join(npyDir, "features.npz"), FileOptions{Regression: true})
	if err != nil || !slices.Equal(d.Target, []float64{1, 0, 1}) || d.Y != nil {
		t.Errorf("regression: %v %v", d, err)
	}

	dir := t.TempDir()
	f4 := func(shape string, v ...float32) []byte { return npyFile(1, npyDict("<f4", shape), f32Bytes(v...)) }
	i8 := func(shape string, v ...int64) []byte {
		b := make([]byte, 8*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
		}
		return npyFile(1, npyDict("<i8", shape), b)
	}
	bad := []struct {
		name    string
		members map[string][]byte // an .npz, or one .npy when the name ends in .npy
		want    string            // after the path
	}{
		{"nan.npy", map[string][]byte{"": f4("(2, 1)", 1, float32(math.NaN()))}, ": byte 132: sample 1, value 0: non-finite value NaN (as float32)"},
		{"overflow.npz", map[string][]byte{"x.npy": npyFile(1, npyDict("<f8", "(1, 1)"), binary.LittleEndian.AppendUint64(nil, math.Float64bits(1e300)))}, "[x.npy]: byte 128: sample 0, value 0: non-finite value 1e+300 (as float32)"},
		{"onedim.npy", map[string][]byte{"": f4("(3,)", 1, 2, 3)}, ": shape: samples array of shape (3,): want at least 2 dimensions"},
		{"nosamples.npz", map[string][]byte{"x.npy": f4("(0, 3)")}, "[x.npy]: shape: samples array of shape (0, 3) holds no samples"},
		{"emptysamples.npz", map[string][]byte{"x.npy": f4("(2, 0)")}, "[x.npy]: shape: samples of shape (0,) are empty"},
		{"fewlabels.npz", map[string][]byte{"x.npy": f4("(2, 1)", 1, 2), "y.npy": i8("(3,)", 0, 1, 1)}, "[y.npy]: shape: 3 labels for the 2 samples of"},
		{"label2d.npz", map[string][]byte{"x.npy": f4("(2, 1)", 1, 2), "y.npy": i8("(1, 2)", 0, 1)}, "[y.npy]: shape: labels array of shape (1, 2): want (2,)"},
		{"fraclabel.npz", map[string][]byte{"x.npy": f4("(2, 1)", 1, 2), "y.npy": f4("(2,)", 0, 1.5)}, "[y.npy]: byte 132: label 1: label 1.5 is not a whole number ≥ 0"},
		{"nanlabel.npz", map[string][]byte{"x.npy": f4("(2, 1)", 1, 2), "y.npy": f4("(2,)", float32(math.Inf(1)), 1)}, "[y.npy]: byte 128: label 0: label +Inf is not a whole number ≥ 0"},
		{"hugelabel.npz", map[string][]byte{"x.npy": f4("(2, 1)", 1, 2), "y.npy": i8("(2,)", 0, 1<<40)}, "[y.npy]: byte 136: label 1: label 1099511627776: more than 65536 classes"},
		{"bothy.npz", map[string][]byte{"x.npy": f4("(2, 1)", 1, 2), "y.npy": i8("(2,)", 0, 1), "labels.npy": i8("(2,)", 0, 1)}, `: holds both "y" and "labels"`},
	}
	for _, tc := range bad {
		path := filepath.Join(dir, tc.name)
		if strings.HasSuffix(tc.name, ".npy") {
			if err := os.WriteFile(path, tc.members[""], 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			writeNPZ(t, path, tc.members)
		}
		_, err := Open(path, Train, "")
		if err == nil || !strings.HasPrefix(err.Error(), path+tc.want) {
			t.Errorf("%s:\n got  %v\n want %s...", tc.name, err, path+tc.want)
		}
	}
	for file, want := range map[string]string{
		"badlabel.npz": "[y.npy]: byte 136: label 1: label -1 is not a whole number ≥ 0",
		"twox.npz":     `: holds both "x" and "X"`,
		"nox.npz":      ": no array named x (or X) holding the samples; it holds [features]",
		"fortran.npy":  ": byte 44: fortran_order",
		"scalar.npy":   ": shape: samples array of shape (): want at least 2 dimensions",
	} {
		path := filepath.Join(npyDir, file)
		_, err := Open(path, Train, "")
		if err == nil || !strings.HasPrefix(err.Error(), path+want) {
			t.Errorf("%s:\n got  %v\n want %s...", file, err, path+want)
		}
	}
	// Regression needs targets.
	for file, want := range map[string]string{
		"f64.npy":         ": a .npy file holds one array, no regression targets",
		"images_nchw.npy": ": a .npy file holds one array",
	} {
		path := filepath.Join(npyDir, file)
		_, err := OpenFile(path, FileOptions{Regression: true})
		if err == nil || !strings.HasPrefix(err.Error(), path+want) {
			t.Errorf("%s regression: %v", file, err)
		}
	}
	nol := filepath.Join(dir, "nolabels.npz")
	writeNPZ(t, nol, map[string][]byte{"x.npy": f4("(2, 1)", 1, 2)})
	if _, err := OpenFile(nol, FileOptions{Regression: true}); err == nil || !strings.Contains(err.Error(), "no array named y") {
		t.Errorf("regression without y: %v", err)
	}
	if d, err := Open(nol, Train, ""); err != nil || d.Y != nil || d.Len() != 2 {
		t.Errorf("npz without labels: %v %v", d, err)
	}
	// A compressed .npz is not a known file name.
	if _, err := Open(filepath.Join(dir, "x.npz.gz"), Train, ""); err == nil || !strings.Contains(err.Error(), "unknown dataset") {
		t.Errorf("x.npz.gz: %v", err)
	}
	// .npy.gz is read.
	raw, err := os.ReadFile(filepath.Join(npyDir, "f64.npy"))
	if err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(dir, "f64.npy.gz")
	if err := os.WriteFile(gz, gzipBytes(t, raw), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, err := Open(gz, Train, ""); err != nil || !slices.Equal(d.X, f64) {
		t.Errorf("npy.gz: %v %v", d, err)
	}
}

// Colour images in NHWC order are transposed to C×H×W; NCHW stays as is.
func TestArraysDatasetLayouts(t *testing.T) {
	// Two 2×2 images with 3 channels; value = 100*n + 10*pixel + channel.
	var nhwc []byte
	for n := range 2 {
		for p := range 4 {
			for c := range 3 {
				nhwc = append(nhwc, byte(100*n+10*p+c))
			}
		}
	}
	a, err := ReadNPY(bytes.NewReader(npyFile(1, npyDict("|u1", "(2, 2, 2, 3)"), nhwc)), "nhwc.npy")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ArraysDataset(a, nil, "nhwc", false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Shape, []int{3, 2, 2}) {
		t.Fatalf("shape %v", d.Shape)
	}
	for n := range 2 {
		for c := range 3 {
			for p := range 4 {
				if got, want := d.X[n*12+c*4+p], float32(100*n+10*p+c)/255; got != want {
					t.Fatalf("image %d channel %d pixel %d: %v, want %v", n, c, p, got, want)
				}
			}
		}
	}
	for shape, want := range map[string][]int{
		"(2, 3, 2, 2)":    {3, 2, 2},  // NCHW
		"(2, 1, 3, 4)":    {1, 3, 4},  // NCHW grey
		"(2, 6, 2, 1)":    {1, 6, 2},  // NHWC grey
		"(2, 2, 3, 2)":    {2, 3, 2},  // neither: as is
		"(1, 2, 2, 3)":    {3, 2, 2},  // NHWC colour, one image
		"(1, 3, 1, 12)":   {3, 1, 12}, // NCHW
		"(2, 12)":         {12},
		"(2, 3, 4)":       {1, 3, 4},
		"(1, 2, 1, 3, 4)": {2, 1, 3, 4},
	} {
		a, err := ReadNPY(bytes.NewReader(npyFile(1, npyDict("|u1", shape), seq(shapeSize(shape)))), "s.npy")
		if err != nil {
			t.Fatal(err)
		}
		d, err := ArraysDataset(a, nil, "s", false)
		if err != nil || !slices.Equal(d.Shape, want) {
			t.Errorf("%s: shape %v, want %v (%v)", shape, d.Shape, want, err)
		}
	}
}

// shapeSize is the product of a shape written as a Python tuple.
func shapeSize(tuple string) int {
	n := 1
	for _, f := range strings.FieldsFunc(tuple, func(r rune) bool { return r < '0' || r > '9' }) {
		v, _ := strconv.Atoi(f)
		n *= v
	}
	return n
}

func TestDescribeNPZ(t *testing.T) {
	path := filepath.Join(npyDir, "images.npz")
	sums, err := Describe(path, "", false)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := sums[0].WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `testdata/npy/images.npz
  source   testdata/npy/images.npz
  samples  4
  shape    [1 28 28]
  task     classification, 3 classes
  values   [0, 1]
  LABEL  CLASS  COUNT  SHARE
  0      0      1      25.0%
  1      1      1      25.0%
  2      2      2      50.0%
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func FuzzReadNPY(f *testing.F) {
	for _, name := range []string{"f32.npy", "v2.npy", "v3.npy", "i64.npy", "scalar.npy", "fortran.npy", "bigendian.npy", "images.npz", "features.npz"} {
		b, err := os.ReadFile(filepath.Join(npyDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	good := npyFile(1, npyDict("<f4", "(2, 3)"), f32Bytes(1, 2, 3, 4, 5, 6))
	f.Add(good)
	f.Add(good[:50])
	f.Add(gzipBytes(f, good))
	f.Add(npyFile(2, npyDict("|u1", "(1000000000, 1000)"), seq(10)))
	f.Add(npyFile(1, npyDict("<i4", "(2, 2, 1)"), seq(16)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := ReadNPY(bytes.NewReader(in), "fuzz")
		if err != nil {
			requireParseError(t, err, "fuzz: ")
		} else {
			n := 1
			for _, d := range a.Shape {
				if d < 0 {
					t.Fatalf("negative dimension in %v", a.Shape)
				}
				n *= d
			}
			if a.Len() != n || len(a.data) != n*a.size {
				t.Fatalf("shape %v but %d elements, %d bytes", a.Shape, a.Len(), len(a.data))
			}
			a.Float64()
			a.Float32()
			if d, err := ArraysDataset(a, a, "fuzz", false); err == nil {
				if err := d.Validate(); err != nil {
					t.Fatalf("ArraysDataset gave an invalid dataset: %v", err)
				}
			}
		}
		// The same bytes as an .npz.
		if z, err := zip.NewReader(bytes.NewReader(in), int64(len(in))); err == nil {
			m, err := readNPZ(z, "fuzz.npz", nil)
			if err != nil && !strings.HasPrefix(err.Error(), "fuzz.npz") {
				t.Fatalf("npz error %q does not name the file", err)
			}
			for k, a := range m {
				if a == nil || a.Name != "fuzz.npz["+k+".npy]" {
					t.Fatalf("npz member %q: %v", k, a)
				}
			}
		}
	})
}
