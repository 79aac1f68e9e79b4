package repair_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
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
	"github.com/carrot-project/carrot/internal/placement"
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

// testNode is a chunk store served on loopback and registered live.
type testNode struct {
	id      string
	store   *chunkstore.Store
	reg     *membership.Registration
	mu      sync.Mutex
	corrupt []string // reported by the store
}

func (n *testNode) reported() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.corrupt...)
}

func startNode(t *testing.T, ctx context.Context, cli *clientv3.Client, conf *clusterconf.File, id string) *testNode {
	t.Helper()
	n := &testNode{id: id}
	st, err := chunkstore.Open(t.TempDir(), chunkstore.Options{OnCorrupt: func(c string) {
		n.mu.Lock()
		n.corrupt = append(n.corrupt, c)
		n.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	n.store = st
	tlsConf, err := conf.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := chunkstore.NewGRPCServer(st, id, conf.Token, tlsConf)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	reg, err := membership.Register(ctx, cli, conf.Prefix, &metapb.NodeInfo{Id: id, Addr: ln.Addr().String()}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	n.reg = reg
	return n
}

// threeNodes is an etcd member, an initialised namespace, three live
// nodes a, b and c, and a repairer of the cluster (R=2) that logs into
// logs.
type threeNodes struct {
	ctx    context.Context
	conf   *clusterconf.File
	cli    *clientv3.Client
	fs     *meta.FS
	nodes  map[string]*testNode
	pnodes []placement.Node
	view   *membership.View
	r      *repair.Repairer
	logs   []string
}

func newThreeNodes(t *testing.T) *threeNodes {
	t.Helper()
	tc := &threeNodes{nodes: map[string]*testNode{}}
	tc.ctx, tc.conf = startEtcd(t)
	var err error
	if tc.cli, err = tc.conf.DialEtcd(tc.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.cli.Close() }) // after the nodes' registrations, which revoke through it
	tc.fs = meta.New(tc.cli, tc.conf.Prefix)
	if err := tc.fs.Init(tc.ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		tc.nodes[id] = startNode(t, tc.ctx, tc.cli, tc.conf, id)
		tc.pnodes = append(tc.pnodes, placement.Node{ID: id})
	}
	if tc.view, err = membership.Watch(tc.ctx, tc.cli, tc.conf.Prefix); err != nil {
		t.Fatal(err)
	}
	if err := tc.view.WaitLive(tc.ctx, 3); err != nil {
		t.Fatal(err)
	}
	pool, err := chunkstore.NewPoolConf(tc.conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	params := meta.DefaultParams()
	params.Replicas = 2
	tc.r = &repair.Repairer{FS: tc.fs, View: tc.view, Pool: pool, Params: params,
		Logf: func(f string, a ...any) { tc.logs = append(tc.logs, fmt.Sprintf(f, a...)) }}
	return tc
}

// put stores data on node n.
func (tc *threeNodes) put(t *testing.T, n string, data []byte) {
	t.Helper()
	if _, err := tc.nodes[n].store.Put(chunkstore.ID(data), int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

// file makes /name, one chunk id of size bytes.
func (tc *threeNodes) file(t *testing.T, name, id string, size int) {
	t.Helper()
	c := &meta.Content{Size: uint64(size), Chunks: []meta.Chunk{{ID: id, Size: uint32(size)}}}
	if _, err := tc.fs.Create(tc.ctx, meta.RootIno, name, meta.CreateOptions{Mode: 0o644, Content: c}); err != nil {
		t.Fatal(err)
	}
}

// TestWrongSizeCopy: a copy whose size is not the one the inodes record
// for its chunk is no good copy: its chunk counts as under-replicated (a
// pass that does not act changes nothing), and an acting pass has the
// node verify it (the node quarantines it) and copies the chunk from a
// good holder, also where the bad copy is an extra one no copy targets.
// A copy of a wrong size that verifies (the inode's size is what is
// wrong) is kept: a node drops a copy only on its own check.
func TestWrongSizeCopy(t *testing.T) {
	tc := newThreeNodes(t)
	ctx, nodes, r, logs := tc.ctx, tc.nodes, tc.r, &tc.logs
	rank := placement.NewHRW(tc.pnodes)

	put := func(n string, data []byte) { tc.put(t, n, data) }
	file := func(name, id string, size int) { tc.file(t, name, id, size) }
	path := func(n, id string) string {
		return filepath.Join(nodes[n].store.Dir(), "chunks", id[:2], id)
	}
	// A: on its two ranked nodes, the first one's copy truncated.
	dataA := bytes.Repeat([]byte("A"), 100000)
	idA := chunkstore.ID(dataA)
	rankA := rank.Rank(idA, 0)
	for _, n := range rankA[:2] {
		put(n, dataA)
	}
	file("a", idA, len(dataA))
	if err := os.Truncate(path(rankA[0], idA), 1000); err != nil {
		t.Fatal(err)
	}
	// B: on all three, the extra (third-ranked) copy truncated.
	dataB := bytes.Repeat([]byte("B"), 100000)
	idB := chunkstore.ID(dataB)
	rankB := rank.Rank(idB, 0)
	for _, n := range rankB {
		put(n, dataB)
	}
	file("b", idB, len(dataB))
	if err := os.Truncate(path(rankB[2], idB), 1000); err != nil {
		t.Fatal(err)
	}
	// C: its one file records a size it does not have.
	dataC := bytes.Repeat([]byte("C"), 100000)
	idC := chunkstore.ID(dataC)
	rankC := rank.Rank(idC, 0)
	for _, n := range rankC[:2] {
		put(n, dataC)
	}
	file("c", idC, len(dataC)+1)

	rep, err := r.Pass(ctx, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.UnderReplicated != 1 || rep.Lost != 1 || rep.WrongSize != 4 || rep.Misplaced != 0 || rep.Copied != 0 {
		t.Fatalf("scan: under-replicated %d, lost %d, wrong size %d, misplaced %d, copied %d (want 1, 1, 4, 0, 0)",
			rep.UnderReplicated, rep.Lost, rep.WrongSize, rep.Misplaced, rep.Copied)
	}
	if b, _ := json.Marshal(rep); !strings.Contains(string(b), `"wrong_size_copies":4`) {
		t.Fatalf("report JSON %s", b)
	}
	for _, n := range nodes {
		if len(n.reported()) != 0 {
			t.Fatalf("a pass that does not act had node %s check a copy", n.id)
		}
	}
	rep, err = r.Pass(ctx, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Copied != 1 {
		t.Fatalf("acting pass copied %d chunks, want 1\n%s", rep.Copied, strings.Join(*logs, "\n"))
	}
	// A: the good copy is back where the truncated one was, which its
	// node quarantined and reported.
	if got, err := os.ReadFile(path(rankA[0], idA)); err != nil || !bytes.Equal(got, dataA) {
		t.Fatalf("chunk A not restored on %s: %v", rankA[0], err)
	}
	if rep := nodes[rankA[0]].reported(); !slices.Contains(rep, idA) {
		t.Fatalf("node %s reported %v, not chunk A", rankA[0], rep)
	}
	// B: the extra bad copy quarantined by its node, the good ones kept.
	if _, err := os.Stat(path(rankB[2], idB)); err == nil {
		t.Fatalf("the truncated extra copy of B is still on %s", rankB[2])
	}
	if q, _ := filepath.Glob(filepath.Join(nodes[rankB[2]].store.Dir(), "corrupt", idB+".*")); len(q) != 1 || !slices.Contains(nodes[rankB[2]].reported(), idB) {
		t.Fatalf("node %s quarantined %v, reported %v: want chunk B", rankB[2], q, nodes[rankB[2]].reported())
	}
	for _, n := range rankB[:2] {
		if !nodes[n].store.Has(idB) {
			t.Fatalf("good copy of B gone from %s", n)
		}
	}
	// C: verified good, so kept (and not copied anywhere).
	for _, n := range rankC[:2] {
		if got, err := os.ReadFile(path(n, idC)); err != nil || !bytes.Equal(got, dataC) {
			t.Fatalf("copy of C on %s dropped: %v", n, err)
		}
	}
	if nodes[rankC[2]].store.Has(idC) {
		t.Fatal("C copied though no good copy was known")
	}
	rep, err = r.Pass(ctx, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.UnderReplicated != 0 || rep.Lost != 1 || rep.WrongSize != 2 {
		t.Fatalf("after: under-replicated %d, lost %d, wrong size %d (want 0, 1, 2: only C's)", rep.UnderReplicated, rep.Lost, rep.WrongSize)
	}
}

// TestJoinRebalances: after a node joins, the chunks it ranks among the
// first R for are copied to it, then their copies left beyond the first R
// are deleted: every chunk ends on exactly its first R nodes, and the new
// node holds its share. A chunk whose only copy is on a node that went
// down is unavailable, not lost.
func TestJoinRebalances(t *testing.T) {
	tc := newThreeNodes(t)
	ctx, cli, conf, nodes, view, r, logs := tc.ctx, tc.cli, tc.conf, tc.nodes, tc.view, tc.r, &tc.logs
	// Copies left behind go after two repair intervals, not the GC grace.
	r.Params.GCGrace, r.Params.RepairInterval = time.Hour, time.Millisecond
	three := tc.pnodes

	const chunks = 60
	var ids []string
	for i := range chunks {
		data := []byte(fmt.Sprintf("chunk %d of the join test", i))
		id := chunkstore.ID(data)
		for _, n := range placement.NewHRW(three).Rank(id, 0)[:2] {
			tc.put(t, n, data)
		}
		tc.file(t, fmt.Sprint(i), id, len(data))
		ids = append(ids, id)
	}
	time.Sleep(5 * time.Millisecond) // older than two repair intervals
	nodes["d"] = startNode(t, ctx, cli, conf, "d")
	if err := view.WaitLive(ctx, 4); err != nil {
		t.Fatal(err)
	}
	four := placement.NewHRW(append(three, placement.Node{ID: "d"}))
	wantMoves := 0
	for _, id := range ids {
		if slices.Contains(four.Rank(id, 0)[:2], "d") {
			wantMoves++
		}
	}
	if wantMoves < chunks/4 {
		t.Fatalf("only %d of %d chunks rank d among their first 2", wantMoves, chunks)
	}
	pass := func(act bool) *repair.Report {
		t.Helper()
		rep, err := r.Pass(ctx, act, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := pass(false); rep.ToMove != wantMoves || rep.Moved != 0 || rep.UnderReplicated != 0 || rep.Misplaced != 0 {
		t.Fatalf("scan after the join: to move %d (want %d), moved %d, under-replicated %d, misplaced %d",
			rep.ToMove, wantMoves, rep.Moved, rep.UnderReplicated, rep.Misplaced)
	}
	if rep := pass(true); rep.Moved != wantMoves {
		t.Fatalf("first pass moved %d, want %d\n%s", rep.Moved, wantMoves, strings.Join(*logs, "\n"))
	}
	if rep := pass(true); rep.ToMove != 0 || rep.Misplaced != wantMoves || rep.Deleted != wantMoves {
		t.Fatalf("second pass: to move %d, misplaced %d, deleted %d (want 0, %d, %d)", rep.ToMove, rep.Misplaced, rep.Deleted, wantMoves, wantMoves)
	}
	rep := pass(false)
	if rep.ToMove != 0 || rep.Misplaced != 0 || rep.UnderReplicated != 0 || rep.Lost != 0 {
		t.Fatalf("after rebalancing: %+v", rep)
	}
	for _, id := range ids {
		first := four.Rank(id, 0)[:2]
		for n, tn := range nodes {
			if tn.store.Has(id) != slices.Contains(first, n) {
				t.Fatalf("chunk %s: on %s %v, but its first two nodes are %v", id[:12], n, tn.store.Has(id), first)
			}
		}
	}
	if got := nodes["d"].store.Stats().Chunks; got != int64(wantMoves) {
		t.Fatalf("d holds %d chunks, want %d", got, wantMoves)
	}

	// Now d goes down for good, holding the only copy of a new chunk.
	data := []byte("only on d")
	id := chunkstore.ID(data)
	tc.put(t, "d", data)
	tc.file(t, "only-on-d", id, len(data))
	nodes["d"].reg.Close()
	for len(view.Live()) != 3 {
		select {
		case <-view.Changed():
		case <-ctx.Done():
			t.Fatal("d never went down")
		}
	}
	if rep := pass(false); rep.Unavailable != 1 || rep.Lost != 0 {
		t.Fatalf("with d down: unavailable %d, lost %d (want 1, 0)", rep.Unavailable, rep.Lost)
	}
}
