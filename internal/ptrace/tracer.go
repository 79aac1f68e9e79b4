package ptrace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/carrot-project/carrot/internal/launcher"
	"github.com/carrot-project/carrot/internal/seccomp"
	"golang.org/x/sys/unix"
)

// Config says what a Tracer traps and who handles it.
type Config struct {
	Handler Handler
	// Filter selects the calls that stop (seccomp RET_TRACE), and may fail
	// others outright (RET_ERRNO). Nil: every call stops at its entry and
	// its exit (PTRACE_SYSCALL), as when attaching.
	Filter *seccomp.Filter
	// TraceExit asks for an EventExiting before each task exits, while its
	// memory can still be read (PTRACE_O_TRACEEXIT); it costs a stop per
	// task.
	TraceExit bool
	// Rusage fills Syscall.Stime at every stop from wait4's rusage, the
	// way strace -c measures a call's system time.
	Rusage bool
	// ProcessOnly leaves the processes the program forks (fork, vfork,
	// posix_spawn: the kernel's fork and vfork events) untraced, and Run
	// returns once the traced ones are gone. Its threads are traced, and so
	// is a process made by clone() with an exit signal other than SIGCHLD
	// (the kernel reports it as a clone, like a thread: rare outside
	// runtimes that manage their own children). Only under a Filter that traps no call (or none):
	// a task under a filter that nobody traces gets ENOSYS from every call
	// the filter traps, so with such a filter every task is traced.
	ProcessOnly bool
	// Async starts the doorbell up front, so that Do and Syscall.Resume
	// from other goroutines take effect at once instead of at the next
	// stop. Attach always starts it.
	Async bool
}

// Program is what Run starts.
type Program struct {
	Path string   // resolved executable path
	Argv []string // argv, with argv[0]
	Env  []string
	Dir  string // working directory ("" = carrot's)
	// Files are the program's fds 0, 1, 2, ... (nil: carrot's stdin,
	// stdout, stderr).
	Files []*os.File
}

// Tracer runs programs under the engine. A Tracer is used once.
type Tracer struct {
	cfg      Config
	h        Handler
	seccomp  bool         // calls stop only when the filter says so
	opts     int          // PTRACE_O_* for every tracee
	pid      atomic.Int64 // main, for Pid
	mainGone atomic.Bool  // main has exited (mainSt is set), for MainExited
	// signaled[sig]: when the program's first process was last about to
	// be delivered sig (UnixNano), for Signaled.
	signaled [65]atomic.Int64

	// The fields below belong to the tracer thread.
	tasks     map[int]*task
	live      int // tasks that still exist, held ones included
	main      int // the started program's pid
	mainSt    Status
	detaching bool
	ending    bool // Run's context ended: every task is killed

	ru   *unix.Rusage // wait4's, when Config.Rusage
	spin spinner      // wait4's polling before it blocks

	doorbell atomic.Int64 // pid of the doorbell, 0 if none
	hasWork  atomic.Bool

	mu    sync.Mutex
	queue []func() // run on the tracer thread by drain
}

// task is the engine's state for one traced thread.
type task struct {
	tid, pid int
	mem      Memory
	call     Syscall
	// known: its parent's clone event was seen (or it was started or
	// attached directly), so the Handler has heard of it.
	known bool
	// held: a new task stopped before its parent's event; it stays stopped
	// until the event arrives.
	held bool
	// visible: its calls go to the Handler. False only for the launcher
	// (and any thread it makes) until it execs the program.
	visible bool
	// entryIP: where the program the launcher became starts, until a
	// SIGURG finds it elsewhere (0: it has run); see launcherSignal.
	entryIP  uint64
	wantExit bool // resume with PTRACE_SYSCALL to get the exit stop
	deferred bool // stopped at entry until Syscall.Resume
}

// New returns a Tracer for cfg.
func New(cfg Config) *Tracer {
	t := &Tracer{cfg: cfg, h: cfg.Handler, tasks: map[int]*task{}}
	if cfg.Rusage {
		t.ru = new(unix.Rusage)
	}
	t.opts = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_TRACESECCOMP
	if !cfg.ProcessOnly || cfg.Filter != nil && cfg.Filter.Traps() {
		t.opts |= unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK
	}
	if cfg.TraceExit {
		t.opts |= unix.PTRACE_O_TRACEEXIT
	}
	return t
}

// ErrPermission reports that the kernel refused to let carrot trace.
var ErrPermission = errors.New("ptrace not permitted")

func permissionError(what string, tid int, err error) error {
	if err != unix.EPERM && err != unix.EACCES {
		return fmt.Errorf("%s: %w", what, err)
	}
	return tracedError(what, tid, err, statusField(tid, "TracerPid:"))
}

// tracedError is permissionError's message for a task whose tracer
// (0: none) has been read already.
func tracedError(what string, tid int, err error, tracer int) error {
	cause := "carrot needs CAP_SYS_PTRACE here (in a container: --cap-add=SYS_PTRACE, and a seccomp profile that allows ptrace)"
	if tracer != 0 {
		// Whatever yama allows, a task has one tracer at a time.
		cause = fmt.Sprintf("pid %d is already traced by pid %d (a debugger, strace, or carrot itself run under one)", tid, tracer)
	} else if statusText(tid, "Kthread:") == "1" {
		cause = fmt.Sprintf("pid %d is a kernel thread, which nothing can trace", tid)
	} else if strings.HasPrefix(statusText(tid, "State:"), "Z") {
		cause = fmt.Sprintf("pid %d is a zombie: it has exited, and waits for its parent to reap it", tid)
	} else if b, e := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope"); e == nil {
		switch s := string(bytes.TrimSpace(b)); s {
		case "1":
			cause = "kernel.yama.ptrace_scope is 1: only a parent may trace its children; run as root or set it to 0"
		case "2":
			cause = "kernel.yama.ptrace_scope is 2: only CAP_SYS_PTRACE may trace; run as root"
		case "3":
			cause = "kernel.yama.ptrace_scope is 3: ptrace is disabled until reboot"
		}
	}
	return fmt.Errorf("%w: %s: %v (%s)", ErrPermission, what, err, cause)
}

// Run starts p under the tracer and traces it, and every task it creates,
// until all are gone. It returns the program's own status (that of its
// first process). Cancelling ctx kills every tracee.
func (t *Tracer) Run(ctx context.Context, p Program) (Status, error) {
	if t.cfg.Filter != nil {
		t.seccomp = true
	}
	t.opts |= unix.PTRACE_O_EXITKILL
	filter := "-"
	if t.cfg.Filter != nil {
		prog, err := t.cfg.Filter.Compile()
		if err != nil {
			return Status{}, err
		}
		filter = encodeFilter(prog)
	}
	var st Status
	err := t.onThread(func() error {
		files := []uintptr{0, 1, 2}
		if p.Files != nil {
			files = files[:0]
			for _, f := range p.Files {
				files = append(files, f.Fd())
			}
		}
		args := append([]string{os.Args[0], launchArg, "exec", filter, strconv.FormatUint(launcher.Ignored(), 16), p.Path}, p.Argv...)
		pid, err := t.start(args, p.Env, p.Dir, files)
		if err != nil {
			return err
		}
		runtime.KeepAlive(p.Files)
		// The doorbell is started before the launcher is seized, so that
		// the two Go runtimes' starts (about 1.3 ms each) overlap: the
		// program's exec waits for the tracer, and the tracer for both.
		bell := 0
		if t.cfg.Async {
			if bell, err = t.start(doorbellArgs(), []string{}, "/", []uintptr{}); err != nil {
				unix.Kill(pid, unix.SIGKILL)
				unix.Wait4(pid, nil, unix.WALL, nil)
				return fmt.Errorf("doorbell: %w", err)
			}
		}
		if err := t.seize(pid); err != nil {
			if bell != 0 {
				unix.Kill(bell, unix.SIGKILL)
				unix.Wait4(bell, nil, unix.WALL, nil)
			}
			return err
		}
		t.main = pid
		t.pid.Store(int64(pid))
		t.add(pid, pid, false)
		if bell != 0 {
			if err := t.seize(bell); err != nil {
				// Said, not left for the program's SIGKILL to tell.
				unix.Kill(pid, unix.SIGKILL)
				unix.Wait4(pid, nil, unix.WALL, nil)
				return fmt.Errorf("doorbell: %w", err)
			}
			t.doorbell.Store(int64(bell))
		}
		tracer := unix.Gettid()
		stop := context.AfterFunc(ctx, func() {
			t.Do(func() {
				t.ending = true // and the tasks that appear from now on (add)
				for tid := range t.tasks {
					unix.Tgkill(t.tasks[tid].pid, tid, unix.SIGKILL)
				}
			})
			if !t.mainGone.Load() { // else reaped: the pid may be another's
				unix.Kill(pid, unix.SIGKILL)
			}
			if t.doorbell.Load() == 0 {
				// Nothing wakes the tracer thread for Do, which a task
				// that makes no traced call (a sleep left behind) may
				// never stop it for: find its tracees in /proc.
				killTracees(tracer)
			}
		})
		defer stop()
		if err := t.loop(); err != nil {
			return err
		}
		if !t.mainGone.Load() {
			return fmt.Errorf("ptrace: lost track of pid %d", pid)
		}
		st = t.mainSt
		return nil
	})
	return st, err
}

// Signaled is when the program Run started (its first process) was last
// about to be delivered sig (zero: never): to tell whether a signal sent
// to the tracer's process group reached the program too.
func (t *Tracer) Signaled(sig unix.Signal) time.Time {
	if int(sig) >= len(t.signaled) {
		return time.Time{}
	}
	if n := t.signaled[sig].Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Pid is the pid of the program Run started (0 until it has started): to
// send it a signal from another goroutine.
func (t *Tracer) Pid() int { return int(t.pid.Load()) }

// MainExited reports whether the program Run started has exited, while
// Run goes on for the processes it left (a daemon, a background job).
func (t *Tracer) MainExited() bool { return t.mainGone.Load() }

// Attach traces the running processes pids (every thread of each) until
// they are all gone or ctx is cancelled, when it detaches and leaves them
// running. No filter can be installed in a running process, so every
// call stops at entry and exit. A process it cannot attach to is passed
// to failed (if not nil) and left out, as strace goes on with the others;
// Attach fails when it can attach to none of them.
func (t *Tracer) Attach(ctx context.Context, pids []int, failed func(error)) error {
	t.seccomp = false
	return t.onThread(func() error {
		var errs []error
		for _, pid := range pids {
			had := len(t.tasks)
			if err := t.attachProcess(pid); err != nil {
				if len(t.tasks) != had {
					// Some of its threads are attached: none of it can be
					// left out cleanly.
					t.detachAll()
					return err
				}
				errs = append(errs, err)
				if failed != nil {
					failed(err)
				}
			}
		}
		if len(t.tasks) == 0 {
			return errors.Join(errs...)
		}
		if err := t.startDoorbell(); err != nil {
			t.detachAll()
			return err
		}
		stop := context.AfterFunc(ctx, func() { t.Do(t.detachAll) })
		defer stop()
		return t.loop()
	})
}

func (t *Tracer) attachProcess(pid int) error {
	seen := map[int]bool{}
	for round := 0; round < 100; round++ {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			return fmt.Errorf("attach %d: no such process", pid)
		}
		added := false
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || seen[tid] {
				continue
			}
			seen[tid] = true
			if t.tasks[tid] != nil {
				continue
			}
			// Read before the seize: once interrupted, the task is
			// running to its stop and /proc says "running".
			sleeping, asleep := sleepingIn(tid)
			if err := ptrace(unix.PTRACE_SEIZE, tid, 0, uintptr(t.opts)); err != nil {
				if err == unix.ESRCH {
					continue
				}
				return permissionError(fmt.Sprintf("attach %d", tid), tid, err)
			}
			ptrace(unix.PTRACE_INTERRUPT, tid, 0, 0)
			k := t.add(tid, pid, true)
			k.known = true
			t.event(&Event{Kind: EventNewTask, Tid: tid, Pid: pid, Thread: tid != pid, Asleep: asleep, Sleeping: sleeping})
			added = true
		}
		if !added {
			return nil
		}
	}
	return fmt.Errorf("attach %d: threads keep appearing", pid)
}

// sleepingIn is the system call tid is blocked in (/proc/TID/syscall);
// ok is false when it is in none, or running.
func sleepingIn(tid int) (nr int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/syscall")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0, false
	}
	nr, err = strconv.Atoi(string(f[0]))
	// restart_syscall: interrupted before already, by what is not known.
	return nr, err == nil && nr >= 0 && nr != unix.SYS_RESTART_SYSCALL
}

// onThread runs f on a goroutine locked to a thread that is never
// unlocked: when the goroutine ends the thread exits, and with it every
// ptrace link and the Pdeathsig of the children it started.
func (t *Tracer) onThread(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		done <- f()
	}()
	return <-done
}

// start starts a launcher (or the doorbell), which stops itself for seize.
func (t *Tracer) start(args, env []string, dir string, files []uintptr) (int, error) {
	pid, err := syscall.ForkExec("/proc/self/exe", args, &syscall.ProcAttr{
		Dir: dir, Env: env, Files: files,
		Sys: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		return 0, fmt.Errorf("start launcher: %w", err)
	}
	// A tracer of carrot's own (strace -f, gdb) takes the child when it is
	// created: the child's stop is then that tracer's to report and end,
	// and it may run on before carrot sees it. Seizing it would fail
	// anyway; say why now, without racing the other tracer.
	if tracer := statusField(pid, "TracerPid:"); tracer != 0 {
		err := tracedError("seize the program", pid, unix.EPERM, tracer)
		unix.Kill(pid, unix.SIGKILL)
		// Not waited for: the other tracer reaps it first, and may not
		// (a debugger stopped at a prompt); carrot is about to exit.
		unix.Wait4(pid, nil, unix.WALL|unix.WNOHANG, nil)
		return 0, err
	}
	return pid, nil
}

// seize waits for the launcher pid (start) to stop itself, seizes it and
// lets it go on.
func (t *Tracer) seize(pid int) error {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, unix.WSTOPPED|unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for launcher: %w", err)
		}
		break
	}
	if !ws.Stopped() {
		return fmt.Errorf("launcher %s before it could be traced", statusOf(ws))
	}
	if err := ptrace(unix.PTRACE_SEIZE, pid, 0, uintptr(t.opts)); err != nil {
		err = permissionError("seize the program", pid, err) // while /proc still shows why
		unix.Kill(pid, unix.SIGKILL)
		unix.Wait4(pid, nil, unix.WALL, nil)
		return err
	}
	unix.Kill(pid, unix.SIGCONT)
	return nil
}

// startDoorbell starts the traced child that Do signals to wake the loop.
func (t *Tracer) startDoorbell() error {
	pid, err := t.start(doorbellArgs(), []string{}, "/", []uintptr{})
	if err == nil {
		err = t.seize(pid)
	}
	if err != nil {
		return fmt.Errorf("doorbell: %w", err)
	}
	t.doorbell.Store(int64(pid))
	return nil
}

func doorbellArgs() []string { return []string{os.Args[0], launchArg, "doorbell"} }

// Do runs f on the tracer thread between stops, where ptrace requests are
// allowed. It may be called from any goroutine.
func (t *Tracer) Do(f func()) {
	t.mu.Lock()
	t.queue = append(t.queue, f)
	t.mu.Unlock()
	t.hasWork.Store(true)
	if pid := int(t.doorbell.Load()); pid != 0 {
		unix.Tgkill(pid, pid, unix.SIGUSR1)
	}
}

func (t *Tracer) drain() {
	for t.hasWork.Swap(false) {
		t.mu.Lock()
		q := t.queue
		t.queue = nil
		t.mu.Unlock()
		for _, f := range q {
			f()
		}
	}
}

func (t *Tracer) add(tid, pid int, visible bool) *task {
	k := &task{tid: tid, pid: pid, mem: Memory{tid: tid}, visible: visible, known: true}
	t.tasks[tid] = k
	t.live++
	if t.ending {
		unix.Tgkill(pid, tid, unix.SIGKILL) // forked as the others were killed
	}
	return k
}

// loop is the tracer thread's life: wait for a stop, handle it, resume.
func (t *Tracer) loop() error {
	defer t.stopDoorbell()
	defer quietSIGCHLD()()
	for t.live > 0 {
		if t.hasWork.Load() {
			t.drain()
			if t.live == 0 {
				break
			}
		}
		var ws unix.WaitStatus
		tid, err := t.spin.wait4(&ws, t.ru)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ECHILD {
			return nil
		}
		if err != nil {
			return fmt.Errorf("wait4: %w", err)
		}
		if int64(tid) == t.doorbell.Load() {
			t.ring(tid, ws)
			continue
		}
		t.stop(tid, ws)
	}
	return nil
}

func (t *Tracer) stopDoorbell() {
	pid := int(t.doorbell.Swap(0))
	if pid == 0 {
		return
	}
	unix.Kill(pid, unix.SIGKILL)
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WALL, nil)
		if err != nil || (got == pid && (ws.Exited() || ws.Signaled())) {
			return
		}
	}
}

// ring handles a stop of the doorbell: suppress whatever woke it and run
// the queued work.
func (t *Tracer) ring(pid int, ws unix.WaitStatus) {
	if ws.Exited() || ws.Signaled() {
		t.doorbell.Store(0)
	} else if ws.Stopped() {
		ptrace(unix.PTRACE_CONT, pid, 0, 0)
	}
	t.drain()
}

// ptrace event numbers in a wait status (status >> 16).
const (
	evFork    = unix.PTRACE_EVENT_FORK
	evVfork   = unix.PTRACE_EVENT_VFORK
	evClone   = unix.PTRACE_EVENT_CLONE
	evExec    = unix.PTRACE_EVENT_EXEC
	evExit    = unix.PTRACE_EVENT_EXIT
	evSeccomp = unix.PTRACE_EVENT_SECCOMP
	evStop    = unix.PTRACE_EVENT_STOP
)

func (t *Tracer) stop(tid int, ws unix.WaitStatus) {
	k := t.tasks[tid]
	if ws.Exited() || ws.Signaled() {
		if k != nil {
			t.gone(k, statusOf(ws))
		}
		return
	}
	if !ws.Stopped() {
		return
	}
	sig := ws.StopSignal()
	event := int(uint32(ws)>>16) & 0xff
	if k == nil {
		// A new task whose first stop came before its parent's clone
		// event: hold it until the event says who it is.
		k = t.add(tid, readTgid(tid), false)
		k.known = false
		if event == evStop {
			k.held = true
			return
		}
	}
	if t.detaching {
		t.detach(k, sig, event)
		return
	}
	switch {
	case sig == unix.SIGTRAP|0x80 || (sig == unix.SIGTRAP && event == evSeccomp):
		t.syscallStop(k)
	case sig == unix.SIGTRAP && (event == evFork || event == evVfork || event == evClone):
		t.newChild(k, event)
	case sig == unix.SIGTRAP && event == evExec:
		t.exec(k)
	case sig == unix.SIGTRAP && event == evExit:
		msg, _ := getEventMsg(k.tid)
		if k.visible {
			t.event(&Event{Kind: EventExiting, Tid: k.tid, Pid: k.pid, Status: statusOf(unix.WaitStatus(msg))})
		}
		t.resume(k, 0)
	case event == evStop:
		switch sig {
		case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
			// A group-stop: stay stopped until SIGCONT, as without us.
			if k.visible {
				t.event(&Event{Kind: EventStopped, Tid: k.tid, Pid: k.pid, Sig: sig})
			}
			ptrace(unix.PTRACE_LISTEN, k.tid, 0, 0)
		default:
			if !k.known {
				k.held = true
				return
			}
			t.resume(k, 0)
		}
	case event == 0:
		t.signal(k, sig)
	default:
		t.resume(k, 0)
	}
}

func (t *Tracer) syscallStop(k *task) {
	var info syscallInfo
	if err := getSyscallInfo(k.tid, &info); err != nil {
		return // ESRCH: killed meanwhile; its exit is on its way
	}
	if info.isExit() {
		if !k.wantExit {
			t.resume(k, 0)
			return
		}
		k.wantExit = false
		c := &k.call
		c.Ret = info.rval()
		c.retDirty, c.argsDirty = false, false
		c.Stime = t.stime()
		t.h.Exit(c)
		if c.retDirty || c.argsDirty {
			var r regs
			if getRegs(k.tid, &r) == nil {
				if c.retDirty {
					setRet(&r, c.Ret)
				}
				if c.argsDirty {
					setArgs(&r, &c.Args)
				}
				setRegs(k.tid, &r)
			}
		}
		t.resume(k, 0)
		return
	}
	if !info.isEntry() && !info.isSeccomp() {
		t.resume(k, 0)
		return
	}
	nr := info.nr()
	if info.Arch != AuditArch {
		nr = -1 // another ABI (i386 int 0x80): numbers mean other calls
	}
	k.call = Syscall{Tid: k.tid, Pid: k.pid, Nr: nr, Args: info.args(), Data: uint16(info.RetData),
		IP: info.IP, SP: info.SP, Stime: t.stime(), t: t, k: k}
	// The launcher is invisible, but the execve that becomes the program
	// is the program's first call.
	if !k.visible && !(k.tid == t.main && nr == unix.SYS_EXECVE) {
		t.finishEntry(k, Continue)
		return
	}
	a := t.h.Enter(&k.call)
	if a.kind == actDefer {
		k.deferred = true
		return
	}
	t.finishEntry(k, a)
}

// stime is the system time in the last wait4's rusage.
func (t *Tracer) stime() time.Duration {
	if t.ru == nil {
		return 0
	}
	return time.Duration(t.ru.Stime.Nano())
}

// finishEntry applies a at a call's entry and resumes the task.
func (t *Tracer) finishEntry(k *task, a Action) {
	if t.tasks[k.tid] != k {
		return // gone (or detached) while deferred
	}
	k.deferred = false
	c := &k.call
	if c.argsDirty || a.kind == actReturn {
		var r regs
		if err := getRegs(k.tid, &r); err == nil {
			if c.argsDirty {
				setArgs(&r, &c.Args)
			}
			if a.kind == actReturn {
				setNr(&r, -1)
				setRet(&r, a.ret)
			}
			setRegs(k.tid, &r)
		}
		c.argsDirty = false
	}
	k.wantExit = a.kind == actExit
	t.resume(k, 0)
}

// resume continues k, delivering sig. Without a filter every call must
// stop, so the request is PTRACE_SYSCALL; with one, only when the exit
// stop of the current call is wanted.
func (t *Tracer) resume(k *task, sig unix.Signal) {
	req := unix.PTRACE_CONT
	if !t.seccomp || k.wantExit {
		req = unix.PTRACE_SYSCALL
	}
	ptrace(req, k.tid, 0, uintptr(sig))
}

func (t *Tracer) newChild(k *task, event int) {
	msg, err := getEventMsg(k.tid)
	if err != nil {
		t.resume(k, 0)
		return
	}
	child := int(msg)
	pid, thread := child, false
	if event == evClone {
		if g := readTgid(child); g != 0 {
			pid = g
		}
		thread = pid == k.pid
	}
	c := t.tasks[child]
	if c == nil {
		c = t.add(child, pid, k.visible)
	}
	c.pid, c.visible, c.known = pid, k.visible, true
	if k.visible {
		t.event(&Event{Kind: EventNewTask, Tid: child, Pid: pid, Parent: k.tid, Thread: thread, Vfork: event == evVfork})
	}
	if c.held {
		c.held = false
		t.resume(c, 0)
	}
	t.resume(k, 0)
}

func (t *Tracer) exec(k *task) {
	msg, _ := getEventMsg(k.tid)
	old := int(msg)
	if old != k.tid && t.tasks[old] != nil {
		// A non-leader thread exec'd: it now has the leader's tid, and the
		// leader is gone without an exit report.
		leader, execer := k, t.tasks[old]
		if leader.visible {
			t.event(&Event{Kind: EventSuperseded, Tid: leader.tid, Pid: leader.pid, OldTid: old})
		}
		delete(t.tasks, old)
		t.live--
		execer.tid, execer.mem = leader.tid, Memory{tid: leader.tid}
		execer.call.Tid = leader.tid
		t.tasks[leader.tid] = execer
		k = execer
	}
	if !k.visible {
		var info syscallInfo
		if getSyscallInfo(k.tid, &info) == nil {
			k.entryIP = info.IP
		}
	}
	k.visible = true
	t.event(&Event{Kind: EventExec, Tid: k.tid, Pid: k.pid, OldTid: old})
	t.resume(k, 0)
}

func (t *Tracer) signal(k *task, sig unix.Signal) {
	if k.pid == t.main && int(sig) < len(t.signaled) {
		t.signaled[sig].Store(time.Now().UnixNano())
	}
	ev := Event{Kind: EventSignal, Tid: k.tid, Pid: k.pid, Sig: sig, Deliver: sig}
	if k.visible {
		var si unix.Siginfo
		if getSiginfo(k.tid, &si) == nil {
			ev.Info = &si
		}
		if launcherSignal(k, &ev) {
			t.resume(k, 0)
			return
		}
		t.event(&ev)
	}
	t.resume(k, ev.Deliver)
}

// launcherSignal reports whether ev, a signal about to be delivered to k,
// is the launcher's own: the Go runtime preempts a goroutine by sending
// its thread SIGURG (tgkill, si_code SI_TKILL), and one sent just before
// the launcher's execve stays pending across it, to be delivered as the
// program returns from the execve, before the program has run an
// instruction. Neither the program nor its trace should see it. It is
// told from one the program sent itself by where the program is: still
// at its entry point, as at the exec. Once one finds it elsewhere, it has
// run, and no later one is looked at (so the stops in between cost
// nothing). The sender's pid is not checked: a SIGURG sent by tgkill to a
// program that has not run yet and has no handler for it (none survives
// an execve) does nothing to it, whoever sent it.
func launcherSignal(k *task, ev *Event) bool {
	if k.entryIP == 0 || ev.Sig != unix.SIGURG || ev.Info == nil || ev.Info.Code != siTkill {
		return false
	}
	var info syscallInfo
	if getSyscallInfo(k.tid, &info) == nil && info.IP == k.entryIP {
		return true
	}
	k.entryIP = 0
	return false
}

// siTkill is SI_TKILL (include/uapi/asm-generic/siginfo.h): a signal sent by
// tkill or tgkill.
const siTkill = -6

func (t *Tracer) gone(k *task, st Status) {
	delete(t.tasks, k.tid)
	t.live--
	if k.visible || k.tid == t.main {
		t.event(&Event{Kind: EventExit, Tid: k.tid, Pid: k.pid, Status: st, Leader: k.tid == k.pid})
	}
	if k.tid == t.main {
		t.mainSt = st
		t.mainGone.Store(true)
	}
}

func (t *Tracer) event(ev *Event) { t.h.Event(ev) }

// detachAll starts detaching: stopped tasks now, running ones at their
// next stop, which PTRACE_INTERRUPT forces.
func (t *Tracer) detachAll() {
	t.detaching = true
	for _, k := range t.tasks {
		if k.held || k.deferred {
			t.detach(k, 0, 0)
			continue
		}
		ptrace(unix.PTRACE_INTERRUPT, k.tid, 0, 0)
	}
}

// detach lets k go at a stop, re-injecting the signal it stopped with if
// that stop was a signal's delivery.
func (t *Tracer) detach(k *task, sig unix.Signal, event int) {
	var deliver uintptr
	if event == 0 && sig != 0 && sig != unix.SIGTRAP|0x80 {
		deliver = uintptr(sig)
	}
	ptrace(unix.PTRACE_DETACH, k.tid, 0, deliver)
	delete(t.tasks, k.tid)
	t.live--
}

// killTracees sends SIGKILL to every task that the thread tracer traces
// (/proc's TracerPid is the tracing thread's id).
func killTracees(tracer int) {
	if self, err := os.Readlink("/proc/self"); err != nil || self != strconv.Itoa(os.Getpid()) {
		return // a /proc of another pid namespace: its TracerPids are not ours
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		tasks, _ := os.ReadDir("/proc/" + p.Name() + "/task")
		for _, k := range tasks {
			if tid, err := strconv.Atoi(k.Name()); err == nil && statusField(tid, "TracerPid:") == tracer {
				unix.Tgkill(pid, tid, unix.SIGKILL)
			}
		}
	}
}

// readTgid returns the thread group of tid from /proc, or 0.
func readTgid(tid int) int { return statusField(tid, "Tgid:") }

// statusField returns a numeric field of /proc/TID/status ("Tgid:",
// "TracerPid:"), or 0.
func statusField(tid int, field string) int {
	n, _ := strconv.Atoi(statusText(tid, field))
	return n
}

// statusText is the value of field ("State:") in /proc/TID/status, or "".
func statusText(tid int, field string) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return ""
	}
	_, rest, ok := bytes.Cut(b, []byte("\n"+field))
	if !ok {
		return ""
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	return string(bytes.TrimSpace(line))
}

// spinner decides how the tracer waits for the next stop. A ptrace stop
// is a round trip between two threads: the tracee stops and wakes the
// tracer, the tracer resumes it. When the tracer sleeps in wait4 its CPU
// goes idle, and every stop then pays for waking an idle CPU (an
// inter-processor interrupt, and in a VM an exit from the halted vCPU)
// on top of the switch. So the tracer first polls with WNOHANG for up to
// spinBudget: a program making calls in a loop stops again within a few
// microseconds, and is caught while the tracer's CPU is still awake. A
// program that does not (it computes, sleeps or waits) makes the polls
// miss; after spinMisses misses in a row the tracer blocks at once for the
// next spinRest waits, then tries polling again, so an idle program costs
// at most a few polls' CPU per rest period.
//
// Measured on Bypass's getpid loop under carrot trace -f on this 2-vCPU
// VM: 34 µs per call polling against 52-57 blocking (strace: 49-55), and
// less CPU in all (4.4 s against 4.9 s for 100k calls): the idle wake-ups
// cost more than the polls.
//
// The polls are raw system calls, so the tracer keeps its P for at most
// spinBudget; the blocking wait goes through Go's syscall path, which lets
// the runtime stop the world for a garbage collection while the tracer
// sleeps (a raw blocking wait4 froze every other goroutine of carrot until
// the next stop). With a single CPU, polling only delays the tracee, and
// there is none.
type spinner struct {
	misses int // polls in a row that found nothing
	rest   int // waits left that block without polling
}

const (
	spinBudget = 30 * time.Microsecond
	spinMisses = 8
	spinRest   = 64
)

var canSpin = runtime.NumCPU() > 1

// wait4 waits for the next stop of any tracee.
func (s *spinner) wait4(ws *unix.WaitStatus, ru *unix.Rusage) (int, error) {
	if canSpin && s.rest == 0 {
		end := time.Now().Add(spinBudget)
		for {
			r, _, e := unix.RawSyscall6(unix.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(ws)), unix.WALL|unix.WNOHANG, uintptr(unsafe.Pointer(ru)), 0, 0)
			if e != 0 {
				return 0, e
			}
			if r != 0 {
				s.misses = 0
				return int(r), nil
			}
			if time.Now().After(end) {
				break
			}
		}
		if s.misses++; s.misses >= spinMisses {
			s.misses, s.rest = 0, spinRest
		}
	} else if s.rest > 0 {
		s.rest--
	}
	return unix.Wait4(-1, ws, unix.WALL, ru)
}
