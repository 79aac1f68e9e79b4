package kcount

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The tests run children made from this test binary (TestMain): each waits
// for a byte on stdin, so that it can be traced before it starts, then
// does its work and exits.
func TestMain(m *testing.M) {
	if mode := os.Getenv("KCOUNT_CHILD"); mode != "" {
		child(mode)
		return
	}
	os.Exit(m.Run())
}

func child(mode string) {
	var b [1]byte
	os.Stdin.Read(b[:])
	switch mode {
	case "getppid":
		// getppid, not getpid: Go's runtime calls getpid to signal its
		// own threads (preemption).
		n, _ := strconv.Atoi(os.Getenv("KCOUNT_N"))
		for range n {
			unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		}
	case "fail":
		// close(-1): EBADF every time.
		for range 77 {
			unix.RawSyscall(unix.SYS_CLOSE, ^uintptr(0), 0, 0)
		}
	case "sleep":
		// 200 ms, resumed after the runtime's preemption signals.
		ts := unix.NsecToTimespec(int64(200 * time.Millisecond))
		for {
			_, _, e := unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), uintptr(unsafe.Pointer(&ts)), 0)
			if e != unix.EINTR {
				break
			}
		}
	case "burn":
		// getrandom of large buffers: the kernel generates every byte.
		// (The plain call: x/sys's Getrandom may use the vDSO's. Not
		// RawSyscall: the runtime would not know the goroutine is in a
		// call, and its other threads would burn system time signalling
		// it to stop for a GC.) A signal may cut a call short.
		buf := make([]byte, 16<<20)
		for left := 128 << 20; left > 0; {
			n, _, e := unix.Syscall(unix.SYS_GETRANDOM, uintptr(unsafe.Pointer(&buf[0])), uintptr(min(left, len(buf))), 0)
			if e == 0 {
				left -= int(n)
			}
		}
	}
	os.Exit(0)
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root to load eBPF programs, as CI has")
	}
}

func open(t *testing.T, o Options) *Counter {
	t.Helper()
	needRoot(t)
	c, err := Open(o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type kid struct {
	cmd *exec.Cmd
	go_ *os.File
}

// startChild starts a child in mode, waiting for its go.
func startChild(t *testing.T, mode string, env ...string) *kid {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), append(env, "KCOUNT_CHILD="+mode)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	return &kid{cmd, w}
}

func (k *kid) run(t *testing.T) {
	t.Helper()
	k.go_.Write([]byte{1})
	k.go_.Close()
	if err := k.cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}

// find returns a process's count of call nr.
func find(t *testing.T, c *Counter, proc, nr int) Count {
	t.Helper()
	counts, err := c.Counts()
	if err != nil {
		t.Fatal(err)
	}
	var sum Count
	for _, x := range counts {
		if x.Proc == proc && x.Nr == nr {
			sum = x
		}
	}
	return sum
}

func TestCountsTracedOnly(t *testing.T) {
	c := open(t, Options{})
	const n = 5000
	traced := startChild(t, "getppid", "KCOUNT_N="+strconv.Itoa(n))
	other := startChild(t, "getppid", "KCOUNT_N="+strconv.Itoa(n))
	proc, err := c.Trace(traced.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.Trace(traced.cmd.Process.Pid); again != proc {
		t.Errorf("Trace twice: serials %d, %d", proc, again)
	}
	// A getppid loop in this process too, at the same time: not counted.
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		for !stop.Load() {
			unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		}
		close(done)
	}()
	other.run(t)
	traced.run(t)
	stop.Store(true)
	<-done
	got := find(t, c, proc, unix.SYS_GETPPID)
	if got.Calls != n || got.Errors != 0 || got.Pid != traced.cmd.Process.Pid {
		t.Errorf("getppid: %+v, want %d calls by pid %d", got, n, traced.cmd.Process.Pid)
	}
	counts, _ := c.Counts()
	for _, x := range counts {
		if x.Proc != proc {
			t.Errorf("an untraced process counted: %+v", x)
		}
	}
	if got.Time <= 0 || got.Time > n*50*time.Microsecond {
		t.Errorf("getppid time %v for %d calls", got.Time, n)
	}
	if l := c.Lost(); l != 0 {
		t.Errorf("%d calls lost", l)
	}
}

func TestErrors(t *testing.T) {
	c := open(t, Options{})
	k := startChild(t, "fail")
	proc, err := c.Trace(k.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	k.run(t)
	if got := find(t, c, proc, unix.SYS_CLOSE); got.Calls < 77 || got.Errors != 77 {
		t.Errorf("close(-1): %+v, want 77 errors", got)
	}
}

// TestTime: a 200 ms nanosleep takes almost no CPU time, and 200 ms of
// wall time; large getrandom calls take CPU time.
func TestTime(t *testing.T) {
	for _, wall := range []bool{false, true} {
		t.Run(fmt.Sprint("wall=", wall), func(t *testing.T) {
			c := open(t, Options{WallTime: wall})
			k := startChild(t, "sleep")
			proc, err := c.Trace(k.cmd.Process.Pid)
			if err != nil {
				t.Fatal(err)
			}
			k.run(t)
			got := find(t, c, proc, unix.SYS_NANOSLEEP)
			// The Go runtime's sysmon sleeps with nanosleep too: 20 µs
			// to 10 ms at a time.
			if got.Calls < 1 {
				t.Fatalf("nanosleep: %+v", got)
			}
			if wall && (got.Time < 200*time.Millisecond || got.Time > 2*time.Second) {
				t.Errorf("-w: nanosleep %v, want about 200ms", got.Time)
			}
			// CPU time: the 200 ms sleep counts for nearly nothing; the
			// runtime's own short sleeps add their entry and exit costs,
			// which a loaded machine inflates (22 ms seen with the whole
			// suite running). Half the sleep still tells CPU from wall.
			if !wall && got.Time > 100*time.Millisecond {
				t.Errorf("nanosleep used %v of CPU, want far less than the 200ms slept", got.Time)
			}
		})
	}
	t.Run("burn", func(t *testing.T) {
		c := open(t, Options{})
		k := startChild(t, "burn", "GOGC=off", "GOMAXPROCS=1")
		proc, err := c.Trace(k.cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		k.run(t)
		wall := time.Since(start)
		got := find(t, c, proc, unix.SYS_GETRANDOM)
		stime := k.cmd.ProcessState.SystemTime()
		t.Logf("getrandom: %d calls, %v in the kernel; the child's system time %v, wall %v", got.Calls, got.Time, stime, wall)
		// The child's system time also has its page faults and its
		// runtime's calls; the getrandom calls are most of it.
		if got.Calls < 8 || got.Time < stime*3/4 || got.Time > wall {
			t.Errorf("getrandom: %+v, want at least 8 calls, most of the child's system time %v", got, stime)
		}
	})
}

// TestRetireDrain: the counts of many short processes survive their move
// out of the kernel.
func TestRetireDrain(t *testing.T) {
	c := open(t, Options{})
	const procs = drainEvery + 5
	serial := map[int]int{}
	for i := range procs {
		k := startChild(t, "getppid", "KCOUNT_N="+strconv.Itoa(100+i))
		proc, err := c.Trace(k.cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		serial[proc] = 100 + i
		k.run(t)
		c.Retire(k.cmd.Process.Pid)
	}
	if len(c.moved) == 0 {
		t.Errorf("nothing moved out of the kernel after %d retirements", procs)
	}
	for proc, n := range serial {
		if got := find(t, c, proc, unix.SYS_GETPPID); got.Calls != uint64(n) {
			t.Errorf("process %d: %d getppid, want %d", proc, got.Calls, n)
		}
	}
}
