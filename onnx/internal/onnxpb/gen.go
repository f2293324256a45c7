// Package onnxpb holds the Go types of the ONNX protobuf schema, generated
// from onnx.proto (ONNX 1.12.0, Apache-2.0, copied unchanged from Debian's
// python3-onnx 1.12.0-2 at /usr/lib/python3/dist-packages/onnx/onnx.proto).
//
// Regenerate with protoc (Debian protobuf-compiler) and protoc-gen-go
// (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12):
//
//	go generate ./onnx/internal/onnxpb
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/trustml/trustml/onnx/internal/onnxpb onnx.proto
