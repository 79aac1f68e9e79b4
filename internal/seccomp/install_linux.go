package seccomp

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// AuditArchX86_64 is AUDIT_ARCH_X86_64 (include/uapi/linux/audit.h).
const AuditArchX86_64 = 0xc000003e

// X32SyscallBit marks x32 ABI calls in x86-64 syscall numbers
// (__X32_SYSCALL_BIT, arch/x86/include/uapi/asm/unistd.h).
const X32SyscallBit = 0x40000000

// seccomp(2) operation and flags (include/uapi/linux/seccomp.h).
const (
	setModeFilter  = 1      // SECCOMP_SET_MODE_FILTER
	flagSpecAllow  = 1 << 2 // SECCOMP_FILTER_FLAG_SPEC_ALLOW
	prSetNoNewPriv = 38     // PR_SET_NO_NEW_PRIVS
)

// Install sets no_new_privs and installs prog on the calling thread only.
// The caller must have locked its goroutine to the thread and should exec
// right after: the filter then governs the new program, and the Go
// runtime's other threads, which die at exec, never run under it.
//
// SECCOMP_FILTER_FLAG_SPEC_ALLOW keeps the kernel from turning on the
// speculative-store-bypass mitigation for the program, which would slow
// every untraced instruction stream; carrot's filter is not a sandbox.
func Install(prog []bpf.RawInstruction) error {
	if len(prog) == 0 {
		return fmt.Errorf("seccomp: empty filter")
	}
	if _, _, e := unix.RawSyscall6(unix.SYS_PRCTL, prSetNoNewPriv, 1, 0, 0, 0, 0); e != 0 {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", e)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, setModeFilter, flagSpecAllow, uintptr(unsafe.Pointer(&fprog)))
	if e == unix.EINVAL {
		// Kernels before 4.17 lack SPEC_ALLOW.
		_, _, e = unix.RawSyscall(unix.SYS_SECCOMP, setModeFilter, 0, uintptr(unsafe.Pointer(&fprog)))
	}
	runtime.KeepAlive(prog)
	if e != 0 {
		return fmt.Errorf("seccomp(SET_MODE_FILTER): %w", e)
	}
	return nil
}
