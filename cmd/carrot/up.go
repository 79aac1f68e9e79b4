package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/carrot-project/carrot/internal/cluster/embedded"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"github.com/carrot-project/carrot/internal/meta"
)

func init() {
	register(&command{
		Name:    "up",
		Summary: "run a storage cluster in one process: embedded etcd and N storage nodes",
		Run:     runUp,
	})
}

func runUp(ctx context.Context, e *env) int {
	fs := flag.NewFlagSet("carrot up", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	def := meta.DefaultParams()
	dir := fs.String("dir", clusterconf.DataDir(), "directory holding etcd's data, the nodes' chunks and carrot.toml")
	nodes := fs.Int("nodes", 3, "storage nodes to run in this process (0: metadata only; separate 'carrot node' processes join)")
	replicas := fs.Int("replicas", def.Replicas, "copies of every chunk (R); set when the cluster is created")
	etcdPort := fs.Int("etcd-port", 0, "etcd client port on 127.0.0.1 (0: the last run's, or a free one)")
	chunkSize := fs.Int("chunk-size", def.ChunkSize, "bytes per chunk (4096..4194304)")
	inlineMax := fs.Int("inline-max", def.InlineMax, "files up to this size are kept in their inode, not in chunks (0..65536)")
	leaseTTL := fs.Duration("lease-ttl", def.LeaseTTL, "a node that stops renewing its lease this long is down")
	grace := fs.Duration("repair-grace", def.RepairGrace, "a node down this long has its chunks re-replicated")
	gcGrace := fs.Duration("gc-grace", def.GCGrace, "unreferenced chunks older than this are deleted")
	interval := fs.Duration("repair-interval", def.RepairInterval, "time between repair passes")
	place := fs.String("placement", def.Placement, "chunk placement: hrw (rendezvous) or ring (consistent-hash ring, 256 vnodes)")
	scrubRate, scrubInterval := scrubFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(e.Stderr, "usage: carrot up [--dir DIR] [--nodes N] [--replicas R] [flags]")
		fmt.Fprintln(e.Stderr)
		fmt.Fprintln(e.Stderr, "Runs in the foreground until SIGINT or SIGTERM. Writes DIR/carrot.toml, the")
		fmt.Fprintln(e.Stderr, "client config every 'carrot fs', 'carrot node' and 'carrot cluster' command")
		fmt.Fprintln(e.Stderr, "finds by --config, $CARROT_CONFIG or the default path. Started again on the")
		fmt.Fprintln(e.Stderr, "same DIR it comes back with all its data; the cluster parameters (replicas,")
		fmt.Fprintln(e.Stderr, "chunk size, grace periods) are those it was created with.")
		fmt.Fprintln(e.Stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(e.Args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 || *nodes < 0 {
		fs.Usage()
		return exitUsage
	}
	p := meta.Params{
		Replicas: *replicas, ChunkSize: *chunkSize, InlineMax: *inlineMax, LeaseTTL: *leaseTTL,
		RepairGrace: *grace, GCGrace: *gcGrace, RepairInterval: *interval, Placement: *place,
	}
	if err := p.Check(); err != nil {
		e.errorf("up: %v", err)
		return exitUsage
	}
	scrub, err := scrubOptions(*scrubRate, *scrubInterval)
	if err != nil {
		e.errorf("up: %v", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	c, err := embedded.Start(sctx, embedded.Options{
		Dir: *dir, Nodes: *nodes, Params: p, EtcdPort: *etcdPort, Scrub: scrub,
		Logf: func(f string, a ...any) { e.errorf(f, a...) },
	})
	cancel()
	if err != nil {
		e.errorf("up: %v", err)
		return exitFailure
	}
	if c.Params != p {
		fmt.Fprintf(e.Stdout, "carrot up: existing cluster keeps its parameters: replicas=%d chunk-size=%d inline-max=%d placement=%s\n",
			c.Params.Replicas, c.Params.ChunkSize, c.Params.InlineMax, c.Params.Placement)
	}
	fmt.Fprintf(e.Stdout, "carrot up: etcd on %s, %d storage node(s)", c.Etcd.Endpoint, len(c.NodeAddr))
	for _, a := range c.NodeAddr {
		fmt.Fprintf(e.Stdout, " %s", a)
	}
	fmt.Fprintln(e.Stdout)
	fmt.Fprintf(e.Stdout, "carrot up: config %s (export CARROT_CONFIG=%s)\n", c.ConfPath, c.ConfPath)
	fmt.Fprintln(e.Stdout, "carrot up: ready")
	<-ctx.Done()
	c.Close()
	fmt.Fprintln(e.Stdout, "carrot up: stopped")
	return exitOK
}
