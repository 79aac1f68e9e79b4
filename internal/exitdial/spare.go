package exitdial

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/carrot-project/carrot/internal/socks5"
)

// Spares. A SOCKS5 CONNECT needs the TCP handshake with the exit, the
// greeting and the credentials (three round trips, four with TLS) before
// the request itself. With Config.Spares the dialer does those ahead of
// time: it keeps, per exit, one connection that has finished them and
// waits for a request, and makes a new one in the background each time
// one is used. A connect then costs one round trip to the exit plus the
// exit's own connect to the destination.
//
// A spare is used only while younger than spareMaxAge (servers limit how
// long a client may take to send its request: carrot exit 10 s, Dante
// 30 s); an older one is closed, and nothing replaces it until the next
// Dial, so an idle program makes no traffic. A spare the server has
// closed (its FIN or reset arrived: the socket is in CLOSE_WAIT or CLOSE)
// is not used. One the server drops just as the request goes (the request
// meets EOF or a reset, with no reply, within deadSpareWithin) is not
// counted against the exit: the attempt is made again on a new
// connection. Later than that the server had the request, and may have
// been connecting to the destination all along: asking again would make
// it connect twice, so the failure stands.

// spareMaxAge is how long a spare may wait for its request.
const spareMaxAge = 5 * time.Second

type spare struct {
	raw  net.Conn // the TCP connection
	conn net.Conn // raw, or TLS over it; closing it closes raw
	born time.Time
}

// takeSpare returns e's spare if it has a fresh one.
func (d *Dialer) takeSpare(e *Exit) *spare {
	d.mu.Lock()
	sp := d.spares[e]
	delete(d.spares, e)
	d.mu.Unlock()
	if sp == nil {
		return nil
	}
	if time.Since(sp.born) > spareMaxAge || closedByPeer(sp.raw) {
		sp.conn.Close()
		return nil
	}
	return sp
}

// closedByPeer reports whether the other end of c has closed it: a FIN
// (CLOSE_WAIT) or a reset (CLOSE) arrived. A connection whose state cannot
// be read is taken as open.
func closedByPeer(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var state uint8
	rc.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			state = info.State
		}
	})
	return state == unix.BPF_TCP_CLOSE || state == unix.BPF_TCP_CLOSE_WAIT
}

// deadSpareWithin is how soon after its request a spare must fail for the
// failure to be taken as the server having dropped it idle (a retry), not
// as its answer to the request: a few of the exit's round trips.
func (d *Dialer) deadSpareWithin(e *Exit) time.Duration {
	d.mu.Lock()
	rtt := d.srtt[e]
	d.mu.Unlock()
	return max(4*rtt, minDeadSpareWithin)
}

// minDeadSpareWithin is deadSpareWithin for a near exit.
const minDeadSpareWithin = 50 * time.Millisecond

// refillSoon refills e's spare refillDelay from now: the spare just used
// is carrying a new stream, whose first exchange (a request and its
// answer, a TLS handshake) is what the program waits for next, and a new
// spare's handshakes on the same CPUs, in carrot and in the exit, would
// delay it (by 0.2-0.3 ms a GET on loopback veths, with three exits
// refilled at once after a race). A Dial in the meantime dials afresh.
func (d *Dialer) refillSoon(e *Exit) {
	time.AfterFunc(refillDelay, func() { d.refill(e) })
}

// refillDelay is how long a used spare's replacement waits.
const refillDelay = 10 * time.Millisecond

// refill makes a spare for e in the background, unless it has one.
func (d *Dialer) refill(e *Exit) {
	d.mu.Lock()
	if d.closed || d.spares[e] != nil || d.making[e] || d.refused[e.Name] != nil {
		d.mu.Unlock()
		return
	}
	d.making[e] = true
	d.mu.Unlock()
	go func() {
		sp, err := d.makeSpare(e)
		if err != nil {
			// The next Dial finds out for itself; the caller hears of it now.
			d.problem(&AttemptError{Exit: e.Name, Err: err})
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		delete(d.making, e)
		if err != nil {
			return
		}
		d.lastOK[e] = time.Now()
		if d.closed || d.spares[e] != nil {
			sp.conn.Close()
			return
		}
		d.spares[e] = sp
	}()
}

func (d *Dialer) makeSpare(e *Exit) (*spare, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ConnectTimeout)
	defer cancel()
	t0 := time.Now()
	raw, err := d.cfg.Dial(ctx, "tcp", e.Addr)
	if err != nil {
		return nil, err
	}
	d.sampleExit(e, time.Since(t0))
	dl, _ := ctx.Deadline()
	raw.SetDeadline(dl)
	conn := raw
	if e.TLS != nil {
		tc := tls.Client(raw, e.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, &tlsError{err}
		}
		conn = tc
	}
	pipelines, err := socks5.ClientAuthProbe(conn, e.Auth)
	if err != nil {
		raw.Close()
		return nil, hint(e, err, d.isOtherServer(e))
	}
	d.mu.Lock()
	d.probed[e] = pipelines
	d.mu.Unlock()
	raw.SetDeadline(time.Time{})
	return &spare{raw: raw, conn: conn, born: time.Now()}, nil
}

// deadSpare reports whether a request on a spare failed because the server
// had closed it: EOF or a reset, with no reply.
func deadSpare(err error) bool {
	var ae *AttemptError
	if !errors.As(err, &ae) || ae.Dest {
		return false
	}
	return socks5.PeerClosed(err)
}

// Close closes the spares; Dial still works, without them.
func (d *Dialer) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	for e, sp := range d.spares {
		sp.conn.Close() // with TLS, close_notify first: the exit sees a clean close
		delete(d.spares, e)
	}
	return nil
}

// A Begun is a Dial's first request, sent already (Begin).
type Begun struct {
	exit *Exit
	sp   *spare
	dest socks5.Addr // the name, for a fake address
	at   time.Time   // when the request went
}

// Begin sends dest's CONNECT request at once on the spare of the exit that
// a Dial would ask first, and returns it for DialBegun to finish: nil if
// there is nothing to send (a chain, no fresh spare, a fake address with
// no name), and DialBegun then does it all. It is for a caller that must
// not wait but can spare a write: the tracer thread at a program's
// connect, where the goroutine that would send it starts 0.18–0.44 ms
// later on this project's 2-vCPU VM (measured: docs/benchmarks.md, run
// 37), time the exit can spend on the request instead. The request is one small write on a connection
// that has sent nothing since its greeting, so it does not block. A
// Begun must be given to DialBegun (its first attempt finishes it).
func (d *Dialer) Begin(dest socks5.Addr) *Begun {
	if d.cfg.Mode == Chain || !d.cfg.Spares {
		return nil
	}
	dest, err := d.named(dest)
	if err != nil {
		return nil
	}
	order := d.order(dest, d.cfg.Mode == Race)
	if len(order) == 0 {
		return nil
	}
	e := order[0]
	sp := d.takeSpare(e)
	if sp == nil {
		return nil
	}
	req, err := socks5.AppendRequest(nil, socks5.CmdConnect, dest)
	if err == nil {
		_, err = sp.conn.Write(req)
	}
	if err != nil {
		sp.conn.Close()
		d.refillSoon(e)
		return nil
	}
	return &Begun{exit: e, sp: sp, dest: dest, at: time.Now()}
}

// spare is b's spare and when its request went (nil for a nil b).
func (b *Begun) spare() (*spare, time.Time) {
	if b == nil {
		return nil, time.Time{}
	}
	return b.sp, b.at
}

// first puts b's exit first in order, where a Dial ordering the exits
// again (another connect's outcome came between) may have moved it.
func (b *Begun) first(order []*Exit) []*Exit {
	if b == nil || len(order) > 0 && order[0] == b.exit {
		return order
	}
	return append([]*Exit{b.exit}, slices.DeleteFunc(order, func(e *Exit) bool { return e == b.exit })...)
}
