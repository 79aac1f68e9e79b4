package exitdial

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/carrot-project/carrot/internal/socks5"
)

// Problems. A connect that no exit carries fails with the errno a direct
// connect would give, which says nothing of why: a wrong password, an exit
// name that does not resolve, a certificate that fails verification all
// look like ENETUNREACH to the program. Config.Problem hears of each exit's
// own failures, once per exit and kind (cause), from every path that talks
// to an exit: attempts in every mode, spares, and DialOver.

// problemKey is one exit's kind of failure.
type problemKey struct {
	exit  string
	cause string
}

// problem passes err, an attempt's failure (an *AttemptError naming the
// exit), to Config.Problem unless it is the destination's answer, the
// dialer's own cancellation, or a kind already reported for that exit.
// d.mu must not be held.
func (d *Dialer) problem(err error) {
	var ae *AttemptError
	if d.cfg.Problem == nil || !errors.As(err, &ae) || ae.Dest || errors.Is(err, context.Canceled) {
		return
	}
	key := problemKey{ae.Exit, cause(ae.Err)}
	d.mu.Lock()
	seen := d.reported[key] || d.closed
	d.reported[key] = true
	d.mu.Unlock()
	if !seen {
		d.cfg.Problem(ae.Exit, err)
	}
}

// cause names the kind of an exit's failure.
func cause(err error) string {
	var dnsErr *net.DNSError
	var te *tlsError
	switch {
	case errors.Is(err, socks5.ErrAuthFailed):
		return "auth"
	case errors.As(err, &dnsErr):
		return "resolve"
	case errors.As(err, &te):
		return "tls"
	case socks5.ClosedAtGreeting(err):
		return "closed-at-greeting"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "unreachable"
	case isTimeout(err):
		return "timeout"
	case socks5.PeerClosed(err):
		return "closed"
	}
	return "other"
}

// tlsError is a TLS handshake with an exit that failed.
type tlsError struct{ err error }

func (e *tlsError) Error() string {
	msg := e.err.Error()
	if strings.HasPrefix(msg, "tls: ") {
		return msg // crypto/tls says so itself
	}
	return "tls: " + msg
}

func (e *tlsError) Unwrap() error { return e.err }

// hintTLS adds a hint to err when e, a plain socks5:// exit, closed the
// connection instead of answering the greeting: what a socks5+tls exit does
// (carrot exit at once, other TLS servers when their handshake times out).
func hintTLS(e *Exit, err error) error {
	if e.TLS != nil || !socks5.ClosedAtGreeting(err) {
		return err
	}
	return fmt.Errorf("%w (the exit closed the connection at the SOCKS5 greeting: if it serves SOCKS5 inside TLS, its URL is socks5+tls://)", err)
}
