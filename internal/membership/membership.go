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
// been down (the repairer's grace period starts there). The repairer
// records that moment in <prefix>nodes/down/<id> (RecordDown), and a node
// clears it when it registers again, so a view started later — another
// repairer, a `carrot cluster status` — knows it too instead of counting
// from its own start. A watch that etcd cancels (a compaction, a lost
// leader) is taken up again from a fresh read.
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
func downKey(prefix, id string) string  { return prefix + "nodes/down/" + id }

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
	if _, err := r.cli.Txn(ctx).Then(
		clientv3.OpPut(liveKey(prefix, id), val, clientv3.WithLease(l.ID)),
		clientv3.OpDelete(downKey(prefix, id)),
	).Commit(); err != nil {
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
	_, err := cli.Txn(ctx).Then(clientv3.OpDelete(knownKey(prefix, id)), clientv3.OpDelete(downKey(prefix, id))).Commit()
	return err
}

// RecordDown records since when node id has been down, unless a time is
// recorded already or the node is live again.
func RecordDown(ctx context.Context, cli *clientv3.Client, prefix, id string, since time.Time) error {
	b, _ := since.MarshalText()
	_, err := cli.Txn(ctx).If(
		clientv3.Compare(clientv3.Version(downKey(prefix, id)), "=", 0),
		clientv3.Compare(clientv3.Version(liveKey(prefix, id)), "=", 0),
	).Then(clientv3.OpPut(downKey(prefix, id), string(b))).Commit()
	return err
}

// Node is a node as a View sees it.
type Node struct {
	ID        string
	Addr      string
	Weight    float64
	Live      bool
	DownSince time.Time // when it went down, as recorded, or as this view saw it (or started, if down then)
	// DownRecorded says DownSince is the recorded time (RecordDown).
	DownRecorded bool
}

// View follows the cluster's membership.
type View struct {
	mu      sync.Mutex
	nodes   map[string]*Node
	down    map[string]time.Time // recorded down times, by id
	changed chan struct{}        // closed and replaced on every change
}

// Watch reads the membership and follows it until ctx ends.
func Watch(ctx context.Context, cli *clientv3.Client, prefix string) (*View, error) {
	v := &View{changed: make(chan struct{})}
	rev, err := v.load(ctx, cli, prefix)
	if err != nil {
		return nil, err
	}
	go func() {
		for ctx.Err() == nil {
			wc := cli.Watch(ctx, prefix+"nodes/", clientv3.WithPrefix(), clientv3.WithRev(rev+1))
			for wr := range wc {
				if wr.Canceled || wr.Err() != nil {
					break
				}
				for _, ev := range wr.Events {
					v.apply(prefix, string(ev.Kv.Key), ev.Kv.Value, ev.Type == clientv3.EventTypeDelete, time.Now())
				}
			}
			// Cancelled (compacted past rev, or the client lost etcd):
			// read everything again and watch from there, retrying
			// every second.
			for ctx.Err() == nil {
				if cli.Ctx().Err() != nil {
					return // the client was closed: nothing more to follow
				}
				if rev, err = v.load(ctx, cli, prefix); err == nil {
					break
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	}()
	return v, nil
}

// load reads the whole membership into v, keeping what v knew of when
// nodes went down, and returns the revision read.
func (v *View) load(ctx context.Context, cli *clientv3.Client, prefix string) (int64, error) {
	r, err := cli.Get(ctx, prefix+"nodes/", clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("membership: %w", err)
	}
	now := time.Now()
	t := &View{nodes: map[string]*Node{}, down: map[string]time.Time{}, changed: make(chan struct{})}
	for _, kv := range r.Kvs {
		t.apply(prefix, string(kv.Key), kv.Value, false, now)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old := v.nodes
	v.nodes, v.down = t.nodes, t.down
	for id, n := range v.nodes {
		if !n.Live && !n.DownRecorded {
			if o := old[id]; o != nil && !o.Live {
				n.DownSince = o.DownSince
			} else {
				n.DownSince = now
			}
		}
	}
	v.notify()
	return r.Header.Revision, nil
}

func (v *View) notify() {
	close(v.changed)
	v.changed = make(chan struct{})
}

// markDown sets when n went down: the time recorded in etcd, if any, else
// since (what this view saw). v.mu is held.
func (v *View) markDown(n *Node, since time.Time) {
	n.DownSince, n.DownRecorded = since, false
	if t, ok := v.down[n.ID]; ok {
		n.DownSince, n.DownRecorded = t, true
	}
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
	case kind == "down":
		// Recorded down time: kept apart (it may come before the node's
		// other keys) and applied to a node that is down.
		var t time.Time
		if deleted || t.UnmarshalText(val) != nil {
			delete(v.down, id)
		} else {
			v.down[id] = t
			if n != nil && !n.Live {
				n.DownSince, n.DownRecorded = t, true
			}
		}
	case kind == "known" && deleted:
		delete(v.nodes, id)
	case kind == "live" && deleted:
		if n != nil && n.Live {
			n.Live = false
			v.markDown(n, now)
		}
	default:
		var info metapb.NodeInfo
		if proto.Unmarshal(val, &info) != nil {
			return
		}
		if n == nil {
			n = &Node{ID: id}
			v.markDown(n, now)
			v.nodes[id] = n
		}
		n.Addr, n.Weight = info.Addr, info.Weight
		if kind == "live" {
			n.Live = true
			n.DownSince, n.DownRecorded = time.Time{}, false
		}
	}
	v.notify()
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
