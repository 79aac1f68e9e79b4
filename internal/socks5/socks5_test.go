package socks5

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Addr
		wantErr bool
	}{
		{in: "192.0.2.1:80", want: Addr{IP: netip.MustParseAddr("192.0.2.1"), Port: 80}},
		{in: "[2001:db8::1]:443", want: Addr{IP: netip.MustParseAddr("2001:db8::1"), Port: 443}},
		{in: "[::ffff:192.0.2.1]:443", want: Addr{IP: netip.MustParseAddr("192.0.2.1"), Port: 443}},
		{in: "origin.test:8443", want: Addr{Name: "origin.test", Port: 8443}},
		{in: "origin.test", wantErr: true},
		{in: "origin.test:65536", wantErr: true},
		{in: "[fe80::1%eth0]:80", wantErr: true},
		{in: strings.Repeat("a", 256) + ":1", wantErr: true},
	} {
		got, err := ParseAddr(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseAddr(%q) err = %v, wantErr %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("ParseAddr(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestAddrWire(t *testing.T) {
	for _, tc := range []struct {
		a    Addr
		wire string
	}{
		{Addr{IP: netip.MustParseAddr("192.0.2.1"), Port: 0x1234}, "\x01\xc0\x00\x02\x01\x12\x34"},
		{Addr{IP: netip.MustParseAddr("2001:db8::1"), Port: 80}, "\x04\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x50"},
		{Addr{Name: "a.test", Port: 443}, "\x03\x06a.test\x01\xbb"},
		{Addr{}, "\x01\x00\x00\x00\x00\x00\x00"},
	} {
		b, err := tc.a.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.wire {
			t.Errorf("%v encodes as %q, want %q", tc.a, b, tc.wire)
		}
		if tc.a == (Addr{}) {
			continue
		}
		got, err := readAddr(bytes.NewReader(b))
		if err != nil || got != tc.a {
			t.Errorf("decode %q = %+v, %v; want %+v", b, got, err, tc.a)
		}
	}
}

func TestReplyErrno(t *testing.T) {
	for rep, want := range map[Reply]syscall.Errno{
		ReplyConnRefused:     syscall.ECONNREFUSED,
		ReplyNetUnreachable:  syscall.ENETUNREACH,
		ReplyHostUnreachable: syscall.EHOSTUNREACH,
		ReplyTTLExpired:      syscall.ETIMEDOUT,
		ReplyNotAllowed:      syscall.EPERM,
		ReplyGeneralFailure:  syscall.EHOSTUNREACH,
	} {
		err := error(&ReplyError{Reply: rep})
		var errno syscall.Errno
		if !errors.As(err, &errno) || errno != want {
			t.Errorf("reply %v: errno %v, want %v", rep, errno, want)
		}
		// and back: the server's choice for a dial error with that errno
		if rep != ReplyGeneralFailure {
			if got := ReplyFor(fmt.Errorf("dial: %w", want)); got != rep {
				t.Errorf("ReplyFor(%v) = %v, want %v", want, got, rep)
			}
		}
	}
	if got := ReplyFor(os.ErrDeadlineExceeded); got != ReplyTTLExpired {
		t.Errorf("ReplyFor(deadline) = %v", got)
	}
	if got := ReplyFor(context.DeadlineExceeded); got != ReplyGeneralFailure {
		// context.DeadlineExceeded has Timeout() true
		if got != ReplyTTLExpired {
			t.Errorf("ReplyFor(context deadline) = %v", got)
		}
	}
	if got := ReplyFor(&net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}); got != ReplyHostUnreachable {
		t.Errorf("ReplyFor(dns not found) = %v", got)
	}
}

// handshakePair runs ServerHandshake and ClientHandshake against each other
// over a real loopback TCP connection; the server replies rep.
func handshakePair(t *testing.T, auth func(u, p string) bool, dest Addr, opts ClientOptions, rep Reply) (user string, req Request, serr, cerr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			serr = err
			return
		}
		defer c.Close()
		user, req, serr = ServerHandshake(c, auth)
		if serr == nil {
			WriteReply(c, rep, Addr{IP: netip.MustParseAddr("127.0.0.1"), Port: 9})
			// the stream after the reply must be intact
			c.Write([]byte("after"))
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, cerr = ClientHandshake(c, dest, opts)
	if cerr == nil {
		buf := make([]byte, 5)
		if _, err := c.Read(buf); err != nil || string(buf) != "after" {
			t.Errorf("stream after handshake: %q, %v", buf, err)
		}
	}
	<-done
	return
}

func TestHandshake(t *testing.T) {
	check := func(u, p string) bool { return u == "alice" && p == "s3cret" }
	dests := []Addr{
		{IP: netip.MustParseAddr("192.0.2.7"), Port: 80},
		{IP: netip.MustParseAddr("2001:db8::7"), Port: 443},
		{Name: "origin.test", Port: 8443},
	}
	for _, pipeline := range []bool{false, true} {
		for _, dest := range dests {
			user, req, serr, cerr := handshakePair(t, check, dest, ClientOptions{Auth: &Auth{"alice", "s3cret"}, Pipeline: pipeline}, ReplySucceeded)
			if serr != nil || cerr != nil {
				t.Fatalf("pipeline=%v %v: server %v, client %v", pipeline, dest, serr, cerr)
			}
			if user != "alice" || req.Dest != dest || req.Cmd != CmdConnect {
				t.Errorf("server saw user %q request %+v", user, req)
			}
		}
	}
	// no authentication configured, none offered
	_, _, serr, cerr := handshakePair(t, nil, dests[0], ClientOptions{}, ReplySucceeded)
	if serr != nil || cerr != nil {
		t.Fatalf("no auth: server %v, client %v", serr, cerr)
	}
}

func TestHandshakeFailures(t *testing.T) {
	check := func(u, p string) bool { return u == "alice" && p == "s3cret" }
	dest := Addr{Name: "origin.test", Port: 80}

	_, _, serr, cerr := handshakePair(t, check, dest, ClientOptions{}, ReplySucceeded)
	if !errors.Is(serr, ErrNoAcceptableMethod) || !errors.Is(cerr, ErrAuthRequired) || !errors.Is(cerr, ErrAuthFailed) {
		t.Errorf("unauthenticated client: server %v, client %v", serr, cerr)
	}
	// and the other way round: credentials offered to a server that takes none
	_, _, serr, cerr = handshakePair(t, nil, dest, ClientOptions{Auth: &Auth{"alice", "s3cret"}}, ReplySucceeded)
	if !errors.Is(serr, ErrNoAcceptableMethod) || !errors.Is(cerr, ErrUserPassRefused) || !errors.Is(cerr, ErrAuthFailed) {
		t.Errorf("credentials at a server without authentication: server %v, client %v", serr, cerr)
	}
	_, _, serr, cerr = handshakePair(t, check, dest, ClientOptions{Auth: &Auth{"alice", "wrong"}}, ReplySucceeded)
	if !errors.Is(serr, ErrAuthFailed) || !errors.Is(cerr, ErrAuthFailed) {
		t.Errorf("wrong password: server %v, client %v", serr, cerr)
	}
	_, _, serr, cerr = handshakePair(t, check, dest, ClientOptions{Auth: &Auth{"alice", "wrong"}, Pipeline: true}, ReplySucceeded)
	if !errors.Is(serr, ErrAuthFailed) || !errors.Is(cerr, ErrAuthFailed) {
		t.Errorf("wrong password, pipelined: server %v, client %v", serr, cerr)
	}
	_, _, serr, cerr = handshakePair(t, check, dest, ClientOptions{Auth: &Auth{"alice", "s3cret"}}, ReplyConnRefused)
	if serr != nil || !errors.Is(cerr, syscall.ECONNREFUSED) {
		t.Errorf("refused: server %v, client %v", serr, cerr)
	}
}

func TestServerRejectsBindAndBadAtyp(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		rep  Reply
	}{
		{"bind", "\x05\x01\x00" + "\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50", ReplyCmdNotSupported},
		{"atyp", "\x05\x01\x00" + "\x05\x01\x00\x09", ReplyAddrTypeUnsupported},
		// malformed requests are answered too, not just closed
		{"empty name", "\x05\x01\x00" + "\x05\x01\x00\x03\x00\x00\x50", ReplyGeneralFailure},
		{"name with NUL", "\x05\x01\x00" + "\x05\x01\x00\x03\x03a\x00b\x00\x50", ReplyGeneralFailure},
		{"request version 4", "\x05\x01\x00" + "\x04\x01\x00\x01\x7f\x00\x00\x01\x00\x50", ReplyGeneralFailure},
	} {
		var out bytes.Buffer
		rw := rwPair{bytes.NewReader([]byte(tc.in)), &out}
		if _, _, err := ServerHandshake(rw, nil); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
		want := "\x05\x00" + string([]byte{5, byte(tc.rep), 0, 1, 0, 0, 0, 0, 0, 0})
		if out.String() != want {
			t.Errorf("%s: server wrote %q, want %q", tc.name, out.String(), want)
		}
	}
}

// TestServerNoReplyToCutShort: a request cut short (the client went away
// mid-message) gets no reply: only a whole, malformed one is answered.
func TestServerNoReplyToCutShort(t *testing.T) {
	var out bytes.Buffer
	rw := rwPair{bytes.NewReader([]byte("\x05\x01\x00" + "\x05\x01\x00\x03\x05ab")), &out}
	if _, _, err := ServerHandshake(rw, nil); !errors.Is(err, io.ErrUnexpectedEOF) || IsMalformed(err) {
		t.Errorf("cut short: %v, want io.ErrUnexpectedEOF", err)
	}
	if out.String() != "\x05\x00" {
		t.Errorf("server wrote %q, want the method choice only", out.String())
	}
}

// rwPair is a connection made of a reader and a writer.
type rwPair struct {
	io.Reader
	io.Writer
}

// TestPipelinesMethod: ClientAuthProbe offers MethodPipelines next to the
// plain method; ServerHandshake chooses it and says so, and a server that
// does not know it (any other) chooses the plain method, which the probe
// accepts too.
func TestPipelinesMethod(t *testing.T) {
	check := func(u, p string) bool { return u == "alice" && p == "s3cret" }
	for _, auth := range []*Auth{nil, {"alice", "s3cret"}} {
		c, s := net.Pipe()
		done := make(chan error, 1)
		go func() {
			var f func(string, string) bool
			if auth != nil {
				f = check
			}
			_, _, err := ServerHandshake(s, f)
			done <- err
			s.Close()
		}()
		pipelines, err := ClientAuthProbe(c, auth)
		if err != nil || !pipelines {
			t.Fatalf("auth %v: pipelines %v, %v", auth, pipelines, err)
		}
		if _, err := ClientRequest(c, Addr{Name: "origin.test", Port: 80}); err == nil {
			t.Errorf("auth %v: the test server replied success", auth)
		}
		c.Close()
		<-done
	}
	// A server that knows only the plain methods.
	c, s := net.Pipe()
	go func() {
		methods, _ := ReadGreeting(s)
		if len(methods) != 2 || methods[0] != MethodUserPass || methods[1] != MethodUserPass|MethodPipelines {
			t.Errorf("greeting offered %x", methods)
		}
		s.Write([]byte{Version, MethodUserPass})
		ReadUserPass(s)
		s.Write([]byte{authVersion, 0})
		s.Close()
	}()
	pipelines, err := ClientAuthProbe(c, &Auth{"alice", "s3cret"})
	if err != nil || pipelines {
		t.Fatalf("plain server: pipelines %v, %v", pipelines, err)
	}
	c.Close()
}
