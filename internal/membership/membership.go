// Package membership tracks which storage nodes are up, through etcd.
//
// A node registers twice: <prefix>nodes/known/<id> (permanent: the cluster
// has such a node) and <prefix>nodes/live/<id>, attached to a lease of the
// cluster's TTL that the node keeps alive. A node that stops renewing (crash,
// kill -9, partition) loses its live key when the lease expires: it is down.
// If the lease is lost while the node runs (etcd restarted, long pause), the
// node registers again under a new lease.
//
// Clients, repairers and `carrot cluster status` hold a View: one Get of the
// prefix and then a watch from the next revision, so the view follows every
// join and failure in order, and remembers since when each known node has
// been down (the repairer's grace period starts there).
package membership

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/carrot-project/carrot/internal/meta/metapb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
)

func liveKey(prefix, id string) string  { return prefix + "nodes/live/" + id }
func knownKey(prefix, id string) string { return prefix + "nodes/known/" + id }

// Registration keeps one node registered.
type Registration struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	lease clientv3.LeaseID
	cli   *clientv3.Client
}

// Register registers the node and keeps it registered until ctx ends or
// Close is called.
func Register(ctx context.Context, cli *clientv3.Client, prefix string, info *metapb.NodeInfo, ttl time.Duration) (*Registration, error) {
	val, err := proto.Marshal(info)
	if err != nil {
		return nil, err
	}
	if _, err := cli.Put(ctx, knownKey(prefix, info.Id), string(val)); err != nil {
		return nil, fmt.Errorf("register node %s: %w", info.Id, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Registration{cancel: cancel, done: make(chan struct{}), cli: cli}
	ka, err := r.grant(ctx, prefix, info.Id, string(val), ttl)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("register node %s: %w", info.Id, err)
	}
	go func() {
		defer close(r.done)
		for {
			for range ka {
			}
			if ctx.Err() != nil {
				return
			}
			// Lease lost: register again, retrying every second.
			for ctx.Err() == nil {
				if ka, err = r.grant(ctx, prefix, info.Id, string(val), ttl); err == nil {
					break
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			if ctx.Err() != nil {
				return
			}
		}
	}()
	return r, nil
}

func (r *Registration) grant(ctx context.Context, prefix, id, val string, ttl time.Duration) (<-chan *clientv3.LeaseKeepAliveResponse, error) {
	secs := max(1, int64(ttl/time.Second))
	l, err := r.cli.Grant(ctx, secs)
	if err != nil {
		return nil, err
	}
	if _, err := r.cli.Put(ctx, liveKey(prefix, id), val, clientv3.WithLease(l.ID)); err != nil {
		return nil, err
	}
	ka, err := r.cli.KeepAlive(ctx, l.ID)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.lease = l.ID
	r.mu.Unlock()
	return ka, nil
}

// Close stops renewing and revokes the lease: the node is down at once.
func (r *Registration) Close() {
	r.cancel()
	<-r.done
	r.mu.Lock()
	lease := r.lease
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	r.cli.Revoke(ctx, lease)
}

// Forget removes a known node that is down for good.
func Forget(ctx context.Context, cli *clientv3.Client, prefix, id string) error {
	_, err := cli.Delete(ctx, knownKey(prefix, id))
	return err
}

// Node is a node as a View sees it.
type Node struct {
	ID        string
	Addr      string
	Weight    float64
	Live      bool
	DownSince time.Time // when the view saw it go down (or started, if down then)
}

// View follows the cluster's membership.
type View struct {
	mu      sync.Mutex
	nodes   map[string]*Node
	changed chan struct{} // closed and replaced on every change
}

// Watch reads the membership and follows it until ctx ends.
func Watch(ctx context.Context, cli *clientv3.Client, prefix string) (*View, error) {
	v := &View{nodes: map[string]*Node{}, changed: make(chan struct{})}
	r, err := cli.Get(ctx, prefix+"nodes/", clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	now := time.Now()
	for _, kv := range r.Kvs {
		v.apply(prefix, string(kv.Key), kv.Value, false, now)
	}
	for _, n := range v.nodes {
		if !n.Live {
			n.DownSince = now
		}
	}
	wc := cli.Watch(ctx, prefix+"nodes/", clientv3.WithPrefix(), clientv3.WithRev(r.Header.Revision+1))
	go func() {
		for wr := range wc {
			for _, ev := range wr.Events {
				v.apply(prefix, string(ev.Kv.Key), ev.Kv.Value, ev.Type == clientv3.EventTypeDelete, time.Now())
			}
		}
	}()
	return v, nil
}

func (v *View) apply(prefix, key string, val []byte, deleted bool, now time.Time) {
	rest := strings.TrimPrefix(key, prefix+"nodes/")
	kind, id, ok := strings.Cut(rest, "/")
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	n := v.nodes[id]
	switch {
	case kind == "known" && deleted:
		delete(v.nodes, id)
	case kind == "live" && deleted:
		if n != nil && n.Live {
			n.Live = false
			n.DownSince = now
		}
	default:
		var info metapb.NodeInfo
		if proto.Unmarshal(val, &info) != nil {
			return
		}
		if n == nil {
			n = &Node{ID: id, DownSince: now}
			v.nodes[id] = n
		}
		n.Addr, n.Weight = info.Addr, info.Weight
		if kind == "live" {
			n.Live = true
			n.DownSince = time.Time{}
		}
	}
	close(v.changed)
	v.changed = make(chan struct{})
}

// Nodes returns every known node, sorted by ID.
func (v *View) Nodes() []Node {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]Node, 0, len(v.nodes))
	for _, n := range v.nodes {
		out = append(out, *n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Live returns the live nodes, sorted by ID.
func (v *View) Live() []Node {
	var out []Node
	for _, n := range v.Nodes() {
		if n.Live {
			out = append(out, n)
		}
	}
	return out
}

// Changed returns a channel closed at the next change.
func (v *View) Changed() <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.changed
}

// WaitLive waits until at least n nodes are live.
func (v *View) WaitLive(ctx context.Context, n int) error {
	for {
		ch := v.Changed()
		if len(v.Live()) >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d live storage nodes (have %d): %w", n, len(v.Live()), ctx.Err())
		}
	}
}
