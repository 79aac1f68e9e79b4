package meta

import (
	"context"
	"errors"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Group commit of creates. Every create is one etcd transaction guarded by
// its own compares (the name is free, the parent exists, the new inode
// number is unused). Creates that one client issues concurrently are
// gathered into one transaction holding all their compares and puts: if
// every compare holds, each create would have succeeded alone at that
// revision, so the combined transaction is exactly their sequence, at the
// cost of one request, one raft entry and one WAL write instead of n. If
// any compare fails, nobody's create happened and each is retried alone
// (which finds its own errno).
//
// A create arriving while no transaction of this client is in flight goes
// out at once, alone; the ones arriving meanwhile queue and leave together
// when it returns (the leader/follower pattern: the goroutine whose create
// is in the next batch sends it, no helper goroutine is involved).
//
// Creates returning from a batch often create again at once (16 threads
// making files), but a moment after the next batch has left: then a
// straggler or two go out alone, the returning creates wait for that
// round trip, and the batches alternate between nearly all of the
// creators and the few left out — twice the round trips. So for
// siblingWait after a batch returns, a leader first waits for as many
// creates as that batch held plus those then queued (what PostgreSQL's
// commit_delay does when commit_siblings are active). A lone creator
// never waits: its batch of one expects one.

// maxBatch bounds the creates of one transaction: 3 compares each stay
// under etcd's default limit of 128 operations per transaction.
const maxBatch = 32

// batchTimeout bounds one combined transaction (it is not cancelled with
// the context of whichever caller sends it).
const batchTimeout = 30 * time.Second

// errAlone says the batch failed as a whole: retry the create alone.
var errAlone = errors.New("batched create failed: retry alone")

type pendingCreate struct {
	parent     uint64
	dk, ik, pk string
	dirent     string
	inode      string
	t          time.Time

	state   int           // queued, sent, finished; guarded by batcher.mu
	leading bool          // lead is closed; guarded by batcher.mu
	lead    chan struct{} // closed: this goroutine sends the next batch
	done    chan struct{} // closed when resp/err are set
	resp    *clientv3.TxnResponse
	err     error
}

const (
	queued = iota
	sent
	finished
)

type batcher struct {
	mu       sync.Mutex
	inflight int // batches being sent
	queue    []*pendingCreate
	// want is how many creates the next batch is expected to hold, until
	// the moment until: those of the batch that returned last, and those
	// queued when it did. full, when not nil, is closed once the queue
	// holds want.
	want  int
	until time.Time
	full  chan struct{}
}

// maxInflight is how many batches one client sends at once. More than one
// lets etcd write one while it applies another, but measured with 16
// creating threads (1, 2 or 4 in flight, alternated three times) one
// was as fast and cheapest in CPU: the batches are simply larger.
var maxInflight = 1

// siblingWait bounds how long a leader handed the lead waits for the
// creates it expects: a fraction of a batch's round trip (1.5–3 ms on the
// development VM for 16 creates to etcd in another process), and the
// creators of a returned batch were measured back within 130–160 µs
// (median) when they create again.
var siblingWait = 200 * time.Microsecond

// run commits p, possibly with others. A batch of one is p's own
// transaction, with an Else reading what failed; otherwise a failed batch
// is errAlone.
func (b *batcher) run(ctx context.Context, f *FS, p *pendingCreate) (*clientv3.TxnResponse, error) {
	p.lead = make(chan struct{})
	p.done = make(chan struct{})
	b.mu.Lock()
	b.queue = append(b.queue, p)
	if b.full != nil && len(b.queue) >= b.want {
		close(b.full)
		b.full = nil
	}
	if b.inflight >= maxInflight {
		b.mu.Unlock()
		select {
		case <-p.done:
			return p.resp, p.err
		case <-p.lead:
		case <-ctx.Done():
			b.mu.Lock()
			if p.state == queued && !p.leading {
				b.remove(p)
				b.mu.Unlock()
				return nil, ctx.Err()
			}
			b.mu.Unlock()
			// Sent, or chosen to lead: see it through.
			select {
			case <-p.done:
				return p.resp, p.err
			case <-p.lead:
			}
		}
		b.mu.Lock()
	} else {
		b.inflight++
	}
	// Lead: send batches until p's is done.
	b.gather()
	for p.state == queued {
		batch := b.take()
		b.mu.Unlock()
		f.commitBatch(ctx, batch)
		b.mu.Lock()
	}
	b.inflight--
	for _, q := range b.queue {
		if !q.leading {
			q.leading = true
			b.inflight++
			close(q.lead)
			break
		}
	}
	b.mu.Unlock()
	<-p.done // p may be in another leader's batch
	return p.resp, p.err
}

// gather waits until the queue holds want creates, or the last batch
// returned siblingWait ago. Called with mu held.
func (b *batcher) gather() {
	if len(b.queue) >= b.want || b.full != nil {
		return // enough, or another leader is gathering
	}
	wait := time.Until(b.until)
	if wait <= 0 {
		return
	}
	full := make(chan struct{})
	b.full = full
	b.mu.Unlock()
	t := time.NewTimer(wait)
	select {
	case <-full:
	case <-t.C:
	}
	t.Stop()
	b.mu.Lock()
	if b.full == full {
		b.full = nil
	}
}

func (b *batcher) remove(p *pendingCreate) {
	for i, q := range b.queue {
		if q == p {
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			return
		}
	}
}

// take removes up to maxBatch creates from the queue, skipping any whose
// keys another in the batch writes (etcd refuses a key twice in one
// transaction); they go in a later batch. Called with mu held.
func (b *batcher) take() []*pendingCreate {
	var batch, rest []*pendingCreate
	keys := map[string]bool{}
	for _, p := range b.queue {
		if len(batch) == maxBatch || keys[p.dk] || keys[p.ik] {
			rest = append(rest, p)
			continue
		}
		keys[p.dk], keys[p.ik] = true, true
		p.state = sent
		batch = append(batch, p)
	}
	b.queue = rest
	return batch
}

// commitBatch sends one transaction for batch and finishes every member.
func (f *FS) commitBatch(ctx context.Context, batch []*pendingCreate) {
	var cmps []clientv3.Cmp
	var ops []clientv3.Op
	parents := map[uint64]time.Time{}
	var order []uint64
	for _, p := range batch {
		cmps = append(cmps,
			clientv3.Compare(clientv3.Version(p.dk), "=", 0),
			clientv3.Compare(clientv3.Version(p.pk), ">", 0),
			clientv3.Compare(clientv3.Version(p.ik), "=", 0))
		ops = append(ops, clientv3.OpPut(p.dk, p.dirent), clientv3.OpPut(p.ik, p.inode))
		t, ok := parents[p.parent]
		if !ok {
			order = append(order, p.parent)
		}
		if !ok || p.t.After(t) {
			parents[p.parent] = p.t
		}
	}
	for _, parent := range order {
		ops = append(ops, f.opTouch(parent, parents[parent]))
	}
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
	txn := f.cli.Txn(tctx).If(cmps...).Then(ops...)
	if len(batch) == 1 {
		p := batch[0]
		txn = txn.Else(clientv3.OpGet(p.dk, clientv3.WithCountOnly()), clientv3.OpGet(p.pk, clientv3.WithCountOnly()))
	}
	r, err := txn.Commit()
	cancel()
	switch {
	case err != nil && len(batch) == 1:
		err = eio(err)
	case len(batch) > 1 && (err != nil || !r.Succeeded):
		err = errAlone // one of them failed, or the batch was too big
	}
	b := &f.batch
	b.mu.Lock()
	// Before any of them can queue again: they are expected back, if
	// their creates succeeded (a failed batch's go on alone, outside).
	if err == nil && r.Succeeded {
		b.want = min(len(batch)+len(b.queue), maxBatch)
		b.until = time.Now().Add(siblingWait)
	} else {
		b.want = 0
	}
	for _, p := range batch {
		p.resp, p.err, p.state = r, err, finished
		close(p.done)
	}
	b.mu.Unlock()
}
