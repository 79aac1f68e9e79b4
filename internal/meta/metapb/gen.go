// Package metapb is the generated code of the records the storage cluster
// keeps in etcd, from meta.proto. Regenerate with `go generate`;
// internal/protogen's test fails when it is stale.
package metapb

//go:generate sh ../../protogen/gen.sh meta.proto
