package relay

import (
	"io"
	"net"

	"golang.org/x/sys/unix"
)

// Splicing without holding a pipe while idle. Go's own splice path
// (TCPConn.ReadFrom) takes a pipe for the whole copy and waits for the
// source while holding it: an idle relay keeps two pipes, four
// descriptors, besides its two sockets, and pipes given back linger in
// Go's pool until two garbage collections. A relay of an exit with a
// thousand idle clients held 6,000 descriptors; a program under carrot
// run with many relayed connections ran carrot out of its table.
//
// spliceCopy waits for the source to be readable with no pipe (on the
// poller), takes a pipe only when bytes come, and gives it back as soon
// as the source has nothing more for the moment and the pipe is empty.
// Pipes are kept in a small free list; past it they are closed.

// maxSplice is how much one splice moves at most, and the size asked for
// a pipe (Go's choice too: the default of fs.pipe-max-size).
const maxSplice = 1 << 20

type pipe struct{ r, w int }

// freePipes holds pipes not in use, up to its capacity.
var freePipes = make(chan pipe, 32)

func getPipe() (pipe, error) {
	select {
	case p := <-freePipes:
		return p, nil
	default:
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return pipe{}, err
	}
	unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, maxSplice) // a smaller one works too
	return pipe{fds[0], fds[1]}, nil
}

// putPipe keeps an empty pipe for reuse, or closes it.
func putPipe(p pipe) {
	select {
	case freePipes <- p:
	default:
		unix.Close(p.r)
		unix.Close(p.w)
	}
}

// copyStream copies r to dst until r's EOF, as io.Copy does; between two
// TCP connections it splices (spliceCopy).
func copyStream(dst net.Conn, r io.Reader) (int64, error) {
	d, ok1 := dst.(*net.TCPConn)
	s, ok2 := r.(*net.TCPConn)
	if !ok1 || !ok2 {
		return io.Copy(dst, r)
	}
	return spliceCopy(d, s)
}

// spliceCopy moves src's bytes to dst through a pipe held only while
// bytes are in it. When no pipe can be had (the descriptor table is full),
// that burst is copied through user space instead: a relay that is up
// keeps working when descriptors run short, as Go's splice did (it fell
// back to a plain copy).
func spliceCopy(dst, src *net.TCPConn) (written int64, err error) {
	sr, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	dr, err := dst.SyscallConn()
	if err != nil {
		return 0, err
	}
	var p pipe
	held := false
	defer func() {
		if held {
			// Bytes may be left in it after a failure: not reused.
			unix.Close(p.r)
			unix.Close(p.w)
		}
	}()
	var buf []byte // for bursts copied without a pipe
	for {
		var n int
		var serr error
		inBuf := false
		rerr := sr.Read(func(fd uintptr) bool {
			if !held {
				var perr error
				if p, perr = getPipe(); perr != nil {
					if buf == nil {
						buf = make([]byte, 32<<10)
					}
					inBuf = true
					for {
						n, serr = unix.Read(int(fd), buf)
						if serr != unix.EINTR {
							break
						}
					}
					return serr != unix.EAGAIN
				}
				held = true
			}
			inBuf = false
			for {
				var k int64
				k, serr = unix.Splice(int(fd), nil, p.w, nil, maxSplice, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
				n = int(k)
				if serr != unix.EINTR {
					break
				}
			}
			if serr == unix.EAGAIN {
				// Nothing to read for now: wait with no pipe.
				putPipe(p)
				held = false
				return false
			}
			return true
		})
		switch {
		case rerr != nil:
			return written, rerr
		case serr != nil:
			return written, &net.OpError{Op: "read", Net: "tcp", Source: src.LocalAddr(), Addr: src.RemoteAddr(), Err: serr}
		case n == 0:
			if held {
				putPipe(p) // empty at EOF
				held = false
			}
			return written, nil
		case inBuf:
			m, err := dst.Write(buf[:n])
			written += int64(m)
			if err != nil {
				return written, err
			}
			continue
		}
		for n > 0 {
			var m int
			var werr error
			err := dr.Write(func(fd uintptr) bool {
				for {
					var k int64
					k, werr = unix.Splice(p.r, nil, int(fd), nil, n, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
					m = int(k)
					if werr != unix.EINTR {
						break
					}
				}
				return werr != unix.EAGAIN
			})
			if err == nil && werr != nil {
				err = &net.OpError{Op: "splice", Net: "tcp", Source: dst.LocalAddr(), Addr: dst.RemoteAddr(), Err: werr}
			}
			if err != nil {
				return written, err
			}
			n -= m
			written += int64(m)
		}
	}
}
