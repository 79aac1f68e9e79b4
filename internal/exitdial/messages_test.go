package exitdial

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/exit"
	"github.com/carrot-project/carrot/internal/socks5"
	"github.com/carrot-project/carrot/internal/testnet"
)

// problems collects what Config.Problem hears.
type problems struct {
	mu   sync.Mutex
	seen []string
}

func (p *problems) add(exit string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, exit+": "+err.Error())
}

func (p *problems) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// dialTwice makes a dialer for url alone (no spares) and dials dest with
// it twice, returning the last error and what Problem heard.
func dialTwice(t *testing.T, url string, dest socks5.Addr) (error, []string) {
	t.Helper()
	e, err := ParseExit(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	var p problems
	d, err := New(Config{Exits: []*Exit{e}, ConnectTimeout: 5 * time.Second, Problem: p.add})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		var r Result
		if r, err = d.Dial(context.Background(), dest); err == nil {
			r.Conn.Close()
			t.Fatalf("%s: connected", url)
		}
	}
	t.Logf("%v", err)
	return err, p.list()
}

// TestCredentialsMismatch: an exit URL without credentials at an exit that
// requires them, and one with credentials at an exit that takes none, say
// so (once, to Config.Problem), rather than "server chose method 0xff".
func TestCredentialsMismatch(t *testing.T) {
	echo := mustAddr(testnet.Echo(t).String())
	withUsers := startExit(t, nil, nil)
	noUsers := startExitWith(t, nil, func(c *exit.Config) { c.Users = nil })
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{strings.Replace(withUsers.url, "alice:s3cret@", "", 1), []string{"requires a username and password, and none was given", "no user:pass@"}},
		{noUsers.url, []string{"does not take a username and password", "without user:pass@"}},
	} {
		err, probs := dialTwice(t, tc.url, echo)
		wantErrno(t, err, syscall.ENETUNREACH)
		if !errors.Is(err, socks5.ErrAuthFailed) {
			t.Errorf("%s: %v, want ErrAuthFailed", tc.url, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v; want it to say %q", tc.url, err, w)
			}
		}
		if len(probs) != 1 || !strings.Contains(probs[0], tc.want[0]) {
			t.Errorf("%s: problems %q, want one saying %q", tc.url, probs, tc.want[0])
		}
	}
}

// TestTLSClientAtPlainExit: a socks5+tls:// URL for a plain exit fails at
// once with a hint that its URL is socks5://, and the exit's log says a
// TLS handshake came to its plain listener.
func TestTLSClientAtPlainExit(t *testing.T) {
	plain := startExit(t, nil, nil)
	url := strings.Replace(plain.url, "socks5://", "socks5+tls://", 1) + "?pin=sha256:" + strings.Repeat("ab", 32)
	start := time.Now()
	err, probs := dialTwice(t, url, mustAddr(testnet.Echo(t).String()))
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("two dials took %v", el)
	}
	wantErrno(t, err, syscall.ENETUNREACH)
	const hint = "if it serves plain SOCKS5, its URL is socks5://"
	if !strings.Contains(err.Error(), hint) {
		t.Errorf("no hint that the exit speaks plain SOCKS5: %v", err)
	}
	if len(probs) != 1 || !strings.Contains(probs[0], hint) {
		t.Errorf("problems: %q, want one with the hint", probs)
	}
	waitFor(t, func() bool { return strings.Contains(plain.log.String(), "TLS handshake at a plain SOCKS5 listener") })
}

// TestExitAtMaxConns: an exit at its connection limit answers, and the
// client says the exit refused (general failure), with no hint about TLS;
// nothing is asked of the destination.
func TestExitAtMaxConns(t *testing.T) {
	echo := testnet.Echo(t).String()
	ex := startExitWith(t, nil, func(c *exit.Config) { c.MaxConns = 1 })
	// the one connection the exit allows, held open
	first, err := newDialer(t, Race, 5*time.Second, ex.url).Dial(context.Background(), mustAddr(echo))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Conn.Close()
	err, probs := dialTwice(t, ex.url, mustAddr(echo))
	var re *socks5.ReplyError
	if !errors.As(err, &re) || re.Reply != socks5.ReplyGeneralFailure {
		t.Fatalf("past the limit: %v; want a general failure reply", err)
	}
	// The exit's own failure, not an answer about the destination: the
	// program gets what a connect with no way out gets.
	wantErrno(t, err, syscall.ENETUNREACH)
	if AboutDest(err) {
		t.Errorf("past the limit: %v taken as the destination's answer", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "the exit refused") || !strings.Contains(msg, "--max-conns") || strings.Contains(msg, "tls") {
		t.Errorf("past the limit: %v", err)
	}
	if len(probs) != 1 || !strings.Contains(probs[0], "the exit refused") {
		t.Errorf("problems: %q, want one saying the exit refused", probs)
	}
	waitFor(t, func() bool { return strings.Count(ex.log.String(), "result=limit") == 2 })
	mustEcho(t, first.Conn)
}

// TestSpareAnsweredLate: a spare whose exit takes the request and closes
// the connection later, with no reply, is not asked again on a new
// connection: the exit may have been connecting to the destination all
// that time, and asking again would connect twice.
func TestSpareAnsweredLate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	requests := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if !acceptAuth(c) {
					return
				}
				if _, err := socks5.ReadRequest(c); err != nil {
					return
				}
				mu.Lock()
				requests++
				mu.Unlock()
				time.Sleep(300 * time.Millisecond) // "connecting", then gone
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
	waitFor(t, func() bool { d.mu.Lock(); defer d.mu.Unlock(); return d.spares[e] != nil })
	_, err = d.Dial(context.Background(), mustAddr(testnet.Echo(t).String()))
	if !errors.Is(err, io.EOF) {
		t.Errorf("err %v, want the exit's EOF", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if requests != 1 {
		t.Errorf("the exit was asked %d times, want once", requests)
	}
}

// TestClosedByPeer: a spare the exit has closed is known before it is
// used (its state is CLOSE_WAIT).
func TestClosedByPeer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if closedByPeer(c) {
		t.Fatal("open connection taken as closed")
	}
	s.Close()
	waitFor(t, func() bool { return closedByPeer(c) })
}
