package exit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/carrot-project/carrot/internal/socks5"
	"github.com/carrot-project/carrot/internal/testnet"
)

// TestListenOptions: the listener waits for the client's first bytes
// (TCP_DEFER_ACCEPT) and takes data in the SYN where the host allows it
// (TCP_FASTOPEN).
func TestListenOptions(t *testing.T) {
	ln, err := Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var deferAcc, fastOpen int
	var err1, err2 error
	rc.Control(func(fd uintptr) {
		deferAcc, err1 = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT)
		fastOpen, err2 = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_FASTOPEN)
	})
	if err1 != nil || deferAcc < deferAccept {
		t.Errorf("TCP_DEFER_ACCEPT %d (%v), want at least %d s", deferAcc, err1, deferAccept)
	}
	if err2 != nil || fastOpen != fastOpenQueue {
		t.Errorf("TCP_FASTOPEN %d (%v), want %d", fastOpen, err2, fastOpenQueue)
	}

	// Keepalives come after the handshake, from keepAlive.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{5}) // the client speaks first
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	keepalive := func() int {
		rc, _ := a.(*net.TCPConn).SyscallConn()
		v := -1
		rc.Control(func(fd uintptr) { v, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE) })
		return v
	}
	if v := keepalive(); v != 0 {
		t.Errorf("SO_KEEPALIVE %d at accept, want 0", v)
	}
	keepAlive(a)
	if v := keepalive(); v != 1 {
		t.Errorf("SO_KEEPALIVE %d after keepAlive, want 1", v)
	}
}

// TestConnectEarly: the default dial connects the socket before Go's own
// connect, so a connection the kernel completes within the call (loopback)
// is already established when Go looks at it; refusals keep their errno.
func TestConnectEarly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	var state int
	d := net.Dialer{ControlContext: func(ctx context.Context, network, address string, c syscall.RawConn) error {
		if err := connectEarly(ctx, network, address, c); err != nil {
			return err
		}
		c.Control(func(fd uintptr) {
			if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
				state = int(info.State)
			}
		})
		return nil
	}}
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if state != unix.BPF_TCP_ESTABLISHED {
		t.Errorf("socket state %d before Go's connect, want established (%d)", state, unix.BPF_TCP_ESTABLISHED)
	}
	// The default dial is this one.
	srv, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if reflect.ValueOf(srv.cfg.Dial).Pointer() != reflect.ValueOf(dial).Pointer() ||
		reflect.ValueOf(earlyDialer.ControlContext).Pointer() != reflect.ValueOf(connectEarly).Pointer() {
		t.Error("the default Config.Dial does not connect early")
	}
	c, err = dial(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if c.RemoteAddr().String() != addr {
		t.Errorf("remote address %v, want %s", c.RemoteAddr(), addr)
	}
	c.Close()
	ln.Close()
	if _, err := dial(context.Background(), "tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial to a closed port: %v, want ECONNREFUSED", err)
	}
}

// scriptConn is a net.Conn whose reads return the chunks of script in
// turn, recording every read and write.
type scriptConn struct {
	net.Conn
	script [][]byte
	events []string
}

func (s *scriptConn) Read(p []byte) (int, error) {
	if len(s.script) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.script[0])
	s.events = append(s.events, "read "+itoaLen(n))
	s.script[0] = s.script[0][n:]
	if len(s.script[0]) == 0 {
		s.script = s.script[1:]
	}
	return n, nil
}

func (s *scriptConn) Write(p []byte) (int, error) {
	s.events = append(s.events, "write "+itoaLen(len(p)))
	return len(p), nil
}

func itoaLen(n int) string { return fmt.Sprintf("%02d", n) }

// TestHandshakeConn: a pipelining client is read in one go and answered
// in one write; a client that waits for each answer gets each before the
// server waits for more; bytes after the request are kept for the
// destination.
func TestHandshakeConn(t *testing.T) {
	dest := socks5.Addr{IP: netip.MustParseAddr("192.0.2.1"), Port: 80}
	auth := &socks5.Auth{User: "alice", Pass: "s3cret"}
	hello, err := socks5.AppendPipelined(nil, dest, auth)
	if err != nil {
		t.Fatal(err)
	}
	check := func(u, p string) bool { return u == "alice" && p == "s3cret" }
	serve := func(sc *scriptConn) *handshakeConn {
		t.Helper()
		hc := newHandshakeConn(sc)
		_, req, err := socks5.ServerHandshake(hc, check)
		if err != nil || req.Dest != dest {
			t.Fatalf("handshake: %v %v", req.Dest, err)
		}
		socks5.WriteReply(hc, socks5.ReplySucceeded, dest)
		if err := hc.Flush(); err != nil {
			t.Fatal(err)
		}
		return hc
	}

	pipelined := &scriptConn{script: [][]byte{append(append([]byte{}, hello...), "GET /"...)}}
	hc := serve(pipelined)
	if got := strings.Join(pipelined.events, ", "); got != "read "+itoaLen(len(hello)+5)+", write 14" {
		t.Errorf("pipelined client: %s; want one read and one write of 2+2+10 bytes", got)
	}
	if string(hc.early()) != "GET /" {
		t.Errorf("bytes after the request: %q", hc.early())
	}

	greeting, creds := hello[:3], hello[3:3+2+5+1+6]
	request := hello[len(greeting)+len(creds):]
	waiting := &scriptConn{script: [][]byte{greeting, creds, request}}
	hc = serve(waiting)
	want := "read 03, write 02, read 14, write 02, read 10, write 10"
	if got := strings.Join(waiting.events, ", "); got != want {
		t.Errorf("client waiting for each answer: %s; want %s", got, want)
	}
	if len(hc.early()) != 0 {
		t.Errorf("early bytes %q", hc.early())
	}
}

// TestExitEarlyData: bytes a client sends right after its request, before
// the reply, reach the destination first and are counted.
func TestExitEarlyData(t *testing.T) {
	te := startExit(t, nil)
	if got := echoEarly(t, te.addr, testnet.Echo(t), "early bytes", false); got != "early bytes" {
		t.Fatalf("echo %q", got)
	}
	te.log.waitLog(t, "up=11", "down=11", "result=ok")
}

// echoEarly sends a pipelined request for echo through the exit at addr
// with early bytes after it, half-closes (before the reply with
// closeFirst, else after it), and returns what the destination echoed.
func echoEarly(t *testing.T, addr string, echo netip.AddrPort, early string, closeFirst bool) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	hello, err := socks5.AppendPipelined(nil, socks5.AddrFromAddrPort(echo), alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(append(hello, early...)); err != nil {
		t.Fatal(err)
	}
	if closeFirst {
		c.(*net.TCPConn).CloseWrite()
	}
	if _, err := socks5.ReadPipelined(c, alice); err != nil {
		t.Fatalf("reply: %v", err)
	}
	if !closeFirst {
		c.(*net.TCPConn).CloseWrite()
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("echo %q: %v", got, err)
	}
	return string(got)
}

// TestEyeballs: the first address is dialed at once and alone; the others
// race it after fallbackDelay, or follow at once when an attempt fails; the
// first connection wins, the losers are cancelled, and a loser that
// connects anyway is closed; a failure keeps the most telling error.
func TestEyeballs(t *testing.T) {
	type behaviour struct {
		delay    time.Duration // 0: at once; <0: until cancelled
		err      error         // after delay
		stubborn bool          // connects after delay even if cancelled
	}
	type seen struct {
		res               attempt
		dialed            []string
		started           map[string]time.Duration
		cancelled, closed map[string]bool
		elapsed           time.Duration
	}
	run := func(plan map[string]behaviour, targets ...string) seen {
		var mu sync.Mutex
		o := seen{started: map[string]time.Duration{}, cancelled: map[string]bool{}, closed: map[string]bool{}}
		start := time.Now()
		s := &Server{cfg: Config{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			o.dialed = append(o.dialed, addr)
			o.started[addr] = time.Since(start)
			mu.Unlock()
			b := plan[addr]
			if b.delay != 0 {
				var wait <-chan time.Time
				if b.delay > 0 {
					wait = time.After(b.delay)
				}
				done := ctx.Done()
				if b.stubborn {
					done = nil
				}
				select {
				case <-wait:
				case <-done:
					mu.Lock()
					o.cancelled[addr] = true
					mu.Unlock()
					return nil, ctx.Err()
				}
			}
			if b.err != nil {
				return nil, b.err
			}
			c1, c2 := net.Pipe()
			c2.Close()
			return &closeConn{Conn: c1, closed: func() { mu.Lock(); o.closed[addr] = true; mu.Unlock() }}, nil
		}}}
		o.res = s.eyeballs(context.Background(), context.Background(), targets, nil)
		o.elapsed = time.Since(start)
		time.Sleep(fallbackDelay) // let the losers end
		mu.Lock()
		defer mu.Unlock()
		return o
	}
	refused := &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}
	unreach := &net.OpError{Op: "dial", Err: syscall.EHOSTUNREACH}
	ms := time.Millisecond

	o := run(map[string]behaviour{}, "a", "b")
	if o.res.conn == nil || o.res.target != "a" || len(o.dialed) != 1 {
		t.Errorf("first connects: %+v, dialed %v", o.res, o.dialed)
	}
	o = run(map[string]behaviour{"a": {delay: -1}}, "a", "b")
	if o.res.conn == nil || o.res.target != "b" || !o.cancelled["a"] || o.elapsed < fallbackDelay {
		t.Errorf("first hangs: %+v after %v, dialed %v, cancelled %v", o.res, o.elapsed, o.dialed, o.cancelled)
	}
	o = run(map[string]behaviour{"a": {err: refused}}, "a", "b")
	if o.res.conn == nil || o.res.target != "b" || o.elapsed >= fallbackDelay {
		t.Errorf("first refused: %+v after %v (the next should follow at once)", o.res, o.elapsed)
	}
	o = run(map[string]behaviour{"a": {delay: fallbackDelay + 100*ms}, "b": {delay: -1}}, "a", "b")
	if o.res.conn == nil || o.res.target != "a" || !o.cancelled["b"] {
		t.Errorf("first connects while the second is pending: %+v, cancelled %v", o.res, o.cancelled)
	}
	// Both connect, b just after a: a wins, b's connection is closed.
	o = run(map[string]behaviour{"a": {delay: fallbackDelay + 50*ms}, "b": {delay: 80 * ms, stubborn: true}}, "a", "b")
	if o.res.target != "a" || o.closed["a"] || !o.closed["b"] {
		t.Errorf("two connections: won %q, closed %v; want a kept open and b closed", o.res.target, o.closed)
	}
	// a fails while b, started after fallbackDelay, is pending: c starts
	// then, not a fallbackDelay after b.
	// (a fails 100 ms after b started; c would otherwise start 250 ms
	// after b)
	o = run(map[string]behaviour{"a": {delay: fallbackDelay + 100*ms, err: refused}, "b": {delay: -1}}, "a", "b", "c")
	if o.res.target != "c" || o.started["c"] > fallbackDelay+180*ms {
		t.Errorf("a fails while b is pending: %+v, c started at %v, want about %v", o.res, o.started["c"], fallbackDelay+100*ms)
	}
	o = run(map[string]behaviour{"a": {err: unreach}, "b": {err: refused}, "c": {err: unreach}}, "a", "b", "c")
	if o.res.conn != nil || !errors.Is(o.res.err, syscall.ECONNREFUSED) || len(o.dialed) != 3 {
		t.Errorf("all fail: %+v, dialed %v; want the refusal, after all three", o.res, o.dialed)
	}
}

type closeConn struct {
	net.Conn
	closed func()
}

func (c *closeConn) Close() error {
	c.closed()
	return c.Conn.Close()
}

// TestExitSlowDestination: a pipelining client whose destination does not
// answer has the method choice and auth status soon (answerHold), so its
// timeout is one awaiting the reply: the destination's, not the exit's.
func TestExitSlowDestination(t *testing.T) {
	te := startExit(t, func(c *Config) {
		c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
	})
	c, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	_, err = socks5.ClientHandshake(c, socks5.Addr{Name: "echo.test", Port: 7}, socks5.ClientOptions{Auth: alice, Pipeline: true})
	if !socks5.AwaitingReply(err) {
		t.Errorf("pipelined handshake to a silent destination: %v; want a timeout awaiting the reply", err)
	}
}
