//go:build !nocluster

package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/carrot-project/carrot/internal/chunkstore"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"github.com/carrot-project/carrot/internal/node"
)

func init() {
	register(&command{
		Name:    "node",
		Summary: "serve as a storage node of a cluster (chunks in a data directory)",
		Run:     runNode,
	})
}

// scrubFlags defines the scrubber's flags (carrot node, carrot up).
func scrubFlags(fs *flag.FlagSet) (rate *string, interval *time.Duration) {
	rate = fs.String("scrub-rate", "32M", "bytes per second the background scrubber reads to verify chunks at rest (0: no scrubbing)")
	interval = durationFlag(fs, "scrub-interval", 7*24*time.Hour, "time between the starts of two scrub passes over every chunk")
	return rate, interval
}

// scrubOptions checks the scrubber's flags.
func scrubOptions(rate string, interval time.Duration) (chunkstore.ScrubOptions, error) {
	r, err := parseBytes(rate)
	if err != nil {
		return chunkstore.ScrubOptions{}, fmt.Errorf("--scrub-rate: %w", err)
	}
	if r > 0 && interval <= 0 {
		return chunkstore.ScrubOptions{}, fmt.Errorf("--scrub-interval %v: must be positive", interval)
	}
	// A store never scrubbed waits a little before its first pass, so a
	// node that just started serves first.
	return chunkstore.ScrubOptions{Rate: r, Interval: interval, Start: min(interval, time.Minute)}, nil
}

// parseBytes reads a byte count with an optional K, M, G or T suffix
// (powers of 1024).
func parseBytes(s string) (int64, error) {
	mult := int64(1)
	u := strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(s, "iB"), "B"))
	if n := len(u); n > 0 {
		switch u[n-1] {
		case 'K':
			mult, u = 1<<10, u[:n-1]
		case 'M':
			mult, u = 1<<20, u[:n-1]
		case 'G':
			mult, u = 1<<30, u[:n-1]
		case 'T':
			mult, u = 1<<40, u[:n-1]
		}
	}
	v, err := strconv.ParseInt(u, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return v * mult, nil
}

const nodeHelp = `
usage: carrot node --listen ADDR --data DIR [--config FILE] [--capacity SIZE] [--weight W] [--scrub-rate R] [--scrub-interval D]

The config names the etcd endpoints and the cluster's credentials. Runs until
SIGINT or SIGTERM; prints 'carrot node: ID serving on ADDR' once registered.`

func runNode(ctx context.Context, e *env) int {
	fs := e.flags("carrot node", nodeHelp)
	listen := fs.String("listen", "", "address to serve on, host:port (required; port 0 picks one)")
	advertise := fs.String("advertise", "", "address clients use to reach this node (default: the bound address)")
	data := fs.String("data", "", "directory holding this node's chunks and identity (required)")
	config := fs.String("config", "", "cluster config (default $CARROT_CONFIG, else "+clusterconf.DefaultPath()+")")
	capacity := fs.String("capacity", "0", "most chunk bytes to hold, e.g. 500G (0: what the disk holds)")
	weight := fs.Float64("weight", 1, "share of the chunks relative to other nodes")
	scrubRate, scrubInterval := scrubFlags(fs)
	if code, ok := e.parse(fs); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int { return e.usageError("node: "+format, a...) }
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *listen == "":
		return usageErr("--listen is required")
	case *data == "":
		return usageErr("--data is required")
	case *weight <= 0:
		return usageErr("--weight %v: must be positive", *weight)
	}
	capBytes, err := parseBytes(*capacity)
	if err != nil {
		return usageErr("--capacity: %v", err)
	}
	scrub, err := scrubOptions(*scrubRate, *scrubInterval)
	if err != nil {
		return usageErr("%v", err)
	}
	conf, err := clusterconf.Load(clusterconf.Locate(*config))
	if err != nil {
		e.errorf("node: %v", err)
		return exitFailure
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = node.Run(ctx, node.Config{
		Listen: *listen, Advertise: *advertise, DataDir: *data, Conf: conf,
		Capacity: capBytes, Weight: *weight, Scrub: scrub,
		Logf: func(f string, a ...any) { e.errorf(f, a...) },
		Ready: func(id, addr string) {
			fmt.Fprintf(e.Stdout, "carrot node: %s serving on %s\n", id, addr)
		},
	})
	if err != nil && ctx.Err() == nil {
		e.errorf("%v", err)
		return exitFailure
	}
	return exitOK
}
