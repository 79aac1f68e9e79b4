//go:build !nocluster

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/carrot-project/carrot/internal/cluster"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"github.com/carrot-project/carrot/internal/meta"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

func init() {
	register(&command{
		Name:    "fs",
		Summary: "use the storage cluster's files: put, get, cat, ls, stat, mkdir, rm, mv, du",
		Run:     runFS,
	})
}

const fsUsage = `usage: carrot fs [--config FILE] COMMAND ARGS

commands:
  put [-r] LOCAL REMOTE
                       upload a local file ('-' is stdin); into REMOTE if it is a directory
                       (-r: a whole tree, as cp -r copies it)
  get [-r] REMOTE LOCAL
                       download a file ('-' is stdout); into LOCAL if it is a directory
                       (-r: a whole tree)
  cat REMOTE...        write files to stdout
  ls [-l] [PATH...]    list a directory (or show one file)
  stat PATH...         show a file's inode, version, chunks and times
  mkdir [-p] PATH...   make a directory (-p: with parents, no error if it exists)
  rm [-rf] PATH...     remove a file or empty directory (-r: a whole tree;
                       -f: no error for a path that is not there)
  mv SRC DST           rename atomically (into DST if it is a directory)
  du [-h] PATH...      total bytes, files and directories under PATH

Paths in the cluster are absolute ("/a/b"). Large transfers show a progress
bar when stderr is a terminal. Failures exit 1 with the errno (ENOENT, ...).`

func runFS(ctx context.Context, e *env) int {
	fs := e.flags("carrot fs", fsUsage)
	config := fs.String("config", "", "cluster config (default $CARROT_CONFIG, else "+clusterconf.DefaultPath()+")")
	if code, ok := e.parse(fs); !ok {
		return code
	}
	if fs.NArg() == 0 {
		return e.usageError("fs: missing command (see 'carrot fs -h')")
	}
	cmd := fs.Arg(0)
	// How many arguments each takes: exactly 2, or 1 and more (ls: none is /).
	nargs := map[string]int{"put": 2, "get": 2, "mv": 2, "cat": -1, "ls": -1, "stat": -1, "mkdir": -1, "rm": -1, "du": -1}
	want, ok := nargs[cmd]
	if !ok {
		return e.usageError("fs: unknown command %q (see 'carrot fs -h')", cmd)
	}
	// Each command has its own flags, so "put -l" is an error, not ignored.
	sub := e.flags("carrot fs "+cmd, fsUsage)
	// --config may also come after the command, as users type it.
	sub.StringVar(config, "config", *config, fs.Lookup("config").Usage)
	var long, parents, recursive, force, hum *bool
	switch cmd {
	case "ls":
		long = sub.Bool("l", false, "long listing")
	case "mkdir":
		parents = sub.Bool("p", false, "make parents, no error if it exists")
	case "rm":
		recursive = sub.Bool("r", false, "remove a whole tree")
		force = sub.Bool("f", false, "no error for a path that is not there")
	case "put", "get":
		recursive = sub.Bool("r", false, "copy a whole directory tree (files 8 at a time, symbolic links as links)")
	case "du":
		hum = sub.Bool("h", false, "human-readable sizes")
		sub.Bool("s", true, "the total only (always)")
	}
	e.Args = flagsFirst(sub, fs.Args()[1:])
	if code, ok := e.parse(sub); !ok {
		return code
	}
	args := sub.Args()
	if cmd == "ls" && len(args) == 0 {
		args = []string{"/"}
	}
	if want > 0 && len(args) != want || want < 0 && len(args) == 0 {
		n := fmt.Sprint(want)
		if want < 0 {
			n = "at least 1"
		}
		return e.usageError("fs %s: want %s argument(s), got %d (see 'carrot fs -h')", cmd, n, len(args))
	}
	if (cmd == "put" || cmd == "get") && *recursive && slices.Contains(args, "-") {
		return e.usageError("fs %s -r: a tree cannot come from stdin or go to stdout", cmd)
	}
	// Which arguments name cluster paths: absolute, as the usage says.
	var remote []string
	switch cmd {
	case "put":
		remote = args[1:]
	case "get":
		remote = args[:1]
	default:
		remote = args
	}
	for _, p := range remote {
		if !strings.HasPrefix(p, "/") {
			return clusterErr(e, "fs "+cmd, fmt.Errorf("%q: cluster paths are absolute (start with /): %w", p, syscall.EINVAL))
		}
	}
	c, err := dialCluster(ctx, *config, cluster.Options{})
	if err != nil {
		return clusterErr(e, "fs "+cmd, err)
	}
	defer c.Close()
	// A read of a quiet stdin or FIFO, or a write to a stalled stdout,
	// cannot be interrupted: a SIGTERM meanwhile would wait with it. The
	// command stops as a failure would (a put commits nothing until its
	// end); past a grace, the process ends itself as the signal would have.
	defer context.AfterFunc(ctx, func() {
		time.AfterFunc(termGrace, func() {
			e.errorf("fs %s: terminated (SIGTERM)", cmd)
			os.Exit(exitTerminated)
		})
	})()
	umask := syscall.Umask(0) // read before any file is made, and put back
	syscall.Umask(umask)
	out := &stickyWriter{w: e.Stdout}
	e.Stdout = out
	f := &fsCmd{c: c, e: e, umask: uint32(umask)}
	// report says a command's failure, or a write error of its output, as
	// coreutils do, and returns the exit status.
	report := func(err error, typed []string) int {
		if err != nil && ctx.Err() != nil {
			// SIGTERM (main's context): what was under way stopped as a
			// failure would (a put commits nothing), and that is no I/O
			// error to report.
			e.errorf("fs %s: terminated (SIGTERM)", cmd)
			return exitTerminated
		}
		if err == nil && out.err != nil {
			err = fmt.Errorf("write error: %w", out.err)
		}
		if err != nil {
			return clusterErr(e, "fs "+cmd, typedPaths(err, typed))
		}
		return exitOK
	}
	switch cmd {
	case "put":
		if *recursive {
			err = f.putTree(ctx, args[0], args[1])
		} else {
			err = f.put(ctx, args[0], args[1])
		}
	case "get":
		if *recursive {
			err = f.getTree(ctx, args[0], args[1])
		} else {
			err = f.get(ctx, args[0], args[1])
		}
	case "mv":
		err = f.mv(ctx, args[0], args[1])
	default:
		// One path after the other, as coreutils take them: a failure is
		// said and the others are still done; the status says if any
		// failed.
		code := exitOK
		listed := 0 // ls: paths listed so far
		for _, p := range args {
			var err error
			switch cmd {
			case "cat":
				err = f.get(ctx, p, "-")
			case "ls":
				heading := ""
				if len(args) > 1 {
					// As ls: each listed path under its name, a blank line
					// between them; a path that fails has neither.
					heading = p + ":\n"
					if listed > 0 {
						heading = "\n" + heading
					}
				}
				if err = f.ls(ctx, p, *long, heading); err == nil {
					listed++
				}
			case "stat":
				err = f.stat(ctx, p)
			case "mkdir":
				err = f.mkdir(ctx, p, *parents)
			case "rm":
				if err = f.rm(ctx, p, *recursive); *force && errors.Is(err, syscall.ENOENT) {
					err = nil
				}
			case "du":
				err = f.du(ctx, p, *hum)
			}
			if c := report(err, []string{p}); c != exitOK {
				code = c
			}
			if code == exitTerminated {
				break
			}
		}
		return code
	}
	return report(err, remote)
}

// flagsFirst puts the flags among args before the operands, so that
// "ls /a -l" is "ls -l /a" as in coreutils, and splits a cluster of
// one-letter flags ("-rf") into each; "--" ends the flags, and "-" is an
// operand (stdin, stdout).
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, operands []string
	skip := false
	for i, a := range args {
		if skip {
			skip = false
			continue
		}
		switch {
		case a == "--":
			return append(append(flags, "--"), append(operands, args[i+1:]...)...)
		case len(a) > 2 && a[0] == '-' && a[1] != '-' && !strings.Contains(a, "=") && fs.Lookup(a[1:]) == nil && allFlags(fs, a[1:]):
			for _, c := range a[1:] {
				flags = append(flags, "-"+string(c))
			}
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			// A flag that takes a value (--config FILE) keeps it.
			name := strings.TrimLeft(a, "-")
			if f := fs.Lookup(name); f != nil && !strings.Contains(a, "=") && !isBool(f) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				skip = true
			}
		default:
			operands = append(operands, a)
		}
	}
	return append(append(flags, "--"), operands...)
}

// isBool reports whether f is a boolean flag (no value follows it).
func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// allFlags reports whether every letter of s is a flag of fs.
func allFlags(fs *flag.FlagSet, s string) bool {
	for _, c := range s {
		if fs.Lookup(string(c)) == nil {
			return false
		}
	}
	return true
}

// typedPaths makes an error about the last name of a path the user typed
// (meta names the entry it worked on: "mkdir b: file exists") name the
// whole path instead ("mkdir /a/b: file exists"); a rename names both.
func typedPaths(err error, typed []string) error {
	var me *meta.Error
	if !errors.As(err, &me) {
		return err
	}
	base := func(p string) string { return path.Base(path.Clean(p)) }
	if me.Op == "rename" && len(typed) == 2 && me.Path == base(typed[0])+" -> "+base(typed[1]) {
		me.Path = typed[0] + " -> " + typed[1]
		return err
	}
	for _, p := range typed {
		if me.Path == base(p) {
			me.Path = p
			break
		}
	}
	return err
}

type fsCmd struct {
	c *cluster.Client
	e *env
	// quiet: no progress bars (a tree's files travel several at once).
	quiet bool
	// umask is the process's, applied to the mode of a file put anew.
	umask uint32
}

// progress shows a bar on a terminal stderr for transfers over 8 MiB; for
// one of unknown size (total < 0: a pipe), the bytes so far and the rate,
// once past 8 MiB.
type progress struct {
	done  atomic.Int64
	total int64
	stop  chan struct{}
	ended chan struct{}
}

func (f *fsCmd) startProgress(label string, total int64) *progress {
	p := &progress{total: total, stop: make(chan struct{}), ended: make(chan struct{})}
	const least = 8 << 20
	tty := f.e.Stderr == os.Stderr && term.IsTerminal(int(os.Stderr.Fd()))
	if f.quiet || !tty || total >= 0 && total < least {
		close(p.ended)
		return p
	}
	start := time.Now()
	drawn := false
	draw := func() {
		d := p.done.Load()
		rate := float64(d) / max(time.Since(start).Seconds(), 1e-3)
		if p.total < 0 {
			if d >= least {
				fmt.Fprintf(os.Stderr, "\r%s %s %s/s ", label, human(d), human(int64(rate)))
				drawn = true
			}
			return
		}
		drawn = true
		frac := float64(d) / float64(max(1, p.total))
		const width = 30
		bar := make([]byte, width)
		for i := range bar {
			if float64(i) < frac*width {
				bar[i] = '='
			} else {
				bar[i] = ' '
			}
		}
		fmt.Fprintf(os.Stderr, "\r%s [%s] %3.0f%% %s/%s %s/s ", label, bar, 100*frac, human(d), human(p.total), human(int64(rate)))
	}
	go func() {
		defer close(p.ended)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				draw()
			case <-p.stop:
				draw()
				if drawn {
					fmt.Fprintln(os.Stderr)
				}
				return
			}
		}
	}()
	return p
}

func (p *progress) add(n int64) { p.done.Add(n) }

func (p *progress) finish() {
	select {
	case <-p.ended:
	default:
		close(p.stop)
		<-p.ended
	}
}

// countingWriter reports bytes written to a progress.
type countingWriter struct {
	w io.Writer
	p *progress
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.p.add(int64(n))
	return n, err
}

func (f *fsCmd) put(ctx context.Context, local, remote string) error {
	var in io.Reader
	var size int64
	perm := uint32(0o666) // a new file's, less the umask, as cp makes it
	if local == "-" {
		in, size = f.e.Stdin, -1 // unknown
	} else {
		file, st, err := openLocal(local)
		if err != nil {
			return err
		}
		defer file.Close()
		in, size, perm = file, st.Size(), uint32(st.Mode().Perm())
	}
	parent, name, existing, err := f.destination(ctx, remote)
	if err != nil {
		return err
	}
	if existing != nil && existing.IsDir() {
		// Into the directory, under the local name.
		if local == "-" {
			return fmt.Errorf("%s: %w", remote, syscall.EISDIR)
		}
		parent, name, remote = existing.Ino, filepath.Base(local), path.Join(remote, filepath.Base(local))
		if existing, err = f.existingAt(ctx, parent, name, remote); err != nil {
			return err
		}
	}
	return f.putFile(ctx, in, size, perm, parent, name, remote, existing)
}

// destination finds where a put to the cluster path remote goes, walking
// the path once: the directory parent and the name there, and the inode
// that name has (nil: none yet), which may be a directory to put into. A
// symbolic link there is written through, as cp writes: existing is then
// what it names. A path ending in a slash, ".", ".." or at the root names
// a directory, which must exist.
func (f *fsCmd) destination(ctx context.Context, remote string) (parent uint64, name string, existing *meta.Inode, err error) {
	if last := cluster.LastName(remote); last == "" || last == "." || last == ".." {
		existing, err = f.c.Resolve(ctx, remote)
		if err == nil && !existing.IsDir() {
			err = &meta.Error{Op: "put", Path: remote, Err: syscall.ENOTDIR}
		}
		return 0, "", existing, err
	}
	if parent, name, err = f.c.ResolveParent(ctx, remote); err != nil {
		return 0, "", nil, err
	}
	existing, err = f.existingAt(ctx, parent, name, remote)
	if err == nil && cluster.TrailingSlash(remote) && (existing == nil || !existing.IsDir()) {
		err = &meta.Error{Op: "put", Path: remote, Err: syscall.ENOTDIR}
	}
	return parent, name, existing, err
}

// existingAt returns what a put to entry name of directory parent (the
// cluster path remote) writes over: nil if nothing is there; what a
// symbolic link there names, as cp writes through one (not through a link
// to nothing, as cp does not).
func (f *fsCmd) existingAt(ctx context.Context, parent uint64, name, remote string) (*meta.Inode, error) {
	in, err := f.lookup(ctx, parent, name)
	if err != nil || in == nil || !in.IsSymlink() {
		return in, err
	}
	in, err = f.c.Resolve(ctx, remote)
	if errors.Is(err, syscall.ENOENT) {
		return nil, &meta.Error{Op: "put", Path: remote, Err: fmt.Errorf("not writing through a dangling symbolic link: %w", syscall.ENOENT)}
	}
	return in, err
}

// lookup returns the inode of entry name of directory parent, or nil if
// there is none.
func (f *fsCmd) lookup(ctx context.Context, parent uint64, name string) (*meta.Inode, error) {
	in, err := f.c.FS.Lookup(ctx, parent, name)
	if errors.Is(err, syscall.ENOENT) {
		return nil, nil
	}
	return in, err
}

// openLocal opens the local file p to put it (not a directory).
func openLocal(p string) (*os.File, os.FileInfo, error) {
	file, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	st, err := file.Stat()
	if err == nil && st.IsDir() {
		err = fmt.Errorf("%s: %w", p, syscall.EISDIR)
	}
	if err != nil {
		file.Close()
		return nil, nil, err
	}
	return file, st, nil
}

// putFile writes in (size bytes, -1: unknown) as the file name of
// directory parent (the cluster path remote): a new version of existing,
// the inode there (nil: none), or a new file of mode perm less the umask.
func (f *fsCmd) putFile(ctx context.Context, in io.Reader, size int64, perm uint32, parent uint64, name, remote string, existing *meta.Inode) error {
	if existing != nil && existing.IsDir() {
		return fmt.Errorf("%s: %w", remote, syscall.EISDIR)
	}
	p := f.startProgress("put", size)
	defer p.finish()
	var ino uint64
	if existing != nil {
		ino = existing.Ino
	}
	// The last writer wins, as with cp: a concurrent put of the same
	// path neither fails nor mixes the two.
	_, err := f.c.ReplaceFile(ctx, parent, name, ino, perm&^f.umask, in, cluster.WriteOptions{Progress: p.add})
	return atPath(err, remote)
}

// termGrace is how long a command has to stop after a SIGTERM.
const termGrace = 2 * time.Second

// atPath names the path as typed in an error the client reports by inode
// number ("read inode 8320...", "commit inode 3871..."), as the other
// errors name it.
func atPath(err error, p string) error {
	var me *meta.Error
	if errors.As(err, &me) && strings.HasPrefix(me.Path, "inode ") {
		me.Path = p
	}
	return err
}

func (f *fsCmd) get(ctx context.Context, remote, local string) error {
	if local == "" {
		return &os.PathError{Op: "create", Path: local, Err: syscall.ENOENT}
	}
	src, err := f.c.Resolve(ctx, remote)
	if err != nil {
		return err
	}
	return f.getFile(ctx, src, remote, local)
}

// getFile writes the version src of the file at the cluster path remote
// to local ("-": stdout).
func (f *fsCmd) getFile(ctx context.Context, src *meta.Inode, remote, local string) error {
	if src.IsDir() {
		return fmt.Errorf("%s: %w", remote, syscall.EISDIR)
	}
	r, err := f.c.OpenInode(ctx, src)
	if err != nil {
		return err
	}
	if src.IsSymlink() {
		return fmt.Errorf("%s is a symlink to %s: %w", remote, src.Target, syscall.EINVAL)
	}
	if local == "-" {
		p := f.startProgress("get", r.Size())
		defer p.finish()
		_, err := r.WriteTo(countingWriter{f.e.Stdout, p})
		return atPath(err, remote)
	}
	if st, err := os.Stat(local); err == nil && st.IsDir() {
		local = filepath.Join(local, path.Base(remote))
	}
	w, err := createLocal(local, os.FileMode(src.Mode&0o777))
	if err != nil {
		return err
	}
	p := f.startProgress("get", r.Size())
	_, err = r.WriteTo(countingWriter{w, p})
	p.finish()
	if err != nil {
		w.abort()
		return atPath(err, remote)
	}
	return w.commit()
}

// localFile is where get writes: a temporary file renamed over the target
// when complete, so that a failed get leaves the target as it was; or the
// target itself, when it is not a regular file (a failed get leaves it
// partly written, as cp would) or its directory takes no new file.
type localFile struct {
	*os.File
	target  string // rename the file to this on commit; "" if written in place
	created string // a file this get made in place: removed if it fails
}

// createLocal opens the local target of a get, as cp treats its
// destination: through a symlink to what it names (a dangling one makes
// its target); a device, FIFO or socket written in place, never replaced;
// an existing regular file replaced only if it is writable, and keeping
// its mode; a new file made with mode less the umask.
func createLocal(name string, mode os.FileMode) (*localFile, error) {
	st, err := os.Stat(name)
	switch {
	case err == nil && !st.Mode().IsRegular():
		return inPlace(name)
	case err == nil:
		if name, err = filepath.EvalSymlinks(name); err != nil {
			return nil, err
		}
		if err := unix.Access(name, unix.W_OK); err != nil {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Nlink > 1 {
			// A renamed file would leave the other links with the old
			// content: written in place, as cp does.
			return inPlace(name)
		}
		mode = st.Mode().Perm()
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	default:
		if lst, lerr := os.Lstat(name); lerr == nil && lst.Mode()&os.ModeSymlink != 0 {
			// A dangling symlink: make what it names, as cp does.
			made, err := os.Readlink(name)
			if err != nil {
				return nil, err
			}
			if !filepath.IsAbs(made) {
				made = filepath.Join(filepath.Dir(name), made)
			}
			f, err := os.OpenFile(made, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
			if err != nil {
				return nil, err
			}
			return &localFile{File: f, created: made}, nil
		}
	}
	for range 100 {
		tmp := filepath.Join(filepath.Dir(name), fmt.Sprintf(".carrot-get-%d", rand.Uint64()))
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if st != nil && (errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS)) {
			// A writable file in a directory that takes no new file:
			// written in place, as cp does.
			return inPlace(name)
		}
		if pe := (*os.PathError)(nil); errors.As(err, &pe) {
			pe.Path = name // the target, not its temporary name
		}
		if err != nil {
			return nil, err
		}
		// The umask applied to a new file only; an existing one keeps its
		// mode and its owner, as cp keeps them by writing in place; one
		// whose owner carrot may not give the new file is written in place.
		if st != nil {
			err := f.Chmod(mode)
			if sys, ok := st.Sys().(*syscall.Stat_t); ok && err == nil && (int(sys.Uid) != os.Getuid() || int(sys.Gid) != os.Getgid()) {
				if f.Chown(int(sys.Uid), int(sys.Gid)) != nil {
					f.Close()
					os.Remove(tmp)
					return inPlace(name)
				}
			}
			if err != nil {
				f.Close()
				os.Remove(tmp)
				return nil, err
			}
		}
		return &localFile{File: f, target: name}, nil
	}
	return nil, fmt.Errorf("%s: no free temporary name: %w", filepath.Dir(name), syscall.EEXIST)
}

// inPlace is name itself to write over, truncated, as cp writes its
// destination: a failed get leaves it partly written.
func inPlace(name string) (*localFile, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_TRUNC, 0)
	return &localFile{File: f}, err
}

// commit closes the file and, for a temporary one, renames it over the
// target.
func (l *localFile) commit() error {
	if err := l.Close(); err != nil {
		l.abort()
		return err
	}
	if l.target == "" {
		return nil
	}
	if err := os.Rename(l.Name(), l.target); err != nil {
		os.Remove(l.Name())
		return err
	}
	return nil
}

// abort closes the file and removes a temporary one, or one it made.
func (l *localFile) abort() {
	l.Close()
	if l.target != "" {
		os.Remove(l.Name())
	}
	if l.created != "" {
		os.Remove(l.created)
	}
}

func typeChar(mode uint32) byte {
	switch mode & meta.S_IFMT {
	case meta.S_IFDIR:
		return 'd'
	case meta.S_IFLNK:
		return 'l'
	case meta.S_IFIFO:
		return 'p'
	case meta.S_IFSOCK:
		return 's'
	case meta.S_IFCHR:
		return 'c'
	case meta.S_IFBLK:
		return 'b'
	}
	return '-'
}

func modeString(mode uint32) string {
	b := []byte{typeChar(mode)}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if mode&(1<<(8-i)) != 0 {
			b = append(b, rwx[i])
		} else {
			b = append(b, '-')
		}
	}
	return string(b)
}

func (f *fsCmd) ls(ctx context.Context, p string, long bool, heading string) error {
	// A symbolic link named is listed as what it names, except in the
	// long form (which shows the link), as ls does.
	resolve := f.c.Resolve
	if long {
		resolve = f.c.Lresolve
	}
	in, err := resolve(ctx, p)
	if err != nil {
		return err
	}
	fmt.Fprint(f.e.Stdout, heading)
	type row struct {
		name string
		in   *meta.Inode
	}
	var rows []row
	if !in.IsDir() {
		rows = []row{{p, in}}
	} else {
		ents, err := f.c.ReaddirAll(ctx, in.Ino)
		if err != nil {
			return err
		}
		if !long {
			for _, d := range ents {
				fmt.Fprintln(f.e.Stdout, d.Name)
			}
			return nil
		}
		// Only the inodes' attributes are kept (a small file's holds its
		// data).
		err = f.c.EntryInodes(ctx, ents, func(d meta.Dirent, in *meta.Inode) {
			in.Inline, in.Chunks = nil, nil
			rows = append(rows, row{d.Name, in})
		})
		if err != nil {
			return err
		}
	}
	if !long {
		for _, r := range rows {
			fmt.Fprintln(f.e.Stdout, r.name)
		}
		return nil
	}
	// Columns as ls -ln lays them out: numbers right-aligned (owners by
	// number too), one space between.
	width := func(v uint64) int { return len(strconv.FormatUint(v, 10)) }
	var wn, wu, wg, ws int
	for _, r := range rows {
		wn, wu = max(wn, width(uint64(r.in.Nlink))), max(wu, width(uint64(r.in.Uid)))
		wg, ws = max(wg, width(uint64(r.in.Gid))), max(ws, width(r.in.Size))
	}
	for _, r := range rows {
		name := r.name
		if r.in.IsSymlink() {
			name += " -> " + r.in.Target
		}
		fmt.Fprintf(f.e.Stdout, "%s %*d %*d %*d %*d %s %s\n", modeString(r.in.Mode), wn, r.in.Nlink, wu, r.in.Uid, wg, r.in.Gid,
			ws, r.in.Size, r.in.Mtime.Format("2006-01-02 15:04"), name)
	}
	return nil
}

func (f *fsCmd) stat(ctx context.Context, p string) error {
	in, err := f.c.Lresolve(ctx, p)
	if err != nil {
		return err
	}
	kind := map[byte]string{'d': "directory", 'l': "symbolic link", '-': "regular file", 'p': "fifo", 's': "socket", 'c': "character device", 'b': "block device"}[typeChar(in.Mode)]
	w := f.e.Stdout
	fmt.Fprintf(w, "  File: %s\n", p)
	if in.IsSymlink() {
		fmt.Fprintf(w, "Target: %s\n", in.Target)
	}
	fmt.Fprintf(w, "  Size: %d\tType: %s\n", in.Size, kind)
	fmt.Fprintf(w, " Inode: %d\tLinks: %d\tVersion: %d\n", in.Ino, in.Nlink, in.Version)
	fmt.Fprintf(w, "Access: (%04o/%s)\tUid: %d\tGid: %d\n", in.Mode&0o7777, modeString(in.Mode), in.Uid, in.Gid)
	switch {
	case len(in.Inline) > 0:
		fmt.Fprintf(w, "  Data: inline (%d bytes in the inode)\n", len(in.Inline))
	case len(in.Chunks) > 0:
		fmt.Fprintf(w, "  Data: %d chunk(s)\n", len(in.Chunks))
		for i, ch := range in.Chunks {
			if i == 8 {
				fmt.Fprintf(w, "        ... %d more\n", len(in.Chunks)-8)
				break
			}
			id := ch.ID
			if id == "" {
				id = "(hole)"
			}
			fmt.Fprintf(w, "        %s %d\n", id, ch.Size)
		}
	}
	const tf = "2006-01-02 15:04:05.000000000 -0700"
	fmt.Fprintf(w, "Access: %s\nModify: %s\nChange: %s\n", in.Atime.Format(tf), in.Mtime.Format(tf), in.Ctime.Format(tf))
	return nil
}

func (f *fsCmd) mkdir(ctx context.Context, p string, parents bool) error {
	if parents {
		_, err := f.c.MkdirAll(ctx, p, 0o755)
		return err
	}
	if last := cluster.LastName(p); last == "" || last == "." || last == ".." {
		if _, err := f.c.Resolve(ctx, p); err != nil {
			return err
		}
		return &meta.Error{Op: "mkdir", Path: p, Err: syscall.EEXIST}
	}
	parent, name, err := f.c.ResolveParent(ctx, p)
	if err != nil {
		return err
	}
	o := f.c.Owner()
	_, err = f.c.Mkdir(ctx, parent, name, 0o755, o.Uid, o.Gid)
	return err
}

func (f *fsCmd) rm(ctx context.Context, p string, recursive bool) error {
	parent, name, in, err := f.entry(ctx, "remove", p)
	if err != nil {
		return err
	}
	if recursive {
		err := f.c.RemoveAll(ctx, parent, name)
		var me *meta.Error
		if errors.As(err, &me) && (me.Path == name || strings.HasPrefix(me.Path, name+"/")) {
			me.Path = path.Join(path.Dir(path.Clean(p)), me.Path) // the path as typed
		}
		return err
	}
	if in.IsDir() {
		return f.c.Rmdir(ctx, parent, name)
	}
	return f.c.Unlink(ctx, parent, name)
}

// entry finds the entry that the path p names for an operation on the
// entry itself (op, for messages: remove, move): its directory, its name
// and its inode. A symbolic link there is the link. The root, "." and ".."
// are refused, as rm and mv refuse them; a slash after the name asks for
// a directory (a link to one is not: ENOTDIR, as rmdir(2) says).
func (f *fsCmd) entry(ctx context.Context, op, p string) (uint64, string, *meta.Inode, error) {
	parent, name, err := f.c.ResolveParent(ctx, p) // refuses the root, "." and ".."
	if err != nil {
		return 0, "", nil, err
	}
	in, err := f.c.Lookup(ctx, parent, name)
	if err != nil {
		return 0, "", nil, typedPaths(err, []string{p})
	}
	if cluster.TrailingSlash(p) && !in.IsDir() {
		return 0, "", nil, &meta.Error{Op: op, Path: p, Err: syscall.ENOTDIR}
	}
	return parent, name, in, nil
}

func (f *fsCmd) mv(ctx context.Context, src, dst string) error {
	sp, sn, s, err := f.entry(ctx, "move", src)
	if err != nil {
		return err
	}
	target := dst
	d, err := f.c.Resolve(ctx, dst)
	if err != nil && !errors.Is(err, syscall.ENOENT) {
		return err
	}
	if err != nil && cluster.TrailingSlash(dst) && !s.IsDir() {
		// DST/ names a directory (a file there, Resolve refuses:
		// ENOTDIR): no entry for a file to become is not one (mv: "Not a
		// directory"); a directory may be renamed to a new name written
		// with the slash, as rename(2) allows.
		return &meta.Error{Op: "move", Path: src + " -> " + dst, Err: syscall.ENOTDIR}
	}
	if err == nil && d.IsDir() {
		// Into the directory, as mv moves; unless the source is that
		// directory (mv /a/b /a/b/) or the destination names its own
		// entry (mv /a/b /a/b, a file or a directory).
		if d.Ino == s.Ino {
			if s.IsDir() {
				return &meta.Error{Op: "move", Path: src + " -> " + dst, Err: fmt.Errorf("cannot move a directory into itself: %w", syscall.EINVAL)}
			}
		} else {
			target = path.Join(dst, sn)
		}
	}
	dp, dn, err := f.c.ResolveParent(ctx, target)
	if err != nil {
		return err
	}
	if t, err := f.c.Lookup(ctx, dp, dn); err == nil && t.Ino == s.Ino {
		return &meta.Error{Op: "move", Path: src + " -> " + target, Err: fmt.Errorf("the same file: %w", syscall.EINVAL)}
	}
	if err := f.c.Rename(ctx, sp, sn, dp, dn, 0); err != nil {
		var me *meta.Error
		if errors.As(err, &me) {
			return &meta.Error{Op: "move", Path: src + " -> " + target, Err: me.Err}
		}
		return err
	}
	return nil
}

func (f *fsCmd) du(ctx context.Context, p string, hum bool) error {
	in, err := f.c.Lresolve(ctx, p)
	if err != nil {
		return err
	}
	u, err := f.c.Du(ctx, in.Ino)
	if err != nil {
		return err
	}
	size := fmt.Sprint(u.Bytes)
	if hum {
		size = human(u.Bytes)
	}
	fmt.Fprintf(f.e.Stdout, "%s\t%d files\t%d dirs\t%s\n", size, u.Files, u.Dirs, p)
	return nil
}
