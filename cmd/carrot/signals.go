package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

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
func forwardSignals(tr *ptrace.Tracer) (stop func()) {
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
