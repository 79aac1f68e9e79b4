// Package kcount counts the system calls of chosen processes inside the
// kernel, with eBPF: carrot trace -c's counter when nothing needs a
// per-call stop.
//
// # Mechanism
//
// Three programs, written with cilium/ebpf's asm package (no C compiler,
// nothing generated), run on raw tracepoints that every task passes
// through:
//
//   - sys_enter (args: struct pt_regs *, long id): if the calling task's
//     thread group is in the traced map, record in the task's slot of the
//     start map (keyed by tid) the call's number, the process's serial
//     and the time. exit and exit_group never return: like strace -c, it
//     does not count them.
//   - sys_exit (args: struct pt_regs *, long ret): if the task has a call
//     in progress, add to the stats entry of (serial, number): one call,
//     one error if ret is in [-4095, -1], and the call's time.
//   - sched_switch (args: bool preempt, struct task_struct *prev, struct
//     task_struct *next, ...): prev is the current task; if it is in a
//     call, note when it leaves the CPU. next's tid is read from its
//     task_struct at the offset of "pid" that the kernel's own BTF gives
//     at load time (cilium/ebpf/btf); if next is in a call, the time it
//     spent off the CPU is added to the call's off time.
//
// A call's time is, by default, the CPU time it spent in the kernel: the
// wall time from its entry to its exit minus the time its task was
// switched out meanwhile, to the nanosecond. strace -c estimates the same
// quantity from the difference of the task's system time in wait4's rusage
// at the two stops, which the kernel splits from user time by sampling at
// ticks (unless it accounts every transition, as with nohz_full), and
// which includes the kernel work of the tracer's own stops; this is more
// exact. With Options.WallTime (strace's -w) the time is the wall time
// from entry to exit and the sched_switch program is not attached.
//
// Which processes: the caller adds a process with Trace (carrot's engine
// does it while the process is stopped: at the exec that makes the
// program, and at each fork with -f) and removes it with Retire when its
// thread group is gone. Threads share their thread group id, so they are
// counted with it. Each Trace of a new process gets a serial number, so a
// pid reused within a run gets a table of its own; the counts of retired
// processes are moved out of the kernel's map from time to time (Retire),
// which keeps the map small however many processes come and go.
//
// The execve that becomes the program starts before its process can be
// added (the process is carrot's launcher until the call succeeds), so
// sys_enter also records an execve or execveat made by an untraced task
// whose parent is carrot itself (read through task_struct's real_parent
// and tgid, also found in the BTF): at its exit the process is traced and
// the call is counted, as strace counts it. The other calls of untraced
// tasks cost one hash lookup at sys_enter and one at sys_exit; they are
// what the always-on syscall tracepoints cost every task while the
// programs are attached (measured in docs/benchmarks.md).
//
// Loading needs CAP_BPF and CAP_PERFMON (or root), kernel BTF
// (/sys/kernel/btf/vmlinux) and Linux 5.5 or later (bpf_probe_read_kernel);
// Open reports why it cannot, and carrot trace then counts with ptrace.
package kcount

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Options configure a Counter.
type Options struct {
	// WallTime counts each call's wall time from entry to exit instead of
	// its CPU time (strace -c -w).
	WallTime bool
}

// Count is one process's count of one system call.
type Count struct {
	Proc   int // the process's serial: 1 for the first process traced, and so on
	Pid    int
	Nr     int // the call's number (native ABI)
	Calls  uint64
	Errors uint64
	Time   time.Duration
}

// Map sizes: processes traced at once, tasks of traced processes alive at
// once, and (process, call) pairs of live processes plus the retired ones
// not yet moved out.
const (
	maxProcs = 1 << 13
	maxTasks = 1 << 15
	maxStats = 1 << 15
	// drainEvery retired processes, their counts move out of the kernel.
	drainEvery = 32
)

// Kernel-side layouts (native byte order).
type (
	// startRec is a task's call in progress (the start map's value).
	startRec struct {
		Enter  uint64 // ktime at entry; 0: not in a call
		Off    uint64 // ns switched out since entry
		OutAt  uint64 // ktime when switched out; 0: on a CPU
		Nr     uint32
		Serial uint32 // 0: not known at entry (the launcher's execve)
	}
	statKey struct{ Serial, Nr uint32 }
	statVal struct{ Calls, Errors, Ns uint64 }
)

// Offsets in startRec and statVal.
const (
	recEnter  = 0
	recOff    = 8
	recOutAt  = 16
	recNr     = 24
	recSerial = 28
	recSize   = 32
	valCalls  = 0
	valErrors = 8
	valNs     = 16
	valSize   = 24
)

// Counter is a set of loaded and attached counting programs.
type Counter struct {
	traced, start, stats, lost *ebpf.Map
	progs                      []*ebpf.Program
	links                      []link.Link

	mu      sync.Mutex
	serials map[int]uint32 // live traced pid -> serial
	pids    map[uint32]int // serial -> pid
	next    uint32
	retired []uint32
	moved   map[statKey]statVal // counts of retired processes, out of the kernel
	closed  bool
}

// taskOffsets are the task_struct field offsets the programs read.
type taskOffsets struct{ pid, tgid, realParent int32 }

func kernelOffsets() (taskOffsets, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return taskOffsets{}, fmt.Errorf("kernel BTF: %w", err)
	}
	var ts *btf.Struct
	if err := spec.TypeByName("task_struct", &ts); err != nil {
		return taskOffsets{}, fmt.Errorf("kernel BTF: task_struct: %w", err)
	}
	off := map[string]int32{}
	for _, m := range ts.Members {
		switch m.Name {
		case "pid", "tgid", "real_parent":
			if m.BitfieldSize != 0 || m.Offset%8 != 0 {
				return taskOffsets{}, fmt.Errorf("kernel BTF: task_struct.%s is a bitfield", m.Name)
			}
			off[m.Name] = int32(m.Offset.Bytes())
		}
	}
	for _, n := range []string{"pid", "tgid", "real_parent"} {
		if _, ok := off[n]; !ok {
			return taskOffsets{}, fmt.Errorf("kernel BTF: task_struct has no %s", n)
		}
	}
	return taskOffsets{pid: off["pid"], tgid: off["tgid"], realParent: off["real_parent"]}, nil
}

// Open loads the programs and attaches them. Nothing is counted until
// Trace adds a process.
func Open(o Options) (_ *Counter, err error) {
	offs, err := kernelOffsets()
	if err != nil {
		return nil, err
	}
	c := &Counter{serials: map[int]uint32{}, pids: map[uint32]int{}, moved: map[statKey]statVal{}}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	newMap := func(name string, typ ebpf.MapType, k, v, n uint32) (*ebpf.Map, error) {
		m, err := ebpf.NewMap(&ebpf.MapSpec{Name: name, Type: typ, KeySize: k, ValueSize: v, MaxEntries: n})
		if err != nil {
			return nil, fmt.Errorf("create map %s: %w", name, err)
		}
		return m, nil
	}
	if c.traced, err = newMap("carrot_traced", ebpf.Hash, 4, 4, maxProcs); err != nil {
		return nil, err
	}
	if c.start, err = newMap("carrot_start", ebpf.Hash, 4, recSize, maxTasks); err != nil {
		return nil, err
	}
	if c.stats, err = newMap("carrot_stats", ebpf.Hash, 8, valSize, maxStats); err != nil {
		return nil, err
	}
	if c.lost, err = newMap("carrot_lost", ebpf.Array, 4, 8, 1); err != nil {
		return nil, err
	}
	p := progs{traced: c.traced.FD(), start: c.start.FD(), stats: c.stats.FD(), lost: c.lost.FD(),
		offs: offs, carrot: int32(os.Getpid())}
	type hook struct {
		name  string
		insns asm.Instructions
	}
	hooks := []hook{{"sys_enter", p.enter()}, {"sys_exit", p.exit()}}
	if !o.WallTime {
		hooks = append(hooks, hook{"sched_switch", p.schedSwitch()})
	}
	// Attach the switch program first and sys_enter last, so that no call
	// is recorded before its exit and switches can be seen.
	slices.Reverse(hooks)
	for _, h := range hooks {
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Name: "carrot_" + h.name, Type: ebpf.RawTracepoint, Instructions: h.insns,
			License: "GPL", // bpf_probe_read_kernel is GPL-only
		})
		if err != nil {
			return nil, fmt.Errorf("load %s program: %w", h.name, err)
		}
		c.progs = append(c.progs, prog)
		l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: h.name, Program: prog})
		if err != nil {
			return nil, fmt.Errorf("attach to raw tracepoint %s: %w", h.name, err)
		}
		c.links = append(c.links, l)
	}
	return c, nil
}

// Close detaches the programs and frees the maps.
func (c *Counter) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for _, l := range slices.Backward(c.links) {
		errs = append(errs, l.Close())
	}
	for _, p := range c.progs {
		errs = append(errs, p.Close())
	}
	for _, m := range []*ebpf.Map{c.traced, c.start, c.stats, c.lost} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	return errors.Join(errs...)
}

// Trace starts counting process pid's calls (all its threads'), and
// returns its serial. A pid already traced keeps its serial.
func (c *Counter) Trace(pid int) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.serials[pid]; ok {
		return int(s), nil
	}
	if c.closed {
		return 0, errors.New("kcount: closed")
	}
	c.next++
	s := c.next
	if err := c.traced.Update(uint32(pid), s, ebpf.UpdateAny); err != nil {
		c.next--
		return 0, fmt.Errorf("kcount: trace %d: %w", pid, err)
	}
	c.serials[pid] = s
	c.pids[s] = pid
	return int(s), nil
}

// Retire stops counting process pid, whose thread group is gone; its
// counts stay. Every drainEvery retirements, the retired processes' counts
// move out of the kernel's map.
func (c *Counter) Retire(pid int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.serials[pid]
	if !ok || c.closed {
		return
	}
	delete(c.serials, pid)
	c.traced.Delete(uint32(pid))
	c.start.Delete(uint32(pid))
	c.retired = append(c.retired, s)
	if len(c.retired) >= drainEvery {
		c.drain()
	}
}

// TaskGone forgets task tid's call in progress (a task that died in a call
// leaves one).
func (c *Counter) TaskGone(tid int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.start.Delete(uint32(tid))
	}
}

// Moved tells that the task oldTid now has the tid newTid: a thread other
// than the leader called execve, and took over the leader's tid in the
// call; its call in progress moves with it.
func (c *Counter) Moved(oldTid, newTid int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || oldTid == newTid {
		return
	}
	var r startRec
	if c.start.Lookup(uint32(oldTid), &r) == nil {
		c.start.Update(uint32(newTid), &r, ebpf.UpdateAny)
		c.start.Delete(uint32(oldTid))
	} else {
		c.start.Delete(uint32(newTid))
	}
}

// drain moves the retired processes' counts out of the kernel; c.mu is
// held.
func (c *Counter) drain() {
	gone := map[uint32]bool{}
	for _, s := range c.retired {
		gone[s] = true
	}
	c.retired = c.retired[:0]
	var (
		k    statKey
		v    statVal
		keys []statKey
	)
	it := c.stats.Iterate()
	for it.Next(&k, &v) {
		if gone[k.Serial] {
			if _, dup := c.moved[k]; !dup {
				c.moved[k] = v
				keys = append(keys, k)
			}
		}
	}
	for _, k := range keys {
		c.stats.Delete(k)
	}
}

// Counts returns every count so far, of live and retired processes.
func (c *Counter) Counts() ([]Count, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("kcount: closed")
	}
	all := map[statKey]statVal{}
	var (
		k statKey
		v statVal
	)
	it := c.stats.Iterate()
	for it.Next(&k, &v) {
		all[k] = v
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("kcount: read counts: %w", err)
	}
	for k, v := range c.moved {
		all[k] = v
	}
	out := make([]Count, 0, len(all))
	for k, v := range all {
		out = append(out, Count{Proc: int(k.Serial), Pid: c.pids[k.Serial], Nr: int(int32(k.Nr)),
			Calls: v.Calls, Errors: v.Errors, Time: time.Duration(v.Ns)})
	}
	slices.SortFunc(out, func(a, b Count) int {
		if a.Proc != b.Proc {
			return a.Proc - b.Proc
		}
		return a.Nr - b.Nr
	})
	return out, nil
}

// Lost is the number of calls the kernel could not count because a map
// was full.
func (c *Counter) Lost() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n uint64
	if !c.closed {
		c.lost.Lookup(uint32(0), &n)
	}
	return n
}

// The syscall numbers the programs know (native ABI).
const (
	sysExecve    = unix.SYS_EXECVE
	sysExecveat  = unix.SYS_EXECVEAT
	sysExit      = unix.SYS_EXIT
	sysExitGroup = unix.SYS_EXIT_GROUP
)
