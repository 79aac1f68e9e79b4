package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/carrot-project/carrot/internal/cluster"
	"github.com/carrot-project/carrot/internal/meta"
)

// dataRun is one run of the large-file phase, MiB/s unless named.
type dataRun struct {
	Put, LocalWrite          float64
	GetWarm, CatWarm         float64
	GetCold, CatCold         float64 // 0: page cache not dropped (not root)
	GetCPU                   float64 // CPU seconds (whole process: client and nodes) per GiB got, warm
	Others                   float64 // cores other processes used during the warm get
	PutPerChunk, GetPerChunk float64 // storage-node RPCs
}

func dropCaches() bool {
	if os.Geteuid() != 0 {
		return false
	}
	exec.Command("sync").Run()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0) == nil
}

func mbps(bytes int64, d time.Duration) float64 { return float64(bytes) / (1 << 20) / d.Seconds() }

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

func timeCat(path string) (float64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	cmd := exec.Command("cat", path)
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		return 0, err
	}
	return mbps(st.Size(), time.Since(start)), nil
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

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// busyTime is the CPU time the whole machine has spent (all processes).
func busyTime() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var busy int64
	for i, f := range strings.Fields(line)[1:] {
		// user nice system (idle iowait) irq softirq steal; not guest
		if v, _ := strconv.ParseInt(f, 10, 64); i < 8 && i != 3 && i != 4 {
			busy += v
		}
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}

// lastOthers is how many cores other processes used during the last get.
var lastOthers float64

// get reads the whole file through the client and returns MiB/s and the
// CPU seconds per GiB this process spent.
func get(ctx context.Context, cl *cluster.Client, ino uint64, size int64) (float64, float64, error) {
	c0, b0 := cpuTime(), busyTime()
	defer func(start time.Time) {
		lastOthers = max(0, (busyTime()-b0-(cpuTime()-c0)).Seconds()/time.Since(start).Seconds())
	}(time.Now())
	start := time.Now()
	rd, err := cl.Open(ctx, ino, 0)
	if err != nil {
		return 0, 0, err
	}
	if _, err := rd.WriteTo(io.Discard); err != nil {
		return 0, 0, err
	}
	el := time.Since(start)
	return mbps(size, el), (cpuTime() - c0).Seconds() / (float64(size) / (1 << 30)), nil
}

// measureData puts the large file, then gets it warm and cold, each right
// after a cat of the local copy in the same state.
func measureData(ctx context.Context, cl *cluster.Client, src string, size int64, count bool, rc *rpcCounts) (dataRun, error) {
	var d dataRun
	var err error
	if d.LocalWrite, err = timeLocalWrite(src+".copy", src); err != nil {
		return d, err
	}
	f, err := os.Open(src)
	if err != nil {
		return d, err
	}
	c0 := cl.ChunkRPCs.Load()
	start := time.Now()
	in, err := cl.CreateFile(ctx, meta.RootIno, "large", 0o644, f, cluster.WriteOptions{})
	f.Close()
	if err != nil {
		return d, err
	}
	d.Put = mbps(size, time.Since(start))
	chunks := float64(len(in.Chunks))
	d.PutPerChunk = float64(cl.ChunkRPCs.Load()-c0) / chunks
	// Warm: both the local file and the nodes' chunk files are cached
	// (the put just wrote them); one get first to be sure.
	if _, _, err := get(ctx, cl, in.Ino, size); err != nil {
		return d, err
	}
	if d.CatWarm, err = timeCat(src); err != nil {
		return d, err
	}
	c0 = cl.ChunkRPCs.Load()
	if d.GetWarm, d.GetCPU, err = get(ctx, cl, in.Ino, size); err != nil {
		return d, err
	}
	d.Others = lastOthers
	d.GetPerChunk = float64(cl.ChunkRPCs.Load()-c0) / chunks
	if dropCaches() {
		if d.CatCold, err = timeCat(src); err != nil {
			return d, err
		}
		dropCaches()
		if d.GetCold, _, err = get(ctx, cl, in.Ino, size); err != nil {
			return d, err
		}
	}
	if count {
		rc.putPerChunk, rc.getPerChunk = d.PutPerChunk, d.GetPerChunk
	}
	return d, cl.Unlink(ctx, meta.RootIno, "large")
}

// baselines are measured once, before the clusters.
type baselines struct {
	fsyncP50, fsyncP99 time.Duration // 4 KiB write + fdatasync of a preallocated file
	rttP50, rttP99     time.Duration // 64-byte TCP ping-pong with another process
}

// runEcho accepts one connection on loopback, prints its address first,
// and echoes it.
func runEcho() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr())
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	_, err = io.Copy(c, c)
	return err
}

// measureRTT times round trips to an echo process: what any request to
// another process on this machine costs at least (both sides wake up).
func measureRTT() (pct, error) {
	cmd := exec.Command(os.Args[0], "-echo")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return pct{}, err
	}
	if err := cmd.Start(); err != nil {
		return pct{}, err
	}
	defer cmd.Process.Kill()
	defer cmd.Wait()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return pct{}, err
	}
	c, err := net.Dial("tcp", strings.TrimSpace(addr))
	if err != nil {
		return pct{}, err
	}
	defer c.Close()
	buf := make([]byte, 64)
	lat := make([]time.Duration, 2000)
	for i := range lat {
		s := time.Now()
		if _, err := c.Write(buf); err != nil {
			return pct{}, err
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			return pct{}, err
		}
		lat[i] = time.Since(s)
	}
	return percentiles(lat), nil
}

func measureBaselines(work string) (baselines, error) {
	var b baselines
	f, err := os.Create(filepath.Join(work, "fsync-probe"))
	if err != nil {
		return b, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	// Preallocated, as etcd's WAL is: fdatasync then flushes data only.
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, 64<<20); err != nil {
		return b, fmt.Errorf("fallocate: %w", err)
	}
	f.Sync()
	buf := make([]byte, 4096)
	lat := make([]time.Duration, 1000)
	for i := range lat {
		s := time.Now()
		if _, err := f.WriteAt(buf, int64(i)*4096); err != nil {
			return b, err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return b, err
		}
		lat[i] = time.Since(s)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.fsyncP50, b.fsyncP99 = lat[len(lat)/2], lat[len(lat)*99/100]
	rtt, err := measureRTT()
	if err != nil {
		return b, fmt.Errorf("round-trip baseline: %w", err)
	}
	b.rttP50, b.rttP99 = rtt.P50, rtt.P99
	return b, nil
}
