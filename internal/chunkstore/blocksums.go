package chunkstore

import (
	"crypto/sha256"
	"os"
	"sync"
)

// Ranged reads. A client can check only a whole chunk against its id, so
// the node checks every byte of a range it serves. Hashing the whole chunk
// for each range made a 4 KiB read of a 4 MiB chunk cost ~4 ms. Instead
// the first ranged read of a chunk verifies it whole and keeps, in memory,
// the SHA-256 of each blockSize block of it; later ranged reads of that
// chunk read and check only the blocks they touch. The sums describe the
// content, which the id fixes, not the file: whatever happens to the file
// (quarantined, replaced by a Put, rotting on the disk), the sums stay
// true, and a block that differs from its sum is a bad file, quarantined
// like any other.

// blockSize is the unit a ranged read reads and checks.
const blockSize = 64 << 10

// maxSummed bounds the chunks whose sums are kept: 64 sums of 32 bytes for
// a 4 MiB chunk, 16 MiB in all for 8,192 chunks (32 GiB of chunk data).
const maxSummed = 8192

// chunkSums are the block sums of one chunk.
type chunkSums struct {
	size int64
	sums [][sha256.Size]byte
}

// sumCache holds the block sums of the chunks read in ranges last, up to
// max chunks; the oldest entries go first.
type sumCache struct {
	mu    sync.Mutex
	max   int
	m     map[string]*chunkSums
	order []string // ring of the ids in m, oldest at next
	next  int
}

func (c *sumCache) get(id string) *chunkSums {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id]
}

func (c *sumCache) put(id string, cs *chunkSums) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*chunkSums{}
	}
	if _, ok := c.m[id]; ok {
		return
	}
	if len(c.order) < c.max {
		c.order = append(c.order, id)
	} else {
		delete(c.m, c.order[c.next])
		c.order[c.next] = id
		c.next = (c.next + 1) % len(c.order)
	}
	c.m[id] = cs
}

// blockSums hashes data block by block.
func blockSums(data []byte) *chunkSums {
	cs := &chunkSums{size: int64(len(data))}
	for off := 0; off < len(data); off += blockSize {
		cs.sums = append(cs.sums, sha256.Sum256(data[off:min(off+blockSize, len(data))]))
	}
	return cs
}

// readRange returns bytes [off, end) of chunk id (open as f, size bytes),
// every one of them checked, reading into buf (at least MaxChunkSize
// bytes): through the block sums if they are known, else by verifying the
// whole chunk and keeping its sums. A chunk that fails is quarantined
// (ErrCorrupt).
func (s *Store) readRange(id string, f *os.File, size, off, end int64, buf []byte) ([]byte, error) {
	if off == end {
		return buf[:0], nil // nothing to check
	}
	cs := s.sums.get(id)
	if cs == nil || cs.size != size {
		data, err := s.readVerified(id, f, size, buf)
		if err != nil {
			return nil, err
		}
		s.sums.put(id, blockSums(data))
		return data[off:end], nil
	}
	first, last := off/blockSize, (end-1)/blockSize
	lo, hi := first*blockSize, min((last+1)*blockSize, size)
	b := buf[:hi-lo]
	if _, err := f.ReadAt(b, lo); err != nil {
		return nil, s.readFailed(id, f, err)
	}
	for k := first; k <= last; k++ {
		from := (k - first) * blockSize
		if sha256.Sum256(b[from:min(from+blockSize, hi-lo)]) != cs.sums[k] {
			return nil, s.quarantineOpen(id, "hash mismatch (block)", f)
		}
	}
	return b[off-lo : end-lo], nil
}
