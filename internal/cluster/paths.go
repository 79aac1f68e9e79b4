package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/carrot-project/carrot/internal/meta"
	"golang.org/x/sync/errgroup"
)

// Paths are absolute, "/"-separated names in the cluster's namespace,
// resolved as the kernel resolves a path: name by name from the root. "."
// stays where it is and ".." goes to the directory's parent (the root's is
// the root), each checked to be a directory, so "/a/file/.." is ENOTDIR
// and "/a/nope/.." ENOENT. A symbolic link met before the last name is
// followed (an absolute target from the cluster's root, a relative one
// from the link's directory; more than maxLinks links: ELOOP); the last
// name's link is followed when the caller asks (Resolve, not Lresolve) or
// when a slash follows it. A path that ends in a slash names a directory
// (ENOTDIR otherwise).

// maxLinks bounds the symbolic links one resolution follows, as Linux's
// MAXSYMLINKS does.
const maxLinks = 40

// pathNames returns the names of p (empty ones, from "//", dropped) and
// whether a slash ends it.
func pathNames(p string) (names []string, slash bool) {
	for _, n := range strings.Split(p, "/") {
		if n != "" {
			names = append(names, n)
		}
	}
	return names, strings.HasSuffix(p, "/") && len(names) > 0
}

// Resolve returns the inode at path p, following a symbolic link there.
func (c *Client) Resolve(ctx context.Context, p string) (*meta.Inode, error) {
	return c.resolve(ctx, p, true)
}

// Lresolve returns the inode at path p; a symbolic link there is returned
// itself (as lstat(2) does), unless a slash follows it.
func (c *Client) Lresolve(ctx context.Context, p string) (*meta.Inode, error) {
	return c.resolve(ctx, p, false)
}

func (c *Client) resolve(ctx context.Context, p string, follow bool) (*meta.Inode, error) {
	root, err := c.FS.Get(ctx, meta.RootIno)
	if err != nil {
		return nil, err
	}
	in, err := c.walkPath(ctx, root, p, follow, new(int))
	if err != nil {
		return nil, resolveError(p, err)
	}
	return in, nil
}

// walkPath resolves path p from directory start (see walk); a slash at
// its end follows the last link and asks for a directory.
func (c *Client) walkPath(ctx context.Context, start *meta.Inode, p string, followLast bool, links *int) (*meta.Inode, error) {
	names, slash := pathNames(p)
	in, err := c.walk(ctx, start, names, followLast || slash, links)
	if err == nil && slash && !in.IsDir() {
		err = syscall.ENOTDIR
	}
	return in, err
}

// resolveError is the error of resolving path p: meta's errno, named by
// the whole path.
func resolveError(p string, err error) error {
	var me *meta.Error
	if errors.As(err, &me) {
		err = me.Err
	}
	if errno := syscall.Errno(0); !errors.As(err, &errno) {
		return err // not the path's: etcd unreachable, say
	}
	return &meta.Error{Op: "resolve", Path: p, Err: err}
}

// walk resolves names from directory dir, following the symbolic links
// met (the last name's only with followLast), counting them in *links.
func (c *Client) walk(ctx context.Context, dir *meta.Inode, names []string, followLast bool, links *int) (*meta.Inode, error) {
	in := dir
	for i, name := range names {
		if !in.IsDir() {
			return nil, syscall.ENOTDIR
		}
		var err error
		switch name {
		case ".":
			continue
		case "..":
			if in.Ino != meta.RootIno {
				in, err = c.FS.Get(ctx, in.Parent)
			}
		default:
			var next *meta.Inode
			if next, err = c.FS.Lookup(ctx, in.Ino, name); err == nil && next.IsSymlink() && (i < len(names)-1 || followLast) {
				next, err = c.follow(ctx, in, next, links)
			}
			in = next
		}
		if err != nil {
			return nil, err
		}
	}
	return in, nil
}

// follow resolves the target of link, an entry of directory dir, wholly.
func (c *Client) follow(ctx context.Context, dir, link *meta.Inode, links *int) (*meta.Inode, error) {
	if *links++; *links > maxLinks {
		return nil, syscall.ELOOP
	}
	if link.Target == "" {
		return nil, syscall.ENOENT
	}
	start := dir
	if strings.HasPrefix(link.Target, "/") {
		root, err := c.FS.Get(ctx, meta.RootIno)
		if err != nil {
			return nil, err
		}
		start = root
	}
	return c.walkPath(ctx, start, link.Target, true, links)
}

// ResolveParent returns the directory holding path p and p's last name,
// which must be a name: p may not be the root (EBUSY) nor end in "." or
// ".." (EINVAL: rm and mv refuse them, as coreutils does). A slash after
// the last name is the caller's to check (TrailingSlash): the entry itself
// is not looked up.
func (c *Client) ResolveParent(ctx context.Context, p string) (uint64, string, error) {
	names, _ := pathNames(p)
	if len(names) == 0 {
		return 0, "", &meta.Error{Op: "resolve", Path: p, Err: syscall.EBUSY}
	}
	last := names[len(names)-1]
	if last == "." || last == ".." {
		return 0, "", &meta.Error{Op: "resolve", Path: p, Err: fmt.Errorf("refusing '.' or '..' as the name of an entry: %w", syscall.EINVAL)}
	}
	root, err := c.FS.Get(ctx, meta.RootIno)
	if err != nil {
		return 0, "", err
	}
	dir, err := c.walk(ctx, root, names[:len(names)-1], true, new(int))
	if err == nil && !dir.IsDir() {
		err = syscall.ENOTDIR
	}
	if err != nil {
		return 0, "", resolveError(p, err)
	}
	return dir.Ino, last, nil
}

// LastName returns the last name of path p ("" for the root), which may be
// "." or "..".
func LastName(p string) string {
	names, _ := pathNames(p)
	if len(names) == 0 {
		return ""
	}
	return names[len(names)-1]
}

// TrailingSlash reports whether path p ends in a slash after a name: it
// then names a directory.
func TrailingSlash(p string) bool {
	_, slash := pathNames(p)
	return slash
}

// MkdirAll makes p and its missing parents, resolving p as Resolve does
// (links followed, "." and ".." name by name).
func (c *Client) MkdirAll(ctx context.Context, p string, mode uint32) (*meta.Inode, error) {
	in, err := c.FS.Get(ctx, meta.RootIno)
	if err != nil {
		return nil, err
	}
	names, _ := pathNames(p)
	links := new(int)
	for i, name := range names {
		next, err := c.walk(ctx, in, []string{name}, true, links)
		if errors.Is(err, syscall.ENOENT) && name != "." && name != ".." {
			next, err = c.MkdirIn(ctx, in.Ino, name, mode)
		}
		if err == nil && !next.IsDir() || errors.Is(err, syscall.ENOTDIR) {
			// Something else has the name: the path's own (mkdir -p says
			// it exists), or a parent's (not a directory).
			errno := syscall.ENOTDIR
			if i == len(names)-1 {
				errno = syscall.EEXIST
			}
			return nil, &meta.Error{Op: "mkdir", Path: p, Err: errno}
		}
		if err != nil {
			return nil, resolveError(p, err)
		}
		in = next
	}
	return in, nil
}

// MkdirIn returns directory name of directory parent, made with mode and
// the Client's Owner if there is none (one made meanwhile by someone else
// will do); ENOTDIR if name is something else.
func (c *Client) MkdirIn(ctx context.Context, parent uint64, name string, mode uint32) (*meta.Inode, error) {
	in, err := c.FS.Lookup(ctx, parent, name)
	if errors.Is(err, syscall.ENOENT) {
		in, err = c.FS.Mkdir(ctx, parent, name, mode, c.owner.Uid, c.owner.Gid)
		if errors.Is(err, syscall.EEXIST) {
			in, err = c.FS.Lookup(ctx, parent, name)
		}
	}
	if err == nil && !in.IsDir() {
		err = &meta.Error{Op: "mkdir", Path: name, Err: syscall.ENOTDIR}
	}
	return in, err
}

// ReaddirAll lists a whole directory, page by page. etcd answers each page
// with the count of the entries left after it, so pages of one size would
// make a listing quadratic in the directory's size: they double, from
// firstPage to maxPage entries.
func (c *Client) ReaddirAll(ctx context.Context, dir uint64) ([]meta.Dirent, error) {
	var out []meta.Dirent
	after := ""
	for n := firstPage; ; n = min(2*n, maxPage) {
		page, err := c.FS.Readdir(ctx, dir, after, n)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < n {
			return out, nil
		}
		after = page[len(page)-1].Name
	}
}

// The pages of ReaddirAll.
const (
	firstPage = 1000
	maxPage   = 64000
)

// RemoveAll removes the entry name of parent and, if it is a directory,
// everything under it (depth first). The files of a directory are
// unlinked removeWorkers at a time (each unlink is a few etcd round
// trips, which concurrent ones share: the member commits them together),
// then its subdirectories are emptied one after another. A failure names
// the entry that failed by its path from parent ("name/sub/f").
func (c *Client) RemoveAll(ctx context.Context, parent uint64, name string) error {
	in, err := c.FS.Lookup(ctx, parent, name)
	if err != nil {
		return err
	}
	if !in.IsDir() {
		return c.FS.Unlink(ctx, parent, name)
	}
	return c.removeDir(ctx, parent, name, in.Ino)
}

// removeWorkers is how many unlinks RemoveAll keeps in flight.
const removeWorkers = 16

// removeDir empties directory dir (the entry name of parent) and removes it.
func (c *Client) removeDir(ctx context.Context, parent uint64, name string, dir uint64) error {
	ents, err := c.ReaddirAll(ctx, dir)
	if err != nil {
		return err
	}
	// gone: an entry removed meanwhile is no failure.
	gone := func(err error) error {
		if errors.Is(err, syscall.ENOENT) {
			return nil
		}
		return err
	}
	// The files first, removeWorkers at a time (the first failure stops
	// the rest); then the subdirectories, each in turn, so that no more
	// than removeWorkers unlinks are ever in flight. An entry replaced
	// since the listing by one of the other kind is looked up again
	// (RemoveAll).
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(removeWorkers)
	var subdirs []meta.Dirent
	for _, e := range ents {
		if e.Type == meta.S_IFDIR {
			subdirs = append(subdirs, e)
			continue
		}
		g.Go(func() error {
			err := c.FS.Unlink(gctx, dir, e.Name)
			if errors.Is(err, syscall.EISDIR) {
				err = c.RemoveAll(gctx, dir, e.Name)
			}
			return gone(err)
		})
	}
	if err := g.Wait(); err != nil {
		return under(name, err)
	}
	for _, e := range subdirs {
		err := c.removeDir(ctx, dir, e.Name, e.Ino)
		if errors.Is(err, syscall.ENOTDIR) {
			err = c.RemoveAll(ctx, dir, e.Name)
		}
		if err := gone(err); err != nil {
			return under(name, err)
		}
	}
	return c.FS.Rmdir(ctx, parent, name)
}

// under makes the path of err, an error about an entry of directory dir
// (relative to it), relative to dir's parent: RemoveAll's errors name the
// entry that failed from the one removed ("d1/d26", not "d26").
func under(dir string, err error) error {
	var me *meta.Error
	if errors.As(err, &me) && me.Path != "" && !strings.HasPrefix(me.Path, "/") && !strings.HasPrefix(me.Path, "inode ") {
		me.Path = dir + "/" + me.Path
	}
	return err
}

// EntryInodes calls fn with the inode of each of ents, in order, reading
// them a hundred to a request (GetMany) and a thousand at a time, so that
// a large directory's inodes (a small file's holds its data) are never in
// memory at once. An entry removed meanwhile has no inode and is skipped.
func (c *Client) EntryInodes(ctx context.Context, ents []meta.Dirent, fn func(meta.Dirent, *meta.Inode)) error {
	for start := 0; start < len(ents); start += 1000 {
		batch := ents[start:min(start+1000, len(ents))]
		inos := make([]uint64, len(batch))
		for i, e := range batch {
			inos[i] = e.Ino
		}
		ins, err := c.FS.GetMany(ctx, inos)
		if err != nil {
			return err
		}
		for i, in := range ins {
			if in != nil {
				fn(batch[i], in)
			}
		}
	}
	return nil
}

// Usage is what Du adds up.
type Usage struct {
	Files, Dirs int64
	Bytes       int64 // sum of file sizes (each hard-linked inode once)
}

// Du adds up the tree under ino.
func (c *Client) Du(ctx context.Context, ino uint64) (Usage, error) {
	var u Usage
	seen := map[uint64]bool{}
	// count adds in, reached through an entry, once however many entries
	// reach it; it reports whether in was new.
	count := func(in *meta.Inode) bool {
		if seen[in.Ino] {
			return false
		}
		seen[in.Ino] = true
		if in.IsDir() {
			u.Dirs++
		} else {
			u.Files++
			u.Bytes += int64(in.Size)
		}
		return true
	}
	var walk func(dir uint64, depth int) error
	walk = func(dir uint64, depth int) error {
		if depth > 4096 {
			return &meta.Error{Op: "du", Path: "", Err: syscall.ELOOP}
		}
		ents, err := c.ReaddirAll(ctx, dir)
		if err != nil {
			return err
		}
		// Only the subdirectories' numbers are kept to walk into.
		var subdirs []uint64
		err = c.EntryInodes(ctx, ents, func(_ meta.Dirent, in *meta.Inode) {
			if count(in) && in.IsDir() {
				subdirs = append(subdirs, in.Ino)
			}
		})
		if err != nil {
			return err
		}
		ents = nil
		for _, sub := range subdirs {
			if err := walk(sub, depth+1); err != nil && !errors.Is(err, syscall.ENOENT) {
				return err
			}
		}
		return nil
	}
	in, err := c.FS.Get(ctx, ino)
	if err != nil {
		return u, err
	}
	if count(in) && in.IsDir() {
		err = walk(ino, 0)
	}
	return u, err
}
