package netroute

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
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
// carrot never changes the socket's file flags (O_NONBLOCK is shared with
// the program and whatever else holds the socket): it starts the connect
// with hold (which connects without waiting) and does its I/O with
// MSG_DONTWAIT and poll (sockConn).
//
// The connect starts on the tracer thread, at the stop (startOver), and a
// goroutine waits for the exit's answer (runOver): the exit gets to work
// while that goroutine is being scheduled, which on a VM with idle vCPUs
// takes 0.1–0.2 ms. When the exit reads pipelined messages, the start
// sends its whole handshake (Over.Hello) with sendmsg(MSG_FASTOPEN): in
// the SYN itself once the kernel holds a fast open cookie for the exit
// (the first connection to it asks for one), so the exit is working on
// the request while the handshake completes. Without a cookie the kernel
// sends a plain SYN (asking for one) and nothing of the data, and carrot
// writes the Hello once connected; where the exit's host does not allow
// fast open, the kernel sends data that went in a SYN again after the
// handshake.
//
// The cost is that the thread waits in carrot rather than in the kernel:
//   - A non-blocking connect is meant not to wait, so the exchange gets
//     overStall, and is tried only with an exit near enough for it (four
//     of its round trips fit, or none was measured yet: a chain keeps no
//     spare connections to measure). If the exit has not answered by
//     then, the socket is disconnected (connect with AF_UNSPEC) and the
//     connect takes the relayed path, and that destination takes it for
//     overSlowFor after.
//   - A blocking connect waits as it would have, up to the connect
//     timeout, unless the exit is the Dialer's guess (Over.Guess): then
//     it gets overStall too. A signal for the thread cannot interrupt it
//     while carrot holds it, so carrot looks for one (/proc's pending,
//     blocked, ignored and caught masks: every 2 ms for 50 ms, then
//     every 50 ms, see signalPollFast): if one is pending, the socket is
//     disconnected and the connect takes the relayed path, where the
//     kernel's wait is interrupted as it would be. A blocking socket with SO_SNDTIMEO (a connect with its own time
//     limit) is relayed.
//
// If the exit itself fails (its TCP connect, or its answers to the greeting
// and credentials, take longer than the plan's budget; it refuses; the
// handshake breaks), the socket is disconnected and the connect takes the
// relayed path, which races every exit; an exit that was only too slow
// (the budget is ten of its usual connect times) is left to the relayed
// path for a minute, without counting as failing. An answer that carrot
// abandons (overStall, a signal) counts for nothing in the Dialer's
// memory; others count as a Dial's would.
//
// Differences that remain, all of them the exit connection's nature:
// getsockname shows the socket's real local address towards the exit (a
// v4-mapped one on an IPv6 socket facing an IPv4 exit; the relayed path
// shows carrot's own, see getsockname); what the program set on the socket
// before connecting (bind, SO_BINDTODEVICE, SO_MARK, keepalives) applies
// to the connection to the exit, as it would to a direct one; TCP_INFO
// counts the SOCKS5 exchange; and an attempt abandoned after its request
// was sent makes the destination see a connection that is reset.
//
// Not carried this way: DNS (port 53), routes through an exit behind TLS,
// a first exit whose name is not resolved yet (the Dialer looks it up in
// the background), sockets with IPV6_V6ONLY facing an IPv4-only exit, and
// every connect with Config.RelayAll. carrot logs the
// connect but no close for such a stream (it is not in the data path):
// the byte counts and the idle timeout are the exit's. getpeername shows
// the destination until the socket is disconnected.

// OverDialer is a Dialer that can also carry a stream over a TCP connection
// the caller opens to an exit.
type OverDialer interface {
	// Over plans a stream to dest over a connection to one exit, or
	// reports false when dest should go through Dial. It is called on the
	// tracer thread and must not block.
	Over(dest netip.AddrPort) (Over, bool)
}

// Over is a planned stream: connect to the first exit, at one of Addrs,
// within ConnectBudget, then Run.
type Over struct {
	// Addrs are the first exit's addresses; carrot takes the first that
	// the program's socket can reach (IPv4 from an AF_INET socket; IPv6,
	// or IPv4 v4-mapped, from an AF_INET6 one).
	Addrs         []netip.AddrPort
	ConnectBudget time.Duration
	// RTT is the exit's usual TCP connect time (0: unknown).
	RTT time.Duration
	Via string // the route, for the log
	// Connected, if set, is told how long the connect to the exit took;
	// Missed, if set, that it failed or ran out of ConnectBudget.
	Connected func(time.Duration)
	Missed    func()
	// Hello, if not nil, is what the handshakes send first, all at once
	// (see socks5.AppendPipelined). carrot sends it itself with the
	// connect, in the SYN when the kernel has a TCP fast open cookie for
	// the exit, else as soon as the connection is up; Run then starts by
	// reading the answers.
	Hello []byte
	// Run does the exits' handshakes over c, a connection to the exit, and
	// leaves the stream in c (which it closes on failure). final reports
	// whether a failure is the destination's answer, with its errno in
	// err: then the program's connect fails with it, and is not tried
	// again through Dial.
	Run func(ctx context.Context, c net.Conn) (final bool, err error)
	// Guess: the Dialer expects this exit to work but has not seen it
	// reach this destination (a first contact). The exchange then gets
	// overStall whether the connect blocks or not, so that a wrong guess
	// costs that, not the exit's own timeout, before the relayed path
	// races the exits.
	Guess bool

	hop netip.AddrPort // chosen from Addrs by Handler.over
}

const (
	// overStall is how long a non-blocking connect's thread may be kept
	// for the exchange; about ten of this machine's exit answers.
	overStall = 20 * time.Millisecond
	// overRTTs is how many round trips to the exit the exchange takes at
	// least (the TCP handshake, the greeting, the credentials, the
	// request): a non-blocking connect is not tried this way when that
	// many would not fit in overStall, so a far exit relays them (once its
	// round trip is known).
	overRTTs = 4
	// overSlowFor is how long a destination that took longer stays on the
	// relayed path for non-blocking connects.
	overSlowFor = 10 * time.Minute
	// ownedLimit is how many streams handed over are listed before the
	// list is first pruned (see owned.go).
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
	} else if h.noFastOpen.Load() {
		// a blocking socket's connect cannot be started without waiting
		return Over{}, false
	} else if tv, err := unix.GetsockoptTimeval(s, unix.SOL_SOCKET, unix.SO_SNDTIMEO); err != nil || tv.Sec != 0 || tv.Usec != 0 {
		// a blocking connect with its own time limit: the relayed path
		// waits in the kernel, which keeps it
		return Over{}, false
	}
	ov, ok := od.Over(dest)
	if !ok || (si.nonblock || ov.Guess) && overRTTs*ov.RTT > overStall {
		return Over{}, false
	}
	// The first address the socket can reach, in the Dialer's order.
	v6only := -1
	for _, a := range ov.Addrs {
		a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
		switch {
		case si.domain == unix.AF_INET && a.Addr().Is4(), si.domain == unix.AF_INET6 && !a.Addr().Is4():
		case si.domain == unix.AF_INET6:
			if v6only < 0 {
				var err error
				if v6only, err = unix.GetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); err != nil {
					v6only = 1
				}
			}
			if v6only != 0 {
				continue
			}
		default:
			continue
		}
		ov.hop = a
		return ov, true
	}
	return Over{}, false
}

// overStart is how the connect to the exit began.
type overStart struct {
	at   time.Time // the connect's stop (conn.start)
	sent int       // bytes of Over.Hello that went with the SYN
	err  error
}

// startOver starts connecting s to ov's exit, with ov.Hello, on the tracer
// thread: the exit gets to work while the goroutine that waits for its
// answer (runOver) is being scheduled. at is when the connect stopped.
func (h *Handler) startOver(s int, si sockInfo, ov Over, at time.Time) overStart {
	st := overStart{at: at}
	data := ov.Hello
	if h.noFastOpen.Load() {
		data = nil // a plain connect, the Hello written once connected (over() plans only non-blocking sockets then)
	}
	st.sent, st.err = holdSending(s, si, ov.hop, data)
	if errors.Is(st.err, errNoFastOpen) {
		h.noFastOpen.Store(true) // net.ipv4.tcp_fastopen without the client bit
		if si.nonblock && data != nil {
			st.sent, st.err = holdSending(s, si, ov.hop, nil) // a plain connect
		}
	}
	return st
}

// runOver carries e over the program's own socket s (see above), started
// by startOver, while the program's thread is stopped in connect (Defer);
// it falls back to the relayed path when the exit fails. It owns s.
func (h *Handler) runOver(c *ptrace.Syscall, e *conn, s int, si sockInfo, t netip.AddrPort, ov Over, st overStart, dial func(context.Context) (net.Conn, Way, error)) {
	defer h.wg.Done()
	if si.domain == unix.AF_INET6 && ov.hop.Addr().Is4() {
		// Once connected to a v4-mapped address, an IPv6 socket stays on
		// the kernel's IPv4 path, even disconnected; a connect to ::1 would
		// never complete. Held again, it must be held v4-mapped.
		t = h.hold.v4mapped()
	}
	final, stalled, err := h.handshakeOver(c.Tid, s, si, ov, st)
	switch {
	case err == nil:
		if st := tcpState(s); !si.nonblock && st != unix.BPF_TCP_SYN_SENT && st != unix.BPF_TCP_CLOSE {
			// A connect started without waiting leaves the socket
			// "connecting" for the kernel until connect is called again,
			// which on a connected socket says 0 and consumes nothing:
			// then a second connect by the program says EISCONN, as after
			// a blocking one.
			unix.Connect(s, unixSockaddr(si.domain, ov.hop))
		}
		prune := h.addOwned(e, s)
		unix.Close(s)
		h.log(Event{Time: time.Now(), Pid: e.pid, Fd: e.fd, Op: "connect", Dest: e.dest, Via: ov.Via, Own: e.own, Dur: time.Since(e.start)})
		if si.nonblock {
			c.Resume(ptrace.Return(-int64(unix.EINPROGRESS)))
		} else {
			c.Resume(ptrace.Return(0))
		}
		if prune {
			h.pruneOwned(e.pid)
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
	// A new conn, not e: the tracer thread reads e.own (getpeername)
	// without the lock.
	r := &conn{cookie: e.cookie, pid: e.pid, fd: e.fd, dest: e.dest, start: e.start}
	c.ResumeWith(func(alive bool) ptrace.Action {
		if !alive {
			unix.Close(s)
			h.drop(e)
			return ptrace.Continue
		}
		return h.relayed(c, r, s, si, t, dial)
	})
}

// handshakeOver connects s to ov.hop and runs ov over it, without ever
// changing the flags of the program's socket (see sockConn). On failure
// the socket is disconnected again (state CLOSE, as before the call), and
// final says whether the failure is the destination's; stalled, whether a
// non-blocking connect ran out of overStall.
func (h *Handler) handshakeOver(tid, s int, si sockInfo, ov Over, st overStart) (final, stalled bool, err error) {
	var ctx context.Context
	var cancel context.CancelFunc
	if si.nonblock || ov.Guess {
		ctx, cancel = context.WithTimeout(h.ctx, overStall)
	} else {
		ctx, cancel = context.WithCancel(h.ctx)
	}
	if !si.nonblock {
		go watchSignals(ctx, tid, cancel)
	}
	defer cancel()
	// carrot's own limits (overStall, a signal), not the destination's
	// answer; checked by the clock too, as a connection's deadline can fire
	// before the context's timer does
	ours := func() bool {
		dl, ok := ctx.Deadline()
		return ctx.Err() != nil || ok && !time.Now().Before(dl)
	}
	defer func() {
		if err != nil {
			disconnect(s)
			if ours() {
				timedOut := ctx.Err() == context.DeadlineExceeded || ctx.Err() == nil
				// A guess that ran out of time is the guess's miss (the
				// Dialer leaves the exit alone for a while), not a slow
				// destination.
				final, stalled = false, si.nonblock && timedOut && !ov.Guess
				if timedOut && ov.Guess && ov.Missed != nil {
					ov.Missed()
				}
				// Say whose limit it was: the timeout is carrot's, not
				// the destination's.
				why := "carrot is stopping"
				if h.ctx.Err() == nil {
					why = "a signal came for the program"
				}
				switch {
				case timedOut && ov.Guess:
					why = fmt.Sprintf("no answer within %v, a first contact's budget on its own socket", overStall)
				case timedOut && si.nonblock:
					why = fmt.Sprintf("no answer within %v, a non-blocking connect's budget on its own socket", overStall)
				}
				err = fmt.Errorf("%s (%w)", why, err)
			}
		}
	}()
	if err = st.err; err != nil {
		return false, false, err
	}
	c := &sockConn{fd: s}
	deadline := st.at.Add(ov.ConnectBudget)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := awaitConnect(ctx, c, deadline); err != nil {
		if !ours() && ov.Missed != nil {
			ov.Missed()
		}
		return false, false, err
	}
	if ov.Connected != nil {
		ov.Connected(time.Since(st.at))
	}
	stop := context.AfterFunc(ctx, c.Abort)
	defer stop()
	if rest := ov.Hello[st.sent:]; len(rest) > 0 {
		if _, err := c.Write(rest); err != nil {
			return false, false, err
		}
	}
	final, err = ov.Run(ctx, c)
	return final, false, err
}

// awaitConnect waits until c's socket, connecting, is connected, or
// deadline, or ctx ends.
func awaitConnect(ctx context.Context, c *sockConn, deadline time.Time) error {
	c.SetWriteDeadline(deadline)
	defer c.SetWriteDeadline(time.Time{})
	for tcpState(c.fd) == unix.BPF_TCP_SYN_SENT {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.wait(unix.POLLOUT, false); err != nil {
			return err
		}
	}
	if e, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || e != 0 {
		if err == nil {
			err = unix.Errno(e)
		}
		return err
	}
	// CLOSE_WAIT: the exit has answered and closed already (a refusal to a
	// request that went in the SYN); its answer is there to read.
	if st := tcpState(c.fd); st != unix.BPF_TCP_ESTABLISHED && st != unix.BPF_TCP_CLOSE_WAIT {
		return unix.ECONNABORTED
	}
	return nil
}

// disconnect undoes a connect: connect(2) with AF_UNSPEC resets the
// connection (or the SYN in flight) and leaves the socket as before it, in
// state CLOSE. The error the reset leaves pending (ECONNRESET) is carrot's,
// not the program's: it is read off, so that the program's SO_ERROR and
// poll show what they would have without carrot's attempt.
func disconnect(s int) {
	var sa [16]byte // sa_family AF_UNSPEC (0)
	unix.Syscall(unix.SYS_CONNECT, uintptr(s), uintptr(unsafe.Pointer(&sa[0])), uintptr(len(sa)))
	unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_ERROR)
}

// How often a blocking connect carried over the program's own socket
// looks for a pending signal: every signalPollFast for its first
// signalPollSlow (most exits answer within it, and a program's alarm or
// Ctrl-C then interrupts it at once), then every signalPollSlow. A read of
// /proc's status costs tens of microseconds; at a steady 2 ms, a hundred
// threads waiting on a slow destination kept a vCPU busy. A signal for a
// connect that waits long is seen at most signalPollSlow late.
const (
	signalPollFast = 2 * time.Millisecond
	signalPollSlow = 50 * time.Millisecond
)

// watchSignals calls stop when thread tid has a signal pending that it
// does not block, until ctx ends.
func watchSignals(ctx context.Context, tid int, stop context.CancelFunc) {
	start, every := time.Now(), signalPollFast
	t := time.NewTimer(every)
	defer t.Stop()
	path := "/proc/" + itoa(tid) + "/status"
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if pending, gone := signalPending(path); pending || gone {
			stop()
			return
		}
		if time.Since(start) > signalPollSlow {
			every = signalPollSlow
		}
		t.Reset(every)
	}
}

// signalPending reports whether the task whose /proc status file is path
// has a pending signal (its own or its process's) that would interrupt a
// system call: not blocked, not ignored, and not one whose default is to
// be ignored unless the program catches it (a traced task queues even
// those: SIGCHLD, SIGURG, SIGWINCH). gone says the task is no more.
func signalPending(path string) (pending, gone bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, true
	}
	var pnd, blk, ign, cgt uint64
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		switch k {
		case "SigPnd", "ShdPnd":
			pnd |= n
		case "SigBlk":
			blk = n
		case "SigIgn":
			ign = n
		case "SigCgt":
			cgt = n
		}
	}
	bit := func(sig unix.Signal) uint64 { return 1 << (sig - 1) }
	quiet := (bit(unix.SIGCHLD) | bit(unix.SIGURG) | bit(unix.SIGWINCH)) &^ cgt
	return pnd&^blk&^ign&^quiet != 0, false
}
