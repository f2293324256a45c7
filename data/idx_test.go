package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idxBytes encodes an IDX file of unsigned bytes.
func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func TestReadIDX(t *testing.T) {
	good := idxBytes([]int{2, 3, 4}, seq(24))
	tests := []struct {
		name    string
		in      []byte
		dims    []int
		wantErr []string // substrings of the error; nil for success
	}{
		{"images", good, []int{2, 3, 4}, nil},
		{"gzip", gzipBytes(t, good), []int{2, 3, 4}, nil},
		{"labels", idxBytes([]int{5}, []byte{0, 1, 2, 3, 9}), []int{5}, nil},
		{"zero items", idxBytes([]int{0, 28, 28}, nil), []int{0, 28, 28}, nil},
		{"empty", nil, nil, []string{"f.idx: byte 0: magic: truncated file", "want 4 more bytes"}},
		{"short magic", []byte{0, 0}, nil, []string{"byte 2: magic: truncated"}},
		{"wrong magic", append([]byte{0x50, 0x4b, 3, 4}, good[4:]...), nil, []string{"byte 0: magic: wrong magic number 0x504b0304"}},
		{"float type", append([]byte{0, 0, 0x0D, 3}, good[4:]...), nil, []string{"byte 2: type: element type 0x0d (float32) not supported"}},
		{"unknown type", append([]byte{0, 0, 0x42, 3}, good[4:]...), nil, []string{"byte 2: type: unknown element type code 0x42"}},
		{"zero dims", []byte{0, 0, 8, 0}, nil, []string{"byte 3: dims: 0 dimensions"}},
		{"truncated dims", good[:9], nil, []string{"byte 9: dims: truncated file: want 7 more bytes"}},
		{"truncated data", good[:30], nil, []string{"byte 30: data: truncated file: want 10 more bytes"}},
		{"truncated gzip data", gzipBytes(t, good[:30]), nil, []string{"byte 30 (decompressed): data: truncated"}},
		{"trailing data", append(bytes.Clone(good), 1, 2), nil, []string{"byte 40: data: trailing data after the 24 elements of dimensions [2 3 4]"}},
		{"huge dims", idxBytes([]int{1 << 30, 1 << 30}, nil), nil, []string{"byte 8: dims: dimensions [1073741824 1073741824]: more than"}},
		{"huge dims, no data", idxBytes([]int{1 << 20, 1 << 10}, seq(10)), nil, []string{"byte 22: data: truncated file: want 1073741814 more bytes"}},
		{"corrupt gzip", gzipBytes(t, good)[:20], nil, []string{"f.idx: byte", "unexpected EOF"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, err := ReadIDX(bytes.NewReader(tc.in), "f.idx")
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("no error, want %q", tc.wantErr)
				}
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Errorf("error %v is not a *ParseError", err)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalInts(x.Dims, tc.dims) || x.Name != "f.idx" {
				t.Fatalf("dims %v name %q, want %v f.idx", x.Dims, x.Name, tc.dims)
			}
			var w bytes.Buffer
			if err := WriteIDX(&w, x); err != nil {
				t.Fatal(err)
			}
			raw := tc.in
			if tc.name == "gzip" {
				raw = good
			}
			if !bytes.Equal(w.Bytes(), raw) {
				t.Errorf("WriteIDX does not reproduce the input")
			}
		})
	}
}

func TestReadIDXTruncatedIsUnexpectedEOF(t *testing.T) {
	_, err := ReadIDX(bytes.NewReader(idxBytes([]int{4}, seq(2))), "x")
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error %v does not wrap io.ErrUnexpectedEOF", err)
	}
}

func TestWriteIDXErrors(t *testing.T) {
	for _, x := range []*IDX{
		{Name: "a"},
		{Name: "b", Dims: []int{2, 2}, Data: seq(3)},
		{Name: "c", Dims: []int{-1}},
	} {
		if err := WriteIDX(io.Discard, x); err == nil {
			t.Errorf("%s: no error", x.Name)
		}
	}
}

func TestReadIDXFileGzAlternative(t *testing.T) {
	dir := t.TempDir()
	raw := idxBytes([]int{3}, []byte{1, 2, 3})
	if err := os.WriteFile(filepath.Join(dir, "a-ubyte.gz"), gzipBytes(t, raw), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b-ubyte"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a-ubyte", "a-ubyte.gz", "b-ubyte", "b-ubyte.gz"} {
		x, err := ReadIDXFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !bytes.Equal(x.Data, []byte{1, 2, 3}) {
			t.Errorf("%s: data %v", p, x.Data)
		}
	}
	if _, err := ReadIDXFile(filepath.Join(dir, "c-ubyte")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v, want os.ErrNotExist", err)
	}
}

func TestIDXDataset(t *testing.T) {
	images := &IDX{Name: "img", Dims: []int{3, 2, 2}, Data: []byte{0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8}}
	labels := &IDX{Name: "lab", Dims: []int{3}, Data: []byte{2, 0, 1}}
	d, err := IDXDataset(images, labels, "toy", []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if !equalInts(d.Shape, []int{1, 2, 2}) || d.Len() != 3 || !equalInts(d.Y, []int{2, 0, 1}) {
		t.Fatalf("shape %v len %d labels %v", d.Shape, d.Len(), d.Y)
	}
	if d.X[0] != 0 || d.X[1] != 1 || d.X[2] != 0.2 || d.X[3] != 0.4 {
		t.Errorf("pixels %v, want 0 1 0.2 0.4", d.X[:4])
	}
	// Default class names.
	d, err = IDXDataset(images, labels, "toy", nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.Classes, ",") != "0,1,2" {
		t.Errorf("default classes %v", d.Classes)
	}

	bad := []struct {
		name           string
		images, labels *IDX
		want           string
	}{
		{"label range", images, &IDX{Name: "lab", Dims: []int{3}, Data: []byte{0, 3, 1}}, "lab: byte 9: label 1: label 3 out of range [0, 3)"},
		{"count mismatch", images, &IDX{Name: "lab", Dims: []int{2}, Data: []byte{0, 1}}, "lab: byte 4: dims: dimension mismatch: 2 labels for the 3 images of img"},
		{"labels 2-d", images, &IDX{Name: "lab", Dims: []int{3, 1}, Data: []byte{0, 1, 2}}, "lab: byte 3: dims: labels array has dimensions [3 1]"},
		{"images 1-d", &IDX{Name: "img", Dims: []int{3}, Data: []byte{0, 1, 2}}, labels, "img: byte 3: dims: images array has dimensions [3]"},
		{"no images", &IDX{Name: "img", Dims: []int{0, 2, 2}}, &IDX{Name: "lab", Dims: []int{0}}, "img: byte 4: dims: no images"},
		{"empty images", &IDX{Name: "img", Dims: []int{3, 0, 2}}, labels, "img: byte 4: dims: images of dimensions [3 0 2] are empty"},
	}
	for _, tc := range bad {
		_, err := IDXDataset(tc.images, tc.labels, "toy", []string{"a", "b", "c"})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func FuzzReadIDX(f *testing.F) {
	good := idxBytes([]int{2, 3, 4}, seq(24))
	f.Add(good)
	f.Add(gzipBytes(f, good))
	f.Add(idxBytes([]int{5}, []byte{0, 1, 2, 3, 9}))
	f.Add(idxBytes([]int{1, 1, 1, 1}, []byte{7}))
	f.Add(good[:30])
	f.Add(append(bytes.Clone(good), 0))
	f.Add([]byte{0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Add(idxBytes([]int{1 << 20, 1 << 10}, nil))
	f.Add(gzipBytes(f, good)[:25])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		x, err := ReadIDX(bytes.NewReader(in), "fuzz")
		if err != nil {
			requireParseError(t, err, "fuzz: ")
			return
		}
		size := 1
		for _, d := range x.Dims {
			if d < 0 {
				t.Fatalf("negative dimension in %v", x.Dims)
			}
			size *= d
		}
		if len(x.Dims) == 0 || size != len(x.Data) {
			t.Fatalf("dims %v but %d elements", x.Dims, len(x.Data))
		}
		// A raw input must be reproduced exactly by WriteIDX.
		if len(in) < 2 || in[0] != 0x1f || in[1] != 0x8b {
			var w bytes.Buffer
			if err := WriteIDX(&w, x); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(w.Bytes(), in) {
				t.Fatalf("WriteIDX(ReadIDX(in)) != in")
			}
		}
		// Building a dataset from it either works consistently or fails cleanly.
		if len(x.Dims) >= 2 {
			labels := &IDX{Name: "l", Dims: []int{x.Dims[0]}, Data: make([]byte, x.Dims[0])}
			if d, err := IDXDataset(x, labels, "fuzz", nil); err == nil {
				if err := d.Validate(); err != nil {
					t.Fatalf("IDXDataset gave an invalid dataset: %v", err)
				}
			}
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
