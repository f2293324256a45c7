package fed

import (
	"bytes"
	"strings"
	"testing"
)

func TestMessageRoundTrip(t *testing.T) {
	m := &message{Kind: kindUpload, From: 7, Round: 12, Weight: 345, Vec: []float32{1.5, -2, 0, 3e-8}}
	got, err := decodeMessage(m.encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != m.Kind || got.From != m.From || got.Round != m.Round || got.Weight != m.Weight || len(got.Vec) != 4 || got.Vec[3] != m.Vec[3] {
		t.Fatalf("decoded %+v, want %+v", got, m)
	}
	for _, tc := range []struct {
		b    []byte
		want string
	}{
		{[]byte{1, 2}, "shorter than its"},
		{append([]byte{9}, m.encode()[1:]...), "version 9"},
		{append([]byte{1, 42}, m.encode()[2:]...), "unknown message kind 42"},
		{m.encode()[:headerLen+5], "carries 5 bytes"},
		{(&message{Kind: kindUpload, Weight: -1}).encode(), "weight -1"},
		{(&message{Kind: kindGlobal, From: serverID, Vec: []float32{float32(inf())}}).encode(), "number 0 is +Inf"},
	} {
		if _, err := decodeMessage(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

func inf() float64 { var z float64; return 1 / z }

// FuzzDecodeMessage: no input makes the decoder panic, and what it
// accepts encodes back to the same bytes.
func FuzzDecodeMessage(f *testing.F) {
	f.Add((&message{Kind: kindUpload, From: 1, Round: 2, Weight: 3, Vec: []float32{1, 2}}).encode())
	f.Add((&message{Kind: kindAlive, From: serverID}).encode())
	f.Add([]byte{1, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		if !bytes.Equal(m.encode(), b) {
			t.Fatalf("decoded %+v re-encodes differently", m)
		}
	})
}
