// Package ptrace is carrot's interposition engine: the only package that
// calls ptrace(2). It starts a program (or attaches to running ones),
// follows every task it creates, and hands each syscall stop to a Handler,
// which may read and write the tracee's memory, rewrite arguments, skip
// the call with a chosen result, or ask to see the result.
//
// # Starting a program
//
// Go's SysProcAttr{Ptrace: true} gives no hook between fork and exec, so
// the engine re-executes its own binary as a launcher (internal/launcher,
// whose init runs first thing in any binary that imports this package, on
// the main thread). The launcher stops itself with SIGSTOP; the tracer seizes it (PTRACE_SEIZE,
// so group-stops can use PTRACE_LISTEN) and continues it; the launcher
// then installs the seccomp filter on its own thread and execs the
// program. The filter is installed last because a SECCOMP_RET_TRACE call
// made with no tracer fails with ENOSYS; it is installed on the exec'ing
// thread only (no TSYNC): the Go runtime's other threads die at exec and
// never run under it.
//
// # Stops
//
// With a filter, a call the filter traps makes one stop, the seccomp stop
// (PTRACE_EVENT_SECCOMP) at entry; the engine resumes with PTRACE_CONT, or
// with PTRACE_SYSCALL when the Handler wants the exit stop too. Without a
// filter (attaching with -p, where no filter can be installed), every call
// stops at entry and exit. Stops are told apart with
// PTRACE_GET_SYSCALL_INFO, which also returns the number, the arguments
// and the filter's ret_data in one call; registers are fetched only when
// a Handler changes them.
//
// The engine follows fork, vfork and clone (PTRACE_O_TRACEFORK etc.;
// only threads with Config.ProcessOnly, where no filter that traps calls
// makes the rest necessary): a
// new task is reported to the Handler when its parent's event arrives,
// and a child whose first stop comes before that event is held until it
// does, so a Handler never sees a call from a task it was not told of.
// An execve from a non-leader thread changes the caller's tid to the
// tgid (the former tid comes from PTRACE_GETEVENTMSG); the old leader
// disappears without an exit report and is reported as superseded.
// Signals pass through with their meaning: signal-delivery-stops re-inject
// the signal, group-stops are held with PTRACE_LISTEN so SIGSTOP and
// SIGCONT behave as without a tracer. Signals ignored where carrot was
// started are ignored in the program too (internal/launcher).
// PTRACE_O_EXITKILL kills every tracee if carrot dies.
//
// # Threads and locks
//
// ptrace requests are accepted only from the thread that attached, so one
// goroutine, locked to its OS thread, makes every ptrace and wait4 call
// (the loop in Tracer.run). Memory is read and written with
// process_vm_readv/writev, which work from any thread, so handlers may
// hand slow work (RPCs, dials) to other goroutines: a Handler returns
// Defer and later calls Syscall.Resume from any goroutine. Work that must
// run on the tracer thread is queued with Tracer.Do; to wake the loop,
// which sleeps in wait4, Do signals a "doorbell": a tiny traced child
// whose signal-delivery-stop wait4 reports, and which the loop recognises
// and resumes. The queue is guarded by Tracer.mu; nothing else is shared
// between goroutines.
//
// # Waiting
//
// Before it sleeps in wait4, the loop polls for the next stop for up to
// 30 µs (spinner in tracer.go): a program making calls in a loop stops
// again within microseconds, and catching that stop while the tracer's CPU
// is still awake saves waking an idle CPU at every stop, which is most of
// a stop's cost in a VM. Programs that do not stop that often turn the
// polling off for a while by themselves.
package ptrace
