package exit

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Name cache. Clients of one exit ask for the same names over and over (a
// page's several connections, a program's reconnects), and a resolution
// costs at least a read of /etc/hosts and often a DNS round trip, on the
// critical path of every connect. The exit keeps each successful answer
// for NameTTL (default 5 s, like Go's own cache of /etc/hosts), then asks
// again. Failures are not kept, and an answer whose every address failed
// to connect is dropped, so a stale answer costs one connect at most.
// The cache only saves the lookup: the addresses are checked against the
// Policy on every request, cached or not.

// nameCacheLimit bounds the cache; when full it is emptied and starts again.
const nameCacheLimit = 4096

type nameCache struct {
	r   Resolver
	ttl time.Duration

	mu      sync.Mutex
	entries map[string]nameEntry
}

type nameEntry struct {
	addrs   []netip.Addr
	expires time.Time
}

func newNameCache(r Resolver, ttl time.Duration) *nameCache {
	return &nameCache{r: r, ttl: ttl, entries: map[string]nameEntry{}}
}

// LookupNetIP answers from the cache, or asks the resolver and keeps a
// successful answer. The caller gets its own copy.
func (c *nameCache) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	key := network + " " + host
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && time.Now().Before(e.expires) {
		return slices.Clone(e.addrs), nil
	}
	addrs, err := c.r.LookupNetIP(ctx, network, host)
	if err != nil || len(addrs) == 0 {
		return addrs, err
	}
	c.mu.Lock()
	if len(c.entries) >= nameCacheLimit {
		clear(c.entries)
	}
	c.entries[key] = nameEntry{addrs: slices.Clone(addrs), expires: time.Now().Add(c.ttl)}
	c.mu.Unlock()
	return addrs, nil
}

// forget drops host's answer: none of its addresses could be reached.
func (c *nameCache) forget(network, host string) {
	c.mu.Lock()
	delete(c.entries, network+" "+host)
	c.mu.Unlock()
}
