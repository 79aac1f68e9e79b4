package main

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwardSignals passes the signals sent to carrot that ask a program to
// stop on to the program that carrot traces (pid says which; 0 until it has
// started), as strace passes them: TERM and HUP always; INT and QUIT
// unless carrot runs in its terminal's foreground process group, where
// the terminal sends its ^C and ^\ to the program too, and a second one
// would be one too many. Carrot itself ends when the program does, with
// its status. The signals are caught, not ignored: an ignored signal would
// stay ignored in the program across its exec.
func forwardSignals(pid func() int) (stop func()) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				s := sig.(syscall.Signal)
				if (s == syscall.SIGINT || s == syscall.SIGQUIT) && inForeground() {
					continue
				}
				if p := pid(); p > 0 {
					syscall.Kill(p, s)
				}
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

// inForeground reports whether this process is in the foreground process
// group of its controlling terminal (false without one).
func inForeground() bool {
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return false
	}
	defer tty.Close()
	fg, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && fg == unix.Getpgrp()
}
