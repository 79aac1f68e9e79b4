package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/carrot-project/carrot/internal/exitdial"
	"github.com/carrot-project/carrot/internal/fakedns"
	"github.com/carrot-project/carrot/internal/linux"
	"github.com/carrot-project/carrot/internal/netroute"
	"github.com/carrot-project/carrot/internal/ptrace"
	"github.com/carrot-project/carrot/internal/socks5"
)

func init() {
	register(&command{
		Name:    "run",
		Summary: "run a program whose TCP connections and DNS go through exits (--exit)",
		Run:     runRun,
	})
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runRun(ctx context.Context, e *env) int {
	fs := e.flags("carrot run", runHelp)
	var exits stringList
	var direct prefixList
	fs.Var(&exits, "exit", "exit URL, socks5://[user:pass@]host[:port] (socks5h:// is the same) or socks5+tls://...?pin=|ca= (repeatable)")
	mode := fs.String("exit-mode", "race", "with several exits: race, failover or chain")
	timeout := durationFlag(fs, "connect-timeout", 20*time.Second, "a connect fails with the exits' errno after this long")
	stagger := durationFlag(fs, "stagger", 0, "race mode: delay before trying the next exit (0: adaptive)")
	fs.Var(&direct, "direct", "destination CIDR that stays direct, besides loopback (repeatable)")
	idle := durationFlag(fs, "idle-timeout", 0, "close a relayed connection after this long without a byte (0: never)")
	fakeV6 := fs.Bool("fake-ipv6", false, "answer DNS AAAA queries with fake IPv6 addresses too (always, on a host with no IPv4 address)")
	history := fs.Bool("exit-history", true, "race mode: try first the exits that won earlier runs' races (kept in "+historyPathHelp()+"; no destinations)")
	relayAll := fs.Bool("relay-all", false, "keep every connection in carrot's relay, never on the program's own socket connected to the exit")
	out := fs.String("o", "", "write the log of what was routed to FILE")
	verbose := fs.Bool("v", false, "log what was routed on stderr")
	fs.Bool("f", true, "follow forks, vforks and threads, as carrot trace -f: always on (every process the program starts is routed)")
	if code, ok := e.parse(fs); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int { return e.usageError("run: "+format, a...) }
	argv := fs.Args()
	switch {
	case len(argv) == 0:
		return usageErr("no program to run (carrot run --exit URL -- PROGRAM ARGS...)")
	case len(exits) == 0:
		return usageErr("give at least one --exit URL")
	case *timeout <= 0:
		return usageErr("--connect-timeout must be positive")
	case *stagger < 0:
		return usageErr("--stagger must not be negative (0: adaptive)")
	case *idle < 0:
		return usageErr("--idle-timeout must not be negative (0: never)")
	}
	m, err := exitdial.ParseMode(*mode)
	if err != nil {
		return usageErr("%v", err)
	}
	if m == exitdial.Chain && len(exits) < 2 {
		return usageErr("--exit-mode chain needs at least two --exit")
	}
	creds, err := exitdial.LoadCredentials(os.Getenv)
	if err != nil {
		e.errorf("run: exit credentials: %v", err)
		return exitFailure
	}
	var parsed []*exitdial.Exit
	for _, u := range exits {
		x, err := exitdial.ParseExit(u, creds)
		if err != nil {
			return usageErr("%v", err)
		}
		parsed = append(parsed, x)
	}
	path, code := lookProgram(e, argv[0])
	if code != 0 {
		return code
	}

	var logw io.Writer
	switch {
	case *out != "":
		f, err := os.Create(*out)
		if err != nil {
			e.errorf("run: %v", err)
			return exitFailure
		}
		defer f.Close()
		logw = f
	case *verbose:
		logw = e.Stderr
	}

	var hist *exitdial.History
	if m == exitdial.Race && len(parsed) > 1 {
		// Without the file (--exit-history=false, or no cache directory),
		// the run's own races still order its later ones.
		hist = exitdial.NewHistory()
		if p, err := exitdial.DefaultHistoryPath(); err == nil && *history {
			hist = exitdial.LoadHistory(p)
			defer func() {
				// A cache: a home that cannot keep it (read-only, or
				// none) costs staggers, not a message on every run.
				if err := hist.Save(); err != nil && *verbose {
					e.errorf("run: keeping the exits' history: %v", err)
				}
			}()
		}
	}
	// carrot's own descriptor table full, met by the exits' dialer or
	// by the tracer: said once.
	var shortOnce sync.Once
	short := func() {
		shortOnce.Do(func() {
			e.errorf("run: out of file descriptors (limit %d): each relayed connection holds some of carrot's, from the limit it shares with the program; raise it (ulimit -n)", nofileLimit())
		})
	}
	pool := fakedns.NewPool(fakedns.DefaultV4, fakedns.DefaultV6)
	d, err := exitdial.New(exitdial.Config{Exits: parsed, Mode: m, ConnectTimeout: *timeout, Stagger: *stagger,
		Names: pool, Spares: true, History: hist, Problem: func(exit string, err error) {
			if exitdial.OutOfDescriptors(err) {
				short()
				return
			}
			e.errorf("exit %s: %s", exit, problemText(err))
		}})
	if err != nil {
		e.errorf("run: %v", err)
		return exitFailure
	}
	defer d.Close()
	cfg := netroute.Config{
		Dialer:   exitDialer{d: d},
		Policy:   netroute.Policy{Direct: direct, Fake: []netip.Prefix{fakedns.DefaultV4, fakedns.DefaultV6}},
		DNS:      dnsServer(pool, !*fakeV6 && hasIPv4()),
		Names:    pool,
		Idle:     *idle,
		RelayAll: *relayAll,

		DescriptorsShort: short,
	}
	if logw != nil {
		cfg.Log = (&routeLog{w: logw}).event
	}
	h, err := netroute.Start(cfg)
	if err != nil {
		e.errorf("run: %v", err)
		return exitFailure
	}
	defer h.Close()

	// The program runs as carrot's user: without this, it could ptrace
	// carrot (its parent, same uid, dumpable; no Yama on many machines)
	// and make carrot's own unfiltered threads connect for it, or read
	// the exits' credentials from carrot's memory. Not dumpable, carrot
	// can be traced, read or written only with CAP_SYS_PTRACE.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		e.errorf("run: %v", err)
		return exitFailure
	}
	tr := ptrace.New(ptrace.Config{Handler: h, Filter: netroute.Filter(), Async: true})
	// A TERM is the program's to answer (forwardSignals), not a reason to
	// kill it: the run is not cancelled by main's, only by a signal that
	// comes once the program has exited, for what it left running.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	defer forwardSignals(tr, endLeftovers(e, cancel))()
	st, err := tr.Run(runCtx, ptrace.Program{Path: path, Argv: argv, Env: programEnv(os.Environ())})
	if err != nil {
		e.errorf("run: %v", err)
		if errors.Is(err, ptrace.ErrPermission) {
			return exitFailure
		}
		return exitFailure
	}
	return e.exitWith(st)
}

// dnsServer is the program's resolver: fake addresses from pool, for the
// search domains and ndots of the resolv.conf the program reads (see
// fakedns.Server.Search).
func dnsServer(pool *fakedns.Pool, noAAAA bool) *fakedns.Server {
	search, ndots := fakedns.Resolv("/etc/resolv.conf")
	return &fakedns.Server{Pool: pool, NoAAAA: noAAAA, Search: search, Ndots: ndots}
}

// programEnv is the environment of the program carrot run starts: carrot's
// own, less the exit credentials (CARROT_EXIT_USER, CARROT_EXIT_PASS), which
// are carrot's to use, not the program's to read.
func programEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "CARROT_EXIT_USER=") && !strings.HasPrefix(kv, "CARROT_EXIT_PASS=") {
			out = append(out, kv)
		}
	}
	return out
}

// hasIPv4 reports whether this host has an IPv4 address besides loopback:
// a resolver asks for A records only then (glibc's AI_ADDRCONFIG).
func hasIPv4() bool {
	addrs, err := interfaceAddrs()
	if err != nil {
		return true
	}
	for _, a := range addrs {
		if a.Is4() && !a.IsLoopback() {
			return true
		}
	}
	return false
}

// problemText is what carrot run says of an exit's failure (exitdial's
// Config.Problem): the attempt's error without the exit's name, which the
// line gives first, and without the socks5 package's prefixes.
func problemText(err error) string {
	var ae *exitdial.AttemptError
	if errors.As(err, &ae) {
		err = ae.Err
	}
	return strings.ReplaceAll(err.Error(), "socks5: ", "")
}

// nofileLimit is this process's descriptor limit (its soft one, which Go
// raised to the hard one at start), or 0 if it cannot be read.
func nofileLimit() uint64 {
	var r unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &r) != nil {
		return 0
	}
	return r.Cur
}

// exitDialer is netroute's Dialer over exitdial.
type exitDialer struct{ d *exitdial.Dialer }

func (x exitDialer) Dial(ctx context.Context, dest netip.AddrPort) (net.Conn, netroute.Way, error) {
	return way(x.d.Dial(ctx, socks5.AddrFromAddrPort(dest)))
}

// Begin sends dest's first request now (netroute.Beginner).
func (x exitDialer) Begin(dest netip.AddrPort) func(context.Context) (net.Conn, netroute.Way, error) {
	a := socks5.AddrFromAddrPort(dest)
	b := x.d.Begin(a)
	return func(ctx context.Context) (net.Conn, netroute.Way, error) { return way(x.d.DialBegun(ctx, a, b)) }
}

// way is a dial's stream and, for the log, how it was opened.
func way(r exitdial.Result, err error) (net.Conn, netroute.Way, error) {
	if err != nil {
		return nil, netroute.Way{}, err
	}
	way := netroute.Way{Via: r.Via}
	for _, p := range r.Passed {
		name := "?"
		var ae *exitdial.AttemptError
		if errors.As(p, &ae) {
			name = ae.Exit
		}
		what := problemText(p)
		var ne net.Error
		if errors.Is(p, context.DeadlineExceeded) || errors.As(p, &ne) && ne.Timeout() {
			what = "no answer in time" // its share of the connect timeout, in failover
		}
		way.Passed = append(way.Passed, name+" ("+what+")")
	}
	return r.Conn, way, nil
}

// Over lets netroute carry a stream on the program's own socket (see
// internal/netroute/over.go) when the dialer plans one.
func (x exitDialer) Over(dest netip.AddrPort) (netroute.Over, bool) {
	p, ok := x.d.Over(socks5.AddrFromAddrPort(dest))
	if !ok {
		return netroute.Over{}, false
	}
	return netroute.Over{
		Addrs:         p.Addrs,
		ConnectBudget: p.ConnectBudget,
		RTT:           p.RTT,
		Via:           p.Via,
		Hello:         p.Hello,
		Guess:         p.Guess,
		Connected:     func(rtt time.Duration) { x.d.Connected(p, rtt) },
		Missed:        func() { x.d.Missed(p) },
		Run: func(ctx context.Context, c net.Conn) (bool, error) {
			r, err := x.d.DialOver(ctx, p, c)
			if err != nil {
				// A guessed exit that could not reach the destination
				// (a refusal included: censors forge resets) does not
				// speak for the others.
				return exitdial.AboutDest(err) && !p.Guess, err
			}
			if r.Conn != c {
				// a hop wrapped the stream (TLS): it cannot be the
				// program's socket (Over plans no such route)
				r.Conn.Close()
				return false, errors.New("the stream is not the plain connection")
			}
			return false, nil
		},
	}, true
}

// routeLog writes netroute's events, one line each:
//
//	15:04:05.000000 [pid 42] connect example.org:443 (198.18.0.1) via socks5://alice@exit:1080 in 1.6ms
//	15:04:05.000000 [pid 42] connect example.org:443 (198.18.0.1) via socks5://alice@b:1080 in 3.1ms, after socks5://alice@a:1080 (no answer before the winner's)
//	15:04:05.000000 [pid 42] connect 192.0.2.1:80 = ECONNREFUSED (Connection refused) after 3.0ms: ...
//	15:04:05.000000 [pid 42] close example.org:443 via socks5://alice@exit:1080: 517 B up, 4120 B down, 230ms
//	15:04:05.000000 [pid 42] abandon 192.0.2.1:80 after 1.2s: the program closed its socket, the exits stop trying
//	15:04:05.000000 [pid 42] dns 192.0.2.53:53 -> carrot dns
//	15:04:05.000000 [pid 42] refuse sendto udp 192.0.2.9:443 = EPERM
type routeLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *routeLog) event(ev netroute.Event) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s [pid %d] %s", ev.Time.Format("15:04:05.000000"), ev.Pid, ev.Op)
	if ev.Call != "" {
		b.WriteString(" " + ev.Call)
	}
	if ev.Dest.IsValid() {
		if ev.Name != "" {
			fmt.Fprintf(&b, " %s (%s)", net.JoinHostPort(ev.Name, fmt.Sprint(ev.Dest.Port())), ev.Dest.Addr())
		} else {
			fmt.Fprintf(&b, " %s", ev.Dest)
		}
	}
	switch ev.Op {
	case "connect":
		if ev.Err != nil {
			fmt.Fprintf(&b, " = %s after %s: %v", errnoText(ev.Err), round(ev.Dur), ev.Err)
		} else {
			fmt.Fprintf(&b, " via %s in %s", ev.Via, round(ev.Dur))
			if len(ev.Passed) > 0 {
				fmt.Fprintf(&b, ", after %s", strings.Join(ev.Passed, ", "))
			}
		}
		if ev.Own {
			b.WriteString(" (program's own socket)")
		}
	case "abandon":
		fmt.Fprintf(&b, " after %s: the program closed its socket, the exits stop trying", round(ev.Dur))
	case "retry":
		fmt.Fprintf(&b, " through the relay after %s on its own socket via %s: %v", round(ev.Dur), ev.Via, ev.Err)
	case "close":
		fmt.Fprintf(&b, " via %s: %d B up, %d B down, %s", ev.Via, ev.Up, ev.Down, round(ev.Dur))
		if ev.Err != nil {
			fmt.Fprintf(&b, " (%v)", ev.Err)
		}
	case "dns":
		fmt.Fprintf(&b, " -> %s", ev.Via)
	default:
		if ev.Err != nil {
			fmt.Fprintf(&b, " = %s", errnoText(ev.Err))
		}
	}
	b.WriteByte('\n')
	l.mu.Lock()
	io.WriteString(l.w, b.String())
	l.mu.Unlock()
}

func errnoText(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		return fmt.Sprintf("%s (%s)", linux.ErrnoName(int(e)), linux.ErrnoMessage(int(e)))
	}
	return err.Error()
}

func round(d time.Duration) time.Duration {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < time.Second:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

const runHelp = `
usage: carrot run --exit URL [--exit URL ...] [--exit-mode race|failover|chain]
                  [--connect-timeout D] [--direct CIDR ...] [--fake-ipv6] [-f] [-o FILE] [-v] -- PROGRAM ARGS...

PROGRAM's TCP connections go through the exits (SOCKS5), its DNS queries are
answered locally with fake addresses whose names the exits resolve (every
name, existing or not: the exit's answer comes with the connect; IPv4 fakes
only, and AAAA queries answered with no record, unless --fake-ipv6); loopback
and --direct ranges stay direct; other UDP is refused (EPERM). Credentials
not in a URL come from $CARROT_EXIT_NETRC or ~/.config/carrot/netrc, then
$CARROT_EXIT_USER and $CARROT_EXIT_PASS. What goes wrong with an exit itself
(unreachable, a name that does not resolve, a password or certificate it
refuses) is said once per exit and kind on stderr, "carrot: exit URL: ...".
As with carrot trace -f, every process and thread the program starts is
followed (and routed); -f is accepted and always on. Exit status: the
program's; killed by a signal, carrot ends by the same signal (a shell
shows 128+N); 126 if it was found but
cannot be run, 127 if it was not found; 2 for bad usage.
`

// historyPathHelp names where the exits' history is kept, for the usage.
func historyPathHelp() string {
	if p, err := exitdial.DefaultHistoryPath(); err == nil {
		return p
	}
	return "$XDG_CACHE_HOME/carrot/exits.json"
}

// interfaceAddrs returns this host's interface addresses.
func interfaceAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr())
		}
	}
	return out, nil
}
