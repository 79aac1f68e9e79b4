package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/carrot-project/carrot/internal/ptrace"
)

// forwardSignals passes the signals sent to carrot that ask a program to
// stop (TERM, HUP, INT, QUIT) on to the program tr runs, as strace passes
// them; carrot itself ends when the program does, with its status. A
// signal sent to the whole process group (the terminal's ^C, a kill of the
// group, a service manager's stop) has reached the program already, and a
// second one would be one too many: a signal the program was delivered
// too, or has pending, around the time carrot got it, is not passed. The
// signals are caught, not ignored: an ignored signal would stay ignored
// in the program across its exec.
//
// Once the program has exited, carrot stays for the processes it left
// running (they are traced: their calls need carrot), and such a signal is
// for carrot: leftovers(sig) is called, to end them.
func forwardSignals(tr *ptrace.Tracer, leftovers func(os.Signal)) (stop func()) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				got := time.Now()
				s := sig.(syscall.Signal)
				// A group's signal is queued for every member in the one
				// kill(2); the program's delivery stop may still be on its
				// way to the tracer.
				select {
				case <-time.After(settle):
				case <-done:
					return
				}
				if tr.MainExited() {
					leftovers(sig)
					continue
				}
				p := tr.Pid()
				if p == 0 || tr.Signaled(s).After(got.Add(-time.Second)) || pendingSignal(p, s) {
					continue
				}
				syscall.Kill(p, s)
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}

// endLeftovers is forwardSignals' leftovers for a run whose context end
// kills what is left: it says so on stderr (e), and cancels.
func endLeftovers(e *env, cancel context.CancelFunc) func(os.Signal) {
	return func(sig os.Signal) {
		e.errorf("%v: the program has exited; ending the processes it left running", sig)
		cancel()
	}
}

// settle is how long forwardSignals waits for the program's own copy of a
// signal to show before it passes one on.
const settle = 100 * time.Millisecond

// pendingSignal reports whether process pid has sig pending (blocked, or
// not yet taken), from /proc/PID/status.
func pendingSignal(pid int, sig syscall.Signal) bool {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != "SigPnd" && k != "ShdPnd" {
			continue
		}
		if mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err == nil && mask&(1<<(uint(sig)-1)) != 0 {
			return true
		}
	}
	return false
}

// exitWith is carrot's exit status for a program that ended with st. A
// program killed by a signal also makes carrot end by that signal, once
// everything is written (main: dieBy), as strace does: a parent that asks
// how its child ended (a shell's job control, Python's returncode, make)
// sees the program's death, not an exit. 128+N, what a shell's $? shows
// for it, is the status should that fail.
func (e *env) exitWith(st ptrace.Status) int {
	e.killedBy = st.Signal
	return st.ExitCode()
}

// dieBy ends carrot by sig, the signal that killed the program it ran, as
// strace ends: core dumps off (the program dumped its own, where it was
// allowed to; carrot's would overwrite it), sig's default action restored
// (Go's runtime catches most signals), sig unblocked, and raised on this
// thread. It returns only if sig's default action does not end a process.
func dieBy(sig syscall.Signal) {
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	signal.Reset(sig)
	runtime.LockOSThread()
	var dfl [4]uint64 // the kernel's struct sigaction, all zero: SIG_DFL
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
	var set unix.Sigset_t
	set.Val[(sig-1)/64] |= 1 << ((sig - 1) % 64)
	unix.PthreadSigmask(unix.SIG_UNBLOCK, &set, nil)
	unix.Tgkill(unix.Getpid(), unix.Gettid(), sig)
}
