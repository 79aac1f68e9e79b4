package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"frobnicate"}, nil, &out, &errb)
	if code != exitUsage {
		t.Fatalf("exit = %d, want %d", code, exitUsage)
	}
	if got := errb.String(); !strings.Contains(got, `unknown command "frobnicate"`) {
		t.Fatalf("stderr = %q", got)
	}
}

func TestHelpListsCommands(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"help"}, nil, &out, &out); code != exitOK {
		t.Fatalf("exit = %d", code)
	}
	for name := range commands {
		if !strings.Contains(out.String(), name) {
			t.Errorf("help does not list %q:\n%s", name, out.String())
		}
	}
}

// TestMain lets the test binary be carrot itself: started with
// CARROT_TEST_MAIN=1 it runs main, with the command line in os.Args[1:],
// so tests run real carrot processes (exit status, signals, the tracer's
// launcher) without building the binary. Use carrotCmd.
func TestMain(m *testing.M) {
	if os.Getenv("CARROT_TEST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// TestSignalsReachTheProgram: TERM, HUP and INT sent to carrot (not to its
// process group) reach the program carrot trace or carrot run started,
// whose own answer (a trap's exit status) is carrot's status; the exit
// credentials carrot run was given in its environment do not reach the
// program's.
func TestSignalsReachTheProgram(t *testing.T) {
	needRoot(t)
	script := `trap 'exit 7' TERM; trap 'exit 8' HUP; trap 'exit 9' INT; echo "[$CARROT_EXIT_PASS]"; while :; do sleep 0.05; done`
	for _, c := range []struct {
		cmd  []string
		sig  syscall.Signal
		want int
	}{
		{[]string{"trace", "-o", os.DevNull}, syscall.SIGTERM, 7},
		{[]string{"trace", "-o", os.DevNull}, syscall.SIGHUP, 8},
		{[]string{"run", "--exit", "socks5://127.0.0.1:9"}, syscall.SIGTERM, 7},
		{[]string{"run", "--exit", "socks5://127.0.0.1:9"}, syscall.SIGHUP, 8},
		{[]string{"run", "--exit", "socks5://127.0.0.1:9"}, syscall.SIGINT, 9},
	} {
		cmd := carrotCmd(append(c.cmd, "--", "sh", "-c", script)...)
		cmd.Env = append(cmd.Env, "CARROT_EXIT_USER=u", "CARROT_EXIT_PASS=secret")
		// A session of its own: no terminal, whose ^C would reach the
		// program besides carrot's forwarding.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line := make([]byte, 64)
		n, _ := out.Read(line) // the program runs, its traps set
		want := "[secret]\n"   // trace passes the environment as it is
		if c.cmd[0] == "run" {
			want = "[]\n"
		}
		if got := string(line[:n]); got != want {
			t.Errorf("%v: the program printed %q, want %q", c.cmd[0], got, want)
		}
		cmd.Process.Signal(c.sig)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("carrot %v: still running 20 s after %v", c.cmd[0], c.sig)
		}
		if code := cmd.ProcessState.ExitCode(); code != c.want {
			t.Errorf("carrot %v, %v: exit %d, want the program's %d", c.cmd[0], c.sig, code, c.want)
		}
	}

	// Sent to the whole process group (a service manager's stop, kill -- -PGID),
	// the program gets it once: from the kernel, not again from carrot.
	count := `import signal, sys, time
n = []
signal.signal(signal.SIGTERM, lambda s, f: n.append(s))
print("ready", flush=True)
while not n:
    time.sleep(0.01)
time.sleep(0.5)
sys.exit(10 + len(n))`
	for _, sub := range [][]string{{"trace", "-o", os.DevNull}, {"run", "--exit", "socks5://127.0.0.1:9"}} {
		cmd := carrotCmd(append(sub, "--", realPython(), "-c", count)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line := make([]byte, 16)
		out.Read(line)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 11 {
			t.Errorf("carrot %v, TERM to the group: exit %d, want 11 (the program got it %d times)", sub[0], code, code-10)
		}
	}
}

// TestSignalEndsLeftovers: once the program has exited, carrot stays for
// the process it left running (a background job, whose calls carrot still
// traces or routes); a TERM then ends that process and carrot, with the
// program's status, where it used to pass the signal to nobody.
func TestSignalEndsLeftovers(t *testing.T) {
	needRoot(t)
	for _, sub := range [][]string{{"trace", "-f", "-o", os.DevNull}, {"run", "--exit", "socks5://127.0.0.1:9"}} {
		cmd := carrotCmd(append(sub, "--", "sh", "-c", "sleep 60 & echo $!; exit 3")...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		// A file, not a pipe that Wait would read until the job closes it.
		stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line := make([]byte, 32)
		n, _ := out.Read(line)
		pid, err := strconv.Atoi(strings.TrimSpace(string(line[:n])))
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("carrot %s: the program printed %q", sub[0], line[:n])
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
			t.Fatalf("carrot %s ended while the program's background job runs", sub[0])
		case <-time.After(500 * time.Millisecond): // sh has exited by now
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			syscall.Kill(pid, syscall.SIGKILL)
			<-done
			t.Fatalf("carrot %s: still running 20 s after TERM, with the program gone", sub[0])
		}
		if code := cmd.ProcessState.ExitCode(); code != 3 {
			t.Errorf("carrot %s: exit %d, want the program's 3", sub[0], code)
		}
		if said, _ := os.ReadFile(stderr.Name()); !strings.Contains(string(said), "ending the processes it left running") {
			t.Errorf("carrot %s: stderr does not say why it ended the job:\n%s", sub[0], said)
		}
		stderr.Close()
		for i := 0; alive(pid); i++ {
			if i == 100 {
				st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("carrot %s: the background job outlived carrot: %s", sub[0], st)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// alive reports whether process pid exists and is not a zombie (which its
// new parent may take a while to reap).
func alive(pid int) bool {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(st), ')')
	return i < 0 || i+2 >= len(st) || st[i+2] != 'Z' && st[i+2] != 'X'
}

// TestIgnoredSignalsStayIgnored: signals ignored where carrot was started
// (nohup's HUP, a background job's INT and QUIT, a service's PIPE) are
// ignored in the program, as they are when a shell execs it, though
// carrot's Go runtime catches them itself.
func TestIgnoredSignalsStayIgnored(t *testing.T) {
	needRoot(t)
	for _, traps := range []string{"", "trap '' PIPE HUP", "trap '' INT QUIT TERM USR1 CHLD"} {
		native, err := exec.Command("sh", "-c", traps+"\nexec grep SigIgn /proc/self/status").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, sub := range [][]string{{"trace", "-o", os.DevNull}, {"run", "--exit", "socks5://127.0.0.1:9", "--exit-history=false"}} {
			cmd := carrotCmd()
			cmd.Args = []string{"sh", "-c", traps + "\nexec \"$0\" \"$@\"", os.Args[0]}
			cmd.Args = append(append(cmd.Args, sub...), "--", "grep", "SigIgn", "/proc/self/status")
			cmd.Path = "/bin/sh"
			got, err := cmd.Output()
			if err != nil {
				t.Fatalf("%q, carrot %s: %v", traps, sub[0], err)
			}
			if string(got) != string(native) {
				t.Errorf("%q, carrot %s: the program's %s, natively %s", traps, sub[0], strings.TrimSpace(string(got)), strings.TrimSpace(string(native)))
			}
		}
	}
}

// TestIgnoredSignalsWithoutCgo: built without cgo, nothing of carrot's
// runs before the Go runtime, and only SIGHUP and SIGINT, whose inherited
// SIG_IGN the runtime keeps, stay ignored in the program.
func TestIgnoredSignalsWithoutCgo(t *testing.T) {
	needRoot(t)
	bin := filepath.Join(t.TempDir(), "carrot")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	got, err := exec.Command("sh", "-c", "trap '' PIPE HUP INT\nexec \"$0\" trace -o /dev/null -- grep SigIgn /proc/self/status", bin).Output()
	if want := "SigIgn:\t0000000000000003\n"; err != nil || string(got) != want {
		t.Errorf("without cgo: %v %q, want %q (HUP and INT, not PIPE)", err, got, want)
	}
}

// carrotCmd is an exec.Cmd running carrot with args.
func carrotCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "CARROT_TEST_MAIN=1")
	return cmd
}

// TestUsageErrors: every subcommand reports a bad command line in one line
// that names the problem and exits 2, and -h shows its usage and exits 0,
// before it touches a cluster, a network or a program.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"up", "extra"}, `unexpected argument "extra"`},
		{[]string{"up", "--nodes", "-1"}, "--nodes -1"},
		{[]string{"up", "--replicas", "0"}, "replicas"},
		{[]string{"up", "--scrub-rate", "lots"}, "--scrub-rate"},
		{[]string{"up", "--frob"}, "flag provided but not defined: -frob"},
		{[]string{"node", "--data", "/tmp/x"}, "--listen is required"},
		{[]string{"node", "--listen", "127.0.0.1:0"}, "--data is required"},
		{[]string{"node", "--listen", "127.0.0.1:0", "--data", "d", "--capacity", "9Q"}, "--capacity"},
		{[]string{"node", "--listen", "127.0.0.1:0", "--data", "d", "--weight", "0"}, "--weight 0"},
		{[]string{"fs"}, "missing command"},
		{[]string{"fs", "frob"}, `unknown command "frob"`},
		{[]string{"fs", "put", "onlyone"}, "want 2 argument(s), got 1"},
		{[]string{"fs", "put", "-l", "a", "b"}, "flag provided but not defined: -l"},
		{[]string{"fs", "get", "-r", "/a", "-"}, "cannot come from stdin or go to stdout"},
		{[]string{"fs", "ls", "-p", "/"}, "flag provided but not defined: -p"},
		{[]string{"cluster"}, "missing subcommand"},
		{[]string{"cluster", "frob"}, `unknown subcommand "frob"`},
		{[]string{"cluster", "status", "extra"}, `unexpected argument "extra"`},
		{[]string{"exit", "--listen", "127.0.0.1:0", "--no-auth", "--name-ttl", "-1s"}, "--name-ttl must not be negative"},
		{[]string{"exit", "--listen", "127.0.0.1:0", "--no-auth", "--max-conns", "0"}, "--max-conns must be at least 1"},
		{[]string{"run"}, "no program to run"},
		{[]string{"run", "--connect-timeout", "soon", "--exit", "socks5://127.0.0.1:1", "--", "true"}, "want a duration such as 5s, 500ms or 1m (a bare number is seconds)"},
		{[]string{"trace", "-e", "trace=nosuchcall", "true"}, "nosuchcall"},
	} {
		if slices.Contains(leftOut, tc.args[0]) {
			continue // a build with -tags nocluster (TestNoClusterBuild)
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), tc.args, nil, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("carrot %q: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), exitUsage, tc.want)
		}
	}
	for _, name := range []string{"up", "node", "fs", "cluster", "exit", "run", "trace"} {
		if slices.Contains(leftOut, name) {
			continue
		}
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{name, "-h"}, nil, &out, &errb); code != exitOK || !strings.Contains(out.String()+errb.String(), "usage: carrot "+name) {
			t.Errorf("carrot %s -h: exit %d, stderr %q", name, code, errb.String())
		}
	}
}

// TestSecondsFlag: a duration flag takes Go's durations and, as curl's
// --connect-timeout does, a bare number of seconds.
func TestSecondsFlag(t *testing.T) {
	for v, want := range map[string]time.Duration{"5": 5 * time.Second, "0.5": 500 * time.Millisecond, "250ms": 250 * time.Millisecond, "1m": time.Minute, "0": 0} {
		var d time.Duration
		if err := (seconds{&d}).Set(v); err != nil || d != want {
			t.Errorf("%q: %v %v, want %v", v, d, err, want)
		}
	}
	var d time.Duration
	if err := (seconds{&d}).Set("5 seconds"); err == nil {
		t.Error(`"5 seconds" accepted`)
	}
}

// TestNoClusterBuild: built with -tags nocluster, carrot traces, runs and
// serves exits, and says of the storage commands that they were left out.
func TestNoClusterBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds carrot")
	}
	bin := filepath.Join(t.TempDir(), "carrot")
	if out, err := exec.Command("go", "build", "-tags", "nocluster", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags nocluster: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "help").CombinedOutput()
	if err != nil || strings.Contains(string(out), "  fs ") || !strings.Contains(string(out), "  trace ") {
		t.Errorf("help: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "fs", "ls", "/")
	out, _ = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != exitUsage || string(out) != "carrot: fs is not in this build of carrot (built with -tags nocluster: tracing and exits only)\n" {
		t.Errorf("fs: exit %d, %q", cmd.ProcessState.ExitCode(), out)
	}
	if out, err := exec.Command(bin, "trace", "-e", "trace=execve", "true").CombinedOutput(); err != nil || !strings.Contains(string(out), `execve("/usr/bin/true", ["true"]`) {
		t.Errorf("trace: %v\n%s", err, out)
	}
	// The embedded etcd and gRPC are not linked in.
	if out, err := exec.Command("go", "list", "-tags", "nocluster", "-deps", ".").Output(); err != nil || strings.Contains(string(out), "go.etcd.io/etcd/server") || strings.Contains(string(out), "google.golang.org/grpc\n") {
		t.Errorf("deps: %v; etcd server or gRPC linked", err)
	}
}
