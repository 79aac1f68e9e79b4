// Package netroute is the mode of `carrot run --exit`: it decides where a
// traced program's connections and datagrams go, carries its TCP streams
// through exits (a Dialer: SOCKS5, internal/exitdial), answers its DNS with
// fake addresses (internal/fakedns), and refuses what would leave any
// other way. Handler is its ptrace.Handler and Filter its seccomp filter.
//
// # Where traffic goes (Policy)
//
// Loopback and the --direct ranges are left to the kernel. A TCP connect
// anywhere else is routed through the exits. DNS — UDP or TCP to port 53
// of any address — is answered by carrot's fake DNS server. Other
// datagrams, and raw or ICMP sockets, to anything not direct are refused
// with EPERM, as a local firewall would. The fake ranges are never direct.
//
// # Seeing the program's socket
//
// Everything is done on a duplicate of the program's descriptor,
// pidfd_getfd(2): the same kernel socket, in carrot's fd table. carrot
// reads its domain, type, protocol, O_NONBLOCK and SO_COOKIE (a 64-bit id
// that is never reused) from it, so it needs no fd bookkeeping (dup, fork,
// close, SCM_RIGHTS): routed sockets are remembered by cookie. It connects
// the duplicate itself, so the program's sockaddr is never rewritten.
//
// # A routed connect: hold, dial, release or abort
//
//  1. Hold. carrot connects the program's socket to a hold listener: a
//     loopback listener whose accept queue carrot keeps full with a
//     connection of its own that it never accepts, so the kernel drops
//     every SYN it gets (this needs no privilege, where a socket filter
//     that drops every packet does on some kernels). The
//     SYN is neither answered nor refused, so the socket sits in SYN_SENT,
//     exactly like a connect waiting for a far server: not writable, no
//     error. A non-blocking socket is connected with connect(2) and the
//     program's call is skipped with EINPROGRESS. A blocking one would
//     block carrot, so it is started with sendto(MSG_FASTOPEN|
//     MSG_DONTWAIT), which connects without waiting; then the program's own
//     connect runs, finds the socket connecting and waits in the kernel —
//     signals interrupt it (EINTR) as they would. It runs with a 2-byte
//     address of carrot's (guard: the family alone, AF_UNIX, which an LSM
//     such as SELinux lets through where it refuses a short AF_INET one),
//     so that if the socket is no longer connecting when the call runs,
//     the kernel refuses the call (EINVAL) rather than connect directly;
//     the exit stop puts the program's address and length back in the
//     registers. When the kernel has fast open
//     disabled, the blocking connect waits in carrot instead (Defer) and
//     the socket is connected once the exits have answered.
//  2. Dial. A goroutine asks the exits for the destination (a fake DNS
//     address becomes its name) and waits for the SOCKS5 reply, so a
//     failure is the destination's real errno.
//  3. Release. A new socket bound to the hold listener's address connects
//     to the program socket's own address: its SYN meets the program's
//     socket in SYN_SENT, TCP's simultaneous open (RFC 793 section 3.4)
//     makes both ESTABLISHED, and the program's connect completes (its
//     poll says writable, SO_ERROR is 0, a blocking connect returns 0).
//     The new socket is carrot's end of the stream; internal/relay copies
//     between it and the exit (splice(2)). No accept, no token to match:
//     the relay socket is made for this one connection.
//  4. Abort. shutdown(2) of a socket in SYN_SENT disconnects it: state
//     CLOSE, pending error ECONNRESET, pollers woken (POLLOUT|POLLERR|
//     POLLHUP, as for a failed connect). carrot records the real errno
//     first, and gives it where the program reads the outcome: the return
//     of a blocking connect (at its exit stop), getsockopt(SO_ERROR)
//     (trapped, answered, the stand-in cleared), or a second connect.
//
// # Or: the program's own socket, connected to the exit
//
// When the Dialer is an OverDialer and knows an exit that works for the
// destination, carrot skips the hold and the relay: it connects the
// program's socket itself to that exit and runs the SOCKS5 exchange over
// it while the program's thread stays stopped in connect, then lets the
// call return. The program's bytes then never pass through carrot. The
// limits (how long a thread may be kept, signals, falling back to the
// steps above) are in over.go.
//
// getpeername of a routed socket is answered with the address the program
// connected to. getsockname of a relayed stream is answered with carrot's
// own address towards the exit (the socket itself is on loopback), while
// the connect is pending with the kernel's answer (the loopback hold); on
// the program's own socket the kernel's answer is the socket's address
// towards the exit already.
//
// # DNS
//
// See dns.go: a UDP socket connected to port 53 is connected to carrot's
// server instead; datagrams sent to port 53 with an address are sent there
// by carrot; recvfrom with an address shows carrot's answers as coming
// from the server the program asked (glibc and musl check); TCP to port 53
// is held and released into carrot's server.
//
// # What stops
//
// Filter stops the program only at connect, getpeername, sendmsg,
// sendmmsg, getsockopt of SO_ERROR-like options, sendto and recvfrom that
// carry an address, and socket of a domain other than AF_UNIX, AF_INET,
// AF_INET6 and AF_NETLINK (or of type SOCK_PACKET); io_uring, clone3 and
// calls through other ABIs fail with ENOSYS in the filter itself, clone
// with CLONE_UNTRACED and seccomp filters with a notification listener
// with EPERM (see Filter). Reads, writes, send, recv and everything else
// on routed sockets never stop.
//
// # What is not closed
//
// A call carrot lets the kernel run (a connect to loopback or a --direct
// range, a send TCP ignores the address of) is judged on the address and
// the socket the program had at the stop. The kernel reads the address
// from the program's memory again, and the descriptor from its table:
// another thread of the program can change either in between. Closing
// that needs carrot to make every such call itself, on its duplicate of
// the socket, with its own copy of the address; it does so for the calls
// it routes, not yet for these. A connect to a routed destination on a
// socket that is already connecting or connected runs with carrot's
// 2-byte address too, so that a socket disconnected in between is
// refused.
//
// # Threads and locks
//
// Enter, Exit and Event run on the tracer thread, one stop at a time, and
// own the pidfd cache and the per-thread exit-stop state. Dials and relays
// run in goroutines. Handler.mu guards the socket tables (conns, the DNS
// sockets); it is never held across a system call on a program's socket.
// A dial goroutine records a failure under mu before it aborts the socket,
// so the program, woken by the abort, always finds the errno.
package netroute
