package netroute_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/carrot-project/carrot/internal/netns"
)

// curlTimes are curl's -w timings of one transfer, in seconds.
type curlTimes struct {
	lookup, connect, ttfb, total, speed float64
}

const curlFormat = `%{time_namelookup} %{time_connect} %{time_starttransfer} %{time_total} %{speed_download}\n`

func parseCurl(out string) (curlTimes, error) {
	var ts []curlTimes
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 5 {
			continue
		}
		var v [5]float64
		for i := range f {
			x, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return curlTimes{}, fmt.Errorf("curl -w output %q: %v", line, err)
			}
			v[i] = x
		}
		ts = append(ts, curlTimes{v[0], v[1], v[2], v[3], v[4]})
	}
	if len(ts) == 0 {
		return curlTimes{}, fmt.Errorf("no curl -w line in %q", out)
	}
	return ts[len(ts)-1], nil
}

// cpu is CPU time used by this process (the origin's servers run in it) and
// by its waited-for descendants (curl and carrot run).
type cpu struct{ self, client time.Duration }

func cpuUse() cpu {
	var self, children unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &self)
	unix.Getrusage(unix.RUSAGE_CHILDREN, &children)
	d := func(r *unix.Rusage) time.Duration {
		return time.Duration(r.Utime.Nano() + r.Stime.Nano())
	}
	return cpu{self: d(&self), client: d(&children)}
}

// machineBusy is the CPU time all CPUs spent not idle (/proc/stat), softirq
// included: on this VM the exits, the origin and the client share it.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy int64
	for i, x := range f[1:] {
		v, _ := strconv.ParseInt(x, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}

// BenchmarkRun measures `carrot run --exit` in the censored network with
// real `carrot exit` processes (see docs/benchmarks.md, "Network: exits"):
//
//   - Get/*: an HTTP GET of a small page with curl, as the paper's Table 2:
//     time to first byte and total (curl's own timings), the TCP connect
//     phase (time_connect - time_namelookup: what carrot adds to connection
//     setup), and the wall time of the whole command, carrot's start and
//     the program's included. direct: curl on an uncensored host next to
//     the origin; 1exit: carrot run in the censored client with one working
//     exit; 3exits-2blocked: the two blocked exits listed first (race
//     mode), a fresh carrot run each time, which pays for trying them;
//     3exits-2blocked-warm: 20 curls in one carrot run (one shell), which
//     remembers the exit that worked.
//   - Throughput/*: a 1 GiB download, direct vs carrot run through one exit
//     vs a 2-hop chain, and curl --socks5-hostname through the same exit
//     (the exit alone, without carrot's local relay).
//
// Run as root: go test -run '^$' -bench Run -benchtime 20x ./internal/netroute
func BenchmarkRun(b *testing.B) {
	c := netns.NewCensored(b, netns.CensoredOptions{Exits: 4, Blocked: 2})
	for i := range c.Exits {
		c.StartCarrotExit(b, carrotBin, i)
	}
	ctx := context.Background()
	direct := c.Exits[3] // an uncensored host next to the origin
	flags := func(mode string, idx ...int) []string { return exits(c, mode, idx...) }

	get := func(b *testing.B, h *netns.Host, carrot []string, loop int) {
		var sum curlTimes
		var wall time.Duration
		n := 0
		for range b.N {
			argv := []string{"curl", "-sS", "-o", "/dev/null", "-w", curlFormat, c.HTTPURL}
			if loop > 0 {
				argv = []string{"sh", "-c", fmt.Sprintf(`for i in $(seq %d); do curl -sS -o /dev/null -w '%s' %s; done`,
					loop, strings.TrimSuffix(curlFormat, `\n`)+`\n`, c.HTTPURL)}
			}
			if carrot != nil {
				argv = append(append(append([]string{carrotBin, "run"}, carrot...), "--"), argv...)
			}
			start := time.Now()
			out, err := h.Run(ctx, argv[0], argv[1:]...)
			wall += time.Since(start)
			if err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if loop > 0 {
				lines = lines[1:] // the first GET of the loop found the exit
			}
			for _, l := range lines {
				t, err := parseCurl(l)
				if err != nil {
					b.Fatal(err)
				}
				sum.lookup += t.lookup
				sum.connect += t.connect - t.lookup
				sum.ttfb += t.ttfb
				sum.total += t.total
				n++
			}
		}
		b.ReportMetric(1e3*sum.connect/float64(n), "ms-connect")
		b.ReportMetric(1e3*sum.ttfb/float64(n), "ms-ttfb")
		b.ReportMetric(1e3*sum.total/float64(n), "ms-total")
		if loop == 0 {
			b.ReportMetric(float64(wall.Microseconds())/1e3/float64(b.N), "ms-wall")
		}
	}
	b.Run("Get/direct", func(b *testing.B) { get(b, direct, nil, 0) })
	b.Run("Get/1exit", func(b *testing.B) { get(b, c.Client, flags("", 2), 0) })
	b.Run("Get/3exits-2blocked", func(b *testing.B) { get(b, c.Client, flags("race", 0, 1, 2), 0) })
	b.Run("Get/3exits-2blocked-warm", func(b *testing.B) { get(b, c.Client, flags("race", 0, 1, 2), 20) })
	b.Run("Get/3exits-2blocked-stagger100ms", func(b *testing.B) {
		get(b, c.Client, append(flags("race", 0, 1, 2), "--stagger", "100ms"), 0)
	})

	const size = 1 << 30
	url := fmt.Sprintf("http://%s/bytes?n=%d", c.OriginName, size)
	through := func(b *testing.B, h *netns.Host, carrot []string, extra ...string) {
		var speed float64
		cpu0, busy0 := cpuUse(), machineBusy()
		for range b.N {
			argv := append([]string{"curl", "-sS", "-o", "/dev/null", "-w", curlFormat}, extra...)
			argv = append(argv, url)
			if carrot != nil {
				argv = append(append(append([]string{carrotBin, "run"}, carrot...), "--"), argv...)
			}
			out, err := h.Run(ctx, argv[0], argv[1:]...)
			if err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
			t, err := parseCurl(out)
			if err != nil {
				b.Fatal(err)
			}
			speed += t.speed
		}
		cpu1, busy1 := cpuUse(), machineBusy()
		gib := float64(b.N) * size / (1 << 30)
		b.ReportMetric(speed/float64(b.N)/1e6, "MB/s-curl")
		b.ReportMetric((cpu1.client-cpu0.client).Seconds()/gib, "cpu-s/GiB-client")
		b.ReportMetric((cpu1.self-cpu0.self).Seconds()/gib, "cpu-s/GiB-origin")
		b.ReportMetric((busy1-busy0).Seconds()/gib, "cpu-s/GiB-machine")
	}
	b.Run("Throughput/direct", func(b *testing.B) { through(b, direct, nil) })
	b.Run("Throughput/exit-only", func(b *testing.B) {
		through(b, c.Client, nil, "--socks5-hostname", fmt.Sprintf("%s:%s@%s:1080", netns.ExitUser, netns.ExitPass, c.ExitV4[2]))
	})
	b.Run("Throughput/1exit", func(b *testing.B) { through(b, c.Client, flags("", 2)) })
	b.Run("Throughput/2hop", func(b *testing.B) { through(b, c.Client, flags("chain", 2, 3)) })
}
