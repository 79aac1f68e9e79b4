package syscalls

import (
	"strconv"

	"github.com/carrot-project/carrot/internal/linux"
)

// itimerval renders a struct itimerval (setitimer, getitimer): two
// timevals.
func (d *Decoded) itimerval(addr uint64) string {
	if addr == 0 {
		return "NULL"
	}
	b, err := d.read(addr, 2*linux.SizeofTimeval)
	if err != nil {
		return hexs(addr)
	}
	return "{it_interval=" + formatTimeval(linux.ParseTimeval(b)) + ", it_value=" + formatTimeval(linux.ParseTimeval(b[16:])) + "}"
}

// itimerspec renders a struct itimerspec (timer_settime, timerfd_settime
// and their gettime): two timespecs.
func (d *Decoded) itimerspec(addr uint64) string {
	if addr == 0 {
		return "NULL"
	}
	b, err := d.read(addr, 2*linux.SizeofTimespec)
	if err != nil {
		return hexs(addr)
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
	if addr == 0 {
		return "NULL"
	}
	b, err := d.read(addr, linux.SizeofSigevent)
	if err != nil {
		return hexs(addr)
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
