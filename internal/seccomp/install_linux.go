package seccomp

import (
	"fmt"

	"github.com/carrot-project/carrot/internal/launcher"
	"golang.org/x/net/bpf"
)

// AuditArchX86_64 is AUDIT_ARCH_X86_64 (include/uapi/linux/audit.h).
const AuditArchX86_64 = 0xc000003e

// X32SyscallBit marks x32 ABI calls in x86-64 syscall numbers
// (__X32_SYSCALL_BIT, arch/x86/include/uapi/asm/unistd.h).
const X32SyscallBit = 0x40000000

// Install installs prog on the calling thread only, as the launcher does
// (internal/launcher.InstallFilter, which is the one implementation): as
// it is when the kernel takes it so (CAP_SYS_ADMIN), and after setting
// no_new_privs when the kernel refuses it without (EACCES). The caller must have locked its goroutine to the thread
// and should exec right after.
func Install(prog []bpf.RawInstruction) error {
	if len(prog) == 0 {
		return fmt.Errorf("seccomp: empty filter")
	}
	if err := launcher.InstallFilter(Bytes(prog)); err != nil {
		return fmt.Errorf("seccomp(SET_MODE_FILTER): %w", err)
	}
	return nil
}

// Bytes lays prog out as the kernel's array of struct sock_filter (code,
// jt, jf, k; little-endian), the form the launcher installs.
func Bytes(prog []bpf.RawInstruction) []byte {
	b := make([]byte, 0, 8*len(prog))
	for _, in := range prog {
		b = append(b, byte(in.Op), byte(in.Op>>8), in.Jt, in.Jf,
			byte(in.K), byte(in.K>>8), byte(in.K>>16), byte(in.K>>24))
	}
	return b
}
