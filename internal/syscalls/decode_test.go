package syscalls

import (
	"encoding/binary"
	"strings"
	"testing"
)

// Lines below were printed by strace 6.1 -f for a fork/pipe program
// (pid prefixes "18981 " are 6 columns wide).
func TestUnfinishedResumed(t *testing.T) {
	a := &arena{}
	buf := a.put([]byte("hello....."))
	d := Enter(&Call{Pid: 18981, Info: ByName("read"), Args: [6]uint64{3, buf, 10}}, arenaMem{a}, nil)
	if got, want := d.Entry()+" <unfinished ...>", "read(3,  <unfinished ...>"; got != want {
		t.Errorf("Entry() + \" <unfinished ...>\" = %q, want %q", got, want)
	}
	d.Exit(5, arenaMem{a})
	if got, want := d.ResumedCol(6), `<... read resumed>"hello", 10)    = 5`; got != want {
		t.Errorf("ResumedCol(6) = %q, want %q", got, want)
	}
	if got, want := d.Line(), `read(3, "hello", 10)                    = 5`; got != want {
		t.Errorf("Line() = %q, want %q", got, want)
	}

	w := Enter(&Call{Pid: 18982, Info: ByName("write"), Args: [6]uint64{4, buf, 5}}, arenaMem{a}, nil)
	w.Exit(5, nil)
	if got, want := w.LineCol(6), `write(4, "hello", 5)              = 5`; got != want {
		t.Errorf("LineCol(6) = %q, want %q", got, want)
	}
	if got, want := w.Entry()+" <unfinished ...>", `write(4, "hello", 5 <unfinished ...>`; got != want {
		t.Errorf("Entry() + \" <unfinished ...>\" = %q, want %q", got, want)
	}
	if got, want := w.Resumed(), `<... write resumed>)                    = 5`; got != want {
		t.Errorf("Resumed() = %q, want %q", got, want)
	}

	// Calls whose first argument is printed at exit print nothing at entry.
	g := Enter(&Call{Info: ByName("get_mempolicy"), Args: [6]uint64{0, 0, 0, 0, 1}}, nil, nil)
	if got, want := g.Entry()+" <unfinished ...>", "get_mempolicy( <unfinished ...>"; got != want {
		t.Errorf("Entry() + \" <unfinished ...>\" = %q, want %q", got, want)
	}
	g.Exit(0, nil)
	if got, want := g.Resumed(), "<... get_mempolicy resumed>NULL, NULL, 0, NULL, MPOL_F_NODE) = 0"; got != want {
		t.Errorf("Resumed() = %q, want %q", got, want)
	}

	// sched_setattr prints its flags at exit, after what E2BIG wrote back.
	sa := a.u32s(40, 0)
	ss := Enter(&Call{Info: ByName("sched_setattr"), Args: [6]uint64{0, sa, 0}}, arenaMem{a}, nil)
	if got, want := ss.Entry()+" <unfinished ...>", "sched_setattr(0, {size=40} <unfinished ...>"; got != want {
		t.Errorf("Entry() + \" <unfinished ...>\" = %q, want %q", got, want)
	}
	ss.Exit(-7, arenaMem{a})
	if got, want := ss.Resumed(), "<... sched_setattr resumed> => {size=40}, 0) = -1 E2BIG (Argument list too long)"; got != want {
		t.Errorf("Resumed() = %q, want %q", got, want)
	}

	wt := Enter(&Call{Info: ByName("wait4"), Args: [6]uint64{^uint64(0), 0, 0, 0}}, nil, nil)
	if got, want := wt.Entry()+" <unfinished ...>", "wait4(-1,  <unfinished ...>"; got != want {
		t.Errorf("Entry() + \" <unfinished ...>\" = %q, want %q", got, want)
	}
	wt.Exit(18982, nil)
	if got, want := wt.Line(), "wait4(-1, NULL, 0, NULL)                = 18982"; got != want {
		t.Errorf("Line() = %q, want %q", got, want)
	}
}

func TestAccessors(t *testing.T) {
	a := &arena{}
	d := Enter(&Call{Info: ByName("openat"), Args: [6]uint64{0xffffffffffffff9c, a.str("/x"), 0x241, 0644}}, arenaMem{a}, nil)
	d.Exit(-2, nil)
	if d.Name() != "openat" || d.Errno() != "ENOENT" || d.RetValue() != -2 || !d.Failed() {
		t.Errorf("accessors: %q %q %d %v", d.Name(), d.Errno(), d.RetValue(), d.Failed())
	}
	if got := strings.Join(d.Args(), "|"); got != `AT_FDCWD|"/x"|O_WRONLY|O_CREAT|O_TRUNC|0644` {
		t.Errorf("Args() = %q", got)
	}
	if d.Ret() != "-1 ENOENT (No such file or directory)" {
		t.Errorf("Ret() = %q", d.Ret())
	}
	d = Enter(&Call{Info: ByName("openat"), Args: [6]uint64{3, a.str("/x"), 0, 0644}}, arenaMem{a}, nil)
	d.Exit(4, nil)
	if len(d.Args()) != 3 || d.Errno() != "" || d.Ret() != "4" {
		t.Errorf("mode without O_CREAT: %q, ret %q", d.Args(), d.Ret())
	}
}

// A bad pointer prints as its address; nothing panics with nil memory.
func TestBadPointers(t *testing.T) {
	for _, name := range []string{"read", "write", "openat", "fstat", "execve", "connect", "rt_sigaction", "writev", "poll", "wait4", "pipe2", "accept", "recvmsg", "sendmsg", "statx", "openat2"} {
		info := ByName(name)
		args := [6]uint64{3, 0xdead0000, 0xdead1000, 0xdead2000, 0xdead3000, 0xdead4000}
		d := Enter(&Call{Info: info, Args: args}, arenaMem{&arena{}}, nil)
		d.Exit(1, nil)
		if !strings.Contains(d.Line(), "0xdead") && !strings.Contains(d.Line(), "(0x3,") {
			t.Errorf("%s: %s", name, d.Line())
		}
		d = Enter(&Call{Info: info, Args: args}, nil, nil)
		d.Exit(1, nil)
	}
}

// The structures decoded at entry and at exit print a bad pointer as its
// address too, and nothing panics with nil memory.
func TestBadPointersStructs(t *testing.T) {
	const bad = 0xdead0000
	for _, c := range []struct {
		name string
		args [6]uint64
		ret  int64
	}{
		{"fstatfs", [6]uint64{3, bad}, 0},
		{"capget", [6]uint64{bad, bad}, 0},
		{"capset", [6]uint64{bad, bad}, 0},
		{"get_mempolicy", [6]uint64{bad, bad, 1 << 40}, 0},
		{"set_mempolicy", [6]uint64{2, bad, ^uint64(0)}, 0},
		{"mbind", [6]uint64{0, 1, 2, bad, 1 << 62}, 0},
		{"mincore", [6]uint64{0, 1 << 62, bad}, 0},
		{"clock_adjtime", [6]uint64{0, bad}, 0},
		{"adjtimex", [6]uint64{bad}, 0},
		{"sched_setattr", [6]uint64{0, bad, 0}, -7},
		{"sched_getattr", [6]uint64{0, bad, 56, 0}, 0},
		{"statfs", [6]uint64{bad, bad}, 0},
		{"sysinfo", [6]uint64{bad}, 0},
		{"clone3", [6]uint64{bad, 88}, 77},
		{"clone3", [6]uint64{bad, 63}, 77},
		{"fcntl", [6]uint64{3, 6, bad}, 0},  // F_SETLK
		{"fcntl", [6]uint64{3, 5, bad}, 0},  // F_GETLK
		{"fcntl", [6]uint64{3, 16, bad}, 0}, // F_GETOWN_EX
		{"wait4", [6]uint64{^uint64(0), 0, 0, bad}, 5},
		{"waitid", [6]uint64{0, 0, bad, 4, bad}, 0},
		{"getrusage", [6]uint64{0, bad}, 0},
		{"prctl", [6]uint64{16, bad}, 0}, // PR_GET_NAME
		{"prctl", [6]uint64{15, bad}, 0}, // PR_SET_NAME
		{"prctl", [6]uint64{2, bad}, 0},  // PR_GET_PDEATHSIG
		{"prctl", [6]uint64{40, bad}, 0}, // PR_GET_TID_ADDRESS
		{"prctl", [6]uint64{22, 2, bad}, 0},
		{"getitimer", [6]uint64{0, bad}, 0},
		{"setitimer", [6]uint64{0, bad, bad}, 0},
		{"timer_create", [6]uint64{0, bad, bad}, 0},
		{"timer_settime", [6]uint64{7, 0, bad, bad}, 0},
		{"timerfd_gettime", [6]uint64{3, bad}, 0},
		{"sched_getaffinity", [6]uint64{0, 128, bad}, 8},
		{"sched_setaffinity", [6]uint64{0, 8, bad}, 0},
		{"getresuid", [6]uint64{bad, bad, bad}, 0},
		{"getgroups", [6]uint64{2, bad}, 2},
		{"setgroups", [6]uint64{2, bad}, 0},
		{"sigaltstack", [6]uint64{bad, bad}, 0},
		{"times", [6]uint64{bad}, 0},
		{"getcpu", [6]uint64{bad, bad}, 0},
		{"rt_sigtimedwait", [6]uint64{bad, bad, bad, 8}, 14},
		{"ppoll", [6]uint64{bad, 1, bad, bad, 8}, 1},
	} {
		for _, m := range []Memory{arenaMem{&arena{}}, nil} {
			d := Enter(&Call{Info: ByName(c.name), Args: c.args}, m, nil)
			d.Exit(c.ret, m)
			if !strings.Contains(d.Line(), "0xdead0000") {
				t.Errorf("%s %x: %s", c.name, c.args[:3], d.Line())
			}
		}
	}
}

func TestFdPaths(t *testing.T) {
	a := &arena{}
	o := &Options{FdPaths: 2, Fds: fileNamer{"TCP:[127.0.0.1:34671->127.0.0.1:46144]"}}
	d := Enter(&Call{Info: ByName("sendto"), Args: [6]uint64{3, a.str("x"), 1, 0x4000, 0, 0}}, arenaMem{a}, o)
	d.Exit(1, nil)
	want := `sendto(3<TCP:[127.0.0.1:34671->127.0.0.1:46144]>, "x", 1, MSG_NOSIGNAL, NULL, 0) = 1`
	if d.Line() != want {
		t.Errorf("got  %s\nwant %s", d.Line(), want)
	}
}

func TestOutSocklen(t *testing.T) {
	a := &arena{}
	sin := a.put([]byte{2, 0, 0, 80, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	lenp := a.u32s(128)
	d := Enter(&Call{Info: ByName("accept"), Args: [6]uint64{3, sin, lenp}}, arenaMem{a}, nil)
	binary.LittleEndian.PutUint32(a.mem[lenp-arenaBase:], 16) // the kernel writes the length back
	d.Exit(5, arenaMem{a})
	want := `accept(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, [128 => 16]) = 5`
	if d.Line() != want {
		t.Errorf("got  %s\nwant %s", d.Line(), want)
	}
}

func TestQuote(t *testing.T) {
	d := &Decoded{}
	for in, want := range map[string]string{
		"":             `""`,
		"a\"b\\":       `"a\"b\\"`,
		"\x00":         `"\0"`,
		"\x001":        `"\0001"`,
		"\x008":        `"\08"`,
		"\x1b[0m":      `"\33[0m"`,
		"\t\n\v\f\r":   `"\t\n\v\f\r"`,
		"\a\b":         `"\7\10"`,
		"\x7f\x80\xff": `"\177\200\377"`,
	} {
		if got := d.quote([]byte(in), false); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
	d.o.Hex = 1
	if got := d.quote([]byte("ab"), true); got != `"ab"...` {
		t.Errorf("-x printable: %s", got)
	}
	// strace 6.1 -x keeps \t..\r as printable ("BEGIN\n" stays readable)
	// and hexes a string only for other control bytes or bytes > 0x7e.
	if got := d.quote([]byte("a\n"), false); got != `"a\n"` {
		t.Errorf("-x whitespace: %s", got)
	}
	if got := d.quote([]byte("a\001"), false); got != `"\x61\x01"` {
		t.Errorf("-x control byte: %s", got)
	}
	if got := d.quote([]byte("a\xff"), false); got != `"\x61\xff"` {
		t.Errorf("-x high byte: %s", got)
	}
}

// TestIoctlSplit: an ioctl that reads something back splits before the
// comma, as strace 6.1 split it in a trace of `tar czf`:
// "ioctl(1, TCGETS <unfinished ...>", "<... ioctl resumed>, 0x...) = -1 ENOTTY";
// the whole line does not change.
func TestIoctlSplit(t *testing.T) {
	d := Enter(&Call{Info: ByName("ioctl"), Args: [6]uint64{1, 0x5401, 0x7ffc0000}}, nil, nil)
	if got, want := d.Entry()+" <unfinished ...>", "ioctl(1, TCGETS <unfinished ...>"; got != want {
		t.Errorf("Entry() + \" <unfinished ...>\" = %q, want %q", got, want)
	}
	d.Exit(-25, nil)
	resumed := "<... ioctl resumed>, 0x7ffc0000)"
	if got, want := d.Resumed(), resumed+strings.Repeat(" ", 39-len(resumed))+" = -1 ENOTTY (Inappropriate ioctl for device)"; got != want {
		t.Errorf("Resumed() = %q, want %q", got, want)
	}
	if got, want := d.Line(), "ioctl(1, TCGETS, 0x7ffc0000)            = -1 ENOTTY (Inappropriate ioctl for device)"; got != want {
		t.Errorf("Line() = %q, want %q", got, want)
	}
	if !strings.HasPrefix(d.Line(), d.Entry()) {
		t.Errorf("the entry %q does not begin the line %q", d.Entry(), d.Line())
	}
}

// TestClone3Split: a clone3 that writes back (CLONE_PIDFD) splits after
// its structure, the size going with the exit, and the resumed half
// begins with what was written back, as strace 6.1 printed it:
// "clone3({...} <unfinished ...>", "<... clone3 resumed> => {pidfd=[3]}, 88) = N".
func TestClone3Split(t *testing.T) {
	a := &arena{}
	pidfd := a.u32s(0)
	args := a.u64s(0x1000|0x4000, pidfd, 0, 0, 17, 0, 0, 0, 0, 0, 0) // flags CLONE_PIDFD|CLONE_VFORK, exit_signal SIGCHLD
	d := Enter(&Call{Info: ByName("clone3"), Args: [6]uint64{args, 88}}, arenaMem{a}, nil)
	entry := d.Entry()
	if !strings.HasPrefix(entry, "clone3({flags=CLONE_PIDFD|CLONE_VFORK, pidfd=") || !strings.HasSuffix(entry, "}") {
		t.Errorf("Entry() = %q, want the structure alone", entry)
	}
	binary.LittleEndian.PutUint32(a.mem[pidfd-arenaBase:], 3)
	d.Exit(4242, arenaMem{a})
	if got, want := d.Resumed(), "<... clone3 resumed> => {pidfd=[3]}, 88)"; !strings.HasPrefix(got, want) {
		t.Errorf("Resumed() = %q, want it to begin %q", got, want)
	}
	if !strings.HasPrefix(d.Line(), entry+" => {pidfd=[3]}, 88)") {
		t.Errorf("Line() = %q", d.Line())
	}
}
