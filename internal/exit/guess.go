package exit

import (
	"net/netip"
	"sync"
	"time"
)

// guesses slows down password guessing. Failures are counted for each
// source (an address; an IPv6 source's /64, as for the handshake budget)
// and user name, for each source whatever the name, and for each name
// whatever the source. Credentials are checked only after a wait once
// there were freeGuesses failures for that name from that source,
// freeGuessesAny for any names from it, or freeGuessesName for that name
// from anywhere (a guesser rotating over sources): 10 ms, doubling with
// each failure past those, up to maxGuessDelay. The wait
// comes before the check, right or wrong, so a guesser cannot learn from a
// quick answer which guess was right. With 64 handshakes at once from one
// source (maxHandshakesFrom), each waiting maxGuessDelay once the wait is at
// its cap, one source tries at most about 13 passwords a second.
//
// Right credentials clear the failures of that source and name only: a
// user behind the same NAT as a guesser neither resets the guesser's count
// nor is slowed by the guesses at other names (only past freeGuessesAny).
// A source forgets its failures guessMemory after the last one. At most
// maxGuessers are remembered; a failure that finds the table full drops a
// record that no longer delays anything, never one that does, and while
// the table is full of delaying records, credentials from a source not in
// it wait fullDelay: rotating over more sources than the table holds does
// not escape the waits.
type guesses struct {
	mu sync.Mutex
	by map[guessKey]*guesser
}

// guessKey is a source and a user name: "" for the source's failures
// under any name, and the zero source for the name's from anywhere.
type guessKey struct {
	src  netip.Addr
	user string
}

type guesser struct {
	fails int
	last  time.Time
}

const (
	freeGuesses     = 3
	freeGuessesAny  = 30
	freeGuessesName = 20
	maxGuessDelay   = 5 * time.Second
	fullDelay       = time.Second
	guessMemory     = 10 * time.Minute
	maxGuessers     = 4096
)

// wait is how long k's credentials wait after its failures, free ones
// first (nil: none).
func (e *guesser) wait(free int, now time.Time) time.Duration {
	if e == nil || now.Sub(e.last) > guessMemory || e.fails < free {
		return 0
	}
	return min(10*time.Millisecond<<min(e.fails-free, 20), maxGuessDelay)
}

// delay is how long credentials for user from src wait before they are
// checked.
func (g *guesses) delay(src netip.Addr, user string, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	one, any, name := g.by[guessKey{src, user}], g.by[guessKey{src, ""}], g.by[guessKey{netip.Addr{}, user}]
	d := max(one.wait(freeGuesses, now), any.wait(freeGuessesAny, now), name.wait(freeGuessesName, now))
	if any == nil && len(g.by) >= maxGuessers {
		if _, ok := g.idlest(now); !ok {
			d = max(d, fullDelay)
		}
	}
	return d
}

// failed records a failure of user's credentials from src.
func (g *guesses) failed(src netip.Addr, user string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.by == nil {
		g.by = map[guessKey]*guesser{}
	}
	for _, k := range []guessKey{{src, user}, {src, ""}, {netip.Addr{}, user}} {
		e := g.by[k]
		if e == nil || now.Sub(e.last) > guessMemory {
			if e == nil && len(g.by) >= maxGuessers {
				victim, ok := g.idlest(now)
				if !ok {
					continue // full of records that delay: this one waits fullDelay
				}
				delete(g.by, victim)
			}
			e = &guesser{}
			g.by[k] = e
		}
		e.fails++
		e.last = now
	}
}

// passed forgets the failures of user from src: its credentials were right.
func (g *guesses) passed(src netip.Addr, user string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.by, guessKey{src, user})
}

// delaying reports whether k's record still makes credentials wait.
func delaying(k guessKey, e *guesser, now time.Time) bool {
	free := freeGuesses
	switch {
	case k.user == "":
		free = freeGuessesAny
	case !k.src.IsValid():
		free = freeGuessesName
	}
	return e.wait(free, now) > 0
}

// idlest is the oldest record that delays nothing any more, the one a
// full table may drop; ok is false if there is none.
func (g *guesses) idlest(now time.Time) (k guessKey, ok bool) {
	var at time.Time
	for key, e := range g.by {
		if !delaying(key, e, now) && (!ok || e.last.Before(at)) {
			k, at, ok = key, e.last, true
		}
	}
	return k, ok
}
