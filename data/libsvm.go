package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// DefaultMaxDim is the largest feature dimension [ReadLIBSVM] infers from the
// indices when [LIBSVMOptions] sets neither Dim nor MaxDim.
const DefaultMaxDim = 1 << 20

// maxDenseValues bounds N×D of a dataset read from a sparse file (8 GiB of
// float32).
const maxDenseValues = 1 << 31

// LIBSVMOptions configures [ReadLIBSVM]. The zero value reads classification
// data with 1-based indices and infers the dimension.
type LIBSVMOptions struct {
	// Dim fixes the number of features; an index beyond it is an error. 0
	// infers it as the largest index present.
	Dim int
	// MaxDim bounds the inferred dimension when Dim is 0, to catch a stray
	// huge index before it allocates gigabytes; 0 means [DefaultMaxDim].
	MaxDim int
	// ZeroBased reads 0-based feature indices instead of LIBSVM's 1-based ones.
	ZeroBased bool
	// Regression reads the labels as float64 targets.
	Regression bool
}

// ReadLIBSVM reads a dataset in the sparse LIBSVM/SVMlight text format, one
// sample per line:
//
//	<label> [qid:<n>] <index>:<value> <index>:<value> ... [# comment]
//
// with indices 1-based (unless ZeroBased) and strictly increasing; absent
// features are 0. A "qid:" token (SVMlight ranking) is accepted and ignored;
// empty and comment-only lines are skipped. Labels are mapped to classes
// 0..K-1 with Classes the original label strings sorted numerically (so -1
// and +1 become classes 0 and 1, named "-1" and "+1"), or read as targets
// with Regression. The samples have shape [D].
//
// Bad input (a token that is not index:value, an index out of order, out of
// range or not an integer, a value that is not a finite number) is a
// [*ParseError] naming the file, line and token.
func ReadLIBSVM(r io.Reader, name string, opt LIBSVMOptions) (*Dataset, error) {
	if opt.Dim < 0 || opt.MaxDim < 0 {
		return nil, fileError(name, "negative Dim %d or MaxDim %d", opt.Dim, opt.MaxDim)
	}
	maxDim := opt.Dim
	if maxDim == 0 {
		maxDim = opt.MaxDim
		if maxDim == 0 {
			maxDim = DefaultMaxDim
		}
	}
	base := 1
	if opt.ZeroBased {
		base = 0
	}
	type entry struct {
		row, col int
		v        float32
	}
	var (
		entries []entry
		labels  = newLabelMap()
		target  []float64
		rows    int
		dim     int // 1 + largest 0-based index seen
	)
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		text, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, lineError(name, line, "", "%w", err)
		}
		if text == "" && err != nil {
			break
		}
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		toks := strings.Fields(text)
		if len(toks) > 0 {
			lab := toks[0]
			if strings.Contains(lab, ":") {
				return nil, lineError(name, line, "label", "line starts with %q, not a label: want \"<label> <index>:<value> ...\"", lab)
			}
			if opt.Regression {
				t, perr := strconv.ParseFloat(lab, 64)
				if perr != nil {
					return nil, lineError(name, line, "label", "target %q is not a number", lab)
				}
				if math.IsNaN(t) || math.IsInf(t, 0) {
					return nil, lineError(name, line, "label", "non-finite target %q", lab)
				}
				target = append(target, t)
			} else {
				labels.add(lab)
			}
			prev := -1
			for k, tok := range toks[1:] {
				field := fmt.Sprintf("token %d (%q)", k+2, tok)
				is, vs, ok := strings.Cut(tok, ":")
				if !ok || strings.Contains(vs, ":") {
					return nil, lineError(name, line, field, "want <index>:<value>")
				}
				if is == "qid" {
					if k != 0 {
						return nil, lineError(name, line, field, "qid must directly follow the label")
					}
					if _, err := strconv.ParseInt(vs, 10, 64); err != nil {
						return nil, lineError(name, line, field, "query id %q is not an integer", vs)
					}
					continue
				}
				idx, ierr := strconv.Atoi(is)
				if ierr != nil {
					if errors.Is(ierr, strconv.ErrRange) {
						return nil, lineError(name, line, field, "index %s out of range", is)
					}
					return nil, lineError(name, line, field, "index %q is not an integer", is)
				}
				col := idx - base
				if col < 0 {
					return nil, lineError(name, line, field, "index %d below %d (indices are %d-based)", idx, base, base)
				}
				if col <= prev {
					return nil, lineError(name, line, field, "index %d not greater than the previous index %d: indices must be strictly increasing", idx, prev+base)
				}
				if col >= maxDim {
					if opt.Dim > 0 {
						return nil, lineError(name, line, field, "index %d beyond the dimension %d", idx, opt.Dim)
					}
					return nil, lineError(name, line, field, "index %d beyond the largest allowed dimension %d (set LIBSVMOptions.Dim or MaxDim)", idx, maxDim)
				}
				prev = col
				v, verr := parseValue(vs)
				if verr != nil {
					return nil, lineError(name, line, field, "%v", verr)
				}
				dim = max(dim, col+1)
				if v != 0 {
					entries = append(entries, entry{rows, col, v})
				}
			}
			rows++
		}
		if err != nil {
			break
		}
	}
	if rows == 0 {
		return nil, fileError(name, "no samples")
	}
	if opt.Dim > 0 {
		dim = opt.Dim
	}
	if dim == 0 {
		return nil, fileError(name, "no features: every sample is empty (set LIBSVMOptions.Dim)")
	}
	if int64(rows)*int64(dim) > maxDenseValues {
		return nil, fileError(name, "%d samples × %d features is too large for a dense dataset", rows, dim)
	}
	d := &Dataset{Name: name, Source: name, Shape: []int{dim}, X: make([]float32, rows*dim)}
	for _, e := range entries {
		d.X[e.row*dim+e.col] = e.v
	}
	if opt.Regression {
		d.Target = target
	} else {
		d.Y, d.Classes = labels.finish()
	}
	return d, nil
}

// WriteLIBSVM writes d in the LIBSVM format with 1-based indices, omitting
// zero features; [ReadLIBSVM] with Dim set to d's dimension reads it back to
// the same dataset. Class labels are written as their class names, which must
// be single tokens without ':' or '#'.
func WriteLIBSVM(w io.Writer, d *Dataset) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if d.Y == nil && d.Target == nil {
		return fmt.Errorf("data: WriteLIBSVM %s: the LIBSVM format needs labels or targets", d.Name)
	}
	for _, c := range d.Classes {
		if c == "" || strings.ContainsAny(c, ":# \t\r\n\v\f") {
			return fmt.Errorf("data: WriteLIBSVM %s: class name %q is not a LIBSVM label", d.Name, c)
		}
	}
	bw := bufio.NewWriter(w)
	var buf []byte
	for i := range d.Len() {
		buf = buf[:0]
		if d.Y != nil {
			buf = append(buf, d.Classes[d.Y[i]]...)
		} else {
			buf = strconv.AppendFloat(buf, d.Target[i], 'g', -1, 64)
		}
		for j, v := range d.Row(i) {
			if v == 0 {
				continue
			}
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, int64(j+1), 10)
			buf = append(buf, ':')
			buf = strconv.AppendFloat(buf, float64(v), 'g', -1, 32)
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// LoadLIBSVM reads the LIBSVM file at path (gzip-compressed or not); see
// [ReadLIBSVM].
func LoadLIBSVM(path string, opt LIBSVMOptions) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	r, _, err := maybeGunzip(f, path)
	if err != nil {
		return nil, err
	}
	return ReadLIBSVM(r, path, opt)
}
