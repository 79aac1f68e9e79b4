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
//	socket                                   domain with bit 4 set (AF_PACKET is 17)
//	io_uring_setup, _enter, _register        fail with ENOSYS: a ring could
//	                                         connect and send behind our back
//	calls through another ABI (i386, x32)    fail with ENOSYS
//
// The address tests cover the whole 64-bit pointer (seccomp.ArgRule tests
// both words), so a sockaddr on a 4 GiB boundary is stopped too.
func Filter() *seccomp.Filter {
	enosys := seccomp.Errno(uint16(unix.ENOSYS))
	trace := seccomp.Trace(0)
	return &seccomp.Filter{
		Arch:    ptrace.AuditArch,
		X32Bit:  seccomp.X32SyscallBit,
		Foreign: enosys,
		Calls: map[int]seccomp.Action{
			unix.SYS_CONNECT:           trace,
			unix.SYS_GETPEERNAME:       trace,
			unix.SYS_GETSOCKNAME:       trace,
			unix.SYS_SENDMSG:           trace,
			unix.SYS_SENDMMSG:          trace,
			unix.SYS_IO_URING_SETUP:    enosys,
			unix.SYS_IO_URING_ENTER:    enosys,
			unix.SYS_IO_URING_REGISTER: enosys,
		},
		Rules: []seccomp.ArgRule{
			{Nr: unix.SYS_GETSOCKOPT, Arg: 2, Mask: unix.SO_ERROR, IfSet: trace},
			{Nr: unix.SYS_SENDTO, Arg: 4, Mask: ^uint64(0), IfSet: trace},
			{Nr: unix.SYS_RECVFROM, Arg: 4, Mask: ^uint64(0), IfSet: trace},
			{Nr: unix.SYS_SOCKET, Arg: 0, Mask: 0x10, IfSet: trace},
		},
	}
}
