package ptrace

import "golang.org/x/sys/unix"

// The x86-64 part of the engine: where a stopped task's syscall number,
// arguments and result live in user_regs_struct
// (arch/x86/include/asm/user_64.h), and the audit arch of its native ABI.

// AuditArch is AUDIT_ARCH_X86_64, the arch PTRACE_GET_SYSCALL_INFO and
// seccomp report for native calls.
const AuditArch = 0xc000003e

type regs = unix.PtraceRegs

func getRegs(tid int, r *regs) error { return unix.PtraceGetRegs(tid, r) }
func setRegs(tid int, r *regs) error { return unix.PtraceSetRegs(tid, r) }

// setNr sets the syscall number the kernel will run; -1 skips the call.
func setNr(r *regs, nr int64) { r.Orig_rax = uint64(nr) }

func setRet(r *regs, v int64) { r.Rax = uint64(v) }

func setArgs(r *regs, a *[6]uint64) {
	r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9 = a[0], a[1], a[2], a[3], a[4], a[5]
}
