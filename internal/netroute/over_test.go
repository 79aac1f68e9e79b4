package netroute

import (
	"os"
	"path/filepath"
	"testing"
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
