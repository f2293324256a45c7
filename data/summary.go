package data

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Summary is what "trustml data info" reports about one data set (one split).
type Summary struct {
	Name     string         `json:"name"`
	Split    string         `json:"split,omitempty"`
	Source   string         `json:"source"`
	Samples  int            `json:"samples"`
	Shape    []int          `json:"shape"`
	Task     string         `json:"task"` // classification, regression or unlabeled
	Min      float32        `json:"min"`
	Max      float32        `json:"max"`
	Classes  []ClassCount   `json:"classes,omitempty"`
	Target   *TargetSummary `json:"target,omitempty"`
	Features []string       `json:"features,omitempty"`
}

// ClassCount is the number of samples of one class.
type ClassCount struct {
	Label int    `json:"label"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// TargetSummary is the range and mean of a regression target.
type TargetSummary struct {
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Summarize describes d; split names the split it is ("" for none).
func Summarize(d *Dataset, split string) Summary {
	s := Summary{
		Name:     d.Name,
		Split:    split,
		Source:   d.Source,
		Samples:  d.Len(),
		Shape:    d.Shape,
		Features: d.Features,
	}
	s.Min, s.Max, _ = d.ValueRange()
	switch {
	case d.Y != nil:
		s.Task = "classification"
		for c, n := range d.ClassCounts() {
			s.Classes = append(s.Classes, ClassCount{Label: c, Name: d.Classes[c], Count: n})
		}
	case len(d.Target) > 0:
		s.Task = "regression"
		t := &TargetSummary{Min: d.Target[0], Max: d.Target[0]}
		for _, v := range d.Target {
			t.Min, t.Max = min(t.Min, v), max(t.Max, v)
			t.Mean += v
		}
		t.Mean /= float64(len(d.Target))
		s.Target = t
	default:
		s.Task = "unlabeled"
	}
	return s
}

// Describe opens the data set called name (a built-in name or a file, as
// [Open] takes it; dir as for [Open]) and summarizes it: both splits of a
// built-in set that has a train/test split, otherwise the one set. With
// regression a file's label column is read as a regression target. Files
// are validated on the way.
func Describe(name, dir string, regression bool) ([]Summary, error) {
	return DescribeWith(name, dir, FileOptions{Regression: regression})
}

// DescribeWith is [Describe] with options for files (see [OpenWith]).
func DescribeWith(name, dir string, opt FileOptions) ([]Summary, error) {
	splits := []Split{Train}
	if i := slices.IndexFunc(Names(), func(in Info) bool { return in.Name == name }); i >= 0 && Names()[i].Splits {
		splits = append(splits, Test)
	}
	var out []Summary
	for _, sp := range splits {
		d, err := OpenWith(name, sp, dir, opt)
		if err != nil {
			return nil, err
		}
		if err := d.Validate(); err != nil {
			return nil, err
		}
		label := ""
		if len(splits) > 1 {
			label = sp.String()
		}
		out = append(out, Summarize(d, label))
	}
	return out, nil
}

// CheckFits reports whether d can be fed to a classifier that takes inputs
// of inputShape and predicts numClasses classes: the shapes agree, d has
// class labels, and no more classes than the classifier.
func (d *Dataset) CheckFits(inputShape []int, numClasses int) error {
	if !slices.Equal(inputShape, d.Shape) {
		return fmt.Errorf("data set %s has samples of shape %v, the model expects %v", d.Name, d.Shape, inputShape)
	}
	if d.Y == nil {
		return fmt.Errorf("data set %s has no class labels", d.Name)
	}
	if len(d.Classes) > numClasses {
		return fmt.Errorf("data set %s has %d classes, the model %d", d.Name, len(d.Classes), numClasses)
	}
	return nil
}

// WriteText prints the summary for a terminal: source, size, shape, task,
// value range, target range or features, and a table of class counts.
func (s Summary) WriteText(w io.Writer) error {
	title := s.Name
	if s.Split != "" {
		title += " (" + s.Split + ")"
	}
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	task := s.Task
	if s.Classes != nil {
		task += fmt.Sprintf(", %d classes", len(s.Classes))
	}
	fmt.Fprintf(tw, "  source\t%s\n", s.Source)
	fmt.Fprintf(tw, "  samples\t%d\n", s.Samples)
	fmt.Fprintf(tw, "  shape\t%v\n", s.Shape)
	fmt.Fprintf(tw, "  task\t%s\n", task)
	fmt.Fprintf(tw, "  values\t[%s, %s]\n", formatFloat32(s.Min), formatFloat32(s.Max))
	if s.Target != nil {
		fmt.Fprintf(tw, "  target\t[%s, %s], mean %.4g\n",
			strconv.FormatFloat(s.Target.Min, 'g', 6, 64), strconv.FormatFloat(s.Target.Max, 'g', 6, 64), s.Target.Mean)
	}
	if len(s.Features) > 0 {
		f := s.Features
		more := ""
		if len(f) > 8 {
			f, more = f[:8], fmt.Sprintf(", ... (%d in all)", len(s.Features))
		}
		fmt.Fprintf(tw, "  features\t%s%s\n", strings.Join(f, ", "), more)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Classes) > 0 {
		fmt.Fprintln(tw, "  LABEL\tCLASS\tCOUNT\tSHARE")
		for _, c := range s.Classes {
			fmt.Fprintf(tw, "  %d\t%s\t%d\t%.1f%%\n", c.Label, c.Name, c.Count, 100*float64(c.Count)/float64(max(s.Samples, 1)))
		}
	}
	return tw.Flush()
}

func formatFloat32(v float32) string { return strconv.FormatFloat(float64(v), 'g', 6, 32) }
