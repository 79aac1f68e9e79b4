package netroute

import (
	"bytes"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSockaddr(t *testing.T) {
	for _, c := range []struct {
		family int
		ap     string
		want   string // what parsing the encoding gives
	}{
		{unix.AF_INET, "192.0.2.1:443", "192.0.2.1:443"},
		{unix.AF_INET, "[::ffff:192.0.2.1]:443", "192.0.2.1:443"},
		{unix.AF_INET6, "[2001:db8::1]:8080", "[2001:db8::1]:8080"},
		{unix.AF_INET6, "192.0.2.1:53", "[::ffff:192.0.2.1]:53"},
	} {
		b := sockaddr(c.family, netip.MustParseAddrPort(c.ap))
		fam, got, err := parseSockaddr(b)
		if err != nil || int(fam) != c.family || got != netip.MustParseAddrPort(c.want) {
			t.Errorf("%d %s: parsed back as %d %v %v, want %s", c.family, c.ap, fam, got, err, c.want)
		}
		back, ok := addrPortOf(unixSockaddr(c.family, netip.MustParseAddrPort(c.ap)))
		if !ok || back != got {
			t.Errorf("%d %s: unix form %v", c.family, c.ap, back)
		}
	}
	// the kernel's length rules
	in := sockaddr(unix.AF_INET, netip.MustParseAddrPort("192.0.2.1:1"))
	in6 := sockaddr(unix.AF_INET6, netip.MustParseAddrPort("[2001:db8::1]:1"))
	for _, c := range []struct {
		b  []byte
		ok bool
	}{
		{in, true}, {in[:15], false}, {in6, true}, {in6[:24], true}, {in6[:23], false}, {in[:1], false},
	} {
		if _, _, err := parseSockaddr(c.b); (err == nil) != c.ok {
			t.Errorf("len %d: err %v, want ok=%v", len(c.b), err, c.ok)
		}
	}
	// a scope id is kept for link-local addresses
	ll := sockaddr(unix.AF_INET6, netip.MustParseAddrPort("[fe80::1]:22"))
	ll[24] = 3
	if _, ap, _ := parseSockaddr(ll); ap.Addr().Zone() != "3" {
		t.Errorf("scope: %v", ap)
	}
	// other families: the family, no address
	un := append([]byte{unix.AF_UNIX, 0}, "/tmp/x\x00"...)
	if fam, ap, err := parseSockaddr(un); fam != unix.AF_UNIX || ap.IsValid() || err != nil {
		t.Errorf("AF_UNIX: %d %v %v", fam, ap, err)
	}
}

func FuzzParseSockaddr(f *testing.F) {
	f.Add(sockaddr(unix.AF_INET, netip.MustParseAddrPort("192.0.2.1:443")))
	f.Add(sockaddr(unix.AF_INET6, netip.MustParseAddrPort("[2001:db8::1]:80")))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		fam, ap, err := parseSockaddr(b)
		if err != nil || !ap.IsValid() {
			return
		}
		// what parses re-encodes to the same address and port
		enc := sockaddr(int(fam), ap)
		fam2, ap2, err := parseSockaddr(enc)
		if err != nil || fam2 != fam || ap2.Addr().WithZone("") != ap.Addr().WithZone("") || ap2.Port() != ap.Port() {
			t.Fatalf("%x: %d %v -> %x -> %d %v %v", b, fam, ap, enc, fam2, ap2, err)
		}
		if fam == unix.AF_INET && !bytes.Equal(enc[:8], b[:8]) {
			t.Fatalf("AF_INET %x re-encoded as %x", b[:8], enc[:8])
		}
	})
}
