package data

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestWriteNPZRoundTrip writes image and feature sets and reads them back
// with OpenFile: same shape, values (bit for bit) and labels.
func TestWriteNPZRoundTrip(t *testing.T) {
	fm, err := EmbeddedFashion(Test)
	if err != nil {
		t.Fatal(err)
	}
	fm = fm.Head(7)
	fm.X[3] = 0.123456789 // not a k/255 value: float32 kept exactly
	rgb := &Dataset{Name: "rgb", Shape: []int{3, 2, 5}, X: make([]float32, 4*30), Y: []int{0, 2, 1, 2}, Classes: []string{"a", "b", "c"}}
	for i := range rgb.X {
		rgb.X[i] = float32(math.Sin(float64(i)))
	}
	tab := &Dataset{Name: "tab", Shape: []int{3}, X: []float32{1, -2, 3, 4e-9, 5, 6}}
	for _, d := range []*Dataset{fm, rgb, tab} {
		path := filepath.Join(t.TempDir(), d.Name+".npz")
		var buf bytes.Buffer
		if err := WriteNPZ(&buf, d); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		back, err := OpenFile(path, FileOptions{})
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		if !slices.Equal(back.Shape, d.Shape) || !slices.Equal(back.X, d.X) || !slices.Equal(back.Y, d.Y) {
			t.Errorf("%s: read back shape %v labels %v, wrote %v %v", d.Name, back.Shape, back.Y, d.Shape, d.Y)
		}
	}
}

func TestWriteNPZErrors(t *testing.T) {
	for _, tc := range []struct {
		d    *Dataset
		want string
	}{
		{&Dataset{Name: "r", Shape: []int{1}, X: []float32{1}, Target: []float64{2}}, "regression"},
		{&Dataset{Name: "s", Shape: []int{2}, X: []float32{1, 2, 3}}, "do not make samples"},
		{&Dataset{Name: "y", Shape: []int{1}, X: []float32{1, 2}, Y: []int{0}}, "1 labels for 2 samples"},
	} {
		if err := WriteNPZ(&bytes.Buffer{}, tc.d); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.d.Name, err, tc.want)
		}
	}
	if err := WriteNPY(&bytes.Buffer{}, []int{2, 2}, []float32{1}); err == nil {
		t.Error("WriteNPY with a wrong shape accepted")
	}
}

// FuzzWriteNPY writes arbitrary float32 values and reads them back with
// ReadNPY: same shape and bits.
func FuzzWriteNPY(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 1, 2, 3, 4}, 2)
	f.Add([]byte{}, 1)
	f.Fuzz(func(t *testing.T, b []byte, rows int) {
		n := len(b) / 4
		if rows <= 0 || rows > 64 || n%rows != 0 {
			return
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
		}
		var buf bytes.Buffer
		if err := WriteNPY(&buf, []int{rows, n / rows}, v); err != nil {
			t.Fatal(err)
		}
		a, err := ReadNPY(&buf, "fuzz.npy")
		if err != nil {
			t.Fatal(err)
		}
		got := a.Float32()
		if !slices.Equal(a.Shape, []int{rows, n / rows}) || len(got) != n {
			t.Fatalf("shape %v", a.Shape)
		}
		for i := range v {
			if math.Float32bits(got[i]) != math.Float32bits(v[i]) {
				t.Fatalf("value %d: %x, wrote %x", i, math.Float32bits(got[i]), math.Float32bits(v[i]))
			}
		}
	})
}
