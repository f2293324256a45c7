package repro

import (
	"context"
	"strings"
	"testing"
)

func TestSmoothTiny(t *testing.T) {
	c := DefaultSmoothConfig()
	c.Images, c.FashionN = []string{"fashion"}, 2
	tab, err := Smooth(context.Background(), &c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 18 {
		t.Fatalf("%d rows, want 18", len(tab.Rows))
	}
	for _, r := range tab.Rows {
		if !r.Ours.Measured() || len(r.Ours.Values) != 2 {
			t.Fatalf("row %s %s %s: %v", r.Setting, r.Method, r.Metric, r.Ours.Values)
		}
	}
	var b strings.Builder
	if err := tab.WriteText(&b); err != nil || !strings.Contains(b.String(), "selectivity") {
		t.Fatalf("text: %v\n%s", err, b.String())
	}
	c.Images = []string{"nosuch.jpg"}
	if tab, err := Smooth(context.Background(), &c, nil); err == nil || tab.Complete() {
		t.Fatal("an unknown image did not fail the table")
	}
}
