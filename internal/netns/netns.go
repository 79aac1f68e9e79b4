// Package netns builds small networks of Linux network namespaces for tests:
// hosts joined by veth pairs to a bridge, nftables rules per host, per-host
// /etc/hosts and /etc/resolv.conf, programs run inside a host, and servers
// and dialers of the test process itself placed in a host.
//
// Mechanism. A host is a named network namespace (`ip netns add`, a bind
// mount under /run/netns). Links are created directly inside their
// namespaces (`ip link add eth0 netns A type veth peer name vN netns HUB`),
// so nothing is ever added to the test machine's own namespace and
// interface names cannot collide between tests running in parallel. A
// program runs in a host through `ip netns exec`, which also bind-mounts
// /etc/netns/NAME/* over /etc/* in a private mount namespace: that is how a
// host gets its own hosts file. In-process work (Host.Do, Listen, Dial)
// runs on a goroutine locked to its OS thread, which setns(2)s into the
// host's namespace, does the work and setns(2)s back; a socket stays in the
// namespace it was created in, so the listener or connection can then be
// used from any goroutine. If switching back fails the thread is left locked
// and the Go runtime discards it when the goroutine ends.
//
// Cleanup. Every namespace is named "crt<PID>-<N>-<role>", PID being the
// test process's. t.Cleanup kills every process still in the namespace
// (`ip netns pids`), deletes it and its /etc/netns directory, even when the
// test fails. New also sweeps namespaces left by test processes that no
// longer exist (crashed, or killed by a timeout), and only those: tests of
// other packages running at the same time keep theirs.
//
// All traffic stays inside the namespaces a test created: hosts have no
// route out, and addresses come from documentation ranges (192.0.2.0/24,
// 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) that lead nowhere.
package netns

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const namePrefix = "crt"

var seq atomic.Int64

// Net is one test's set of hosts.
type Net struct {
	t     testing.TB
	mu    sync.Mutex
	hosts []*Host
	links int
}

// Host is one network namespace.
type Host struct {
	Name string // the namespace's name
	Role string // what the test called it
	n    *Net

	mu    sync.Mutex
	ifs   int  // interfaces made so far (eth0, eth1, ...)
	bridg bool // has br0
	procs []*Proc
}

// Skip skips t, loudly, when the harness cannot run: not root, or iproute2
// or nftables missing. CI runs as root with .ci/install done, where nothing
// is skipped.
func Skip(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: network namespace tests need root (CI runs them as root)")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIP: %s not installed (run .ci/install)", tool)
		}
	}
}

// New starts a network for t, sweeping namespaces left by dead test
// processes. It skips t when not root (see Skip).
func New(t testing.TB) *Net {
	t.Helper()
	Skip(t)
	Sweep()
	n := &Net{t: t}
	t.Cleanup(n.cleanup)
	return n
}

// Sweep deletes namespaces, and /etc/netns directories, made by test
// processes that have exited.
func Sweep() {
	var names []string
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
			names = append(names, name)
		}
	}
	if ents, err := os.ReadDir("/etc/netns"); err == nil {
		for _, e := range ents {
			names = append(names, e.Name())
		}
	}
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, namePrefix)
		if !ok {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue // its test is still running
		}
		deleteNamespace(name)
	}
}

func deleteNamespace(name string) {
	if out, err := exec.Command("ip", "netns", "pids", name).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil {
				unix.Kill(pid, unix.SIGKILL)
			}
		}
	}
	exec.Command("ip", "netns", "del", name).Run()
	os.RemoveAll(filepath.Join("/etc/netns", name))
}

func (n *Net) cleanup() {
	n.mu.Lock()
	hosts := n.hosts
	n.hosts = nil
	n.mu.Unlock()
	for _, h := range hosts {
		h.mu.Lock()
		procs := h.procs
		h.mu.Unlock()
		for _, p := range procs {
			p.Stop()
		}
	}
	for _, h := range hosts {
		deleteNamespace(h.Name)
	}
}

// Host creates a namespace for role with its loopback up, an empty
// resolv.conf (no resolver: a name not in its hosts file does not resolve)
// and a hosts file with localhost only.
func (n *Net) Host(role string) *Host {
	n.t.Helper()
	name := fmt.Sprintf("%s%d-%d-%s", namePrefix, os.Getpid(), seq.Add(1), role)
	h := &Host{Name: name, Role: role, n: n}
	n.mu.Lock()
	n.hosts = append(n.hosts, h)
	n.mu.Unlock()
	n.ip("netns", "add", name)
	n.ip("-n", name, "link", "set", "lo", "up")
	h.WriteEtc("resolv.conf", "# no resolver in this test host\n")
	h.SetHosts(nil)
	return h
}

func (n *Net) ip(args ...string) {
	n.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Attach links h to hub's bridge br0 (made on first use) with a veth pair
// and gives h's end the addresses (CIDR form, IPv4 or IPv6; IPv6 without
// duplicate address detection, so it is usable at once). It returns the
// interface name in h.
func (n *Net) Attach(hub, h *Host, addrs ...string) string {
	n.t.Helper()
	hub.mu.Lock()
	if !hub.bridg {
		n.ip("-n", hub.Name, "link", "add", "br0", "type", "bridge")
		n.ip("-n", hub.Name, "link", "set", "br0", "up")
		hub.bridg = true
		// The hub stands for a switch: frames it forwards between hosts
		// are not filtered. Where br_netfilter is loaded (Docker loads
		// it), the kernel would otherwise pass every bridged frame through
		// the hub's iptables and nftables hooks, a cost on each hop that no
		// real network between these hosts has. The hosts' own rules
		// (Nft) are not bridged traffic and still apply.
		hub.Do(func() error {
			for _, f := range []string{"iptables", "ip6tables", "arptables"} {
				os.WriteFile("/proc/sys/net/bridge/bridge-nf-call-"+f, []byte("0"), 0o644) // absent without br_netfilter
			}
			return nil
		})
	}
	hub.mu.Unlock()
	n.mu.Lock()
	n.links++
	peer := fmt.Sprintf("v%d", n.links)
	n.mu.Unlock()
	h.mu.Lock()
	ifname := fmt.Sprintf("eth%d", h.ifs)
	h.ifs++
	h.mu.Unlock()
	n.ip("link", "add", ifname, "netns", h.Name, "type", "veth", "peer", "name", peer, "netns", hub.Name)
	n.ip("-n", hub.Name, "link", "set", peer, "master", "br0")
	n.ip("-n", hub.Name, "link", "set", peer, "up")
	for _, a := range addrs {
		args := []string{"-n", h.Name, "addr", "add", a, "dev", ifname}
		if strings.Contains(a, ":") {
			args = append(args, "nodad")
		}
		n.ip(args...)
	}
	n.ip("-n", h.Name, "link", "set", ifname, "up")
	return ifname
}

// WriteEtc writes /etc/netns/NAME/file, which `ip netns exec` mounts over
// /etc/file for programs run in h.
func (h *Host) WriteEtc(file, content string) {
	h.n.t.Helper()
	dir := filepath.Join("/etc/netns", h.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.n.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		h.n.t.Fatal(err)
	}
}

// SetHosts writes h's hosts file: localhost, then each address with its
// names.
func (h *Host) SetHosts(entries map[string][]string) {
	var b strings.Builder
	b.WriteString("127.0.0.1 localhost\n::1 localhost\n")
	for addr, names := range entries {
		fmt.Fprintf(&b, "%s %s\n", addr, strings.Join(names, " "))
	}
	h.WriteEtc("hosts", b.String())
}

// Nft loads an nftables ruleset into h (nft -f syntax).
func (h *Host) Nft(ruleset string) {
	h.n.t.Helper()
	cmd := exec.Command("ip", "netns", "exec", h.Name, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		h.n.t.Fatalf("nft in %s: %v\n%s\nruleset:\n%s", h.Role, err, out, ruleset)
	}
}

// NftPackets is the sum of the packet counts of the counters in h's
// nftables table (family inet, ip, ip6...), as `nft list table` shows them.
func (h *Host) NftPackets(family, table string) (int64, error) {
	out, err := exec.Command("ip", "netns", "exec", h.Name, "nft", "list", "table", family, table).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("nft list table %s %s in %s: %v\n%s", family, table, h.Role, err, out)
	}
	var sum int64
	for _, m := range counterRE.FindAllSubmatch(out, -1) {
		n, err := strconv.ParseInt(string(m[1]), 10, 64)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

var counterRE = regexp.MustCompile(`counter packets (\d+) bytes \d+`)

// Command is a command that runs program in h (through ip netns exec).
func (h *Host) Command(ctx context.Context, program string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.Name, program}, args...)...)
}

// Run runs program in h and returns its combined output.
func (h *Host) Run(ctx context.Context, program string, args ...string) (string, error) {
	out, err := h.Command(ctx, program, args...).CombinedOutput()
	return string(out), err
}

// Proc is a background program running in a host.
type Proc struct {
	Cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// Start starts program in h in the background; it is stopped when the test
// ends. Its stdout and stderr are collected (Output, WaitOutput).
func (h *Host) Start(program string, args ...string) *Proc {
	h.n.t.Helper()
	p := &Proc{out: &syncBuffer{}, done: make(chan struct{})}
	p.Cmd = h.Command(context.Background(), program, args...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.out, p.out
	p.Cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGKILL}
	if err := p.Cmd.Start(); err != nil {
		h.n.t.Fatalf("start %s in %s: %v", program, h.Role, err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.done)
	}()
	h.mu.Lock()
	h.procs = append(h.procs, p)
	h.mu.Unlock()
	return p
}

// Output is what the program printed so far.
func (p *Proc) Output() string { return p.out.String() }

// WaitOutput waits until the output contains s, the program exits, or
// timeout passes; it reports whether s appeared.
func (p *Proc) WaitOutput(s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(p.out.String(), s) {
			return true
		}
		select {
		case <-p.done:
			return strings.Contains(p.out.String(), s)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// Stop ends the program: SIGTERM, then SIGKILL after 2s.
func (p *Proc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.Cmd.Process.Signal(unix.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
		p.Cmd.Process.Kill()
		<-p.done
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Do runs f on an OS thread switched into h's network namespace. Sockets f
// creates belong to h and stay usable after Do returns.
func (h *Host) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: %w", err)
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open(filepath.Join("/run/netns", h.Name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns %s: %w", h.Role, err)
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", h.Role, err)
			return
		}
		err = f()
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		} // else: the thread stays locked and dies with this goroutine
		errc <- err
	}()
	return <-errc
}

// Sysctl sets a network sysctl of h's namespace, key as in
// /proc/sys/net ("ipv4/tcp_fastopen").
func (h *Host) Sysctl(key, value string) {
	h.n.t.Helper()
	if err := h.Do(func() error {
		return os.WriteFile(filepath.Join("/proc/sys/net", key), []byte(value), 0o644)
	}); err != nil {
		h.n.t.Fatalf("sysctl %s in %s: %v", key, h.Role, err)
	}
}

// TCPExt returns the counter name of the TcpExt section of h's
// /proc/net/netstat (for example "TCPFastOpenPassive"), or -1.
func (h *Host) TCPExt(name string) int64 {
	var b []byte
	if err := h.Do(func() (err error) {
		b, err = os.ReadFile("/proc/thread-self/net/netstat")
		return err
	}); err != nil {
		return -1
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i++ {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) == 0 || names[0] != "TcpExt:" || len(values) != len(names) {
			continue
		}
		for j, n := range names {
			if n == name {
				v, err := strconv.ParseInt(values[j], 10, 64)
				if err != nil {
					return -1
				}
				return v
			}
		}
	}
	return -1
}

// Listen listens in h.
func (h *Host) Listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := h.Do(func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// DialContext dials from h; it has the signature of net.Dialer.DialContext.
func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := h.Do(func() (err error) {
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// BuildCarrot builds the carrot command of this module into dir, with the
// extra go build flags (e.g. -race), and returns its path: tests that run
// it in a host (carrot exit, carrot run) need the real binary, since the
// tracer re-executes itself.
func BuildCarrot(dir string, flags ...string) (string, error) {
	bin := filepath.Join(dir, "carrot")
	args := append(append([]string{"build"}, flags...), "-o", bin, "github.com/carrot-project/carrot/cmd/carrot")
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build carrot: %v\n%s", err, out)
	}
	return bin, nil
}
