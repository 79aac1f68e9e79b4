// Package node runs one storage node: a chunk store in a data directory
// served over gRPC (internal/chunkstore), registered in etcd under a lease
// (internal/membership), campaigning to be the cluster's repairer
// (internal/repair), and reporting corrupt chunks it finds so they are
// repaired. `carrot node` and the embedded cluster of `carrot up` run it.
//
// A node's identity (DIR/node-id, made at first start) outlives restarts
// and address changes: placement ranks node IDs, so a node that comes back
// on another port still holds the right chunks. Its data directory is
// locked (DIR/lock: one process at a time) and belongs to one cluster
// (DIR/cluster-id: a node started on another cluster's directory is
// refused, as that cluster's collector would delete its chunks).
package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/carrot-project/carrot/internal/chunkstore"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"github.com/carrot-project/carrot/internal/membership"
	"github.com/carrot-project/carrot/internal/meta"
	"github.com/carrot-project/carrot/internal/meta/metapb"
	"github.com/carrot-project/carrot/internal/repair"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sys/unix"
)

// Config is what a node needs.
type Config struct {
	Listen    string // host:port; port 0 picks one
	Advertise string // address registered for clients; default: the bound address
	DataDir   string
	Conf      *clusterconf.File
	Capacity  int64   // soft limit on chunk bytes (0: the disk's)
	Weight    float64 // relative placement weight (0: 1)
	// Scrub paces the background verification of chunks at rest (a zero
	// Rate disables it).
	Scrub chunkstore.ScrubOptions
	// NoRepair keeps the node out of the repairer election.
	NoRepair bool
	// Etcd, if set, is the etcd client to use (the caller's, not closed
	// by Run); otherwise Run dials Conf's endpoints.
	Etcd *clientv3.Client
	Logf func(format string, args ...any)
	// Ready is called once the node serves and is registered.
	Ready func(id, addr string)
}

// ID returns the node id stored in dir, making one if there is none.
func ID(dir string) (string, error) {
	id, stored := storedID(dir)
	if stored {
		return id, nil
	}
	return id, storeID(dir, id)
}

// storedID returns the node id stored in dir and true, or a new one and
// false.
func storedID(dir string) (string, bool) {
	if b, err := os.ReadFile(filepath.Join(dir, "node-id")); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, true
		}
	}
	b := make([]byte, 6)
	rand.Read(b)
	return "node-" + hex.EncodeToString(b), false
}

// storeID writes id as dir's node id.
func storeID(dir, id string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "node-id"), []byte(id+"\n"), 0o600)
}

// LockDir takes an exclusive lock on dir/lock for as long as the returned
// file is open (and no longer than the process); user names the kind of
// process that holds it, for the error another one gets (EBUSY).
func LockDir(dir, user string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another %s: %w", dir, user, unix.EBUSY)
		}
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return f, nil
}

// claimDataDir ties dir to the cluster whose metadata cli holds under
// prefix: the cluster's id (<prefix>cluster-id in etcd, made by the first
// node to ask) is written to dir/cluster-id at a node's first start, and a
// directory that holds another cluster's id is refused. Serving it would
// be worse than useless: this cluster's collector would delete every
// chunk of the other cluster's there, none of which it references.
func claimDataDir(ctx context.Context, cli *clientv3.Client, prefix, dir string) error {
	key := prefix + "cluster-id"
	b := make([]byte, 16)
	rand.Read(b)
	r, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.Version(key), "=", 0)).
		Then(clientv3.OpPut(key, hex.EncodeToString(b))).
		Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return fmt.Errorf("the cluster's id: %w", err)
	}
	cluster := hex.EncodeToString(b)
	if !r.Succeeded {
		cluster = string(r.Responses[0].GetResponseRange().Kvs[0].Value)
	}
	p := filepath.Join(dir, "cluster-id")
	held, err := os.ReadFile(p)
	switch {
	case err == nil && strings.TrimSpace(string(held)) == cluster:
		return nil
	case err == nil:
		return fmt.Errorf("%s belongs to another cluster (id %s; this config's cluster is %s): its chunks are not this cluster's, whose collector would delete them; give this node a data directory of its own: %w",
			dir, strings.TrimSpace(string(held)), cluster, syscall.EEXIST)
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	// A new directory (or one from before ids were kept): it is this
	// cluster's from now on.
	return os.WriteFile(p, []byte(cluster+"\n"), 0o600)
}

// Run serves until ctx ends, then deregisters and stops.
func Run(ctx context.Context, cfg Config) error {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	// A new directory's id is written only once the directory is known to
	// be this cluster's (claimDataDir), so a refused one is left as found.
	id, stored := storedID(cfg.DataDir)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	// One process per data directory: a second would register the same
	// id at its own address, and clear the first's uploads in tmp/.
	lock, err := LockDir(cfg.DataDir, "carrot node")
	if err != nil {
		return fmt.Errorf("node %s: %w", id, err)
	}
	defer lock.Close()
	tc, err := cfg.Conf.TLSConfig()
	if err != nil {
		return fmt.Errorf("node %s: %w", id, err)
	}
	cli := cfg.Etcd
	if cli == nil {
		if cli, err = cfg.Conf.DialEtcd(ctx); err != nil {
			return fmt.Errorf("node %s: %w", id, err)
		}
		defer cli.Close()
	}
	// Wait for the cluster to exist (carrot up may start after us).
	var params meta.Params
	for attempt := 0; ; attempt++ {
		params, err = meta.LoadParams(ctx, cli, cfg.Conf.Prefix)
		if err == nil {
			break
		}
		if attempt == 0 {
			logf("node %s: %v; waiting", id, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	if err := claimDataDir(ctx, cli, cfg.Conf.Prefix, cfg.DataDir); err != nil {
		return fmt.Errorf("node %s: %w", id, err)
	}
	if !stored {
		if err := storeID(cfg.DataDir, id); err != nil {
			return fmt.Errorf("node %s: %w", id, err)
		}
	}
	store, err := chunkstore.Open(cfg.DataDir, chunkstore.Options{
		Capacity: cfg.Capacity,
		OnCorrupt: func(chunk string) {
			logf("node %s: chunk %s failed verification, quarantined", id, chunk)
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			repair.ReportCorrupt(rctx, cli, cfg.Conf.Prefix, chunk, id)
		},
		Logf: func(format string, args ...any) { logf("node %s: "+format, append([]any{id}, args...)...) },
	})
	if err != nil {
		return fmt.Errorf("node %s: %w", id, err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("node %s: %w", id, err)
	}
	gs := chunkstore.NewGRPCServer(store, id, cfg.Conf.Token, tc)
	served := make(chan error, 1)
	go func() { served <- gs.Serve(ln) }()
	addr := cfg.Advertise
	if addr == "" {
		addr = ln.Addr().String()
	}
	reg, err := membership.Register(ctx, cli, cfg.Conf.Prefix, &metapb.NodeInfo{
		Id: id, Addr: addr, Weight: cfg.Weight, StartedUnixNano: time.Now().UnixNano(),
	}, params.LeaseTTL)
	if err != nil {
		gs.Stop()
		return fmt.Errorf("node %s: %w", id, err)
	}
	rctx, rcancel := context.WithCancel(ctx)
	repairDone := make(chan struct{})
	if cfg.NoRepair {
		close(repairDone)
	} else {
		view, err := membership.Watch(rctx, cli, cfg.Conf.Prefix)
		if err != nil {
			rcancel()
			reg.Close()
			gs.Stop()
			return fmt.Errorf("node %s: %w", id, err)
		}
		pool := chunkstore.NewPool(tc, cfg.Conf.Token)
		rp := &repair.Repairer{FS: meta.New(cli, cfg.Conf.Prefix), View: view, Pool: pool, Params: params, Logf: logf}
		go func() {
			defer close(repairDone)
			defer pool.Close()
			rp.Run(rctx, cli, id)
		}()
	}
	scrubDone := make(chan struct{})
	go func() {
		defer close(scrubDone)
		store.Scrub(rctx, cfg.Scrub)
	}()
	logf("node %s: serving %s on %s", id, cfg.DataDir, addr)
	if cfg.Ready != nil {
		cfg.Ready(id, addr)
	}
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	rcancel()
	<-repairDone
	<-scrubDone
	reg.Close()
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		gs.Stop()
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("node %s: %w", id, err)
	}
	return nil
}
