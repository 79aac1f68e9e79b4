package placement

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
)

// keys returns n chunk-id-like keys (hex SHA-256 of a counter).
func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		s := sha256.Sum256([]byte(fmt.Sprint(i)))
		out[i] = hex.EncodeToString(s[:])
	}
	return out
}

func nodes(n int) []Node {
	out := make([]Node, n)
	for i := range out {
		out[i] = Node{ID: fmt.Sprintf("node-%02d", i)}
	}
	return out
}

const nKeys = 200000

// TestTargets measures both schemes at N=10, R=2 and checks the chosen one
// (HRW) against the targets: busiest node at most 1.05x the mean,
// a join or a leave moving at most 1.1x the ideal 1/N.
func TestTargets(t *testing.T) {
	ks := keys(nKeys)
	ten, eleven, nine := nodes(10), nodes(11), nodes(10)[:9]
	type result struct{ balance, join, leave float64 }
	measure := func(mk func([]Node) Placer) result {
		b := mk(ten)
		return result{
			balance: Balance(b, ks, 2),
			join:    Movement(b, mk(eleven), ks, 2),
			leave:   Movement(b, mk(nine), ks, 2),
		}
	}
	schemes := []struct {
		name string
		mk   func([]Node) Placer
	}{
		{"ring/1 token (paper)", func(n []Node) Placer { return NewRing(n, 1) }},
		{"ring/256 vnodes", func(n []Node) Placer { return NewRing(n, 256) }},
		{"hrw", func(n []Node) Placer { return NewHRW(n) }},
	}
	got := map[string]result{}
	for _, s := range schemes {
		r := measure(s.mk)
		got[s.name] = r
		t.Logf("%-22s max/mean %.3f  join moves %.3fx ideal  leave moves %.3fx ideal", s.name, r.balance, r.join, r.leave)
	}
	if r := got["hrw"]; r.balance > 1.05 || r.join > 1.1 || r.leave > 1.1 {
		t.Errorf("hrw misses a target: %+v", r)
	}
	// The paper's single-token ring (one copy per key) must show the
	// imbalance the design fixes.
	paper := Balance(NewRing(ten, 1), ks, 1)
	t.Logf("ring/1 token, R=1: max/mean %.3f", paper)
	if paper < 2 {
		t.Errorf("single-token ring unexpectedly balanced: %.3f", paper)
	}
	// Virtual nodes must at least beat the single token by far.
	if r := got["ring/256 vnodes"]; r.balance > 1.2 || r.join > 1.2 || r.leave > 1.2 {
		t.Errorf("ring with vnodes is off: %+v", r)
	}
}

func TestRankDistinctAndStable(t *testing.T) {
	for _, p := range []Placer{NewHRW(nodes(5)), NewRing(nodes(5), 64)} {
		for _, k := range keys(1000) {
			r := p.Rank(k, 0)
			if len(r) != 5 {
				t.Fatalf("%T rank len %d", p, len(r))
			}
			seen := map[string]bool{}
			for _, id := range r {
				if seen[id] {
					t.Fatalf("%T: duplicate %s in %v", p, id, r)
				}
				seen[id] = true
			}
			if two := p.Rank(k, 2); two[0] != r[0] || two[1] != r[1] {
				t.Fatalf("%T: Rank(k,2)=%v is not a prefix of %v", p, two, r)
			}
		}
	}
	if got := NewHRW(nil).Rank("x", 2); len(got) != 0 {
		t.Fatalf("empty placer ranked %v", got)
	}
	if got := NewRing(nil, 8).Rank("x", 2); len(got) != 0 {
		t.Fatalf("empty ring ranked %v", got)
	}
}

// TestHRWSubsetProperty: the ranking over a subset of the nodes is the
// full ranking with the missing nodes left out. Readers and the repairer
// depend on it.
func TestHRWSubsetProperty(t *testing.T) {
	all := NewHRW(nodes(6))
	sub := NewHRW(append(nodes(6)[:2:2], nodes(6)[3:]...)) // without node-02
	for _, k := range keys(2000) {
		var want []string
		for _, id := range all.Rank(k, 0) {
			if id != "node-02" {
				want = append(want, id)
			}
		}
		got := sub.Rank(k, 0)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("key %s: subset rank %v, want %v", k, got, want)
		}
	}
}

func TestWeights(t *testing.T) {
	ks := keys(100000)
	ns := []Node{{ID: "a", Weight: 1}, {ID: "b", Weight: 1}, {ID: "c", Weight: 2}}
	for _, p := range []Placer{NewHRW(ns), NewRing(ns, 256)} {
		count := map[string]int{}
		for _, k := range ks {
			count[p.Rank(k, 1)[0]]++
		}
		share := float64(count["c"]) / float64(len(ks))
		if share < 0.47 || share > 0.53 {
			t.Errorf("%T: weight-2 node got %.3f of keys, want about 0.5", p, share)
		}
	}
}

func TestNewScheme(t *testing.T) {
	if _, err := New("ring", nodes(3)); err != nil {
		t.Fatal(err)
	}
	if p, err := New("", nodes(3)); err != nil || fmt.Sprintf("%T", p) != "*placement.HRW" {
		t.Fatalf("default scheme %T %v", p, err)
	}
	if _, err := New("bogus", nil); err == nil {
		t.Fatal("bogus scheme accepted")
	}
}

func BenchmarkRankHRW10(b *testing.B) {
	p, ks := NewHRW(nodes(10)), keys(1024)
	for i := 0; b.Loop(); i++ {
		p.Rank(ks[i%len(ks)], 2)
	}
}

func BenchmarkRankRing10(b *testing.B) {
	p, ks := NewRing(nodes(10), 256), keys(1024)
	for i := 0; b.Loop(); i++ {
		p.Rank(ks[i%len(ks)], 2)
	}
}
