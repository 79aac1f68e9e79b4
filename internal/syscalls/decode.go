package syscalls

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/carrot-project/carrot/internal/linux"
)

// Memory reads a tracee's memory (process_vm_readv in the tracer; a byte
// slice in tests).
type Memory interface {
	// ReadAt reads len(p) bytes at addr. Near unmapped memory it may
	// return n < len(p) and an error.
	ReadAt(p []byte, addr uint64) (n int, err error)
}

// FdNamer names a tracee's file descriptors for -y and -yy.
type FdNamer interface {
	// FdName returns what strace prints between < and > after fd ("/etc/passwd",
	// "TCP:[127.0.0.1:34671->127.0.0.1:46144]"), or "" when unknown. For
	// fd == AT_FDCWD (-100) it returns the process's working directory,
	// which strace -y prints after an AT_FDCWD dirfd. A path may be
	// followed by a NUL and a note that -yy shows in brackets of its own
	// after it ("/dev/null\x00char 1:3": 1</dev/null<char 1:3>>).
	FdName(pid, fd int) string
}

// Options are strace's output options that change how calls are rendered.
type Options struct {
	StrSize int     // -s: longest string printed; 0 means strace's default, 32, and StrSizeZero is -s 0
	Verbose bool    // -v: unabbreviated structures, full argv and envp
	Hex     int     // -x: 0 off, 1 non-ASCII strings in \x form, 2 (-xx) every string in \x form
	FdPaths int     // 0 off; 1 -y: 3</etc/passwd>; 2 -yy: socket endpoints too (the FdNamer decides)
	Fds     FdNamer // may be nil
}

// DefaultStrSize is strace's default -s.
const DefaultStrSize = 32

// StrSizeZero is the Options.StrSize of strace's -s 0, which prints no
// byte of a string (""...) and no element of an array ([...]); StrSize 0
// is the default.
const StrSizeZero = -1

// Call is one system call as the tracer saw it at entry.
type Call struct {
	Pid  int
	Info *Info // nil if the number is unknown; Enter then uses a generic description
	Nr   int   // the syscall number (used when Info is nil)
	Args [6]uint64
	SP   uint64 // the stack pointer at entry (rt_sigreturn's frame is there)
	// Resumes is, for restart_syscall, the call a signal interrupted with
	// ERESTART_RESTARTBLOCK, which it goes on with ("" if not known).
	Resumes string
}

// Decoded is one call being rendered. It is not safe for concurrent use.
type Decoded struct {
	c    Call
	info *Info
	o    Options
	mem  Memory

	args []string // rendered arguments; out-arguments filled by Exit
	omit []bool   // arguments strace does not print for these values (open's mode)
	out  []bool   // arguments printed at exit: the table's, and those a special adds (fcntl's F_GETLK lock)
	// sepAtExit: the ", " before the first argument printed at exit is
	// the exit half's (ioctl: "ioctl(1, TCGETS <unfinished ...>", then
	// "<... ioctl resumed>, 0x7ffc...) = 0"), as strace splits it.
	sepAtExit bool
	// late is what the exit added to an argument printed at entry
	// (clone3's " => {pidfd=[3]}"): the resumed half starts with it.
	late  string
	saved [6]uint64 // values read at entry for arguments that are in-out (*addrlen)
	okSav [6]bool

	exited bool
	ret    int64
	retStr string
}

// errBadAddr reports an unreadable pointer.
var errBadAddr = errors.New("bad address")

// Enter decodes the in-arguments of c, reading the tracee through m. m may
// be nil (every pointer then prints as an address), o may be nil.
func Enter(c *Call, m Memory, o *Options) *Decoded {
	d := &Decoded{c: *c, mem: m}
	if o != nil {
		d.o = *o
	}
	switch {
	case d.o.StrSize == 0:
		d.o.StrSize = DefaultStrSize
	case d.o.StrSize < 0:
		d.o.StrSize = 0
	}
	d.info = c.Info
	if d.info == nil {
		d.info = Lookup(c.Nr)
	}
	if d.info == nil {
		d.info = unknownInfo(c.Nr)
	}
	d.c.Info = d.info
	n := len(d.info.Args)
	d.args = make([]string, n)
	d.omit = make([]bool, n)
	d.out = make([]bool, n)
	for i, a := range d.info.Args {
		d.out[i] = a.Out
		if a.Out {
			kinds[a.Kind].save(d, i)
			continue
		}
		d.args[i] = kinds[a.Kind].enter(d, i)
	}
	if sp := specials[d.info.Name]; sp != nil && sp.enter != nil {
		sp.enter(d)
	}
	return d
}

// failedOut renders out-argument i of a call that failed: its pointer, as
// strace prints one the kernel did not write; but an address length is
// what the program passed in ("[16]"), and a msghdr shows its msg_namelen
// ("{msg_namelen=0}"), as strace prints them.
func (d *Decoded) failedOut(k Kind, i int) string {
	a := d.c.Args[i]
	switch k {
	case KindOutSocklen:
		if v, ok := d.u32(a); ok {
			return "[" + strconv.FormatUint(uint64(v), 10) + "]"
		}
	case KindOutMsghdr:
		if v, ok := d.u32(a + 8); ok && a != 0 {
			return "{msg_namelen=" + strconv.FormatUint(uint64(v), 10) + "}"
		}
	}
	return ptr(a)
}

// unknownInfo describes a number strace has no name for: syscall_0x1c3
// with six hex arguments.
func unknownInfo(nr int) *Info {
	i := &Info{Nr: nr, Name: "syscall_" + hexs(uint64(nr))}
	for k := 0; k < 6; k++ {
		i.Args = append(i.Args, Arg{Name: "arg" + strconv.Itoa(k), Kind: KindHex})
	}
	return i
}

// Exit decodes the out-arguments and the return value. ret is the raw
// kernel return (-errno on failure); m reads the tracee after the call.
func (d *Decoded) Exit(ret int64, m Memory) {
	if m != nil {
		d.mem = m
	}
	d.exited = true
	d.ret = ret
	for i, a := range d.info.Args {
		if !a.Out {
			continue
		}
		if d.Failed() {
			d.args[i] = d.failedOut(a.Kind, i)
			continue
		}
		d.args[i] = kinds[a.Kind].exit(d, i)
	}
	if sp := specials[d.info.Name]; sp != nil && sp.exit != nil {
		sp.exit(d)
	}
	d.retStr = d.formatRet()
}

// Failed reports whether the call returned an error (after Exit).
func (d *Decoded) Failed() bool {
	return d.exited && d.ret < 0 && d.ret >= -linux.MaxErrno
}

// Name is the call's name as strace prints it.
func (d *Decoded) Name() string { return d.info.Name }

// Info is the table entry the call was decoded with.
func (d *Decoded) Info() *Info { return d.info }

// Args returns the rendered arguments, as strace prints them (out-arguments
// are empty before Exit; arguments strace omits, like open's mode without
// O_CREAT, are left out).
func (d *Decoded) Args() []string {
	var out []string
	for i, a := range d.args {
		if !d.omit[i] {
			out = append(out, a)
		}
	}
	return out
}

// Ret is the rendered return value: "3", "-1 ENOENT (No such file or
// directory)", "?" ("" before Exit).
func (d *Decoded) Ret() string { return d.retStr }

// RetValue is the raw return value given to Exit.
func (d *Decoded) RetValue() int64 { return d.ret }

// Errno is the errno name of a failed call ("ENOENT"), or "".
func (d *Decoded) Errno() string {
	if !d.Failed() {
		return ""
	}
	return linux.ErrnoName(int(-d.ret))
}

// Line renders the whole call: `openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3`,
// with " = " padded to column 40 as strace does. Call it after Exit.
func (d *Decoded) Line() string { return d.LineCol(0) }

// LineCol is Line for a line that starts at column col (after a
// "[pid 123] " prefix of col characters, which strace counts when padding).
func (d *Decoded) LineCol(col int) string {
	return pad(d.info.Name+"("+strings.Join(d.Args(), ", ")+")", col) + " = " + d.retStr
}

// pad appends spaces to s until, starting at column col, it ends at
// column 39 or later (strace's tabto before " = ").
func pad(s string, col int) string {
	if n := 39 - col - len(s); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s
}

// Entry is what strace prints at a call's entry, before its exit
// completes the line: `read(3, `.
func (d *Decoded) Entry() string { return d.info.Name + "(" + d.enterPart() }

// Died is what strace shows of a call its task died in, before ") = ?":
// the entry, and "<unfinished ...>" only if an out-argument was left to
// show (kill(1234, SIGKILL) but read(3,  <unfinished ...>). resumed says
// the entry was printed already, so the line starts "<... name resumed>".
func (d *Decoded) Died(resumed bool) string {
	s := d.info.Name + "(" + d.enterPart()
	if resumed {
		s = "<... " + d.info.Name + " resumed>"
	}
	if slices.Contains(d.out, true) {
		s += " <unfinished ...>"
	}
	return s
}

// enterPart is what strace has printed at entry: the arguments before the
// first out-argument, followed by ", " if an out-argument remains.
func (d *Decoded) enterPart() string {
	var parts []string
	for i, out := range d.out {
		if out {
			if d.sepAtExit || len(parts) == 0 {
				// No ", " before a first argument printed at exit: "pipe( <unfinished ...>".
				return strings.Join(parts, ", ")
			}
			return strings.Join(parts, ", ") + ", "
		}
		if !d.omit[i] {
			parts = append(parts, d.args[i])
		}
	}
	return strings.Join(parts, ", ")
}

// Resumed renders the rest after Exit: `<... read resumed>"...", 832) = 832`.
func (d *Decoded) Resumed() string { return d.ResumedCol(0) }

// ResumedCol is Resumed for a line starting at column col.
func (d *Decoded) ResumedCol(col int) string {
	var parts []string
	started := false
	for i, out := range d.out {
		if out {
			started = true
		}
		if started && !d.omit[i] {
			parts = append(parts, d.args[i])
		}
	}
	sep := ""
	if d.sepAtExit && len(parts) > 0 {
		sep = ", "
	}
	return pad("<... "+d.info.Name+" resumed>"+d.late+sep+strings.Join(parts, ", ")+")", col) + " = " + d.retStr
}

func (d *Decoded) formatRet() string {
	r := d.ret
	if r < 0 && r >= -linux.MaxErrno {
		e := int(-r)
		if linux.IsRestart(e) {
			return "? " + linux.FormatErrno(e)
		}
		return "-1 " + linux.FormatErrno(e)
	}
	if sp := specials[d.info.Name]; sp != nil && sp.ret != nil {
		return sp.ret(d)
	}
	switch d.info.Ret {
	case RetNone:
		return "?"
	case RetFd:
		return d.fd(r)
	case RetHex:
		return hexs(uint64(r))
	case RetOct:
		return octal(uint64(r))
	}
	return strconv.FormatInt(r, 10)
}

// fd renders a descriptor with its -y name.
func (d *Decoded) fd(fd int64) string {
	s := strconv.FormatInt(fd, 10)
	if d.o.FdPaths > 0 && d.o.Fds != nil && fd >= 0 && fd <= 1<<31 {
		if n := d.o.Fds.FdName(d.c.Pid, int(fd)); n != "" {
			return s + d.fdSuffix(n)
		}
	}
	return s
}

// fdSuffix is what -y appends to an fd named n: "<n>", where a path is
// quoted as strings are, without the quotes and with '<' and '>' in
// octal, so that no name ends the brackets or the line early; the
// kernel's " (deleted)" goes after them, as strace prints it.
func (d *Decoded) fdSuffix(n string) string {
	if !strings.HasPrefix(n, "/") {
		return "<" + n + ">" // pipe:[N], socket names, anon_inode:[...]
	}
	n, note, _ := strings.Cut(n, "\x00")
	if note != "" {
		note = "<" + note + ">"
	}
	n, deleted := strings.CutSuffix(n, " (deleted)")
	q := quoteEscaping([]byte(n), false, d.o.Hex, "<>")
	q = "<" + q[1:len(q)-1] + note + ">"
	if deleted {
		q += "(deleted)"
	}
	return q
}

// read reads exactly n bytes at addr.
func (d *Decoded) read(addr uint64, n int) ([]byte, error) {
	if d.mem == nil || addr == 0 || n < 0 {
		return nil, errBadAddr
	}
	b := make([]byte, n)
	got, err := d.mem.ReadAt(b, addr)
	if got < n {
		if err == nil {
			err = errBadAddr
		}
		return nil, err
	}
	return b, nil
}

// structAt reads the n bytes of a structure argument at addr. When it
// cannot, ok is false and shown is what strace prints instead: NULL, or the
// address in hex.
func (d *Decoded) structAt(addr uint64, n int) (b []byte, shown string, ok bool) {
	if addr == 0 {
		return nil, "NULL", false
	}
	b, err := d.read(addr, n)
	if err != nil {
		return nil, hexs(addr), false
	}
	return b, "", true
}

// readUpTo reads up to n bytes at addr, stopping at unreadable memory.
func (d *Decoded) readUpTo(addr uint64, n int) []byte {
	if d.mem == nil || n <= 0 {
		return nil
	}
	b := make([]byte, n)
	got, _ := d.mem.ReadAt(b, addr)
	if got < 0 {
		got = 0
	}
	return b[:min(got, n)]
}

// readCString reads a NUL-terminated string of at most max bytes (not
// counting the NUL). It reads page by page so a string ending just before
// unmapped memory is still read. terminated is false if no NUL was found
// within max bytes; err is set if memory ran out first.
func (d *Decoded) readCString(addr uint64, max int) (s []byte, terminated bool, err error) {
	if d.mem == nil || addr == 0 {
		return nil, false, errBadAddr
	}
	const page = 4096
	for len(s) <= max {
		chunk := page - int(addr%page)
		if chunk > max+1-len(s) {
			chunk = max + 1 - len(s)
		}
		b := make([]byte, chunk)
		n, _ := d.mem.ReadAt(b, addr)
		if n < 0 {
			n = 0
		}
		b = b[:min(n, chunk)]
		if i := indexByte(b, 0); i >= 0 {
			return append(s, b[:i]...), true, nil
		}
		s = append(s, b...)
		if n < chunk {
			return s, false, errBadAddr
		}
		addr += uint64(chunk)
	}
	return s[:max], false, nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// ptr renders a pointer: NULL or hex.
func ptr(v uint64) string {
	if v == 0 {
		return "NULL"
	}
	return hexs(v)
}

// hexs renders v like C's %#lx ("0" for zero).
func hexs(v uint64) string {
	if v == 0 {
		return "0"
	}
	return "0x" + strconv.FormatUint(v, 16)
}

// octal renders v like C's %#03o: "000", "022", "0644", "04755".
func octal(v uint64) string {
	s := strconv.FormatUint(v, 8)
	for len(s) < 3 {
		s = "0" + s
	}
	if s[0] != '0' {
		s = "0" + s
	}
	return s
}
