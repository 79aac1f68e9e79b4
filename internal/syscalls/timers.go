package syscalls

import (
	"strconv"
	"strings"
	"time"

	"github.com/carrot-project/carrot/internal/linux"
)

// itimerval renders a struct itimerval (setitimer, getitimer): two
// timevals.
func (d *Decoded) itimerval(addr uint64) string {
	b, shown, ok := d.structAt(addr, 2*linux.SizeofTimeval)
	if !ok {
		return shown
	}
	return "{it_interval=" + formatTimeval(linux.ParseTimeval(b)) + ", it_value=" + formatTimeval(linux.ParseTimeval(b[16:])) + "}"
}

// itimerspec renders a struct itimerspec (timer_settime, timerfd_settime
// and their gettime): two timespecs.
func (d *Decoded) itimerspec(addr uint64) string {
	b, shown, ok := d.structAt(addr, 2*linux.SizeofTimespec)
	if !ok {
		return shown
	}
	return "{it_interval=" + formatTimespec(linux.ParseTimespec(b)) + ", it_value=" + formatTimespec(linux.ParseTimespec(b[16:])) + "}"
}

// The sigev_notify values whose other fields strace shows.
const (
	linux_SIGEV_SIGNAL    = 0
	linux_SIGEV_THREAD    = 2
	linux_SIGEV_THREAD_ID = 4
)

// sigevent renders timer_create's struct sigevent: the value only when it
// is not zero, the signal named only when the notification sends one.
func (d *Decoded) sigevent(addr uint64) string {
	b, shown, ok := d.structAt(addr, linux.SizeofSigevent)
	if !ok {
		return shown
	}
	ev := linux.ParseSigevent(b)
	s := "{"
	if ev.Value != 0 {
		s += "sigev_value={sival_int=" + strconv.Itoa(int(int32(ev.Value))) + ", sival_ptr=" + ptr(ev.Value) + "}, "
	}
	s += "sigev_signo="
	switch ev.Notify {
	case linux_SIGEV_SIGNAL, linux_SIGEV_THREAD, linux_SIGEV_THREAD_ID:
		s += linux.FormatSignal(int64(ev.Signo))
	default:
		s += strconv.Itoa(int(ev.Signo))
	}
	s += ", sigev_notify=" + linux.SigevNotify.Format(uint64(uint32(ev.Notify)))
	switch ev.Notify {
	case linux_SIGEV_THREAD_ID:
		s += ", sigev_notify_thread_id=" + strconv.Itoa(int(int32(ev.Function)))
	case linux_SIGEV_THREAD:
		s += ", sigev_notify_function=" + ptr(ev.Function) + ", sigev_notify_attributes=" + ptr(ev.Attr)
	}
	return s + "}"
}

// dateComment is the comment strace's sprinttime_ex puts after a time it
// knows to be a date (file times): " /* 2001-09-09T01:46:40.500000000+0000 */",
// in the local time zone, with frac as width digits when it is not 0. There
// is none for the epoch itself (sec and frac 0) or a frac above limit.
func dateComment(sec int64, frac, limit uint64, width int) string {
	if sec == 0 && frac == 0 || frac > limit {
		return ""
	}
	t := time.Unix(sec, 0).Local()
	s := t.Format("2006-01-02T15:04:05")
	if frac > 0 {
		f := strconv.FormatUint(frac, 10)
		s += "." + strings.Repeat("0", max(0, width-len(f))) + f
	}
	return " /* " + s + t.Format("-0700") + " */"
}

// The tv_nsec values utimensat takes as "now" and "leave as it is".
const (
	linux_UTIME_NOW  = 1<<30 - 1
	linux_UTIME_OMIT = 1<<30 - 2
)

// utimens renders utimensat's two timespecs, each with its date:
// [{tv_sec=1, tv_nsec=0} /* 1970-01-01T00:00:01+0000 */, UTIME_OMIT].
func (d *Decoded) utimens(addr uint64) string {
	b, shown, ok := d.structAt(addr, 2*linux.SizeofTimespec)
	if !ok {
		return shown
	}
	var parts [2]string
	for i := range parts {
		t := linux.ParseTimespec(b[i*linux.SizeofTimespec:])
		switch t.Nsec {
		case linux_UTIME_NOW:
			parts[i] = "UTIME_NOW"
		case linux_UTIME_OMIT:
			parts[i] = "UTIME_OMIT"
		default:
			parts[i] = formatTimespec(t) + dateComment(t.Sec, uint64(t.Nsec), 999999999, 9)
		}
	}
	return "[" + parts[0] + ", " + parts[1] + "]"
}

// utimes renders the two timevals of utimes and futimesat, each with its date.
func (d *Decoded) utimes(addr uint64) string {
	b, shown, ok := d.structAt(addr, 2*linux.SizeofTimeval)
	if !ok {
		return shown
	}
	var parts [2]string
	for i := range parts {
		t := linux.ParseTimeval(b[i*linux.SizeofTimeval:])
		parts[i] = formatTimeval(t) + dateComment(t.Sec, uint64(t.Usec), 999999, 6)
	}
	return "[" + parts[0] + ", " + parts[1] + "]"
}

// utimbuf renders utime's struct utimbuf {actime, modtime}, each with its date.
func (d *Decoded) utimbuf(addr uint64) string {
	b, shown, ok := d.structAt(addr, 16)
	if !ok {
		return shown
	}
	at, mt := int64(le64(b)), int64(le64(b[8:]))
	return "{actime=" + strconv.FormatInt(at, 10) + dateComment(at, 0, 0, 0) +
		", modtime=" + strconv.FormatInt(mt, 10) + dateComment(mt, 0, 0, 0) + "}"
}

// sizeofTimex is the size of a struct timex.
const sizeofTimex = 208

// timex renders adjtimex's and clock_adjtime's struct timex, as strace
// prints it at exit with or without -v.
func (d *Decoded) timex(addr uint64) string {
	b, err := d.read(addr, sizeofTimex)
	if err != nil {
		return ptr(addr)
	}
	l := func(o int) string { return strconv.FormatInt(int64(le64(b[o:])), 10) }
	i := func(o int) string { return strconv.Itoa(int(int32(le32(b[o:])))) }
	return "{modes=" + linux.AdjtimexModes.Format(uint64(le32(b))) +
		", offset=" + l(8) + ", freq=" + l(16) + ", maxerror=" + l(24) + ", esterror=" + l(32) +
		", status=" + linux.AdjtimexStatus.Format(uint64(le32(b[40:]))) +
		", constant=" + l(48) + ", precision=" + l(56) + ", tolerance=" + l(64) +
		", time=" + formatTimeval(linux.ParseTimeval(b[72:])) +
		", tick=" + l(88) + ", ppsfreq=" + l(96) + ", jitter=" + l(104) + ", shift=" + i(112) +
		", stabil=" + l(120) + ", jitcnt=" + l(128) + ", calcnt=" + l(136) + ", errcnt=" + l(144) +
		", stbcnt=" + l(152) + ", tai=" + i(160) + "}"
}

// timexRet renders adjtimex's and clock_adjtime's return: the clock
// state's name after it (5 (TIME_ERROR)) when the struct timex at addr
// could be shown.
func (d *Decoded) timexRet(addr uint64) string {
	r := strconv.FormatInt(d.ret, 10)
	if _, err := d.read(addr, sizeofTimex); err != nil {
		return r
	}
	if n, ok := linux.AdjtimexStates.Name(uint64(d.ret)); ok {
		return r + " (" + n + ")"
	}
	return r
}
