package netroute

import (
	"net"
	"os"
	"testing"
)

// TestPruneOwned: pruning the list of streams on the program's own socket
// drops the entries of sockets nobody holds any more (closed by their
// program, so the kernel lists them with no inode, or gone), keeps those of
// sockets still open, and keeps every entry made while the lists were
// being read. Real sockets, this process's own /proc/PID/net/tcp.
func TestPruneOwned(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	h := &Handler{conns: map[uint64]*conn{}}
	var open []net.Conn
	add := func(cookie uint64) net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		f, err := c.(*net.TCPConn).File()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		e := &conn{cookie: cookie}
		h.conns[cookie] = e
		h.addOwned(e, int(f.Fd()))
		if e.ino == 0 {
			t.Fatal("no inode number recorded")
		}
		return c
	}
	for cookie := uint64(1); cookie <= 6; cookie++ {
		c := add(cookie)
		if cookie%2 == 0 {
			open = append(open, c)
		} else {
			c.Close() // the program closed it
		}
	}
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	h.pruneOwned(os.Getpid())
	for cookie := uint64(1); cookie <= 6; cookie++ {
		if _, kept := h.conns[cookie]; kept != (cookie%2 == 0) {
			t.Errorf("socket %d (open: %v): entry kept %v", cookie, cookie%2 == 0, kept)
		}
	}
	if len(h.owned) != 3 || h.ownedNext != 6 {
		t.Errorf("after pruning: %d listed, next pruning past %d; want 3, 6", len(h.owned), h.ownedNext)
	}
	// /proc unreadable (no such process): the oldest past ownedLimit go.
	for range ownedLimit {
		h.owned = append(h.owned, &conn{})
	}
	first := h.owned[0]
	h.pruneOwned(1 << 30)
	if len(h.owned) != ownedLimit || h.owned[0] == first || h.conns[first.cookie] == first {
		t.Errorf("without /proc: %d listed, the oldest kept: %v", len(h.owned), h.owned[0] == first)
	}
}
