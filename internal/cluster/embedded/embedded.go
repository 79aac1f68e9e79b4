package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/BurntSushi/toml"
	"github.com/carrot-project/carrot/internal/chunkstore"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"github.com/carrot-project/carrot/internal/kvsock"
	"github.com/carrot-project/carrot/internal/membership"
	"github.com/carrot-project/carrot/internal/meta"
	"github.com/carrot-project/carrot/internal/node"
	"github.com/carrot-project/carrot/internal/repair"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sys/unix"
)

// Options configure an embedded cluster.
type Options struct {
	Dir      string
	Nodes    int
	Params   meta.Params             // used when the cluster is created; later starts keep the stored ones
	EtcdPort int                     // 0: the port of the last run, or a free one
	Scrub    chunkstore.ScrubOptions // every node's scrubber (zero: none)
	Logf     func(format string, args ...any)
}

// Cluster is a running embedded cluster.
type Cluster struct {
	Etcd     *Etcd
	Conf     *clusterconf.File
	ConfPath string
	Params   meta.Params
	NodeAddr []string
	KVServer *kvsock.Server // nil when the socket could not be made

	cli       *clientv3.Client
	lock      *os.File // DIR/lock, flocked while the cluster runs
	cancel    context.CancelFunc
	closeOnce sync.Once
	wg        sync.WaitGroup
	mu        sync.Mutex
	errs      []error
}

// Start starts etcd, creates the cluster if DIR holds none, starts the
// nodes and returns once they all serve.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if o.Dir == "" {
		o.Dir = clusterconf.DataDir()
	}
	if o.Params.Replicas == 0 {
		o.Params = meta.DefaultParams()
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	// One cluster per directory: a second one would share etcd's data.
	lock, err := node.LockDir(o.Dir, "carrot up")
	if err != nil {
		return nil, err
	}
	tdir := filepath.Join(o.Dir, "tls")
	ca, cert, key, err := clusterconf.EnsureTLS(tdir)
	if err != nil {
		lock.Close()
		return nil, err
	}
	e, err := StartEtcd(ctx, filepath.Join(o.Dir, "etcd"), o.EtcdPort, clusterconf.TLSPaths(tdir))
	if err != nil {
		lock.Close()
		return nil, err
	}
	c := &Cluster{Etcd: e, ConfPath: filepath.Join(o.Dir, "carrot.toml"), lock: lock}
	fail := func(err error) (*Cluster, error) {
		c.Close()
		return nil, err
	}
	// Keep the token of an earlier run: nodes and clients hold it. A
	// config from before TLS (or with a stale certificate) is completed.
	conf, err := clusterconf.Load(c.ConfPath)
	if err != nil {
		var old clusterconf.File
		if _, derr := toml.DecodeFile(c.ConfPath, &old); derr == nil && old.Token != "" {
			conf, err = &old, nil
		} else if errors.Is(err, os.ErrNotExist) {
			conf, err = &clusterconf.File{Token: clusterconf.NewToken(), Prefix: clusterconf.DefaultPrefix}, nil
		}
	}
	if err != nil {
		return fail(err)
	}
	conf.EtcdEndpoints = []string{e.Endpoint}
	conf.CA, conf.Cert, conf.Key = string(ca), string(cert), string(key)
	rctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	// Clients on this machine send their KV calls through kvsock. A path
	// too long for a unix socket (108 bytes) only means they use gRPC.
	conf.KVSocket = ""
	sock, err := filepath.Abs(filepath.Join(o.Dir, "kv.sock"))
	if err != nil {
		return fail(err)
	}
	if ln, err := kvsock.Listen(sock); err == nil {
		srv := &kvsock.Server{KV: e.KVClient(), Token: conf.Token, Logf: o.Logf, LocalReads: e.SingleMember}
		c.KVServer = srv
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			srv.Serve(rctx, ln)
		}()
		conf.KVSocket = sock
	} else if errors.Is(err, unix.EADDRINUSE) {
		return fail(fmt.Errorf("%w: is another carrot up running on %s?", err, o.Dir))
	} else if o.Logf != nil {
		o.Logf("carrot up: no KV socket (clients use gRPC): %v", err)
	}
	if err := conf.Check(); err != nil {
		return fail(err)
	}
	if err := conf.Save(c.ConfPath); err != nil {
		return fail(err)
	}
	c.Conf = conf
	// This process's members (nodes, repairer) call etcd directly.
	c.cli = e.InProcessClient()
	if c.Params, err = meta.InitParams(ctx, c.cli, conf.Prefix, o.Params); err != nil {
		return fail(err)
	}
	if err := meta.New(c.cli, conf.Prefix).Init(ctx); err != nil {
		return fail(err)
	}
	ready := make(chan string, o.Nodes)
	for k := range o.Nodes {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			err := node.Run(rctx, node.Config{
				Listen: "127.0.0.1:0", DataDir: filepath.Join(o.Dir, fmt.Sprintf("node-%d", k)),
				Conf: conf, Logf: o.Logf, Etcd: c.cli, Scrub: o.Scrub,
				// The cluster process campaigns once for all its nodes.
				NoRepair: true,
				Ready:    func(_, addr string) { ready <- addr },
			})
			if err != nil && rctx.Err() == nil {
				c.mu.Lock()
				c.errs = append(c.errs, err)
				c.mu.Unlock()
				ready <- ""
			}
		}()
	}
	for range o.Nodes {
		select {
		case a := <-ready:
			if a == "" {
				c.mu.Lock()
				err := errors.Join(c.errs...)
				c.mu.Unlock()
				return fail(err)
			}
			c.NodeAddr = append(c.NodeAddr, a)
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
	// The repairer of this process.
	view, err := membership.Watch(rctx, c.cli, conf.Prefix)
	if err != nil {
		return fail(err)
	}
	pool, err := chunkstore.NewPoolConf(conf)
	if err != nil {
		return fail(err)
	}
	rp := &repair.Repairer{FS: meta.New(c.cli, conf.Prefix), View: view, Pool: pool, Params: c.Params, Logf: o.Logf}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer pool.Close()
		rp.Run(rctx, c.cli, "carrot-up")
	}()
	return c, nil
}

// EtcdClient returns a new in-process client of the cluster's etcd
// member (no socket, no TLS, no gRPC encoding), for a cluster.Client in
// this process (cluster.Options.Etcd). The caller closes it.
func (c *Cluster) EtcdClient() *clientv3.Client { return c.Etcd.InProcessClient() }

// Close stops the nodes and etcd. It may be called more than once.
func (c *Cluster) Close() {
	c.closeOnce.Do(func() {
		if c.cancel != nil {
			c.cancel()
		}
		c.wg.Wait()
		if c.cli != nil {
			c.cli.Close()
		}
		c.Etcd.Close()
		c.lock.Close() // the lock goes with its descriptor
	})
}
