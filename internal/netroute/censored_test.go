package netroute_test

// End-to-end tests of `carrot run --exit` in issue 4's censored network
// (internal/netns): real namespaces and nftables, real `carrot exit`
// processes and a real `carrot run` built from this tree, and programs
// nobody here wrote (curl, python3, git, wget). They need root; CI runs
// them.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/fakedns"
	"github.com/carrot-project/carrot/internal/netns"
)

var carrotBin, connectBin, bypassBin string

func TestMain(m *testing.M) {
	var dir string
	if os.Geteuid() == 0 {
		var err error
		if dir, err = os.MkdirTemp("", "carrot-bin-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var flags []string
		if raceEnabled {
			flags = append(flags, "-race") // race-check the handler in carrot run too
		}
		if tags := os.Getenv("BENCH_CARROT_TAGS"); tags != "" {
			flags = append(flags, "-tags", tags) // the benchmark of a build such as nocluster's
		}
		if err := os.Chmod(dir, 0o755); err != nil { // for the unprivileged test
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if carrotBin, err = netns.BuildCarrot(dir, flags...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
		// What carrot run keeps across runs stays in the test's directory.
		os.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
		connectBin = filepath.Join(dir, "connect")
		bypassBin = filepath.Join(dir, "bypass")
		for bin, src := range map[string]string{connectBin: "testdata/connect.c", bypassBin: "testdata/bypass.c"} {
			if out, err := exec.Command("gcc", "-O1", "-Wall", "-o", bin, src).CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "gcc %s: %v\n%s", src, err, out)
				os.RemoveAll(dir)
				os.Exit(1)
			}
		}
	}
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// run runs carrot run with flags, then argv, in the client host.
func run(ctx context.Context, c *netns.Censored, flags []string, argv ...string) (string, error) {
	args := append(append([]string{"run"}, flags...), "--")
	return c.Client.Run(ctx, carrotBin, append(args, argv...)...)
}

func exits(c *netns.Censored, mode string, idx ...int) []string {
	var f []string
	for _, i := range idx {
		f = append(f, "--exit", c.ExitURL(i))
	}
	if mode != "" {
		f = append(f, "--exit-mode", mode)
	}
	// Each run on its own, as the test says: what earlier runs learnt
	// would reorder the exits (TestExitHistory tests that).
	return append(f, "--exit-history=false")
}

func TestCurlThroughExits(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 3})
	for i := range c.Exits {
		c.StartCarrotExit(t, carrotBin, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	curl := []string{"curl", "-sS", "--max-time", "10", "--cacert", c.CAFile}
	for _, u := range []string{c.HTTPURL, c.HTTPSURL} {
		if out, err := c.Client.Run(ctx, curl[0], append(curl[1:], "--connect-timeout", "2", u)...); err == nil {
			t.Fatalf("without carrot, the client reached %s: %q", u, out)
		}
	}
	before := c.Resolver.Queries()
	for _, mode := range []string{"race", "failover"} {
		for _, u := range []string{c.HTTPURL, c.HTTPSURL} {
			log := filepath.Join(t.TempDir(), "log")
			// failover gives each exit an equal share of the timeout:
			// the blocked one, first, gets 1 s
			flags := append(exits(c, mode, 0, 1, 2), "-o", log, "--connect-timeout", "3s")
			out, err := run(ctx, c, flags, append(curl, u)...)
			routed, _ := os.ReadFile(log)
			if err != nil || out != netns.OriginBody {
				t.Fatalf("%s %s: %v\n%s\nlog:\n%s", mode, u, err, out, routed)
			}
			// The log names the blocked exit asked first, and what became
			// of it: outrun in a race, its failure in failover.
			blocked := fmt.Sprintf("socks5://%s@%s:1080 (", netns.ExitUser, c.ExitV4[0])
			if mode == "race" {
				blocked += "no answer before the winner's)"
			}
			if connect := regexp.MustCompile(`connect \S+ \(\S+\) via \S+ in \S+, after (.*)`).FindStringSubmatch(string(routed)); connect == nil || !strings.HasPrefix(connect[1], blocked) {
				t.Errorf("%s %s: the connect line does not say that %s... was asked first:\n%s", mode, u, blocked, routed)
			}
			t.Logf("%s %s:\n%s", mode, u, routed)
		}
	}
	if n := c.Resolver.Queries() - before; n != 0 {
		t.Errorf("DNS leaked: the client's resolver got %d queries under carrot: %v", n, c.Resolver.Names())
	}
}

// report runs testdata/connect.c's program (argv after the binary) and
// parses its key=value lines.
func report(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.Contains(k, " ") {
			m[k] = v
		}
	}
	return m
}

// same compares two reports but for the keys that differ by nature.
func same(t *testing.T, what string, native, carrot map[string]string, except ...string) {
	t.Helper()
	keys := map[string]bool{}
	for k := range native {
		keys[k] = true
	}
	for k := range carrot {
		keys[k] = true
	}
	for _, k := range except {
		delete(keys, k)
	}
	for k := range keys {
		if native[k] != carrot[k] {
			t.Errorf("%s: %s: native %q, under carrot %q", what, k, native[k], carrot[k])
		}
	}
}

func isFake(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && (fakedns.DefaultV4.Contains(a) || fakedns.DefaultV6.Contains(a))
}

// TestConnectLikeNative runs the same client natively on a free exit host
// (which reaches the origin) and under carrot run in the censored client,
// and compares what each saw: blocking and non-blocking connect, poll and
// epoll, SO_ERROR, getpeername, a second connect, the sockaddr buffer,
// success and refusal, IPv4 and IPv6.
func TestConnectLikeNative(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 2})
	if p := c.StartCarrotExit(t, carrotBin, 1); !strings.Contains(p.Output(), ", TCP fast open") {
		t.Errorf("the exit's start line does not say it takes fast open, which its host allows: %q", p.Output())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, tc := range []struct{ mode, port, family string }{
		{"nonblock", "80", "4"},
		{"block", "80", "4"},
		{"epoll", "80", "4"},
		{"nonblock", "80", "6"},
		{"block", "80", "6"},
		{"nonblock", "81", "4"}, // nothing listens: refused
		{"block", "81", "4"},
		{"nonblock", "81", "6"},
	} {
		what := strings.Join([]string{tc.mode, tc.port, tc.family}, " ")
		nout, err := c.Exits[1].Run(ctx, connectBin, c.OriginName, tc.port, tc.mode, tc.family)
		if err != nil {
			t.Fatalf("%s natively: %v\n%s", what, err, nout)
		}
		native := report(t, nout)
		// Both paths: the relay, and the program's own socket connected
		// to the exit (over.go), which carrot takes once the exit has
		// answered: here, after a first connect in the same carrot run.
		for _, path := range []string{"relay", "own"} {
			log := filepath.Join(t.TempDir(), "log")
			flags := append(exits(c, "", 1), "-o", log)
			if tc.family == "6" {
				flags = append(flags, "--fake-ipv6") // IPv4 fakes only, by default
			}
			argv := []string{connectBin, c.OriginName, tc.port, tc.mode, tc.family}
			if path == "relay" {
				flags = append(flags, "--relay-all")
			} else {
				argv = []string{"sh", "-c", `"$0" "$1" 80 block 4 >/dev/null && exec "$0" "$@"`, connectBin, c.OriginName,
					tc.port, tc.mode, tc.family}
			}
			// The program's own socket is taken only while the exit answers
			// within carrot's budget for it (overStall): a machine loaded
			// enough to miss it relays that connect, as designed, so the
			// own path is tried up to three times.
			var cout string
			var routed []byte
			var last string
			for try := 0; try < 3; try++ {
				os.Remove(log)
				cout, err = run(ctx, c, flags, argv...)
				routed, _ = os.ReadFile(log)
				if err != nil {
					t.Fatalf("%s, %s: under carrot: %v\n%s\nlog:\n%s", what, path, err, cout, routed)
				}
				lines := strings.Split(strings.TrimSpace(string(routed)), "\n")
				last = lines[len(lines)-1]
				if tc.port == "80" {
					// the connect, then (relayed) its close
					last = lines[len(lines)-1-btoi(path == "relay")]
				}
				if path == "relay" || strings.Contains(last, "(program's own socket)") {
					break
				}
				t.Logf("%s, %s: relayed on try %d:\n%s", what, path, try+1, routed)
			}
			carrot := report(t, cout)
			if !isFake(carrot["resolved"]) {
				t.Errorf("%s, %s: resolved to %q under carrot, want a fake address", what, path, carrot["resolved"])
			}
			same(t, what+", "+path, native, carrot, "resolved", "ticks")
			if own := strings.Contains(last, "(program's own socket)"); own != (path == "own") || !strings.Contains(last, " connect ") {
				t.Errorf("%s, %s: the log's connect line is %q", what, path, last)
			}
			t.Logf("%s, %s: native %v\n\tcarrot %v\n%s", what, path, native, carrot, routed)
		}
	}
	// The exit allows fast open (netns.NewCensored), and carrot exit
	// pipelines: after the first connection to it, which fetched a cookie,
	// the program's own socket carried carrot's request in its SYN.
	if n := c.Exits[1].TCPExt("TCPFastOpenPassive"); n < 1 {
		t.Errorf("the exit took %d connections with data in the SYN, want some", n)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestEveryExitBlocked: when no exit can reach the origin, the program's
// connect fails with the errno a direct connect would give — the exits'
// ICMP "host unreachable" as EHOSTUNREACH, silence as ETIMEDOUT within
// --connect-timeout — blocking or not, and an event loop keeps running
// while it waits. It fails closed: no packet leaves the client for the
// origin directly (the client's firewall counts them; it would give the
// same errno).
func TestEveryExitBlocked(t *testing.T) {
	for _, reject := range []bool{true, false} {
		name := "drop"
		if reject {
			name = "reject"
		}
		t.Run(name, func(t *testing.T) {
			c := netns.NewCensored(t, netns.CensoredOptions{Exits: 2, BlockAll: true, Reject: reject})
			c.StartCarrotExit(t, carrotBin, 0)
			c.StartCarrotExit(t, carrotBin, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			const timeout = 2 * time.Second
			flags := append(exits(c, "race", 0, 1), "--connect-timeout", timeout.String())
			defer func() {
				if n := c.ClientToOrigin(t); n != 0 {
					t.Errorf("the client sent %d packets straight to the origin under carrot run", n)
				}
				// and the counter does count a direct connect
				c.Client.Run(ctx, "curl", "-sS", "--connect-timeout", "1", "http://"+c.OriginV4.String()+"/")
				if n := c.ClientToOrigin(t); n == 0 {
					t.Errorf("a direct connect to the origin was not counted")
				}
			}()

			start := time.Now()
			out, err := run(ctx, c, flags, "curl", "-sS", c.HTTPURL)
			el := time.Since(start)
			// CURLE_COULDNT_CONNECT; curl calls an ETIMEDOUT connect
			// CURLE_OPERATION_TIMEDOUT
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 7 && (reject || ee.ExitCode() != 28) {
				t.Fatalf("curl: %v, want exit status 7 (could not connect) or 28 (timed out)\n%s", err, out)
			}
			if el > timeout+3*time.Second {
				t.Errorf("curl failed after %v, connect timeout %v", el, timeout)
			}
			t.Logf("curl after %v: %s", el.Round(time.Millisecond), strings.TrimSpace(out))

			want := "EHOSTUNREACH"
			if !reject {
				want = "ETIMEDOUT"
			}
			for _, mode := range []string{"nonblock", "block", "epoll"} {
				out, err := run(ctx, c, flags, connectBin, c.OriginName, "80", mode)
				if err != nil {
					t.Fatalf("%s: %v\n%s", mode, err, out)
				}
				r := report(t, out)
				got := r["so_error"]
				if mode == "block" {
					got = strings.TrimPrefix(r["connect"], "-1 ")
				}
				if got != want || r["sockaddr_unchanged"] != "1" {
					t.Errorf("%s: %v, want %s", mode, r, want)
				}
				if mode == "epoll" && !reject {
					// the connect is pending for the whole timeout; a loop
					// frozen by it would not have ticked
					if n, _ := strconv.Atoi(r["ticks"]); n < 50 {
						t.Errorf("epoll loop ticked %d times in %v while the connect was pending", n, timeout)
					}
				}
				if reject {
					nout, err := c.Exits[0].Run(ctx, connectBin, c.OriginName, "80", mode)
					if err != nil {
						t.Fatalf("%s natively: %v\n%s", mode, err, nout)
					}
					// Natively the exit host's own firewall rejects the SYN
					// while connect() holds the socket: a soft error, seen
					// as POLLERR with the socket still in SYN_SENT; an ICMP
					// error from the network, and carrot, close it
					// (POLLOUT|POLLERR|POLLHUP): so after the failure,
					// natively a second connect says EALREADY and a
					// blocking connect's error stays pending, where a
					// closed socket says ECONNABORTED and has none.
					same(t, mode, report(t, nout), r, "resolved", "ticks", "revents",
						"connect_after_error", "after_fail_revents", "after_fail_so_error")
					if rev := r["revents"]; mode == "nonblock" && !strings.Contains(rev, "ERR") {
						t.Errorf("%s: revents %q, want POLLERR", mode, rev)
					}
				}
				t.Logf("%s: %v", mode, r)
			}
			if !reject {
				// A signal interrupts a blocking connect that waits for the
				// exits, as it interrupts one that waits for SYN-ACK.
				out, err := run(ctx, c, flags, connectBin, c.OriginName, "80", "alarm")
				nout, nerr := c.Exits[0].Run(ctx, connectBin, c.OriginName, "80", "alarm")
				if err != nil || nerr != nil {
					t.Fatalf("alarm: %v %v\n%s\n%s", err, nerr, out, nout)
				}
				if r := report(t, out); r["connect"] != "-1 EINTR" {
					t.Errorf("alarm under carrot: %v, want EINTR", r)
				}
				same(t, "alarm", report(t, nout), report(t, out), "resolved")

				// The same with one exit, which carrot trusts enough to
				// connect the program's own socket to it (over.go): the
				// thread waits in carrot, which sees the signal pending
				// and gives the wait back to the kernel.
				log := filepath.Join(t.TempDir(), "log")
				out, err = run(ctx, c, append(exits(c, "", 0), "--connect-timeout", "5s", "-o", log),
					"sh", "-c", `sleep 0.2; exec "$@"`, "sh", connectBin, c.OriginName, "80", "alarm")
				routed, _ := os.ReadFile(log)
				if err != nil {
					t.Fatalf("alarm, one exit: %v\n%s\nlog:\n%s", err, out, routed)
				}
				if r := report(t, out); r["connect"] != "-1 EINTR" || !strings.Contains(string(routed), " retry ") {
					t.Errorf("alarm, one exit: %v, want EINTR after a retry through the relay\nlog:\n%s", r, routed)
				}
				t.Logf("alarm, one exit: %s\nlog:\n%s", strings.TrimSpace(out), routed)

				// A non-blocking connect is held for 20 ms at most: the
				// exit, still dialing, is left to the relayed path, which
				// fails at the connect timeout, not at carrot's 20 ms.
				start := time.Now()
				out, err = run(ctx, c, append(exits(c, "", 0), "--connect-timeout", timeout.String(), "-o", log),
					"sh", "-c", `sleep 0.2; exec "$@"`, "sh", connectBin, c.OriginName, "80", "nonblock")
				el := time.Since(start)
				routed, _ = os.ReadFile(log)
				if err != nil {
					t.Fatalf("nonblock, one exit: %v\n%s\nlog:\n%s", err, out, routed)
				}
				if r := report(t, out); r["so_error"] != "ETIMEDOUT" || el < timeout || !strings.Contains(string(routed), " retry ") {
					t.Errorf("nonblock, one exit: %v after %v, want ETIMEDOUT after %v and a retry through the relay\nlog:\n%s",
						r, el, timeout, routed)
				}
			}
		})
	}
}

// TestAbandonedConnect: a program that gives up on a connect the exits
// cannot make yet (Python's timeout, 1 s) and closes its socket makes the
// exits stop trying, then and not when the program exits or the connect
// timeout runs out: a destination that became reachable later would be
// reached for nobody.
func TestAbandonedConnect(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 1}) // exit 0 is blocked: its connect hangs
	exit := c.StartCarrotExit(t, carrotBin, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	prog := `import socket, sys, time
s = socket.socket()
s.settimeout(1)
try:
    s.connect((sys.argv[1], 80))
    print("connected")
except OSError as e:
    print("gave up:", type(e).__name__)
s.close()
time.sleep(4)`
	log := filepath.Join(t.TempDir(), "log")
	out, err := run(ctx, c, append(exits(c, "", 0), "--connect-timeout", "20s", "-o", log), python(t), "-c", prog, c.OriginName)
	routed, _ := os.ReadFile(log)
	if err != nil || !strings.Contains(out, "gave up: TimeoutError") {
		t.Fatalf("%v\n%s\nlog:\n%s", err, out, routed)
	}
	m := regexp.MustCompile(` abandon \S+ \(\S+\) after (\S+):`).FindSubmatch(routed)
	if m == nil {
		t.Fatalf("no abandon line in the log:\n%s", routed)
	}
	if d, err := time.ParseDuration(string(m[1])); err != nil || d < time.Second || d > 3*time.Second {
		t.Errorf("abandoned after %s, want soon after the program's 1 s (it then sleeps 4 s):\n%s", m[1], routed)
	}
	// and the exit was told: it stopped connecting for carrot
	if !strings.Contains(exit.Output(), "result=client-gone") {
		t.Errorf("the exit's log does not show the attempt cancelled:\n%s", exit.Output())
	}
	t.Logf("%s\nlog:\n%s", strings.TrimSpace(out), routed)
}

// python is the real interpreter, not a version manager's shim.
func python(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// gitServer serves a bare repository with one commit at /git/repo.git from
// the origin (git http-backend as CGI) and returns the commit.
func gitServer(t *testing.T, c *netns.Censored) string {
	t.Helper()
	dir := t.TempDir()
	gitc := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@t", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	work := filepath.Join(dir, "work")
	gitc("init", "-q", "-b", "main", work)
	os.WriteFile(filepath.Join(work, "README"), []byte("carried through an exit\n"), 0o644)
	gitc("-C", work, "add", "README")
	gitc("-C", work, "commit", "-q", "-m", "first")
	gitc("clone", "-q", "--bare", work, filepath.Join(dir, "repo.git"))
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	c.Mux.Handle("/git/", http.StripPrefix("/git", &cgi.Handler{
		Path: gitPath, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + dir, "GIT_HTTP_EXPORT_ALL=1"},
	}))
	return gitc("-C", work, "rev-parse", "HEAD")
}

// TestPrograms runs real programs under carrot run in the censored client,
// with the blocked exit listed first: python3 (urllib and requests over
// HTTPS, UDP sockets, DNS to a hard-coded server), git clone over smart
// HTTP and HTTPS, wget, a
// static Go binary with its own resolver, a chain of two exits, io_uring
// refused; and checks that the client's resolver never heard of any of it.
func TestPrograms(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 3})
	exitProcs := make([]*netns.Proc, 3)
	for i := range c.Exits {
		exitProcs[i] = c.StartCarrotExit(t, carrotBin, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	race := exits(c, "race", 0, 1, 2)
	py := python(t)
	before := c.Resolver.Queries()

	t.Run("python-urllib-https", func(t *testing.T) {
		out, err := run(ctx, c, race, py, "-c", `
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[1])
print(urllib.request.urlopen(sys.argv[2], context=ctx, timeout=20).read().decode(), end="")
`, c.CAFile, c.HTTPSURL)
		if err != nil || out != netns.OriginBody {
			t.Fatalf("%v\n%s", err, out)
		}
	})

	t.Run("python-requests-https", func(t *testing.T) {
		out, err := run(ctx, c, race, py, "-c", `
import sys, requests
r = requests.get(sys.argv[2], verify=sys.argv[1], timeout=20)
r.raise_for_status()
print(r.text, end="")
`, c.CAFile, c.HTTPSURL)
		if err != nil || out != netns.OriginBody {
			t.Fatalf("%v\n%s", err, out)
		}
	})

	t.Run("search-domains-ndots", func(t *testing.T) {
		// A Kubernetes pod's resolv.conf: names with fewer than 5 dots
		// are asked with each search domain first. The exit gets the name
		// the program asked for, not the first expansion.
		orig, err := os.ReadFile(filepath.Join("/etc/netns", c.Client.Name, "resolv.conf"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Client.WriteEtc("resolv.conf", string(orig))
		c.Client.WriteEtc("resolv.conf", string(orig)+"search default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n")
		out, err := run(ctx, c, race, "sh", "-c", `getent ahosts origin.test | head -1; curl -sS --max-time 20 `+c.HTTPURL)
		if err != nil || !strings.Contains(out, "origin.test\n") || !strings.HasSuffix(out, netns.OriginBody) || strings.Contains(out, "cluster.local") {
			t.Fatalf("%v\n%s", err, out)
		}
	})

	t.Run("python-udp", func(t *testing.T) {
		// Datagrams to a routed address are refused; to loopback they go.
		// A DNS query sent with sendto to a server written in the program
		// reaches carrot's server, and the answer seems to come from the
		// server the program asked.
		out, err := run(ctx, c, race, py, "-c", `
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"x", ("198.51.100.1", 443))
    print("routed udp sent")
except PermissionError as e:
    print("routed udp refused", e.errno)
lo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
lo.bind(("127.0.0.1", 0))
s.sendto(b"ping", lo.getsockname())
print("loopback udp", lo.recvfrom(10)[0].decode())
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in "origin.test".split(".")) + b"\0"
q += struct.pack(">HH", 1, 1)
d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
d.settimeout(5)
d.sendto(q, ("192.0.2.53", 53))
ans, frm = d.recvfrom(512)
print("dns from", frm[0], frm[1], "answer", socket.inet_ntoa(ans[-4:]))
`)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, want := range []string{"routed udp refused 1\n", "loopback udp ping\n", "dns from 192.0.2.53 53 answer 198.18."} {
			if !strings.Contains(out, want) {
				t.Errorf("want %q in:\n%s", want, out)
			}
		}
	})

	t.Run("python-one-fake", func(t *testing.T) {
		// A name has one fake address, IPv4 (AAAA gets no record) unless
		// --fake-ipv6; so a refused connect is one plain ECONNREFUSED for
		// asyncio, not "Multiple exceptions" over two fakes. A name that
		// does not exist gets a fake address too; the connect says what
		// the exit found (EHOSTUNREACH).
		script := `
import asyncio, socket, sys
print("families", sorted({a[0].name for a in socket.getaddrinfo(sys.argv[1], 80, type=socket.SOCK_STREAM)}))
async def main(host, port):
    try:
        await asyncio.open_connection(host, port)
        print("connected", host)
    except OSError as e:
        print("error", host, e.errno, type(e).__name__)
asyncio.run(main(sys.argv[1], 81))
asyncio.run(main("no-such-name.test", 80))
`
		out, err := run(ctx, c, race, py, "-c", script, c.OriginName)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, want := range []string{"families ['AF_INET']\n", "error origin.test 111 ConnectionRefusedError\n",
			"error no-such-name.test 113 "} {
			if !strings.Contains(out, want) {
				t.Errorf("want %q in:\n%s", want, out)
			}
		}
		out, err = run(ctx, c, append(race, "--fake-ipv6"), py, "-c", script, c.OriginName)
		if err != nil || !strings.Contains(out, "families ['AF_INET', 'AF_INET6']\n") {
			t.Errorf("--fake-ipv6: %v\n%s", err, out)
		}
	})

	t.Run("git-clone", func(t *testing.T) {
		head := gitServer(t, c)
		for _, url := range []string{"http://" + c.OriginName + "/git/repo.git", "https://" + c.OriginName + "/git/repo.git"} {
			dest := filepath.Join(t.TempDir(), "clone")
			out, err := run(ctx, c, race, "env", "GIT_SSL_CAINFO="+c.CAFile, "git", "clone", "-q", url, dest)
			if err != nil {
				t.Fatalf("%s: %v\n%s", url, err, out)
			}
			got, err := exec.Command("git", "-C", dest, "rev-parse", "HEAD").Output()
			if err != nil || strings.TrimSpace(string(got)) != head {
				t.Fatalf("%s: cloned HEAD %q (%v), want %s", url, got, err, head)
			}
			if b, err := os.ReadFile(filepath.Join(dest, "README")); err != nil || string(b) != "carried through an exit\n" {
				t.Fatalf("%s: README: %q %v", url, b, err)
			}
		}
	})

	t.Run("wget-https", func(t *testing.T) {
		out, err := run(ctx, c, race, "wget", "-q", "-O", "-", "--ca-certificate="+c.CAFile, c.HTTPSURL)
		if err != nil || out != netns.OriginBody {
			t.Fatalf("%v\n%s", err, out)
		}
	})

	t.Run("unprivileged", func(t *testing.T) {
		// carrot run needs no privilege: as nobody (in the client's
		// network namespace, which root made), curl reaches the origin by
		// name, the blocked exit still listed first. CAFile lives in a
		// root-only directory, so the page is fetched over plain HTTP.
		args := append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "env", "HOME=/nonexistent", carrotBin, "run"}, race...)
		out, err := c.Client.Run(ctx, "setpriv", append(args, "--", "sh", "-c", `id -u; curl -sS --max-time 20 `+c.HTTPURL)...)
		if err != nil || out != "65534\n"+netns.OriginBody {
			t.Fatalf("%v\n%s", err, out)
		}
	})

	t.Run("getsockname-relayed", func(t *testing.T) {
		// A relayed socket is connected to carrot's loopback relay; it
		// shows carrot's address towards the exit, as a direct
		// connection would show the host's.
		out, err := run(ctx, c, append(append([]string{}, race...), "--relay-all"), py, "-c", `
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=20)
print(s.getsockname()[0], s.getpeername()[0])
`, c.OriginName)
		if err != nil || !strings.HasPrefix(out, c.ClientV4.String()+" 198.18.") {
			t.Fatalf("getsockname, getpeername: %v %q (want %s and a fake address)", err, out, c.ClientV4)
		}
		// A port the program bound is the one it sees.
		out, err = run(ctx, c, append(append([]string{}, race...), "--relay-all"), py, "-c", `
import socket, sys
s = socket.socket()
s.bind(("0.0.0.0", 45678))
s.settimeout(20)
s.connect((sys.argv[1], 80))
print(s.getsockname())
`, c.OriginName)
		if want := fmt.Sprintf("('%s', 45678)\n", c.ClientV4); err != nil || out != want {
			t.Fatalf("getsockname of a bound socket: %v %q, want %q", err, out, want)
		}
	})

	t.Run("v6only-mapped", func(t *testing.T) {
		// An IPv6-only socket cannot reach an IPv4 address, even
		// v4-mapped: the kernel says ENETUNREACH, and so does carrot.
		out, err := run(ctx, c, race, py, "-c", `
import errno, socket, sys
ip = socket.getaddrinfo(sys.argv[1], 80, socket.AF_INET)[0][4][0]
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.settimeout(20)
try:
    s.connect(("::ffff:" + ip, 80))
    print("connected", s.getpeername())
except OSError as e:
    print(errno.errorcode[e.errno])
`, c.OriginName)
		if err != nil || out != "ENETUNREACH\n" {
			t.Fatalf("%v %q, want ENETUNREACH", err, out)
		}
	})

	t.Run("disconnect", func(t *testing.T) {
		// connect(AF_UNSPEC) disconnects a connected socket: getpeername
		// then fails with ENOTCONN at once, relayed (where carrot's
		// relay learns of it only a moment later) as on the program's
		// own socket; getsockname shows no exit's address any more.
		const prog = `
import ctypes, errno, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
bad = 0
for i in range(10):
    s = socket.create_connection((sys.argv[1], 80), timeout=20)
    connected = s.getsockname()[0]
    unspec = struct.pack("H14x", socket.AF_UNSPEC)
    if libc.connect(s.fileno(), unspec, len(unspec)) != 0:
        print("connect(AF_UNSPEC):", errno.errorcode[ctypes.get_errno()])
    try:
        print("peer after the disconnect:", s.getpeername())
        bad += 1
    except OSError as e:
        if e.errno != errno.ENOTCONN:
            print("getpeername:", e)
            bad += 1
    if s.getsockname()[0] == connected != "0.0.0.0":
        print("getsockname still", s.getsockname())
        bad += 1
    s.close()
print("bad", bad)
`
		for _, relay := range []bool{false, true} {
			flags := append([]string{}, race...)
			if relay {
				flags = append(flags, "--relay-all")
			}
			out, err := run(ctx, c, flags, py, "-c", prog, c.OriginName)
			if err != nil || !strings.HasSuffix(out, "bad 0\n") {
				t.Errorf("relayed %v: %v\n%s", relay, err, out)
			}
		}
	})

	t.Run("go-static", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "goget")
		cmd := exec.Command("go", "build", "-o", bin, "./testdata/goget")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		out, err := run(ctx, c, race, bin, c.HTTPSURL, c.CAFile)
		if err != nil || out != netns.OriginBody {
			t.Fatalf("%v\n%s", err, out)
		}
	})

	t.Run("chain", func(t *testing.T) {
		out, err := run(ctx, c, exits(c, "chain", 1, 2), "curl", "-sS", "--cacert", c.CAFile, c.HTTPSURL)
		if err != nil || out != netns.OriginBody {
			t.Fatalf("%v\n%s", err, out)
		}
		// exit 1 carried the stream to exit 2, which reached the origin
		hop := c.ExitV4[2].String() + ":1080"
		if !strings.Contains(exitProcs[1].Output(), "dest="+hop) {
			t.Errorf("exit 1 log has no connection to %s:\n%s", hop, exitProcs[1].Output())
		}
		if !strings.Contains(exitProcs[2].Output(), "dest="+c.OriginName+":443") {
			t.Errorf("exit 2 log has no connection to the origin:\n%s", exitProcs[2].Output())
		}
	})

	t.Run("peer-exits", func(t *testing.T) {
		// Other SOCKS5 servers as exits: microsocks (username/password)
		// and Dante (no authentication). carrot's spare connections wait
		// between the credentials and the request, which both accept.
		netns.RequireBinaries(t, "microsocks", "danted")
		c.StartMicrosocks(t, 1, 1081)
		c.StartDante(t, 2, 1082)
		for _, u := range []string{
			fmt.Sprintf("socks5://%s:%s@%s:1081", netns.ExitUser, netns.ExitPass, c.ExitV4[1]),
			fmt.Sprintf("socks5://%s:1082", c.ExitV4[2]),
		} {
			var out string
			var err error
			// curl, then a blocking connect in the same run, which finds
			// the exit known (and asked, on the spare, whether it reads
			// pipelined messages: a peer does not say so) and goes on its
			// own socket, however long the peer takes to answer.
			curl := `curl -sS --cacert "$0" "$1" && "$2" "$3" 80 block | grep '^body='`
			log := filepath.Join(t.TempDir(), "log")
			for range 50 { // the server may still be starting
				out, err = run(ctx, c, []string{"--exit", u, "--connect-timeout", "5s", "-o", log}, "sh", "-c", curl,
					c.CAFile, c.HTTPSURL, connectBin, c.OriginName)
				if err == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			routed, _ := os.ReadFile(log)
			if err != nil || !strings.HasPrefix(out, netns.OriginBody) || !strings.Contains(out, "body="+netns.OriginBody) {
				t.Fatalf("%s: %v\n%s\nlog:\n%s", u, err, out, routed)
			}
			if !strings.Contains(string(routed), "(program's own socket)") {
				t.Errorf("%s: no connect on the program's own socket:\n%s", u, routed)
			}
		}
	})

	t.Run("io_uring", func(t *testing.T) {
		out, err := run(ctx, c, race, connectBin, "-", "-", "uring")
		if err != nil || report(t, out)["io_uring_setup"] != "-1 ENOSYS" {
			t.Fatalf("%v\n%s", err, out)
		}
	})

	t.Run("bypass", func(t *testing.T) {
		// Calls that would send around the routing (testdata/bypass.c)
		// send natively, and fail under carrot run with nothing sent: a
		// UDP listener on exit 2, which the client reaches directly,
		// counts what arrives.
		var got atomic.Int64
		var pc net.PacketConn
		if err := c.Exits[2].Do(func() (err error) {
			pc, err = net.ListenPacket("udp4", c.ExitV4[2].String()+":9999")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		go func() {
			buf := make([]byte, 2048)
			for {
				if _, _, err := pc.ReadFrom(buf); err != nil {
					return
				}
				got.Add(1)
			}
		}()
		target := []string{c.ExitV4[2].String(), "9999"}
		native, err := c.Client.Run(ctx, bypassBin, target...)
		if err != nil {
			t.Fatalf("natively: %v\n%s", err, native)
		}
		const sent = 7 // highlen, 3 unspec, 2 longname, raw
		for i := 0; got.Load() < sent && i < 100; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if n := got.Load(); n < sent {
			t.Fatalf("natively, the listener got %d of %d datagrams: it sees no leak\n%s", n, sent, native)
		}
		got.Store(0)
		// And a TCP listener there, for the connect race (bypass.c's race).
		ln, err := c.Exits[2].Listen("tcp4", c.ExitV4[2].String()+":9998")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var accepted atomic.Int64
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				conn.Close()
			}
		}()
		out, err := run(ctx, c, race, bypassBin, target[0], target[1], "9998", "50")
		r := report(t, out)
		if r["race_tries"] == "" || r["race_tries"] == "0" || r["race_direct"] != "0" {
			t.Errorf("connect race: %s tries, %s connected directly, want 0", r["race_tries"], r["race_direct"])
		}
		for k, want := range map[string]string{
			"sendto_highlen": "-1 EPERM", "sendto_unspec": "-1 EPERM", "sendmsg_unspec": "-1 EPERM",
			"sendmmsg_unspec": "-1 EPERM", "raw_unspec": "-1 EPERM",
			"sendmsg_longname": "-1 EPERM", "sendmmsg_longname": "-1 EPERM",
			"ip_options": "-1 EPERM", "ipv6_rthdr": "-1 EPERM", "sendmsg_retopts": "-1 EPERM",
			"socket_sctp": "-1 EPROTONOSUPPORT", "socket_seqpacket": "-1 EPROTONOSUPPORT",
			"socket_mptcp": "-1 EPROTONOSUPPORT", "sock_packet": "-1 EPERM", "socket_highdomain": "-1 EPERM",
			"socket_xdp": "-1 EAFNOSUPPORT", "socket_vsock": "-1 EAFNOSUPPORT", "socket_netlink": "0 0",
			"seccomp_listener": "-1 EPERM", "seccomp_plain": "0 0",
			"clone_untraced": "-1 EPERM", "clone3": "-1 ENOSYS", "fork_status": "7",
		} {
			if r[k] != want {
				t.Errorf("%s=%q under carrot run, want %q", k, r[k], want)
			}
		}
		if err != nil {
			t.Errorf("%v\n%s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
		if n := got.Load(); n != 0 {
			t.Errorf("%d datagrams reached the listener directly under carrot run\n%s", n, out)
		}
		if n := accepted.Load(); n != 0 {
			t.Errorf("%d connections reached the TCP listener directly under carrot run\n%s", n, out)
		}
		// As a user (root may trace anything), the program cannot reach
		// into carrot, its parent of the same uid.
		args := append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "env", "HOME=/nonexistent", carrotBin, "run"}, race...)
		out, err = c.Client.Run(ctx, "setpriv", append(append(args, "--", bypassBin), target...)...)
		r = report(t, out)
		if err != nil || r["ptrace_parent"] != "-1 EPERM" || r["vm_read_parent"] != "-1 EPERM" {
			t.Errorf("as nobody: %v, ptrace_parent=%q vm_read_parent=%q, want -1 EPERM\n%s", err, r["ptrace_parent"], r["vm_read_parent"], out)
		}
	})

	t.Run("blocking-without-fast-open", func(t *testing.T) {
		// With TCP fast open off, a blocking connect cannot be started
		// without blocking: the thread waits in carrot for the exits.
		if out, err := c.Client.Run(ctx, "sysctl", "-qw", "net.ipv4.tcp_fastopen=0"); err != nil {
			t.Fatalf("sysctl: %v\n%s", err, out)
		}
		defer c.Client.Run(context.Background(), "sysctl", "-qw", "net.ipv4.tcp_fastopen=1")
		for port, want := range map[string]string{"80": "0 0", "81": "-1 ECONNREFUSED"} {
			out, err := run(ctx, c, race, connectBin, c.OriginName, port, "block")
			r := report(t, out)
			if err != nil || r["connect"] != want || r["sockaddr_unchanged"] != "1" {
				t.Fatalf("port %s: %v, want connect=%s\n%s", port, err, want, out)
			}
			if port == "80" && (r["body"] != strings.TrimSpace(netns.OriginBody) || r["peer_is_dest"] != "1") {
				t.Errorf("port 80: %v", r)
			}
		}
	})

	if n := c.Resolver.Queries() - before; n != 0 {
		t.Errorf("DNS leaked: the client's resolver got %d queries under carrot: %v", n, c.Resolver.Names())
	}
}

// TestOwnSocketFallback: once an exit has reached the origin, carrot
// connects the program's own socket to it (over.go). When that exit then
// dies, the next connect finds it refusing, takes the relayed path, and
// reaches the origin through the other exit; and a bulk download on the
// program's own socket arrives whole.
func TestOwnSocketFallback(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 3})
	procs := []*netns.Proc{nil, c.StartCarrotExit(t, carrotBin, 1), c.StartCarrotExit(t, carrotBin, 2)}
	const size = 64 << 20
	c.Mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		buf := make([]byte, 1<<16)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		for n := 0; n < size; n += len(buf) {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	log, gate, done := filepath.Join(dir, "log"), filepath.Join(dir, "gate"), filepath.Join(dir, "done")
	// curl (non-blocking connects) for the page, then the download, then,
	// once the test has stopped the exit that carried it, the page again.
	// A connect goes on the program's own socket only with an exit that
	// answers quickly (over.go), which a loaded machine can deny a moment:
	// then the download is made again, up to five times.
	script := `curl -sS --max-time 10 "$1" && for i in 1 2 3 4 5; do
		curl -sS --max-time 20 -o /dev/null -w '%{size_download}\n' "$1big" || exit 1
		: >"$3.$i"; for j in $(seq 60); do [ -e "$2" ] && break 2; sleep 0.05; done
	done && curl -sS --max-time 10 "$1"`
	cmd := c.Client.Command(ctx, carrotBin, append(append([]string{"run"}, exits(c, "race", 1, 2)...),
		"-o", log, "--connect-timeout", "5s", "--", "sh", "-c", script, "sh", c.HTTPURL, gate, done)...)
	var out, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := func() []string {
		b, _ := os.ReadFile(log)
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	// Stop the exit that carried a download on the program's own socket.
	used, downloads := 0, 0
	for downloads < 5 && used == 0 {
		deadline := time.Now().Add(30 * time.Second)
		next := fmt.Sprintf("%s.%d", done, downloads+1)
		for _, err := os.Stat(next); err != nil; _, err = os.Stat(next) {
			if time.Now().After(deadline) {
				t.Fatalf("download %d not done:\n%s", downloads+1, strings.Join(lines(), "\n"))
			}
			time.Sleep(20 * time.Millisecond)
		}
		downloads++
		for wait := time.Now().Add(time.Second); used == 0 && time.Now().Before(wait); {
			time.Sleep(20 * time.Millisecond)
			for _, l := range lines() {
				for i := 1; i <= 2; i++ {
					if strings.Contains(l, "(program's own socket)") && strings.Contains(l, "@"+c.ExitV4[i].String()+":") {
						used = i
					}
				}
			}
		}
	}
	if used == 0 {
		t.Fatalf("no connect on the program's own socket in %d downloads:\n%s", downloads, strings.Join(lines(), "\n"))
	}
	if downloads > 1 {
		t.Logf("the program's own socket at download %d", downloads)
	}
	procs[used].Stop()
	other := 3 - used
	os.WriteFile(gate, nil, 0o644)
	err := cmd.Wait()
	routed := strings.Join(lines(), "\n")
	want := netns.OriginBody + strings.Repeat(strconv.Itoa(size)+"\n", downloads) + netns.OriginBody
	if err != nil || out.String() != want {
		t.Fatalf("carrot run: %v\n%q, want %q\nstderr:\n%s\nlog:\n%s", err, out.String(), want, stderr.String(), routed)
	}
	// carrot says the stopped exit refused it, and nothing else
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !strings.HasPrefix(l, "carrot: exit socks5://alice@"+c.ExitV4[used].String()+":1080: ") {
			t.Errorf("stderr: %q, want lines about the stopped exit %d only", stderr.String(), used)
		}
	}
	// The download went over the program's own socket: a connect line
	// saying so, and no close line for it (carrot was not in the way).
	var own, retry, viaOther int
	for _, l := range lines() {
		switch {
		case strings.Contains(l, " connect ") && strings.Contains(l, "(program's own socket)"):
			own++
		case strings.Contains(l, " retry "):
			retry++
		case strings.Contains(l, " connect ") && strings.Contains(l, "@"+c.ExitV4[other].String()+":"):
			viaOther++
		}
	}
	if own < 1 || retry != 1 || viaOther < 1 {
		t.Errorf("log: %d connects on the program's own socket, %d retries, %d relayed through exit %d; want >= 1, 1, >= 1:\n%s",
			own, retry, viaOther, other, routed)
	}
	t.Logf("log:\n%s", routed)
}

// TestExitAtItsLimit: an exit at its connection limit answers a request
// with a general failure, which is its own failure, not the destination's
// answer: the connect goes through the other exit, on the program's own
// socket (where the limited exit is the one that reached the destination
// before) as on the relayed path, and the program never sees it.
func TestExitAtItsLimit(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 3})
	limited := c.StartCarrotExit(t, carrotBin, 1, "--max-conns", "3")
	c.StartCarrotExit(t, carrotBin, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Six connections held open at once, then a request on each.
	const prog = `
import socket, sys
conns = [socket.create_connection((sys.argv[1], 80), timeout=10) for _ in range(6)]
for s in conns:
    s.sendall(b"GET / HTTP/1.0\r\nHost: " + sys.argv[1].encode() + b"\r\n\r\n")
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    print(data.split(b"\r\n")[0].decode())
`
	for _, mode := range []string{"failover", "race"} {
		log := filepath.Join(t.TempDir(), "log")
		out, err := run(ctx, c, append(exits(c, mode, 1, 2), "-o", log, "--connect-timeout", "5s"), "python3", "-c", prog, c.OriginName)
		routed, _ := os.ReadFile(log)
		if err != nil || strings.Count(out, "HTTP/1.0 200 OK\n") != 6 {
			t.Fatalf("%s: %v\n%s\nlog:\n%s", mode, err, out, routed)
		}
		t.Logf("%s: log:\n%s", mode, routed)
	}
	if !strings.Contains(limited.Output(), "result=limit") {
		t.Fatalf("the limited exit never said it was at its limit:\n%s", limited.Output())
	}
}

// TestSetupErrorsSaid: what is wrong with an exit itself — a password it
// refuses, a host name that does not resolve, a certificate that fails
// verification — is said on carrot run's stderr, one line per exit and
// kind however many connects meet it, without the password; the program
// still gets the errno a direct connect would give (ENETUNREACH: no way
// out).
func TestSetupErrorsSaid(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 3})
	c.StartCarrotExit(t, carrotBin, 1)
	cert, key, _ := netns.ExitCert(t, "exit2.test")
	_, _, otherCA := netns.ExitCert(t, "exit2.test")
	c.StartCarrotExit(t, carrotBin, 2, "--tls-cert", cert, "--tls-key", key)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const badPass = "not-the-password"
	for _, tc := range []struct {
		name, url, want string
	}{
		{"password", fmt.Sprintf("socks5://%s:%s@%s:1080", netns.ExitUser, badPass, c.ExitV4[1]),
			fmt.Sprintf(`carrot: exit socks5://%s@%s:1080: authentication failed: server rejected user "%s"`,
				netns.ExitUser, c.ExitV4[1], netns.ExitUser)},
		{"name", fmt.Sprintf("socks5://%s:%s@no-such-exit.test:1080", netns.ExitUser, badPass),
			fmt.Sprintf("carrot: exit socks5://%s@no-such-exit.test:1080: dial tcp: lookup no-such-exit.test", netns.ExitUser)},
		{"certificate", fmt.Sprintf("socks5+tls://%s:%s@%s:1080?ca=%s&sni=exit2.test", netns.ExitUser, badPass, c.ExitV4[2], otherCA),
			fmt.Sprintf("carrot: exit socks5+tls://%s@%s:1080: tls: failed to verify certificate: x509: certificate signed by unknown authority",
				netns.ExitUser, c.ExitV4[2])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// three connects, each of which meets the problem
			out, err := run(ctx, c, []string{"--exit", tc.url, "--connect-timeout", "3s"}, "sh", "-c",
				`for i in 1 2 3; do curl -sS --max-time 5 "$0"; echo "curl=$?"; done`, c.HTTPURL)
			if err != nil || strings.Count(out, "curl=7\n") != 3 || !strings.Contains(out, "Couldn't connect") {
				t.Fatalf("%v, want three curls failing to connect (7):\n%s", err, out)
			}
			var said []string
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "carrot: ") {
					said = append(said, l)
				}
			}
			if len(said) != 1 || !strings.HasPrefix(said[0], tc.want) {
				t.Errorf("carrot said %q, want one line starting %q\noutput:\n%s", said, tc.want, out)
			}
			if strings.Contains(out, badPass) {
				t.Errorf("the password is in the output:\n%s", out)
			}
			t.Logf("%s", out)
		})
	}
}

// TestRunFollowsForks: carrot run takes carrot trace's -f, and, with it
// or without, routes the connections of every process the program starts:
// here curl, a child of the shell carrot started.
func TestRunFollowsForks(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 2})
	c.StartCarrotExit(t, carrotBin, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, f := range [][]string{{"-f"}, nil} {
		log := filepath.Join(t.TempDir(), "log")
		flags := append(append(f, exits(c, "", 1)...), "-o", log)
		out, err := run(ctx, c, flags, "sh", "-c", `curl -sS --max-time 10 "$0" & wait; echo "sh=$$"`, c.HTTPURL)
		routed, _ := os.ReadFile(log)
		body, sh, _ := strings.Cut(out, "sh=")
		if err != nil || body != netns.OriginBody {
			t.Fatalf("%q: %v\n%s\nlog:\n%s", f, err, out, routed)
		}
		var child bool
		for _, l := range strings.Split(string(routed), "\n") {
			child = child || strings.Contains(l, " connect "+c.OriginName+":80 ") && !strings.Contains(l, "[pid "+strings.TrimSpace(sh)+"]")
		}
		if !child {
			t.Errorf("%q: no connect by the shell's child in the log:\n%s", f, routed)
		}
	}
}

// TestFakeIPv6WithoutIPv4: on a host with no IPv4 address but loopback,
// carrot run's resolver gives names fake IPv6 addresses without being
// asked (--fake-ipv6 is on by itself there), as such a host's programs
// ask for AAAA records only.
func TestFakeIPv6WithoutIPv4(t *testing.T) {
	netns.Skip(t)
	n := netns.New(t)
	h := n.Host("v6only")
	h.WriteEtc("resolv.conf", "nameserver 2001:db8::53\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	script := `
import socket, sys
print("families", sorted({a[0].name for a in socket.getaddrinfo(sys.argv[1], 80, type=socket.SOCK_STREAM)}))
`
	out, err := h.Run(ctx, carrotBin, "run", "--exit", "socks5://u:p@[2001:db8::1]:1080", "--", python(t), "-c", script, "origin.test")
	if err != nil || !strings.Contains(out, "'AF_INET6'") {
		t.Fatalf("want a fake IPv6 address on a host without IPv4: %v\n%s", err, out)
	}
}

// blockedFirst is the network of the history tests: three carrot exits,
// the first two blocked from the origin. asked(i) counts the requests for
// the origin that exit i has logged.
func blockedFirst(t *testing.T) (c *netns.Censored, procs []*netns.Proc, asked func(i int) int) {
	t.Helper()
	c = netns.NewCensored(t, netns.CensoredOptions{Exits: 3, Blocked: 2})
	for i := range c.Exits {
		procs = append(procs, c.StartCarrotExit(t, carrotBin, i))
	}
	return c, procs, func(i int) int { return strings.Count(procs[i].Output(), "dest="+c.OriginName+":") }
}

// TestExitHistory: carrot run keeps what its races taught across runs. The
// first run asks the two blocked exits listed first before the third wins;
// the second asks the third first, and the blocked ones not at all. The
// history names exits, never a destination.
func TestExitHistory(t *testing.T) {
	c, procs, asked := blockedFirst(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cache := t.TempDir()
	get := func() {
		t.Helper()
		// A stagger long enough that the first exit asked, if it can, has
		// always answered before the next is asked.
		args := append([]string{"XDG_CACHE_HOME=" + cache, carrotBin, "run"}, exits(c, "race", 0, 1, 2)...)
		args = append(args, "--exit-history", "--stagger", "300ms", "--", "curl", "-sS", "--max-time", "10", c.HTTPURL)
		if out, err := c.Client.Run(ctx, "env", args...); err != nil || out != netns.OriginBody {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	get()
	for i := range 3 {
		// A cancelled attempt is logged when the exit has let it go.
		if !procs[i].WaitOutput("dest="+c.OriginName+":", 10*time.Second) {
			t.Fatalf("first run: exit %d was not asked:\n%s", i, procs[i].Output())
		}
	}
	before := []int{asked(0), asked(1), asked(2)}
	hist, err := os.ReadFile(filepath.Join(cache, "carrot", "exits.json"))
	if err != nil || strings.Contains(string(hist), c.OriginName) || strings.Contains(string(hist), netns.ExitPass) || !strings.Contains(string(hist), c.ExitV4[2].String()) {
		t.Fatalf("history after the first run (%v):\n%s", err, hist)
	}
	get()
	if !waitCount(func() int { return asked(2) }, before[2]+1, 10*time.Second) {
		t.Fatalf("second run: exit 2 not asked:\n%s", procs[2].Output())
	}
	time.Sleep(500 * time.Millisecond) // a cancelled attempt's line would be there by now
	if asked(0) != before[0] || asked(1) != before[1] {
		t.Fatalf("second run asked the blocked exits again (%d, %d times; %d, %d before)\n%s", asked(0), asked(1), before[0], before[1], hist)
	}
	// Once the exit has won its recent races (six in a row from none),
	// a first contact goes to it on the program's own socket, no race.
	for run := 3; ; run++ {
		args := append([]string{"XDG_CACHE_HOME=" + cache, carrotBin, "run"}, exits(c, "race", 0, 1, 2)...)
		args = append(args, "--exit-history", "--stagger", "300ms", "-v", "--", "curl", "-sS", "--max-time", "10", c.HTTPURL)
		out, err := c.Client.Run(ctx, "env", args...)
		if err != nil || !strings.Contains(out, netns.OriginBody) {
			t.Fatalf("run %d: %v\n%s", run, err, out)
		}
		if strings.Contains(out, "(program's own socket)") {
			if run < 7 {
				t.Fatalf("run %d trusted the exit already:\n%s", run, out)
			}
			break
		}
		if run == 8 {
			t.Fatalf("run %d still raced:\n%s", run, out)
		}
	}
	if asked(0) != before[0] || asked(1) != before[1] {
		t.Fatalf("later runs asked the blocked exits")
	}

	// A wrong guess: the history trusts exit 0, which cannot reach the
	// origin. A blocking and a non-blocking connect each give it a short
	// budget, then race the exits; the guess loses its trust.
	path := filepath.Join(cache, "carrot", "exits.json")
	var file struct {
		Exits map[string]map[string]any `json:"exits"`
	}
	if b, err := os.ReadFile(path); err != nil || json.Unmarshal(b, &file) != nil {
		t.Fatalf("history: %v", err)
	}
	for name, e := range file.Exits {
		if strings.Contains(name, c.ExitV4[0].String()+":") {
			e["score"] = 1.0
		} else {
			e["score"] = 0.5
		}
	}
	b, _ := json.Marshal(file)
	os.WriteFile(path, b, 0o600)
	script := `
import socket, sys, time
time.sleep(2)  # carrot's connections to the exits made: see below
s = socket.socket()
s.connect((sys.argv[1], 80))  # blocking
s.sendall(b"GET / HTTP/1.0\r\nHost: " + sys.argv[1].encode() + b"\r\n\r\n")
print(s.makefile("rb").read().decode().split("\r\n\r\n", 1)[1], end="")
`
	// Each program waits a moment first: a guess goes only to an exit
	// that answered within the last minute (carrot's connections to the
	// exits, made as it starts, count; 2 s, since under the race detector
	// on a loaded machine 0.5 s was not always enough).
	for _, argv := range [][]string{{python(t), "-c", script, c.OriginName}, {"sh", "-c", "sleep 2; curl -sS --max-time 10 " + c.HTTPURL}} {
		args := append([]string{"XDG_CACHE_HOME=" + cache, carrotBin, "run"}, exits(c, "race", 0, 1, 2)...)
		args = append(append(args, "--exit-history", "-v", "--"), argv...)
		began := time.Now()
		out, err := c.Client.Run(ctx, "env", args...)
		if err != nil || !strings.Contains(out, netns.OriginBody) || !strings.Contains(out, "first contact's budget") && !strings.Contains(out, "non-blocking connect's budget") {
			t.Fatalf("%s with a wrong guess: %v (%v)\n%s", argv[0], err, time.Since(began), out)
		}
		b, _ := os.ReadFile(path)
		if err := json.Unmarshal(b, &file); err != nil {
			t.Fatal(err)
		}
		for name, e := range file.Exits {
			if strings.Contains(name, c.ExitV4[0].String()+":") && e["score"].(float64) >= 0.9 {
				t.Fatalf("after a wrong guess exit 0 is still trusted: %s", b)
			}
		}
		file.Exits[func() string {
			for name := range file.Exits {
				if strings.Contains(name, c.ExitV4[0].String()+":") {
					return name
				}
			}
			return ""
		}()]["score"] = 1.0 // trusted again, for the next program
		b, _ = json.Marshal(file)
		os.WriteFile(path, b, 0o600)
	}
}

// TestRaceLearnsWithinRun: without the history file (--exit-history=false),
// a run's first race still teaches its later ones. The HTTP GET asks the
// two blocked exits listed first before the third wins; the HTTPS GET
// that follows in the same run (a destination met for the first time:
// another port) asks the third first, and the blocked ones not at all.
// No file is written.
func TestRaceLearnsWithinRun(t *testing.T) {
	c, procs, asked := blockedFirst(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cache := t.TempDir()
	args := append([]string{"XDG_CACHE_HOME=" + cache, carrotBin, "run"}, exits(c, "race", 0, 1, 2)...)
	args = append(args, "--stagger", "300ms", "--", "sh", "-c",
		fmt.Sprintf("curl -sS --max-time 10 %s && curl -sS --max-time 10 --cacert %s %s", c.HTTPURL, c.CAFile, c.HTTPSURL))
	if out, err := c.Client.Run(ctx, "env", args...); err != nil || out != netns.OriginBody+netns.OriginBody {
		t.Fatalf("%v\n%s", err, out)
	}
	if !waitCount(func() int { return asked(2) }, 2, 10*time.Second) {
		t.Fatalf("exit 2 was asked %d times, want 2:\n%s", asked(2), procs[2].Output())
	}
	for i := range 2 {
		// A cancelled attempt is logged when the exit has let it go.
		if !procs[i].WaitOutput("dest="+c.OriginName+":", 10*time.Second) {
			t.Fatalf("exit %d was not asked by the first race:\n%s", i, procs[i].Output())
		}
	}
	time.Sleep(500 * time.Millisecond) // a second cancelled attempt's line would be there by now
	if asked(0) != 1 || asked(1) != 1 {
		t.Errorf("the blocked exits were asked %d and %d times, want once each (the second race should start with exit 2)", asked(0), asked(1))
	}
	if _, err := os.Stat(filepath.Join(cache, "carrot")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--exit-history=false wrote the cache: %v", err)
	}
}

// TestStartsWithPortsInTimeWait: on a host whose connections over
// 127.0.0.1 have left every ephemeral port in TIME_WAIT, a program can
// still connect (a connect may reuse such a port), so carrot run must
// start too: its loopback listeners (the hold, the DNS server), which a
// bind to port 0 cannot put on those ports, go to another address of
// 127/8.
func TestStartsWithPortsInTimeWait(t *testing.T) {
	netns.Skip(t)
	h := netns.New(t).Host("tw")
	h.Sysctl("ipv4/ip_local_port_range", "40000 40009")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exit := h.Start(carrotBin, "exit", "--listen", "127.0.0.1:1080", "--no-auth")
	defer exit.Stop()
	if !exit.WaitOutput("listening", 10*time.Second) {
		t.Fatalf("exit did not start:\n%s", exit.Output())
	}
	if err := h.Do(func() error {
		ln, err := net.Listen("tcp", "127.0.0.1:5555")
		if err != nil {
			return err
		}
		defer ln.Close()
		for range 10 {
			c, err := net.Dial("tcp", "127.0.0.1:5555")
			if err != nil {
				return err
			}
			a, err := ln.Accept()
			if err != nil {
				return err
			}
			c.Close() // the client closes first: its port goes to TIME_WAIT
			a.Close()
		}
		// Every ephemeral port is taken: a listener cannot have one.
		if l, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
			l.Close()
			return errors.New("a listener on 127.0.0.1:0 still got a port: the test cannot tell")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out, err := h.Run(ctx, carrotBin, "run", "--exit", "socks5://127.0.0.1:1080", "--", "getent", "hosts", "origin.test")
	// The host has no resolver: the name resolves through carrot's DNS.
	if err != nil || !strings.Contains(out, "origin.test") {
		t.Fatalf("carrot run with every ephemeral port in TIME_WAIT: %v\n%s", err, out)
	}
}

// TestOutOfDescriptors: carrot's relays need descriptors of its own (the
// held socket, the exit's connection, splice pipes), from the same limit
// as the program's. When carrot runs out, the program's connect fails
// with ENOBUFS (resources short, as the kernel says), not with EMFILE, which
// would be about the program's own table, and carrot says what ran out,
// without blaming the exit (which stays in use).
func TestOutOfDescriptors(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 2}) // exit 0 is blocked
	c.StartCarrotExit(t, carrotBin, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	prog := `
import errno, socket, sys
held, got = [], {}
ip = socket.gethostbyname(sys.argv[1])  # once: a lookup needs carrot's descriptors too
for i in range(40):
    s = socket.socket()
    try:
        s.connect((ip, 80))
        held.append(s)
        got["ok"] = got.get("ok", 0) + 1
    except OSError as e:
        got[errno.errorcode.get(e.errno, str(e.errno))] = got.get(errno.errorcode.get(e.errno, str(e.errno)), 0) + 1
        s.close()
print(" ".join("%s=%d" % kv for kv in sorted(got.items())))
`
	args := append([]string{"--nofile=64:64", carrotBin, "run", "--relay-all"}, exits(c, "", 1)...)
	args = append(args, "--", "python3", "-c", prog, c.OriginName)
	out, err := c.Client.Run(ctx, "prlimit", args...)
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "ok=") || !strings.Contains(out, "ENOBUFS=") {
		t.Errorf("want some connects ok and the rest ENOBUFS:\n%s", out)
	}
	for _, bad := range []string{"EMFILE", "ECONNABORTED", "ENETUNREACH"} {
		if strings.Contains(out, bad+"=") {
			t.Errorf("a connect failed with %s:\n%s", bad, out)
		}
	}
	if strings.Count(out, "out of file descriptors") != 1 || strings.Contains(out, "exit socks5://") {
		t.Errorf("carrot did not say once that it ran out of descriptors, or blamed the exit:\n%s", out)
	}
}

// waitCount waits until n() reaches want, or timeout passes.
func waitCount(n func() int, want int, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); n() < want; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// TestExitHistoryForgedReset: an exit the history trusts whose way to the
// origin is cut by forged resets (a censor's "connection refused") does
// not fail the program: the refusal of a guess is not the destination's
// answer, the exits race, another reaches the origin, and the guess loses
// its trust.
func TestExitHistoryForgedReset(t *testing.T) {
	c := netns.NewCensored(t, netns.CensoredOptions{Exits: 3, Blocked: 1})
	for i := range c.Exits {
		c.StartCarrotExit(t, carrotBin, i)
	}
	c.Exits[1].Nft(fmt.Sprintf(`table inet forge {
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr %s tcp dport 80 reject with tcp reset
		ip6 daddr %s tcp dport 80 reject with tcp reset
	}
}
`, c.OriginV4, c.OriginV6))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cache := t.TempDir()
	path := filepath.Join(cache, "carrot", "exits.json")
	os.MkdirAll(filepath.Dir(path), 0o700)
	name := func(i int) string { return "socks5://" + netns.ExitUser + "@" + c.ExitV4[i].String() + ":1080" }
	at := time.Now().UTC().Format(time.RFC3339Nano)
	os.WriteFile(path, []byte(`{"exits":{"`+name(1)+`":{"score":0.97,"at":"`+at+`"}}}`), 0o600)
	// The sleep lets carrot's connections to the exits be made first: a
	// guess goes only to an exit that answered within the last minute
	// (2 s: see TestExitHistory).
	args := append([]string{"XDG_CACHE_HOME=" + cache, carrotBin, "run"}, exits(c, "race", 0, 1, 2)...)
	args = append(args, "--exit-history", "-v", "--", "sh", "-c", "sleep 2; curl -sS --max-time 10 "+c.HTTPURL)
	out, err := c.Client.Run(ctx, "env", args...)
	if err != nil || !strings.Contains(out, netns.OriginBody) || !strings.Contains(out, "retry") || !strings.Contains(out, "refused") {
		t.Fatalf("through a trusted exit whose way is reset: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(path)
	var file struct {
		Exits map[string]struct{ Score float64 } `json:"exits"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if s := file.Exits[name(1)].Score; s >= 0.9 {
		t.Fatalf("the exit whose way is reset keeps its trust (%.2f):\n%s\n%s", s, b, out)
	}
	if s := file.Exits[name(2)].Score; s <= 0.5 {
		t.Fatalf("the exit that reached the origin did not score (%.2f):\n%s", s, b)
	}
}
