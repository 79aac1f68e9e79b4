// Package embedded runs a whole storage cluster in one process: an
// embedded single-member etcd (go.etcd.io/etcd/server/v3/embed) for the
// metadata and membership, and N storage nodes (internal/node), persisting
// under one directory:
//
//	DIR/etcd/          the etcd member's data and log
//	DIR/node-K/        storage node K's chunks
//	DIR/carrot.toml    the client config (etcd endpoint, token, prefix)
//	DIR/kv.sock        etcd's KV calls for clients on this machine (internal/kvsock)
//
// It is what `carrot up` runs and what tests use. Started again on the same
// DIR it reuses the etcd client port, the token and each node's identity, so
// every chunk and every file comes back. With N = 0 it serves metadata
// only, and separate `carrot node` processes join it.
package embedded
