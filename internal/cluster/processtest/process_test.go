package processtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/chunkstore"
	"github.com/carrot-project/carrot/internal/chunkstore/chunkpb"
	"github.com/carrot-project/carrot/internal/cluster"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"github.com/carrot-project/carrot/internal/meta"
	"github.com/carrot-project/carrot/internal/node"
	"github.com/carrot-project/carrot/internal/placement"
	"github.com/carrot-project/carrot/internal/repair"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

var carrotBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "carrot-bin")
	if err != nil {
		panic(err)
	}
	carrotBin = filepath.Join(dir, "carrot")
	out, err := exec.Command("go", "build", "-o", carrotBin, "../../../cmd/carrot").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building carrot: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running carrot process.
type proc struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{}
}

type lockedBuf struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (l lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// start runs carrot with args and waits for a line matching ready on stdout.
func start(t *testing.T, ready string, args ...string) *proc {
	t.Helper()
	return startProgram(t, ready, carrotBin, args...)
}

// startProgram runs program (carrot under a tracer, say) as start does.
func startProgram(t *testing.T, ready, program string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(program, args...)
	p := &proc{cmd: cmd, out: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	cmd.Stderr = lockedBuf{p.mu, p.out}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lockedBuf{p.mu, p.out}.Write([]byte(sc.Text() + "\n"))
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
	}()
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop() })
	re := regexp.MustCompile(ready)
	deadline := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("carrot %v exited before ready:\n%s", args, p.output())
			}
			if re.MatchString(l) {
				return p
			}
		case <-deadline:
			t.Fatalf("carrot %v not ready after 60s:\n%s", args, p.output())
		}
	}
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// stop sends SIGTERM and waits (SIGKILL after 10s).
func (p *proc) stop() { p.stopWith(syscall.SIGTERM) }

// stopWith sends sig and waits (SIGKILL after 10s).
func (p *proc) stopWith(sig os.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) kill9() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// carrot runs a client command and returns stdout, stderr and exit code.
func carrot(t *testing.T, conf string, stdin io.Reader, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(carrotBin, args...)
	cmd.Env = append(os.Environ(), "CARROT_CONFIG="+conf)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// testCluster is `carrot up --nodes 0` plus separate `carrot node`s.
type testCluster struct {
	dir   string
	conf  string
	up    *proc
	nodes []*proc
}

func newCluster(t *testing.T, nodes int, extra ...string) *testCluster {
	dir := t.TempDir()
	args := append([]string{"up", "--dir", dir, "--nodes", "0", "--lease-ttl", "1s",
		"--repair-grace", "3s", "--repair-interval", "1s", "--gc-grace", "1h"}, extra...)
	tc := &testCluster{dir: dir, conf: filepath.Join(dir, "carrot.toml")}
	tc.up = start(t, "ready", args...)
	for k := range nodes {
		tc.addNode(t, filepath.Join(dir, fmt.Sprintf("n%d", k)))
	}
	return tc
}

func (tc *testCluster) addNode(t *testing.T, data string, extra ...string) *proc {
	args := append([]string{"node", "--listen", "127.0.0.1:0", "--data", data, "--config", tc.conf}, extra...)
	p := start(t, "serving on", args...)
	tc.nodes = append(tc.nodes, p)
	return p
}

func (tc *testCluster) client(t *testing.T, live int) *cluster.Client {
	t.Helper()
	conf, err := clusterconf.Load(tc.conf)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cluster.Dial(context.Background(), conf, cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.WaitNodes(context.Background(), live, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return c
}

// status is the cluster's state now (a pass of the command's own).
func (tc *testCluster) status(t *testing.T) repair.Report {
	t.Helper()
	return tc.statusWith(t, "--scan")
}

func (tc *testCluster) statusWith(t *testing.T, flags ...string) repair.Report {
	t.Helper()
	out, errs, code := carrot(t, tc.conf, nil, append([]string{"cluster", "status", "--json"}, flags...)...)
	if code != 0 {
		t.Fatalf("cluster status: %d %s", code, errs)
	}
	var r repair.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("status json: %v\n%s", err, out)
	}
	return r
}

func seeded(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func tctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return c
}

// TestKillNodeDuringWrites: kill -9 one of three nodes (R=2) in the middle
// of a stream of writes and reads. Every acknowledged write reads back
// byte-exact, reads keep working, and after the grace period the repairer
// restores two copies of every chunk (checked by carrot cluster status).
func TestKillNodeDuringWrites(t *testing.T) {
	tc := newCluster(t, 3, "--repair-grace", "5s")
	c := tc.client(t, 3)
	ctx := tctx(t)
	dir, err := c.MkdirAll(ctx, "/stream", 0o755)
	if err != nil {
		t.Fatal(err)
	}
	acked := map[string][]byte{}
	var mu sync.Mutex // acked, killedAt
	var failures int
	var killedAt time.Time
	// A reader goes over the acknowledged files all along, the kill
	// included.
	stop := make(chan struct{})
	var readerDone sync.WaitGroup
	readerDone.Add(1)
	var reads atomic.Int64
	go func() {
		defer readerDone.Done()
		for {
			mu.Lock()
			var names []string
			for n := range acked {
				names = append(names, n)
			}
			mu.Unlock()
			for _, name := range names {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				want := acked[name]
				mu.Unlock()
				in, err := c.Lookup(ctx, dir.Ino, name)
				if err == nil {
					var got []byte
					if got, err = c.ReadFile(ctx, in.Ino); err == nil && !bytes.Equal(got, want) {
						err = errors.New("different bytes")
					}
				}
				if err != nil {
					t.Errorf("concurrent read of %s: %v", name, err)
					return
				}
				reads.Add(1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	sizes := []int{100, 5000, 1 << 20, 4<<20 + 1, 9 << 20}
	for i := range 30 {
		if i == 10 {
			// While this write (4 MiB + 1) is on its way.
			time.AfterFunc(20*time.Millisecond, func() {
				tc.nodes[1].kill9()
				mu.Lock()
				killedAt = time.Now()
				mu.Unlock()
				t.Logf("killed node 1 during write %d", i)
			})
		}
		name := fmt.Sprintf("f%02d", i)
		data := seeded(int64(i), sizes[i%len(sizes)])
		_, err := c.CreateFile(ctx, dir.Ino, name, 0o644, bytes.NewReader(data), cluster.WriteOptions{})
		if err != nil {
			// A write may fail while the dead node still looks alive,
			// but never half-commit: the name must not exist then.
			failures++
			if _, lerr := c.Lookup(ctx, dir.Ino, name); !errors.Is(lerr, syscall.ENOENT) {
				t.Fatalf("failed write %s left an entry: %v / %v", name, err, lerr)
			}
			continue
		}
		mu.Lock()
		acked[name] = data
		mu.Unlock()
	}
	close(stop)
	readerDone.Wait()
	t.Logf("%d concurrent reads", reads.Load())
	if failures > 0 {
		t.Logf("%d writes failed cleanly", failures)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acked) < 25 {
		t.Fatalf("only %d of 30 writes acknowledged", len(acked))
	}
	for name, want := range acked {
		in, err := c.Lookup(ctx, dir.Ino, name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.ReadFile(ctx, in.Ino)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// Within the grace period (5s) chunks are under-replicated; after it
	// the repairer restores R=2.
	first := true
	deadline := time.Now().Add(60 * time.Second)
	for {
		early := time.Since(killedAt) < 4*time.Second
		r := tc.status(t)
		if first {
			t.Logf("%v after the kill: %d of %d chunks under-replicated", time.Since(killedAt).Round(time.Millisecond), r.UnderReplicated, r.Referenced)
			if early && r.UnderReplicated == 0 {
				t.Fatalf("no chunk under-replicated right after the kill: %+v", r)
			}
			first = false
		}
		down := 0
		for _, n := range r.Nodes {
			if n.State != "up" {
				down++
			}
		}
		if down == 1 && r.UnderReplicated == 0 && r.Lost == 0 && r.Referenced > 0 {
			t.Logf("repaired: %d chunks, balance %.2f", r.Referenced, r.Balance)
			// The status command, a view of its own, reports when the
			// node went down (its lease of 1s expired), not when the
			// command started.
			for _, n := range r.Nodes {
				// The lease (1s, at least 2s as etcd keeps it) runs out
				// 2–2.5s after the kill; a view that counted from its
				// own start would say 6s or more (repair waits 5s).
				if n.State == "down" && (n.DownSince.Before(killedAt.Add(-time.Second)) || n.DownSince.After(killedAt.Add(5*time.Second))) {
					t.Fatalf("node down since %v, killed at %v", n.DownSince, killedAt)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not repaired: %+v\nup log:\n%s", r, tc.up.output())
		}
		time.Sleep(500 * time.Millisecond)
	}
	// And the text status says so too.
	out, _, code := carrot(t, tc.conf, nil, "cluster", "status", "--scan")
	if code != 0 || !strings.Contains(out, "under-replicated: 0  lost: 0") || !strings.Contains(out, "down") {
		t.Fatalf("status:\n%s", out)
	}
}

// TestStatusUnreferenced: the copies of a removed file's chunks show in the
// status as unreferenced, until the collector's grace has passed.
func TestStatusUnreferenced(t *testing.T) {
	tc := newCluster(t, 2) // the GC grace is an hour
	c := tc.client(t, 2)
	ctx := tctx(t)
	if _, err := c.CreateFile(ctx, meta.RootIno, "gone", 0o644, bytes.NewReader(seeded(9, 5<<20)), cluster.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Unlink(ctx, meta.RootIno, "gone"); err != nil {
		t.Fatal(err)
	}
	// Two chunks, two copies each.
	if r := tc.status(t); r.Unreferenced != 4 || r.Garbage != 0 || r.Files != 0 {
		t.Fatalf("status after the removal: %d unreferenced copies, %d garbage, %d files", r.Unreferenced, r.Garbage, r.Files)
	}
	if out, _, _ := carrot(t, tc.conf, nil, "cluster", "status", "--scan"); !strings.Contains(out, "unreferenced copies: 4") {
		t.Fatalf("status:\n%s", out)
	}
}

// TestTooFewNodes: carrot up with fewer nodes than replicas says so when it
// starts, and a write that cannot make its copies says why.
func TestTooFewNodes(t *testing.T) {
	dir := t.TempDir()
	up := start(t, "ready", "up", "--dir", dir, "--nodes", "1", "--replicas", "2")
	// On stderr, which is copied apart from the "ready" on stdout.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(up.output(), "warning: every chunk is kept on 2 nodes and this process runs 1"); {
		if time.Now().After(deadline) {
			t.Fatalf("no warning:\n%s", up.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, errs, code := carrot(t, filepath.Join(dir, "carrot.toml"), bytes.NewReader(seeded(3, 1<<20)), "fs", "put", "-", "/big")
	if code != 1 || !strings.Contains(errs, "1 of 2 copies made") || !strings.Contains(errs, "has 1 nodes") {
		t.Fatalf("put: %d %s", code, errs)
	}
}

// TestDataDirOwnership: a node's data directory serves one process and one
// cluster: a second carrot node on it is refused (EBUSY), and so is a node
// of another cluster, whose collector would otherwise delete every chunk
// there; the directory's own cluster still takes it back.
func TestDataDirOwnership(t *testing.T) {
	a := newCluster(t, 1, "--replicas", "1")
	data := filepath.Join(a.dir, "n0")
	c := a.client(t, 1)
	if _, err := c.CreateFile(tctx(t), meta.RootIno, "kept", 0o644, bytes.NewReader(seeded(4, 1<<20)), cluster.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	refused := func(conf, want string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, carrotBin, "node", "--listen", "127.0.0.1:0", "--data", data, "--config", conf)
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), want) {
			t.Fatalf("carrot node on %s with %s: exit %d, want 1 and %q:\n%s", data, conf, cmd.ProcessState.ExitCode(), want, out)
		}
	}
	refused(a.conf, "in use by another carrot node")
	a.nodes[0].stopWith(syscall.SIGTERM)
	b := newCluster(t, 0)
	// Without its node id too: the refused directory is left as found (no
	// id written into it).
	idFile := filepath.Join(data, "node-id")
	id, err := os.ReadFile(idFile)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(idFile)
	refused(b.conf, "belongs to another cluster")
	if _, err := os.Stat(idFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused node wrote its id into the other cluster's directory: %v", err)
	}
	if err := os.WriteFile(idFile, id, 0o600); err != nil {
		t.Fatal(err)
	}
	chunks, _ := filepath.Glob(filepath.Join(data, "chunks", "*", "*"))
	if len(chunks) != 1 {
		t.Fatalf("the refused node's directory holds %d chunks, want the 1 of its cluster", len(chunks))
	}
	a.addNode(t, data)
	if got, err := c.ReadFile(tctx(t), mustLookup(t, c, "kept")); err != nil || !bytes.Equal(got, seeded(4, 1<<20)) {
		t.Fatalf("the file after its node came back: %v", err)
	}
}

// TestForgetNode: cluster forget removes a node that is down for good, and
// refuses a live one or one it does not know.
func TestForgetNode(t *testing.T) {
	tc := newCluster(t, 2)
	tc.client(t, 2)
	ids := make([]string, 2)
	for k := range ids {
		b, _ := os.ReadFile(filepath.Join(tc.dir, fmt.Sprintf("n%d", k), "node-id"))
		ids[k] = strings.TrimSpace(string(b))
	}
	tc.nodes[1].stopWith(syscall.SIGTERM)
	for _, c := range []struct {
		id   string
		code int
		want string
	}{{ids[0], 1, "EBUSY"}, {"node-nope", 1, "ENOENT"}, {ids[1], 0, "forgotten"}} {
		out, errs, code := carrot(t, tc.conf, nil, "cluster", "forget", c.id)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("cluster forget %s: exit %d %s%s, want %d and %s", c.id, code, out, errs, c.code, c.want)
		}
	}
	if r := tc.status(t); len(r.Nodes) != 1 || r.Nodes[0].ID != ids[0] {
		t.Fatalf("status after forget: %+v", r.Nodes)
	}
}

// mustLookup returns the inode number of name in the root directory.
func mustLookup(t *testing.T, c *cluster.Client, name string) uint64 {
	t.Helper()
	in, err := c.Lookup(tctx(t), meta.RootIno, name)
	if err != nil {
		t.Fatal(err)
	}
	return in.Ino
}

// TestStatusKeptReport: cluster status shows the repairer's last pass
// while it describes the cluster, and makes a pass of its own once a node
// has changed state since.
func TestStatusKeptReport(t *testing.T) {
	tc := newCluster(t, 2)
	c := tc.client(t, 2)
	ctx := tctx(t)
	if _, err := c.CreateFile(ctx, meta.RootIno, "one", 0o644, bytes.NewReader(seeded(7, 1<<20)), cluster.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The repairer passes every second here: a report counts the file soon.
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := tc.statusWith(t)
		if len(r.Nodes) != 2 {
			t.Fatalf("status of 2 nodes: %+v", r.Nodes)
		}
		if r.Files == 1 && r.Referenced == 1 && r.Nodes[0].Chunks == 1 && r.Nodes[1].Chunks == 1 {
			if age := time.Since(r.At); age > 10*time.Second || age < 0 {
				t.Fatalf("report as of %v ago", age)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no report counts the file: %+v", r)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The kept report is shown (a loaded machine may have the repairer's
	// latest pass see a node as unreachable, a report then refused: the
	// next pass is a second away).
	deadline = time.Now().Add(20 * time.Second)
	for {
		out, _, code := carrot(t, tc.conf, nil, "cluster", "status")
		if code == 0 && strings.Contains(out, "as of the repairer's pass") && strings.Contains(out, "files: 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, _, code := carrot(t, tc.conf, nil, "cluster", "status", "--scan")
	if code != 0 || !strings.Contains(out, "as of now") || !strings.Contains(out, "files: 1") {
		t.Fatalf("status --scan:\n%s", out)
	}
	// A node gone: the status says so promptly, from a pass of its own or
	// from the repairer's next (which of the two is TestLastReport's).
	tc.nodes[1].kill9()
	deadline = time.Now().Add(20 * time.Second)
	for {
		r := tc.statusWith(t)
		down := 0
		for _, n := range r.Nodes {
			if n.State == "down" {
				down++
			}
		}
		if down == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed node is not down in the status: %+v", r.Nodes)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// modeString is ls -l's first column for a regular file of mode m.
func modeString(m os.FileMode) string { return "-" + m.Perm().String()[1:] }

// TestTreeCopy: put -r and get -r copy a tree as cp -r does: modes less
// the umask, symbolic links as links, empty directories, a file of
// several chunks; a special file skipped with a message; into a
// destination directory that exists under the source's name, or DIR/.
// straight in, which updates the copy.
func TestTreeCopy(t *testing.T) {
	tc := newCluster(t, 2)
	src := filepath.Join(t.TempDir(), "src")
	for _, d := range []string{"a/b", "emptydir"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]struct {
		data []byte
		mode os.FileMode
	}{
		"a/b/deep.txt": {[]byte("deep\n"), 0o644},
		"a/big.bin":    {seeded(3, 9<<20+5), 0o600},
		"top.txt":      {[]byte("top\n"), 0o640},
		"run.sh":       {[]byte("#!/bin/sh\necho hi\n"), 0o755},
		"empty.txt":    {nil, 0o644},
	}
	for name, f := range files {
		p := filepath.Join(src, name)
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, f.mode)
	}
	if err := os.Symlink("top.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		out, errs, code := carrot(t, tc.conf, nil, args...)
		if code != 0 {
			t.Fatalf("carrot %v: exit %d\n%s%s", args, code, out, errs)
		}
		return out + errs
	}
	out := run("fs", "put", "-r", src, "/trees")
	if !strings.Contains(out, "fifo: skipping a special file (a FIFO)") {
		t.Fatalf("put -r said %q, want the FIFO skipped", out)
	}
	out = run("fs", "ls", "-l", "/trees")
	for _, want := range []string{modeString(0o640&^umask()) + " 1 ", modeString(0o755&^umask()) + " 1 ", "link -> top.txt", "emptydir", " a\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("ls -l /trees: no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "fifo") {
		t.Fatalf("the FIFO was copied:\n%s", out)
	}
	// Into a directory that exists: under the source's name.
	run("fs", "put", "-r", src, "/trees")
	if out := run("fs", "ls", "/trees/src/a/b"); out != "deep.txt\n" {
		t.Fatalf("put -r into /trees: ls /trees/src/a/b %q", out)
	}
	// Back, and compared with the source.
	dst := filepath.Join(t.TempDir(), "dst")
	run("fs", "get", "-r", "/trees", dst)
	for name, f := range files {
		p := filepath.Join(dst, name)
		b, err := os.ReadFile(p)
		st, serr := os.Stat(p)
		if err != nil || serr != nil || !bytes.Equal(b, f.data) || st.Mode().Perm() != f.mode&^umask() {
			t.Fatalf("%s after get -r: %v %v, %d bytes (want %d), mode %v (want %v)", name, err, serr, len(b), len(f.data), st.Mode().Perm(), f.mode&^umask())
		}
	}
	if target, err := os.Readlink(filepath.Join(dst, "link")); err != nil || target != "top.txt" {
		t.Fatalf("link after get -r: %q %v", target, err)
	}
	if st, err := os.Stat(filepath.Join(dst, "emptydir")); err != nil || !st.IsDir() {
		t.Fatalf("emptydir after get -r: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dst, "src", "a", "big.bin")); err != nil {
		t.Fatalf("the second copy after get -r: %v", err)
	}
	// DIR/. goes straight in: a changed file becomes a new version.
	os.Remove(filepath.Join(src, "fifo"))
	os.WriteFile(filepath.Join(src, "top.txt"), []byte("top, again\n"), 0o640)
	run("fs", "put", "-r", src+"/.", "/trees")
	if out := run("fs", "cat", "/trees/top.txt"); out != "top, again\n" {
		t.Fatalf("after put -r DIR/.: %q", out)
	}
	if out := run("fs", "stat", "/trees/top.txt"); !strings.Contains(out, "Version: 2") {
		t.Fatalf("after put -r DIR/.:\n%s", out)
	}
	if _, errs, code := carrot(t, tc.conf, nil, "fs", "put", "-r", "-", "/x"); code != 2 || !strings.Contains(errs, "stdin") {
		t.Fatalf("put -r -: exit %d, %q", code, errs)
	}
}

// TestCorruptChunkRepaired: a chunk file corrupted on one node is detected
// on read, served from the other replica, and repaired.
func TestCorruptChunkRepaired(t *testing.T) {
	tc := newCluster(t, 3)
	c := tc.client(t, 3)
	ctx := tctx(t)
	data := seeded(99, 3<<20)
	in, err := c.CreateFile(ctx, meta.RootIno, "victim", 0o644, bytes.NewReader(data), cluster.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := in.Chunks[0].ID
	// Corrupt the copy on the node readers try first.
	var nodes []placement.Node
	dirOf := map[string]string{}
	for k := range 3 {
		d := filepath.Join(tc.dir, fmt.Sprintf("n%d", k))
		b, _ := os.ReadFile(filepath.Join(d, "node-id"))
		nid := strings.TrimSpace(string(b))
		nodes = append(nodes, placement.Node{ID: nid})
		dirOf[nid] = d
	}
	first := placement.NewHRW(nodes).Rank(id, 1)[0]
	chunkPath := filepath.Join(dirOf[first], "chunks", id[:2], id)
	f, err := os.OpenFile(chunkPath, os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("first-ranked node has no copy: %v", err)
	}
	f.WriteAt([]byte("garbage"), 1000)
	f.Close()
	got, err := c.ReadFile(ctx, in.Ino)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read with a corrupt replica: %v", err)
	}
	// Quarantined, then repaired: the good chunk is back on that node.
	tc.waitChunk(t, chunkPath, id)
	q, _ := filepath.Glob(filepath.Join(dirOf[first], "corrupt", id+".*"))
	if len(q) != 1 {
		t.Fatalf("quarantine holds %v", q)
	}
	if r := tc.status(t); r.UnderReplicated != 0 || r.Lost != 0 {
		t.Fatalf("status after repair %+v", r)
	}
}

// TestUnreadableChunkRepaired: a node whose disk cannot read a chunk (EIO,
// injected by strace into the node's reads of that one file) quarantines
// it and reports it, the reader gets the other copy, and repair puts a
// good copy back.
func TestUnreadableChunkRepaired(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not installed (.ci/install installs it)")
	}
	tc := newCluster(t, 2)
	// The third node's id is made before it starts, so that a chunk it is
	// the first to serve can be picked, and strace told its path.
	var nodes []placement.Node
	for k := range 2 {
		b, _ := os.ReadFile(filepath.Join(tc.dir, fmt.Sprintf("n%d", k), "node-id"))
		nodes = append(nodes, placement.Node{ID: strings.TrimSpace(string(b))})
	}
	bad := filepath.Join(tc.dir, "n2")
	badID, err := node.ID(bad)
	if err != nil {
		t.Fatal(err)
	}
	nodes = append(nodes, placement.Node{ID: badID})
	var data []byte
	var id string
	for seed := int64(1); ; seed++ {
		data = seeded(seed, 1<<20)
		if id = chunkstore.ID(data); placement.NewHRW(nodes).Rank(id, 1)[0] == badID {
			break
		}
	}
	chunkPath := filepath.Join(bad, "chunks", id[:2], id)
	traced := startProgram(t, "serving on", strace, "-f", "-qq", "-o", "/dev/null",
		"-P", chunkPath, "-e", "trace=read,pread64,readv,preadv,preadv2",
		"-e", "inject=read,pread64,readv,preadv,preadv2:error=EIO",
		carrotBin, "node", "--listen", "127.0.0.1:0", "--data", bad, "--config", tc.conf)
	t.Cleanup(func() { stopTraced(t, traced) })
	tc.nodes = append(tc.nodes, traced)
	c := tc.client(t, 3)
	ctx := tctx(t)
	in, err := c.CreateFile(ctx, meta.RootIno, "unreadable", 0o644, bytes.NewReader(data), cluster.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Chunks) != 1 || in.Chunks[0].ID != id {
		t.Fatalf("chunks %+v, want the one chunk %s", in.Chunks, id[:12])
	}
	if _, err := os.Stat(chunkPath); err != nil {
		t.Fatalf("the node that cannot read it holds no copy: %v", err)
	}
	// The read goes to that node first, then to the other copy.
	got, err := c.ReadFile(ctx, in.Ino)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read with an unreadable replica: %v", err)
	}
	q, _ := filepath.Glob(filepath.Join(bad, "corrupt", id+".*"))
	if len(q) != 1 {
		t.Fatalf("quarantine holds %v after the failed read", q)
	}
	// Reported, then repaired: a good copy is back on that node (which
	// cannot read it either, but the test can).
	tc.waitChunk(t, chunkPath, id)
}

// waitChunk waits (30 s at most) for the file at path to hold chunk id:
// repair has put a good copy there.
func (tc *testCluster) waitChunk(t *testing.T, path, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && chunkstore.ID(b) == id {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("chunk %s not repaired at %s\n%s", id[:12], path, tc.up.output())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// mountTmpfs mounts a real small tmpfs (root only) so a node hits ENOSPC.
// TestOldVersionReadable: a reader that opened a version just before it
// was replaced can read it for the GC grace, even when its chunks are
// older than the grace; after that they are collected.
func TestOldVersionReadable(t *testing.T) {
	tc := newCluster(t, 2, "--gc-grace", "3s", "--replicas", "2")
	c := tc.client(t, 2)
	ctx := tctx(t)
	old := seeded(11, 6<<20)
	in, err := c.CreateFile(ctx, meta.RootIno, "doc", 0o644, bytes.NewReader(old), cluster.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3500 * time.Millisecond) // the chunks' files are now older than the grace
	rd, err := c.Open(ctx, in.Ino, in.Version)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteFile(ctx, in.Ino, in.Version, bytes.NewReader(seeded(12, 1000)), cluster.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond) // a repair pass or more has seen them unreferenced
	var got bytes.Buffer
	if _, err := rd.WriteTo(&got); err != nil || !bytes.Equal(got.Bytes(), old) {
		t.Fatalf("reading the replaced version 1.2s later: %v", err)
	}
	id := in.Chunks[0].ID
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, _ := filepath.Glob(filepath.Join(tc.dir, "n*", "chunks", id[:2], id))
		if len(m) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("old chunk never collected (%d copies)", len(m))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestScrubberRepairs: a chunk damaged on a node's disk that nobody reads
// is found by that node's scrubber, quarantined, reported and repaired.
func TestScrubberRepairs(t *testing.T) {
	dir := t.TempDir()
	tc := &testCluster{dir: dir, conf: filepath.Join(dir, "carrot.toml")}
	tc.up = start(t, "ready", "up", "--dir", dir, "--nodes", "0", "--lease-ttl", "1s",
		"--repair-grace", "3s", "--repair-interval", "1s", "--replicas", "2")
	for k := range 2 {
		tc.addNode(t, filepath.Join(dir, fmt.Sprintf("n%d", k)), "--scrub-rate", "1G", "--scrub-interval", "1s")
	}
	c := tc.client(t, 2)
	ctx := tctx(t)
	data := seeded(7, 1<<20)
	in, err := c.CreateFile(ctx, meta.RootIno, "quiet", 0o644, bytes.NewReader(data), cluster.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := in.Chunks[0].ID
	chunkPath := filepath.Join(dir, "n1", "chunks", id[:2], id)
	f, err := os.OpenFile(chunkPath, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("rot"), 4242)
	f.Sync()
	f.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		q, _ := filepath.Glob(filepath.Join(dir, "n1", "corrupt", id+".*"))
		b, err := os.ReadFile(chunkPath)
		if len(q) == 1 && err == nil && chunkstore.ID(b) == id {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not scrubbed and repaired: quarantine %v\n%s", q, tc.nodes[1].output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	r := tc.status(t)
	if r.UnderReplicated != 0 || r.Lost != 0 {
		t.Fatalf("status %+v", r)
	}
	// Every node reports its scrubber's passes (a pass runs every second;
	// the repair may have been quicker than a node's first whole pass).
	for {
		scrubbed := true
		var found uint64
		for _, n := range r.Nodes {
			found += n.Corrupt
			if n.ScrubPasses == 0 || n.LastScrub.IsZero() {
				scrubbed = false
			}
		}
		if found != 1 {
			t.Fatalf("corrupt chunks found: %d", found)
		}
		if scrubbed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a node reports no scrub pass: %+v", r.Nodes)
		}
		time.Sleep(200 * time.Millisecond)
		r = tc.status(t)
	}

	// A chunk the scrubber cannot read for a reason other than damage (a
	// directory where the file was) is not quarantined, and the status
	// says so.
	in, err = c.CreateFile(ctx, meta.RootIno, "odd", 0o644, bytes.NewReader(seeded(8, 1<<20)), cluster.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id = in.Chunks[0].ID
	odd := filepath.Join(dir, "n0", "chunks", id[:2], id)
	if err := os.Remove(odd); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(odd, 0o700); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		out, errs, code := carrot(t, tc.conf, nil, "cluster", "status", "--scan")
		if code != 0 {
			t.Fatalf("cluster status: %d %s", code, errs)
		}
		if strings.Contains(out, "chunks not checkable") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the status does not show the chunk the scrubber cannot check:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out := tc.nodes[0].output(); !strings.Contains(out, "scrub: chunk "+id+" not checked: ") {
		t.Errorf("the node's log does not say which chunk it could not check:\n%s", out)
	}
	n0, _ := os.ReadFile(filepath.Join(dir, "n0", "node-id"))
	for _, n := range tc.status(t).Nodes {
		if want := n.ID == strings.TrimSpace(string(n0)); (n.ScrubSkipped > 0) != want {
			t.Errorf("node %s (%s): %d chunks skipped by its scrubber", n.ID, n.Addr, n.ScrubSkipped)
		}
	}
}

func mountTmpfs(t *testing.T, size string) string {
	d := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", d).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", d).Run() })
	return d
}

// TestNodeOutOfSpace: a full node's share goes to the others; with too
// few nodes with space the write fails with ENOSPC and commits nothing.
func TestNodeOutOfSpace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (CI runs as root)")
	}
	tc := newCluster(t, 1)
	tc.addNode(t, filepath.Join(mountTmpfs(t, "6m"), "data"))
	tc.addNode(t, filepath.Join(mountTmpfs(t, "6m"), "data"))
	c := tc.client(t, 3)
	ctx := tctx(t)
	// 3 chunks of 4 MiB, R=2: only one 6 MiB node can take one chunk each;
	// the big node must hold every chunk, so after the small ones fill up
	// writes must fail with ENOSPC.
	var okFiles []string
	var nospc error
	for i := range 6 {
		data := seeded(int64(i), 4<<20)
		name := fmt.Sprintf("big%d", i)
		_, err := c.CreateFile(ctx, meta.RootIno, name, 0o644, bytes.NewReader(data), cluster.WriteOptions{})
		if err != nil {
			nospc = err
			if _, lerr := c.Lookup(ctx, meta.RootIno, name); !errors.Is(lerr, syscall.ENOENT) {
				t.Fatalf("failed write left %s: %v", name, lerr)
			}
			continue
		}
		okFiles = append(okFiles, name)
	}
	if len(okFiles) == 0 || nospc == nil || !errors.Is(nospc, syscall.ENOSPC) {
		t.Fatalf("want some writes to succeed and later ones to fail with ENOSPC: ok=%v err=%v", okFiles, nospc)
	}
	t.Logf("%d writes fit, then: %v", len(okFiles), nospc)
	for i, name := range okFiles {
		in, err := c.Lookup(ctx, meta.RootIno, name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.ReadFile(ctx, in.Ino)
		var idx int
		fmt.Sscanf(name, "big%d", &idx)
		if err != nil || !bytes.Equal(got, seeded(int64(idx), 4<<20)) {
			t.Fatalf("file %d: %v", i, err)
		}
	}
	// Through the CLI: exit 1 with ENOSPC.
	_, errs, code := carrot(t, tc.conf, bytes.NewReader(seeded(77, 4<<20)), "fs", "put", "-", "/cli")
	if code != 1 || !strings.Contains(errs, "ENOSPC") {
		t.Fatalf("fs put on a full cluster: %d %s", code, errs)
	}
}

// TestAuthRefused: a real node refuses calls without the cluster token and
// connections without a certificate of the cluster CA (or without TLS);
// the real carrot up's etcd refuses clients without one; a client with a
// wrong token can write nothing.
func TestAuthRefused(t *testing.T) {
	tc := newCluster(t, 2, "--replicas", "2")
	c := tc.client(t, 2)
	addr := c.View().Live()[0].Addr
	conf, err := clusterconf.Load(tc.conf)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := conf.TLSConfig()
	for _, tok := range []string{"", "not-the-token"} {
		bad, err := chunkstore.Dial(addr, good, tok)
		if err != nil {
			t.Fatal(err)
		}
		_, err = bad.Put(tctx(t), chunkstore.ID([]byte("x")), []byte("x"))
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("token %q: %v", tok, err)
		}
		if _, err := bad.List(tctx(t)); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("token %q list: %v", tok, err)
		}
		bad.Close()
	}
	// Another cluster's member certificate: refused in the handshake by
	// the node and by etcd.
	other := filepath.Join(t.TempDir(), "other")
	oca, ocert, okey, err := clusterconf.EnsureTLS(other)
	if err != nil {
		t.Fatal(err)
	}
	foreign := *conf
	foreign.CA, foreign.Cert, foreign.Key = string(oca), string(ocert), string(okey)
	ftc, _ := foreign.TLSConfig()
	ftc.InsecureSkipVerify = true
	fconn, _ := chunkstore.Dial(addr, ftc, conf.Token)
	if _, err := fconn.Stats(tctx(t)); status.Code(err) != codes.Unavailable {
		t.Fatalf("foreign certificate: %v", err)
	}
	fconn.Close()
	// No TLS at all, even with the right token.
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = chunkpb.NewChunkStoreClient(cc).Stats(metadata.AppendToOutgoingContext(tctx(t), "authorization", "Bearer "+conf.Token), &chunkpb.StatsRequest{})
	cc.Close()
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("plaintext: %v", err)
	}
	fpath := filepath.Join(t.TempDir(), "foreign.toml")
	foreign.Save(fpath)
	if _, errs, code := carrot(t, fpath, nil, "fs", "ls", "/"); code != 1 || !strings.Contains(errs, "EIO") {
		t.Fatalf("fs ls with a foreign certificate: %d %s", code, errs)
	}
	ep := strings.TrimPrefix(conf.EtcdEndpoints[0], "https://")
	plain, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + ep}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	gctx, cancel := context.WithTimeout(tctx(t), 2*time.Second)
	_, err = plain.Get(gctx, conf.Prefix+"params")
	cancel()
	plain.Close()
	if err == nil {
		t.Fatal("etcd answered a plaintext client")
	}
	conf.Token = "wrong"
	wrong := filepath.Join(t.TempDir(), "wrong.toml")
	conf.Save(wrong)
	_, errs, code := carrot(t, wrong, bytes.NewReader(seeded(1, 100000)), "fs", "put", "-", "/x")
	if code != 1 || !strings.Contains(errs, "wrong cluster token") {
		t.Fatalf("put with wrong token: %d %s", code, errs)
	}
	// Even what needs no storage node (a listing): the kv socket refuses
	// the token, and the client says so rather than turn to etcd's gRPC.
	if _, errs, code := carrot(t, wrong, nil, "fs", "ls", "/"); code != 1 || !strings.Contains(errs, "wrong cluster token") {
		t.Fatalf("ls with wrong token: %d %s", code, errs)
	}
	if _, _, code := carrot(t, tc.conf, nil, "fs", "stat", "/x"); code != 1 {
		t.Fatal("a refused write left a file")
	}
}

// TestCLIAndRestart drives every carrot fs command against carrot up with
// in-process nodes, then restarts it on the same directory.
// TestPathSemantics: carrot fs resolves "." and ".." and symbolic links
// as the kernel does, and refuses what rm, mv and cp refuse, leaving the
// tree as it was.
func TestPathSemantics(t *testing.T) {
	tc := newCluster(t, 1)
	local := filepath.Join(t.TempDir(), "local.txt")
	os.WriteFile(local, []byte("local\n"), 0o644)
	run := func(want int, stdin io.Reader, args ...string) string {
		t.Helper()
		out, errs, code := carrot(t, tc.conf, stdin, args...)
		if code != want {
			t.Fatalf("carrot %v: exit %d (want %d)\n%s%s", args, code, want, out, errs)
		}
		return out + errs
	}
	run(0, nil, "fs", "mkdir", "-p", "/a/b/c")
	run(0, strings.NewReader("one\n"), "fs", "put", "-", "/a/f")
	mk := func(name, target string) {
		t.Helper()
		c := tc.client(t, 1)
		dir, err := c.Resolve(tctx(t), path.Dir(name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.FS.Symlink(tctx(t), dir.Ino, path.Base(name), target, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	mk("/a/fl", "f")
	mk("/a/dl", "/a/b")
	mk("/a/dang", "nope")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"fs", "rm", "-r", "/a/b/.."}, "refusing"},
		{[]string{"fs", "rm", "-r", "/a/b/."}, "refusing"},
		{[]string{"fs", "mv", "/a/b/c/..", "/z"}, "refusing"},
		{[]string{"fs", "rm", "/a/f/"}, "ENOTDIR"},
		{[]string{"fs", "rm", "-r", "/a/dl/"}, "ENOTDIR"},
		{[]string{"fs", "cat", "/a/f/"}, "ENOTDIR"},
		{[]string{"fs", "ls", "/a/f/."}, "ENOTDIR"},
		{[]string{"fs", "put", local, "/a/f/"}, "ENOTDIR"},
		{[]string{"fs", "put", local, "/a/newdir/"}, "ENOTDIR"},
		{[]string{"fs", "put", local, "/a/dang"}, "dangling"},
		{[]string{"fs", "mv", "/a/f", "/a/f"}, "same file"},
		{[]string{"fs", "mv", "/a/f", "/a/fl/"}, "ENOTDIR"},      // a file is no directory
		{[]string{"fs", "mv", "/a/f", "/a/newname/"}, "ENOTDIR"}, // nor the name a file would get
		{[]string{"fs", "mv", "/a/b", "/a/b"}, "into itself"},
		{[]string{"fs", "mv", "/a", "/"}, "same file"},
		{[]string{"fs", "get", "/a/f", ""}, "ENOENT"},
		{[]string{"fs", "put", "-r", filepath.Dir(local), "/nope/deeper/x"}, "ENOENT"},
	} {
		if out := run(1, nil, c.args...); !strings.Contains(out, c.want) {
			t.Errorf("carrot %v: %q, want %s", c.args, out, c.want)
		}
	}
	// Nothing of that changed the tree.
	if out := run(0, nil, "fs", "ls", "/a"); out != "b\ndang\ndl\nf\nfl\n" {
		t.Fatalf("ls /a after the refusals: %q", out)
	}
	if out := run(0, nil, "fs", "ls", "/"); out != "a\n" {
		t.Fatalf("ls / after the refusals: %q", out)
	}
	// Links are followed where cat, cp and ls follow them.
	if out := run(0, nil, "fs", "cat", "/a/fl"); out != "one\n" {
		t.Fatalf("cat through a link: %q", out)
	}
	if out := run(0, nil, "fs", "cat", "/a/dl/../f"); out != "one\n" {
		t.Fatalf("cat through a directory link and ..: %q", out)
	}
	run(0, strings.NewReader("two\n"), "fs", "put", "-", "/a/fl")
	if out := run(0, nil, "fs", "cat", "/a/f"); out != "two\n" {
		t.Fatalf("put through a link wrote %q to its target", out)
	}
	run(0, nil, "fs", "put", local, "/a/dl")
	if out := run(0, nil, "fs", "ls", "/a/dl"); out != "c\nlocal.txt\n" {
		t.Fatalf("put into a directory link, then ls of it: %q", out)
	}
	// As ls -l lays it out: no leading space, one space between columns.
	if out := run(0, nil, "fs", "ls", "-l", "/a/f"); !regexp.MustCompile(`^-rw\S+ 1 \d+ \d+ 4 \d{4}-\d\d-\d\d \d\d:\d\d /a/f\n$`).MatchString(out) {
		t.Errorf("ls -l: %q", out)
	}
	if out := run(1, nil, "fs", "ls", "/nope", "/a/b", "/a/f"); !regexp.MustCompile(`^/a/b:\nc\n(?:[^\n/]+\n)*\n/a/f:\n/a/f\n[^\n]*/nope: no such file`).MatchString(out) || strings.Contains(out, "/nope:\n") {
		t.Errorf("ls of several paths: %q", out)
	}
	if out := run(0, nil, "fs", "ls", "-l", "/a/dl"); !strings.Contains(out, "/a/dl -> /a/b") || strings.Count(out, "\n") != 1 {
		t.Fatalf("ls -l of a directory link shows the link: %q", out)
	}
	if out := run(0, nil, "fs", "stat", "/a/fl"); !strings.Contains(out, "symbolic link") {
		t.Fatalf("stat of a link: %q", out)
	}
	run(0, nil, "fs", "put", local, "/a/b/c/..")
	if out := run(0, nil, "fs", "cat", "/a/b/local.txt"); out != "local\n" {
		t.Fatalf("put into /a/b/c/..: %q", out)
	}
	// Arguments as coreutils take them: flags after the paths, "-rf", and
	// several paths, each done even when another fails.
	if out := run(0, nil, "fs", "ls", "/a/b", "-l"); !strings.Contains(out, "local.txt") || !strings.Contains(out, "drwx") {
		t.Fatalf("ls PATH -l: %q", out)
	}
	run(0, nil, "fs", "mkdir", "/m1", "/m2")
	if out := run(1, nil, "fs", "mkdir", "-p", "/a/f"); !strings.Contains(out, "EEXIST") {
		t.Fatalf("mkdir -p over a file: %q", out)
	}
	if out := run(1, nil, "fs", "mkdir", "-p", "/a/f/g"); !strings.Contains(out, "ENOTDIR") {
		t.Fatalf("mkdir -p under a file: %q", out)
	}
	run(0, nil, "fs", "rm", "-rf", "/nope")
	if out := run(1, nil, "fs", "rm", "/m1", "/nope", "/m2"); !strings.Contains(out, "/nope") || strings.Count(out, "carrot:") != 1 {
		t.Fatalf("rm of three paths, one missing: %q", out)
	}
	if out := run(0, nil, "fs", "ls", "/"); out != "a\n" {
		t.Fatalf("ls / after rm of three paths: %q", out)
	}
	if out := run(2, nil, "fs", "ls", "-x", "/"); !strings.Contains(out, "-x") || strings.Contains(out, "commands:") {
		t.Fatalf("a bad flag: %q (want the flag named, not the whole usage)", out)
	}
	// Output that cannot be written (a full disk) is an error, as in ls.
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	for _, args := range [][]string{{"fs", "ls", "/a"}, {"fs", "stat", "/a"}, {"fs", "du", "/a"}, {"cluster", "status", "--scan"}} {
		cmd := exec.Command(carrotBin, args...)
		cmd.Env = append(os.Environ(), "CARROT_CONFIG="+tc.conf)
		var errs bytes.Buffer
		cmd.Stdout, cmd.Stderr = full, &errs
		cmd.Run()
		if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(errs.String(), "write error") || !strings.Contains(errs.String(), "ENOSPC") {
			t.Errorf("carrot %v > /dev/full: exit %d, want 1 and the write error (%s)", args, cmd.ProcessState.ExitCode(), errs.String())
		}
	}
	// rm and mv act on the link, not on what it names.
	run(0, nil, "fs", "mv", "/a/dl", "/a/dl2")
	run(0, nil, "fs", "rm", "/a/dl2")
	if out := run(0, nil, "fs", "ls", "/a/b"); out != "c\nlocal.txt\n" {
		t.Fatalf("the directory a removed link named: %q", out)
	}
}

func TestCLIAndRestart(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "carrot.toml")
	up := start(t, "ready", "up", "--dir", dir, "--nodes", "3")
	local := filepath.Join(t.TempDir(), "blob")
	blob := seeded(5, 9<<20+3)
	os.WriteFile(local, blob, 0o640)
	run := func(want int, stdin io.Reader, args ...string) string {
		t.Helper()
		out, errs, code := carrot(t, conf, stdin, args...)
		if code != want {
			t.Fatalf("carrot %v: exit %d (want %d)\n%s%s", args, code, want, out, errs)
		}
		return out + errs
	}
	run(0, nil, "fs", "mkdir", "-p", "/a/b/c")
	run(0, nil, "fs", "put", local, "/a/b/")
	run(0, strings.NewReader("hello\n"), "fs", "put", "-", "/a/hello.txt")
	if out := run(0, nil, "fs", "cat", "/a/hello.txt"); out != "hello\n" {
		t.Fatalf("cat %q", out)
	}
	if out := run(0, nil, "fs", "ls", "/a"); out != "b\nhello.txt\n" {
		t.Fatalf("ls %q", out)
	}
	// The local file's mode (0640), less the umask.
	if out := run(0, nil, "fs", "ls", "-l", "/a/b"); !strings.Contains(out, modeString(0o640&^umask())) || !strings.Contains(out, fmt.Sprint(len(blob))) || !strings.Contains(out, "drwxr-xr-x") {
		t.Fatalf("ls -l %q", out)
	}
	if out := run(0, nil, "fs", "stat", "/a/b/blob"); !strings.Contains(out, "3 chunk(s)") || !strings.Contains(out, "Version: 1") {
		t.Fatalf("stat %q", out)
	}
	run(0, nil, "fs", "mv", "/a/b", "/moved")
	got := filepath.Join(t.TempDir(), "got")
	run(0, nil, "fs", "get", "/moved/blob", got)
	if b, _ := os.ReadFile(got); !bytes.Equal(b, blob) {
		t.Fatal("get differs")
	}
	if out := run(0, nil, "fs", "du", "/"); !strings.HasPrefix(out, fmt.Sprint(len(blob)+6)) || !strings.Contains(out, "2 files") {
		t.Fatalf("du %q", out)
	}
	if out := run(1, nil, "fs", "rm", "/moved"); !strings.Contains(out, "ENOTEMPTY") || !strings.Contains(out, " /moved:") {
		t.Fatalf("rm dir %q", out)
	}
	if out := run(1, nil, "fs", "cat", "/nope"); !strings.Contains(out, "ENOENT") {
		t.Fatalf("cat missing %q", out)
	}
	if out := run(1, nil, "fs", "mkdir", "/moved/c"); !strings.Contains(out, "EEXIST") || !strings.Contains(out, "mkdir /moved/c:") {
		t.Fatalf("mkdir existing %q (want the path typed, and EEXIST)", out)
	}
	if out := run(1, nil, "fs", "mkdir", "/"); !strings.Contains(out, "EEXIST") {
		t.Fatalf("mkdir / %q", out)
	}
	run(0, nil, "fs", "mkdir", "-p", "/")
	if out := run(1, nil, "fs", "mv", "/moved", "/moved/c/inside"); !strings.Contains(out, "EINVAL") || !strings.Contains(out, "/moved -> /moved/c/inside") {
		t.Fatalf("mv into itself %q", out)
	}
	// Errors of the local side and of the kind of file.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"fs", "put", filepath.Join(dir, "no-such-file"), "/x"}, "ENOENT"},
		{[]string{"fs", "put", dir, "/x"}, "EISDIR"},
		{[]string{"fs", "get", "/moved", filepath.Join(t.TempDir(), "x")}, "EISDIR"},
		{[]string{"fs", "cat", "/moved/blob/x"}, "ENOTDIR"},
		{[]string{"fs", "--config", filepath.Join(dir, "no-such.toml"), "ls", "/"}, "ENOENT"},
	} {
		if out := run(1, nil, c.args...); !strings.Contains(out, c.want) {
			t.Errorf("carrot %v: %q, want %s", c.args, out, c.want)
		}
	}
	// --config may follow the command (here it is the only right one).
	if out, errs, code := carrot(t, filepath.Join(dir, "no-such.toml"), nil, "fs", "ls", "--config", conf, "/"); code != 0 || !strings.Contains(out, "moved") {
		t.Fatalf("fs ls --config after the command: exit %d %q %q", code, out, errs)
	}
	// Cluster paths are absolute.
	if out := run(1, nil, "fs", "put", local, "relative"); !strings.Contains(out, "EINVAL") || !strings.Contains(out, "absolute") {
		t.Fatalf("put to a relative path %q", out)
	}
	if out := run(1, nil, "fs", "ls", ""); !strings.Contains(out, "EINVAL") {
		t.Fatalf("ls \"\" %q", out)
	}
	// A config that is not one.
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("this is = not [toml\n"), 0o600)
	if out := run(1, nil, "fs", "--config", bad, "ls", "/"); !strings.Contains(out, "EINVAL") || !strings.Contains(out, bad) {
		t.Fatalf("malformed config %q", out)
	}
	// A second carrot up on the same directory is refused, and says why.
	if _, errs, code := carrot(t, conf, nil, "up", "--dir", dir, "--nodes", "0"); code == 0 || !strings.Contains(errs, "in use by another carrot up") {
		t.Fatalf("second carrot up: exit %d, %q", code, errs)
	}
	run(2, nil, "fs", "frob")
	run(2, nil, "fs", "put", "onlyone")
	run(0, nil, "fs", "rm", "-r", "/a")
	if out := run(0, nil, "fs", "ls", "/"); out != "moved\n" {
		t.Fatalf("after rm -r: %q", out)
	}
	// A progress bar on a terminal (script(1) gives carrot one).
	big := filepath.Join(t.TempDir(), "big")
	os.WriteFile(big, seeded(8, 40<<20), 0o600)
	cmd := exec.Command("script", "-qec", carrotBin+" fs put "+big+" /big", "/dev/null")
	cmd.Env = append(os.Environ(), "CARROT_CONFIG="+conf)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "put [") || !strings.Contains(string(out), "100%") {
		t.Fatalf("put on a terminal: %v\n%q", err, out)
	}
	cmd = exec.Command("script", "-qec", "cat "+big+" | "+carrotBin+" fs put - /big3", "/dev/null")
	cmd.Env = append(os.Environ(), "CARROT_CONFIG="+conf)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "put 4") || !strings.Contains(string(out), "/s") {
		t.Fatalf("put from a pipe on a terminal: %v\n%q", err, out)
	}
	if out := run(0, nil, "fs", "put", big, "/big2"); strings.Contains(out, "put [") {
		t.Fatalf("a progress bar with no terminal: %q", out)
	}
	// Ctrl-C: a clean stop, exit status 0. Then a restart on the same
	// directory: everything comes back.
	up.stopWith(os.Interrupt)
	if !strings.Contains(up.output(), "stopped") || up.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("up did not stop cleanly on SIGINT (exit %d):\n%s", up.cmd.ProcessState.ExitCode(), up.output())
	}
	// With the cluster gone, a client says so (EIO), in bounded time.
	began := time.Now()
	if out := run(1, nil, "fs", "ls", "/"); !strings.Contains(out, "ECONNREFUSED") || !strings.Contains(out, "is carrot up running?") {
		t.Fatalf("ls with the cluster down: %q", out)
	}
	t.Logf("ls with the cluster down failed after %v", time.Since(began).Round(time.Millisecond))
	// Parameters are the cluster's: a flag that would change one is
	// named as ignored (stderr is copied apart from the ready line).
	up = start(t, "ready", "up", "--dir", dir, "--nodes", "3", "--replicas", "3", "--gc-grace", "2h", "--repair-interval", "30s")
	// Both warnings are awaited: they are written one after the other, and
	// copied from the pipe as they come.
	warned := func() bool {
		o := up.output()
		return strings.Contains(o, "--gc-grace 2h0m0s ignored") && strings.Contains(o, "--replicas 3 ignored")
	}
	for deadline := time.Now().Add(5 * time.Second); !warned(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("restart with other parameters:\n%s", up.output())
		}
	}
	if o := up.output(); !strings.Contains(o, "--replicas 3 ignored: this cluster was created with 2") || strings.Contains(o, "--repair-interval") {
		t.Fatalf("restart with other parameters:\n%s", o)
	}
	out := run(0, nil, "fs", "cat", "/moved/blob")
	if out != string(blob) {
		t.Fatal("data lost across restart")
	}
}

// TestGarbageCollected: chunks of removed files and of replaced versions
// are deleted after the GC grace; chunks still referenced stay.
func TestGarbageCollected(t *testing.T) {
	tc := newCluster(t, 3, "--gc-grace", "2s")
	c := tc.client(t, 3)
	ctx := tctx(t)
	keep := seeded(1, 5<<20)
	gone := seeded(2, 5<<20)
	old := seeded(3, 5<<20)
	kin, err := c.CreateFile(ctx, meta.RootIno, "keep", 0o644, bytes.NewReader(keep), cluster.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateFile(ctx, meta.RootIno, "gone", 0o644, bytes.NewReader(gone), cluster.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	oin, err := c.CreateFile(ctx, meta.RootIno, "over", 0o644, bytes.NewReader(old), cluster.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteFile(ctx, oin.Ino, oin.Version, bytes.NewReader(seeded(4, 100000)), cluster.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Unlink(ctx, meta.RootIno, "gone"); err != nil {
		t.Fatal(err)
	}
	chunkFiles := func(data []byte) int {
		n := 0
		for off := 0; off < len(data); off += 4 << 20 {
			id := chunkstore.ID(data[off:min(len(data), off+4<<20)])
			m, _ := filepath.Glob(filepath.Join(tc.dir, "n*", "chunks", id[:2], id))
			n += len(m)
		}
		return n
	}
	if chunkFiles(gone) != 4 || chunkFiles(old) != 4 {
		t.Fatalf("before GC: %d and %d copies", chunkFiles(gone), chunkFiles(old))
	}
	deadline := time.Now().Add(30 * time.Second)
	for chunkFiles(gone)+chunkFiles(old) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("garbage not collected: %d %d\n%s", chunkFiles(gone), chunkFiles(old), tc.up.output())
		}
		time.Sleep(300 * time.Millisecond)
	}
	if chunkFiles(keep) != 4 {
		t.Fatalf("live chunks: %d copies", chunkFiles(keep))
	}
	if got, err := c.ReadFile(ctx, kin.Ino); err != nil || !bytes.Equal(got, keep) {
		t.Fatalf("kept file: %v", err)
	}
}

// pause is a reader that waits, then ends: between two others in an
// io.MultiReader, a writer that stalls.
type pause time.Duration

func (p pause) Read([]byte) (int, error) {
	time.Sleep(time.Duration(p))
	return 0, io.EOF
}

// TestSlowUploadKeepsChunks: an upload that lasts longer than the garbage
// collector's grace (a large file, a slow pipe) keeps its first chunks,
// stored long before its commit references them: it pins them. Once
// committed it reads back byte-exact, no chunk is lost, and no pin is left.
func TestSlowUploadKeepsChunks(t *testing.T) {
	tc := newCluster(t, 3, "--gc-grace", "1s")
	c := tc.client(t, 3)
	ctx := tctx(t)
	head, tail := seeded(5, 4<<20), seeded(6, 1000)
	r := io.MultiReader(bytes.NewReader(head), pause(4*time.Second), bytes.NewReader(tail))
	in, err := c.CreateFile(ctx, meta.RootIno, "slow", 0o644, r, cluster.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.ReadFile(ctx, in.Ino)
	if err != nil {
		t.Fatalf("reading the slow upload back: %v\n%s", err, tc.up.output())
	}
	if !bytes.Equal(got, append(head, tail...)) {
		t.Fatal("the slow upload reads back different bytes")
	}
	if pinned, err := c.Pinned(ctx); err != nil || len(pinned) != 0 {
		t.Fatalf("pins left after the commit: %v %v", pinned, err)
	}
	// Two passes later, still whole, and nothing lost.
	time.Sleep(2500 * time.Millisecond)
	if st := tc.status(t); st.Lost != 0 || st.UnderReplicated != 0 {
		t.Fatalf("status: %d lost, %d under-replicated", st.Lost, st.UnderReplicated)
	}
	if got, err := c.ReadFile(ctx, in.Ino); err != nil || !bytes.Equal(got, append(head, tail...)) {
		t.Fatalf("the slow upload after two passes: %v", err)
	}
}

// TestGetLocalTargets: carrot fs get treats its local target as cp does:
// through a symlink, a device written in place (never replaced by a
// regular file), an existing file keeping its mode, a new one made with
// the umask, and nothing left behind by a get that fails.
func TestGetLocalTargets(t *testing.T) {
	tc := newCluster(t, 2)
	tc.client(t, 2) // waits for both nodes
	data := seeded(7, 5<<20+1)
	src := filepath.Join(t.TempDir(), "src")
	os.WriteFile(src, data, 0o664)
	os.Chmod(src, 0o664) // the remote file's mode: this, less the umask
	if _, errs, code := carrot(t, tc.conf, nil, "fs", "put", src, "/f"); code != 0 {
		t.Fatalf("put: %s", errs)
	}
	get := func(local string) (string, int) {
		t.Helper()
		_, errs, code := carrot(t, tc.conf, nil, "fs", "get", "/f", local)
		return errs, code
	}
	dir := t.TempDir()
	mustSame := func(name string) {
		t.Helper()
		if b, err := os.ReadFile(name); err != nil || !bytes.Equal(b, data) {
			t.Fatalf("%s: not the remote file's bytes (%v)", name, err)
		}
	}
	// A symlink to a regular file: the file gets the bytes, the link stays.
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("old"), 0o640)
	link := filepath.Join(dir, "link")
	os.Symlink("target", link)
	if errs, code := get(link); code != 0 {
		t.Fatalf("get to a symlink: %s", errs)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v %v", st.Mode(), err)
	}
	mustSame(target)
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o640 {
		t.Fatalf("existing file's mode became %v, want 0640", st.Mode().Perm())
	}
	// A dangling symlink: what it names is made.
	dangling := filepath.Join(dir, "dangling")
	os.Symlink("made", dangling)
	if errs, code := get(dangling); code != 0 {
		t.Fatalf("get to a dangling symlink: %s", errs)
	}
	mustSame(filepath.Join(dir, "made"))
	// A new file: the remote mode less the umask.
	fresh := filepath.Join(dir, "fresh")
	if errs, code := get(fresh); code != 0 {
		t.Fatalf("get to a new file: %s", errs)
	}
	mustSame(fresh)
	if st, _ := os.Stat(fresh); st.Mode().Perm() != 0o664&^umask() {
		t.Fatalf("new file's mode %v", st.Mode().Perm())
	}
	// A character device (a private /dev/null) is written in place.
	if os.Geteuid() == 0 {
		null := filepath.Join(dir, "null")
		if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatal(err)
		}
		if errs, code := get(null); code != 0 {
			t.Fatalf("get to a device: %s", errs)
		}
		if st, err := os.Lstat(null); err != nil || st.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("the device was replaced: %v %v", st.Mode(), err)
		}
	}
	// A get that fails (no such directory) names the target and leaves no
	// temporary file.
	if errs, code := get(filepath.Join(dir, "nodir", "x")); code == 0 || !strings.Contains(errs, filepath.Join(dir, "nodir", "x")) || !strings.Contains(errs, "ENOENT") {
		t.Fatalf("get into a missing directory: exit %d, %q", code, errs)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".carrot-get-") {
			t.Fatalf("temporary file left: %s", e.Name())
		}
	}
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

// copies counts the chunk files of every node of tc under its data dirs.
func (tc *testCluster) copies(t *testing.T) (files int, byNode map[string]int) {
	t.Helper()
	byNode = map[string]int{}
	m, _ := filepath.Glob(filepath.Join(tc.dir, "n*", "chunks", "*", "*"))
	for _, f := range m {
		byNode[strings.Split(strings.TrimPrefix(f, tc.dir+"/"), "/")[0]]++
	}
	return len(m), byNode
}

// TestRejoinDropsExtraCopies: a node killed and repaired around comes back
// with its old copies; the repairer deletes the extra ones (after the GC
// grace), keeping R copies of every chunk, on the nodes placement ranks
// first, and the data whole.
func TestRejoinDropsExtraCopies(t *testing.T) {
	tc := newCluster(t, 3, "--repair-grace", "2s", "--gc-grace", "2s")
	c := tc.client(t, 3)
	ctx := tctx(t)
	want := map[uint64][]byte{}
	for i := range 4 {
		data := seeded(int64(20+i), 5<<20) // two chunks each
		in, err := c.CreateFile(ctx, meta.RootIno, fmt.Sprint("r", i), 0o644, bytes.NewReader(data), cluster.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want[in.Ino] = data
	}
	const chunks = 8
	if n, _ := tc.copies(t); n != 2*chunks {
		t.Fatalf("%d copies before the kill, want %d", n, 2*chunks)
	}
	tc.nodes[0].kill9()
	waitStatus := func(what string, ok func(repair.Report) bool) repair.Report {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			r := tc.status(t)
			if ok(r) {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %+v\n%s", what, r, tc.up.output())
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	waitStatus("not repaired while node 0 is down", func(r repair.Report) bool {
		return r.Referenced == chunks && r.UnderReplicated == 0 && r.Lost == 0
	})
	if _, by := tc.copies(t); by["n1"]+by["n2"] != 2*chunks || by["n0"] == 0 {
		t.Fatalf("copies while n0 is down: %v (want every chunk on n1 and n2, and n0's old copies)", by)
	}
	// n0 comes back with the copies it had: 3 of some chunks.
	tc.addNode(t, filepath.Join(tc.dir, "n0"))
	waitStatus("extra copies not deleted", func(r repair.Report) bool {
		n, _ := tc.copies(t)
		return r.Misplaced == 0 && r.UnderReplicated == 0 && n == 2*chunks && len(r.Nodes) == 3 && r.Nodes[0].State == "up" && r.Nodes[1].State == "up" && r.Nodes[2].State == "up"
	})
	for ino, data := range want {
		if got, err := c.ReadFile(ctx, ino); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("inode %d after the extra copies went: %v", ino, err)
		}
	}
	_, by := tc.copies(t)
	t.Logf("copies per node at the end: %v", by)
}

// TestThreeReplicas: a cluster made with --replicas 3 keeps three copies
// of every chunk, on three different nodes, and reads with two of them
// gone.
func TestThreeReplicas(t *testing.T) {
	tc := newCluster(t, 4, "--replicas", "3")
	c := tc.client(t, 4)
	if c.Params.Replicas != 3 {
		t.Fatalf("cluster made with %d replicas", c.Params.Replicas)
	}
	ctx := tctx(t)
	data := seeded(30, 9<<20) // 3 chunks
	in, err := c.CreateFile(ctx, meta.RootIno, "three", 0o644, bytes.NewReader(data), cluster.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range in.Chunks {
		m, _ := filepath.Glob(filepath.Join(tc.dir, "n*", "chunks", ch.ID[:2], ch.ID))
		if len(m) != 3 {
			t.Fatalf("chunk %s: %d copies (%v), want 3 on different nodes", ch.ID[:12], len(m), m)
		}
	}
	tc.nodes[0].kill9()
	tc.nodes[1].kill9()
	if got, err := c.ReadFile(ctx, in.Ino); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read with two nodes gone: %v", err)
	}
}

// TestWeightedNode: a node started with --weight 3 next to one of weight
// 1 receives about three quarters of the chunks (one copy each, R=1).
func TestWeightedNode(t *testing.T) {
	tc := newCluster(t, 0, "--replicas", "1", "--chunk-size", "4096", "--inline-max", "0")
	tc.addNode(t, filepath.Join(tc.dir, "n0"), "--weight", "3")
	tc.addNode(t, filepath.Join(tc.dir, "n1"))
	c := tc.client(t, 2)
	ctx := tctx(t)
	const chunks = 400
	if _, err := c.CreateFile(ctx, meta.RootIno, "w", 0o644, bytes.NewReader(seeded(40, chunks*4096)), cluster.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	n, by := tc.copies(t)
	if n != chunks {
		t.Fatalf("%d chunk files, want %d", n, chunks)
	}
	// Binomial(400, 0.75): mean 300, standard deviation 8.7; 255 is more
	// than five deviations below.
	if by["n0"] < 255 || by["n0"] > 345 {
		t.Fatalf("the weight-3 node holds %d of %d chunks, want about 300", by["n0"], chunks)
	}
	t.Logf("weight 3: %d chunks, weight 1: %d", by["n0"], by["n1"])
}

// stopTraced stops a program run under strace (p) by stopping the program
// itself: strace, told to stop, would only detach, and the program would
// go on holding p's output open.
func stopTraced(t *testing.T, p *proc) {
	t.Helper()
	pid := p.cmd.Process.Pid
	kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	kid, err := strconv.Atoi(strings.TrimSpace(string(kids)))
	if err != nil {
		t.Fatalf("the program under strace: %q: %v", kids, err)
	}
	syscall.Kill(kid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		syscall.Kill(kid, syscall.SIGKILL)
		t.Fatal("the program under strace did not stop")
	}
}

// TestPutDurableBeforeAck: a storage node fsyncs a chunk's file, renames
// it into place and fsyncs the directory before it acknowledges the put.
// First as strace sees the node do it: for every chunk, fsync of its
// temporary file, then the rename, then fsync of its directory. Then the
// order against the acknowledgement: the same node, restarted under strace
// delaying each fsync of one chunk's directory by a second, takes at
// least that second to acknowledge a put of that chunk (a node that
// answered before the directory's fsync would answer in milliseconds).
func TestPutDurableBeforeAck(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not installed (.ci/install installs it)")
	}
	tc := newCluster(t, 0, "--replicas", "1")
	log := filepath.Join(t.TempDir(), "strace.log")
	data := filepath.Join(tc.dir, "n0")
	tc.nodes = append(tc.nodes, startProgram(t, "serving on", strace, "-f", "-y", "-qq", "-ttt",
		"-e", "trace=fsync,fdatasync,rename,renameat,renameat2", "-o", log,
		carrotBin, "node", "--listen", "127.0.0.1:0", "--data", data, "--config", tc.conf))
	c := tc.client(t, 1)
	ctx := tctx(t)
	body := seeded(50, 9<<20) // 3 chunks
	in, err := c.CreateFile(ctx, meta.RootIno, "durable", 0o644, bytes.NewReader(body), cluster.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	acked := time.Now()
	stopTraced(t, tc.nodes[0]) // strace ends, its log complete
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	// Lines look like: PID SECS.USECS fsync(7</DIR/tmp/abcd1234.567>) = 0
	at := func(l string) time.Time {
		f := strings.Fields(l)
		if len(f) < 2 {
			return time.Time{}
		}
		sec, _ := strconv.ParseFloat(f[1], 64)
		return time.Unix(0, int64(sec*1e9))
	}
	for _, ch := range in.Chunks {
		final := filepath.Join(data, "chunks", ch.ID[:2], ch.ID)
		tmpPrefix := filepath.Join(data, "tmp", ch.ID[:8]+".")
		step := 0 // 0: want the temp file's fsync, 1: the rename, 2: the directory's fsync
		var when time.Time
		// A call another thread interrupts is split ("<unfinished ...>",
		// then "<... fsync resumed>) = 0"): the call's line has its
		// arguments, and a failure would show "= -1" on one of them.
		for _, l := range lines {
			switch {
			case strings.Contains(l, "= -1"):
				continue
			case step == 0 && strings.Contains(l, "fsync(") && strings.Contains(l, "<"+tmpPrefix):
				step = 1
			case step == 1 && strings.Contains(l, "rename") && strings.Contains(l, tmpPrefix) && strings.Contains(l, ch.ID+"\""):
				step = 2
			case step == 2 && strings.Contains(l, "fsync(") && strings.Contains(l, "<"+filepath.Dir(final)+">"):
				step, when = 3, at(l)
			}
		}
		if step != 3 {
			var calls []string
			for _, l := range lines {
				if !strings.Contains(l, "SIGURG") {
					calls = append(calls, l)
				}
			}
			t.Fatalf("chunk %s: fsync, rename, directory fsync not all seen in order (stopped at step %d)\n%s", ch.ID[:12], step, strings.Join(calls, "\n"))
		}
		if when.After(acked) {
			t.Fatalf("chunk %s: directory fsynced at %v, after the write was acknowledged at %v", ch.ID[:12], when, acked)
		}
	}

	// The second part: one new chunk, whose directory's fsync is delayed.
	body = seeded(51, 1<<20)
	id := chunkstore.ID(body)
	const delay = time.Second
	tc.nodes[0] = startProgram(t, "serving on", strace, "-f", "-qq", "-o", log,
		"-P", filepath.Join(data, "chunks", id[:2]), "-e", "trace=fsync,fdatasync", "-e", "signal=none",
		"-e", fmt.Sprintf("inject=fsync,fdatasync:delay_exit=%d", delay.Microseconds()),
		carrotBin, "node", "--listen", "127.0.0.1:0", "--data", data, "--config", tc.conf)
	t.Cleanup(func() { stopTraced(t, tc.nodes[0]) })
	c = tc.client(t, 1)
	start := time.Now()
	in, err = c.CreateFile(ctx, meta.RootIno, "delayed", 0o644, bytes.NewReader(body), cluster.WriteOptions{})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Chunks) != 1 || in.Chunks[0].ID != id {
		t.Fatalf("chunks %+v, want the one chunk %s", in.Chunks, id[:12])
	}
	if took < delay {
		b, _ := os.ReadFile(log)
		t.Fatalf("put acknowledged in %v, before the directory's fsync (delayed %v) returned; the traced calls:\n%s", took, delay, b)
	}
}

// TestSlowUploadLosesItsLease: the lease holding a slow upload's pins ends
// (revoked here, as a long partition would let it expire) while the upload
// stalls; the upload pins its chunks again under a new lease, and the file
// commits and reads back whole after the collector has had its passes.
func TestSlowUploadLosesItsLease(t *testing.T) {
	tc := newCluster(t, 3, "--gc-grace", "2s")
	c := tc.client(t, 3)
	ctx := tctx(t)
	pinPrefix := c.Prefix() + "fs/pin/"
	revoked := make(chan error, 1)
	revoke := func() {
		// The lease is in the pin's key: fs/pin/<lease>/<upload>/<chunk>.
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			r, err := c.Etcd().Get(ctx, pinPrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
			if err == nil && len(r.Kvs) > 0 {
				hexLease := strings.Split(strings.TrimPrefix(string(r.Kvs[0].Key), pinPrefix), "/")[0]
				id, err := strconv.ParseUint(hexLease, 16, 64)
				if err == nil {
					_, err = c.Etcd().Revoke(ctx, clientv3.LeaseID(id))
				}
				revoked <- err
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		revoked <- errors.New("no pin appeared")
	}
	head, tail := seeded(8, 4<<20), seeded(9, 1000)
	r := io.MultiReader(bytes.NewReader(head), pause(1500*time.Millisecond), readerFunc(func([]byte) (int, error) {
		revoke() // the pins are there by now (a quarter of the grace)
		return 0, io.EOF
	}), pause(3*time.Second), bytes.NewReader(tail))
	in, err := c.CreateFile(ctx, meta.RootIno, "slow", 0o644, r, cluster.WriteOptions{})
	if err := <-revoked; err != nil {
		t.Fatalf("revoking the pins' lease: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // two collector passes
	if got, err := c.ReadFile(ctx, in.Ino); err != nil || !bytes.Equal(got, append(head, tail...)) {
		t.Fatalf("the upload whose lease was lost: %v", err)
	}
	if pinned, err := c.Pinned(ctx); err != nil || len(pinned) != 0 {
		t.Fatalf("pins left after the commit: %v %v", pinned, err)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

// TestTruncatedChunkRepaired: a chunk file truncated on a node (no read,
// no scrub) is not a good copy: a repair pass compares each copy's size
// with the size the inode records, `cluster status --scan` counts the
// chunk under-replicated, and the repair has the node verify and
// quarantine its copy and puts a good one back there.
func TestTruncatedChunkRepaired(t *testing.T) {
	// Passes only on a membership change: none between the truncation
	// and the status that must see it; the third node's joining makes one.
	tc := newCluster(t, 0, "--repair-interval", "1h", "--replicas", "2")
	for k := range 2 {
		tc.addNode(t, filepath.Join(tc.dir, fmt.Sprintf("n%d", k)), "--scrub-rate", "0")
	}
	var nodes []placement.Node
	dirOf := map[string]string{}
	for k := range 3 {
		d := filepath.Join(tc.dir, fmt.Sprintf("n%d", k))
		nid, err := node.ID(d) // the third's made before it starts
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, placement.Node{ID: nid})
		dirOf[nid] = d
	}
	// A chunk the third node ranks last for: its copies stay where they
	// are once it joins, and the repair puts the good copy back in place.
	var data []byte
	var id string
	var rank []string
	for seed := int64(1); ; seed++ {
		data = seeded(seed, 1<<20)
		id = chunkstore.ID(data)
		if rank = placement.NewHRW(nodes).Rank(id, 0); rank[2] == nodes[2].ID {
			break
		}
	}
	c := tc.client(t, 2)
	ctx := tctx(t)
	time.Sleep(2 * time.Second) // the passes of the nodes' joining are over
	in, err := c.CreateFile(ctx, meta.RootIno, "cut", 0o644, bytes.NewReader(data), cluster.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Chunks) != 1 || in.Chunks[0].ID != id {
		t.Fatalf("chunks %+v, want the one chunk %s", in.Chunks, id[:12])
	}
	bad := dirOf[rank[0]]
	chunkPath := filepath.Join(bad, "chunks", id[:2], id)
	if err := os.Truncate(chunkPath, 1000); err != nil {
		t.Fatal(err)
	}
	r := tc.status(t)
	if r.UnderReplicated != 1 || r.WrongSize != 1 || r.Lost != 0 {
		t.Fatalf("status with a truncated copy: under-replicated %d, wrong size %d, lost %d (want 1, 1, 0)", r.UnderReplicated, r.WrongSize, r.Lost)
	}
	out, _, code := carrot(t, tc.conf, nil, "cluster", "status", "--scan")
	if code != 0 || !strings.Contains(out, "under-replicated: 1 ") {
		t.Fatalf("status --scan with a truncated copy:\n%s", out)
	}
	if st, err := os.Stat(chunkPath); err != nil || st.Size() != 1000 {
		t.Fatalf("the truncated copy changed before the repair was due (a repair pass ran?): %v %v", st, err)
	}
	// A membership change: a repair pass.
	tc.addNode(t, dirOf[nodes[2].ID], "--scrub-rate", "0")
	tc.waitChunk(t, chunkPath, id)
	// The node itself found its copy bad and set it aside.
	q, _ := filepath.Glob(filepath.Join(bad, "corrupt", id+".*"))
	if len(q) != 1 {
		t.Fatalf("quarantine holds %v", q)
	}
	if st, err := os.Stat(q[0]); err != nil || st.Size() != 1000 {
		t.Fatalf("quarantined %v %v, want the truncated copy", st, err)
	}
	if _, err := os.Stat(filepath.Join(dirOf[nodes[2].ID], "chunks", id[:2], id)); err == nil {
		t.Fatalf("the chunk was copied to the node that joined, not put back")
	}
	r = tc.status(t)
	if r.UnderReplicated != 0 || r.WrongSize != 0 || r.Lost != 0 {
		t.Fatalf("status after the repair: under-replicated %d, wrong size %d, lost %d", r.UnderReplicated, r.WrongSize, r.Lost)
	}
	got, err := c.ReadFile(ctx, in.Ino)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read after the repair: %v", err)
	}
}

// TestHungNode: a node that hangs (SIGSTOP: it keeps its lease, long here,
// so it stays live and ranked) costs the writes and reads that rank it a
// hedge, not the 30 s RPC timeout: files whose chunks it holds or ranks
// for are written and read back, all of them within 20 s.
func TestHungNode(t *testing.T) {
	tc := newCluster(t, 3, "--lease-ttl", "60s", "--chunk-size", "65536", "--inline-max", "0")
	c := tc.client(t, 3)
	ctx := tctx(t)
	dir, err := c.MkdirAll(ctx, "/hung", 0o755)
	if err != nil {
		t.Fatal(err)
	}
	const files, size = 6, 100000 // two chunks each
	write := func(ctx context.Context, prefix string, seed int64) map[uint64][]byte {
		t.Helper()
		m := map[uint64][]byte{}
		for i := range files {
			data := seeded(seed+int64(i), size)
			in, err := c.CreateFile(ctx, dir.Ino, fmt.Sprint(prefix, i), 0o644, bytes.NewReader(data), cluster.WriteOptions{})
			if err != nil {
				t.Fatalf("writing %s%d: %v", prefix, i, err)
			}
			m[in.Ino] = data
		}
		return m
	}
	before := write(ctx, "before", 0)
	hung := tc.nodes[0].cmd.Process
	if err := hung.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hung.Signal(syscall.SIGCONT) }) // before the process is stopped
	hctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	t0 := time.Now()
	after := write(hctx, "after", 100)
	t.Logf("%d files written with a node hung in %v", files, time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	for _, m := range []map[uint64][]byte{before, after} {
		for ino, data := range m {
			if got, err := c.ReadFile(hctx, ino); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("reading inode %d with a node hung: %v", ino, err)
			}
		}
	}
	t.Logf("%d files read with a node hung in %v", 2*files, time.Since(t0).Round(time.Millisecond))
}

// TestHungNodeThenFullNode: with one copy per chunk, a chunk ranked on a
// node that hangs, then on a full one, then on a good one is written: the
// hedge goes around the hung node, and when the full node refuses, a
// second hedge goes around the hung one again, well before its 30 s RPC
// timeout.
func TestHungNodeThenFullNode(t *testing.T) {
	tc := newCluster(t, 0, "--replicas", "1", "--lease-ttl", "60s", "--inline-max", "0")
	var ids []string
	for k, extra := range [][]string{nil, {"--capacity", "1"}, nil} {
		data := filepath.Join(tc.dir, fmt.Sprintf("n%d", k))
		tc.addNode(t, data, extra...)
		id, err := os.ReadFile(filepath.Join(data, "node-id"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, strings.TrimSpace(string(id)))
	}
	c := tc.client(t, 3)
	ctx := tctx(t)
	hrw := placement.NewHRW([]placement.Node{{ID: ids[0]}, {ID: ids[1]}, {ID: ids[2]}})
	var data []byte
	for seed := int64(0); ; seed++ {
		data = seeded(seed, 1000)
		if r := hrw.Rank(chunkstore.ID(data), 0); r[0] == ids[0] && r[1] == ids[1] {
			break
		}
	}
	hung := tc.nodes[0].cmd.Process
	if err := hung.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hung.Signal(syscall.SIGCONT) })
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	t0 := time.Now()
	in, err := c.CreateFile(wctx, meta.RootIno, "f", 0o644, bytes.NewReader(data), cluster.WriteOptions{})
	if err != nil {
		t.Fatalf("write past a hung node and a full one: %v", err)
	}
	t.Logf("written in %v", time.Since(t0).Round(time.Millisecond))
	if got, err := c.ReadFile(wctx, in.Ino); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back: %v", err)
	}
}

// TestFsOwner: what carrot fs makes for a user who is not root belongs to
// that user (it was recorded as 0:0, but for symbolic links): a file put,
// a directory made, a tree put with a link in it.
func TestFsOwner(t *testing.T) {
	tc := newCluster(t, 1)
	fsAsNobody, dir := asNobody(t, tc)
	tree := filepath.Join(dir, "tree")
	os.Mkdir(tree, 0o755)
	os.WriteFile(filepath.Join(tree, "f"), []byte("x"), 0o644)
	os.Symlink("f", filepath.Join(tree, "l"))
	for _, args := range [][]string{{"mkdir", "/nb"}, {"put", filepath.Join(tree, "f"), "/nb/f"}, {"put", "-r", tree, "/nb/tree"}} {
		if out, err := fsAsNobody(args...); err != nil {
			t.Fatalf("as nobody, fs %v: %v\n%s", args, err, out)
		}
	}
	// ls -l right-aligns the owners' numbers, as ls -ln does.
	if out, errs, code := carrot(t, tc.conf, nil, "fs", "mkdir", "/r"); code != 0 {
		t.Fatalf("mkdir: %s%s", out, errs)
	}
	if out, _, _ := carrot(t, tc.conf, nil, "fs", "ls", "-l", "/"); !regexp.MustCompile(`(?m)^d\S+ \d+ 65534 65534 .* nb\n` + `d\S+ \d+     0     0 .* r$`).MatchString(out) {
		t.Errorf("ls -l of owners 65534 and 0:\n%s", out)
	}
	for _, p := range []string{"/nb", "/nb/f", "/nb/tree", "/nb/tree/f", "/nb/tree/l"} {
		c := tc.client(t, 1)
		in, err := c.Lresolve(tctx(t), p)
		if err != nil {
			t.Fatal(err)
		}
		if in.Uid != 65534 || in.Gid != 65534 {
			t.Errorf("%s is owned by %d:%d, want 65534:65534", p, in.Uid, in.Gid)
		}
	}
}

// TestFsTerminated: a SIGTERM during carrot fs put says so and exits 143,
// as a shell reports it, and commits nothing (it said "input/output error"
// and exited 1).
func TestFsTerminated(t *testing.T) {
	tc := newCluster(t, 1)
	cmd := exec.Command(carrotBin, "fs", "put", "-", "/term")
	cmd.Env = append(os.Environ(), "CARROT_CONFIG="+tc.conf)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// A megabyte through a 64 KiB pipe: carrot is reading, well past
	// installing its signal handling.
	if _, err := in.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	in.Close()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 143 || !strings.Contains(errb.String(), "fs put: terminated (SIGTERM)") {
		t.Fatalf("carrot fs put under SIGTERM: %v %q", err, errb.String())
	}
	if out, _, _ := carrot(t, tc.conf, nil, "fs", "ls", "/"); strings.Contains(out, "term") {
		t.Errorf("a terminated put committed its file: %q", out)
	}
}

// asNobody returns a function that runs carrot fs ARGS... as user nobody
// (65534), with its own copies of the binary and of tc's config, and a
// directory nobody may write in; it skips t without root or setpriv.
func asNobody(t *testing.T, tc *testCluster) (func(args ...string) ([]byte, error), string) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Getuid() != 0 {
		t.Skip("SKIP: needs root and setpriv")
	}
	dir, err := os.MkdirTemp("", "asnobody")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin, conf := filepath.Join(dir, "carrot"), filepath.Join(dir, "carrot.toml")
	for _, c := range [][2]string{{carrotBin, bin}, {tc.conf, conf}} {
		b, err := os.ReadFile(c[0])
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(c[1], b, 0o755)
	}
	os.Chown(conf, 65534, 65534)
	os.Chmod(conf, 0o600)
	own := filepath.Join(dir, "nobody")
	os.Mkdir(own, 0o755)
	os.Chown(own, 65534, 65534)
	return func(args ...string) ([]byte, error) {
		cmd := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin, "fs", "--config", conf}, args...)...)
		cmd.Dir = own
		return cmd.CombinedOutput()
	}, dir
}

// TestFsGetReadOnlyTree: get -r of a tree whose directories are 0555 (Go's
// module cache) works for a user who is not root, as cp -r does: each
// directory gets its mode once it is filled.
func TestFsGetReadOnlyTree(t *testing.T) {
	tc := newCluster(t, 1)
	fsAsNobody, dir := asNobody(t, tc)
	tree := filepath.Join(dir, "rotree")
	os.MkdirAll(filepath.Join(tree, "sub"), 0o755)
	os.WriteFile(filepath.Join(tree, "sub", "f"), []byte("a\n"), 0o644)
	os.WriteFile(filepath.Join(tree, "g"), []byte("b\n"), 0o644)
	os.Chmod(filepath.Join(tree, "sub"), 0o555)
	os.Chmod(tree, 0o555)
	if out, errs, code := carrot(t, tc.conf, nil, "fs", "put", "-r", tree, "/rotree"); code != 0 {
		t.Fatalf("put -r: %s%s", out, errs)
	}
	dest := filepath.Join(dir, "nobody", "got")
	if out, err := fsAsNobody("get", "-r", "/rotree", dest); err != nil {
		t.Fatalf("as nobody, get -r of a read-only tree: %v\n%s", err, out)
	}
	for p, want := range map[string]string{"sub/f": "a\n", "g": "b\n"} {
		if b, err := os.ReadFile(filepath.Join(dest, p)); err != nil || string(b) != want {
			t.Errorf("%s: %q %v", p, b, err)
		}
	}
	for _, p := range []string{dest, filepath.Join(dest, "sub")} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o555 {
			t.Errorf("%s: mode %v %v, want 0555", p, st.Mode(), err)
		}
	}
}

// TestFsGetKeepsTarget: get over an existing file keeps what cp keeps by
// writing in place: its owner (root restoring a user's file), and its
// hard links (written in place: a rename would leave the other name with
// the old content).
func TestFsGetKeepsTarget(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("SKIP: needs root to give a file to another user")
	}
	tc := newCluster(t, 1)
	if out, errs, code := carrot(t, tc.conf, strings.NewReader("new\n"), "fs", "put", "-", "/x"); code != 0 {
		t.Fatalf("put: %s%s", out, errs)
	}
	dir := t.TempDir()
	owned, linked := filepath.Join(dir, "owned"), filepath.Join(dir, "linked")
	for _, p := range []string{owned, linked} {
		os.WriteFile(p, []byte("old\n"), 0o644)
		os.Chown(p, 65534, 65534)
	}
	os.Link(linked, linked+".hl")
	for _, p := range []string{owned, linked} {
		if out, errs, code := carrot(t, tc.conf, nil, "fs", "get", "/x", p); code != 0 {
			t.Fatalf("get over %s: %s%s", p, out, errs)
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 65534 || sys.Gid != 65534 {
			t.Errorf("%s is now owned by %d:%d, want 65534:65534", p, sys.Uid, sys.Gid)
		}
	}
	if b, _ := os.ReadFile(linked + ".hl"); string(b) != "new\n" {
		t.Errorf("the other link holds %q: the file was replaced, not written", b)
	}
}

// TestPutTreeUnchanged: put -r over an earlier copy leaves the files whose
// content the cluster holds already (inline, in chunks, with a hole of
// zeros or not) as they are, and makes a new version of a changed one.
func TestPutTreeUnchanged(t *testing.T) {
	tc := newCluster(t, 2)
	src := t.TempDir()
	files := map[string][]byte{
		"small": []byte("a\n"),
		"big":   bytes.Repeat([]byte("0123456789abcdef"), 600_000), // several chunks
		"zeros": make([]byte, 5<<20),
	}
	for name, b := range files {
		os.WriteFile(filepath.Join(src, name), b, 0o644)
	}
	put := func() {
		t.Helper()
		if out, errs, code := carrot(t, tc.conf, nil, "fs", "put", "-r", src+"/.", "/copy"); code != 0 {
			t.Fatalf("put -r: %s%s", out, errs)
		}
	}
	version := func(name string) uint64 {
		t.Helper()
		in, err := tc.client(t, 1).Resolve(tctx(t), "/copy/"+name)
		if err != nil {
			t.Fatal(err)
		}
		return in.Version
	}
	if _, _, code := carrot(t, tc.conf, nil, "fs", "mkdir", "/copy"); code != 0 {
		t.Fatal("mkdir")
	}
	put()
	put()
	for name := range files {
		if v := version(name); v != 1 {
			t.Errorf("%s: version %d after a second put of the same tree, want 1", name, v)
		}
	}
	os.WriteFile(filepath.Join(src, "small"), []byte("b\n"), 0o644)
	put()
	if v := version("small"); v != 2 {
		t.Errorf("a changed file: version %d, want 2", v)
	}
	if out, _, _ := carrot(t, tc.conf, nil, "fs", "cat", "/copy/small"); out != "b\n" {
		t.Errorf("a changed file reads %q", out)
	}
}

// TestFsTerminatedIdleStdin: a SIGTERM to put - whose writer has gone
// quiet (the pipe open, nothing coming) ends it too, without waiting for
// the pipe to close.
func TestFsTerminatedIdleStdin(t *testing.T) {
	tc := newCluster(t, 2)
	cmd := exec.Command(carrotBin, "fs", "put", "-", "/idle")
	cmd.Env = append(os.Environ(), "CARROT_CONFIG="+tc.conf)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if _, err := in.Write(make([]byte, 1<<20)); err != nil { // carrot is reading
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("put - still waits for its quiet stdin after a SIGTERM")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 143 || !strings.Contains(errb.String(), "fs put: terminated (SIGTERM)") {
		t.Fatalf("carrot fs put under SIGTERM: %v %q", err, errb.String())
	}
}
