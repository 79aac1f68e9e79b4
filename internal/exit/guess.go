package exit

import (
	"net/netip"
	"sync"
	"time"
)

// guesses slows down password guessing. A source (an address; an IPv6
// source's /64, as for the handshake budget) whose credentials failed
// recently waits before its next credentials are checked: nothing for its
// first freeGuesses failures, then 10 ms doubling with each failure up to
// maxGuessDelay. The wait comes before the check, right or wrong, so a
// guesser cannot learn from a quick answer which guess was right. With 64
// handshakes at once from one source (maxHandshakesFrom), one source tries
// about 13 passwords a second instead of ten thousand. A source forgets its
// failures guessMemory after its last one; credentials that pass clear
// them. At most maxGuessers sources are remembered (the oldest go first).
type guesses struct {
	mu sync.Mutex
	by map[netip.Addr]*guesser
}

type guesser struct {
	fails int
	last  time.Time
}

const (
	freeGuesses   = 3
	maxGuessDelay = 5 * time.Second
	guessMemory   = 10 * time.Minute
	maxGuessers   = 4096
)

// delay is how long src waits before its credentials are checked.
func (g *guesses) delay(src netip.Addr, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.by[src]
	if e == nil || now.Sub(e.last) > guessMemory || e.fails < freeGuesses {
		return 0
	}
	return min(10*time.Millisecond<<min(e.fails-freeGuesses, 20), maxGuessDelay)
}

// failed records a failure of src's credentials.
func (g *guesses) failed(src netip.Addr, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.by == nil {
		g.by = map[netip.Addr]*guesser{}
	}
	e := g.by[src]
	if e == nil || now.Sub(e.last) > guessMemory {
		if len(g.by) >= maxGuessers {
			g.forgetOldest()
		}
		e = &guesser{}
		g.by[src] = e
	}
	e.fails++
	e.last = now
}

// passed forgets src's failures: its credentials were right.
func (g *guesses) passed(src netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.by, src)
}

func (g *guesses) forgetOldest() {
	var oldest netip.Addr
	var at time.Time
	for a, e := range g.by {
		if at.IsZero() || e.last.Before(at) {
			oldest, at = a, e.last
		}
	}
	delete(g.by, oldest)
}
