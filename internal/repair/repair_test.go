package repair_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/chunkstore"
	"github.com/carrot-project/carrot/internal/cluster/embedded"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"github.com/carrot-project/carrot/internal/membership"
	"github.com/carrot-project/carrot/internal/meta"
	"github.com/carrot-project/carrot/internal/meta/metapb"
	"github.com/carrot-project/carrot/internal/repair"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// leads records which repairers said they lead.
type leads struct {
	mu  sync.Mutex
	who []string
	ch  chan string
}

func (l *leads) logf(format string, args ...any) {
	msg := strings.TrimSpace(format)
	if !strings.Contains(msg, "leads repair") {
		return
	}
	id := args[0].(string)
	l.mu.Lock()
	l.who = append(l.who, id)
	l.mu.Unlock()
	l.ch <- id
}

// startEtcd starts an embedded etcd member for the test, and returns a
// context that ends with the test (a minute at most) and the client config.
func startEtcd(t *testing.T) (context.Context, *clusterconf.File) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	e, conf, err := embedded.StartEtcdConf(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return ctx, conf
}

// TestFailover: one repairer at a time leads; when the leader's process
// dies (its etcd client gone without resigning, as with kill -9), another
// takes over once the leader's session lease expires.
func TestFailover(t *testing.T) {
	ctx, conf := startEtcd(t)
	params := meta.DefaultParams()
	params.LeaseTTL, params.RepairInterval = time.Second, 100*time.Millisecond
	l := &leads{ch: make(chan string, 8)}
	start := func(id string) (*clientv3.Client, context.CancelFunc) {
		cli, err := conf.DialEtcd(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rctx, rcancel := context.WithCancel(ctx)
		view, err := membership.Watch(rctx, cli, conf.Prefix)
		if err != nil {
			t.Fatal(err)
		}
		pool, err := chunkstore.NewPoolConf(conf)
		if err != nil {
			t.Fatal(err)
		}
		r := &repair.Repairer{FS: meta.New(cli, conf.Prefix), View: view, Pool: pool, Params: params, Logf: l.logf}
		go r.Run(rctx, cli, id)
		return cli, rcancel
	}
	wait := func(d time.Duration) string {
		t.Helper()
		select {
		case id := <-l.ch:
			return id
		case <-time.After(d):
			return ""
		}
	}
	aCli, aStop := start("a")
	defer aStop()
	if id := wait(10 * time.Second); id != "a" {
		t.Fatalf("first leader %q, want a", id)
	}
	_, bStop := start("b")
	defer bStop()
	if id := wait(2 * time.Second); id != "" {
		t.Fatalf("%s leads while a does", id)
	}
	// a dies: no resignation, its lease runs out.
	died := time.Now()
	aCli.Close()
	if id := wait(15 * time.Second); id != "b" {
		t.Fatalf("after a died, leader %q, want b", id)
	}
	t.Logf("b took over %v after a died", time.Since(died).Round(time.Millisecond))
}

// TestLastReport: the kept report is shown only while it describes the
// cluster: recent, and with every node in the state the view shows.
func TestLastReport(t *testing.T) {
	ctx, conf := startEtcd(t)
	cli, err := conf.DialEtcd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	reg, err := membership.Register(ctx, cli, conf.Prefix, &metapb.NodeInfo{Id: "n1", Addr: "127.0.0.1:1"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	view, err := membership.Watch(ctx, cli, conf.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	for len(view.Live()) != 1 {
		select {
		case <-view.Changed():
		case <-ctx.Done():
			t.Fatal("n1 never live")
		}
	}
	fs := meta.New(cli, conf.Prefix)
	params := meta.DefaultParams()
	if rep, err := repair.LastReport(ctx, fs, view, params); rep != nil || err != nil {
		t.Fatalf("none kept: %+v, %v", rep, err)
	}
	up := []repair.NodeReport{{ID: "n1", State: "up", Chunks: 3}}
	for _, c := range []struct {
		what  string
		rep   repair.Report
		shown bool
	}{
		{"recent, same states", repair.Report{At: time.Now(), Nodes: up, Files: 7}, true},
		{"recent, node unreachable then", repair.Report{At: time.Now(), Nodes: []repair.NodeReport{{ID: "n1", State: "unreachable"}}}, true},
		{"an hour old", repair.Report{At: time.Now().Add(-time.Hour), Nodes: up}, false},
		{"node down then", repair.Report{At: time.Now(), Nodes: []repair.NodeReport{{ID: "n1", State: "down"}}}, false},
		{"a node since gone", repair.Report{At: time.Now(), Nodes: append(up, repair.NodeReport{ID: "n2", State: "up"})}, false},
		{"no node then", repair.Report{At: time.Now()}, false},
		{"a pass that copied", repair.Report{At: time.Now(), Nodes: up, Copied: 1}, false},
		{"a clock ahead", repair.Report{At: time.Now().Add(time.Hour), Nodes: up}, false},
	} {
		if err := repair.KeepReport(ctx, cli, conf.Prefix, &c.rep); err != nil {
			t.Fatal(err)
		}
		rep, err := repair.LastReport(ctx, fs, view, params)
		if err != nil || (rep != nil) != c.shown || (rep != nil && rep.Files != c.rep.Files) {
			t.Errorf("%s: got %+v, %v; want shown %v", c.what, rep, err, c.shown)
		}
	}
	// A node down since the pass that saw it up.
	reg2, err := membership.Register(ctx, cli, conf.Prefix, &metapb.NodeInfo{Id: "n2", Addr: "127.0.0.1:2"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitLive := func(n int) {
		for len(view.Live()) != n {
			select {
			case <-view.Changed():
			case <-ctx.Done():
				t.Fatalf("never %d nodes live", n)
			}
		}
	}
	waitLive(2)
	both := append(up, repair.NodeReport{ID: "n2", State: "up"})
	if err := repair.KeepReport(ctx, cli, conf.Prefix, &repair.Report{At: time.Now(), Nodes: both}); err != nil {
		t.Fatal(err)
	}
	if rep, err := repair.LastReport(ctx, fs, view, params); rep == nil || err != nil {
		t.Fatalf("both up, as the pass saw: %+v, %v", rep, err)
	}
	reg2.Close()
	waitLive(1)
	if rep, err := repair.LastReport(ctx, fs, view, params); rep != nil || err != nil {
		t.Fatalf("n2 down since the pass: got %+v, %v", rep, err)
	}
}
