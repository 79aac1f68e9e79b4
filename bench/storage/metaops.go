package main

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carrot-project/carrot/internal/cluster"
	"github.com/carrot-project/carrot/internal/meta"
	"github.com/prometheus/client_golang/prometheus"
)

// pct is a latency distribution's median and 99th percentile.
type pct struct{ P50, P99 time.Duration }

func percentiles(d []time.Duration) pct {
	d = append([]time.Duration(nil), d...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return pct{d[len(d)/2], d[len(d)*99/100]}
}

// metaRun is one run of the metadata suite from one client.
type metaRun struct {
	Create1, Create16 float64 // files/s: create + write 4 KiB + close
	CreateLat         pct     // one client
	// WAL fsyncs per create (etcd's own metrics; in-process runs only).
	Fsyncs1, Fsyncs16 float64
	Reqs16            float64       // etcd requests per create, 16 threads (group commit)
	FsyncMean         time.Duration // during the one-client run
	EtcdPut           pct           // a bare etcd Put from this client: the floor
	Mkdir, Stat       pct
	StatCached        pct
	RenameDir         pct // a directory within its directory
	RenameOver        pct // a file over an existing file (atomic save)
	RenameAcross      pct // a directory to another directory
	DirTest           time.Duration
}

// walStats reads etcd's WAL fsync histogram (count, seconds).
type walStats func() (uint64, float64)

// etcdMetrics reads the embedded etcd's metrics (same process).
func etcdMetrics() (uint64, float64) {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return 0, 0
	}
	for _, mf := range mfs {
		if mf.GetName() == "etcd_disk_wal_fsync_duration_seconds" {
			for _, m := range mf.Metric {
				if h := m.Histogram; h != nil {
					return h.GetSampleCount(), h.GetSampleSum()
				}
			}
		}
	}
	return 0, 0
}

// creates makes total 4 KiB files with threads goroutines (create, write,
// close = one CreateFile) and returns files/s and the latencies.
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

// timed runs op n times and returns the latencies.
func timed(n int, op func(i int) error) (pct, error) {
	lat := make([]time.Duration, n)
	for i := range lat {
		s := time.Now()
		if err := op(i); err != nil {
			return pct{}, err
		}
		lat[i] = time.Since(s)
	}
	return percentiles(lat), nil
}

// metaSuite measures creates and metadata latency under root with cl;
// dialCached makes a client with the watch cache on; wal (nil for a
// separate process) reads etcd's WAL fsync counters.
func metaSuite(ctx context.Context, cl *cluster.Client, dialCached func() (*cluster.Client, error), root string, wal walStats) (metaRun, error) {
	var m metaRun
	var err error
	var n0 uint64
	var s0 float64
	if wal != nil {
		n0, s0 = wal()
	}
	if m.Create1, m.CreateLat, err = creates(ctx, cl, root+"/c1", *files, 1); err != nil {
		return m, err
	}
	if wal != nil {
		n1, s1 := wal()
		m.Fsyncs1 = float64(n1-n0) / float64(*files)
		if n1 > n0 {
			m.FsyncMean = time.Duration((s1 - s0) / float64(n1-n0) * float64(time.Second))
		}
		n0 = n1
	}
	e0 := cl.EtcdRPCs.Load()
	if m.Create16, _, err = creates(ctx, cl, root+"/c16", *files, 16); err != nil {
		return m, err
	}
	m.Reqs16 = float64(cl.EtcdRPCs.Load()-e0) / float64(*files)
	if wal != nil {
		n1, _ := wal()
		m.Fsyncs16 = float64(n1-n0) / float64(*files)
	}
	etcd := cl.Etcd()
	if m.EtcdPut, err = timed(*ops, func(i int) error {
		_, err := etcd.Put(ctx, fmt.Sprintf("%sbench-put%s/%d", cl.Conf.Prefix, root, i), "x")
		return err
	}); err != nil {
		return m, err
	}
	d, err := cl.MkdirAll(ctx, root+"/meta", 0o755)
	if err != nil {
		return m, err
	}
	if m.Mkdir, err = timed(*ops, func(i int) error {
		_, err := cl.Mkdir(ctx, d.Ino, fmt.Sprint("d", i), 0o755, 0, 0)
		return err
	}); err != nil {
		return m, err
	}
	sub, err := cl.Lookup(ctx, d.Ino, "d0")
	if err != nil {
		return m, err
	}
	if m.Stat, err = timed(*ops, func(int) error { _, err := cl.GetFresh(ctx, sub.Ino); return err }); err != nil {
		return m, err
	}
	cached, err := dialCached()
	if err != nil {
		return m, err
	}
	cached.Get(ctx, sub.Ino)
	m.StatCached, err = timed(*ops, func(int) error { _, err := cached.Get(ctx, sub.Ino); return err })
	cached.Close()
	if err != nil {
		return m, err
	}
	// Renames: a directory within its directory; a file over an existing
	// file (write a temporary, rename it over the real one); a directory
	// to another directory and back.
	if m.RenameDir, err = timed(*ops, func(i int) error {
		return cl.Rename(ctx, d.Ino, fmt.Sprint("d", i), d.Ino, fmt.Sprint("r", i), 0)
	}); err != nil {
		return m, err
	}
	tmp := []byte("saved\n")
	for i := range *ops {
		if _, err := cl.CreateFile(ctx, d.Ino, fmt.Sprint("tmp", i), 0o644, bytes.NewReader(tmp), cluster.WriteOptions{}); err != nil {
			return m, err
		}
	}
	if _, err := cl.CreateFile(ctx, d.Ino, "doc", 0o644, bytes.NewReader(tmp), cluster.WriteOptions{}); err != nil {
		return m, err
	}
	if m.RenameOver, err = timed(*ops, func(i int) error {
		return cl.Rename(ctx, d.Ino, fmt.Sprint("tmp", i), d.Ino, "doc", 0)
	}); err != nil {
		return m, err
	}
	other, err := cl.MkdirAll(ctx, root+"/other/deeper", 0o755)
	if err != nil {
		return m, err
	}
	if m.RenameAcross, err = timed(*ops, func(i int) error {
		return cl.Rename(ctx, d.Ino, fmt.Sprint("r", i), other.Ino, fmt.Sprint("m", i), 0)
	}); err != nil {
		return m, err
	}
	// The paper's directory-heavy test: many directories, a file in each.
	hd, err := cl.MkdirAll(ctx, root+"/dirtest", 0o755)
	if err != nil {
		return m, err
	}
	start := time.Now()
	payload := []byte("carrot\n")
	for i := range *dirs {
		sd, err := cl.Mkdir(ctx, hd.Ino, fmt.Sprint("dir", i), 0o755, 0, 0)
		if err != nil {
			return m, err
		}
		if _, err := cl.CreateFile(ctx, sd.Ino, "file", 0o644, bytes.NewReader(payload), cluster.WriteOptions{}); err != nil {
			return m, err
		}
	}
	m.DirTest = time.Since(start)
	return m, nil
}

// rpcs is a count of etcd and storage-node requests.
type rpcs struct{ etcd, chunk float64 }

// rpcCounts are the requests of one operation (measured on the first run).
type rpcCounts struct {
	meta                     metaRPCs
	createChunk              rpcs
	putPerChunk, getPerChunk float64
}

type metaRPCs struct {
	mkdir, stat, renameDir, renameOver, renameAcross, create rpcs
}

func count(cl *cluster.Client, op func() error) (rpcs, error) {
	e0, c0 := cl.EtcdRPCs.Load(), cl.ChunkRPCs.Load()
	if err := op(); err != nil {
		return rpcs{}, err
	}
	return rpcs{float64(cl.EtcdRPCs.Load() - e0), float64(cl.ChunkRPCs.Load() - c0)}, nil
}

func countMetaRPCs(ctx context.Context, cl *cluster.Client) (metaRPCs, error) {
	var m metaRPCs
	d, err := cl.MkdirAll(ctx, "/rpc/a", 0o755)
	if err != nil {
		return m, err
	}
	e, err := cl.MkdirAll(ctx, "/rpc/b", 0o755)
	if err != nil {
		return m, err
	}
	cl.Rename(ctx, d.Ino, "x", d.Ino, "y", 0) // learn the ancestors, as a working client has
	steps := []struct {
		r       *rpcs
		prepare func() error
		op      func() error
	}{
		{&m.mkdir, nil, func() error { _, err := cl.Mkdir(ctx, d.Ino, "dir", 0o755, 0, 0); return err }},
		{&m.stat, nil, func() error { _, err := cl.GetFresh(ctx, d.Ino); return err }},
		{&m.renameDir, nil, func() error { return cl.Rename(ctx, d.Ino, "dir", d.Ino, "dir2", 0) }},
		{&m.create, nil, func() error {
			_, err := cl.CreateFile(ctx, d.Ino, "file", 0o644, bytes.NewReader(make([]byte, 4096)), cluster.WriteOptions{})
			return err
		}},
		{&m.renameOver, func() error {
			_, err := cl.CreateFile(ctx, d.Ino, "tmp", 0o644, bytes.NewReader(nil), cluster.WriteOptions{})
			return err
		}, func() error { return cl.Rename(ctx, d.Ino, "tmp", d.Ino, "file", 0) }},
		{&m.renameAcross, nil, func() error { return cl.Rename(ctx, d.Ino, "dir2", e.Ino, "dir3", 0) }},
	}
	for _, s := range steps {
		if s.prepare != nil {
			if err := s.prepare(); err != nil {
				return m, err
			}
		}
		if *s.r, err = count(cl, s.op); err != nil {
			return m, err
		}
	}
	return m, nil
}

// chunkedRun is one run of creates with inlining off.
type chunkedRun struct{ Create1, Create16 float64 }

func measureChunked(ctx context.Context, cl *cluster.Client, countRPCs bool, rc *rpcCounts) (chunkedRun, error) {
	var r chunkedRun
	var err error
	if r.Create1, _, err = creates(ctx, cl, "/k1", *files/5, 1); err != nil {
		return r, err
	}
	if r.Create16, _, err = creates(ctx, cl, "/k16", *files/5, 16); err != nil {
		return r, err
	}
	if countRPCs {
		rc.createChunk, err = count(cl, func() error {
			_, err := cl.CreateFile(ctx, meta.RootIno, "rpc-create", 0o644, bytes.NewReader(make([]byte, 4096)), cluster.WriteOptions{})
			return err
		})
	}
	return r, err
}
