package meta

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Event is one change of the namespace seen by a watch.
type Event struct {
	Rev     int64
	Ino     uint64 // the inode changed (Name == "") or the parent of the entry changed
	Name    string // entry name, for entry changes
	Deleted bool
}

// Watch streams namespace changes from the current revision until ctx ends
// or the watch fails (the channel is then closed; a consumer drops its
// cache and watches again).
func (f *FS) Watch(ctx context.Context) (<-chan Event, int64, error) {
	r, err := f.cli.Get(ctx, f.prefix+"fs/", clientv3.WithCountOnly(), clientv3.WithPrefix())
	if err != nil {
		return nil, 0, eio(err)
	}
	start := r.Header.Revision
	wc := f.cli.Watch(clientv3.WithRequireLeader(ctx), f.prefix+"fs/", clientv3.WithPrefix(), clientv3.WithRev(start+1))
	out := make(chan Event, 256)
	go func() {
		defer close(out)
		for wr := range wc {
			if wr.Err() != nil || wr.Canceled {
				return
			}
			for _, ev := range wr.Events {
				e, ok := f.parseKey(string(ev.Kv.Key))
				if !ok {
					continue
				}
				e.Rev = ev.Kv.ModRevision
				e.Deleted = ev.Type == clientv3.EventTypeDelete
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, start, nil
}

func (f *FS) parseKey(k string) (Event, bool) {
	rest, ok := strings.CutPrefix(k, f.prefix+"fs/")
	if !ok || len(rest) < 2+16 {
		return Event{}, false
	}
	ino, err := strconv.ParseUint(rest[2:2+16], 16, 64)
	if err != nil {
		return Event{}, false
	}
	switch rest[:2] {
	case "i/":
		// The inode, or a directory's time key (part of its attributes).
		return Event{Ino: ino}, len(rest) == 2+16 || rest[2+16:] == "/t"
	case "d/":
		if len(rest) < 2+16+2 || rest[2+16] != '/' {
			return Event{}, false
		}
		return Event{Ino: ino, Name: rest[2+16+1:]}, true
	}
	return Event{}, false
}

// Cache keeps inodes and directory entries read from etcd and drops each
// when the watch reports a change to its key, so a cached read returns what
// a linearizable read returned at most one watch delay ago. An entry read
// at revision R is only kept if no change to its key newer than R has been
// seen (tomb) and R is not older than the watch's start (floor), so a read
// that raced a change can never install a stale value. Absent entries are
// cached too (negative lookups). If the watch fails, the cache empties and
// stays off until a new watch runs.
type Cache struct {
	mu      sync.Mutex
	on      bool
	floor   int64
	inodes  map[uint64]*Inode
	dirents map[string]cachedDirent
	tomb    map[string]int64
}

type cachedDirent struct {
	Ino  uint64 // 0: known absent
	Type uint32
	rev  int64
}

const maxCached = 200000

// EnableCache starts the watch that keeps a cache for f's reads of
// attributes and entries (Get, Lookup); ctx bounds its life. Mutations and
// GetFresh always go to etcd.
func (f *FS) EnableCache(ctx context.Context) error {
	c := &Cache{}
	c.reset(0)
	f.cache = c
	return c.run(ctx, f)
}

func (c *Cache) reset(floor int64) {
	c.floor = floor
	c.inodes = map[uint64]*Inode{}
	c.dirents = map[string]cachedDirent{}
	c.tomb = map[string]int64{}
}

func (c *Cache) run(ctx context.Context, f *FS) error {
	events, start, err := f.Watch(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.reset(start)
	c.on = true
	c.mu.Unlock()
	go func() {
		for e := range events {
			c.apply(e)
		}
		c.mu.Lock()
		c.on = false
		c.reset(0)
		c.mu.Unlock()
		if ctx.Err() == nil {
			// Watch broke (compaction, leader loss): restart it.
			for ctx.Err() == nil {
				if c.run(ctx, f) == nil {
					return
				}
				select {
				case <-ctx.Done():
				case <-timeAfter(ctx):
				}
			}
		}
	}()
	return nil
}

func dkeyOf(parent uint64, name string) string {
	return strconv.FormatUint(parent, 16) + "/" + name
}

func ikeyOf(ino uint64) string { return strconv.FormatUint(ino, 16) }

func (c *Cache) apply(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var k string
	if e.Name == "" {
		k = ikeyOf(e.Ino)
		delete(c.inodes, e.Ino)
	} else {
		k = dkeyOf(e.Ino, e.Name)
		delete(c.dirents, k)
	}
	c.tomb[k] = e.Rev
	if len(c.tomb) > maxCached {
		c.reset(e.Rev)
	}
}

func (c *Cache) inode(ino uint64) (*Inode, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	in, ok := c.inodes[ino]
	if !ok {
		return nil, false
	}
	cp := *in
	return &cp, true
}

func (c *Cache) putInode(in *Inode, readRev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := ikeyOf(in.Ino)
	if !c.on || readRev < c.floor || readRev < c.tomb[k] {
		return
	}
	if len(c.inodes) > maxCached {
		c.inodes = map[uint64]*Inode{}
	}
	cp := *in
	c.inodes[in.Ino] = &cp
}

func (c *Cache) dirent(parent uint64, name string) (cachedDirent, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.dirents[dkeyOf(parent, name)]
	return d, ok
}

func (c *Cache) putDirent(parent uint64, name string, d cachedDirent, readRev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := dkeyOf(parent, name)
	if !c.on || readRev < c.floor || readRev < c.tomb[k] {
		return
	}
	if len(c.dirents) > maxCached {
		c.dirents = map[string]cachedDirent{}
	}
	c.dirents[k] = d
}

func timeAfter(context.Context) <-chan time.Time { return time.After(time.Second) }
