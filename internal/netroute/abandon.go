package netroute

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Abandoned connects. While a relayed connect is pending, carrot holds a
// duplicate of the program's socket, so the program closing its own (its
// connect timed out: Python's create_connection, curl's
// --connect-timeout, Go's dialer) does not close the socket, and carrot,
// which does not trap close, is not told. Left alone, the exits would
// keep trying and could reach the destination later for nobody. So while
// the exits are tried, carrot looks every abandonPoll whether the socket is
// still the program's: at the fd it was connected on (kcmp(2)), else at
// any fd of any process (/proc/PID/fd, which is how a socket handed to
// another fd or process is found). Found nowhere twice in a row (a socket
// passed with SCM_RIGHTS is in no table while in flight), the connect is
// abandoned: the dial is cancelled, and a stream that arrived meanwhile is
// closed.

// abandonPoll is how often a pending relayed connect's socket is looked for.
const abandonPoll = 200 * time.Millisecond

// watchAbandon returns a context for e's dial that is cancelled once the
// program has let go of s (carrot's duplicate of its socket), and a
// function that stops the watch and reports whether the program let go,
// looking once more if the watch did not see it.
func (h *Handler) watchAbandon(ctx context.Context, e *conn, s int) (context.Context, func() bool) {
	ctx, cancel := context.WithCancel(ctx)
	w := &holding{pid: e.pid, fd: e.fd, s: s}
	var gone bool
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(abandonPoll)
		defer t.Stop()
		missed := false
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				found := w.look()
				if !found && missed {
					gone = true
					cancel()
					return
				}
				missed = !found
			}
		}
	}()
	return ctx, func() bool {
		close(done)
		<-exited
		cancel()
		if !gone && !w.look() {
			time.Sleep(abandonPoll / 4)
			gone = !w.look()
		}
		return gone
	}
}

// holding finds carrot's duplicate s of a program's socket among the
// program's file descriptors.
type holding struct {
	pid, fd int // where it was last seen
	s       int
}

// look reports whether some process holds the socket (true when there is
// no way to tell).
func (w *holding) look() bool {
	if same, ok := kcmpFile(w.pid, w.fd, w.s); same || !ok {
		return true
	}
	var st unix.Stat_t
	if unix.Fstat(w.s, &st) != nil {
		return true
	}
	if pid, fd, ok := findSocket(st.Ino); ok {
		w.pid, w.fd = pid, fd
		return true
	}
	return false
}

// kcmpFile reports whether fd in process pid is the same open file as
// this process's s; ok is false when the kernel cannot say (no kcmp).
func kcmpFile(pid, fd, s int) (same, ok bool) {
	const kcmpFileType = 0 // KCMP_FILE
	r, _, errno := unix.Syscall6(unix.SYS_KCMP, uintptr(os.Getpid()), uintptr(pid), kcmpFileType, uintptr(s), uintptr(fd), 0)
	switch errno {
	case 0:
		return r == 0, true
	case unix.ENOSYS, unix.EPERM:
		return false, false
	}
	return false, true // EBADF (closed), ESRCH (process gone)
}

// findSocket looks for the socket with inode ino among every process's
// file descriptors that this process may read, not its own.
func findSocket(ino uint64) (pid, fd int, ok bool) {
	want := "socket:[" + strconv.FormatUint(ino, 10) + "]"
	procs, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		dir := filepath.Join("/proc", p.Name(), "fd")
		fds, _ := os.ReadDir(dir)
		for _, f := range fds {
			if l, err := os.Readlink(filepath.Join(dir, f.Name())); err == nil && l == want {
				fd, _ := strconv.Atoi(f.Name())
				return pid, fd, true
			}
		}
	}
	return 0, 0, false
}
