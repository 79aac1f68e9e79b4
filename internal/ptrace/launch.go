package ptrace

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/carrot-project/carrot/internal/seccomp"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// launchArg marks a re-execution of the binary as the engine's launcher:
//
//	exe launchArg exec FILTER PATH ARGV...   (FILTER: hex BPF, or "-")
//	exe launchArg doorbell
const launchArg = "__carrot_launch__"

// launchFailed is the launcher's exit status when it cannot become the
// program; its message on stderr says why. It matches the shell's
// "found but cannot execute".
const launchFailed = 126

// LaunchMain turns the process into the engine's launcher when it was
// started as one, and returns at once otherwise. Every binary that uses
// the engine calls it from an init function: package initialisation runs
// on the main thread, which is the thread the tracer seizes and which
// must exec the program.
func LaunchMain() {
	if len(os.Args) < 3 || os.Args[1] != launchArg {
		return
	}
	runtime.LockOSThread()
	if unix.Gettid() != unix.Getpid() {
		launchFatal(126, "launcher is not on the main thread (call ptrace.LaunchMain from an init function)")
	}
	switch os.Args[2] {
	case "doorbell":
		unix.Kill(unix.Getpid(), unix.SIGSTOP)
		for {
			unix.Ppoll(nil, nil, nil) // sleeps until a signal; works on every arch
		}
	case "exec":
		if len(os.Args) < 6 {
			launchFatal(126, "launcher: bad arguments")
		}
		launchExec(os.Args[3], os.Args[4], os.Args[5:])
	}
	launchFatal(126, "launcher: unknown mode "+os.Args[2])
}

func launchExec(filter, path string, argv []string) {
	var prog []bpf.RawInstruction
	if filter != "-" {
		b, err := hex.DecodeString(filter)
		if err != nil || len(b)%8 != 0 {
			launchFatal(launchFailed, "launcher: bad filter")
		}
		prog = make([]bpf.RawInstruction, len(b)/8)
		for i := range prog {
			p := b[8*i:]
			prog[i] = bpf.RawInstruction{
				Op: uint16(p[0]) | uint16(p[1])<<8, Jt: p[2], Jf: p[3],
				K: uint32(p[4]) | uint32(p[5])<<8 | uint32(p[6])<<16 | uint32(p[7])<<24,
			}
		}
	}
	// Wait for the tracer: it seizes this thread while it is stopped.
	if err := unix.Kill(unix.Getpid(), unix.SIGSTOP); err != nil {
		launchFatal(launchFailed, "launcher: "+err.Error())
	}
	if prog != nil {
		if err := seccomp.Install(prog); err != nil {
			launchFatal(launchFailed, fmt.Sprintf("cannot install the seccomp filter: %v "+
				"(the kernel needs CONFIG_SECCOMP_FILTER, and a container's own seccomp profile must allow seccomp(2))", err))
		}
	}
	err := unix.Exec(path, argv, os.Environ())
	code := launchFailed
	if errors.Is(err, unix.ENOENT) {
		code = 127
	}
	launchFatal(code, fmt.Sprintf("%s: %v", argv[0], err))
}

func launchFatal(code int, msg string) {
	fmt.Fprintf(os.Stderr, "carrot: %s\n", msg)
	os.Exit(code)
}

// encodeFilter is the launcher's FILTER argument for prog.
func encodeFilter(prog []bpf.RawInstruction) string {
	b := make([]byte, 0, 8*len(prog))
	for _, in := range prog {
		b = append(b, byte(in.Op), byte(in.Op>>8), in.Jt, in.Jf,
			byte(in.K), byte(in.K>>8), byte(in.K>>16), byte(in.K>>24))
	}
	return hex.EncodeToString(b)
}
