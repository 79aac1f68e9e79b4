// Package chunkstore is a storage node's data: immutable chunks of at most
// MaxChunkSize bytes, each named by the lowercase hex SHA-256 of its
// content, kept as one file each under DIR/chunks/<first two hex>/<id>, and
// the gRPC service (ChunkStore in chunkpb) that serves them.
//
// Durability: a Put writes DIR/tmp/<random>, hashing as it goes; it fails
// unless the bytes hash to the id and have the announced size; then the file
// is fsynced, renamed into place and its directory fsynced, and only then is
// the Put acknowledged. The fan-out directory is durable before that: the
// first Put into one (since Open: a crash may have come between an earlier
// run's mkdir and its fsync) fsyncs DIR/chunks after making it, and Open
// fsyncs DIR after making chunks/, tmp/ and corrupt/. A Put of a chunk
// already present reads and checks the copy it holds: a good one is
// acknowledged without the data, and its mtime refreshed, which the
// garbage collector reads as "in use" (Delete only removes chunks untouched
// since a given time), so a writer that dedups onto an old chunk cannot
// lose it to a concurrent GC; a corrupt one is quarantined (as a failed
// read's is) and the new data stored in its place, so a damaged copy
// nobody has read yet never counts as one of the durable copies a writer
// waits for.
//
// Verification is end to end: a plain Get of a whole chunk streams it as
// it is read and the client checks its hash (it has to anyway: only the
// client knows the bytes it received are the bytes it asked for), so the
// node does not hash the same bytes a second time. A client that receives a
// chunk that does not match asks again with verify set; the node then reads
// and checks the whole chunk before sending any byte (readVerified), and a
// chunk that fails is moved to DIR/corrupt/, counted, reported through
// Options.OnCorrupt (the node tells the repairer) and answered with
// codes.DataLoss, never served; the client fails over to another replica
// and the repairer restores the copy. A Get of a range (part of a chunk)
// always takes that verified path: its reader cannot check part of a chunk
// against the id, so the node checks every byte it serves: the first
// range read of a chunk verifies it whole and keeps the sums of its
// 64 KiB blocks, later ones check the blocks they read against those
// (blocksums.go). A chunk the disk cannot read (EIO) is quarantined like
// one that fails its hash. Chunks at rest are verified by the background
// scrubber (scrub.go), which reads them from the disk itself (O_DIRECT),
// so a chunk nobody reads is still checked.
//
// Safety: ids are validated (64 lowercase hex digits) before they become
// part of a path, so no request names a file outside DIR. Every RPC must
// carry the cluster token (see auth.go).
package chunkstore

import (
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
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// MaxChunkSize is the largest chunk a node accepts.
const MaxChunkSize = 4 << 20

// Errors a Store returns (wrapped).
var (
	ErrBadID    = errors.New("invalid chunk id")
	ErrNotFound = errors.New("chunk not found")
	ErrCorrupt  = errors.New("chunk failed verification")
	ErrMismatch = errors.New("chunk content does not match its id or size")
	ErrNoSpace  = syscall.ENOSPC
)

// ValidID reports whether id is 64 lowercase hex digits.
func ValidID(id string) bool {
	if len(id) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ID returns the chunk id of data.
func ID(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// Options configure a Store.
type Options struct {
	// Capacity, if positive, caps the bytes of chunk data the store holds;
	// a Put past it fails with ENOSPC as a full disk would. A Put's size
	// counts from its check, before it writes, so Puts running at once
	// cannot together go past it.
	Capacity int64
	// OnCorrupt is called (from the reading goroutine) when a chunk fails
	// verification and has been quarantined.
	OnCorrupt func(id string)
	// Logf, when set, reports what the scrubber could not check and why.
	Logf func(format string, args ...any)
	// QuarantineKeep is how long a quarantined copy (DIR/corrupt/) is
	// kept for an operator to look at; 0 means DefaultQuarantineKeep.
	// Older ones are removed when the store opens and at every scrub pass.
	QuarantineKeep time.Duration
}

// DefaultQuarantineKeep: two weeks, time for a look at a disk going bad.
const DefaultQuarantineKeep = 14 * 24 * time.Hour

// Store is a directory of chunks. Safe for concurrent use.
type Store struct {
	dir  string
	opts Options

	// mu orders the two ways a chunk's file is replaced: quarantine's
	// check that the file is still the one found bad and its move, and a
	// Put's rename into place (which may follow a quarantine). Without it
	// a reader that found a copy bad could move aside the good copy a Put
	// had just put in its place. It also orders a Put's mtime refresh of a
	// chunk it found already there with Delete's check of the mtime and
	// removal: else the collector could remove a chunk whose Put had just
	// been acknowledged.
	mu sync.Mutex

	// subSynced[b]: chunks/<hex b> exists and its entry in chunks/ has
	// been fsynced since Open.
	subSynced [256]atomic.Bool

	// sums are the block sums of chunks read in ranges (blocksums.go).
	sums sumCache

	used  atomic.Int64 // bytes of chunk data
	count atomic.Int64 // chunks
	// claimed is used plus the sizes of the Puts under way, reserved
	// (reserve) before they write: the capacity bounds it, so Puts
	// running at once cannot together go past it.
	claimed atomic.Int64
	corrupt atomic.Int64
	puts    atomic.Int64
	gets    atomic.Int64

	scrubPasses, scrubChunks, scrubBytes, scrubLast, scrubSkipped atomic.Int64
}

// Open opens (creating if needed) the store in dir and counts what it holds.
func Open(dir string, opts Options) (*Store, error) {
	s := &Store{dir: dir, opts: opts, sums: sumCache{max: maxSummed}}
	for _, d := range []string{"chunks", "tmp", "corrupt"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("chunkstore: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("chunkstore: fsync %s: %w", dir, err)
	}
	// Leftovers of Puts interrupted by a crash were never acknowledged.
	if tmps, err := os.ReadDir(filepath.Join(dir, "tmp")); err == nil {
		for _, t := range tmps {
			os.Remove(filepath.Join(dir, "tmp", t.Name()))
		}
	}
	s.pruneQuarantine(time.Now())
	err := s.List(func(id string, size int64, _ time.Time) error {
		s.used.Add(size)
		s.claimed.Add(size)
		s.count.Add(1)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("chunkstore: scanning %s: %w", dir, err)
	}
	return s, nil
}

// pruneQuarantine removes the quarantined copies older than the options
// keep them, by the time of their quarantine (the name's suffix: a rename
// keeps the chunk's own mtime). It returns how many it removed.
func (s *Store) pruneQuarantine(now time.Time) int {
	keep := s.opts.QuarantineKeep
	if keep <= 0 {
		keep = DefaultQuarantineKeep
	}
	dir := filepath.Join(s.dir, "corrupt")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	removed := 0
	for _, e := range ents {
		ext := filepath.Ext(e.Name())
		ns, err := strconv.ParseInt(strings.TrimPrefix(ext, "."), 10, 64)
		if err != nil || !ValidID(strings.TrimSuffix(e.Name(), ext)) {
			continue // not one of ours
		}
		if now.Sub(time.Unix(0, ns)) > keep && os.Remove(filepath.Join(dir, e.Name())) == nil {
			removed++
		}
	}
	if removed > 0 {
		s.logf("removed %d quarantined chunk copies older than %v from %s", removed, keep, dir)
	}
	return removed
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(id string) string {
	return filepath.Join(s.dir, "chunks", id[:2], id)
}

// Has reports whether the chunk is present.
func (s *Store) Has(id string) bool {
	if !ValidID(id) {
		return false
	}
	_, err := os.Stat(s.path(id))
	return err == nil
}

// Put stores the chunk id, of size bytes read from r, durably. It returns
// existed=true if the chunk was already there (then r is not read).
func (s *Store) Put(id string, size int64, r io.Reader) (existed bool, err error) {
	if !ValidID(id) {
		return false, fmt.Errorf("put %q: %w", id, ErrBadID)
	}
	if size < 0 || size > MaxChunkSize {
		return false, fmt.Errorf("put %s: size %d out of range: %w", id, size, ErrMismatch)
	}
	s.puts.Add(1)
	final := s.path(id)
	switch err := s.touchGood(id); {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrCorrupt):
		// None here, or a bad copy now quarantined: store this one.
	default:
		return false, fmt.Errorf("put %s: checking the copy held: %w", id, err)
	}
	if err := s.reserve(size); err != nil {
		return false, fmt.Errorf("put %s: %w", id, err)
	}
	stored := false
	defer func() {
		if !stored {
			s.claimed.Add(-size) // failed, or another Put stored it
		}
	}()
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), id[:8]+".*")
	if err != nil {
		return false, fmt.Errorf("put %s: %w", id, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := hashPool.Get().(hash.Hash)
	defer hashPool.Put(h)
	h.Reset()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, size+1))
	if err != nil {
		return false, fmt.Errorf("put %s: %w", id, err)
	}
	if n != size || hex.EncodeToString(h.Sum(nil)) != id {
		return false, fmt.Errorf("put %s: got %d bytes of %d or wrong hash: %w", id, n, size, ErrMismatch)
	}
	if err = tmp.Sync(); err != nil {
		return false, fmt.Errorf("put %s: fsync: %w", id, err)
	}
	if err = tmp.Close(); err != nil {
		return false, fmt.Errorf("put %s: %w", id, err)
	}
	sub := filepath.Dir(final)
	if err = s.makeSubdir(sub); err != nil {
		return false, fmt.Errorf("put %s: %w", id, err)
	}
	s.mu.Lock()
	// Not over a copy a concurrent Put of the same chunk stored first:
	// the counters would count it twice.
	err = unix.Renameat2(unix.AT_FDCWD, tmp.Name(), unix.AT_FDCWD, final, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		err = os.Rename(tmp.Name(), final) // a file system without it
	}
	if stored = err == nil; stored {
		// Counted under mu, as quarantine and Delete uncount it: one
		// of them may find the file the moment it is in place. The
		// reservation becomes the chunk's share of claimed.
		s.used.Add(size)
		s.count.Add(1)
	}
	s.mu.Unlock()
	if errors.Is(err, unix.EEXIST) {
		os.Remove(tmp.Name())
		err = nil
	}
	if err != nil {
		return false, fmt.Errorf("put %s: %w", id, err)
	}
	// Also when the other Put stored it: it may not have fsynced yet.
	if err = syncDir(sub); err != nil {
		return false, fmt.Errorf("put %s: fsync dir: %w", id, err)
	}
	return false, nil
}

// reserve claims size bytes of the capacity for a Put about to write
// them, or fails with ErrNoSpace if they do not fit beside the chunks held
// and the other Puts' reservations. The Put releases them if it stores
// nothing; else they stay claimed as the chunk's until it is removed.
func (s *Store) reserve(size int64) error {
	c := s.opts.Capacity
	if c <= 0 {
		s.claimed.Add(size)
		return nil
	}
	for {
		cl := s.claimed.Load()
		if cl+size > c {
			return fmt.Errorf("capacity %d bytes reached (%d held or being written): %w", c, cl, ErrNoSpace)
		}
		if s.claimed.CompareAndSwap(cl, cl+size) {
			return nil
		}
	}
}

var hashPool = sync.Pool{New: func() any { return sha256.New() }}

// touchGood verifies the copy of chunk id the store holds and, if it is
// good, refreshes its mtime. ErrNotFound: there is none (or it was deleted
// meanwhile); ErrCorrupt: it failed and has been quarantined.
func (s *Store) touchGood(id string) error {
	f, size, err := s.openChunk(id)
	if err != nil {
		return err
	}
	defer f.Close()
	bp := chunkBufs.Get().(*[]byte)
	defer chunkBufs.Put(bp)
	if _, err := s.readVerified(id, f, size, *bp); err != nil {
		return err
	}
	now := time.Now()
	s.mu.Lock()
	err = os.Chtimes(s.path(id), now, now)
	s.mu.Unlock()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("put %s: %w", id, ErrNotFound)
		}
		return err
	}
	return nil
}

// makeSubdir makes sure sub, a fan-out directory chunks/xx, exists and its
// entry in chunks/ is durable. Only the first call for each since Open
// does anything.
func (s *Store) makeSubdir(sub string) error {
	var b [1]byte
	if _, err := hex.Decode(b[:], []byte(filepath.Base(sub))); err != nil {
		return err
	}
	if s.subSynced[b[0]].Load() {
		return nil
	}
	if err := os.Mkdir(sub, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	// Also when it existed: it may be a crashed run's, never fsynced, or
	// a concurrent Put's, not fsynced yet.
	if err := syncDir(filepath.Dir(sub)); err != nil {
		return fmt.Errorf("fsync dir: %w", err)
	}
	s.subSynced[b[0]].Store(true)
	return nil
}

// syncDir fsyncs a directory, making the entries made in it durable. A
// variable: tests record the calls.
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Open opens the chunk for reading, unverified (the reader verifies), and
// returns its size.
func (s *Store) Open(id string) (*os.File, int64, error) {
	if !ValidID(id) {
		return nil, 0, fmt.Errorf("get %q: %w", id, ErrBadID)
	}
	s.gets.Add(1)
	return s.openChunk(id)
}

// openChunk is Open of a valid id, uncounted.
func (s *Store) openChunk(id string) (*os.File, int64, error) {
	f, err := os.Open(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("get %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get %s: %w", id, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("get %s: %w", id, err)
	}
	if st.Size() > MaxChunkSize {
		f.Close()
		return nil, 0, s.quarantine(id, "oversized", st)
	}
	return f, st.Size(), nil
}

// readVerified reads the whole of chunk id from f, opened by Open with its
// size, into buf (reused if large enough) and checks its hash; a chunk that
// fails is quarantined (ErrCorrupt).
func (s *Store) readVerified(id string, f *os.File, size int64, buf []byte) ([]byte, error) {
	if int64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := f.ReadAt(buf, 0); err != nil {
		return nil, s.readFailed(id, f, err)
	}
	if sum := sha256.Sum256(buf); hex.EncodeToString(sum[:]) != id {
		return nil, s.quarantineOpen(id, "hash mismatch", f)
	}
	return buf, nil
}

// readFailed is the error to answer a read of chunk id (open as f) that
// failed with err. The disk's EIO quarantines the chunk: it is as lost as
// a corrupt copy. Anything else (the file shorter than when it was opened)
// is only not served.
func (s *Store) readFailed(id string, f *os.File, err error) error {
	if errors.Is(err, syscall.EIO) {
		return s.quarantineOpen(id, "unreadable (EIO)", f)
	}
	return fmt.Errorf("get %s: %w", id, err)
}

// quarantineOpen quarantines chunk id, found bad through f.
func (s *Store) quarantineOpen(id, why string, f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("get %s: %w", id, err)
	}
	return s.quarantine(id, why, st)
}

// quarantine moves chunk id's file, found bad, aside so it is never served
// again, then counts and reports it. If the file there is no longer the
// one found bad (another reader moved it first, or a Put replaced it), it
// is left alone and not counted twice. It returns the ErrCorrupt to answer
// with.
func (s *Store) quarantine(id, why string, bad fs.FileInfo) error {
	p := s.path(id)
	s.mu.Lock()
	st, err := os.Stat(p)
	moved := err == nil && os.SameFile(st, bad)
	if moved {
		dst := filepath.Join(s.dir, "corrupt", fmt.Sprintf("%s.%d", id, time.Now().UnixNano()))
		if err := os.Rename(p, dst); err != nil {
			// Counted and reported only once it is gone: a file system
			// gone read-only (as ext4 goes after an I/O error) keeps it,
			// and the next reader tries again.
			moved = os.Remove(p) == nil
		}
	}
	if moved {
		s.used.Add(-st.Size())
		s.claimed.Add(-st.Size())
		s.count.Add(-1)
	}
	s.mu.Unlock()
	if moved {
		s.corrupt.Add(1)
		if s.opts.OnCorrupt != nil {
			s.opts.OnCorrupt(id)
		}
	}
	return fmt.Errorf("get %s: %s: %w", id, why, ErrCorrupt)
}

// Delete removes the chunk if its file was last modified before olderThan
// (any time if olderThan is zero). It reports whether it removed it.
func (s *Store) Delete(id string, olderThan time.Time) (bool, error) {
	if !ValidID(id) {
		return false, fmt.Errorf("delete %q: %w", id, ErrBadID)
	}
	p := s.path(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !olderThan.IsZero() && !st.ModTime().Before(olderThan) {
		return false, nil
	}
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	s.used.Add(-st.Size())
	s.claimed.Add(-st.Size())
	s.count.Add(-1)
	return true, nil
}

// List calls fn for every chunk with its size and mtime.
func (s *Store) List(fn func(id string, size int64, mtime time.Time) error) error {
	root := filepath.Join(s.dir, "chunks")
	subs, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if !sub.IsDir() || len(sub.Name()) != 2 {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(root, sub.Name()))
		if err != nil {
			return err
		}
		for _, e := range ents {
			if !ValidID(e.Name()) || e.Name()[:2] != sub.Name() {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue // deleted meanwhile
			}
			if err := fn(e.Name(), info.Size(), info.ModTime()); err != nil {
				return err
			}
		}
	}
	return nil
}

// Stats are a store's counters.
type Stats struct {
	Chunks, Bytes       int64
	DiskFree, DiskTotal uint64
	Corrupt, Puts, Gets int64
}

// Stats returns the store's counters and its file system's space.
func (s *Store) Stats() Stats {
	st := Stats{
		Chunks: s.count.Load(), Bytes: s.used.Load(),
		Corrupt: s.corrupt.Load(), Puts: s.puts.Load(), Gets: s.gets.Load(),
	}
	var fsst syscall.Statfs_t
	if syscall.Statfs(s.dir, &fsst) == nil {
		st.DiskFree = fsst.Bavail * uint64(fsst.Bsize)
		st.DiskTotal = fsst.Blocks * uint64(fsst.Bsize)
	}
	if c := s.opts.Capacity; c > 0 {
		// Less what the Puts under way have reserved.
		st.DiskTotal = uint64(c)
		st.DiskFree = uint64(max(0, c-max(st.Bytes, s.claimed.Load())))
	}
	return st
}
