package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/carrot-project/carrot/internal/linux"
	"github.com/carrot-project/carrot/internal/ptrace"
	"github.com/carrot-project/carrot/internal/syscalls"
	"github.com/carrot-project/carrot/internal/trace"
)

func init() {
	register(&command{
		Name:    "trace",
		Summary: "trace a program's system calls (strace's flags and output, fd-aware)",
		Run:     runTrace,
	})
}

const traceUsage = `usage: carrot trace [flags] [--] PROGRAM [ARGS...]
       carrot trace [flags] -p PID [-p PID ...]

strace's flags, with strace's output:
  -f              follow forks, vforks and threads
  -ff             with -o FILE: one file per task, FILE.TID
  -o FILE         write the trace to FILE instead of stderr
  -e EXPR         trace=SET (names, %file %process %network %signal %ipc %desc
                  %memory %creds %clock %stat ..., ! negates, "all", "none"),
                  status=successful|failed|unfinished, signal=SET (SIGUSR1,
                  USR2, 15, all, none, ! negates), abbrev=none|all (none: -v);
                  a bare SET means trace=SET
  -Z / -z         only failed / only successful calls (status=failed/successful)
  -s N            print at most N bytes of each string (default 32)
  -v              unabbreviated structures, full argv and environment
  -x / -xx        non-ASCII / all string bytes as \x escapes
  -y / -yy        print fd paths / and socket endpoints: 3<TCP:[a:1->b:2]>
  -t / -tt / -ttt time of day / with microseconds / seconds since the epoch
  -r              time since the previous line (with -t: after it, "(+ 0.000123)")
  -T              time spent in each call
  -c              count calls, errors and time: a table instead of the calls
                  (with -f: a table per process, then the merged one). Counted
                  in the kernel with eBPF when it can (see --no-ebpf): the
                  program never stops on a call, and the time is each call's
                  CPU time in the kernel to the nanosecond
  -C              the table and the calls
  -w              with -c: wall time between entry and exit, not system time
  -S KEY          with -c: order the rows by time (the default), avg-time,
                  calls, errors, name or nothing (by system call number)
  -q / -qq        no attach messages / no exit lines either
  -p PID          attach to a running process (all its threads); Ctrl-C detaches.
                  No seccomp filter can be put into a running process, so every
                  call stops there, traced or not.

carrot's own:
  --fds                   per process and per fd: class (file, tcp, udp, unix,
                          pipe, tty, eventfd, other), calls and bytes by data call;
                          replaces the calls like -c (with -C: both)
  --json                  one JSON object per call (pid, tid, time, name, args,
                          ret, errno, duration, fd and fd_class); with -c or
                          --fds the tables are JSON too
  --timeline FILE         a trace Perfetto and chrome://tracing open: one track
                          per thread, calls as slices
  --summary-interval D    print the -c table every D while the program runs
  --no-ebpf               count -c's calls with ptrace stops, as strace does,
                          even where the kernel could count them (carrot falls
                          back to this by itself when eBPF programs cannot be
                          loaded: no CAP_BPF/CAP_PERFMON, an old kernel, a
                          locked-down container)
  --ebpf                  count in the kernel or fail saying why (for -c alone:
                          not with -C, --fds, --timeline or -p)
  --seccomp-bpf           accepted for strace compatibility: always on

Only the calls being traced stop the program (a seccomp filter lets the others
run at full speed). Exit status: the program's; killed by a signal, carrot
ends by the same signal, as strace does (a shell shows 128+N); 127 if it
was not found, 126 if it cannot be run (a directory, not executable); 2 for
bad usage.`

// traceFlags is carrot trace's parsed command line.
type traceFlags struct {
	o        trace.Options
	pids     []int
	argv     []string
	warnings []string // flags that change nothing, said as strace says them
}

// usageError is a bad command line: one line on stderr, exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func badUsage(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// parseTraceFlags parses strace-style arguments: bundled short flags
// (-ff, -tt, -yy, -s100, -etrace=open), long flags with "=" or a separate
// value, and the program after the first non-flag or "--".
func parseTraceFlags(args []string) (*traceFlags, error) {
	f := &traceFlags{o: trace.Options{TraceAll: true}}
	var follow, ts, ys, xs, qs int
	var onlyTable, tableToo bool // -c, -C
	traceSet := ""
	long := map[string]string{ // long names of short flags
		"--follow-forks": "f", "--output": "o", "--string-limit": "s", "--attach": "p",
		"--summary-only": "c", "--summary": "C", "--summary-wall-clock": "w", "--syscall-times": "T",
		"--verbose": "v", "--quiet": "q", "--decode-fds": "y", "--help": "h",
		"--relative-timestamps": "r", "--absolute-timestamps": "t", "--timestamps": "t",
		"--summary-sort-by": "S",
	}
	i := 0
	value := func(name, rest string) (string, error) {
		if rest != "" {
			return rest, nil
		}
		if i+1 >= len(args) {
			return "", badUsage("option %s requires an argument", name)
		}
		i++
		return args[i], nil
	}
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a, "=")
			if short, ok := long[name]; ok && hasVal && !strings.Contains("osp", short) {
				// A flag that takes no value as a letter: strace's sets.
				switch short {
				case "y": // --decode-fds=path,socket,...
					n, err := setLevel(name, val, map[string]int{"none": 0, "path": 1, "socket": 2, "all": 2})
					if err != nil {
						return nil, err
					}
					ys = max(ys, n)
				case "q": // --quiet=attach,personality,exit,...
					n, err := setLevel(name, val, map[string]int{"none": 0, "attach": 1, "personality": 1, "thread-execve": 1, "superseded": 1, "exit": 2, "all": 2})
					if err != nil {
						return nil, err
					}
					qs = max(qs, n)
				default:
					return nil, badUsage("option %s takes no value", name)
				}
				continue
			}
			if short, ok := long[name]; ok {
				if hasVal {
					a = "-" + short + val
				} else {
					a = "-" + short
				}
			} else {
				get := func() (string, error) {
					if hasVal {
						return val, nil
					}
					return value(name, "")
				}
				switch name {
				case "--fds":
					f.o.Fds = true
				case "--json":
					f.o.JSON = true
				case "--no-ebpf":
					f.o.NoEBPF = true
				case "--ebpf":
					f.o.RequireEBPF = true
				case "--seccomp-bpf":
				case "--timeline":
					v, err := get()
					if err != nil {
						return nil, err
					}
					f.o.Timeline = v
				case "--summary-interval":
					v, err := get()
					if err != nil {
						return nil, err
					}
					d, err := time.ParseDuration(v)
					if err != nil || d <= 0 {
						return nil, badUsage("invalid --summary-interval %q (a duration such as 2s or 500ms)", v)
					}
					f.o.Interval = d
				case "--trace", "--status", "--signal":
					v, err := get()
					if err != nil {
						return nil, err
					}
					if err := f.qualifier(name[2:]+"="+v, &traceSet); err != nil {
						return nil, err
					}
				default:
					return nil, badUsage("unknown option %s (see 'carrot trace -h')", name)
				}
				continue
			}
		}
		for j := 1; j < len(a); j++ {
			c, rest := a[j], a[j+1:]
			switch c {
			case 'f':
				follow++
			case 't':
				ts++
			case 'r':
				f.o.Relative = true
			case 'y':
				ys++
			case 'x':
				xs++
			case 'q':
				qs++
			case 'c':
				f.o.Summary, onlyTable = true, true
			case 'C':
				f.o.Summary, f.o.Both, tableToo = true, true, true
			case 'w':
				f.o.WallTime = true
			case 'T':
				f.o.Durations = true
			case 'v':
				f.o.Decode.Verbose = true
			case 'Z':
				f.o.Status = trace.StatusFailed
			case 'z':
				f.o.Status = trace.StatusSuccessful
			case 'h':
				return nil, errHelp
			case 'o', 's', 'e', 'p', 'S':
				v, err := value("-"+string(c), rest)
				if err != nil {
					return nil, err
				}
				switch c {
				case 'o':
					f.o.Output = v
				case 's':
					n, err := strconv.ParseInt(v, 10, 64)
					if err != nil || n < 0 || n > 1<<30-1 { // strace's limit
						err = errors.New("out of range")
					}
					if err != nil {
						return nil, badUsage("invalid -s argument: '%s'", v)
					}
					f.o.Decode.StrSize = int(n)
					if n == 0 {
						f.o.Decode.StrSize = syscalls.StrSizeZero // (0 is the decoders' default, 32)
					}
				case 'e':
					if err := f.qualifier(v, &traceSet); err != nil {
						return nil, err
					}
				case 'S':
					switch {
					case slices.Contains(extremeSortKeys, v):
						return nil, badUsage("-S %s: carrot keeps no per-call minimum or maximum (sort by time, avg-time, calls, errors, name or nothing)", v)
					case !slices.Contains(trace.SortKeys, v):
						return nil, badUsage("invalid sortby: '%s'", v)
					}
					f.o.SortBy = v
				case 'p':
					for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
						pid, err := strconv.Atoi(p)
						if err != nil || pid <= 0 {
							return nil, badUsage("invalid process id: '%s'", p)
						}
						f.pids = append(f.pids, pid)
					}
				}
				j = len(a)
			default:
				return nil, badUsage("invalid option -- '%c' (see 'carrot trace -h')", c)
			}
		}
	}
	f.argv = args[i:]
	f.o.Follow = follow > 0
	f.o.PerTask = follow > 1 && f.o.Output != "" // -ff to stderr is -f, as for strace
	f.o.Timestamp = min(ts, 3)
	f.o.Decode.FdPaths = min(ys, 2)
	f.o.Decode.Hex = min(xs, 2)
	f.o.Quiet = qs
	if f.o.SortBy != "" && !f.o.Summary {
		f.warnings = append(f.warnings, "-S/--summary-sort-by has no effect without (-c/--summary-only or -C/--summary)")
	}
	if onlyTable {
		// As strace warns: the flags that only change call lines.
		for _, w := range []struct {
			set  bool
			flag string
		}{
			{f.o.Relative, "-r/--relative-timestamps"},
			{f.o.Timestamp > 0, "-t/--absolute-timestamps"},
			{f.o.Durations, "-T/--syscall-times"},
			{f.o.Decode.FdPaths > 0, "-y/--decode-fds"},
		} {
			if w.set {
				f.warnings = append(f.warnings, w.flag+" has no effect with -c/--summary-only")
			}
		}
	}
	if traceSet != "" {
		set, err := syscalls.ParseTraceSet(traceSet)
		if err != nil {
			return nil, badUsage("%v", err)
		}
		f.o.Trace, f.o.TraceAll = set, set.Len() == syscalls.AllSet().Len()
	}
	switch {
	case len(f.argv) == 0 && len(f.pids) == 0:
		return nil, badUsage("must have PROGRAM [ARGS] or -p PID (see 'carrot trace -h')")
	case len(f.argv) > 0 && len(f.pids) > 0:
		return nil, badUsage("-p and a PROGRAM cannot be used together")
	case onlyTable && tableToo:
		return nil, badUsage("-c and -C are mutually exclusive")
	case f.o.Summary && f.o.PerTask:
		return nil, badUsage("(-c/--summary-only or -C/--summary) and -ff/--output-separately are mutually exclusive")
	case f.o.WallTime && !f.o.Summary:
		return nil, badUsage("-w needs -c or -C")
	case f.o.RequireEBPF && f.o.NoEBPF:
		return nil, badUsage("--ebpf and --no-ebpf cannot be used together")
	case f.o.RequireEBPF && (!f.o.Summary || f.o.Both || f.o.Fds || f.o.Timeline != "" || len(f.pids) > 0):
		return nil, badUsage("--ebpf counts -c's calls in the kernel: it needs -c, and not -C, --fds, --timeline or -p")
	}
	if len(f.pids) > 0 {
		f.o.NoEBPF = true // attaching adds no process to the kernel's set
	}
	f.o.Procs = len(f.pids)
	return f, nil
}

var errHelp = errors.New("help")

// extremeSortKeys are strace's -S keys for its per-call minimum and
// maximum columns, which carrot does not keep.
var extremeSortKeys = []string{"min-time", "min_time", "time-min", "time_min", "max-time", "max_time", "time-max", "time_max"}

// qualifier applies one -e expression.
func (f *traceFlags) qualifier(expr string, traceSet *string) error {
	name, val, ok := strings.Cut(expr, "=")
	if !ok {
		name, val = "trace", expr
	}
	switch name {
	case "trace", "t":
		if val == "" {
			return badUsage("invalid system call ''")
		}
		*traceSet = val
	case "status":
		st, err := parseStatus(val)
		if err != nil {
			return err
		}
		f.o.Status = st
	case "signal", "signals", "s":
		hide, err := parseSignalSet(val)
		if err != nil {
			return err
		}
		f.o.HideSignals = hide
	case "abbrev", "a":
		// strace's -v is abbrev=none; carrot abbreviates all calls' or none.
		switch val {
		case "none", "!all":
			f.o.Decode.Verbose = true
		case "all":
			f.o.Decode.Verbose = false
		default:
			return badUsage("invalid -e abbrev set '%s' (carrot supports abbrev=all and abbrev=none)", val)
		}
	default:
		return badUsage("invalid -e qualifier '%s' (carrot supports trace=, status=, signal=, abbrev=)", name)
	}
	return nil
}

// parseSignalSet reads -e signal='s set as strace does: "all" or "none",
// or signal names (with or without SIG, in any case) and numbers separated
// by commas, after any number of "!", each of which inverts it. It returns
// the signals the set leaves out: bit s-1 for signal s.
func parseSignalSet(val string) (hide uint64, err error) {
	rest, not := val, false
	for strings.HasPrefix(rest, "!") {
		rest, not = rest[1:], !not
	}
	var show uint64
	switch rest {
	case "all":
		show = ^uint64(0)
	case "none":
	default:
		empty := true
		for _, tok := range strings.Split(rest, ",") {
			if tok == "" {
				continue
			}
			empty = false
			sig, ok := signalNumber(tok)
			if !ok {
				return 0, badUsage("invalid signal '%s'", tok)
			}
			if sig >= 1 && sig <= 64 {
				show |= 1 << (sig - 1)
			}
		}
		if empty {
			return 0, badUsage("invalid signal '%s'", val)
		}
	}
	if not {
		show = ^show
	}
	return ^show, nil
}

// signalNumber reads a signal as strace's -e signal= does: a number up to
// 255, or a name with or without its SIG prefix, in any case.
func signalNumber(tok string) (int, bool) {
	if tok[0] >= '0' && tok[0] <= '9' {
		n, err := strconv.Atoi(tok)
		return n, err == nil && n <= 255
	}
	name := strings.ToUpper(tok)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	for s := 1; s <= 64; s++ {
		if linux.SignalName(int64(s)) == name {
			return s, true
		}
	}
	return 0, false
}

// setLevel is the level a strace set (--decode-fds=path,socket) asks for:
// the highest of its members'.
func setLevel(name, val string, levels map[string]int) (int, error) {
	n := 0
	for _, m := range strings.Split(val, ",") {
		l, ok := levels[m]
		if !ok {
			return 0, badUsage("invalid %s value '%s'", name, m)
		}
		n = max(n, l)
	}
	return n, nil
}

func parseStatus(v string) (trace.Status, error) {
	neg := strings.HasPrefix(v, "!")
	v = strings.TrimPrefix(v, "!")
	var st trace.Status
	for _, w := range strings.Split(v, ",") {
		switch w {
		case "successful":
			st |= trace.StatusSuccessful
		case "failed":
			st |= trace.StatusFailed
		case "unfinished":
			st |= trace.StatusUnfinished
		case "all":
			st |= trace.StatusAll
		case "none":
		case "unavailable", "detached":
			// strace's other states: carrot never has them.
		default:
			return 0, badUsage("invalid status '%s'", w)
		}
	}
	if neg {
		st = trace.StatusAll &^ st
	}
	if st == 0 {
		st = trace.StatusNone
	}
	return st, nil
}

func runTrace(ctx context.Context, e *env) int {
	f, err := parseTraceFlags(e.Args)
	if err == errHelp {
		io.WriteString(e.Stdout, traceUsage+"\n")
		return exitOK
	}
	if err != nil {
		e.errorf("%v", err)
		return exitUsage
	}
	for _, w := range f.warnings {
		e.errorf("%s", w)
	}
	var path string
	if len(f.argv) > 0 {
		var code int
		if path, code = lookProgram(e, f.argv[0]); code != 0 {
			return code
		}
	}
	// The tracer allocates a little per call; on a small machine the
	// collector's background work would compete with the program for CPU.
	debug.SetGCPercent(400)
	s, err := trace.New(f.o, e.Stderr)
	if err != nil {
		e.errorf("%v", err)
		return exitFailure
	}
	if len(f.pids) > 0 {
		// Ctrl-C (or TERM, HUP, QUIT) detaches.
		sigs := make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP)
		defer signal.Stop(sigs)
		return traceAttach(ctx, e, f, s, sigs)
	}
	tr := ptrace.New(s.Config())
	// A TERM is the program's to answer (forwardSignals), not a reason to
	// kill it: the run is not cancelled by main's, only by a signal that
	// comes once the program has exited, for what it left running.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	defer forwardSignals(tr, endLeftovers(e, cancel))()
	st, err := tr.Run(runCtx, ptrace.Program{Path: path, Argv: f.argv, Env: os.Environ()})
	if cerr := s.Close(); err == nil && cerr != nil {
		e.errorf("trace output: %v", cerr)
	}
	if err != nil {
		e.errorf("%v", err)
		return exitFailure
	}
	return e.exitWith(st)
}

// lookProgram finds the program to run, as a shell would. When it cannot,
// it says why and returns the exit status: 127 when nothing by that name
// exists, 126 when something does but cannot be executed.
func lookProgram(e *env, name string) (path string, code int) {
	path, err := exec.LookPath(name)
	if err == nil {
		return path, 0
	}
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		if strings.Contains(name, "/") {
			// A path, not a name looked up in $PATH: as shells say it.
			e.errorf("%s: No such file or directory", name)
		} else {
			e.errorf("%s: command not found", name)
		}
		return "", exitNotFound
	}
	cause := err
	if u := errors.Unwrap(err); u != nil {
		cause = u
	}
	e.errorf("%s: %v", name, cause)
	return "", exitCannotRun
}

func traceAttach(ctx context.Context, e *env, f *traceFlags, s *trace.Session, sigs chan os.Signal) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	said := 0 // failures said already, as strace says them: at once
	err := ptrace.New(s.AttachConfig()).Attach(ctx, f.pids, func(err error) {
		e.errorf("%v", err)
		said++
	})
	if err != nil && said == len(f.pids) {
		s.Close() // nothing was traced: no tables
		return exitFailure
	}
	tids := s.Detached()
	if f.o.Quiet == 0 && err == nil && ctx.Err() != nil {
		for _, tid := range tids { // each thread, as strace says them
			fmt.Fprintf(e.Stderr, "carrot: Process %d detached\n", tid)
		}
	}
	if cerr := s.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		e.errorf("%v", err)
		return exitFailure
	}
	return exitOK
}
