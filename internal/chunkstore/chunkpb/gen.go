// Package chunkpb is the generated wire code of the storage node's gRPC
// service, from chunk.proto. Regenerate with `go generate`;
// internal/protogen's test fails when it is stale.
package chunkpb

//go:generate sh ../../protogen/gen.sh chunk.proto
