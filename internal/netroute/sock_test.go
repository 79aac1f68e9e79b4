package netroute

import (
	"net/netip"
	"os"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The socket mechanics, in this process: its own sockets stand in for a
// program's (pidfd_getfd works on oneself), no tracer needed.

func programSocket(t *testing.T, family int, nonblock bool) (p, s int, si sockInfo) {
	t.Helper()
	typ := unix.SOCK_STREAM | unix.SOCK_CLOEXEC
	if nonblock {
		typ |= unix.SOCK_NONBLOCK
	}
	p, err := unix.Socket(family, typ, 0)
	if err != nil {
		t.Skipf("SKIP: no %d sockets here: %v", family, err)
	}
	fds := pidfds{}
	t.Cleanup(func() { fds.closeAll(); unix.Close(p) })
	s, err = fds.getfd(os.Getpid(), os.Getpid(), p)
	if err != nil {
		t.Fatalf("pidfd_getfd: %v", err)
	}
	t.Cleanup(func() { unix.Close(s) })
	if si, err = inspect(s); err != nil {
		t.Fatal(err)
	}
	if si.domain != family || !si.tcp() || si.nonblock != nonblock || si.cookie == 0 {
		t.Fatalf("inspect: %+v", si)
	}
	return p, s, si
}

func writable(fd int, ms int) int16 {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	unix.Poll(pfd, ms)
	return pfd[0].Revents
}

// connectLen is connect(2) with an explicit address length.
func connectLen(fd int, sa []byte, n int) error {
	_, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(n))
	if e != 0 {
		return e
	}
	return nil
}

func TestHoldAndRelease(t *testing.T) {
	h, err := newHolder()
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	for _, c := range []struct {
		name     string
		family   int
		nonblock bool
	}{
		{"ipv4 non-blocking", unix.AF_INET, true},
		{"ipv4 blocking", unix.AF_INET, false},
		{"ipv6 non-blocking", unix.AF_INET6, true},
		{"ipv6 blocking", unix.AF_INET6, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, s, si := programSocket(t, c.family, c.nonblock)
			target, err := h.target(s, si.domain)
			if err != nil {
				t.Fatal(err)
			}
			if err := hold(s, si, target); err != nil {
				t.Fatalf("hold: %v", err)
			}
			if st := tcpState(p); st != unix.BPF_TCP_SYN_SENT {
				t.Fatalf("held socket in state %d, want SYN_SENT", st)
			}
			if ev := writable(p, 50); ev != 0 {
				t.Fatalf("held socket polls %#x: a program would think it connected", ev)
			}
			// The program's own connect, to some other address, waits for
			// the held one (blocking) or says EALREADY; it never goes there.
			elsewhere := unixSockaddr(c.family, netip.MustParseAddrPort("192.0.2.1:80"))
			done := make(chan error, 1)
			go func() { done <- unix.Connect(p, elsewhere) }()
			if c.nonblock {
				if err := <-done; err != unix.EALREADY {
					t.Fatalf("second connect: %v, want EALREADY", err)
				}
			}
			q, err := release(s, target)
			if err != nil {
				t.Fatalf("release: %v", err)
			}
			defer q.Close()
			if !c.nonblock {
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("blocked connect: %v", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("the blocked connect did not return after release")
				}
			}
			if ev := writable(p, 1000); ev&unix.POLLOUT == 0 || ev&(unix.POLLERR|unix.POLLHUP) != 0 {
				t.Fatalf("released socket polls %#x", ev)
			}
			peer, _ := unix.Getpeername(p)
			if ap, _ := addrPortOf(peer); ap.Port() != target.Port() {
				t.Fatalf("program socket connected to %v, want the hold address %v", ap, target)
			}
			if _, err := unix.Write(p, []byte("up")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 8)
			q.SetDeadline(time.Now().Add(5 * time.Second))
			if n, err := q.Read(buf); err != nil || string(buf[:n]) != "up" {
				t.Fatalf("relay end read %q %v", buf[:n], err)
			}
			q.Write([]byte("down"))
			unix.SetNonblock(p, false)
			if n, err := unix.Read(p, buf); err != nil || string(buf[:n]) != "down" {
				t.Fatalf("program read %q %v", buf[:n], err)
			}
		})
	}
}

func TestHoldAndAbort(t *testing.T) {
	h, err := newHolder()
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	t.Run("non-blocking", func(t *testing.T) {
		p, s, si := programSocket(t, unix.AF_INET, true)
		target, _ := h.target(s, si.domain)
		if err := hold(s, si, target); err != nil {
			t.Fatal(err)
		}
		abort(s)
		want := int16(unix.POLLOUT | unix.POLLERR | unix.POLLHUP)
		if ev := writable(p, 1000); ev != want {
			t.Fatalf("aborted socket polls %#x, want %#x (what a failed connect shows)", ev, want)
		}
		if e, _ := unix.GetsockoptInt(p, unix.SOL_SOCKET, unix.SO_ERROR); unix.Errno(e) != unix.ECONNRESET {
			t.Fatalf("SO_ERROR %v, want the stand-in ECONNRESET", unix.Errno(e))
		}
	})
	t.Run("blocking, waiting", func(t *testing.T) {
		p, s, si := programSocket(t, unix.AF_INET, false)
		target, _ := h.target(s, si.domain)
		if err := hold(s, si, target); err != nil {
			t.Fatal(err)
		}
		sa := sockaddr(unix.AF_INET, netip.MustParseAddrPort("192.0.2.1:80"))
		done := make(chan error, 1)
		go func() { done <- connectLen(p, sa, 2) }()
		time.Sleep(20 * time.Millisecond)
		abort(s)
		select {
		case err := <-done:
			if err != unix.ECONNRESET {
				t.Fatalf("waiting connect: %v, want ECONNRESET", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the waiting connect did not return after abort")
		}
	})
	t.Run("blocking, not yet called", func(t *testing.T) {
		// Aborted before the program's connect runs: with the address
		// length carrot gives it (2), the kernel refuses it instead of
		// connecting to the address directly.
		p, s, si := programSocket(t, unix.AF_INET, false)
		target, _ := h.target(s, si.domain)
		if err := hold(s, si, target); err != nil {
			t.Fatal(err)
		}
		abort(s)
		unix.GetsockoptInt(p, unix.SOL_SOCKET, unix.SO_ERROR)
		sa := sockaddr(unix.AF_INET, netip.MustParseAddrPort("127.0.0.1:9"))
		if err := connectLen(p, sa, 2); err != unix.EINVAL {
			t.Fatalf("connect with length 2: %v, want EINVAL", err)
		}
		if st := tcpState(p); st != unix.BPF_TCP_CLOSE {
			t.Fatalf("state %d after the refused connect, want CLOSE", st)
		}
	})
}
