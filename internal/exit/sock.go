package exit

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The exit's sockets, tuned for the case that dominates a SOCKS5 request's
// latency when the client and the destination are near: each trip through
// Go's network poller (park the goroutine, an epoll wake-up, a thread to
// run it) costs a wake-up of another thread, which on a virtual machine
// with idle vCPUs is 0.05–0.2 ms, while the kernel's own work for the
// same step is a few microseconds.

// deferAccept is how long the listener holds a new connection in the kernel
// waiting for its first bytes (TCP_DEFER_ACCEPT): a SOCKS5 (or TLS) client
// speaks first, so Accept wakes once, with the greeting already there for
// the handler to read, rather than once for the connection and again for
// the greeting. A connection silent for longer is accepted anyway, and then
// meets HandshakeTimeout.
const deferAccept = 5 // seconds

// fastOpenQueue is the listener's TCP fast open queue (TCP_FASTOPEN): a
// client holding a cookie from an earlier connection sends its first bytes
// (carrot's client: greeting, credentials and request at once) in the SYN,
// and the exit starts on the request without waiting for the handshake's
// last ACK. It takes effect only where the host allows server-side fast
// open (bit 2 of sysctl net.ipv4.tcp_fastopen, e.g. 3); FastOpen reports it.
const fastOpenQueue = 256

// Listen listens on addr (TCP) with the options above. What the kernel
// refuses of them is left out: they save time, nothing depends on them.
// Accepted connections get their keepalives from the handler once the
// handshake is done (keepAlive), not in the accept loop.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1, Control: func(network, address string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, deferAccept)
			unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_FASTOPEN, fastOpenQueue)
		})
	}}
	// An IPv4 address, 0.0.0.0 included, means IPv4 only: Go's "tcp"
	// would listen on [::] for 0.0.0.0, IPv6 too.
	network := "tcp"
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
			network = "tcp4"
		}
	}
	return lc.Listen(ctx, network, addr)
}

// FastOpen reports whether this host (network namespace) lets listeners
// take data in the SYN: net.ipv4.tcp_fastopen has bit 2 (0x2).
func FastOpen() bool {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_fastopen")
	if err != nil {
		return false
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && v&2 != 0
}

// dial is the default Config.Dial: a net.Dialer whose connect, when the
// kernel completes it within the call, returns without waiting for the
// network poller. A non-blocking connect always says EINPROGRESS, even when
// the handshake finished meanwhile (a destination on this host or across
// a veth: its SYN-ACK is processed before the call returns), and Go then
// parks the dial until the poller reports the socket writable. Measured
// in the censored-network benchmark, that dial took 0.4 ms where the
// kernel's connect took 12 µs. So the socket is connected here, in
// Control, before Go's own connect: Go's connect then finds it connected
// (EISCONN, taken as success at once), or still connecting (EALREADY, and
// Go waits as usual), or failed (the error, as usual).
func dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return earlyDialer.DialContext(ctx, network, addr)
}

var earlyDialer = net.Dialer{KeepAlive: -1, ControlContext: connectEarly}

// keepAlive turns on TCP keepalives (Go's defaults: 15 s idle and
// interval) on a relayed connection, after the reply has gone: the five
// socket options Go would set at accept and dial time are off the
// request's path.
func keepAlive(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true})
	}
}

func connectEarly(_ context.Context, network, address string, c syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil // not an IP literal: leave the connect to Go
	}
	var sa unix.Sockaddr
	switch network {
	case "tcp4":
		if !ap.Addr().Unmap().Is4() {
			return nil
		}
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
	case "tcp6":
		sa6 := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
		if z := ap.Addr().Zone(); z != "" {
			ifi, err := net.InterfaceByName(z)
			if err != nil {
				return nil
			}
			sa6.ZoneId = uint32(ifi.Index)
		}
		sa = sa6
	default:
		return nil
	}
	var cerr error
	if err := c.Control(func(fd uintptr) { cerr = unix.Connect(int(fd), sa) }); err != nil {
		return err
	}
	switch cerr {
	case nil, unix.EINPROGRESS:
		return nil
	}
	return os.NewSyscallError("connect", cerr)
}
