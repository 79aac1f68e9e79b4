// Package repair keeps every chunk on R nodes and deletes chunks nothing
// references. One repairer runs at a time in a cluster: every storage node
// (and carrot up) campaigns in an etcd election (<prefix>repair/leader,
// go.etcd.io/etcd/client/v3/concurrency) and only the leader acts; if it
// dies its session lease expires and another takes over.
//
// A pass:
//  1. lists every live node's inventory (chunk, size, mtime);
//  2. reads the chunks pinned by uploads in progress (see meta's pins),
//     then every inode at one etcd revision: the referenced chunks;
//  3. for each referenced chunk, ranks the live nodes (the placement every
//     writer uses) and compares the holders with the first R of the
//     ranking: a chunk on fewer than R live nodes is under-replicated and
//     is copied (verified Get from a holder, durable Put) to the first
//     ranked nodes that lack it; a chunk on all of its first R nodes and
//     also elsewhere has its misplaced extra copies deleted (a node came
//     back, or joined); a chunk with R good copies not all on its first R
//     nodes (a node joined) is copied to those that lack it, at most
//     moveBudget bytes a pass, and a later pass deletes the copies left
//     beyond them: a join moves data onto the new node, about 1/N of it.
//     A copy whose size (the node's inventory) is not the size the inodes
//     record for the chunk (truncated, say) holds no good copy: it does
//     not count as a holder, so the chunk is
//     under-replicated and copied from a good one; the pass asks the node
//     to verify it (Conn.Verify: the node hashes it and, if bad,
//     quarantines and reports it itself: a node never drops a copy on the
//     repairer's word), and the Put of the good copy to that node checks
//     the copy there too, as every Put of a chunk held does;
//  4. deletes, on each node, chunks that no inode references and no upload
//     pins, that this repairer has seen unreferenced for GCGrace (so a
//     reader that opened a version just before it was replaced or removed
//     has GCGrace to read it, however old its chunks are), and whose file
//     is older than GCGrace (the node re-checks the mtime, and a Put of an
//     existing chunk refreshes it, so a chunk a writer is about to commit
//     survives; an upload that lasts longer than that has pinned its
//     chunks long before). A new repairer (restart, new leader) starts the
//     unreferenced clocks afresh: it waits longer, never shorter.
//
// Grace: while a known node has been down for less than RepairGrace the
// pass copies nothing and deletes nothing (the node may come back with its
// chunks), except chunks reported corrupt (<prefix>suspect/<id>, written by
// the node that quarantined them), which are repaired at once. Passes run
// every RepairInterval, and at once on a membership change or a report.
package repair

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/carrot-project/carrot/internal/chunkstore"
	"github.com/carrot-project/carrot/internal/membership"
	"github.com/carrot-project/carrot/internal/meta"
	"github.com/carrot-project/carrot/internal/placement"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Repairer repairs one cluster.
type Repairer struct {
	FS     *meta.FS
	View   *membership.View
	Pool   *chunkstore.Pool
	Params meta.Params
	Logf   func(format string, args ...any)

	// unrefSince is when each unreferenced chunk was first seen so.
	unrefSince map[string]time.Time
	// movedTo is the last chunk a pass moved: the next goes on from it.
	movedTo string
}

// NodeReport is one node in a Report.
type NodeReport struct {
	ID        string    `json:"id"`
	Addr      string    `json:"addr"`
	State     string    `json:"state"` // "up", "down", "unreachable"
	DownSince time.Time `json:"down_since,omitzero"`
	Chunks    int       `json:"chunks"`
	Bytes     int64     `json:"bytes"`
	DiskFree  uint64    `json:"disk_free,omitempty"`
	DiskTotal uint64    `json:"disk_total,omitempty"`
	Corrupt   uint64    `json:"corrupt_found,omitempty"`
	// The node's scrubber: passes completed since it started, bytes
	// verified, when the last pass ended, and how many chunks it could
	// not check (unreadable for a reason other than corruption).
	ScrubPasses   uint64    `json:"scrub_passes,omitempty"`
	ScrubbedBytes uint64    `json:"scrubbed_bytes,omitempty"`
	LastScrub     time.Time `json:"last_scrub,omitzero"`
	ScrubSkipped  uint64    `json:"scrub_skipped,omitempty"`
}

// Report is the state a pass found and what it did.
type Report struct {
	Replicas        int          `json:"replicas"`
	Nodes           []NodeReport `json:"nodes"`
	Files           int          `json:"files"`
	Referenced      int          `json:"referenced_chunks"`
	UnderReplicated int          `json:"under_replicated"`
	// Lost counts the chunks with no good copy on any node, every known
	// node having answered; Unavailable those with no good copy on the
	// nodes that answered while some are down or unreachable: they may
	// hold one and come back.
	Lost        int `json:"lost"`
	Unavailable int `json:"unavailable"`
	// WrongSize counts the copies (of referenced chunks) whose size is
	// not the chunk's: bad copies, not counted as holders (so their
	// chunks count as under-replicated, or lost), which the pass has
	// their nodes verify and quarantine.
	WrongSize int `json:"wrong_size_copies"`
	Misplaced int `json:"misplaced_copies"`
	// ToMove counts the chunks with R good copies that are not all on the
	// first R nodes of their ranking (a node joined, or came back): the
	// pass copies them there, at most moveBudget bytes a pass, and a later
	// pass deletes the copies left beyond the first R (Misplaced). Moved
	// says how many this pass copied.
	ToMove int `json:"chunks_to_move"`
	Moved  int `json:"moved"`
	// Unreferenced counts the copies no file version references (nor an
	// upload in progress pins); Garbage those of them unreferenced, and
	// untouched, for GCGrace: the ones the collector deletes.
	Unreferenced int     `json:"unreferenced_copies"`
	Garbage      int     `json:"garbage_chunks"`
	Copied       int     `json:"copied"`
	Deleted      int     `json:"deleted"`
	Waiting      bool    `json:"waiting_for_grace"`
	Balance      float64 `json:"balance"` // busiest live node's chunks over the mean

	// At is when the pass began; Scan how long reading every inode took.
	At   time.Time     `json:"as_of"`
	Scan time.Duration `json:"scan_ns"`
}

func (r *Repairer) logf(format string, args ...any) {
	if r.Logf != nil {
		r.Logf(format, args...)
	}
}

type holder struct {
	size  int64
	mtime time.Time
}

// Pass scans the cluster; if act, it repairs and collects garbage.
// suspects are chunks reported corrupt, repaired even within grace.
func (r *Repairer) Pass(ctx context.Context, act bool, suspects map[string]bool) (*Report, error) {
	now := time.Now()
	rep := &Report{Replicas: r.Params.Replicas, At: now}
	// 1. inventories of live nodes.
	var live []placement.Node
	addrs := map[string]string{}
	inv := map[string]map[string]holder{} // node -> chunk -> info
	var mu sync.Mutex
	var wg sync.WaitGroup
	nodes := r.View.Nodes()
	rep.Nodes = make([]NodeReport, len(nodes))
	wasLive := 0
	for i, n := range nodes {
		rep.Nodes[i] = NodeReport{ID: n.ID, Addr: n.Addr, State: "down"}
		if n.DownRecorded || act {
			// A view started after the node went down (a status
			// command's) knows only when it started: no time then.
			rep.Nodes[i].DownSince = n.DownSince
		}
		if !n.Live {
			if now.Sub(n.DownSince) < r.Params.RepairGrace {
				rep.Waiting = true
			}
			if act && !n.DownRecorded {
				// For views started later (status, the next repairer).
				if err := membership.RecordDown(ctx, r.FS.Client(), r.FS.Prefix(), n.ID, n.DownSince); err != nil {
					r.logf("repair: recording that node %s is down: %v", n.ID, err)
				}
			}
			continue
		}
		wasLive++
		wg.Add(1)
		go func() {
			defer wg.Done()
			nr := &rep.Nodes[i]
			// A node that hangs (its process stopped, its disk stuck)
			// must not stall the pass: it counts as unreachable. One
			// that lists a large store slowly keeps sending.
			conn, err := r.Pool.Get(n.Addr)
			var list []chunkstore.ChunkInfo
			if err == nil {
				list, err = conn.ListIdle(ctx, nodeTimeout)
			}
			if err != nil {
				nr.State = "unreachable"
				r.logf("repair: node %s: %v", n.ID, err)
				return
			}
			sctx, cancel := context.WithTimeout(ctx, nodeTimeout)
			defer cancel()
			if st, err := conn.Stats(sctx); err == nil {
				nr.DiskFree, nr.DiskTotal, nr.Corrupt = st.DiskFree, st.DiskTotal, st.Corrupt
				nr.ScrubPasses, nr.ScrubbedBytes, nr.ScrubSkipped = st.ScrubPasses, st.ScrubbedBytes, st.ScrubSkipped
				if st.LastScrubUnixNano != 0 {
					nr.LastScrub = time.Unix(0, st.LastScrubUnixNano)
				}
			}
			m := make(map[string]holder, len(list))
			for _, ci := range list {
				m[ci.ID] = holder{ci.Size, ci.Mtime}
				nr.Bytes += ci.Size
			}
			nr.Chunks = len(list)
			nr.State = "up"
			mu.Lock()
			inv[n.ID] = m
			live = append(live, placement.Node{ID: n.ID, Weight: n.Weight})
			addrs[n.ID] = n.Addr
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(live) < wasLive {
		// A live node did not answer (and may have gone down while the
		// pass waited for it): never copy or delete on partial knowledge.
		rep.Waiting = true
	}
	// 2. referenced chunks; first the pinned ones, so that an upload
	// committed between the two reads is seen by one or the other.
	pinned, err := r.FS.Pinned(ctx)
	if err != nil {
		return nil, fmt.Errorf("repair: reading pins: %w", err)
	}
	refs := map[string]int64{}
	scanStart := time.Now()
	_, err = r.FS.ForEachInode(ctx, func(in *meta.Inode) error {
		if in.IsReg() {
			rep.Files++
		}
		for _, c := range in.Chunks {
			if c.ID != "" {
				refs[c.ID] = int64(c.Size)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("repair: reading inodes: %w", err)
	}
	rep.Referenced = len(refs)
	rep.Scan = time.Since(scanStart)
	// 3. replication.
	p, err := placement.New(r.Params.Placement, live)
	if err != nil {
		return nil, err
	}
	R := min(r.Params.Replicas, len(live))
	type copyJob struct {
		id      string
		from    []string
		targets []string // ranked candidates lacking it
		need    int
	}
	var copies, moves []copyJob
	// Some node may hold a copy no live node has.
	incomplete := false
	for _, n := range rep.Nodes {
		incomplete = incomplete || n.State != "up"
	}
	extra := map[string][]string{}     // node -> misplaced chunks
	wrongSize := map[string][]string{} // node -> chunks of a wrong size
	good := func(n, id string) bool {
		h, ok := inv[n][id]
		return ok && h.size == refs[id]
	}
	ids := make([]string, 0, len(refs))
	for id := range refs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		rank := p.Rank(id, 0)
		var holders, lacking []string
		for _, n := range rank {
			if good(n, id) {
				holders = append(holders, n)
				continue
			}
			if h, ok := inv[n][id]; ok {
				rep.WrongSize++
				wrongSize[n] = append(wrongSize[n], id)
				if act {
					r.logf("repair: node %s holds chunk %s of %d bytes, not %d: not a good copy", n, id, h.size, refs[id])
				}
			}
			lacking = append(lacking, n)
		}
		switch {
		case len(holders) == 0:
			if incomplete {
				rep.Unavailable++
			} else {
				rep.Lost++
			}
			if !rep.Waiting {
				r.logf("repair: chunk %s has no good copy on any live node", id)
			}
		case len(holders) < r.Params.Replicas:
			rep.UnderReplicated++
			if len(holders) < R {
				copies = append(copies, copyJob{id: id, from: holders, targets: lacking, need: R - len(holders)})
			}
		default:
			var off []string // of the first R, those lacking it
			for _, n := range rank[:R] {
				if !good(n, id) {
					off = append(off, n)
				}
			}
			if len(off) > 0 {
				rep.ToMove++
				moves = append(moves, copyJob{id: id, from: holders, targets: off, need: len(off)})
			} else {
				for _, n := range rank[R:] {
					if good(n, id) {
						rep.Misplaced++
						extra[n] = append(extra[n], id)
					}
				}
			}
		}
	}
	// 4. garbage: unreferenced for GCGrace, and untouched for as long.
	garbage := map[string][]string{}
	unref := map[string]time.Time{}
	for n, m := range inv {
		for id, h := range m {
			if _, ok := refs[id]; ok || pinned[id] {
				continue
			}
			rep.Unreferenced++
			since, ok := unref[id]
			if !ok {
				if since, ok = r.unrefSince[id]; !ok {
					since = now
				}
				unref[id] = since
			}
			if now.Sub(since) >= r.Params.GCGrace && now.Sub(h.mtime) >= r.Params.GCGrace {
				rep.Garbage++
				garbage[n] = append(garbage[n], id)
			}
		}
	}
	if act {
		r.unrefSince = unref // forgets chunks referenced again or gone
	}
	rep.Balance = balance(rep.Nodes)
	if !act {
		return rep, nil
	}
	// Copies of a wrong size are verified by their nodes, even within
	// grace: it costs a read, and a node drops only a copy its own hash
	// check finds bad. One found bad is repaired at once, as a reported
	// one is.
	found := map[string]bool{}
	for n, ids := range wrongSize {
		for _, id := range r.verifyChunks(ctx, n, addrs[n], ids) {
			found[id] = true
		}
	}
	for _, job := range copies {
		if rep.Waiting && !suspects[job.id] && !found[job.id] {
			continue
		}
		if made, _ := r.copyChunk(ctx, job.id, job.from, job.targets, job.need, addrs); made > 0 {
			rep.Copied++
		}
	}
	if rep.Waiting {
		return rep, nil
	}
	// Moves onto the first R nodes: the data is safe where it is, so
	// they come after repairs, a bounded amount a pass, each pass going on
	// from where the last stopped; a node that failed a copy (full, say)
	// gets no more this pass.
	budget := int64(moveBudget)
	refusing := map[string]bool{}
	first := sort.Search(len(moves), func(i int) bool { return moves[i].id > r.movedTo })
	for k := range moves {
		if budget <= 0 {
			break
		}
		job := moves[(first+k)%len(moves)]
		var targets []string
		for _, t := range job.targets {
			if !refusing[t] {
				targets = append(targets, t)
			}
		}
		if len(targets) == 0 {
			continue
		}
		made, failed := r.copyChunk(ctx, job.id, job.from, targets, job.need, addrs)
		for _, t := range failed {
			refusing[t] = true
		}
		if made > 0 {
			rep.Moved++
			budget -= refs[job.id] * int64(made)
			r.movedTo = job.id
		}
	}
	older := now.Add(-r.Params.GCGrace)
	for n, ids := range garbage {
		rep.Deleted += r.deleteChunks(ctx, addrs[n], ids, older)
	}
	// A misplaced copy is deleted only if untouched for a while: a writer
	// may have just put it there while the ranking changed. Its chunk is
	// referenced and on all of its first R nodes, so nothing waits for the
	// copy: two repair intervals will do, where garbage waits GCGrace.
	misplacedOlder := now.Add(-min(r.Params.GCGrace, 2*r.Params.RepairInterval))
	for n, ids := range extra {
		rep.Deleted += r.deleteChunks(ctx, addrs[n], ids, misplacedOlder)
	}
	return rep, nil
}

// verifyChunks asks node n (at addr) to verify its copies of ids, found
// of a wrong size, and returns those it found bad (and quarantined).
func (r *Repairer) verifyChunks(ctx context.Context, n, addr string, ids []string) []string {
	conn, err := r.Pool.Get(addr)
	if err != nil {
		return nil
	}
	var bad []string
	for _, id := range ids {
		size, err := conn.Verify(ctx, id)
		switch {
		case errors.Is(err, chunkstore.ErrCorrupt):
			r.logf("repair: node %s found its copy of %s bad and quarantined it", n, id)
			bad = append(bad, id)
		case errors.Is(err, chunkstore.ErrNotFound):
			// Gone meanwhile (quarantined by a reader, say).
		case err != nil:
			r.logf("repair: node %s verifying %s: %v", n, id, err)
		default:
			// It matches its id: the inodes' size for it is what is wrong.
			r.logf("repair: node %s holds chunk %s of %d bytes, and it verifies: the files' size for it is wrong", n, id, size)
		}
	}
	return bad
}

func (r *Repairer) deleteChunks(ctx context.Context, addr string, ids []string, older time.Time) int {
	conn, err := r.Pool.Get(addr)
	if err != nil {
		return 0
	}
	total := 0
	for start := 0; start < len(ids); start += 1000 {
		n, err := conn.Delete(ctx, ids[start:min(len(ids), start+1000)], older)
		if err != nil {
			r.logf("repair: delete on %s: %v", addr, err)
			return total
		}
		total += n
	}
	return total
}

// copyChunk reads a verified copy from a holder and puts it on the first
// need targets that accept it.
func (r *Repairer) copyChunk(ctx context.Context, id string, from, targets []string, need int, addrs map[string]string) (made int, failed []string) {
	var data []byte
	for _, h := range from {
		conn, err := r.Pool.Get(addrs[h])
		if err != nil {
			continue
		}
		if data, err = conn.Get(ctx, id, nil); err == nil {
			break
		}
		r.logf("repair: reading %s from %s: %v", id[:12], h, err)
	}
	if data == nil {
		return 0, nil
	}
	for _, t := range targets {
		if made == need {
			break
		}
		conn, err := r.Pool.Get(addrs[t])
		if err == nil {
			_, err = conn.Put(ctx, id, data)
		}
		if err != nil {
			r.logf("repair: copying %s to %s: %v", id[:12], t, err)
			failed = append(failed, t)
			continue
		}
		made++
	}
	return made, failed
}

// nodeTimeout bounds a node's silence during a pass's List (4,096 chunks a
// message: a minute allows 15 ms a chunk, a cold disk's seek or two) and
// its answer to Stats.
const nodeTimeout = time.Minute

// moveBudget bounds the bytes a pass copies to rebalance (with passes
// every RepairInterval, 30 s by default: about 8.5 MiB/s at most), so that
// a node joining a full cluster is filled over time without taking the
// disks from the clients.
const moveBudget = 256 << 20

func balance(nodes []NodeReport) float64 {
	total, busiest, n := 0, 0, 0
	for _, nr := range nodes {
		if nr.State != "up" {
			continue
		}
		n++
		total += nr.Chunks
		busiest = max(busiest, nr.Chunks)
	}
	if n == 0 || total == 0 {
		return 0
	}
	return float64(busiest) / (float64(total) / float64(n))
}

// ReportCorrupt records that a node found chunk id corrupt, so the
// repairer restores it without waiting.
func ReportCorrupt(ctx context.Context, cli *clientv3.Client, prefix, id, node string) error {
	_, err := cli.Put(ctx, prefix+"suspect/"+id, node)
	return err
}

// Run campaigns for leadership and, while leader, runs passes until ctx
// ends. id names the campaigner.
func (r *Repairer) Run(ctx context.Context, cli *clientv3.Client, id string) {
	prefix := r.FS.Prefix()
	for ctx.Err() == nil {
		err := r.lead(ctx, cli, prefix, id)
		if err != nil && ctx.Err() == nil {
			r.logf("repair: %v", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// restShare bounds the time passes spend reading inodes: a pass reads
// every inode, which costs etcd about 25 µs of CPU per inode of a small
// file (its value holds the data), seconds for a namespace of 100,000
// files; so the next pass, whatever wakes it, starts no sooner than
// restShare times that scan after the last one ended (scans take at most
// a tenth of the time).
const restShare = 9

func restAfter(scan time.Duration) time.Duration { return restShare * scan }

func (r *Repairer) lead(ctx context.Context, cli *clientv3.Client, prefix, id string) error {
	sess, err := concurrency.NewSession(cli, concurrency.WithTTL(int(max(1, r.Params.LeaseTTL/time.Second))), concurrency.WithContext(ctx))
	if err != nil {
		return err
	}
	defer sess.Close()
	el := concurrency.NewElection(sess, prefix+"repair/leader")
	if err := el.Campaign(ctx, id); err != nil {
		return err
	}
	r.logf("repair: %s leads repair", id)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-sess.Done():
			cancel()
		case <-lctx.Done():
		}
	}()
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	go func() {
		wc := cli.Watch(lctx, prefix+"suspect/", clientv3.WithPrefix())
		for range wc {
			poke()
		}
	}()
	go func() {
		for lctx.Err() == nil {
			select {
			case <-r.View.Changed():
				poke()
			case <-lctx.Done():
			}
		}
	}()
	interval := max(r.Params.RepairInterval, 100*time.Millisecond)
	for lctx.Err() == nil {
		susp, err := cli.Get(lctx, prefix+"suspect/", clientv3.WithPrefix())
		suspects := map[string]bool{}
		if err == nil {
			for _, kv := range susp.Kvs {
				suspects[strings.TrimPrefix(string(kv.Key), prefix+"suspect/")] = true
			}
		}
		rep, err := r.Pass(lctx, true, suspects)
		if err != nil {
			r.logf("repair pass: %v", err)
		} else {
			if rep.Copied+rep.Moved+rep.Deleted > 0 {
				r.logf("repair pass: copied %d, moved %d, deleted %d, under-replicated %d, lost %d, unavailable %d", rep.Copied, rep.Moved, rep.Deleted, rep.UnderReplicated, rep.Lost, rep.Unavailable)
			}
			if err == nil && len(suspects) > 0 && rep.UnderReplicated == 0 {
				cli.Delete(lctx, prefix+"suspect/", clientv3.WithPrefix(), clientv3.WithRev(0))
			}
			if err := keepReport(lctx, cli, prefix, rep); err != nil {
				r.logf("repair: keeping the pass's report: %v", err)
			}
		}
		// Wait for the interval, or a grace period ending, or a poke;
		// and, whatever comes, rest after a long scan.
		wait, rest := interval, time.Duration(0)
		if rep != nil {
			if rep.Waiting {
				wait = min(wait, time.Second)
			}
			rest = restAfter(rep.Scan)
		}
		select {
		case <-lctx.Done():
		case <-wake:
			// Let a burst of events settle.
			select {
			case <-time.After(max(200*time.Millisecond, rest)):
			case <-lctx.Done():
			}
		case <-time.After(max(wait, rest)):
		}
	}
	return nil
}
