package main

import (
	"net"
	"strings"
	"testing"
)

// TestServeWiresCLI serves the default model with AAA over HTTP and gRPC
// and evaluates it over JSON, binary HTTP (eval --binary) and gRPC
// (--model grpc://...): the same metrics on every wire.
func TestServeWiresCLI(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gaddr := ln.Addr().String()
	ln.Close()
	npz := writeTestNPZ(t, 40)
	url, _ := startServe(t, "--grpc", gaddr)
	name := url[strings.LastIndex(url, "/")+1:]
	json := evalJSON(t, "--model", url, "--data", npz)
	if json.N != 40 {
		t.Fatalf("eval on %d images", json.N)
	}
	for _, args := range [][]string{{"--model", url, "--binary"}, {"--model", "grpc://" + gaddr + "/" + name}} {
		if got := evalJSON(t, append(args, "--data", npz)...); got != json {
			t.Errorf("eval %v: %+v, JSON gave %+v", args, got, json)
		}
	}
}
