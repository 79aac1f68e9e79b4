// Package syscalls is carrot's knowledge of x86-64 system calls: the table
// (number, name, argument kinds, strace class), strace's -e trace= set
// syntax, decoders that render a call exactly as strace 6.1 prints it, and
// canonical call forms that let the file-system and network modes handle
// open, openat, openat2 and creat (and every other family) in one place.
//
// # Decoding
//
// A call is decoded in two phases because out-arguments exist only after
// the kernel has run it. At the syscall-entry stop the tracer calls [Enter]
// with the registers and a [Memory] to read the tracee through; the
// in-arguments (paths, strings, flags, sockaddrs passed in) are rendered
// then, while the tracee's memory still holds them. At the exit stop it
// calls [Decoded.Exit] with the raw return value (-errno on failure), which
// renders the out-arguments (read buffers, struct stat, accepted
// addresses) and the return value. [Decoded.Line] then gives strace's
// line; [Decoded.Entry] (which the caller ends " <unfinished ...>") and
// [Decoded.Resumed] give the two halves strace prints when another
// process's line comes in between.
//
// The table gives every argument a Kind; each Kind has one renderer, so
// decoders are shared between calls (every path argument is a "path", every
// open flag word an "oflags"). Memory is only ever read through the
// two-method Memory interface, so tests feed byte slices, and a bad pointer
// is printed as strace prints it (its address in hex), never a panic.
//
// The golden test (golden_test.go) runs testdata/call.c under the real
// strace with chosen registers and memory and checks that the same values
// fed through Enter/Exit give the same line; cmd/carrot's
// TestTraceGoldenAgainstStrace compares whole traces of a real program.
//
// # Not decoded yet
//
// Where strace decodes a structure that this package does not, the
// argument prints as its pointer: ioctl arguments other than the terminal
// ones in ioctl.go (termios, winsize, [int]) and FICLONE's (TCGETA's
// struct termio, TCSETS2's termios2, FICLONERANGE's range),
// control messages in a msghdr, the socket option values of levels other
// than SOL_SOCKET that strace gives a structure (ip_mreq, ipv6_mreq,
// group_req, tpacket_req, packet_mreq, ICMP_FILTER) and SO_ATTACH_FILTER's
// program, the 6-argument futex operations, the *_INFO structures of
// shmctl, semctl and msgctl, semctl's GETALL and SETALL arrays, and
// arch_prctl's XSAVE feature masks (ARCH_GET_XCOMP_*, ARCH_REQ_XCOMP_*),
// which strace names; calls whose table entry still has generic arguments
// ("arg0 x": mq_notify, mq_getsetattr, io_uring, bpf, keyctl and others)
// print every argument in hex, membarrier's QUERY result prints its flags
// as a number and kcmp's KCMP_EPOLL_TFD slot is a number.
// prctl's arm64-only options (PR_SVE_*, PR_SME_*, PR_PAC_*, the tagged
// address controls) and PR_SCHED_CORE print their arguments in hex, and a
// seccomp filter (PR_SET_SECCOMP) prints as {len=N, filter=ADDR} even with
// -v, where strace lists its instructions. Calls added after strace 6.1
// (451 and up) print by their kernel names, where strace 6.1 prints
// syscall_0x1c3(...).
package syscalls
