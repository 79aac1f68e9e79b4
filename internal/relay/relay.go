// Package relay joins two stream connections: bytes from each are copied to
// the other until both directions end. It is the data path of an exit (client
// <-> destination) and, later, of the tracer's connect relay (program <->
// exit).
//
// Mechanism. Each direction is one io.Copy. Between two *net.TCPConn (or
// anything that unwraps to one through a NetConn method, but not TLS, whose
// bytes must be encrypted) io.Copy becomes splice(2), so the payload never
// enters user space. When a source reaches EOF the other side's write half is
// shut (CloseWrite), so a client that half-closes (shutdown(SHUT_WR), HTTP/1.0
// style request bodies, `nc -N`) still gets its answer; the relay ends when
// both directions have ended. A read or write error in one direction closes
// both connections, which ends the other direction too.
//
// Idle timeout without touching the data path: splice cannot count bytes as
// they pass and per-read deadlines would force a user-space copy, so a
// watchdog samples the kernel's own counters instead — TCP_INFO's
// tcpi_bytes_received and tcpi_bytes_acked on every TCP connection in the
// pair — and closes both connections when none of them has moved for the
// idle period. Connections that are not TCP (tests over net.Pipe) are
// wrapped with a counting reader, which costs the splice but nothing else.
package relay

import (
	"errors"
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
	var (
		st       Stats
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
		closing  sync.Once
	)
	closeBoth := func() {
		closing.Do(func() {
			a.Close()
			b.Close()
		})
	}
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		closeBoth()
	}

	ra, rb := io.Reader(a), io.Reader(b)
	var activity func() uint64
	if idle > 0 {
		ta, tb := tcpConn(a), tcpConn(b)
		if ta == nil && tb == nil {
			var n atomic.Uint64
			ra = countingReader{a, &n}
			rb = countingReader{b, &n}
			activity = n.Load
		} else {
			activity = func() uint64 { return tcpActivity(ta) + tcpActivity(tb) }
		}
	}

	wg.Add(2)
	go func() {
		defer wg.Done()
		n, err := io.Copy(b, ra)
		atomic.AddInt64(&st.AToB, n)
		if err != nil {
			fail(err)
			return
		}
		closeWrite(b)
	}()
	go func() {
		defer wg.Done()
		n, err := io.Copy(a, rb)
		atomic.AddInt64(&st.BToA, n)
		if err != nil {
			fail(err)
			return
		}
		closeWrite(a)
	}()

	done := make(chan struct{})
	if idle > 0 {
		go watch(idle, activity, done, func() { fail(ErrIdle) })
	}
	wg.Wait()
	close(done)
	closeBoth()
	return Stats{AToB: atomic.LoadInt64(&st.AToB), BToA: atomic.LoadInt64(&st.BToA)}, firstErr
}

// watch calls expire once activity has not changed for idle.
func watch(idle time.Duration, activity func() uint64, done <-chan struct{}, expire func()) {
	tick := idle / 4
	if tick < 10*time.Millisecond {
		tick = 10 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	last, lastChange := activity(), time.Now()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			if cur := activity(); cur != last {
				last, lastChange = cur, now
			} else if now.Sub(lastChange) >= idle {
				expire()
				return
			}
		}
	}
}

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
