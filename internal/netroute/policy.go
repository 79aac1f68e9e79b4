package netroute

import (
	"net/netip"
)

// Verdict is what happens to a connection or datagram the program sends.
type Verdict uint8

// Verdicts.
const (
	// Direct: the kernel does it, untouched (loopback, --direct ranges).
	Direct Verdict = iota + 1
	// Route: a TCP stream carried through the exits.
	Route
	// DNS: a DNS query (port 53, TCP or UDP, to any address), answered by
	// carrot's fake-IP DNS server instead of the program's resolver.
	DNS
	// Refuse: not sent at all; the program gets EPERM, as from a local
	// firewall (UDP and raw traffic to routed destinations).
	Refuse
)

func (v Verdict) String() string {
	switch v {
	case Direct:
		return "direct"
	case Route:
		return "route"
	case DNS:
		return "dns"
	case Refuse:
		return "refuse"
	}
	return "verdict?"
}

// Policy says where a program's traffic goes.
type Policy struct {
	// Direct lists destinations that stay direct besides loopback (the
	// user's --direct ranges).
	Direct []netip.Prefix
	// Fake is the fake-IP DNS ranges: always routed, never direct, since
	// their addresses mean nothing outside carrot.
	Fake []netip.Prefix
}

// Stream is the verdict for a TCP connect to dest.
func (p *Policy) Stream(dest netip.AddrPort) Verdict {
	if dest.Port() == 53 {
		return DNS
	}
	if p.direct(dest.Addr()) {
		return Direct
	}
	return Route
}

// Datagram is the verdict for UDP (and other non-stream) traffic to dest:
// DNS, direct, or refused — datagrams never go through an exit (SOCKS5
// UDP ASSOCIATE is not universally supported, and fails open in practice).
func (p *Policy) Datagram(dest netip.AddrPort) Verdict {
	if dest.Port() == 53 {
		return DNS
	}
	if p.direct(dest.Addr()) {
		return Direct
	}
	return Refuse
}

// Raw is the verdict for raw and ICMP sockets: direct or refused.
func (p *Policy) Raw(dest netip.Addr) Verdict {
	if p.direct(dest) {
		return Direct
	}
	return Refuse
}

// handled reports whether carrot has anything to do with traffic to dest:
// DNS, or not direct.
func (p *Policy) handled(dest netip.AddrPort) bool {
	return dest.Port() == 53 || !p.direct(dest.Addr())
}

// direct reports whether a stays on this machine or was declared direct.
func (p *Policy) direct(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, f := range p.Fake {
		if f.Contains(a) {
			return false
		}
	}
	// 0.0.0.0 and :: mean "this host" to connect().
	if a.IsLoopback() || a.IsUnspecified() {
		return true
	}
	for _, d := range p.Direct {
		if d.Contains(a) {
			return true
		}
	}
	return false
}
