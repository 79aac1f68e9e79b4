// Command tracebench reproduces Bypass's Figure 6 (µs per call for
// open/close, stat, getpid, read and write of 1 byte and 8 KB, 100,000
// iterations each) natively, under strace and under carrot trace, in one
// run, and prints a markdown table of medians with ratios:
//
//	go run ./bench/tracebench [-iters 100000] [-rounds 3] [-fast 5]
//
// Configurations: native; full tracing (strace -f / carrot trace -f, both
// -o /dev/null); a filter (-e trace=openat,close: strace with
// --seccomp-bpf), where open/close is traced and the rest must run at
// native speed; -c for both; and carrot's engine alone with a mode that
// needs only the entry stop (counting getpid), against strace tracing
// getpid alone. carrot trace -c counts in the kernel with eBPF (see
// internal/kcount); it is also run with --no-ebpf (ptrace stops, like
// strace -c), and the program runs natively while the eBPF counters are
// attached but count another process, which is what they cost every
// untraced call on the machine. Rounds interleave the configurations so
// that load on the machine falls on all of them alike. Needs root, gcc
// and strace.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/carrot-project/carrot/internal/kcount"
	"github.com/carrot-project/carrot/internal/ptrace"
	"github.com/carrot-project/carrot/internal/seccomp"
	"golang.org/x/sys/unix"
)

var tests = []string{"open/close", "stat", "getpid", "read1", "write1", "read8k", "write8k"}

var labels = map[string]string{"open/close": "open/close", "stat": "stat", "getpid": "getpid",
	"read1": "read 1 byte", "write1": "write 1 byte", "read8k": "read 8 KB", "write8k": "write 8 KB"}

type config struct {
	name string
	run  func(args []string) (string, error) // runs the benchmark program with args
}

func main() {
	iters := flag.Int("iters", 100000, "iterations of each call")
	rounds := flag.Int("rounds", 3, "interleaved rounds; the table shows medians")
	fast := flag.Int("fast", 5, "runs per round of the quick configurations (native, filtered), whose sub-second runs the machine's load sways most")
	flag.Parse()
	if err := run(*iters, *rounds, *fast); err != nil {
		fmt.Fprintln(os.Stderr, "tracebench:", err)
		os.Exit(1)
	}
}

func run(iters, rounds, fast int) error {
	dir, err := os.MkdirTemp("", "tracebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "syscalls")
	src := filepath.Join(sourceDir(), "csrc", "syscalls.c")
	if out, err := exec.Command("gcc", "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		return fmt.Errorf("gcc: %v\n%s", err, out)
	}
	carrot := filepath.Join(dir, "carrot")
	if out, err := exec.Command("go", "build", "-o", carrot, "./cmd/carrot").CombinedOutput(); err != nil {
		return fmt.Errorf("go build (run from the repository's root): %v\n%s", err, out)
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		return err
	}
	tool := func(argv ...string) func([]string) (string, error) {
		return func(args []string) (string, error) {
			out, err := exec.Command(argv[0], append(argv[1:], append([]string{bin}, args...)...)...).Output()
			return string(out), err
		}
	}
	configs := []config{
		{"native", tool("env")},
		{"strace -f", tool(strace, "-f", "-o", "/dev/null")},
		{"carrot trace -f", tool(carrot, "trace", "-f", "-o", "/dev/null")},
		{"strace -f --seccomp-bpf -e trace=openat,close", tool(strace, "-f", "--seccomp-bpf", "-e", "trace=openat,close", "-o", "/dev/null")},
		{"carrot trace -f -e trace=openat,close", tool(carrot, "trace", "-f", "-e", "trace=openat,close", "-o", "/dev/null")},
		{"strace -c -f", tool(strace, "-c", "-f", "-o", "/dev/null")},
		{"carrot trace -c -f", tool(carrot, "trace", "-c", "-f", "--ebpf", "-o", "/dev/null")},
		{"carrot trace -c -f --no-ebpf", tool(carrot, "trace", "-c", "-f", "--no-ebpf", "-o", "/dev/null")},
		{"native, counters attached", counters(tool("env"))},
	}
	// The quick configurations, whose sub-second runs the machine's load
	// sways most: native, the filtered runs, and the ones counted in the
	// kernel.
	quick := map[int]bool{0: true, 3: true, 4: true, 6: true, 8: true}
	// The engine alone on getpid: entry stop only, and entry + exit.
	getpidOnly := []config{
		{"strace -f --seccomp-bpf -e trace=getpid", tool(strace, "-f", "--seccomp-bpf", "-e", "trace=getpid", "-o", "/dev/null")},
		{"engine, entry stop only", engine(bin, false)},
		{"engine, entry + exit stops", engine(bin, true)},
	}
	results := map[string]map[string][]float64{}
	record := func(c config, args []string) error {
		out, err := c.run(args)
		if err != nil {
			return fmt.Errorf("%s: %v", c.name, err)
		}
		if results[c.name] == nil {
			results[c.name] = map[string][]float64{}
		}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(l)
			if len(f) == 2 {
				v, _ := strconv.ParseFloat(f[1], 64)
				results[c.name][f[0]] = append(results[c.name][f[0]], v)
			}
		}
		return nil
	}
	n := strconv.Itoa(iters)
	for r := 0; r < rounds; r++ {
		fmt.Fprintf(os.Stderr, "round %d/%d\n", r+1, rounds)
		for i, c := range configs {
			reps := 1
			if quick[i] {
				reps = fast
			}
			for range reps {
				if err := record(c, []string{dir, n}); err != nil {
					return err
				}
			}
		}
		for _, c := range append([]config{configs[0]}, getpidOnly...) {
			if err := record(c, []string{dir, n, "getpid"}); err != nil {
				return err
			}
		}
	}
	med := func(cfg, test string) float64 {
		v := slices.Clone(results[cfg][test])
		slices.Sort(v)
		if len(v) == 0 {
			return 0
		}
		return v[len(v)/2]
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "µs per call, median of %d interleaved rounds of %d iterations each (native and filtered: %d runs a round).\n\n", rounds, iters, fast)
	fmt.Fprintf(&b, "| call |")
	for _, c := range configs {
		fmt.Fprintf(&b, " %s |", c.name)
	}
	fmt.Fprintf(&b, "\n|---|%s\n", strings.Repeat("---:|", len(configs)))
	for _, t := range tests {
		fmt.Fprintf(&b, "| %s |", labels[t])
		for _, c := range configs {
			fmt.Fprintf(&b, " %.2f |", med(c.name, t))
		}
		fmt.Fprintln(&b)
	}
	// Added cost over native, and carrot's added cost / strace's.
	added := func(cfg, test string) float64 { return med(cfg, test) - med("native", test) }
	fmt.Fprintf(&b, "\nAdded cost per call over native (µs), and carrot ÷ strace:\n\n")
	fmt.Fprintf(&b, "| call | strace -f | carrot -f | ratio | strace filter | carrot filter | ratio | strace -c | carrot -c | ratio |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range tests {
		fmt.Fprintf(&b, "| %s |", labels[t])
		for _, pair := range [][2]string{{configs[1].name, configs[2].name}, {configs[3].name, configs[4].name}, {configs[5].name, configs[6].name}} {
			s, c := added(pair[0], t), added(pair[1], t)
			fmt.Fprintf(&b, " %.2f | %.2f | %s |", s, c, ratio(c, s))
		}
		fmt.Fprintln(&b)
	}
	fmt.Fprintf(&b, "\nUntraced calls under the filter, ÷ native (target ≤ 1.05):\n\n| call | strace | carrot |\n|---|---:|---:|\n")
	for _, t := range tests[1:] {
		fmt.Fprintf(&b, "| %s | %.3f | %.3f |\n", labels[t], med(configs[3].name, t)/med("native", t), med(configs[4].name, t)/med("native", t))
	}
	fmt.Fprintf(&b, "\ncarrot trace -c in the kernel (eBPF) against ptrace counting (µs per call; added cost over native; ÷ strace -c's added cost), and every untraced call while the counters are attached (÷ native):\n\n")
	fmt.Fprintf(&b, "| call | native | strace -c | carrot -c --no-ebpf | carrot -c (eBPF) | added: strace -c | carrot --no-ebpf | carrot eBPF | eBPF ÷ strace | untraced, counters attached | ÷ native |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range tests {
		s, p, k, u := configs[5].name, configs[7].name, configs[6].name, configs[8].name
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %.2f | %.3f |\n", labels[t],
			med("native", t), med(s, t), med(p, t), med(k, t), added(s, t), added(p, t), added(k, t), ratio(added(k, t), added(s, t)),
			med(u, t), med(u, t)/med("native", t))
	}
	fmt.Fprintf(&b, "\nThe engine alone, getpid traced (µs per call; added cost over native; ÷ strace's added cost):\n\n| | µs/call | added | ÷ strace |\n|---|---:|---:|---:|\n")
	sAdded := added(getpidOnly[0].name, "getpid")
	for _, c := range getpidOnly {
		a := added(c.name, "getpid")
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %s |\n", c.name, med(c.name, "getpid"), a, ratio(a, sAdded))
	}
	os.Stdout.Write(b.Bytes())
	return nil
}

func ratio(a, b float64) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// sourceDir is this command's directory (the benchmark is run from the
// repository's root).
func sourceDir() string { return filepath.Join("bench", "tracebench") }

// engine runs the program under carrot's engine with a filter that traps
// only getpid and a handler that counts it, asking for the exit stop or not.
func engine(bin string, wantExit bool) func([]string) (string, error) {
	return func(args []string) (string, error) {
		rd, wr, err := os.Pipe()
		if err != nil {
			return "", err
		}
		h := &counter{wantExit: wantExit}
		f := &seccomp.Filter{Arch: ptrace.AuditArch, X32Bit: seccomp.X32SyscallBit,
			Calls: map[int]seccomp.Action{unix.SYS_GETPID: seccomp.Trace(0)}}
		done := make(chan []byte)
		go func() {
			var out bytes.Buffer
			out.ReadFrom(rd)
			done <- out.Bytes()
		}()
		st, err := ptrace.New(ptrace.Config{Handler: h, Filter: f}).Run(context.Background(),
			ptrace.Program{Path: bin, Argv: append([]string{bin}, args...), Env: os.Environ(), Files: []*os.File{os.Stdin, wr, os.Stderr}})
		wr.Close()
		out := <-done
		if err == nil && st.ExitCode() != 0 {
			err = fmt.Errorf("%v", st)
		}
		return string(out), err
	}
}

// counters runs c while the in-kernel counters are attached and count a
// process that makes no calls (this one's parent), so that every call of
// the program pays what an untraced call pays.
func counters(c func([]string) (string, error)) func([]string) (string, error) {
	return func(args []string) (string, error) {
		kc, err := kcount.Open(kcount.Options{})
		if err != nil {
			return "", fmt.Errorf("eBPF counters: %w", err)
		}
		defer kc.Close()
		if _, err := kc.Trace(os.Getppid()); err != nil {
			return "", err
		}
		return c(args)
	}
}

type counter struct {
	wantExit bool
	n        int
}

func (h *counter) Enter(c *ptrace.Syscall) ptrace.Action {
	if c.Nr == unix.SYS_GETPID {
		h.n++
	}
	if h.wantExit {
		return ptrace.WantExit
	}
	return ptrace.Continue
}
func (h *counter) Exit(*ptrace.Syscall) {}
func (h *counter) Event(*ptrace.Event)  {}
