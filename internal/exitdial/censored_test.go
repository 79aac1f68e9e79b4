package exitdial_test

// End-to-end tests in issue 4's censored network (internal/netns): real
// namespaces and nftables, real `carrot exit` processes built from this
// tree, curl, microsocks and Dante as peers. They need root; CI runs them.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/exitdial"
	"github.com/carrot-project/carrot/internal/fakedns"
	"github.com/carrot-project/carrot/internal/netns"
	"github.com/carrot-project/carrot/internal/socks5"
)

var carrotBin string

func TestMain(m *testing.M) {
	var dir string
	if os.Geteuid() == 0 {
		var err error
		if dir, err = os.MkdirTemp("", "carrot-bin-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if carrotBin, err = netns.BuildCarrot(dir); err != nil {
			fmt.Fprintf(os.Stderr, "building carrot for the namespace tests: %v\n", err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

const (
	user, pass = "alice", "s3cret"
	testLAN4   = "203.0.113.0/24"
	testLAN6   = "2001:db8:c::/64"
)

func usersFile(t testing.TB) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(f, []byte("# test accounts\n"+user+":"+pass+"\nbob:other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// startCarrotExit runs `carrot exit` in h, allowing the test LAN (which the
// default policy denies: it is a documentation range), and waits until it
// listens.
func startCarrotExit(t testing.TB, h *netns.Host, listen string, extra ...string) *netns.Proc {
	t.Helper()
	args := append([]string{"exit", "--listen", listen, "--users", usersFile(t),
		"--allow", testLAN4, "--allow", testLAN6}, extra...)
	p := h.Start(carrotBin, args...)
	if !p.WaitOutput("listening on", 10*time.Second) {
		t.Fatalf("carrot exit in %s did not start:\n%s", h.Role, p.Output())
	}
	return p
}

// waitLog waits for a log line of p containing every part.
func waitLog(t testing.TB, p *netns.Proc, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, line := range strings.Split(p.Output(), "\n") {
			ok := true
			for _, part := range parts {
				ok = ok && strings.Contains(line, part)
			}
			if ok {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in:\n%s", parts, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func curl(ctx context.Context, h *netns.Host, args ...string) (string, error) {
	return h.Run(ctx, "curl", append([]string{"-sS", "--max-time", "10"}, args...)...)
}

func exitURL(c *netns.Censored, i int, port int) string {
	return fmt.Sprintf("socks5://%s:%s@%s:%d", user, pass, c.ExitV4[i], port)
}

// newDialer makes a dialer whose first hop is dialed from the client host.
func newDialer(t testing.TB, c *netns.Censored, mode exitdial.Mode, timeout time.Duration, urls ...string) *exitdial.Dialer {
	t.Helper()
	var exits []*exitdial.Exit
	for _, u := range urls {
		e, err := exitdial.ParseExit(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		exits = append(exits, e)
	}
	d, err := exitdial.New(exitdial.Config{Exits: exits, Mode: mode, ConnectTimeout: timeout, Dial: c.Client.DialContext})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// get fetches url with dial as the only way out; names are never resolved
// locally (http.Transport hands "origin.test:443" to dial as it is).
func get(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), ca *x509.CertPool, url string) (string, error) {
	tr := &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: ca}, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func wantErrno(t *testing.T, err error, want syscall.Errno) {
	t.Helper()
	var errno syscall.Errno
	if !errors.As(err, &errno) || errno != want {
		t.Fatalf("err = %v; want errno %v", err, want)
	}
}

// TestCurlThroughCarrotExit: interop, curl's SOCKS5 client through carrot
// exit, by name, HTTP and HTTPS, from the censored client; the exit logs
// one line per connection. Without the exit curl cannot get there.
func TestCurlThroughCarrotExit(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 2})
	ex := startCarrotExit(t, c.Exits[1], ":1080")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	if out, err := curl(ctx, c.Client, "--connect-timeout", "1", "--cacert", c.CAFile, c.HTTPSURL); err == nil {
		t.Fatalf("censored client reached the origin without an exit: %q", out)
	}
	proxy := fmt.Sprintf("socks5h://%s:%s@%s:1080", user, pass, c.ExitV4[1])
	for _, u := range []string{c.HTTPURL, c.HTTPSURL} {
		out, err := curl(ctx, c.Client, "--proxy", proxy, "--cacert", c.CAFile, u)
		if err != nil || out != netns.OriginBody {
			t.Fatalf("curl %s through carrot exit: %q, %v\nexit log:\n%s", u, out, err, ex.Output())
		}
	}
	waitLog(t, ex, "user=alice", "dest=origin.test:443", "result=ok", "client=203.0.113.10:")
	// the GET went up and the page came down: both counts are bytes
	line := waitLog(t, ex, "dest=origin.test:80", "result=ok")
	m := regexp.MustCompile(` up=(\d+) down=(\d+) `).FindStringSubmatch(line)
	if m == nil || m[1] == "0" || m[2] == "0" {
		t.Fatalf("log line without the bytes each way: %s", line)
	}
	if n, _ := strconv.Atoi(m[2]); n < len(netns.OriginBody) {
		t.Errorf("log line counts %d bytes down, less than the page's %d: %s", n, len(netns.OriginBody), line)
	}
	// curl's other spelling, and an IPv6 destination sent as an address
	out, err := curl(ctx, c.Client, "--socks5-hostname", fmt.Sprintf("%s:1080", c.ExitV4[1]), "--proxy-user", user+":"+pass,
		"-g", "http://["+c.OriginV6.String()+"]/")
	if err != nil || out != netns.OriginBody {
		t.Fatalf("curl to IPv6 origin through carrot exit: %q, %v", out, err)
	}
	waitLog(t, ex, "dest=[2001:db8:c::20]:80", "result=ok")
}

// TestCarrotExitRefuses: no credentials, a wrong password, and destinations
// the policy denies — the exit's loopback, its own address, a name that
// resolves to loopback at the exit — are all refused, and nothing denied is
// ever connected to.
func TestCarrotExitRefuses(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 2})
	c.Exits[1].SetHosts(map[string][]string{
		c.OriginV4.String(): {c.OriginName},
		"127.0.0.1":         {"rebind.test"},
		"10.1.2.3":          {"private.test"},
	})
	ex := startCarrotExit(t, c.Exits[1], ":1080")
	// a service on the exit's own loopback and address, which must stay out of reach
	accepted := make(chan struct{}, 10)
	for _, addr := range []string{"127.0.0.1:8080", c.ExitV4[1].String() + ":8080"} {
		ln, err := c.Exits[1].Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- struct{}{}
				conn.Close()
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hostport := c.ExitV4[1].String() + ":1080"

	if out, err := curl(ctx, c.Client, "--socks5-hostname", hostport, c.HTTPURL); err == nil {
		t.Fatalf("unauthenticated client served: %q", out)
	}
	waitLog(t, ex, "result=no-auth", "client=203.0.113.10:")
	if out, err := curl(ctx, c.Client, "--socks5-hostname", hostport, "--proxy-user", user+":wrong", c.HTTPURL); err == nil {
		t.Fatalf("wrong password served: %q", out)
	}
	waitLog(t, ex, "user=alice", "result=auth-failed")

	for _, u := range []string{
		"http://127.0.0.1:8080/",
		"http://localhost:8080/",
		"http://rebind.test:8080/",
		"http://private.test:8080/",
		"http://" + c.ExitV4[1].String() + ":8080/",
		"http://[::1]:8080/",
	} {
		out, err := curl(ctx, c.Client, "--socks5-hostname", hostport, "--proxy-user", user+":"+pass, "-g", u)
		// curl prints the SOCKS5 reply code: 2, not allowed by ruleset
		if err == nil || !strings.Contains(out, "(2)") {
			t.Errorf("%s: curl said %q, %v; want reply 2 (not allowed by ruleset)", u, out, err)
		}
	}
	waitLog(t, ex, "dest=rebind.test:8080", "addr=127.0.0.1:8080", "result=denied")
	waitLog(t, ex, "dest=private.test:8080", "result=denied")
	select {
	case <-accepted:
		t.Fatal("a denied destination was connected to")
	default:
	}
	// the carrot dialer sees the refusal as EPERM
	d := newDialer(t, c, exitdial.Race, 5*time.Second, exitURL(c, 1, 1080))
	_, err := d.DialContext(ctx, "tcp", "rebind.test:8080")
	wantErrno(t, err, syscall.EPERM)
}

// TestDialerThroughPeers: carrot's client through other SOCKS5 servers:
// microsocks (with username/password) and Dante (no authentication),
// by name, HTTPS end to end.
func TestDialerThroughPeers(t *testing.T) {
	netns.RequireBinaries(t, "microsocks", "danted")
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 3})
	micro := c.StartMicrosocks(t, 1, 1081)
	dante := c.StartDante(t, 2, 1082)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name string
		url  string
		proc *netns.Proc
	}{
		{"microsocks", exitURL(c, 1, 1081), micro},
		{"dante", fmt.Sprintf("socks5://%s:1082", c.ExitV4[2]), dante},
	} {
		var out string
		var err error
		// the peer may still be starting
		for range 50 {
			d := newDialer(t, c, exitdial.Race, 5*time.Second, tc.url)
			if out, err = get(ctx, d.DialContext, c.CA, c.HTTPSURL); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil || out != netns.OriginBody {
			t.Fatalf("through %s: %q, %v\n%s", tc.name, out, err, tc.proc.Output())
		}
	}
}

// TestModesWithBlockedExit: race and failover with the blocked exit listed
// first, and a chain through two exits, all reach the origin by name.
func TestModesWithBlockedExit(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 3})
	exits := make([]*netns.Proc, 3)
	for i := range exits {
		// the blocked exit gives up on the origin after 1s (TTL expired)
		exits[i] = startCarrotExit(t, c.Exits[i], ":1080", "--dial-timeout", "1s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	urls := []string{exitURL(c, 0, 1080), exitURL(c, 1, 1080), exitURL(c, 2, 1080)}

	for _, mode := range []exitdial.Mode{exitdial.Race, exitdial.Failover} {
		d := newDialer(t, c, mode, 5*time.Second, urls...)
		for _, u := range []string{c.HTTPURL, c.HTTPSURL} {
			if out, err := get(ctx, d.DialContext, c.CA, u); err != nil || out != netns.OriginBody {
				t.Fatalf("%v %s: %q, %v", mode, u, out, err)
			}
		}
	}
	// failover went to the blocked exit first, which could not reach the origin
	waitLog(t, exits[0], "dest=origin.test:80", "result=timeout")

	d := newDialer(t, c, exitdial.Chain, 5*time.Second, urls[1], urls[2])
	if out, err := get(ctx, d.DialContext, c.CA, c.HTTPSURL); err != nil || out != netns.OriginBody {
		t.Fatalf("chain: %q, %v", out, err)
	}
	waitLog(t, exits[1], "dest=203.0.113.32:1080", "result=ok", "client=203.0.113.10:")
	waitLog(t, exits[2], "dest=origin.test:443", "result=ok", "client=203.0.113.31:")

	// socks5+tls, pinned and by CA
	cert, key, ca := netns.ExitCert(t, "exit2.test")
	tlsExit := startCarrotExit(t, c.Exits[2], ":1443", "--tls-cert", cert, "--tls-key", key)
	pin := tlsExit.Output()[strings.Index(tlsExit.Output(), "pin=")+4:]
	pin = pin[:strings.IndexByte(pin, ')')]
	for _, u := range []string{
		fmt.Sprintf("socks5+tls://%s:%s@%s:1443?pin=%s", user, pass, c.ExitV4[2], pin),
		fmt.Sprintf("socks5+tls://%s:%s@%s:1443?ca=%s&sni=exit2.test", user, pass, c.ExitV4[2], ca),
	} {
		d := newDialer(t, c, exitdial.Race, 5*time.Second, u)
		if out, err := get(ctx, d.DialContext, c.CA, c.HTTPSURL); err != nil || out != netns.OriginBody {
			t.Fatalf("%s: %q, %v", u, out, err)
		}
	}
	// a chain whose second hop speaks TLS inside the first hop's tunnel
	d = newDialer(t, c, exitdial.Chain, 5*time.Second, urls[1], fmt.Sprintf("socks5+tls://%s:%s@%s:1443?pin=%s", user, pass, c.ExitV4[2], pin))
	if out, err := get(ctx, d.DialContext, c.CA, c.HTTPSURL); err != nil || out != netns.OriginBody {
		t.Fatalf("chain into TLS exit: %q, %v", out, err)
	}
	// the destination refuses (nothing on port 81): ECONNREFUSED, as direct
	_, err := newDialer(t, c, exitdial.Race, 5*time.Second, urls...).DialContext(ctx, "tcp", "origin.test:81")
	wantErrno(t, err, syscall.ECONNREFUSED)
}

// TestEveryExitBlocked: no exit reaches the origin. With firewalls that
// reject, the dialer fails at once with EHOSTUNREACH; with firewalls that
// drop, it fails with ETIMEDOUT when the connect timeout runs out, not
// later. It never tries a direct connection (the client's own firewall
// would show it as a second error kind; the log shows only exits).
func TestEveryExitBlocked(t *testing.T) {
	for _, reject := range []bool{true, false} {
		t.Run(map[bool]string{true: "reject", false: "drop"}[reject], func(t *testing.T) {
			c := netns.NewCensored(t, netns.CensoredOptions{Exits: 2, BlockAll: true, Reject: reject})
			for i := range c.Exits {
				startCarrotExit(t, c.Exits[i], ":1080", "--dial-timeout", "10s")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// IPv6 rejects arrive after about a second (the kernel's
			// ICMPv6 path); leave room for two of them in failover.
			timeout := 1500 * time.Millisecond
			if reject {
				timeout = 3 * time.Second
			}
			for _, mode := range []exitdial.Mode{exitdial.Race, exitdial.Failover} {
				d := newDialer(t, c, mode, timeout, exitURL(c, 0, 1080), exitURL(c, 1, 1080))
				start := time.Now()
				_, err := d.DialContext(ctx, "tcp", "origin.test:443")
				el := time.Since(start)
				if reject {
					wantErrno(t, err, syscall.EHOSTUNREACH)
				} else {
					wantErrno(t, err, syscall.ETIMEDOUT)
				}
				if el > timeout+time.Second {
					t.Errorf("%v: failed after %v, connect timeout %v", mode, el, timeout)
				}
				t.Logf("%v: %v after %v", mode, err, el.Round(time.Millisecond))
			}
		})
	}
}

// TestFakeDNSThroughExit is the path the connect handler will take, minus
// the trap: a resolver in the censored client (whose own resolver poisons the
// origin's name) asks the fake DNS server, gets a 198.18/15 or 2001:2::/48
// address, "connects" to it, and the dialer sends the name to the exit,
// which resolves it where it can. HTTPS works end to end (SNI and
// certificate for the name).
func TestFakeDNSThroughExit(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 2})
	startCarrotExit(t, c.Exits[1], ":1080")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	pool := fakedns.NewPool(fakedns.DefaultV4, fakedns.DefaultV6)
	srv := &fakedns.Server{Pool: pool}
	var dnsAddr netip.AddrPort
	if err := c.Client.Do(func() (err error) {
		dnsAddr, err = srv.Listen(ctx, "127.0.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return c.Client.DialContext(ctx, network, dnsAddr.String())
	}}
	exit, err := exitdial.ParseExit(exitURL(c, 1, 1080)+"?pipeline=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := exitdial.New(exitdial.Config{Exits: []*exitdial.Exit{exit}, Names: pool, Dial: c.Client.DialContext})
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := resolver.LookupNetIP(ctx, "ip", c.OriginName)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 2 {
		t.Fatalf("fake answers: %v", addrs)
	}
	for _, ip := range addrs {
		if !pool.Contains(ip) {
			t.Fatalf("%v is not a fake address", ip)
		}
		// what the program would do: connect to the address it was given
		dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, netip.AddrPortFrom(ip, 443).String())
		}
		if out, err := get(ctx, dial, c.CA, c.HTTPSURL); err != nil || out != netns.OriginBody {
			t.Fatalf("via fake %v: %q, %v", ip, out, err)
		}
	}
}

// TestCarrotExitDialTimeout: an exit whose way to the origin is dropped
// silently answers a request for it with TTL expired when --dial-timeout
// runs out, even with --handshake-timeout no longer (the defaults are
// equal), and carrot's dialer, on its spare connection, gets ETIMEDOUT
// after that one timeout, with the exit asked once. (The exit used to
// close such a connection with no reply, its handshake deadline being past;
// the dialer took that for a spare the exit had dropped and asked again.)
func TestCarrotExitDialTimeout(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 1}) // exit[0] is blocked
	ex := startCarrotExit(t, c.Exits[0], ":1080", "--dial-timeout", "1s", "--handshake-timeout", "1s")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// any SOCKS5 client: the reply, not EOF
	conn, err := c.Client.DialContext(ctx, "tcp", c.ExitV4[0].String()+":1080")
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = socks5.ClientHandshake(conn, socks5.Addr{Name: c.OriginName, Port: 80}, socks5.ClientOptions{Auth: &socks5.Auth{User: user, Pass: pass}})
	conn.Close()
	var re *socks5.ReplyError
	if !errors.As(err, &re) || re.Reply != socks5.ReplyTTLExpired {
		t.Fatalf("SOCKS5 request for a dropped destination: %v; want the reply TTL expired\nexit log:\n%s", err, ex.Output())
	}
	waitLog(t, ex, "dest=origin.test:80", "result=timeout")

	// carrot's dialer, which asks on a spare connection made ahead
	e, err := exitdial.ParseExit(exitURL(c, 0, 1080), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := exitdial.New(exitdial.Config{Exits: []*exitdial.Exit{e}, ConnectTimeout: 5 * time.Second, Spares: true, Dial: c.Client.DialContext})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	time.Sleep(200 * time.Millisecond) // the spare is made
	start := time.Now()
	_, err = d.DialContext(ctx, "tcp", "origin.test:443")
	el := time.Since(start)
	wantErrno(t, err, syscall.ETIMEDOUT)
	if !exitdial.AboutDest(err) || el > 2500*time.Millisecond {
		t.Errorf("after %v: %v; want the exit's answer about the destination after about 1s", el, err)
	}
	waitLog(t, ex, "dest=origin.test:443", "result=timeout")
	time.Sleep(1500 * time.Millisecond) // a second request would be answered by now
	if n := strings.Count(ex.Output(), "dest=origin.test:443"); n != 1 {
		t.Errorf("the exit was asked %d times for origin.test:443, want once:\n%s", n, ex.Output())
	}
}

// TestCarrotExitKeyMode: carrot exit refuses a TLS key that every user can
// read, as it refuses such a users file, saying how to fix it; at 0600 it
// starts.
func TestCarrotExitKeyMode(t *testing.T) {
	h := netns.New(t).Host("exit")
	cert, key, _ := netns.ExitCert(t, "exit.test")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"exit", "--listen", "127.0.0.1:1443", "--users", usersFile(t), "--tls-cert", cert, "--tls-key", key}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := h.Run(ctx, carrotBin, args...)
	var ee *exec.ExitError
	want := key + ": readable by every user (mode -rw-r--r--); chmod o-r it"
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(out, want) {
		t.Fatalf("carrot exit with a key at 0644: %v, output %q; want status 1 and %q", err, out, want)
	}
	os.Chmod(key, 0o600)
	if p := h.Start(carrotBin, args...); !p.WaitOutput("listening on", 10*time.Second) {
		t.Fatalf("carrot exit with a key at 0600 did not start:\n%s", p.Output())
	}
}
