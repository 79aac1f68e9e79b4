// Package placement decides which storage nodes hold a chunk.
//
// Two consistent-hashing schemes are implemented so that they can be
// measured against each other on the same keys (see placement_test.go and
// docs/benchmarks.md):
//
//   - Ring: the Dynamo scheme. Every node owns Vnodes*weight tokens on a
//     64-bit ring; a key's replicas are the owners of the first distinct
//     nodes met walking clockwise from the key's hash. With one token per
//     node (the Carrot paper's ring) the busiest of 10 nodes holds about 3x
//     the mean; virtual nodes shrink that to about 1.06x at 256 tokens.
//   - HRW (rendezvous, highest random weight): every node gets a score
//     -weight/ln(u), where u in (0,1) is a hash of (key, node); a key's
//     replicas are the R nodes with the highest scores. It needs no tokens,
//     balances to within sampling noise, and a join or leave moves only the
//     keys whose top-R set gains or loses that node, the ideal 1/N.
//
// HRW is the default (Params.placement "hrw"): it met both targets (max/mean
// at most 1.05 at N=10, movement at most 1.1x ideal) where the ring with 256
// vnodes did not meet the balance one. It has one more property the rest of
// the cluster relies on: the ranking over a subset of nodes is the ranking
// over all nodes with the others left out, so a reader that walks the full
// ranking finds a chunk written while some node was down, and the repairer
// knows which copies are out of place.
//
// Placers are immutable and safe for concurrent use.
package placement

import (
	"fmt"
	"math"
	"sort"
)

// Node is one candidate for placement.
type Node struct {
	ID     string
	Weight float64 // relative capacity; 0 means 1
}

// Placer ranks nodes for a key.
type Placer interface {
	// Rank returns up to n distinct node IDs in order of preference for key.
	// n <= 0 ranks every node.
	Rank(key string, n int) []string
	// Nodes returns the nodes the placer was built from.
	Nodes() []Node
}

// New builds the placer named by scheme ("hrw" or "ring"; "" is "hrw").
func New(scheme string, nodes []Node) (Placer, error) {
	switch scheme {
	case "", "hrw":
		return NewHRW(nodes), nil
	case "ring":
		return NewRing(nodes, DefaultVnodes), nil
	}
	return nil, fmt.Errorf("placement: unknown scheme %q (want hrw or ring)", scheme)
}

func weight(n Node) float64 {
	if n.Weight <= 0 {
		return 1
	}
	return n.Weight
}

// hashString is 64-bit FNV-1a, finished with a mixer so that keys that
// differ in one character land far apart.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix(h)
}

// mix is the splitmix64 finaliser: a bijection with full avalanche.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// HRW is rendezvous hashing with weights.
type HRW struct {
	nodes  []Node
	hashes []uint64
}

// NewHRW builds a rendezvous placer.
func NewHRW(nodes []Node) *HRW {
	h := &HRW{nodes: append([]Node(nil), nodes...)}
	sort.Slice(h.nodes, func(i, j int) bool { return h.nodes[i].ID < h.nodes[j].ID })
	h.hashes = make([]uint64, len(h.nodes))
	for i, n := range h.nodes {
		h.hashes[i] = hashString(n.ID)
	}
	return h
}

// Nodes implements Placer.
func (h *HRW) Nodes() []Node { return append([]Node(nil), h.nodes...) }

// Rank implements Placer.
func (h *HRW) Rank(key string, n int) []string {
	if n <= 0 || n > len(h.nodes) {
		n = len(h.nodes)
	}
	kh := hashString(key)
	type scored struct {
		score float64
		i     int
	}
	s := make([]scored, len(h.nodes))
	for i := range h.nodes {
		// u in (0,1): 53 random bits, never 0 or 1.
		u := (float64(mix(kh^h.hashes[i])>>11) + 0.5) / (1 << 53)
		s[i] = scored{-weight(h.nodes[i]) / math.Log(u), i}
	}
	sort.Slice(s, func(a, b int) bool {
		if s[a].score != s[b].score {
			return s[a].score > s[b].score
		}
		return s[a].i < s[b].i
	})
	out := make([]string, n)
	for i := range out {
		out[i] = h.nodes[s[i].i].ID
	}
	return out
}

// DefaultVnodes is the ring's token count per unit of weight.
const DefaultVnodes = 256

// Ring is a consistent-hash ring with virtual nodes.
type Ring struct {
	nodes  []Node
	tokens []uint64 // sorted
	owner  []int32  // owner[i] is the node index of tokens[i]
}

// NewRing builds a ring with vnodes tokens per unit of weight (at least 1
// per node).
func NewRing(nodes []Node, vnodes int) *Ring {
	r := &Ring{nodes: append([]Node(nil), nodes...)}
	sort.Slice(r.nodes, func(i, j int) bool { return r.nodes[i].ID < r.nodes[j].ID })
	type tok struct {
		t uint64
		o int32
	}
	var toks []tok
	for i, n := range r.nodes {
		k := max(1, int(math.Round(float64(vnodes)*weight(n))))
		base := hashString(n.ID)
		for j := 0; j < k; j++ {
			toks = append(toks, tok{mix(base + uint64(j)*0x9e3779b97f4a7c15), int32(i)})
		}
	}
	sort.Slice(toks, func(a, b int) bool { return toks[a].t < toks[b].t })
	r.tokens = make([]uint64, len(toks))
	r.owner = make([]int32, len(toks))
	for i, t := range toks {
		r.tokens[i], r.owner[i] = t.t, t.o
	}
	return r
}

// Nodes implements Placer.
func (r *Ring) Nodes() []Node { return append([]Node(nil), r.nodes...) }

// Rank implements Placer: the distinct owners met walking clockwise.
func (r *Ring) Rank(key string, n int) []string {
	if n <= 0 || n > len(r.nodes) {
		n = len(r.nodes)
	}
	out := make([]string, 0, n)
	if len(r.tokens) == 0 {
		return out
	}
	kh := hashString(key)
	start := sort.Search(len(r.tokens), func(i int) bool { return r.tokens[i] >= kh })
	seen := make([]bool, len(r.nodes))
	for i := 0; i < len(r.tokens) && len(out) < n; i++ {
		o := r.owner[(start+i)%len(r.tokens)]
		if !seen[o] {
			seen[o] = true
			out = append(out, r.nodes[o].ID)
		}
	}
	return out
}

// Balance places keys (R copies each) and returns the busiest node's copy
// count over the mean (1.0 is perfect).
func Balance(p Placer, keys []string, r int) float64 {
	count := map[string]int{}
	for _, k := range keys {
		for _, id := range p.Rank(k, r) {
			count[id]++
		}
	}
	nodes := p.Nodes()
	if len(nodes) == 0 {
		return 0
	}
	total, busiest := 0, 0
	for _, n := range nodes {
		c := count[n.ID]
		total += c
		busiest = max(busiest, c)
	}
	return float64(busiest) / (float64(total) / float64(len(nodes)))
}

// Movement places keys (R copies each) with before and after and returns
// the fraction of copies that must move (copies on a node of after's set
// that before did not choose), divided by the ideal fraction: the share of
// the changed nodes' capacity, |ΔN|/N for equal weights.
func Movement(before, after Placer, keys []string, r int) float64 {
	moved, total := 0, 0
	for _, k := range keys {
		old := before.Rank(k, r)
		for _, id := range after.Rank(k, r) {
			total++
			found := false
			for _, o := range old {
				if o == id {
					found = true
					break
				}
			}
			if !found {
				moved++
			}
		}
	}
	nb, na := len(before.Nodes()), len(after.Nodes())
	changed := na - nb
	if changed < 0 {
		changed = -changed
	}
	ideal := float64(changed) / float64(max(na, nb))
	if total == 0 || ideal == 0 {
		return 0
	}
	return float64(moved) / float64(total) / ideal
}
