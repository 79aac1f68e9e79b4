package exitdial

import (
	"context"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/testnet"
)

// TestOver: Over offers a lone connection only to an exit known to work
// (the one that last reached the destination, with several exits; any
// that answered, with one; the first hop, in a chain; never TLS), and
// DialOver carries the stream on the caller's own connection, telling the
// destination's answers from the exit's failures.
func TestOver(t *testing.T) {
	a, b := startExit(t, nil, nil), startExit(t, nil, nil)
	echo := testnet.Echo(t).String()
	dest := mustAddr(echo)
	ctx := context.Background()
	dialOver := func(d *Dialer, p Plan) (Result, error) {
		t.Helper()
		raw, err := net.Dial("tcp", p.First.Addr)
		if err != nil {
			t.Fatal(err)
		}
		if p.Hello != nil { // the caller sends it (netroute: in the SYN)
			if _, err := raw.Write(p.Hello); err != nil {
				t.Fatal(err)
			}
		}
		return d.DialOver(ctx, p, raw)
	}

	d := newDialer(t, Race, 5*time.Second, a.url, b.url)
	if _, ok := d.Over(dest); ok {
		t.Fatal("Over before any exit reached the destination")
	}
	r, err := d.Dial(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	r.Conn.Close()
	p, ok := d.Over(dest)
	if !ok || p.First != r.Exit || p.Via != r.Exit.Name || p.ConnectBudget < 20*time.Millisecond || p.ConnectBudget > time.Second {
		t.Fatalf("Over after a Dial through %s: %+v %v", r.Exit.Name, p, ok)
	}
	if p.Hello != nil {
		t.Error("a Hello for an exit not known to read pipelined messages")
	}
	if _, ok := d.Over(mustAddr(closedAddr(t))); ok {
		t.Error("Over for a destination no exit reached yet")
	}
	r, err = dialOver(d, p)
	if err != nil {
		t.Fatal(err)
	}
	mustEcho(t, r.Conn)

	// The destination refuses: its answer, counted in the memory.
	closed := mustAddr(closedAddr(t))
	p.Dest = closed
	_, err = dialOver(d, p)
	wantErrno(t, err, syscall.ECONNREFUSED)
	if !AboutDest(err) {
		t.Errorf("refusal not about the destination: %v", err)
	}
	// The exit fails: not the destination's answer.
	p.Dest = dest
	bad := *p.First
	bad.Auth = nil // the exit requires a password
	p.First, p.hops = &bad, []*Exit{&bad}
	if _, err = dialOver(d, p); err == nil || AboutDest(err) {
		t.Errorf("exit refusing us: %v, AboutDest %v", err, AboutDest(err))
	}

	// An exit that missed a plan's budget is left alone for a while.
	p.First, p.hops = r.Exit, []*Exit{r.Exit}
	d.Missed(p)
	if _, ok := d.Over(dest); ok {
		t.Error("Over right after the exit missed its budget")
	}

	// One exit: any that answered (here, its spare).
	one, err := New(Config{Exits: d.cfg.Exits[:1], Spares: true})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	waitFor(t, func() bool { _, ok := one.Over(dest); return ok })
	if !one.pipelined(one.cfg.Exits[0]) {
		t.Error("carrot exit did not say, on the spare, that it reads pipelined messages")
	}
	p, _ = one.Over(dest)
	if p.Hello == nil {
		t.Error("no Hello for an exit that reads pipelined messages")
	}
	r, err = dialOver(one, p) // pipelined now, the caller sending the Hello
	if err != nil {
		t.Fatal(err)
	}
	mustEcho(t, r.Conn)

	// An exit given by name: once resolved in the background.
	named := strings.Replace(a.url, "127.0.0.1", "localhost", 1)
	byName, err := New(Config{Exits: []*Exit{mustExit(t, named)}, Spares: true})
	if err != nil {
		t.Fatal(err)
	}
	defer byName.Close()
	waitFor(t, func() bool { _, ok := byName.Over(dest); return ok })
	p, _ = byName.Over(dest)
	if len(p.Addrs) == 0 || !p.Addrs[0].Addr().IsLoopback() {
		t.Errorf("addresses of %s: %v", named, p.Addrs)
	}

	// A chain: the first hop, with the whole chain run over it.
	chain := newDialer(t, Chain, 5*time.Second, a.url, b.url)
	p, ok = chain.Over(dest)
	if !ok || p.First != chain.cfg.Exits[0] || !strings.Contains(p.Via, " -> ") {
		t.Fatalf("chain: %+v %v", p, ok)
	}
	r, err = dialOver(chain, p)
	if err != nil {
		t.Fatal(err)
	}
	mustEcho(t, r.Conn)

	// A chain whose first hop pipelines: its Hello asks for the second hop.
	chain = newDialer(t, Chain, 5*time.Second, a.url+"?pipeline=1", b.url)
	p, ok = chain.Over(dest)
	if !ok || p.Hello == nil {
		t.Fatalf("chain with a pipelining first hop: %+v %v", p, ok)
	}
	r, err = dialOver(chain, p)
	if err != nil {
		t.Fatal(err)
	}
	mustEcho(t, r.Conn)

	// TLS stays in carrot.
	cert := selfSigned(t)
	tl := startExit(t, &cert, nil)
	tlsOnly := newDialer(t, Chain, 5*time.Second, tl.url+"?pin="+Pin(cert.Certificate[0]), a.url)
	if _, ok := tlsOnly.Over(dest); ok {
		t.Error("Over with a TLS first hop")
	}
	tlsLast := newDialer(t, Chain, 5*time.Second, a.url, tl.url+"?pin="+Pin(cert.Certificate[0]))
	if _, ok := tlsLast.Over(dest); ok {
		t.Error("Over with a TLS hop later in the chain")
	}
}

func mustExit(t *testing.T, url string) *Exit {
	t.Helper()
	e, err := ParseExit(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
