package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carrot-project/carrot/internal/testprog"
)

// These tests run carrot trace as a real process (see TestMain) on real
// programs, and compare it with the real strace.

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root for ptrace of any task, as CI has")
	}
}

func needProgram(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("SKIP: %s not installed (.ci/install installs it)", name)
	}
	return p
}

// cbin compiles testdata/NAME.c once per test binary.
func cbin(t *testing.T, name string) string {
	return testprog.C(t, filepath.Join("testdata", name+".c"))
}

// realPython is the python3 interpreter itself, not a wrapper script.
var realPython = testprog.Python

type result struct {
	code           int
	stdout, stderr string
	sig            syscall.Signal // the signal carrot ended by, if any
}

// shellStatus is r's exit status as a shell's $? shows it: 128+N for an
// end by signal N.
func (r result) shellStatus() int {
	if r.sig != 0 {
		return 128 + int(r.sig)
	}
	return r.code
}

// runCarrot runs carrot with args and stdin, and returns its exit status
// and output.
func runCarrot(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := carrotCmd(args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("carrot %v did not finish", args)
	}
	r := result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		r.sig = ws.Signal()
	}
	return r
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// freePorts returns a port p such that p and p+1 are free on 127.0.0.1.
func freePorts(t *testing.T) int {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1)); err == nil {
			l2.Close()
			return p
		}
	}
	t.Fatal("no two adjacent free ports")
	return 0
}

var (
	reHexPtr  = regexp.MustCompile(`0x[0-9a-f]{6,}`)
	reInode   = regexp.MustCompile(`(socket|pipe|UNIX-STREAM|UNIX|TCP|UDP|TCPv6|UDPv6):\[(\d+)`)
	rePad     = regexp.MustCompile(`\) +=`)
	rePrefix  = regexp.MustCompile(`^(\d+) +`)
	reSiPid   = regexp.MustCompile(`si_pid=\d+`)
	reGetpid  = regexp.MustCompile(`getpid(\(| resumed>)\) += (\d+)`)
	reCloneRe = regexp.MustCompile(`clone(\(| resumed>).*\) += (\d+)`) // whole, or the second half of a split line
)

// goldenLines returns the lines of a trace file between the markers,
// normalised: pids, pointers and inode numbers replaced, and the padding
// before " = " collapsed (its width depends on how many digits a pid has).
func goldenLines(trace string) []string {
	var lines []string
	in := false
	for _, l := range strings.Split(trace, "\n") {
		body := rePrefix.ReplaceAllString(l, "")
		if strings.HasPrefix(body, "close(-4242)") {
			in = true
		}
		if in {
			lines = append(lines, l)
		}
		if in && strings.HasPrefix(body, "close(-4243)") {
			break
		}
	}
	pids := map[string]string{}
	for _, l := range lines {
		if m := reGetpid.FindStringSubmatch(l); m != nil {
			pids[m[2]] = "PID"
		}
		if m := reCloneRe.FindStringSubmatch(l); m != nil {
			pids[m[2]] = "CHILD"
		}
		if m := rePrefix.FindStringSubmatch(l); m != nil {
			if _, ok := pids[m[1]]; !ok {
				pids[m[1]] = "TASK"
			}
		}
	}
	for i, l := range lines {
		l = reHexPtr.ReplaceAllString(l, "0xPTR")
		l = reInode.ReplaceAllString(l, "$1:[INO")
		l = reSiPid.ReplaceAllString(l, "si_pid=N") // the sender may not be named by a traced call
		for pid, name := range pids {
			l = regexp.MustCompile(`\b`+pid+`\b`).ReplaceAllString(l, name)
		}
		lines[i] = rePad.ReplaceAllString(l, ") =")
	}
	return lines
}

// TestGoldenLinesSplitCalls checks the normaliser names the tasks when
// -f splits getpid and clone around another task's line, as strace and
// carrot both do when the child runs first.
func TestGoldenLinesSplitCalls(t *testing.T) {
	trace := strings.Join([]string{
		"100 close(-4242) = -1 EBADF (Bad file descriptor)",
		"100 getpid( <unfinished ...>",
		"7 write(1, \"x\", 1) = 1",
		"100 <... getpid resumed>) = 100",
		"100 clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>",
		"101 set_robust_list(0x7f0000001234, 24) = 0",
		"100 <... clone resumed>, child_tidptr=0x7f0000005678) = 101",
		"100 close(-4243) = -1 EBADF (Bad file descriptor)",
	}, "\n")
	got := strings.Join(goldenLines(trace), "\n")
	for _, want := range []string{"PID <... getpid resumed>) = PID", "TASK write(", "CHILD set_robust_list(0xPTR, 24) = 0", "resumed>, child_tidptr=0xPTR) = CHILD"} {
		if !strings.Contains(got, want) {
			t.Errorf("normalised trace lacks %q:\n%s", want, got)
		}
	}
}

// TestTraceGoldenAgainstStrace runs a deterministic C program under the
// installed strace and under carrot trace with the same flags, and
// requires the same lines for everything the program itself does.
func TestTraceGoldenAgainstStrace(t *testing.T) {
	needRoot(t)
	strace := needProgram(t, "strace")
	bin := cbin(t, "golden")
	for _, flags := range [][]string{
		{},
		{"-f"},
		{"-y"},
		{"-s", "64", "-x"},
		{"-xx", "-s", "12"},
		{"-e", "trace=%file,%network,close", "-y"},
		{"-e", "trace=!%memory", "-e", "status=failed"},
	} {
		t.Run(strings.Join(flags, " "), func(t *testing.T) {
			dir := t.TempDir()
			port := freePorts(t)
			run := func(tool []string, out string) []string {
				// The same scratch directory for both tools: paths are in the trace.
				work := filepath.Join(dir, "work")
				os.RemoveAll(work)
				os.Mkdir(work, 0o755)
				args := append(append(append([]string{}, tool[1:]...), flags...), "-o", out, bin, work, strconv.Itoa(port))
				cmd := exec.Command(tool[0], args...)
				if tool[0] == os.Args[0] {
					cmd.Env = append(os.Environ(), "CARROT_TEST_MAIN=1")
				}
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%v: %v\n%s", args, err, b)
				}
				return goldenLines(readFile(t, out))
			}
			want := run([]string{strace}, filepath.Join(dir, "strace.txt"))
			got := run([]string{os.Args[0], "trace"}, filepath.Join(dir, "carrot.txt"))
			if len(want) < 5 {
				t.Fatalf("strace printed too little: %q", want)
			}
			if slices.Contains(flags, "-f") {
				// Tasks interleave differently from run to run: compare
				// each task's own calls, each call whole.
				want, got = byTask(want), byTask(got)
			}
			if !slices.Equal(got, want) {
				t.Errorf("carrot trace %v differs from strace:\n%s", flags, lineDiff(want, got))
			}
		})
	}
}

var reResumed = regexp.MustCompile(`^(\S+ +)<\.\.\. \w+ resumed>(.*)$`)

// byTask rejoins each "<unfinished ...>" line with its "<... resumed>"
// line and orders the lines by task, keeping each task's own order.
func byTask(lines []string) []string {
	pending := map[string]int{}
	var joined []string
	for _, l := range lines {
		task := strings.SplitN(l, " ", 2)[0]
		if body, ok := strings.CutSuffix(l, " <unfinished ...>"); ok {
			pending[task] = len(joined)
			joined = append(joined, body)
			continue
		}
		if m := reResumed.FindStringSubmatch(l); m != nil {
			if i, ok := pending[task]; ok {
				joined[i] = rePad.ReplaceAllString(joined[i]+m[2], ") =")
				delete(pending, task)
				continue
			}
		}
		joined = append(joined, l)
	}
	slices.SortStableFunc(joined, func(a, b string) int {
		return strings.Compare(strings.SplitN(a, " ", 2)[0], strings.SplitN(b, " ", 2)[0])
	})
	return joined
}

// lineDiff shows the lines that differ, strace's first.
func lineDiff(want, got []string) string {
	var b strings.Builder
	for i := 0; i < max(len(want), len(got)); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d\n  strace: %s\n  carrot: %s\n", i, w, g)
		}
	}
	return b.String()
}

// TestTraceSocketEndpoints checks -yy's names of sockets: TCP and UDP by
// their endpoints, unix sockets by inode (and path once bound).
func TestTraceSocketEndpoints(t *testing.T) {
	needRoot(t)
	bin := cbin(t, "golden")
	dir := t.TempDir()
	port := freePorts(t)
	out := filepath.Join(dir, "t")
	if r := runCarrot(t, "", "trace", "-yy", "-o", out, bin, dir, strconv.Itoa(port)); r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	tr := readFile(t, out)
	p, p1 := strconv.Itoa(port), strconv.Itoa(port+1)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^listen\(3<TCP:\[127\.0\.0\.1:` + p + `\]>, 8\) += 0$`),
		regexp.MustCompile(`(?m)^sendto\(5<TCP:\[127\.0\.0\.1:` + p1 + `->127\.0\.0\.1:` + p + `\]>, "ping", 4, 0, NULL, 0\) += 4$`),
		regexp.MustCompile(`(?m)^recvfrom\(6<TCP:\[127\.0\.0\.1:` + p + `->127\.0\.0\.1:` + p1 + `\]>, "ping", 8192, 0, NULL, NULL\) += 4$`),
		regexp.MustCompile(`(?m)^close\(3<UDPv6:\[\[::1\]:\d+->\[::1\]:` + p + `\]>\) += 0$`),
		regexp.MustCompile(`(?m)^socket\(AF_UNIX, SOCK_STREAM, 0\) += 3<UNIX-STREAM:\[\d+\]>$`),
		regexp.MustCompile(`(?m)^pipe2\(\[\d+<pipe:\[\d+\]>, \d+<pipe:\[\d+\]>\], O_CLOEXEC\) += 0$`),
	} {
		if !want.MatchString(tr) {
			t.Errorf("no line matching %s in\n%s", want, tr)
		}
	}
}

// TestTraceSocketKindsLikeStrace: -yy names bound, listening, unix
// datagram and seqpacket, and UDP sockets as strace does (the kernel's
// protocol names: a unix datagram or seqpacket socket is "UNIX").
func TestTraceSocketKindsLikeStrace(t *testing.T) {
	needRoot(t)
	strace := needProgram(t, "strace")
	py := needProgram(t, "python3")
	const prog = `
import os, socket
t = socket.socket(); t.bind(("127.0.0.1", 0)); os.close(t.detach())
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1); os.close(l.detach())
d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); os.close(d.detach())
q = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); os.close(q.detach())
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); os.close(u.detach())
`
	names := func(tool ...string) string {
		tr := traceFile(t, tool, "-yy", "-e", "trace=close", py, "-c", prog)
		var kinds []string
		for _, m := range regexp.MustCompile(`<((?:TCP|UDP|UNIX)[\w-]*):\[`).FindAllStringSubmatch(tr, -1) {
			kinds = append(kinds, m[1])
		}
		return strings.Join(kinds, " ")
	}
	// The interpreter's own start may close sockets of its own first (on
	// CI, a name-service lookup's unix streams), so only the last five
	// are the program's.
	want, got := names(strace), names(os.Args[0], "trace")
	if !strings.HasSuffix(" "+want, " TCP TCP UNIX UNIX UDP") || got != want {
		t.Errorf("socket kinds: carrot %q, strace %q", got, want)
	}
}

func TestTraceExitStatusAndErrors(t *testing.T) {
	needRoot(t)
	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"sh", "-c", "exit 0"}, 0, ""},
		{[]string{"sh", "-c", "exit 7"}, 7, ""},
		{[]string{"sh", "-c", "kill -9 $$"}, 137, ""},
		{[]string{"no-such-program-carrot"}, 127, "carrot: no-such-program-carrot: command not found\n"},
		{[]string{"-e", "trace=opne,close", "true"}, 2, "carrot: invalid system call 'opne'\n"},
		{[]string{"-s", "1073741824", "true"}, 2, "carrot: invalid -s argument: '1073741824'\n"},
		{[]string{"-e", "signal=ALL", "true"}, 2, "carrot: invalid signal 'ALL'\n"},
		{[]string{"-e", "signal=all,usr1", "true"}, 2, "carrot: invalid signal 'all'\n"},
		{[]string{"-e", "signal=!", "true"}, 2, "carrot: invalid signal '!'\n"},
		{[]string{"-e", "signal=!!usr1", "true"}, 0, ""},
		{[]string{"-c", "-S", "min-time", "true"}, 2, "carrot: -S min-time: carrot keeps no per-call minimum or maximum (sort by time, avg-time, calls, errors, name or nothing)\n"},
		{[]string{"-c", "-ff", "-o", os.DevNull, "true"}, 2, "carrot: (-c/--summary-only or -C/--summary) and -ff/--output-separately are mutually exclusive\n"},
		{[]string{"-e", "bogus=1", "true"}, 2, "carrot: invalid -e qualifier 'bogus' (carrot supports trace=, status=, signal=, abbrev=)\n"},
		{[]string{"--frobnicate", "true"}, 2, "carrot: unknown option --frobnicate (see 'carrot trace -h')\n"},
		{[]string{}, 2, "carrot: must have PROGRAM [ARGS] or -p PID (see 'carrot trace -h')\n"},
	} {
		args := append([]string{"trace", "-o", os.DevNull}, c.args...)
		r := runCarrot(t, "", args...)
		if r.shellStatus() != c.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", c.args, r.shellStatus(), c.code, r.stderr)
		}
		if c.err != "" && r.stderr != c.err {
			t.Errorf("%v: stderr %q, want %q", c.args, r.stderr, c.err)
		}
	}
	// Under another tracer, carrot cannot trace, and says why.
	if strace, err := exec.LookPath("strace"); err == nil {
		cmd := exec.Command(strace, "-f", "-o", os.DevNull, os.Args[0], "trace", "-o", os.DevNull, "true")
		cmd.Env = append(os.Environ(), "CARROT_TEST_MAIN=1")
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 1 || !regexp.MustCompile(`^carrot: ptrace not permitted: seize the program: operation not permitted \(pid \d+ is already traced by pid \d+`).Match(out) {
			t.Errorf("under strace: exit %d, %q", cmd.ProcessState.ExitCode(), out)
		}
	}
	// Attaching to a process that does not exist.
	if r := runCarrot(t, "", "trace", "-p", "999999999"); r.code != 1 || r.stderr != "carrot: attach 999999999: no such process\n" {
		t.Errorf("-p of no process: exit %d, %q", r.code, r.stderr)
	}
	// A kernel thread cannot be traced, and the message says so (not that
	// root lacks a capability).
	if kt := kernelThread(); kt != "" {
		if r := runCarrot(t, "", "trace", "-p", kt); r.code != 1 || !strings.Contains(r.stderr, "pid "+kt+" is a kernel thread, which nothing can trace") {
			t.Errorf("-p of kernel thread %s: exit %d, %q", kt, r.code, r.stderr)
		}
	}
	// Nor can a zombie, and the message says so.
	parent := exec.Command(realPython(), "-c", `import os, time
pid = os.fork()
if pid == 0:
    os._exit(0)
print(pid, flush=True)
time.sleep(30)`)
	pout, _ := parent.StdoutPipe()
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer parent.Process.Kill()
	var zombie string
	fmt.Fscan(pout, &zombie)
	for i := 0; i < 200 && !strings.Contains(readFileOr("/proc/"+zombie+"/status"), "State:\tZ"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if r := runCarrot(t, "", "trace", "-p", zombie); r.code != 1 || !strings.Contains(r.stderr, "pid "+zombie+" is a zombie") {
		t.Errorf("-p of zombie %s: exit %d, %q", zombie, r.code, r.stderr)
	}
	// With -c, no empty table after the error, as strace.
	if r := runCarrot(t, "", "trace", "-c", "-p", "999999999", "-p", "999999998"); r.code != 1 ||
		r.stderr != "carrot: attach 999999999: no such process\ncarrot: attach 999999998: no such process\n" {
		t.Errorf("-c -p of no process: exit %d, %q", r.code, r.stderr)
	}
	// Killed: the trace says so, like strace.
	out := filepath.Join(t.TempDir(), "t")
	r := runCarrot(t, "", "trace", "-o", out, "sh", "-c", "kill -9 $$")
	if r.sig != syscall.SIGKILL || !strings.HasSuffix(readFile(t, out), "+++ killed by SIGKILL +++\n") {
		t.Errorf("exit %d (signal %v), trace ends %q", r.code, r.sig, tail(readFile(t, out)))
	}
	// carrot ends by the program's signal, as strace does (a parent sees
	// the death), and dumps no core of its own over the program's.
	for _, sub := range [][]string{{"trace", "-o", os.DevNull}, {"run", "--exit", "socks5://127.0.0.1:9", "--"}} {
		for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGSEGV} {
			cmd := carrotCmd(append(sub, "sh", "-c", fmt.Sprintf("ulimit -c unlimited; kill -%d $$", sig))...)
			cmd.Dir = t.TempDir()
			err := cmd.Run()
			ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ws.Signaled() || ws.Signal() != sig || ws.CoreDump() {
				t.Errorf("carrot %s, a program killed by %v: carrot ended %v (%v)", sub[0], sig, cmd.ProcessState, err)
			}
		}
	}
	// The last lines follow the flags as strace's do: -qq hides "exited
	// with", not "killed by"; the signal set hides "killed by"; -z hides
	// exit_group's "= ?" (unfinished); a call a task dies in is not
	// "<unfinished ...>" when it had nothing left to show.
	strace := needProgram(t, "strace") // says so when it skips
	for _, tc := range []struct {
		flags []string
		prog  string
	}{
		{[]string{"-qq"}, "kill -9 $$"},
		{[]string{"-e", "signal=none"}, "kill -9 $$"},
		{[]string{"-qq"}, "exit 3"},
		{[]string{"-z"}, "exit 3"},
		{[]string{"-e", "status=failed"}, "exit 3"},
		{nil, "kill -9 $$"},
	} {
		last := func(tool ...string) string {
			out := filepath.Join(t.TempDir(), "t")
			args := append(append(append([]string{}, tool[1:]...), tc.flags...), "-o", out, "-e", "trace=kill,exit_group", "sh", "-c", tc.prog)
			cmd := exec.Command(tool[0], args...)
			cmd.Env = append(os.Environ(), "CARROT_TEST_MAIN=1")
			cmd.Run()
			return regexp.MustCompile(`kill\(\d+`).ReplaceAllString(readFile(t, out), "kill(PID")
		}
		want, got := last(strace), last(os.Args[0], "trace")
		if got != want {
			t.Errorf("%v %q: carrot trace ends\n%s\nstrace\n%s", tc.flags, tc.prog, got, want)
		}
	}
}

func tail(s string) string {
	if len(s) > 200 {
		return s[len(s)-200:]
	}
	return s
}

// TestTraceRealPrograms runs programs nobody here wrote, natively and
// under carrot trace -f, and requires the same output and status.
func TestTraceRealPrograms(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), bytes.Repeat([]byte("carrot\n"), 5000), 0o644)
	py := realPython()
	cases := [][]string{
		{"sh", "-c", "ls -l / | wc -l; cat " + dir + "/a.txt | sort | uniq -c; cp " + dir + "/a.txt " + dir + "/b.txt && cmp " + dir + "/a.txt " + dir + "/b.txt && echo same"},
		{py, "-c", `import threading, subprocess, os
r = []
ts = [threading.Thread(target=lambda i=i: r.append(i*i)) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
p = os.fork()
if p == 0: os._exit(5)
print(sorted(r), os.WEXITSTATUS(os.waitpid(p, 0)[1]), subprocess.run(["sh", "-c", "echo sub; exit 3"]).returncode)`},
		{"tar", "-C", dir, "-cf", "-", "a.txt"},
		{"sh", "-c", "cd " + dir + " && git init -q repo && cd repo && cp ../a.txt . && git add a.txt && git -c user.email=a@b -c user.name=c commit -qm x && git log --format=%s"},
		{"sqlite3", ":memory:", "create table t(x); insert into t values (1),(2),(3); select sum(x) from t;"},
		{"sh", "-c", "exit 7"},
	}
	if _, err := os.Stat("/bin/busybox"); err == nil {
		cases = append(cases, []string{"/bin/busybox", "sh", "-c", "echo static; /bin/busybox ls / | /bin/busybox wc -l"})
	}
	for _, argv := range cases {
		if _, err := exec.LookPath(argv[0]); err != nil {
			t.Errorf("%s is not installed (.ci/install installs it)", argv[0])
			continue
		}
		native := exec.Command(argv[0], argv[1:]...)
		var nout bytes.Buffer
		native.Stdout = &nout
		native.Run()
		os.RemoveAll(filepath.Join(dir, "repo"))
		os.Remove(filepath.Join(dir, "b.txt"))
		trace := filepath.Join(dir, "trace.txt")
		r := runCarrot(t, "", append([]string{"trace", "-f", "-o", trace}, argv...)...)
		os.RemoveAll(filepath.Join(dir, "repo"))
		os.Remove(filepath.Join(dir, "b.txt"))
		if r.code != native.ProcessState.ExitCode() || r.stdout != nout.String() {
			t.Errorf("%v: under carrot exit %d output %q; natively exit %d output %q (stderr %q)",
				argv[:1], r.code, tail(r.stdout), native.ProcessState.ExitCode(), tail(nout.String()), r.stderr)
		}
		if tr := readFile(t, trace); !strings.Contains(tr, "execve(") || !strings.Contains(tr, "+++ exited with") {
			t.Errorf("%v: trace lacks execve or the exit: %q", argv[:1], tail(tr))
		}
	}
}

func TestTraceSelectiveSet(t *testing.T) {
	needRoot(t)
	out := filepath.Join(t.TempDir(), "t")
	r := runCarrot(t, "", "trace", "-f", "-o", out, "-e", "trace=openat,close", "sh", "-c", "cat /etc/hostname > /dev/null")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	opens := 0
	for _, l := range strings.Split(strings.TrimSpace(readFile(t, out)), "\n") {
		body := rePrefix.ReplaceAllString(l, "")
		switch {
		case strings.HasPrefix(body, "openat("):
			opens++
		case strings.HasPrefix(body, "close("), strings.HasPrefix(body, "+++ "), strings.HasPrefix(body, "--- SIGCHLD"),
			strings.HasPrefix(body, "<... "):
		default:
			t.Errorf("line outside the set: %q", l)
		}
	}
	if opens < 3 {
		t.Errorf("%d openat lines", opens)
	}
}

// counting are carrot trace -c's two ways of counting: in the kernel with
// eBPF (the default where it can; --ebpf fails if it cannot), and with
// ptrace stops as strace does (--no-ebpf).
var counting = []struct{ name, flag string }{{"ebpf", "--ebpf"}, {"ptrace", "--no-ebpf"}}

// eachCounting runs test as root once per way of counting, with its flag.
func eachCounting(t *testing.T, test func(t *testing.T, flag string)) {
	for _, c := range counting {
		t.Run(c.name, func(t *testing.T) {
			needRoot(t)
			test(t, c.flag)
		})
	}
}

// TestTraceSummary checks -c against strace -c: the same table layout, and
// the same calls and error counts for the deterministic program, counted
// either way.
func TestTraceSummary(t *testing.T) { eachCounting(t, testTraceSummary) }

func testTraceSummary(t *testing.T, flag string) {
	strace := needProgram(t, "strace")
	bin := cbin(t, "golden")
	dir := t.TempDir()
	counts := func(table string) map[string]string {
		m := map[string]string{}
		for _, l := range strings.Split(table, "\n") {
			f := strings.Fields(l)
			// "% time seconds usecs/call calls [errors] syscall"
			if len(f) >= 5 && f[0] != "%" && !strings.HasPrefix(f[0], "---") {
				name := f[len(f)-1]
				errs := "0"
				if len(f) == 6 {
					errs = f[4]
				}
				if name != "total" && name != "execve" && name != "brk" && name != "mmap" && name != "mprotect" && name != "munmap" {
					m[name] = f[3] + "/" + errs
				}
			}
		}
		return m
	}
	port := freePorts(t)
	sOut := filepath.Join(dir, "s.txt")
	os.Mkdir(filepath.Join(dir, "s"), 0o755)
	if b, err := exec.Command(strace, "-c", "-o", sOut, bin, filepath.Join(dir, "s"), strconv.Itoa(port)).CombinedOutput(); err != nil {
		t.Fatalf("strace: %v %s", err, b)
	}
	cOut := filepath.Join(dir, "c.txt")
	os.Mkdir(filepath.Join(dir, "c"), 0o755)
	if r := runCarrot(t, "", "trace", "-c", flag, "-o", cOut, bin, filepath.Join(dir, "c"), strconv.Itoa(port)); r.code != 0 {
		t.Fatalf("carrot: %d %s", r.code, r.stderr)
	}
	st, ct := readFile(t, sOut), readFile(t, cOut)
	head := "% time     seconds  usecs/call     calls    errors syscall\n------ ----------- ----------- --------- --------- ----------------\n"
	if !strings.HasPrefix(ct, head) {
		t.Errorf("table header:\n%s", ct)
	}
	if !regexp.MustCompile(`(?m)^100\.00 +\d+\.\d{6} +\d+ +\d+ +\d+ total$`).MatchString(ct) {
		t.Errorf("no total line:\n%s", ct)
	}
	sc, cc := counts(st), counts(ct)
	for name, v := range sc {
		if cc[name] != v {
			t.Errorf("%s: strace counts %s, carrot %s", name, v, cc[name])
		}
	}
	if len(cc) != len(sc) {
		t.Errorf("carrot counted %d calls, strace %d:\n%s\n%s", len(cc), len(sc), ct, st)
	}
}

func TestTraceSummaryPerProcess(t *testing.T) {
	eachCounting(t, func(t *testing.T, flag string) {
		tr := summaryOf(t, "-f", "-c", flag, "sh", "-c", "ls / >/dev/null; cat /etc/hostname >/dev/null")
		for _, want := range []string{"(sh):\n", "(ls):\n", "(cat):\n", "all processes:\n"} {
			if !strings.Contains(tr, want) {
				t.Errorf("no %q in\n%s", want, tr)
			}
		}
		if n := strings.Count(tr, "% time     seconds"); n != 4 {
			t.Errorf("%d tables, want 4", n)
		}
	})
}

// summaryTables parses -c's output: each process's table (by pid) and the
// merged one (pid 0), as syscall -> "calls/errors".
func summaryTables(t *testing.T, out string) map[int]map[string]string {
	t.Helper()
	tables := map[int]map[string]string{}
	cur := map[string]string{}
	tables[0] = cur
	for _, l := range strings.Split(out, "\n") {
		if m := regexp.MustCompile(`^pid (\d+) \(.*\):$`).FindStringSubmatch(l); m != nil {
			pid, _ := strconv.Atoi(m[1])
			cur = map[string]string{}
			tables[pid] = cur
			continue
		}
		if l == "all processes:" {
			cur = map[string]string{}
			tables[0] = cur
			continue
		}
		f := strings.Fields(l)
		if len(f) >= 5 && f[0] != "%" && !strings.HasPrefix(f[0], "---") {
			errs := "0"
			if len(f) == 6 {
				errs = f[4]
			}
			cur[f[len(f)-1]] = f[3] + "/" + errs
			cur[f[len(f)-1]+" seconds"] = f[1]
		}
	}
	return tables
}

// TestTraceSummaryForks: with -f, each process's own counts in its own
// table, the parent's and two children's getpid calls told apart, and
// the execve that became the program counted once, as strace does.
func TestTraceSummaryForks(t *testing.T) {
	bin := cbin(t, "kcount")
	eachCounting(t, func(t *testing.T, flag string) {
		out := filepath.Join(t.TempDir(), "t")
		r := runCarrot(t, "", "trace", "-f", "-c", flag, "-o", out, bin, "forks", "111", "222", "333")
		if r.code != 0 {
			t.Fatalf("exit %d %s", r.code, r.stderr)
		}
		tr := readFile(t, out)
		tables := summaryTables(t, tr)
		var got []string
		for pid, tb := range tables {
			if pid != 0 {
				got = append(got, tb["getpid"])
			}
		}
		slices.Sort(got)
		if want := []string{"111/0", "222/0", "333/0"}; !slices.Equal(got, want) {
			t.Errorf("getpid per process %q, want %q:\n%s", got, want, tr)
		}
		if m := tables[0]; m["getpid"] != "666/0" || m["execve"] != "1/0" || m["clone"] != "2/0" {
			t.Errorf("merged: getpid %s execve %s clone %s, want 666, 1, 2:\n%s", m["getpid"], m["execve"], m["clone"], tr)
		}
		// Without -f only the program's own calls.
		r = runCarrot(t, "", "trace", "-c", flag, "-o", out, bin, "forks", "111", "222", "333")
		if m := summaryTables(t, readFile(t, out))[0]; r.code != 0 || m["getpid"] != "333/0" {
			t.Errorf("without -f: exit %d, getpid %s, want 333", r.code, m["getpid"])
		}
	})
}

// summaryOf runs carrot trace with args and an -o file, and returns what
// it wrote there; a non-zero exit fails the test.
func summaryOf(t *testing.T, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "t")
	r := runCarrot(t, "", append([]string{"trace", "-o", out}, args...)...)
	if r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	return readFile(t, out)
}

// TestTraceSummaryTraceSet: -c -e trace=SET counts only the set's calls.
func TestTraceSummaryTraceSet(t *testing.T) {
	bin := cbin(t, "kcount")
	eachCounting(t, func(t *testing.T, flag string) {
		tr := summaryOf(t, "-c", flag, "-e", "trace=getpid,openat", bin, "getpid", "77")
		m := summaryTables(t, tr)[0]
		delete(m, "total")
		delete(m, "total seconds")
		if m["getpid"] != "77/0" || m["openat"] == "" || len(m) != 4 {
			t.Errorf("want getpid (77) and openat only:\n%s", tr)
		}
	})
}

// TestTraceSummaryExecThread: a thread other than the leader execs while
// the leader is in a call (pthread_join's futex, which never returns): its
// execve completes under the leader's tid, and counts as an execve.
func TestTraceSummaryExecThread(t *testing.T) {
	bin := cbin(t, "kcount")
	eachCounting(t, func(t *testing.T, flag string) {
		tr := summaryOf(t, "-c", flag, bin, "execthread", "55")
		if m := summaryTables(t, tr)[0]; m["execve"] != "2/0" || m["getpid"] != "55/0" {
			t.Errorf("want 2 execve and 55 getpid:\n%s", tr)
		}
	})
}

// TestTraceSummaryOthersNotCounted: a process outside the trace that
// calls getpid in a loop all along adds nothing to the traced program's.
func TestTraceSummaryOthersNotCounted(t *testing.T) {
	bin := cbin(t, "kcount")
	eachCounting(t, func(t *testing.T, flag string) {
		busy := exec.Command(bin, "getpid", "1000000000")
		if err := busy.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			busy.Process.Kill()
			busy.Wait()
		}()
		out := filepath.Join(t.TempDir(), "t")
		// The program makes 5000 calls while the busy loop makes
		// millions.
		r := runCarrot(t, "", "trace", "-f", "-c", flag, "-o", out, "sh", "-c", bin+" getpid 5000; sleep 0.2")
		if r.code != 0 {
			t.Fatalf("exit %d %s", r.code, r.stderr)
		}
		tr := readFile(t, out)
		if got := summaryTables(t, tr)[0]["getpid"]; got != "5000/0" && got != "5001/0" { // sh may call getpid once
			t.Errorf("getpid %s, want 5000:\n%s", got, tr)
		}
	})
}

// TestTraceSummaryTime: by default a call's time is the CPU time it spent
// in the kernel (a 200 ms nanosleep takes next to none; getrandom of
// 64 MiB takes some); with -w, its wall time.
func TestTraceSummaryTime(t *testing.T) {
	bin := cbin(t, "kcount")
	seconds := func(t *testing.T, args ...string) float64 {
		t.Helper()
		out := filepath.Join(t.TempDir(), "t")
		r := runCarrot(t, "", append([]string{"trace", "-o", out}, args...)...)
		if r.code != 0 {
			t.Fatalf("carrot %q: exit %d %s", args, r.code, r.stderr)
		}
		tr := readFile(t, out)
		tb := summaryTables(t, tr)[0]
		name := map[string]string{"sleep": "nanosleep", "burn": "getrandom"}[args[len(args)-1]]
		s, err := strconv.ParseFloat(tb[name+" seconds"], 64)
		if err != nil {
			t.Fatalf("no %s line:\n%s", name, tr)
		}
		return s
	}
	t.Run("ebpf", func(t *testing.T) {
		needRoot(t)
		if s := seconds(t, "-c", "--ebpf", bin, "sleep"); s > 0.02 {
			t.Errorf("nanosleep(200ms): %.6f s of CPU, want about 0", s)
		}
		if s := seconds(t, "-c", "-w", "--ebpf", bin, "sleep"); s < 0.199 || s > 1 {
			t.Errorf("-w: nanosleep(200ms) took %.6f s", s)
		}
		if s := seconds(t, "-c", "--ebpf", bin, "burn"); s < 0.02 {
			t.Errorf("getrandom of 64 MiB: %.6f s of CPU, want more", s)
		}
	})
	t.Run("ptrace", func(t *testing.T) {
		needRoot(t)
		if s := seconds(t, "-c", "-w", "--no-ebpf", bin, "sleep"); s < 0.199 || s > 1 {
			t.Errorf("-w: nanosleep(200ms) took %.6f s", s)
		}
		if s := seconds(t, "-c", "--no-ebpf", bin, "sleep"); s > 0.02 {
			t.Errorf("nanosleep(200ms): %.6f s of system time, want about 0", s)
		}
	})
}

// TestTraceSummaryFallback: where eBPF programs cannot be loaded (here
// root without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN), -c counts with
// ptrace without a word; --ebpf fails saying why.
func TestTraceSummaryFallback(t *testing.T) {
	needRoot(t)
	setpriv := needProgram(t, "setpriv")
	bin := cbin(t, "kcount")
	out := filepath.Join(t.TempDir(), "t")
	run := func(args ...string) result {
		cmd := exec.Command(setpriv, append([]string{"--bounding-set", "-bpf,-perfmon,-sys_admin", os.Args[0], "trace", "-o", out}, args...)...)
		cmd.Env = append(os.Environ(), "CARROT_TEST_MAIN=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	}
	r := run("-c", bin, "getpid", "500")
	if tr := readFile(t, out); r.code != 0 || r.stderr != "" || summaryTables(t, tr)[0]["getpid"] != "500/0" {
		t.Errorf("without CAP_BPF: exit %d, stderr %q, table:\n%s", r.code, r.stderr, tr)
	}
	r = run("-c", "--ebpf", bin, "getpid", "500")
	if r.code != 1 || !strings.Contains(r.stderr, "cannot count in the kernel") || !strings.Contains(r.stderr, "not permitted") {
		t.Errorf("--ebpf without CAP_BPF: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestTraceSummaryEBPFFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-C", "--ebpf", "true"}, {"--ebpf", "true"}, {"-c", "--fds", "--ebpf", "true"},
		{"-c", "--ebpf", "--no-ebpf", "true"}, {"-c", "--ebpf", "-p", "1"},
	} {
		r := runCarrot(t, "", append([]string{"trace"}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "ebpf") {
			t.Errorf("carrot trace %q: exit %d %q, want 2 and a message", args, r.code, r.stderr)
		}
	}
}

func TestTraceSummaryInterval(t *testing.T) {
	eachCounting(t, func(t *testing.T, flag string) {
		tr := summaryOf(t, "-c", flag, "--summary-interval", "200ms", "sh", "-c", "for i in 1 2 3 4 5 6 7 8; do cat /etc/hostname >/dev/null; sleep 0.1; done")
		if n := strings.Count(tr, "--- summary after "); n < 2 {
			t.Errorf("%d periodic summaries in a 0.8 s run every 200 ms", n)
		}
		// The last periodic table has the program's calls so far.
		if i := strings.LastIndex(tr, "--- summary after "); i < 0 || !strings.Contains(tr[i:], " wait4\n") {
			t.Errorf("no wait4 in the last periodic table:\n%s", tr)
		}
	})
}

// TestTraceFdsNtraceExample is ntrace's own example: the child reads the
// socket with read(2) and writes to a pipe; the parent reads the pipe.
// The child's read bytes must count as TCP, the parent's as pipe.
func TestTraceFdsNtraceExample(t *testing.T) {
	needRoot(t)
	bin := cbin(t, "ntrace")
	out := filepath.Join(t.TempDir(), "fds.json")
	r := runCarrot(t, "", "trace", "-f", "--fds", "--json", "-o", out, bin)
	if r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	var server, reader, client, total int
	if _, err := fmt.Sscanf(r.stdout, "pids %d %d %d total %d", &server, &reader, &client, &total); err != nil || total != 2048 {
		t.Fatalf("program said %q", r.stdout)
	}
	var rep struct {
		Fds []struct {
			Pid int
			Fds []struct {
				Fd    int
				Class string
				Name  string
				Calls []struct {
					Call                     string
					Calls, BytesIn, BytesOut uint64 `json:"-"`
				}
			}
			Classes []struct {
				Class    string
				Calls    uint64
				BytesIn  uint64 `json:"bytes_in"`
				BytesOut uint64 `json:"bytes_out"`
			}
		}
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(readFile(t, out))), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, readFile(t, out))
	}
	classes := map[int]map[string][2]uint64{}
	for _, p := range rep.Fds {
		classes[p.Pid] = map[string][2]uint64{}
		for _, c := range p.Classes {
			classes[p.Pid][c.Class] = [2]uint64{c.BytesIn, c.BytesOut}
		}
	}
	if got := classes[reader]["tcp"]; got != [2]uint64{2048, 0} {
		t.Errorf("reader's tcp bytes in/out = %v, want 2048 in (report %+v)", got, classes)
	}
	if got := classes[reader]["pipe"]; got != [2]uint64{0, 2048} {
		t.Errorf("reader's pipe bytes = %v, want 2048 out", got)
	}
	// The server also writes its report to stdout, a pipe here.
	if got := classes[server]["pipe"]; got[0] != 2048 {
		t.Errorf("server's pipe bytes in = %d, want 2048", got[0])
	}
	if _, ok := classes[server]["tcp"]; ok {
		t.Errorf("server has tcp traffic: %v", classes[server])
	}
	if got := classes[client]["tcp"]; got != [2]uint64{0, 2048} {
		t.Errorf("client's tcp bytes = %v, want 2048 out", got)
	}
	// The text report names the reader's socket by its endpoints.
	txt := filepath.Join(t.TempDir(), "fds.txt")
	r = runCarrot(t, "", "trace", "-f", "--fds", "-o", txt, bin)
	if r.code != 0 || !regexp.MustCompile(`(?m)^ +\d+ tcp +127\.0\.0\.1:\d+->127\.0\.0\.1:\d+ +read +2 +2048 +0$`).MatchString(readFile(t, txt)) {
		t.Errorf("text report:\n%s", readFile(t, txt))
	}
}

func TestTraceJSON(t *testing.T) {
	needRoot(t)
	out := filepath.Join(t.TempDir(), "t.json")
	r := runCarrot(t, "", "trace", "--json", "-y", "-o", out, "cat", "/etc/hostname")
	if r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	// -y's fds as the lines show them, not escaped for HTML (\u003c).
	if !strings.Contains(readFile(t, out), `"ret":"3</etc/hostname>"`) {
		t.Errorf("no 3</etc/hostname> as such in %s", readFile(t, out))
	}
	var sawOpen, sawRead, sawExit bool
	for _, l := range strings.Split(strings.TrimSpace(readFile(t, out)), "\n") {
		var o map[string]any
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("not JSON: %q: %v", l, err)
		}
		switch o["name"] {
		case "openat":
			if args := o["args"].([]any); len(args) == 3 && args[1] == `"/etc/hostname"` && args[0] != "AT_FDCWD" {
				sawOpen = o["retval"].(float64) >= 0 && o["errno"] == nil
			}
			if strings.HasSuffix(o["ret"].(string), "ENOENT (No such file or directory)") && o["errno"] != "ENOENT" {
				t.Errorf("failed call without errno: %v", o)
			}
		case "read":
			if o["fd_class"] == "file" && o["retval"].(float64) > 0 {
				sawRead = true
			}
		}
		if o["event"] == "exit" {
			sawExit = true
		}
		for _, k := range []string{"pid", "tid", "time"} {
			if _, ok := o[k]; !ok {
				t.Errorf("no %s in %v", k, o)
			}
		}
	}
	if !sawOpen || !sawRead || !sawExit {
		t.Errorf("open %v read(file) %v exit %v in\n%s", sawOpen, sawRead, sawExit, readFile(t, out))
	}
}

func TestTraceTimeline(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	tl := filepath.Join(dir, "timeline.json")
	r := runCarrot(t, "", "trace", "-f", "-o", os.DevNull, "--timeline", tl, realPython(), "-c",
		"import threading; ts=[threading.Thread(target=lambda: open('/etc/hostname').read()) for _ in range(3)]; [t.start() for t in ts]; [t.join() for t in ts]")
	if r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	var evs []struct {
		Name string
		Ph   string
		Ts   float64
		Dur  float64
		Pid  int
		Tid  int
	}
	if err := json.Unmarshal([]byte(readFile(t, tl)), &evs); err != nil {
		t.Fatalf("timeline is not a JSON array: %v", err)
	}
	tids := map[int]bool{}
	var slices, named int
	for _, e := range evs {
		switch e.Ph {
		case "X":
			slices++
			tids[e.Tid] = true
			if e.Dur <= 0 || e.Ts < 0 {
				t.Errorf("bad slice %+v", e)
			}
		case "M":
			named++
		}
	}
	if slices < 50 || len(tids) < 4 || named == 0 {
		t.Errorf("%d slices on %d threads, %d names", slices, len(tids), named)
	}
}

func TestTracePerTaskFiles(t *testing.T) {
	needRoot(t)
	base := filepath.Join(t.TempDir(), "trace")
	r := runCarrot(t, "", "trace", "-ff", "-o", base, "sh", "-c", "true; ls / > /dev/null")
	if r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	files, _ := filepath.Glob(base + ".*")
	if len(files) < 2 {
		t.Fatalf("files %v", files)
	}
	for _, f := range files {
		s := readFile(t, f)
		if rePrefix.MatchString(s) || !strings.Contains(s, "+++ exited with 0 +++") {
			t.Errorf("%s: %q", f, tail(s))
		}
	}
}

func TestTraceAttach(t *testing.T) {
	needRoot(t)
	prog := exec.Command(realPython(), "-c", `import os, time, sys
print("ready", flush=True)
for i in range(300):
    os.getppid(); time.sleep(0.01)
print("done", flush=True)`)
	stdout, _ := prog.StdoutPipe()
	if err := prog.Start(); err != nil {
		t.Fatal(err)
	}
	defer prog.Process.Kill()
	br := bufio.NewReader(stdout)
	if l, _ := br.ReadString('\n'); l != "ready\n" {
		t.Fatalf("program: %q", l)
	}
	out := filepath.Join(t.TempDir(), "t")
	// A process that is not there is said and left out, as strace does.
	cmd, errb := startCarrot(t, "trace", "-o", out, "-p", "999999999", "-p", strconv.Itoa(prog.Process.Pid))
	// Interrupt once carrot is tracing (it handles SIGINT from then on).
	waitForFile(t, out, regexp.MustCompile(`getppid\(\)`))
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("carrot: %v %s", err, errb.String())
	}
	if !strings.Contains(readFile(t, out), "getppid()") {
		t.Errorf("no getppid in %q", tail(readFile(t, out)))
	}
	pid := strconv.Itoa(prog.Process.Pid)
	if !strings.HasPrefix(errb.String(), "carrot: attach 999999999: no such process\n") ||
		!strings.Contains(errb.String(), "Process "+pid+" attached") || !strings.Contains(errb.String(), "Process "+pid+" detached") {
		t.Errorf("stderr %q", errb.String())
	}
	// Detached, the program runs to its end.
	rest, _ := br.ReadString('\n')
	if err := prog.Wait(); err != nil || rest != "done\n" {
		t.Errorf("after detach: %v %q", err, rest)
	}
}

// TestTraceSignalsAndTerminal: stdin reaches the program, a handler for
// SIGUSR1 runs, and Ctrl-C (SIGINT to the foreground process group) reaches
// the program while carrot waits for it.
func TestTraceSignalsAndTerminal(t *testing.T) {
	needRoot(t)
	r := runCarrot(t, "piped input\n", "trace", "-o", os.DevNull, "cat")
	if r.code != 0 || r.stdout != "piped input\n" {
		t.Errorf("stdin: %d %q", r.code, r.stdout)
	}
	out := filepath.Join(t.TempDir(), "t")
	cmd := carrotCmd("trace", "-f", "-o", out, realPython(), "-c", `import signal, os, sys, time
got = []
signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
os.kill(os.getpid(), signal.SIGUSR1)
print("usr1", got == [signal.SIGUSR1], flush=True)
try:
    time.sleep(20)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(4)`)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(stdout)
	if l, _ := br.ReadString('\n'); l != "usr1 True\n" {
		t.Fatalf("program: %q", l)
	}
	time.Sleep(100 * time.Millisecond)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) // what the terminal does on Ctrl-C
	l, _ := br.ReadString('\n')
	err := cmd.Wait()
	if l != "interrupted\n" || cmd.ProcessState.ExitCode() != 4 {
		t.Errorf("after Ctrl-C: %q, carrot %v", l, err)
	}
	if tr := readFile(t, out); !strings.Contains(tr, "--- SIGINT {si_signo=SIGINT, si_code=SI_USER") || !strings.Contains(tr, "--- SIGUSR1 ") {
		t.Errorf("signals not in trace: %q", tail(tr))
	}
}

// TestTraceNoTraceeOutlivesCarrot: kill -9 carrot while it traces a
// process tree; PTRACE_O_EXITKILL takes every tracee with it.
func TestTraceNoTraceeOutlivesCarrot(t *testing.T) {
	needRoot(t)
	pidFile := filepath.Join(t.TempDir(), "pids")
	cmd := carrotCmd("trace", "-f", "-o", os.DevNull, "sh", "-c", "sleep 30 & echo $! > "+pidFile+".tmp; mv "+pidFile+".tmp "+pidFile+"; wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	child, _ := strconv.Atoi(strings.TrimSpace(waitForFile(t, pidFile, regexp.MustCompile(`^\d+\n?$`)))) // the traced shell started its child
	cmd.Process.Kill()
	cmd.Wait()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat")
		if err != nil || strings.Contains(string(b), ") Z ") {
			return // gone, or a zombie waiting for its (also killed) parent's reaper
		}
	}
	syscall.Kill(child, syscall.SIGKILL)
	t.Fatalf("tracee %d outlived carrot", child)
}

// startCarrot starts carrot with args, its stderr kept; it is killed at
// the end of the test if still running.
func startCarrot(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := carrotCmd(args...)
	errb := &bytes.Buffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, errb
}

// waitForFile polls path until its content matches re (bounded: 20 s),
// and returns the content.
func waitForFile(t *testing.T, path string, re *regexp.Regexp) string {
	t.Helper()
	var b []byte
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, _ = os.ReadFile(path); re.Match(b) {
			return string(b)
		}
	}
	t.Fatalf("%s never matched %s; it holds %q", path, re, b)
	return ""
}

// TestTraceShowsBlockedCall: a call that blocks shows its entry while it
// blocks, as strace's does; another task's line ends that entry with
// "<unfinished ...>", and the whole output is strace's, byte for byte
// once the pids are named. The program's thread blocks reading stdin; only
// after the test has seen its entry does the test let the main thread go
// on (a fifo it opens) to make a call of its own, then feed the thread.
func TestTraceShowsBlockedCall(t *testing.T) {
	needRoot(t)
	strace := needProgram(t, "strace")
	const prog = `
import os, sys, threading
t = threading.Thread(target=lambda: os.read(0, 100))
t.start()
os.close(os.open(sys.argv[1], os.O_RDONLY))
os.getppid()
t.join()
`
	run := func(tool ...string) string {
		dir := t.TempDir()
		out, fifo := filepath.Join(dir, "t"), filepath.Join(dir, "go")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(tool[0], append(append([]string{}, tool[1:]...),
			"-f", "-e", "trace=read,getppid", "-o", out, realPython(), "-c", prog, fifo)...)
		cmd.Env = append(os.Environ(), "CARROT_TEST_MAIN=1")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		during := waitForFile(t, out, regexp.MustCompile(`(?m)^\d+ +read\(0, \z`))
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		waitForFile(t, out, regexp.MustCompile(`getppid\(\) += \d+\n\z`))
		io.WriteString(stdin, "hi\n")
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%v: %v %s", tool, err, errb.String())
		}
		after := readFile(t, out)
		if !strings.HasPrefix(after, during) {
			t.Errorf("%v: the blocked entry was not continued:\nwhile blocked %q\nat the end %q", tool, tail(during), tail(after))
		}
		// Name the pids by their first appearance, and keep the lines from
		// the thread's read on.
		names := map[string]string{}
		after = regexp.MustCompile(`(?m)^\d+`).ReplaceAllStringFunc(after, func(pid string) string {
			if names[pid] == "" {
				names[pid] = fmt.Sprintf("task%d", len(names))
			}
			return names[pid]
		})
		after = regexp.MustCompile(`getppid\(\)( +)= \d+`).ReplaceAllString(after, "getppid()$1= PPID")
		// From the thread's read to its end (the exit lines after it come
		// in either order: the thread's end races with exit_group).
		after = after[strings.LastIndex(after[:strings.Index(after, "read(0, ")], "\n")+1:]
		if i := strings.Index(after, "read resumed>"); i >= 0 {
			after = after[:i+strings.Index(after[i:], "\n")+1]
		}
		return after
	}
	want, got := run(strace), run(os.Args[0], "trace")
	if !regexp.MustCompile(`(?m)^task\d +read\(0,  <unfinished \.\.\.>\n.*getppid\(\)[^\n]*\n.*<\.\.\. read resumed>"hi\\n", 100\) += 3\n`).MatchString(got) {
		t.Errorf("no unfinished and resumed read in\n%s", got)
	}
	if d := lineDiff(strings.Split(want, "\n"), strings.Split(got, "\n")); d != "" {
		t.Errorf("unlike strace:\n%s", d)
	}
}

// TestTraceAttachBlocked: attached to a process blocked in a call, the
// call shows at once; detaching ends its line as strace does, and the
// process goes on.
func TestTraceAttachBlocked(t *testing.T) {
	needRoot(t)
	prog := exec.Command("cat")
	stdin, _ := prog.StdinPipe()
	var progOut bytes.Buffer
	prog.Stdout = &progOut
	if err := prog.Start(); err != nil {
		t.Fatal(err)
	}
	defer prog.Process.Kill()
	out := filepath.Join(t.TempDir(), "t")
	cmd, errb := startCarrot(t, "trace", "-o", out, "-p", strconv.Itoa(prog.Process.Pid))
	waitForFile(t, out, regexp.MustCompile(`\Aread\(0, \z`))
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("carrot: %v %s", err, errb.String())
	}
	if got := readFile(t, out); got != "read(0,  <detached ...>\n" {
		t.Errorf("trace %q", got)
	}
	io.WriteString(stdin, "still here\n")
	stdin.Close()
	if err := prog.Wait(); err != nil || progOut.String() != "still here\n" {
		t.Errorf("after detach: %v %q", err, progOut.String())
	}
}

// TestTraceWithoutFollow: without -f (and no -e filter), the program's
// children run untraced, as under strace: carrot returns when the program
// does, leaving a background child running and not traced, and prints
// none of its calls.
func TestTraceWithoutFollow(t *testing.T) {
	needRoot(t)
	out := filepath.Join(t.TempDir(), "t")
	cmd := carrotCmd("trace", "-o", out, "sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	pid, _ := strconv.Atoi(strings.TrimSpace(stdout.String()))
	if pid > 0 {
		defer syscall.Kill(pid, syscall.SIGKILL)
	}
	if err != nil || pid <= 0 {
		t.Fatalf("carrot: %v %q %s", err, stdout.String(), stderr.String())
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("the background child is gone with the program: %v", err)
	}
	if !regexp.MustCompile(`(?m)^TracerPid:\s+0$`).Match(status) {
		t.Errorf("the background child is traced:\n%s", status)
	}
	if tr := readFile(t, out); strings.Contains(tr, "nanosleep") || !strings.Contains(tr, "+++ exited with 0 +++") {
		t.Errorf("trace:\n%s", tail(tr))
	}
}

// TestTraceKeepsSetuid: under a filter (-e trace=), a setuid program
// started by an unprivileged user runs with its privileges, as under
// strace: carrot, as root, installs its filter without no_new_privs, which
// would have the kernel ignore the setuid bit.
func TestTraceKeepsSetuid(t *testing.T) {
	needRoot(t)
	setpriv := needProgram(t, "setpriv")
	bin := compileC(t, "ids", "#include <stdio.h>\n#include <unistd.h>\nint main(void){printf(\"euid=%d\\n\",(int)geteuid());return 0;}\n")
	os.Chmod(filepath.Dir(bin), 0o755) // for user nobody
	os.Chmod(bin, 0o755|os.ModeSetuid)
	asNobody := []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin}
	if out, _ := exec.Command(asNobody[0], asNobody[1:]...).Output(); string(out) != "euid=0\n" {
		t.Skipf("SKIP: the setuid bit has no effect here (a nosuid mount?): %q", out)
	}
	for _, args := range [][]string{{"-e", "trace=openat"}, {"-f", "-e", "trace=openat"}} {
		cmd := carrotCmd(append(append([]string{"trace", "-o", os.DevNull}, args...), asNobody...)...)
		if out, err := cmd.Output(); err != nil || string(out) != "euid=0\n" {
			t.Errorf("carrot trace %v: %q %v", args, out, err)
		}
	}
}

// TestTraceSummaryChildrenUnderFilter: with -e trace= and no -f, the
// children that stop under the inherited filter are not traced: -c prints
// the program's one table, not per-process ones.
func TestTraceSummaryChildrenUnderFilter(t *testing.T) {
	needRoot(t)
	tr := summaryOf(t, "-c", "--no-ebpf", "-e", "trace=wait4,execve", "sh", "-c", "cat /etc/hostname >/dev/null; ls / >/dev/null")
	if strings.Contains(tr, "pid ") || strings.Contains(tr, "all processes") || !strings.Contains(tr, " wait4\n") {
		t.Errorf("want the program's table alone:\n%s", tr)
	}
}

// TestTraceSeveralPidsPrefix: with -o and several -p, every line carries
// its pid, as strace decides once at the start, also after one of the
// processes has gone.
func TestTraceSeveralPidsPrefix(t *testing.T) {
	needRoot(t)
	var ins []io.WriteCloser
	var pids []string
	for range 2 {
		p := exec.Command("cat")
		in, _ := p.StdinPipe()
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		defer p.Process.Kill()
		defer p.Wait()
		ins, pids = append(ins, in), append(pids, strconv.Itoa(p.Process.Pid))
	}
	out := filepath.Join(t.TempDir(), "t")
	cmd, errb := startCarrot(t, "trace", "-o", out, "-p", pids[0], "-p", pids[1])
	// Both reads shown: one ended by the other's entry, one in progress.
	waitForFile(t, out, regexp.MustCompile(`<unfinished \.\.\.>\n\d+ +read\(0, \z`))
	for _, in := range ins {
		io.WriteString(in, "x\n")
		in.Close()
		time.Sleep(50 * time.Millisecond) // one process gone before the other's lines
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("carrot: %v %s", err, errb.String())
	}
	tr := readFile(t, out)
	for _, l := range strings.Split(strings.TrimSuffix(tr, "\n"), "\n") {
		if !regexp.MustCompile(`^(` + pids[0] + `|` + pids[1] + `) `).MatchString(l) {
			t.Errorf("a line without its pid: %q in\n%s", l, tr)
		}
	}
}

// TestTraceFdPathsQuoted: -y quotes a path as strace does (escapes, '<'
// and '>' in octal, so that a name cannot break the line or the brackets)
// and puts "(deleted)" after the brackets; the lines are strace's.
func TestTraceFdPathsQuoted(t *testing.T) {
	needRoot(t)
	strace := needProgram(t, "strace")
	bin := compileC(t, "del", `#include <fcntl.h>
#include <unistd.h>
int main(int argc, char **argv) {
	int fd = open(argv[1], O_CREAT|O_WRONLY|O_TRUNC, 0644);
	write(fd, "x", 1);
	unlink(argv[1]);
	write(fd, "y", 1);
	return 0;
}
`)
	name := filepath.Join(t.TempDir(), "a\"b\nc<d>7\\f\tg \u00e9 h")
	lines := func(tool ...string) string {
		return traceFile(t, tool, "-y", "-e", "trace=write", bin, name)
	}
	want, got := lines(strace), lines(os.Args[0], "trace")
	sameAsStrace(t, want, got, `\74d\0767`, ">(deleted)")
}

// TestTraceStraceFlags: strace's spellings that carrot took wrongly: -o
// "|command" pipes the trace to the command, -ff without -o is -f,
// --decode-fds= and --quiet= take strace's sets, and -c with -C, an
// empty trace set and a bad set member are refused.
func TestTraceStraceFlags(t *testing.T) {
	needRoot(t)
	out := filepath.Join(t.TempDir(), "piped")
	if r := runCarrot(t, "", "trace", "-o", "|cat > "+out, "-e", "trace=openat", "cat", "/etc/hostname"); r.code != 0 {
		t.Fatalf("-o |cmd: exit %d %s", r.code, r.stderr)
	}
	if tr := readFile(t, out); !strings.Contains(tr, `openat(AT_FDCWD, "/etc/hostname"`) {
		t.Errorf("-o |cmd: the command got %q", tr)
	}
	if r := runCarrot(t, "", "trace", "-ff", "-e", "trace=openat", "cat", "/etc/hostname"); r.code != 0 || !strings.Contains(r.stderr, `"/etc/hostname"`) {
		t.Errorf("-ff without -o: exit %d %s", r.code, r.stderr)
	}
	if r := runCarrot(t, "", "trace", "--decode-fds=path", "--quiet=attach,exit", "-e", "trace=read", "cat", "/etc/hostname"); r.code != 0 ||
		!strings.Contains(r.stderr, "read(3</etc/hostname>") || strings.Contains(r.stderr, "exited with") {
		t.Errorf("--decode-fds=path --quiet=attach,exit: exit %d %s", r.code, r.stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-c", "-C", "true"}, "-c and -C are mutually exclusive"},
		{[]string{"-e", "trace=", "true"}, "invalid system call ''"},
		{[]string{"--decode-fds=bogus", "true"}, "invalid --decode-fds value 'bogus'"},
		{[]string{"--follow-forks=2", "true"}, "option --follow-forks takes no value"},
	} {
		if r := runCarrot(t, "", append([]string{"trace"}, c.args...)...); r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("carrot trace %v: exit %d %q, want %s", c.args, r.code, r.stderr, c.want)
		}
	}
}

// TestTraceRestartSyscall: a sleep a signal interrupts ends with
// ERESTART_RESTARTBLOCK and its time left, and restart_syscall names the
// call it resumes, as strace prints them.
func TestTraceRestartSyscall(t *testing.T) {
	needRoot(t)
	strace := needProgram(t, "strace")
	// The child signals once, then waits to be killed after the sleep, so
	// that its SIGCHLD cannot interrupt the sleep a second time.
	bin := compileC(t, "rs", `#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(void) {
	signal(SIGUSR1, SIG_IGN); /* under ptrace it still stops the sleep, which resumes */
	pid_t k = fork();
	if (k == 0) { usleep(100000); kill(getppid(), SIGUSR1); pause(); _exit(0); }
	struct timespec ts = {0, 400000000};
	nanosleep(&ts, &ts);
	kill(k, SIGKILL);
	waitpid(k, 0, 0);
	return 0;
}
`)
	calls := func(tool ...string) string {
		tr := traceFile(t, tool, "-e", "trace=clock_nanosleep,restart_syscall", bin)
		var keep []string
		for _, l := range strings.Split(tr, "\n") {
			if strings.HasPrefix(l, "clock_nanosleep(") || strings.HasPrefix(l, "restart_syscall(") {
				keep = append(keep, regexp.MustCompile(`\{tv_sec=0, tv_nsec=\d+\}\)`).ReplaceAllString(l, "{tv_sec=0, tv_nsec=LEFT})"))
			}
		}
		return strings.Join(keep, "\n")
	}
	want, got := calls(strace), calls(os.Args[0], "trace")
	sameAsStrace(t, want, got, "restart_syscall(<... resuming interrupted clock_nanosleep ...>)")
}

// TestTraceAttachThreads: attaching to a process with threads says how
// many, as strace does ("Process N attached with 4 threads"), and
// detaching says each.
func TestTraceAttachThreads(t *testing.T) {
	needRoot(t)
	prog := exec.Command(realPython(), "-c", `import sys, threading, time
ts = [threading.Thread(target=time.sleep, args=(30,), daemon=True) for _ in range(3)]
[t.start() for t in ts]
print("ready", flush=True)
sys.stdin.read()`)
	stdout, _ := prog.StdoutPipe()
	stdin, _ := prog.StdinPipe()
	if err := prog.Start(); err != nil {
		t.Fatal(err)
	}
	defer prog.Process.Kill()
	if l, _ := bufio.NewReader(stdout).ReadString('\n'); l != "ready\n" {
		t.Fatalf("program: %q", l)
	}
	out := filepath.Join(t.TempDir(), "t")
	cmd, errb := startCarrot(t, "trace", "-o", out, "-p", strconv.Itoa(prog.Process.Pid))
	waitForFile(t, out, regexp.MustCompile(`read\(0, `)) // attached, the main thread in its read
	cmd.Process.Signal(syscall.SIGINT)                   // detach
	if err := cmd.Wait(); err != nil {
		t.Fatalf("carrot: %v %s", err, errb.String())
	}
	stdin.Close()
	if want := fmt.Sprintf("carrot: Process %d attached with 4 threads\n", prog.Process.Pid); !strings.HasPrefix(errb.String(), want) {
		t.Errorf("stderr %q, want it to begin %q", errb.String(), want)
	}
	// One "detached" line a thread, the leader first, as strace says them.
	if d := regexp.MustCompile(`(?m)^carrot: Process (\d+) detached$`).FindAllStringSubmatch(errb.String(), -1); len(d) != 4 || d[0][1] != strconv.Itoa(prog.Process.Pid) {
		t.Errorf("detached lines: %q", errb.String())
	}
}

// TestTraceYYDevicesAndPidfds: -yy follows a device's path with its kind
// and number (1</dev/null<char 1:3>>) and names a pidfd's process
// (3<pid:N>), as strace does; the lines are strace's.
func TestTraceYYDevicesAndPidfds(t *testing.T) {
	needRoot(t)
	strace := needProgram(t, "strace")
	bin := compileC(t, "yy", `#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
	int fd = open("/dev/null", O_WRONLY);
	write(fd, "x", 1);
	int p = syscall(SYS_pidfd_open, getpid(), 0);
	close(p);
	return 0;
}
`)
	lines := func(tool ...string) string {
		tr := traceFile(t, tool, "-yy", "-e", "trace=write,pidfd_open,close", bin)
		// The program's own lines, its pid named.
		tr = tr[strings.Index(tr, "write("):]
		return regexp.MustCompile(`pid:\d+|pidfd_open\(\d+`).ReplaceAllStringFunc(tr, func(s string) string { return strings.TrimRight(s, "0123456789") + "PID" })
	}
	want, got := lines(strace), lines(os.Args[0], "trace")
	sameAsStrace(t, want, got, "</dev/null<char 1:3>>", "<pid:PID>")
}

// TestTraceYYUnixPeers: -yy shows a unix socket's peer inode
// (UNIX-STREAM:[ino->peer]) as strace does, and none for a connection not
// yet accepted, whose peer has no inode; the inodes are named by their
// first appearance, so the peers must match too.
func TestTraceYYUnixPeers(t *testing.T) {
	needRoot(t)
	strace := needProgram(t, "strace")
	bin := compileC(t, "sp", `#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(int argc, char **argv) {
	int sv[2], d[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv); write(sv[0], "x", 1);
	socketpair(AF_UNIX, SOCK_DGRAM, 0, d); write(d[0], "y", 1);
	struct sockaddr_un a = {AF_UNIX};
	strcpy(a.sun_path, argv[1]);
	int l = socket(AF_UNIX, SOCK_STREAM, 0); bind(l, (void *)&a, sizeof a); listen(l, 1);
	int c = socket(AF_UNIX, SOCK_STREAM, 0); connect(c, (void *)&a, sizeof a); write(c, "z", 1);
	int s = accept(l, 0, 0); write(s, "w", 1); write(c, "v", 1);
	return 0;
}
`)
	lines := func(tool ...string) string {
		sock := filepath.Join(t.TempDir(), "sock")
		tr := strings.ReplaceAll(traceFile(t, tool, "-yy", "-e", "trace=write", bin, sock), sock, "SOCK")
		names := map[string]string{}
		return regexp.MustCompile(`\d{4,}`).ReplaceAllStringFunc(tr, func(ino string) string {
			if names[ino] == "" {
				names[ino] = fmt.Sprintf("I%d", len(names))
			}
			return names[ino]
		})
	}
	want, got := lines(strace), lines(os.Args[0], "trace")
	sameAsStrace(t, want, got, "UNIX-STREAM:[I0->I1]")
}

// TestTraceClone3Unfinished: a clone3 that writes back a pidfd, with a
// vfork child that runs before it returns, is printed as strace prints
// it: its entry line, without a pid prefix (one task traced when it
// began), ends "<unfinished ...>" after the structure, and its resumed
// half shows what was written back and the size.
func TestTraceClone3Unfinished(t *testing.T) {
	needRoot(t)
	strace := needProgram(t, "strace")
	bin := compileC(t, "s3", `#define _GNU_SOURCE
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(void) {
	struct clone_args ca = {0};
	int pfd = -1;
	ca.flags = CLONE_PIDFD | CLONE_VFORK;
	ca.pidfd = (long)&pfd;
	ca.exit_signal = SIGCHLD;
	long k = syscall(SYS_clone3, &ca, sizeof ca);
	if (k == 0) {
		struct timespec ts = {0, 200000000};
		syscall(SYS_nanosleep, &ts, 0);
		syscall(SYS_exit, 0);
	}
	waitpid(k, 0, 0);
	return 0;
}
`)
	trace := func(tool ...string) (first, resumed string) {
		// On stderr, where "[pid N]" depends on the tasks traced; each
		// tool's "Process N attached" taken out (strace's comes in the
		// middle of the line it interrupts).
		cmd := exec.Command(tool[0], append(append([]string{}, tool[1:]...), "-f", "-e", "trace=clone3,nanosleep", bin)...)
		cmd.Env = append(os.Environ(), "CARROT_TEST_MAIN=1")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", tool, err, b)
		}
		tr := regexp.MustCompile(`(?:/[\w.-]+)*/?(?:strace|carrot): Process \d+ attached\n`).ReplaceAllString(string(b), "")
		tr = regexp.MustCompile(`0x[0-9a-f]+|\d{3,}`).ReplaceAllString(tr, "N")
		first = strings.SplitN(tr, "\n", 2)[0]
		resumed = regexp.MustCompile(`<\.\.\. clone3 resumed>[^\n]*`).FindString(tr)
		return first, resumed
	}
	wf, wr := trace(strace)
	gf, gr := trace(os.Args[0], "trace")
	if !strings.HasPrefix(wf, "clone3({") || !strings.HasSuffix(wf, "} <unfinished ...>") || wr == "" {
		t.Fatalf("strace's lines are not what this test expects: %q %q", wf, wr)
	}
	if gf != wf || gr != wr {
		t.Errorf("unlike strace:\n  strace: %q\n          %q\n  carrot: %q\n          %q", wf, wr, gf, gr)
	}
}

// compileC compiles the C program src (named name) with gcc and returns
// the binary.
func compileC(t *testing.T, name, src string) string {
	t.Helper()
	dir := t.TempDir()
	c, bin := filepath.Join(dir, name+".c"), filepath.Join(dir, name)
	os.WriteFile(c, []byte(src), 0o644)
	if out, err := exec.Command("gcc", "-o", bin, c).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return bin
}

// traceFile runs tool (strace, or carrot trace: os.Args[0] "trace") with
// args and -o FILE, and returns FILE's content.
func traceFile(t *testing.T, tool []string, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "t")
	cmd := exec.Command(tool[0], append(append(append([]string{}, tool[1:]...), "-o", out), args...)...)
	cmd.Env = append(os.Environ(), "CARROT_TEST_MAIN=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", tool, err, b)
	}
	return readFile(t, out)
}

// sameAsStrace fails t unless carrot's output got is strace's want; want
// must hold each of expect first, or the test is wrong about strace.
func sameAsStrace(t *testing.T, want, got string, expect ...string) {
	t.Helper()
	for _, e := range expect {
		if !strings.Contains(want, e) {
			t.Fatalf("strace's lines are not what this test expects (no %q):\n%s", e, want)
		}
	}
	if got != want {
		t.Errorf("unlike strace:\n%s", lineDiff(strings.Split(want, "\n"), strings.Split(got, "\n")))
	}
}

// TestTraceJSONPerTask: --json with -ff writes each task's objects to its
// own file, as -ff does with lines (it crashed: no shared output).
func TestTraceJSONPerTask(t *testing.T) {
	needRoot(t)
	out := filepath.Join(t.TempDir(), "t")
	if r := runCarrot(t, "", "trace", "-ff", "--json", "-o", out, "sh", "-c", "true"); r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	files, _ := filepath.Glob(out + ".*")
	if len(files) != 1 {
		t.Fatalf("files %v, want one for the shell", files)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(readFile(t, files[0]), "\n", 2)[0]), &obj); err != nil || obj["name"] != "execve" {
		t.Errorf("first object %v %v", obj, err)
	}
}

// TestTraceNoDeathSignal: the program inherits no parent-death signal from
// how carrot starts it (prctl(PR_GET_PDEATHSIG) reads 0, as under strace).
func TestTraceNoDeathSignal(t *testing.T) {
	script := `import ctypes
libc = ctypes.CDLL(None, use_errno=True)
sig = ctypes.c_int(-1)
if libc.prctl(2, ctypes.byref(sig), 0, 0, 0) != 0:  # PR_GET_PDEATHSIG
    raise OSError(ctypes.get_errno(), "prctl")
print(sig.value)`
	for _, sub := range [][]string{{"trace", "-o", os.DevNull}, {"run", "--exit", "socks5://127.0.0.1:9", "--"}} {
		r := runCarrot(t, "", append(sub, realPython(), "-c", script)...)
		if r.code != 0 || r.stdout != "0\n" {
			t.Errorf("carrot %s: the program's death signal %q (exit %d, %s)", sub[0], r.stdout, r.code, r.stderr)
		}
	}
}

// TestTraceMoreFlagsLikeStrace: -r (alone and after -tt), -c's -S orders,
// -e signal=SET and -e abbrev=none give strace's lines, times and counts
// aside; the flags that change nothing under -c are warned of as strace
// warns.
func TestTraceMoreFlagsLikeStrace(t *testing.T) {
	needRoot(t)
	strace := needProgram(t, "strace")
	carrot := []string{os.Args[0], "trace"}
	// Times, and -c's time columns, differ from run to run.
	reRel := regexp.MustCompile(`(?m)^( *|\S+ \(\+ *)\d+\.\d{6}`)
	reCols := regexp.MustCompile(`(?m)^ *\d+\.\d\d +\d+\.\d{6} +\d+ `)
	reTod := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{6} `)
	norm := func(s string) string {
		s = reTod.ReplaceAllString(s, "T ")
		s = reRel.ReplaceAllString(s, "${1}R")
		return reCols.ReplaceAllString(s, "COLS ")
	}
	for _, c := range []struct {
		args   []string
		expect []string // in strace's lines: the test is about them
	}{
		{[]string{"-r", "-e", "trace=openat,close", "cat", "/dev/null"}, []string{"     R openat(AT_FDCWD, "}},
		{[]string{"-r", "-tt", "-e", "trace=close", "cat", "/dev/null"}, []string{"T (+     R) close(3)"}},
		{[]string{"-c", "-S", "calls", "-e", "trace=openat,close,read,mmap", "cat", "/etc/hostname"}, []string{"openat"}},
		{[]string{"-c", "-S", "name", "cat", "/etc/hostname"}, []string{"arch_prctl"}},
		{[]string{"-c", "-S", "calls", "ls", "-la", "/"}, []string{"getdents64"}}, // ties in call-number order
		{[]string{"-c", "-S", "errors", "ls", "-la", "/"}, []string{"getxattr"}},
		{[]string{"-c", "-S", "nothing", "-e", "trace=read,close,openat,mmap", "cat", "/etc/hostname"}, []string{"read"}},
		{[]string{"-e", "signal=usr2,15", "-e", "trace=kill", "sh", "-c", `trap "" USR2 TERM HUP; kill -USR2 $$; kill -TERM $$; kill -HUP $$`}, []string{"--- SIGUSR2", "kill("}},
		{[]string{"-e", "signal=!SIGUSR2", "-e", "trace=kill", "sh", "-c", `trap "" USR2 TERM; kill -USR2 $$; kill -TERM $$`}, []string{"--- SIGTERM"}},
		{[]string{"-e", "abbrev=none", "-e", "trace=execve", "true"}, []string{`execve("/usr/bin/true", ["true"], [`}},
		{[]string{"-s", "0", "-e", "trace=read", "cat", "/etc/hostname"}, []string{`read(3, ""..., 832)`}},
	} {
		want, got := traceFile(t, []string{strace}, c.args...), traceFile(t, carrot, c.args...)
		if strings.Contains(want, "kill(") {
			// (the shells' pids, in kill's arguments and si_pid)
			rePid := regexp.MustCompile(`\b\d{2,}\b`)
			want, got = rePid.ReplaceAllString(want, "N"), rePid.ReplaceAllString(got, "N")
		}
		sameAsStrace(t, norm(want), norm(got), c.expect...)
	}
	for _, f := range []string{"-T", "-y", "-tt", "-r"} {
		cmd := exec.Command(strace, "-c", f, "-o", os.DevNull, "true")
		want, _ := cmd.CombinedOutput()
		r := runCarrot(t, "", "trace", "-c", f, "-o", os.DevNull, "true")
		if w := strings.Replace(string(want), strace+": ", "carrot: ", 1); r.stderr != w || !strings.Contains(w, "has no effect") {
			t.Errorf("-c %s: carrot said %q, strace %q", f, r.stderr, want)
		}
	}
}

// TestTraceAttachMessages: under -f, new tasks are announced on stderr as
// strace announces them ("Process N attached", also with -c), except when
// the trace goes to a file for a program carrot started; and -c's
// per-process tables name a child that did not exec.
func TestTraceAttachMessages(t *testing.T) {
	needRoot(t)
	strace := needProgram(t, "strace")
	reAttached := regexp.MustCompile(`(?m)^\S+: Process \d+ attached$`)
	for _, args := range [][]string{
		{"-f", "-c", "sh", "-c", "/bin/true; (true)"},
		{"-f", "-o", filepath.Join(t.TempDir(), "t"), "sh", "-c", "/bin/true; (true)"},
		{"-f", "-e", "trace=none", "sh", "-c", "/bin/true; (true)"},
	} {
		want, _ := exec.Command(strace, args...).CombinedOutput()
		r := runCarrot(t, "", append([]string{"trace"}, args...)...)
		n, m := len(reAttached.FindAllString(string(want), -1)), len(reAttached.FindAllString(r.stderr, -1))
		if n != m {
			t.Errorf("%v: carrot announced %d tasks, strace %d:\n%s\nstrace:\n%s", args, m, n, r.stderr, want)
		}
		if args[1] == "-c" && (n != 2 || !regexp.MustCompile(`(?m)^pid \d+ \(sh\):$`).MatchString(r.stderr) || strings.Contains(r.stderr, " ():")) {
			t.Errorf("%v: tables without names, or not what this test expects of strace (%d announced):\n%s", args, n, r.stderr)
		}
	}
}

// TestTraceThreadExecve: a thread's execve is cut by its new pid as
// strace cuts it ("<pid changed to N ...>"), then resumed in the leader.
func TestTraceThreadExecve(t *testing.T) {
	needRoot(t)
	strace := needProgram(t, "strace")
	script := `import os, threading, time
threading.Thread(target=lambda: os.execv("/bin/true", ["true"])).start()
time.sleep(10)`
	args := []string{"-f", "-e", "trace=execve", realPython(), "-c", script}
	last := 4 // lines: the thread's execve on
	norm := func(s string) string {
		lines := strings.Split(strings.TrimSpace(s), "\n")
		s = strings.Join(lines[max(len(lines)-last, 0):], "\n")
		s = regexp.MustCompile(`0x[0-9a-f]+`).ReplaceAllString(s, "ADDR")
		s = regexp.MustCompile(`\[pid +`).ReplaceAllString(s, "[pid ") // "[pid %5d]": the pids' widths vary
		// The two pids, in the order they appear.
		pids := map[string]string{}
		return regexp.MustCompile(`\b\d{3,}\b`).ReplaceAllStringFunc(s, func(p string) string {
			if pids[p] == "" {
				pids[p] = fmt.Sprintf("PID%d", len(pids))
			}
			return pids[p]
		})
	}
	want, got := norm(traceFile(t, []string{strace}, args...)), norm(traceFile(t, []string{os.Args[0], "trace"}, args...))
	sameAsStrace(t, want, got, "<pid changed to PID1 ...>", "+++ superseded by execve in pid PID0 +++")

	// The leader in a call that is shown (joining the thread): strace ends
	// that call "= ?", which cuts the execve line like any other line; on
	// stderr, with one task left, the superseded line has no prefix.
	join := `import os, threading, time
def f():
    time.sleep(0.2)
    os.execv("/bin/true", ["true"])
t = threading.Thread(target=f); t.start(); t.join()`
	args = []string{"-f", "-e", "trace=execve,futex", realPython(), "-c", join}
	stderrOf := func(tool ...string) string {
		cmd := exec.Command(tool[0], append(tool[1:], args...)...)
		cmd.Env = append(os.Environ(), "CARROT_TEST_MAIN=1")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v\n%s", tool, err, errb.String())
		}
		return errb.String()
	}
	last = 5
	want, got = norm(stderrOf(strace)), norm(stderrOf(os.Args[0], "trace"))
	sameAsStrace(t, want, got, "<unfinished ...>\n[pid PID1] <... futex resumed>)", "= ?\n+++ superseded by execve in pid PID0 +++")
}

// TestTraceAttachRestart: the call that attaching interrupted is named in
// the restart_syscall that resumes it (strace 6.1 names read, whatever it
// was).
func TestTraceAttachRestart(t *testing.T) {
	needRoot(t)
	prog := exec.Command("sleep", "30")
	if err := prog.Start(); err != nil {
		t.Fatal(err)
	}
	defer prog.Process.Kill()
	// In its clock_nanosleep once /proc says so.
	for i := 0; i < 200 && !strings.HasPrefix(readFileOr(fmt.Sprintf("/proc/%d/syscall", prog.Process.Pid)), "230 "); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	out := filepath.Join(t.TempDir(), "t")
	cmd, errb := startCarrot(t, "trace", "-o", out, "-p", strconv.Itoa(prog.Process.Pid))
	waitForFile(t, out, regexp.MustCompile(`restart_syscall`))
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if got := readFile(t, out); !strings.HasPrefix(got, "restart_syscall(<... resuming interrupted clock_nanosleep ...>") {
		t.Errorf("trace %q (%s)", got, errb.String())
	}
}

func readFileOr(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// kernelThread is the pid of a kernel thread this test can see in /proc,
// or "" (in a container's pid namespace there is none).
func kernelThread() string {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/status"); err == nil && strings.Contains(string(b), "\nKthread:\t1\n") {
			return e.Name()
		}
	}
	return ""
}
