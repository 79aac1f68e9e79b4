// Package trace is carrot trace: strace's job, done on carrot's engine.
//
// A Session is a ptrace.Handler. It decides which calls stop the program
// (Filter: the -e trace= set, plus the calls --fds and --json need to
// follow descriptors), decodes each shown call with internal/syscalls at
// its entry and exit, and writes strace's lines, byte for byte where
// strace has a format: the "[pid N] " and "N " prefixes, -t/-tt/-ttt and
// -T, the column-40 padding, "<unfinished ...>" / "<... resumed>" when
// another task's line comes between a call's entry and exit, signal lines
// ("--- SIGCHLD {...} ---"), group-stops and "+++ exited with N +++".
//
// strace prints a call's entry as soon as it happens and its end later; a
// Session holds the decoded entry and prints the whole line at exit, unless
// another line must come first, in which case it prints the entry part as
// "<unfinished ...>" at that moment. The output is the same, and a call
// filtered out by -e status= needs no special case. A call that blocks
// (read from a terminal, wait4, a hung process under -p) must still be
// seen while it blocks: a watcher goroutine prints the entry part of a
// call in progress for longer than blockedAfter, without its newline, as
// strace would have; the call's exit completes that line, or another
// line ends it with " <unfinished ...>" first. So quick calls are written
// in one piece and blocked ones show within a tenth of a second.
//
// Beside strace's output: --fds (fds.go) classifies every descriptor and
// counts calls and bytes per process and fd; --json writes one object per
// call; --timeline writes a Chrome/Perfetto trace; -c with -f gives one
// table per process and the merged one; --summary-interval prints the
// table while the program runs.
//
// When only tables are wanted (-c without -C, --fds or --timeline), the
// calls are counted in the kernel (internal/kcount) and nothing stops the
// program on a call: the engine still starts it, under a seccomp filter
// that traps nothing, and reports its processes, which the Session adds
// to the kernel's traced set while they are stopped (at the exec that
// makes the program, and at each fork with -f) and retires when they are
// gone. If the eBPF programs cannot be loaded (no CAP_BPF, an old kernel,
// a locked-down container), or with Options.NoEBPF, -c counts with ptrace
// stops as strace does.
//
// The Handler methods run on the engine's tracer thread and hold
// Session.mu, which the blocked-call watcher takes too; the periodic
// summary printer shares the summary and the output writer through their
// mutexes, and takes Session.mu only to end a line the watcher began.
package trace

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carrot-project/carrot/internal/kcount"
	"github.com/carrot-project/carrot/internal/linux"
	"github.com/carrot-project/carrot/internal/ptrace"
	"github.com/carrot-project/carrot/internal/seccomp"
	"github.com/carrot-project/carrot/internal/syscalls"
	"golang.org/x/sys/unix"
)

// Status selects calls by their outcome (-e status=).
type Status uint8

// Outcomes.
const (
	StatusSuccessful Status = 1 << iota
	StatusFailed
	StatusUnfinished // the call never returned (the task died in it)
	StatusAll        = StatusSuccessful | StatusFailed | StatusUnfinished
	// StatusNone shows no call (-e status=none); 0 means StatusAll.
	StatusNone Status = 1 << 7
)

// Options are carrot trace's flags.
type Options struct {
	Follow   bool // -f: trace children and threads
	Procs    int  // processes given (-p PID ...); with -o, several mean pid prefixes
	PerTask  bool // -ff: with Output, one file per task (Output.TID)
	Output   string
	Trace    syscalls.Set // calls shown
	TraceAll bool         // Trace is every call
	Status   Status       // 0 means all
	// HideSignals are the signals whose lines ("--- SIGx", "+++ killed
	// by SIGx") are not shown (-e signal=): bit s-1 for signal s.
	HideSignals uint64
	Decode      syscalls.Options
	Timestamp   int    // 1 -t, 2 -tt, 3 -ttt
	Relative    bool   // -r: the time since the previous line
	Durations   bool   // -T
	Summary     bool   // -c: the table instead of calls
	Both        bool   // -C: the table and the calls
	WallTime    bool   // -w: -c counts wall time, not system time
	SortBy      string // -S: the -c rows' order (SortKeys; "" is by time)
	Quiet       int    // -q: no attach/detach messages; -qq: no exit lines either
	Fds         bool   // --fds: the per-fd report
	JSON        bool   // --json: one object per call instead of strace lines
	Timeline    string
	Interval    time.Duration // --summary-interval
	// NoEBPF counts -c's calls with ptrace even where the kernel could
	// (--no-ebpf); RequireEBPF makes New fail if it cannot (--ebpf).
	NoEBPF, RequireEBPF bool
}

// Session is one carrot trace run.
type Session struct {
	o        Options
	diag     io.Writer // carrot's own messages (stderr)
	out      *output   // the trace (stderr or -o FILE)
	files    map[int]*output
	probe    *probe
	fds      *fdTracker
	sum      *summary
	tl       *timeline
	start    time.Time
	calls    bool // print per-call lines or objects
	interval chan struct{}

	// mu guards what follows (the tasks, the open call, the lines in
	// progress) between the tracer thread and the blocked-call watcher.
	mu      sync.Mutex
	watcher chan struct{} // closed to stop the watcher
	watched chan struct{} // closed by the watcher when it has stopped

	tasks map[int]*taskState
	roots map[int]bool // tasks shown without -f
	open  *taskState   // whose entry strace would have printed last
	// lastLine is the time of the last line's prefix (-r).
	lastLine time.Time
	seen     bool // a task was traced: -p attached to something
	live     int  // tasks traced now: "[pid N]" prefixes need more than one
	failed   error

	// In-kernel counting (-c alone): the counter, and each counted
	// process's name by its serial.
	kc    *kcount.Counter
	kmu   sync.Mutex
	kcomm map[int]string
}

// taskState is a task's call in progress.
type taskState struct {
	tid, pid    int
	nr          int
	args        [6]uint64
	shown       bool // the call is in the trace set
	dec         *syscalls.Decoded
	enter       time.Time
	stime       time.Duration
	unfinished  bool // its entry was printed as "<unfinished ...>"
	liveAtEnter int  // tasks traced at the call's entry, for its line's prefix
	// restartAttached says restartOf is the call attaching interrupted,
	// which only a restart_syscall as the task's first call resumes.
	restartAttached bool
	// restartOf is the call a signal last interrupted with
	// ERESTART_RESTARTBLOCK, which restart_syscall resumes.
	restartOf string
	// partial is the entry part the watcher printed, after the line's
	// prefix (entryPrefix) and without a newline, while the call blocked
	// (see showBlocked).
	partial string
	inCall  bool
	counted bool  // in live
	fd      int   // the call's fd argument (-1 if none), for --json
	fdClass Class // its class at entry
}

// New returns a Session writing the trace to o.Output (stderr if empty)
// and its own messages to diag.
func New(o Options, diag io.Writer) (*Session, error) {
	s := &Session{o: o, diag: diag, probe: newProbe(), tasks: map[int]*taskState{}, roots: map[int]bool{},
		files: map[int]*output{}, start: time.Now()}
	if o.Status == 0 {
		s.o.Status = StatusAll
	}
	s.calls = (!o.Summary && !o.Fds) || o.Both
	if o.PerTask && o.Output == "" {
		return nil, fmt.Errorf("-ff needs -o FILE")
	}
	if cmd, ok := pipedOutput(o.Output); ok {
		if o.PerTask {
			return nil, fmt.Errorf("piping the output and -ff are mutually exclusive")
		}
		w, err := pipeTo(cmd)
		if err != nil {
			return nil, err
		}
		s.out = newOutput(w, false)
	} else if o.Output == "" {
		s.out = newOutput(nopCloser{diag}, true)
	} else if !o.PerTask {
		f, err := os.Create(o.Output)
		if err != nil {
			return nil, err
		}
		s.out = newOutput(f, false)
	}
	if o.Summary || o.Interval > 0 {
		s.sum = newSummary(o.SortBy)
	}
	if s.kernelCountable() {
		kc, err := kcount.Open(kcount.Options{WallTime: o.WallTime})
		if err != nil && o.RequireEBPF {
			return nil, fmt.Errorf("cannot count in the kernel (--ebpf): %w", err)
		}
		s.kc, s.kcomm = kc, map[int]string{}
	}
	if o.Fds || o.JSON {
		s.fds = newFdTracker(s.probe)
	}
	if o.Decode.FdPaths > 0 {
		s.o.Decode.Fds = &fdNamer{p: s.probe, sockets: o.Decode.FdPaths > 1}
	}
	if o.Timeline != "" {
		tl, err := newTimeline(o.Timeline, s.start)
		if err != nil {
			return nil, err
		}
		s.tl = tl
	}
	if o.Interval > 0 {
		s.interval = make(chan struct{})
		go s.periodic()
	}
	if s.entriesHeld() {
		s.watcher, s.watched = make(chan struct{}), make(chan struct{})
		go s.watchBlocked(s.watcher, s.watched)
	}
	return s, nil
}

// entriesHeld says whether a call's entry is held until its exit or until
// another line comes (strace's lines, every status shown; with -e status=
// strace too prints a call only when it ends).
func (s *Session) entriesHeld() bool {
	return s.calls && !s.o.JSON && s.o.Status == StatusAll
}

// How long a call may block before its entry is printed, and how often
// the watcher looks.
const (
	blockedAfter = 100 * time.Millisecond
	blockedTick  = 50 * time.Millisecond
)

// watchBlocked prints the entry of each call in progress for
// blockedAfter or longer, until stop is closed.
func (s *Session) watchBlocked(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	t := time.NewTicker(blockedTick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			s.mu.Lock()
			s.showBlocked(now)
			s.mu.Unlock()
		}
	}
}

// showBlocked prints the entry part of the calls begun before now minus
// blockedAfter whose entries are still held: the open call, or with -ff
// (one file per task, where no task's line interrupts another's) every
// task's.
func (s *Session) showBlocked(now time.Time) {
	show := func(k *taskState) {
		if k == nil || !k.inCall || k.dec == nil || k.unfinished || k.partial != "" || now.Sub(k.enter) < blockedAfter {
			return
		}
		pre := s.entryPrefix(k)
		k.partial = k.dec.Entry()
		s.writePartial(k.tid, pre+k.partial)
	}
	if !s.o.PerTask {
		show(s.open)
		return
	}
	for _, k := range s.tasks {
		show(k)
	}
}

// endPartial ends the line the watcher began for k with suffix (strace's
// " <unfinished ...>" or " <detached ...>"); k's exit will print its
// "<... resumed>" half.
func (s *Session) endPartial(k *taskState, suffix string) {
	s.write(k.tid, suffix)
	k.partial, k.unfinished = "", true
}

// Detached ends the lines of the calls still in progress when carrot
// detaches (-p and Ctrl-C) as strace does: "read(0,  <detached ...>". It
// returns the tasks that were still traced, in order, for the "Process N
// detached" lines strace prints, one a thread.
func (s *Session) Detached() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endCalls(" <detached ...>")
	return slices.Sorted(maps.Keys(s.tasks))
}

// endCalls prints the entries still held, each ended with suffix: the
// calls that will not be seen to return.
func (s *Session) endCalls(suffix string) {
	if !s.entriesHeld() {
		return // every call is printed whole, or as JSON, when it ends
	}
	s.showBlocked(time.Now().Add(blockedAfter))
	for _, k := range s.tasks {
		if k.partial != "" {
			s.endPartial(k, suffix)
		}
	}
	s.open = nil
}

// kernelCountable says whether nothing but the -c tables is wanted, so
// that the kernel can count the calls.
func (s *Session) kernelCountable() bool {
	return s.o.Summary && !s.calls && !s.o.Fds && s.o.Timeline == "" && !s.o.NoEBPF
}

// Config is the engine configuration the session needs: a filter that
// stops the shown calls and what --fds and --json follow (none when every
// call is shown), and rusage for -c's system time. When the kernel counts
// the calls, the filter stops none.
func (s *Session) Config() ptrace.Config {
	if s.kc != nil {
		// A filter that traps nothing: without -f, the children run
		// untraced (and uncounted), as under strace.
		return ptrace.Config{Handler: s, Filter: &seccomp.Filter{Arch: ptrace.AuditArch, X32Bit: seccomp.X32SyscallBit}, ProcessOnly: !s.o.Follow}
	}
	f := &seccomp.Filter{Arch: ptrace.AuditArch, X32Bit: seccomp.X32SyscallBit,
		Foreign: seccomp.Trace(0), Calls: map[int]seccomp.Action{}}
	if s.o.TraceAll {
		f.Default = seccomp.Trace(0)
	}
	for _, nr := range s.o.Trace.Numbers() {
		f.Calls[nr] = seccomp.Trace(0)
	}
	if s.fds != nil {
		for _, nr := range fdCalls() {
			f.Calls[nr] = seccomp.Trace(0)
		}
	}
	if s.o.TraceAll {
		// Every call stops anyway: plain syscall-entry stops cost less than
		// seccomp stops (no filter run, no re-check after the tracer).
		f = nil
	}
	// Without -f and without a filter, the program's children need not
	// stop at all (as under strace): they run untraced, and the trace
	// ends with the program, not with its last descendant. Its threads
	// are the program: they are traced and shown.
	return ptrace.Config{Handler: s, Filter: f, Rusage: s.sum != nil && !s.o.WallTime, ProcessOnly: !s.o.Follow}
}

// AttachConfig is Config for -p, where no filter can be installed (and the
// calls are counted with ptrace: attaching adds no process to the kernel's
// set).
func (s *Session) AttachConfig() ptrace.Config {
	if s.kc != nil {
		s.kc.Close()
		s.kc = nil
	}
	c := s.Config()
	c.Filter = nil
	return c
}

// Root marks pid as traced without -f (the started program, or -p PID).
func (s *Session) Root(pid int) { s.roots[pid] = true }

// adoptRoot makes tid the started program when nothing is yet: its first
// call is the launcher's execve that becomes the program.
func (s *Session) adoptRoot(tid int) {
	if len(s.roots) == 0 {
		s.roots[tid] = true
	}
}

func (s *Session) visible(k *taskState) bool {
	return s.o.Follow || s.roots[k.tid] || s.roots[k.pid]
}

func (s *Session) task(tid, pid int) *taskState {
	k := s.tasks[tid]
	if k == nil {
		k = &taskState{tid: tid, pid: pid}
		s.tasks[tid] = k
	}
	k.pid = pid
	return k
}

// Enter implements ptrace.Handler.
func (s *Session) Enter(c *ptrace.Syscall) ptrace.Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.task(c.Tid, c.Pid)
	s.adoptRoot(c.Tid)
	if k.restartAttached {
		// The first call after attaching: a restart_syscall resumes the
		// call attaching interrupted; any other means it restarted as
		// itself (read, ERESTARTSYS) or had ended.
		k.restartAttached = false
		if c.Nr != unix.SYS_RESTART_SYSCALL {
			k.restartOf = ""
		}
	}
	shown := s.visible(k) && (s.o.TraceAll || (c.Nr >= 0 && s.o.Trace.Has(c.Nr)))
	if !shown && s.fds == nil {
		return ptrace.Continue
	}
	k.nr, k.args, k.shown, k.inCall, k.unfinished, k.partial = c.Nr, c.Args, shown, true, false, ""
	k.dec = nil
	if !shown {
		return ptrace.WantExit // for the fd tracker
	}
	k.enter, k.stime, k.liveAtEnter = time.Now(), c.Stime, s.live
	k.fd, k.fdClass = -1, ""
	if s.o.JSON && s.calls {
		if info := syscalls.Lookup(c.Nr); info != nil && len(info.Args) > 0 &&
			(info.Args[0].Kind == syscalls.KindFd || info.Args[0].Kind == syscalls.KindDirfd) {
			if fd := int(int32(c.Args[0])); fd >= 0 {
				k.fd, k.fdClass = fd, s.fds.class(c.Pid, fd)
			}
		}
	}
	if s.calls || s.tl != nil {
		call := &syscalls.Call{Pid: c.Pid, Info: syscalls.Lookup(c.Nr), Nr: c.Nr, Args: c.Args, SP: c.SP}
		if c.Nr == unix.SYS_RESTART_SYSCALL {
			call.Resumes, k.restartOf = k.restartOf, ""
		}
		k.dec = syscalls.Enter(call, c.Mem(), &s.o.Decode)
		if s.entriesHeld() {
			s.interrupt(k)
			s.open = k
			if isExitCall(c.Nr) {
				// It never returns: strace prints it whole at once.
				k.dec.Exit(0, nil)
				s.finishExitCall(k)
				k.dec = nil
			}
		}
	}
	return ptrace.WantExit
}

// Exit implements ptrace.Handler.
func (s *Session) Exit(c *ptrace.Syscall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.tasks[c.Tid]
	if k == nil || !k.inCall {
		return
	}
	k.inCall = false
	if s.fds != nil {
		s.fds.exit(c.Pid, k.nr, &k.args, c.Ret, c.Mem())
	}
	if !k.shown {
		return
	}
	now := time.Now()
	if c.Ret == -linux.ERESTART_RESTARTBLOCK {
		k.restartOf = callName(k.nr)
	}
	failed := c.Ret < 0 && c.Ret >= -linux.MaxErrno
	if k.dec != nil {
		k.dec.Exit(c.Ret, c.Mem())
		failed = k.dec.Failed()
	}
	if s.sum != nil {
		d := now.Sub(k.enter)
		if !s.o.WallTime {
			d = c.Stime - k.stime
		}
		s.sum.add(k.pid, callName(k.nr), failed, d)
	}
	if k.dec == nil {
		return
	}
	if s.tl != nil {
		s.tl.call(k, now)
	}
	if !s.calls {
		k.dec = nil
		return
	}
	want := StatusSuccessful
	if failed {
		want = StatusFailed
	}
	if s.o.Status&want != 0 {
		if s.o.JSON {
			s.jsonCall(k, now, c.Ret)
		} else {
			s.finish(k, now, "")
		}
	}
	k.dec = nil
}

// finish prints k's call line: whole, its "<... resumed>" half if its
// entry was printed as unfinished, or the rest of the line the watcher
// began. ret overrides the result ("?" for a call the task never returned
// from).
func (s *Session) finish(k *taskState, now time.Time, ret string) {
	if s.open == k {
		s.open = nil
	} else {
		s.interrupt(k)
	}
	var pre string
	switch {
	case k.unfinished:
		pre = s.prefix(k.tid, now)
	case k.partial != "":
		// The begun line has its prefix: only its width counts here, and
		// -r's clock must not be set back to the entry.
		last := s.lastLine
		pre = s.entryPrefix(k)
		s.lastLine = last
	default:
		pre = s.entryPrefix(k)
	}
	col := len(pre)
	var line string
	switch {
	case ret != "":
		// The task died in the call: strace's ") = ?".
		line = k.dec.Died(k.unfinished) + ") "
		line += pad(col+len(line), 40) + "= " + ret
	case k.unfinished:
		line = k.dec.ResumedCol(col)
	default:
		line = k.dec.LineCol(col)
	}
	if k.partial != "" {
		rest, ok := strings.CutPrefix(line, k.partial)
		if !ok {
			// The exit changed what the entry showed: end the begun line
			// and print the resumed half.
			s.endPartial(k, " <unfinished ...>")
			s.finish(k, now, ret)
			return
		}
		line, k.partial = rest, "" // the begun line has the prefix
	} else {
		line = pre + line
	}
	if s.o.Durations && ret == "" {
		d := now.Sub(k.enter)
		line += fmt.Sprintf(" <%d.%06d>", int64(d/time.Second), int64(d%time.Second/time.Microsecond))
	}
	s.write(k.tid, line)
}

func pad(col, to int) string {
	if col >= to {
		return ""
	}
	return strings.Repeat(" ", to-col)
}

// interrupt prints the open entry of a task other than k as unfinished, as
// strace does when another line comes before that call's exit.
func (s *Session) interrupt(k *taskState) {
	o := s.open
	if o == nil || o == k || o.dec == nil || s.o.PerTask {
		if o == k {
			return
		}
		s.open = nil
		return
	}
	s.open = nil
	s.cut(o, " <unfinished ...>")
}

// cut ends the line of o's call in progress with suffix, its entry
// written first if it was held; the exit prints the resumed half.
func (s *Session) cut(o *taskState, suffix string) {
	if o.partial != "" {
		s.endPartial(o, suffix)
		return
	}
	o.unfinished = true
	s.write(o.tid, s.entryPrefix(o)+o.dec.Entry()+suffix)
}

// prefix is strace's line prefix for tid at time t: the pid ("[pid N] " on
// stderr when several tasks are traced, "N " in a file with -f, nothing
// with -ff), then the timestamp.
func (s *Session) prefix(tid int, t time.Time) string { return s.prefixLive(tid, t, s.live) }

// entryPrefix is prefix for the line a call's entry begins: as strace
// writes it at entry, with the tasks traced then ("[pid N]" only if
// several were).
func (s *Session) entryPrefix(k *taskState) string {
	return s.prefixLive(k.tid, k.enter, k.liveAtEnter)
}

// prefixLive is prefix with live tasks traced.
func (s *Session) prefixLive(tid int, t time.Time, live int) string {
	var b strings.Builder
	switch {
	case s.o.PerTask:
	case s.o.Output != "" && (s.o.Follow || s.o.Procs > 1 || live > 1):
		// As strace, fixed from the start with -f or several -p (and
		// while the program's threads run, which strace does not show).
		fmt.Fprintf(&b, "%-5d ", tid)
	case s.o.Output == "" && live > 1:
		fmt.Fprintf(&b, "[pid %5d] ", tid)
	}
	switch s.o.Timestamp {
	case 1:
		b.WriteString(t.Format("15:04:05 "))
	case 2:
		b.WriteString(t.Format("15:04:05.000000 "))
	case 3:
		fmt.Fprintf(&b, "%d.%06d ", t.Unix(), t.Nanosecond()/1000)
	}
	if s.o.Relative {
		// As strace: since the previous line's time, whichever task's;
		// never negative (a call written whole at its exit carries its
		// entry's time, which another task's line may have passed).
		var d time.Duration
		if !s.lastLine.IsZero() {
			d = max(t.Sub(s.lastLine), 0)
		}
		if t.After(s.lastLine) {
			s.lastLine = t // never back: the next line counts from the latest
		}
		us := d.Microseconds()
		if s.o.Timestamp > 0 {
			fmt.Fprintf(&b, "(+%6d.%06d) ", us/1e6, us%1e6)
		} else {
			fmt.Fprintf(&b, "%6d.%06d ", us/1e6, us%1e6)
		}
	}
	return b.String()
}

// showSignal reports whether sig's lines are shown (Options.HideSignals).
func (s *Session) showSignal(sig unix.Signal) bool {
	return sig < 1 || sig > 64 || s.o.HideSignals&(1<<(sig-1)) == 0
}

// write sends one line to tid's output.
func (s *Session) write(tid int, line string) {
	if o := s.output(tid); o != nil {
		if err := o.line(line); err != nil {
			s.fail(err)
		}
	}
}

// writePartial sends the start of a line, flushed, to tid's output.
func (s *Session) writePartial(tid int, text string) {
	if o := s.output(tid); o != nil {
		if err := o.partial(text); err != nil {
			s.fail(err)
		}
	}
}

// output is tid's output: the trace, or with -ff its own file (nil if
// that cannot be created).
func (s *Session) output(tid int) *output {
	if !s.o.PerTask {
		return s.out
	}
	o := s.files[tid]
	if o == nil {
		f, err := os.Create(s.o.Output + "." + strconv.Itoa(tid))
		if err != nil {
			s.fail(err)
			return nil
		}
		o = newOutput(f, false)
		s.files[tid] = o
	}
	return o
}

func (s *Session) fail(err error) {
	if s.failed == nil {
		s.failed = err
		fmt.Fprintf(s.diag, "carrot: trace output: %v\n", err)
	}
}

// event prints a non-call line (signal, stop, exit) for task k.
func (s *Session) event(tid int, text string) {
	if s.o.JSON {
		return
	}
	s.interrupt(nil)
	s.write(tid, s.prefix(tid, time.Now())+text)
}

// named gives pid its current name in the tables and the timeline.
func (s *Session) named(pid int) {
	if s.sum != nil {
		s.sum.setComm(pid, comm(pid))
	}
	if s.tl != nil {
		s.tl.process(pid, comm(pid))
	}
}

// quietAttach reports whether new tasks go unannounced without -q: as
// strace, when the trace goes to a file or a pipe and the program was
// started, not attached to.
func (s *Session) quietAttach() bool { return s.o.Procs == 0 && s.o.Output != "" }

// Event implements ptrace.Handler.
func (s *Session) Event(ev *ptrace.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev.Kind {
	case ptrace.EventNewTask:
		if s.kc != nil && s.o.Follow && !ev.Thread && ev.Parent != 0 {
			// Stopped before its first instruction: count it from there.
			s.kernelTrace(ev.Pid)
		}
		k := s.task(ev.Tid, ev.Pid)
		s.seen = true
		if ev.Parent == 0 {
			s.roots[ev.Tid] = true // attached with -p
			// Attaching interrupts the call it sleeps in; a
			// restart_syscall that follows resumes that one.
			if ev.Asleep {
				k.restartOf, k.restartAttached = callName(ev.Sleeping), true
			}
			if s.o.Quiet == 0 && ev.Tid == ev.Pid {
				// Every thread is attached, as strace -f does, and said so.
				if tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", ev.Pid)); err == nil && len(tasks) > 1 {
					fmt.Fprintf(s.diag, "carrot: Process %d attached with %d threads\n", ev.Tid, len(tasks))
				} else {
					fmt.Fprintf(s.diag, "carrot: Process %d attached\n", ev.Tid)
				}
			}
		}
		if s.visible(k) {
			k.counted = true
			s.live++
		}
		if s.fds != nil && !ev.Thread && ev.Parent != 0 {
			s.fds.fork(s.tasks[ev.Parent].pidOr(ev.Parent), ev.Pid)
		}
		if s.visible(k) && !ev.Thread {
			// Named now, as a process attached to or forked already has
			// a name (an exec renames it).
			s.named(ev.Pid)
		}
		if s.o.Follow && ev.Parent != 0 && s.o.Quiet == 0 && !s.o.JSON && !s.quietAttach() {
			msg := fmt.Sprintf("carrot: Process %d attached", k.tid)
			if s.o.Output == "" && s.calls {
				s.interrupt(nil) // a line of the trace, on stderr
				s.out.line(msg)
			} else {
				fmt.Fprintln(s.diag, msg)
			}
		}
		s.jsonEvent(ev, "new_task", map[string]any{"parent": ev.Parent, "thread": ev.Thread})
	case ptrace.EventExec:
		if ev.OldTid != ev.Tid {
			if k := s.tasks[ev.OldTid]; k != nil {
				delete(s.tasks, ev.OldTid)
				k.tid = ev.Tid
				s.tasks[ev.Tid] = k
			}
		}
		s.adoptRoot(ev.Tid)
		if s.kc != nil {
			s.kc.Moved(ev.OldTid, ev.Tid)
			if s.o.Follow || s.roots[ev.Pid] {
				// The program (stopped in its execve, before its first
				// instruction), or a process that exec'd again: its
				// name changes.
				s.kernelTrace(ev.Pid)
			}
		}
		k := s.task(ev.Tid, ev.Pid)
		if s.roots[ev.Tid] && !k.counted {
			k.counted = true // the started program
			s.live++
		}
		if !s.visible(k) {
			// A child under the filter without -f: not in the tables.
			break
		}
		s.named(ev.Pid)
	case ptrace.EventSuperseded:
		// As strace: the leader, gone, ends the call it was in ("= ?",
		// which cuts the execve's line like any other line); else the
		// thread's execve line says that its pid changes.
		leader := s.tasks[ev.Tid]
		if leader != nil {
			s.diedInCall(leader, time.Now())
			if leader.counted {
				s.live--
				leader.counted = false
			}
		}
		if o := s.tasks[ev.OldTid]; o != nil && o.inCall && o.dec != nil && !o.unfinished && (s.open == o || s.o.PerTask) && s.calls && !s.o.JSON {
			if s.open == o {
				s.open = nil
			}
			s.cut(o, fmt.Sprintf(" <pid changed to %d ...>", ev.Tid))
		}
		if leader != nil && s.visible(leader) && s.calls {
			s.event(ev.Tid, fmt.Sprintf("+++ superseded by execve in pid %d +++", ev.OldTid))
		}
	case ptrace.EventSignal:
		k := s.task(ev.Tid, ev.Pid)
		if s.visible(k) && s.showSignal(ev.Sig) && s.calls {
			info := "{...}"
			if ev.Info != nil {
				info = linux.FormatSiginfo(siginfoBytes(ev.Info))
			}
			s.event(ev.Tid, fmt.Sprintf("--- %s %s ---", linux.SignalName(int64(ev.Sig)), info))
		}
		s.jsonEvent(ev, "signal", map[string]any{"signal": linux.SignalName(int64(ev.Sig))})
		if s.tl != nil {
			s.tl.instant(ev.Pid, ev.Tid, linux.SignalName(int64(ev.Sig)), time.Now())
		}
	case ptrace.EventStopped:
		if k := s.task(ev.Tid, ev.Pid); s.visible(k) && s.showSignal(ev.Sig) && s.calls {
			s.event(ev.Tid, fmt.Sprintf("--- stopped by %s ---", linux.SignalName(int64(ev.Sig))))
		}
	case ptrace.EventExit:
		s.exit(ev)
	}
}

func (k *taskState) pidOr(tid int) int {
	if k == nil {
		return tid
	}
	return k.pid
}

// diedInCall ends the call k was in when it ended (exit_group and
// friends, a task killed inside a call, a leader superseded by another
// thread's execve), as strace does: "= ?".
func (s *Session) diedInCall(k *taskState, now time.Time) {
	if !k.inCall || !k.shown || k.dec == nil {
		return
	}
	k.inCall = false
	if s.sum != nil {
		d := now.Sub(k.enter)
		if !s.o.WallTime {
			d = 0
		}
		s.sum.add(k.pid, callName(k.nr), false, d)
	}
	if s.calls && s.o.Status&StatusUnfinished != 0 { // exit_group's "= ?" is unfinished too, as for strace
		if s.o.JSON {
			s.jsonCall(k, now, 0)
		} else {
			k.dec.Exit(0, nil)
			if isExitCall(k.nr) {
				s.finishExitCall(k)
			} else {
				s.finish(k, now, "?")
			}
		}
	}
}

func (s *Session) exit(ev *ptrace.Event) {
	if s.kc != nil {
		s.kc.TaskGone(ev.Tid)
		if ev.Leader {
			s.kc.Retire(ev.Pid)
		}
	}
	k := s.task(ev.Tid, ev.Pid)
	s.diedInCall(k, time.Now())
	// As strace: -qq hides "exited with", and the signal set (-e
	// signal=none) "killed by".
	switch {
	case !s.visible(k) || !s.calls:
	case ev.Status.Signal != 0 && s.showSignal(ev.Status.Signal):
		msg := "+++ killed by " + linux.SignalName(int64(ev.Status.Signal))
		if ev.Status.Core {
			msg += " (core dumped)"
		}
		s.event(ev.Tid, msg+" +++")
	case ev.Status.Signal == 0 && s.o.Quiet < 2:
		s.event(ev.Tid, "+++ exited with "+strconv.Itoa(ev.Status.Code)+" +++")
	}
	s.jsonEvent(ev, "exit", map[string]any{"status": ev.Status.Code, "signal": sigName(ev.Status.Signal), "leader": ev.Leader})
	if ev.Leader && s.fds != nil {
		s.fds.exited(ev.Pid)
	}
	if ev.Leader {
		s.probe.forget(ev.Pid)
	}
	if o := s.files[ev.Tid]; o != nil {
		o.close()
		delete(s.files, ev.Tid)
	}
	if s.open == k {
		s.open = nil
	}
	delete(s.tasks, ev.Tid)
	if k.counted {
		s.live--
	}
}

// finishExitCall prints exit/exit_group, whose result strace shows as "?"
// (at their entry when entries are held, or at the task's exit event;
// never after a line the watcher began: they do not block).
func (s *Session) finishExitCall(k *taskState) {
	if s.open == k {
		s.open = nil
	} else {
		s.interrupt(k)
	}
	if k.unfinished {
		pre := s.prefix(k.tid, k.enter)
		s.write(k.tid, pre+k.dec.ResumedCol(len(pre)))
		return
	}
	pre := s.entryPrefix(k)
	s.write(k.tid, pre+k.dec.LineCol(len(pre)))
}

func isExitCall(nr int) bool { return nr == unix.SYS_EXIT || nr == unix.SYS_EXIT_GROUP }

func sigName(sig unix.Signal) string {
	if sig == 0 {
		return ""
	}
	return linux.SignalName(int64(sig))
}

// Close ends the session: the summaries and reports, then the outputs.
func (s *Session) Close() error {
	if s.interval != nil {
		close(s.interval)
	}
	if s.watcher != nil {
		close(s.watcher)
		<-s.watched // no tick runs after Close
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endCalls(" <unfinished ...>") // none, unless the engine stopped early
	w := s.out
	if w == nil { // -ff: the reports go to stderr
		w = newOutput(nopCloser{s.diag}, true)
	}
	if s.o.Summary && (s.seen || s.o.Procs == 0) {
		sum := s.summaryNow()
		if s.o.JSON {
			perProc, merged := sum.tables()
			w.json(map[string]any{"summary": merged, "per_process": perProc})
		} else {
			w.do(func(b *bufio.Writer) { sum.write(b) })
		}
	}
	if s.kc != nil {
		if n := s.kc.Lost(); n > 0 {
			fmt.Fprintf(s.diag, "carrot: %d calls were not counted (the kernel's tables were full)\n", n)
		}
		s.kc.Close()
	}
	if s.o.Fds {
		reps := s.fds.reports()
		if s.o.JSON {
			w.json(map[string]any{"fds": reps})
		} else {
			w.do(func(b *bufio.Writer) { writeFdReport(b, reps) })
		}
	}
	for _, o := range s.files {
		o.close()
	}
	s.probe.close()
	var err error
	if s.tl != nil {
		err = s.tl.close()
	}
	if e := w.close(); err == nil {
		err = e
	}
	if err == nil {
		err = s.failed
	}
	return err
}

// periodic prints the merged table every Interval (--summary-interval).
func (s *Session) periodic() {
	t := time.NewTicker(s.o.Interval)
	defer t.Stop()
	w := s.out
	if w == nil {
		w = newOutput(nopCloser{s.diag}, true)
	}
	for {
		select {
		case <-s.interval:
			return
		case now := <-t.C:
			_, merged := s.summaryNow().tables()
			if s.o.JSON {
				w.json(map[string]any{"interval_summary": merged, "elapsed": now.Sub(s.start).Seconds()})
				continue
			}
			s.mu.Lock()
			s.interrupt(nil) // not in the middle of a line the watcher began
			w.do(func(b *bufio.Writer) {
				fmt.Fprintf(b, "--- summary after %.3fs ---\n", now.Sub(s.start).Seconds())
				writeTable(b, merged)
			})
			s.mu.Unlock()
		}
	}
}

// kernelTrace adds process pid to the kernel's counted set, or renames it
// if it is there already.
func (s *Session) kernelTrace(pid int) {
	proc, err := s.kc.Trace(pid)
	if err != nil {
		fmt.Fprintf(s.diag, "carrot: %v: its calls are not counted\n", err)
		return
	}
	name := comm(pid)
	s.kmu.Lock()
	if name != "" {
		s.kcomm[proc] = name
	}
	s.kmu.Unlock()
}

// summaryNow is -c's bookkeeping as it is now: the session's own, or the
// kernel's counts read into one.
func (s *Session) summaryNow() *summary {
	if s.kc == nil {
		return s.sum
	}
	sum := newSummary(s.o.SortBy)
	counts, err := s.kc.Counts()
	if err != nil {
		fmt.Fprintf(s.diag, "carrot: %v\n", err)
		return sum
	}
	s.kmu.Lock()
	defer s.kmu.Unlock()
	for _, c := range counts {
		if !s.o.TraceAll && (c.Nr < 0 || !s.o.Trace.Has(c.Nr)) {
			continue
		}
		sum.addCounts(c.Proc, c.Pid, s.kcomm[c.Proc], callName(c.Nr), c.Calls, c.Errors, c.Time)
	}
	return sum
}

// callName names nr as the summary and JSON do.
func callName(nr int) string {
	if i := syscalls.Lookup(nr); i != nil {
		return i.Name
	}
	return fmt.Sprintf("syscall_%#x", nr)
}

// jsonCall writes one call as a JSON object (--json).
func (s *Session) jsonCall(k *taskState, now time.Time, ret int64) {
	d := k.dec
	obj := jsonCallObj{Pid: k.pid, Tid: k.tid, Time: float64(k.enter.UnixMicro()) / 1e6, Name: d.Name(),
		Args: d.Args(), Ret: d.Ret(), Retval: d.RetValue(), Errno: d.Errno(),
		Duration: now.Sub(k.enter).Seconds()}
	if obj.Args == nil {
		obj.Args = []string{}
	}
	if k.fd >= 0 {
		fd := k.fd
		obj.Fd, obj.FdClass = &fd, k.fdClass
	}
	if obj.Ret == "" {
		obj.Ret = "?" // exit, exit_group, or a task that died in the call
	}
	if o := s.output(k.tid); o != nil { // with -ff, the task's own file
		o.json(obj)
	}
}

type jsonCallObj struct {
	Pid      int      `json:"pid"`
	Tid      int      `json:"tid"`
	Time     float64  `json:"time"`
	Name     string   `json:"name"`
	Args     []string `json:"args"`
	Ret      string   `json:"ret"`
	Retval   int64    `json:"retval"`
	Errno    string   `json:"errno,omitempty"`
	Duration float64  `json:"duration"`
	Fd       *int     `json:"fd,omitempty"`
	FdClass  Class    `json:"fd_class,omitempty"`
}

func (s *Session) jsonEvent(ev *ptrace.Event, kind string, fields map[string]any) {
	if !s.o.JSON || !s.calls {
		return
	}
	if k := s.tasks[ev.Tid]; k != nil && !s.visible(k) {
		return
	}
	fields["event"] = kind
	fields["pid"] = ev.Pid
	fields["tid"] = ev.Tid
	fields["time"] = float64(time.Now().UnixMicro()) / 1e6
	if o := s.output(ev.Tid); o != nil {
		o.json(fields)
	}
}

// output is one trace destination. Lines are buffered; on stderr each
// line is flushed at once, as strace's unbuffered stderr is; a file is
// flushed when the buffer fills and, while lines are waiting, every
// flushEvery, so that tail -f on a trace file follows the program.
type output struct {
	mu    sync.Mutex
	w     *bufio.Writer
	c     io.Closer
	flush bool
	err   error
	stop  chan struct{}
}

const flushEvery = 200 * time.Millisecond

func newOutput(w io.WriteCloser, flushEachLine bool) *output {
	o := &output{w: bufio.NewWriterSize(w, 64<<10), c: w, flush: flushEachLine}
	if !flushEachLine {
		o.stop = make(chan struct{})
		go o.flusher(o.stop)
	}
	return o
}

func (o *output) flusher(stop <-chan struct{}) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			o.mu.Lock()
			if o.w.Buffered() > 0 {
				o.w.Flush()
			}
			o.mu.Unlock()
		}
	}
}

func (o *output) line(s string) error { return o.write(s+"\n", o.flush) }

// partial writes the start of a line (no newline) and flushes it, so that
// it shows now.
func (o *output) partial(s string) error { return o.write(s, true) }

// write writes s, flushed if flush, and returns the first error writing
// has met.
func (o *output) write(s string, flush bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.w.WriteString(s)
	if flush {
		o.w.Flush()
	}
	if o.err == nil {
		o.err = writerErr(o.w)
	}
	return o.err
}

func (o *output) do(f func(*bufio.Writer)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f(o.w)
	o.w.Flush()
}

func (o *output) json(v any) {
	b, err := marshal(v)
	if err != nil {
		return
	}
	o.line(string(b))
}

// marshal is json.Marshal without its escapes for HTML (<, >, &: a trace's
// "3</etc/passwd>" stays as it reads), for JSON lines read by programs
// and people, never put into a page.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func (o *output) close() error {
	if o.stop != nil {
		close(o.stop)
		o.stop = nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	err := o.w.Flush()
	if e := o.c.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = o.err
	}
	return err
}

// writerErr reports a bufio.Writer's sticky error without writing.
func writerErr(w *bufio.Writer) error {
	_, err := w.Write(nil)
	return err
}

// pipedOutput is the command an -o argument names, as for strace: "|cmd"
// or "!cmd".
func pipedOutput(output string) (string, bool) {
	if len(output) > 1 && (output[0] == '|' || output[0] == '!') {
		return output[1:], true
	}
	return "", false
}

// pipeTo starts cmd with the shell and returns its standard input; closing
// it waits for the command to finish.
func pipeTo(cmd string) (io.WriteCloser, error) {
	c := exec.Command("/bin/sh", "-c", cmd)
	c.Stdout, c.Stderr = os.Stdout, os.Stderr
	w, err := c.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("-o |%s: %w", cmd, err)
	}
	return &pipeWriter{w, c}, nil
}

type pipeWriter struct {
	io.WriteCloser
	c *exec.Cmd
}

func (p *pipeWriter) Close() error {
	err := p.WriteCloser.Close()
	if e := p.c.Wait(); err == nil {
		err = e
	}
	return err
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
