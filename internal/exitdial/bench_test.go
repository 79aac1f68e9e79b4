package exitdial_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/exitdial"
	"github.com/carrot-project/carrot/internal/netns"
)

// BenchmarkExits measures, in one censored network, with real `carrot exit`
// processes (see docs/benchmarks.md, "Network: exits"):
//
//   - throughput of an HTTP download, direct (from an uncensored host) vs
//     through one exit vs through a 2-hop chain;
//   - connection setup + time to first byte of a small GET, direct vs
//     through one exit, and with 3 exits of which the first 2 are blocked
//     (race mode: a fresh dialer each time, which pays for the blocked exits,
//     and a long-lived one, which remembers the exit that worked).
//
// Run: go test -run '^$' -bench Exits -benchtime 20x ./internal/exitdial
func BenchmarkExits(b *testing.B) {
	c := netns.NewCensored(b, netns.CensoredOptions{Exits: 4, Blocked: 2})
	for i := range c.Exits {
		startCarrotExit(b, c.Exits[i], ":1080")
	}
	// the peer tool, beside exit 2's carrot exit
	micro := c.Exits[2].Start("microsocks", "-i", "0.0.0.0", "-p", "1081", "-u", user, "-P", pass)
	url := func(i int) string { return exitURL(c, i, 1080) }
	microURL := exitURL(c, 2, 1081)
	direct := c.Exits[2].DialContext // an uncensored host next to the origin
	dialer := func(mode exitdial.Mode, stagger time.Duration, urls ...string) *exitdial.Dialer {
		var exits []*exitdial.Exit
		for _, u := range urls {
			e, err := exitdial.ParseExit(u, nil)
			if err != nil {
				b.Fatal(err)
			}
			exits = append(exits, e)
		}
		d, err := exitdial.New(exitdial.Config{Exits: exits, Mode: mode, Stagger: stagger,
			ConnectTimeout: 10 * time.Second, Dial: c.Client.DialContext})
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	ctx := context.Background()
	origin := c.OriginName + ":80"
	if !micro.WaitOutput("", time.Second) {
		b.Fatal("microsocks")
	}
	// microsocks has no "ready" line: wait until it answers
	for i := 0; ; i++ {
		conn, err := c.Client.DialContext(ctx, "tcp", c.ExitV4[2].String()+":1081")
		if err == nil {
			conn.Close()
			break
		}
		if i == 100 {
			b.Fatalf("microsocks not listening: %v\n%s", err, micro.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}

	const size = 256 << 20
	for _, tc := range []struct {
		name string
		dial func(context.Context, string, string) (net.Conn, error)
	}{
		{"direct", direct},
		{"1exit", dialer(exitdial.Race, 0, url(2)).DialContext},
		{"1exit-microsocks", dialer(exitdial.Race, 0, microURL).DialContext},
		{"2hop", dialer(exitdial.Chain, 0, url(2), url(3)).DialContext},
	} {
		b.Run("throughput/"+tc.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				addr := origin
				if tc.name == "direct" {
					addr = c.OriginV4.String() + ":80"
				}
				if n := fetch(b, ctx, tc.dial, addr, fmt.Sprintf("/bytes?n=%d", size)); n < size {
					b.Fatalf("got %d bytes", n)
				}
			}
		})
	}

	for _, tc := range []struct {
		name string
		dial func() func(context.Context, string, string) (net.Conn, error)
	}{
		{"direct", func() func(context.Context, string, string) (net.Conn, error) { return direct }},
		{"1exit", once(dialer(exitdial.Race, 0, url(2)).DialContext)},
		{"1exit-pipelined", once(dialer(exitdial.Race, 0, url(2)+"?pipeline=1").DialContext)},
		{"1exit-microsocks", once(dialer(exitdial.Race, 0, microURL).DialContext)},
		{"race3-2blocked-fresh", func() func(context.Context, string, string) (net.Conn, error) {
			return dialer(exitdial.Race, 0, url(0), url(1), url(2)).DialContext
		}},
		{"race3-2blocked-fresh-stagger5ms", func() func(context.Context, string, string) (net.Conn, error) {
			return dialer(exitdial.Race, 5*time.Millisecond, url(0), url(1), url(2)).DialContext
		}},
		{"race3-2blocked", once(dialer(exitdial.Race, 0, url(0), url(1), url(2)).DialContext)},
	} {
		b.Run("connect/"+tc.name, func(b *testing.B) {
			addr := origin
			if tc.name == "direct" {
				addr = c.OriginV4.String() + ":80"
			}
			// warm up: a long-lived dialer learns which exit works here,
			// outside the timed loop
			fetch(b, ctx, tc.dial(), addr, "/")
			for b.Loop() {
				if n := fetch(b, ctx, tc.dial(), addr, "/"); n != int64(len(netns.OriginBody)) {
					b.Fatalf("got %d bytes", n)
				}
			}
		})
	}
}

func once(f func(context.Context, string, string) (net.Conn, error)) func() func(context.Context, string, string) (net.Conn, error) {
	return func() func(context.Context, string, string) (net.Conn, error) { return f }
}

// fetch does an HTTP/1.0 GET of path over a new connection and returns the
// body's length.
func fetch(b *testing.B, ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), addr, path string) int64 {
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: origin.test\r\n\r\n", path)
	var head strings.Builder
	one := make([]byte, 1)
	for !strings.HasSuffix(head.String(), "\r\n\r\n") {
		if _, err := io.ReadFull(conn, one); err != nil {
			b.Fatalf("reading header: %v (%q)", err, head.String())
		}
		head.WriteByte(one[0])
	}
	n, err := io.Copy(io.Discard, conn)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
