package fed

import (
	"reflect"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
)

func openDigits(t *testing.T) (*data.Dataset, *data.Dataset) {
	t.Helper()
	d, err := data.Open("digits", data.Train, "")
	if err != nil {
		t.Fatal(err)
	}
	tr, te, err := data.StratifiedSplit(d, 0.3, 1)
	if err != nil {
		t.Fatal(err)
	}
	return tr, te
}

// classesOver counts the classes holding at least frac of a client's data.
func classesOver(counts []int, frac float64) int {
	n, k := 0, 0
	for _, c := range counts {
		n += c
	}
	for _, c := range counts {
		if float64(c) >= frac*float64(n) {
			k++
		}
	}
	return k
}

func TestDirichletSplit(t *testing.T) {
	tr, te := openDigits(t)
	for _, tc := range []struct {
		alpha    float64
		min, max float64 // bounds on the mean number of classes with ≥ 5% of a client's data
	}{
		{0.1, 1, 3.5},
		{100, 9.5, 10},
	} {
		sh, err := DirichletSplit(tr, te, SplitConfig{Clients: 6, Alpha: tc.alpha, MinSamples: 10, TestPerClient: 50, Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		total, classes := 0, 0.0
		for j, s := range sh {
			total += s.Train.Len()
			classes += float64(classesOver(s.Train.ClassCounts(), 0.05))
			if s.Test.Len() != 50 || s.Train.Len() < 10 {
				t.Errorf("α %g client %d: %d train, %d test", tc.alpha, j, s.Train.Len(), s.Test.Len())
			}
			// the test set follows the training label distribution
			want := apportion(s.Train.ClassCounts(), 50)
			if got := s.Test.ClassCounts(); !reflect.DeepEqual(got, want) {
				t.Errorf("α %g client %d: test class counts %v, want %v", tc.alpha, j, got, want)
			}
		}
		if total != tr.Len() {
			t.Errorf("α %g: clients hold %d samples of %d", tc.alpha, total, tr.Len())
		}
		if m := classes / 6; m < tc.min || m > tc.max {
			t.Errorf("α %g: %.2f classes per client, want %g…%g", tc.alpha, m, tc.min, tc.max)
		}
	}
	a, _ := DirichletSplit(tr, te, SplitConfig{Clients: 5, Alpha: 0.3, TestPerClient: 20, Seed: 9})
	b, _ := DirichletSplit(tr, te, SplitConfig{Clients: 5, Alpha: 0.3, TestPerClient: 20, Seed: 9})
	for j := range a {
		if !reflect.DeepEqual(a[j].Train.Y, b[j].Train.Y) || !reflect.DeepEqual(a[j].Test.X, b[j].Test.X) {
			t.Fatalf("client %d: the same seed gave another split", j)
		}
	}
	for _, tc := range []struct {
		cfg  SplitConfig
		want string
	}{
		{SplitConfig{Clients: 0, Alpha: 1, TestPerClient: 1}, "0 clients"},
		{SplitConfig{Clients: 2, Alpha: -1, TestPerClient: 1}, "Dirichlet α -1"},
		{SplitConfig{Clients: 2, Alpha: 1, TestPerClient: 0}, "0 test samples"},
		{SplitConfig{Clients: 4, Alpha: 1e-4, MinSamples: 300, TestPerClient: 5}, "raise --alpha"},
	} {
		if _, err := DirichletSplit(tr, te, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestApportion(t *testing.T) {
	for _, tc := range []struct {
		counts []int
		total  int
		want   []int
	}{
		{[]int{1, 1, 1}, 10, []int{4, 3, 3}},
		{[]int{0, 5, 15}, 8, []int{0, 2, 6}},
		{[]int{0, 0}, 3, []int{0, 0}},
		{[]int{7}, 4, []int{4}},
	} {
		if got := apportion(tc.counts, tc.total); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("apportion(%v, %d) = %v, want %v", tc.counts, tc.total, got, tc.want)
		}
	}
}
