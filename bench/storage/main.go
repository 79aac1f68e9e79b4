// Command storage benchmarks the storage cluster on 1, 3 and 5 local nodes
// (R=2, or 1 on one node), against plain local-disk baselines measured in
// the same run, and prints a Markdown report (the one in docs/benchmarks.md,
// "Storage cluster").
//
//	go run ./bench/storage [-nodes 1,3,5] [-runs 3] [-size 1024] [-files 10000] [-dir /var/tmp]
//
// Each cluster is the embedded one of `carrot up` (real etcd, real gRPC
// nodes over mutual TLS on loopback) in a fresh directory. Every figure is
// measured -runs times, each time on a fresh cluster, and reported as the
// median with the range [min–max] of the runs: the machine may be shared.
// The data path uses the client library internal/cluster in this process,
// talking gRPC to the nodes; get throughput is compared with `cat` of the
// same file measured right before it in the same run (warm, then with the
// page cache dropped, as root). Metadata figures are measured twice: with
// the client in the cluster's process (an in-process etcd client, as the
// embedded default of `carrot run` uses), and from a separate process (as
// `carrot fs` against `carrot up`: this binary re-executed with -child),
// once with its KV calls through the cluster's kv socket (the default on
// the cluster's machine, internal/kvsock) and once through etcd's gRPC over
// mutual TLS (the path from any other machine).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/carrot-project/carrot/internal/cluster"
	"github.com/carrot-project/carrot/internal/cluster/embedded"
	"github.com/carrot-project/carrot/internal/clusterconf"
	"github.com/carrot-project/carrot/internal/meta"
)

var (
	nodesFlag  = flag.String("nodes", "1,3,5", "cluster sizes to measure")
	runs       = flag.Int("runs", 3, "runs of every measurement (median and range reported)")
	sizeMiB    = flag.Int("size", 1024, "MiB of the large file")
	files      = flag.Int("files", 10000, "small files per create run")
	ops        = flag.Int("ops", 1000, "operations per metadata latency figure")
	dirs       = flag.Int("dirs", 1000, "directories in the directory-heavy test")
	baseDir    = flag.String("dir", os.TempDir(), "where clusters and the test file live")
	phasesFlag = flag.String("phases", "data,meta,chunked", "what to measure: data (put/get of the large file), meta (creates and metadata latency, in-process and separate process), chunked (creates with inlining off)")
	cpuProfile = flag.String("cpuprofile", "", "write a CPU profile of this process (and of each separate client process, to FILE.child-RUN-grpc-BOOL)")

	child     = flag.Bool("child", false, "internal: run the metadata suite as a separate client process")
	echo      = flag.Bool("echo", false, "internal: echo one TCP connection (round-trip baseline)")
	childConf = flag.String("conf", "", "internal: the cluster config (with -child)")
	childRoot = flag.String("root", "", "internal: the directory the suite works in (with -child)")
	childGRPC = flag.Bool("grpc", false, "internal: send KV calls through etcd's gRPC, not the kv socket (with -child)")
)

func main() {
	flag.Parse()
	if *echo {
		if err := runEcho(); err != nil {
			fmt.Fprintln(os.Stderr, "bench echo:", err)
			os.Exit(1)
		}
		return
	}
	// The profile covers this process, whether it runs the benchmark or a
	// separate client's suite.
	name, work := "bench", run
	if *child {
		name, work = "bench child", runChild
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, name+":", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
	}
	err := work()
	pprof.StopCPUProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// runChild runs the metadata suite against the cluster a config names,
// over gRPC, and prints the result as JSON.
func runChild() error {
	ctx := context.Background()
	conf, err := clusterconf.Load(*childConf)
	if err != nil {
		return err
	}
	if *childGRPC {
		conf.KVSocket = ""
	}
	cl, err := cluster.Dial(ctx, conf, cluster.Options{})
	if err != nil {
		return err
	}
	defer cl.Close()
	r, err := metaSuite(ctx, cl, func() (*cluster.Client, error) {
		return cluster.Dial(ctx, conf, cluster.Options{Cache: true})
	}, *childRoot, nil)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// result is everything measured on one cluster size, one entry per run.
type result struct {
	n           int
	data        []dataRun
	inproc      []metaRun
	process     []metaRun // through the cluster's kv socket
	processGRPC []metaRun // through etcd's gRPC
	chunked     []chunkedRun
	rpc         rpcCounts
}

func phase(name string) bool { return slices.Contains(strings.Split(*phasesFlag, ","), name) }

func run() error {
	ctx := context.Background()
	work, err := os.MkdirTemp(*baseDir, "carrot-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	size := int64(*sizeMiB) << 20
	src := filepath.Join(work, "large")
	if phase("data") {
		if err := writeRandom(src, size); err != nil {
			return err
		}
	}
	base, err := measureBaselines(work)
	if err != nil {
		return err
	}
	// Runs are interleaved (1, 3, 5 nodes, then again), so a change in
	// the machine's load during the benchmark spreads over every size.
	var results []*result
	for _, f := range strings.Split(*nodesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return err
		}
		results = append(results, &result{n: n})
	}
	for k := range *runs {
		for _, r := range results {
			fmt.Fprintf(os.Stderr, "bench: run %d of %d, %d node(s)\n", k+1, *runs, r.n)
			if err := measure(ctx, work, r, k, src, size); err != nil {
				return fmt.Errorf("%d nodes: %w", r.n, err)
			}
		}
	}
	report(results, size, base)
	return nil
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
	cl, err := cluster.Dial(ctx, c.Conf, cluster.Options{Etcd: c.EtcdClient()})
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	if err := cl.WaitNodes(ctx, n, 30*time.Second); err != nil {
		cl.Close()
		c.Close()
		return nil, nil, err
	}
	return c, cl, nil
}

// settle flushes what earlier phases wrote and lets the disk go quiet, so
// their write-back does not land in the metadata phase's fsyncs.
func settle() {
	syscall.Sync()
	time.Sleep(2 * time.Second)
}

// measure runs every phase once on a fresh cluster of r.n nodes.
func measure(ctx context.Context, work string, r *result, k int, src string, size int64) error {
	dir := filepath.Join(work, fmt.Sprintf("cluster-%d-%d", r.n, k))
	defer os.RemoveAll(dir)
	c, cl, err := startCluster(ctx, dir, r.n, meta.DefaultParams().InlineMax)
	if err != nil {
		return err
	}
	defer c.Close()
	defer cl.Close()
	if phase("data") {
		d, err := measureData(ctx, cl, src, size, k == 0, &r.rpc)
		if err != nil {
			return err
		}
		r.data = append(r.data, d)
	}
	if phase("meta") {
		settle()
		// In this process: the cluster's own etcd, called directly.
		m, err := metaSuite(ctx, cl, func() (*cluster.Client, error) {
			return cluster.Dial(ctx, c.Conf, cluster.Options{Cache: true, Etcd: c.EtcdClient()})
		}, "/inproc", etcdMetrics)
		if err != nil {
			return err
		}
		r.inproc = append(r.inproc, m)
		if k == 0 {
			if r.rpc.meta, err = countMetaRPCs(ctx, cl); err != nil {
				return err
			}
		}
		// A separate process, as carrot fs: its KV calls through the
		// cluster's kv socket, then through etcd's gRPC (mutual TLS).
		for _, grpc := range []bool{false, true} {
			args := []string{"-child", "-conf", c.ConfPath, "-root", fmt.Sprintf("/process-%v", grpc),
				"-grpc=" + fmt.Sprint(grpc), "-files", fmt.Sprint(*files), "-ops", fmt.Sprint(*ops), "-dirs", fmt.Sprint(*dirs)}
			if *cpuProfile != "" {
				// The separate process's own profile, beside this one's.
				args = append(args, "-cpuprofile", fmt.Sprintf("%s.child-%d-grpc-%v", *cpuProfile, k, grpc))
			}
			out, err := exec.Command(os.Args[0], args...).Output()
			if err != nil {
				if ee, ok := err.(*exec.ExitError); ok {
					return fmt.Errorf("child: %v: %s", err, ee.Stderr)
				}
				return err
			}
			var pm metaRun
			if err := json.Unmarshal(out, &pm); err != nil {
				return fmt.Errorf("child output: %v: %s", err, out)
			}
			if grpc {
				r.processGRPC = append(r.processGRPC, pm)
			} else {
				r.process = append(r.process, pm)
			}
		}
	}
	if phase("chunked") {
		// Small files with inlining off: every file is a chunk on R nodes.
		cl.Close()
		c.Close()
		os.RemoveAll(dir)
		c2, cl2, err := startCluster(ctx, dir, r.n, 0)
		if err != nil {
			return err
		}
		defer c2.Close()
		defer cl2.Close()
		ch, err := measureChunked(ctx, cl2, k == 0, &r.rpc)
		if err != nil {
			return err
		}
		r.chunked = append(r.chunked, ch)
	}
	return nil
}
