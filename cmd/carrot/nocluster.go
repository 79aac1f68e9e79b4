//go:build nocluster

package main

// Built with -tags nocluster, carrot is the tracer, carrot run and the exit
// node only. Without the storage commands it links neither etcd nor gRPC:
// the binary is a third of the size (12 MB against 39), and it starts in
// about 3 ms instead of 10, most of which is the embedded etcd server's
// package initialisation (registering its metrics), paid by every carrot
// command (docs/benchmarks.md, Tracing).
func init() { leftOut = []string{"cluster", "fs", "node", "up"} }
