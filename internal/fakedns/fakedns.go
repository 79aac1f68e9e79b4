// Package fakedns answers a traced program's DNS queries locally with
// addresses from reserved ranges, and remembers which name each address
// stands for, so that the program's connect() to that address can be carried
// through an exit as a SOCKS5 *domain* address: the name is resolved at the
// exit, never on the client's network (no DNS leak, and a name the client's
// resolver cannot or will not resolve truthfully still works).
//
// Addresses. IPv4 answers come from 198.18.0.0/15 and IPv6 answers from
// 2001:2::/48, the two benchmarking ranges (RFC 2544, RFC 5180): not
// routable on the Internet, not private ranges that a LAN might use, and not
// 224/8-style multicast, which breaks tools. A name gets one address of each
// family and keeps them while it is in use; the pool hands addresses out in
// order and, when a range is exhausted, takes back the least recently used
// one, but only once that name has gone Pool.MinAge (at least the answers'
// TTL) without being answered or connected to: until then the program may
// still hold the address in a cache, and its connect would reach whichever
// name had it next. With no address old enough to take back, the query is
// answered SERVFAIL (the resolver retries or fails), never with an address
// still in use. An address that was never handed out, or was taken back,
// has no name: the dialer refuses it instead of sending a fake address to
// an exit.
//
// Answers. A and AAAA get one record each (TTL Config.TTL), or, with
// Server.NoAAAA, A only and AAAA an empty NOERROR answer (NODATA, as for a
// name with no IPv6 address); PTR for a fake address gets its name; every
// other type (MX, TXT, HTTPS/SVCB...) gets an empty NOERROR answer, so a
// client falls back to A/AAAA at once. Every name gets an answer, whether
// it exists or not: only the exit can tell, and the connect to the fake
// address then fails with what the exit reports (a name that does not
// resolve there: EHOSTUNREACH).
//
// The family of a fake address says nothing of the destination's: the
// exit resolves the name and connects to whichever family it has. Two
// fake addresses per name cost something, though: a client that tries a
// name's addresses one after another (Python's socket.create_connection)
// waits the connect timeout twice for a destination no exit reaches, and
// asyncio reports "Multiple exceptions" where a single-address destination
// gives one ECONNREFUSED. carrot run therefore sets NoAAAA (as
// proxychains-ng and graftcp, whose fake answers are IPv4 only) unless
// asked for IPv6 fakes or the host has no IPv4 address of its own, where
// a resolver (glibc's AI_ADDRCONFIG) would not ask for A at all.
// Non-QUERY opcodes get NOTIMP, malformed messages FORMERR, an A or AAAA
// query that finds the pool full of recently used names SERVFAIL. The server
// speaks UDP and TCP (RFC 1035 4.2.2 length-prefixed).
//
// The seam with the connect handler (to be written with the interposition
// engine). The program must send its queries here, whatever its resolver:
//
//  1. Redirect DNS traffic (chosen): the handler traps connect/sendto/sendmsg
//     on UDP and TCP sockets; a destination port 53 (of any address: the
//     one in /etc/resolv.conf, 127.0.0.53 of systemd-resolved, 8.8.8.8
//     hard-coded in a program) is rewritten to this server's loopback
//     address, and getpeername/recvfrom addresses are written back so the
//     program sees the server it asked. This catches glibc, musl, Go's own
//     resolver and static binaries alike, since they all end in a socket to
//     port 53. Traps: connect, sendto, sendmsg/sendmmsg on AF_INET/AF_INET6
//     SOCK_DGRAM (UDP other than port 53 is a policy decision: refused with
//     EPERM by default, so it cannot leak).
//  2. Rewrite /etc/resolv.conf: the handler turns an open of
//     /etc/resolv.conf into an open of a generated file naming this server.
//     Simpler (one trapped call, already trapped for files), but misses
//     programs that hard-code a server and glibc's nscd socket; useful as a
//     complement so that tools printing their resolver show the truth.
//  3. Not workable: a hosts file (names are not known in advance); and
//     LD_PRELOAD of an NSS module (misses static and Go binaries).
//
// Whatever the choice, connections to the nscd socket
// (/var/run/nscd/socket) and DNS-over-TLS port 853 must be refused, or the
// host's resolver answers behind our back. DNS-over-HTTPS is just a TCP
// stream and goes through the exit like any other.
package fakedns

import (
	"container/list"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Default ranges.
var (
	DefaultV4 = netip.MustParsePrefix("198.18.0.0/15")
	DefaultV6 = netip.MustParsePrefix("2001:2::/48")
)

// DefaultTTL is the TTL, in seconds, of a Server's answers when its TTL is 0.
const DefaultTTL = 60

// Pool hands out fake addresses for names and maps them back. It is safe for
// concurrent use. The zero Pool is not usable; call NewPool.
type Pool struct {
	// MinAge is how long a name keeps its addresses, at least, after it
	// was last answered (Addrs) or connected to (Name): an address is
	// taken back for another name only when its own has not been used for
	// that long. NewPool sets it to DefaultTTL seconds; a Server answering
	// from the pool raises it to its TTL when that is longer, since a
	// program may cache an answer that long. Change it before the pool is
	// used, not after.
	MinAge time.Duration

	v4, v6 netip.Prefix
	now    func() time.Time // time.Now; tests set a clock of their own

	mu      sync.Mutex
	byName  map[string]*entry
	byAddr  map[netip.Addr]*entry
	lru     *list.List // of *entry, most recently used at the front
	next4   netip.Addr
	next6   netip.Addr
	max     int // entries at most (the smaller range's size, capped)
	entries int
}

type entry struct {
	name   string
	v4, v6 netip.Addr
	elem   *list.Element
	used   time.Time // last answered or connected to
}

// NewPool makes a pool over v4 and v6 (use DefaultV4, DefaultV6). The
// network and broadcast-like first and last addresses are never used.
func NewPool(v4, v6 netip.Prefix) *Pool {
	v4, v6 = v4.Masked(), v6.Masked()
	size := func(p netip.Prefix) int {
		host := p.Addr().BitLen() - p.Bits()
		if host >= 30 {
			return 1 << 30
		}
		return 1<<host - 2
	}
	return &Pool{
		MinAge: DefaultTTL * time.Second,
		now:    time.Now,
		v4:     v4, v6: v6,
		byName: map[string]*entry{},
		byAddr: map[netip.Addr]*entry{},
		lru:    list.New(),
		next4:  v4.Addr().Next(),
		next6:  v6.Addr().Next(),
		max:    min(size(v4), size(v6)),
	}
}

// Canonical is the form names are kept in: lower case, no trailing dot.
func Canonical(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// Contains reports whether ip is in one of the pool's ranges.
func (p *Pool) Contains(ip netip.Addr) bool {
	ip = ip.Unmap()
	return p.v4.Contains(ip) || p.v6.Contains(ip)
}

// Name returns the name ip was handed out for, and marks it used.
func (p *Pool) Name(ip netip.Addr) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.byAddr[ip.Unmap()]
	if e == nil {
		return "", false
	}
	p.lru.MoveToFront(e.elem)
	e.used = p.now()
	return e.name, true
}

// Addrs returns name's fake IPv4 and IPv6 addresses, handing them out if
// it has none. When it has none and every address is taken by a name used
// less than MinAge ago, it returns two invalid addresses (the zero
// netip.Addr) and hands out nothing.
func (p *Pool) Addrs(name string) (v4, v6 netip.Addr) {
	return p.addrs(name, 0)
}

// addrs is Addrs for an answer that programs may cache for ttl: MinAge is
// raised to ttl first if it is shorter.
func (p *Pool) addrs(name string, ttl time.Duration) (v4, v6 netip.Addr) {
	name = Canonical(name)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.MinAge = max(p.MinAge, ttl)
	now := p.now()
	if e := p.byName[name]; e != nil {
		p.lru.MoveToFront(e.elem)
		e.used = now
		return e.v4, e.v6
	}
	var e *entry
	if p.entries >= p.max {
		// Take back the least recently used name's addresses, if that
		// name has not been used for MinAge: being the least recently
		// used, it is the oldest, and when it is too young all are.
		e = p.lru.Back().Value.(*entry)
		if now.Sub(e.used) < p.MinAge {
			return netip.Addr{}, netip.Addr{}
		}
		p.lru.Remove(e.elem)
		delete(p.byName, e.name)
	} else {
		e = &entry{v4: p.take(&p.next4, p.v4), v6: p.take(&p.next6, p.v6)}
		p.byAddr[e.v4], p.byAddr[e.v6] = e, e
		p.entries++
	}
	e.name, e.used = name, now
	e.elem = p.lru.PushFront(e)
	p.byName[name] = e
	return e.v4, e.v6
}

// take returns *next and advances it within pfx, skipping the prefix's
// first and last addresses.
func (p *Pool) take(next *netip.Addr, pfx netip.Prefix) netip.Addr {
	a := *next
	n := a.Next()
	if !pfx.Contains(n) || !pfx.Contains(n.Next()) {
		n = pfx.Addr().Next()
	}
	*next = n
	return a
}

// Len is the number of names mapped.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.entries
}
