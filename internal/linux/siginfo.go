package linux

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// SizeofSiginfo is sizeof(siginfo_t) (include/uapi/asm-generic/siginfo.h).
const SizeofSiginfo = 128

// si_code values (include/uapi/asm-generic/siginfo.h). Codes <= 0 say who
// sent a signal; codes > 0 are per-signal reasons.
var siCodes = map[int32]string{
	0x80: "SI_KERNEL", 0: "SI_USER", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ",
	-4: "SI_ASYNCIO", -5: "SI_SIGIO", -6: "SI_TKILL", -7: "SI_DETHREAD", -60: "SI_ASYNCNL",
}

// Per-signal si_code names, indexed from 1.
var (
	ill   = []string{"ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP", "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK", "ILL_BADIADDR"}
	fpe   = []string{"FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF", "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB", "FPE_FLTUNK", "FPE_CONDTRAP"}
	segv  = []string{"SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR", "SEGV_ACCADI", "SEGV_ADIDERR", "SEGV_ADIPERR", "SEGV_MTEAERR", "SEGV_MTESERR", "SEGV_CPERR"}
	bus   = []string{"BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"}
	trap  = []string{"TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT", "TRAP_UNK", "TRAP_PERF"}
	chld  = []string{"CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"}
	poll  = []string{"POLL_IN", "POLL_OUT", "POLL_MSG", "POLL_ERR", "POLL_PRI", "POLL_HUP"}
	sysCd = []string{"SYS_SECCOMP", "SYS_USER_DISPATCH"}
)

// FormatSiginfo renders a siginfo_t as strace prints it in a signal line:
// {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=12, si_uid=0, si_status=0, si_utime=0, si_stime=0}.
// b holds the raw structure (at least 48 bytes are used).
func FormatSiginfo(b []byte) string {
	if len(b) < 48 {
		return "{...}"
	}
	le := binary.LittleEndian
	signo := int32(le.Uint32(b[0:]))
	code := int32(le.Uint32(b[8:]))
	i32 := func(off int) int32 { return int32(le.Uint32(b[off:])) }
	u64 := func(off int) uint64 { return le.Uint64(b[off:]) }

	var s strings.Builder
	s.WriteString("{si_signo=" + SignalName(int64(signo)) + ", si_code=")
	name, perSignal := codeName(signo, code)
	s.WriteString(name)
	if errno := i32(4); errno != 0 {
		s.WriteString(", si_errno=" + ErrnoName(int(errno)))
	}
	switch {
	case !perSignal && (code == -2): // SI_TIMER
		fmt.Fprintf(&s, ", si_timerid=%s, si_overrun=%d, si_int=%d, si_ptr=%s", hex(uint64(uint32(i32(16)))), i32(20), i32(24), ptr(u64(24)))
	case !perSignal && code == 0x80: // SI_KERNEL
		if faultSignal(signo) {
			s.WriteString(", si_addr=" + ptr(u64(16)))
		}
	case !perSignal: // sent by a process: kill, tkill, sigqueue, ...
		fmt.Fprintf(&s, ", si_pid=%d, si_uid=%d", i32(16), uint32(i32(20)))
		if code == -1 || code == -3 {
			fmt.Fprintf(&s, ", si_int=%d, si_ptr=%s", i32(24), ptr(u64(24)))
		}
	case signo == 17: // SIGCHLD
		fmt.Fprintf(&s, ", si_pid=%d, si_uid=%d, si_status=", i32(16), uint32(i32(20)))
		if code == 1 { // CLD_EXITED
			s.WriteString(strconv.Itoa(int(i32(24))))
		} else {
			s.WriteString(SignalName(int64(i32(24))))
		}
		s.WriteString(", si_utime=" + ticks(int64(u64(32))) + ", si_stime=" + ticks(int64(u64(40))))
	case signo == 29: // SIGIO
		fmt.Fprintf(&s, ", si_band=%d, si_fd=%d", int64(u64(16)), i32(24))
	case signo == 31: // SIGSYS
		fmt.Fprintf(&s, ", si_call_addr=%s, si_syscall=%d, si_arch=%s", ptr(u64(16)), i32(24), auditArch(uint32(i32(28))))
	case faultSignal(signo):
		s.WriteString(", si_addr=" + ptr(u64(16)))
	}
	s.WriteString("}")
	return s.String()
}

// FormatClockTicks renders a clock_t in USER_HZ as strace does: "1 /* 0.01
// s */", "0".
func FormatClockTicks(t int64) string { return ticks(t) }

// ticks renders a clock_t in USER_HZ (100 per second on Linux), with
// strace's seconds comment when it is not zero: "1 /* 0.01 s */".
func ticks(t int64) string {
	if t == 0 {
		return "0"
	}
	return fmt.Sprintf("%d /* %d.%02d s */", t, t/100, t%100)
}

func faultSignal(signo int32) bool {
	switch signo {
	case 4, 5, 7, 8, 11: // SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV
		return true
	}
	return false
}

// codeName names si_code; perSignal says the code is a reason specific to
// the signal rather than a sender.
func codeName(signo, code int32) (string, bool) {
	if code > 0 && code != 0x80 {
		var names []string
		switch signo {
		case 4:
			names = ill
		case 8:
			names = fpe
		case 11:
			names = segv
		case 7:
			names = bus
		case 5:
			names = trap
		case 17:
			names = chld
		case 29:
			names = poll
		case 31:
			names = sysCd
		}
		if int(code) <= len(names) {
			return names[code-1], true
		}
		if names != nil {
			return strconv.Itoa(int(code)), true
		}
	}
	if n, ok := siCodes[code]; ok {
		return n, false
	}
	return strconv.Itoa(int(code)), false
}

func ptr(v uint64) string {
	if v == 0 {
		return "NULL"
	}
	return fmt.Sprintf("%#x", v)
}

func auditArch(a uint32) string {
	switch a {
	case 0xc000003e:
		return "AUDIT_ARCH_X86_64"
	case 0x40000003:
		return "AUDIT_ARCH_I386"
	case 0xc00000b7:
		return "AUDIT_ARCH_AARCH64"
	}
	return fmt.Sprintf("%#x", a)
}
