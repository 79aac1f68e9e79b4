package exitdial

import (
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
	// Old scores are forgotten; a damaged file is an empty history.
	os.WriteFile(path, []byte(`{"exits":{"socks5://c:1":{"score":1,"at":"`+time.Now().Add(-2*historyMaxAge).Format(time.RFC3339)+`"}}}`), 0o600)
	if h := LoadHistory(path); h.score(c) != historyPrior {
		t.Fatalf("a stale score kept: %.2f", h.score(c))
	}
	os.WriteFile(path, []byte("{not json"), 0o600)
	if h := LoadHistory(path); len(h.scores) != 0 {
		t.Fatal("a damaged file gave scores")
	}
}

func names(es []*Exit) string {
	var s []string
	for _, e := range es {
		s = append(s, e.Name)
	}
	return strings.Join(s, " ")
}
