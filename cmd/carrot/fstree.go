//go:build !nocluster

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/carrot-project/carrot/internal/chunkstore"
	"github.com/carrot-project/carrot/internal/meta"
	"golang.org/x/sync/errgroup"
)

// Whole trees (put -r, get -r), as cp -r copies them: a source directory
// goes into a destination directory that exists (keeping its name; DIR/.
// puts its contents straight in), or becomes the destination; directories are made as they are met, files
// travel treeWorkers at a time, each as a single put or get would carry
// it (into the directory the walk is in, not resolved from the root); symbolic links are copied as links, other special files skipped. A
// file that fails is said and the rest goes on; the command then fails
// with the first error and the count.

// contentsOnly reports whether a source path names a directory's contents
// (DIR/. as cp -r takes it: they go straight into a destination that
// exists, which a second run over the same tree then updates).
func contentsOnly(p string) bool { return p == "." || strings.HasSuffix(p, "/.") }

// treeWorkers is how many files a tree transfer carries at once.
const treeWorkers = 8

// treeErrs collects the failures of a tree transfer.
type treeErrs struct {
	f     *fsCmd
	op    string
	mu    sync.Mutex
	n     int
	first error
}

func (t *treeErrs) add(p string, err error) {
	if err == nil {
		return
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) && !errors.As(err, new(*meta.Error)) {
		err = fmt.Errorf("%s: %w", p, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	if t.first == nil {
		t.first = err
	}
	t.f.e.errorf("fs %s: %v", t.op, err)
}

// say prints a message among the failures (workers print those).
func (t *treeErrs) say(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.f.e.errorf(format, args...)
}

func (t *treeErrs) err() error {
	if t.n == 0 {
		return nil
	}
	return fmt.Errorf("%d of the tree's entries failed, the first: %w", t.n, t.first)
}

// newPool runs a tree's file transfers treeWorkers at a time; each says
// its own failure (treeErrs), so none stops the others.
func newPool() *errgroup.Group {
	var g errgroup.Group
	g.SetLimit(treeWorkers)
	return &g
}

// putTree uploads the local tree at local to the cluster path remote.
func (f *fsCmd) putTree(ctx context.Context, local, remote string) error {
	st, err := os.Lstat(local)
	if err != nil {
		return err
	}
	if !st.IsDir() && st.Mode()&fs.ModeSymlink == 0 {
		return f.put(ctx, local, remote)
	}
	// The destination: an existing directory to copy into (the source's
	// contents only, for SRC/.), or a new name in an existing directory;
	// its missing parents are not made (cp -r does not make them).
	if dst, err := f.c.Resolve(ctx, remote); err == nil {
		if !dst.IsDir() {
			return fmt.Errorf("%s: %w", remote, syscall.ENOTDIR)
		}
		if !contentsOnly(local) {
			remote = path.Join(remote, filepath.Base(filepath.Clean(local)))
		}
	} else if !errors.Is(err, syscall.ENOENT) {
		return err
	} else if _, _, err := f.c.ResolveParent(ctx, remote); err != nil {
		return err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		// Copied as a link, as cp -r copies one it is given.
		target, err := os.Readlink(local)
		if err != nil {
			return err
		}
		return f.remoteSymlink(ctx, remote, target)
	}
	errs := &treeErrs{f: f, op: "put"}
	jobs := newPool()
	f.quiet = true
	dirs := map[string]uint64{} // each directory made, by local path
	walkErr := filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs.add(p, err)
			return nil // what can be read is still copied
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, err := filepath.Rel(local, p)
		if err != nil {
			return err
		}
		rp := path.Join(remote, filepath.ToSlash(rel))
		switch t := d.Type(); {
		case t.IsDir():
			mode := uint32(0o755)
			if info, err := d.Info(); err == nil {
				mode = uint32(info.Mode().Perm())
			}
			var in *meta.Inode
			if parent, ok := dirs[filepath.Dir(p)]; ok { // a directory the walk made
				in, err = f.c.MkdirIn(ctx, parent, path.Base(rp), mode)
			} else { // the top, in a directory that exists
				var top uint64
				var name string
				if top, name, err = f.c.ResolveParent(ctx, rp); err == nil {
					in, err = f.c.MkdirIn(ctx, top, name, mode)
				}
			}
			if err != nil {
				errs.add(rp, err)
				return filepath.SkipDir
			}
			dirs[filepath.Clean(p)] = in.Ino
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err == nil {
				err = f.remoteSymlink(ctx, rp, target)
			}
			errs.add(rp, err)
		case t.IsRegular():
			parent, ok := dirs[filepath.Dir(p)] // made before its entries
			if !ok {
				errs.add(rp, fmt.Errorf("its directory was not made: %w", syscall.ENOENT))
				return nil
			}
			jobs.Go(func() error {
				file, st, err := openLocal(p)
				if err == nil {
					var existing *meta.Inode
					if existing, err = f.lookup(ctx, parent, path.Base(rp)); err == nil {
						if same, serr := f.sameContent(existing, p, st.Size()); serr != nil || !same {
							err = f.putFile(ctx, file, st.Size(), uint32(st.Mode().Perm()), parent, path.Base(rp), rp, existing)
						}
					}
					file.Close()
				}
				errs.add(rp, err)
				return nil
			})
		default:
			errs.say("fs put: %s: skipping a special file (%s)", p, specialKind(t))
		}
		return nil
	})
	jobs.Wait()
	if walkErr != nil {
		return walkErr
	}
	return errs.err()
}

// sameContent reports whether the cluster file in already holds what the
// local file p (size bytes) holds, so that a put -r over an earlier copy
// leaves it alone instead of making a new version of every file: chunks
// are named by the SHA-256 of their bytes, so p is hashed, not sent.
func (f *fsCmd) sameContent(in *meta.Inode, p string, size int64) (bool, error) {
	if in == nil || !in.IsReg() || int64(in.Size) != size {
		return false, nil
	}
	file, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer file.Close()
	if len(in.Chunks) == 0 {
		b, err := io.ReadAll(io.LimitReader(file, size+1))
		return err == nil && bytes.Equal(b, in.Inline), err
	}
	buf := make([]byte, f.c.Params.ChunkSize)
	for _, ch := range in.Chunks {
		b := buf[:ch.Size]
		if _, err := io.ReadFull(file, b); err != nil {
			return false, err
		}
		if ch.ID == "" { // a hole
			if slices.ContainsFunc(b, func(c byte) bool { return c != 0 }) {
				return false, nil
			}
			continue
		}
		if chunkstore.ID(b) != ch.ID {
			return false, nil
		}
	}
	return true, nil
}

// remoteSymlink makes the symbolic link p -> target in the cluster; one
// already there with that target is left as it is.
func (f *fsCmd) remoteSymlink(ctx context.Context, p, target string) error {
	parent, name, err := f.c.ResolveParent(ctx, p)
	if err != nil {
		return err
	}
	o := f.c.Owner()
	_, err = f.c.FS.Symlink(ctx, parent, name, target, o.Uid, o.Gid)
	if errors.Is(err, syscall.EEXIST) {
		if in, lerr := f.c.FS.Lookup(ctx, parent, name); lerr == nil && in.IsSymlink() && in.Target == target {
			return nil
		}
	}
	return err
}

// getTree downloads the cluster tree at remote to the local path local.
func (f *fsCmd) getTree(ctx context.Context, remote, local string) error {
	src, err := f.c.Lresolve(ctx, remote)
	if err != nil {
		return err
	}
	if !src.IsDir() && !src.IsSymlink() {
		return f.get(ctx, remote, local)
	}
	if st, err := os.Stat(local); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s: %w", local, syscall.ENOTDIR)
		}
		if base := path.Base(path.Clean(remote)); base != "/" && !contentsOnly(remote) {
			local = filepath.Join(local, base)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if src.IsSymlink() {
		// Copied as a link, as cp -r copies one it is given.
		return localSymlink(src.Target, local)
	}
	errs := &treeErrs{f: f, op: "get"}
	jobs := newPool()
	f.quiet = true
	// A directory its owner may not write (0555, as in Go's module cache)
	// is made writable while it is filled, and given its mode once all
	// is in, deepest first, as cp -r does.
	type dirMode struct {
		path string
		mode fs.FileMode
	}
	var lockLater []dirMode
	var walk func(dir *meta.Inode, rp, lp string) error
	walk = func(dir *meta.Inode, rp, lp string) error {
		mode := os.FileMode(dir.Mode & 0o777)
		err := os.Mkdir(lp, mode|0o700)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			errs.add(lp, err)
			return nil
		}
		if err == nil && mode&0o700 != 0o700 {
			lockLater = append(lockLater, dirMode{lp, mode &^ fs.FileMode(f.umask)})
		}
		ents, err := f.c.ReaddirAll(ctx, dir.Ino)
		if err != nil {
			errs.add(rp, err)
			return nil
		}
		var subdirs []*meta.Inode
		var names []string
		err = f.c.EntryInodes(ctx, ents, func(d meta.Dirent, in *meta.Inode) {
			crp, clp := path.Join(rp, d.Name), filepath.Join(lp, d.Name)
			switch {
			case in.IsDir():
				in.Inline, in.Chunks = nil, nil
				subdirs, names = append(subdirs, in), append(names, d.Name)
			case in.IsSymlink():
				errs.add(clp, localSymlink(in.Target, clp))
			case in.IsReg():
				jobs.Go(func() error { errs.add(crp, f.getFile(ctx, in, crp, clp)); return nil })
			default:
				errs.say("fs get: %s: skipping a special file (%s)", crp, specialKind(unixTypeMode(in.Mode)))
			}
		})
		if err != nil {
			errs.add(rp, err)
		}
		for i, sub := range subdirs {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := walk(sub, path.Join(rp, names[i]), filepath.Join(lp, names[i])); err != nil {
				return err
			}
		}
		return nil
	}
	walkErr := walk(src, remote, local)
	jobs.Wait()
	for _, d := range slices.Backward(lockLater) {
		errs.add(d.path, os.Chmod(d.path, d.mode))
	}
	if walkErr != nil {
		return walkErr
	}
	return errs.err()
}

// localSymlink makes the symbolic link p -> target; one already there
// with that target is left as it is.
func localSymlink(target, p string) error {
	err := os.Symlink(target, p)
	if errors.Is(err, fs.ErrExist) {
		if t, lerr := os.Readlink(p); lerr == nil && t == target {
			return nil
		}
	}
	return err
}

// specialKind names the kind of a special file, as ls -l's type letter
// does in words.
func specialKind(t fs.FileMode) string {
	switch {
	case t&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a block device"
	}
	return "type " + t.String()
}

// unixTypeMode is the fs.FileMode type bits of a cluster inode's mode.
func unixTypeMode(mode uint32) fs.FileMode {
	switch mode & meta.S_IFMT {
	case meta.S_IFIFO:
		return fs.ModeNamedPipe
	case meta.S_IFSOCK:
		return fs.ModeSocket
	case meta.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case meta.S_IFBLK:
		return fs.ModeDevice
	}
	return 0
}
