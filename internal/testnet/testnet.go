// Package testnet gives tests the servers they talk to through an exit or
// a relay: one that echoes, one that never answers (each on a port of its
// own on 127.0.0.1), or any other on a listener of the test's (Serve).
// Each is closed, with its connections, when the test ends.
//
// It is imported by tests only.
package testnet

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
)

// Echo serves, until the test ends, a server that echoes each connection
// until its EOF, then half-closes and closes it; it returns its address.
func Echo(t testing.TB) netip.AddrPort {
	t.Helper()
	return serve(t, loopback(t), func(c net.Conn) {
		io.Copy(c, c)
		c.(*net.TCPConn).CloseWrite()
		c.Close()
	})
}

// Silent serves, until the test ends, a server that accepts connections
// and neither reads, answers nor closes them (a destination that never
// speaks); it returns its address, and each connection as it is accepted.
func Silent(t testing.TB) (netip.AddrPort, <-chan net.Conn) {
	t.Helper()
	conns := make(chan net.Conn, 16)
	addr := serve(t, loopback(t), func(c net.Conn) {
		select {
		case conns <- c:
		default: // nobody is looking: keep it open all the same
		}
	})
	return addr, conns
}

// Serve runs handle for each connection ln accepts, until the test ends;
// then ln and every connection it accepted are closed.
func Serve(t testing.TB, ln net.Listener, handle func(net.Conn)) {
	serve(t, ln, handle)
}

func loopback(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serve is Serve, returning ln's address.
func serve(t testing.TB, ln net.Listener, handle func(net.Conn)) netip.AddrPort {
	var (
		mu     sync.Mutex
		conns  []net.Conn
		closed bool
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				c.Close()
				return
			}
			conns = append(conns, c)
			mu.Unlock()
			go handle(c)
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}
