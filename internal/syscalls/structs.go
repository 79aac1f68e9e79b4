package syscalls

import (
	"bytes"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/carrot-project/carrot/internal/linux"
	"golang.org/x/sys/unix"
)

// sigsetSize is the sigsetsize argument of the rt_sig* call being decoded
// (its last argument; the one after the mask for rt_sigsuspend, signalfd
// and signalfd4).
func (d *Decoded) sigsetSize() uint64 {
	switch d.info.Name {
	case "rt_sigsuspend":
		return d.c.Args[1]
	case "signalfd", "signalfd4":
		return d.c.Args[2]
	}
	return d.c.Args[len(d.info.Args)-1]
}

// sigset renders a kernel sigset_t: [HUP INT], or ~[KILL STOP] when more
// than half the signals are set.
func (d *Decoded) sigset(addr, size uint64) string {
	if addr == 0 {
		return "NULL"
	}
	if size != 8 {
		return hexs(addr)
	}
	b, err := d.read(addr, 8)
	if err != nil {
		return hexs(addr)
	}
	return formatSigmask(le64(b))
}

func formatSigmask(m uint64) string {
	prefix := "["
	if bits.OnesCount64(m) > 32 {
		prefix = "~["
		m = ^m
	}
	var names []string
	for s := 1; s <= 64; s++ {
		if m&(1<<(s-1)) != 0 {
			names = append(names, strings.TrimPrefix(linux.SignalName(int64(s)), "SIG"))
		}
	}
	return prefix + strings.Join(names, " ") + "]"
}

// sigaction renders a kernel struct sigaction.
func (d *Decoded) sigaction(addr uint64) string {
	b, shown, ok := d.structAt(addr, linux.SizeofSigaction)
	if !ok {
		return shown
	}
	sa := linux.ParseSigaction(b)
	var h string
	switch sa.Handler {
	case linux.SIG_DFL:
		h = "SIG_DFL"
	case linux.SIG_IGN:
		h = "SIG_IGN"
	default:
		h = hexs(sa.Handler)
	}
	s := "{sa_handler=" + h + ", sa_mask=" + formatSigmask(sa.Mask) + ", sa_flags=" + linux.SigactionFlags.Format(sa.Flags)
	if sa.Flags&linux.SA_RESTORER != 0 {
		s += ", sa_restorer=" + ptr(sa.Restorer)
	}
	return s + "}"
}

var resolveFlags = &linux.FlagSet{Flags: []linux.Flag{
	{Value: 1, Name: "RESOLVE_NO_XDEV"}, {Value: 2, Name: "RESOLVE_NO_MAGICLINKS"},
	{Value: 4, Name: "RESOLVE_NO_SYMLINKS"}, {Value: 8, Name: "RESOLVE_BENEATH"},
	{Value: 0x10, Name: "RESOLVE_IN_ROOT"}, {Value: 0x20, Name: "RESOLVE_CACHED"},
}}

// openHow renders openat2's struct open_how {u64 flags, mode, resolve}.
func (d *Decoded) openHow(addr, size uint64) string {
	if addr == 0 {
		return "NULL"
	}
	if size < 24 {
		return hexs(addr)
	}
	b, err := d.read(addr, 24)
	if err != nil {
		return hexs(addr)
	}
	flags, mode, resolve := le64(b), le64(b[8:]), le64(b[16:])
	s := "{flags=" + formatOpenFlags(flags)
	if flags&(linux.O_CREAT|linux.O_TMPFILE_BIT) != 0 || mode != 0 {
		s += ", mode=" + octal(mode)
	}
	return s + ", resolve=" + resolveFlags.Format(resolve) + "}"
}

// argv renders a NULL-terminated array of strings; abbrev prints only its
// address and length, as strace does for envp without -v.
func (d *Decoded) argv(addr uint64, abbrev bool) string {
	if addr == 0 {
		return "NULL"
	}
	var ptrs []uint64
	for i := 0; ; i++ {
		b, err := d.read(addr+uint64(i)*8, 8)
		if err != nil {
			return hexs(addr)
		}
		p := le64(b)
		if p == 0 {
			break
		}
		ptrs = append(ptrs, p)
		if i > 1<<16 {
			break
		}
	}
	if abbrev {
		v := " vars */"
		if len(ptrs) == 1 {
			v = " var */"
		}
		return hexs(addr) + " /* " + strconv.Itoa(len(ptrs)) + v
	}
	var parts []string
	for i, p := range ptrs {
		if i >= d.o.StrSize && !d.o.Verbose {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, d.cstring(p))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pollfds renders the pollfd array at entry (fd and events).
func (d *Decoded) pollfds(addr, n uint64) string {
	if addr == 0 {
		return "NULL"
	}
	if n > 1<<16 {
		return hexs(addr)
	}
	return d.array(addr, int(n), linux.SizeofPollfd, !d.o.Verbose, func(b []byte) string {
		p := linux.ParsePollfd(b)
		if p.Fd < 0 { // ignored by poll: strace leaves out its events
			return "{fd=" + d.fd(int64(p.Fd)) + "}"
		}
		return "{fd=" + d.fd(int64(p.Fd)) + ", events=" + linux.PollEvents.Format(uint64(uint16(p.Events))) + "}"
	})
}

// array renders n elements of size bytes at addr as strace's print_array
// does: "[e1, e2]", cut at -s elements when limited ("[e1, ...]"), and
// when only the first elements can be read, those, then "... /* ADDR */"
// at the first that cannot; just the address when none can.
func (d *Decoded) array(addr uint64, n, size int, limited bool, elem func([]byte) string) string {
	show := n
	if limited {
		show = min(n, d.o.StrSize)
	}
	b := d.readUpTo(addr, show*size)
	got := len(b) / size
	if got == 0 && show > 0 {
		return hexs(addr)
	}
	var parts []string
	for i := range got {
		parts = append(parts, elem(b[i*size:(i+1)*size]))
	}
	switch {
	case got < show:
		parts = append(parts, "... /* "+hexs(addr+uint64(got*size))+" */")
	case show < n:
		parts = append(parts, "...")
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pollRevents renders poll's return: "1 ([{fd=3, revents=POLLIN}])" or "0 (Timeout)".
func (d *Decoded) pollRevents(addr, n uint64) string {
	r := strconv.FormatInt(d.ret, 10)
	if d.ret == 0 {
		return r + " (Timeout)"
	}
	if n > 1<<16 {
		return r
	}
	b, err := d.read(addr, int(n)*linux.SizeofPollfd)
	if err != nil {
		return r
	}
	var parts []string
	for i := 0; i < int(n); i++ {
		p := linux.ParsePollfd(b[i*linux.SizeofPollfd:])
		if p.Revents != 0 {
			// The fds of the result are plain numbers, even with -y.
			parts = append(parts, "{fd="+strconv.Itoa(int(p.Fd))+", revents="+linux.PollEvents.Format(uint64(uint16(p.Revents)))+"}")
		}
	}
	return r + " ([" + strings.Join(parts, ", ") + "])"
}

// timespec renders a struct timespec passed in.
func (d *Decoded) timespec(addr uint64) string {
	b, shown, ok := d.structAt(addr, linux.SizeofTimespec)
	if !ok {
		return shown
	}
	return formatTimespec(linux.ParseTimespec(b))
}

// formatTimespec renders a struct timespec: tv_nsec is printed unsigned,
// as strace does.
func formatTimespec(t linux.Timespec) string {
	return "{tv_sec=" + strconv.FormatInt(t.Sec, 10) + ", tv_nsec=" + strconv.FormatUint(uint64(t.Nsec), 10) + "}"
}

// formatTimeval renders a struct timeval: tv_usec is printed unsigned, as
// strace does.
func formatTimeval(t linux.Timeval) string {
	return "{tv_sec=" + strconv.FormatInt(t.Sec, 10) + ", tv_usec=" + strconv.FormatUint(uint64(t.Usec), 10) + "}"
}

// iovec renders an iovec array. data < 0 means the buffers are passed in
// and printed whole (limited by -s); otherwise only data bytes in total
// were transferred (readv's return) and are printed.
func (d *Decoded) iovec(addr, n uint64, data int64) string {
	if addr == 0 {
		return "NULL"
	}
	if n > 1024 {
		return hexs(addr)
	}
	return d.array(addr, int(n), linux.SizeofIovec, !d.o.Verbose, func(b []byte) string {
		v := linux.ParseIovec(b)
		var base string
		switch {
		case data < 0:
			base = d.buffer(v.Base, v.Len)
		default:
			show := v.Len
			if uint64(data) < show {
				show = uint64(data)
			}
			data -= int64(show)
			base = d.buffer(v.Base, show)
		}
		return "{iov_base=" + base + ", iov_len=" + strconv.FormatUint(v.Len, 10) + "}"
	})
}

// sockaddr renders a socket address of length n at addr.
func (d *Decoded) sockaddr(addr, n uint64) string {
	if addr == 0 {
		return "NULL"
	}
	if n == 0 {
		return hexs(addr)
	}
	if n > linux.SizeofSockaddr {
		n = linux.SizeofSockaddr
	}
	b, err := d.read(addr, int(n))
	if err != nil {
		return hexs(addr)
	}
	return formatSockaddr(d, b)
}

func formatSockaddr(d *Decoded, b []byte) string {
	if len(b) < 2 {
		return "{sa_family=" + "???" + "}"
	}
	fam := uint64(b[0]) | uint64(b[1])<<8
	s := "{sa_family=" + linux.AddressFamilies.Format(fam)
	rest := b[2:]
	switch {
	case fam == 2 && len(b) >= linux.SizeofSockaddrIn:
		ip := netip.AddrFrom4([4]byte(b[4:8]))
		s += ", sin_port=htons(" + strconv.Itoa(int(b[2])<<8|int(b[3])) + "), sin_addr=inet_addr(" + d.quote([]byte(ip.String()), false) + ")"
	case fam == 10 && len(b) >= 24:
		ip := netip.AddrFrom16([16]byte(b[8:24]))
		flow := uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
		s += ", sin6_port=htons(" + strconv.Itoa(int(b[2])<<8|int(b[3])) + "), sin6_flowinfo=htonl(" +
			strconv.FormatUint(uint64(flow), 10) + "), inet_pton(AF_INET6, " + d.quote([]byte(ip.String()), false) + ", &sin6_addr)"
		if len(b) >= linux.SizeofSockaddrIn6 {
			s += ", sin6_scope_id=" + strconv.FormatUint(uint64(le32(b[24:])), 10)
		}
	case fam == 1:
		if len(rest) == 0 {
			break
		}
		if rest[0] == 0 {
			s += ", sun_path=@" + d.quote(trimNul(rest[1:]), false)
		} else {
			s += ", sun_path=" + d.quote(trimNul(rest), false)
		}
	case fam == 16 && len(b) >= 12:
		s += ", nl_pid=" + strconv.FormatUint(uint64(le32(b[4:])), 10) + ", nl_groups=" + pad8hex(le32(b[8:]))
	default:
		if len(rest) > 0 {
			s += ", sa_data=" + d.quote(rest, false)
		}
	}
	return s + "}"
}

func pad8hex(v uint32) string {
	h := strconv.FormatUint(uint64(v), 16)
	return strings.Repeat("0", 8-len(h)) + h
}

func trimNul(b []byte) []byte {
	if i := indexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// msghdr renders a struct msghdr; data < 0 for sendmsg (all iov data),
// otherwise the bytes received.
func (d *Decoded) msghdr(addr uint64, data int64) string {
	b, shown, ok := d.structAt(addr, linux.SizeofMsghdr)
	if !ok {
		return shown
	}
	m := linux.ParseMsghdr(b)
	s := "{msg_name="
	if m.Name == 0 || m.Namelen == 0 {
		s += ptr(m.Name)
	} else {
		s += d.sockaddr(m.Name, uint64(m.Namelen))
	}
	s += ", msg_namelen=" + strconv.FormatUint(uint64(m.Namelen), 10)
	s += ", msg_iov=" + d.iovec(m.Iov, m.Iovlen, data) + ", msg_iovlen=" + strconv.FormatUint(m.Iovlen, 10)
	if m.Controllen != 0 {
		s += ", msg_control=" + ptr(m.Control)
	}
	s += ", msg_controllen=" + strconv.FormatUint(m.Controllen, 10) + ", msg_flags=" + linux.MsgFlags.Format(uint64(m.Flags)) + "}"
	return s
}

// makedev renders a device number as strace does: makedev(0x88, 0x3).
func makedev(dev uint64) string {
	major := dev>>8&0xfff | dev>>32&^0xfff
	minor := dev&0xff | dev>>12&^0xff
	return "makedev(" + hexs(major) + ", " + hexs(minor) + ")"
}

// stat renders a struct stat: {st_mode=S_IFREG|0644, st_size=3391, ...}
// without -v, every field with it.
func (d *Decoded) stat(addr uint64) string {
	b, shown, ok := d.structAt(addr, linux.SizeofStat)
	if !ok {
		return shown
	}
	st := linux.ParseStat(b)
	isDev := st.Mode&0170000 == 0020000 || st.Mode&0170000 == 0060000
	if !d.o.Verbose {
		s := "{st_mode=" + formatMode(st.Mode)
		if isDev {
			s += ", st_rdev=" + makedev(st.Rdev)
		} else {
			s += ", st_size=" + strconv.FormatInt(st.Size, 10)
		}
		return s + ", ...}"
	}
	s := "{st_dev=" + makedev(st.Dev) + ", st_ino=" + strconv.FormatUint(st.Ino, 10) +
		", st_mode=" + formatMode(st.Mode) + ", st_nlink=" + strconv.FormatUint(st.Nlink, 10) +
		", st_uid=" + strconv.FormatUint(uint64(st.UID), 10) + ", st_gid=" + strconv.FormatUint(uint64(st.GID), 10) +
		", st_blksize=" + strconv.FormatInt(st.Blksize, 10) + ", st_blocks=" + strconv.FormatInt(st.Blocks, 10)
	if isDev {
		s += ", st_rdev=" + makedev(st.Rdev)
	} else {
		s += ", st_size=" + strconv.FormatInt(st.Size, 10)
	}
	for _, t := range []struct {
		n  string
		ts linux.Timespec
	}{{"st_atime", st.Atime}, {"st_mtime", st.Mtime}, {"st_ctime", st.Ctime}} {
		s += ", " + t.n + "=" + strconv.FormatInt(t.ts.Sec, 10) + dateComment(t.ts.Sec, uint64(t.ts.Nsec), 999999999, 9) +
			", " + t.n + "_nsec=" + strconv.FormatInt(t.ts.Nsec, 10)
	}
	return s + "}"
}

// statx renders a struct statx: {stx_mask=..., stx_attributes=0,
// stx_mode=S_IFREG|0644, stx_size=3391, ...} without -v; with it, every
// field in strace's order, stx_btime, stx_mnt_id and the stx_dio_* fields
// only when stx_mask says they are filled in.
func (d *Decoded) statx(addr uint64) string {
	b, shown, ok := d.structAt(addr, linux.SizeofStatx)
	if !ok {
		return shown
	}
	st := linux.ParseStatx(b)
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	if !d.o.Verbose {
		return "{stx_mask=" + linux.StatxMask.Format(uint64(st.Mask)) + ", stx_attributes=" + statxAttrs.Format(st.Attributes) +
			", stx_mode=" + formatMode(uint32(st.Mode)) + ", stx_size=" + u(st.Size) + ", ...}"
	}
	ts := func(name string, t linux.StatxTimestamp) string {
		return ", " + name + "={tv_sec=" + strconv.FormatInt(t.Sec, 10) + ", tv_nsec=" + u(uint64(t.Nsec)) + "}" +
			dateComment(t.Sec, uint64(t.Nsec), 999999999, 9)
	}
	s := "{stx_mask=" + linux.StatxMask.Format(uint64(st.Mask)) + ", stx_blksize=" + u(uint64(st.Blksize)) +
		", stx_attributes=" + statxAttrs.Format(st.Attributes) + ", stx_nlink=" + u(uint64(st.Nlink)) +
		", stx_uid=" + u(uint64(st.UID)) + ", stx_gid=" + u(uint64(st.GID)) + ", stx_mode=" + formatMode(uint32(st.Mode)) +
		", stx_ino=" + u(st.Ino) + ", stx_size=" + u(st.Size) + ", stx_blocks=" + u(st.Blocks) +
		", stx_attributes_mask=" + statxAttrs.Format(st.AttrMask) + ts("stx_atime", st.Atime)
	if st.Mask&unix.STATX_BTIME != 0 {
		s += ts("stx_btime", st.Btime)
	}
	s += ts("stx_ctime", st.Ctime) + ts("stx_mtime", st.Mtime) +
		", stx_rdev_major=" + u(uint64(st.RdevMajor)) + ", stx_rdev_minor=" + u(uint64(st.RdevMinor)) +
		", stx_dev_major=" + u(uint64(st.DevMajor)) + ", stx_dev_minor=" + u(uint64(st.DevMinor))
	if st.Mask&unix.STATX_MNT_ID != 0 {
		s += ", stx_mnt_id=" + hexs(st.MntID)
	}
	if st.Mask&unix.STATX_DIOALIGN != 0 {
		s += ", stx_dio_mem_align=" + u(uint64(st.DioMem)) + ", stx_dio_offset_align=" + u(uint64(st.DioOffset))
	}
	return s + "}"
}

var statxAttrs = &linux.FlagSet{Flags: []linux.Flag{
	{Value: 0x4, Name: "STATX_ATTR_COMPRESSED"}, {Value: 0x10, Name: "STATX_ATTR_IMMUTABLE"},
	{Value: 0x20, Name: "STATX_ATTR_APPEND"}, {Value: 0x40, Name: "STATX_ATTR_NODUMP"},
	{Value: 0x800, Name: "STATX_ATTR_ENCRYPTED"}, {Value: 0x1000, Name: "STATX_ATTR_AUTOMOUNT"},
	{Value: 0x2000, Name: "STATX_ATTR_MOUNT_ROOT"}, {Value: 0x100000, Name: "STATX_ATTR_VERITY"},
	{Value: 0x200000, Name: "STATX_ATTR_DAX"},
}}

// sockoptValue renders a socket option's value of n bytes as strace's
// print_setsockopt and print_getsockopt do: SO_LINGER's struct linger,
// getsockopt's SO_PEERCRED and SO_ERROR, otherwise an int ([1]) when n is
// its size, or n bytes as a string.
func (d *Decoded) sockoptValue(level, name, addr uint64, n int32, get bool) string {
	if get && n <= 0 {
		return ptr(addr)
	}
	if addr == 0 {
		return "NULL"
	}
	if uint32(level) == 1 { // SOL_SOCKET
		switch name := uint32(name); {
		case name == 13 && !get: // SO_LINGER
			if n < 8 {
				return hexs(addr)
			}
			return d.intFields(addr, 8, "l_onoff", "l_linger")
		case name == 13:
			return d.intFields(addr, min(int(n), 8), "l_onoff", "l_linger")
		case name == 17 && get: // SO_PEERCRED
			return d.intFields(addr, min(int(n), 12), "pid", "uid", "gid")
		case name == 4 && get && n >= 4: // SO_ERROR
			v, ok := d.u32(addr)
			if !ok {
				return hexs(addr)
			}
			if e := linux.ErrnoName(int(v)); e != "" && v < 4096 {
				return "[" + e + "]"
			}
			return "[" + strconv.FormatUint(uint64(v), 10) + "]"
		}
	}
	if n == 4 {
		v, ok := d.u32(addr)
		if !ok {
			return hexs(addr)
		}
		return "[" + strconv.Itoa(int(int32(v))) + "]"
	}
	return d.buffer(addr, uint64(int64(n))) // a negative length reads -s bytes, as strace's printstrn

}

// intFields renders the first n bytes at addr as a structure of 32-bit
// fields, as strace's MAYBE_PRINT_FIELD_LEN does: whole fields in decimal
// (uid and gid as ids), a partial last one as a string of its bytes.
func (d *Decoded) intFields(addr uint64, n int, names ...string) string {
	b, err := d.read(addr, n)
	if err != nil {
		return hexs(addr)
	}
	s := "{"
	for k, name := range names {
		off := 4 * k
		if off >= n {
			break
		}
		if k > 0 {
			s += ", "
		}
		s += name + "="
		switch {
		case off+4 > n:
			s += quoteHex(b[off:n], false, 2)
		case name == "uid" || name == "gid":
			s += formatID(le32(b[off:]))
		default:
			s += i32s(b, off)
		}
	}
	return s + "}"
}

// rlimit renders a struct rlimit (two 64-bit values) as strace does:
// multiples of 1024 as N*1024, all ones as RLIM64_INFINITY.
func (d *Decoded) rlimit(addr uint64) string {
	b, shown, ok := d.structAt(addr, 16)
	if !ok {
		return shown
	}
	lim := func(v uint64) string {
		switch {
		case v == ^uint64(0):
			return "RLIM64_INFINITY"
		case v > 1024 && v%1024 == 0:
			return strconv.FormatUint(v/1024, 10) + "*1024"
		}
		return strconv.FormatUint(v, 10)
	}
	return "{rlim_cur=" + lim(le64(b)) + ", rlim_max=" + lim(le64(b[8:])) + "}"
}

// pselectMask renders pselect6's last argument, a pointer to the kernel's
// {const sigset_t *ss; size_t ss_len}: {sigmask=[INT], sigsetsize=8}.
func (d *Decoded) pselectMask(addr uint64) string {
	b, shown, ok := d.structAt(addr, 16)
	if !ok {
		return shown
	}
	size := le64(b[8:])
	return "{sigmask=" + d.sigset(le64(b), size) + ", sigsetsize=" + strconv.FormatUint(size, 10) + "}"
}

// timeval renders a struct timeval.
func (d *Decoded) timeval(addr uint64) string {
	b, err := d.read(addr, linux.SizeofTimeval)
	if err != nil {
		return hexs(addr)
	}
	return formatTimeval(linux.ParseTimeval(b))
}

// utsname renders uname's struct utsname: six 65-byte strings, the first
// two unless -v.
func (d *Decoded) utsname(addr uint64) string {
	const field = 65
	b, err := d.read(addr, 6*field)
	if err != nil {
		return hexs(addr)
	}
	names := []string{"sysname", "nodename", "release", "version", "machine", "domainname"}
	var parts []string
	for i, n := range names {
		if i == 2 && !d.o.Verbose {
			parts = append(parts, "...")
			break
		}
		s := b[i*field : (i+1)*field]
		if j := bytes.IndexByte(s, 0); j >= 0 {
			s = s[:j]
		}
		parts = append(parts, n+"="+d.quote(s, false))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// epollEvents renders n struct epoll_event (12 bytes each, packed on
// x86-64): one structure, or an array when array is set.
func (d *Decoded) epollEvents(addr uint64, n int64, array bool) string {
	if addr == 0 {
		return "NULL"
	}
	if n < 0 || n > 1024 {
		return hexs(addr)
	}
	b, err := d.read(addr, int(12*n))
	if err != nil {
		return hexs(addr)
	}
	var evs []string
	for i := int64(0); i < n; i++ {
		e := b[12*i:]
		data := le64(e[4:])
		evs = append(evs, "{events="+linux.EpollEvents.Format(uint64(le32(e)))+", data={u32="+
			strconv.FormatUint(uint64(uint32(data)), 10)+", u64="+strconv.FormatUint(data, 10)+"}}")
	}
	if !array {
		return evs[0]
	}
	return "[" + strings.Join(evs, ", ") + "]"
}

// rusage renders a struct rusage: its times, and with -v every count.
func (d *Decoded) rusage(addr uint64) string {
	b, shown, ok := d.structAt(addr, linux.SizeofRusage)
	if !ok {
		return shown
	}
	r := linux.ParseRusage(b)
	s := "{ru_utime=" + formatTimeval(r.Utime) + ", ru_stime=" + formatTimeval(r.Stime)
	if !d.o.Verbose {
		return s + ", ...}"
	}
	for i, n := range linux.RusageCounts {
		s += ", " + n + "=" + strconv.FormatUint(uint64(r.Counts[i]), 10)
	}
	return s + "}"
}

// statfs renders a struct statfs: every field, f_flags only when the
// kernel marked them valid (ST_VALID).
func (d *Decoded) statfs(addr uint64) string {
	b, err := d.read(addr, linux.SizeofStatfs)
	if err != nil {
		return hexs(addr)
	}
	st := linux.ParseStatfs(b)
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	s := "{f_type=" + linux.FsMagic.Format(st.Type) + ", f_bsize=" + u(st.Bsize) + ", f_blocks=" + u(st.Blocks) +
		", f_bfree=" + u(st.Bfree) + ", f_bavail=" + u(st.Bavail) + ", f_files=" + u(st.Files) +
		", f_ffree=" + u(st.Ffree) + ", f_fsid={val=[" + hexs(uint64(st.Fsid[0])) + ", " + hexs(uint64(st.Fsid[1])) +
		"]}, f_namelen=" + u(st.Namelen) + ", f_frsize=" + u(st.Frsize)
	if st.Flags&linux.ST_VALID != 0 {
		s += ", f_flags=" + linux.StatfsFlags.Format(st.Flags)
	}
	return s + "}"
}

// flock renders fcntl's struct flock; getlk adds l_pid, which only
// F_GETLK and F_OFD_GETLK fill in.
func (d *Decoded) flock(addr uint64, getlk bool) string {
	b, shown, ok := d.structAt(addr, linux.SizeofFlock)
	if !ok {
		return shown
	}
	fl := linux.ParseFlock(b)
	s := "{l_type=" + linux.LockTypes.Format(uint64(uint16(fl.Type))) +
		", l_whence=" + linux.SeekWhence.Format(uint64(uint16(fl.Whence))) +
		", l_start=" + strconv.FormatInt(fl.Start, 10) + ", l_len=" + strconv.FormatInt(fl.Len, 10)
	if getlk {
		s += ", l_pid=" + strconv.Itoa(int(fl.Pid))
	}
	return s + "}"
}

// fOwnerEx renders F_SETOWN_EX's and F_GETOWN_EX's struct f_owner_ex.
func (d *Decoded) fOwnerEx(addr uint64) string {
	b, shown, ok := d.structAt(addr, 8)
	if !ok {
		return shown
	}
	return "{type=" + linux.FOwnerTypes.Format(uint64(le32(b))) + ", pid=" + strconv.Itoa(int(int32(le32(b[4:])))) + "}"
}

// sysinfo renders a struct sysinfo.
func (d *Decoded) sysinfo(addr uint64) string {
	b, err := d.read(addr, linux.SizeofSysinfo)
	if err != nil {
		return hexs(addr)
	}
	si := linux.ParseSysinfo(b)
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	return "{uptime=" + u(uint64(si.Uptime)) + ", loads=[" + u(si.Loads[0]) + ", " + u(si.Loads[1]) + ", " + u(si.Loads[2]) +
		"], totalram=" + u(si.Totalram) + ", freeram=" + u(si.Freeram) + ", sharedram=" + u(si.Sharedram) +
		", bufferram=" + u(si.Bufferram) + ", totalswap=" + u(si.Totalswap) + ", freeswap=" + u(si.Freeswap) +
		", procs=" + u(uint64(si.Procs)) + ", totalhigh=" + u(si.Totalhigh) + ", freehigh=" + u(si.Freehigh) +
		", mem_unit=" + u(uint64(si.MemUnit)) + "}"
}

// siginfo renders a siginfo_t the kernel filled in (waitid's): "{}" when
// no child was waited for (si_signo 0).
func (d *Decoded) siginfo(addr uint64) string {
	b, err := d.read(addr, linux.SizeofSiginfo)
	if err != nil {
		return hexs(addr)
	}
	if le32(b) == 0 {
		return "{}"
	}
	return linux.FormatSiginfo(b)
}

// cloneArgs renders clone3's struct clone_args of size bytes at entry: the
// pointers the flags make meaningful, and any bytes past the known
// structure that are not zero.
func (d *Decoded) cloneArgs(addr, size uint64) string {
	n := min(size, linux.SizeofCloneArgs)
	if n < linux.SizeofCloneArgsVer0 {
		return ptr(addr)
	}
	b, shown, ok := d.structAt(addr, int(n))
	if !ok {
		return shown
	}
	a := linux.ParseCloneArgs(b)
	s := "{flags=" + linux.Clone3Flags.Format(a.Flags)
	if a.Flags&linux_CLONE_PIDFD != 0 {
		s += ", pidfd=" + ptr(a.Pidfd)
	}
	if a.Flags&(linux_CLONE_CHILD_SETTID|linux_CLONE_CHILD_CLEARTID) != 0 {
		s += ", child_tid=" + ptr(a.ChildTid)
	}
	if a.Flags&linux_CLONE_PARENT_SETTID != 0 {
		s += ", parent_tid=" + ptr(a.ParentTid)
	}
	if a.ExitSignal < 1<<31-1 {
		s += ", exit_signal=" + linux.FormatSignal(int64(a.ExitSignal))
	} else {
		s += ", exit_signal=" + strconv.FormatUint(a.ExitSignal, 10)
	}
	s += ", stack=" + ptr(a.Stack) + ", stack_size=" + hexs(a.StackSize)
	if a.Flags&linux_CLONE_SETTLS != 0 {
		s += ", tls=" + ptr(a.TLS)
	}
	if a.SetTid != 0 || a.SetTidSize != 0 {
		if a.SetTid == 0 || a.SetTidSize == 0 || a.SetTidSize > 32 {
			s += ", set_tid=" + ptr(a.SetTid)
		} else {
			s += ", set_tid=" + d.intArray(a.SetTid, int(a.SetTidSize))
		}
		s += ", set_tid_size=" + strconv.FormatUint(a.SetTidSize, 10)
	}
	if n > 80 && (a.Cgroup != 0 || a.Flags&linux_CLONE_INTO_CGROUP != 0) {
		s += ", cgroup=" + strconv.FormatUint(a.Cgroup, 10)
	}
	if tail := d.nonzeroTail(addr, n, size); tail != "" {
		s += ", " + tail
	}
	return s + "}"
}

// cloneArgsWrites reports whether clone3's struct clone_args is readable
// and has the kernel write something strace shows at exit: a pidfd, the
// parent's tid, or bytes past the known structure.
func (d *Decoded) cloneArgsWrites(addr, size uint64) bool {
	n := min(size, linux.SizeofCloneArgs)
	if n < linux.SizeofCloneArgsVer0 {
		return false
	}
	b, err := d.read(addr, int(n))
	if err != nil {
		return false
	}
	return linux.ParseCloneArgs(b).Flags&(linux_CLONE_PIDFD|linux_CLONE_PARENT_SETTID) != 0 || size > n
}

// cloneArgsOut renders what clone3 wrote back: " => {pidfd=[5],
// parent_tid=[6]}", or "" when it wrote nothing strace shows.
func (d *Decoded) cloneArgsOut(addr, size uint64) string {
	n := min(size, linux.SizeofCloneArgs)
	if n < linux.SizeofCloneArgsVer0 || addr == 0 {
		return ""
	}
	b, err := d.read(addr, int(n))
	if err != nil {
		return " => " + hexs(addr)
	}
	a := linux.ParseCloneArgs(b)
	var parts []string
	if a.Flags&linux_CLONE_PIDFD != 0 {
		parts = append(parts, "pidfd="+d.intArray(a.Pidfd, 1))
	}
	if a.Flags&linux_CLONE_PARENT_SETTID != 0 {
		parts = append(parts, "parent_tid="+d.intArray(a.ParentTid, 1))
	}
	if tail := d.nonzeroTail(addr, n, size); tail != "" {
		parts = append(parts, tail)
	}
	if len(parts) == 0 {
		return ""
	}
	return " => {" + strings.Join(parts, ", ") + "}"
}

// nonzeroTail renders the bytes from known to size (at most a page) of a
// structure larger than this package knows, as strace does when any is
// not zero: /* bytes 88..103 */ "\x00\xff...".
func (d *Decoded) nonzeroTail(addr, known, size uint64) string {
	end := min(size, 4096)
	if end <= known {
		return ""
	}
	b, err := d.read(addr+known, int(end-known))
	if err != nil {
		return "/* bytes " + strconv.FormatUint(known, 10) + ".." + strconv.FormatUint(end-1, 10) + " */ " + hexs(addr+known)
	}
	if !slices.ContainsFunc(b, func(c byte) bool { return c != 0 }) {
		return ""
	}
	show := b[:min(len(b), d.o.StrSize)]
	return "/* bytes " + strconv.FormatUint(known, 10) + ".." + strconv.FormatUint(end-1, 10) + " */ " +
		quoteHex(show, len(show) < len(b), 2)
}

// intArray renders n C ints at addr: [5, 6]; a bad pointer as its address.
func (d *Decoded) intArray(addr uint64, n int) string {
	b, shown, ok := d.structAt(addr, 4*n)
	if !ok {
		return shown
	}
	parts := make([]string, n)
	for i := range parts {
		parts[i] = strconv.Itoa(int(int32(le32(b[4*i:]))))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// maxCpusetSize is the most of a CPU mask strace shows: the size of its
// own mask, 128 bytes on machines of up to 1024 CPUs.
const maxCpusetSize = 128

// cpuset renders a CPU mask of size bytes: [0 1 2 3], "..." after the
// first maxCpusetSize bytes.
func (d *Decoded) cpuset(addr, size uint64) string {
	if addr == 0 {
		return "NULL"
	}
	n := min(size, maxCpusetSize)
	b, err := d.read(addr, int(n))
	if err != nil {
		return hexs(addr)
	}
	var cpus []string
	for i := range 8 * len(b) {
		if b[i/8]&(1<<(i%8)) != 0 {
			cpus = append(cpus, strconv.Itoa(i))
		}
	}
	if n < size {
		cpus = append(cpus, "...")
	}
	return "[" + strings.Join(cpus, " ") + "]"
}

// formatID renders a uid or gid: -1 for (uid_t)-1, unsigned otherwise.
func formatID(v uint32) string {
	if v == ^uint32(0) {
		return "-1"
	}
	return strconv.FormatUint(uint64(v), 10)
}

// idArray renders n uids or gids at addr: [0, 1], limited by -s.
func (d *Decoded) idArray(addr uint64, n int64) string {
	if addr == 0 {
		return "NULL"
	}
	if n < 0 || n > 1<<16 {
		return hexs(addr)
	}
	return d.array(addr, int(n), 4, true, func(b []byte) string { return formatID(le32(b)) })
}

// stackT renders sigaltstack's stack_t {ss_sp, ss_flags, ss_size}.
func (d *Decoded) stackT(addr uint64) string {
	b, shown, ok := d.structAt(addr, 24)
	if !ok {
		return shown
	}
	return "{ss_sp=" + ptr(le64(b)) + ", ss_flags=" + linux.SigaltstackFlags.Format(uint64(le32(b[8:]))) +
		", ss_size=" + strconv.FormatUint(le64(b[16:]), 10) + "}"
}

// tms renders times's struct tms: four clock_t in ticks.
func (d *Decoded) tms(addr uint64) string {
	b, err := d.read(addr, 32)
	if err != nil {
		return hexs(addr)
	}
	t := func(o int) string { return linux.FormatClockTicks(int64(le64(b[o:]))) }
	return "{tms_utime=" + t(0) + ", tms_stime=" + t(8) + ", tms_cutime=" + t(16) + ", tms_cstime=" + t(24) + "}"
}
