//go:build !nocluster

package main

import (
	"context"
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

const upHelp = `
usage: carrot up [--dir DIR] [--nodes N] [--replicas R] [flags]

Runs in the foreground until SIGINT or SIGTERM. Writes DIR/carrot.toml, the
client config every 'carrot fs', 'carrot node' and 'carrot cluster' command
finds by --config, $CARROT_CONFIG or the default path. Started again on the
same DIR it comes back with all its data; the cluster parameters (replicas,
chunk size, grace periods) are those it was created with.`

func runUp(ctx context.Context, e *env) int {
	fs := e.flags("carrot up", upHelp)
	def := meta.DefaultParams()
	dir := fs.String("dir", clusterconf.DataDir(), "directory holding etcd's data, the nodes' chunks and carrot.toml")
	nodes := fs.Int("nodes", 3, "storage nodes to run in this process (0: metadata only; separate 'carrot node' processes join)")
	replicas := fs.Int("replicas", def.Replicas, "copies of every chunk (R); set when the cluster is created")
	etcdPort := fs.Int("etcd-port", 0, "etcd client port on 127.0.0.1 (0: the last run's, or a free one)")
	chunkSize := fs.Int("chunk-size", def.ChunkSize, "bytes per chunk (4096..4194304)")
	inlineMax := fs.Int("inline-max", def.InlineMax, "files up to this size are kept in their inode, not in chunks (0..65536)")
	leaseTTL := durationFlag(fs, "lease-ttl", def.LeaseTTL, "a node that stops renewing its lease this long is down")
	grace := durationFlag(fs, "repair-grace", def.RepairGrace, "a node down this long has its chunks re-replicated")
	gcGrace := durationFlag(fs, "gc-grace", def.GCGrace, "unreferenced chunks older than this are deleted")
	interval := durationFlag(fs, "repair-interval", def.RepairInterval, "time between repair passes")
	place := fs.String("placement", def.Placement, "chunk placement: hrw (rendezvous) or ring (consistent-hash ring, 256 vnodes)")
	scrubRate, scrubInterval := scrubFlags(fs)
	if code, ok := e.parse(fs); !ok {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return e.usageError("up: unexpected argument %q", fs.Arg(0))
	case *nodes < 0:
		return e.usageError("up: --nodes %d: must be 0 or more", *nodes)
	}
	p := meta.Params{
		Replicas: *replicas, ChunkSize: *chunkSize, InlineMax: *inlineMax, LeaseTTL: *leaseTTL,
		RepairGrace: *grace, GCGrace: *gcGrace, RepairInterval: *interval, Placement: *place,
	}
	if err := p.Check(); err != nil {
		return e.usageError("up: %v", err)
	}
	scrub, err := scrubOptions(*scrubRate, *scrubInterval)
	if err != nil {
		return e.usageError("up: %v", err)
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
		// Name each flag given that the cluster does not take.
		kept := map[string]string{
			"replicas": fmt.Sprint(c.Params.Replicas), "chunk-size": fmt.Sprint(c.Params.ChunkSize),
			"inline-max": fmt.Sprint(c.Params.InlineMax), "lease-ttl": c.Params.LeaseTTL.String(),
			"repair-grace": c.Params.RepairGrace.String(), "gc-grace": c.Params.GCGrace.String(),
			"repair-interval": c.Params.RepairInterval.String(), "placement": c.Params.Placement,
		}
		fs.Visit(func(f *flag.Flag) {
			if v, ok := kept[f.Name]; ok && f.Value.String() != v {
				e.errorf("up: warning: --%s %s ignored: this cluster was created with %s", f.Name, f.Value, v)
			}
		})
	}
	if *nodes > 0 && c.Params.Replicas > *nodes {
		e.errorf("up: warning: every chunk is kept on %d nodes and this process runs %d: files larger than %d bytes cannot be written until %d more join (carrot node)",
			c.Params.Replicas, *nodes, c.Params.InlineMax, c.Params.Replicas-*nodes)
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
