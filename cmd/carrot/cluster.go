//go:build !nocluster

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/carrot-project/carrot/internal/cluster"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"github.com/carrot-project/carrot/internal/linux"
	"github.com/carrot-project/carrot/internal/membership"
	"github.com/carrot-project/carrot/internal/repair"
)

func init() {
	register(&command{
		Name:    "cluster",
		Summary: "inspect the storage cluster: 'carrot cluster status [--json] [--scan]', 'carrot cluster forget NODE-ID'",
		Run:     runCluster,
	})
}

// clusterErr prints a cluster error with its errno name.
func clusterErr(e *env, op string, err error) int {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		e.errorf("%s: %v (%s)", op, err, linux.ErrnoName(int(errno)))
	} else {
		e.errorf("%s: %v", op, err)
	}
	return exitFailure
}

// dialCluster loads the config and connects.
func dialCluster(ctx context.Context, configFlag string, opts cluster.Options) (*cluster.Client, error) {
	conf, err := clusterconf.Load(clusterconf.Locate(configFlag))
	if err != nil {
		if !errors.As(err, new(syscall.Errno)) {
			err = fmt.Errorf("%w: %w", err, syscall.EINVAL) // unreadable as a config
		}
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return cluster.Dial(dctx, conf, opts)
}

const clusterHelp = `
usage: carrot cluster status [--json] [--scan] [--config FILE]
       carrot cluster forget NODE-ID [--config FILE]

forget removes a node that is down for good (not a live one) from the
cluster: status stops listing it and its chunks get their copies back from
the other nodes.

Shows every node (state, chunks, bytes, disk), the chunks under-replicated
or lost, garbage awaiting collection and the balance of chunks over nodes
(busiest node / mean). These come from the repairer's last pass, which
reads every inode and every node's inventory, as long as that pass is
recent and the nodes are still in the states it saw; otherwise, and with
--scan, the command makes such a pass itself: its cost grows with the data.`

func runCluster(ctx context.Context, e *env) int {
	fs := e.flags("carrot cluster", clusterHelp)
	config := fs.String("config", "", "cluster config (default $CARROT_CONFIG, else "+clusterconf.DefaultPath()+")")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	scan := fs.Bool("scan", false, "read every inode and node inventory now, not the repairer's last pass")
	if len(e.Args) == 0 || e.Args[0] != "status" && e.Args[0] != "forget" {
		if len(e.Args) > 0 && (e.Args[0] == "-h" || e.Args[0] == "--help" || e.Args[0] == "-help") {
			fs.Usage()
			return exitOK
		}
		if len(e.Args) == 0 {
			return e.usageError("cluster: missing subcommand: 'carrot cluster status [--json] [--scan]' or 'carrot cluster forget NODE-ID'")
		}
		return e.usageError("cluster: unknown subcommand %q: 'carrot cluster status [--json] [--scan]' or 'carrot cluster forget NODE-ID'", e.Args[0])
	}
	sub := e.Args[0]
	e.Args = e.Args[1:]
	if sub == "forget" {
		return clusterForget(ctx, e, fs, config)
	}
	if code, ok := e.parse(fs); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return e.usageError("cluster status: unexpected argument %q", fs.Arg(0))
	}
	c, err := dialCluster(ctx, *config, cluster.Options{})
	if err != nil {
		return clusterErr(e, "cluster status", err)
	}
	defer c.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var rep *repair.Report
	if !*scan {
		if rep, err = repair.LastReport(pctx, c.FS, c.View(), c.Params); err != nil {
			return clusterErr(e, "cluster status", err)
		}
	}
	kept := rep != nil
	if !kept {
		rp := &repair.Repairer{FS: c.FS, View: c.View(), Pool: c.Pool(), Params: c.Params}
		if rep, err = rp.Pass(pctx, false, nil); err != nil {
			return clusterErr(e, "cluster status", err)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return clusterErr(e, "cluster status", err)
		}
		return exitOK
	}
	out := &stickyWriter{w: e.Stdout}
	printStatus(out, rep, kept)
	if out.err != nil {
		return clusterErr(e, "cluster status", fmt.Errorf("write error: %w", out.err))
	}
	return exitOK
}

// clusterForget removes a node that is down for good from the cluster's
// membership: status stops listing it, and the repairer stops counting its
// copies (the chunks it held get their copies back from the others at once,
// if its down time had not done so yet). A live node is refused.
func clusterForget(ctx context.Context, e *env, fs *flag.FlagSet, config *string) int {
	if code, ok := e.parse(fs); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return e.usageError("cluster forget: want one NODE-ID (see 'carrot cluster status'), got %d arguments", fs.NArg())
	}
	id := fs.Arg(0)
	c, err := dialCluster(ctx, *config, cluster.Options{})
	if err != nil {
		return clusterErr(e, "cluster forget", err)
	}
	defer c.Close()
	i := slices.IndexFunc(c.View().Nodes(), func(n membership.Node) bool { return n.ID == id })
	switch {
	case i < 0:
		return clusterErr(e, "cluster forget", fmt.Errorf("%s: no such node: %w", id, syscall.ENOENT))
	case c.View().Nodes()[i].Live:
		return clusterErr(e, "cluster forget", fmt.Errorf("%s is up (stop it first; its chunks stay where they are): %w", id, syscall.EBUSY))
	}
	if err := membership.Forget(ctx, c.Etcd(), c.Conf.Prefix, id); err != nil {
		return clusterErr(e, "cluster forget", fmt.Errorf("%s: %w", id, errnoOr(err, syscall.EIO)))
	}
	fmt.Fprintf(e.Stdout, "carrot cluster forget: %s forgotten; its chunks are copied from their other holders by the next repair pass\n", id)
	return exitOK
}

// errnoOr is err if it carries an errno, else err with def.
func errnoOr(err error, def syscall.Errno) error {
	if errors.As(err, new(syscall.Errno)) {
		return err
	}
	return fmt.Errorf("%v: %w", err, def)
}

// printStatus writes the text form of a status report (kept: the
// repairer's, else a pass of the command's own).
func printStatus(w io.Writer, rep *repair.Report, kept bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tADDRESS\tSTATE\tCHUNKS\tBYTES\tDISK FREE\tCORRUPT FOUND\tLAST SCRUB")
	for _, n := range rep.Nodes {
		state := n.State
		if !n.DownSince.IsZero() && n.State == "down" {
			state = fmt.Sprintf("down %s", time.Since(n.DownSince).Round(time.Second))
		}
		scrub := "-"
		if !n.LastScrub.IsZero() {
			scrub = fmt.Sprintf("%s ago", time.Since(n.LastScrub).Round(time.Second))
		}
		if n.ScrubSkipped > 0 {
			scrub += fmt.Sprintf(", %d chunks not checkable", n.ScrubSkipped)
		}
		chunks, bytes, free := fmt.Sprint(n.Chunks), human(n.Bytes), human(int64(n.DiskFree))
		if n.State != "up" {
			chunks, bytes, free = "-", "-", "-" // not known: it did not answer
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", n.ID, n.Addr, state, chunks, bytes, free, n.Corrupt, scrub)
	}
	tw.Flush()
	fmt.Fprintf(w, "files: %d  chunks: %d  replicas: %d\n", rep.Files, rep.Referenced, rep.Replicas)
	fmt.Fprintf(w, "under-replicated: %d  lost: %d  unavailable: %d  to move: %d  misplaced copies: %d  wrong-size copies: %d  unreferenced copies: %d",
		rep.UnderReplicated, rep.Lost, rep.Unavailable, rep.ToMove, rep.Misplaced, rep.WrongSize, rep.Unreferenced)
	if kept {
		// Only the repairer has watched them long enough to know.
		fmt.Fprintf(w, " (past the GC grace, collected: %d)", rep.Garbage)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "balance (busiest/mean chunks): %.3f\n", rep.Balance)
	if kept {
		fmt.Fprintf(w, "as of the repairer's pass %s ago (inodes read in %s; --scan for now)\n", time.Since(rep.At).Round(time.Second), scanTime(rep.Scan))
	} else {
		fmt.Fprintf(w, "as of now (inodes read in %s)\n", scanTime(rep.Scan))
	}
}

// scanTime formats how long a pass read inodes.
func scanTime(d time.Duration) string {
	if d < time.Millisecond {
		return "<1ms"
	}
	return d.Round(time.Millisecond).String()
}

// human formats a byte count.
func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
