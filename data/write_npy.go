package data

import (
	"archive/zip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
)

// WriteNPY writes values as a NumPy .npy file (version 1.0, C order) of
// little-endian float32 with the given shape, whose product must be
// len(values).
func WriteNPY(w io.Writer, shape []int, values []float32) error {
	n := 1
	for _, s := range shape {
		if s < 0 {
			return fmt.Errorf("data: WriteNPY: negative dimension in shape %v", shape)
		}
		n *= s
	}
	if n != len(values) {
		return fmt.Errorf("data: WriteNPY: shape %s holds %d values, have %d", pyShape(shape), n, len(values))
	}
	if err := writeNPYHeader(w, "<f4", shape); err != nil {
		return err
	}
	buf := make([]byte, 4*min(len(values), 1<<14))
	for len(values) > 0 {
		k := min(len(values), len(buf)/4)
		for i, v := range values[:k] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if _, err := w.Write(buf[:4*k]); err != nil {
			return err
		}
		values = values[k:]
	}
	return nil
}

// writeNPYInts writes labels as an .npy file of little-endian int64, shape
// (len(labels),).
func writeNPYInts(w io.Writer, labels []int) error {
	if err := writeNPYHeader(w, "<i8", []int{len(labels)}); err != nil {
		return err
	}
	buf := make([]byte, 8*len(labels))
	for i, v := range labels {
		binary.LittleEndian.PutUint64(buf[8*i:], uint64(int64(v)))
	}
	_, err := w.Write(buf)
	return err
}

// writeNPYHeader writes the magic string, version 1.0 and the header dict,
// padded with spaces so that the data start at a multiple of 64 bytes.
func writeNPYHeader(w io.Writer, descr string, shape []int) error {
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = fmt.Sprint(s)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, sh)
	if pad := 64 - (len(npyMagic)+4+len(h)+1)%64; pad != 64 {
		h += strings.Repeat(" ", pad)
	}
	h += "\n"
	if len(h) > math.MaxUint16 {
		return fmt.Errorf("data: WriteNPY: header of %d bytes is too long for .npy version 1.0", len(h))
	}
	head := append([]byte(npyMagic+"\x01\x00"), byte(len(h)), byte(len(h)>>8))
	if _, err := w.Write(head); err != nil {
		return err
	}
	_, err := io.WriteString(w, h)
	return err
}

// WriteNPZ writes the samples of d, and its class labels when it has them,
// as an uncompressed .npz archive (what np.savez writes) that [OpenFile]
// reads back to the same values: array "x" of float32 with shape
// (N, Shape...) and array "y" of int64 labels of shape (N,). A regression
// set is refused (its targets are float64, which this writer does not
// keep), and so is a set whose X does not hold Len()·SampleSize() values.
// Class names are not stored: the reader names classes "0", "1", ....
func WriteNPZ(w io.Writer, d *Dataset) error {
	switch {
	case d.IsRegression():
		return fmt.Errorf("data: WriteNPZ %s: regression targets are not supported", d.Name)
	case d.SampleSize() == 0 || len(d.X)%d.SampleSize() != 0:
		return fmt.Errorf("data: WriteNPZ %s: %d values do not make samples of shape %v", d.Name, len(d.X), d.Shape)
	case d.Y != nil && len(d.Y) != d.Len():
		return fmt.Errorf("data: WriteNPZ %s: %d labels for %d samples", d.Name, len(d.Y), d.Len())
	}
	z := zip.NewWriter(w)
	f, err := z.CreateHeader(&zip.FileHeader{Name: "x.npy", Method: zip.Store})
	if err != nil {
		return err
	}
	if err := WriteNPY(f, append([]int{d.Len()}, d.Shape...), d.X); err != nil {
		return err
	}
	if d.Y != nil {
		f, err := z.CreateHeader(&zip.FileHeader{Name: "y.npy", Method: zip.Store})
		if err != nil {
			return err
		}
		if err := writeNPYInts(f, d.Y); err != nil {
			return err
		}
	}
	return z.Close()
}
