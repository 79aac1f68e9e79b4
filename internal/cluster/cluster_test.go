package cluster_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/chunkstore"
	"github.com/carrot-project/carrot/internal/cluster"
	"github.com/carrot-project/carrot/internal/cluster/embedded"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"github.com/carrot-project/carrot/internal/meta"
)

var (
	testCluster *embedded.Cluster
	client      *cluster.Client
)

// TestMain runs one embedded cluster (real etcd, three real gRPC nodes on
// loopback, R=2) for the package.
func TestMain(m *testing.M) {
	if conf := os.Getenv("CLUSTER_TEST_CREATE_AS_USER"); conf != "" {
		os.Exit(createAsUser(conf))
	}
	dir, err := os.MkdirTemp("", "cluster-test")
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	p := meta.DefaultParams()
	testCluster, err = embedded.Start(ctx, embedded.Options{Dir: dir, Nodes: 3, Params: p})
	if err != nil {
		panic(err)
	}
	client, err = cluster.Dial(ctx, testCluster.Conf, cluster.Options{})
	if err != nil {
		panic(err)
	}
	if err := client.WaitNodes(ctx, 3, 30*time.Second); err != nil {
		panic(err)
	}
	cancel()
	code := m.Run()
	client.Close()
	testCluster.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

func tctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return c
}

// pattern is a seeded pseudo-random byte stream of n bytes (xorshift64*).
type pattern struct {
	state uint64
	left  int64
	buf   [8]byte
	have  int
}

func newPattern(seed uint64, n int64) *pattern { return &pattern{state: seed*2654435761 + 1, left: n} }

func (p *pattern) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n := 0
	for n < len(b) {
		if p.have == 0 {
			p.state ^= p.state >> 12
			p.state ^= p.state << 25
			p.state ^= p.state >> 27
			binary.LittleEndian.PutUint64(p.buf[:], p.state*2685821657736338717)
			p.have = 8
		}
		c := copy(b[n:], p.buf[8-p.have:])
		p.have -= c
		n += c
	}
	p.left -= int64(n)
	return n, nil
}

func patternSum(seed uint64, n int64) [32]byte {
	h := sha256.New()
	io.Copy(h, newPattern(seed, n))
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

// startCluster starts another embedded cluster (real etcd, three real
// nodes) created with params p, and a client of it; both end with the
// test.
func startCluster(t *testing.T, p meta.Params) *cluster.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tc, err := embedded.Start(ctx, embedded.Options{Dir: t.TempDir(), Nodes: 3, Params: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	cl, err := cluster.Dial(ctx, tc.Conf, cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	if err := cl.WaitNodes(ctx, 3, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return cl
}

func TestRoundTrips(t *testing.T) { roundTrips(t, client) }

// roundTrips writes, reads back and overwrites files of the sizes around
// the client's cluster's inline limit and chunk size.
func roundTrips(t *testing.T, client *cluster.Client) {
	c := tctx(t)
	cs := int64(client.Params.ChunkSize)
	inlineMax := int64(client.Params.InlineMax)
	dir, err := client.MkdirAll(c, "/roundtrip", 0o755)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int64{0, 1, inlineMax, inlineMax + 1, cs - 1, cs, cs + 1, 3*cs + 12345, inlineMax + cs + 7, 2*inlineMax + 1}
	for i, n := range sizes {
		name := fmt.Sprintf("f%d-%d", i, n)
		want, _ := io.ReadAll(newPattern(uint64(i), n))
		in, err := client.CreateFile(c, dir.Ino, name, 0o644, bytes.NewReader(want), cluster.WriteOptions{})
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		if in.Size != uint64(n) || (n <= inlineMax) != (len(in.Chunks) == 0) {
			t.Fatalf("size %d: inode %d bytes, %d chunks", n, in.Size, len(in.Chunks))
		}
		if n > inlineMax {
			// Whole chunks, but the last.
			if k := (n + cs - 1) / cs; int64(len(in.Chunks)) != k {
				t.Fatalf("size %d: %d chunks, want %d", n, len(in.Chunks), k)
			}
			for j, ch := range in.Chunks {
				if int64(ch.Size) != min(cs, n-int64(j)*cs) {
					t.Fatalf("size %d: chunk %d holds %d bytes", n, j, ch.Size)
				}
			}
		}
		got, err := client.ReadFile(c, in.Ino)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d: read %d bytes, %v", n, len(got), err)
		}
		// ReadAt across a chunk boundary.
		if n > cs+100 {
			r, _ := client.Open(c, in.Ino, in.Version)
			b := make([]byte, 100)
			if _, err := r.ReadAt(b, cs-50); err != nil || !bytes.Equal(b, want[cs-50:cs+50]) {
				t.Fatalf("readat: %v", err)
			}
		}
		// Overwrite: a new version on top of the old.
		want2 := bytes.Repeat([]byte{byte(i)}, int(n/2))
		in2, err := client.WriteFile(c, in.Ino, in.Version, bytes.NewReader(want2), cluster.WriteOptions{})
		if err != nil || in2.Version != in.Version+1 {
			t.Fatalf("overwrite %d: %v", n, err)
		}
		if got, _ := client.ReadFile(c, in.Ino); !bytes.Equal(got, want2) {
			t.Fatalf("size %d: overwrite reads back wrong", n)
		}
		// A writer on the stale base loses.
		_, err = client.WriteFile(c, in.Ino, in.Version, bytes.NewReader([]byte("late")), cluster.WriteOptions{})
		if !errors.Is(err, meta.ErrConflict) {
			t.Fatalf("stale write: %v", err)
		}
		if _, err := client.Open(c, in.Ino, in.Version); !errors.Is(err, syscall.ESTALE) {
			t.Fatalf("open of old version: %v", err)
		}
	}
}

// TestChunkSizeNotAboveInlineMax: a cluster may have been created with a
// chunk size at or below its inline limit (`carrot up --chunk-size 4096`
// with the default inline limit of 4096). A file past the limit is then
// more than a chunk: writing one panicked (slice bounds out of range).
// Files of every size around the two are written, read back and
// overwritten, and an inline file grown past the limit by a truncate is
// cut into chunks of the chunk size.
func TestChunkSizeNotAboveInlineMax(t *testing.T) {
	for _, inlineMax := range []int{4096, 10000} {
		t.Run(fmt.Sprint("inline-max-", inlineMax), func(t *testing.T) {
			p := meta.DefaultParams()
			p.ChunkSize, p.InlineMax = 4096, inlineMax
			cl := startCluster(t, p)
			roundTrips(t, cl)

			c := tctx(t)
			want, _ := io.ReadAll(newPattern(5, int64(inlineMax)))
			in, err := cl.CreateFile(c, meta.RootIno, "grown", 0o644, bytes.NewReader(want), cluster.WriteOptions{})
			if err != nil || len(in.Inline) != inlineMax {
				t.Fatalf("inline file: %v, %d bytes inline", err, len(in.Inline))
			}
			size := 3*inlineMax + 1
			if in, err = cl.Truncate(c, in.Ino, in.Version, uint64(size)); err != nil {
				t.Fatal(err)
			}
			for i, ch := range in.Chunks {
				if int(ch.Size) > p.ChunkSize {
					t.Fatalf("after the truncate, chunk %d holds %d bytes, more than the chunk size", i, ch.Size)
				}
			}
			got, err := cl.ReadFile(c, in.Ino)
			if err != nil || !bytes.Equal(got, append(want, make([]byte, size-inlineMax)...)) {
				t.Fatalf("after the truncate: %d bytes, %v", len(got), err)
			}
		})
	}
}

// TestLongUploadOfRepeatedChunks: an upload that lasts past a pin renewal
// pins its chunks, and a file of repeated content holds the same chunk
// many times. Pinning each occurrence put one etcd key twice in a
// transaction, which etcd refuses, so every renewal failed until the
// upload was given up (EIO: its chunks went unpinned for half the grace):
// `carrot fs put` of zeros written slowly failed where random data
// succeeded. Here the grace is 2 s (a pin every 0.5 s, given up after 1 s
// unpinned) and the upload lasts some 2.5 s.
func TestLongUploadOfRepeatedChunks(t *testing.T) {
	p := meta.DefaultParams()
	p.ChunkSize = 64 << 10
	p.GCGrace = 2 * time.Second
	cl := startCluster(t, p)
	c := tctx(t)
	zero := make([]byte, p.ChunkSize)
	zeroID := chunkstore.ID(zero)
	other, _ := io.ReadAll(newPattern(11, int64(p.ChunkSize)))
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	var in *meta.Inode
	go func() {
		var err error
		in, err = cl.CreateFile(c, meta.RootIno, "zeros", 0o644, pr, cluster.WriteOptions{})
		pr.CloseWithError(errors.New("the upload has returned")) // the writer's next write fails
		done <- err
	}()
	var want bytes.Buffer
	pinned := false // seen the zero chunk pinned while the upload went on
	for i := range 40 {
		data := zero
		if i%10 == 9 {
			data = other
		}
		if _, err := pw.Write(data); err != nil {
			break
		}
		want.Write(data)
		time.Sleep(60 * time.Millisecond)
		if !pinned {
			ids, err := cl.FS.Pinned(c)
			if err != nil {
				t.Fatal(err)
			}
			pinned = ids[zeroID]
		}
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("upload of repeated chunks: %v", err)
	}
	if !pinned {
		t.Fatal("the upload never pinned its chunks: it did not last past a renewal")
	}
	if got, err := cl.ReadFile(c, in.Ino); err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("read back %d of %d bytes: %v", len(got), want.Len(), err)
	}
	if ids, err := cl.FS.Pinned(c); err != nil || len(ids) != 0 {
		t.Fatalf("after the commit, pins left: %v %v", ids, err)
	}
}

// TestOwner: what a client creates belongs to its owner, by default the
// process's user and group. Files and directories were recorded as root's
// (uid and gid 0) whoever made them.
func TestOwner(t *testing.T) {
	c := tctx(t)
	me := cluster.Owner{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())}
	someone := cluster.Owner{Uid: 1234, Gid: 5678}
	other, err := cluster.Dial(c, testCluster.Conf, cluster.Options{Owner: &someone})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for _, tc := range []struct {
		cl   *cluster.Client
		want cluster.Owner
	}{{client, me}, {other, someone}} {
		if got := tc.cl.Owner(); got != tc.want {
			t.Fatalf("client's owner %+v, want %+v", got, tc.want)
		}
		dir := fmt.Sprintf("/owned-%d", tc.want.Uid)
		check := func(what string, in *meta.Inode, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if in.Uid != tc.want.Uid || in.Gid != tc.want.Gid {
				t.Errorf("%s: owned by %d:%d, want %d:%d", what, in.Uid, in.Gid, tc.want.Uid, tc.want.Gid)
			}
		}
		d, err := tc.cl.MkdirAll(c, dir+"/sub", 0o755)
		check("mkdir -p", d, err)
		parent, err := tc.cl.Resolve(c, dir)
		check("mkdir -p's parent", parent, err)
		in, err := tc.cl.MkdirIn(c, d.Ino, "in", 0o755)
		check("mkdir in", in, err)
		in, err = tc.cl.CreateFile(c, d.Ino, "small", 0o644, bytes.NewReader([]byte("hi")), cluster.WriteOptions{})
		check("create inline", in, err)
		in, err = tc.cl.CreateFile(c, d.Ino, "chunked", 0o644, newPattern(1, int64(tc.cl.Params.InlineMax)+1), cluster.WriteOptions{})
		check("create chunked", in, err)
		in, err = tc.cl.ReplaceFile(c, d.Ino, "put", 0, 0o644, bytes.NewReader([]byte("hi")), cluster.WriteOptions{})
		check("put", in, err)
		if err := tc.cl.RemoveAll(c, meta.RootIno, dir[1:]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOwnerIsTheUser: files and directories a user other than root makes,
// with a client's default owner, are that user's (they were root's). The
// test binary runs itself as uid 65534 (see createAsUser).
func TestOwnerIsTheUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	open, err := os.MkdirTemp("", "cluster-owner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(open) })
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(open, "cluster.test")
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	// The user's own config: etcd over TLS, not carrot up's KV socket
	// (which serves only its own user and root).
	conf := *testCluster.Conf
	conf.KVSocket = ""
	confPath := filepath.Join(open, "carrot.toml")
	if err := conf.Save(confPath); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(confPath, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	c := tctx(t)
	cmd := exec.CommandContext(c, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "CLUSTER_TEST_CREATE_AS_USER="+confPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("as uid 65534: %v\n%s", err, out)
	}
	t.Cleanup(func() { client.RemoveAll(context.Background(), meta.RootIno, "by-user") })
	for _, p := range []string{"/by-user", "/by-user/d", "/by-user/d/f", "/by-user/d/put"} {
		in, err := client.Lresolve(c, p)
		if err != nil {
			t.Fatal(err)
		}
		if in.Uid != 65534 || in.Gid != 65534 {
			t.Errorf("%s: owned by %d:%d, want its maker 65534:65534", p, in.Uid, in.Gid)
		}
	}
}

// createAsUser is the test binary run as another user by
// TestOwnerIsTheUser: with the config at confPath, it makes a directory
// (mkdir -p), a file of chunks and a file by put (ReplaceFile).
func createAsUser(confPath string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conf, err := clusterconf.Load(confPath)
	if err != nil {
		return fail(err)
	}
	cl, err := cluster.Dial(ctx, conf, cluster.Options{})
	if err != nil {
		return fail(err)
	}
	defer cl.Close()
	d, err := cl.MkdirAll(ctx, "/by-user/d", 0o755)
	if err != nil {
		return fail(err)
	}
	if _, err := cl.CreateFile(ctx, d.Ino, "f", 0o644, newPattern(1, int64(cl.Params.InlineMax)+1), cluster.WriteOptions{}); err != nil {
		return fail(err)
	}
	if _, err := cl.ReplaceFile(ctx, d.Ino, "put", 0, 0o644, bytes.NewReader([]byte("hi")), cluster.WriteOptions{}); err != nil {
		return fail(err)
	}
	return 0
}

// TestLargeRoundTrip streams a multi-GiB seeded pattern through the
// cluster and compares streaming hashes (a smaller file under -short).
func TestLargeRoundTrip(t *testing.T) {
	c := tctx(t)
	n := int64(2<<30 + 777)
	if testing.Short() {
		n = 64<<20 + 777
	}
	var done atomic.Int64
	start := time.Now()
	in, err := client.CreateFile(c, meta.RootIno, "large", 0o644, newPattern(42, n), cluster.WriteOptions{Progress: func(k int64) { done.Add(k) }})
	if err != nil {
		t.Fatal(err)
	}
	if done.Load() != n {
		t.Fatalf("progress reported %d of %d bytes", done.Load(), n)
	}
	wrote := time.Since(start)
	r, err := client.Open(c, in.Ino, in.Version)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	start = time.Now()
	if k, err := r.WriteTo(h); err != nil || k != n {
		t.Fatalf("read %d of %d: %v", k, n, err)
	}
	t.Logf("%d MiB: write %v, read %v", n>>20, wrote, time.Since(start))
	var got [32]byte
	copy(got[:], h.Sum(nil))
	if got != patternSum(42, n) {
		t.Fatal("content differs")
	}
	if err := client.Unlink(c, meta.RootIno, "large"); err != nil {
		t.Fatal(err)
	}
}

func TestTruncate(t *testing.T) {
	c := tctx(t)
	cs := int64(client.Params.ChunkSize)
	data, _ := io.ReadAll(newPattern(7, 2*cs+100))
	in, err := client.CreateFile(c, meta.RootIno, "trunc", 0o644, bytes.NewReader(data), cluster.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(size int64, want []byte) {
		t.Helper()
		in2, err := client.Truncate(c, in.Ino, in.Version, uint64(size))
		if err != nil {
			t.Fatalf("truncate %d: %v", size, err)
		}
		in = in2
		got, err := client.ReadFile(c, in.Ino)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("truncate %d: got %d bytes, %v", size, len(got), err)
		}
	}
	check(cs+10, data[:cs+10])                                                         // cut inside a chunk
	check(cs+10+cs, append(append([]byte(nil), data[:cs+10]...), make([]byte, cs)...)) // extend with a hole
	check(100, data[:100])                                                             // down to inline
	check(5000, append(append([]byte(nil), data[:100]...), make([]byte, 4900)...))
	check(0, nil)
}

func TestPathsAndErrnos(t *testing.T) {
	c := tctx(t)
	if _, err := client.MkdirAll(c, "/p/q/r", 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateFile(c, mustIno(t, "/p/q"), "file", 0o600, bytes.NewReader([]byte("hi")), cluster.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := client.Resolve(c, "/p/q/file/x")
	var errno syscall.Errno
	if !errors.As(err, &errno) || errno != syscall.ENOTDIR {
		t.Fatalf("through a file: %v", err)
	}
	if _, err := client.Resolve(c, "/p/nope"); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := client.CreateFile(c, mustIno(t, "/p/q"), "file", 0o600, bytes.NewReader(nil), cluster.WriteOptions{}); !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("exists: %v", err)
	}
	u, err := client.Du(c, mustIno(t, "/p"))
	if err != nil || u.Files != 1 || u.Dirs != 3 || u.Bytes != 2 {
		t.Fatalf("du %+v %v", u, err)
	}
	if err := client.RemoveAll(c, meta.RootIno, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Resolve(c, "/p"); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("after rm -r: %v", err)
	}
}

// TestReplaceFileLastWriterWins: a writer whose upload is still going when
// another creates the file, or commits a version over it, writes over
// that (as the last cp wins), where CreateFile and WriteFile report the
// race (EEXIST, ESTALE).
func TestReplaceFileLastWriterWins(t *testing.T) {
	c := tctx(t)
	dir, err := client.MkdirAll(c, "/lww", 0o755)
	if err != nil {
		t.Fatal(err)
	}
	slow := func(ino uint64, data []byte) (release func(), done chan error) {
		pr, pw := io.Pipe()
		done = make(chan error, 1)
		go func() {
			_, err := client.ReplaceFile(c, dir.Ino, "f", ino, 0o644, pr, cluster.WriteOptions{})
			done <- err
		}()
		pw.Write(data[:10]) // the upload has begun
		return func() { pw.Write(data[10:]); pw.Close() }, done
	}
	a, b, d := bytes.Repeat([]byte("a"), 5000), bytes.Repeat([]byte("b"), 5000), bytes.Repeat([]byte("d"), 5000)
	// Both create: the one still uploading finds the other's file.
	release, done := slow(0, a)
	if _, err := client.ReplaceFile(c, dir.Ino, "f", 0, 0o644, bytes.NewReader(b), cluster.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("the slower creator: %v", err)
	}
	in := mustInode(t, "/lww/f")
	if got, _ := client.ReadFile(c, in.Ino); !bytes.Equal(got, a) || in.Version != 2 {
		t.Fatalf("version %d holds %.10q, want the last writer's, version 2", in.Version, got)
	}
	// Both write over it: the slower one goes on top of the other's.
	release, done = slow(in.Ino, d)
	if _, err := client.ReplaceFile(c, 0, "", in.Ino, 0, bytes.NewReader(b), cluster.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("the slower writer: %v", err)
	}
	in = mustInode(t, "/lww/f")
	if got, _ := client.ReadFile(c, in.Ino); !bytes.Equal(got, d) || in.Version != 4 {
		t.Fatalf("version %d holds %.10q, want the last writer's, version 4", in.Version, got)
	}
	// A directory by that name is not written over.
	if _, err := client.ReplaceFile(c, meta.RootIno, "lww", 0, 0o644, bytes.NewReader(a), cluster.WriteOptions{}); !errors.Is(err, syscall.EISDIR) {
		t.Fatalf("over a directory: %v", err)
	}
	if err := client.RemoveAll(c, meta.RootIno, "lww"); err != nil {
		t.Fatal(err)
	}
}

// TestPathResolution: ".", ".." and symbolic links are resolved name by
// name, as the kernel resolves them, and a trailing slash asks for a
// directory.
func TestPathResolution(t *testing.T) {
	c := tctx(t)
	if _, err := client.MkdirAll(c, "/r/d/e", 0o755); err != nil {
		t.Fatal(err)
	}
	d := mustIno(t, "/r/d")
	if _, err := client.CreateFile(c, d, "f", 0o644, bytes.NewReader([]byte("hi")), cluster.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"rel": "d/f", "abs": "/r/d", "up": "../r/d/e", "dang": "nope", "loop": "loop", "fslash": "d/f/"} {
		if _, err := client.FS.Symlink(c, mustIno(t, "/r"), name, target, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	ino := func(p string) uint64 { return mustIno(t, p) }
	for _, tc := range []struct {
		p      string
		follow bool
		want   uint64 // 0: want errno
		errno  syscall.Errno
	}{
		{"/r/d/..", true, ino("/r"), 0},
		{"/r/d/./e/../../d", true, d, 0},
		{"/..", true, meta.RootIno, 0},
		{"/r/d/f/..", true, 0, syscall.ENOTDIR},
		{"/r/nope/..", true, 0, syscall.ENOENT},
		{"/r/d/f/", true, 0, syscall.ENOTDIR},
		{"/r/d/", true, d, 0},
		{"/r/rel", true, ino("/r/d/f"), 0},
		{"/r/abs/f", false, ino("/r/d/f"), 0},
		{"/r/abs/", false, d, 0}, // the slash follows the last link
		{"/r/up", true, ino("/r/d/e"), 0},
		{"/r/up/../f", true, ino("/r/d/f"), 0}, // ".." of where the link led
		{"/r/dang", true, 0, syscall.ENOENT},
		{"/r/loop", true, 0, syscall.ELOOP},
		{"/r/loop/x", false, 0, syscall.ELOOP},
		{"/r/fslash", true, 0, syscall.ENOTDIR},
	} {
		resolve := client.Lresolve
		if tc.follow {
			resolve = client.Resolve
		}
		in, err := resolve(c, tc.p)
		switch {
		case tc.want != 0 && (err != nil || in.Ino != tc.want):
			t.Errorf("%s (follow %v): %v %v, want inode %d", tc.p, tc.follow, in, err, tc.want)
		case tc.want == 0 && !errors.Is(err, tc.errno):
			t.Errorf("%s (follow %v): %v, want %v", tc.p, tc.follow, err, tc.errno)
		}
	}
	// Not followed: the last name's link itself.
	for _, p := range []string{"/r/rel", "/r/dang", "/r/loop"} {
		if in, err := client.Lresolve(c, p); err != nil || !in.IsSymlink() {
			t.Errorf("lresolve %s: %v %v", p, in, err)
		}
	}
	// mkdir -p resolves the same way: through a link, and "..".
	if in, err := client.MkdirAll(c, "/r/abs/new/deeper", 0o755); err != nil || in.Ino != ino("/r/d/new/deeper") {
		t.Errorf("mkdir -p through a link: %v %v", in, err)
	}
	if _, err := client.MkdirAll(c, "/r/d/e/../e2", 0o755); err != nil || ino("/r/d/e2") == 0 {
		t.Errorf("mkdir -p with ..: %v", err)
	}
	if _, err := client.MkdirAll(c, "/r/d/f/g", 0o755); !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("mkdir -p under a file: %v", err)
	}
	if _, err := client.MkdirAll(c, "/r/dang", 0o755); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("mkdir -p of a dangling link: %v", err)
	}
	// The parent of a path: its links followed, its last name kept.
	if dir, name, err := client.ResolveParent(c, "/r/abs/x"); err != nil || dir != d || name != "x" {
		t.Errorf("parent of /r/abs/x: %d %q %v", dir, name, err)
	}
	for p, errno := range map[string]syscall.Errno{"/": syscall.EBUSY, "/r/d/..": syscall.EINVAL, "/r/.": syscall.EINVAL, "/r/d/f/x": syscall.ENOTDIR} {
		if _, _, err := client.ResolveParent(c, p); !errors.Is(err, errno) {
			t.Errorf("parent of %s: %v, want %v", p, err, errno)
		}
	}
	if err := client.RemoveAll(c, meta.RootIno, "r"); err != nil {
		t.Fatal(err)
	}
}

// TestLargeDirectory lists a directory across pages of growing size (every
// entry once, in name order), counts it (du) and removes it with
// everything in it.
func TestLargeDirectory(t *testing.T) {
	c := tctx(t)
	d, err := client.MkdirAll(c, "/many", 0o755)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3100 // pages of 1,000, 2,000 and 4,000 (100 in it)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 16 {
				if _, err := client.CreateFile(c, d.Ino, fmt.Sprintf("f%05d", i), 0o644, bytes.NewReader(nil), cluster.WriteOptions{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	before := client.EtcdRPCs.Load()
	ents, err := client.ReaddirAll(c, d.Ino)
	if err != nil {
		t.Fatal(err)
	}
	if pages := client.EtcdRPCs.Load() - before; pages != 3 {
		t.Errorf("%d requests for %d entries, want 3 (pages of 1,000, 2,000, 4,000)", pages, n)
	}
	if len(ents) != n {
		t.Fatalf("%d entries, want %d", len(ents), n)
	}
	for i, e := range ents {
		if want := fmt.Sprintf("f%05d", i); e.Name != want {
			t.Fatalf("entry %d is %q, want %q", i, e.Name, want)
		}
	}
	sub, err := client.MkdirAll(c, "/many/sub/deeper", 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateFile(c, sub.Ino, "last", 0o644, bytes.NewReader([]byte("x")), cluster.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// A second link to a file is counted once.
	if _, err := client.FS.Link(c, ents[7].Ino, sub.Ino, "again"); err != nil {
		t.Fatal(err)
	}
	if u, err := client.Du(c, d.Ino); err != nil || u.Files != n+1 || u.Dirs != 3 || u.Bytes != 1 {
		t.Fatalf("du: %+v, %v", u, err)
	}
	if err := client.RemoveAll(c, meta.RootIno, "many"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Resolve(c, "/many"); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("after rm -r: %v", err)
	}
	for _, ino := range []uint64{d.Ino, sub.Ino, ents[0].Ino, ents[n-1].Ino} {
		if _, err := client.FS.Get(c, ino); !errors.Is(err, syscall.ENOENT) {
			t.Fatalf("inode %d after rm -r: %v", ino, err)
		}
	}
}

// mustInode returns the inode at p as etcd holds it now.
func mustInode(t *testing.T, p string) *meta.Inode {
	in, err := client.FS.GetFresh(tctx(t), mustIno(t, p))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func mustIno(t *testing.T, p string) uint64 {
	in, err := client.Resolve(tctx(t), p)
	if err != nil {
		t.Fatal(err)
	}
	return in.Ino
}

// TestConcurrentWriters: two clients write the same file from the same
// base version at once; one wins, the other gets ESTALE, the file holds
// exactly the winner's bytes.
func TestConcurrentWriters(t *testing.T) {
	c := tctx(t)
	other, err := cluster.Dial(c, testCluster.Conf, cluster.Options{Cache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for round := range 5 {
		name := fmt.Sprintf("contended%d", round)
		in, err := client.CreateFile(c, meta.RootIno, name, 0o644, bytes.NewReader(nil), cluster.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		datas := [][]byte{bytes.Repeat([]byte{'a'}, 5<<20), bytes.Repeat([]byte{'b'}, 6<<20)}
		errs := make([]error, 2)
		done := make(chan struct{})
		for i, cl := range []*cluster.Client{client, other} {
			go func() {
				_, errs[i] = cl.WriteFile(c, in.Ino, in.Version, bytes.NewReader(datas[i]), cluster.WriteOptions{})
				done <- struct{}{}
			}()
		}
		<-done
		<-done
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: errors %v / %v: want exactly one winner", round, errs[0], errs[1])
		}
		win := 0
		if errs[0] != nil {
			win = 1
		}
		if !errors.Is(errs[1-win], syscall.ESTALE) {
			t.Fatalf("loser: %v", errs[1-win])
		}
		got, err := other.ReadFile(c, in.Ino)
		if err != nil || !bytes.Equal(got, datas[win]) {
			t.Fatalf("round %d: file does not hold the winner's bytes (%v)", round, err)
		}
	}
}

func BenchmarkCreateSmall(b *testing.B) {
	c := context.Background()
	dir, err := client.MkdirAll(c, fmt.Sprintf("/bench-%d", time.Now().UnixNano()), 0o755)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 4096)
	for i := 0; b.Loop(); i++ {
		if _, err := client.CreateFile(c, dir.Ino, fmt.Sprint(i), 0o644, bytes.NewReader(data), cluster.WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetattr(b *testing.B) {
	c := context.Background()
	for b.Loop() {
		if _, err := client.GetFresh(c, meta.RootIno); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPutGet4MiB(b *testing.B) {
	c := context.Background()
	data, _ := io.ReadAll(newPattern(3, 4<<20))
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		data[0] = byte(i)
		data[1] = byte(i >> 8)
		in, err := client.CreateFile(c, meta.RootIno, fmt.Sprintf("pg%d-%d", time.Now().UnixNano(), i), 0o644, bytes.NewReader(data), cluster.WriteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := client.ReadFile(c, in.Ino); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNoFanOut: metadata operations ask no storage node anything (the
// paper copied every directory to every node); a chunked write asks R
// nodes per chunk and a read one.
func TestNoFanOut(t *testing.T) {
	c := tctx(t)
	d, err := client.MkdirAll(c, "/fan", 0o755)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.RemoveAll(context.Background(), meta.RootIno, "fan") })
	nodeRPCs := func(op func() error) int64 {
		t.Helper()
		before := client.ChunkRPCs.Load()
		if err := op(); err != nil {
			t.Fatal(err)
		}
		return client.ChunkRPCs.Load() - before
	}
	for _, o := range []struct {
		name string
		op   func() error
	}{ // in this order: each works on what the one before made
		{"mkdir", func() error { _, err := client.Mkdir(c, d.Ino, "sub", 0o755, 0, 0); return err }},
		{"create inline", func() error {
			_, err := client.CreateFile(c, d.Ino, "small", 0o644, bytes.NewReader(make([]byte, 4096)), cluster.WriteOptions{})
			return err
		}},
		{"stat", func() error { _, err := client.Resolve(c, "/fan/small"); return err }},
		{"readdir", func() error { _, err := client.Readdir(c, d.Ino, "", 0); return err }},
		{"rename", func() error { return client.Rename(c, d.Ino, "sub", d.Ino, "sub2", 0) }},
		{"unlink", func() error { return client.Unlink(c, d.Ino, "small") }},
		{"rmdir", func() error { return client.Rmdir(c, d.Ino, "sub2") }},
	} {
		if n := nodeRPCs(o.op); n != 0 {
			t.Errorf("%s asked storage nodes %d times", o.name, n)
		}
	}
	var in *meta.Inode
	data, _ := io.ReadAll(newPattern(9, int64(2*client.Params.ChunkSize)))
	if n := nodeRPCs(func() error {
		in, err = client.CreateFile(c, d.Ino, "big", 0o644, bytes.NewReader(data), cluster.WriteOptions{})
		return err
	}); n != int64(2*client.Params.Replicas) {
		t.Errorf("a 2-chunk write asked %d times, want %d", n, 2*client.Params.Replicas)
	}
	if n := nodeRPCs(func() error { _, err := client.ReadFile(c, in.Ino); return err }); n != 2 {
		t.Errorf("a 2-chunk read asked %d times, want 2", n)
	}
}

// cancelingWriter cancels a read's context at its first write, once the
// next chunk's fetch, already under way, has had the time to finish.
type cancelingWriter struct{ cancel context.CancelFunc }

func (w cancelingWriter) Write(p []byte) (int, error) {
	time.Sleep(100 * time.Millisecond)
	w.cancel()
	return len(p), nil
}

// TestReadCanceled: a whole-file read whose context is cancelled part-way
// (carrot fs cat under SIGTERM) returns an error, however the cancel meets
// the chunks being fetched: it hung when the dispatcher stopped before
// asking for the chunk the writer waited for.
func TestReadCanceled(t *testing.T) {
	c := tctx(t)
	cl, err := cluster.Dial(c, testCluster.Conf, cluster.Options{Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	dir, err := cl.MkdirAll(c, "/readcancel", 0o755)
	if err != nil {
		t.Fatal(err)
	}
	n := 6*int64(cl.Params.ChunkSize) + 1
	in, err := cl.CreateFile(c, dir.Ino, "f", 0o644, newPattern(7, n), cluster.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		ctx, cancel := context.WithCancel(c)
		r, err := cl.Open(ctx, in.Ino, 0)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := r.WriteTo(cancelingWriter{cancel}); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("a cancelled read succeeded")
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a cancelled read hung")
		}
	}
}
