package exitdial

import (
	"context"
	"crypto/tls"
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
// dialer's own cancellation, or a kind already reported for that exit. A
// general failure reply is the exit's problem though it came as the
// answer to a request (socks5.Reply.AboutDest). d.mu must not be held.
//
// An exit that rejected its credentials is also remembered as refused: it
// is not asked again (refusedAny), so a wrong password costs one failure
// at the exit, not one per connect and spare. Each would count towards the
// exit's guessing throttle (carrot exit makes a name's next checks wait,
// up to 5 s, after 3 failures), which would slow the user's next run,
// with the right password, too.
func (d *Dialer) problem(err error) {
	var ae *AttemptError
	if !errors.As(err, &ae) || ae.Dest || errors.Is(err, context.Canceled) {
		return
	}
	key := problemKey{ae.Exit, cause(ae.Err)}
	if OutOfDescriptors(err) {
		key = problemKey{"", "descriptors"} // carrot's own: once, whichever exit met it
	}
	d.mu.Lock()
	if errors.Is(err, socks5.ErrAuthFailed) && d.refused[ae.Exit] == nil {
		d.refused[ae.Exit] = err
	}
	seen := d.reported[key] || d.closed
	d.reported[key] = true
	d.mu.Unlock()
	if !seen && d.cfg.Problem != nil {
		d.cfg.Problem(ae.Exit, err)
	}
}

// refusedAny is the failure of the first of hops that rejected its
// credentials in this Dialer's life (problem), or nil.
func (d *Dialer) refusedAny(hops []*Exit) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range hops {
		if err := d.refused[e.Name]; err != nil {
			return err
		}
	}
	return nil
}

// generalFailure reports whether err is a "general SOCKS server failure"
// reply.
func generalFailure(err error) bool {
	var re *socks5.ReplyError
	return errors.As(err, &re) && re.Reply == socks5.ReplyGeneralFailure
}

// cause names the kind of an exit's failure.
func cause(err error) string {
	var dnsErr *net.DNSError
	var te *tlsError
	switch {
	case generalFailure(err):
		return "general-failure"
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
	if !strings.HasPrefix(msg, "tls: ") { // else crypto/tls says so itself
		msg = "tls: " + msg
	}
	var rh tls.RecordHeaderError
	switch {
	case errors.As(e.err, &rh):
		// What a plain SOCKS5 server does with a ClientHello: it answers
		// in SOCKS5...
		msg += " (the exit did not answer the TLS handshake in TLS: if it serves plain SOCKS5, its URL is socks5://)"
	case socks5.PeerClosed(e.err):
		// ...or closes (carrot exit, at the version byte); a TLS exit
		// closes too when it has too many handshakes in progress.
		msg += " (the exit closed the connection during the TLS handshake: if it serves plain SOCKS5, its URL is socks5://; else it may be at its limit of handshakes in progress)"
	}
	return msg
}

func (e *tlsError) Unwrap() error { return e.err }

// hint adds to err, e's failure in the SOCKS5 handshake, what it
// probably means for e's URL:
//
//   - e, a plain socks5:// exit, closed the connection instead of
//     answering the greeting: what a socks5+tls exit does (carrot exit at
//     once, other TLS servers when their handshake times out); a reset
//     there is also what carrot exit did, before it answered them, to
//     connections past its --max-conns;
//   - e wants credentials and the URL (and the netrc, and the environment)
//     gave none, or the other way round;
//   - e answered a request with a general failure, which is what carrot
//     exit does past its --max-conns, and what other servers (otherServer:
//     e is known not to be carrot exit) answer for a destination they
//     cannot resolve or reach.
func hint(e *Exit, err error, otherServer bool) error {
	switch {
	case e.TLS == nil && socks5.ClosedAtGreeting(err) && errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("%w (the exit reset the connection at the SOCKS5 greeting: it may be refusing connections, or, if it serves SOCKS5 inside TLS, its URL is socks5+tls://)", err)
	case e.TLS == nil && socks5.ClosedAtGreeting(err):
		return fmt.Errorf("%w (the exit closed the connection at the SOCKS5 greeting: if it serves SOCKS5 inside TLS, its URL is socks5+tls://)", err)
	case errors.Is(err, socks5.ErrAuthRequired):
		return fmt.Errorf("%w (the URL has no user:pass@, and no netrc entry or CARROT_EXIT_USER gave one)", err)
	case errors.Is(err, socks5.ErrUserPassRefused):
		return fmt.Errorf("%w (it may need none: then give its URL without user:pass@, and no netrc entry or CARROT_EXIT_USER for it)", err)
	case generalFailure(err) && otherServer:
		return fmt.Errorf("%w (some servers, microsocks among them, answer so for a destination they cannot resolve or reach)", err)
	case generalFailure(err):
		return fmt.Errorf("the exit refused: %w (carrot exit answers so when it has --max-conns connections open)", err)
	}
	return err
}
