package exit

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/socks5"
)

func TestGuessDelays(t *testing.T) {
	var g guesses
	src, other := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	now := time.Unix(1000, 0)
	var got []time.Duration
	for range 8 {
		got = append(got, g.delay(src, now))
		g.failed(src, now)
	}
	want := []time.Duration{0, 0, 0, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond, 160 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("delay after %d failures = %v, want %v", i, got[i], want[i])
		}
	}
	for range 30 {
		g.failed(src, now)
	}
	if d := g.delay(src, now); d != maxGuessDelay {
		t.Errorf("after many failures: %v, want the cap %v", d, maxGuessDelay)
	}
	if d := g.delay(other, now); d != 0 {
		t.Errorf("another source waits %v", d)
	}
	if d := g.delay(src, now.Add(guessMemory+time.Second)); d != 0 {
		t.Errorf("failures not forgotten after %v: %v", guessMemory, d)
	}
	g.passed(src)
	if d := g.delay(src, now); d != 0 {
		t.Errorf("right credentials did not clear the failures: %v", d)
	}
	for i := range maxGuessers + 10 {
		g.failed(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), now.Add(time.Duration(i)))
	}
	if len(g.by) > maxGuessers {
		t.Errorf("%d sources remembered, at most %d", len(g.by), maxGuessers)
	}
}

// TestExitSlowsGuessing: after a few wrong passwords from one address, the
// next credentials from it, right ones included, are checked only after a
// wait; right ones then clear the failures.
func TestExitSlowsGuessing(t *testing.T) {
	te := startExit(t, nil)
	echo := echoServer(t)
	wrong := &socks5.Auth{User: "alice", Pass: "guess"}
	for range freeGuesses + 3 {
		if _, err := dialVia(t, te.addr, socks5.AddrFromAddrPort(echo), wrong); !errors.Is(err, socks5.ErrAuthFailed) {
			t.Fatalf("a wrong password: %v", err)
		}
	}
	start := time.Now()
	c, err := dialVia(t, te.addr, socks5.AddrFromAddrPort(echo), alice)
	if err != nil {
		t.Fatalf("the right password after the wrong ones: %v", err)
	}
	c.Close()
	if waited, want := time.Since(start), 10*time.Millisecond<<3; waited < want {
		t.Errorf("right credentials after %d failures checked after %v, want at least %v", freeGuesses+3, waited, want)
	}
	if d := te.srv.guesses.delay(netip.MustParseAddr("127.0.0.1"), time.Now()); d != 0 {
		t.Errorf("still %v after the right password", d)
	}
}
