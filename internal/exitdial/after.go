package exitdial

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// after is time.After for the race's short waits. Go's runtime sleeps in
// epoll_wait, whose timeout is in milliseconds: a timer under 1 ms in an
// otherwise idle process fires after 1 ms or more (runtime/netpoll_epoll.go
// rounds up), which on a LAN is several times the stagger asked for. A
// shorter wait is a timerfd(2) instead, which the runtime's poller watches
// like a socket: epoll_wait returns as soon as it fires, and no thread is
// held while it waits (a thread asleep in nanosleep would keep its P, and
// on two vCPUs the attempt it is pacing would wait behind it: 0.5 ms,
// measured). The channel is closed when d has passed; a wait
// nobody reads any more ends on its own, within the millisecond.
func after(d time.Duration) <-chan struct{} {
	ch := make(chan struct{})
	if d < time.Millisecond {
		if f := timerFile(d); f != nil {
			go func() {
				var b [8]byte
				f.Read(b[:])
				f.Close()
				close(ch)
			}()
			return ch
		}
	}
	time.AfterFunc(d, func() { close(ch) })
	return ch
}

// timerFile is a timerfd that becomes readable d from now, or nil if one
// cannot be made.
func timerFile(d time.Duration) *os.File {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(max(int64(d), 1))} // 0 would disarm it
	if unix.TimerfdSettime(fd, 0, &spec, nil) != nil {
		unix.Close(fd)
		return nil
	}
	return os.NewFile(uintptr(fd), "stagger") // non-blocking: the poller waits for it
}
