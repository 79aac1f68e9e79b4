package syscalls

import (
	"strconv"
	"strings"

	"github.com/carrot-project/carrot/internal/linux"
)

// special adjusts calls whose printing is not one argument at a time:
// enter runs after the arguments were rendered at entry (and may mark an
// argument d.out, to be printed at exit), exit runs after the table's
// out-arguments were rendered at exit (failed or not), and ret renders a
// successful return value.
type special struct {
	enter func(d *Decoded)
	exit  func(d *Decoded)
	ret   func(d *Decoded) string
}

var specials map[string]*special

func init() {
	specials = map[string]*special{
		"clone": {enter: func(d *Decoded) {
			// clone(child_stack=NULL, flags=CLONE_VM|...|SIGCHLD, parent_tid=..., tls=..., child_tidptr=...):
			// x86-64 order is flags, stack, parent_tid, child_tid, tls.
			a := d.c.Args
			f := a[0]
			d.args[0] = "child_stack=" + ptr(a[1])
			d.args[1] = "flags=" + formatCloneFlags(f)
			d.args[2], d.args[3], d.args[4] = "", "", ""
			d.omit[2], d.omit[3], d.omit[4] = true, true, true
			if f&(linux_CLONE_PARENT_SETTID|linux_CLONE_PIDFD) != 0 {
				d.args[2], d.omit[2] = "parent_tid="+ptr(a[2]), false
			}
			if f&linux_CLONE_SETTLS != 0 {
				d.args[3], d.omit[3] = "tls="+ptr(a[4]), false
			}
			if f&(linux_CLONE_CHILD_SETTID|linux_CLONE_CHILD_CLEARTID) != 0 {
				d.args[4], d.omit[4] = "child_tidptr="+ptr(a[3]), false
			}
		}},
		"fcntl": {enter: fcntlEnter, exit: fcntlExit, ret: fcntlRet},
		"clone3": {enter: func(d *Decoded) {
			// What clone3 writes back is shown at exit only if the
			// structure was read at entry and asks for it; strace then
			// prints the size at exit too, and splits the line after the
			// structure: "clone3({...} <unfinished ...>", then
			// "<... clone3 resumed> => {pidfd=[3]}, 88) = N".
			d.okSav[0] = d.cloneArgsWrites(d.c.Args[0], d.c.Args[1])
			if d.okSav[0] {
				d.out[1], d.sepAtExit = true, true
			}
		}, exit: func(d *Decoded) {
			if d.okSav[0] && !d.Failed() {
				d.late = d.cloneArgsOut(d.c.Args[0], d.c.Args[1])
				d.args[0] += d.late
			}
		}},
		"futex": {enter: func(d *Decoded) {
			// futex(uaddr, op, val, timeout, uaddr2, val3): which arguments
			// strace prints depends on the command.
			switch uint32(d.c.Args[1]) &^ 384 {
			case 0: // FUTEX_WAIT
				d.omit[4], d.omit[5] = true, true
			case 1, 7, 8: // FUTEX_WAKE, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI
				d.omit[3], d.omit[4], d.omit[5] = true, true, true
			case 9: // FUTEX_WAIT_BITSET
				d.omit[4] = true
				if uint32(d.c.Args[5]) == 0xffffffff {
					d.args[5] = "FUTEX_BITSET_MATCH_ANY"
				}
			case 10: // FUTEX_WAKE_BITSET
				d.args[3], d.omit[4] = strconv.FormatUint(d.c.Args[3], 10), true
				if uint32(d.c.Args[5]) == 0xffffffff {
					d.args[5] = "FUTEX_BITSET_MATCH_ANY"
				}
			default:
				d.args[3] = strconv.FormatUint(uint64(uint32(d.c.Args[3])), 10)
			}
		}},
		"prctl":           {enter: prctlEnter, exit: prctlExit, ret: prctlRet},
		"select":          {ret: selectRet},
		"ioctl":           {enter: ioctlEnter, exit: ioctlExit},
		"nanosleep":       {exit: sleepLeft(1)},
		"clock_nanosleep": {exit: sleepLeft(3)},
		"pselect6":        {ret: selectRet},
		"poll":            {ret: func(d *Decoded) string { return d.pollRevents(d.c.Args[0], d.c.Args[1]) }},
		"ppoll": {ret: func(d *Decoded) string {
			r := d.pollRevents(d.c.Args[0], d.c.Args[1])
			if d.ret > 0 && d.c.Args[2] != 0 && strings.HasSuffix(r, ")") {
				// The time left is written back into the timeout.
				r = r[:len(r)-1] + ", left " + d.timespec(d.c.Args[2]) + ")"
			}
			return r
		}},
		"times": {ret: func(d *Decoded) string { return strconv.FormatUint(uint64(d.ret), 10) }},
		"rt_sigtimedwait": {ret: func(d *Decoded) string {
			if name := linux.SignalName(d.ret); name != "" {
				return strconv.FormatInt(d.ret, 10) + " (" + name + ")"
			}
			return strconv.FormatInt(d.ret, 10)
		}},
		"socket": {enter: func(d *Decoded) {
			d.args[2] = socketProtocol(d.c.Args[0], d.c.Args[2])
		}},
		"socketpair": {enter: func(d *Decoded) {
			d.args[2] = socketProtocol(d.c.Args[0], d.c.Args[2])
		}},
		"mknod": {enter: func(d *Decoded) {
			// The device number matters only for character and block devices.
			if t := uint32(d.c.Args[1]) & 0170000; t != 0020000 && t != 0060000 {
				d.omit[2] = true
			} else {
				d.args[2] = makedev(d.c.Args[2])
			}
		}},
		"mknodat": {enter: func(d *Decoded) {
			if t := uint32(d.c.Args[2]) & 0170000; t != 0020000 && t != 0060000 {
				d.omit[3] = true
			} else {
				d.args[3] = makedev(d.c.Args[3])
			}
		}},
		"mremap": {enter: func(d *Decoded) {
			// new_address is printed only with MREMAP_FIXED.
			d.omit[4] = d.c.Args[3]&2 == 0
		}},
	}
	for name, sp := range callSpecials() {
		specials[name] = sp
	}
}

// The clone flags that make clone's pointer arguments meaningful.
const (
	linux_CLONE_PIDFD          = 0x1000
	linux_CLONE_SETTLS         = 0x80000
	linux_CLONE_PARENT_SETTID  = 0x100000
	linux_CLONE_CHILD_CLEARTID = 0x200000
	linux_CLONE_CHILD_SETTID   = 0x1000000
	linux_CLONE_INTO_CGROUP    = 0x200000000
)

// socketProtocol names socket's protocol for the family: IPPROTO_TCP for
// AF_INET and AF_INET6, NETLINK_ROUTE for AF_NETLINK, htons(ETH_P_ALL)
// for AF_PACKET, a decimal number otherwise.
func socketProtocol(family, proto uint64) string {
	p := uint64(uint32(proto))
	switch uint32(family) {
	case 2, 10:
		return linux.IPProtocols.Format(p)
	case 16:
		return linux.NetlinkProtocols.Format(p)
	case 17:
		return "htons(" + linux.EthernetProtocols.Format(p>>8&0xff|p&0xff<<8) + ")"
	}
	return strconv.FormatUint(p, 10)
}

// sleepLeft shows the time left in argument i of a sleep that a signal
// cut short with a restart code (the kernel writes it then, and
// restart_syscall goes on with it), as strace does; otherwise it stays a
// pointer.
func sleepLeft(i int) func(d *Decoded) {
	return func(d *Decoded) {
		if a := d.c.Args[i]; a != 0 && d.ret < 0 && linux.IsRestart(int(-d.ret)) {
			d.args[i] = d.timespec(a)
		}
	}
}

// selectRet renders select's and pselect6's return: "0 (Timeout)", or the
// ready descriptors read back from the sets, "2 (in [3], out [4])", at
// most ret of them, and the time left, which the kernel writes back into
// the timeout (a timeval for select, a timespec for pselect6).
func selectRet(d *Decoded) string {
	r := strconv.FormatInt(d.ret, 10)
	if d.ret == 0 {
		return r + " (Timeout)"
	}
	n := int(int32(d.c.Args[0]))
	if n <= 0 || n > 1<<20 {
		return r
	}
	left := d.ret
	var parts []string
	for k, name := range []string{"in", "out", "except"} {
		addr := d.c.Args[1+k]
		if addr == 0 || left <= 0 {
			continue
		}
		b, err := d.read(addr, (n+63)/64*8)
		if err != nil {
			continue
		}
		var fds []string
		for fd := 0; fd < n && left > 0; fd++ {
			if b[fd/8]&(1<<(fd%8)) != 0 {
				fds = append(fds, strconv.Itoa(fd))
				left--
			}
		}
		if len(fds) > 0 {
			parts = append(parts, name+" ["+strings.Join(fds, " ")+"]")
		}
	}
	if t := d.c.Args[4]; t != 0 {
		if d.info.Name == "pselect6" {
			parts = append(parts, "left "+d.timespec(t))
		} else {
			parts = append(parts, "left "+d.timeval(t))
		}
	}
	if len(parts) == 0 {
		return r
	}
	return r + " (" + strings.Join(parts, ", ") + ")"
}
