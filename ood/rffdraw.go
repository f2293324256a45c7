package ood

import (
	"archive/zip"
	"fmt"
	"io"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/kernel/features"
)

// LoadRFFDraw reads a random-feature draw for the "cos-rff" KPCA detector
// ([KPCA.Draw]) from an .npz file with the members "w" (frequencies, M×D)
// and "u" (phases, M), as the official CoRP code draws them
// (w = √(2γ)·N(0, 1) of shape (M, D), u = 2π·U[0, 1) of shape (M,)): the map
// is Φ(ẑ) = √(2/M)·cos(wẑ + u). [SaveRFFDraw] writes one. Errors name the
// file and the shapes.
func LoadRFFDraw(path string) (*features.Fourier, error) {
	m, err := data.ReadNPZ(path)
	if err != nil {
		return nil, fmt.Errorf("ood: random-feature draw: %w", err)
	}
	w, u := m["w"], m["u"]
	if w == nil || u == nil {
		return nil, fmt.Errorf("ood: random-feature draw %s: want members w (M×D frequencies) and u (M phases), has %v", path, sortedStrings(keysOfArrays(m)))
	}
	if len(w.Shape) != 2 || w.Shape[0] < 1 || w.Shape[1] < 1 || len(u.Shape) != 1 || u.Shape[0] != w.Shape[0] {
		return nil, fmt.Errorf("ood: random-feature draw %s: w has shape %v and u %v, want (M, D) and (M,)", path, w.Shape, u.Shape)
	}
	if w.Len() > maxRFFValues {
		return nil, fmt.Errorf("ood: random-feature draw %s: %d frequencies, at most %d", path, w.Len(), maxRFFValues)
	}
	phases := u.Float64()
	for i, v := range phases {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("ood: random-feature draw %s: phase %d is %v", path, i, v)
		}
	}
	f, err := features.NewFourier(mat.NewDense(w.Shape[0], w.Shape[1], w.Float64()), phases, features.Phase)
	if err != nil {
		return nil, fmt.Errorf("ood: random-feature draw %s: %w", path, err)
	}
	return f, nil
}

func keysOfArrays(m map[string]*data.Array) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// SaveRFFDraw writes the frequencies and phases of a phase-form random
// Fourier map (such as [KPCA.RFF] of a fitted detector) to path as an .npz
// file [LoadRFFDraw] reads, float64, atomically.
func SaveRFFDraw(path string, f *features.Fourier) error {
	if f == nil || f.Form() != features.Phase {
		return fmt.Errorf("ood: save random-feature draw: want a phase-form map")
	}
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		z := zip.NewWriter(w)
		W := f.Frequencies()
		r, c := W.Dims()
		if err := writeNPY64Member(z, "w", []int{r, c}, W.RawMatrix().Data); err != nil {
			return err
		}
		if err := writeNPY64Member(z, "u", []int{r}, f.Phases()); err != nil {
			return err
		}
		return z.Close()
	})
	if err != nil {
		return fmt.Errorf("ood: save random-feature draw: %w", err)
	}
	return nil
}

// writeNPY64Member writes name.npy of float64 values into z.
func writeNPY64Member(z *zip.Writer, name string, shape []int, v []float64) error {
	w, err := z.Create(name + ".npy")
	if err != nil {
		return err
	}
	if err := writeNPYHeader(w, "<f8", shape); err != nil {
		return err
	}
	b := make([]byte, 8*len(v))
	for i, x := range v {
		putF64(b[8*i:], x)
	}
	_, err = w.Write(b)
	return err
}
