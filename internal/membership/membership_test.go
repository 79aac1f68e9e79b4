package membership_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/cluster/embedded"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"github.com/carrot-project/carrot/internal/membership"
	"github.com/carrot-project/carrot/internal/meta/metapb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// startEtcd starts a real etcd member for the test and returns a context
// bounding the test, the member's config and a client of it.
func startEtcd(t *testing.T) (context.Context, *clusterconf.File, *clientv3.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	e, conf, err := embedded.StartEtcdConf(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	cli, err := conf.DialEtcd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return ctx, conf, cli
}

func TestJoinLeaveExpire(t *testing.T) {
	ctx, conf, cli := startEtcd(t)
	v, err := membership.Watch(ctx, cli, "/m/")
	if err != nil {
		t.Fatal(err)
	}
	a, err := membership.Register(ctx, cli, "/m/", &metapb.NodeInfo{Id: "a", Addr: "127.0.0.1:1"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// A node whose process dies: its own client, closed without revoking.
	cli2, err := conf.DialEtcd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(ctx)
	_, err = membership.Register(rctx, cli2, "/m/", &metapb.NodeInfo{Id: "b", Addr: "127.0.0.1:2"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.WaitLive(ctx, 2); err != nil {
		t.Fatal(err)
	}
	rcancel()
	cli2.Close() // keepalives stop; the lease expires after its TTL
	start := time.Now()
	waitView(t, v, 15*time.Second, "b to expire", func() bool { return len(v.Live()) == 1 })
	t.Logf("b seen down after %v", time.Since(start))
	nodes := v.Nodes()
	if len(nodes) != 2 || nodes[1].ID != "b" || nodes[1].Live || nodes[1].DownSince.IsZero() {
		t.Fatalf("%+v", nodes)
	}
	// The repairer records since when b is down; a view started later
	// knows that time, not its own start.
	since := time.Now().Add(-time.Hour).Round(time.Second)
	if err := membership.RecordDown(ctx, cli, "/m/", "b", since); err != nil {
		t.Fatal(err)
	}
	if err := membership.RecordDown(ctx, cli, "/m/", "b", time.Now()); err != nil { // kept: the first record stands
		t.Fatal(err)
	}
	if err := membership.RecordDown(ctx, cli, "/m/", "a", since); err != nil { // ignored: a is live
		t.Fatal(err)
	}
	later, err := membership.Watch(ctx, cli, "/m/")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range later.Nodes() {
		if n.ID == "b" && (!n.DownSince.Equal(since) || !n.DownRecorded) {
			t.Fatalf("a later view has b down since %v (recorded %v), want %v", n.DownSince, n.DownRecorded, since)
		}
		if n.ID == "a" && (!n.Live || n.DownRecorded) {
			t.Fatalf("a: %+v", n)
		}
	}
	// The first view takes the recorded time too.
	waitView(t, v, 5*time.Second, "the first view to see the recorded time", func() bool {
		n := v.Nodes()[1]
		return n.DownSince.Equal(since) && n.DownRecorded
	})
	// b comes back: the record is cleared with its registration.
	b, err := membership.Register(ctx, cli, "/m/", &metapb.NodeInfo{Id: "b", Addr: "127.0.0.1:2"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := cli.Get(ctx, "/m/nodes/down/b"); err != nil || len(r.Kvs) != 0 {
		t.Fatalf("down record left after b registered again: %v", err)
	}
	if err := v.WaitLive(ctx, 2); err != nil {
		t.Fatal(err)
	}
	b.Close()
	waitView(t, v, 5*time.Second, "b to leave after Close", func() bool { return len(v.Live()) == 1 })
	// a stays live past several TTLs.
	time.Sleep(2500 * time.Millisecond)
	if l := v.Live(); len(l) != 1 || l[0].ID != "a" {
		t.Fatalf("live %+v", l)
	}
	a.Close()
	waitView(t, v, 5*time.Second, "a to leave after Close", func() bool { return len(v.Live()) == 0 })
	membership.Forget(ctx, cli, "/m/", "b")
	waitView(t, v, 5*time.Second, "b to be forgotten", func() bool { return len(v.Nodes()) == 1 })
}

// waitView waits, at most d, until cond holds of v, checking at every
// change (the channel is taken before the check, so none is missed).
func waitView(t *testing.T, v *membership.View, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(d)
	for {
		ch := v.Changed()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("waited %v for %s: %+v", d, what, v.Nodes())
		}
	}
}

// cutProxy forwards TCP connections to target until cut, which closes
// every connection and refuses new ones until mend.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.cut {
				p.mu.Unlock()
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// TestWatchResumesAfterCompaction: a view cut off from etcd while the
// membership changes and the history it would resume from is compacted
// away (etcd then cancels its watch) reads everything again and follows
// on, instead of silently seeing nothing more.
func TestWatchResumesAfterCompaction(t *testing.T) {
	ctx, conf, cli := startEtcd(t)
	u, err := url.Parse(conf.EtcdEndpoints[0])
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	far := *conf
	far.EtcdEndpoints = []string{"https://" + proxy.ln.Addr().String()}
	vcli, err := far.DialEtcd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer vcli.Close()
	v, err := membership.Watch(ctx, vcli, "/w/")
	if err != nil {
		t.Fatal(err)
	}
	a, err := membership.Register(ctx, cli, "/w/", &metapb.NodeInfo{Id: "a", Addr: "127.0.0.1:1"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := v.WaitLive(ctx, 1); err != nil {
		t.Fatal(err)
	}
	proxy.setCut(true)
	b, err := membership.Register(ctx, cli, "/w/", &metapb.NodeInfo{Id: "b", Addr: "127.0.0.1:2"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, err := cli.Put(ctx, "/w/other", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, r.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	proxy.setCut(false)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := v.WaitLive(wctx, 2); err != nil {
		t.Fatalf("the view never saw b join while it was cut off: %v (%+v)", err, v.Nodes())
	}
	// And it follows on after that.
	b.Close()
	waitView(t, v, 30*time.Second, "b's leaving after the resumed watch", func() bool { return len(v.Live()) == 1 })
}
