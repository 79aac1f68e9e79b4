package syscalls

import (
	"strconv"

	"github.com/carrot-project/carrot/internal/linux"
)

// taskCommLen is the size of a task's name, NUL included (TASK_COMM_LEN).
const taskCommLen = 16

// prctlEnter renders prctl's arguments as its option says (strace's
// SYS_FUNC(prctl)): options that take nothing print only their name,
// options that fill something in print it at exit, and the rest print
// their remaining arguments in hex.
func prctlEnter(d *Decoded) {
	a := d.c.Args
	// show keeps arguments 1..n (after the option) and omits the rest.
	show := func(n int) {
		for i := 1; i < len(d.args); i++ {
			d.omit[i] = i > n
		}
	}
	show(4) // the default: every argument in hex, as the table renders them
	switch uint32(a[0]) {
	case linux.PR_GET_KEEPCAPS, linux.PR_GET_SECCOMP, linux.PR_GET_TIMERSLACK, linux.PR_GET_TIMING,
		linux.PR_GET_DUMPABLE, linux.PR_GET_SECUREBITS, linux.PR_GET_FP_MODE,
		linux.PR_TASK_PERF_EVENTS_DISABLE, linux.PR_TASK_PERF_EVENTS_ENABLE:
		show(0)
	case linux.PR_GET_CHILD_SUBREAPER, linux.PR_GET_ENDIAN, linux.PR_GET_FPEMU, linux.PR_GET_FPEXC,
		linux.PR_GET_NAME, linux.PR_GET_PDEATHSIG, linux.PR_GET_TID_ADDRESS, linux.PR_GET_TSC, linux.PR_GET_UNALIGN:
		show(1)
		d.out[1] = true
	case linux.PR_SET_CHILD_SUBREAPER, linux.PR_SET_ENDIAN, linux.PR_SET_FPEMU, linux.PR_SET_FPEXC,
		linux.PR_SET_KEEPCAPS, linux.PR_SET_TIMING:
		show(1)
		d.args[1] = strconv.FormatUint(a[1], 10)
	case linux.PR_SET_DUMPABLE:
		show(1)
		d.args[1] = linux.PrDumpable.Format(a[1])
	case linux.PR_CAPBSET_DROP, linux.PR_CAPBSET_READ:
		show(1)
		d.args[1] = linux.Capabilities.Format(a[1])
	case linux.PR_CAP_AMBIENT:
		d.args[1] = linux.PrCapAmbient.Format(a[1])
		if a[1] >= 1 && a[1] <= 3 { // IS_SET, RAISE, LOWER name a capability
			d.args[2] = linux.Capabilities.Format(a[2])
		}
	case linux.PR_MCE_KILL:
		d.args[1] = linux.PrMceKill.Format(a[1])
		if a[1] == 1 { // PR_MCE_KILL_SET
			d.args[2] = linux.PrMceKillPolicy.Format(a[2])
		}
	case linux.PR_SET_NAME:
		show(1)
		d.args[1] = d.fixedString(a[1], taskCommLen-1)
	case linux.PR_SET_VMA:
		d.args[1] = linux.PrSetVMA.Format(a[1])
		if a[1] == 0 { // PR_SET_VMA_ANON_NAME: address, size, name
			d.args[2], d.args[3], d.args[4] = ptr(a[2]), strconv.FormatUint(a[3], 10), d.cstring(a[4])
		}
	case linux.PR_SET_MM:
		d.args[1] = linux.PrSetMM.Format(uint64(uint32(a[1])))
	case linux.PR_SET_PDEATHSIG:
		show(1)
		if a[1] > 128 {
			d.args[1] = strconv.FormatUint(a[1], 10)
		} else {
			d.args[1] = linux.FormatSignal(int64(a[1]))
		}
	case linux.PR_SET_PTRACER:
		show(1)
		if int32(a[1]) == -1 {
			d.args[1] = "PR_SET_PTRACER_ANY"
		} else {
			d.args[1] = strconv.Itoa(int(int32(a[1])))
		}
	case linux.PR_SET_SECCOMP:
		d.args[1] = linux.SeccompModes.Format(a[1])
		switch a[1] {
		case 1: // SECCOMP_MODE_STRICT
			show(1)
		case 2: // SECCOMP_MODE_FILTER
			show(2)
			d.args[2] = d.sockFprog(a[2])
		}
	case linux.PR_SET_SECUREBITS:
		show(1)
		d.args[1] = linux.Securebits.Format(a[1])
	case linux.PR_SET_TIMERSLACK:
		show(1)
		d.args[1] = strconv.FormatInt(int64(a[1]), 10)
	case linux.PR_SET_TSC:
		show(1)
		d.args[1] = linux.PrTSC.Format(uint64(uint32(a[1])))
	case linux.PR_SET_UNALIGN:
		show(1)
		d.args[1] = linux.PrUnalign.Format(uint64(uint32(a[1])))
	case linux.PR_SET_NO_NEW_PRIVS, linux.PR_SET_THP_DISABLE, linux.PR_SET_IO_FLUSHER:
		d.args[1] = strconv.FormatUint(a[1], 10)
	case linux.PR_SET_FP_MODE:
		show(1)
		d.args[1] = linux.PrFpMode.Format(uint64(uint32(a[1])))
	case linux.PR_GET_SPECULATION_CTRL:
		show(1)
		d.args[1] = linux.PrSpecCmds.Format(a[1])
	case linux.PR_SET_SPECULATION_CTRL:
		show(2)
		d.args[1] = linux.PrSpecCmds.Format(a[1])
		if a[1] <= 2 { // the store bypass, indirect branch and L1D flush controls
			d.args[2] = linux.PrSpecSetFlags.Format(a[2])
		}
	case linux.PR_SET_SYSCALL_USER_DISPATCH:
		d.args[1] = linux.PrSudCmds.Format(a[1])
		d.args[4] = ptr(a[4])
	}
}

// prctlExit renders what the options that fill something in wrote.
func prctlExit(d *Decoded) {
	if !d.out[1] {
		return
	}
	addr := d.c.Args[1]
	if d.Failed() {
		d.args[1] = ptr(addr)
		return
	}
	switch uint32(d.c.Args[0]) {
	case linux.PR_GET_NAME:
		d.args[1] = d.fixedString(addr, taskCommLen)
	case linux.PR_GET_TID_ADDRESS:
		if b, err := d.read(addr, 8); err == nil {
			d.args[1] = "[" + ptr(le64(b)) + "]"
		} else {
			d.args[1] = ptr(addr)
		}
	default: // an int
		v, ok := d.u32(addr)
		if !ok {
			d.args[1] = ptr(addr)
			return
		}
		switch uint32(d.c.Args[0]) {
		case linux.PR_GET_PDEATHSIG:
			d.args[1] = "[" + linux.FormatSignal(int64(int32(v))) + "]"
		case linux.PR_GET_TSC:
			d.args[1] = "[" + linux.PrTSC.Format(uint64(v)) + "]"
		case linux.PR_GET_UNALIGN:
			d.args[1] = "[" + linux.PrUnalign.Format(uint64(v)) + "]"
		default:
			d.args[1] = "[" + strconv.FormatUint(uint64(v), 10) + "]"
		}
	}
}

// prctlRet renders a successful return that names something.
func prctlRet(d *Decoded) string {
	r := strconv.FormatInt(d.ret, 10)
	aux := func(s *linux.FlagSet) string {
		if len(s.Names(uint64(d.ret))) == 0 {
			return hexs(uint64(d.ret))
		}
		return hexs(uint64(d.ret)) + " (" + s.FormatPlain(uint64(d.ret)) + ")"
	}
	switch uint32(d.c.Args[0]) {
	case linux.PR_GET_DUMPABLE:
		if n, ok := linux.PrDumpable.Name(uint64(d.ret)); ok {
			return r + " (" + n + ")"
		}
	case linux.PR_MCE_KILL_GET:
		if n, ok := linux.PrMceKillPolicy.Name(uint64(d.ret)); ok {
			return r + " (" + n + ")"
		}
	case linux.PR_GET_SECUREBITS:
		if d.ret != 0 {
			return aux(linux.Securebits)
		}
	case linux.PR_GET_FP_MODE:
		if d.ret != 0 {
			return aux(linux.PrFpMode)
		}
	case linux.PR_GET_SPECULATION_CTRL:
		if d.c.Args[1] <= 2 {
			if d.ret == 0 {
				return "0 (" + linux.PrSpecGetFlags.Zero + ")"
			}
			return aux(linux.PrSpecGetFlags)
		}
	}
	return r
}

// fixedString renders a string in a buffer of n bytes (a task name): up
// to the first NUL, with "..." when there is none, limited by -s.
func (d *Decoded) fixedString(addr uint64, n int) string {
	if addr == 0 {
		return "NULL"
	}
	// One byte past -s tells a string that ends there from a longer one.
	b, err := d.read(addr, min(n, d.o.StrSize+1))
	if err != nil {
		return hexs(addr)
	}
	if i := indexByte(b, 0); i >= 0 {
		return d.quote(b[:i], false)
	}
	return d.quote(b[:min(len(b), d.o.StrSize)], true)
}

// sockFprog renders a struct sock_fprog (a seccomp or socket filter) as
// strace does without -v: {len=6, filter=0x7ffc...}.
func (d *Decoded) sockFprog(addr uint64) string {
	b, shown, ok := d.structAt(addr, 16)
	if !ok {
		return shown
	}
	return "{len=" + strconv.Itoa(int(uint16(b[0])|uint16(b[1])<<8)) + ", filter=" + ptr(le64(b[8:])) + "}"
}
