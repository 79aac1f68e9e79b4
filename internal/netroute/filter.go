package netroute

import (
	"golang.org/x/sys/unix"

	"github.com/carrot-project/carrot/internal/ptrace"
	"github.com/carrot-project/carrot/internal/seccomp"
)

// Filter is the seccomp filter of `carrot run --exit`: it stops the program
// only at the calls this package handles and lets everything else, reads
// and writes on routed sockets included, run at native speed.
//
//	connect, getpeername, getsockname,       always
//	sendmsg, sendmmsg
//	getsockopt                               optname with bit 2 set (SO_ERROR is 4)
//	sendto                                   with a destination address (not send())
//	recvfrom                                 with a source address (not recv())
//	socket                                   a domain other than AF_UNIX, AF_INET,
//	                                         AF_INET6, AF_NETLINK; type SOCK_PACKET
//	                                         or SOCK_SEQPACKET; protocol SCTP, L2TP,
//	                                         SMC or MPTCP
//	io_uring_setup, _enter, _register        fail with ENOSYS: a ring could
//	                                         connect and send behind our back
//	setsockopt                               the options that set a source route
//	                                         (IP_OPTIONS, IPV6_RTHDR...)
//	clone3                                   fails with ENOSYS (its flags are in
//	                                         memory; libcs fall back to clone)
//	clone with CLONE_UNTRACED                fails with EPERM
//	seccomp with FILTER_FLAG_NEW_LISTENER    fails with EPERM
//	calls through another ABI (i386, x32)    fail with ENOSYS
//
// The last four keep every task under carrot's eyes. A task that carries
// this filter but that carrot does not trace fails the trapped calls with
// ENOSYS, unless another tracer takes it: the program itself, tracing a
// child it started untraced, would get the child's stops and let its
// connects run. And a filter of the program's own that returns
// SECCOMP_RET_USER_NOTIF takes precedence over this one's TRACE: its
// supervisor could let a connect run without carrot seeing it. Both are
// refused. (clone3's flags could ask for CLONE_UNTRACED where no filter
// can see them.)
//
// The address tests cover the whole 64-bit pointer (seccomp.ArgRule tests
// both words), so a sockaddr on a 4 GiB boundary is stopped too; the
// socket tests look at the low words only, as the kernel reads an int.
func Filter() *seccomp.Filter {
	enosys := seccomp.Errno(uint16(unix.ENOSYS))
	eperm := seccomp.Errno(uint16(unix.EPERM))
	trace := seccomp.Trace(0)
	f := &seccomp.Filter{
		Arch:    ptrace.AuditArch,
		X32Bit:  seccomp.X32SyscallBit,
		Foreign: enosys,
		Calls: map[int]seccomp.Action{
			unix.SYS_CONNECT:           trace,
			unix.SYS_GETPEERNAME:       trace,
			unix.SYS_GETSOCKNAME:       trace,
			unix.SYS_SENDMSG:           trace,
			unix.SYS_SENDMMSG:          trace,
			unix.SYS_SOCKET:            trace,
			unix.SYS_IO_URING_SETUP:    enosys,
			unix.SYS_IO_URING_ENTER:    enosys,
			unix.SYS_IO_URING_REGISTER: enosys,
			unix.SYS_CLONE3:            enosys,
		},
		Rules: []seccomp.ArgRule{
			{Nr: unix.SYS_GETSOCKOPT, Arg: 2, Mask: unix.SO_ERROR, IfSet: trace},
			{Nr: unix.SYS_SENDTO, Arg: 4, Mask: ^uint64(0), IfSet: trace},
			{Nr: unix.SYS_RECVFROM, Arg: 4, Mask: ^uint64(0), IfSet: trace},
			{Nr: unix.SYS_SOCKET, Arg: 1, Mask: sockTypeMask, Values: []uint32{unix.SOCK_PACKET, unix.SOCK_SEQPACKET}, IfSet: trace},
			{Nr: unix.SYS_SOCKET, Arg: 2, Mask: 0xffffffff, Values: refusedProtocols, IfSet: trace},
			{Nr: unix.SYS_SOCKET, Arg: 0, Mask: 0xffffffff, Values: untrappedDomains, IfSet: seccomp.Allow},
			{Nr: unix.SYS_CLONE, Arg: 0, Mask: unix.CLONE_UNTRACED, IfSet: eperm},
			{Nr: unix.SYS_SECCOMP, Arg: 1, Mask: unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, IfSet: eperm},
		},
	}
	for _, o := range sourceRouteOptions {
		f.Rules = append(f.Rules, seccomp.ArgRule{Nr: unix.SYS_SETSOCKOPT, Arg: 2, Mask: 0xffffffff, Values: o.names, IfSet: trace,
			And: &seccomp.ArgRule{Arg: 1, Mask: 0xffffffff, Values: []uint32{uint32(o.level)}}})
	}
	return f
}

// sockTypeMask is the kernel's SOCK_TYPE_MASK: a socket type without its
// SOCK_NONBLOCK and SOCK_CLOEXEC flags.
const sockTypeMask = 0xf

// refusedProtocols are IP protocols that carry a connection or datagrams
// of their own, which no call here routes (SCTP's associations start at a
// sendmsg or a setsockopt, L2TP's and SMC's sockets send past connect's
// rules): the kernel loads them on demand, carrot refuses them. SCTP is
// also what SOCK_SEQPACKET means on an IP socket. Multipath TCP is refused
// here too, as a kernel without it does: its connect would be (the hold
// and the relay are plain TCP), and programs that try MPTCP first (curl
// --mptcp, Go's MultipathTCP) fall back to TCP when socket() fails.
var refusedProtocols = []uint32{unix.IPPROTO_SCTP, unix.IPPROTO_L2TP, unix.IPPROTO_SMC, unix.IPPROTO_MPTCP}

// untrappedDomains are the socket domains created without a stop: the IP
// ones (whose traffic the other calls route), AF_UNIX and AF_NETLINK,
// which carry nothing off the machine. Every other domain stops, and
// socket refuses the ones that could.
var untrappedDomains = []uint32{unix.AF_UNIX, unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK}
