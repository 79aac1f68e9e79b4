package syscalls

import (
	"strconv"
	"strings"

	"github.com/carrot-project/carrot/internal/linux"
)

// ioctl requests whose argument strace decodes (include/uapi/asm-generic/ioctls.h, linux/fs.h).
const (
	linux_TCGETS     = 0x5401
	linux_TCSETS     = 0x5402
	linux_TCSETSW    = 0x5403
	linux_TCSETSF    = 0x5404
	linux_TCGETA     = 0x5405
	linux_TCSBRK     = 0x5409
	linux_TCXONC     = 0x540a
	linux_TCFLSH     = 0x540b
	linux_TIOCEXCL   = 0x540c
	linux_TIOCNXCL   = 0x540d
	linux_TIOCSCTTY  = 0x540e
	linux_TIOCGPGRP  = 0x540f
	linux_TIOCSPGRP  = 0x5410
	linux_TIOCOUTQ   = 0x5411
	linux_TIOCGWINSZ = 0x5413
	linux_TIOCSWINSZ = 0x5414
	linux_TIOCMGET   = 0x5415
	linux_FIONREAD   = 0x541b
	linux_FIONBIO    = 0x5421
	linux_TIOCNOTTY  = 0x5422
	linux_TCSBRKP    = 0x5425
	linux_TIOCGSID   = 0x5429
	linux_FIONCLEX   = 0x5450
	linux_FIOCLEX    = 0x5451
	linux_FIOQSIZE   = 0x5460
	linux_TIOCGPTN   = 0x80045430
	linux_TIOCSPTLCK = 0x40045431
	linux_FICLONE    = 0x40049409
)

// ioctlEnter renders ioctl's third argument as strace does for the
// requests it decodes: a structure or [int] passed in, an int, a named
// value. A request that reads something back has it printed at exit (its
// line splits before the comma: "ioctl(1, TCGETS <unfinished ...>"); one
// that takes no argument prints none (ioctl(3, FIOCLEX)); any other's
// argument stays in hex.
func ioctlEnter(d *Decoded) {
	arg := d.c.Args[2]
	switch uint32(d.c.Args[1]) {
	case linux_TCGETS, linux_TCGETA, linux_TIOCGPGRP, linux_TIOCOUTQ, linux_TIOCGWINSZ, linux_TIOCMGET,
		linux_FIONREAD, linux_TIOCGSID, linux_TIOCGPTN, linux_FIOQSIZE:
		d.out[2], d.sepAtExit = true, true
	case linux_FIONCLEX, linux_FIOCLEX, linux_TIOCEXCL, linux_TIOCNXCL, linux_TIOCNOTTY:
		d.omit[2] = true
	case linux_TCSETS, linux_TCSETSW, linux_TCSETSF:
		d.args[2] = d.termios(arg)
	case linux_TIOCSWINSZ:
		d.args[2] = d.winsize(arg)
	case linux_TIOCSPGRP, linux_FIONBIO, linux_TIOCSPTLCK:
		d.args[2] = d.intArray(arg, 1)
	case linux_TIOCSCTTY, linux_TCSBRK, linux_TCSBRKP, linux_FICLONE:
		d.args[2] = strconv.Itoa(int(int32(arg)))
	case linux_TCXONC:
		d.args[2] = linux.TcxoncActions.Format(uint64(uint32(arg)))
	case linux_TCFLSH:
		d.args[2] = linux.TcflshQueues.Format(uint64(uint32(arg)))
	}
}

// ioctlExit renders what a request read back; TCGETA's struct termio,
// TIOCMGET's and FIOQSIZE's values stay pointers.
func ioctlExit(d *Decoded) {
	arg := d.c.Args[2]
	if !d.out[2] {
		return
	}
	d.args[2] = ptr(arg)
	if d.Failed() {
		return
	}
	switch uint32(d.c.Args[1]) {
	case linux_TCGETS:
		d.args[2] = d.termios(arg)
	case linux_TIOCGWINSZ:
		d.args[2] = d.winsize(arg)
	case linux_TIOCGPGRP, linux_TIOCOUTQ, linux_FIONREAD, linux_TIOCGSID, linux_TIOCGPTN:
		d.args[2] = d.intArray(arg, 1)
	}
}

// termios renders a struct termios as strace 6.1 does: the four flag
// words, then with -v c_line and c_cc. strace leaves a flag word of 0
// empty ("c_lflag=") and ends c_oflag's delays and c_cflag's size with a
// '|' even when no flag follows; so does this.
func (d *Decoded) termios(addr uint64) string {
	b, shown, ok := d.structAt(addr, linux.SizeofTermios)
	if !ok {
		return shown
	}
	t := linux.ParseTermios(b)
	flags := func(s *linux.FlagSet, v uint32) string {
		if v == 0 {
			return ""
		}
		return s.Format(uint64(v))
	}
	var o strings.Builder
	oflag := t.Oflag
	for _, f := range linux.TermOdelays {
		o.WriteString(f.Names.Format(uint64(oflag&f.Mask)) + "|")
		oflag &^= f.Mask
	}
	o.WriteString(flags(linux.TermOflags, oflag))
	c := linux.BaudRates.Format(uint64(t.Cflag & linux.CBAUD))
	if ibaud := t.Cflag & linux.CIBAUD >> linux.IBSHIFT; ibaud != 0 {
		c += "|" + linux.BaudRates.Format(uint64(ibaud)) + "<<IBSHIFT"
	}
	c += "|" + linux.CharSizes.Format(uint64(t.Cflag&linux.CSIZE)) + "|" +
		flags(linux.TermCflags, t.Cflag&^(linux.CBAUD|linux.CIBAUD|linux.CSIZE))
	s := "{c_iflag=" + flags(linux.TermIflags, t.Iflag) + ", c_oflag=" + o.String() + ", c_cflag=" + c +
		", c_lflag=" + flags(linux.TermLflags, t.Lflag)
	if !d.o.Verbose {
		return s + ", ...}"
	}
	cc := make([]string, len(t.Cc))
	for i, v := range t.Cc {
		name := strconv.Itoa(i)
		if i < len(linux.ControlChars) {
			name = linux.ControlChars[i]
		}
		cc[i] = "[" + name + "]=" + hexs(uint64(v))
	}
	return s + ", c_line=" + linux.LineDisciplines.Format(uint64(t.Line)) + ", c_cc=[" + strings.Join(cc, ", ") + "]}"
}

// winsize renders a struct winsize: {ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}.
func (d *Decoded) winsize(addr uint64) string {
	b, shown, ok := d.structAt(addr, linux.SizeofWinsize)
	if !ok {
		return shown
	}
	w := linux.ParseWinsize(b)
	u := func(v uint16) string { return strconv.Itoa(int(v)) }
	return "{ws_row=" + u(w.Row) + ", ws_col=" + u(w.Col) + ", ws_xpixel=" + u(w.Xpixel) + ", ws_ypixel=" + u(w.Ypixel) + "}"
}
