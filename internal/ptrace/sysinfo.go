package ptrace

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// syscallInfo is struct ptrace_syscall_info (include/uapi/linux/ptrace.h),
// as PTRACE_GET_SYSCALL_INFO fills it: the stop's kind, and the number and
// arguments (entry, seccomp) or the result (exit), in one call.
type syscallInfo struct {
	Op   uint8 // PTRACE_SYSCALL_INFO_*
	_    [3]uint8
	Arch uint32
	IP   uint64
	SP   uint64
	// entry and seccomp: nr, args[6]; exit: rval, is_error.
	U [7]uint64
	// seccomp: ret_data.
	RetData uint32
	_       uint32
}

func (i *syscallInfo) nr() int         { return int(int64(i.U[0])) }
func (i *syscallInfo) args() [6]uint64 { return [6]uint64(i.U[1:7]) }
func (i *syscallInfo) rval() int64     { return int64(i.U[0]) }
func (i *syscallInfo) isEntry() bool   { return i.Op == unix.PTRACE_SYSCALL_INFO_ENTRY }
func (i *syscallInfo) isExit() bool    { return i.Op == unix.PTRACE_SYSCALL_INFO_EXIT }
func (i *syscallInfo) isSeccomp() bool { return i.Op == unix.PTRACE_SYSCALL_INFO_SECCOMP }

func getSyscallInfo(tid int, info *syscallInfo) error {
	_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(tid),
		unsafe.Sizeof(*info), uintptr(unsafe.Pointer(info)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// ptrace makes a ptrace request that does not block (all the engine makes
// besides wait4), without the scheduler's syscall bookkeeping.
func ptrace(req int, tid int, addr, data uintptr) error {
	_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, uintptr(req), uintptr(tid), addr, data, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func getEventMsg(tid int) (uint, error) {
	var msg uint
	err := ptrace(unix.PTRACE_GETEVENTMSG, tid, 0, uintptr(unsafe.Pointer(&msg)))
	return msg, err
}

func getSiginfo(tid int, si *unix.Siginfo) error {
	return ptrace(unix.PTRACE_GETSIGINFO, tid, 0, uintptr(unsafe.Pointer(si)))
}
