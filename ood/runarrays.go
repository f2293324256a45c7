package ood

import (
	"context"
	"fmt"
	"strings"

	"github.com/trustml/trustml/shard"
)

// ParseNamedArrays parses the OoD sets of a run on precomputed arrays:
// features and logits are lists of "NAME=FILE" (the --ood-features and
// --ood-logits flags; FILE as in [ArrayFiles]). It returns the set names in
// the order they first appear with each set's files. A name given twice in
// one list, an empty name or file is an error.
func ParseNamedArrays(features, logits []string) ([]string, []ArrayFiles, error) {
	var names []string
	var files []ArrayFiles
	for li, list := range [][]string{features, logits} {
		seen := map[string]bool{}
		for _, spec := range list {
			name, file, ok := strings.Cut(spec, "=")
			name, file = strings.TrimSpace(name), strings.TrimSpace(file)
			if !ok || name == "" || file == "" {
				return nil, nil, fmt.Errorf("ood: OoD set %q: want NAME=FILE", spec)
			}
			if seen[name] {
				return nil, nil, fmt.Errorf("ood: OoD set %s: two %s files", name, [2]string{"features", "logits"}[li])
			}
			seen[name] = true
			i := 0
			for i < len(names) && names[i] != name {
				i++
			}
			if i == len(names) {
				names, files = append(names, name), append(files, ArrayFiles{})
			}
			if li == 0 {
				files[i].Features = file
			} else {
				files[i].Logits = file
			}
		}
	}
	return names, files, nil
}

// runArrays is [Run] on precomputed arrays.
func runArrays(ctx context.Context, cfg RunConfig, dc Config) (*Report, error) {
	switch {
	case len(cfg.Models) > 0 || cfg.Near || cfg.Data != "" || cfg.ModelName != "" || cfg.FeaturesOutput != "":
		return nil, fmt.Errorf("ood: run: precomputed arrays replace the model and the data: give no model, data set or near-OoD run")
	case cfg.Shard != (shard.Spec{}):
		return nil, fmt.Errorf("ood: run: shards of precomputed arrays: split the files instead")
	case cfg.TrainArrays.IsZero() || cfg.TestArrays.IsZero():
		return nil, fmt.Errorf("ood: run: precomputed arrays need ID training and ID test arrays (and OoD sets)")
	case cfg.NTrain < 0 || cfg.NTest < 0 || cfg.NOoD < 0:
		return nil, fmt.Errorf("ood: run: n-train %d, n-test %d, n-ood %d: want ≥ 0", cfg.NTrain, cfg.NTest, cfg.NOoD)
	}
	setNames, setFiles, err := ParseNamedArrays(cfg.OoDFeatures, cfg.OoDLogits)
	if err != nil {
		return nil, err
	}
	if len(setNames) == 0 {
		return nil, fmt.Errorf("ood: run: no OoD set: give its arrays as NAME=FILE")
	}
	names := detectorNames(cfg.Detectors, arraysOnly)
	cs, err := newDetectors(names, dc, cfg.Params)
	if err != nil {
		return nil, err
	}
	dets := make([]Detector, len(names))
	for i, n := range names {
		if dets[i], err = New(n, cs[i]); err != nil {
			return nil, err
		}
	}
	all := strings.Join(names, ",")
	train, err := loadArraysFor(all, cfg.TrainArrays, nil, cfg.NTrain)
	if err != nil {
		return nil, err
	}
	test, err := loadArraysFor(all, cfg.TestArrays, train, cfg.NTest)
	if err != nil {
		return nil, err
	}
	rep := &Report{Model: "precomputed arrays (" + train.Name + ")", NTrain: train.N, NTest: test.N}
	oods := make([]*Inputs, len(setNames))
	for i, f := range setFiles {
		a, err := loadArraysFor(all, f, train, cfg.NOoD)
		if err != nil {
			return nil, fmt.Errorf("ood: OoD set %s: %w", setNames[i], err)
		}
		oods[i] = a.Inputs()
		rep.Sets = append(rep.Sets, SetInfo{Name: setNames[i], Why: fmt.Sprintf("%d samples from %s", a.N, a.Name)})
		if i == 0 || a.N == rep.NOoD {
			rep.NOoD = a.N
		} else {
			rep.NOoD = 0 // sizes differ: see Sets
		}
	}
	scores, err := benchmarkInputs(ctx, train.Model(), dets, train.Inputs(), test.Inputs(), oods, setNames)
	if err != nil {
		return nil, err
	}
	if rep.Results, err = ResultsFromScores(scores, setNames); err != nil {
		return nil, err
	}
	if cfg.OutDir != "" {
		if err := rep.WritePlots(cfg.OutDir); err != nil {
			return nil, err
		}
	}
	return rep, nil
}
