// Package relay joins two stream connections: bytes from each are copied to
// the other until both directions end. It is the data path of an exit (client
// <-> destination) and, later, of the tracer's connect relay (program <->
// exit).
//
// Mechanism. Each direction is one copy. Between two *net.TCPConn it is
// splice(2) (splice.go), so the payload never enters user space, through
// a pipe held only while bytes are in it: an idle relay holds its two
// sockets and nothing else. Anything else (TLS, whose bytes must be
// encrypted; net.Pipe in tests) goes through io.Copy. When a source
// reaches EOF the other side's write half is shut (CloseWrite), so a
// client that half-closes (shutdown(SHUT_WR), HTTP/1.0 style request
// bodies, `nc -N`) still gets its answer; the relay ends when both
// directions have ended. A read or write error in one direction closes
// both connections, which ends the other direction too. A source that has
// half-closed is still watched (awaitGone, on the poller, without a
// goroutine of its own): should its socket then be closed altogether (a
// reset, or its keepalives unanswered), nobody is left to take the other
// direction's bytes, and the relay ends, rather than wait on a destination
// that may never speak. PipeContext also ends, closing both connections,
// when its context is done (an exit stopping).
//
// Idle timeout without touching the data path: splice cannot count bytes as
// they pass and per-read deadlines would force a user-space copy, so a
// watchdog samples the kernel's own counters instead — TCP_INFO's
// tcpi_bytes_received and tcpi_bytes_acked on every TCP connection in the
// pair — and closes both connections when none of them has moved for the
// idle period (sampled every eighth of it: the close comes 1 to 1.125
// times the idle period after the last byte, never sooner). Connections
// that are not TCP (tests over net.Pipe) are wrapped with a counting
// reader, which costs the splice but nothing else.
package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// ErrIdle is returned by Pipe when it closed the pair for being idle.
var ErrIdle = errors.New("relay: idle timeout")

// Stats is what a Pipe moved.
type Stats struct {
	AToB, BToA int64 // bytes copied from a to b and from b to a
}

// Pipe copies a to b and b to a until both directions end, then closes both
// connections. idle > 0 closes the pair after that long without a byte in
// either direction. The error is the first failure of either direction (nil
// for clean EOFs on both sides), or ErrIdle.
func Pipe(a, b net.Conn, idle time.Duration) (Stats, error) {
	return PipeContext(context.Background(), a, b, idle)
}

// PipeContext is Pipe that also ends, closing both connections, when ctx
// is done (its error is then ctx's).
func PipeContext(ctx context.Context, a, b net.Conn, idle time.Duration) (Stats, error) {
	var (
		st       Stats
		errMu    sync.Mutex
		firstErr error // guarded by errMu: the watchdog or ctx may fail the pair as it ends
		wg       sync.WaitGroup
		closing  sync.Once
		closed   atomic.Bool
	)
	closeBoth := func() {
		closing.Do(func() {
			closed.Store(true)
			a.Close()
			b.Close()
		})
	}
	fail := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
		closeBoth()
	}
	stop := context.AfterFunc(ctx, func() { fail(context.Cause(ctx)) })
	defer stop()

	ra, rb := io.Reader(a), io.Reader(b)
	ta, tb := tcpConn(a), tcpConn(b)
	var activity func() uint64
	if idle > 0 {
		if ta == nil && tb == nil {
			var n atomic.Uint64
			ra = countingReader{a, &n}
			rb = countingReader{b, &n}
			activity = n.Load
		} else {
			activity = func() uint64 { return tcpActivity(ta) + tcpActivity(tb) }
		}
	}
	// copyDir copies src to dst; at src's EOF it shuts dst's write half,
	// and then waits for the other direction, or for src to be gone.
	// dstShut is set before dst's write half is shut, srcShut by the
	// other direction before it shuts src's. Once both are set, both
	// directions have ended (whichever sets its flag second sees the
	// other's, and closes the pair); and once both halves of src are
	// shut, its socket closes normally (FIN both ways), which is no sign
	// of the peer being gone.
	copyDir := func(dst, src net.Conn, r io.Reader, tsrc *net.TCPConn, n *int64, dstShut, srcShut *atomic.Bool) {
		defer wg.Done()
		c, err := copyStream(dst, r)
		atomic.AddInt64(n, c)
		if err != nil {
			fail(err)
			return
		}
		dstShut.Store(true)
		closeWrite(dst)
		if srcShut.Load() {
			closeBoth()
			return
		}
		if tsrc == nil {
			return
		}
		if err := awaitGone(tsrc); !closed.Load() && !srcShut.Load() {
			fail(err)
		}
	}
	var aShut, bShut atomic.Bool
	wg.Add(2)
	go copyDir(b, a, ra, ta, &st.AToB, &bShut, &aShut)
	go copyDir(a, b, rb, tb, &st.BToA, &aShut, &bShut)

	done := make(chan struct{})
	if idle > 0 {
		go watch(idle, activity, done, func() { fail(ErrIdle) })
	}
	wg.Wait()
	close(done)
	closeBoth()
	errMu.Lock()
	defer errMu.Unlock()
	return Stats{AToB: atomic.LoadInt64(&st.AToB), BToA: atomic.LoadInt64(&st.BToA)}, firstErr
}

// ErrGone is a relay's error when a connection whose stream had ended
// (a half-close) was then closed altogether: reset, or declared dead by
// its keepalives, while the other direction still waited.
var ErrGone = errors.New("relay: the peer that had half-closed is gone")

// awaitGone waits, without reading, until c's socket is closed (TCP state
// CLOSE: a reset, a keepalive timeout), or until c is closed here. c's
// peer has half-closed (its EOF was read): the socket stays readable, so
// the wait is for the next event on it, which a reset or a keepalive
// timeout raises (EPOLLERR, EPOLLHUP). Other events wake it too (room to
// write, as the other direction sends: the poller is edge-triggered and
// reports the socket's whole readiness), and it looks again: a TCP_INFO
// call per wake-up, about a hundred for 300 MB sent the other way.
func awaitGone(c *net.TCPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var gone error
	err = rc.Read(func(fd uintptr) bool {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		switch {
		case err != nil:
			gone = err
		case info.State == unix.BPF_TCP_CLOSE:
			gone = ErrGone
			if e, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR); err == nil && e != 0 {
				gone = fmt.Errorf("%w: %w", ErrGone, unix.Errno(e))
			}
		default:
			return false
		}
		return true
	})
	if gone != nil {
		return gone
	}
	return err
}

// watch calls expire once activity has not changed for idle. It samples
// activity every idle/watchSteps, and expires a pair idle after the sample
// that first saw its last change: between 1 and 1+1/watchSteps times idle
// after the last byte, never sooner.
func watch(idle time.Duration, activity func() uint64, done <-chan struct{}, expire func()) {
	tick := max(idle/watchSteps, 10*time.Millisecond)
	t := time.NewTimer(tick)
	defer t.Stop()
	last, lastChange := activity(), time.Now()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		now := time.Now()
		if cur := activity(); cur != last {
			last, lastChange = cur, now
		}
		left := idle - now.Sub(lastChange)
		if left <= 0 {
			expire()
			return
		}
		t.Reset(min(tick, left))
	}
}

// watchSteps is how many activity samples an idle period takes.
const watchSteps = 8

// closeWrite shuts the write half of c, or closes it if it has none.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	c.Close()
}

// tcpConn finds the TCP connection under c (through tls.Conn's NetConn).
func tcpConn(c net.Conn) *net.TCPConn {
	for range 4 {
		switch x := c.(type) {
		case *net.TCPConn:
			return x
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// tcpActivity is the kernel's count of bytes received plus bytes acked on c.
func tcpActivity(c *net.TCPConn) uint64 {
	if c == nil {
		return 0
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	var n uint64
	rc.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			n = info.Bytes_received + info.Bytes_acked
		}
	})
	return n
}

type countingReader struct {
	r io.Reader
	n *atomic.Uint64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(uint64(n))
	return n, err
}
