package exitdial

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/carrot-project/carrot/internal/socks5"
)

// Over. A stream that Dial opens is carrot's connection to the first exit;
// the tracer relays the program's bytes into it, so every byte crosses one
// more TCP connection (and carrot's CPU) than with a SOCKS client built
// into the program. The tracer can instead connect the program's own socket
// to the first exit and run the handshakes over it (internal/netroute): Over
// says when and where, DialOver runs them. That connection is fresh, with
// no spare and no race, so Over offers it only where a lone attempt is
// expected to work:
//
//   - every hop speaks plain SOCKS5 (TLS would have to stay in carrot);
//   - it answered a request, or made a spare, within overFresh, and is
//     not being skipped for failing;
//   - with several exits (race, failover), it is the exit that last reached
//     this destination, or, in race mode, this is a first contact and the
//     History trusts the exit (it won its recent races: a score of at
//     least historyTrusted, six wins in a row from none) and it has not
//     failed to reach this destination in the last minute; other first
//     contacts race, as Dial does;
//   - in chain mode, the first hop of the chain, always: there is no other
//     way to go.

// overFresh is how recently an exit must have answered to be used by Over.
const overFresh = time.Minute

// overMissFor is how long Over leaves an exit alone after it missed a
// plan's budget (too slow to connect, or to answer the greeting): the
// relayed path, which races, carries its streams meanwhile.
const overMissFor = time.Minute

// Connected tells the dialer that the caller's TCP connect to p.First took
// rtt (it counts in First's round trip).
func (d *Dialer) Connected(p Plan, rtt time.Duration) { d.sampleExit(p.First, rtt) }

// Missed tells the dialer that p.First did not connect within
// p.ConnectBudget: not a failure of the exit (it may only be slower than
// it was), but Over leaves it alone for overMissFor.
func (d *Dialer) Missed(p Plan) {
	d.mu.Lock()
	d.overMiss[p.First] = time.Now()
	d.mu.Unlock()
	if p.Guess {
		d.guessMiss(p)
	}
}

// guessMiss remembers that p, a guess, did not reach its destination: a
// race for it that another exit wins soon after counts a loss for it.
func (d *Dialer) guessMiss(p Plan) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.guessMissed) >= memoLimit {
		clear(d.guessMissed)
	}
	d.guessMissed[p.Dest.String()] = missedGuess{p.First, d.now()}
}

// Plan is a stream to Dest to run over a connection to First.Addr.
type Plan struct {
	First *Exit
	Dest  socks5.Addr // the name, for a fake-IP destination
	// Via names the route, for logs.
	Via string
	// ConnectBudget is how long the TCP connect to First should take at
	// most before the caller gives up on this plan (then calling Missed):
	// ten times First's smoothed connect time, within 20 ms..1 s (1 s
	// before any was measured). First's answers to the greeting and the
	// credentials get twice as long.
	ConnectBudget time.Duration
	// RTT is First's smoothed TCP connect time (0: none measured yet).
	RTT time.Duration
	// Addrs are First's addresses (its IP, or what its name resolved to).
	Addrs []netip.AddrPort
	// Hello, when First pipelines (see socks5.MethodPipelines), is
	// everything the handshake with First sends: greeting, credentials and
	// request. The caller sends it itself, on the new connection, before
	// DialOver (in the SYN, with TCP fast open, so First starts on the
	// request a round trip sooner); DialOver then only reads the answers.
	Hello []byte
	hops  []*Exit
	// Guess: a first contact sent to the exit on the History's word (see
	// Over). The caller gives it a short budget however the program
	// connects, and none of its failures is the destination's final
	// answer, a refusal included (a censor forges resets): the other
	// exits may reach it, and the relayed path races them. A success
	// counts in the History as a win; a failure as a loss once another
	// exit reaches the destination (so a name nobody can reach costs the
	// exit nothing).
	Guess bool
}

// Over plans a stream to dest over a connection the caller opens, or
// reports false when dest should go through Dial.
func (d *Dialer) Over(dest socks5.Addr) (Plan, bool) {
	dest, err := d.named(dest)
	if err != nil {
		return Plan{}, false
	}
	hops := d.cfg.Exits
	if d.cfg.Mode != Chain {
		order := d.order(dest, d.cfg.Mode == Race)
		if len(order) == 0 {
			return Plan{}, false
		}
		hops = order[:1]
	}
	if d.refusedAny(hops) != nil {
		return Plan{}, false // Dial fails it at once
	}
	for _, e := range hops {
		if e.TLS != nil {
			return Plan{}, false // the stream would have to stay in carrot's TLS
		}
	}
	first := hops[0]
	addrs := d.addrs(first)
	if len(addrs) == 0 {
		return Plan{}, false
	}
	d.mu.Lock()
	// A chain has no other way to go, and no spares to learn from.
	fresh := d.cfg.Mode == Chain || time.Since(d.lastOK[first]) < overFresh
	key := dest.String()
	known := d.cfg.Mode == Chain || len(d.cfg.Exits) == 1 || d.lastGood[key] == first
	trusted := false
	if !known && d.cfg.Mode == Race && d.lastGood[key] == nil && d.cfg.History.score(first) >= historyTrusted {
		trusted = !d.failedRecently(key, first, d.now())
		known = trusted
	}
	skipped := d.skipping(first, d.now())
	missed := time.Since(d.overMiss[first]) < overMissFor
	rtt := d.srtt[first]
	pipelined := d.pipelinedLocked(first)
	d.mu.Unlock()
	if !fresh || !known || skipped || missed {
		return Plan{}, false
	}
	budget := time.Second
	if rtt > 0 {
		budget = min(max(10*rtt, 20*time.Millisecond), time.Second)
	}
	p := Plan{First: first, Dest: dest, Via: d.via(first), ConnectBudget: budget, RTT: rtt, Addrs: addrs, hops: hops, Guess: trusted}
	if pipelined {
		next, err := nextHop(hops, 0, dest)
		if err != nil {
			return Plan{}, false
		}
		if p.Hello, err = socks5.AppendPipelined(nil, next, first.Auth); err != nil {
			return Plan{}, false
		}
	}
	return p, true
}

// hopTTL is how long Over uses an exit's resolved addresses before it
// looks its name up again (in the background, using the old ones
// meanwhile).
const hopTTL = time.Minute

type hopAddrs struct {
	addrs []netip.AddrPort
	at    time.Time
	busy  bool
}

// addrs returns e's addresses without blocking: its IP, or, for a name,
// what a background lookup found (none until the first one is done).
func (d *Dialer) addrs(e *Exit) []netip.AddrPort {
	host, ps, err := net.SplitHostPort(e.Addr)
	if err != nil {
		return nil
	}
	port, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.AddrPort{netip.AddrPortFrom(ip, uint16(port))}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.hopAddrs[e]
	if h == nil {
		h = &hopAddrs{}
		d.hopAddrs[e] = h
	}
	if !h.busy && time.Since(h.at) > hopTTL {
		h.busy = true
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			cancel()
			d.mu.Lock()
			defer d.mu.Unlock()
			h.busy, h.at = false, time.Now()
			if err != nil {
				return // keep the old ones, if any; try again after hopTTL
			}
			h.addrs = h.addrs[:0:0]
			for _, ip := range ips {
				h.addrs = append(h.addrs, netip.AddrPortFrom(ip.Unmap(), uint16(port)))
			}
		}()
	}
	return h.addrs
}

// DialOver runs p's handshakes over raw, a TCP connection to p.First that
// the caller opened (and sent p.Hello on, if set), within the connect
// timeout. On success the stream is
// raw itself. A failure is an *Error whose Attempts hold one
// *AttemptError; AboutDest reports whether it is the destination's answer.
// The outcome counts in the dialer's memory like a Dial's, unless ctx was
// cancelled by the caller.
func (d *Dialer) DialOver(ctx context.Context, p Plan, raw net.Conn) (Result, error) {
	tctx, cancel := context.WithTimeout(ctx, d.cfg.ConnectTimeout)
	defer cancel()
	var authed net.Conn
	if p.Hello == nil { // First does not pipeline (Over)
		// The exit itself answers the greeting and the credentials, in
		// round trips: a silent exit is found out within the budget, not
		// at the connect timeout.
		dl := time.Now().Add(2 * p.ConnectBudget)
		if cdl, ok := tctx.Deadline(); ok && cdl.Before(dl) {
			dl = cdl
		}
		raw.SetDeadline(dl)
		if err := socks5.ClientAuth(raw, p.First.Auth); err != nil {
			raw.Close()
			err = &AttemptError{Exit: p.First.Name, Err: hint(p.First, err, d.isOtherServer(p.First))}
			if isTimeout(err) && !ended(tctx) {
				d.Missed(p) // the budget's, not the exit's failure
			} else {
				d.recordOver(ctx, p, err)
			}
			return Result{}, overError(tctx, p, err)
		}
		raw.SetDeadline(time.Time{})
		authed = raw
	}
	r, err := d.request(tctx, raw, authed, p.Hello != nil, p.hops, p.Dest, nil)
	d.recordOver(ctx, p, err)
	if err != nil {
		return Result{}, overError(tctx, p, err)
	}
	r.Dest, r.Via = p.Dest, p.Via
	return r, nil
}

func overError(ctx context.Context, p Plan, err error) *Error {
	return &Error{Dest: p.Dest.String(), Errno: errnoFor(ctx, []error{err}), Attempts: []error{err}}
}

// ended reports whether ctx is over: done, or past its deadline (a
// connection's deadline can fire before the context's own timer).
func ended(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(dl)
}

// recordOver puts DialOver's outcome in the memory, unless the caller gave
// up (ctx ended).
func (d *Dialer) recordOver(ctx context.Context, p Plan, err error) {
	if ended(ctx) {
		return
	}
	if p.Guess {
		if err == nil {
			d.cfg.History.race(p.First, []*Exit{p.First})
		} else if AboutDest(err) {
			d.guessMiss(p)
		}
	}
	switch {
	case d.cfg.Mode != Chain:
		d.record(p.Dest, p.First, err)
	case err == nil:
		d.answered(p.First)
	default:
		d.problem(err)
	}
}

// AboutDest reports whether err, from DialOver, is the destination's answer
// (an exit reached the point of connecting to it) rather than the exit's
// own failure.
func AboutDest(err error) bool {
	var ae *AttemptError
	return errors.As(err, &ae) && ae.Dest
}
