// Package meta keeps a storage cluster's namespace in etcd, inode style:
//
//	<prefix>fs/i/<ino, 16 hex>           -> Inode   (attributes, version, chunk list)
//	<prefix>fs/i/<ino, 16 hex>/t         -> a directory's last entry change (ns)
//	<prefix>fs/d/<parent ino>/<name>     -> Dirent  (child ino and file type)
//	<prefix>fs/pin/<lease>/<upload>/<id> -> ""      (a chunk of an upload in progress, pins.go)
//
// A directory entry names an inode and holds nothing else, so renaming a
// directory rewrites two entries and the moved directory's parent pointer,
// whatever the directory holds: O(1). Directories have exactly one parent
// (stored in the inode, for the cycle check of rename); files may have
// several entries (hard links, counted by Nlink). Inode numbers are random
// 63-bit numbers, never reused, so no counter is contended and a number's
// file type never changes (FS remembers which numbers are directories).
//
// Every mutation is one etcd transaction guarded by compares on what it
// read (optimistic concurrency): an entry's absence (Version == 0), an
// inode's ModRevision, a directory's emptiness (Version == 0 over the range
// of its entries). When a compare fails because of a concurrent change the
// operation reads again and retries (bounded); when it fails because the
// change makes the operation wrong, the caller gets the errno (EEXIST,
// ENOENT, ENOTEMPTY, ENOTDIR, EISDIR, EINVAL). A new file version commits
// only on top of the version the writer started from, else ErrConflict
// (ESTALE): one writer wins and the loser's write is invisible.
//
// Rename of a directory compares the ModRevision of every ancestor of the
// destination, read while checking that the source is not among them, so a
// concurrent rename that would close a cycle (mv a b/ racing mv b a/) makes
// one of them retry and fail with EINVAL.
//
// Directory mtimes: every operation that adds or removes an entry also
// writes the time to the directory's time key (.../t), blindly (no compare),
// in the same transaction. Rewriting the directory's inode instead would
// make it a contended key: every creator in a directory would have to
// compare its revision, and concurrent creates would conflict and retry.
// The time key is read with the inode in one range request (it sorts right
// after it), and the directory's Mtime and Ctime are the later of the
// inode's and the key's. Concurrent writers each put their own clock, so
// with clocks apart across clients the newest write wins even if its time
// is a little older; a Setattr of the mtime deletes the key.
//
// Reads are linearizable etcd reads unless the FS has a Cache, which keeps
// inodes and entries fresh through an etcd watch (see cache.go).
package meta

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// maxRetries bounds the optimistic retry loops.
const maxRetries = 64

// MaxNameLen is the longest entry name, as in Linux.
const MaxNameLen = 255

// FS is the namespace of one cluster. Safe for concurrent use.
type FS struct {
	cli    *clientv3.Client
	prefix string
	now    func() time.Time

	// dirs holds the inode numbers known to be directories, with the
	// parent each had when last seen (a guess that rename verifies).
	dirs sync.Map // uint64 -> uint64
	// dirNames holds directories' inode numbers by entry key, as this
	// client last saw them (another guess that rename verifies: a
	// directory moved to another directory is read in rename's first
	// round trip, not a second).
	dirNames sync.Map // string -> uint64
	cache    *Cache   // nil: every read goes to etcd
	batch    batcher  // group commit of creates (batch.go)
}

// New returns the namespace under prefix (which ends in "/").
func New(cli *clientv3.Client, prefix string) *FS {
	f := &FS{cli: cli, prefix: prefix, now: time.Now}
	f.dirs.Store(RootIno, RootIno)
	return f
}

// Client returns the etcd client.
func (f *FS) Client() *clientv3.Client { return f.cli }

// Prefix returns the cluster's etcd prefix.
func (f *FS) Prefix() string { return f.prefix }

func (f *FS) ikey(ino uint64) string { return fmt.Sprintf("%sfs/i/%016x", f.prefix, ino) }

// tkey is a directory's time key.
func (f *FS) tkey(ino uint64) string { return f.ikey(ino) + "/t" }

// opGetInode reads an inode and its time key: the range [ikey, ikey+"0")
// holds exactly ikey and the keys ikey+"/...", since every inode key has
// the same length.
func (f *FS) opGetInode(ino uint64) clientv3.Op {
	k := f.ikey(ino)
	return clientv3.OpGet(k, clientv3.WithRange(k+"0"))
}

// opTouch records an entry change in directory ino at t.
func (f *FS) opTouch(ino uint64, t time.Time) clientv3.Op {
	return clientv3.OpPut(f.tkey(ino), marshalTime(t))
}

// inodeOf decodes what opGetInode read (ENOENT if there is no inode).
func (f *FS) inodeOf(ino uint64, kvs []*mvccpb.KeyValue) (*Inode, error) {
	if len(kvs) == 0 || string(kvs[0].Key) != f.ikey(ino) {
		return nil, syscall.ENOENT
	}
	in, err := unmarshalInode(kvs[0].Value, kvs[0].ModRevision)
	if err != nil {
		return nil, fmt.Errorf("inode %d: %v: %w", ino, err, syscall.EIO)
	}
	for _, kv := range kvs[1:] {
		if string(kv.Key) == f.tkey(ino) && in.IsDir() {
			if t := unmarshalTime(kv.Value); t.After(in.Mtime) {
				in.Mtime = t
				if t.After(in.Ctime) {
					in.Ctime = t
				}
			}
		}
	}
	if in.IsDir() {
		f.dirs.Store(ino, in.Parent)
	}
	return in, nil
}
func (f *FS) dprefix(parent uint64) string {
	return fmt.Sprintf("%sfs/d/%016x/", f.prefix, parent)
}
func (f *FS) dkey(parent uint64, name string) string { return f.dprefix(parent) + name }

// InodePrefix is the etcd prefix of every inode key.
func (f *FS) InodePrefix() string { return f.prefix + "fs/i/" }

// Init creates the root directory if the namespace has none.
func (f *FS) Init(ctx context.Context) error {
	now := f.now()
	root := &Inode{Ino: RootIno, Parent: RootIno, Mode: S_IFDIR | 0o755, Nlink: 2, Atime: now, Mtime: now, Ctime: now, Version: 1}
	k := f.ikey(RootIno)
	_, err := f.cli.Txn(ctx).If(clientv3.Compare(clientv3.Version(k), "=", 0)).
		Then(clientv3.OpPut(k, root.marshal())).Commit()
	if err != nil {
		return fail("init", "/", eio(err))
	}
	return nil
}

// touched drops what this client just changed from its cache, so it reads
// its own writes before the watch reports them.
func (f *FS) touched(rev int64, evs ...Event) {
	if f.cache == nil {
		return
	}
	for _, e := range evs {
		e.Rev = rev
		f.cache.apply(e)
	}
}

// eio turns an etcd failure into an error carrying EIO (ENOSPC when etcd's
// space quota is reached).
func eio(err error) error {
	if err == nil {
		return nil
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (%v)", syscall.EIO, err)
	}
	if errors.Is(err, rpctypes.ErrNoSpace) || errors.Is(err, rpctypes.ErrGRPCNoSpace) {
		// etcd's space quota is reached: it takes no write until the
		// operator compacts, defragments and disarms the alarm.
		return fmt.Errorf("metadata service: %v: %w", err, syscall.ENOSPC)
	}
	return fmt.Errorf("metadata service: %v: %w", err, syscall.EIO)
}

func checkName(name string) error {
	switch {
	case name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00"):
		return syscall.EINVAL
	case len(name) > MaxNameLen:
		return syscall.ENAMETOOLONG
	}
	return nil
}

func newIno() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		n := binary.LittleEndian.Uint64(b[:]) >> 1
		if n > RootIno {
			return n
		}
	}
}

func inoPath(ino uint64) string { return fmt.Sprintf("inode %d", ino) }

// Get returns inode ino (ENOENT if it does not exist).
func (f *FS) Get(ctx context.Context, ino uint64) (*Inode, error) {
	if f.cache != nil {
		if in, ok := f.cache.inode(ino); ok {
			return in, nil
		}
	}
	in, err := f.getFresh(ctx, ino)
	if err != nil {
		return nil, fail("getattr", inoPath(ino), err)
	}
	return in, nil
}

// GetFresh is Get bypassing the cache: a linearizable read.
func (f *FS) GetFresh(ctx context.Context, ino uint64) (*Inode, error) {
	in, err := f.getFresh(ctx, ino)
	if err != nil {
		return nil, fail("getattr", inoPath(ino), err)
	}
	return in, nil
}

func (f *FS) getFresh(ctx context.Context, ino uint64) (*Inode, error) {
	k := f.ikey(ino)
	r, err := f.cli.Get(ctx, k, clientv3.WithRange(k+"0"))
	if err != nil {
		return nil, eio(err)
	}
	in, err := f.inodeOf(ino, r.Kvs)
	if err != nil {
		return nil, err
	}
	if f.cache != nil {
		f.cache.putInode(in, r.Header.Revision)
	}
	return in, nil
}

// GetMany returns the inodes in one round trip; missing ones are nil.
func (f *FS) GetMany(ctx context.Context, inos []uint64) ([]*Inode, error) {
	out := make([]*Inode, len(inos))
	for start := 0; start < len(inos); start += 100 {
		end := min(len(inos), start+100)
		ops := make([]clientv3.Op, 0, end-start)
		for _, ino := range inos[start:end] {
			ops = append(ops, f.opGetInode(ino))
		}
		r, err := f.cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return nil, fail("getattr", "", eio(err))
		}
		for k, rr := range r.Responses {
			in, err := f.inodeOf(inos[start+k], rr.GetResponseRange().Kvs)
			if errors.Is(err, syscall.ENOENT) {
				continue
			}
			if err != nil {
				return nil, fail("getattr", inoPath(inos[start+k]), err)
			}
			out[start+k] = in
		}
	}
	return out, nil
}

// requireDir checks that ino is an existing directory. A number seen as a
// directory once stays one: types never change and numbers are not reused.
func (f *FS) requireDir(ctx context.Context, ino uint64) error {
	if _, ok := f.dirs.Load(ino); ok {
		return nil
	}
	in, err := f.getFresh(ctx, ino)
	if err != nil {
		return err
	}
	if !in.IsDir() {
		return syscall.ENOTDIR
	}
	return nil
}

// entry reads one directory entry.
func (f *FS) entry(ctx context.Context, parent uint64, name string) (ino uint64, typ uint32, rev int64, err error) {
	if f.cache != nil {
		if d, ok := f.cache.dirent(parent, name); ok {
			if d.Ino == 0 {
				return 0, 0, 0, syscall.ENOENT
			}
			return d.Ino, d.Type, d.rev, nil
		}
	}
	return f.entryFresh(ctx, parent, name)
}

func (f *FS) entryFresh(ctx context.Context, parent uint64, name string) (ino uint64, typ uint32, rev int64, err error) {
	r, err := f.cli.Get(ctx, f.dkey(parent, name))
	if err != nil {
		return 0, 0, 0, eio(err)
	}
	if len(r.Kvs) == 0 {
		if err := f.requireDir(ctx, parent); err != nil {
			return 0, 0, 0, err
		}
		if f.cache != nil {
			f.cache.putDirent(parent, name, cachedDirent{}, r.Header.Revision)
		}
		return 0, 0, 0, syscall.ENOENT
	}
	ino, typ, err = unmarshalDirent(r.Kvs[0].Value)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("entry %q: %v: %w", name, err, syscall.EIO)
	}
	if f.cache != nil {
		f.cache.putDirent(parent, name, cachedDirent{Ino: ino, Type: typ, rev: r.Kvs[0].ModRevision}, r.Header.Revision)
	}
	return ino, typ, r.Kvs[0].ModRevision, nil
}

// Lookup returns the inode named name in directory parent.
func (f *FS) Lookup(ctx context.Context, parent uint64, name string) (*Inode, error) {
	if err := checkName(name); err != nil {
		return nil, fail("lookup", name, err)
	}
	for range maxRetries {
		ino, typ, _, err := f.entry(ctx, parent, name)
		if err != nil {
			return nil, fail("lookup", name, err)
		}
		if typ == S_IFDIR {
			f.dirNames.Store(f.dkey(parent, name), ino)
		}
		in, err := f.Get(ctx, ino)
		if errors.Is(err, syscall.ENOENT) {
			continue // unlinked between the two reads: look again
		}
		return in, err
	}
	return nil, fail("lookup", name, errContention)
}

// Readdir returns up to limit entries of dir whose names sort after after
// ("" starts at the beginning), in name order. limit <= 0 means 1000.
func (f *FS) Readdir(ctx context.Context, dir uint64, after string, limit int) ([]Dirent, error) {
	if limit <= 0 {
		limit = 1000
	}
	start := f.dprefix(dir)
	if after != "" {
		start += after + "\x00"
	}
	end := clientv3.GetPrefixRangeEnd(f.dprefix(dir))
	r, err := f.cli.Txn(ctx).Then(
		clientv3.OpGet(f.ikey(dir)),
		clientv3.OpGet(start, clientv3.WithRange(end), clientv3.WithLimit(int64(limit))),
	).Commit()
	if err != nil {
		return nil, fail("readdir", inoPath(dir), eio(err))
	}
	dkv := r.Responses[0].GetResponseRange().Kvs
	if len(dkv) == 0 {
		return nil, fail("readdir", inoPath(dir), syscall.ENOENT)
	}
	din, err := unmarshalInode(dkv[0].Value, dkv[0].ModRevision)
	if err != nil {
		return nil, fail("readdir", inoPath(dir), syscall.EIO)
	}
	if !din.IsDir() {
		return nil, fail("readdir", inoPath(dir), syscall.ENOTDIR)
	}
	kvs := r.Responses[1].GetResponseRange().Kvs
	out := make([]Dirent, 0, len(kvs))
	plen := len(f.dprefix(dir))
	for _, kv := range kvs {
		ino, typ, err := unmarshalDirent(kv.Value)
		if err != nil {
			return nil, fail("readdir", inoPath(dir), syscall.EIO)
		}
		out = append(out, Dirent{Name: string(kv.Key[plen:]), Ino: ino, Type: typ})
	}
	return out, nil
}

// CreateOptions describe a new inode.
type CreateOptions struct {
	Mode     uint32 // type and permission bits; type defaults to regular file
	Uid, Gid uint32
	Content  *Content // initial content of a regular file (committed as version 1)
	Target   string   // symlink target
}

// Create makes a new entry name in parent for a new inode (EEXIST if the
// name exists). Regular files, symlinks, fifos and sockets; use Mkdir for
// directories.
func (f *FS) Create(ctx context.Context, parent uint64, name string, o CreateOptions) (*Inode, error) {
	if o.Mode&S_IFMT == 0 {
		o.Mode |= S_IFREG
	}
	if o.Mode&S_IFMT == S_IFDIR {
		return nil, fail("create", name, syscall.EINVAL)
	}
	now := f.now()
	in := &Inode{Mode: o.Mode, Uid: o.Uid, Gid: o.Gid, Nlink: 1, Atime: now, Mtime: now, Ctime: now, Version: 1, Target: o.Target}
	if o.Content != nil {
		in.Size, in.Chunks, in.Inline = o.Content.Size, o.Content.Chunks, o.Content.Inline
	}
	if in.IsSymlink() {
		if o.Target == "" {
			return nil, fail("symlink", name, syscall.ENOENT)
		}
		in.Size = uint64(len(o.Target))
	}
	return f.create(ctx, "create", parent, name, in)
}

// Mkdir makes a new directory.
func (f *FS) Mkdir(ctx context.Context, parent uint64, name string, mode, uid, gid uint32) (*Inode, error) {
	now := f.now()
	in := &Inode{Parent: parent, Mode: S_IFDIR | mode&^S_IFMT, Uid: uid, Gid: gid, Nlink: 2, Atime: now, Mtime: now, Ctime: now, Version: 1}
	return f.create(ctx, "mkdir", parent, name, in)
}

// Symlink makes a symbolic link name -> target.
func (f *FS) Symlink(ctx context.Context, parent uint64, name, target string, uid, gid uint32) (*Inode, error) {
	return f.Create(ctx, parent, name, CreateOptions{Mode: S_IFLNK | 0o777, Uid: uid, Gid: gid, Target: target})
}

// Readlink returns a symlink's target (EINVAL if ino is not a symlink).
func (f *FS) Readlink(ctx context.Context, ino uint64) (string, error) {
	in, err := f.Get(ctx, ino)
	if err != nil {
		return "", err
	}
	if !in.IsSymlink() {
		return "", fail("readlink", inoPath(ino), syscall.EINVAL)
	}
	return in.Target, nil
}

func (f *FS) create(ctx context.Context, op string, parent uint64, name string, in *Inode) (*Inode, error) {
	if err := checkName(name); err != nil {
		return nil, fail(op, name, err)
	}
	if err := f.requireDir(ctx, parent); err != nil {
		return nil, fail(op, name, err)
	}
	dk, pk := f.dkey(parent, name), f.ikey(parent)
	alone := false
	for range maxRetries {
		in.Ino = newIno()
		ik := f.ikey(in.Ino)
		var r *clientv3.TxnResponse
		var err error
		if !alone {
			r, err = f.batch.run(ctx, f, &pendingCreate{
				parent: parent, dk: dk, ik: ik, pk: pk, t: in.Ctime,
				dirent: marshalDirent(in.Ino, in.Mode&S_IFMT), inode: in.marshal(),
			})
			if errors.Is(err, errAlone) {
				alone = true
				continue
			}
		} else {
			r, err = f.cli.Txn(ctx).If(
				clientv3.Compare(clientv3.Version(dk), "=", 0),
				clientv3.Compare(clientv3.Version(pk), ">", 0),
				clientv3.Compare(clientv3.Version(ik), "=", 0),
			).Then(
				clientv3.OpPut(dk, marshalDirent(in.Ino, in.Mode&S_IFMT)),
				clientv3.OpPut(ik, in.marshal()),
				f.opTouch(parent, in.Ctime),
			).Else(
				clientv3.OpGet(dk, clientv3.WithCountOnly()),
				clientv3.OpGet(pk, clientv3.WithCountOnly()),
			).Commit()
		}
		if err != nil {
			return nil, fail(op, name, eio(err))
		}
		if r.Succeeded {
			in.Rev = r.Header.Revision
			f.touched(r.Header.Revision, Event{Ino: parent, Name: name}, Event{Ino: in.Ino}, Event{Ino: parent})
			if in.IsDir() {
				f.dirs.Store(in.Ino, parent)
				f.dirNames.Store(f.dkey(parent, name), in.Ino)
			}
			return in, nil
		}
		if r.Responses[0].GetResponseRange().Count > 0 {
			return nil, fail(op, name, syscall.EEXIST)
		}
		if r.Responses[1].GetResponseRange().Count == 0 {
			return nil, fail(op, name, syscall.ENOENT)
		}
		// The random inode number was taken: draw another.
	}
	return nil, fail(op, name, errContention)
}

// Unlink removes the entry name (not a directory: EISDIR) and the inode
// with its last link.
func (f *FS) Unlink(ctx context.Context, parent uint64, name string) error {
	if err := checkName(name); err != nil {
		return fail("unlink", name, err)
	}
	dk := f.dkey(parent, name)
	for range maxRetries {
		ino, typ, drev, err := f.entryFresh(ctx, parent, name)
		if err != nil {
			return fail("unlink", name, err)
		}
		if typ == S_IFDIR {
			return fail("unlink", name, syscall.EISDIR)
		}
		in, err := f.getFresh(ctx, ino)
		if errors.Is(err, syscall.ENOENT) {
			continue
		}
		if err != nil {
			return fail("unlink", name, err)
		}
		ops := []clientv3.Op{clientv3.OpDelete(dk), f.opTouch(parent, f.now())}
		ops = append(ops, f.dropLink(in)...)
		r, err := f.cli.Txn(ctx).If(
			clientv3.Compare(clientv3.ModRevision(dk), "=", drev),
			clientv3.Compare(clientv3.ModRevision(f.ikey(ino)), "=", in.Rev),
		).Then(ops...).Commit()
		if err != nil {
			return fail("unlink", name, eio(err))
		}
		if r.Succeeded {
			f.touched(r.Header.Revision, Event{Ino: parent, Name: name}, Event{Ino: ino}, Event{Ino: parent})
			return nil
		}
	}
	return fail("unlink", name, errContention)
}

// dropLink is the ops that remove one link of in.
func (f *FS) dropLink(in *Inode) []clientv3.Op {
	if in.IsDir() {
		return []clientv3.Op{clientv3.OpDelete(f.ikey(in.Ino)), clientv3.OpDelete(f.tkey(in.Ino))}
	}
	if in.Nlink <= 1 {
		return []clientv3.Op{clientv3.OpDelete(f.ikey(in.Ino))}
	}
	c := *in
	c.Nlink--
	c.Ctime = f.now()
	return []clientv3.Op{clientv3.OpPut(f.ikey(in.Ino), c.marshal())}
}

// Rmdir removes the empty directory name.
func (f *FS) Rmdir(ctx context.Context, parent uint64, name string) error {
	if err := checkName(name); err != nil {
		return fail("rmdir", name, err)
	}
	dk := f.dkey(parent, name)
	for range maxRetries {
		ino, typ, drev, err := f.entryFresh(ctx, parent, name)
		if err != nil {
			return fail("rmdir", name, err)
		}
		if typ != S_IFDIR {
			return fail("rmdir", name, syscall.ENOTDIR)
		}
		cp := f.dprefix(ino)
		r, err := f.cli.Txn(ctx).If(
			clientv3.Compare(clientv3.ModRevision(dk), "=", drev),
			clientv3.Compare(clientv3.Version(cp), "=", 0).WithPrefix(),
		).Then(
			clientv3.OpDelete(dk), clientv3.OpDelete(f.ikey(ino)), clientv3.OpDelete(f.tkey(ino)),
			f.opTouch(parent, f.now()),
		).Else(
			clientv3.OpGet(cp, clientv3.WithPrefix(), clientv3.WithCountOnly()),
		).Commit()
		if err != nil {
			return fail("rmdir", name, eio(err))
		}
		if r.Succeeded {
			f.touched(r.Header.Revision, Event{Ino: parent, Name: name}, Event{Ino: ino}, Event{Ino: parent})
			return nil
		}
		if r.Responses[0].GetResponseRange().Count > 0 {
			return fail("rmdir", name, syscall.ENOTEMPTY)
		}
	}
	return fail("rmdir", name, errContention)
}

// Rename flags (as renameat2).
const (
	RenameNoReplace = 1 << 0
)

// Rename moves entry sname of sparent to dname of dparent atomically,
// replacing an existing target (a file by a file, an empty directory by a
// directory) unless flags has RenameNoReplace.
func (f *FS) Rename(ctx context.Context, sparent uint64, sname string, dparent uint64, dname string, flags int) error {
	path := sname + " -> " + dname
	if err := checkName(sname); err != nil {
		return fail("rename", path, err)
	}
	if err := checkName(dname); err != nil {
		return fail("rename", path, err)
	}
	if flags&^RenameNoReplace != 0 {
		return fail("rename", path, syscall.EINVAL)
	}
	sk, dk := f.dkey(sparent, sname), f.dkey(dparent, dname)
	for range maxRetries {
		err, retry := f.renameOnce(ctx, sparent, sname, dparent, dname, flags, sk, dk)
		if !retry {
			if err != nil {
				return fail("rename", path, err)
			}
			return nil
		}
	}
	return fail("rename", path, errContention)
}

func (f *FS) renameOnce(ctx context.Context, sparent uint64, sname string, dparent uint64, dname string, flags int, sk, dk string) (err error, retry bool) {
	// Round trip 1 reads the source and destination entries, the
	// destination directory and, for a move between directories, the
	// destination's ancestors as this client last saw them (a guess the
	// walk below checks: it follows the Parent fields actually read) and
	// the directory it last saw at the source entry (used only if the
	// entry read names it).
	ops := []clientv3.Op{clientv3.OpGet(sk), clientv3.OpGet(dk), f.opGetInode(dparent)}
	var guessed []uint64
	var moving uint64 // the directory this client last saw at sk
	if sparent != dparent {
		if g, ok := f.dirNames.Load(sk); ok {
			moving = g.(uint64)
		}
		a := dparent
		for len(guessed) < 64 && a != RootIno {
			p, ok := f.dirs.Load(a)
			if !ok {
				break
			}
			a = p.(uint64)
			guessed = append(guessed, a)
			ops = append(ops, f.opGetInode(a))
		}
		if moving != 0 {
			ops = append(ops, f.opGetInode(moving))
		}
	}
	rr, err := f.cli.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return eio(err), false
	}
	skv := rr.Responses[0].GetResponseRange().Kvs
	if len(skv) == 0 {
		if err := f.requireDir(ctx, sparent); err != nil {
			return err, false
		}
		return syscall.ENOENT, false
	}
	sino, styp, err := unmarshalDirent(skv[0].Value)
	if err != nil {
		return syscall.EIO, false
	}
	srev := skv[0].ModRevision
	if sparent == dparent && sname == dname {
		return nil, false
	}
	dpin, err := f.inodeOf(dparent, rr.Responses[2].GetResponseRange().Kvs)
	if err != nil {
		return err, false
	}
	if !dpin.IsDir() {
		return syscall.ENOTDIR, false
	}
	seen := map[uint64]*Inode{dparent: dpin}
	for k, g := range guessed {
		if in, err := f.inodeOf(g, rr.Responses[3+k].GetResponseRange().Kvs); err == nil {
			seen[g] = in
		}
	}
	if moving == sino && styp == S_IFDIR {
		if in, err := f.inodeOf(sino, rr.Responses[3+len(guessed)].GetResponseRange().Kvs); err == nil {
			seen[sino] = in
		}
	}
	now := f.now()
	cmps := []clientv3.Cmp{
		clientv3.Compare(clientv3.ModRevision(sk), "=", srev),
		clientv3.Compare(clientv3.Version(f.ikey(dparent)), ">", 0),
	}
	ops = []clientv3.Op{
		clientv3.OpDelete(sk),
		clientv3.OpPut(dk, marshalDirent(sino, styp)),
		f.opTouch(dparent, now),
	}
	if sparent != dparent {
		ops = append(ops, f.opTouch(sparent, now))
	}
	var dino uint64
	var dtyp uint32
	var drev int64
	dkv := rr.Responses[1].GetResponseRange().Kvs
	if len(dkv) > 0 {
		if dino, dtyp, err = unmarshalDirent(dkv[0].Value); err != nil {
			return syscall.EIO, false
		}
		drev = dkv[0].ModRevision
		if flags&RenameNoReplace != 0 {
			return syscall.EEXIST, false
		}
		if dino == sino {
			return nil, false // two links to one inode: nothing to do
		}
		if styp == S_IFDIR && dtyp != S_IFDIR {
			return syscall.ENOTDIR, false
		}
		if styp != S_IFDIR && dtyp == S_IFDIR {
			return syscall.EISDIR, false
		}
		if dino == sparent {
			return syscall.ENOTEMPTY, false // over its own parent, as Linux
		}
	} else {
		cmps = append(cmps, clientv3.Compare(clientv3.Version(dk), "=", 0))
	}
	// A directory moved to another directory: it may not go under itself
	// (walk the destination's ancestors, guarding each against a
	// concurrent move) and its parent pointer changes. Within one
	// directory neither applies.
	moveDir := styp == S_IFDIR && sparent != dparent
	// Round trip 2, when needed, reads the replaced inode, the moved
	// directory (unless guessed right) and the first ancestor not read
	// yet, in one request; ancestors the guess missed cost one more each.
	var chain []*Inode
	var din, sin *Inode
	if moveDir {
		sin = seen[sino] // nil unless guessed right
	}
	for {
		want := map[uint64]bool{}
		if dino != 0 && din == nil {
			want[dino] = true
		}
		if moveDir && sin == nil {
			want[sino] = true
		}
		if moveDir {
			chain = chain[:0]
			a := dpin
			for steps := 0; ; steps++ {
				if a.Ino == sino {
					return syscall.EINVAL, false
				}
				chain = append(chain, a)
				if a.Ino == RootIno {
					break
				}
				if steps > 4096 {
					return syscall.ELOOP, false
				}
				next, ok := seen[a.Parent]
				if !ok {
					want[a.Parent] = true
					break
				}
				a = next
			}
		}
		if len(want) == 0 {
			break
		}
		var inos []uint64
		ops2 := []clientv3.Op{}
		for ino := range want {
			inos = append(inos, ino)
			ops2 = append(ops2, f.opGetInode(ino))
		}
		r2, err := f.cli.Txn(ctx).Then(ops2...).Commit()
		if err != nil {
			return eio(err), false
		}
		for k, ino := range inos {
			in, err := f.inodeOf(ino, r2.Responses[k].GetResponseRange().Kvs)
			if errors.Is(err, syscall.ENOENT) {
				return nil, true // changed meanwhile: read again
			}
			if err != nil {
				return err, false
			}
			seen[ino] = in
			switch ino {
			case dino:
				din = in
			case sino:
				sin = in
			}
		}
	}
	var nonEmptyCheck string
	if din != nil {
		cmps = append(cmps,
			clientv3.Compare(clientv3.ModRevision(dk), "=", drev),
			clientv3.Compare(clientv3.ModRevision(f.ikey(dino)), "=", din.Rev))
		if dtyp == S_IFDIR {
			nonEmptyCheck = f.dprefix(dino)
			cmps = append(cmps, clientv3.Compare(clientv3.Version(nonEmptyCheck), "=", 0).WithPrefix())
		}
		ops = append(ops, f.dropLink(din)...)
	}
	if moveDir {
		for _, a := range chain {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(f.ikey(a.Ino)), "=", a.Rev))
		}
		moved := *sin
		moved.Parent = dparent
		moved.Ctime = now
		ops = append(ops, clientv3.OpPut(f.ikey(sino), moved.marshal()))
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(f.ikey(sino)), "=", sin.Rev))
	}
	txn := f.cli.Txn(ctx).If(cmps...).Then(ops...)
	if nonEmptyCheck != "" {
		txn = txn.Else(clientv3.OpGet(nonEmptyCheck, clientv3.WithPrefix(), clientv3.WithCountOnly()))
	}
	r, err := txn.Commit()
	if err != nil {
		return eio(err), false
	}
	if r.Succeeded {
		if moveDir {
			f.dirs.Store(sino, dparent)
		}
		if styp == S_IFDIR {
			f.dirNames.Delete(sk)
			f.dirNames.Store(dk, sino)
		}
		f.touched(r.Header.Revision, Event{Ino: sparent, Name: sname}, Event{Ino: dparent, Name: dname},
			Event{Ino: sino}, Event{Ino: dino}, Event{Ino: sparent}, Event{Ino: dparent})
		return nil, false
	}
	if nonEmptyCheck != "" && r.Responses[0].GetResponseRange().Count > 0 {
		return syscall.ENOTEMPTY, false
	}
	return nil, true
}

// Link adds the entry name in parent for the existing inode ino (not a
// directory: EPERM).
func (f *FS) Link(ctx context.Context, ino, parent uint64, name string) (*Inode, error) {
	if err := checkName(name); err != nil {
		return nil, fail("link", name, err)
	}
	if err := f.requireDir(ctx, parent); err != nil {
		return nil, fail("link", name, err)
	}
	dk, pk := f.dkey(parent, name), f.ikey(parent)
	for range maxRetries {
		in, err := f.getFresh(ctx, ino)
		if err != nil {
			return nil, fail("link", name, err)
		}
		if in.IsDir() {
			return nil, fail("link", name, syscall.EPERM)
		}
		c := *in
		c.Nlink++
		c.Ctime = f.now()
		r, err := f.cli.Txn(ctx).If(
			clientv3.Compare(clientv3.ModRevision(f.ikey(ino)), "=", in.Rev),
			clientv3.Compare(clientv3.Version(dk), "=", 0),
			clientv3.Compare(clientv3.Version(pk), ">", 0),
		).Then(
			clientv3.OpPut(dk, marshalDirent(ino, in.Mode&S_IFMT)),
			clientv3.OpPut(f.ikey(ino), c.marshal()),
			f.opTouch(parent, c.Ctime),
		).Else(
			clientv3.OpGet(dk, clientv3.WithCountOnly()),
			clientv3.OpGet(pk, clientv3.WithCountOnly()),
		).Commit()
		if err != nil {
			return nil, fail("link", name, eio(err))
		}
		if r.Succeeded {
			c.Rev = r.Header.Revision
			f.touched(r.Header.Revision, Event{Ino: parent, Name: name}, Event{Ino: ino}, Event{Ino: parent})
			return &c, nil
		}
		if r.Responses[0].GetResponseRange().Count > 0 {
			return nil, fail("link", name, syscall.EEXIST)
		}
		if r.Responses[1].GetResponseRange().Count == 0 {
			return nil, fail("link", name, syscall.ENOENT)
		}
	}
	return nil, fail("link", name, errContention)
}

// SetAttr names the attributes Setattr changes; nil fields stay.
type SetAttr struct {
	Mode         *uint32 // permission bits only; the type is kept
	Uid, Gid     *uint32
	Atime, Mtime *time.Time
}

// Setattr changes attributes (not the size: that is a new content, see
// cluster.Client.Truncate) and sets ctime.
func (f *FS) Setattr(ctx context.Context, ino uint64, sa SetAttr) (*Inode, error) {
	var extra []clientv3.Op
	if sa.Mtime != nil {
		// An explicit mtime of a directory replaces its last entry change.
		extra = append(extra, clientv3.OpDelete(f.tkey(ino)))
	}
	return f.update(ctx, "setattr", ino, extra, func(in *Inode) error {
		if sa.Mode != nil {
			in.Mode = in.Mode&S_IFMT | *sa.Mode&^S_IFMT
		}
		if sa.Uid != nil {
			in.Uid = *sa.Uid
		}
		if sa.Gid != nil {
			in.Gid = *sa.Gid
		}
		if sa.Atime != nil {
			in.Atime = *sa.Atime
		}
		if sa.Mtime != nil {
			in.Mtime = *sa.Mtime
		}
		in.Ctime = f.now()
		return nil
	})
}

// Commit makes content the new version of regular file ino, on top of
// version base: if the file's version is no longer base, ErrConflict.
// The caller must have made every chunk durable first.
func (f *FS) Commit(ctx context.Context, ino, base uint64, c Content) (*Inode, error) {
	var sum uint64
	for _, ch := range c.Chunks {
		sum += uint64(ch.Size)
	}
	if len(c.Inline) > 0 && len(c.Chunks) > 0 || sum+uint64(len(c.Inline)) != c.Size {
		return nil, fail("commit", inoPath(ino), syscall.EINVAL)
	}
	return f.update(ctx, "commit", ino, nil, func(in *Inode) error {
		if in.IsDir() {
			return syscall.EISDIR
		}
		if !in.IsReg() {
			return syscall.EINVAL
		}
		if in.Version != base {
			return ErrConflict
		}
		now := f.now()
		in.Version++
		in.Size, in.Chunks, in.Inline = c.Size, c.Chunks, c.Inline
		in.Mtime, in.Ctime = now, now
		return nil
	})
}

// update applies change to inode ino with optimistic retries; extra ops go
// in the same transaction.
func (f *FS) update(ctx context.Context, op string, ino uint64, extra []clientv3.Op, change func(*Inode) error) (*Inode, error) {
	for range maxRetries {
		in, err := f.getFresh(ctx, ino)
		if err != nil {
			return nil, fail(op, inoPath(ino), err)
		}
		rev := in.Rev
		if err := change(in); err != nil {
			return nil, fail(op, inoPath(ino), err)
		}
		k := f.ikey(ino)
		r, err := f.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(k), "=", rev)).
			Then(append([]clientv3.Op{clientv3.OpPut(k, in.marshal())}, extra...)...).Commit()
		if err != nil {
			return nil, fail(op, inoPath(ino), eio(err))
		}
		if r.Succeeded {
			in.Rev = r.Header.Revision
			f.touched(r.Header.Revision, Event{Ino: ino})
			return in, nil
		}
	}
	return nil, fail(op, inoPath(ino), errContention)
}

// ForEachInode calls fn for every inode, at one consistent revision, and
// returns that revision.
//
// etcd answers a range read with a limit with the count of every key left
// in the range, so paging through one range of N keys visits about
// N²/(2·page) of them: at 100,000 inodes a whole pass took seconds of the
// member's CPU, at millions it would not end. Inode numbers are uniformly
// random, so the keys split evenly by number: the pass reads one span
// after another, each of about spanKeys keys, and paging within a span
// counts only that span.
func (f *FS) ForEachInode(ctx context.Context, fn func(*Inode) error) (int64, error) {
	p := f.InodePrefix()
	each := func(kv *mvccpb.KeyValue) error {
		if len(kv.Key) != len(p)+16 {
			return nil // a directory's time key
		}
		in, err := unmarshalInode(kv.Value, kv.ModRevision)
		if err != nil {
			return fmt.Errorf("inode key %s: %v: %w", kv.Key, err, syscall.EIO)
		}
		return fn(in)
	}
	r, err := f.cli.Get(ctx, p, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, eio(err)
	}
	rev := r.Header.Revision
	bounds := inodeSpans(p, r.Count)
	for i := range len(bounds) - 1 {
		if _, err := f.scanRange(ctx, bounds[i], bounds[i+1], rev, each); err != nil {
			return 0, err
		}
	}
	return rev, nil
}

// spanKeys is about how many keys one span of an inode scan holds.
var spanKeys int64 = 1000

// maxSpans bounds the spans of one scan (some 10^9 inodes at spanKeys).
const maxSpans = 1 << 20

// inodeSpans splits the inode keys under p (about n of them, inode and
// time keys alike) into ranges of about spanKeys each: the bounds, from p
// to the end of p's keys. Inode numbers are uniform below 2^63, and a key
// is p and the number in 16 hex digits (a directory's time key follows
// its inode's), so equal shares of the numbers are equal shares of keys.
func inodeSpans(p string, n int64) []string {
	parts := min(max(1, (n+spanKeys-1)/spanKeys), maxSpans)
	step := uint64(1<<63) / uint64(parts)
	bounds := []string{p}
	for i := uint64(1); i < uint64(parts); i++ {
		bounds = append(bounds, fmt.Sprintf("%s%016x", p, i*step))
	}
	return append(bounds, clientv3.GetPrefixRangeEnd(p))
}

// scan calls fn for every key under prefix, a page at a time, all at the
// revision of the first page, and returns that revision.
func (f *FS) scan(ctx context.Context, prefix string, fn func(*mvccpb.KeyValue) error, opts ...clientv3.OpOption) (int64, error) {
	return f.scanRange(ctx, prefix, clientv3.GetPrefixRangeEnd(prefix), 0, fn, opts...)
}

// scanRange calls fn for every key in [key, end), a page at a time, at
// revision rev (0: the revision of the first page), and returns the
// revision. Each page costs etcd a count of the keys left in the range:
// for many keys, split the range (ForEachInode).
func (f *FS) scanRange(ctx context.Context, key, end string, rev int64, fn func(*mvccpb.KeyValue) error, opts ...clientv3.OpOption) (int64, error) {
	for {
		o := append([]clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(1000)}, opts...)
		if rev != 0 {
			o = append(o, clientv3.WithRev(rev))
		}
		r, err := f.cli.Get(ctx, key, o...)
		if err != nil {
			return 0, eio(err)
		}
		if rev == 0 {
			rev = r.Header.Revision
		}
		for _, kv := range r.Kvs {
			if err := fn(kv); err != nil {
				return 0, err
			}
		}
		if !r.More || len(r.Kvs) == 0 {
			return rev, nil
		}
		key = string(r.Kvs[len(r.Kvs)-1].Key) + "\x00"
	}
}
