package meta

import (
	"context"
	"fmt"
	"time"

	"github.com/carrot-project/carrot/internal/meta/metapb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
)

// Params are what every member of one cluster must agree on; they live in
// etcd at <prefix>params, written once by whoever creates the cluster.
type Params struct {
	Replicas       int           // copies of every chunk (R)
	ChunkSize      int           // bytes per chunk, at most chunkstore.MaxChunkSize
	InlineMax      int           // files up to this size live in their inode, not in chunks
	LeaseTTL       time.Duration // a node that misses renewing this long is down
	RepairGrace    time.Duration // a node down this long has its chunks re-replicated
	GCGrace        time.Duration // an unreferenced chunk this old is deleted
	RepairInterval time.Duration // time between repair passes
	Placement      string        // "hrw" or "ring"
}

// DefaultParams are the defaults of carrot up. InlineMax is CephFS's
// default inline-data limit (4 KiB).
func DefaultParams() Params {
	return Params{
		Replicas: 2, ChunkSize: 4 << 20, InlineMax: 4096,
		LeaseTTL: 10 * time.Second, RepairGrace: time.Minute, GCGrace: 10 * time.Minute,
		RepairInterval: 30 * time.Second, Placement: "hrw",
	}
}

// Check validates p.
func (p Params) Check() error {
	switch {
	case p.Replicas < 1 || p.Replicas > 16:
		return fmt.Errorf("replicas %d out of range 1..16", p.Replicas)
	case p.ChunkSize < 4096 || p.ChunkSize > 4<<20:
		return fmt.Errorf("chunk size %d out of range 4KiB..4MiB", p.ChunkSize)
	case p.InlineMax < 0 || p.InlineMax > 64<<10:
		return fmt.Errorf("inline max %d out of range 0..64KiB", p.InlineMax)
	case p.LeaseTTL < time.Second:
		return fmt.Errorf("lease TTL %v under 1s", p.LeaseTTL)
	case p.Placement != "hrw" && p.Placement != "ring":
		return fmt.Errorf("placement %q: want hrw or ring", p.Placement)
	}
	return nil
}

func paramsKey(prefix string) string { return prefix + "params" }

// InitParams stores p unless the cluster already has params, and returns
// the cluster's params either way.
func InitParams(ctx context.Context, cli *clientv3.Client, prefix string, p Params) (Params, error) {
	if err := p.Check(); err != nil {
		return Params{}, err
	}
	b, _ := proto.Marshal(&metapb.Params{
		Replicas: uint32(p.Replicas), ChunkSize: uint32(p.ChunkSize), InlineMax: uint32(p.InlineMax),
		LeaseTtlSeconds: int64(p.LeaseTTL / time.Second), RepairGraceMs: p.RepairGrace.Milliseconds(),
		GcGraceMs: p.GCGrace.Milliseconds(), RepairIntervalMs: p.RepairInterval.Milliseconds(),
		Placement: p.Placement,
	})
	k := paramsKey(prefix)
	_, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.Version(k), "=", 0)).
		Then(clientv3.OpPut(k, string(b))).Commit()
	if err != nil {
		return Params{}, err
	}
	return LoadParams(ctx, cli, prefix)
}

// SetParams overwrites the cluster's params.
func SetParams(ctx context.Context, cli *clientv3.Client, prefix string, p Params) error {
	if err := p.Check(); err != nil {
		return err
	}
	if _, err := cli.Delete(ctx, paramsKey(prefix)); err != nil {
		return err
	}
	_, err := InitParams(ctx, cli, prefix, p)
	return err
}

// LoadParams reads the cluster's params.
func LoadParams(ctx context.Context, cli *clientv3.Client, prefix string) (Params, error) {
	r, err := cli.Get(ctx, paramsKey(prefix))
	if err != nil {
		return Params{}, err
	}
	if len(r.Kvs) == 0 {
		return Params{}, fmt.Errorf("no cluster at etcd prefix %q (was 'carrot up' run?)", prefix)
	}
	var m metapb.Params
	if err := proto.Unmarshal(r.Kvs[0].Value, &m); err != nil {
		return Params{}, fmt.Errorf("cluster params: %w", err)
	}
	return Params{
		Replicas: int(m.Replicas), ChunkSize: int(m.ChunkSize), InlineMax: int(m.InlineMax),
		LeaseTTL: time.Duration(m.LeaseTtlSeconds) * time.Second, RepairGrace: time.Duration(m.RepairGraceMs) * time.Millisecond,
		GCGrace: time.Duration(m.GcGraceMs) * time.Millisecond, RepairInterval: time.Duration(m.RepairIntervalMs) * time.Millisecond,
		Placement: m.Placement,
	}, nil
}
