package meta_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/cluster/embedded"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"github.com/carrot-project/carrot/internal/meta"
	clientv3 "go.etcd.io/etcd/client/v3"
)

var (
	etcdCli  *clientv3.Client
	etcdConf *clusterconf.File
)

// TestMain runs one real embedded etcd for the package.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meta-etcd")
	if err != nil {
		panic(err)
	}
	e, conf, err := embedded.StartEtcdConf(context.Background(), dir)
	if err != nil {
		panic(err)
	}
	etcdConf = conf
	etcdCli, err = conf.DialEtcd(context.Background())
	if err != nil {
		panic(err)
	}
	code := m.Run()
	etcdCli.Close()
	e.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

var nsCount atomic.Int64

// newFS returns a fresh namespace (its own prefix) on the shared etcd.
func newFS(t *testing.T) *meta.FS {
	t.Helper()
	f := meta.New(etcdCli, fmt.Sprintf("/test-%s-%d/", t.Name(), nsCount.Add(1)))
	if err := f.Init(ctx(t)); err != nil {
		t.Fatal(err)
	}
	return f
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func wantErrno(t *testing.T, err error, want syscall.Errno) {
	t.Helper()
	var got syscall.Errno
	if !errors.As(err, &got) || got != want {
		t.Fatalf("err = %v, want errno %v", err, want)
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestOperations(t *testing.T) {
	f := newFS(t)
	c := ctx(t)
	root := meta.RootIno
	d, err := f.Mkdir(c, root, "d", 0o750, 1, 2)
	mustNil(t, err)
	if !d.IsDir() || d.Mode&0o777 != 0o750 || d.Uid != 1 {
		t.Fatalf("mkdir %+v", d)
	}
	_, err = f.Mkdir(c, root, "d", 0o750, 0, 0)
	wantErrno(t, err, syscall.EEXIST)
	a, err := f.Create(c, d.Ino, "a", meta.CreateOptions{Mode: 0o644, Content: &meta.Content{Size: 3, Inline: []byte("abc")}})
	mustNil(t, err)
	if !a.IsReg() || a.Version != 1 || a.Size != 3 {
		t.Fatalf("create %+v", a)
	}
	got, err := f.Lookup(c, d.Ino, "a")
	mustNil(t, err)
	if got.Ino != a.Ino || string(got.Inline) != "abc" {
		t.Fatalf("lookup %+v", got)
	}
	_, err = f.Lookup(c, d.Ino, "nope")
	wantErrno(t, err, syscall.ENOENT)
	_, err = f.Lookup(c, a.Ino, "x")
	wantErrno(t, err, syscall.ENOTDIR)
	_, err = f.Create(c, a.Ino, "x", meta.CreateOptions{})
	wantErrno(t, err, syscall.ENOTDIR)
	_, err = f.Create(c, 12345, "x", meta.CreateOptions{})
	wantErrno(t, err, syscall.ENOENT)
	for _, bad := range []string{"", ".", "..", "a/b", "a\x00"} {
		_, err = f.Create(c, root, bad, meta.CreateOptions{})
		wantErrno(t, err, syscall.EINVAL)
	}
	_, err = f.Create(c, root, string(make([]byte, 256)), meta.CreateOptions{})
	wantErrno(t, err, syscall.EINVAL) // NULs
	long := fmt.Sprintf("%0256d", 0)
	_, err = f.Create(c, root, long, meta.CreateOptions{})
	wantErrno(t, err, syscall.ENAMETOOLONG)

	// Symlinks.
	s, err := f.Symlink(c, d.Ino, "s", "a", 0, 0)
	mustNil(t, err)
	if tgt, err := f.Readlink(c, s.Ino); err != nil || tgt != "a" {
		t.Fatalf("readlink %q %v", tgt, err)
	}
	_, err = f.Readlink(c, a.Ino)
	wantErrno(t, err, syscall.EINVAL)

	// Hard links.
	l, err := f.Link(c, a.Ino, root, "hard")
	mustNil(t, err)
	if l.Nlink != 2 {
		t.Fatalf("nlink %d", l.Nlink)
	}
	_, err = f.Link(c, d.Ino, root, "dirlink")
	wantErrno(t, err, syscall.EPERM)
	_, err = f.Link(c, a.Ino, root, "hard")
	wantErrno(t, err, syscall.EEXIST)
	mustNil(t, f.Unlink(c, d.Ino, "a"))
	got, err = f.Lookup(c, root, "hard")
	mustNil(t, err)
	if got.Nlink != 1 || string(got.Inline) != "abc" {
		t.Fatalf("after unlink of one link: %+v", got)
	}
	mustNil(t, f.Unlink(c, root, "hard"))
	_, err = f.Get(c, a.Ino)
	wantErrno(t, err, syscall.ENOENT)

	// Unlink / rmdir errors.
	wantErrno(t, f.Unlink(c, root, "d"), syscall.EISDIR)
	wantErrno(t, f.Rmdir(c, d.Ino, "s"), syscall.ENOTDIR)
	wantErrno(t, f.Rmdir(c, root, "d"), syscall.ENOTEMPTY)
	wantErrno(t, f.Unlink(c, root, "nope"), syscall.ENOENT)
	mustNil(t, f.Unlink(c, d.Ino, "s"))
	mustNil(t, f.Rmdir(c, root, "d"))
	_, err = f.Lookup(c, root, "d")
	wantErrno(t, err, syscall.ENOENT)

	// Setattr.
	b, err := f.Create(c, root, "b", meta.CreateOptions{Mode: 0o600})
	mustNil(t, err)
	mode, uid := uint32(0o4755), uint32(7)
	mt := time.Unix(1000, 5)
	b2, err := f.Setattr(c, b.Ino, meta.SetAttr{Mode: &mode, Uid: &uid, Mtime: &mt})
	mustNil(t, err)
	if b2.Mode != meta.S_IFREG|0o4755 || b2.Uid != 7 || !b2.Mtime.Equal(mt) || b2.Version != 1 {
		t.Fatalf("setattr %+v", b2)
	}
}

func TestReaddirPaged(t *testing.T) {
	f := newFS(t)
	c := ctx(t)
	d, err := f.Mkdir(c, meta.RootIno, "big", 0o755, 0, 0)
	mustNil(t, err)
	var want []string
	for i := range 250 {
		n := fmt.Sprintf("f%04d", i)
		want = append(want, n)
		_, err := f.Create(c, d.Ino, n, meta.CreateOptions{Mode: 0o644})
		mustNil(t, err)
	}
	_, err = f.Mkdir(c, d.Ino, "zdir", 0o755, 0, 0)
	mustNil(t, err)
	want = append(want, "zdir")
	var got []string
	after := ""
	for pages := 0; pages < 100; pages++ {
		ents, err := f.Readdir(c, d.Ino, after, 64)
		mustNil(t, err)
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			got = append(got, e.Name)
		}
		after = ents[len(ents)-1].Name
		if ents[len(ents)-1].Name == "zdir" && ents[len(ents)-1].Type != meta.S_IFDIR {
			t.Fatal("type of zdir")
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("readdir: %d names, want %d", len(got), len(want))
	}
	f2, err := f.Lookup(c, d.Ino, "f0000")
	mustNil(t, err)
	_, err = f.Readdir(c, f2.Ino, "", 10)
	wantErrno(t, err, syscall.ENOTDIR)
	_, err = f.Readdir(c, 999, "", 10)
	wantErrno(t, err, syscall.ENOENT)
}

func TestRename(t *testing.T) {
	f := newFS(t)
	c := ctx(t)
	r := meta.RootIno
	a, _ := f.Mkdir(c, r, "a", 0o755, 0, 0)
	b, _ := f.Mkdir(c, a.Ino, "b", 0o755, 0, 0)
	x, _ := f.Create(c, b.Ino, "x", meta.CreateOptions{Content: &meta.Content{Size: 1, Inline: []byte("x")}})
	// O(1) directory rename: the file under it keeps its inode.
	mustNil(t, f.Rename(c, r, "a", r, "a2", 0))
	a2, err := f.Lookup(c, r, "a2")
	mustNil(t, err)
	if a2.Ino != a.Ino {
		t.Fatal("directory inode changed")
	}
	bb, _ := f.Lookup(c, a2.Ino, "b")
	xx, err := f.Lookup(c, bb.Ino, "x")
	mustNil(t, err)
	if xx.Ino != x.Ino {
		t.Fatal("file moved")
	}
	// Into its own subtree: EINVAL.
	wantErrno(t, f.Rename(c, r, "a2", b.Ino, "loop", 0), syscall.EINVAL)
	wantErrno(t, f.Rename(c, r, "a2", a.Ino, "self", 0), syscall.EINVAL)
	// Over an existing file.
	y, _ := f.Create(c, r, "y", meta.CreateOptions{})
	mustNil(t, f.Rename(c, b.Ino, "x", r, "y", 0))
	got, _ := f.Lookup(c, r, "y")
	if got.Ino != x.Ino {
		t.Fatal("rename over file did not replace")
	}
	_, err = f.Get(c, y.Ino)
	wantErrno(t, err, syscall.ENOENT)
	// Kinds mismatch.
	e, _ := f.Mkdir(c, r, "e", 0o755, 0, 0)
	wantErrno(t, f.Rename(c, r, "y", r, "e", 0), syscall.EISDIR)
	wantErrno(t, f.Rename(c, r, "e", r, "y", 0), syscall.ENOTDIR)
	// Directory over an empty directory, then over a non-empty one.
	mustNil(t, f.Rename(c, r, "e", a.Ino, "b", 0)) // b is empty now
	if got, _ := f.Lookup(c, a.Ino, "b"); got.Ino != e.Ino {
		t.Fatal("dir over empty dir")
	}
	e2, _ := f.Lookup(c, a.Ino, "b")
	if e2.Parent != a.Ino {
		t.Fatalf("parent pointer %d, want %d", e2.Parent, a.Ino)
	}
	f.Create(c, e.Ino, "inside", meta.CreateOptions{})
	f.Mkdir(c, r, "m", 0o755, 0, 0)
	wantErrno(t, f.Rename(c, r, "m", a.Ino, "b", 0), syscall.ENOTEMPTY)
	wantErrno(t, f.Rename(c, r, "m", r, "a2", meta.RenameNoReplace), syscall.EEXIST)
	wantErrno(t, f.Rename(c, r, "missing", r, "z", 0), syscall.ENOENT)
	mustNil(t, f.Rename(c, r, "m", r, "m", 0))
}

// TestConcurrentCommit: writers racing on one base version; exactly one
// wins, every loser gets ErrConflict (ESTALE), the file holds the winner.
func TestConcurrentCommit(t *testing.T) {
	f := newFS(t)
	c := ctx(t)
	in, err := f.Create(c, meta.RootIno, "f", meta.CreateOptions{})
	mustNil(t, err)
	const writers = 8
	var wg sync.WaitGroup
	var wins atomic.Int32
	winner := make(chan string, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := fmt.Sprintf("writer %d", i)
			_, err := f.Commit(c, in.Ino, in.Version, meta.Content{Size: uint64(len(data)), Inline: []byte(data)})
			if err == nil {
				wins.Add(1)
				winner <- data
				return
			}
			if !errors.Is(err, meta.ErrConflict) || !errors.Is(err, syscall.ESTALE) {
				t.Errorf("loser got %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d winners", wins.Load())
	}
	got, _ := f.GetFresh(c, in.Ino)
	if w := <-winner; string(got.Inline) != w || got.Version != 2 {
		t.Fatalf("file holds %q v%d, winner wrote %q", got.Inline, got.Version, w)
	}
	_, err = f.Commit(c, in.Ino, 2, meta.Content{Size: 5, Inline: []byte("x")})
	wantErrno(t, err, syscall.EINVAL) // size does not add up
}

// TestRenameRaces: many goroutines rename directories into each other;
// afterwards every directory is reachable from the root exactly once and
// parent pointers agree with entries (no cycle, no orphan).
func TestRenameRaces(t *testing.T) {
	f := newFS(t)
	c := ctx(t)
	const n = 6
	inos := map[uint64]string{}
	for i := range n {
		d, err := f.Mkdir(c, meta.RootIno, fmt.Sprintf("d%d", i), 0o755, 0, 0)
		mustNil(t, err)
		inos[d.Ino] = d.Target
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 40 {
				i, j := (w+k)%n, (w*3+k*5+1)%n
				if i == j {
					continue
				}
				src, dst := fmt.Sprintf("d%d", i), fmt.Sprintf("d%d", j)
				// Find both wherever they are now.
				sp, _, err1 := find(c, f, src)
				_, dino, err2 := find(c, f, dst)
				if err1 != nil || err2 != nil {
					continue
				}
				err := f.Rename(c, sp, src, dino, src, 0)
				if err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
					t.Errorf("rename: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	// Walk the tree: every directory exactly once, parents consistent.
	seen := map[uint64]int{}
	var walk func(ino uint64, depth int)
	walk = func(ino uint64, depth int) {
		if depth > n+1 {
			t.Fatal("tree deeper than possible: cycle")
		}
		ents, err := f.Readdir(c, ino, "", 100)
		mustNil(t, err)
		for _, e := range ents {
			seen[e.Ino]++
			in, err := f.GetFresh(c, e.Ino)
			mustNil(t, err)
			if in.Parent != ino {
				t.Errorf("%s: parent %d, entry in %d", e.Name, in.Parent, ino)
			}
			walk(e.Ino, depth+1)
		}
	}
	walk(meta.RootIno, 0)
	if len(seen) != n {
		t.Fatalf("reachable dirs %d, want %d", len(seen), n)
	}
	for ino, k := range seen {
		if k != 1 {
			t.Fatalf("dir %d reachable %d times", ino, k)
		}
	}
}

// find locates directory name anywhere in the tree: its parent and inode.
func find(c context.Context, f *meta.FS, name string) (parent, ino uint64, err error) {
	var walk func(dir uint64, depth int) bool
	walk = func(dir uint64, depth int) bool {
		if depth > 20 {
			return false
		}
		ents, e := f.Readdir(c, dir, "", 100)
		if e != nil {
			return false
		}
		for _, en := range ents {
			if en.Name == name {
				parent, ino = dir, en.Ino
				return true
			}
			if walk(en.Ino, depth+1) {
				return true
			}
		}
		return false
	}
	if !walk(meta.RootIno, 0) {
		return 0, 0, syscall.ENOENT
	}
	return parent, ino, nil
}

// TestCreateVsRmdir: creating inside a directory while it is removed
// never leaves an entry in a deleted directory.
func TestCreateVsRmdir(t *testing.T) {
	f := newFS(t)
	c := ctx(t)
	for round := range 20 {
		d, err := f.Mkdir(c, meta.RootIno, "victim", 0o755, 0, 0)
		mustNil(t, err)
		var wg sync.WaitGroup
		var created, removed error
		wg.Add(2)
		go func() { defer wg.Done(); _, created = f.Create(c, d.Ino, "child", meta.CreateOptions{}) }()
		go func() { defer wg.Done(); removed = f.Rmdir(c, meta.RootIno, "victim") }()
		wg.Wait()
		switch {
		case created == nil && removed == nil:
			t.Fatalf("round %d: both create and rmdir succeeded", round)
		case created == nil:
			wantErrno(t, removed, syscall.ENOTEMPTY)
			mustNil(t, f.Unlink(c, d.Ino, "child"))
			mustNil(t, f.Rmdir(c, meta.RootIno, "victim"))
		default:
			wantErrno(t, created, syscall.ENOENT)
		}
	}
}

func TestWatchAndCache(t *testing.T) {
	f := newFS(t)
	c := ctx(t)
	events, _, err := f.Watch(c)
	mustNil(t, err)
	in, err := f.Create(c, meta.RootIno, "w", meta.CreateOptions{})
	mustNil(t, err)
	got := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for len(got) < 2 {
		select {
		case e := <-events:
			got[fmt.Sprint(e.Ino, e.Name)] = true
		case <-deadline:
			t.Fatalf("events %v", got)
		}
	}
	if !got[fmt.Sprint(in.Ino, "")] || !got[fmt.Sprint(meta.RootIno, "w")] {
		t.Fatalf("events %v", got)
	}

	// A cached client sees another client's change once the watch
	// delivers it, and its own at once.
	cached := meta.New(etcdCli, f.Prefix())
	mustNil(t, cached.EnableCache(c))
	_, err = cached.Lookup(c, meta.RootIno, "later")
	wantErrno(t, err, syscall.ENOENT) // negative entry cached
	other, err := f.Create(c, meta.RootIno, "later", meta.CreateOptions{})
	mustNil(t, err)
	ok := false
	for range 200 {
		if x, err := cached.Lookup(c, meta.RootIno, "later"); err == nil && x.Ino == other.Ino {
			ok = true
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !ok {
		t.Fatal("cache never saw the other client's create")
	}
	mine, err := cached.Create(c, meta.RootIno, "mine", meta.CreateOptions{})
	mustNil(t, err)
	if x, err := cached.Lookup(c, meta.RootIno, "mine"); err != nil || x.Ino != mine.Ino {
		t.Fatalf("own write not visible: %v", err)
	}
	mode := uint32(0o700)
	_, err = cached.Setattr(c, mine.Ino, meta.SetAttr{Mode: &mode})
	mustNil(t, err)
	if x, _ := cached.Get(c, mine.Ino); x.Mode&0o777 != 0o700 {
		t.Fatalf("own setattr not visible: %o", x.Mode)
	}
}

func TestForEachInode(t *testing.T) {
	f := newFS(t)
	c := ctx(t)
	for i := range 30 {
		f.Create(c, meta.RootIno, fmt.Sprint(i), meta.CreateOptions{Content: &meta.Content{Size: 1, Chunks: []meta.Chunk{{ID: "x", Size: 1}}}})
	}
	var inos []uint64
	_, err := f.ForEachInode(c, func(in *meta.Inode) error { inos = append(inos, in.Ino); return nil })
	mustNil(t, err)
	sort.Slice(inos, func(i, j int) bool { return inos[i] < inos[j] })
	if len(inos) != 31 || inos[0] != meta.RootIno {
		t.Fatalf("%d inodes", len(inos))
	}
}

// TestForEachInodeSpans scans in many spans: every inode once, at the
// revision the pass began with (an inode created during it is not seen).
func TestForEachInodeSpans(t *testing.T) {
	defer meta.SetSpanKeys(4)()
	f := newFS(t)
	c := ctx(t)
	want := map[uint64]bool{meta.RootIno: true}
	for i := range 60 {
		var in *meta.Inode
		var err error
		if i%5 == 0 {
			in, err = f.Mkdir(c, meta.RootIno, fmt.Sprint("d", i), 0o755, 0, 0) // a time key too
		} else {
			in, err = f.Create(c, meta.RootIno, fmt.Sprint(i), meta.CreateOptions{})
		}
		mustNil(t, err)
		want[in.Ino] = true
	}
	seen := map[uint64]int{}
	var late *meta.Inode
	rev, err := f.ForEachInode(c, func(in *meta.Inode) error {
		seen[in.Ino]++
		if late == nil {
			var err error
			late, err = f.Create(c, meta.RootIno, "late", meta.CreateOptions{})
			return err
		}
		return nil
	})
	mustNil(t, err)
	for ino, n := range seen {
		if !want[ino] || n != 1 {
			t.Errorf("inode %d seen %d times (made before the pass: %v)", ino, n, want[ino])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d inodes seen, %d made", len(seen), len(want))
	}
	if late.Rev <= rev {
		t.Errorf("pass revision %d, inode made during it at %d", rev, late.Rev)
	}
}

func TestInodeSpans(t *testing.T) {
	defer meta.SetSpanKeys(1000)()
	for _, c := range []struct {
		n     int64
		spans int
	}{{0, 1}, {1000, 1}, {1001, 2}, {8000, 8}, {8001, 9}, {128001, 129}, {1 << 40, 1 << 20}} {
		b := meta.InodeSpans("p/", c.n)
		if len(b)-1 != c.spans {
			t.Errorf("%d keys: %d spans, want %d", c.n, len(b)-1, c.spans)
			continue
		}
		if b[0] != "p/" || b[len(b)-1] != "p0" || !sort.StringsAreSorted(b) {
			t.Errorf("%d keys: bounds %q ... %q, sorted %v", c.n, b[0], b[len(b)-1], sort.StringsAreSorted(b))
		}
		if c.spans == 2 && b[1] != "p/4000000000000000" {
			t.Errorf("2 spans: bound %q", b[1])
		}
	}
}

func TestParams(t *testing.T) {
	p := meta.DefaultParams()
	p.Replicas = 3
	prefix := "/params-test/"
	got, err := meta.InitParams(ctx(t), etcdCli, prefix, p)
	if err != nil || got != p {
		t.Fatalf("%+v %v", got, err)
	}
	q := p
	q.Replicas = 1
	got, _ = meta.InitParams(ctx(t), etcdCli, prefix, q)
	if got.Replicas != 3 {
		t.Fatal("InitParams overwrote")
	}
	q.Replicas = 0
	if _, err := meta.InitParams(ctx(t), etcdCli, "/x/", q); err == nil {
		t.Fatal("bad params accepted")
	}
}

// countingFS is a namespace on its own etcd client whose requests are
// counted.
func countingFS(t *testing.T, prefix string) (*meta.FS, *atomic.Int64) {
	t.Helper()
	cli, err := etcdConf.DialEtcd(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	n := &atomic.Int64{}
	cli.KV = meta.CountRequests(cli.KV, n)
	return meta.New(cli, prefix), n
}

// uniquePrefix is a fresh etcd prefix for a test (repeated with -count).
func uniquePrefix(t *testing.T) string {
	return fmt.Sprintf("/test-%s-%d/", t.Name(), nsCount.Add(1))
}

// TestRenameRoundTrips: a rename within a directory, of a file or a
// directory, is one read and one transaction; a directory moved to another
// directory is too when this client knows the directory and the
// destination's ancestors (they come with the first read), and adds one
// read (the moved inode) when it does not; replacing a file adds the
// replaced inode's read. Results are right either way.
func TestRenameRoundTrips(t *testing.T) {
	prefix := uniquePrefix(t)
	f, n := countingFS(t, prefix)
	c := ctx(t)
	mustNil(t, f.Init(c))
	r := meta.RootIno
	a, err := f.Mkdir(c, r, "a", 0o755, 0, 0)
	mustNil(t, err)
	b, _ := f.Mkdir(c, a.Ino, "b", 0o755, 0, 0)
	d, _ := f.Mkdir(c, b.Ino, "d", 0o755, 0, 0)
	f.Create(c, a.Ino, "file", meta.CreateOptions{})
	f.Create(c, a.Ino, "old", meta.CreateOptions{})
	rt := func(name string, want int64, op func() error) {
		t.Helper()
		before := n.Load()
		mustNil(t, op())
		if got := n.Load() - before; got != want {
			t.Errorf("%s: %d etcd requests, want %d", name, got, want)
		}
	}
	rt("directory within a directory", 2, func() error { return f.Rename(c, b.Ino, "d", b.Ino, "d2", 0) })
	rt("file within a directory", 2, func() error { return f.Rename(c, a.Ino, "file", a.Ino, "file2", 0) })
	rt("file over a file", 3, func() error { return f.Rename(c, a.Ino, "file2", a.Ino, "old", 0) })
	rt("directory to a known directory", 2, func() error { return f.Rename(c, b.Ino, "d2", a.Ino, "d3", 0) })
	rt("directory back", 2, func() error { return f.Rename(c, a.Ino, "d3", b.Ino, "d", 0) })
	// A client that knows nothing walks the ancestors, and gets it right.
	g, gn := countingFS(t, prefix)
	before := gn.Load()
	mustNil(t, g.Rename(c, b.Ino, "d", a.Ino, "d4", 0))
	if got := gn.Load() - before; got < 3 {
		t.Errorf("a client that knows nothing moved a directory in %d etcd requests", got)
	}
	// The first client's guess of what b/d is: stale now (d4 in a) and
	// wrong for a new b/d, still right.
	e, _ := g.Mkdir(c, b.Ino, "d", 0o755, 0, 0)
	rt("directory guessed wrong", 3, func() error { return f.Rename(c, b.Ino, "d", a.Ino, "e", 0) })
	if in, err := f.Lookup(c, a.Ino, "e"); err != nil || in.Ino != e.Ino || in.Parent != a.Ino {
		t.Fatalf("moved with a wrong guess: %+v, %v", in, err)
	}
	wantErrno(t, g.Rename(c, r, "a", b.Ino, "loop", 0), syscall.EINVAL)
	moved, err := f.Lookup(c, a.Ino, "d4")
	mustNil(t, err)
	if moved.Ino != d.Ino || moved.Parent != a.Ino {
		t.Fatalf("moved %+v", moved)
	}
	// The first client's guess about d's parent is now stale: still right.
	wantErrno(t, f.Rename(c, r, "a", moved.Ino, "loop", 0), syscall.EINVAL)
	mustNil(t, f.Rename(c, a.Ino, "d4", r, "top", 0))
	// Over its own parent: ENOTEMPTY, as Linux.
	wantErrno(t, f.Rename(c, b.Ino, "x", a.Ino, "b", 0), syscall.ENOENT)
	f.Mkdir(c, b.Ino, "x", 0o755, 0, 0)
	wantErrno(t, f.Rename(c, b.Ino, "x", a.Ino, "b", 0), syscall.ENOTEMPTY)
}

// TestDirectoryTimes: every entry change moves its directory's mtime and
// ctime forward; an explicit mtime replaces it; concurrent creators in one
// directory never conflict over it (no retries).
func TestDirectoryTimes(t *testing.T) {
	prefix := uniquePrefix(t)
	f, n := countingFS(t, prefix)
	c := ctx(t)
	mustNil(t, f.Init(c))
	r := meta.RootIno
	a, _ := f.Mkdir(c, r, "a", 0o755, 0, 0)
	b, _ := f.Mkdir(c, r, "b", 0o755, 0, 0)
	last := map[uint64]time.Time{}
	mtime := func(ino uint64) time.Time {
		in, err := f.GetFresh(c, ino)
		mustNil(t, err)
		if in.Ctime.Before(in.Mtime) {
			t.Fatalf("ctime %v before mtime %v", in.Ctime, in.Mtime)
		}
		return in.Mtime
	}
	for _, d := range []uint64{r, a.Ino, b.Ino} {
		last[d] = mtime(d)
	}
	step := func(what string, op func() error, changed ...uint64) {
		t.Helper()
		time.Sleep(2 * time.Millisecond)
		mustNil(t, op())
		for _, d := range []uint64{r, a.Ino, b.Ino} {
			m := mtime(d)
			moved := m.After(last[d])
			if moved != slices.Contains(changed, d) {
				t.Errorf("%s: directory %d mtime %v -> %v", what, d, last[d], m)
			}
			last[d] = m
		}
	}
	step("create", func() error { _, err := f.Create(c, a.Ino, "f", meta.CreateOptions{}); return err }, a.Ino)
	step("mkdir", func() error { _, err := f.Mkdir(c, a.Ino, "sub", 0o755, 0, 0); return err }, a.Ino)
	in, _ := f.Lookup(c, a.Ino, "f")
	step("link", func() error { _, err := f.Link(c, in.Ino, b.Ino, "l"); return err }, b.Ino)
	step("rename within", func() error { return f.Rename(c, a.Ino, "f", a.Ino, "g", 0) }, a.Ino)
	step("rename across", func() error { return f.Rename(c, a.Ino, "g", b.Ino, "g", 0) }, a.Ino, b.Ino)
	step("unlink", func() error { return f.Unlink(c, b.Ino, "l") }, b.Ino)
	step("rmdir", func() error { return f.Rmdir(c, a.Ino, "sub") }, a.Ino)
	step("symlink", func() error { _, err := f.Symlink(c, r, "s", "/x", 0, 0); return err }, r)
	step("setattr of a file", func() error {
		m := time.Unix(1, 0)
		_, err := f.Setattr(c, in.Ino, meta.SetAttr{Mtime: &m})
		return err
	})
	// An explicit mtime wins over the last entry change.
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	_, err := f.Setattr(c, a.Ino, meta.SetAttr{Mtime: &old})
	mustNil(t, err)
	if got := mtime(a.Ino); !got.Equal(old) {
		t.Fatalf("explicit mtime: %v", got)
	}
	// Readdir, GetMany and the directory's own entry agree.
	many, err := f.GetMany(c, []uint64{a.Ino, b.Ino})
	mustNil(t, err)
	if !many[0].Mtime.Equal(old) || !many[1].Mtime.Equal(mtime(b.Ino)) {
		t.Fatalf("GetMany %v %v", many[0].Mtime, many[1].Mtime)
	}
	// 32 concurrent creates in one directory: no retry (at most one
	// transaction each; group commit makes it fewer).
	before := n.Load()
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.Create(c, b.Ino, fmt.Sprint("c", i), meta.CreateOptions{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := n.Load() - before; got > 32 {
		t.Fatalf("32 concurrent creates made %d etcd requests", got)
	}
	// Removing a directory removes its time key: nothing is left behind.
	mustNil(t, f.Rmdir(c, r, "a"))
	resp, err := etcdCli.Get(c, fmt.Sprintf("%sfs/i/%016x", prefix, a.Ino), clientv3.WithPrefix())
	mustNil(t, err)
	if len(resp.Kvs) != 0 {
		t.Fatalf("rmdir left %d keys", len(resp.Kvs))
	}
}

// TestGroupCommit: concurrent creates share transactions; a batch with a
// create that must fail (name taken, parent gone) falls back to single
// transactions, and each create gets its own answer.
func TestGroupCommit(t *testing.T) {
	for _, inflight := range []int{1, 3} {
		t.Run(fmt.Sprint(inflight, "-in-flight"), func(t *testing.T) {
			defer meta.SetMaxInflight(inflight)()
			testGroupCommit(t)
		})
	}
}

func testGroupCommit(t *testing.T) {
	f, n := countingFS(t, uniquePrefix(t))
	c := ctx(t)
	mustNil(t, f.Init(c))
	r := meta.RootIno
	d, _ := f.Mkdir(c, r, "d", 0o755, 0, 0)
	gone, _ := f.Mkdir(c, r, "gone", 0o755, 0, 0)
	mustNil(t, f.Rmdir(c, r, "gone"))
	const names = 40
	var wg sync.WaitGroup
	var ok, exist, noent atomic.Int32
	before := n.Load()
	for i := range 3 * names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parent := d.Ino
			if i%3 == 2 {
				parent = gone.Ino // every third create goes to a removed directory
			}
			_, err := f.Create(c, parent, fmt.Sprint("n", i%names), meta.CreateOptions{})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, syscall.EEXIST):
				exist.Add(1)
			case errors.Is(err, syscall.ENOENT):
				noent.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != names || exist.Load()+noent.Load() != 2*names || noent.Load() < names/2 {
		t.Fatalf("ok %d, EEXIST %d, ENOENT %d", ok.Load(), exist.Load(), noent.Load())
	}
	ents, err := f.Readdir(c, d.Ino, "", 0)
	mustNil(t, err)
	if len(ents) != names {
		t.Fatalf("%d entries", len(ents))
	}
	t.Logf("%d creates, %d etcd requests", 3*names, n.Load()-before)
	// Without conflicts the transactions are shared.
	before = n.Load()
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.Create(c, d.Ino, fmt.Sprint("m", i), meta.CreateOptions{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := n.Load() - before; got >= 64 {
		t.Errorf("64 concurrent creates made %d requests: no group commit", got)
	}
	// A cancelled caller gets its error; nothing is stuck after it.
	cc, cancel := context.WithCancel(c)
	cancel()
	if _, err := f.Create(cc, d.Ino, "cancelled", meta.CreateOptions{}); err == nil {
		if _, err := f.Lookup(c, d.Ino, "cancelled"); err != nil {
			t.Fatal("create reported success but the entry is missing")
		}
	}
	if _, err := f.Create(c, d.Ino, "after", meta.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitGathers: creators that create again as soon as their
// batch returns go out together, one transaction per round, rather than
// alternating between nearly all of them and the one or two that missed
// the last batch. The wait is made long here so that a loaded machine
// cannot split a round; what is measured is that the leader waits for the
// returning creates at all.
func TestGroupCommitGathers(t *testing.T) {
	defer meta.SetSiblingWait(50 * time.Millisecond)()
	f, n := countingFS(t, uniquePrefix(t))
	c := ctx(t)
	mustNil(t, f.Init(c))
	d, err := f.Mkdir(c, meta.RootIno, "d", 0o755, 0, 0)
	mustNil(t, err)
	const creators, rounds = 16, 12
	before := n.Load()
	var wg sync.WaitGroup
	for i := range creators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range rounds {
				if _, err := f.Create(c, d.Ino, fmt.Sprint("f", i, "-", j), meta.CreateOptions{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got := n.Load() - before
	t.Logf("%d creates, %d etcd requests", creators*rounds, got)
	// One request per round, and the first create's own; alternating
	// batches would take about twice as many.
	if got > rounds+4 {
		t.Errorf("%d creators making %d files each took %d requests, want at most %d", creators, rounds, got, rounds+4)
	}
	ents, err := f.Readdir(c, d.Ino, "", 0)
	mustNil(t, err)
	if len(ents) != creators*rounds {
		t.Fatalf("%d entries, want %d", len(ents), creators*rounds)
	}
}
