package kvsock_test

import (
	"context"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/carrot-project/carrot/internal/cluster/embedded"
)

// BenchmarkKV compares one etcd Get (linearizable), serializable Get and Put
// by the three ways to the member: in its process, through the kv socket,
// and through etcd's gRPC (mutual TLS). Client and member share this
// process here, so the socket and gRPC figures hold the transport's cost
// on both sides; docs/benchmarks.md has the separate-process figures.
//
//	go test -run '^$' -bench KV -benchtime 2000x ./internal/kvsock
func BenchmarkKV(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	c, err := embedded.Start(ctx, embedded.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	inproc := c.EtcdClient()
	defer inproc.Close()
	sock, err := c.Conf.DialEtcd(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer sock.Close()
	conf := *c.Conf
	conf.KVSocket = ""
	grpc, err := conf.DialEtcd(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer grpc.Close()
	if _, err := inproc.Put(ctx, "/bench/k", "v"); err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name string
		kv   clientv3.KV
	}{{"inproc", inproc}, {"socket", sock}, {"grpc", grpc}} {
		for _, op := range []struct {
			name string
			do   func(kv clientv3.KV) error
		}{
			{"Get", func(kv clientv3.KV) error { _, err := kv.Get(ctx, "/bench/k"); return err }},
			{"GetSerializable", func(kv clientv3.KV) error { _, err := kv.Get(ctx, "/bench/k", clientv3.WithSerializable()); return err }},
			{"Put", func(kv clientv3.KV) error { _, err := kv.Put(ctx, "/bench/k", "v"); return err }},
		} {
			b.Run(op.name+"/"+v.name, func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				for range b.N {
					t := time.Now()
					if err := op.do(v.kv); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t))
				}
				b.ReportMetric(float64(p50(lat).Microseconds()), "µs-p50")
			})
		}
	}
}

func p50(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
