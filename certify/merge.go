package certify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// maxReportBytes bounds the size of a report file [ReadReport] accepts.
const maxReportBytes = 1 << 30

// ReadReport decodes a report that "trustml certify --json" (or
// encoding/json of a [Report]) wrote, and checks that it is one shard's
// certification: settings in range, each σ with exactly the shard's images
// (Skip apart, Images in all), classes, radii and correctness consistent —
// in particular no radius for an abstained image. name names the source
// in errors.
func ReadReport(r io.Reader, name string) (*Report, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxReportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("certify: %s: %w", name, err)
	}
	if len(b) > maxReportBytes {
		return nil, fmt.Errorf("certify: %s: larger than %d bytes", name, maxReportBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var rep Report
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("certify: %s: not a certification report (trustml certify --json): %w", name, err)
	}
	if err := rep.check(); err != nil {
		return nil, fmt.Errorf("certify: %s: %w", name, err)
	}
	return &rep, nil
}

// check validates a decoded report.
func (r *Report) check() error {
	switch {
	case r.N < 1 || r.N0 < 1 || r.N0 > r.N:
		return fmt.Errorf("n0 = %d, n = %d: want 1 ≤ n0 ≤ n", r.N0, r.N)
	case !(r.Alpha > 0 && r.Alpha < 1):
		return fmt.Errorf("alpha %g outside (0, 1)", r.Alpha)
	case r.Skip < 1 || r.Images < 0 || r.Images > math.MaxInt32/r.Skip:
		return fmt.Errorf("skip %d, images %d: want skip ≥ 1 and images ≥ 0", r.Skip, r.Images)
	case len(r.Sigmas) == 0:
		return fmt.Errorf("no σ")
	}
	if err := r.Shard.Validate(); err != nil {
		return err
	}
	want := len(r.Shard.Indices(r.Images))
	for si, s := range r.Sigmas {
		if !(s.Sigma > 0) || math.IsInf(s.Sigma, 0) {
			return fmt.Errorf("σ #%d = %g, want σ > 0", si+1, s.Sigma)
		}
		if len(s.Radii) == 0 {
			return fmt.Errorf("σ = %g: no radii", s.Sigma)
		}
		for _, x := range s.Radii {
			if !(x >= 0) || math.IsInf(x, 0) {
				return fmt.Errorf("σ = %g: radius %g of the table, want ≥ 0", s.Sigma, x)
			}
		}
		if len(s.Samples) != want {
			return fmt.Errorf("σ = %g: %d images, shard %s of %d holds %d", s.Sigma, len(s.Samples), r.Shard, r.Images, want)
		}
		seen := make(map[int]bool, len(s.Samples))
		for _, smp := range s.Samples {
			p := smp.Index / r.Skip
			switch {
			case smp.Index < 0 || smp.Index%r.Skip != 0 || p >= r.Images || !r.Shard.Contains(p):
				return fmt.Errorf("σ = %g: image %d is not one of shard %s (every %d-th of %d images)", s.Sigma, smp.Index, r.Shard, r.Skip, r.Images)
			case seen[smp.Index]:
				return fmt.Errorf("σ = %g: image %d given twice", s.Sigma, smp.Index)
			case smp.Label < 0 || smp.Class < Abstain:
				return fmt.Errorf("σ = %g: image %d has label %d, class %d", s.Sigma, smp.Index, smp.Label, smp.Class)
			case smp.Class == Abstain && smp.Radius != 0:
				return fmt.Errorf("σ = %g: image %d abstained but has radius %g", s.Sigma, smp.Index, smp.Radius)
			case !(smp.Radius >= 0) || math.IsInf(smp.Radius, 0):
				return fmt.Errorf("σ = %g: image %d has radius %g, want ≥ 0", s.Sigma, smp.Index, smp.Radius)
			case smp.Correct != (smp.Class != Abstain && smp.Class == smp.Label):
				return fmt.Errorf("σ = %g: image %d: correct = %v but class %d, label %d", s.Sigma, smp.Index, smp.Correct, smp.Class, smp.Label)
			case smp.Predicted != nil && *smp.Predicted < Abstain:
				return fmt.Errorf("σ = %g: image %d: predicted class %d", s.Sigma, smp.Index, *smp.Predicted)
			}
			seen[smp.Index] = true
		}
	}
	return nil
}

// MergeFiles reads the --json reports of the shards of one certification
// ([ReadReport]) and merges them ([Merge]); errors name the file.
func MergeFiles(paths ...string) (*Report, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("certify: no report files to merge")
	}
	reps := make([]*Report, len(paths))
	for i, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("certify: %w", err)
		}
		reps[i], err = ReadReport(f, p)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	out, err := Merge(reps...)
	if err != nil {
		return nil, fmt.Errorf("%w (report k is the k-th file: %s)", err, strings.Join(paths, ", "))
	}
	return out, nil
}
