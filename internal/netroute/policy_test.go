package netroute

import (
	"net/netip"
	"testing"
)

func TestPolicy(t *testing.T) {
	p := &Policy{
		Direct: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("2001:db8:1::/48"),
			netip.MustParsePrefix("198.18.0.0/16")}, // overlaps the fake range: still routed
		Fake: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("2001:2::/48")},
	}
	for _, c := range []struct {
		dest             string
		stream, datagram Verdict
	}{
		{"127.0.0.1:80", Direct, Direct},
		{"127.3.4.5:8080", Direct, Direct},
		{"[::1]:80", Direct, Direct},
		{"[::ffff:127.0.0.1]:80", Direct, Direct},
		{"0.0.0.0:80", Direct, Direct},
		{"[::]:80", Direct, Direct},
		{"10.1.2.3:443", Direct, Direct},
		{"[2001:db8:1::5]:443", Direct, Direct},
		{"10.2.0.1:443", Route, Refuse},
		{"93.184.216.34:443", Route, Refuse},
		{"[::ffff:93.184.216.34]:443", Route, Refuse},
		{"[2606:2800::1]:443", Route, Refuse},
		{"198.18.0.1:443", Route, Refuse},
		{"198.19.0.1:443", Route, Refuse},
		{"[2001:2::1]:443", Route, Refuse},
		// DNS, wherever it goes, is carrot's
		{"8.8.8.8:53", DNS, DNS},
		{"127.0.0.53:53", DNS, DNS},
		{"10.1.0.1:53", DNS, DNS},
		{"[2001:4860::8888]:53", DNS, DNS},
	} {
		ap := netip.MustParseAddrPort(c.dest)
		if got := p.Stream(ap); got != c.stream {
			t.Errorf("Stream(%s) = %v, want %v", c.dest, got, c.stream)
		}
		if got := p.Datagram(ap); got != c.datagram {
			t.Errorf("Datagram(%s) = %v, want %v", c.dest, got, c.datagram)
		}
	}
	if p.Raw(netip.MustParseAddr("8.8.8.8")) != Refuse || p.Raw(netip.MustParseAddr("127.0.0.1")) != Direct {
		t.Error("Raw")
	}
}
