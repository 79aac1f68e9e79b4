package netroute

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// sockConn is a net.Conn over carrot's duplicate of a program's socket
// that never changes the socket's file status flags, which the program
// shares (O_NONBLOCK belongs to the open file description, not to carrot's
// descriptor): every call is MSG_DONTWAIT and waits in poll(2), in slices
// of pollSlice so that a deadline moved by another goroutine is seen
// promptly. Close only stops it; the descriptor stays its owner's.
type sockConn struct {
	fd      int
	closed  atomic.Bool
	aborted atomic.Bool // Abort: every wait fails, whatever the deadlines say
	mu      sync.Mutex
	rd, wd  time.Time
}

// Abort makes every later call fail with os.ErrDeadlineExceeded, as an
// expired deadline would, but for good: SetDeadline cannot undo it.
func (c *sockConn) Abort() { c.aborted.Store(true) }

// usable fails when c is closed, aborted or past its read (or write)
// deadline; otherwise it returns that deadline.
func (c *sockConn) usable(read bool) (time.Time, error) {
	if c.closed.Load() {
		return time.Time{}, net.ErrClosed
	}
	if c.aborted.Load() {
		return time.Time{}, os.ErrDeadlineExceeded
	}
	c.mu.Lock()
	dl := c.wd
	if read {
		dl = c.rd
	}
	c.mu.Unlock()
	if !dl.IsZero() && !time.Now().Before(dl) {
		return dl, os.ErrDeadlineExceeded
	}
	return dl, nil
}

const pollSlice = 5 * time.Millisecond

func (c *sockConn) Read(b []byte) (int, error) {
	if _, err := c.usable(true); err != nil {
		return 0, err
	}
	for {
		n, _, err := unix.Recvfrom(c.fd, b, unix.MSG_DONTWAIT)
		switch {
		case err == nil && n == 0 && len(b) > 0:
			return 0, io.EOF
		case err == nil:
			return n, nil
		case err != unix.EAGAIN && err != unix.EINTR:
			return 0, err
		}
		if err := c.wait(unix.POLLIN, true); err != nil {
			return 0, err
		}
	}
}

func (c *sockConn) Write(b []byte) (int, error) {
	if _, err := c.usable(false); err != nil {
		return 0, err
	}
	done := 0
	for done < len(b) {
		n, err := unix.SendmsgN(c.fd, b[done:], nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		if n > 0 {
			done += n
		}
		switch {
		case err == nil && n > 0:
			continue
		case err == nil:
			return done, io.ErrShortWrite
		case err != unix.EAGAIN && err != unix.EINTR:
			return done, err
		}
		if err := c.wait(unix.POLLOUT, false); err != nil {
			return done, err
		}
	}
	return done, nil
}

// wait polls for events until the read (or write) deadline.
func (c *sockConn) wait(events int16, read bool) error {
	for {
		dl, err := c.usable(read)
		if err != nil {
			return err
		}
		slice := pollSlice
		if !dl.IsZero() {
			slice = max(min(slice, time.Until(dl)), 0) // never poll's -1: forever
		}
		pfd := []unix.PollFd{{Fd: int32(c.fd), Events: events}}
		n, err := unix.Poll(pfd, int((slice+time.Millisecond-1)/time.Millisecond))
		if err != nil && err != unix.EINTR {
			return err
		}
		if n > 0 {
			return nil
		}
	}
}

func (c *sockConn) Close() error { c.closed.Store(true); return nil }

func (c *sockConn) LocalAddr() net.Addr {
	sa, _ := unix.Getsockname(c.fd)
	return tcpAddr(sa)
}

func (c *sockConn) RemoteAddr() net.Addr {
	sa, _ := unix.Getpeername(c.fd)
	return tcpAddr(sa)
}

func tcpAddr(sa unix.Sockaddr) net.Addr {
	ap, _ := addrPortOf(sa)
	return net.TCPAddrFromAddrPort(ap)
}

func (c *sockConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.rd, c.wd = t, t
	c.mu.Unlock()
	return nil
}

func (c *sockConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rd = t
	c.mu.Unlock()
	return nil
}

func (c *sockConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wd = t
	c.mu.Unlock()
	return nil
}
