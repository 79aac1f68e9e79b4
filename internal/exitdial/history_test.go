package exitdial

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/socks5"
)

// TestHistory: a race's winner scores up and the exits asked before it
// down; a race's order follows the scores (the user's among equals, the
// destination's own memory first); the file survives a reload, forgets old
// scores, and a damaged one is an empty history.
func TestHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "exits.json")
	a, b, c := &Exit{Name: "socks5://a:1"}, &Exit{Name: "socks5://b:1"}, &Exit{Name: "socks5://c:1"}
	h := LoadHistory(path)
	h.race(c, []*Exit{a, b, c})
	if err := h.Save(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved history: %v %v", fi, err)
	}
	h = LoadHistory(path)
	if h.score(c) <= historyPrior || h.score(a) >= historyPrior || h.score(&Exit{Name: "new"}) != historyPrior {
		t.Fatalf("scores after a reload: a %.2f c %.2f", h.score(a), h.score(c))
	}
	d, err := New(Config{Exits: []*Exit{a, b, c}, History: h})
	if err != nil {
		t.Fatal(err)
	}
	dest := socks5.Addr{Name: "x.test", Port: 80}
	if got := d.order(dest, true); got[0] != c || got[1] != a || got[2] != b {
		t.Fatalf("race order %v, want c a b", names(got))
	}
	if got := d.order(dest, false); got[0] != a { // failover: the user's order
		t.Fatalf("failover order %v", names(got))
	}
	d.record(dest, b, nil) // b reached x.test last: it goes first for x.test
	if got := d.order(dest, true); got[0] != b || got[1] != c {
		t.Fatalf("order with b remembered for the destination %v, want b c a", names(got))
	}
	// A first contact goes on the program's own socket (Over) to an exit
	// the history trusts, as a guess; not to one merely ahead.
	for _, e := range []*Exit{a, b, c} {
		e.Addr = "127.0.0.1:1"
		d.lastOK[e] = time.Now()
	}
	fresh := socks5.Addr{Name: "y.test", Port: 80}
	if _, ok := d.Over(fresh); ok {
		t.Fatalf("Over to exit c at a score of %.2f", h.score(c))
	}
	for h.score(c) < historyTrusted {
		h.race(c, []*Exit{c})
	}
	if p, ok := d.Over(fresh); !ok || p.First != c || !p.Guess {
		t.Fatalf("Over for a first contact at a score of %.2f: %v %+v", h.score(c), ok, p)
	}
	if p, ok := d.Over(dest); !ok || p.First != b || p.Guess {
		t.Fatalf("Over to the exit that reached the destination: %v %+v", ok, p)
	}
	// A guess that ran out of its budget: the exit is left alone for a
	// while, and the race that follows charges it a loss if another exit
	// wins, within a minute only.
	p, _ := d.Over(fresh)
	d.Missed(p)
	if p2, ok := d.Over(socks5.Addr{Name: "z.test", Port: 80}); ok && p2.First == c {
		t.Fatalf("Over guessed again right after a guess ran out of time: %+v", p2)
	}
	if g := d.takeGuessMissed(fresh); g != c {
		t.Fatalf("the missed guess is %v, want c", g)
	}
	d.Missed(p)
	d.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if g := d.takeGuessMissed(fresh); g != nil {
		t.Fatalf("a missed guess two minutes old still counts: %v", g.Name)
	}
	d.now = time.Now
	d.record(fresh, c, &AttemptError{Exit: c.Name, Dest: true, Err: errors.New("unreachable")})
	if p, ok := d.Over(fresh); ok && p.First == c {
		t.Fatalf("Over guessed an exit that just failed to reach the destination: %+v", p)
	}
	// Old scores are forgotten; a damaged file is an empty history.
	os.WriteFile(path, []byte(`{"exits":{"socks5://c:1":{"score":1,"at":"`+time.Now().Add(-2*historyMaxAge).Format(time.RFC3339)+`"}}}`), 0o600)
	if h := LoadHistory(path); h.score(c) != historyPrior {
		t.Fatalf("a stale score kept: %.2f", h.score(c))
	}
	os.WriteFile(path, []byte(`{"exits":{"socks5://c:1":{"score":1,"at":"`+time.Now().Add(time.Hour).Format(time.RFC3339)+`"}}}`), 0o600)
	if h := LoadHistory(path); h.score(c) != historyPrior {
		t.Fatalf("a score from the future kept: %.2f", h.score(c))
	}
	os.WriteFile(path, []byte("{not json"), 0o600)
	if h := LoadHistory(path); len(h.scores) != 0 {
		t.Fatal("a damaged file gave scores")
	}
	// Two runs at once: each writes back only the exits it changed.
	os.Remove(path)
	h1, h2 := LoadHistory(path), LoadHistory(path)
	h1.race(a, []*Exit{a})
	h2.race(b, []*Exit{b})
	if err := h1.Save(); err != nil {
		t.Fatal(err)
	}
	if err := h2.Save(); err != nil {
		t.Fatal(err)
	}
	if h := LoadHistory(path); h.score(a) <= historyPrior || h.score(b) <= historyPrior {
		t.Fatalf("concurrent runs lost an exit: a %.2f b %.2f", h.score(a), h.score(b))
	}
}

func names(es []*Exit) string {
	var s []string
	for _, e := range es {
		s = append(s, e.Name)
	}
	return strings.Join(s, " ")
}

// TestHistoryAnswer: a run keeps each exit's shortest CONNECT answer, and
// the next run's first race staggers its attempts by it, until it measures
// its own; an answer no stagger could use is not loaded.
func TestHistoryAnswer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exits.json")
	a, b := &Exit{Name: "socks5://a:1"}, &Exit{Name: "socks5://b:1"}
	h := LoadHistory(path)
	h.answered(a, 900*time.Microsecond)
	h.answered(a, 600*time.Microsecond)
	h.answered(a, 700*time.Microsecond) // a slower one keeps the shortest
	h.answered(b, 2*time.Millisecond)
	if err := h.Save(); err != nil {
		t.Fatal(err)
	}
	h = LoadHistory(path)
	if got := h.answer([]*Exit{a, b}); got != 600*time.Microsecond {
		t.Fatalf("remembered answer %v, want 600µs", got)
	}
	if h.score(a) != historyPrior {
		t.Fatalf("an answer moved the score: %.2f", h.score(a))
	}
	d, err := New(Config{Exits: []*Exit{a, b}, History: h})
	if err != nil {
		t.Fatal(err)
	}
	d.sample(50 * time.Microsecond)
	if s, _ := d.stagger(); s != 900*time.Microsecond {
		t.Fatalf("first race's stagger %v, want 1.5 x the remembered 600µs", s)
	}
	d.sampleAnswer(b, 200*time.Microsecond)
	d.sampleAnswer(b, 300*time.Microsecond)
	if s, _ := d.stagger(); s != 300*time.Microsecond {
		t.Fatalf("stagger %v after this run's answers of 200 and 300µs, want 300µs", s)
	}
	// This run's shortest answer replaces the file's, even when longer.
	h.answered(a, 800*time.Microsecond)
	if err := h.Save(); err != nil {
		t.Fatal(err)
	}
	if got := LoadHistory(path).scores[a.Name].Answer; got != 800*time.Microsecond {
		t.Fatalf("after a run that measured 800µs the file keeps %v", got)
	}
	os.WriteFile(path, []byte(`{"exits":{"socks5://a:1":{"score":0.5,"answer_ns":-5,"at":"`+time.Now().Format(time.RFC3339)+`"}}}`), 0o600)
	if got := LoadHistory(path).answer([]*Exit{a}); got != 0 {
		t.Fatalf("a negative answer loaded: %v", got)
	}
}
