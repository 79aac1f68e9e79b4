#!/bin/sh
# Regenerates the Go code of one .proto file in the current directory with
# the protoc plugins pinned in go.mod (built into a temporary directory).
# Usage (from a //go:generate line): sh ../../protogen/gen.sh FILE.proto [OUTDIR]
set -eu
proto=$1
out=${2:-.}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
go build -o "$bin/protoc-gen-go-grpc" google.golang.org/grpc/cmd/protoc-gen-go-grpc
protoc --plugin=protoc-gen-go="$bin/protoc-gen-go" --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
  --go_out="$out" --go_opt=paths=source_relative \
  --go-grpc_out="$out" --go-grpc_opt=paths=source_relative "$proto"
