package netroute

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSignalPending: a pending signal stops a blocking connect's wait in
// carrot only when it would interrupt the call: not blocked, not ignored,
// and not default-ignored unless caught.
func TestSignalPending(t *testing.T) {
	const (
		chld = 1 << (17 - 1)
		alrm = 1 << (14 - 1)
		urg  = 1 << (23 - 1)
	)
	for _, tc := range []struct {
		name                    string
		pnd, shd, blk, ign, cgt uint64
		want                    bool
	}{
		{"nothing", 0, 0, 0, 0, 0, false},
		{"SIGALRM caught", alrm, 0, 0, 0, alrm, true},
		{"SIGALRM, default action", 0, alrm, 0, 0, 0, true},
		{"SIGALRM blocked", alrm, 0, alrm, 0, alrm, false},
		{"SIGALRM ignored", alrm, 0, 0, alrm, 0, false},
		{"SIGCHLD, default (ignore)", chld, 0, 0, 0, 0, false},
		{"SIGCHLD caught", chld, 0, 0, 0, chld, true},
		{"SIGURG, default (ignore)", 0, urg, 0, 0, 0, false},
	} {
		path := filepath.Join(t.TempDir(), "status")
		status := "Name:\tx\nSigQ:\t0/1\n" +
			"SigPnd:\t" + hex(tc.pnd) + "\nShdPnd:\t" + hex(tc.shd) + "\nSigBlk:\t" + hex(tc.blk) +
			"\nSigIgn:\t" + hex(tc.ign) + "\nSigCgt:\t" + hex(tc.cgt) + "\n"
		os.WriteFile(path, []byte(status), 0o644)
		if got, gone := signalPending(path); got != tc.want || gone {
			t.Errorf("%s: pending %v gone %v, want %v", tc.name, got, gone, tc.want)
		}
	}
	if _, gone := signalPending(filepath.Join(t.TempDir(), "none")); !gone {
		t.Error("a task without a status file is not gone")
	}
}

func hex(v uint64) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 16)
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b)
}

// TestSockConnAbort: an aborted sockConn fails every call at once, and a
// deadline set afterwards does not bring it back; the socket's file flags
// are never touched.
func TestSockConnAbort(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	c := &sockConn{fd: fds[0]}
	if _, err := unix.Write(fds[1], []byte("hi")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	if n, err := c.Read(b); err != nil || string(b[:n]) != "hi" {
		t.Fatalf("read: %q %v", b[:n], err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Millisecond))
	start := time.Now()
	if _, err := c.Read(b); !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("read past the deadline: %v after %v", err, time.Since(start))
	}
	done := make(chan error, 1)
	c.SetDeadline(time.Time{})
	go func() { _, err := c.Read(b); done <- err }()
	time.Sleep(20 * time.Millisecond)
	c.Abort()
	c.SetDeadline(time.Time{}) // must not undo the abort
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("aborted read: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("abort did not end a blocked read")
	}
	unix.Write(fds[1], []byte("more"))
	if _, err := c.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("write after abort: %v", err)
	}
	if fl, _ := unix.FcntlInt(uintptr(fds[0]), unix.F_GETFL, 0); fl&unix.O_NONBLOCK != 0 {
		t.Error("sockConn made the socket non-blocking")
	}
}
