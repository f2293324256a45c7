package natsnet

import (
	"testing"
	"time"
)

// TestArgsRoundTrip: SetArgs inverts Args for every field kind, and a bad
// value is an error naming the flag.
func TestArgsRoundTrip(t *testing.T) {
	type cfg struct {
		D     time.Duration `flag:"d"`
		S     string        `flag:"s"`
		B     bool          `flag:"b"`
		N     int           `flag:"n"`
		U     uint64        `flag:"u"`
		F     float64       `flag:"f"`
		Plain int
	}
	in := cfg{D: 1500 * time.Millisecond, S: "a=b", B: true, N: -3, U: 7, F: 0.1 + 0.2, Plain: 9}
	var out cfg
	if err := SetArgs(&out, Args(in)); err != nil {
		t.Fatal(err)
	}
	in.Plain = 0 // untagged: not passed
	if out != in {
		t.Fatalf("round trip %+v, want %+v", out, in)
	}
	if err := SetArgs(&out, []string{"--n=x"}); err == nil {
		t.Error("--n=x accepted")
	}
}
