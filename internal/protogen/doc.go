// Package protogen holds the script that regenerates the storage cluster's
// protobuf code (gen.sh, run by the //go:generate lines of chunkpb and
// metapb) and the test that fails when a committed .pb.go file is stale.
package protogen
