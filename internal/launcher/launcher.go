// Package launcher is the first code that runs when the tracer re-executes
// carrot's binary to start a program under it (see internal/ptrace).
//
// The launcher must become the program quickly and on the main thread:
// it stops itself with SIGSTOP so the tracer can seize it, then installs
// the seccomp filter on its own thread and execs the program. It does
// that in this package's init function, so any binary that imports the
// engine (which imports this package) is its own launcher, and it imports
// nothing but the standard library's most basic packages. The Go spec
// initialises packages in import-path order as soon as their imports are
// done, so this package's init runs before every heavy dependency of the
// binary (etcd, gRPC, protobuf registries...): a launch costs the Go
// runtime's start, not the whole program's initialisation.
//
// Package initialisation runs on the main thread, which is the thread the
// tracer seizes and the one that must exec.
//
// Signals that the program's would-be parent left ignored stay ignored in
// the program, as exec keeps them: nohup's SIGHUP, a background job's
// SIGINT and SIGQUIT, a service manager's SIGPIPE. The Go runtime forgets
// which signals were ignored when it installs its own handlers, so a C
// constructor (cgo) records them as the binary is loaded (Ignored), the
// tracer passes them on to the launcher, and the launcher ignores them
// again just before its exec. Built without cgo, only SIGHUP and SIGINT
// are known (the runtime keeps an inherited SIG_IGN for those two).
//
// Command lines:
//
//	BINARY Arg exec FILTER IGNORED PATH ARGV...   (FILTER: hex BPF, or "-"; IGNORED: hex signal mask)
//	BINARY Arg doorbell
package launcher

import (
	"encoding/hex"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

// ignored is the signals this process was started with ignored, bit s-1
// for signal s.
var ignored = ignoredAtStart()

// Ignored returns the signals (bit s-1 for signal s) that were ignored
// when the binary was executed: the dispositions a program started in its
// place should get.
func Ignored() uint64 { return ignored }

// Arg marks a re-execution of the binary as a launcher (argv[1]).
const Arg = "__carrot_launch__"

// Failed is the launcher's exit status when it cannot become the program;
// its message on stderr says why. It is the shell's "found but cannot
// execute"; a program that is not found gives NotFound.
const Failed = 126

// NotFound is the exit status for a program that is not there, as in
// shells.
const NotFound = 127

func init() { Main() }

// Main turns the process into a launcher when argv says so, and returns at
// once otherwise. The package's init calls it; a launcher never returns.
func Main() {
	if len(os.Args) < 3 || os.Args[1] != Arg {
		return
	}
	runtime.LockOSThread()
	if syscall.Gettid() != syscall.Getpid() {
		fatal(Failed, "launcher is not on the main thread")
	}
	switch os.Args[2] {
	case "doorbell":
		// A traced child the tracer signals to wake itself (see
		// internal/ptrace's doc); it only sleeps.
		syscall.Kill(syscall.Getpid(), syscall.SIGSTOP)
		for {
			syscall.Syscall6(syscall.SYS_PPOLL, 0, 0, 0, 0, 0, 0)
		}
	case "exec":
		if len(os.Args) < 7 {
			fatal(Failed, "launcher: bad arguments")
		}
		mask, err := strconv.ParseUint(os.Args[4], 16, 64)
		if err != nil {
			fatal(Failed, "launcher: bad signal mask")
		}
		exec(os.Args[3], mask, os.Args[5], os.Args[6:])
	}
	fatal(Failed, "launcher: unknown mode "+os.Args[2])
}

func exec(filter string, ignore uint64, path string, argv []string) {
	var prog []byte
	if filter != "-" {
		var err error
		if prog, err = hex.DecodeString(filter); err != nil || len(prog)%8 != 0 || len(prog) == 0 {
			fatal(Failed, "launcher: bad filter")
		}
	}
	// Wait for the tracer: it seizes this thread while it is stopped.
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGSTOP); err != nil {
		fatal(Failed, "launcher: "+err.Error())
	}
	// The tracer started this process with a parent-death signal, so that
	// a launcher it never seized would not outlive it. Seized, the tracer's
	// PTRACE_O_EXITKILL does that, and exec would hand the setting on to
	// the program, whose prctl(PR_GET_PDEATHSIG) would read SIGKILL where
	// under strace it reads 0.
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetPdeathsig, 0, 0); errno != 0 {
		fatal(Failed, "launcher: "+errno.Error())
	}
	// Ignored, as they were when carrot was started; the rest are at
	// their defaults, as exec leaves caught signals.
	for s := 1; s <= 64; s++ {
		if ignore&(1<<(s-1)) != 0 {
			signal.Ignore(syscall.Signal(s))
		}
	}
	if prog != nil {
		if err := InstallFilter(prog); err != nil {
			fatal(Failed, "cannot install the seccomp filter: "+err.Error()+
				" (the kernel needs CONFIG_SECCOMP_FILTER, and a container's own seccomp profile must allow seccomp(2))")
		}
	}
	err := syscall.Exec(path, argv, os.Environ())
	code, msg := Failed, argv[0]+": "+err.Error()
	if err == syscall.ENOENT {
		code = NotFound
		if _, serr := os.Stat(path); serr == nil {
			// The program is there: what is missing is the interpreter
			// its #! line names (or its ELF loader), as bash says.
			code, msg = Failed, argv[0]+": bad interpreter: "+err.Error()
		}
	}
	fatal(code, msg)
}

func fatal(code int, msg string) {
	os.Stderr.WriteString("carrot: " + msg + "\n")
	os.Exit(code)
}

// seccomp(2) and prctl(2) constants (include/uapi/linux/seccomp.h,
// include/uapi/linux/prctl.h).
const (
	prSetNoNewPrivs = 38 // PR_SET_NO_NEW_PRIVS
	prSetPdeathsig  = 1  // PR_SET_PDEATHSIG
	setModeFilter   = 1  // SECCOMP_SET_MODE_FILTER
	flagSpecAllow   = 4  // SECCOMP_FILTER_FLAG_SPEC_ALLOW
)

// sockFprog is struct sock_fprog (include/uapi/linux/filter.h).
type sockFprog struct {
	len    uint16
	filter *byte
}

// InstallFilter installs prog, an array of struct sock_filter (8 bytes
// each: code, jt, jf, k, in host byte order), on the calling thread only.
// The caller locks its goroutine to the thread and should exec right
// after: the filter then governs the new program, and the Go runtime's
// other threads, which die at exec, never run under it.
//
// The kernel takes a filter from a task with CAP_SYS_ADMIN in its user
// namespace (root) as it is, and from anyone else only once no_new_privs
// is set, which makes setuid and file-capability programs run without
// their privileges (sudo, ping or passwd in a traced script). So the
// filter is installed without it when the kernel allows, as strace leaves
// such programs be, and with it otherwise.
//
// SECCOMP_FILTER_FLAG_SPEC_ALLOW keeps the kernel from turning on the
// speculative-store-bypass mitigation for the program, which would slow
// every untraced instruction stream; carrot's filter is not a sandbox.
func InstallFilter(prog []byte) error {
	if len(prog) == 0 || len(prog)%8 != 0 {
		return syscall.EINVAL
	}
	fprog := sockFprog{len: uint16(len(prog) / 8), filter: &prog[0]}
	install := func() syscall.Errno {
		_, _, e := syscall.RawSyscall(sysSeccomp, setModeFilter, flagSpecAllow, uintptr(unsafe.Pointer(&fprog)))
		if e == syscall.EINVAL {
			// Kernels before 4.17 lack SPEC_ALLOW.
			_, _, e = syscall.RawSyscall(sysSeccomp, setModeFilter, 0, uintptr(unsafe.Pointer(&fprog)))
		}
		return e
	}
	e := install()
	if e == syscall.EACCES {
		if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0, 0, 0, 0); e != 0 {
			return e
		}
		e = install()
	}
	runtime.KeepAlive(prog)
	if e != 0 {
		return e
	}
	return nil
}
