package exit

import (
	"context"
	"net/netip"
	"testing"

	"github.com/carrot-project/carrot/internal/netns"
)

// TestIsLocal asks the real kernel, in a network namespace of the test's
// own: an address the host gains after the exit started is its own at
// once, and the policy denies it.
func TestIsLocal(t *testing.T) {
	n := netns.New(t)
	h := n.Host("exit")
	check := func(addr string, want bool) {
		t.Helper()
		var got bool
		var err error
		var allowed bool
		var why string
		h.Do(func() error {
			got, err = IsLocal(netip.MustParseAddr(addr))
			allowed, why = NewPolicy(nil, nil, IsLocalTo).Allowed(netip.MustParseAddr(addr))
			return nil
		})
		if err != nil || got != want {
			t.Errorf("IsLocal(%s) = %v, %v; want %v", addr, got, err, want)
		}
		if want && allowed {
			t.Errorf("Allowed(%s) = %v (%s), want it denied", addr, allowed, why)
		}
		if want && !netip.MustParseAddr(addr).Unmap().IsLoopback() && why != "exit's own address" {
			t.Errorf("Allowed(%s) = %v (%s), want the exit's own address denied", addr, allowed, why)
		}
	}
	check("127.0.0.1", true)
	check("198.51.99.6", false) // no route: not local, and the dial fails
	for _, args := range [][]string{
		{"addr", "add", "198.51.99.6/32", "dev", "lo"},
		{"-6", "addr", "add", "2001:4860:1::6/128", "dev", "lo"},
		{"route", "add", "local", "198.51.98.0/24", "dev", "lo"}, // AnyIP
	} {
		if out, err := h.Run(context.Background(), "ip", args...); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	check("198.51.99.6", true)
	check("::ffff:198.51.99.6", true)
	check("2001:4860:1::6", true)
	check("198.51.98.77", true)
	check("1.1.1.1", false)

	// Policy routing by port (the local rule moved after the others, as
	// VRF setups do): 198.51.97.5 is local to a TCP connection to port
	// 9000 only, and the lookup carries the port as the dial's does.
	for _, args := range [][]string{
		{"addr", "add", "198.51.97.5/32", "dev", "lo"},
		{"route", "add", "198.51.97.5/32", "dev", "lo", "table", "200"},
		{"rule", "add", "pref", "32765", "lookup", "local"},
		{"rule", "del", "pref", "0"},
		{"rule", "add", "pref", "50", "ipproto", "tcp", "dport", "9000", "lookup", "local"},
		{"rule", "add", "pref", "100", "lookup", "200"},
	} {
		if out, err := h.Run(context.Background(), "ip", args...); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	ip := netip.MustParseAddr("198.51.97.5")
	for port, want := range map[uint16]bool{9000: true, 80: false} {
		var got bool
		var err error
		h.Do(func() error { got, err = IsLocalTo(ip, port); return nil })
		if err != nil || got != want {
			t.Errorf("IsLocalTo(%s, %d) = %v, %v; want %v", ip, port, got, err, want)
		}
	}
}
