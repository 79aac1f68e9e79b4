package exit

import (
	"fmt"
	"net/netip"
	"strings"
)

// DefaultDeny is the destination ranges an exit refuses unless the operator
// allows them with a more specific (or equally specific) --allow: loopback,
// private, shared (CGNAT), link-local, multicast, reserved, documentation,
// benchmarking (carrot's own fake-IP DNS range among them) and the IPv6
// equivalents (IANA's special-purpose address registries).
var DefaultDeny = mustPrefixes(
	// IPv4
	"0.0.0.0/8",        // "this network"
	"10.0.0.0/8",       // private
	"100.64.0.0/10",    // shared address space (CGNAT)
	"127.0.0.0/8",      // loopback
	"169.254.0.0/16",   // link-local (cloud metadata services live here)
	"168.63.129.16/32", // Azure's platform address (WireServer, its DNS): a metadata service outside 169.254/16
	"172.16.0.0/12",    // private
	"192.0.0.0/24",     // IETF protocol assignments
	"192.0.2.0/24",     // documentation
	"192.88.99.0/24",   // 6to4 relay anycast
	"192.168.0.0/16",   // private
	"198.18.0.0/15",    // benchmarking; carrot's fake-IP DNS range
	"198.51.100.0/24",  // documentation
	"203.0.113.0/24",   // documentation
	"224.0.0.0/4",      // multicast
	"240.0.0.0/4",      // reserved, and the limited broadcast address
	// IPv6
	"::/96",           // unspecified, loopback, and the deprecated IPv4-compatible ::a.b.c.d (a 6in4 host's sit0 carries ::127.0.0.1)
	"::ffff:0:0:0/96", // IPv4-translated (RFC 2765)
	"64:ff9b:1::/48",  // local-use IPv4/IPv6 translation
	"100::/64",        // discard-only
	"2001::/23",       // IETF protocol assignments (Teredo among them)
	"2001:db8::/32",   // documentation
	"3fff::/20",       // documentation (RFC 9637)
	"5f00::/16",       // SRv6 segment identifiers (RFC 9602)
	"fc00::/7",        // unique local
	"fe80::/10",       // link-local
	"fec0::/10",       // site-local (deprecated)
	"ff00::/8",        // multicast
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// ParsePrefix parses a CIDR, or a bare address as a single-address prefix.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, fmt.Errorf("%q: write IPv4 ranges in IPv4 form", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Policy decides which destination addresses an exit may connect to.
//
// The rule is the routing table's: among the built-in denies, the
// operator's --allow and --deny prefixes and the exit's own addresses (as
// the host has them when the request comes: Self, IsLocal), the
// most specific prefix that contains the address decides; at equal length
// the operator's --deny beats the operator's --allow, which beats a built-in
// deny (so --allow 10.0.0.0/8 opens exactly the default-denied 10/8). An address no rule covers is allowed (the public Internet). So
// `--allow 10.1.0.0/16` opens one private range while the rest of 10/8 stays
// closed, and `--deny 0.0.0.0/0 --deny ::/0 --allow 192.0.2.0/24` turns the
// exit into an allow-list. An IPv4-mapped IPv6 address is judged as the IPv4
// address it carries; a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address is
// denied if the IPv4 address it embeds is.
type Policy struct {
	rules []rule
	self  func(netip.Addr, uint16) (bool, error)
}

type rule struct {
	p     netip.Prefix
	allow bool
	why   string
	prio  int // breaks ties between prefixes of equal length
}

// Tie-break priorities: the operator's deny over the operator's allow over
// the built-in denies (the exit's own addresses among them, so that an
// --allow naming one exactly opens it, as the usage says).
const (
	prioDefault = iota
	prioAllow
	prioDeny
)

// NewPolicy builds a policy from DefaultDeny, the operator's lists and
// self, which says whether an address is the exit's own (IsLocal; nil: no
// address is). The exit's own addresses are denied so that it cannot be
// used to reach services bound on its own host (0.0.0.0, [::]) or loop
// into itself; self is asked at each request, so an address the host
// gains later is one of them too, and an answer it cannot give denies.
func NewPolicy(allow, deny []netip.Prefix, self func(netip.Addr, uint16) (bool, error)) *Policy {
	p := &Policy{self: self}
	for _, d := range DefaultDeny {
		p.rules = append(p.rules, rule{d, false, "default deny " + d.String(), prioDefault})
	}
	for _, a := range allow {
		p.rules = append(p.rules, rule{a, true, "allow " + a.String(), prioAllow})
	}
	for _, d := range deny {
		p.rules = append(p.rules, rule{d, false, "deny " + d.String(), prioDeny})
	}
	return p
}

var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// Allowed reports whether the exit may connect to ip (any port), and the
// rule that decided; an address the rules could not be applied to (see
// Check) is not allowed.
func (p *Policy) Allowed(ip netip.Addr) (bool, string) {
	ok, why, err := p.Check(ip, 0)
	if err != nil {
		return false, why + ": " + err.Error()
	}
	return ok, why
}

// Check reports whether the exit may connect to ip at port (0: any; the
// lookup of the exit's own addresses carries it, as the dial's own does),
// and the rule that decided. err is set, and ok false, when the rules
// could not be applied (the own-address lookup failed: no file descriptor
// left, no memory), which is no answer about ip and should not be
// reported to the client as a refusal.
func (p *Policy) Check(ip netip.Addr, port uint16) (ok bool, why string, err error) {
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() {
		return false, "invalid address", nil
	}
	if ip.Is6() {
		b := ip.As16()
		var embedded netip.Addr
		switch {
		case nat64.Contains(ip):
			embedded = netip.AddrFrom4([4]byte(b[12:16]))
		case sixTo4.Contains(ip):
			embedded = netip.AddrFrom4([4]byte(b[2:6]))
		}
		if embedded.IsValid() {
			if ok, why, err := p.decide(embedded, port); !ok {
				return false, why + " (embedded in " + ip.String() + ")", err
			}
		}
	}
	return p.decide(ip, port)
}

func (p *Policy) decide(ip netip.Addr, port uint16) (bool, string, error) {
	best := -1
	for i, r := range p.rules {
		if !r.p.Contains(ip) {
			continue
		}
		if best < 0 || r.p.Bits() > p.rules[best].p.Bits() ||
			r.p.Bits() == p.rules[best].p.Bits() && r.prio > p.rules[best].prio {
			best = i
		}
	}
	allow, why := true, "no rule"
	if best >= 0 {
		allow, why = p.rules[best].allow, p.rules[best].why
	}
	// The exit's own address is a built-in deny of the single address:
	// only an --allow naming it exactly opens it.
	if !allow || p.self == nil || best >= 0 && p.rules[best].p.Bits() == ip.BitLen() {
		return allow, why, nil
	}
	switch own, err := p.self(ip, port); {
	case err != nil:
		return false, "cannot tell whether it is the exit's own address", err
	case own:
		return false, "exit's own address", nil
	}
	return allow, why, nil
}
