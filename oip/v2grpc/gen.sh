#!/bin/sh
# Regenerates grpc_predict_v2.pb.go and grpc_predict_v2_grpc.pb.go from
# grpc_predict_v2.proto. Needs protoc and the Go plugins (Debian:
# apt-get install protobuf-compiler protoc-gen-go protoc-gen-go-grpc, or
# go install google.golang.org/protobuf/cmd/protoc-gen-go and
# google.golang.org/grpc/cmd/protoc-gen-go-grpc).
set -eu
cd "$(dirname "$0")"
protoc --go_out=. --go_opt=paths=source_relative \
  --go-grpc_out=. --go-grpc_opt=paths=source_relative \
  grpc_predict_v2.proto
