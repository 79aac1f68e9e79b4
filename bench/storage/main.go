// Command storage benchmarks the storage cluster on 1, 3 and 5 local nodes
// (R=2, or 1 on one node) in one run, against plain local-disk baselines
// measured in the same run, and prints a Markdown report (the one in
// docs/benchmarks.md, "Storage cluster").
//
//	go run ./bench/storage [-nodes 1,3,5] [-size 1024] [-files 10000] [-dir /var/tmp]
//
// Each cluster is the embedded one of `carrot up` (real etcd, real gRPC
// nodes on loopback) in a fresh directory; the client is the library
// internal/cluster, in this process, as `carrot fs` and `carrot run` use it.
// Cold-cache figures drop the page cache (root only) before each read.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carrot-project/carrot/internal/cluster"
	"github.com/carrot-project/carrot/internal/cluster/embedded"
	"github.com/carrot-project/carrot/internal/meta"
)

var (
	nodesFlag = flag.String("nodes", "1,3,5", "cluster sizes to measure")
	sizeMiB   = flag.Int("size", 1024, "MiB of the large file")
	files     = flag.Int("files", 10000, "small files per create run")
	ops       = flag.Int("ops", 1000, "operations per metadata latency run")
	dirs      = flag.Int("dirs", 1000, "directories in the directory-heavy test")
	baseDir   = flag.String("dir", os.TempDir(), "where clusters and the test file live")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type result struct {
	n                              int
	putMBs, getMBs, getColdMBs     float64
	create1, create16              float64 // files/s, inline (default)
	create1Chunk, create16Chunk    float64 // files/s, inline off
	mkdir, statFresh, statCached   pct
	rename, createLat              pct
	dirTest                        time.Duration
	rpcMkdir, rpcStat, rpcRename   rpcs
	rpcCreate, rpcCreateChunk      rpcs
	rpcPutPerChunk, rpcGetPerChunk float64
}

type pct struct{ p50, p99 time.Duration }
type rpcs struct{ etcd, chunk float64 }

func percentiles(d []time.Duration) pct {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return pct{d[len(d)/2], d[len(d)*99/100]}
}

func dropCaches() bool {
	if os.Geteuid() != 0 {
		return false
	}
	exec.Command("sync").Run()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0) == nil
}

func mbps(bytes int64, d time.Duration) float64 { return float64(bytes) / (1 << 20) / d.Seconds() }

func run() error {
	ctx := context.Background()
	work, err := os.MkdirTemp(*baseDir, "carrot-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	size := int64(*sizeMiB) << 20
	src := filepath.Join(work, "large")
	if err := writeRandom(src, size); err != nil {
		return err
	}
	// Baselines: cat of the same file, warm and cold; a local write with fsync.
	catWarm := timeCat(src)
	canDrop := dropCaches()
	catCold := timeCat(src)
	if !canDrop {
		catCold = 0
	}
	diskWrite, err := timeLocalWrite(filepath.Join(work, "copy"), src)
	if err != nil {
		return err
	}
	var results []result
	for _, f := range strings.Split(*nodesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: %d node(s)\n", n)
		r, err := measure(ctx, work, n, src, size, canDrop)
		if err != nil {
			return fmt.Errorf("%d nodes: %w", n, err)
		}
		results = append(results, r)
	}
	report(results, size, catWarm, catCold, diskWrite)
	return nil
}

func writeRandom(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 4<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		rand.Read(buf)
		if _, err := f.Write(buf[:min(int64(len(buf)), size-off)]); err != nil {
			return err
		}
	}
	return f.Sync()
}

func timeCat(path string) float64 {
	st, _ := os.Stat(path)
	start := time.Now()
	cmd := exec.Command("cat", path)
	cmd.Stdout = io.Discard
	if cmd.Run() != nil {
		return 0
	}
	return mbps(st.Size(), time.Since(start))
}

func timeLocalWrite(dst, src string) (float64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	n, err := io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	out.Close()
	os.Remove(dst)
	return mbps(n, time.Since(start)), err
}

func startCluster(ctx context.Context, dir string, n, inline int) (*embedded.Cluster, *cluster.Client, error) {
	p := meta.DefaultParams()
	p.Replicas = min(2, n)
	p.InlineMax = inline
	p.RepairInterval = time.Hour // measure the data path, not the repairer
	c, err := embedded.Start(ctx, embedded.Options{Dir: dir, Nodes: n, Params: p})
	if err != nil {
		return nil, nil, err
	}
	cl, err := cluster.Dial(ctx, c.Conf, cluster.Options{})
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	if err := cl.WaitNodes(ctx, n, 30*time.Second); err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, cl, nil
}

func measure(ctx context.Context, work string, n int, src string, size int64, canDrop bool) (result, error) {
	r := result{n: n}
	dir := filepath.Join(work, fmt.Sprintf("cluster-%d", n))
	c, cl, err := startCluster(ctx, dir, n, meta.DefaultParams().InlineMax)
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	defer c.Close()
	defer cl.Close()

	// Large file: put, get warm, get cold.
	f, err := os.Open(src)
	if err != nil {
		return r, err
	}
	e0, c0 := cl.EtcdRPCs.Load(), cl.ChunkRPCs.Load()
	start := time.Now()
	in, err := cl.CreateFile(ctx, meta.RootIno, "large", 0o644, f, cluster.WriteOptions{})
	f.Close()
	if err != nil {
		return r, err
	}
	r.putMBs = mbps(size, time.Since(start))
	chunks := float64(len(in.Chunks))
	r.rpcPutPerChunk = float64(cl.ChunkRPCs.Load()-c0) / chunks
	_ = e0
	c0 = cl.ChunkRPCs.Load()
	start = time.Now()
	rd, err := cl.Open(ctx, in.Ino, 0)
	if err != nil {
		return r, err
	}
	if _, err := rd.WriteTo(io.Discard); err != nil {
		return r, err
	}
	r.getMBs = mbps(size, time.Since(start))
	r.rpcGetPerChunk = float64(cl.ChunkRPCs.Load()-c0) / chunks
	if canDrop {
		dropCaches()
		start = time.Now()
		rd, _ := cl.Open(ctx, in.Ino, 0)
		if _, err := rd.WriteTo(io.Discard); err != nil {
			return r, err
		}
		r.getColdMBs = mbps(size, time.Since(start))
	}
	if err := cl.Unlink(ctx, meta.RootIno, "large"); err != nil {
		return r, err
	}

	// Small files, inline (the default).
	r.create1, r.createLat, err = creates(ctx, cl, "/c1", *files, 1)
	if err != nil {
		return r, err
	}
	r.create16, _, err = creates(ctx, cl, "/c16", *files, 16)
	if err != nil {
		return r, err
	}
	r.rpcCreate = count(cl, func() error {
		_, err := cl.CreateFile(ctx, meta.RootIno, "rpc-create", 0o644, bytes.NewReader(make([]byte, 4096)), cluster.WriteOptions{})
		return err
	})

	// Metadata latency.
	d, err := cl.MkdirAll(ctx, "/meta", 0o755)
	if err != nil {
		return r, err
	}
	lat := make([]time.Duration, *ops)
	for i := range lat {
		s := time.Now()
		if _, err := cl.Mkdir(ctx, d.Ino, fmt.Sprint("d", i), 0o755, 0, 0); err != nil {
			return r, err
		}
		lat[i] = time.Since(s)
	}
	r.mkdir = percentiles(lat)
	sub, _ := cl.Lookup(ctx, d.Ino, "d0")
	for i := range lat {
		s := time.Now()
		if _, err := cl.GetFresh(ctx, sub.Ino); err != nil {
			return r, err
		}
		lat[i] = time.Since(s)
	}
	r.statFresh = percentiles(lat)
	cached, err := cluster.Dial(ctx, c.Conf, cluster.Options{Cache: true})
	if err != nil {
		return r, err
	}
	cached.Get(ctx, sub.Ino)
	for i := range lat {
		s := time.Now()
		if _, err := cached.Get(ctx, sub.Ino); err != nil {
			return r, err
		}
		lat[i] = time.Since(s)
	}
	cached.Close()
	r.statCached = percentiles(lat)
	for i := range lat {
		s := time.Now()
		if err := cl.Rename(ctx, d.Ino, fmt.Sprint("d", i), d.Ino, fmt.Sprint("r", i), 0); err != nil {
			return r, err
		}
		lat[i] = time.Since(s)
	}
	r.rename = percentiles(lat)
	r.rpcMkdir = count(cl, func() error { _, err := cl.Mkdir(ctx, d.Ino, "rpc", 0o755, 0, 0); return err })
	r.rpcStat = count(cl, func() error { _, err := cl.GetFresh(ctx, sub.Ino); return err })
	r.rpcRename = count(cl, func() error { return cl.Rename(ctx, d.Ino, "rpc", d.Ino, "rpc2", 0) })

	// The paper's directory-heavy test: many directories, a file in each.
	hd, err := cl.MkdirAll(ctx, "/dirtest", 0o755)
	if err != nil {
		return r, err
	}
	start = time.Now()
	payload := []byte("carrot\n")
	for i := range *dirs {
		sd, err := cl.Mkdir(ctx, hd.Ino, fmt.Sprint("dir", i), 0o755, 0, 0)
		if err != nil {
			return r, err
		}
		if _, err := cl.CreateFile(ctx, sd.Ino, "file", 0o644, bytes.NewReader(payload), cluster.WriteOptions{}); err != nil {
			return r, err
		}
	}
	r.dirTest = time.Since(start)

	// Small files with inlining off: every file is a chunk on R nodes.
	cl.Close()
	c.Close()
	os.RemoveAll(dir)
	c, cl, err = startCluster(ctx, dir, n, 0)
	if err != nil {
		return r, err
	}
	defer c.Close()
	defer cl.Close()
	r.create1Chunk, _, err = creates(ctx, cl, "/k1", *files/5, 1)
	if err != nil {
		return r, err
	}
	r.create16Chunk, _, err = creates(ctx, cl, "/k16", *files/5, 16)
	if err != nil {
		return r, err
	}
	r.rpcCreateChunk = count(cl, func() error {
		_, err := cl.CreateFile(ctx, meta.RootIno, "rpc-create", 0o644, bytes.NewReader(make([]byte, 4096)), cluster.WriteOptions{})
		return err
	})
	return r, nil
}

func count(cl *cluster.Client, op func() error) rpcs {
	e0, c0 := cl.EtcdRPCs.Load(), cl.ChunkRPCs.Load()
	if err := op(); err != nil {
		fmt.Fprintln(os.Stderr, "bench: rpc count op:", err)
	}
	return rpcs{float64(cl.EtcdRPCs.Load() - e0), float64(cl.ChunkRPCs.Load() - c0)}
}

// creates makes total 4 KiB files with threads goroutines (create, write,
// close = one CreateFile) and returns files/s and the latency percentiles.
func creates(ctx context.Context, cl *cluster.Client, dir string, total, threads int) (float64, pct, error) {
	d, err := cl.MkdirAll(ctx, dir, 0o755)
	if err != nil {
		return 0, pct{}, err
	}
	data := make([]byte, 4096)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	lat := make([]time.Duration, total)
	start := time.Now()
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				s := time.Now()
				_, err := cl.CreateFile(ctx, d.Ino, fmt.Sprint("f", i), 0o644, bytes.NewReader(data), cluster.WriteOptions{})
				lat[i] = time.Since(s)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if firstErr != nil {
		return 0, pct{}, firstErr
	}
	return float64(total) / el.Seconds(), percentiles(lat), nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/1e6) }

func report(rs []result, size int64, catWarm, catCold, diskWrite float64) {
	p := func(f string, a ...any) { fmt.Printf(f, a...) }
	p("Large file: %d MiB; small files: %d of 4 KiB; %d ops per latency figure; %d directories in the directory test.\n\n", size>>20, *files, *ops, *dirs)
	p("Baselines in the same run: `cat` of the file %.0f MiB/s warm", catWarm)
	if catCold > 0 {
		p(", %.0f MiB/s cold (page cache dropped)", catCold)
	}
	p("; local write+fsync of it %.0f MiB/s.\n\n", diskWrite)
	p("| nodes (R) | put MiB/s | get MiB/s warm | get/cat warm | get MiB/s cold | get/cat cold | put/local write |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		cold, coldRatio := "n/a", "n/a"
		if r.getColdMBs > 0 && catCold > 0 {
			cold, coldRatio = fmt.Sprintf("%.0f", r.getColdMBs), fmt.Sprintf("%.2f", r.getColdMBs/catCold)
		}
		p("| %d (%d) | %.0f | %.0f | %.2f | %s | %s | %.2f |\n", r.n, min(2, r.n), r.putMBs, r.getMBs, r.getMBs/catWarm, cold, coldRatio, r.putMBs/diskWrite)
	}
	p("\n| nodes | creates/s 1 client | creates/s 16 threads | vs JuiceFS 1,410/s | create p50 / p99 ms | creates/s, inline off, 1 / 16 |\n|---|---|---|---|---|---|\n")
	for _, r := range rs {
		p("| %d | %.0f | %.0f | %.2f | %s / %s | %.0f / %.0f |\n", r.n, r.create1, r.create16, r.create1/1410, ms(r.createLat.p50), ms(r.createLat.p99), r.create1Chunk, r.create16Chunk)
	}
	p("\n| nodes | mkdir p50 / p99 ms | stat p50 / p99 ms (etcd read) | stat p50 ms (watch cache) | rename p50 / p99 ms | dir test: %d × (mkdir + create) |\n|---|---|---|---|---|---|\n", *dirs)
	for _, r := range rs {
		p("| %d | %s / %s | %s / %s | %s | %s / %s | %s ms (%.2f ms per dir) |\n", r.n, ms(r.mkdir.p50), ms(r.mkdir.p99), ms(r.statFresh.p50), ms(r.statFresh.p99), ms(r.statCached.p50), ms(r.rename.p50), ms(r.rename.p99), ms(r.dirTest), float64(r.dirTest.Microseconds())/1000/float64(*dirs))
	}
	first, last := rs[0], rs[len(rs)-1]
	p("\nScaling, %d nodes / %d node(s): mkdir p50 %.2fx, stat p50 %.2fx, rename p50 %.2fx, directory test %.2fx, creates/s %.2fx, get %.2fx, put %.2fx.\n",
		last.n, first.n, ratio(last.mkdir.p50, first.mkdir.p50), ratio(last.statFresh.p50, first.statFresh.p50),
		ratio(last.rename.p50, first.rename.p50), ratio(last.dirTest, first.dirTest), last.create1/first.create1, last.getMBs/first.getMBs, last.putMBs/first.putMBs)
	p("\nRPCs per operation (etcd / storage node):\n\n| nodes | mkdir | stat | rename | create 4 KiB inline | create 4 KiB chunked | put, per 4 MiB chunk | get, per chunk |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		p("| %d | %.0f / %.0f | %.0f / %.0f | %.0f / %.0f | %.0f / %.0f | %.0f / %.0f | - / %.2f | - / %.2f |\n", r.n, r.rpcMkdir.etcd, r.rpcMkdir.chunk, r.rpcStat.etcd, r.rpcStat.chunk,
			r.rpcRename.etcd, r.rpcRename.chunk, r.rpcCreate.etcd, r.rpcCreate.chunk, r.rpcCreateChunk.etcd, r.rpcCreateChunk.chunk, r.rpcPutPerChunk, r.rpcGetPerChunk)
	}
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }
