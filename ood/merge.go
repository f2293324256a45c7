package ood

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/trustml/trustml/shard"
)

// ShardKind marks a [ShardReport] (its "kind" field in JSON).
const ShardKind = "trustml ood eval shard"

// MaxShards is the largest shard count a [ShardReport] may give.
const MaxShards = 1 << 16

// maxShardReport bounds the size of a shard report read by
// [DecodeShardReport].
const maxShardReport = 1 << 30

// ShardReport is the output of a sharded [Run] (the --json output of
// "trustml ood eval --shard i/N"): the per-sample scores of the shard's
// samples, for [Merge].
type ShardReport struct {
	Kind      string    `json:"kind"`
	Model     string    `json:"model"`
	NTrain    int       `json:"n_train"`
	NTest     int       `json:"n_test"`
	NOoD      int       `json:"n_ood"`
	Seed      uint64    `json:"seed"`
	Settings  string    `json:"settings"`
	Detectors []string  `json:"detectors"`
	Sets      []SetInfo `json:"ood_sets"`
	// Shard of Shards is the part of the samples scored: index mod Shards
	// = Shard.
	Shard  int `json:"shard"`
	Shards int `json:"shards"`
	// IDIndex are the indices of the shard's ID test samples, OoDIndex[j]
	// those of OoD set j: Scores[d].ID[k] is the score of ID sample
	// IDIndex[k].
	IDIndex  []int    `json:"id_index"`
	OoDIndex [][]int  `json:"ood_index"`
	Scores   []Scores `json:"scores"`
	// Results are the metrics of this shard's samples alone.
	Results []Result  `json:"shard_results"`
	Near    *NearInfo `json:"near,omitempty"`
	// Source names the report in errors (its file); [Merge] says
	// "report k" without it.
	Source string `json:"-"`
}

// Spec is the report's shard.
func (r *ShardReport) Spec() shard.Spec { return shard.Spec{Index: r.Shard, Count: r.Shards} }

// DecodeShardReport reads one JSON shard report and checks that it is one
// (its kind) and that its shard, sizes and per-sample lists are
// consistent, so that [Merge] can index them safely.
func DecodeShardReport(r io.Reader) (*ShardReport, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxShardReport+1))
	if err != nil {
		return nil, fmt.Errorf("ood: read shard report: %w", err)
	}
	if len(b) > maxShardReport {
		return nil, fmt.Errorf("ood: shard report larger than %d bytes", maxShardReport)
	}
	var rep ShardReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("ood: not a trustml ood eval --shard report: %w", err)
	}
	if rep.Kind != ShardKind {
		return nil, fmt.Errorf("ood: kind %q, want %q (the --json output of ood eval --shard)", rep.Kind, ShardKind)
	}
	if err := rep.check(); err != nil {
		return nil, err
	}
	return &rep, nil
}

// ReadShardReportFile reads a shard report with [DecodeShardReport]; its
// Source and errors name the file.
func ReadShardReportFile(path string) (*ShardReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ood: %w", err)
	}
	defer f.Close()
	rep, err := DecodeShardReport(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rep.Source = path
	return rep, nil
}

// check verifies the report on its own: a valid shard, and per-sample
// indices and scores that are exactly those of its shard.
func (r *ShardReport) check() error {
	if r.Shards < 1 || r.Shards > MaxShards || r.Shard < 0 || r.Shard >= r.Shards {
		return fmt.Errorf("ood: shard %d/%d: want i/N with 0 ≤ i < N ≤ %d", r.Shard, r.Shards, MaxShards)
	}
	if r.NTest < 0 || r.NOoD < 0 || r.NTrain < 0 {
		return fmt.Errorf("ood: shard report sizes n_train %d, n_test %d, n_ood %d: want ≥ 0", r.NTrain, r.NTest, r.NOoD)
	}
	sp := r.Spec()
	if err := checkShardIndex(r.IDIndex, r.NTest, sp); err != nil {
		return fmt.Errorf("ood: ID index: %w", err)
	}
	ns := len(r.Sets)
	if len(r.OoDIndex) != ns {
		return fmt.Errorf("ood: %d OoD index lists for %d OoD sets", len(r.OoDIndex), ns)
	}
	for j, idx := range r.OoDIndex {
		if err := checkShardIndex(idx, r.NOoD, sp); err != nil {
			return fmt.Errorf("ood: %s index: %w", r.Sets[j].Name, err)
		}
	}
	if len(r.Scores) != len(r.Detectors) {
		return fmt.Errorf("ood: %d score lists for %d detectors", len(r.Scores), len(r.Detectors))
	}
	for d, sc := range r.Scores {
		if sc.Detector != r.Detectors[d] {
			return fmt.Errorf("ood: scores %d are of %q, want %q", d, sc.Detector, r.Detectors[d])
		}
		if len(sc.ID) != len(r.IDIndex) || len(sc.OoD) != ns {
			return fmt.Errorf("ood: %s has %d ID scores for %d indices and %d OoD score lists for %d sets", sc.Detector, len(sc.ID), len(r.IDIndex), len(sc.OoD), ns)
		}
		for j, idx := range r.OoDIndex {
			if len(sc.OoD[j]) != len(idx) {
				return fmt.Errorf("ood: %s has %d scores on %s for %d indices", sc.Detector, len(sc.OoD[j]), r.Sets[j].Name, len(idx))
			}
		}
	}
	return nil
}

// checkShardIndex checks that idx is exactly sp.Indices(n), without
// allocating it.
func checkShardIndex(idx []int, n int, sp shard.Spec) error {
	want := 0
	if n > sp.Index {
		want = (n-sp.Index-1)/sp.Count + 1
	}
	if len(idx) != want {
		return fmt.Errorf("%d indices, shard %s of %d samples has %d", len(idx), sp, n, want)
	}
	for k, i := range idx {
		if i != sp.Index+k*sp.Count {
			return fmt.Errorf("index %d at position %d is not that of shard %s of %d samples", i, k, sp, n)
		}
	}
	return nil
}

// Merge joins the shard reports of one sharded [Run] into the report an
// unsharded run gives: it checks that they come from the same model,
// detectors, OoD sets and settings and that no shard is given twice
// ([shard.CheckCover]), puts every sample's scores back at its index and
// computes the metrics. Missing shards are allowed: their samples are left
// out and listed in the report's Missing.
func Merge(reports ...*ShardReport) (*Report, error) {
	if len(reports) == 0 {
		return nil, fmt.Errorf("ood: merge: no shard reports")
	}
	name := func(k int) string {
		if reports[k].Source != "" {
			return reports[k].Source
		}
		return fmt.Sprintf("report %d", k+1)
	}
	for k, r := range reports {
		if r == nil {
			return nil, fmt.Errorf("ood: merge: report %d is nil", k+1)
		}
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("%s: %w", name(k), err)
		}
	}
	first := reports[0]
	specs := make([]shard.Spec, len(reports))
	for k, r := range reports {
		specs[k] = r.Spec()
		switch {
		case r.Kind != first.Kind || r.Model != first.Model || r.NTrain != first.NTrain || r.NTest != first.NTest || r.NOoD != first.NOoD || r.Seed != first.Seed || r.Settings != first.Settings:
			return nil, fmt.Errorf("ood: merge: %s: kind/model/n-train/n-test/n-ood/seed/settings differ from %s", name(k), name(0))
		case !slices.Equal(r.Detectors, first.Detectors):
			return nil, fmt.Errorf("ood: merge: %s: detectors %v differ from %v of %s", name(k), r.Detectors, first.Detectors, name(0))
		case !slices.Equal(r.Sets, first.Sets):
			return nil, fmt.Errorf("ood: merge: %s: OoD sets differ from those of %s", name(k), name(0))
		case r.Shards != first.Shards:
			return nil, fmt.Errorf("ood: merge: %s: shard %s does not fit the %d shards of %s", name(k), r.Spec(), first.Shards, name(0))
		}
	}
	var missing []shard.Spec
	if err := shard.CheckCover(specs); err != nil {
		missing = missingShards(specs)
		if len(missing) == 0 || shard.CheckCover(append(slices.Clip(specs), missing...)) != nil {
			names := make([]string, len(reports))
			for k := range reports {
				names[k] = name(k)
			}
			return nil, fmt.Errorf("ood: merge %s: %w", strings.Join(names, ", "), err)
		}
	}
	// Scores of sample i of shard s sit at position i/N of its lists, so
	// placing each shard's lists at stride N restores the sample order.
	nd, ns := len(first.Detectors), len(first.Sets)
	byShard := make(map[int]*ShardReport, len(reports))
	for _, r := range reports {
		byShard[r.Shard] = r
	}
	scores := make([]Scores, nd)
	gather := func(n int, list func(r *ShardReport) []float64) []float64 {
		size := 0
		for _, r := range byShard {
			size += len(list(r))
		}
		out := make([]float64, 0, size)
		for i := range n {
			if r, ok := byShard[i%first.Shards]; ok {
				out = append(out, list(r)[i/first.Shards])
			}
		}
		return out
	}
	nTest, nOoD := 0, 0
	for d := range scores {
		scores[d] = Scores{Detector: first.Detectors[d], OoD: make([][]float64, ns)}
		scores[d].ID = gather(first.NTest, func(r *ShardReport) []float64 { return r.Scores[d].ID })
		nTest = len(scores[d].ID)
		for j := range ns {
			scores[d].OoD[j] = gather(first.NOoD, func(r *ShardReport) []float64 { return r.Scores[d].OoD[j] })
			nOoD = len(scores[d].OoD[j])
		}
	}
	names := make([]string, ns)
	for j, s := range first.Sets {
		names[j] = s.Name
	}
	res, err := ResultsFromScores(scores, names)
	if err != nil {
		return nil, fmt.Errorf("ood: merge: %w", err)
	}
	return &Report{Model: first.Model, NTrain: first.NTrain, NTest: nTest, NOoD: nOoD, Sets: first.Sets, Results: res, Near: first.Near, Missing: missing}, nil
}

// missingShards returns the shards of specs[0]'s count that no spec names.
func missingShards(specs []shard.Spec) []shard.Spec {
	n := specs[0].Count
	if n < 1 || n > MaxShards {
		return nil
	}
	seen := make([]bool, n)
	for _, s := range specs {
		if s.Count == n && s.Index >= 0 && s.Index < n {
			seen[s.Index] = true
		}
	}
	var out []shard.Spec
	for i, ok := range seen {
		if !ok {
			out = append(out, shard.Spec{Index: i, Count: n})
		}
	}
	return out
}

// MergeFiles reads the shard reports in paths ([ReadShardReportFile]) and
// merges them ([Merge]); errors name the files.
func MergeFiles(paths ...string) (*Report, error) {
	reps := make([]*ShardReport, len(paths))
	for k, p := range paths {
		r, err := ReadShardReportFile(p)
		if err != nil {
			return nil, err
		}
		reps[k] = r
	}
	return Merge(reps...)
}
