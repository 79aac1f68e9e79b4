package exit

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/socks5"
	"github.com/carrot-project/carrot/internal/testnet"
)

func TestGuessDelays(t *testing.T) {
	var g guesses
	src, other := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	now := time.Unix(1000, 0)
	var got []time.Duration
	for range 8 {
		got = append(got, g.delay(src, "bob", now))
		g.failed(src, "bob", now)
	}
	want := []time.Duration{0, 0, 0, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond, 160 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("delay after %d failures = %v, want %v", i, got[i], want[i])
		}
	}
	// Another name from the same source waits only past freeGuessesAny.
	if d := g.delay(src, "alice", now); d != 0 {
		t.Errorf("alice behind bob's guesser waits %v", d)
	}
	for range 30 {
		g.failed(src, "bob", now)
	}
	if d := g.delay(src, "bob", now); d != maxGuessDelay {
		t.Errorf("after many failures: %v, want the cap %v", d, maxGuessDelay)
	}
	if d := g.delay(src, "alice", now); d == 0 {
		t.Errorf("after %d failures from one source, another name waits nothing", freeGuessesAny+8)
	}
	if d := g.delay(other, "carol", now); d != 0 {
		t.Errorf("another source, another name, waits %v", d)
	}
	if d := g.delay(other, "bob", now); d != maxGuessDelay {
		t.Errorf("another source guessing bob waits %v, want %v (bob's failures from anywhere)", d, maxGuessDelay)
	}
	if d := g.delay(src, "bob", now.Add(guessMemory+time.Second)); d != 0 {
		t.Errorf("failures not forgotten after %v: %v", guessMemory, d)
	}
	// Right credentials clear that name's failures only.
	g.passed(src, "alice")
	if d := g.delay(src, "bob", now); d != maxGuessDelay {
		t.Errorf("alice's login cleared bob's failures: %v", d)
	}
	g.passed(src, "bob")
	if d := g.delay(src, "carol", now); d == 0 {
		t.Errorf("bob's login cleared the source's failures under any name")
	}
}

// TestGuessRotation: a guesser rotating over more sources than the table
// holds, at one name, is slowed by that name's failures from anywhere; a
// source new to the table waits too.
func TestGuessRotation(t *testing.T) {
	var g guesses
	now := time.Unix(1000, 0)
	src := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	for i := range maxGuessers + 100 {
		g.failed(src(i), "alice", now.Add(time.Duration(i)))
	}
	if len(g.by) > maxGuessers {
		t.Errorf("%d records, at most %d", len(g.by), maxGuessers)
	}
	if d := g.delay(src(1<<20), "alice", now.Add(time.Second)); d != maxGuessDelay {
		t.Errorf("a new source guessing alice after %d failures from others waits %v, want %v", maxGuessers+100, d, maxGuessDelay)
	}
}

// TestExitSlowsGuessing: after a few wrong passwords for a name from one
// address, the next credentials for it, right ones included, are checked
// only after a wait; right ones then clear its failures.
func TestExitSlowsGuessing(t *testing.T) {
	te := startExit(t, nil)
	echo := testnet.Echo(t)
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
	if d := te.srv.guesses.delay(netip.MustParseAddr("127.0.0.1"), "alice", time.Now()); d != 0 {
		t.Errorf("still %v after the right password", d)
	}
}
