package syscalls

import (
	"strconv"

	"github.com/carrot-project/carrot/internal/linux"
)

// fcntl's commands (include/uapi/asm-generic/fcntl.h, linux/fcntl.h).
const (
	linux_F_DUPFD         = 0
	linux_F_GETFD         = 1
	linux_F_SETFD         = 2
	linux_F_GETFL         = 3
	linux_F_SETFL         = 4
	linux_F_GETLK         = 5
	linux_F_SETLK         = 6
	linux_F_SETLKW        = 7
	linux_F_SETOWN        = 8
	linux_F_GETOWN        = 9
	linux_F_SETSIG        = 10
	linux_F_GETSIG        = 11
	linux_F_SETOWN_EX     = 15
	linux_F_GETOWN_EX     = 16
	linux_F_OFD_GETLK     = 36
	linux_F_OFD_SETLK     = 37
	linux_F_OFD_SETLKW    = 38
	linux_F_SETLEASE      = 1024
	linux_F_GETLEASE      = 1025
	linux_F_NOTIFY        = 1026
	linux_F_DUPFD_CLOEXEC = 1030
	linux_F_SETPIPE_SZ    = 1031
	linux_F_GETPIPE_SZ    = 1032
	linux_F_ADD_SEALS     = 1033
	linux_F_GET_SEALS     = 1034
)

// fcntlEnter renders fcntl's third argument as its command says, as
// strace's print_fcntl does; commands that read a structure back
// (F_GETLK, F_GETOWN_EX) print it at exit.
func fcntlEnter(d *Decoded) {
	arg := d.c.Args[2]
	switch uint32(d.c.Args[1]) {
	case linux_F_GETFD, linux_F_GETFL, linux_F_GETOWN, linux_F_GETSIG, linux_F_GETLEASE, linux_F_GETPIPE_SZ, linux_F_GET_SEALS:
		d.omit[2] = true
	case linux_F_DUPFD, linux_F_DUPFD_CLOEXEC, linux_F_SETPIPE_SZ:
		d.args[2] = strconv.FormatInt(int64(arg), 10)
	case linux_F_SETOWN:
		d.args[2] = strconv.Itoa(int(int32(arg)))
	case linux_F_SETFD:
		d.args[2] = linux.FdFlags.Format(uint64(uint32(arg)))
	case linux_F_SETFL:
		d.args[2] = formatOpenFlags(arg)
	case linux_F_SETSIG:
		d.args[2] = linux.FormatSignal(int64(int32(arg)))
	case linux_F_SETLEASE:
		d.args[2] = linux.LockTypes.Format(arg)
	case linux_F_NOTIFY:
		d.args[2] = linux.DnotifyFlags.Format(arg)
	case linux_F_ADD_SEALS:
		d.args[2] = linux.SealFlags.Format(arg)
	case linux_F_SETLK, linux_F_SETLKW, linux_F_OFD_SETLK, linux_F_OFD_SETLKW:
		d.args[2] = d.flock(arg, false)
	case linux_F_SETOWN_EX:
		d.args[2] = d.fOwnerEx(arg)
	case linux_F_GETLK, linux_F_OFD_GETLK, linux_F_GETOWN_EX:
		d.out[2] = true
	}
}

// fcntlExit renders the structures F_GETLK and F_GETOWN_EX read back.
func fcntlExit(d *Decoded) {
	arg := d.c.Args[2]
	if !d.out[2] {
		return
	}
	switch {
	case d.Failed():
		d.args[2] = ptr(arg)
	case uint32(d.c.Args[1]) == linux_F_GETOWN_EX:
		d.args[2] = d.fOwnerEx(arg)
	default:
		d.args[2] = d.flock(arg, true)
	}
}

// fcntlRet renders fcntl's successful return: a new fd, flags, a lease
// type, seals or a signal, as the command says.
func fcntlRet(d *Decoded) string {
	r := uint64(d.ret)
	switch uint32(d.c.Args[1]) {
	case linux_F_DUPFD, linux_F_DUPFD_CLOEXEC:
		return d.fd(d.ret)
	case linux_F_GETFD:
		if r == 0 {
			return "0" // strace names no flags when there are none
		}
		return hexs(r) + " (flags " + linux.FdFlags.Format(r) + ")"
	case linux_F_GETFL:
		return hexs(r) + " (flags " + formatOpenFlags(r) + ")"
	case linux_F_GETLEASE: // the lease's type
		if name, ok := linux.LockTypes.Name(r); ok {
			return hexs(r) + " (" + name + ")"
		}
		return hexs(r)
	case linux_F_GET_SEALS:
		if r == 0 {
			return "0"
		}
		return hexs(r) + " (seals " + linux.SealFlags.FormatPlain(r) + ")"
	case linux_F_GETSIG:
		if name := linux.SignalName(d.ret); name != "" {
			return strconv.FormatInt(d.ret, 10) + " (" + name + ")"
		}
	}
	return strconv.FormatInt(d.ret, 10)
}
