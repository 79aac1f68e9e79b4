package exitdial

import (
	"bufio"
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
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/exit"
	"github.com/carrot-project/carrot/internal/fakedns"
	"github.com/carrot-project/carrot/internal/socks5"
	"github.com/carrot-project/carrot/internal/testnet"
)

func TestParseExit(t *testing.T) {
	creds := &Credentials{
		machines: map[string]*socks5.Auth{
			"exit.test:1080": {User: "bob", Pass: "netrc-pw"},
			"other.test":     {User: "carol", Pass: "pw2"},
		},
		env: &socks5.Auth{User: "envuser", Pass: "envpw"},
	}
	for _, tc := range []struct {
		in, name, addr, user, pass string
		tls                        bool
	}{
		{"socks5://alice:s3cret@192.0.2.1:1081", "socks5://alice@192.0.2.1:1081", "192.0.2.1:1081", "alice", "s3cret", false},
		{"socks5h://exit.test", "socks5h://bob@exit.test", "exit.test:1080", "bob", "netrc-pw", false},
		{"socks5://other.test:9", "socks5://carol@other.test:9", "other.test:9", "carol", "pw2", false},
		{"socks5://[2001:db8::1]:1080", "socks5://envuser@[2001:db8::1]:1080", "[2001:db8::1]:1080", "envuser", "envpw", false},
		{"socks5+tls://a:b@exit.test:443?pin=sha256:" + strings.Repeat("ab", 32), "socks5+tls://a@exit.test:443", "exit.test:443", "a", "b", true},
	} {
		e, err := ParseExit(tc.in, creds)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if e.Name != tc.name || e.Addr != tc.addr || e.Auth == nil || e.Auth.User != tc.user || e.Auth.Pass != tc.pass || (e.TLS != nil) != tc.tls {
			t.Errorf("%s: got %+v auth %+v", tc.in, e, e.Auth)
		}
		if strings.Contains(e.Name, tc.pass) {
			t.Errorf("%s: name %q shows the password", tc.in, e.Name)
		}
	}
	for _, bad := range []string{
		"http://exit.test", "socks5://", "socks5://exit.test/path", "socks5://exit.test?pin=sha256:00",
		"socks5+tls://exit.test?pin=md5:00", "socks5+tls://exit.test?pin=sha256:" + strings.Repeat("ab", 31),
		"socks5://exit.test?color=red", "socks5+tls://exit.test?ca=/nonexistent",
	} {
		if _, err := ParseExit(bad, nil); err == nil {
			t.Errorf("ParseExit(%q) accepted", bad)
		}
	}
	if _, err := ParseExit("socks5://u:hunter2@exit.test:x", nil); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad URL error %v (must not show the password)", err)
	}
	// what is wrong, said so (and never the password)
	for in, want := range map[string]string{
		"socks5://u:hunter2@10.0.0.1:99999":       `exit "socks5://...@10.0.0.1:99999": port 99999: want 1 to 65535`,
		"socks5://u:hunter2@10.0.0.1:0":           `exit "socks5://...@10.0.0.1:0": port 0: want 1 to 65535`,
		"socks5://u:hunter2@:1080":                `exit "socks5://...@:1080": no host: want socks5://[user:pass@]HOST[:PORT]`,
		"socks5://u:hunter2@fd99:40::2:1085":      `exit "socks5://...@fd99:40::2:1085": an IPv6 address goes in brackets: socks5://[fd99:40::2:1085]:PORT`,
		"socks5+tls://fd99:40::2?pin=sha256:00":   `exit "socks5+tls://fd99:40::2?pin=sha256:00": an IPv6 address goes in brackets: socks5+tls://[fd99:40::2]:PORT`,
		"10.99.40.2:1080":                         `exit "10.99.40.2:1080": want a URL, socks5://[user:pass@]HOST[:PORT] (or socks5h://, socks5+tls://)`,
		"u:hunter2@10.99.40.2:1080":               `exit "...@10.99.40.2:1080": want a URL, socks5://[user:pass@]HOST[:PORT] (or socks5h://, socks5+tls://)`,
		"socks4://10.99.40.2:1080":                `exit "socks4://10.99.40.2:1080": scheme must be socks5://, socks5h:// or socks5+tls://`,
		"socks5h://u:hunter2@exit.test:1080/path": `exit "socks5h://...@exit.test:1080/path": want socks5h://[user:pass@]HOST[:PORT]`,
	} {
		_, err := ParseExit(in, nil)
		if err == nil || err.Error() != want {
			t.Errorf("ParseExit(%q) = %v\nwant %s", in, err, want)
		}
	}
	// what curl takes, taken
	for _, ok := range []string{"socks5://[fd99:40::2]:1085", "socks5://[fd99:40::2]", "socks5://10.0.0.1:65535", "socks5h://exit.test:1"} {
		if _, err := ParseExit(ok, nil); err != nil {
			t.Errorf("ParseExit(%q): %v", ok, err)
		}
	}
}

func TestLoadCredentials(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "carrot", "netrc")
	os.MkdirAll(filepath.Dir(path), 0o700)
	os.WriteFile(path, []byte("# exits\nmachine exit.test:1080 login bob password pw1\nmachine exit.test\n  login bob2 password pw2\ndefault login anyone password pw3\n"), 0o600)
	env := map[string]string{"XDG_CONFIG_HOME": dir}
	c, err := LoadCredentials(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	for hostport, want := range map[[2]string]string{
		{"exit.test", "1080"}:  "bob:pw1",
		{"exit.test", "1443"}:  "bob2:pw2",
		{"other.test", "1080"}: "anyone:pw3",
	} {
		a := c.Lookup(hostport[0], hostport[1])
		if a == nil || a.User+":"+a.Pass != want {
			t.Errorf("Lookup(%v) = %+v, want %s", hostport, a, want)
		}
	}
	// A URL with a user and no password: the password of that login.
	for _, tc := range []struct{ url, want string }{
		{"socks5://bob@exit.test:1080", "pw1"},
		{"socks5://bob2@exit.test:1443", "pw2"},
		{"socks5://anyone@other.test", "pw3"},
		{"socks5://carol@exit.test:1080", ""}, // another login: none
		{"socks5://bob:given@exit.test:1080", "given"},
	} {
		e, err := ParseExit(tc.url, c)
		if err != nil || e.Auth == nil || e.Auth.Pass != tc.want {
			t.Errorf("ParseExit(%s): %+v, %v; want password %q", tc.url, e, err, tc.want)
		}
	}
	env["CARROT_EXIT_PASS"] = "envpw" // no user: the URL's
	c, _ = LoadCredentials(func(k string) string { return env[k] })
	if e, err := ParseExit("socks5://carol@exit.test:1080", c); err != nil || e.Auth.Pass != "envpw" {
		t.Errorf("CARROT_EXIT_PASS for a URL's user: %+v, %v", e, err)
	}
	env["CARROT_EXIT_USER"] = "envuser"
	c, _ = LoadCredentials(func(k string) string { return env[k] })
	if a := c.Lookup("other.test", "1080"); a == nil || a.User != "envuser" {
		t.Errorf("env must beat the netrc default: %+v", a)
	}
	if e, err := ParseExit("socks5://carol@other.test", c); err != nil || e.Auth.Pass != "" {
		t.Errorf("CARROT_EXIT_PASS is envuser's, not carol's: %+v, %v", e, err)
	}
	os.Chmod(path, 0o644)
	if _, err := LoadCredentials(func(k string) string { return env[k] }); err == nil {
		t.Error("world-readable netrc accepted")
	}
	env["CARROT_EXIT_NETRC"] = filepath.Join(dir, "missing")
	if _, err := LoadCredentials(func(k string) string { return env[k] }); err == nil {
		t.Error("missing explicit netrc accepted")
	}
}

// ---- in-process exits on loopback ----

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type testExit struct {
	url string
	log *logBuf
}

// startExit runs a carrot exit on loopback allowing 127.0.0.1 only.
func startExit(t *testing.T, tlsCert *tls.Certificate, resolver exit.Resolver) *testExit {
	t.Helper()
	return startExitWith(t, tlsCert, func(c *exit.Config) { c.Resolver = resolver })
}

// startExitWith is startExit with mod applied to the exit's Config.
func startExitWith(t *testing.T, tlsCert *tls.Certificate, mod func(*exit.Config)) *testExit {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startExitOn(t, ln, tlsCert, mod)
}

// startExitOn is startExitWith serving ln.
func startExitOn(t *testing.T, ln net.Listener, tlsCert *tls.Certificate, mod func(*exit.Config)) *testExit {
	t.Helper()
	te := &testExit{log: &logBuf{}}
	cfg := exit.Config{
		Users:  exit.Users{"alice": "s3cret"},
		Policy: exit.NewPolicy([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, nil, nil),
		Log:    slog.New(slog.NewTextHandler(te.log, nil)),
	}
	if mod != nil {
		mod(&cfg)
	}
	scheme := "socks5"
	if tlsCert != nil {
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{*tlsCert}}
		scheme = "socks5+tls"
	}
	srv, err := exit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	te.url = scheme + "://alice:s3cret@" + ln.Addr().String()
	return te
}

// blackhole accepts connections and never answers: an exit that hangs.
func blackhole(t *testing.T) string {
	t.Helper()
	addr, _ := testnet.Silent(t)
	return "socks5://alice:s3cret@" + addr.String()
}

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newDialer(t *testing.T, mode Mode, timeout time.Duration, urls ...string) *Dialer {
	t.Helper()
	var exits []*Exit
	for _, u := range urls {
		e, err := ParseExit(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		exits = append(exits, e)
	}
	d, err := New(Config{Exits: exits, Mode: mode, ConnectTimeout: timeout, Stagger: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustEcho(t *testing.T, c net.Conn) {
	t.Helper()
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("ping\n"))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Fatalf("echo through exit: %q, %v", line, err)
	}
}

func wantErrno(t *testing.T, err error, want syscall.Errno) {
	t.Helper()
	var errno syscall.Errno
	if !errors.As(err, &errno) || errno != want {
		t.Fatalf("err = %v; want errno %v (%d)", err, want, int(want))
	}
}

func TestRaceBlockedExitFirst(t *testing.T) {
	good := startExit(t, nil, nil)
	echo := testnet.Echo(t).String()
	d := newDialer(t, Race, 5*time.Second, blackhole(t), blackhole(t), good.url)
	for i := range 3 {
		start := time.Now()
		r, err := d.Dial(context.Background(), mustAddr(echo))
		if err != nil {
			t.Fatal(err)
		}
		if r.Exit.Addr != strings.TrimPrefix(good.url, "socks5://alice:s3cret@") {
			t.Fatalf("won by %s", r.Exit.Name)
		}
		mustEcho(t, r.Conn)
		// The first dial pays two staggers for the blackholes, and says
		// so; later ones go straight to the exit that reached the
		// destination.
		if i == 0 && (len(r.Passed) != 2 || !errors.Is(r.Passed[0], ErrOutrun) || !errors.Is(r.Passed[1], ErrOutrun)) {
			t.Errorf("the first dial's passed exits: %v, want both blackholes outrun", r.Passed)
		}
		if i > 0 && len(r.Passed) != 0 {
			t.Errorf("dial %d passed %v, want none (the good exit first)", i, r.Passed)
		}
		if i > 0 && time.Since(start) > 40*time.Millisecond {
			t.Logf("dial %d took %v (memory of the good exit not used?)", i, time.Since(start))
		}
	}
}

func TestFailoverInOrder(t *testing.T) {
	a, b := startExit(t, nil, nil), startExit(t, nil, nil)
	echo := testnet.Echo(t).String()
	closedAddr0 := closedAddr(t)
	d := newDialer(t, Failover, 5*time.Second, "socks5://alice:s3cret@"+closedAddr0, a.url, b.url)
	r, err := d.Dial(context.Background(), mustAddr(echo))
	if err != nil {
		t.Fatal(err)
	}
	mustEcho(t, r.Conn)
	if len(r.Passed) != 1 || !strings.Contains(r.Passed[0].Error(), closedAddr0) {
		t.Errorf("passed %v, want the closed exit's failure", r.Passed)
	}
	waitFor(t, func() bool { return strings.Contains(a.log.String(), "result=ok") })
	if strings.Contains(b.log.String(), "result=") {
		t.Fatalf("failover did not stop at the first working exit:\nA: %s\nB: %s", a.log, b.log)
	}
}

func TestChain(t *testing.T) {
	cert := selfSigned(t)
	a, b := startExit(t, nil, nil), startExit(t, &cert, nil)
	echo := testnet.Echo(t).String()
	pinnedB := b.url + "?pin=" + Pin(cert.Certificate[0])
	d := newDialer(t, Chain, 5*time.Second, a.url, pinnedB)
	r, err := d.Dial(context.Background(), mustAddr(echo))
	if err != nil {
		t.Fatal(err)
	}
	mustEcho(t, r.Conn)
	bAddr := strings.TrimPrefix(b.url, "socks5+tls://alice:s3cret@")
	waitFor(t, func() bool {
		return strings.Contains(a.log.String(), "dest="+bAddr) && strings.Contains(b.log.String(), "dest="+echo)
	})
	if strings.Contains(a.log.String(), echo) {
		t.Errorf("first hop saw the destination:\n%s", a.log)
	}
	// a chain is broken by its broken hop: exit-level error, not the destination's
	d = newDialer(t, Chain, 5*time.Second, a.url, "socks5://alice:s3cret@"+closedAddr(t))
	_, err = d.Dial(context.Background(), mustAddr(echo))
	wantErrno(t, err, syscall.ENETUNREACH)
}

func TestTLSPin(t *testing.T) {
	cert, other := selfSigned(t), selfSigned(t)
	b := startExit(t, &cert, nil)
	echo := testnet.Echo(t).String()
	d := newDialer(t, Race, 5*time.Second, b.url+"?pin="+Pin(cert.Certificate[0]))
	r, err := d.Dial(context.Background(), mustAddr(echo))
	if err != nil {
		t.Fatal(err)
	}
	mustEcho(t, r.Conn)
	d = newDialer(t, Race, 5*time.Second, b.url+"?pin="+Pin(other.Certificate[0]))
	_, err = d.Dial(context.Background(), mustAddr(echo))
	if err == nil || !strings.Contains(err.Error(), "does not match the pin") {
		t.Fatalf("wrong pin: %v", err)
	}
	// a CA file: the self-signed certificate is its own CA
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pemCert(cert.Certificate[0]), 0o644)
	d = newDialer(t, Race, 5*time.Second, b.url+"?ca="+caFile+"&sni=exit.test")
	if r, err = d.Dial(context.Background(), mustAddr(echo)); err != nil {
		t.Fatal(err)
	}
	mustEcho(t, r.Conn)
	d = newDialer(t, Race, 5*time.Second, b.url+"?ca="+caFile+"&sni=wrong.test")
	if _, err = d.Dial(context.Background(), mustAddr(echo)); err == nil {
		t.Fatal("certificate accepted for the wrong name")
	}
}

func TestErrnos(t *testing.T) {
	a, b := startExit(t, nil, nil), startExit(t, nil, nil)
	closed := closedAddr(t)
	down := "socks5://alice:s3cret@" + closedAddr(t)

	// the destination refuses: whatever the mode, ECONNREFUSED
	for _, mode := range []Mode{Race, Failover, Chain} {
		_, err := newDialer(t, mode, 5*time.Second, a.url, b.url).Dial(context.Background(), mustAddr(closed))
		wantErrno(t, err, syscall.ECONNREFUSED)
	}
	// a refusal beats a down exit, in any order
	_, err := newDialer(t, Race, 5*time.Second, down, a.url).Dial(context.Background(), mustAddr(closed))
	wantErrno(t, err, syscall.ECONNREFUSED)
	// policy refusal at the exit: EPERM
	_, err = newDialer(t, Race, 5*time.Second, a.url).Dial(context.Background(), mustAddr("127.0.0.2:80"))
	wantErrno(t, err, syscall.EPERM)
	// every exit down: no way out
	_, err = newDialer(t, Race, 5*time.Second, down, down).Dial(context.Background(), mustAddr(closed))
	wantErrno(t, err, syscall.ENETUNREACH)
	// exits that hang: ETIMEDOUT at the connect timeout, not later
	start := time.Now()
	_, err = newDialer(t, Race, 300*time.Millisecond, blackhole(t), blackhole(t)).Dial(context.Background(), mustAddr(closed))
	wantErrno(t, err, syscall.ETIMEDOUT)
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("timeout took %v", el)
	}
	// wrong password
	_, err = newDialer(t, Race, 5*time.Second, strings.Replace(a.url, "s3cret", "nope", 1)).Dial(context.Background(), mustAddr(closed))
	if !errors.Is(err, socks5.ErrAuthFailed) {
		t.Errorf("bad password: %v", err)
	}
	wantErrno(t, err, syscall.ENETUNREACH)
}

// TestRefusedCredentialsAskedOnce: an exit that rejected the password is
// not asked again by the same Dialer, connects and spares alike: each
// failure would count towards the exit's throttle of password guesses,
// and slow the user's next run, with the right password, too.
func TestRefusedCredentialsAskedOnce(t *testing.T) {
	a := startExit(t, nil, nil)
	e, err := ParseExit(strings.Replace(a.url, "s3cret", "nope", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Exits: []*Exit{e}, Mode: Race, ConnectTimeout: 5 * time.Second, Spares: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	echo := testnet.Echo(t).String()
	for i := range 5 {
		_, err := d.Dial(context.Background(), mustAddr(echo))
		if !errors.Is(err, socks5.ErrAuthFailed) {
			t.Fatalf("dial %d: %v, want the authentication failure", i, err)
		}
	}
	time.Sleep(100 * time.Millisecond) // a spare's refill, were there one
	if n := strings.Count(a.log.String(), "result=auth-failed"); n < 1 || n > 2 {
		t.Errorf("the exit saw %d failed logins, want 1 (2 if a spare raced the first dial):\n%s", n, a.log)
	}

	// The same user and exit listed again with the right password is
	// another exit: the first one's refusal does not stop it. (A new
	// exit: a's throttle of alice's guesses would slow this.)
	b := startExit(t, nil, nil)
	wrong, err := ParseExit(strings.Replace(b.url, "s3cret", "nope", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	right, err := ParseExit(b.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := New(Config{Exits: []*Exit{wrong, right}, Mode: Failover, ConnectTimeout: 5 * time.Second, Spares: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if wrong.Name == right.Name {
		t.Errorf("two exits named %q", wrong.Name)
	}
	for i := range 3 {
		r, err := d2.Dial(context.Background(), mustAddr(echo))
		if err != nil {
			t.Fatalf("dial %d with the right password second: %v", i, err)
		}
		r.Conn.Close()
	}
}

func TestSkipFailingExits(t *testing.T) {
	good := startExit(t, nil, nil)
	echo := testnet.Echo(t).String()
	downURL := "socks5://alice:s3cret@" + closedAddr(t)
	d := newDialer(t, Failover, 5*time.Second, downURL, good.url)
	down := d.cfg.Exits[0]
	for range 3 {
		r, err := d.Dial(context.Background(), mustAddr(echo))
		if err != nil {
			t.Fatal(err)
		}
		r.Conn.Close()
	}
	if !d.Skipped(down) {
		t.Fatal("exit that failed 3 times is not skipped")
	}
	if o := d.order(mustAddr(echo), false); len(o) != 1 || o[0] != d.cfg.Exits[1] {
		t.Fatalf("order = %v", o)
	}
	// never all: with every exit skipped, all are tried again (fail closed)
	only := newDialer(t, Race, 5*time.Second, downURL)
	for range 4 {
		_, err := only.Dial(context.Background(), mustAddr(echo))
		wantErrno(t, err, syscall.ENETUNREACH)
	}
	if !only.Skipped(only.cfg.Exits[0]) || len(only.order(mustAddr(echo), true)) != 1 {
		t.Fatal("the only exit must be skipped yet still tried")
	}
}

type mapResolver map[string]netip.Addr

func (m mapResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, ok := m[host]; ok {
		return []netip.Addr{a}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestFakeIPBecomesName(t *testing.T) {
	echo := mustAddr(testnet.Echo(t).String())
	ex := startExit(t, nil, mapResolver{"echo.test": netip.MustParseAddr("127.0.0.1")})
	e, _ := ParseExit(ex.url, nil)
	pool := fakedns.NewPool(fakedns.DefaultV4, fakedns.DefaultV6)
	v4, v6 := pool.Addrs("echo.test")
	d, _ := New(Config{Exits: []*Exit{e}, Names: pool})
	r, err := d.Dial(context.Background(), socks5.Addr{IP: v4, Port: echo.Port})
	if err != nil {
		t.Fatal(err)
	}
	mustEcho(t, r.Conn)
	waitFor(t, func() bool { return strings.Contains(ex.log.String(), "dest=echo.test:") })
	if r.Dest.Name != "echo.test" {
		t.Fatalf("exit was not sent the name: %+v\n%s", r.Dest, ex.log)
	}
	if r, err = d.Dial(context.Background(), socks5.Addr{IP: v6, Port: echo.Port}); err != nil {
		t.Fatal(err)
	}
	mustEcho(t, r.Conn)
	_, err = d.Dial(context.Background(), socks5.Addr{IP: netip.MustParseAddr("198.19.0.8"), Port: 80})
	wantErrno(t, err, syscall.EHOSTUNREACH)
	if strings.Contains(ex.log.String(), "198.19.0.8") {
		t.Fatal("unmapped fake IP was sent to the exit")
	}
}

func mustAddr(s string) socks5.Addr {
	a, err := socks5.ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met in 5s")
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
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
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestRaceRefusalEndsSoon: a refusal from the destination ends the race
// without waiting out an exit that hangs.
func TestRaceRefusalEndsSoon(t *testing.T) {
	good := startExit(t, nil, nil)
	const timeout = 10 * time.Second
	d := newDialer(t, Race, timeout, blackhole(t), good.url)
	start := time.Now()
	_, err := d.Dial(context.Background(), mustAddr(closedAddr(t)))
	wantErrno(t, err, syscall.ECONNREFUSED)
	if el := time.Since(start); el > timeout/2 {
		t.Fatalf("refused after %v: the race waited for the hanging exit", el)
	}
}

func TestAdaptiveStagger(t *testing.T) {
	d, err := New(Config{Exits: []*Exit{{Name: "x", Addr: "127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if s, measured := d.stagger(); measured || s != initialStagger {
		t.Fatalf("before any sample: %v %v", s, measured)
	}
	d.sample(time.Millisecond)
	if s, measured := d.stagger(); !measured || s != staggerRTTs*time.Millisecond {
		t.Fatalf("after 1ms: %v %v", s, measured)
	}
	d.sample(5 * time.Millisecond) // a slow connect does not raise it
	if s, _ := d.stagger(); s != staggerRTTs*time.Millisecond {
		t.Fatalf("after a slower sample: %v", s)
	}
	d.sample(10 * time.Microsecond)
	if s, _ := d.stagger(); s != minStagger {
		t.Fatalf("LAN: %v, want the floor %v", s, minStagger)
	}
	// Once an exit has answered a CONNECT, the stagger covers such an
	// answer: a working exit asked first is not joined by another.
	d.sampleAnswer(d.cfg.Exits[0], 400*time.Microsecond)
	d.sampleAnswer(d.cfg.Exits[0], 2*time.Millisecond) // a slower answer does not raise it
	if s, _ := d.stagger(); s != 600*time.Microsecond {
		t.Fatalf("after an answer in 400µs: %v, want 600µs", s)
	}
	far, _ := New(Config{Exits: d.cfg.Exits})
	far.sample(time.Second)
	if s, _ := far.stagger(); s != maxStagger {
		t.Fatalf("far away: %v, want the cap %v", s, maxStagger)
	}
	fixed, _ := New(Config{Exits: d.cfg.Exits, Stagger: 30 * time.Millisecond})
	fixed.sample(time.Microsecond)
	if s, _ := fixed.stagger(); s != 30*time.Millisecond {
		t.Fatalf("fixed stagger: %v", s)
	}
}

// TestSpares: with Spares, a Dial runs on a connection authenticated ahead
// of time; one the server dropped while it waited is replaced at once,
// without failing the Dial or counting against the exit.
func TestSpares(t *testing.T) {
	echo := testnet.Echo(t).String()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	accepted, requests := 0, 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted++
			drop := accepted == 1 // the first spare dies waiting
			mu.Unlock()
			go func() {
				defer c.Close()
				if !acceptAuth(c) {
					return
				}
				if drop {
					return
				}
				req, err := socks5.ReadRequest(c)
				if err != nil {
					return
				}
				mu.Lock()
				requests++
				mu.Unlock()
				up, err := net.Dial("tcp", req.Dest.String())
				if err != nil {
					socks5.WriteReply(c, socks5.ReplyConnRefused, socks5.Addr{})
					return
				}
				socks5.WriteReply(c, socks5.ReplySucceeded, socks5.Addr{})
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	e, err := ParseExit("socks5://alice:s3cret@"+ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Exits: []*Exit{e}, Spares: true, ConnectTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ready := func() bool { d.mu.Lock(); defer d.mu.Unlock(); return d.spares[e] != nil }
	waitFor(t, ready)
	r, err := d.Dial(context.Background(), mustAddr(echo))
	if err != nil {
		t.Fatal(err)
	}
	mustEcho(t, r.Conn)
	if d.Skipped(e) {
		t.Fatal("a dead spare counted against the exit")
	}
	// the next Dial uses a spare made in the background
	waitFor(t, ready)
	mu.Lock()
	before := accepted
	mu.Unlock()
	r, err = d.Dial(context.Background(), mustAddr(echo))
	if err != nil {
		t.Fatal(err)
	}
	mustEcho(t, r.Conn)
	waitFor(t, ready)
	mu.Lock()
	defer mu.Unlock()
	// the second Dial opened no connection; using the spare made one more
	if accepted != before+1 || requests != 2 {
		t.Fatalf("accepted %d (%d before the second Dial), requests %d; want %d, 2", accepted, before, requests, before+1)
	}
}

// TestPlainClientAtTLSExit: a socks5:// client pointed at a socks5+tls
// exit is turned away at once (the exit logs result=not-tls), not after
// the exit's 10 s handshake timeout, and its error says the exit may speak
// TLS; Config.Problem hears of it once.
func TestPlainClientAtTLSExit(t *testing.T) {
	cert := selfSigned(t)
	b := startExit(t, &cert, nil)
	plain := strings.Replace(b.url, "socks5+tls://", "socks5://", 1)
	e, err := ParseExit(plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var problems []string
	d, err := New(Config{Exits: []*Exit{e}, ConnectTimeout: 20 * time.Second, Problem: func(exit string, err error) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, exit+": "+err.Error())
	}})
	if err != nil {
		t.Fatal(err)
	}
	echo := mustAddr(testnet.Echo(t).String())
	for range 2 {
		start := time.Now()
		_, err = d.Dial(context.Background(), echo)
		if el := time.Since(start); el > time.Second {
			t.Errorf("failed after %v; the exit's handshake timeout is 10s", el)
		}
		wantErrno(t, err, syscall.ENETUNREACH)
		if !strings.Contains(err.Error(), "socks5+tls://") {
			t.Errorf("no hint that the exit speaks TLS: %v", err)
		}
	}
	waitFor(t, func() bool { return strings.Contains(b.log.String(), "result=not-tls") })
	mu.Lock()
	defer mu.Unlock()
	if len(problems) != 1 || !strings.Contains(problems[0], "socks5+tls://") {
		t.Errorf("problems: %q, want one with the hint", problems)
	}
}

// TestSpareClosedUnused: a spare the dialer closes unused (carrot run
// ending) is logged by the exit as result=no-request, with and without
// TLS; a request cut short is still result=bad-request.
func TestSpareClosedUnused(t *testing.T) {
	cert := selfSigned(t)
	for _, tc := range []struct {
		name string
		ex   *testExit
	}{
		{"plain", nil},
		{"tls", startExit(t, &cert, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex, url := tc.ex, ""
			if ex == nil {
				ex = startExit(t, nil, nil)
				url = ex.url
			} else {
				url = ex.url + "?pin=" + Pin(cert.Certificate[0])
			}
			e, err := ParseExit(url, nil)
			if err != nil {
				t.Fatal(err)
			}
			d, err := New(Config{Exits: []*Exit{e}, Spares: true, ConnectTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { d.mu.Lock(); defer d.mu.Unlock(); return d.spares[e] != nil })
			d.Close()
			waitFor(t, func() bool { return strings.Contains(ex.log.String(), "result=") })
			if log := ex.log.String(); !strings.Contains(log, "user=alice") || !strings.Contains(log, "result=no-request") {
				t.Errorf("log: %s", log)
			}
		})
	}
	ex := startExit(t, nil, nil)
	c, err := net.Dial("tcp", strings.TrimPrefix(ex.url, "socks5://alice:s3cret@"))
	if err != nil {
		t.Fatal(err)
	}
	if err := socks5.ClientAuth(c, &socks5.Auth{User: "alice", Pass: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{5, socks5.CmdConnect, 0}) // and no more: cut short before the address
	c.Close()
	waitFor(t, func() bool { return strings.Contains(ex.log.String(), "result=") })
	if log := ex.log.String(); !strings.Contains(log, "result=bad-request") {
		t.Errorf("log: %s", log)
	}
}

// TestSkipExpires: an exit that failed 3 times in a row is skipped for
// 30 s, then tried again; each further failure doubles the time, up to
// 5 min.
func TestSkipExpires(t *testing.T) {
	d := newDialer(t, Failover, time.Second, "socks5://alice:s3cret@"+closedAddr(t))
	e := d.cfg.Exits[0]
	now := time.Now()
	d.now = func() time.Time { return now } // Dial calls it on this goroutine only
	dest := mustAddr(testnet.Echo(t).String())
	fail := func() {
		t.Helper()
		_, err := d.Dial(context.Background(), dest)
		wantErrno(t, err, syscall.ENETUNREACH)
	}
	for i := range 3 {
		if d.Skipped(e) {
			t.Fatalf("skipped after %d failures", i)
		}
		fail()
	}
	for _, want := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute} {
		start := now
		now = start.Add(want - time.Second)
		if !d.Skipped(e) {
			t.Fatalf("not skipped %v after a failure; want %v", now.Sub(start), want)
		}
		now = start.Add(want + time.Second)
		if d.Skipped(e) {
			t.Fatalf("still skipped %v after a failure; want %v", now.Sub(start), want)
		}
		fail() // tried again, and failing again
	}
}

// TestRaceLoserReset: the attempt that loses a race is reset, so an exit
// still connecting to the destination for it (a blocked one) stops,
// rather than finishing a connection nobody will use.
func TestRaceLoserReset(t *testing.T) {
	dialing, cancelled := make(chan struct{}, 1), make(chan struct{}, 1)
	blocked := startExitWith(t, nil, func(c *exit.Config) {
		c.DialTimeout = time.Minute
		c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialing <- struct{}{}
			<-ctx.Done() // the destination never answers this exit
			cancelled <- struct{}{}
			return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
		}
	})
	good := startExit(t, nil, nil)
	echo := testnet.Echo(t).String()
	d := newDialer(t, Race, 5*time.Second, blocked.url, good.url)
	r, err := d.Dial(context.Background(), mustAddr(echo))
	if err != nil {
		t.Fatal(err)
	}
	mustEcho(t, r.Conn)
	select {
	case <-dialing:
	case <-time.After(10 * time.Second):
		t.Fatal("the blocked exit was never asked")
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatalf("the losing exit still dials for nobody (a minute)\n%s", blocked.log.String())
	}
}

// acceptAuth plays a SOCKS5 server's greeting and username/password
// exchange on c, taking any credentials; false if the client went away.
func acceptAuth(c net.Conn) bool {
	if _, err := socks5.ReadGreeting(c); err != nil {
		return false
	}
	c.Write([]byte{5, socks5.MethodUserPass})
	if _, _, err := socks5.ReadUserPass(c); err != nil {
		return false
	}
	c.Write([]byte{1, 0})
	return true
}

// TestFailoverLearnsBlockedExit: in failover mode an exit that could not
// reach a destination goes after the others for it (for a minute), so
// later connects do not wait for it again; other destinations keep the
// given order.
func TestFailoverLearnsBlockedExit(t *testing.T) {
	good := startExit(t, nil, nil)
	var asked atomic.Int32 // counted before the exit answers (its log line comes later)
	blocked := startExitWith(t, nil, func(c *exit.Config) {
		c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			asked.Add(1)
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.EHOSTUNREACH}
		}
	})
	echo := testnet.Echo(t).String()
	d := newDialer(t, Failover, 5*time.Second, blocked.url, good.url)
	for range 2 {
		r, err := d.Dial(context.Background(), mustAddr(echo))
		if err != nil {
			t.Fatal(err)
		}
		mustEcho(t, r.Conn)
	}
	if n := asked.Load(); n != 1 {
		t.Fatalf("the blocked exit was asked %d times for the destination, want once:\n%s", n, blocked.log)
	}
	if o := d.order(mustAddr("127.0.0.1:1"), false); len(o) != 2 || o[0] != d.cfg.Exits[0] {
		t.Fatalf("another destination's order: %v", o)
	}
}

// TestBegin: Begin sends the CONNECT on the first exit's spare at once (the
// exit reaches the destination before DialBegun is called), and DialBegun
// finishes it into a working stream, in race and failover modes, plain and
// over TLS; with nothing begun DialBegun does the whole dial, and with
// nothing to begin with (a chain, no spares) Begin returns nil.
func TestBegin(t *testing.T) {
	cert := selfSigned(t)
	for _, c := range []struct {
		name string
		mode Mode
		tls  bool
	}{{"race", Race, false}, {"failover", Failover, false}, {"race-tls", Race, true}} {
		t.Run(c.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			reached := make(chan struct{}, 4)
			go func() {
				for {
					conn, err := ln.Accept()
					if err != nil {
						return
					}
					reached <- struct{}{}
					go func() { io.Copy(conn, conn); conn.Close() }()
				}
			}()
			var pin *tls.Certificate
			if c.tls {
				pin = &cert
			}
			url := startExit(t, pin, nil).url
			if c.tls {
				url += "?pin=" + Pin(cert.Certificate[0])
			}
			e, err := ParseExit(url, nil)
			if err != nil {
				t.Fatal(err)
			}
			d, err := New(Config{Exits: []*Exit{e}, Mode: c.mode, Spares: true, ConnectTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			dest := mustAddr(ln.Addr().String())
			waitFor(t, func() bool { d.mu.Lock(); defer d.mu.Unlock(); return d.spares[e] != nil })
			b := d.Begin(dest)
			if b == nil {
				t.Fatal("Begin sent nothing with a spare ready")
			}
			select {
			case <-reached:
			case <-time.After(5 * time.Second):
				t.Fatal("the exit did not reach the destination before DialBegun")
			}
			r, err := d.DialBegun(context.Background(), dest, b)
			if err != nil {
				t.Fatal(err)
			}
			if r.Exit != e {
				t.Errorf("won by %v", r.Exit)
			}
			mustEcho(t, r.Conn)
			// Nothing begun: DialBegun dials it all, on a new spare.
			r, err = d.DialBegun(context.Background(), dest, nil)
			if err != nil {
				t.Fatal(err)
			}
			mustEcho(t, r.Conn)
		})
	}
	url := startExit(t, nil, nil).url
	if newDialer(t, Chain, time.Second, url).Begin(mustAddr("127.0.0.1:1")) != nil {
		t.Error("Begin sent a chain's request")
	}
	if newDialer(t, Race, time.Second, url).Begin(mustAddr("127.0.0.1:1")) != nil {
		t.Error("Begin sent a request with no spares kept")
	}
}

// TestRaceFailureReanchors: an attempt started early because the one
// before failed at once (a refusing exit) anchors the schedule: the next
// exit is due a stagger after it, not two staggers after the first. Here
// the exit after the refusing one answers after 1.5 staggers, so the
// good exit wins only if it is asked one stagger after that exit.
func TestRaceFailureReanchors(t *testing.T) {
	const stagger = 200 * time.Millisecond
	echo := testnet.Echo(t).String()
	good := startExit(t, nil, nil)
	slow := startExitWith(t, nil, func(c *exit.Config) {
		c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			time.Sleep(stagger * 3 / 2)
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}
	})
	refusing := "socks5://alice:s3cret@" + closedAddr(t)
	var exits []*Exit
	for _, u := range []string{refusing, slow.url, good.url} {
		e, err := ParseExit(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		exits = append(exits, e)
	}
	d, err := New(Config{Exits: exits, Mode: Race, ConnectTimeout: 5 * time.Second, Stagger: stagger})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r, err := d.Dial(context.Background(), mustAddr(echo))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Conn.Close()
	if r.Exit != exits[2] {
		t.Errorf("won by %s, want the good exit, asked a stagger after the one that replaced the refusing exit", r.Exit.Name)
	}
}

// TestGeneralFailureFromOtherServers: microsocks answers a name it cannot
// resolve with a general failure. From a server that is not carrot exit
// (which says so only past its --max-conns), that is the destination's
// answer: the connect fails EHOSTUNREACH, as through carrot exit or Dante,
// the exit is not skipped for it, and no --max-conns hint is given.
func TestGeneralFailureFromOtherServers(t *testing.T) {
	bin, err := exec.LookPath("microsocks")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("microsocks missing in CI (.ci/install)")
		}
		t.Skip("SKIP: microsocks not installed (run .ci/install)")
	}
	addr := closedAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	ms := exec.Command(bin, "-i", host, "-p", port, "-u", "alice", "-P", "s3cret")
	if err := ms.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { ms.Process.Kill(); ms.Wait() }()
	waitFor(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	e, err := ParseExit("socks5://alice:s3cret@"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Spares, as carrot run keeps: their greeting finds it is not carrot
	// exit.
	d, err := New(Config{Exits: []*Exit{e}, Mode: Failover, Spares: true, ConnectTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	waitFor(t, func() bool { return d.isOtherServer(e) })
	for range 4 {
		_, err := d.Dial(context.Background(), socks5.Addr{Name: "no-such-host.invalid", Port: 80})
		wantErrno(t, err, syscall.EHOSTUNREACH)
		if strings.Contains(err.Error(), "max-conns") {
			t.Errorf("a hint for carrot exit about another server: %v", err)
		}
	}
	if d.Skipped(d.cfg.Exits[0]) {
		t.Error("the exit is skipped for names it cannot resolve")
	}
}

// slowListener delays each accepted connection's first read by delay: a
// client that far away, as the exit sees it.
type slowListener struct {
	net.Listener
	delay time.Duration
}

func (l slowListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &slowConn{Conn: c, delay: l.delay}, nil
}

type slowConn struct {
	net.Conn
	delay time.Duration
	once  sync.Once
}

func (c *slowConn) Read(p []byte) (int, error) {
	c.once.Do(func() { time.Sleep(c.delay) })
	return c.Conn.Read(p)
}

// TestTLSHandshakeBurst: a burst of connects through one TLS exit (a
// crawler, curl --parallel) all succeed. The exit closes a source's
// handshakes past its budget (64 not yet authenticated); the Dialer keeps
// at most maxHandshakes of its own in progress, and the rest wait.
func TestTLSHandshakeBurst(t *testing.T) {
	cert := selfSigned(t)
	echo := testnet.Echo(t).String()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	te := startExitOn(t, slowListener{ln, 30 * time.Millisecond}, &cert, nil)
	e, err := ParseExit(te.url+"?pin="+Pin(cert.Certificate[0]), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Exits: []*Exit{e}, Mode: Race, ConnectTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const n = 150
	errs := make(chan error, n)
	for range n {
		go func() {
			r, err := d.Dial(context.Background(), mustAddr(echo))
			if err == nil {
				r.Conn.Close()
			}
			errs <- err
		}()
	}
	failed := 0
	for range n {
		if err := <-errs; err != nil {
			if failed == 0 {
				t.Errorf("first failure: %v", err)
			}
			failed++
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d connects at once through a TLS exit failed", failed, n)
	}
}

// TestHandshakeQueueNotBlamed: an attempt whose time runs out while it
// waits for a handshake slot fails with ETIMEDOUT, and does not count
// against the exit, which it never asked. Two URLs of one server share
// the slots.
func TestHandshakeQueueNotBlamed(t *testing.T) {
	ex := startExit(t, nil, nil)
	d := newDialer(t, Failover, 300*time.Millisecond, ex.url, strings.Replace(ex.url, "alice:s3cret", "bob:other", 1))
	for range maxHandshakes {
		if _, err := d.handshakeSlot(context.Background(), d.cfg.Exits[1]); err != nil {
			t.Fatal(err)
		}
	}
	for range skipAfter + 1 {
		_, err := d.Dial(context.Background(), mustAddr(testnet.Echo(t).String()))
		wantErrno(t, err, syscall.ETIMEDOUT)
	}
	for _, e := range d.cfg.Exits {
		if d.health[e] != nil || d.Skipped(e) {
			t.Errorf("%s blamed for the queue: %+v", e.Name, d.health[e])
		}
	}
}
