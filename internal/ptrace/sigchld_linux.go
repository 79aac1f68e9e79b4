package ptrace

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Every ptrace stop sends SIGCHLD to the tracer. The Go runtime installs a
// handler for it, so each stop would also wake some thread of carrot to
// run a signal handler that does nothing. With the default disposition the
// kernel drops the signal at once (its default action is to ignore it);
// unlike SIG_IGN, SIG_DFL does not make the kernel reap children itself, so
// wait4 still reports them. quietSIGCHLD sets SIG_DFL and returns a
// function that puts the runtime's handler back. Nothing in carrot uses
// SIGCHLD (os/exec waits with wait4/pidfd).

// sigactiont is the kernel's struct sigaction for rt_sigaction(2) on
// x86-64 and arm64 (include/uapi/asm-generic/signal.h without sa_restorer
// ordering differences: handler, flags, restorer, mask).
type sigactiont struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

func quietSIGCHLD() (restore func()) {
	var old sigactiont
	dfl := sigactiont{} // SIG_DFL
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD),
		uintptr(unsafe.Pointer(&dfl)), uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
		return func() {}
	}
	return func() {
		unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	}
}
