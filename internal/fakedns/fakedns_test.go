package fakedns

import (
	"context"
	"net"
	"net/netip"
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

// TestPoolRecyclesLRU: a tiny pool takes back the least recently used name.
func TestPoolRecyclesLRU(t *testing.T) {
	p := NewPool(netip.MustParsePrefix("198.18.0.0/30"), netip.MustParsePrefix("2001:2::/126"))
	a, _ := p.Addrs("a.test")
	b, _ := p.Addrs("b.test")
	p.Name(a) // a is now the most recently used
	c, _ := p.Addrs("c.test")
	if c != b {
		t.Fatalf("c got %v, want b's recycled %v", c, b)
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
// (RFC 6761), never a fake one.
func TestLocalhost(t *testing.T) {
	pool := NewPool(DefaultV4, DefaultV6)
	s := &Server{Pool: pool, NoAAAA: true}
	for _, name := range []string{"localhost.", "LocalHost.", "app.localhost."} {
		m := parse(t, s.Answer(query(t, name, dnsmessage.TypeA)))
		if len(m.Answers) != 1 || m.Answers[0].Body.(*dnsmessage.AResource).A != [4]byte{127, 0, 0, 1} {
			t.Errorf("%s A: %+v", name, m.Answers)
		}
		m = parse(t, s.Answer(query(t, name, dnsmessage.TypeAAAA)))
		if len(m.Answers) != 1 || netip.AddrFrom16(m.Answers[0].Body.(*dnsmessage.AAAAResource).AAAA) != netip.IPv6Loopback() {
			t.Errorf("%s AAAA: %+v", name, m.Answers)
		}
	}
	if _, ok := pool.Name(netip.MustParseAddr("198.18.0.1")); ok {
		t.Error("localhost took a fake address")
	}
	// Not a name that merely ends in the letters.
	m := parse(t, s.Answer(query(t, "notlocalhost.", dnsmessage.TypeA)))
	if len(m.Answers) != 1 || !DefaultV4.Contains(netip.AddrFrom4(m.Answers[0].Body.(*dnsmessage.AResource).A)) {
		t.Errorf("notlocalhost A: %+v", m.Answers)
	}
}
