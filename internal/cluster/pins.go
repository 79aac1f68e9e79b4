package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// pins keeps the chunks of one upload from the garbage collector while
// the upload lasts (meta's pins): once the upload has lasted pinEvery, and
// every pinEvery after, the chunks stored since are pinned under the
// client's lease, so none is unpinned for long — a fraction of the
// collector's grace. An upload shorter than pinEvery, as almost all are,
// costs nothing.
//
// A pin that fails (etcd electing a leader, say) is tried again a few
// seconds later; only when a chunk has waited half the grace unpinned is
// the upload given up, at once (its context is cancelled), rather than
// after it has sent everything. If the lease is lost (a long partition),
// the pins went with it: every chunk is pinned again under a new one. The
// collector deletes a chunk only once it has seen it unreferenced for the
// whole grace, so chunks unpinned for less than half of it are safe.
type pins struct {
	c      *Client
	upload uint64
	cancel context.CancelFunc // ends the upload

	// io orders the etcd calls of tick and release (release must not
	// unpin before a pin in flight lands); mu guards the rest, never
	// across a call to etcd.
	io sync.Mutex

	mu     sync.Mutex
	ids    []string        // every chunk of the upload so far, once each
	have   map[string]bool // the ids, as a set
	added  []time.Time     // when each was added
	pinned int             // ids[:pinned] are pinned
	lostAt time.Time       // when a lost lease took the pins with it
	lease  clientv3.LeaseID
	done   <-chan struct{}    // the lease's session ended
	leases []clientv3.LeaseID // every lease pins were sent under: release unpins under each
	err    error              // pinning failed for good: the chunks are not safe
	timer  *time.Timer
	closed bool
}

// pinEvery is how long an upload goes before its chunks are pinned: a
// quarter of the collector's grace.
func (c *Client) pinEvery() time.Duration { return c.Params.GCGrace / 4 }

// pinRetry is how soon a failed pin is tried again.
func (c *Client) pinRetry() time.Duration { return min(c.pinEvery(), 5*time.Second) }

// newPins starts the pins of an upload; cancel ends the upload if pinning
// fails for good.
func (c *Client) newPins(cancel context.CancelFunc) *pins {
	p := &pins{c: c, upload: rand.Uint64(), cancel: cancel, have: map[string]bool{}}
	if d := c.pinEvery(); d > 0 {
		p.timer = time.AfterFunc(d, p.tick)
	}
	return p
}

// add records a chunk of the upload, before it is stored. A chunk the
// upload already holds (repeated content) is not recorded again: its pin,
// made or to be made, covers every occurrence.
func (p *pins) add(id string) {
	p.mu.Lock()
	if p.have[id] {
		p.mu.Unlock()
		return
	}
	p.have[id] = true
	p.ids = append(p.ids, id)
	p.added = append(p.added, time.Now())
	p.mu.Unlock()
}

// tick pins the chunks stored since the last tick, then waits for the next.
func (p *pins) tick() {
	p.io.Lock()
	defer p.io.Unlock()
	p.mu.Lock()
	if p.closed || p.err != nil {
		p.mu.Unlock()
		return
	}
	p.forgetIfLost()
	from, ids, lease := p.pinned, p.ids[p.pinned:], p.lease
	p.mu.Unlock()

	if lease != 0 {
		// Is the lease still there? Its session would notice only at its
		// next keepalive, a third of its TTL later.
		ctx, cancel := context.WithTimeout(context.Background(), p.c.pinRetry())
		ttl, err := p.c.etcd.TimeToLive(ctx, lease)
		cancel()
		if err == nil && ttl.TTL <= 0 {
			p.c.dropPinLease(lease)
			p.mu.Lock()
			p.forgetLease()
			from, ids, lease = 0, p.ids, 0
			p.mu.Unlock()
		}
	}
	var done <-chan struct{}
	var err error
	if lease == 0 {
		lease, done, err = p.c.pinLease()
	}
	if err == nil && len(ids) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), p.c.pinRetry())
		err = p.c.FS.Pin(ctx, lease, p.upload, ids)
		cancel()
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if done != nil {
		p.lease, p.done = lease, done
		p.leases = append(p.leases, lease)
	}
	next := p.c.pinEvery()
	switch {
	case err == nil:
		p.pinned = from + len(ids)
	case p.overdue():
		// A chunk has waited half the grace unpinned: give up now.
		p.err = err
		p.cancel()
		return
	default:
		next = p.c.pinRetry()
	}
	if !p.closed {
		p.timer.Reset(next)
	}
}

// forgetLease records that the lease holding the pins has ended, and the
// pins with it: every chunk is to be pinned again, under a new one. Called
// with mu held.
func (p *pins) forgetLease() {
	p.lease, p.done, p.pinned, p.lostAt = 0, nil, 0, time.Now()
}

// forgetIfLost calls forgetLease if the lease's session has seen it end.
// Called with mu held.
func (p *pins) forgetIfLost() {
	if p.done == nil {
		return
	}
	select {
	case <-p.done:
		p.forgetLease()
	default:
	}
}

// overdue reports whether a chunk has waited half the grace unpinned.
// Called with mu held.
func (p *pins) overdue() bool {
	p.forgetIfLost()
	if p.pinned >= len(p.ids) {
		return false
	}
	since := p.added[p.pinned]
	if p.lostAt.After(since) {
		since = p.lostAt
	}
	return time.Since(since) > p.c.Params.GCGrace/2
}

// check reports whether every chunk stored so far is still safe to
// commit: pinning has not failed, and no chunk has waited half the grace
// unpinned.
func (p *pins) check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return fmt.Errorf("keeping the upload's chunks from the garbage collector: %w", p.err)
	}
	if p.timer != nil && p.overdue() {
		return fmt.Errorf("the upload's chunks went unpinned for half the garbage collector's grace: %w", syscall.EIO)
	}
	return nil
}

// release ends the upload's pins: call it once the version is committed
// (its chunks are then referenced) or abandoned.
func (p *pins) release() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
	p.io.Lock() // after a tick in flight
	defer p.io.Unlock()
	p.mu.Lock()
	leases := p.leases
	p.mu.Unlock()
	// Under every lease a pin was sent under, even if none was
	// acknowledged: one that timed out may have landed. Twice at most;
	// what is left goes with the client's lease.
	for _, lease := range leases {
		for range 2 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := p.c.FS.Unpin(ctx, lease, p.upload)
			cancel()
			if err == nil {
				break
			}
		}
	}
}

// dropPinLease forgets the client's pin lease if it is lease, found gone.
func (c *Client) dropPinLease(lease clientv3.LeaseID) {
	c.pinMu.Lock()
	defer c.pinMu.Unlock()
	if c.pinSession != nil && c.pinSession.Lease() == lease {
		c.pinSession.Orphan() // stop its keepalives; nothing to revoke
		c.pinSession = nil
	}
}

// pinLease returns the client's lease for pins, made at first use and
// kept alive until the client closes.
func (c *Client) pinLease() (clientv3.LeaseID, <-chan struct{}, error) {
	c.pinMu.Lock()
	defer c.pinMu.Unlock()
	if c.pinSession != nil {
		select {
		case <-c.pinSession.Done():
			c.pinSession = nil // expired (a long partition): make another
		default:
			return c.pinSession.Lease(), c.pinSession.Done(), nil
		}
	}
	ttl := max(int64(c.Params.LeaseTTL/time.Second), 10)
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	lr, err := c.etcd.Grant(ctx, ttl)
	if err != nil {
		return 0, nil, fmt.Errorf("lease for upload pins: %v: %w", err, syscall.EIO)
	}
	// The session keeps the lease alive until the client closes.
	s, err := concurrency.NewSession(c.etcd, concurrency.WithLease(lr.ID), concurrency.WithContext(c.ctx))
	if err != nil {
		return 0, nil, fmt.Errorf("lease for upload pins: %v: %w", err, syscall.EIO)
	}
	c.pinSession = s
	return s.Lease(), s.Done(), nil
}
