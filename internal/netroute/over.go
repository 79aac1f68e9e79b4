package netroute

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/carrot-project/carrot/internal/ptrace"
)

// The program's own socket. A relayed stream crosses one more TCP
// connection than the program's own: program -> carrot over loopback, then
// carrot -> exit. When the Dialer can run its handshakes over a connection
// carrot opens (OverDialer) and expects a lone attempt to work, carrot
// instead connects the program's socket itself to the first exit and runs
// the SOCKS5 exchange over it while the program's thread stays stopped in
// connect. Once the exit has answered, the socket is the program's stream
// to the destination: its bytes go from its socket to the exit, with
// nothing of carrot in between (no copy, no CPU, no wake-up per chunk).
// Being the same socket, everything the program did with it stays true:
// its epoll registrations, its options, its fd number, its duplicates.
//
// What the program sees is what a connect to the destination gives:
// a blocking connect returns 0 or the destination's errno; a non-blocking
// one returns EINPROGRESS, and the socket is writable at once (SO_ERROR 0)
// or, on failure, aborted with the errno given at SO_ERROR, as on the
// relayed path. The SOCKS5 reply is read exactly, so bytes the destination
// sends first (an SSH or SMTP banner) stay in the socket for the program.
//
// The cost is that the thread waits in carrot rather than in the kernel:
//   - A non-blocking connect is meant not to wait, so the exchange gets
//     overStall; if the exit has not answered by then, the socket is
//     disconnected (connect with AF_UNSPEC) and the connect takes the
//     relayed path, and that destination takes it for overSlowFor after.
//   - A blocking connect waits as it would have, up to the connect
//     timeout. A signal for the thread cannot interrupt it while carrot
//     holds it, so carrot looks for one (/proc's pending and blocked
//     masks, every signalPoll): if one is pending, the socket is
//     disconnected and the connect takes the relayed path, where the
//     kernel's wait is interrupted as it would be.
//
// If the exit itself fails (its TCP connect takes longer than the plan's
// budget, is refused, or the handshake breaks), the socket is disconnected
// and the connect takes the relayed path, which races every exit. The
// Dialer records the failure, so the next connects go straight there.
//
// Not carried this way: DNS (port 53), exits behind TLS or named by host
// name, sockets with IPV6_V6ONLY facing an IPv4 exit, and every connect with
// Config.RelayAll. carrot logs the connect but no close for such a stream
// (it is not in the data path): the byte counts and the idle timeout are
// the exit's.

// OverDialer is a Dialer that can also carry a stream over a TCP connection
// the caller opens to an exit.
type OverDialer interface {
	// Over plans a stream to dest over a connection to one exit, or
	// reports false when dest should go through Dial. It is called on the
	// tracer thread and must not block.
	Over(dest netip.AddrPort) (Over, bool)
}

// Over is a planned stream: connect to Hop within ConnectBudget, then Run.
type Over struct {
	Hop           netip.AddrPort
	ConnectBudget time.Duration
	Via           string
	// Run does the exits' handshakes over c, a connection to Hop, and
	// leaves the stream in c (which it closes on failure). final reports
	// whether a failure is the destination's answer, with its errno in
	// err: then the program's connect fails with it, and is not tried
	// again through Dial.
	Run func(ctx context.Context, c net.Conn) (final bool, err error)
}

const (
	// overStall is how long a non-blocking connect's thread may be kept
	// for the exchange; about ten of this machine's exit answers.
	overStall = 20 * time.Millisecond
	// overSlowFor is how long a destination that took longer stays on the
	// relayed path for non-blocking connects.
	overSlowFor = 10 * time.Minute
	// ownedLimit bounds the table of streams handed over (see owned).
	ownedLimit = 16384
)

// over returns the plan for the program's own socket to dest, if any.
func (h *Handler) over(s int, si sockInfo, dest netip.AddrPort) (Over, bool) {
	od, ok := h.cfg.Dialer.(OverDialer)
	if !ok || h.cfg.RelayAll || dest.Port() == 53 {
		return Over{}, false
	}
	if si.nonblock {
		h.mu.Lock()
		t, slow := h.slow[dest]
		h.mu.Unlock()
		if slow && time.Since(t) < overSlowFor {
			return Over{}, false
		}
	}
	ov, ok := od.Over(dest)
	if !ok {
		return Over{}, false
	}
	switch {
	case si.domain == unix.AF_INET && !ov.Hop.Addr().Is4():
		return Over{}, false
	case si.domain == unix.AF_INET6 && ov.Hop.Addr().Is4():
		if v6only, err := unix.GetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); err != nil || v6only != 0 {
			return Over{}, false
		}
	}
	return ov, true
}

// runOver carries e over the program's own socket s (see above), while
// the program's thread is stopped in connect (Defer); it falls back to the
// relayed path when the exit fails. It owns s.
func (h *Handler) runOver(c *ptrace.Syscall, e *conn, s int, si sockInfo, t netip.AddrPort, ov Over, dial func(context.Context) (net.Conn, string, error)) {
	defer h.wg.Done()
	if si.domain == unix.AF_INET6 && ov.Hop.Addr().Is4() {
		// Once connected to a v4-mapped address, an IPv6 socket stays on
		// the kernel's IPv4 path, even disconnected; a connect to ::1 would
		// never complete. Held again, it must be held v4-mapped.
		t = netip.AddrPortFrom(netip.AddrFrom16(h.hold.b4.Addr().As16()), h.hold.b4.Port())
	}
	final, stalled, err := h.handshakeOver(c.Tid, s, si, ov)
	if !si.nonblock {
		unix.SetNonblock(s, false)
	}
	switch {
	case err == nil:
		if !si.nonblock {
			// A connect made non-blocking leaves the socket "connecting"
			// for the kernel until connect is called again: then a second
			// connect by the program says EISCONN, as after a blocking one.
			unix.Connect(s, unixSockaddr(si.domain, ov.Hop))
		}
		h.mu.Lock()
		e.state = connected
		h.owned = append(h.owned, e)
		if len(h.owned) > ownedLimit {
			// Forget the oldest: its getpeername then shows the exit.
			if old := h.owned[0]; h.conns[old.cookie] == old {
				delete(h.conns, old.cookie)
			}
			h.owned = h.owned[1:]
		}
		h.mu.Unlock()
		unix.Close(s)
		h.log(Event{Time: time.Now(), Pid: e.pid, Fd: e.fd, Op: "connect", Dest: e.dest, Via: ov.Via, Own: e.own, Dur: time.Since(e.start)})
		if si.nonblock {
			c.Resume(ptrace.Return(-int64(unix.EINPROGRESS)))
		} else {
			c.Resume(ptrace.Return(0))
		}
		return
	case final:
		errno := errnoOf(err, unix.ENETUNREACH)
		if si.nonblock && hold(s, si, t) == nil {
			// As on the relayed path: EINPROGRESS now, the errno at
			// SO_ERROR once the socket is aborted.
			h.fail(e, s, errno, err)
			c.Resume(ptrace.Return(-int64(unix.EINPROGRESS)))
			return
		}
		h.drop(e)
		unix.Close(s)
		h.log(Event{Time: time.Now(), Pid: e.pid, Fd: e.fd, Op: "connect", Dest: e.dest, Own: e.own, Err: err, Dur: time.Since(e.start)})
		c.Resume(ptrace.Fail(errno))
		return
	}
	// The exit failed, a non-blocking connect ran out of time, or a signal
	// came for a blocking one: the relayed path, from the start, as if
	// carrot had taken it at the stop.
	if stalled {
		h.mu.Lock()
		if len(h.slow) >= 4096 {
			clear(h.slow)
		}
		h.slow[e.dest] = time.Now()
		h.mu.Unlock()
	}
	h.log(Event{Time: time.Now(), Pid: e.pid, Fd: e.fd, Op: "retry", Dest: e.dest, Via: ov.Via, Err: err, Dur: time.Since(e.start)})
	// A new conn: e's own is read by goroutines that may still log it.
	r := &conn{cookie: e.cookie, pid: e.pid, fd: e.fd, dest: e.dest, start: e.start}
	c.ResumeWith(func() ptrace.Action { return h.relayed(c, r, s, si, t, dial) })
}

// handshakeOver connects s to ov.Hop and runs ov over it. On failure the
// socket is disconnected again (state CLOSE, as before the call), and
// final says whether the failure is the destination's; stalled, whether a
// non-blocking connect ran out of overStall.
func (h *Handler) handshakeOver(tid, s int, si sockInfo, ov Over) (final, stalled bool, err error) {
	var ctx context.Context
	var cancel context.CancelFunc
	if si.nonblock {
		ctx, cancel = context.WithTimeout(h.ctx, overStall)
	} else {
		if err := unix.SetNonblock(s, true); err != nil {
			return false, false, err
		}
		ctx, cancel = context.WithCancel(h.ctx)
		go watchSignals(ctx, tid, cancel)
	}
	defer cancel()
	if v, err := unix.GetsockoptInt(s, unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT); err == nil && v != 0 {
		unix.SetsockoptInt(s, unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT, 0)
	}
	defer func() {
		if err != nil {
			disconnect(s)
		}
	}()
	if err := unix.Connect(s, unixSockaddr(si.domain, ov.Hop)); err != nil && err != unix.EINPROGRESS {
		return false, false, err
	}
	d, err := unix.Dup(s)
	if err != nil {
		return false, false, err
	}
	f := os.NewFile(uintptr(d), "exit")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return false, false, err
	}
	deadline := time.Now().Add(ov.ConnectBudget)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := awaitConnect(nc, s, deadline); err != nil {
		nc.Close()
		return false, false, err
	}
	final, err = ov.Run(ctx, nc)
	if err != nil {
		nc.Close()
		if ctx.Err() != nil {
			// carrot's own limit (overStall) or a signal, not the
			// destination's answer
			return false, errors.Is(ctx.Err(), context.DeadlineExceeded), err
		}
		return final, false, err
	}
	return false, false, nc.Close()
}

// awaitConnect waits until nc, connecting, is connected, or deadline.
func awaitConnect(nc net.Conn, s int, deadline time.Time) error {
	rc, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	nc.SetWriteDeadline(deadline)
	defer nc.SetWriteDeadline(time.Time{})
	if err := rc.Write(func(uintptr) bool { return tcpState(s) != tcpSynSent }); err != nil {
		return err
	}
	if e, err := unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || e != 0 {
		if err == nil {
			err = unix.Errno(e)
		}
		return err
	}
	if tcpState(s) != tcpEstablished {
		return unix.ECONNABORTED
	}
	return nil
}

// disconnect undoes a connect: connect(2) with AF_UNSPEC resets the
// connection (or the SYN in flight) and leaves the socket as before it, in
// state CLOSE.
func disconnect(s int) {
	var sa [16]byte // sa_family AF_UNSPEC (0)
	unix.Syscall(unix.SYS_CONNECT, uintptr(s), uintptr(unsafe.Pointer(&sa[0])), uintptr(len(sa)))
}

// signalPoll is how often a blocking connect carried over the program's
// own socket looks for a pending signal.
const signalPoll = 2 * time.Millisecond

// watchSignals calls stop when thread tid has a signal pending that it
// does not block, until ctx ends.
func watchSignals(ctx context.Context, tid int, stop context.CancelFunc) {
	t := time.NewTicker(signalPoll)
	defer t.Stop()
	path := "/proc/" + itoa(tid) + "/status"
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if signalPending(path) {
			stop()
			return
		}
	}
}

// signalPending reports whether the task whose /proc status file is path
// has a pending signal (its own or its process's) that it does not block.
func signalPending(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var pnd, blk uint64
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "SigPnd", "ShdPnd":
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			pnd |= n
		case "SigBlk":
			blk, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return pnd&^blk != 0
}
