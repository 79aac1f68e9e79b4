// Package exitdial is the client side of carrot's exits: given a list of
// SOCKS5 exits (socks5:// or socks5+tls://) and a mode, it opens a TCP
// stream to a destination through them, or fails with the errno a direct
// connect() would have given. The tracer's connect handler is a thin layer
// over Dialer.Dial.
//
// Modes:
//
//   - race (the default): attempts start one after another, Stagger apart
//     (attempt k is due k staggers after the first, so timers that fire
//     late do not add up), and a failed attempt starts the next one at
//     once (Happy Eyeballs,
//     RFC 8305, applied to exits). An attempt succeeds only when its exit's
//     SOCKS5 reply says it reached the destination; the first success wins
//     and every other attempt is cancelled (its connection closed, or closed
//     as soon as it arrives). Trying a blocked exit first costs at most one
//     Stagger, not a timeout. The default stagger adapts to the exits'
//     distance: twice the shortest time a TCP connect to an exit has taken
//     (a guess at when a working exit, asked on an authenticated spare
//     connection, answers a CONNECT: one round trip plus its own connect
//     to the destination; the shortest, because a fresh process's first
//     connects are slow for reasons that have nothing to do with the
//     path), and once an exit has answered a CONNECT, at least half as
//     long again as the shortest such answer; between 100 µs and 250 ms
//     (slept on a timerfd below 1 ms, see after); until the first connect
//     to an exit is measured, 100 ms, cut short as soon as it is.
//     Earlier exits get a head start, not the whole race: a blocked exit
//     listed first costs one stagger, and the memory below makes even that
//     a first-contact cost. A refusal (the destination itself answered with a
//     reset) ends the race soon: the exits not yet tried start at once, in
//     case the refusal was a censor's forged reset, and get twice as long as
//     the refusal took to do better.
//   - failover: one exit at a time, in the order given; each gets an equal
//     share of what is left of the connect timeout.
//   - chain: through every exit in order (multi-hop): the first exit is
//     asked to CONNECT to the second, a new SOCKS5 (and TLS, for
//     socks5+tls) session runs through that tunnel, and so on; the last exit
//     connects to the destination. No hop sees both the client and the
//     destination unless it is the only one.
//
// Memory (race and failover): an exit that fails on its own account —
// unreachable, TLS or authentication failure, a broken reply — three times
// in a row is skipped for 30 s, doubling up to 5 min while it keeps failing;
// a success clears it. Skipped exits are still tried when every exit is
// skipped: the dialer fails closed, it never connects directly. For each
// destination, exits that failed to reach it in the last minute are tried
// last (in failover mode too, whose order is otherwise the user's), and in
// race mode the exit that last reached it is tried first, so a censored
// destination pays for its blocked exits once, not on every connect.
// Across runs, a History orders a race's exits by how often they won
// earlier races (see History).
//
// Errors. A failed Dial returns *Error, whose Errno is chosen from what the
// exits reported about the destination, most informative first:
// ECONNREFUSED (some exit reached the host and was refused), EHOSTUNREACH,
// ENETUNREACH, ETIMEDOUT, EPERM (an exit's policy refused); when no exit
// reported on the destination, ENOBUFS if this process ran out of file
// descriptors (OutOfDescriptors), ETIMEDOUT if the connect timeout ran out
// or an exit could not be reached in time, else ENETUNREACH (no way out).
// errors.As(err, &errno) with a syscall.Errno gives it.
//
// DNS. Destinations may be names; they are sent to the exit unresolved
// (SOCKS5 ATYP 3). A destination IP that Names recognises as a fake-IP DNS
// answer (internal/fakedns) is replaced by the name it stands for; a fake
// IP with no name is refused (EHOSTUNREACH) rather than sent.
package exitdial

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/carrot-project/carrot/internal/socks5"
)

// Mode is how several exits are used.
type Mode int

// Modes.
const (
	Race Mode = iota
	Failover
	Chain
)

func (m Mode) String() string {
	switch m {
	case Race:
		return "race"
	case Failover:
		return "failover"
	case Chain:
		return "chain"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses "race", "failover" or "chain".
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{Race, Failover, Chain} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("exit mode %q: want race, failover or chain", s)
}

// Names maps fake-IP DNS answers back to names; *fakedns.Pool is one.
type Names interface {
	// Contains reports whether ip is in the fake range at all.
	Contains(ip netip.Addr) bool
	// Name returns the name ip was handed out for.
	Name(ip netip.Addr) (string, bool)
}

// Config configures a Dialer.
type Config struct {
	Exits []*Exit
	Mode  Mode
	// ConnectTimeout bounds a whole Dial, every attempt included; default
	// 20s.
	ConnectTimeout time.Duration
	// Stagger is the delay between race attempts; 0 adapts it to the
	// exits' round-trip time (see the package doc).
	Stagger time.Duration
	// Names, when set, turns fake-IP destinations back into names.
	Names Names
	// Spares keeps one connection to each exit (race and failover modes)
	// opened and authenticated ahead of time, so that a Dial costs only the
	// CONNECT round trip; see spare.go. Close releases them.
	Spares bool
	// Dial opens the TCP connection to the first hop; default a
	// net.Dialer. Tests use it to dial from inside a network namespace.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// History, when set, orders a race's exits by what earlier runs
	// learnt (see History), and learns from this dialer's races; the
	// caller saves it.
	History *History
	// Problem, when set, hears of an exit's own failures — it cannot be
	// reached, resolved, authenticated with or verified, or it broke the
	// protocol — once per exit and kind of failure (see problem.go), so a
	// caller can say what is wrong with its setup without repeating it on
	// every connect. The destination's answers and attempts the dialer
	// cancelled are not problems. It may be called from any goroutine,
	// without d's lock held; exit is the exit's Name (no password).
	Problem func(exit string, err error)
}

// Dialer opens streams through exits. It is safe for concurrent use.
type Dialer struct {
	cfg      Config
	chainVia string // a chain's route for logs, "A -> B -> C"

	mu     sync.Mutex
	minRTT time.Duration // shortest TCP connect to an exit so far; 0: none yet
	// shortest answer to a CONNECT on a spare that reached its
	// destination: this run's once it has measured one (measuredAnswer),
	// until then the History's (0: none)
	minAnswer      time.Duration
	measuredAnswer bool // this run has measured one
	health         map[*Exit]*exitHealth
	lastGood       map[string]*Exit         // destination -> exit that last reached it
	lastBad        map[destExit]time.Time   // (destination, exit) -> when it last failed
	spares         map[*Exit]*spare         // at most one ready spare per exit
	handshakes     map[string]chan struct{} // by server address: new connections in their handshakes (handshakeSlot)
	making         map[*Exit]bool           // a spare is being made
	lastOK         map[*Exit]time.Time      // when the exit last answered a request or made a spare
	hopAddrs       map[*Exit]*hopAddrs      // first exits' resolved names, for Over
	srtt           map[*Exit]time.Duration  // smoothed TCP connect time per exit
	overMiss       map[*Exit]time.Time      // when Over's budget last ran out with the exit
	// what a spare's greeting learnt of an exit: true, it reads pipelined
	// messages (socks5.MethodPipelines: carrot exit), so fresh connections
	// to it pipeline; false, it did not choose that method: not carrot exit
	probed   map[*Exit]bool
	reported map[problemKey]bool // Problem was called for these
	// refused holds, by exit name, the failure of an exit that rejected
	// its credentials: it is not asked again in this Dialer's life.
	refused map[string]error
	// destination -> the History's guess that failed to reach it (Over):
	// it lost if the race that follows is won by another exit
	guessMissed map[string]missedGuess
	closed      bool

	now func() time.Time // time.Now; tests move it to expire the memory
}

type exitHealth struct {
	fails int
	until time.Time
}

type destExit struct {
	dest string
	exit *Exit
}

// memoLimit bounds the per-destination memory; past it the memory is
// dropped and starts again.
const memoLimit = 4096

// New makes a Dialer. Exits whose names are the same (the same user,
// host and port, with different passwords or TLS settings) are told apart
// by their place in the list ("socks5://alice@h:1080 (exit 2)"): the
// memory, a refusal of credentials, the History and messages all go by
// name.
func New(cfg Config) (*Dialer, error) {
	if len(cfg.Exits) == 0 {
		return nil, errors.New("exitdial: no exits")
	}
	seen := map[string]bool{}
	for i, e := range cfg.Exits {
		if seen[e.Name] {
			e.Name = fmt.Sprintf("%s (exit %d)", e.Name, i+1)
		}
		seen[e.Name] = true
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 20 * time.Second
	}
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{}).DialContext
	}
	d := &Dialer{
		cfg:         cfg,
		health:      map[*Exit]*exitHealth{},
		lastGood:    map[string]*Exit{},
		lastBad:     map[destExit]time.Time{},
		spares:      map[*Exit]*spare{},
		making:      map[*Exit]bool{},
		lastOK:      map[*Exit]time.Time{},
		hopAddrs:    map[*Exit]*hopAddrs{},
		srtt:        map[*Exit]time.Duration{},
		overMiss:    map[*Exit]time.Time{},
		probed:      map[*Exit]bool{},
		reported:    map[problemKey]bool{},
		refused:     map[string]error{},
		handshakes:  map[string]chan struct{}{},
		guessMissed: map[string]missedGuess{},
		now:         time.Now,
		minAnswer:   cfg.History.answer(cfg.Exits),
	}
	if cfg.Mode == Chain {
		d.chainVia = route(cfg.Exits)
	}
	if cfg.Spares && cfg.Mode != Chain {
		for _, e := range cfg.Exits {
			d.refill(e)
		}
	}
	return d, nil
}

// Result is a successful Dial.
type Result struct {
	Conn  net.Conn    // the stream to the destination
	Exit  *Exit       // the exit that reached it (the last hop in a chain)
	Via   string      // the route, for logs: the exit's name, or a chain's "A -> B"
	Dest  socks5.Addr // what was asked of the exit (a name for a fake IP)
	Bound socks5.Addr // the address the exit bound for it, as it reported
	// Passed are the other exits this Dial asked (race, failover), in the
	// order asked, each an *AttemptError: its failure, or ErrOutrun for
	// one still pending when another won.
	Passed []error
}

// ErrOutrun is a race attempt's lot when another exit answered first.
var ErrOutrun = errors.New("no answer before the winner's")

// Error is a failed Dial.
type Error struct {
	Dest     string
	Errno    syscall.Errno
	Attempts []error // one per exit tried, as *AttemptError
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "connect %s through exits: %v", e.Dest, e.Errno)
	for _, a := range e.Attempts {
		b.WriteString("; ")
		b.WriteString(a.Error())
	}
	return b.String()
}

// Unwrap gives the errno first, then each attempt's error.
func (e *Error) Unwrap() []error { return append([]error{e.Errno}, e.Attempts...) }

// Timeout reports whether the errno is ETIMEDOUT.
func (e *Error) Timeout() bool { return e.Errno == syscall.ETIMEDOUT }

// AttemptError is one exit's failure.
type AttemptError struct {
	Exit string
	// Dest is true when the exit answered about the destination (a SOCKS5
	// failure reply from the last hop); false when the exit itself failed.
	Dest bool
	Err  error
}

func (e *AttemptError) Error() string { return e.Exit + ": " + e.Err.Error() }
func (e *AttemptError) Unwrap() error { return e.Err }

// DialContext connects to address ("ip:port" or "name:port") through the
// exits. network must be tcp, tcp4 or tcp6.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError(network)}
	}
	dest, err := socks5.ParseAddr(address)
	if err != nil {
		return nil, err
	}
	r, err := d.Dial(ctx, dest)
	if err != nil {
		return nil, err
	}
	return r.Conn, nil
}

// Dial connects to dest through the exits, by the configured mode.
func (d *Dialer) Dial(ctx context.Context, dest socks5.Addr) (Result, error) {
	return d.DialBegun(ctx, dest, nil)
}

// DialBegun is Dial for a destination whose first request b went out
// already (Begin; nil if none did).
func (d *Dialer) DialBegun(ctx context.Context, dest socks5.Addr, b *Begun) (Result, error) {
	if b != nil {
		dest = b.dest
	} else {
		var err error
		if dest, err = d.named(dest); err != nil {
			return Result{}, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.ConnectTimeout)
	defer cancel()
	var (
		r    Result
		errs []error
	)
	switch d.cfg.Mode {
	case Chain:
		r, errs = d.chain(ctx, dest)
	case Failover:
		r, errs = d.failover(ctx, dest, b)
	default:
		r, errs = d.race(ctx, dest, b)
	}
	if r.Conn != nil {
		r.Dest, r.Via = dest, d.via(r.Exit)
		return r, nil
	}
	return Result{}, &Error{Dest: dest.String(), Errno: errnoFor(ctx, errs), Attempts: errs}
}

// named turns a fake-IP destination back into the name it stands for.
func (d *Dialer) named(dest socks5.Addr) (socks5.Addr, error) {
	if dest.IsName() || d.cfg.Names == nil || !d.cfg.Names.Contains(dest.IP) {
		return dest, nil
	}
	name, ok := d.cfg.Names.Name(dest.IP)
	if !ok {
		return dest, &Error{Dest: dest.String(), Errno: syscall.EHOSTUNREACH,
			Attempts: []error{errors.New("fake DNS address with no name (expired, or never handed out)")}}
	}
	return socks5.Addr{Name: name, Port: dest.Port}, nil
}

// errnoFor picks the errno for a failed Dial; see the package doc.
func errnoFor(ctx context.Context, errs []error) syscall.Errno {
	var best socks5.Reply // ReplySucceeded (0): no answer about the destination
	exitTimeout, short := false, false
	for _, err := range errs {
		short = short || OutOfDescriptors(err)
		var ae *AttemptError
		if !errors.As(err, &ae) {
			continue
		}
		if !ae.Dest {
			if isTimeout(ae.Err) {
				exitTimeout = true
			}
			continue
		}
		rep := socks5.ReplyTTLExpired // waited for a reply in vain
		var re *socks5.ReplyError
		if errors.As(ae.Err, &re) {
			rep = re.Reply
		}
		if best == socks5.ReplySucceeded || rep.Rank() > best.Rank() {
			best = rep
		}
	}
	switch {
	case best != socks5.ReplySucceeded:
		return best.Errno()
	case short:
		return syscall.ENOBUFS
	case ctx.Err() == context.Canceled:
		return syscall.ECANCELED
	case ctx.Err() != nil || exitTimeout:
		return syscall.ETIMEDOUT
	default:
		return syscall.ENETUNREACH
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.As(err, &t) && t.Timeout()
}

// attempt opens one stream through the hops (one exit, or a whole chain) to
// dest. Cancelling ctx aborts it at any point.
func (d *Dialer) attempt(ctx context.Context, hops []*Exit, dest socks5.Addr, b *Begun) (Result, error) {
	if err := d.refusedAny(hops); err != nil {
		return Result{}, err
	}
	if len(hops) == 1 && d.cfg.Spares {
		defer d.refillSoon(hops[0])
		sp, asked := b.spare()
		if sp == nil {
			sp, asked = d.takeSpare(hops[0]), time.Now()
		}
		if sp != nil {
			r, err := d.request(ctx, sp.raw, sp.conn, b != nil, hops, dest, nil)
			if err == nil {
				d.sampleAnswer(hops[0], time.Since(asked))
			}
			if err == nil || !deadSpare(err) || time.Since(asked) > d.deadSpareWithin(hops[0]) {
				return r, err
			}
			// The server dropped the idle connection as we asked:
			// nothing was tried, so try again on a new one.
		}
	}
	first := hops[0]
	done, err := d.handshakeSlot(ctx, first)
	if err != nil {
		return Result{}, &AttemptError{Exit: first.Name, Err: err}
	}
	t0 := time.Now()
	raw, err := d.cfg.Dial(ctx, "tcp", first.Addr)
	if err != nil {
		done()
		return Result{}, &AttemptError{Exit: first.Name, Err: err}
	}
	d.sampleExit(first, time.Since(t0))
	if first.TLS == nil {
		done() // the greeting goes at once (pipelined once probed)
	}
	return d.request(ctx, raw, nil, false, hops, dest, done)
}

// maxHandshakes is how many new connections one Dialer sets up to an exit
// at once: from its TCP connect to the end of its TLS handshake (for
// socks5+tls; the SOCKS5 greeting is pipelined). An exit budgets the
// connections of one address that are not yet authenticated (carrot exit:
// 64), and closes those past it; a burst of connects (a crawler, curl
// --parallel) to a TLS exit a few milliseconds away had every one past
// 64 fail. Half of it leaves room for other clients behind the same
// address; the rest wait their turn, within the connect timeout.
const maxHandshakes = 32

// errQueued marks an attempt whose time ran out while it waited for a
// handshake slot: the exit was never asked, and is not blamed.
var errQueued = fmt.Errorf("waiting for one of the %d handshakes allowed at once", maxHandshakes)

// handshakeSlot waits for a place among the handshakes in progress with
// e's server (maxHandshakes; URLs that name the same host and port share
// them, as the server counts by address) and returns the function that
// gives it back, once.
func (d *Dialer) handshakeSlot(ctx context.Context, e *Exit) (func(), error) {
	d.mu.Lock()
	sem := d.handshakes[e.Addr]
	if sem == nil {
		sem = make(chan struct{}, maxHandshakes)
		d.handshakes[e.Addr] = sem
	}
	d.mu.Unlock()
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w (%w)", ctx.Err(), errQueued)
	}
	var once sync.Once
	return func() { once.Do(func() { <-sem }) }, nil
}

// reset closes c with a TCP reset rather than a FIN: carrot exit cancels
// the dial it is making for a client that resets (a FIN is only a client
// done sending).
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// request runs the handshakes over raw, a connection to hops[0], and asks
// the last hop for dest. authed, if not nil, is raw already authenticated
// with hops[0] (through TLS if it has it): a spare. sent says the caller
// already sent hops[0] its pipelined handshake (Plan.Hello), or on a
// spare its request (Begin).
//
// tlsDone, if not nil, is handshakeSlot's release: called once the first
// hop's TLS handshake is over, or by the time request returns (it may be
// called more than once).
func (d *Dialer) request(ctx context.Context, raw, authed net.Conn, sent bool, hops []*Exit, dest socks5.Addr, tlsDone func()) (Result, error) {
	if tlsDone == nil {
		tlsDone = func() {}
	}
	defer tlsDone()
	// Abort the handshakes when ctx ends; undone once they succeed. (The
	// deadline first: set after, it could undo an abort that came between.)
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	conn := raw
	var bound socks5.Addr
	for i, hop := range hops {
		last := i == len(hops)-1
		next, err := nextHop(hops, i, dest)
		if err != nil {
			raw.Close()
			return Result{}, &AttemptError{Exit: hop.Name, Err: err}
		}
		switch {
		case i == 0 && authed != nil && sent:
			conn = authed
			bound, err = socks5.ClientReply(conn)
		case i == 0 && authed != nil:
			conn = authed
			bound, err = socks5.ClientRequest(conn, next)
		case i == 0 && sent:
			bound, err = socks5.ReadPipelined(conn, hop.Auth)
		default:
			if hop.TLS != nil {
				tc := tls.Client(conn, hop.TLS)
				err := tc.HandshakeContext(ctx)
				if i == 0 {
					tlsDone()
				}
				if err != nil {
					raw.Close()
					return Result{}, &AttemptError{Exit: hop.Name, Err: &tlsError{err}}
				}
				conn = tc
			}
			bound, err = socks5.ClientHandshake(conn, next, socks5.ClientOptions{Auth: hop.Auth, Pipeline: d.pipelined(hop)})
		}
		if err != nil {
			if ctx.Err() != nil {
				reset(raw) // abandoned: an exit still dialing for it can stop
			} else {
				raw.Close()
			}
			other := d.isOtherServer(hop)
			err = hint(hop, err, other)
			var rep *socks5.ReplyError
			// The answer is about the destination when the last hop
			// replied about it (not with a failure of its own), or when
			// it timed out while trying to reach it. A general failure is
			// carrot exit's own (at --max-conns); a server known not to be
			// carrot exit gives it for a destination it could not resolve
			// or reach (microsocks), so from one it is the destination's.
			aboutDest := last && (errors.As(err, &rep) && (rep.Reply.AboutDest() || rep.Reply == socks5.ReplyGeneralFailure && other) ||
				socks5.AwaitingReply(err) && isTimeout(err))
			if ctx.Err() != nil {
				err = fmt.Errorf("%w (%w)", ctx.Err(), err)
			} else if !last && errors.As(err, &rep) {
				err = fmt.Errorf("reaching next hop %s: %w", hops[i+1].Name, err)
			}
			return Result{}, &AttemptError{Exit: hop.Name, Dest: aboutDest, Err: err}
		}
	}
	if !stop() {
		raw.Close()
		return Result{}, &AttemptError{Exit: hops[len(hops)-1].Name, Err: ctx.Err()}
	}
	raw.SetDeadline(time.Time{})
	return Result{Conn: conn, Exit: hops[len(hops)-1], Bound: bound}, nil
}

func (d *Dialer) chain(ctx context.Context, dest socks5.Addr) (Result, []error) {
	r, err := d.attempt(ctx, d.cfg.Exits, dest, nil)
	if err != nil {
		d.problem(err)
		return Result{}, []error{err}
	}
	d.answered(d.cfg.Exits[0])
	return r, nil
}

// nextHop is what hops[i] is asked to connect to: the next hop, or dest
// from the last.
func nextHop(hops []*Exit, i int, dest socks5.Addr) (socks5.Addr, error) {
	if i == len(hops)-1 {
		return dest, nil
	}
	return socks5.ParseAddr(hops[i+1].Addr)
}

// via names the route of a stream whose first exit is e: e, or the chain.
func (d *Dialer) via(e *Exit) string {
	if d.cfg.Mode == Chain {
		return d.chainVia
	}
	return e.Name
}

// pipelined reports whether a handshake with e may be sent at once: its URL
// says so, or it said so itself (socks5.MethodPipelines).
func (d *Dialer) pipelined(e *Exit) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pipelinedLocked(e)
}

// pipelinedLocked is pipelined, with d.mu held.
func (d *Dialer) pipelinedLocked(e *Exit) bool { return e.Pipeline || d.probed[e] }

// isOtherServer reports whether e is known not to be carrot exit.
func (d *Dialer) isOtherServer(e *Exit) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	carrot, probed := d.probed[e]
	return probed && !carrot
}

// answered notes that e answered a request (see Over).
func (d *Dialer) answered(e *Exit) {
	d.mu.Lock()
	d.lastOK[e] = time.Now()
	d.mu.Unlock()
}

func (d *Dialer) failover(ctx context.Context, dest socks5.Addr, b *Begun) (Result, []error) {
	order := b.first(d.order(dest, false))
	var errs []error
	for i, e := range order {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if dl, ok := ctx.Deadline(); ok && len(order)-i > 1 {
			actx, cancel = context.WithTimeout(ctx, time.Until(dl)/time.Duration(len(order)-i))
		}
		var head *Begun
		if i == 0 {
			head = b
		}
		r, err := d.attempt(actx, []*Exit{e}, dest, head)
		cancel()
		d.record(dest, e, err)
		if err == nil {
			r.Passed = errs
			return r, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return Result{}, errs
}

// Adaptive stagger (Config.Stagger 0).
const (
	staggerRTTs    = 2
	minStagger     = 100 * time.Microsecond
	maxStagger     = 250 * time.Millisecond
	initialStagger = 100 * time.Millisecond
	recheckStagger = time.Millisecond // how often an unmeasured stagger is looked at again
)

// sample records the duration of a TCP connect to an exit.
func (d *Dialer) sample(rtt time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.minRTT == 0 || rtt < d.minRTT {
		d.minRTT = rtt
	}
}

// sampleExit records a TCP connect to e that took rtt: for the stagger,
// and in e's own smoothed round trip (RFC 6298's 1/8 gain), which Over
// uses.
func (d *Dialer) sampleExit(e *Exit, rtt time.Duration) {
	d.sample(rtt)
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.srtt[e]; ok {
		rtt = old + (rtt-old)/8
	}
	d.srtt[e] = rtt
}

// sampleAnswer records a CONNECT that e answered with success in took,
// asked on a spare: one round trip to it and its own connect.
func (d *Dialer) sampleAnswer(e *Exit, took time.Duration) {
	d.cfg.History.answered(e, took)
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.measuredAnswer || took < d.minAnswer {
		d.minAnswer = took
	}
	d.measuredAnswer = true
}

// stagger is the delay before the next race attempt, and whether it is a
// measured one: twice the shortest TCP connect to an exit, and at least
// half as long again as the shortest CONNECT answer (this run's, or until
// there is one, the History's), so that an exit that answers as fast as
// any did is not joined by another it did not need.
func (d *Dialer) stagger() (time.Duration, bool) {
	if d.cfg.Stagger > 0 {
		return d.cfg.Stagger, true
	}
	d.mu.Lock()
	rtt, answer := d.minRTT, d.minAnswer
	d.mu.Unlock()
	if rtt == 0 {
		return initialStagger, false
	}
	return min(max(staggerRTTs*rtt, answer*3/2, minStagger), maxStagger), true
}

// refused reports whether err is an exit's report that the destination
// refused the connection.
func refused(err error) bool {
	var ae *AttemptError
	var re *socks5.ReplyError
	return errors.As(err, &ae) && ae.Dest && errors.As(ae.Err, &re) && re.Reply == socks5.ReplyConnRefused
}

func (d *Dialer) race(ctx context.Context, dest socks5.Addr, b *Begun) (Result, []error) {
	order := b.first(d.order(dest, true))
	// A guess that just failed to reach dest (Over) lost if this race is
	// won by another exit.
	guess := d.takeGuessMissed(dest)
	type outcome struct {
		exit *Exit
		r    Result
		err  error
		took time.Duration
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan outcome, len(order))
	started, pending := 0, 0
	startedAt := make([]time.Time, 0, len(order))
	errOf := map[*Exit]error{} // the attempts that ended in failure
	start := func() {
		e := order[started]
		var head *Begun // the first attempt's request may be out already
		if started == 0 {
			head = b
		}
		started++
		pending++
		at := time.Now()
		if head != nil {
			at = head.at
		}
		startedAt = append(startedAt, at)
		go func() {
			r, err := d.attempt(rctx, []*Exit{e}, dest, head)
			results <- outcome{e, r, err, time.Since(at)}
		}()
	}
	// drain closes the streams of attempts that still succeed.
	drain := func(n int) {
		go func() {
			for range n {
				if o := <-results; o.r.Conn != nil {
					o.r.Conn.Close()
				}
			}
		}()
	}
	start()
	delay, measured := d.stagger()
	// Attempts are due a stagger apart from an anchor, the first attempt:
	// timers that fire late do not add up, and a race whose first request
	// went before it started (Begin, from the tracer thread) catches up at
	// once. An attempt started early because one failed becomes the new
	// anchor: the next is due a stagger after it, as if it had been due.
	anchor := 0 // index in startedAt
	due := func() <-chan struct{} {
		return after(max(time.Until(startedAt[anchor].Add(time.Duration(started-anchor)*delay)), 0))
	}
	next := due() // the next attempt's start
	// Until the stagger is measured, look again every millisecond: the
	// first attempt's TCP connect measures it.
	var recheck <-chan time.Time
	if !measured && started < len(order) {
		recheck = time.After(recheckStagger)
	}
	var grace <-chan struct{}
	var errs []error
	for pending > 0 {
		select {
		case o := <-results:
			pending--
			if o.err == nil {
				d.record(dest, o.exit, nil)
				losers := fairlyAsked(order[:started], startedAt, o.exit, errOf)
				if guess != nil && guess != o.exit && !slices.Contains(losers, guess) {
					losers = append(losers, guess)
				}
				d.cfg.History.race(o.exit, losers)
				cancel()
				drain(pending)
				o.r.Passed = passed(order[:started], o.exit, errOf)
				return o.r, nil
			}
			if rctx.Err() == nil {
				d.record(dest, o.exit, o.err)
			}
			errOf[o.exit] = o.err
			errs = append(errs, o.err)
			if refused(o.err) && grace == nil {
				for started < len(order) {
					start()
				}
				grace = after(max(2*o.took, minStagger))
			}
			if started < len(order) && rctx.Err() == nil {
				start()
				anchor = started - 1
				delay, _ = d.stagger()
				next = due()
			}
		case <-recheck:
			recheck = nil
			if delay, measured = d.stagger(); !measured {
				recheck = time.After(recheckStagger)
			} else if started < len(order) {
				next = due()
			}
		case <-next:
			next = nil // closed: it would be ready again at every turn
			if started < len(order) {
				start()
				delay, _ = d.stagger()
				next = due()
			}
		case <-grace:
			cancel()
			drain(pending)
			return Result{}, errs
		}
	}
	return Result{}, errs
}

// missedGuess is a guess (Over) that did not reach a destination, and when.
type missedGuess struct {
	exit *Exit
	at   time.Time
}

// takeGuessMissed returns and forgets the guess that failed to reach dest
// within the last minute (the race that follows it comes at once; a race
// nobody wins drops it, so a name no exit reaches costs the guess nothing).
func (d *Dialer) takeGuessMissed(dest socks5.Addr) *Exit {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := dest.String()
	g, ok := d.guessMissed[key]
	delete(d.guessMissed, key)
	if !ok || d.now().Sub(g.at) > time.Minute {
		return nil
	}
	return g.exit
}

// fairlyAsked are the exits of a race won by winner that lost it fairly:
// those that failed (errOf) other than by a refusal, which the destination
// gave, and those started no later than the winner (an exit started after
// it may just not have had the time).
func fairlyAsked(asked []*Exit, startedAt []time.Time, winner *Exit, errOf map[*Exit]error) []*Exit {
	var ws time.Time
	for i, e := range asked {
		if e == winner {
			ws = startedAt[i]
		}
	}
	var out []*Exit
	for i, e := range asked {
		if err := errOf[e]; e == winner || err != nil && !refused(err) || !startedAt[i].After(ws) {
			out = append(out, e)
		}
	}
	return out
}

// passed is what became of the exits asked besides the winner, in the
// order asked: errOf's error, or ErrOutrun.
func passed(asked []*Exit, winner *Exit, errOf map[*Exit]error) []error {
	var out []error
	for _, e := range asked {
		if e == winner {
			continue
		}
		err := errOf[e]
		if err == nil {
			err = &AttemptError{Exit: e.Name, Err: ErrOutrun}
		}
		out = append(out, err)
	}
	return out
}

// badFor is how long an exit that failed to reach a destination goes after
// the others for it.
const badFor = time.Minute

// failedRecently reports whether e failed to reach the destination key
// within badFor; d.mu held.
func (d *Dialer) failedRecently(key string, e *Exit, now time.Time) bool {
	t, ok := d.lastBad[destExit{key, e}]
	return ok && now.Sub(t) < badFor
}

// order lists the exits to try for dest: healthy ones first (with useMemo,
// race mode's, the one that last reached dest at the head; in any order,
// those that recently failed to reach it at the tail), skipped ones only
// if every exit is skipped.
func (d *Dialer) order(dest socks5.Addr, useMemo bool) []*Exit {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	key := dest.String()
	var good, tail, skipped []*Exit
	for _, e := range d.cfg.Exits {
		if d.skipping(e, now) || d.refused[e.Name] != nil {
			skipped = append(skipped, e)
			continue
		}
		if useMemo && d.lastGood[key] == e {
			good = append([]*Exit{e}, good...)
			continue
		}
		if d.failedRecently(key, e, now) {
			tail = append(tail, e)
			continue
		}
		good = append(good, e)
	}
	if useMemo && d.cfg.History != nil {
		// After the exit that last reached dest, if any: by score.
		rest := good
		if len(rest) > 0 && d.lastGood[key] == rest[0] {
			rest = rest[1:]
		}
		sort.SliceStable(rest, func(i, j int) bool { return d.cfg.History.score(rest[i]) > d.cfg.History.score(rest[j]) })
	}
	out := append(good, tail...)
	if len(out) == 0 {
		return skipped
	}
	return out
}

// record updates the memory with an attempt's outcome; an exit's own
// failure (a general failure reply included) is also a problem
// (Config.Problem).
func (d *Dialer) record(dest socks5.Addr, e *Exit, err error) {
	if d.recordLocked(dest, e, err) {
		d.problem(err)
	}
}

// recordLocked is record's memory update; it reports whether err is the
// exit's own failure.
func (d *Dialer) recordLocked(dest socks5.Addr, e *Exit, err error) (exitFailed bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	key := dest.String()
	if len(d.lastGood)+len(d.lastBad) > memoLimit {
		d.lastGood = map[string]*Exit{}
		d.lastBad = map[destExit]time.Time{}
	}
	if err == nil {
		delete(d.health, e)
		d.lastOK[e] = now
		d.lastGood[key] = e
		delete(d.lastBad, destExit{key, e})
		return false
	}
	if OutOfDescriptors(err) {
		return true // carrot's shortage, not the exit's failure
	}
	if errors.Is(err, errQueued) {
		return false // the exit was never asked
	}
	var ae *AttemptError
	if errors.As(err, &ae) && ae.Dest {
		d.lastBad[destExit{key, e}] = now
		if d.lastGood[key] == e {
			delete(d.lastGood, key)
		}
		return false
	}
	h := d.health[e]
	if h == nil {
		h = &exitHealth{}
		d.health[e] = h
	}
	h.fails++
	if h.fails >= skipAfter {
		h.until = now.Add(skipFor(h.fails))
	}
	return true
}

// OutOfDescriptors reports whether err is this process's (or the
// system's) file descriptor table being full: a failure of the client
// side, which says nothing of the exit.
func OutOfDescriptors(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// Skipping exits that keep failing (see the package doc).
const (
	skipAfter   = 3                // failures in a row
	skipBase    = 30 * time.Second // the first skip; each further failure doubles it
	skipMaxTime = 5 * time.Minute
)

// skipFor is how long an exit that has failed fails times in a row
// (fails >= skipAfter) is skipped.
func skipFor(fails int) time.Duration {
	return min(skipBase<<min(fails-skipAfter, 4), skipMaxTime)
}

// Skipped reports whether e is being skipped for failing.
func (d *Dialer) Skipped(e *Exit) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.skipping(e, d.now())
}

// skipping is Skipped with d.mu held.
func (d *Dialer) skipping(e *Exit, now time.Time) bool {
	h := d.health[e]
	return h != nil && now.Before(h.until)
}

// route names hops for logs: "A -> B -> C".
func route(hops []*Exit) string {
	names := make([]string, len(hops))
	for i, e := range hops {
		names[i] = e.Name
	}
	return strings.Join(names, " -> ")
}
