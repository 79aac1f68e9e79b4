package exit

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/socks5"
	"github.com/carrot-project/carrot/internal/testnet"
)

// selfIs is a Policy's Self for a host whose only address is own.
func selfIs(own netip.Addr) func(netip.Addr, uint16) (bool, error) {
	return func(a netip.Addr, _ uint16) (bool, error) { return a == own, nil }
}

func TestPolicy(t *testing.T) {
	p := NewPolicy(
		[]netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("203.0.113.0/24")},
		[]netip.Prefix{netip.MustParsePrefix("10.1.2.0/24"), netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("8.8.4.0/24")},
		selfIs(netip.MustParseAddr("93.184.216.34")),
	)
	for addr, want := range map[string]bool{
		"1.1.1.1":                true,
		"2606:4700::1111":        true,
		"127.0.0.1":              false,
		"127.1.2.3":              false,
		"::1":                    false,
		"::ffff:127.0.0.1":       false,
		"::ffff:1.1.1.1":         true,
		"::127.0.0.1":            false, // IPv4-compatible (deprecated)
		"::ffff:0:7f00:1":        false, // IPv4-translated
		"3fff::1":                false, // documentation
		"5f00::1":                false, // SRv6
		"168.63.129.16":          false, // Azure's platform address
		"10.0.0.1":               false,
		"10.1.0.1":               true,  // allowed more specifically than 10/8
		"10.1.2.3":               false, // denied more specifically than the allow
		"192.0.2.1":              false, // deny beats allow at equal length
		"203.0.113.9":            true,  // an allow beats a built-in deny of equal length
		"8.8.4.4":                false,
		"169.254.169.254":        false,
		"172.16.0.1":             false,
		"192.168.1.1":            false,
		"100.64.0.1":             false,
		"198.18.0.5":             false,
		"224.0.0.1":              false,
		"255.255.255.255":        false,
		"0.0.0.0":                false,
		"fe80::1":                false,
		"fd00::1":                false,
		"ff02::1":                false,
		"::":                     false,
		"64:ff9b::7f00:1":        false, // NAT64 of 127.0.0.1
		"64:ff9b::101:101":       true,  // NAT64 of 1.1.1.1
		"2002:7f00:1::":          false, // 6to4 of 127.0.0.1
		"2002:101:101::":         true,
		"93.184.216.34":          false, // the exit's own address
		"2001:db8::1":            false,
		"2001:0:4136:e378::1":    false, // Teredo
		"fe80::1%eth0":           false,
		"2a00:1450:4001:80b::e":  true,
		"::ffff:169.254.169.254": false,
	} {
		if got, why := p.Allowed(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Allowed(%s) = %v (%s), want %v", addr, got, why, want)
		}
	}
	if ok, _ := p.Allowed(netip.Addr{}); ok {
		t.Error("invalid address allowed")
	}
	own := netip.MustParseAddr("192.0.2.2")
	if ok, _ := NewPolicy([]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, nil, selfIs(own)).Allowed(own); ok {
		t.Error("an --allow of the exit's subnet opened its own address")
	}
	if ok, why := NewPolicy([]netip.Prefix{netip.MustParsePrefix("192.0.2.2/32")}, nil, selfIs(own)).Allowed(own); !ok {
		t.Errorf("an --allow naming the exit's own address exactly did not open it (%s)", why)
	}
	broken := func(netip.Addr, uint16) (bool, error) { return false, errors.New("no netlink") }
	if ok, _ := NewPolicy(nil, nil, broken).Allowed(netip.MustParseAddr("1.1.1.1")); ok {
		t.Error("allowed although the exit could not tell whether it is its own address")
	}
	allowAll := NewPolicy(nil, []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, nil)
	if ok, _ := allowAll.Allowed(netip.MustParseAddr("1.1.1.1")); ok {
		t.Error("deny 0.0.0.0/0 did not deny")
	}
}

func TestParsePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.0/8":    "10.0.0.0/8",
		"10.1.2.3/8":    "10.0.0.0/8",
		"192.0.2.1":     "192.0.2.1/32",
		"2001:db8::/32": "2001:db8::/32",
		"2001:db8::1":   "2001:db8::1/128",
	} {
		got, err := ParsePrefix(in)
		if err != nil || got.String() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "10.0.0.0/33", "host.test", "::ffff:10.0.0.0/104"} {
		if _, err := ParsePrefix(bad); err == nil {
			t.Errorf("ParsePrefix(%q) accepted", bad)
		}
	}
}

func TestParseUsers(t *testing.T) {
	u, err := ParseUsers(strings.NewReader("\ufeff# accounts (a byte-order mark first)\n\nalice:s3cret\nbob:pa:ss:word\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !u.Check("alice", "s3cret") || !u.Check("bob", "pa:ss:word") || u.Check("alice", "s3cre") || u.Check("carol", "") || u.Check("", "") {
		t.Errorf("Check wrong: %v", u)
	}
	for bad, why := range map[string]string{
		"": "no users", "alice\n": "line 1: want", ":pw\n": "line 1: user name", "alice:\n": "line 1: password",
		"a:1\na:2\n": "line 2: user", " alice:pw\n": "line 1: spaces", "alice:pw \n": "line 1: spaces",
		"al\x00ice:pw\n": "line 1: a control", "alice:p\x1bw\n": "line 1: a control",
		"a:1\n" + strings.Repeat("x", 70<<10) + ":pw\n": "line 2: longer than 64 KiB",
	} {
		if _, err := ParseUsers(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseUsers(%.20q): %v, want %q", bad, err, why)
		}
	}
}

// TestPrivateFilesMode: the users file and the TLS key are refused, with
// the same message, when every user can read them; at 0600 (or 0640:
// readable by a group the operator chose) they load.
func TestPrivateFilesMode(t *testing.T) {
	dir := t.TempDir()
	cert := selfSigned(t)
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, usersFile := filepath.Join(dir, "exit.pem"), filepath.Join(dir, "exit.key"), filepath.Join(dir, "users")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o644)
	os.WriteFile(usersFile, []byte("alice:s3cret\n"), 0o644)
	for _, f := range []string{keyFile, usersFile} {
		os.Chmod(f, 0o644) // whatever the umask made of it
	}
	load := map[string]func() error{
		keyFile:   func() error { _, err := LoadKeyPair(certFile, keyFile); return err },
		usersFile: func() error { _, err := LoadUsers(usersFile); return err },
	}
	for f, load := range load {
		want := f + ": readable by every user (mode -rw-r--r--); chmod o-r it"
		if err := load(); err == nil || err.Error() != want {
			t.Errorf("%s at 0644: %v; want %q", filepath.Base(f), err, want)
		}
		for _, mode := range []os.FileMode{0o600, 0o640} {
			os.Chmod(f, mode)
			if err := load(); err != nil {
				t.Errorf("%s at %#o: %v", filepath.Base(f), mode, err)
			}
		}
	}
	os.Chmod(certFile, 0o600)
	if _, err := LoadKeyPair(certFile, certFile); err == nil {
		t.Error("a certificate as its own key accepted")
	}
}

// syncBuf is a log sink safe for concurrent writers.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitLog waits until the log holds a line containing every one of parts.
func (s *syncBuf) waitLog(t *testing.T, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
	lines:
		for _, line := range strings.Split(s.String(), "\n") {
			for _, p := range parts {
				if !strings.Contains(line, p) {
					continue lines
				}
			}
			return line
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no log line with %q in:\n%s", parts, s.String())
	return ""
}

type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

type testExit struct {
	addr  string
	log   *syncBuf
	dials atomic.Int64
	srv   *Server
	stop  func() // stops serving and waits (also done at the end of the test)
}

// startExit runs an exit on loopback whose policy allows 127.0.0.1 (the
// echo servers) but denies the rest of 127/8.
func startExit(t *testing.T, mod func(*Config)) *testExit {
	t.Helper()
	te := &testExit{log: &syncBuf{}}
	cfg := Config{
		Users:  Users{"alice": "s3cret"},
		Policy: NewPolicy([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, nil, nil),
		Resolver: fakeResolver{
			"echo.test":  {netip.MustParseAddr("127.0.0.1")},
			"mixed.test": {netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")},
			"local.test": {netip.MustParseAddr("127.0.0.2")},
		},
		Log: slog.New(slog.NewTextHandler(te.log, nil)),
	}
	d := &net.Dialer{}
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		te.dials.Add(1)
		return d.DialContext(ctx, network, addr)
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	te.srv = srv
	ln, err := Listen(context.Background(), "127.0.0.1:0") // as carrot exit listens
	if err != nil {
		t.Fatal(err)
	}
	te.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ctx, ln)
	}()
	te.stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(te.stop)
	return te
}

func dialVia(t *testing.T, exitAddr string, dest socks5.Addr, auth *socks5.Auth) (net.Conn, error) {
	t.Helper()
	c, err := net.Dial("tcp", exitAddr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := socks5.ClientHandshake(c, dest, socks5.ClientOptions{Auth: auth}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

var alice = &socks5.Auth{User: "alice", Pass: "s3cret"}

func TestExitRelaysAndLogs(t *testing.T) {
	te := startExit(t, nil)
	echo := testnet.Echo(t)
	for _, dest := range []socks5.Addr{
		socks5.AddrFromAddrPort(echo),
		{Name: "echo.test", Port: echo.Port()},
		{Name: "127.0.0.1", Port: echo.Port()}, // an IP literal sent as a name
	} {
		c, err := dialVia(t, te.addr, dest, alice)
		if err != nil {
			t.Fatalf("%v: %v", dest, err)
		}
		c.Write([]byte("hello exit"))
		c.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || string(got) != "hello exit" {
			t.Fatalf("%v: echo %q, %v", dest, got, err)
		}
		te.log.waitLog(t, "user=alice", "dest="+dest.String(), "addr="+echo.String(), "up=10", "down=10", "result=ok")
	}
}

func TestExitRefuses(t *testing.T) {
	te := startExit(t, nil)
	echo := testnet.Echo(t)
	closedPort := func() uint16 {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		return netip.MustParseAddrPort(ln.Addr().String()).Port()
	}()

	// no credentials offered: method negotiation fails, nothing dialed
	if _, err := dialVia(t, te.addr, socks5.AddrFromAddrPort(echo), nil); !errors.Is(err, socks5.ErrAuthFailed) {
		t.Errorf("unauthenticated: %v", err)
	}
	te.log.waitLog(t, "result=no-auth")
	if _, err := dialVia(t, te.addr, socks5.AddrFromAddrPort(echo), &socks5.Auth{User: "alice", Pass: "guess"}); !errors.Is(err, socks5.ErrAuthFailed) {
		t.Errorf("wrong password: %v", err)
	}
	te.log.waitLog(t, "user=alice", "result=auth-failed")

	for _, tc := range []struct {
		dest   socks5.Addr
		errno  syscall.Errno
		result string
	}{
		{socks5.Addr{IP: netip.MustParseAddr("127.0.0.2"), Port: echo.Port()}, syscall.EPERM, "denied"},
		{socks5.Addr{Name: "local.test", Port: echo.Port()}, syscall.EPERM, "denied"},
		{socks5.Addr{Name: "127.0.0.2", Port: echo.Port()}, syscall.EPERM, "denied"},
		{socks5.Addr{IP: netip.MustParseAddr("::1"), Port: echo.Port()}, syscall.EPERM, "denied"},
		{socks5.Addr{Name: "nowhere.test", Port: 80}, syscall.EHOSTUNREACH, "resolve-failed"},
		{socks5.Addr{IP: netip.MustParseAddr("127.0.0.1"), Port: closedPort}, syscall.ECONNREFUSED, "refused"},
	} {
		before := te.dials.Load()
		_, err := dialVia(t, te.addr, tc.dest, alice)
		var errno syscall.Errno
		if !errors.As(err, &errno) || errno != tc.errno {
			t.Errorf("%v: err %v, want errno %v", tc.dest, err, tc.errno)
		}
		te.log.waitLog(t, "dest="+tc.dest.String(), "result="+tc.result)
		if tc.result == "denied" && te.dials.Load() != before {
			t.Errorf("%v: denied destination was dialed", tc.dest)
		}
	}

	// A name with a denied and an allowed address reaches the allowed one,
	// and only that one is dialed.
	before := te.dials.Load()
	mixed := socks5.Addr{Name: "mixed.test", Port: echo.Port()}
	c, err := dialVia(t, te.addr, mixed, alice)
	if err != nil {
		t.Fatalf("%v: %v", mixed, err)
	}
	c.Close()
	te.log.waitLog(t, "dest="+mixed.String(), "addr="+echo.String(), "result=ok")
	if n := te.dials.Load() - before; n != 1 {
		t.Errorf("%v: %d dials, want 1 (the allowed address)", mixed, n)
	}
}

func TestExitNoAuth(t *testing.T) {
	te := startExit(t, func(c *Config) { c.Users = nil })
	echo := testnet.Echo(t)
	c, err := dialVia(t, te.addr, socks5.AddrFromAddrPort(echo), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	te.log.waitLog(t, "user=-", "result=ok")
}

func TestExitMaxConnsAndIdle(t *testing.T) {
	te := startExit(t, func(c *Config) {
		c.MaxConns = 1
		c.IdleTimeout = 300 * time.Millisecond
	})
	echo := testnet.Echo(t)
	first, err := dialVia(t, te.addr, socks5.AddrFromAddrPort(echo), alice)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	// past the limit, a client is answered, not cut off at its greeting:
	// its request gets a general failure, and nothing is dialed
	dials := te.dials.Load()
	for _, pipeline := range []bool{false, true} {
		c, err := net.Dial("tcp", te.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = socks5.ClientHandshake(c, socks5.AddrFromAddrPort(echo), socks5.ClientOptions{Auth: alice, Pipeline: pipeline})
		c.Close()
		var re *socks5.ReplyError
		if !errors.As(err, &re) || re.Reply != socks5.ReplyGeneralFailure {
			t.Errorf("pipeline=%v: connection past MaxConns=1: %v; want a general failure reply", pipeline, err)
		}
	}
	te.log.waitLog(t, "user=alice", "dest="+echo.String(), "result=limit", "answered general SOCKS server failure")
	if te.dials.Load() != dials {
		t.Error("a request past MaxConns was dialed")
	}
	// one without credentials is told so, as below the limit (MaxConns
	// counts requests served, not handshakes)
	if _, err := dialVia(t, te.addr, socks5.AddrFromAddrPort(echo), nil); !errors.Is(err, socks5.ErrAuthRequired) {
		t.Errorf("unauthenticated, past MaxConns: %v", err)
	}
	te.log.waitLog(t, "result=no-auth")
	// the first one, left idle, is closed by the exit
	first.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := first.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection: read %v, want EOF", err)
	}
	te.log.waitLog(t, "result=idle")
}

// TestExitHandshakeBudget: clients that connect and never authenticate
// hold handshakes, not MaxConns: they cannot lock out one that
// authenticates, and one source cannot hold more than maxHandshakesFrom.
func TestExitHandshakeBudget(t *testing.T) {
	te := startExit(t, func(c *Config) { c.MaxConns = 5 })
	echo := testnet.Echo(t)
	holdHandshakes(t, te, maxHandshakesFrom)
	// One more from the same source is closed at once.
	if n := refusedHandshake(t, te); n > 0 {
		t.Errorf("a handshake past the source's budget was answered (%d bytes)", n)
	}
	te.log.waitLog(t, "result=limit", fmt.Sprintf("%d handshakes in progress from 127.0.0.1", maxHandshakesFrom))
	// An authenticated client from another source is served, past the
	// idle ones' number.
	raw, err := connectFrom(t, te, 2, echo)
	if err != nil {
		t.Fatalf("an authenticated client behind %d idle handshakes (MaxConns 5): %v", maxHandshakesFrom, err)
	}
	raw.Write([]byte("ping"))
	b := make([]byte, 4)
	if _, err := io.ReadFull(raw, b); err != nil || string(b) != "ping" {
		t.Errorf("echo through the exit: %q %v", b, err)
	}
}

// held is a connection from 127.0.0.1 to te, closed when the test ends.
func held(t *testing.T, te *testExit) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// holdHandshakes opens n connections from 127.0.0.1 that begin a greeting
// and never finish it, closed when the test ends, and waits until the
// exit has them all in their handshake.
func holdHandshakes(t *testing.T, te *testExit, n int) {
	t.Helper()
	for range n {
		held(t, te).Write([]byte{socks5.Version})
	}
	for deadline := time.Now().Add(5 * time.Second); te.srv.Handshakes() < n && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // the exit accepts them in its own time
	}
}

// refusedHandshake opens one more connection from 127.0.0.1 and returns
// how many bytes the exit answered its greeting with (0: it was closed).
func refusedHandshake(t *testing.T, te *testExit) int {
	t.Helper()
	c, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{socks5.Version, 1, 2})
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _ := c.Read(make([]byte, 2))
	return n
}

// connectFrom connects through te as alice from 127.0.0.host to echo; the
// stream closes when the test ends.
func connectFrom(t *testing.T, te *testExit, host byte, echo netip.AddrPort) (net.Conn, error) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, host)}}
	c, err := d.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = socks5.ClientHandshake(c, socks5.AddrFromAddrPort(echo), socks5.ClientOptions{Auth: alice})
	return c, err
}

// authenticated opens n connections as alice, closed when the test ends,
// that wait for their request (a carrot run's spares), and returns how
// many the exit closed instead.
func authenticated(t *testing.T, te *testExit, n int) (closed int) {
	t.Helper()
	for range n {
		c := held(t, te)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if socks5.ClientAuth(c, alice) != nil {
			closed++
		}
	}
	return closed
}

// TestExitSparesCountInMaxConns: an authenticated connection waiting for
// its request (a carrot run's spare) leaves the budget of clients not yet
// authenticated: one address may hold more of them than that budget's
// per-source share, up to MaxConns, past which the request is answered
// with a general failure.
func TestExitSparesCountInMaxConns(t *testing.T) {
	const spares = maxHandshakesFrom + 6
	te := startExit(t, func(c *Config) { c.MaxConns = spares + 1 })
	echo := testnet.Echo(t)
	if closed := authenticated(t, te, spares); closed > 0 {
		t.Fatalf("%d of %d spares closed", closed, spares)
	}
	if h, a := te.srv.Handshakes(), te.srv.Active(); h != 0 || a != spares {
		t.Errorf("%d handshakes and %d authenticated, want 0 and %d", h, a, spares)
	}
	// One more request is served (MaxConns is spares+1), the next refused.
	c, err := dialVia(t, te.addr, socks5.AddrFromAddrPort(echo), alice)
	if err != nil {
		t.Fatalf("a request within MaxConns: %v", err)
	}
	defer c.Close()
	var re *socks5.ReplyError
	if _, err := dialVia(t, te.addr, socks5.AddrFromAddrPort(echo), alice); !errors.As(err, &re) || re.Reply != socks5.ReplyGeneralFailure {
		t.Errorf("a request past MaxConns: %v, want a general failure", err)
	}
}

// TestExitDialTimeoutReplies: a destination that never answers is
// reported to the client as TTL expired when DialTimeout runs out, even
// when the handshake timeout is no longer: the handshake's deadline is
// not the reply's. (With it, the client got the connection closed with
// no reply, and carrot's client blamed the exit and asked it again.)
func TestExitDialTimeoutReplies(t *testing.T) {
	const timeout = 300 * time.Millisecond
	te := startExit(t, func(c *Config) {
		c.DialTimeout, c.HandshakeTimeout = timeout, timeout
		c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			<-ctx.Done() // a blackhole: no answer before the timeout
			return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
		}
	})
	for _, pipeline := range []bool{false, true} {
		c, err := net.Dial("tcp", te.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err = socks5.ClientHandshake(c, socks5.Addr{Name: "echo.test", Port: 7}, socks5.ClientOptions{Auth: alice, Pipeline: pipeline})
		c.Close()
		var re *socks5.ReplyError
		if !errors.As(err, &re) || re.Reply != socks5.ReplyTTLExpired || !errors.Is(err, syscall.ETIMEDOUT) {
			t.Errorf("pipeline=%v: %v after %v; want the reply TTL expired after about %v", pipeline, err, time.Since(start), timeout)
		}
	}
	line := te.log.waitLog(t, "dest=echo.test:7", "result=timeout")
	if strings.Contains(line, "not sent") {
		t.Errorf("log: %s", line)
	}
}

// TestExitMalformedRequest: a request that arrives whole but makes no
// sense (an empty domain name, one with a NUL) is answered with a general
// failure before the exit closes, and logged as bad-request.
func TestExitMalformedRequest(t *testing.T) {
	te := startExit(t, nil)
	for _, name := range []string{"", "a\x00b"} {
		c, err := net.Dial("tcp", te.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := socks5.ClientAuth(c, alice); err != nil {
			t.Fatal(err)
		}
		c.Write(append([]byte{socks5.Version, socks5.CmdConnect, 0, socks5.AtypDomain, byte(len(name))}, name+"\x00\x50"...))
		rep, _, err := socks5.ReadReply(c)
		c.Close()
		if err != nil || rep != socks5.ReplyGeneralFailure {
			t.Errorf("name %q: reply %v, %v; want %v", name, rep, err, socks5.ReplyGeneralFailure)
		}
	}
	te.log.waitLog(t, "result=bad-request", "1 to 255 bytes")
	te.log.waitLog(t, "result=bad-request", "NUL")
	// BIND is refused as not supported, and the log names what it asked.
	c, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := socks5.ClientAuth(c, alice); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{socks5.Version, 2 /* BIND */, 0, socks5.AtypIPv4, 192, 0, 2, 7, 0, 21})
	if rep, _, err := socks5.ReadReply(c); rep != socks5.ReplyCmdNotSupported {
		t.Errorf("BIND: reply %v, %v; want %v", rep, err, socks5.ReplyCmdNotSupported)
	}
	te.log.waitLog(t, "result=bad-request", "dest=192.0.2.7:21")
}

func TestExitTLS(t *testing.T) {
	cert := selfSigned(t)
	te := startExit(t, func(c *Config) {
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		c.HandshakeTimeout = 500 * time.Millisecond
	})
	echo := testnet.Echo(t)
	raw, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	c := tls.Client(raw, &tls.Config{ServerName: "exit.test", RootCAs: pool})
	if _, err := socks5.ClientHandshake(c, socks5.AddrFromAddrPort(echo), socks5.ClientOptions{Auth: alice}); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("over tls"))
	c.CloseWrite()
	got, _ := io.ReadAll(c)
	if string(got) != "over tls" {
		t.Fatalf("echo %q", got)
	}
	// plain SOCKS5 at a TLS exit fails at once (not at the handshake
	// timeout), and is logged as such
	start := time.Now()
	if _, err := dialVia(t, te.addr, socks5.AddrFromAddrPort(echo), alice); err == nil {
		t.Error("plain SOCKS5 accepted by a TLS exit")
	}
	if el := time.Since(start); el > 250*time.Millisecond {
		t.Errorf("plain SOCKS5 turned away after %v; the handshake timeout is 500ms", el)
	}
	te.log.waitLog(t, "result=not-tls")
	// anything else that is not TLS fails the TLS handshake
	other, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	io.WriteString(other, "GET / HTTP/1.0\r\n\r\n")
	io.ReadAll(other)
	te.log.waitLog(t, "result=tls-failed")
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "exit.test"},
		DNSNames:              []string{"exit.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// countingResolver counts lookups per name; its answers can be changed.
type countingResolver struct {
	mu      sync.Mutex
	answers map[string][]netip.Addr
	lookups map[string]int
}

func (c *countingResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lookups[host]++
	if a, ok := c.answers[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (c *countingResolver) count(host string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lookups[host]
}

// TestExitNameCache checks that a name is resolved once for several
// requests within NameTTL, again after it, again after its addresses all
// failed, and at every request with the cache off; failures are not kept.
func TestExitNameCache(t *testing.T) {
	echo := testnet.Echo(t)
	closed := func() uint16 {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		return netip.MustParseAddrPort(ln.Addr().String()).Port()
	}()
	lo := []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	request := func(te *testExit, name string, port uint16) error {
		c, err := dialVia(t, te.addr, socks5.Addr{Name: name, Port: port}, alice)
		if err == nil {
			c.Close()
		}
		return err
	}
	for _, tc := range []struct {
		ttl  time.Duration
		want int // lookups of echo.test for three requests in a row
	}{{0, 1}, {-1, 3}} {
		r := &countingResolver{answers: map[string][]netip.Addr{"echo.test": lo}, lookups: map[string]int{}}
		te := startExit(t, func(c *Config) { c.Resolver, c.NameTTL = r, tc.ttl })
		for range 3 {
			if err := request(te, "echo.test", echo.Port()); err != nil {
				t.Fatalf("ttl %v: %v", tc.ttl, err)
			}
		}
		if got := r.count("echo.test"); got != tc.want {
			t.Errorf("ttl %v: %d lookups for 3 requests, want %d", tc.ttl, got, tc.want)
		}
	}

	r := &countingResolver{answers: map[string][]netip.Addr{"echo.test": lo, "gone.test": lo}, lookups: map[string]int{}}
	te := startExit(t, func(c *Config) { c.Resolver, c.NameTTL = r, 200*time.Millisecond })
	// not found: not kept
	for range 2 {
		if err := request(te, "nowhere.test", 80); err == nil {
			t.Fatal("nowhere.test: connected")
		}
	}
	if got := r.count("nowhere.test"); got != 2 {
		t.Errorf("a failed lookup was kept: %d lookups for 2 requests", got)
	}
	// every address refused: the answer is dropped
	for range 2 {
		if err := request(te, "gone.test", closed); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("gone.test: %v, want ECONNREFUSED", err)
		}
	}
	if got := r.count("gone.test"); got != 2 {
		t.Errorf("an answer that failed was kept: %d lookups for 2 requests", got)
	}
	// expiry
	request(te, "echo.test", echo.Port())
	time.Sleep(300 * time.Millisecond)
	request(te, "echo.test", echo.Port())
	if got := r.count("echo.test"); got != 2 {
		t.Errorf("after NameTTL: %d lookups, want 2", got)
	}
	// a new answer meets the policy like the first: the name now points
	// at a denied address
	r.mu.Lock()
	r.answers["echo.test"] = []netip.Addr{netip.MustParseAddr("127.0.0.2")}
	r.mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	if err := request(te, "echo.test", echo.Port()); !errors.Is(err, syscall.EPERM) {
		t.Errorf("echo.test now 127.0.0.2: %v, want EPERM", err)
	}
}

// TestExitClientResetCancelsDial: a client that resets its connection while
// the exit is connecting for it (carrot run abandoning a request it takes
// another way) has the dial cancelled, not finished for nobody, and the
// name's answer is kept (the cancel was no failure of it); a client
// that only half-closes during the dial, after its request and early
// bytes, still gets its stream.
func TestExitClientResetCancelsDial(t *testing.T) {
	dialing, cancelled := make(chan struct{}, 1), make(chan struct{}, 1)
	r := &countingResolver{answers: map[string][]netip.Addr{"echo.test": {netip.MustParseAddr("127.0.0.1")}}, lookups: map[string]int{}}
	te := startExit(t, func(c *Config) {
		c.DialTimeout = time.Minute
		c.Resolver = r
		c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialing <- struct{}{}
			<-ctx.Done() // a destination that does not answer
			cancelled <- struct{}{}
			return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
		}
	})
	// Reset at once (before the exit watches), and once it watches.
	for _, after := range []time.Duration{0, 100 * time.Millisecond} {
		c := requestDialing(t, te, dialing)
		time.Sleep(after)
		c.(*net.TCPConn).SetLinger(0)
		c.Close() // a reset
		select {
		case <-cancelled:
		case <-time.After(10 * time.Second):
			t.Fatalf("reset after %v: the dial went on (a minute) for a client that reset", after)
		}
	}
	te.log.waitLog(t, "dest=echo.test:7", "result=client-gone")
	// A cancelled dial says nothing against the name's answer: kept.
	if got := r.count("echo.test"); got != 1 {
		t.Errorf("echo.test looked up %d times for two cancelled dials, want 1", got)
	}

	// A FIN is not a reset.
	echo := testnet.Echo(t)
	slow := startExit(t, func(c *Config) {
		d := &net.Dialer{}
		c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			time.Sleep(300 * time.Millisecond) // the client's FIN comes first
			return d.DialContext(ctx, network, addr)
		}
	})
	if got := echoEarly(t, slow.addr, echo, "early", true); got != "early" {
		t.Fatalf("echo after a half-close: %q", got)
	}
}

// TestExitShutdownLogsSpares: a connection that finished its handshake
// and waits for its request (a client's spare) when the exit stops is
// logged result=shutdown, not as a bad request.
func TestExitShutdownLogsSpares(t *testing.T) {
	te := startExit(t, nil)
	c, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := socks5.ClientAuth(c, &socks5.Auth{User: "alice", Pass: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	te.stop()
	te.log.waitLog(t, "result=shutdown")
	if l := te.log.String(); strings.Contains(l, "bad-request") {
		t.Errorf("log: %s", l)
	}
}

// requestDialing sends te a pipelined request for echo.test:7 and waits
// until te's Dial says (on dialing) that it has started.
func requestDialing(t *testing.T, te *testExit, dialing <-chan struct{}) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	hello, err := socks5.AppendPipelined(nil, socks5.Addr{Name: "echo.test", Port: 7}, alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dialing:
	case <-time.After(10 * time.Second):
		t.Fatal("the exit did not dial")
	}
	return c
}

// TestExitShutdownDuringDial: a request whose dial the exit's stop cuts
// short is logged result=shutdown, not as a failed dial.
func TestExitShutdownDuringDial(t *testing.T) {
	dialing := make(chan struct{}, 1)
	te := startExit(t, func(c *Config) {
		c.DialTimeout = time.Minute
		c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialing <- struct{}{}
			<-ctx.Done() // a destination that does not answer
			return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
		}
	})
	c := requestDialing(t, te, dialing)
	defer c.Close()
	te.stop()
	line := te.log.waitLog(t, "dest=echo.test:7")
	if !strings.Contains(line, "result=shutdown") {
		t.Errorf("a dial cut short by the exit's stop logged: %s", line)
	}
}

// TestExitAuthenticatedPastMaxConns: connections that authenticate when
// MaxConns is full stay in the budget of clients not yet served (bounded
// per source), so that one account cannot hold connections without end.
func TestExitAuthenticatedPastMaxConns(t *testing.T) {
	te := startExit(t, func(c *Config) { c.MaxConns = 2 })
	closed := authenticated(t, te, 2+maxHandshakesFrom+5)
	if a, h := te.srv.Active(), te.srv.Handshakes(); a != 2 || h != maxHandshakesFrom || closed != 5 {
		t.Errorf("%d counted in MaxConns, %d in the handshake budget, %d closed; want 2, %d, 5", a, h, closed, maxHandshakesFrom)
	}
}

// TestExitHandshakeEviction: when clients that never authenticate fill the
// whole budget, a newcomer from another network is admitted and the
// oldest handshake of the network holding the most is closed; one more
// from that network itself is refused.
func TestExitHandshakeEviction(t *testing.T) {
	te := startExit(t, nil)
	te.srv.hsMu.Lock()
	te.srv.hsLimit = 8 // (the server is running)
	te.srv.hsMu.Unlock()
	echo := testnet.Echo(t)
	holdHandshakes(t, te, 8)
	// Another from the same network: refused.
	if n := refusedHandshake(t, te); n > 0 {
		t.Error("a 9th handshake from the network holding all 8 was admitted")
	}
	te.log.waitLog(t, "result=limit", "8 handshakes in progress: closed")
	// From another network: admitted, and served.
	if _, err := connectFrom(t, te, 3, echo); err != nil {
		t.Fatalf("a client from another network, with the budget full: %v", err)
	}
	te.log.waitLog(t, "result=limit", "closed in its handshake to admit another")
}

// halfClosedRelay opens a relay through te to dest whose client sent
// "hello" and half-closed; it returns the client's connection and the
// destination's, which has read the hello.
func halfClosedRelay(t *testing.T, te *testExit, dest netip.AddrPort, conns <-chan net.Conn) (net.Conn, net.Conn) {
	t.Helper()
	c, err := dialVia(t, te.addr, socks5.AddrFromAddrPort(dest), alice)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.Write([]byte("hello"))
	c.(*net.TCPConn).CloseWrite()
	var d net.Conn
	select {
	case d = <-conns:
	case <-time.After(5 * time.Second):
		t.Fatal("the destination was not reached")
	}
	d.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(d, make([]byte, 5)); err != nil {
		t.Fatal(err)
	}
	return c, d
}

// TestExitShutdownEndsRelays: stopping the exit ends a relay whose client
// half-closed and whose destination never answers: both connections are
// closed, it is logged once (result=shutdown, with its bytes), and Serve
// returns.
func TestExitShutdownEndsRelays(t *testing.T) {
	te := startExit(t, nil)
	dest, conns := testnet.Silent(t)
	c, d := halfClosedRelay(t, te, dest, conns)
	stopped := make(chan struct{})
	go func() {
		te.stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the exit did not stop: a relay still runs")
	}
	te.log.waitLog(t, "dest="+dest.String(), "up=5", "down=0", "result=shutdown")
	if n := strings.Count(te.log.String(), "dest="+dest.String()); n != 1 {
		t.Errorf("%d log lines for the relay, want 1:\n%s", n, te.log.String())
	}
	buf := make([]byte, 1)
	if _, err := d.Read(buf); err != io.EOF {
		t.Errorf("destination read %v, want EOF", err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(buf); err != io.EOF {
		t.Errorf("client read %v, want EOF", err)
	}
}

// TestExitClientGoneFreesRelay: a client that half-closed and then reset
// its connection frees its place in MaxConns, although the destination
// never answers; one that only half-closed keeps it.
func TestExitClientGoneFreesRelay(t *testing.T) {
	te := startExit(t, func(c *Config) { c.MaxConns = 1 })
	dest, conns := testnet.Silent(t)
	c, _ := halfClosedRelay(t, te, dest, conns)
	time.Sleep(200 * time.Millisecond)
	if n := te.srv.Active(); n != 1 {
		t.Fatalf("%d active after a half-close, want 1", n)
	}
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	te.log.waitLog(t, "dest="+dest.String(), "up=5", "result=ok", "gone")
	if n := te.srv.Active(); n != 0 {
		t.Errorf("%d active after the client went away, want 0", n)
	}
	halfClosedRelay(t, te, dest, conns) // the place is free
}

// TestExitOwnFailureIsNotDenied: when the exit cannot tell whether an
// address is its own (the lookup failed: no file descriptor left), the
// request is answered with a general failure and logged result=failed,
// not refused as "not allowed by ruleset".
func TestExitOwnFailureIsNotDenied(t *testing.T) {
	emfile := func(netip.Addr, uint16) (bool, error) {
		return false, fmt.Errorf("route lookup: %w", syscall.EMFILE)
	}
	te := startExit(t, func(c *Config) {
		c.Policy = NewPolicy([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, nil, emfile)
	})
	echo := testnet.Echo(t)
	dials := te.dials.Load()
	_, err := dialVia(t, te.addr, socks5.AddrFromAddrPort(echo), alice)
	var re *socks5.ReplyError
	if !errors.As(err, &re) || re.Reply != socks5.ReplyGeneralFailure {
		t.Errorf("err %v, want a general failure reply", err)
	}
	te.log.waitLog(t, "dest="+echo.String(), "result=failed", "too many open files")
	if te.dials.Load() != dials {
		t.Error("dialed although the policy could not be applied")
	}
}

// TestAcceptFailuresLog: an accept loop failing every 100ms logs its first
// failure, then one line a minute with the count since the line before.
func TestAcceptFailuresLog(t *testing.T) {
	var buf syncBuf
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var a acceptFailures
	t0 := time.Now()
	err := fmt.Errorf("accept4: %w", syscall.EMFILE)
	for i := range 1201 { // 0 to 120s
		a.failed(log, err, t0.Add(time.Duration(i)*100*time.Millisecond))
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || strings.Contains(lines[0], "failures=") ||
		!strings.Contains(lines[1], "failures=600 ") || !strings.Contains(lines[2], "failures=600 ") {
		t.Errorf("log:\n%s\nwant 3 lines: the first failure, then failures=600 twice", buf.String())
	}
}

// TestExitSetUsers: new accounts apply to the handshakes that follow,
// while handshakes run (go test -race); a server without authentication
// cannot be given accounts, nor one with them be left without.
func TestExitSetUsers(t *testing.T) {
	te := startExit(t, nil)
	echo := testnet.Echo(t)
	bob := &socks5.Auth{User: "bob", Pass: "hunter2"}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if c, err := dialVia(t, te.addr, socks5.AddrFromAddrPort(echo), alice); err == nil {
					c.Close()
				}
			}
		}()
	}
	for range 10 {
		te.srv.SetUsers(Users{"alice": "s3cret", "bob": "hunter2"})
	}
	wg.Wait()
	if err := te.srv.SetUsers(Users{"bob": "hunter2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := dialVia(t, te.addr, socks5.AddrFromAddrPort(echo), alice); !errors.Is(err, socks5.ErrAuthFailed) {
		t.Errorf("alice, removed: %v", err)
	}
	if c, err := dialVia(t, te.addr, socks5.AddrFromAddrPort(echo), bob); err != nil {
		t.Errorf("bob, added: %v", err)
	} else {
		c.Close()
	}
	if err := te.srv.SetUsers(nil); err == nil {
		t.Error("SetUsers(nil) accepted: the server would be left without accounts")
	}
	na := startExit(t, func(c *Config) { c.Users = nil })
	if err := na.srv.SetUsers(Users{"bob": "hunter2"}); err == nil {
		t.Error("SetUsers accepted by a server without authentication")
	}
}
