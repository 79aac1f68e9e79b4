package netroute

// The socket mechanics of connect redirection. Everything here acts on a
// duplicate of the program's socket (pidfd_getfd(2)): the same kernel
// socket, opened in carrot's own fd table, so carrot can inspect it, connect
// it, shut it down or read its address without touching the program's
// memory or registers.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// sockInfo describes a program's socket.
type sockInfo struct {
	domain, typ, proto int
	nonblock           bool
	cookie             uint64 // SO_COOKIE: unique for the socket's life, never reused
}

func (si sockInfo) tcp() bool { return si.typ == unix.SOCK_STREAM && si.proto == unix.IPPROTO_TCP }
func (si sockInfo) udp() bool { return si.typ == unix.SOCK_DGRAM && si.proto == unix.IPPROTO_UDP }

// inspect reads s's kind. A descriptor that is not a socket gives ENOTSOCK.
func inspect(s int) (sockInfo, error) {
	var si sockInfo
	var err error
	if si.domain, err = unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_DOMAIN); err != nil {
		return si, err
	}
	if si.typ, err = unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_TYPE); err != nil {
		return si, err
	}
	if si.proto, err = unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_PROTOCOL); err != nil {
		return si, err
	}
	if si.cookie, err = unix.GetsockoptUint64(s, unix.SOL_SOCKET, unix.SO_COOKIE); err != nil {
		return si, err
	}
	fl, err := unix.FcntlInt(uintptr(s), unix.F_GETFL, 0)
	if err != nil {
		return si, err
	}
	si.nonblock = fl&unix.O_NONBLOCK != 0
	return si, nil
}

// tcpState is s's TCP state (unix.BPF_TCP_ESTABLISHED...: the kernel's
// include/net/tcp_states.h), or 0 if unknown.
func tcpState(s int) uint8 {
	info, err := unix.GetsockoptTCPInfo(s, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0
	}
	return info.State
}

// pidfds keeps one pidfd per traced process, to copy its descriptors. It
// belongs to the tracer thread.
type pidfds map[int]int

// getfd returns a duplicate of descriptor fd of task tid in process pid.
// EBADF means the program has no such descriptor.
func (p pidfds) getfd(pid, tid, fd int) (int, error) {
	if fd < 0 {
		return -1, unix.EBADF
	}
	pfd, ok := p[pid]
	if !ok {
		var err error
		if pfd, err = unix.PidfdOpen(pid, 0); err != nil {
			return -1, fmt.Errorf("pidfd_open %d: %w", pid, err)
		}
		p[pid] = pfd
	}
	s, err := unix.PidfdGetfd(pfd, fd, 0)
	if err == unix.EBADF && tid != pid {
		// The group leader may have exited (its fd table with it) while
		// this thread lives on: ask through the thread itself.
		if tfd, terr := unix.PidfdOpen(tid, unix.PIDFD_THREAD); terr == nil {
			s, err = unix.PidfdGetfd(tfd, fd, 0)
			unix.Close(tfd)
		}
	}
	return s, err
}

func (p pidfds) forget(pid int) {
	if pfd, ok := p[pid]; ok {
		unix.Close(pfd)
		delete(p, pid)
	}
}

func (p pidfds) closeAll() {
	for pid := range p {
		p.forget(pid)
	}
}

// holder owns the hold listeners: loopback TCP listeners whose accept
// queue is kept full (listenHold), so a SYN sent to them is neither
// answered nor refused (the kernel drops a SYN for a listener with no
// room, and counts it in ListenOverflows), and the sender stays in
// SYN_SENT (connect pending, poll not writable) for as long as carrot
// likes. release ends the wait with TCP's simultaneous open.
//
// A socket filter that drops every packet would do the same, but some
// kernels refuse SO_ATTACH_FILTER to unprivileged users (EPERM), and carrot
// run must work for them: the full queue needs no privilege.
type holder struct {
	v4, v6 holdListener
}

// holdListener is one hold listener and the connections that fill its
// accept queue.
type holdListener struct {
	fd     int // -1 when unusable
	filler [2]int
	addr   netip.AddrPort // the listener's address
}

func (l holdListener) close() {
	for _, fd := range []int{l.fd, l.filler[0], l.filler[1]} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

func newHolder() (*holder, error) {
	h := &holder{}
	var err error
	if err = onLoopback(func(ip netip.Addr) (err error) {
		h.v4, err = listenHold(unix.AF_INET, ip)
		return err
	}); err != nil {
		return nil, fmt.Errorf("hold listener on 127.0.0.1: %w", err)
	}
	h.v6, _ = listenHold(unix.AF_INET6, netip.IPv6Loopback()) // optional
	return h, nil
}

func (h *holder) close() {
	h.v4.close()
	h.v6.close()
}

// onLoopback runs listen on 127.0.0.1, then, while it fails with
// EADDRINUSE, on a few other addresses of 127.0.0.0/8. A listener bound to
// port 0 gets a port that no socket on its address holds, TIME_WAIT ones
// included, where a connect may reuse those: on a host whose connections
// over 127.0.0.1 have left every ephemeral port in TIME_WAIT (a busy
// local proxy), the program can still connect, and carrot must still
// start. The other addresses of 127/8 share no port with 127.0.0.1.
func onLoopback(listen func(netip.Addr) error) error {
	err := listen(netip.AddrFrom4([4]byte{127, 0, 0, 1}))
	for i := 0; i < 8 && errors.Is(err, unix.EADDRINUSE); i++ {
		err = listen(netip.AddrFrom4([4]byte{127, byte(1 + rand.IntN(254)), byte(rand.IntN(256)), byte(1 + rand.IntN(254))}))
	}
	return err
}

// reusable marks s so that release's socket may bind the same address:
// both need SO_REUSEPORT (and the same owner).
func reusable(s int) error {
	if err := unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return err
	}
	return unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
}

// listenHold makes a hold listener on ip. Its backlog is 1, which lets two
// connections wait in the accept queue (the kernel counts it full past its
// backlog): carrot makes them itself (on loopback the handshake is over
// within connect) and never accepts them, so the queue stays full. (A
// backlog of 0 would do with one, but kernels before 6.13 also count the
// half-open queue full at 0, and would answer SYNs with cookies, or drop
// carrot's own.) It checks that the queue is full: TCP_INFO of a listener
// gives the queue's length and its limit.
func listenHold(family int, ip netip.Addr) (holdListener, error) {
	l := holdListener{fd: -1, filler: [2]int{-1, -1}}
	fail := func(err error) (holdListener, error) {
		l.close()
		return holdListener{fd: -1, filler: [2]int{-1, -1}}, err
	}
	var err error
	if l.fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
		return fail(err)
	}
	if err := reusable(l.fd); err != nil {
		return fail(err)
	}
	if family == unix.AF_INET6 {
		if err := unix.SetsockoptInt(l.fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return fail(err)
		}
	}
	if err := unix.Bind(l.fd, unixSockaddr(family, netip.AddrPortFrom(ip, 0))); err != nil {
		return fail(err)
	}
	if err := unix.Listen(l.fd, 1); err != nil {
		return fail(err)
	}
	sa, err := unix.Getsockname(l.fd)
	if err != nil {
		return fail(err)
	}
	l.addr, _ = addrPortOf(sa)
	for i := range l.filler {
		if l.filler[i], err = connectWithin(family, l.addr, time.Second); err != nil {
			return fail(fmt.Errorf("filling the accept queue: %w", err))
		}
	}
	// The listener counts a connection once it has the handshake's last
	// ACK, which a busy host may process a moment after the connect
	// returned: look for a while.
	for deadline := time.Now().Add(time.Second); ; time.Sleep(time.Millisecond) {
		info, err := unix.GetsockoptTCPInfo(l.fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return fail(err)
		}
		if info.Unacked > info.Sacked { // for a listener: queued, backlog
			return l, nil
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("accept queue not full: %d queued, backlog %d", info.Unacked, info.Sacked))
		}
	}
}

// awaitConnected waits until s, a non-blocking socket connecting, is
// connected (nil), failed (its SO_ERROR) or deadline passes (ETIMEDOUT).
func awaitConnected(s int, deadline time.Time) error {
	pfd := []unix.PollFd{{Fd: int32(s), Events: unix.POLLOUT}}
	for {
		// Never a negative timeout, which would wait forever.
		n, err := unix.Poll(pfd, max(0, int(time.Until(deadline)/time.Millisecond)+1))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return unix.ETIMEDOUT
		}
		e, err := unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && e != 0 {
			err = unix.Errno(e)
		}
		return err
	}
}

// connectWithin connects a new socket to a within timeout.
func connectWithin(family int, a netip.AddrPort, timeout time.Duration) (int, error) {
	s, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Connect(s, unixSockaddr(family, a)); err != nil && err != unix.EINPROGRESS {
		unix.Close(s)
		return -1, err
	}
	if err := awaitConnected(s, time.Now().Add(timeout)); err != nil {
		unix.Close(s)
		return -1, err
	}
	return s, nil
}

// v4mapped is the IPv4 hold address, v4-mapped for an IPv6 socket.
func (h *holder) v4mapped() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom16(h.v4.addr.Addr().As16()), h.v4.addr.Port())
}

// target is the hold address for a program socket s of domain: the IPv4
// listener for AF_INET sockets; for AF_INET6 sockets the IPv6 one, or the
// IPv4 one v4-mapped when ::1 is unusable and s is not IPV6_V6ONLY.
func (h *holder) target(s, domain int) (netip.AddrPort, error) {
	if domain == unix.AF_INET {
		return h.v4.addr, nil
	}
	if h.v6.fd >= 0 {
		return h.v6.addr, nil
	}
	if only, err := unix.GetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); err == nil && only == 0 {
		return h.v4mapped(), nil
	}
	return netip.AddrPort{}, unix.ENETUNREACH
}

// errNoFastOpen: the kernel refuses MSG_FASTOPEN (net.ipv4.tcp_fastopen
// without the client bit), so a blocking socket cannot be started
// connecting without blocking.
var errNoFastOpen = errors.New("TCP fast open disabled")

// hold starts the program's socket s connecting to the hold address t
// without blocking: the kernel sends a SYN that the hold listener drops,
// and the socket stays in SYN_SENT. (over.go starts a connect to an exit
// the same way, without changing the socket's flags.) A non-blocking socket is simply
// connected. A blocking one would block carrot too, so it is started with
// sendto(MSG_FASTOPEN|MSG_DONTWAIT), which connects without waiting (and
// without data); the program's own connect() then finds it connecting and
// waits in the kernel, as it would have waited for the real destination.
func hold(s int, si sockInfo, t netip.AddrPort) error {
	_, err := holdSending(s, si, t, nil)
	return err
}

// holdSending is hold that also sends data, in the SYN where it can: with
// TCP fast open, when the kernel has a cookie from an earlier connection to
// t (the first one asks for it). sent is how much of data left that way; 0
// when none did, and the caller writes it once connected.
func holdSending(s int, si sockInfo, t netip.AddrPort, data []byte) (sent int, err error) {
	// With TCP_FASTOPEN_CONNECT, connect() sends nothing until the first
	// write; carrot needs the SYN now. Fast open is only an optimisation.
	if v, err := unix.GetsockoptInt(s, unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT); err == nil && v != 0 {
		unix.SetsockoptInt(s, unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT, 0)
	}
	sa := unixSockaddr(si.domain, t)
	switch {
	case si.nonblock && data == nil:
		err = unix.Connect(s, sa)
	case data == nil:
		err = unix.Sendto(s, nil, unix.MSG_FASTOPEN|unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, sa)
	default:
		sent, err = unix.SendmsgN(s, data, nil, sa, unix.MSG_FASTOPEN|unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	}
	switch {
	case err == unix.EINPROGRESS:
		return 0, nil
	case err == unix.EOPNOTSUPP && (data != nil || !si.nonblock):
		return 0, errNoFastOpen
	case err == nil && sent > 0:
		return sent, nil // in the SYN; the socket is connecting
	case err == nil:
		return 0, fmt.Errorf("hold: connected at once: %w", unix.ECONNABORTED)
	}
	return 0, err
}

// release completes a held connect: a new socket bound to the hold address
// t connects to the program socket's own address. Its SYN reaches the
// program's socket, which is in SYN_SENT towards t: TCP's simultaneous open
// (RFC 793 section 3.4) makes both ends ESTABLISHED, and the program's
// connect completes. The returned connection is carrot's end of the
// program's stream.
func release(s int, t netip.AddrPort) (*net.TCPConn, error) {
	sa, err := unix.Getsockname(s)
	if err != nil {
		return nil, fmt.Errorf("release: program socket address: %w", err)
	}
	local, ok := addrPortOf(sa)
	if !ok {
		return nil, fmt.Errorf("release: program socket address %v", sa)
	}
	family := unix.AF_INET6
	if t.Addr().Unmap().Is4() {
		family = unix.AF_INET
		t = netip.AddrPortFrom(t.Addr().Unmap(), t.Port())
		local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	}
	q, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	fail := func(op string, err error) (*net.TCPConn, error) {
		unix.Close(q)
		return nil, fmt.Errorf("release %v: %s: %w", local, op, err)
	}
	if err := reusable(q); err != nil {
		return fail("setsockopt", err)
	}
	if err := unix.Bind(q, unixSockaddr(family, t)); err != nil {
		return fail("bind", err)
	}
	if err := unix.Connect(q, unixSockaddr(family, local)); err != nil && err != unix.EINPROGRESS {
		return fail("connect", err)
	}
	// On loopback the handshake is usually over before connect returns.
	if tcpState(q) != unix.BPF_TCP_ESTABLISHED {
		if err := awaitConnected(q, time.Now().Add(5*time.Second)); err != nil {
			return fail("connect", err)
		}
	}
	f := os.NewFile(uintptr(q), "relay")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	return c.(*net.TCPConn), nil
}

// abort ends a held connect with an error: shutdown(2) of a socket in
// SYN_SENT disconnects it (state CLOSE, pending error ECONNRESET) and wakes
// whoever polls or waits on it. The error the program sees is corrected
// where it reads it (connect's return, SO_ERROR).
func abort(s int) { unix.Shutdown(s, unix.SHUT_RDWR) }
