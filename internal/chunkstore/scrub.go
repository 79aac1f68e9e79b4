package chunkstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The scrubber verifies chunks at rest: it walks the whole store, reads
// every chunk from the disk itself (O_DIRECT where the file system allows
// it, so the check is of the stored bytes, not of a cached copy, and the
// walk does not evict the page cache) and checks its hash; a chunk that
// fails is quarantined and reported like one found by a verified read. It
// reads at most Rate bytes per second, so it never competes much with the
// node's clients, and starts a pass every Interval (counted from the start
// of the previous one, remembered in DIR/scrub-last across restarts).

// ScrubOptions configure Store.Scrub.
type ScrubOptions struct {
	Rate     int64         // bytes per second (must be positive)
	Interval time.Duration // between the starts of two passes
	// Start delays the first pass of a store that has never been
	// scrubbed (so a node that just started serves first).
	Start time.Duration
}

// ScrubStats are the scrubber's counters.
type ScrubStats struct {
	Passes, Chunks, Bytes int64
	// Skipped counts chunks a pass could not check (an error other than
	// the disk's EIO, which quarantines the chunk like a bad hash).
	Skipped  int64
	LastPass time.Time // completion of the last whole pass
}

func (s *Store) scrubStatePath() string { return filepath.Join(s.dir, "scrub-last") }

// lastScrub returns when the last completed pass started (zero: never).
func (s *Store) lastScrub() time.Time {
	b, err := os.ReadFile(s.scrubStatePath())
	if err != nil {
		return time.Time{}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Scrub runs passes until ctx ends.
func (s *Store) Scrub(ctx context.Context, o ScrubOptions) {
	if o.Rate <= 0 || o.Interval <= 0 {
		return
	}
	next := time.Now().Add(o.Start)
	if last := s.lastScrub(); !last.IsZero() {
		next = last.Add(o.Interval)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		start := time.Now()
		if err := s.ScrubPass(ctx, o.Rate); err != nil {
			// Stopped (ctx) or the store is unreadable: try again later.
			next = time.Now().Add(min(o.Interval, time.Minute))
			continue
		}
		os.WriteFile(s.scrubStatePath(), []byte(strconv.FormatInt(start.UnixNano(), 10)+"\n"), 0o600)
		next = start.Add(o.Interval)
	}
}

// maxSkipLogs bounds the chunks a pass names in the log; the pass's last
// line counts them all.
const maxSkipLogs = 10

func (s *Store) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// ScrubPass verifies every chunk once, reading at most rate bytes per
// second, and returns when done (or ctx ends). A chunk it cannot check is
// skipped and counted, the others are checked, and the pass is then not
// a whole one: it returns an error.
func (s *Store) ScrubPass(ctx context.Context, rate int64) error {
	s.pruneQuarantine(time.Now())
	var ids []string
	if err := s.List(func(id string, _ int64, _ time.Time) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		return err
	}
	buf, free := alignedBuffer(MaxChunkSize)
	defer free()
	h := sha256.New()
	start := time.Now()
	var done, skipped int64
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := s.verifyAtRest(id, buf, h)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted meanwhile
		}
		if err != nil && !errors.Is(err, ErrCorrupt) {
			// One chunk the pass cannot check must not stop it from
			// checking all the others.
			s.scrubSkipped.Add(1)
			if skipped++; skipped <= maxSkipLogs {
				s.logf("scrub: chunk %s not checked: %v", id, err)
			}
			continue
		}
		done += n
		s.scrubChunks.Add(1)
		s.scrubBytes.Add(n)
		// Pace: done bytes may not take less than done/rate seconds.
		if ahead := time.Duration(float64(done)/float64(rate)*float64(time.Second)) - time.Since(start); ahead > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(ahead):
			}
		}
	}
	if skipped > 0 {
		// Not a whole pass: the loop tries again soon, not an interval
		// later.
		err := fmt.Errorf("scrub: %d of %d chunks could not be checked", skipped, len(ids))
		s.logf("%v", err)
		return err
	}
	s.scrubPasses.Add(1)
	s.scrubLast.Store(time.Now().UnixNano())
	return nil
}

// verifyAtRest reads chunk id from the disk and checks it, quarantining it
// if it fails. It returns the bytes read.
func (s *Store) verifyAtRest(id string, buf []byte, h hash.Hash) (int64, error) {
	n, fi, err := s.readHash(id, buf, h, true)
	if errors.Is(err, syscall.EINVAL) {
		// The file system takes no O_DIRECT (tmpfs, some overlays): read
		// through the page cache.
		n, fi, err = s.readHash(id, buf, h, false)
	}
	if errors.Is(err, syscall.EIO) && fi != nil {
		// The disk cannot read it: as lost as a corrupt copy.
		return n, s.quarantine(id, "unreadable (EIO, scrub)", fi)
	}
	if err != nil {
		return n, err
	}
	if n > MaxChunkSize {
		return n, s.quarantine(id, "oversized", fi)
	}
	if hex.EncodeToString(h.Sum(nil)) != id {
		return n, s.quarantine(id, "hash mismatch (scrub)", fi)
	}
	return n, nil
}

// readHash reads chunk id into h and returns its length and the file
// read.
func (s *Store) readHash(id string, buf []byte, h hash.Hash, direct bool) (int64, fs.FileInfo, error) {
	flags := os.O_RDONLY
	if direct {
		flags |= syscall.O_DIRECT
	}
	f, err := os.OpenFile(s.path(id), flags, 0)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, nil, fmt.Errorf("scrub %s: %w", id, err)
	}
	h.Reset()
	var n int64
	for n <= MaxChunkSize {
		// O_DIRECT wants aligned lengths: ask for the whole buffer, get
		// what the file holds.
		k, err := f.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fi, fmt.Errorf("scrub %s: %w", id, err)
		}
	}
	return n, fi, nil
}

// alignedBuffer returns a page-aligned buffer of n bytes (as O_DIRECT
// needs) and the function that releases it.
func alignedBuffer(n int) ([]byte, func()) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		// Go's large allocations are page-aligned in practice; O_DIRECT
		// reports EINVAL otherwise and the read fails loudly.
		return make([]byte, n), func() {}
	}
	return b, func() { syscall.Munmap(b) }
}

// ScrubStats returns the scrubber's counters.
func (s *Store) ScrubStats() ScrubStats {
	st := ScrubStats{Passes: s.scrubPasses.Load(), Chunks: s.scrubChunks.Load(), Bytes: s.scrubBytes.Load(), Skipped: s.scrubSkipped.Load()}
	if t := s.scrubLast.Load(); t != 0 {
		st.LastPass = time.Unix(0, t)
	} else {
		st.LastPass = s.lastScrub() // an earlier run's (its start)
	}
	return st
}
