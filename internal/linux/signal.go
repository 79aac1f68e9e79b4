package linux

import "strconv"

// Signal numbers on x86-64 (arch/x86/include/uapi/asm/signal.h). 32 and 33
// are reserved by glibc for its threads; strace calls 32 SIGRTMIN and
// numbers 33..64 SIGRT_1..SIGRT_32.
const (
	SIGCHLD  = 17
	SIGRTMIN = 32
	NSIG     = 64
)

var signalNames = [...]string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
	7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
	13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD",
	18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU",
	23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF",
	28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
}

// SignalName returns strace's name for signal s ("SIGTERM", "SIGRTMIN",
// "SIGRT_2"), or "" when s is not a signal number.
func SignalName(s int64) string {
	switch {
	case s > 0 && s < int64(len(signalNames)):
		return signalNames[s]
	case s == SIGRTMIN:
		return "SIGRTMIN"
	case s > SIGRTMIN && s <= NSIG:
		return "SIGRT_" + strconv.FormatInt(s-SIGRTMIN, 10)
	}
	return ""
}

// FormatSignal renders a signal argument: its name, or the number in
// decimal (strace prints kill(0, 65) and kill(0, 0)).
func FormatSignal(s int64) string {
	if n := SignalName(s); n != "" {
		return n
	}
	return strconv.FormatInt(s, 10)
}
