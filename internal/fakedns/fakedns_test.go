package fakedns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func TestPoolStableAndReversible(t *testing.T) {
	p := NewPool(DefaultV4, DefaultV6)
	a4, a6 := p.Addrs("Origin.Test.")
	b4, b6 := p.Addrs("origin.test")
	if a4 != b4 || a6 != b6 {
		t.Fatalf("same name, different addresses: %v %v / %v %v", a4, a6, b4, b6)
	}
	if !DefaultV4.Contains(a4) || !DefaultV6.Contains(a6) || a4 == DefaultV4.Addr() {
		t.Fatalf("addresses out of range: %v %v", a4, a6)
	}
	c4, _ := p.Addrs("other.test")
	if c4 == a4 {
		t.Fatal("two names share an address")
	}
	for _, ip := range []netip.Addr{a4, a6, netip.AddrFrom16(a4.As16())} {
		if n, ok := p.Name(ip); !ok || n != "origin.test" {
			t.Errorf("Name(%v) = %q, %v", ip, n, ok)
		}
	}
	if _, ok := p.Name(netip.MustParseAddr("198.19.255.1")); ok {
		t.Error("address never handed out has a name")
	}
	if !p.Contains(netip.MustParseAddr("198.19.0.1")) || p.Contains(netip.MustParseAddr("198.20.0.1")) {
		t.Error("Contains wrong")
	}
}

// fakeClock is a Pool's clock in tests: time moves when the test says.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// smallPool is a pool of 14 addresses per family (a /28 and a /124) on a
// clock of the test's own.
func smallPool() (*Pool, *fakeClock) {
	p := NewPool(netip.MustParsePrefix("198.18.0.0/28"), netip.MustParsePrefix("2001:2::/124"))
	c := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	p.now = c.now
	return p, c
}

// TestPoolRecyclesLRU: a full pool takes back the least recently used
// name, once that name has not been used for MinAge.
func TestPoolRecyclesLRU(t *testing.T) {
	p := NewPool(netip.MustParsePrefix("198.18.0.0/30"), netip.MustParsePrefix("2001:2::/126"))
	c := &fakeClock{t: time.Unix(1e9, 0)}
	p.now = c.now
	a, _ := p.Addrs("a.test")
	b, _ := p.Addrs("b.test")
	c.t = c.t.Add(time.Second)
	p.Name(a) // a is now the most recently used
	c.t = c.t.Add(p.MinAge)
	cc, _ := p.Addrs("c.test")
	if cc != b {
		t.Fatalf("c got %v, want b's recycled %v", cc, b)
	}
	if n, _ := p.Name(b); n != "c.test" {
		t.Fatalf("recycled address maps to %q", n)
	}
	if n, ok := p.Name(a); !ok || n != "a.test" {
		t.Fatalf("recently used name lost: %q", n)
	}
	if p.Len() != 2 {
		t.Fatalf("Len = %d", p.Len())
	}
}

// TestPoolKeepsCachedAddresses: the review's case on a small pool. A
// program resolved origin.test, then many other names in a few seconds;
// the pool is full, but origin.test's address must not go to another name
// while the program may still have it cached (MinAge, the answers' TTL,
// after origin.test was last answered or connected to). Until some name
// is that old, queries for new names get SERVFAIL, not a reused address.
func TestPoolKeepsCachedAddresses(t *testing.T) {
	p, c := smallPool()
	s := &Server{Pool: p}
	start := c.t
	origin, _ := p.Addrs("origin.test")
	others := map[netip.Addr]string{}
	for i := range 13 { // the other 13 addresses, within 11.6 s
		c.t = start.Add(time.Duration(i+1) * 800 * time.Millisecond)
		name := fmt.Sprintf("n%d.other.test", i)
		v4, v6 := p.Addrs(name)
		if !v4.IsValid() || !v6.IsValid() || v4 == origin {
			t.Fatalf("%s got %v %v (origin.test has %v)", name, v4, v6, origin)
		}
		others[v4] = name
	}
	c.t = start.Add(11600 * time.Millisecond)
	if v4, v6 := p.Addrs("late.other.test"); v4.IsValid() || v6.IsValid() {
		t.Fatalf("full pool of names used within %v handed out %v %v", p.MinAge, v4, v6)
	}
	for _, typ := range []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA} {
		m := parse(t, s.Answer(query(t, "late.other.test.", typ)))
		if m.RCode != dnsmessage.RCodeServerFailure || len(m.Answers) != 0 || len(m.Questions) != 1 || m.ID != 0x4242 {
			t.Fatalf("%v query to a full pool: %+v, want SERVFAIL", typ, m)
		}
	}
	if n, ok := p.Name(origin); !ok || n != "origin.test" {
		t.Fatalf("origin.test's address now stands for %q, %v", n, ok)
	}
	// Name (the program's connect) marked origin.test used at 11.6 s, so
	// once MinAge has passed since the start the others go back first,
	// oldest first.
	c.t = start.Add(time.Minute + 800*time.Millisecond)
	v4, _ := p.Addrs("late.other.test")
	if others[v4] != "n0.other.test" {
		t.Fatalf("late.other.test got %v (of %q), want n0.other.test's", v4, others[v4])
	}
	if v4, _ := p.Addrs("later.other.test"); v4.IsValid() {
		t.Fatalf("n1.other.test (used 59.2 s ago) lost %v", v4)
	}
	// An answer for a name it has counts as use too.
	if v4, _ := p.Addrs("n1.other.test"); others[v4] != "n1.other.test" {
		t.Fatalf("n1.other.test moved to %v", v4)
	}
	c.t = start.Add(11600*time.Millisecond + time.Minute)
	for i := 2; i < 13; i++ {
		if v4, _ := p.Addrs(fmt.Sprintf("new%d.test", i)); others[v4] != fmt.Sprintf("n%d.other.test", i) {
			t.Fatalf("new%d.test got %v (of %q)", i, v4, others[v4])
		}
	}
	if v4, _ := p.Addrs("new.test"); v4 != origin {
		t.Fatalf("new.test got %v, want origin.test's %v, unused for a minute", v4, origin)
	}
}

// TestServerTTLHoldsAddresses: a Server whose TTL is longer than the
// pool's MinAge makes the pool keep addresses for that TTL.
func TestServerTTLHoldsAddresses(t *testing.T) {
	p, c := smallPool()
	s := &Server{Pool: p, TTL: 300}
	start := c.t
	answer := func(name string) (netip.Addr, dnsmessage.RCode) {
		m := parse(t, s.Answer(query(t, name, dnsmessage.TypeA)))
		if len(m.Answers) == 0 {
			return netip.Addr{}, m.RCode
		}
		if m.Answers[0].Header.TTL != 300 {
			t.Fatalf("TTL %d", m.Answers[0].Header.TTL)
		}
		return netip.AddrFrom4(m.Answers[0].Body.(*dnsmessage.AResource).A), m.RCode
	}
	origin, _ := answer("origin.test.")
	for i := range 13 {
		if _, rc := answer(fmt.Sprintf("n%d.test.", i)); rc != dnsmessage.RCodeSuccess {
			t.Fatalf("n%d: %v", i, rc)
		}
	}
	c.t = start.Add(299 * time.Second)
	if a, rc := answer("late.test."); rc != dnsmessage.RCodeServerFailure {
		t.Fatalf("after 299 s of a 300 s TTL: %v %v, want SERVFAIL", a, rc)
	}
	c.t = start.Add(300 * time.Second)
	if a, rc := answer("late.test."); a != origin || rc != dnsmessage.RCodeSuccess {
		t.Fatalf("after the TTL: %v %v, want origin.test's %v", a, rc, origin)
	}
}

func query(t *testing.T, name string, typ dnsmessage.Type) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 0x4242, RecursionDesired: true})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET})
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func parse(t *testing.T, msg []byte) dnsmessage.Message {
	t.Helper()
	var m dnsmessage.Message
	if err := m.Unpack(msg); err != nil {
		t.Fatalf("unpack answer: %v", err)
	}
	return m
}

// TestNoAAAA: with NoAAAA a name has an IPv4 fake only, and an AAAA
// query gets NODATA (NOERROR, no record), as for a name without IPv6: a
// resolver asking for both returns one address.
func TestNoAAAA(t *testing.T) {
	s := &Server{Pool: NewPool(DefaultV4, DefaultV6), NoAAAA: true}
	m := parse(t, s.Answer(query(t, "origin.test.", dnsmessage.TypeAAAA)))
	if !m.Response || m.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 0 || len(m.Questions) != 1 {
		t.Fatalf("AAAA answer: %+v, want NOERROR and no record", m)
	}
	m = parse(t, s.Answer(query(t, "origin.test.", dnsmessage.TypeA)))
	if len(m.Answers) != 1 || !DefaultV4.Contains(netip.AddrFrom4(m.Answers[0].Body.(*dnsmessage.AResource).A)) {
		t.Fatalf("A answer: %+v", m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ap, err := s.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, ap.String())
	}}
	addrs, err := r.LookupNetIP(ctx, "ip", "no-such-name.test")
	if err != nil || len(addrs) != 1 || !DefaultV4.Contains(addrs[0]) {
		t.Fatalf("lookup: %v, %v; want one fake IPv4 address (names that do not exist get one too)", addrs, err)
	}
}

func TestAnswerTypes(t *testing.T) {
	s := &Server{Pool: NewPool(DefaultV4, DefaultV6)}
	m := parse(t, s.Answer(query(t, "origin.test.", dnsmessage.TypeA)))
	if m.ID != 0x4242 || !m.Response || m.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 1 {
		t.Fatalf("A answer: %+v", m)
	}
	v4 := netip.AddrFrom4(m.Answers[0].Body.(*dnsmessage.AResource).A)
	if n, _ := s.Pool.Name(v4); n != "origin.test" {
		t.Fatalf("A %v maps to %q", v4, n)
	}
	m = parse(t, s.Answer(query(t, "origin.test.", dnsmessage.TypeAAAA)))
	if len(m.Answers) != 1 || !DefaultV6.Contains(netip.AddrFrom16(m.Answers[0].Body.(*dnsmessage.AAAAResource).AAAA)) {
		t.Fatalf("AAAA answer: %+v", m)
	}
	// PTR of the fake address gives the name back
	rev := reverseName(v4)
	m = parse(t, s.Answer(query(t, rev, dnsmessage.TypePTR)))
	if len(m.Answers) != 1 || m.Answers[0].Body.(*dnsmessage.PTRResource).PTR.String() != "origin.test." {
		t.Fatalf("PTR %s: %+v", rev, m)
	}
	// other types: empty NOERROR
	for _, typ := range []dnsmessage.Type{dnsmessage.TypeMX, dnsmessage.TypeTXT, dnsmessage.Type(65)} {
		m = parse(t, s.Answer(query(t, "origin.test.", typ)))
		if m.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 0 {
			t.Errorf("type %v: %+v", typ, m)
		}
	}
	// a response is not answered; garbage gets FORMERR with its ID
	if s.Answer(parse2(s.Answer(query(t, "a.test.", dnsmessage.TypeA)))) != nil {
		t.Error("answered a response")
	}
	m = parse(t, s.Answer([]byte("\x12\x34\x01\x00\x00\x05\x00\x00\x00\x00\x00\x00garbage")))
	if m.ID != 0x1234 || m.RCode != dnsmessage.RCodeFormatError {
		t.Errorf("garbage: %+v", m.Header)
	}
	if s.Answer([]byte("\x12")) != nil {
		t.Error("answered a 1-byte message")
	}
	// names that could not travel to an exit unchanged are refused
	bad := query(t, "a.test.", dnsmessage.TypeA)
	bad[13] = 0 // the "a" of "a.test" becomes NUL
	m = parse(t, s.Answer(bad))
	if m.RCode != dnsmessage.RCodeRefused {
		t.Errorf("name with NUL: %+v", m.Header)
	}
}

func parse2(b []byte) []byte { return b }

func reverseName(ip netip.Addr) string {
	b := ip.As4()
	return net.IP{b[3], b[2], b[1], b[0]}.String() + ".in-addr.arpa."
}

func TestReverseAddr(t *testing.T) {
	for _, ip := range []string{"198.18.0.5", "2001:2::7", "2001:2:0:0:ab:cd:ef:1"} {
		a := netip.MustParseAddr(ip)
		name, err := dnsReverse(a)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := reverseAddr(name)
		if !ok || got != a {
			t.Errorf("reverseAddr(%q) = %v, %v; want %v", name, got, ok, a)
		}
	}
}

// dnsReverse is the reverse name of ip, the way resolvers write it.
func dnsReverse(ip netip.Addr) (string, error) {
	if ip.Is4() {
		return reverseName(ip), nil
	}
	const hex = "0123456789abcdef"
	b := ip.As16()
	out := make([]byte, 0, 72)
	for i := 15; i >= 0; i-- {
		out = append(out, hex[b[i]&0xf], '.', hex[b[i]>>4], '.')
	}
	return string(out) + "ip6.arpa.", nil
}

// TestRealResolver: Go's own stub resolver, over UDP and over TCP, gets fake
// addresses and can look them up in reverse.
func TestRealResolver(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &Server{Pool: NewPool(DefaultV4, DefaultV6)}
	ap, err := s.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	for _, network := range []string{"udp", "tcp"} {
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, ap.String())
		}}
		ctx, c := context.WithTimeout(ctx, 5*time.Second)
		addrs, err := r.LookupNetIP(ctx, "ip", "only-at-the-exit.test")
		c()
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		if len(addrs) != 2 || !slices.ContainsFunc(addrs, DefaultV4.Contains) || !slices.ContainsFunc(addrs, DefaultV6.Contains) {
			t.Fatalf("%s: addrs %v", network, addrs)
		}
		names, err := r.LookupAddr(context.Background(), addrs[0].String())
		if err != nil || len(names) != 1 || names[0] != "only-at-the-exit.test." {
			t.Fatalf("%s: reverse %v: %v, %v", network, addrs[0], names, err)
		}
	}
}

func FuzzAnswer(f *testing.F) {
	f.Add([]byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x06origin\x04test\x00\x00\x01\x00\x01"))
	f.Add([]byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x06origin\x04test\x00\x00\x1c\x00\x01"))
	f.Add([]byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x015\x010\x0218\x03198\x07in-addr\x04arpa\x00\x00\x0c\x00\x01"))
	f.Add([]byte("\x12\x34\x28\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01"))
	s := &Server{Pool: NewPool(netip.MustParsePrefix("198.18.0.0/29"), netip.MustParsePrefix("2001:2::/125"))}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := s.Answer(in)
		if out == nil {
			return
		}
		var m dnsmessage.Message
		if err := m.Unpack(out); err != nil {
			t.Fatalf("answer to %q does not parse: %v", in, err)
		}
		if !m.Response || len(in) >= 2 && m.ID != uint16(in[0])<<8|uint16(in[1]) {
			t.Fatalf("answer header %+v", m.Header)
		}
		for _, a := range m.Answers {
			switch b := a.Body.(type) {
			case *dnsmessage.AResource:
				if n, ok := s.Pool.Name(netip.AddrFrom4(b.A)); !ok || n != Canonical(a.Header.Name.String()) {
					t.Fatalf("A %v for %s maps back to %q", b.A, a.Header.Name, n)
				}
			}
		}
	})
}

// TestLocalhost: localhost and names under it are the loopback address
// (RFC 6761), never a fake one; IPv6's only when AAAA answers are given.
func TestLocalhost(t *testing.T) {
	pool := NewPool(DefaultV4, DefaultV6)
	s := &Server{Pool: pool, NoAAAA: true}
	for _, name := range []string{"localhost.", "LocalHost.", "app.localhost."} {
		m := parse(t, s.Answer(query(t, name, dnsmessage.TypeA)))
		if len(m.Answers) != 1 || m.Answers[0].Body.(*dnsmessage.AResource).A != [4]byte{127, 0, 0, 1} {
			t.Errorf("%s A: %+v", name, m.Answers)
		}
		if m = parse(t, s.Answer(query(t, name, dnsmessage.TypeAAAA))); len(m.Answers) != 0 || m.RCode != dnsmessage.RCodeSuccess {
			t.Errorf("%s AAAA without AAAA answers: %v %+v, want none", name, m.RCode, m.Answers)
		}
		v6 := &Server{Pool: pool}
		m = parse(t, v6.Answer(query(t, name, dnsmessage.TypeAAAA)))
		if len(m.Answers) != 1 || netip.AddrFrom16(m.Answers[0].Body.(*dnsmessage.AAAAResource).AAAA) != netip.IPv6Loopback() {
			t.Errorf("%s AAAA: %+v", name, m.Answers)
		}
	}
	// Not a name that merely ends in the letters; it gets the pool's first
	// address, so the localhost answers took none.
	m := parse(t, s.Answer(query(t, "notlocalhost.", dnsmessage.TypeA)))
	if len(m.Answers) != 1 || netip.AddrFrom4(m.Answers[0].Body.(*dnsmessage.AResource).A) != DefaultV4.Addr().Next() {
		t.Errorf("notlocalhost A: %+v, want the pool's first address", m.Answers)
	}
}

// TestSearchExpansions: with ndots above 1, a name made of a shorter one
// and a search domain is NXDOMAIN, so the resolver goes on to the name the
// program asked for; a name ending in a search domain that is itself being
// expanded is answered as is; with ndots 1 every name is answered.
func TestSearchExpansions(t *testing.T) {
	search := []string{"default.svc.cluster.local", "svc.cluster.local", "cluster.local"}
	s := &Server{Pool: NewPool(DefaultV4, DefaultV6), NoAAAA: true, Search: search, Ndots: 5}
	rcode := func(name string) dnsmessage.RCode {
		return parse(t, s.Answer(query(t, name, dnsmessage.TypeA))).RCode
	}
	// glibc's order for "origin.test" (1 dot < 5): the expansions, then it.
	for _, q := range []string{"origin.test.default.svc.cluster.local.", "origin.test.svc.cluster.local.", "origin.test.cluster.local."} {
		if rc := rcode(q); rc != dnsmessage.RCodeNameError {
			t.Errorf("%s: %v, want NXDOMAIN", q, rc)
		}
	}
	if rc := rcode("origin.test."); rc != dnsmessage.RCodeSuccess {
		t.Errorf("origin.test: %v", rc)
	}
	// "api.svc.cluster.local" asked for: its expansions, then it, answered.
	for _, q := range []string{"api.svc.cluster.local.default.svc.cluster.local.", "api.svc.cluster.local.svc.cluster.local."} {
		if rc := rcode(q); rc != dnsmessage.RCodeNameError {
			t.Errorf("%s: %v, want NXDOMAIN", q, rc)
		}
	}
	if rc := rcode("api.svc.cluster.local."); rc != dnsmessage.RCodeSuccess {
		t.Errorf("api.svc.cluster.local as is: %v", rc)
	}
	// Names not under a search domain, or with ndots dots before it.
	for _, q := range []string{"example.com.", "a.b.c.d.e.f.cluster.local."} {
		if rc := rcode(q); rc != dnsmessage.RCodeSuccess {
			t.Errorf("%s: %v", q, rc)
		}
	}
	// ndots 1: an intranet name's expansion is what was meant.
	desk := &Server{Pool: NewPool(DefaultV4, DefaultV6), Search: []string{"corp.example"}, Ndots: 1}
	if m := parse(t, desk.Answer(query(t, "intranet.corp.example.", dnsmessage.TypeA))); m.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 1 {
		t.Errorf("ndots 1, intranet.corp.example: %+v", m)
	}
}

func TestResolv(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(p, []byte("# a pod's\nnameserver 10.96.0.10\ndomain old.example\nsearch ns.svc.cluster.local svc.cluster.local\noptions edns0 ndots:5\n"), 0o644)
	if search, ndots := Resolv(p); ndots != 5 || len(search) != 2 || search[0] != "ns.svc.cluster.local" {
		t.Errorf("Resolv: %v %d", search, ndots)
	}
	if search, ndots := Resolv(filepath.Join(t.TempDir(), "none")); search != nil || ndots != 1 {
		t.Errorf("Resolv of no file: %v %d", search, ndots)
	}
}
