package ptrace

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Handler is what a mode implements. Its methods run on the tracer thread,
// one stop at a time, and must not block on slow work: return Defer and
// finish elsewhere instead.
type Handler interface {
	// Enter is called at a trapped call's entry. c is valid until the task
	// is resumed; the returned Action says how to resume it.
	Enter(c *Syscall) Action
	// Exit is called at the call's exit stop, when Enter asked for it.
	Exit(c *Syscall)
	// Event reports task lifecycle and signals.
	Event(ev *Event)
}

// Syscall is one stopped call, at entry or at exit.
type Syscall struct {
	Tid  int // thread id
	Pid  int // thread group id
	Nr   int
	Args [6]uint64
	// Ret is the raw return (-errno on failure); valid in Exit.
	Ret int64
	// Data is the seccomp filter's RET_TRACE data (0 without a filter).
	Data uint16
	// IP and SP are the instruction and stack pointers at the stop.
	IP, SP uint64
	// Stime is the process's system time at the stop (wait4's rusage,
	// only with Config.Rusage): Exit's minus Enter's is the kernel time the
	// call took, as strace -c counts it.
	Stime time.Duration

	t         *Tracer
	k         *task
	argsDirty bool
	retDirty  bool
}

// Mem returns the tracee's memory.
func (c *Syscall) Mem() *Memory { return &c.k.mem }

// SetArg changes argument register i: at entry, before the call runs; at
// exit, to put back a register the program may expect the kernel to have
// kept (the kernel preserves argument registers across a syscall).
func (c *Syscall) SetArg(i int, v uint64) {
	c.Args[i] = v
	c.argsDirty = true
}

// SetRet changes the result the program sees (at exit only).
func (c *Syscall) SetRet(v int64) {
	c.Ret = v
	c.retDirty = true
}

// Resume finishes a call whose Enter returned Defer, from any goroutine.
// It must be called exactly once.
func (c *Syscall) Resume(a Action) {
	if a.kind == actDefer {
		panic("ptrace: Resume(Defer)")
	}
	c.t.Do(func() { c.t.finishEntry(c.k, a) })
}

// ResumeWith finishes a call whose Enter returned Defer with the Action f
// returns; f runs on the tracer thread, like Enter, so it may use what
// belongs to that thread, and may return Defer again. alive is false when
// the task went away meanwhile: f should only release what it holds (its
// Action is ignored).
func (c *Syscall) ResumeWith(f func(alive bool) Action) {
	c.t.Do(func() {
		alive := c.t.tasks[c.k.tid] == c.k
		if a := f(alive); alive && a.kind != actDefer {
			c.t.finishEntry(c.k, a)
		}
	})
}

type actionKind uint8

const (
	actContinue actionKind = iota // run the call, no exit stop
	actExit                       // run the call and stop at its exit
	actReturn                     // skip the call; the program sees ret
	actDefer                      // leave the task stopped; Resume later
)

// Action says how to resume a task stopped at a call's entry.
type Action struct {
	kind actionKind
	ret  int64
}

// Actions.
var (
	// Continue runs the call without an exit stop.
	Continue = Action{kind: actContinue}
	// WantExit runs the call and calls Handler.Exit with the result.
	WantExit = Action{kind: actExit}
	// Defer keeps the task stopped until Syscall.Resume is called.
	Defer = Action{kind: actDefer}
)

// Return skips the call: the program sees v as its result (use -errno for
// a failure, or Fail).
func Return(v int64) Action { return Action{kind: actReturn, ret: v} }

// Fail skips the call: the program sees it fail with e.
func Fail(e unix.Errno) Action { return Return(-int64(e)) }

func (a Action) String() string {
	switch a.kind {
	case actContinue:
		return "continue"
	case actExit:
		return "want-exit"
	case actReturn:
		return fmt.Sprintf("return(%d)", a.ret)
	}
	return "defer"
}

// EventKind says what an Event reports.
type EventKind uint8

// Events.
const (
	// EventNewTask: Tid was created by Parent (fork, vfork, clone); Thread
	// says whether it shares Parent's thread group.
	EventNewTask EventKind = iota + 1
	// EventExec: Tid completed an execve; OldTid is the caller's tid
	// before it (differs when a non-leader thread exec'd).
	EventExec
	// EventSuperseded: Tid, a thread group leader, vanished because
	// another thread of its group exec'd (it became OldTid's new tid).
	EventSuperseded
	// EventSignal: Sig is about to be delivered to Tid; Info is its
	// siginfo. Setting Deliver to 0 suppresses it.
	EventSignal
	// EventStopped: Tid entered a group-stop by Sig.
	EventStopped
	// EventExiting: Tid is about to exit (only with Config.TraceExit);
	// its memory can still be read.
	EventExiting
	// EventExit: Tid is gone with Status; Leader says its thread group is
	// gone with it.
	EventExit
)

// Event is a task lifecycle event or a signal.
type Event struct {
	Kind   EventKind
	Tid    int
	Pid    int // thread group id
	Parent int // EventNewTask: the creating task
	Thread bool
	Vfork  bool
	OldTid int // EventExec, EventSuperseded
	Sig    unix.Signal
	// Deliver is the signal that will be delivered (EventSignal); a
	// Handler may change it.
	Deliver unix.Signal
	Info    *unix.Siginfo
	Status  Status
	Leader  bool
	// Asleep says, for EventNewTask of a task attached to (Attach), that
	// it was sleeping in system call Sleeping when attaching interrupted
	// it: a restart_syscall that follows resumes that call.
	Asleep   bool
	Sleeping int
}

// Status is how a task or program ended.
type Status struct {
	Code   int         // exit code, when Signal is 0
	Signal unix.Signal // the signal that killed it
	Core   bool        // a core was dumped
}

// ExitCode is the shell's view of s: the code, or 128+N if killed by N.
func (s Status) ExitCode() int {
	if s.Signal != 0 {
		return 128 + int(s.Signal)
	}
	return s.Code
}

func (s Status) String() string {
	if s.Signal != 0 {
		if s.Core {
			return fmt.Sprintf("killed by %v (core dumped)", s.Signal)
		}
		return fmt.Sprintf("killed by %v", s.Signal)
	}
	return fmt.Sprintf("exited with %d", s.Code)
}

func statusOf(ws unix.WaitStatus) Status {
	if ws.Signaled() {
		return Status{Signal: ws.Signal(), Core: ws.CoreDump()}
	}
	return Status{Code: ws.ExitStatus()}
}
