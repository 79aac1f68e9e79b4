package linux

import "strconv"

// Kernel-internal errnos that a tracer sees in a syscall's return value
// when a signal interrupts the call (include/linux/errno.h). They never
// reach the program: the kernel restarts the call or turns them into EINTR.
const (
	ERESTARTSYS           = 512
	ERESTARTNOINTR        = 513
	ERESTARTNOHAND        = 514
	ENOIOCTLCMD           = 515
	ERESTART_RESTARTBLOCK = 516
)

// MaxErrno is the largest value the kernel returns as -errno: a return
// value in [-4095, -1] is an error (include/linux/err.h MAX_ERRNO).
const MaxErrno = 4095

// ErrnoName returns the symbolic name of errno e ("ENOENT"), or "" if it has
// none.
func ErrnoName(e int) string { return errnos[e].name }

// ErrnoMessage returns the message strace prints for e in parentheses
// ("No such file or directory"), or "" if e has no name.
func ErrnoMessage(e int) string { return errnos[e].msg }

// IsRestart reports whether e is one of the ERESTART* codes, for which
// strace prints "= ? ERESTARTSYS (...)" rather than "= -1 ...".
func IsRestart(e int) bool {
	return e == ERESTARTSYS || e == ERESTARTNOINTR || e == ERESTARTNOHAND || e == ERESTART_RESTARTBLOCK
}

// FormatErrno renders e the way strace does after "= -1 ": "ENOENT (No such
// file or directory)", or "(errno 134)" for a number with no name.
func FormatErrno(e int) string {
	if n, ok := errnos[e]; ok {
		return n.name + " (" + n.msg + ")"
	}
	return "(errno " + strconv.Itoa(e) + ")"
}
