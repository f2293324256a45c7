package progress

import "testing"

type counter struct{ updates, logs int }

func (c *counter) Update(string, int, int, string) { c.updates++ }
func (c *counter) Log(string, ...any)              { c.logs++ }

func TestOr(t *testing.T) {
	if Or(nil) != Discard {
		t.Error("Or(nil) is not Discard")
	}
	c := &counter{}
	r := Or(c)
	r.Update("x", 1, 2, "")
	r.Log("y")
	if c.updates != 1 || c.logs != 1 {
		t.Errorf("Or(c) forwarded %d updates and %d logs, want 1 and 1", c.updates, c.logs)
	}
	Discard.Update("x", 1, 2, "")
	Discard.Log("x")
}
