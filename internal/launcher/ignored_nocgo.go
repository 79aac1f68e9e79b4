//go:build !cgo

package launcher

import (
	"os/signal"
	"syscall"
)

// Without cgo nothing of carrot's runs before the Go runtime, which keeps
// an inherited SIG_IGN only for SIGHUP and SIGINT (see os/signal): those
// are the ones known. Read at package initialisation, before anything
// asks for them with signal.Notify.
func ignoredAtStart() uint64 {
	var m uint64
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT} {
		if signal.Ignored(s) {
			m |= 1 << (s - 1)
		}
	}
	return m
}
