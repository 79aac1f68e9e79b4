package cluster

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// pins keeps the chunks of one upload from the garbage collector while
// the upload lasts (meta's pins): once the upload has lasted pinEvery, and
// every pinEvery after, the chunks stored since are pinned under the
// client's lease, so none is ever older than pinEvery unpinned — a
// fraction of the collector's grace. An upload shorter than pinEvery, as
// almost all are, costs nothing.
type pins struct {
	c      *Client
	upload uint64

	mu     sync.Mutex
	ids    []string // every chunk of the upload so far
	pinned int      // ids[:pinned] are pinned
	lease  clientv3.LeaseID
	done   <-chan struct{} // the lease's session ended
	err    error           // a pin failed: the upload's chunks are not safe
	timer  *time.Timer
	closed bool
}

// pinEvery is how long an upload goes before its chunks are pinned: a
// quarter of the collector's grace.
func (c *Client) pinEvery() time.Duration { return c.Params.GCGrace / 4 }

func (c *Client) newPins() *pins {
	p := &pins{c: c, upload: randomID()}
	if d := c.pinEvery(); d > 0 {
		p.timer = time.AfterFunc(d, p.tick)
	}
	return p
}

func randomID() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// add records a chunk of the upload, before it is stored.
func (p *pins) add(id string) {
	p.mu.Lock()
	p.ids = append(p.ids, id)
	p.mu.Unlock()
}

// tick pins the chunks stored since the last tick, then waits for the next.
func (p *pins) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.err != nil {
		return
	}
	if p.lease == 0 {
		p.lease, p.done, p.err = p.c.pinLease()
	}
	if p.err == nil && p.pinned < len(p.ids) {
		ctx, cancel := context.WithTimeout(context.Background(), p.c.pinEvery())
		p.err = p.c.FS.Pin(ctx, p.lease, p.upload, p.ids[p.pinned:])
		cancel()
		if p.err == nil {
			p.pinned = len(p.ids)
		}
	}
	if p.err == nil {
		p.timer.Reset(p.c.pinEvery())
	}
}

// check reports whether every chunk stored so far is still safe to
// commit: no pin failed and the lease holding the pins is alive.
func (p *pins) check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return fmt.Errorf("keeping the upload's chunks from the garbage collector: %w", p.err)
	}
	if p.done != nil {
		select {
		case <-p.done:
			return fmt.Errorf("the lease keeping the upload's chunks from the garbage collector expired: %w", syscall.EIO)
		default:
		}
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
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	if p.timer != nil {
		p.timer.Stop()
	}
	if p.lease != 0 && p.pinned > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// A failure leaves the pins to the lease: they go with the client.
		p.c.FS.Unpin(ctx, p.lease, p.upload)
		cancel()
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
