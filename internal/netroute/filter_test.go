package netroute

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/carrot-project/carrot/internal/ptrace"
	"github.com/carrot-project/carrot/internal/seccomp"
)

// verdict runs the compiled filter in x/net/bpf's interpreter on a struct
// seccomp_data (32-bit fields big-endian: the interpreter loads words
// big-endian where the kernel loads them in host order).
func verdict(t *testing.T, vm *bpf.VM, arch uint32, nr int, args ...uint64) seccomp.Action {
	t.Helper()
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], uint32(nr))
	binary.BigEndian.PutUint32(b[4:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(b[16+8*i:], uint32(a))
	}
	out, err := vm.Run(b)
	if err != nil {
		t.Fatal(err)
	}
	return seccomp.Action(out)
}

func TestFilter(t *testing.T) {
	raw, err := Filter().Compile()
	if err != nil {
		t.Fatal(err)
	}
	insns, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("does not disassemble")
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatal(err)
	}
	trace, allow, enosys := seccomp.Trace(0), seccomp.Allow, seccomp.Errno(uint16(unix.ENOSYS))
	const arch = ptrace.AuditArch
	for _, c := range []struct {
		what string
		nr   int
		args []uint64
		want seccomp.Action
	}{
		{"connect", unix.SYS_CONNECT, nil, trace},
		{"getpeername", unix.SYS_GETPEERNAME, nil, trace},
		{"sendmsg", unix.SYS_SENDMSG, nil, trace},
		{"sendmmsg", unix.SYS_SENDMMSG, nil, trace},
		{"getsockopt SO_ERROR", unix.SYS_GETSOCKOPT, []uint64{3, unix.SOL_SOCKET, unix.SO_ERROR}, trace},
		{"getsockopt TCP_INFO", unix.SYS_GETSOCKOPT, []uint64{3, unix.IPPROTO_TCP, unix.TCP_INFO}, allow},
		{"getsockopt SO_TYPE", unix.SYS_GETSOCKOPT, []uint64{3, unix.SOL_SOCKET, unix.SO_TYPE}, allow},
		{"send (sendto without address)", unix.SYS_SENDTO, []uint64{3, 0x1000, 10, 0, 0, 0}, allow},
		{"sendto with address", unix.SYS_SENDTO, []uint64{3, 0x1000, 10, 0, 0x7ffc1234, 16}, trace},
		{"recv (recvfrom without address)", unix.SYS_RECVFROM, []uint64{3, 0x1000, 10, 0, 0, 0}, allow},
		{"recvfrom with address", unix.SYS_RECVFROM, []uint64{3, 0x1000, 10, 0, 0x7ffc1234, 0x7ffc1300}, trace},
		{"socket AF_INET", unix.SYS_SOCKET, []uint64{unix.AF_INET, unix.SOCK_STREAM}, allow},
		{"socket AF_INET6", unix.SYS_SOCKET, []uint64{unix.AF_INET6, unix.SOCK_DGRAM}, allow},
		{"socket AF_UNIX", unix.SYS_SOCKET, []uint64{unix.AF_UNIX, unix.SOCK_STREAM}, allow},
		{"socket AF_PACKET", unix.SYS_SOCKET, []uint64{unix.AF_PACKET, unix.SOCK_RAW}, trace},
		{"socket AF_NETLINK", unix.SYS_SOCKET, []uint64{unix.AF_NETLINK, unix.SOCK_RAW}, allow},
		{"socket AF_XDP", unix.SYS_SOCKET, []uint64{unix.AF_XDP, unix.SOCK_RAW}, trace},
		{"socket AF_VSOCK", unix.SYS_SOCKET, []uint64{unix.AF_VSOCK, unix.SOCK_STREAM}, trace},
		{"socket AF_INET, SOCK_PACKET", unix.SYS_SOCKET, []uint64{unix.AF_INET, unix.SOCK_PACKET}, trace},
		{"socket AF_PACKET with a high word", unix.SYS_SOCKET, []uint64{1<<32 | unix.AF_PACKET, unix.SOCK_RAW}, trace},
		{"socket AF_INET with a high word", unix.SYS_SOCKET, []uint64{1<<32 | unix.AF_INET, unix.SOCK_STREAM}, allow},
		{"clone (a thread)", unix.SYS_CLONE, []uint64{unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND}, allow},
		{"clone CLONE_UNTRACED", unix.SYS_CLONE, []uint64{unix.CLONE_UNTRACED | uint64(unix.SIGCHLD)}, seccomp.Errno(uint16(unix.EPERM))},
		{"clone3", unix.SYS_CLONE3, nil, enosys},
		{"setsockopt TCP_KEEPIDLE", unix.SYS_SETSOCKOPT, []uint64{3, unix.SOL_TCP, unix.TCP_KEEPIDLE}, allow},
		{"setsockopt IP_TOS", unix.SYS_SETSOCKOPT, []uint64{3, unix.SOL_IP, unix.IP_TOS}, allow},
		{"setsockopt IP_OPTIONS", unix.SYS_SETSOCKOPT, []uint64{3, unix.SOL_IP, unix.IP_OPTIONS}, trace},
		{"setsockopt IPV6_RTHDR", unix.SYS_SETSOCKOPT, []uint64{3, unix.SOL_IPV6, unix.IPV6_RTHDR}, trace},
		{"setsockopt IPV6_V6ONLY", unix.SYS_SETSOCKOPT, []uint64{3, unix.SOL_IPV6, unix.IPV6_V6ONLY}, allow},
		{"socket SCTP", unix.SYS_SOCKET, []uint64{unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_SCTP}, trace},
		{"socket SOCK_SEQPACKET", unix.SYS_SOCKET, []uint64{unix.AF_INET6, unix.SOCK_SEQPACKET, 0}, trace},
		{"seccomp filter", unix.SYS_SECCOMP, []uint64{unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC}, allow},
		{"seccomp NEW_LISTENER", unix.SYS_SECCOMP, []uint64{unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER}, seccomp.Errno(uint16(unix.EPERM))},
		{"io_uring_setup", unix.SYS_IO_URING_SETUP, nil, enosys},
		{"io_uring_enter", unix.SYS_IO_URING_ENTER, nil, enosys},
		{"io_uring_register", unix.SYS_IO_URING_REGISTER, nil, enosys},
		{"read", unix.SYS_READ, nil, allow},
		{"write", unix.SYS_WRITE, nil, allow},
		{"recvmsg", unix.SYS_RECVMSG, nil, allow},
		{"openat", unix.SYS_OPENAT, nil, allow},
		{"x32 connect", unix.SYS_CONNECT | seccomp.X32SyscallBit, nil, enosys},
	} {
		if got := verdict(t, vm, arch, c.nr, c.args...); got != c.want {
			t.Errorf("%s: %v, want %v", c.what, got, c.want)
		}
	}
	// i386 (int 0x80): socketcall and everything else
	if got := verdict(t, vm, 0x40000003, 102); got != enosys {
		t.Errorf("i386 socketcall: %v", got)
	}
}
