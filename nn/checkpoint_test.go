package nn

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func trainedLikeNet(t testing.TB) *Network {
	t.Helper()
	net, err := New(CNN([]int{1, 8, 8}, 3, CNNOptions{Width: 2, Hidden: 5, BatchNorm: true}), 7)
	if err != nil {
		t.Fatal(err)
	}
	// Make the buffers non-trivial with one training-mode pass.
	x := separated(4*64, rand.New(rand.NewPCG(1, 2)))
	net.Forward(x, 4, true)
	return net
}

func TestCheckpointRoundTrip(t *testing.T) {
	net := trainedLikeNet(t)
	path := filepath.Join(t.TempDir(), "m.ckpt")
	meta := map[string]string{"command": "trustml train", "accuracy": "0.9"}
	if err := SaveFile(path, net, meta); err != nil {
		t.Fatal(err)
	}
	got, gotMeta, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if gotMeta["command"] != meta["command"] {
		t.Errorf("meta %v, want %v", gotMeta, meta)
	}
	x := separated(5*64, rand.New(rand.NewPCG(3, 4)))
	a, b := make([]float32, 15), make([]float32, 15)
	ctx := context.Background()
	if err := net.Logits(ctx, a, x); err != nil {
		t.Fatal(err)
	}
	if err := got.Logits(ctx, b, x); err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("logit %d: %v after round trip, %v before", i, b[i], a[i])
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestCheckpointCorrupt(t *testing.T) {
	var buf bytes.Buffer
	if err := Save(&buf, trainedLikeNet(t), nil); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	cases := map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("XXXXXXXX"), good[8:]...),
		"truncated": good[:len(good)/2],
		"one short": good[:len(good)-1],
		"trailing":  append(append([]byte(nil), good...), 0),
		"bit flip":  flip(good, len(good)/2),
		"header":    flip(good, 20),
		"crc":       flip(good, len(good)-1),
	}
	for name, b := range cases {
		if _, _, err := Load(b); !errors.Is(err, ErrCheckpoint) {
			t.Errorf("%s: err = %v, want ErrCheckpoint", name, err)
		}
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x10
	return c
}

func FuzzLoadCheckpoint(f *testing.F) {
	var buf bytes.Buffer
	if err := Save(&buf, trainedLikeNet(f), map[string]string{"a": "b"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(checkpointMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		net, _, err := Load(b)
		if err != nil {
			return
		}
		// A checkpoint that loads must save back to the same bytes' content.
		var out bytes.Buffer
		if err := Save(&out, net, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := Load(out.Bytes()); err != nil {
			t.Fatalf("re-saved checkpoint does not load: %v", err)
		}
	})
}
