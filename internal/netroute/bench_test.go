package netroute_test

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/carrot-project/carrot/internal/netns"
	"github.com/carrot-project/carrot/internal/socks5"
	"github.com/carrot-project/carrot/internal/testnet"
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

// cpu is the CPU time used by this process's waited-for descendants (curl
// and carrot run).
type cpu struct{ client time.Duration }

func cpuUse() cpu {
	var children unix.Rusage
	unix.Getrusage(unix.RUSAGE_CHILDREN, &children)
	return cpu{client: time.Duration(children.Utime.Nano() + children.Stime.Nano())}
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
// real `carrot exit` processes (see docs/benchmarks.md, "Network: exits").
// The machine is shared and its load drifts, so each iteration runs every
// variant once, in turn, and the metrics are medians over iterations.
//
//   - Get: an HTTP GET of a small page with curl, as the paper's Table 2:
//     curl's own time to first byte and total, its TCP connect phase
//     (time_connect - time_namelookup: what carrot adds to connection
//     setup), and the wall time of the whole command, carrot's start and
//     the program's included. direct: curl on an uncensored host next to
//     the origin; 1exit: carrot run in the censored client with one working
//     exit; 3exits-2blocked: the two blocked exits listed first (race
//     mode), a fresh carrot run each time, which pays for trying them
//     (the first contact with the destination); warm: 10 curls in one
//     carrot run, which remembers the exit that worked (the first curl is
//     left out), against 1exit-warm, the same with the working exit only;
//     stagger100ms: 3exits-2blocked with the old fixed stagger; stagger1us:
//     with every exit asked at once; -history: 3exits-2blocked with the
//     exits' history kept across this variant's runs (the first run has
//     none), which tries first the exit that won before. The -relay variants keep the stream
//     in carrot's relay (--relay-all) instead of the program's own socket
//     connected to the exit (over.go). The peer tool: proxychains, curl
//     under proxychains-ng through the same exit; proxychains-3exits-2blocked,
//     its dynamic_chain over the three exits of 3exits-2blocked (its only
//     mode that goes on past a failing exit: it chains every exit that
//     accepts a connection, so this GET goes through all three).
//   - Throughput: a 1 GiB download, direct vs carrot run through one exit
//     vs a 2-hop chain (each on the program's own socket, and relayed),
//     and curl --socks5-hostname through the same exit (the exit alone,
//     without carrot), through the peer exits Dante and microsocks on the
//     same host (exit-dante, exit-microsocks), and under proxychains-ng
//     through carrot's exit (proxychains); with the CPU time
//     per GiB of the client side (curl, carrot run) and of the whole
//     machine (which the origin, the exits and other users share). The
//     "-5gbit" variants repeat them with the origin's sending shaped to
//     linkRate, a link slower than the CPUs can fill, as real links are
//     ($BENCH_LINK_RATE=10gbit: "-10gbit" variants at that rate). Every
//     host uses Linux's default congestion control, CUBIC, whatever the
//     machine's own (congestionControl); where that is another, variants
//     named after it ("-bbr") repeat the main ones under it.
//
// Run as root:
//
//	go test -run '^$' -bench Run/Get -benchtime 20x ./internal/netroute
//	go test -run '^$' -bench Run/Throughput -benchtime 5x ./internal/netroute
//
// BENCH_VARIANTS=REGEXP runs only the variants whose whole name matches;
// BENCH_SAMPLES=1 logs each throughput sample, not only the medians (with
// -test.v).
func BenchmarkRun(b *testing.B) {
	c := netns.NewCensored(b, netns.CensoredOptions{Exits: 4, Blocked: 2})
	for i := range c.Exits {
		c.StartCarrotExit(b, carrotBin, i)
	}
	ctx := context.Background()
	direct := c.Exits[3] // an uncensored host next to the origin
	congestion := congestionControl(b, c, "cubic")
	command := func(carrot []string, argv ...string) []string {
		if carrot == nil {
			return argv
		}
		return append(append(append([]string{carrotBin, "run"}, carrot...), "--"), argv...)
	}
	curl := func(extra ...string) []string {
		return append([]string{"curl", "-sS", "-o", "/dev/null", "-w", curlFormat}, extra...)
	}
	// proxychains runs argv under the client-side peer tool, proxychains-ng,
	// whose LD_PRELOAD library carries the program's connects through the
	// same carrot exits, names sent to the exit (proxy_dns), in mode
	// (strict_chain for one exit; dynamic_chain, its only mode that goes
	// on when an exit fails, chains every exit that accepts a connection).
	// nil when it is not installed.
	var proxychains func(mode string, idx ...int) func(argv ...string) []string
	if _, err := exec.LookPath("proxychains4"); err == nil {
		dir := b.TempDir()
		proxychains = func(mode string, idx ...int) func(argv ...string) []string {
			conf := filepath.Join(dir, fmt.Sprint(mode, idx, ".conf"))
			text := mode + "\nquiet_mode\nproxy_dns\nremote_dns_subnet 224\n[ProxyList]\n"
			for _, i := range idx {
				text += fmt.Sprintf("socks5 %s 1080 %s %s\n", c.ExitV4[i], netns.ExitUser, netns.ExitPass)
			}
			if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
				b.Fatal(err)
			}
			return func(argv ...string) []string {
				return append([]string{"proxychains4", "-q", "-f", conf}, argv...)
			}
		}
	} else if os.Getenv("BENCH_VARIANTS") == "" {
		b.Logf("proxychains4 not installed (.ci/install): its variants are left out")
	}

	b.Run("Get", func(b *testing.B) {
		type variant struct {
			name   string
			host   *netns.Host
			carrot []string
			loop   int
			env    []string                      // set for carrot run
			peer   func(argv ...string) []string // instead of carrot run: a peer tool
		}
		histDir := b.TempDir() // the history variant's, kept across iterations
		// The two blocked exits as they would be on machines of their
		// own: SOCKS5 servers on the same hosts (port 1090) that take the
		// spare's handshake and then never read, so nothing of theirs runs
		// on this machine's two vCPUs while the race is on. From the
		// client, a blocked exit looks the same: its answer never comes.
		offbox := []string{"--exit", silentExit(b, c, 0), "--exit", silentExit(b, c, 1), "--exit", c.ExitURL(2), "--exit-history=false"}
		variants := []variant{
			{"direct", direct, nil, 0, nil, nil},
			{"1exit", c.Client, exits(c, "", 2), 0, nil, nil},
			{"1exit-relay", c.Client, append(exits(c, "", 2), "--relay-all"), 0, nil, nil},
			{"3exits-2blocked", c.Client, exits(c, "race", 0, 1, 2), 0, nil, nil},
			{"3exits-2blocked-offbox", c.Client, offbox, 0, nil, nil},
			{"3exits-2blocked-offbox-stagger1us", c.Client, append(slices.Clone(offbox), "--stagger", "1us"), 0, nil, nil},
			{"3exits-2blocked-history", c.Client, append(exits(c, "race", 0, 1, 2), "--exit-history"), 0, []string{"XDG_CACHE_HOME=" + histDir}, nil},
			{"1exit-warm", c.Client, exits(c, "", 2), 10, nil, nil},
			{"1exit-warm-relay", c.Client, append(exits(c, "", 2), "--relay-all"), 10, nil, nil},
			{"warm", c.Client, exits(c, "race", 0, 1, 2), 10, nil, nil},
			{"stagger100ms", c.Client, append(exits(c, "race", 0, 1, 2), "--stagger", "100ms"), 0, nil, nil},
			{"stagger1us", c.Client, append(exits(c, "race", 0, 1, 2), "--stagger", "1us"), 0, nil, nil},
		}
		if proxychains != nil {
			variants = append(variants,
				variant{name: "proxychains", host: c.Client, peer: proxychains("strict_chain", 2)},
				variant{name: "proxychains-3exits-2blocked", host: c.Client, peer: proxychains("dynamic_chain", 0, 1, 2)})
		}
		variants = onlyVariants(b, variants, func(v variant) string { return v.name })
		type samples struct{ connect, ttfb, total, wall []float64 }
		got := make([]samples, len(variants))
		for range b.N {
			for i, v := range variants {
				argv := command(v.carrot, curl(c.HTTPURL)...)
				if v.peer != nil {
					argv = v.peer(curl(c.HTTPURL)...)
				}
				if v.loop > 0 {
					argv = command(v.carrot, "sh", "-c", fmt.Sprintf(`for i in $(seq %d); do curl -sS -o /dev/null -w '%s' %s; done`,
						v.loop, curlFormat, c.HTTPURL))
				}
				if v.env != nil {
					argv = append(append([]string{"env"}, v.env...), argv...)
				}
				start := time.Now()
				out, err := v.host.Run(ctx, argv[0], argv[1:]...)
				wall := time.Since(start)
				if err != nil {
					b.Fatalf("%s: %v\n%s", v.name, err, out)
				}
				lines := strings.Split(strings.TrimSpace(out), "\n")
				if v.loop > 0 {
					lines = lines[1:] // the first GET found the exit
				} else {
					got[i].wall = append(got[i].wall, 1e3*wall.Seconds())
				}
				for _, l := range lines {
					t, err := parseCurl(l)
					if err != nil {
						b.Fatal(err)
					}
					got[i].connect = append(got[i].connect, 1e3*(t.connect-t.lookup))
					got[i].ttfb = append(got[i].ttfb, 1e3*t.ttfb)
					got[i].total = append(got[i].total, 1e3*t.total)
				}
			}
		}
		for i, v := range variants {
			b.ReportMetric(median(got[i].connect), "ms-connect-"+v.name)
			b.ReportMetric(median(got[i].ttfb), "ms-ttfb-"+v.name)
			b.ReportMetric(median(got[i].total), "ms-total-"+v.name)
			if len(got[i].wall) > 0 {
				b.ReportMetric(median(got[i].wall), "ms-wall-"+v.name)
			}
		}
	})

	b.Run("Throughput", func(b *testing.B) {
		const size = 1 << 30
		url := fmt.Sprintf("http://%s/bytes?n=%d", c.OriginName, size)
		socks := fmt.Sprintf("%s:%s@%s:1080", netns.ExitUser, netns.ExitPass, c.ExitV4[2])
		// The peer exits, on the same host as carrot exit 2: Dante (no
		// authentication) and microsocks (the same account).
		netns.RequireBinaries(b, "microsocks", "danted")
		c.StartDante(b, 2, 1081)
		c.StartMicrosocks(b, 2, 1082)
		for _, port := range []string{"1081", "1082"} { // neither says when it listens
			for i := 0; ; i++ {
				conn, err := c.Client.DialContext(ctx, "tcp", c.ExitV4[2].String()+":"+port)
				if err == nil {
					conn.Close()
					break
				}
				if i == 100 {
					b.Fatalf("peer exit on port %s: %v", port, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		dante := fmt.Sprintf("%s:1081", c.ExitV4[2])
		microsocks := fmt.Sprintf("%s:%s@%s:1082", netns.ExitUser, netns.ExitPass, c.ExitV4[2])
		type variant struct {
			name string
			host *netns.Host
			argv []string
			link bool   // the origin's link paced at linkRate
			cc   string // the hosts' congestion control, "" for cubic
		}
		variants := []variant{
			{name: "direct", host: direct, argv: curl(url)},
			{name: "exit-only", host: c.Client, argv: curl("--socks5-hostname", socks, url)},
			{name: "exit-dante", host: c.Client, argv: curl("--socks5-hostname", dante, url)},
			{name: "exit-microsocks", host: c.Client, argv: curl("--socks5-hostname", microsocks, url)},
			{name: "1exit", host: c.Client, argv: command(exits(c, "", 2), curl(url)...)},
			{name: "1exit-relay", host: c.Client, argv: command(append(exits(c, "", 2), "--relay-all"), curl(url)...)},
			{name: "2hop", host: c.Client, argv: command(exits(c, "chain", 2, 3), curl(url)...)},
			{name: "2hop-relay", host: c.Client, argv: command(append(exits(c, "chain", 2, 3), "--relay-all"), curl(url)...)},
		}
		if proxychains != nil {
			variants = append(variants, variant{name: "proxychains", host: c.Client, argv: proxychains("strict_chain", 2)(curl(url)...)})
		}
		// The same with a link slower than this machine's CPUs can fill
		// (the origin's sending shaped by a token bucket), as on a real
		// network: what a relay costs when the link, not the CPU, is the
		// limit.
		for _, v := range variants {
			if !slices.Contains([]string{"direct", "exit-only", "1exit", "1exit-relay", "2hop"}, v.name) {
				continue
			}
			v.name += "-" + linkRate
			v.link = true
			variants = append(variants, v)
		}
		// The same under this machine's own congestion control, where it
		// is not Linux's default (this VM's is BBR, without the fq qdisc
		// it expects: TCP paces each connection itself, on timers).
		if own := hostCongestion(b); own != "cubic" {
			for _, v := range variants {
				if !slices.Contains([]string{"direct", "exit-only", "1exit", "2hop"}, v.name) {
					continue
				}
				v.name += "-" + own
				v.cc = own
				variants = append(variants, v)
			}
		}
		variants = onlyVariants(b, variants, func(v variant) string { return v.name })
		paced := false
		pace := func(on bool) {
			if on == paced {
				return
			}
			args := []string{"qdisc", "del", "dev", "eth0", "root"}
			if on {
				args = []string{"qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", linkRate, "burst", "1mb", "latency", "5ms"}
			}
			if out, err := c.Origin.Run(ctx, "tc", args...); err != nil {
				b.Fatalf("tc %v: %v\n%s", args, err, out)
			}
			paced = on
		}
		defer pace(false)
		speed := make([][]float64, len(variants))
		clientCPU := make([][]float64, len(variants))
		machineCPU := make([][]float64, len(variants))
		for range b.N {
			for i, v := range variants {
				pace(v.link)
				congestion(cmp.Or(v.cc, "cubic"))
				cpu0, busy0 := cpuUse(), machineBusy()
				out, err := v.host.Run(ctx, v.argv[0], v.argv[1:]...)
				cpu1, busy1 := cpuUse(), machineBusy()
				if err != nil {
					b.Fatalf("%s: %v\n%s", v.name, err, out)
				}
				t, err := parseCurl(out)
				if err != nil {
					b.Fatal(err)
				}
				speed[i] = append(speed[i], t.speed/1e6)
				if os.Getenv("BENCH_SAMPLES") != "" {
					b.Logf("%s %.0f MB/s", v.name, t.speed/1e6)
				}
				clientCPU[i] = append(clientCPU[i], (cpu1.client - cpu0.client).Seconds())
				machineCPU[i] = append(machineCPU[i], (busy1 - busy0).Seconds())
			}
		}
		for i, v := range variants {
			b.ReportMetric(median(speed[i]), "MB/s-"+v.name)
			b.ReportMetric(median(clientCPU[i]), "cpu-s/GiB-client-"+v.name)
			b.ReportMetric(median(machineCPU[i]), "cpu-s/GiB-machine-"+v.name)
		}
	})
}

// hostCongestion is the congestion control the machine gives new
// sockets, which new network namespaces inherit.
func hostCongestion(b *testing.B) string {
	cc, err := os.ReadFile("/proc/sys/net/ipv4/tcp_congestion_control")
	if err != nil {
		b.Fatal(err)
	}
	return strings.TrimSpace(string(cc))
}

// congestionControl sets every host of c to the TCP congestion control
// algorithm first, and returns a function that switches them all to
// another. The benchmark runs with Linux's default, CUBIC, whatever this
// machine was given (new namespaces inherit it), so that its figures do
// not depend on that choice; variants that name another compare.
//
// A namespace other than the first may only choose an algorithm listed in
// the machine-wide net.ipv4.tcp_allowed_congestion_control, which lists
// the machine's own and reno when it was set to something else than
// cubic: the benchmark adds the ones it uses there, and puts the list back
// when it ends.
func congestionControl(b *testing.B, c *netns.Censored, first string) func(string) {
	const allowed = "/proc/sys/net/ipv4/tcp_allowed_congestion_control"
	avail, err := os.ReadFile("/proc/sys/net/ipv4/tcp_available_congestion_control")
	if err != nil {
		b.Fatal(err)
	}
	was, err := os.ReadFile(allowed)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.WriteFile(allowed, was, 0o644) })
	hosts := append([]*netns.Host{c.Client, c.Origin}, c.Exits...)
	current := ""
	set := func(cc string) {
		if cc == current {
			return
		}
		if !slices.Contains(strings.Fields(string(avail)), cc) {
			b.Fatalf("congestion control %s: this kernel has only %s", cc, avail)
		}
		list, err := os.ReadFile(allowed)
		if err != nil {
			b.Fatal(err)
		}
		if !slices.Contains(strings.Fields(string(list)), cc) {
			if err := os.WriteFile(allowed, []byte(strings.TrimSpace(string(list))+" "+cc), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		for _, h := range hosts {
			h.Sysctl("ipv4/tcp_congestion_control", cc)
		}
		current = cc
	}
	set(first)
	return set
}

// onlyVariants keeps the variants whose name matches $BENCH_VARIANTS, a
// regular expression (all of them when it is unset), for profiling one.
func onlyVariants[V any](b *testing.B, vs []V, name func(V) string) []V {
	pat := os.Getenv("BENCH_VARIANTS")
	if pat == "" {
		return vs
	}
	re, err := regexp.Compile("^(?:" + pat + ")$")
	if err != nil {
		b.Fatalf("BENCH_VARIANTS: %v", err)
	}
	var kept []V
	for _, v := range vs {
		if re.MatchString(name(v)) {
			kept = append(kept, v)
		}
	}
	return kept
}

// linkRate is the paced link of the Throughput benchmark's "-5gbit"
// variants (tc's rate syntax); $BENCH_LINK_RATE sets another, which names
// the variants instead.
var linkRate = cmp.Or(os.Getenv("BENCH_LINK_RATE"), "5gbit")

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// silentExit serves, on exit i's port 1090, a SOCKS5 server that accepts
// ExitUser's credentials and then reads nothing more (a blocked exit
// whose work is done elsewhere, see the Get benchmark), and returns its
// URL. Its connections stay open until the benchmark ends.
func silentExit(b *testing.B, c *netns.Censored, i int) string {
	ln, err := c.Exits[i].Listen("tcp", ":1090")
	if err != nil {
		b.Fatal(err)
	}
	testnet.Serve(b, ln, func(conn net.Conn) {
		if _, err := socks5.ReadGreeting(conn); err != nil {
			return
		}
		conn.Write([]byte{socks5.Version, socks5.MethodUserPass})
		if _, _, err := socks5.ReadUserPass(conn); err != nil {
			return
		}
		conn.Write([]byte{1, 0}) // RFC 1929: version 1, success
	})
	return fmt.Sprintf("socks5://%s:%s@%s:1090", netns.ExitUser, netns.ExitPass, c.ExitV4[i])
}
