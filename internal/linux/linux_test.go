package linux

import (
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFlagSet(t *testing.T) {
	for _, tc := range []struct {
		s    *FlagSet
		v    uint64
		want string
	}{
		{ProtFlags, 0, "PROT_NONE"},
		{ProtFlags, 3, "PROT_READ|PROT_WRITE"},
		{ProtFlags, 0x10000001, "PROT_READ|0x10000000"},
		{AtFlags, 0, "0"},
		{AtFlags, 0x1100, "AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH"},
		{OpenFlags, unix.O_SYNC, "O_SYNC"},   // O_SYNC hides the O_DSYNC bit it contains
		{OpenFlags, unix.O_DSYNC, "O_DSYNC"}, // alone it is itself
		{OpenFlags, unix.O_TMPFILE, "O_TMPFILE"},
		{OpenFlags, unix.O_DIRECTORY | unix.O_CLOEXEC, "O_CLOEXEC|O_DIRECTORY"},
		{AccessModes, 0, "F_OK"},
		{AccessModes, 6, "R_OK|W_OK"},
		{WaitOptions, 0x40000001, "WNOHANG|__WALL"},
	} {
		if got := tc.s.Format(tc.v); got != tc.want {
			t.Errorf("Format(%#x) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestValueSet(t *testing.T) {
	for _, tc := range []struct {
		s    *ValueSet
		v    uint64
		want string
	}{
		{SigprocmaskHow, 2, "SIG_SETMASK"},
		{SigprocmaskHow, 5, "0x5 /* SIG_??? */"},
		{FcntlCmds, 0x999, "0x999 /* F_??? */"},
		{AddressFamilies, 0x63, "0x63 /* AF_??? */"},
		{PrctlOptions, 0, "0 /* PR_??? */"},
		{IPProtocols, 6, "IPPROTO_TCP"},
		{IPProtocols, 99, "0x63 /* IPPROTO_??? */"},
		{MapType, 0, "MAP_FILE"},
		{MapType, 0xf, "0xf /* MAP_??? */"},
	} {
		if got := tc.s.Format(tc.v); got != tc.want {
			t.Errorf("Format(%#x) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// Errno names and messages as strace 6.1 prints them.
func TestErrno(t *testing.T) {
	for e, want := range map[int]string{
		1:   "EPERM (Operation not permitted)",
		2:   "ENOENT (No such file or directory)",
		11:  "EAGAIN (Resource temporarily unavailable)",
		38:  "ENOSYS (Function not implemented)",
		111: "ECONNREFUSED (Connection refused)",
		115: "EINPROGRESS (Operation now in progress)",
		133: "EHWPOISON (Memory page has hardware error)",
		134: "(errno 134)",
		512: "ERESTARTSYS (To be restarted if SA_RESTART is set)",
		513: "ERESTARTNOINTR (To be restarted)",
		514: "ERESTARTNOHAND (To be restarted if no handler)",
		515: "ENOIOCTLCMD (Unknown error 515)",
		516: "ERESTART_RESTARTBLOCK (Interrupted by signal)",
	} {
		if got := FormatErrno(e); got != want {
			t.Errorf("FormatErrno(%d) = %q, want %q", e, got, want)
		}
	}
	// Every name x/sys/unix knows for 1..133 agrees with ours.
	for e := 1; e <= 133; e++ {
		if n := unix.ErrnoName(unix.Errno(e)); n != "" && n != ErrnoName(e) && !(n == "EWOULDBLOCK" || n == "EDEADLOCK" || n == "ENOTSUP" || n == "EFSCORRUPTED") {
			t.Errorf("errno %d: unix says %s, we say %s", e, n, ErrnoName(e))
		}
	}
	if !IsRestart(ERESTARTSYS) || IsRestart(4) {
		t.Error("IsRestart")
	}
}

func TestSignals(t *testing.T) {
	for s, want := range map[int64]string{
		0: "0", 1: "SIGHUP", 9: "SIGKILL", 17: "SIGCHLD", 31: "SIGSYS", 32: "SIGRTMIN",
		33: "SIGRT_1", 64: "SIGRT_32", 65: "65", -1: "-1",
	} {
		if got := FormatSignal(s); got != want {
			t.Errorf("FormatSignal(%d) = %q, want %q", s, got, want)
		}
	}
}

func TestStructs(t *testing.T) {
	b := make([]byte, SizeofStat)
	b[24], b[25] = 0xa4, 0x81 // 0100644
	b[48] = 42
	st := ParseStat(b)
	if st.Mode != 0100644 || st.Size != 42 {
		t.Errorf("ParseStat: %+v", st)
	}
	sx := make([]byte, SizeofStatx)
	sx[28], sx[29] = 0xed, 0x41 // 040755
	sx[40] = 1
	if x := ParseStatx(sx); x.Mode != 040755 || x.Size != 1 {
		t.Errorf("ParseStatx: %+v", x)
	}
	m := make([]byte, SizeofMsghdr)
	m[16], m[24] = 0x10, 2
	if h := ParseMsghdr(m); h.Iov != 0x10 || h.Iovlen != 2 {
		t.Errorf("ParseMsghdr: %+v", h)
	}
	if p := ParsePollfd([]byte{3, 0, 0, 0, 1, 0, 4, 0}); p.Fd != 3 || p.Events != 1 || p.Revents != 4 {
		t.Errorf("ParsePollfd: %+v", p)
	}
}

// A POSIX timer's siginfo names timer 0 as strace does (C's %#x: 0, not
// 0x0), and others in hex.
func TestSiginfoTimerID(t *testing.T) {
	b := make([]byte, 128)
	binary.LittleEndian.PutUint32(b[0:], 14)                 // SIGALRM
	binary.LittleEndian.PutUint32(b[8:], uint32(0xfffffffe)) // SI_TIMER
	if got := FormatSiginfo(b); !strings.Contains(got, "si_timerid=0,") {
		t.Errorf("timer 0: %s", got)
	}
	binary.LittleEndian.PutUint32(b[16:], 0x1f)
	if got := FormatSiginfo(b); !strings.Contains(got, "si_timerid=0x1f,") {
		t.Errorf("timer 0x1f: %s", got)
	}
}
