package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/carrot-project/carrot/internal/netns"
	"github.com/carrot-project/carrot/internal/socks5"
	"github.com/carrot-project/carrot/internal/testnet"
)

// TestExitRefusesOpenProxy: every way of starting an exit that would be an
// open proxy, or that is simply wrong, is a usage error with a reason.
func TestExitRefusesOpenProxy(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:1080", "--no-auth"}, "only on a loopback address"},
		{[]string{"--listen", "[::]:1080", "--no-auth"}, "only on a loopback address"},
		{[]string{"--listen", ":1080", "--no-auth"}, "only on a loopback address"},
		{[]string{"--listen", "127.0.0.1:1080"}, "authentication is required"},
		{[]string{"--no-auth"}, "--listen is required"},
		{[]string{"--listen", "127.0.0.1:1080", "--no-auth", "--users", "f"}, "exclude each other"},
		{[]string{"--listen", "127.0.0.1:1080", "--no-auth", "--tls-cert", "c"}, "go together"},
		{[]string{"--listen", "127.0.0.1:1080", "--no-auth", "--allow", "10.0.0.0/33"}, "invalid"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"exit"}, tc.args...), nil, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("carrot exit %q: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), exitUsage, tc.want)
		}
	}
}

// TestNetworkDurationFlags: a negative duration (or a zero one where zero
// means nothing) is a usage error naming the flag, exit status 2, before
// anything starts.
func TestNetworkDurationFlags(t *testing.T) {
	run1 := []string{"run", "--exit", "socks5://127.0.0.1:1"}
	exit1 := []string{"exit", "--listen", "127.0.0.1:0", "--no-auth"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(run1, "--stagger", "-1s", "--", "true"), "--stagger must not be negative"},
		{append(run1, "--idle-timeout", "-1s", "--", "true"), "--idle-timeout must not be negative"},
		{append(run1, "--connect-timeout", "0s", "--", "true"), "--connect-timeout must be positive"},
		{append(run1, "--stagger", "soon", "--", "true"), `invalid value "soon" for flag -stagger`},
		{append(exit1, "--idle-timeout", "-1s"), "--idle-timeout must not be negative"},
		{append(exit1, "--dial-timeout", "-5s"), "--dial-timeout must be positive"},
		{append(exit1, "--dial-timeout", "0s"), "--dial-timeout must be positive"},
		{append(exit1, "--idle-timeout", "-1s", "--dial-timeout", "-5s"), "--idle-timeout must not be negative"},
		{append(exit1, "--handshake-timeout", "-1s"), "--handshake-timeout must be positive"},
	} {
		// cancelled: were the flag taken, the command would end at once
		// rather than serve or run
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var out, errb bytes.Buffer
		code := run(ctx, tc.args, nil, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("carrot %q: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), exitUsage, tc.want)
		}
	}
}

// TestRunProgramNotRunnable: as in shells, a program that is not found is
// 127 and one that is found but cannot be run (a directory, a file without
// execute permission, one in no executable format) 126, under carrot run
// and carrot trace alike. The exit is never contacted.
func TestRunProgramNotRunnable(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	noExec := filepath.Join(dir, "noexec")
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(noExec, []byte("#!/bin/sh\necho ran\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(garbage, []byte("\x00\x01\x02\x03 not a program\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	badInterp := filepath.Join(dir, "badinterp")
	if err := os.WriteFile(badInterp, []byte("#!/no/such/interpreter\necho ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		prog string
		code int
		err  string
	}{
		{filepath.Join(dir, "missing"), 127, "No such file or directory"}, // a path, as bash says
		{"no-such-program-carrot", 127, "command not found"},
		{dir, 126, "is a directory"},
		{noExec, 126, "permission denied"},
		{garbage, 126, "exec format error"},
		{badInterp, 126, "bad interpreter"}, // as bash
	} {
		for _, cmd := range [][]string{
			{"run", "--exit", "socks5://127.0.0.1:1", "--connect-timeout", "1s", "--"},
			{"trace", "-o", os.DevNull, "--"},
		} {
			r := runCarrot(t, "", append(cmd, tc.prog)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.err) || strings.Contains(r.stdout, "ran") {
				t.Errorf("carrot %s %s: exit %d, stderr %q; want %d and %q", cmd[0], tc.prog, r.code, r.stderr, tc.code, tc.err)
			}
		}
	}
}

// TestExitNoAuthBindsLoopback: --no-auth on "localhost" is judged by the
// address the listener got, not by the name: in a host whose hosts file
// maps localhost elsewhere, the exit refuses to serve as an open proxy.
func TestExitNoAuthBindsLoopback(t *testing.T) {
	n := netns.New(t)
	h := n.Host("exit")
	if out, err := h.Run(context.Background(), "ip", "addr", "add", "10.9.0.1/24", "dev", "lo"); err != nil {
		t.Fatalf("ip addr: %v\n%s", err, out)
	}
	h.WriteEtc("hosts", "10.9.0.1 localhost\n")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := h.Command(ctx, os.Args[0], "exit", "--listen", "localhost:1090", "--no-auth")
	cmd.Env = append(os.Environ(), "CARROT_TEST_MAIN=1")
	out, _ := cmd.CombinedOutput()
	want := "carrot: exit: --no-auth is allowed only on a loopback address, and localhost resolved to 10.9.0.1:1090: that would be an open proxy\n"
	if cmd.ProcessState.ExitCode() != exitUsage || string(out) != want {
		t.Errorf("exit %d, %q; want %d, %q", cmd.ProcessState.ExitCode(), out, exitUsage, want)
	}
}

// TestExitWithoutNetlink: where the kernel cannot be asked which addresses
// are the host's (no netlink: a sandbox), the exit does not start, rather
// than deny every request it would serve.
func TestExitWithoutNetlink(t *testing.T) {
	wrap := filepath.Join(t.TempDir(), "nonetlink")
	if out, err := exec.Command("gcc", "-o", wrap, "testdata/nonetlink.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	cmd := exec.Command(wrap, os.Args[0], "exit", "--listen", "127.0.0.1:0", "--no-auth")
	cmd.Env = append(os.Environ(), "CARROT_TEST_MAIN=1")
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != exitFailure || !strings.Contains(string(out), "cannot ask the kernel which addresses are this host's") {
		t.Errorf("exit %d, %q", cmd.ProcessState.ExitCode(), out)
	}
}

// exitProc is a carrot exit process, its stderr collected.
type exitProc struct {
	cmd  *exec.Cmd
	addr string // where it listens
	mu   sync.Mutex
	log  bytes.Buffer
	done chan struct{} // closed when it has exited
}

func (p *exitProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Write(b)
}

func (p *exitProc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// waitLog waits until stderr holds a line containing every one of parts,
// past the first skip such lines.
func (p *exitProc) waitLog(t *testing.T, skip int, parts ...string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		n := 0
	lines:
		for _, line := range strings.Split(p.stderr(), "\n") {
			for _, part := range parts {
				if !strings.Contains(line, part) {
					continue lines
				}
			}
			if n++; n > skip {
				return
			}
		}
	}
	t.Fatalf("no log line with %q in:\n%s", parts, p.stderr())
}

// startExitProc runs carrot exit --listen 127.0.0.1:0 with args, and
// waits for its start line.
func startExitProc(t *testing.T, args ...string) *exitProc {
	t.Helper()
	return startExitCmd(t, carrotCmd(append([]string{"exit", "--listen", "127.0.0.1:0"}, args...)...))
}

// startExitCmd is startExitProc for a command of its own (carrot exit,
// listening on 127.0.0.1:0, under a wrapper).
func startExitCmd(t *testing.T, cmd *exec.Cmd) *exitProc {
	t.Helper()
	p := &exitProc{done: make(chan struct{}), cmd: cmd}
	p.cmd.Stderr = p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	p.waitLog(t, 0, "carrot exit: listening on ")
	line := p.stderr()
	line = line[strings.Index(line, "listening on ")+len("listening on "):]
	p.addr = line[:strings.Index(line, " ")]
	return p
}

// viaExit connects to dest through the exit at addr.
func viaExit(t *testing.T, addr string, dest netip.AddrPort, auth *socks5.Auth) (net.Conn, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := socks5.ClientHandshake(c, socks5.AddrFromAddrPort(dest), socks5.ClientOptions{Auth: auth}); err != nil {
		c.Close()
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c, nil
}

// TestExitSIGTERMEndsRelays: a SIGTERM stops the exit although a relay's
// client half-closed and its destination never answers: the relay is
// logged (result=shutdown, with its bytes) and the process exits.
func TestExitSIGTERMEndsRelays(t *testing.T) {
	dest, conns := testnet.Silent(t)
	p := startExitProc(t, "--no-auth", "--allow", dest.Addr().String())
	c, err := viaExit(t, p.addr, dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello"))
	c.(*net.TCPConn).CloseWrite()
	d := <-conns
	d.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(d, make([]byte, 5)); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("still running 5s after SIGTERM:\n%s", p.stderr())
	}
	p.waitLog(t, 0, "dest="+dest.String(), "up=5", "result=shutdown")
	if _, err := d.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("destination read %v, want EOF", err)
	}
}

// limitFiles lowers process pid's open-file limit so that exactly one more
// descriptor can be opened: the lowest free one.
func limitFiles(t *testing.T, pid int) {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	open := map[int]bool{}
	for _, e := range ents {
		n, _ := strconv.Atoi(e.Name())
		open[n] = true
	}
	free := 0
	for fd := 0; ; fd++ {
		if open[fd] {
			continue
		}
		if free++; free == 2 {
			// below fd, one free descriptor
			var lim unix.Rlimit
			if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &lim); err != nil {
				t.Fatal(err)
			}
			lim.Cur = uint64(fd)
			if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
}

// TestExitOutOfFiles: an exit out of file descriptors answers a request it
// cannot judge (the own-address lookup needs one) with a general failure,
// logged result=failed, not as a destination "not allowed by ruleset".
func TestExitOutOfFiles(t *testing.T) {
	dest, _ := testnet.Silent(t)
	p := startExitProc(t, "--no-auth", "--allow", "127.0.0.0/8")
	var re *socks5.ReplyError
	// 127.0.0.1 is the exit's own address: denied, while it can tell
	if _, err := viaExit(t, p.addr, dest, nil); !errors.As(err, &re) || re.Reply != socks5.ReplyNotAllowed {
		t.Fatalf("with descriptors to spare: %v, want not allowed", err)
	}
	p.waitLog(t, 0, "result=denied") // logged once its connection is closed
	limitFiles(t, p.cmd.Process.Pid)
	if _, err := viaExit(t, p.addr, dest, nil); !errors.As(err, &re) || re.Reply != socks5.ReplyGeneralFailure {
		t.Errorf("out of descriptors: %v, want a general failure", err)
	}
	p.waitLog(t, 0, "dest="+dest.String(), "result=failed", "too many open files")
}

// TestExitWarnsOfLowFileLimit: an exit whose descriptor limit cannot hold
// --max-conns connections says so when it starts; one whose limit can
// does not.
func TestExitWarnsOfLowFileLimit(t *testing.T) {
	for _, tc := range []struct {
		maxConns string
		warn     bool
	}{{"1024", true}, {"50", false}} {
		cmd := exec.Command("prlimit", "--nofile=256:256", os.Args[0], "exit", "--listen", "127.0.0.1:0", "--no-auth", "--max-conns", tc.maxConns)
		cmd.Env = append(os.Environ(), "CARROT_TEST_MAIN=1")
		out := startExitCmd(t, cmd).stderr()
		if got := strings.Contains(out, "warning: the file descriptor limit (256)"); got != tc.warn {
			t.Errorf("--max-conns %s with 256 descriptors: warned %v, want %v:\n%s", tc.maxConns, got, tc.warn, out)
		}
	}
}

// TestExitAcceptOutOfFilesLogsRarely: an exit out of file descriptors
// retries its accept every 100ms, but logs its first failure only, not a
// line per retry.
func TestExitAcceptOutOfFilesLogsRarely(t *testing.T) {
	p := startExitProc(t, "--no-auth", "--handshake-timeout", "30s")
	limitFiles(t, p.cmd.Process.Pid)
	for _, first := range []string{"\x05", "\x05\x01\x00"} {
		// one takes the last descriptor, its handshake unfinished; the
		// other cannot be accepted
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte(first))
	}
	p.waitLog(t, 0, "msg=accept", "too many open files")
	time.Sleep(1500 * time.Millisecond)
	if n := strings.Count(p.stderr(), "msg=accept"); n != 1 {
		t.Errorf("%d accept lines in 1.5s, want 1:\n%s", n, p.stderr())
	}
}

// echoes checks that c echoes a message.
func echoes(t *testing.T, c net.Conn) {
	t.Helper()
	buf := make([]byte, 5)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("echo %q, %v", buf, err)
	}
}

// TestExitSIGHUPReloadsUsers: SIGHUP re-reads the users file: its accounts
// apply to new connections, a relay already running is untouched, and a
// file that is not valid leaves the accounts as they were. Without a users
// file, SIGHUP is logged and ignored.
func TestExitSIGHUPReloadsUsers(t *testing.T) {
	dest := testnet.Echo(t)
	users := filepath.Join(t.TempDir(), "users")
	write := func(s string) {
		if err := os.WriteFile(users, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("alice:s3cret\n")
	alice := &socks5.Auth{User: "alice", Pass: "s3cret"}
	bob := &socks5.Auth{User: "bob", Pass: "hunter2"}
	p := startExitProc(t, "--users", users, "--allow", dest.Addr().String())
	live, err := viaExit(t, p.addr, dest, alice)
	if err != nil {
		t.Fatal(err)
	}
	echoes(t, live)

	write("bob:hunter2\ncarol:pw\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(t, 0, "users re-read", "users=2")
	if _, err := viaExit(t, p.addr, dest, alice); !errors.Is(err, socks5.ErrAuthFailed) {
		t.Errorf("alice, removed: %v, want an authentication failure", err)
	}
	if _, err := viaExit(t, p.addr, dest, bob); err != nil {
		t.Errorf("bob, added: %v", err)
	}
	echoes(t, live) // alice's relay lives on

	write("bob\n") // no password: not valid
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(t, 0, "level=ERROR", "users not re-read", "line 1")
	if _, err := viaExit(t, p.addr, dest, bob); err != nil {
		t.Errorf("bob, after a bad file: %v", err)
	}

	na := startExitProc(t, "--no-auth", "--allow", dest.Addr().String())
	na.cmd.Process.Signal(syscall.SIGHUP)
	na.waitLog(t, 0, "SIGHUP ignored")
	if c, err := viaExit(t, na.addr, dest, nil); err != nil {
		t.Errorf("without users, after a SIGHUP: %v", err)
	} else {
		echoes(t, c)
	}
}
