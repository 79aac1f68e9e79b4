// Package exit is the exit node (`carrot exit`): a SOCKS5 server, optionally
// inside TLS, that carries clients' TCP streams to the destinations they ask
// for, and is never an open proxy.
//
// One connection goes through these steps, each bounded in time:
//
//  1. accept, within the budget of handshakes not yet authenticated
//     (beginHandshake: 1024 in all, 64 from one source, the heaviest
//     network's oldest closed for a newcomer when full), past which the
//     connection is closed at once (logged as result=limit);
//  2. TLS handshake when the server has a certificate (socks5+tls://);
//  3. the SOCKS5 handshake (internal/socks5): username/password required
//     unless the server was built without users, which cmd/carrot allows
//     only on loopback listen addresses; an authenticated connection counts
//     in MaxConns, and past it its request is answered with a general
//     failure (result=limit), so that the client knows the exit is refusing;
//  4. the destination is resolved here, at the exit, when it is a name (a
//     name that is an IP literal is taken as that IP), so the client's DNS
//     never sees it; answers are kept for NameTTL (names.go);
//  5. every resolved address is checked against the Policy; the denied ones
//     are left out, and the request is refused ("not allowed by ruleset")
//     when none is left. A name whose answer mixes allowed and denied
//     addresses (a DNS-rebinding attempt, or just a dual-stack name where
//     the operator denies IPv6) reaches only the allowed ones. Where the
//     exit cannot apply the rules (its own-address lookup failed: out of
//     file descriptors), that is its own failure, not a refusal: answered
//     with a general failure (result=failed), as past MaxConns;
//  6. the allowed addresses — and only those, never the name again, so a
//     second resolution cannot swap in a private address — are dialed
//     Happy-Eyeballs style (RFC 8305: staggered by 250ms, the first to
//     connect wins) within DialTimeout; on failure the SOCKS5 reply code is
//     chosen from the most telling dial error (refused, then host and
//     network unreachable, then TTL expired for a timeout);
//  7. on success the stream is relayed (internal/relay: splice, half-close,
//     an idle timeout read from the kernel's TCP counters).
//
// Each connection ends with exactly one log line: who (user, client
// address), where (requested destination and the address dialed), bytes each
// way, duration and the outcome.
package exit

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/carrot-project/carrot/internal/relay"
	"github.com/carrot-project/carrot/internal/socks5"
	"golang.org/x/sys/unix"
)

// Resolver resolves names; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DefaultIdleTimeout closes a connection quiet both ways this long: two
// hours, the kernel's default TCP keepalive time, so that an idle ssh or
// database session is not cut where it would live without the exit.
const DefaultIdleTimeout = 2 * time.Hour

// Config is an exit's configuration. The zero values of the durations and
// limits take the defaults named beside them.
type Config struct {
	// Users are the accounts that may connect. Empty means no
	// authentication, which the caller must allow only on loopback.
	// SetUsers replaces them while the server runs.
	Users Users
	// Policy decides which destinations may be reached; nil means
	// NewPolicy(nil, nil, IsLocalTo): the default denies and the host's
	// own addresses.
	Policy *Policy
	// TLS, when set, makes the server speak SOCKS5 inside TLS.
	TLS *tls.Config

	Resolver Resolver                                                          // default net.DefaultResolver
	Dial     func(ctx context.Context, network, addr string) (net.Conn, error) // default a net.Dialer that connects early (sock.go)

	// NameTTL is how long a resolved name is kept (see names.go); default
	// 5s, <0 resolves every request afresh.
	NameTTL time.Duration

	HandshakeTimeout time.Duration // TLS + SOCKS5 handshake; default 10s
	DialTimeout      time.Duration // resolution + dialing; default 10s
	IdleTimeout      time.Duration // no byte either way; default DefaultIdleTimeout; <0 disables
	MaxConns         int           // concurrent connections; default 1024

	Log *slog.Logger // one line per connection; default slog.Default()
}

// Server is a running exit.
type Server struct {
	cfg    Config
	names  *nameCache   // nil: NameTTL < 0
	active atomic.Int64 // requests being served, within MaxConns

	auth  bool                  // clients must authenticate (Config.Users was not empty)
	users atomic.Pointer[Users] // the accounts, replaced whole by SetUsers

	hsMu       sync.Mutex
	hsLimit    int                       // handshakes at once: maxHandshakes, or MaxConns if more
	handshakes int                       // in progress (beginHandshake)
	hsFrom     map[netip.Addr]int        // in progress, by source
	hsPending  map[netip.Addr][]*pending // in progress, by network, oldest first

	guesses guesses // recent credential failures, by source
}

// New checks cfg and fills in defaults.
func New(cfg Config) (*Server, error) {
	if cfg.Policy == nil {
		cfg.Policy = NewPolicy(nil, nil, IsLocalTo)
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Dial == nil {
		cfg.Dial = dial
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.IdleTimeout < 0 {
		cfg.IdleTimeout = 0
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 1024
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.TLS != nil && len(cfg.TLS.Certificates) == 0 && cfg.TLS.GetCertificate == nil {
		return nil, errors.New("exit: TLS configured without a certificate")
	}
	if cfg.NameTTL == 0 {
		cfg.NameTTL = 5 * time.Second
	}
	s := &Server{cfg: cfg, hsLimit: max(cfg.MaxConns, maxHandshakes), hsFrom: map[netip.Addr]int{}, hsPending: map[netip.Addr][]*pending{}}
	s.auth = len(cfg.Users) > 0
	s.users.Store(&cfg.Users)
	if cfg.NameTTL > 0 {
		s.names = newNameCache(cfg.Resolver, cfg.NameTTL)
	}
	return s, nil
}

// Serve accepts connections on ln until ctx is done or ln fails; it then
// closes ln and every connection still open, and waits for their handlers.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close()
	var failing acceptFailures
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				failing.failed(s.cfg.Log, err, time.Now())
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(ctx, c)
		}()
	}
}

// acceptFailures keeps the log of an accept loop out of file descriptors
// short (it retries every 100ms): the first failure is logged, then at
// most one line every acceptLogEvery, which says how many failed since
// the line before.
type acceptFailures struct {
	logged time.Time // when the last line was written
	n      int       // failures since, not logged
}

func (a *acceptFailures) failed(log *slog.Logger, err error, now time.Time) {
	switch {
	case a.logged.IsZero():
		log.Warn("accept", "err", err)
	case now.Sub(a.logged) >= acceptLogEvery:
		log.Warn("accept", "err", err, "failures", a.n+1, "since", a.logged.Format(time.RFC3339))
	default:
		a.n++
		return
	}
	a.logged, a.n = now, 0
}

// acceptLogEvery is how often a failing accept loop logs at most.
const acceptLogEvery = time.Minute

// SetUsers replaces the accounts for the handshakes to come; those done
// (relays, a client's spare waiting for its request) are not touched. A
// server built without users (no authentication) cannot be given some,
// nor can one with users be left without.
func (s *Server) SetUsers(u Users) error {
	switch {
	case !s.auth:
		return errors.New("exit: the server runs without authentication")
	case len(u) == 0:
		return errors.New("exit: no users")
	}
	s.users.Store(&u)
	return nil
}

// Active is the number of authenticated connections, waiting for their
// request or being served (dialing or relaying), which MaxConns bounds;
// handshakes before authentication are not counted (Handshakes).
func (s *Server) Active() int64 { return s.active.Load() }

// Handshakes is the number of connections in their handshake (before a
// request), which have a budget of their own (beginHandshake).
func (s *Server) Handshakes() int {
	s.hsMu.Lock()
	defer s.hsMu.Unlock()
	return s.handshakes
}

// outcome of a connection, for the log line.
type record struct {
	start    time.Time
	client   string
	user     string
	dest     string
	addr     string
	up, down int64
	result   string
	err      error
}

func (s *Server) handle(ctx context.Context, c net.Conn) {
	r := &record{start: time.Now(), client: c.RemoteAddr().String()}
	defer func() { s.logRecord(r) }()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	hs, err := s.beginHandshake(c)
	if err != nil {
		c.Close()
		r.result, r.err = "limit", err
		return
	}
	src := hs.src
	// An authenticated client leaves the handshakes' budget at once and
	// counts in MaxConns from then on, waiting for its request or not (a
	// carrot run's spare): the budget is for clients not yet known.
	inHandshake, counted := true, false
	leave := func() {
		if inHandshake {
			inHandshake = false
			s.endHandshake(hs)
		}
	}
	authed := func() {
		if s.active.Add(1) > int64(s.cfg.MaxConns) {
			// Full: it stays in the unauthenticated budget (bounded per
			// source), and its request is answered with the failure.
			s.active.Add(-1)
			return
		}
		leave()
		counted = true
	}
	conn, hc, req, ok := s.handshake(ctx, c, r, src, s.cfg.HandshakeTimeout, authed)
	leave()
	if !ok {
		if counted {
			s.active.Add(-1)
		}
		if s.wasEvicted(hs) {
			r.result = "limit"
			r.err = fmt.Errorf("closed in its handshake to admit another: the clients not yet authenticated filled their budget, and its network held the most of them (%v)", r.err)
		}
		return
	}
	r.dest = req.Dest.String()
	if !counted {
		s.active.Add(1) // no authentication: counted from its request
	}
	if s.active.Load() > int64(s.cfg.MaxConns) {
		// Answered, not cut off: the client learns that the exit is
		// refusing, rather than meet a connection closed at its request,
		// which looks like a broken exit.
		s.active.Add(-1)
		r.result = "limit"
		r.err = fmt.Errorf("%d connections open (--max-conns): answered %v", s.cfg.MaxConns, socks5.ReplyGeneralFailure)
		c.SetWriteDeadline(time.Now().Add(replyTimeout))
		socks5.WriteReply(hc, socks5.ReplyGeneralFailure, socks5.Addr{})
		if err := hc.Flush(); err != nil {
			r.err = notSent(r.err, err)
		}
		conn.Close()
		return
	}
	defer s.active.Add(-1)
	// The handshake timeout covers the handshake only: the destination has
	// DialTimeout of its own, and the reply its own deadline (replyTimeout)
	// once the outcome is known. (Left in place, the handshake's deadline
	// would pass during a slow dial, and the failure reply that ends it
	// could not be sent: the client would see the connection closed.)
	c.SetDeadline(time.Time{})

	// The answers so far (method choice, auth status) wait to leave with
	// the reply, in one segment, but only for answerHold: a client that
	// has them knows its request is being worked on, and takes a timeout
	// after them for the destination's, not the exit's.
	hold := time.AfterFunc(answerHold, func() { hc.Flush() })
	dctx, gone := context.WithCancelCause(ctx)
	unwatch := watchReset(c, func() { gone(errClientReset) })
	out, rep, reason := s.connect(dctx, req.Dest, r)
	unwatch()
	hold.Stop()
	if context.Cause(dctx) == errClientReset {
		// The client gave up (carrot run abandons a request it takes
		// another way): the dial was cancelled, nobody is left to answer.
		if out != nil {
			out.Close()
		}
		conn.Close()
		r.result, r.err = "client-gone", errClientReset
		return
	}
	c.SetWriteDeadline(time.Now().Add(replyTimeout))
	if out == nil {
		socks5.WriteReply(hc, rep, socks5.Addr{})
		if err := hc.Flush(); err != nil {
			r.err = notSent(r.err, err)
		}
		conn.Close()
		r.result = reason
		if ctx.Err() != nil {
			r.result = "shutdown" // the exit stopped while it dialed
		}
		return
	}
	bound := socks5.Addr{}
	if ap, err := netip.ParseAddrPort(out.LocalAddr().String()); err == nil {
		bound = socks5.AddrFromAddrPort(ap)
	}
	socks5.WriteReply(hc, socks5.ReplySucceeded, bound)
	if err := hc.Flush(); err != nil {
		conn.Close()
		out.Close()
		r.result, r.err = "client-gone", notSent(nil, err)
		return
	}
	c.SetDeadline(time.Time{})
	keepAlive(c)
	keepAlive(out)
	// Bytes the client sent before the reply go first.
	early := hc.early()
	if len(early) > 0 {
		if _, err := out.Write(early); err != nil {
			conn.Close()
			out.Close()
			r.result, r.err = "ok", err
			return
		}
	}
	// On shutdown (ctx) the relay closes both connections: a client that
	// half-closed no longer holds the exit open for a silent destination.
	st, err := relay.PipeContext(ctx, conn, out, s.cfg.IdleTimeout)
	r.up, r.down = int64(len(early))+st.AToB, st.BToA
	switch {
	case errors.Is(err, relay.ErrIdle):
		r.result = "idle"
	case err != nil && ctx.Err() != nil:
		r.result = "shutdown"
	case err != nil:
		r.result, r.err = "ok", err // the stream ran; how it ended is in err
	default:
		r.result = "ok"
	}
}

// handshake runs the TLS (if configured) and SOCKS5 handshakes on c within
// timeout. On success it returns the connection to speak SOCKS5 on (c, or
// TLS over it), the handshake's buffered view of it and the request, with
// c's deadline still set; on failure it has closed c and filled in r.
func (s *Server) handshake(ctx context.Context, c net.Conn, r *record, src netip.Addr, timeout time.Duration, authed func()) (net.Conn, *handshakeConn, socks5.Request, bool) {
	deadline := time.Now().Add(timeout)
	c.SetDeadline(deadline)
	conn := c
	if s.cfg.TLS != nil {
		// A client speaking plain SOCKS5 to this TLS listener would wait
		// for the handshake timeout: its greeting is turned away at once.
		pc, err := peek(c)
		if err != nil {
			c.Close()
			r.result, r.err = closedOrTimeout(err, "tls-failed"), err
			return nil, nil, socks5.Request{}, false
		}
		if pc.ahead[0] == socks5.Version {
			c.Close()
			r.result, r.err = "not-tls", errors.New("a plain SOCKS5 greeting at a SOCKS5-in-TLS listener")
			return nil, nil, socks5.Request{}, false
		}
		tc := tls.Server(pc, s.cfg.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			r.result, r.err = "tls-failed", err
			return nil, nil, socks5.Request{}, false
		}
		conn = tc
	}
	var auth func(u, p string) bool
	if s.auth {
		auth = func(u, p string) bool {
			if d := min(s.guesses.delay(src, u, time.Now()), time.Until(deadline)); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					// Stopping: the password was not judged, so no status
					// says it was wrong (a client would stop using a
					// right one).
					c.Close()
					return false
				}
			}
			if !s.users.Load().Check(u, p) {
				s.guesses.failed(src, u, time.Now())
				return false
			}
			s.guesses.passed(src, u)
			authed()
			return true
		}
	}
	hc := newHandshakeConn(conn)
	if s.cfg.TLS == nil {
		// A TLS client (socks5+tls://) at this plain listener: its
		// ClientHello fails as a greeting too, but the log says which.
		if b, err := hc.r.Peek(1); err == nil && b[0] == tlsHandshake {
			conn.Close()
			r.result, r.err = "bad-request", errors.New("a TLS handshake at a plain SOCKS5 listener (the client's URL says socks5+tls://, this exit has no --tls-cert)")
			return nil, nil, socks5.Request{}, false
		}
	}
	user, req, err := socks5.ServerHandshake(hc, auth)
	r.user = user
	if err != nil {
		if ferr := hc.Flush(); ferr != nil && !socks5.PeerClosed(err) && !errors.Is(err, os.ErrDeadlineExceeded) {
			err = notSent(err, ferr) // a refusal the handshake wrote
		}
		conn.Close()
		r.err = err
		if errors.Is(err, socks5.ErrUnsupportedCommand) {
			r.dest = req.Dest.String() // read whole: BIND, UDP ASSOCIATE
		}
		switch {
		case errors.Is(err, socks5.ErrNoAcceptableMethod):
			r.result = "no-auth"
		case errors.Is(err, socks5.ErrAuthFailed):
			r.result = "auth-failed"
		default:
			r.result = closedOrTimeout(err, "bad-request")
		}
		return nil, nil, socks5.Request{}, false
	}
	return conn, hc, req, true
}

// pending is a connection in its handshake, before authentication.
type pending struct {
	c       net.Conn
	src     netip.Addr // its source: an IPv4 address, an IPv6 /64
	group   netip.Addr // its network: an IPv4 address, an IPv6 /48
	evicted bool       // closed to admit another (beginHandshake)
}

// beginHandshake admits c to its handshake, within the budget of
// connections not yet authenticated: maxHandshakes (or MaxConns if more)
// in all and maxHandshakesFrom from one source (an IPv4 address, an IPv6
// /64). They are budgeted apart from the authenticated ones (MaxConns), so
// that clients that connect and never authenticate cannot lock out one
// that does. When the whole budget is taken, the oldest handshake of the
// network holding the most (an IPv4 address, an IPv6 /48) is closed to
// admit c, if that network holds more than c's: many sources filling the
// budget (16 addresses at 64 each, or an IPv6 /48's many /64s) cannot
// keep a newcomer from elsewhere out. Otherwise c is refused; it is closed
// at once either way. endHandshake ends what this returns.
func (s *Server) beginHandshake(c net.Conn) (*pending, error) {
	p := &pending{c: c}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		p.src, p.group = ap.Addr().Unmap().WithZone(""), ap.Addr().Unmap().WithZone("")
		if p.src.Is6() {
			p.src = netip.PrefixFrom(p.src, 64).Masked().Addr()
			p.group = netip.PrefixFrom(p.group, 48).Masked().Addr()
		}
	}
	s.hsMu.Lock()
	defer s.hsMu.Unlock()
	if s.auth && s.hsFrom[p.src] >= maxHandshakesFrom {
		// (without users, the exit listens on loopback only: every
		// client is local, one source, and already trusted)
		return nil, fmt.Errorf("%d handshakes in progress from %s: closed", s.hsFrom[p.src], p.src)
	}
	if s.handshakes >= s.hsLimit {
		var heavy netip.Addr
		for g, ps := range s.hsPending {
			if len(ps) > len(s.hsPending[heavy]) {
				heavy = g
			}
		}
		if len(s.hsPending[heavy]) <= len(s.hsPending[p.group]) {
			return nil, fmt.Errorf("%d handshakes in progress: closed", s.handshakes)
		}
		victim := s.hsPending[heavy][0]
		victim.evicted = true
		s.dropLocked(victim)
		victim.c.Close()
	}
	s.handshakes++
	s.hsFrom[p.src]++
	s.hsPending[p.group] = append(s.hsPending[p.group], p)
	return p, nil
}

// endHandshake ends p's place in the budget (beginHandshake), if it still
// has one.
func (s *Server) endHandshake(p *pending) {
	s.hsMu.Lock()
	defer s.hsMu.Unlock()
	if !p.evicted {
		s.dropLocked(p)
	}
}

// wasEvicted reports whether p was closed to admit another.
func (s *Server) wasEvicted(p *pending) bool {
	s.hsMu.Lock()
	defer s.hsMu.Unlock()
	return p.evicted
}

// dropLocked takes p out of the budget; s.hsMu is held.
func (s *Server) dropLocked(p *pending) {
	ps := s.hsPending[p.group]
	i := slices.Index(ps, p)
	if i < 0 {
		return
	}
	if ps = slices.Delete(ps, i, i+1); len(ps) == 0 {
		delete(s.hsPending, p.group)
	} else {
		s.hsPending[p.group] = ps
	}
	s.handshakes--
	if s.hsFrom[p.src]--; s.hsFrom[p.src] <= 0 {
		delete(s.hsFrom, p.src)
	}
}

// notSent adds to err (which may be nil) that an answer to the client could
// not be written, and why.
func notSent(err, werr error) error {
	if err == nil {
		return fmt.Errorf("reply not sent: %w", werr)
	}
	return fmt.Errorf("%w; reply not sent: %v", err, werr)
}

// connect resolves, checks and dials dest. On failure it returns the reply
// code for the client and the log outcome.
func (s *Server) connect(ctx context.Context, dest socks5.Addr, r *record) (out net.Conn, rep socks5.Reply, reason string) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	defer cancel()
	dialed := false // the addresses passed the policy and were dialed
	var addrs []netip.Addr
	if dest.IsName() {
		if ip, err := netip.ParseAddr(dest.Name); err == nil {
			addrs = []netip.Addr{ip}
		} else {
			// An answer none of whose addresses could be reached is not
			// kept (one the policy refused is: asking again changes
			// nothing, and one whose dial the client cancelled, by going
			// away or taking another exit, was not found wanting).
			defer func() {
				if out == nil && dialed && s.names != nil && !errors.Is(ctx.Err(), context.Canceled) {
					s.names.forget(nameNetwork, dest.Name)
				}
			}()
			addrs, err = s.lookup(ctx, dest.Name)
			if err != nil || len(addrs) == 0 {
				if err == nil {
					err = errors.New("no addresses")
				}
				r.err = err
				return nil, socks5.ReplyFor(err), "resolve-failed"
			}
			for i := range addrs {
				addrs[i] = addrs[i].Unmap()
			}
		}
	} else {
		addrs = []netip.Addr{dest.IP}
	}
	var (
		allowed  []netip.Addr
		checkErr error // the exit's own failure to apply the rules
	)
	for _, a := range addrs {
		ok, why, err := s.cfg.Policy.Check(a, dest.Port)
		switch {
		case ok:
			allowed = append(allowed, a)
		case err != nil && checkErr == nil:
			checkErr = fmt.Errorf("%s: %s: %w", a, why, err)
		case err == nil && r.err == nil:
			r.addr = net.JoinHostPort(a.Unmap().String(), fmt.Sprint(dest.Port))
			r.err = fmt.Errorf("%s denied: %s", a, why)
		}
	}
	if len(allowed) == 0 && checkErr != nil {
		// Not the destination's fault, nor a refusal: the exit's own
		// (out of file descriptors, say), answered as past --max-conns,
		// so that the client takes it as the exit's and goes elsewhere.
		r.addr, r.err = "", checkErr
		return nil, socks5.ReplyGeneralFailure, "failed"
	}
	if len(allowed) == 0 {
		return nil, socks5.ReplyNotAllowed, "denied"
	}
	r.addr, r.err = "", nil
	addrs = allowed
	dialed = true
	targets := make([]string, len(addrs))
	for i, a := range addrs {
		targets[i] = netip.AddrPortFrom(a, dest.Port).String()
	}
	res := s.eyeballs(ctx, context.Background(), targets, nil)
	r.addr = res.target
	if res.err != nil {
		r.err = res.err
		rep := socks5.ReplyFor(res.err)
		return nil, rep, failureName(rep)
	}
	return res.conn, socks5.ReplySucceeded, "ok"
}

// attempt is the outcome of dialing one address.
type attempt struct {
	target string
	conn   net.Conn
	err    error
}

// eyeballs dials targets Happy Eyeballs style (RFC 8305): targets[0] right
// here, with no goroutine, since it usually connects or fails at once and
// a hand-off between goroutines costs more than the dial (0.1–0.2 ms on a
// VM whose idle vCPUs must be woken); the rest, the same way, in a
// goroutine if targets[0] is still pending after fallbackDelay (racing it:
// the first connection wins, and won, if set, is called so that whoever
// raced this call gives up), or here once it fails. hurry, when it ends,
// makes the rest start at once (the attempt before this call failed). On
// failure the most telling error (Reply.Rank) is kept.
func (s *Server) eyeballs(ctx, hurry context.Context, targets []string, won func()) attempt {
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		over     bool         // the first attempt ended: the rest start here
		rest     chan attempt // the rest, racing, once started
		stopRest context.CancelFunc
		failed   context.Context // ends when the first attempt fails: the rest hurry
		fail     context.CancelFunc
	)
	if len(targets) > 1 {
		t := time.AfterFunc(fallbackDelay, func() {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case over:
				return
			case rest != nil: // hurried after the rest started: it hurries
				fail()
				return
			}
			var rctx context.Context
			rctx, stopRest = context.WithCancel(ctx)
			failed, fail = context.WithCancel(context.Background())
			rest = make(chan attempt, 1)
			go func() { rest <- s.eyeballs(rctx, failed, targets[1:], cancel) }()
		})
		defer t.Stop()
		stop := context.AfterFunc(hurry, func() { t.Reset(0) })
		defer stop()
	}
	c, err := s.cfg.Dial(fctx, "tcp", targets[0])
	res := attempt{targets[0], c, err}
	mu.Lock()
	over = true
	mu.Unlock()
	switch {
	case rest != nil && err == nil:
		stopRest()
		fail()
		go func() { // the rest lost; close what still connects
			if l := <-rest; l.conn != nil {
				l.conn.Close()
			}
		}()
	case rest != nil:
		fail() // the next attempt starts now, not at its stagger
		res = better(res, <-rest)
		stopRest()
	case len(targets) > 1 && err != nil:
		res = better(res, s.eyeballs(ctx, context.Background(), targets[1:], nil))
	}
	if res.conn != nil && won != nil {
		won()
	}
	return res
}

// better returns b if it connected or failed more tellingly than a.
func better(a, b attempt) attempt {
	if a.conn == nil && (b.conn != nil || socks5.ReplyFor(b.err).Rank() > socks5.ReplyFor(a.err).Rank()) {
		return b
	}
	return a
}

// nameNetwork is what names are resolved for: both families.
const nameNetwork = "ip"

// lookup resolves name, through the cache when there is one.
func (s *Server) lookup(ctx context.Context, name string) ([]netip.Addr, error) {
	if s.names != nil {
		return s.names.LookupNetIP(ctx, nameNetwork, name)
	}
	return s.cfg.Resolver.LookupNetIP(ctx, nameNetwork, name)
}

// tlsHandshake is the first byte of a TLS ClientHello (the record type).
const tlsHandshake = 0x16

// replyTimeout is how long the reply to a request may take to leave: the
// client has sent its request and is waiting for it.
const replyTimeout = 5 * time.Second

// maxHandshakes is how many handshakes may be in progress at once, and
// maxHandshakesFrom how many from one source (beginHandshake): enough for
// dozens of carrot runs behind one address, each holding a spare, and for
// a browser's burst.
const (
	maxHandshakes     = 1024
	maxHandshakesFrom = 64
)

// answerHold is how long the answers to a pipelined greeting and
// credentials wait for the reply before they are sent alone.
const answerHold = time.Millisecond

// fallbackDelay is the Happy Eyeballs delay between attempts at a name's
// addresses (Go's net.Dialer uses 300ms).
const fallbackDelay = 250 * time.Millisecond

// closedOrTimeout names the outcome of a connection whose handshake ended
// with err: the client closed it cleanly before any request (a client's
// spare connection that was not needed: no-request), went away (a reset:
// client-gone), was too slow (handshake-timeout), or was closed by the
// exit stopping (a spare still waiting: shutdown); else other.
func closedOrTimeout(err error, other string) string {
	switch {
	case errors.Is(err, io.EOF):
		return "no-request"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return other // cut short mid-message
	case socks5.PeerClosed(err):
		return "client-gone"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "handshake-timeout"
	case errors.Is(err, net.ErrClosed):
		return "shutdown" // the exit closed it, stopping (a client's idle spare)
	}
	return other
}

func failureName(r socks5.Reply) string {
	switch r {
	case socks5.ReplyConnRefused:
		return "refused"
	case socks5.ReplyHostUnreachable:
		return "host-unreachable"
	case socks5.ReplyNetUnreachable:
		return "net-unreachable"
	case socks5.ReplyTTLExpired:
		return "timeout"
	case socks5.ReplyNotAllowed:
		return "denied"
	default:
		return "failed"
	}
}

func (s *Server) logRecord(r *record) {
	attrs := []any{
		"client", r.client,
		"user", orDash(r.user),
		"dest", orDash(r.dest),
		"addr", orDash(r.addr),
		"up", r.up,
		"down", r.down,
		"dur", time.Since(r.start).Round(time.Microsecond),
		"result", r.result,
	}
	if r.err != nil && !errors.Is(r.err, io.EOF) {
		attrs = append(attrs, "err", strings.TrimPrefix(r.err.Error(), "socks5: "))
	}
	s.cfg.Log.Info("conn", attrs...)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errClientReset: the client reset its connection while the exit was
// connecting to the destination for it.
var errClientReset = errors.New("the client reset the connection while the destination was being dialed")

// watchReset calls reset if the client's connection c is reset (RST) while
// the exit connects to the destination for it, so that the dial is
// cancelled rather than finished for nobody: carrot run abandons a request
// it no longer waits for (a signal for the program, a race lost) by
// resetting it, and the destination would otherwise be reached twice. It
// only peeks (MSG_PEEK): bytes the client sends early stay for the
// destination, and a FIN (a client that half-closes after its request) is
// no reset. The watch starts only once the dial has taken watchAfter, so
// that the usual quick dial costs no goroutine and no wake-up. The
// returned stop ends it, and must be called before c is read again.
func watchReset(c net.Conn, reset func()) (stop func()) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return func() {}
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return func() {}
	}
	var mu sync.Mutex
	stopped, started := false, false
	done := make(chan struct{})
	t := time.AfterFunc(watchAfter, func() {
		mu.Lock()
		if stopped {
			mu.Unlock()
			return
		}
		started = true
		mu.Unlock()
		defer close(done)
		var b [1]byte
		raw.Read(func(fd uintptr) bool {
			n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
			switch {
			case err == unix.EAGAIN:
				return false // nothing yet: wait for the socket to be readable
			case err != nil && err != unix.EINTR:
				reset() // ECONNRESET, or another end of the connection
			case err == nil && n == 0:
				// The end of the stream: a FIN leaves the socket in
				// CLOSE_WAIT, a reset (its error already taken) closed.
				if ti, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil && ti.State == unix.BPF_TCP_CLOSE {
					reset()
				}
			}
			return true // data, a FIN, or the reset: nothing more to watch
		})
	})
	return func() {
		if t.Stop() {
			return // the dial was quick: no watch began
		}
		mu.Lock()
		stopped = true
		watching := started
		mu.Unlock()
		if !watching {
			return
		}
		c.SetReadDeadline(time.Unix(1, 0)) // ends a raw.Read still waiting
		<-done
		c.SetReadDeadline(time.Time{})
	}
}

// watchAfter is how long a dial runs before watchReset watches the client.
const watchAfter = 20 * time.Millisecond
