package clusterconf_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/cluster/embedded"
	"github.com/carrot-project/carrot/internal/clusterconf"
)

// TestDialEtcdLargeRequest: a client that reaches etcd over the network
// (no kv.sock: a config copied to another machine) sends requests as large
// as `carrot up`'s etcd accepts, such as a file's metadata with tens of
// thousands of chunks, not only gRPC's default 2 MiB.
func TestDialEtcdLargeRequest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	c, err := embedded.Start(ctx, embedded.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, err := clusterconf.Load(dir + "/carrot.toml")
	if err != nil {
		t.Fatal(err)
	}
	f.KVSocket = ""
	cli, err := f.DialEtcd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	big := bytes.Repeat([]byte("c"), 3<<20)
	if _, err := cli.Put(ctx, f.Prefix+"test/big", string(big)); err != nil {
		t.Fatalf("a 3 MiB request: %v", err)
	}
	r, err := cli.Get(ctx, f.Prefix+"test/big")
	if err != nil || len(r.Kvs) != 1 || !bytes.Equal(r.Kvs[0].Value, big) {
		t.Fatalf("read back: %v", err)
	}
}
