package nn

import "testing"

func TestSpecEqual(t *testing.T) {
	in := []int{1, 28, 28}
	a, _ := SpecFor("cnn-small", in, 10)
	b, _ := SpecFor("cnn-small", []int{1, 28, 28}, 10)
	c, _ := SpecFor("cnn-bn", in, 10)
	d, _ := SpecFor("cnn-small", in, 6)
	e := CNN(in, 10, CNNOptions{Width: 16, BatchNorm: true, Hidden: 64})
	e.Name = "cnn-small"
	for _, tc := range []struct {
		x, y Spec
		want bool
	}{{a, b, true}, {a, c, false}, {a, d, false}, {a, e, false}} {
		if got := tc.x.Equal(tc.y); got != tc.want || tc.y.Equal(tc.x) != tc.want {
			t.Errorf("%s/%d vs %s/%d: Equal %v, want %v", tc.x.Name, tc.x.NumClasses, tc.y.Name, tc.y.NumClasses, got, tc.want)
		}
	}
}
