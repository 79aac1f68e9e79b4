package meta

import (
	"context"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Pins: the chunks of uploads in progress.
//
//	<prefix>fs/pin/<lease, 16 hex>/<upload, 16 hex>/<chunk id> -> ""   (under the lease)
//
// A writer stores a file's chunks before it commits the version that
// references them, and the garbage collector (internal/repair) deletes a
// chunk that is unreferenced and untouched for GCGrace. An upload that
// lasts longer than that would lose its first chunks, and its commit would
// point at missing data. So an upload that has lasted a fraction of
// GCGrace pins its chunks (internal/cluster), the collector counts a
// pinned chunk as referenced, and the writer unpins once it has committed
// or given up. Pins live under the writing client's lease: a writer that
// dies leaves its pins to expire with it, and its chunks become garbage
// like any others.

func (f *FS) pinPrefix() string { return f.prefix + "fs/pin/" }

// uploadPrefix is the key prefix of one upload's pins.
func (f *FS) uploadPrefix(lease clientv3.LeaseID, upload uint64) string {
	return fmt.Sprintf("%s%016x/%016x/", f.pinPrefix(), uint64(lease), upload)
}

// maxPinOps bounds the puts of one pin transaction (etcd allows 128
// operations per transaction by default).
const maxPinOps = 100

// Pin records ids as chunks of upload, under lease. An id may come more
// than once (a file of repeated content): it is pinned once, since etcd
// refuses a transaction that puts one key twice.
func (f *FS) Pin(ctx context.Context, lease clientv3.LeaseID, upload uint64, ids []string) error {
	p := f.uploadPrefix(lease, upload)
	ids = uniq(ids)
	for len(ids) > 0 {
		n := min(len(ids), maxPinOps)
		ops := make([]clientv3.Op, n)
		for i, id := range ids[:n] {
			ops[i] = clientv3.OpPut(p+id, "", clientv3.WithLease(lease))
		}
		if _, err := f.cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			return fail("pin", "chunks", eio(err))
		}
		ids = ids[n:]
	}
	return nil
}

// uniq returns ids without repeats, each where it first came.
func uniq(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Unpin removes every pin of upload.
func (f *FS) Unpin(ctx context.Context, lease clientv3.LeaseID, upload uint64) error {
	if _, err := f.cli.Delete(ctx, f.uploadPrefix(lease, upload), clientv3.WithPrefix()); err != nil {
		return fail("unpin", "chunks", eio(err))
	}
	return nil
}

// Pinned returns the chunk ids pinned by uploads in progress.
func (f *FS) Pinned(ctx context.Context) (map[string]bool, error) {
	ids := map[string]bool{}
	_, err := f.scan(ctx, f.pinPrefix(), func(kv *mvccpb.KeyValue) error {
		k := string(kv.Key)
		ids[k[strings.LastIndexByte(k, '/')+1:]] = true
		return nil
	}, clientv3.WithKeysOnly())
	if err != nil {
		return nil, fail("pinned", "chunks", err)
	}
	return ids, nil
}
