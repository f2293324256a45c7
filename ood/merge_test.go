package ood

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/trustml/trustml/shard"
)

// synthShards splits made-up scores of two detectors on nTest ID and nOoD
// OoD samples (one OoD set) into n shard reports, and returns them with the
// unsharded scores.
func synthShards(nTest, nOoD, n int) ([]*ShardReport, []Scores) {
	rng := rand.New(rand.NewPCG(1, 2))
	dets := []string{"energy", "knn"}
	sets := []SetInfo{{Name: "noise", Why: "made up"}}
	full := make([]Scores, len(dets))
	for d, name := range dets {
		full[d] = Scores{Detector: name, ID: make([]float64, nTest), OoD: [][]float64{make([]float64, nOoD)}}
		for i := range full[d].ID {
			full[d].ID[i] = rng.NormFloat64() + 1
		}
		for i := range full[d].OoD[0] {
			full[d].OoD[0][i] = rng.NormFloat64()
		}
	}
	var reps []*ShardReport
	for s := range n {
		sp := shard.Spec{Index: s, Count: n}
		r := &ShardReport{Kind: ShardKind, Model: "m", NTrain: 10, NTest: nTest, NOoD: nOoD, Settings: "x",
			Detectors: dets, Sets: sets, Shard: s, Shards: n, IDIndex: sp.Indices(nTest), OoDIndex: [][]int{sp.Indices(nOoD)}}
		for d := range dets {
			sc := Scores{Detector: dets[d], OoD: [][]float64{nil}}
			for _, i := range r.IDIndex {
				sc.ID = append(sc.ID, full[d].ID[i])
			}
			for _, i := range r.OoDIndex[0] {
				sc.OoD[0] = append(sc.OoD[0], full[d].OoD[0][i])
			}
			r.Scores = append(r.Scores, sc)
		}
		reps = append(reps, r)
	}
	return reps, full
}

func TestMergeEqualsUnsharded(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 40} {
		reps, full := synthShards(23, 17, n)
		want, err := ResultsFromScores(full, []string{"noise"})
		if err != nil {
			t.Fatal(err)
		}
		// Any order, and through JSON.
		var in []*ShardReport
		for k := len(reps) - 1; k >= 0; k-- {
			b, err := json.Marshal(reps[k])
			if err != nil {
				t.Fatal(err)
			}
			r, err := DecodeShardReport(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%d shards: decode shard %d: %v", n, k, err)
			}
			in = append(in, r)
		}
		got, err := Merge(in...)
		if err != nil {
			t.Fatalf("%d shards: %v", n, err)
		}
		if got.NTest != 23 || got.NOoD != 17 || len(got.Missing) != 0 || len(got.Results) != len(want) {
			t.Fatalf("%d shards: n %d/%d, missing %v, %d results", n, got.NTest, got.NOoD, got.Missing, len(got.Results))
		}
		for i := range want {
			if got.Results[i].Metrics != want[i].Metrics || got.Results[i].Detector != want[i].Detector {
				t.Errorf("%d shards, result %d: %+v, want %+v", n, i, got.Results[i], want[i])
			}
		}
	}
}

func TestMergeErrors(t *testing.T) {
	edit := func(f func(rs []*ShardReport) []*ShardReport) []*ShardReport {
		reps, _ := synthShards(11, 9, 3)
		return f(reps)
	}
	tests := []struct {
		name string
		reps []*ShardReport
		want string
	}{
		{"none", nil, "no shard reports"},
		{"nil", edit(func(r []*ShardReport) []*ShardReport { return append(r, nil) }), "nil"},
		{"twice", edit(func(r []*ShardReport) []*ShardReport { return append(r, r[1]) }), "given twice"},
		{"model", edit(func(r []*ShardReport) []*ShardReport { r[2].Model = "other"; return r }), "differ"},
		{"detectors", edit(func(r []*ShardReport) []*ShardReport {
			r[1].Detectors = []string{"energy", "msp"}
			r[1].Scores[1].Detector = "msp"
			return r
		}), "detectors"},
		{"sets", edit(func(r []*ShardReport) []*ShardReport { r[1].Sets = []SetInfo{{Name: "other"}}; return r }), "OoD sets"},
		{"count", edit(func(r []*ShardReport) []*ShardReport {
			four, _ := synthShards(11, 9, 4)
			return append(r, four[3])
		}), "does not fit the 3 shards"},
		{"index", edit(func(r []*ShardReport) []*ShardReport { r[0].IDIndex[1] = 4; return r }), "index 4"},
		{"scores", edit(func(r []*ShardReport) []*ShardReport { r[0].Scores[0].ID = r[0].Scores[0].ID[1:]; return r }), "ID scores"},
		{"shard", edit(func(r []*ShardReport) []*ShardReport { r[0].Shard = 3; return r }), "shard 3/3"},
	}
	for _, tc := range tests {
		_, err := Merge(tc.reps...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	// A missing shard is allowed and reported.
	reps, _ := synthShards(11, 9, 3)
	rep, err := Merge(reps[0], reps[2])
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Missing) != 1 || rep.Missing[0] != (shard.Spec{Index: 1, Count: 3}) || rep.NTest != 7 || rep.NOoD != 6 {
		t.Errorf("partial merge: missing %v, n %d/%d", rep.Missing, rep.NTest, rep.NOoD)
	}
}

func TestDecodeShardReportErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{`, "not a trustml ood eval --shard report"},
		{`{"kind":"other"}`, "kind"},
		{`{"kind":"` + ShardKind + `","shard":0,"shards":0}`, "shard 0/0"},
		{`{"kind":"` + ShardKind + `","shard":0,"shards":1000000000}`, "N ≤"},
		{`{"kind":"` + ShardKind + `","shard":0,"shards":2,"n_test":-1}`, "sizes"},
		{`{"kind":"` + ShardKind + `","shard":0,"shards":2,"n_test":3,"id_index":[0]}`, "ID index"},
		{`{"kind":"` + ShardKind + `","shard":0,"shards":1,"ood_sets":[{"name":"a"}]}`, "OoD index lists"},
		{`{"kind":"` + ShardKind + `","shard":0,"shards":1,"detectors":["knn"]}`, "score lists"},
	} {
		_, err := DecodeShardReport(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
	if _, err := ReadShardReportFile(t.TempDir() + "/missing.json"); err == nil {
		t.Error("missing file: no error")
	}
}

// FuzzMerge decodes two shard reports and merges them: never a panic, and
// a merge that succeeds has one result per detector × OoD set.
func FuzzMerge(f *testing.F) {
	reps, _ := synthShards(5, 4, 2)
	var seeds [][]byte
	for _, r := range reps {
		b, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	f.Add(seeds[0], seeds[1])
	f.Add(seeds[1], seeds[1])
	f.Add(seeds[0], []byte(`{"kind":"`+ShardKind+`","shard":1,"shards":2}`))
	f.Add([]byte(`{}`), []byte(`null`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var in []*ShardReport
		for _, data := range [][]byte{a, b} {
			r, err := DecodeShardReport(bytes.NewReader(data))
			if err != nil {
				if err.Error() == "" {
					t.Fatal("empty error")
				}
				return
			}
			in = append(in, r)
		}
		rep, err := Merge(in...)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if len(rep.Results) != len(in[0].Detectors)*len(in[0].Sets) {
			t.Fatalf("%d results for %d detectors × %d sets", len(rep.Results), len(in[0].Detectors), len(in[0].Sets))
		}
	})
}
