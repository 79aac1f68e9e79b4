package trace

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// The fd report (--fds) is ntrace's idea done from outside the program:
// every descriptor is classified (file, tcp, udp, unix, pipe, tty,
// eventfd, other) the first time a data call uses it, by what the kernel
// says it is, so a socket read with read(2) counts as network traffic and
// a pipe read with read(2) as pipe traffic. Per process and per fd,
// carrot counts the calls and bytes of each data call.
//
// Only the data calls and the calls that end an fd's life under its
// number (close, close_range, dup2, dup3, a successful exec closing
// O_CLOEXEC fds) stop the program; calls that create descriptors need not,
// since a new descriptor is classified at its first use.

// ioCall says which arguments of a data call are the fds read from (in)
// and written to (out); -1 when none.
type ioCall struct {
	name    string
	in, out int
	mmsg    bool // the result counts messages; bytes are in the mmsghdr vector
}

// ioCalls are the data calls, in the report's column order.
var ioCalls = []ioCall{
	{"read", 0, -1, false}, {"readv", 0, -1, false}, {"pread64", 0, -1, false},
	{"preadv", 0, -1, false}, {"preadv2", 0, -1, false},
	{"recvfrom", 0, -1, false}, {"recvmsg", 0, -1, false}, {"recvmmsg", 0, -1, true},
	{"write", -1, 0, false}, {"writev", -1, 0, false}, {"pwrite64", -1, 0, false},
	{"pwritev", -1, 0, false}, {"pwritev2", -1, 0, false},
	{"sendto", -1, 0, false}, {"sendmsg", -1, 0, false}, {"sendmmsg", -1, 0, true},
	{"sendfile", 1, 0, false}, {"splice", 0, 2, false}, {"tee", 0, 1, false},
	{"copy_file_range", 0, 2, false}, {"vmsplice", -1, 0, false},
}

var ioNr = func() map[int]int {
	m := map[int]int{}
	for i, c := range ioCalls {
		m[nrOf(c.name)] = i
	}
	return m
}()

// fdLifeCalls end an fd's life under its number.
var fdLifeCalls = []string{"close", "close_range", "dup2", "dup3", "execve", "execveat"}

// fdCalls are every call the fd tracker needs to stop on.
func fdCalls() []int {
	var nrs []int
	for _, c := range ioCalls {
		nrs = append(nrs, nrOf(c.name))
	}
	for _, n := range fdLifeCalls {
		nrs = append(nrs, nrOf(n))
	}
	return nrs
}

// ioStat counts one data call on one fd; a call that moves data between
// two fds (sendfile, splice) counts input on one and output on the other.
type ioStat struct{ calls, in, out uint64 }

// fdRec is one descriptor's life under one number in one process.
type fdRec struct {
	fd    int
	class Class
	name  string
	stats [nIO]ioStat
}

// nIO is len(ioCalls), as a constant for fdRec's array.
const nIO = 21

func (r *fdRec) used() bool {
	for _, s := range r.stats {
		if s.calls > 0 {
			return true
		}
	}
	return false
}

// fdProc is one process's descriptors; its threads share it.
type fdProc struct {
	pid  int
	comm string
	fds  map[int]*fdRec
	done []*fdRec // ended, with traffic
}

// fdTracker keeps every process's fd table. Tracer thread only.
type fdTracker struct {
	probe *probe
	procs map[int]*fdProc
	gone  []*fdProc // exited, in exit order
}

func newFdTracker(p *probe) *fdTracker {
	if len(ioCalls) != nIO {
		panic("trace: nIO out of step with ioCalls")
	}
	return &fdTracker{probe: p, procs: map[int]*fdProc{}}
}

func (t *fdTracker) proc(pid int) *fdProc {
	p := t.procs[pid]
	if p == nil {
		p = &fdProc{pid: pid, fds: map[int]*fdRec{}, comm: comm(pid)}
		t.procs[pid] = p
	}
	return p
}

// rec returns pid's record for fd, classifying fd if it is new.
func (t *fdTracker) rec(pid, fd int) *fdRec {
	p := t.proc(pid)
	r := p.fds[fd]
	if r == nil {
		c, name := t.probe.classify(pid, fd)
		r = &fdRec{fd: fd, class: c, name: name}
		p.fds[fd] = r
	}
	return r
}

// class is fd's class in pid, for per-call output; "" if fd is not open.
// Called at a call's entry, while the fd still exists.
func (t *fdTracker) class(pid, fd int) Class {
	if fd < 0 {
		return ""
	}
	if r := t.proc(pid).fds[fd]; r != nil {
		return r.class
	}
	if link(pid, fd) == "" {
		return "" // not open: nothing to remember
	}
	return t.rec(pid, fd).class
}

func (p *fdProc) end(fd int) {
	if r := p.fds[fd]; r != nil {
		delete(p.fds, fd)
		if r.used() {
			p.done = append(p.done, r)
		}
	}
}

// fork gives child a copy of parent's table: same classes, new counters.
func (t *fdTracker) fork(parent, child int) {
	pp := t.procs[parent]
	cp := t.proc(child)
	if pp == nil {
		return
	}
	for fd, r := range pp.fds {
		cp.fds[fd] = &fdRec{fd: fd, class: r.class, name: r.name}
	}
}

// exit accounts a finished call. args are the call's arguments, ret its
// result, mem the tracee's memory (for sendmmsg/recvmmsg).
func (t *fdTracker) exit(pid, nr int, args *[6]uint64, ret int64, mem memReader) {
	if i, ok := ioNr[nr]; ok {
		c := ioCalls[i]
		bytes := uint64(0)
		if ret > 0 {
			bytes = uint64(ret)
			if c.mmsg {
				bytes = mmsgBytes(mem, args[1], int(ret))
			}
		}
		if c.in >= 0 {
			if fd := int(int32(args[c.in])); fd >= 0 {
				s := &t.rec(pid, fd).stats[i]
				s.calls++
				s.in += bytes
			}
		}
		if c.out >= 0 {
			if fd := int(int32(args[c.out])); fd >= 0 {
				s := &t.rec(pid, fd).stats[i]
				s.calls++
				s.out += bytes
			}
		}
		return
	}
	if ret < 0 {
		return
	}
	p := t.proc(pid)
	switch name := nameOf(nr); name {
	case "close":
		p.end(int(int32(args[0])))
	case "close_range":
		if args[2]&unix.CLOSE_RANGE_CLOEXEC != 0 {
			return
		}
		for fd := range p.fds {
			if uint64(fd) >= args[0] && uint64(fd) <= args[1] {
				p.end(fd)
			}
		}
	case "dup2", "dup3":
		oldfd, newfd := int(int32(args[0])), int(int32(args[1]))
		if oldfd == newfd {
			return
		}
		p.end(newfd)
		old := t.rec(pid, oldfd)
		p.fds[newfd] = &fdRec{fd: newfd, class: old.class, name: old.name}
	case "execve", "execveat":
		p.comm = comm(pid)
		for fd := range p.fds {
			if link(pid, fd) == "" {
				p.end(fd)
			}
		}
	}
}

// exited retires a process's table.
func (t *fdTracker) exited(pid int) {
	p := t.procs[pid]
	if p == nil {
		return
	}
	delete(t.procs, pid)
	fds := slices.Sorted(maps.Keys(p.fds))
	for _, fd := range fds {
		p.end(fd)
	}
	t.gone = append(t.gone, p)
	t.probe.forget(pid)
}

type memReader interface {
	ReadAt(p []byte, addr uint64) (int, error)
}

// mmsgBytes sums msg_len over n struct mmsghdr at addr (each 64 bytes:
// a 56-byte msghdr, then unsigned int msg_len).
func mmsgBytes(mem memReader, addr uint64, n int) uint64 {
	if n <= 0 || n > 1024 {
		return 0
	}
	buf := make([]byte, 64*n)
	got, _ := mem.ReadAt(buf, addr)
	var sum uint64
	for i := 0; i+64 <= got; i += 64 {
		sum += uint64(binary.LittleEndian.Uint32(buf[i+56:]))
	}
	return sum
}

func comm(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return ""
	}
	return string(bytes.TrimRight(b, "\n"))
}

// Report types, shared by the text and JSON reports.

// FdReport is the --fds report for one process.
type FdReport struct {
	Pid     int           `json:"pid"`
	Comm    string        `json:"comm"`
	Fds     []FdUse       `json:"fds"`
	Classes []ClassTotals `json:"classes"`
}

// FdUse is one descriptor's traffic.
type FdUse struct {
	Fd    int       `json:"fd"`
	Class Class     `json:"class"`
	Name  string    `json:"name"`
	Calls []CallUse `json:"calls"`
}

// CallUse is one data call's count and bytes on one descriptor.
type CallUse struct {
	Call     string `json:"call"`
	Calls    uint64 `json:"calls"`
	BytesIn  uint64 `json:"bytes_in"`
	BytesOut uint64 `json:"bytes_out"`
}

// ClassTotals sums a process's traffic by class.
type ClassTotals struct {
	Class    Class  `json:"class"`
	Calls    uint64 `json:"calls"`
	BytesIn  uint64 `json:"bytes_in"`
	BytesOut uint64 `json:"bytes_out"`
}

// reports returns every process's report, exited ones first.
func (t *fdTracker) reports() []FdReport {
	procs := slices.Clone(t.gone)
	live := slices.SortedFunc(maps.Values(t.procs), func(a, b *fdProc) int { return cmp.Compare(a.pid, b.pid) })
	var out []FdReport
	for _, p := range append(procs, live...) {
		recs := slices.Clone(p.done)
		for _, fd := range slices.Sorted(maps.Keys(p.fds)) {
			if r := p.fds[fd]; r.used() {
				recs = append(recs, r)
			}
		}
		rep := FdReport{Pid: p.pid, Comm: p.comm}
		totals := map[Class]*ClassTotals{}
		for _, r := range recs {
			u := FdUse{Fd: r.fd, Class: r.class, Name: r.name}
			ct := totals[r.class]
			if ct == nil {
				ct = &ClassTotals{Class: r.class}
				totals[r.class] = ct
			}
			for i, s := range r.stats {
				if s.calls == 0 {
					continue
				}
				u.Calls = append(u.Calls, CallUse{Call: ioCalls[i].name, Calls: s.calls, BytesIn: s.in, BytesOut: s.out})
				ct.Calls += s.calls
				ct.BytesIn += s.in
				ct.BytesOut += s.out
			}
			rep.Fds = append(rep.Fds, u)
		}
		for _, c := range slices.Sorted(maps.Keys(totals)) {
			rep.Classes = append(rep.Classes, *totals[c])
		}
		if len(rep.Fds) > 0 {
			out = append(out, rep)
		}
	}
	return out
}

// writeFdReport prints reports as text tables.
func writeFdReport(w io.Writer, reps []FdReport) {
	for i, rep := range reps {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "fds of pid %d (%s)\n", rep.Pid, rep.Comm)
		fmt.Fprintf(w, "%5s %-7s %-40s %-16s %9s %12s %12s\n", "fd", "class", "name", "call", "calls", "bytes in", "bytes out")
		for _, u := range rep.Fds {
			name := u.Name
			if len(name) > 40 {
				name = "..." + name[len(name)-37:]
			}
			for j, c := range u.Calls {
				fd, class := strconv.Itoa(u.Fd), string(u.Class)
				if j > 0 {
					fd, class, name = "", "", ""
				}
				fmt.Fprintf(w, "%5s %-7s %-40s %-16s %9d %12d %12d\n", fd, class, name, c.Call, c.Calls, c.BytesIn, c.BytesOut)
			}
		}
		fmt.Fprintf(w, "%5s %-7s %-40s %-16s %9s %12s %12s\n", "", "totals", "", "", "calls", "bytes in", "bytes out")
		for _, c := range rep.Classes {
			fmt.Fprintf(w, "%5s %-7s %-40s %-16s %9d %12d %12d\n", "", c.Class, "", "", c.Calls, c.BytesIn, c.BytesOut)
		}
	}
}
