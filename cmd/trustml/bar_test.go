package main

import (
	"bytes"
	"testing"
)

func TestNonTerminalPrintsOnlyLogLines(t *testing.T) {
	var buf bytes.Buffer
	b := newBar(&buf)
	b.Update("epoch 1/2", 5, 10, "loss 0.5")
	if buf.Len() != 0 {
		t.Errorf("Update wrote %q to a non-terminal", buf.String())
	}
	b.Log("epoch %d done", 1)
	if got := buf.String(); got != "epoch 1 done\n" {
		t.Errorf("Log wrote %q", got)
	}
}

func TestTerminalDrawsBar(t *testing.T) {
	var buf bytes.Buffer
	b := &Bar{w: &buf, terminal: true}
	b.Update("work", 5, 10, "half")
	if got := buf.String(); !bytes.Contains([]byte(got), []byte("[============            ]  50% half")) {
		t.Errorf("bar %q", got)
	}
	buf.Reset()
	b.Log("done")
	if got := buf.String(); got != "\r\033[Kdone\n" {
		t.Errorf("Log on a terminal wrote %q", got)
	}
}

func TestNilBarIsSilent(t *testing.T) {
	var b *Bar
	b.Update("x", 1, 2, "")
	b.Log("x")
}
