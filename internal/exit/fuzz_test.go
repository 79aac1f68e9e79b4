package exit

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseUsers: the users file parser never panics, and every account it
// accepts checks with its own password and not with another.
func FuzzParseUsers(f *testing.F) {
	f.Add("alice:s3cret\nbob:pa:ss\n")
	f.Add("# c\n\n:x\n")
	f.Fuzz(func(t *testing.T, in string) {
		u, err := ParseUsers(strings.NewReader(in))
		if err != nil {
			return
		}
		for name, pass := range u {
			if !u.Check(name, pass) || u.Check(name, pass+"x") {
				t.Fatalf("Check wrong for %q", name)
			}
		}
	})
}

// FuzzPolicy: an address and its IPv4-mapped form are judged alike, and
// loopback is never allowed by the default policy.
func FuzzPolicy(f *testing.F) {
	f.Add([]byte{127, 0, 0, 1})
	f.Add([]byte{0x20, 0x02, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	p := NewPolicy(nil, nil, nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		got, _ := p.Allowed(ip)
		if ip.Is4() {
			if mapped, _ := p.Allowed(netip.AddrFrom16(ip.As16())); mapped != got {
				t.Fatalf("%v and its mapped form differ", ip)
			}
		}
		if got && (ip.Unmap().IsLoopback() || ip.Unmap().IsPrivate() || ip.Unmap().IsLinkLocalUnicast() || ip.Unmap().IsMulticast() || ip.Unmap().IsUnspecified()) {
			t.Fatalf("%v allowed by default", ip)
		}
	})
}
