package trace

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/carrot-project/carrot/internal/syscalls"
)

// callStat counts one syscall's calls, errors and time.
type callStat struct {
	calls, errors uint64
	time          time.Duration
}

// procSummary is one process's table.
type procSummary struct {
	pid   int
	comm  string
	calls map[string]*callStat
}

// summary is -c's bookkeeping: per process and merged. The tracer thread
// adds to it; a --summary-interval printer reads it, hence mu. Processes
// are keyed by pid, or by the kernel counter's serial (addCounts), which
// tells apart two processes that had the same pid.
type summary struct {
	mu     sync.Mutex
	procs  map[int]*procSummary
	order  []int  // keys in first-seen order
	sortBy string // the rows' order (Options.SortBy)
}

func newSummary(sortBy string) *summary {
	return &summary{procs: map[int]*procSummary{}, sortBy: sortBy}
}

// SortKeys are the orders of -c's rows that -S takes, strace's names and
// their aliases: by total time (the default), average time, calls, errors,
// name, or none (by system call number, as strace leaves them).
var SortKeys = []string{
	"time", "time-total", "time_total", "total-time", "total_time", "time-percent", "time_percent",
	"avg-time", "avg_time", "time-avg", "time_avg",
	"calls", "count", "errors", "error", "name", "syscall", "syscall-name", "syscall_name", "nothing", "none",
}

// rowOrder compares two rows for sortBy (SortKeys). Ties keep the system
// calls' numbers' order, as strace's stable sort of its table does.
func rowOrder(sortBy string) func(a, b SummaryRow) int {
	byNr := func(a, b SummaryRow) int { return cmp.Compare(rowNr(a.Syscall), rowNr(b.Syscall)) }
	avg := func(r SummaryRow) float64 { return r.Seconds / float64(max(r.Calls, 1)) }
	var key func(a, b SummaryRow) int
	switch sortBy {
	case "avg-time", "avg_time", "time-avg", "time_avg":
		key = func(a, b SummaryRow) int { return cmp.Compare(avg(b), avg(a)) }
	case "calls", "count":
		key = func(a, b SummaryRow) int { return cmp.Compare(b.Calls, a.Calls) }
	case "errors", "error":
		key = func(a, b SummaryRow) int { return cmp.Compare(b.Errors, a.Errors) }
	case "name", "syscall", "syscall-name", "syscall_name":
		return func(a, b SummaryRow) int { return strings.Compare(a.Syscall, b.Syscall) }
	case "nothing", "none":
		return byNr
	default: // by total time
		key = func(a, b SummaryRow) int { return cmp.Compare(b.Seconds, a.Seconds) }
	}
	return func(a, b SummaryRow) int {
		if c := key(a, b); c != 0 {
			return c
		}
		return byNr(a, b)
	}
}

// rowNr is the system call number of a row's name, for -S nothing (a name
// the table does not know, such as syscall_1023, goes last).
func rowNr(name string) int {
	if info := syscalls.ByName(name); info != nil {
		return info.Nr
	}
	return syscalls.MaxNr + 1
}

// proc returns pid's table, making it; s.mu is held.
func (s *summary) proc(pid int) *procSummary {
	p := s.procs[pid]
	if p == nil {
		p = &procSummary{pid: pid, calls: map[string]*callStat{}}
		s.procs[pid] = p
		s.order = append(s.order, pid)
	}
	return p
}

func (s *summary) add(pid int, name string, failed bool, d time.Duration) {
	s.mu.Lock()
	p := s.proc(pid)
	c := p.calls[name]
	if c == nil {
		c = &callStat{}
		p.calls[name] = c
	}
	c.calls++
	c.time += max(d, 0)
	if failed {
		c.errors++
	}
	s.mu.Unlock()
}

// addCounts adds the kernel's count of one call by one process (key: its
// serial).
func (s *summary) addCounts(key, pid int, comm, name string, calls, errors uint64, d time.Duration) {
	s.mu.Lock()
	p := s.proc(key)
	p.pid = pid
	if comm != "" {
		p.comm = comm
	}
	c := p.calls[name]
	if c == nil {
		c = &callStat{}
		p.calls[name] = c
	}
	c.calls += calls
	c.errors += errors
	c.time += max(d, 0)
	s.mu.Unlock()
}

func (s *summary) setComm(pid int, comm string) {
	s.mu.Lock()
	if comm != "" {
		s.proc(pid).comm = comm
	}
	s.mu.Unlock()
}

// SummaryRow is one line of a -c table.
type SummaryRow struct {
	Syscall     string  `json:"syscall"`
	Percent     float64 `json:"percent_time"`
	Seconds     float64 `json:"seconds"`
	UsecsPerCal uint64  `json:"usecs_per_call"`
	Calls       uint64  `json:"calls"`
	Errors      uint64  `json:"errors"`
}

// SummaryTable is a -c table: one process's, or every process's merged.
type SummaryTable struct {
	Pid   int          `json:"pid,omitempty"` // 0 for the merged table
	Comm  string       `json:"comm,omitempty"`
	Rows  []SummaryRow `json:"rows"`
	Total SummaryRow   `json:"total"`
}

func table(calls map[string]*callStat, sortBy string) SummaryTable {
	var total callStat
	for _, c := range calls {
		total.calls += c.calls
		total.errors += c.errors
		total.time += c.time
	}
	row := func(name string, c *callStat) SummaryRow {
		r := SummaryRow{Syscall: name, Seconds: c.time.Seconds(), Calls: c.calls, Errors: c.errors}
		if total.time > 0 {
			r.Percent = 100 * float64(c.time) / float64(total.time)
		}
		if c.calls > 0 {
			r.UsecsPerCal = uint64(c.time.Microseconds()) / c.calls
		}
		return r
	}
	t := SummaryTable{Total: row("total", &total)}
	t.Total.Percent = 100 // even when no call took measurable time, as strace prints it
	for name, c := range calls {
		t.Rows = append(t.Rows, row(name, c))
	}
	slices.SortFunc(t.Rows, rowOrder(sortBy))
	return t
}

// tables returns each process's table (only when there are several) and
// the merged one.
func (s *summary) tables() (perProc []SummaryTable, merged SummaryTable) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := map[string]*callStat{}
	for _, pid := range s.order {
		p := s.procs[pid]
		for name, c := range p.calls {
			a := all[name]
			if a == nil {
				a = &callStat{}
				all[name] = a
			}
			a.calls += c.calls
			a.errors += c.errors
			a.time += c.time
		}
		if len(s.order) > 1 && len(p.calls) > 0 {
			t := table(p.calls, s.sortBy)
			t.Pid, t.Comm = p.pid, p.comm
			perProc = append(perProc, t)
		}
	}
	return perProc, table(all, s.sortBy)
}

// writeSummary prints -c's tables in strace's format: each process's
// table under a "pid N (comm)" heading when there are several, then the
// merged one.
func (s *summary) write(w io.Writer) {
	perProc, merged := s.tables()
	for _, t := range perProc {
		fmt.Fprintf(w, "pid %d (%s):\n", t.Pid, t.Comm)
		writeTable(w, t)
		fmt.Fprintln(w)
	}
	if len(perProc) > 0 {
		fmt.Fprintln(w, "all processes:")
	}
	writeTable(w, merged)
}

// writeTable prints one table as strace -c does: the last rule one longer
// than the longest call name, 16 at least.
func writeTable(w io.Writer, t SummaryTable) {
	longest := 15
	for _, r := range t.Rows {
		longest = max(longest, len(r.Syscall))
	}
	summaryRule := "------ ----------- ----------- --------- --------- " + strings.Repeat("-", longest+1)
	fmt.Fprintf(w, "%6.6s %11.11s %11.11s %9.9s %9.9s %s\n", "% time", "seconds", "usecs/call", "calls", "errors", "syscall")
	fmt.Fprintln(w, summaryRule)
	line := func(r SummaryRow, pct string) {
		errs := ""
		if r.Errors > 0 {
			errs = fmt.Sprint(r.Errors)
		}
		fmt.Fprintf(w, "%6s %11.6f %11d %9d %9s %s\n", pct, r.Seconds, r.UsecsPerCal, r.Calls, errs, r.Syscall)
	}
	for _, r := range t.Rows {
		line(r, fmt.Sprintf("%.2f", r.Percent))
	}
	fmt.Fprintln(w, summaryRule)
	line(t.Total, fmt.Sprintf("%.2f", t.Total.Percent))
}
