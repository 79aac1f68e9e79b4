package netroute

import (
	"encoding/binary"
	"net/netip"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/carrot-project/carrot/internal/linux"
	"github.com/carrot-project/carrot/internal/ptrace"
)

// DNS redirection. Whatever resolver the program uses (glibc, musl, Go's,
// a static binary's), its queries end in a socket to port 53: carrot sends
// those to its own fake DNS server and makes the answers look as if they
// came from the server the program asked.
//
//   - connect(udp socket, any:53): the socket is connected to carrot's
//     server instead (from carrot's side, on a copy of the descriptor), and
//     getpeername shows the address the program gave.
//   - sendto / sendmsg / sendmmsg of a UDP datagram to any:53: carrot sends
//     it to its server from the program's socket and returns the count.
//   - recvfrom with an address: an answer from carrot's server is shown as
//     coming from the server the socket sent to (glibc and musl drop answers
//     from servers they did not ask).
//   - TCP to any:53 (truncated answers, "options use-vc"): held and released
//     like a routed connect, but into carrot's server.
//
// Every other datagram to an address that is not loopback or --direct is
// refused with EPERM, as a local firewall would; so is TCP fast open
// (sendto/sendmsg with MSG_FASTOPEN), a connect that would bypass connect().

// maxDNSSockets bounds the memory of which server each DNS socket asked.
const maxDNSSockets = 1024

// dnsTarget is carrot's DNS server address for a socket of domain.
func (h *Handler) dnsTarget(s, domain int) (netip.AddrPort, error) {
	if domain == unix.AF_INET {
		return h.dns4, nil
	}
	if h.dns6.IsValid() {
		return h.dns6, nil
	}
	if only, err := unix.GetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); err == nil && only == 0 {
		return netip.AddrPortFrom(netip.AddrFrom16(h.dns4.Addr().As16()), h.dns4.Port()), nil
	}
	return netip.AddrPort{}, unix.ENETUNREACH
}

func (h *Handler) isDNSServer(from netip.AddrPort) bool {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	return from == h.dns4 || h.dns6.IsValid() && from == h.dns6
}

// noteDNS remembers that the socket cookie sends DNS to peer; it reports
// whether that is news.
func (h *Handler) noteDNS(pid int, cookie uint64, peer netip.AddrPort) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	old, known := h.dnsPeer[cookie]
	if !known {
		h.dnsFIFO = append(h.dnsFIFO, cookie)
		if len(h.dnsFIFO) > maxDNSSockets {
			delete(h.dnsPeer, h.dnsFIFO[0])
			h.dnsFIFO = h.dnsFIFO[1:]
		}
	}
	h.dnsPeer[cookie] = peer
	h.lastDNS[pid] = peer
	return !known || old != peer
}

func (h *Handler) connectDNS(c *ptrace.Syscall, fd, s int, si sockInfo, dest netip.AddrPort) ptrace.Action {
	t, err := h.dnsTarget(s, si.domain)
	if err != nil {
		return ptrace.Fail(errnoOf(err, unix.ENETUNREACH))
	}
	if err := unix.Connect(s, unixSockaddr(si.domain, t)); err != nil {
		return ptrace.Fail(errnoOf(err, unix.ECONNREFUSED))
	}
	h.noteDNS(c.Pid, si.cookie, dest)
	h.log(Event{Pid: c.Pid, Fd: fd, Op: "dns", Dest: dest, Via: viaDNS})
	return ptrace.Return(0)
}

// readName reads a socket address argument of length n, an int: the
// kernel reads its low 32 bits whatever the register's high ones hold. A
// length the kernel refuses (EINVAL) gives Continue: the kernel fails the
// call itself. sendto refuses one over 128 bytes; a msghdr's (sendmsg,
// sendmmsg) is cut to 128 instead (__copy_msghdr), and so is it here.
func readName(c *ptrace.Syscall, p, n uint64, msghdr bool) (b []byte, a *ptrace.Action) {
	l := int32(n)
	if msghdr && l > linux.SizeofSockaddr {
		l = linux.SizeofSockaddr
	}
	if l < 0 || l > linux.SizeofSockaddr {
		return nil, &ptrace.Continue
	}
	b = make([]byte, l)
	if _, err := c.Mem().ReadAt(b, p); err != nil {
		f := ptrace.Fail(unix.EFAULT)
		return nil, &f
	}
	return b, nil
}

// maxDatagram is the largest UDP payload (65535 - 8 - 20).
const maxDatagram = 65507

func readPayload(c *ptrace.Syscall, p, n uint64) ([]byte, error) {
	if n > maxDatagram {
		return nil, unix.EMSGSIZE
	}
	b := make([]byte, n)
	if _, err := c.Mem().ReadAt(b, p); err != nil {
		return nil, unix.EFAULT
	}
	return b, nil
}

// gather reads the data of an iovec array.
func gather(c *ptrace.Syscall, iov, n uint64) ([]byte, error) {
	if n > 1024 { // UIO_MAXIOV
		return nil, unix.EMSGSIZE
	}
	vb := make([]byte, n*linux.SizeofIovec)
	if _, err := c.Mem().ReadAt(vb, iov); err != nil {
		return nil, unix.EFAULT
	}
	var out []byte
	for i := range n {
		v := linux.ParseIovec(vb[i*linux.SizeofIovec:])
		if uint64(len(out))+v.Len > maxDatagram {
			return nil, unix.EMSGSIZE
		}
		b, err := readPayload(c, v.Base, v.Len)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// sendOut decides a datagram the program sends to an explicit address
// (sendto, sendmsg): direct ones go as they are, DNS ones are sent to
// carrot's server by carrot, the rest are refused. payload reads the data.
func (h *Handler) sendOut(c *ptrace.Syscall, call string, name []byte, flags int, payload func() ([]byte, error)) ptrace.Action {
	fd := argFd(c, 0)
	sock := lazyDup{h: h, c: c, fd: fd}
	defer sock.close()
	family, dest, err := sock.sendAddr(name)
	if err != nil {
		return ptrace.Fail(errnoOf(err, unix.EBADF))
	}
	if family != unix.AF_INET && family != unix.AF_INET6 {
		return ptrace.Continue // another family, or an address the kernel refuses too
	}
	if !h.cfg.Policy.handled(dest) {
		return ptrace.Continue
	}
	s, si, err := sock.get()
	if err != nil {
		return ptrace.Fail(errnoOf(err, unix.EBADF))
	}
	switch {
	case si.tcp():
		if flags&unix.MSG_FASTOPEN != 0 {
			// What the kernel says when fast open is off; callers fall
			// back to connect(), which carrot routes.
			h.log(Event{Pid: c.Pid, Fd: fd, Op: "refuse", Call: call + " MSG_FASTOPEN", Dest: dest, Err: unix.EOPNOTSUPP})
			return ptrace.Fail(unix.EOPNOTSUPP)
		}
		return ptrace.Continue // TCP ignores the address of a send
	case si.udp() && dest.Port() == 53:
		data, err := payload()
		if err != nil {
			return ptrace.Fail(errnoOf(err, unix.EFAULT))
		}
		t, err := h.dnsTarget(s, si.domain)
		if err != nil {
			return ptrace.Fail(errnoOf(err, unix.ENETUNREACH))
		}
		// MSG_DONTWAIT: the tracer thread must never block.
		n, err := unix.SendmsgN(s, data, nil, unixSockaddr(si.domain, t), flags|unix.MSG_DONTWAIT)
		if err != nil {
			return ptrace.Fail(errnoOf(err, unix.EIO))
		}
		if h.noteDNS(c.Pid, si.cookie, dest) {
			h.log(Event{Pid: c.Pid, Fd: fd, Op: "dns", Dest: dest, Via: viaDNS})
		}
		return ptrace.Return(int64(n))
	}
	h.log(Event{Pid: c.Pid, Fd: fd, Op: "refuse", Call: call + " " + sockKind(si), Dest: dest, Err: unix.EPERM})
	return ptrace.Fail(unix.EPERM)
}

// lazyDup is the program's socket fd, duplicated into carrot (Handler.dup)
// when first needed; close closes the duplicate, if any.
type lazyDup struct {
	h    *Handler
	c    *ptrace.Syscall
	fd   int
	s    int // the duplicate, when done
	si   sockInfo
	err  error
	done bool
}

func (l *lazyDup) get() (int, sockInfo, error) {
	if !l.done {
		l.s, l.si, l.err = l.h.dup(l.c, l.fd)
		l.done = true
	}
	return l.s, l.si, l.err
}

func (l *lazyDup) close() {
	if l.done && l.err == nil {
		unix.Close(l.s)
	}
}

// sendAddr is the destination the kernel will read in name, a send's
// address on the socket: an AF_UNSPEC one depends on the socket
// (unspecAddr), which is then duplicated. A family other than AF_INET and
// AF_INET6, or an address the kernel refuses (too short), is returned as
// its family with no error: not an IP destination. err is the
// duplication's failure.
func (l *lazyDup) sendAddr(name []byte) (family uint16, dest netip.AddrPort, err error) {
	family, dest, perr := parseSockaddr(name)
	if perr == nil && family == unix.AF_UNSPEC {
		_, si, err := l.get()
		if err != nil {
			return 0, dest, err
		}
		family, dest, perr = unspecAddr(name, si)
	}
	if perr != nil {
		return unix.AF_UNSPEC, netip.AddrPort{}, nil
	}
	return family, dest, nil
}

// Source routing. An IPv6 routing header, or IPv4's source route option,
// sends a packet to its first hop, not to the address a connect or send
// names: a datagram to ::1, or a TCP stream to carrot's loopback relay,
// would leave directly for any address. The options that set one are
// refused, as socket options (setsockopt) and as a send's control
// messages.

// sourceRouteOptions are the socket options that set a source route, by
// level (Filter stops setsockopt for these alone); sourceRouteCmsgs the
// control messages that do.
var (
	sourceRouteOptions = []optionNames{
		{unix.SOL_IP, []uint32{unix.IP_OPTIONS}},
		{unix.SOL_IPV6, []uint32{unix.IPV6_RTHDR, unix.IPV6_2292RTHDR, unix.IPV6_2292PKTOPTIONS}},
	}
	sourceRouteCmsgs = []optionNames{
		{unix.SOL_IP, []uint32{unix.IP_RETOPTS}},
		{unix.SOL_IPV6, []uint32{unix.IPV6_RTHDR, unix.IPV6_2292RTHDR}},
	}
)

// optionNames are names of options (or control messages) at one level.
type optionNames struct {
	level int32
	names []uint32
}

// sourceRoute reports whether (level, name) sets a source route, as a
// socket option or, cmsg, as a control message.
func sourceRoute(level, name int32, cmsg bool) bool {
	table := sourceRouteOptions
	if cmsg {
		table = sourceRouteCmsgs
	}
	for _, t := range table {
		if t.level == level && slices.Contains(t.names, uint32(name)) {
			return true
		}
	}
	return false
}

func (h *Handler) setsockopt(c *ptrace.Syscall) ptrace.Action {
	if sourceRoute(int32(c.Args[1]), int32(c.Args[2]), false) {
		h.log(Event{Pid: c.Pid, Fd: argFd(c, 0), Op: "refuse", Call: "setsockopt source route", Err: unix.EPERM})
		return ptrace.Fail(unix.EPERM)
	}
	return ptrace.Continue
}

// maxControl bounds the control data read from a send (the kernel's own
// bound, net.core.optmem_max, is 20 KiB by default).
const maxControl = 64 << 10

// sourceRouted refuses a send whose control messages set a source route
// (nil: none does).
func (h *Handler) sourceRouted(c *ptrace.Syscall, m linux.Msghdr, call string) *ptrace.Action {
	if m.Control == 0 || m.Controllen < linux.SizeofCmsghdr {
		return nil
	}
	b := make([]byte, min(m.Controllen, maxControl))
	if _, err := c.Mem().ReadAt(b, m.Control); err != nil {
		return nil // the kernel reports EFAULT
	}
	for len(b) >= linux.SizeofCmsghdr {
		l := binary.LittleEndian.Uint64(b)
		level, typ := int32(binary.LittleEndian.Uint32(b[8:])), int32(binary.LittleEndian.Uint32(b[12:]))
		if sourceRoute(level, typ, true) {
			h.log(Event{Pid: c.Pid, Fd: argFd(c, 0), Op: "refuse", Call: call + " source route", Err: unix.EPERM})
			a := ptrace.Fail(unix.EPERM)
			return &a
		}
		n := (l + 7) &^ 7 // CMSG_ALIGN
		if l < linux.SizeofCmsghdr || n >= uint64(len(b)) {
			break // the last one, or one the kernel refuses (EINVAL)
		}
		b = b[n:]
	}
	return nil
}

// unspecAddr is what the kernel makes of an AF_UNSPEC address given to a
// send on socket si: an AF_INET one on an IPv4 socket (UDP, raw, ping and
// L2TP sockets alike), an AF_INET6 one on an IPv6 raw socket. An IPv6 UDP
// socket sends to its peer instead, and every other socket refuses it:
// for those the family stays AF_UNSPEC.
func unspecAddr(name []byte, si sockInfo) (family uint16, dest netip.AddrPort, err error) {
	switch {
	case si.domain == unix.AF_INET:
		family = unix.AF_INET
	case si.domain == unix.AF_INET6 && si.typ == unix.SOCK_RAW:
		family = unix.AF_INET6
	default:
		return unix.AF_UNSPEC, dest, nil
	}
	b := append([]byte(nil), name...)
	binary.LittleEndian.PutUint16(b, family)
	return parseSockaddr(b)
}

func (h *Handler) sendto(c *ptrace.Syscall) ptrace.Action {
	if c.Args[4] == 0 {
		return ptrace.Continue
	}
	name, a := readName(c, c.Args[4], c.Args[5], false)
	if a != nil {
		return *a
	}
	return h.sendOut(c, "sendto", name, int(c.Args[3]), func() ([]byte, error) {
		return readPayload(c, c.Args[1], c.Args[2])
	})
}

func (h *Handler) sendmsg(c *ptrace.Syscall) ptrace.Action {
	var hb [linux.SizeofMsghdr]byte
	if _, err := c.Mem().ReadAt(hb[:], c.Args[1]); err != nil {
		return ptrace.Fail(unix.EFAULT)
	}
	m := linux.ParseMsghdr(hb[:])
	if a := h.sourceRouted(c, m, "sendmsg"); a != nil {
		return *a
	}
	if m.Name == 0 {
		return ptrace.Continue
	}
	name, a := readName(c, m.Name, uint64(m.Namelen), true)
	if a != nil {
		return *a
	}
	return h.sendOut(c, "sendmsg", name, int(c.Args[2]), func() ([]byte, error) {
		return gather(c, m.Iov, m.Iovlen)
	})
}

// sizeofMmsghdr is struct mmsghdr: a msghdr, msg_len, padding.
const sizeofMmsghdr = 64

// sendmmsg: glibc sends its A and AAAA queries with one sendmmsg on a
// connected socket (no addresses: nothing to do). Messages with addresses
// are checked like sendmsg's; if any is DNS, carrot sends them all.
func (h *Handler) sendmmsg(c *ptrace.Syscall) ptrace.Action {
	vlen := min(c.Args[2], 1024) // the kernel caps vlen at UIO_MAXIOV
	if vlen == 0 {
		return ptrace.Continue
	}
	vb := make([]byte, vlen*sizeofMmsghdr)
	if _, err := c.Mem().ReadAt(vb, c.Args[1]); err != nil {
		return ptrace.Fail(unix.EFAULT)
	}
	flags := int(c.Args[3])
	type msg struct {
		m    linux.Msghdr
		dest netip.AddrPort // invalid: no address, or not IP
	}
	msgs := make([]msg, vlen)
	routed := false
	fd := argFd(c, 0)
	sock := lazyDup{h: h, c: c, fd: fd}
	defer sock.close()
	for i := range msgs {
		m := linux.ParseMsghdr(vb[i*sizeofMmsghdr:])
		msgs[i].m = m
		if a := h.sourceRouted(c, m, "sendmmsg"); a != nil {
			return *a
		}
		if m.Name == 0 {
			continue
		}
		name, a := readName(c, m.Name, uint64(m.Namelen), true)
		if a != nil {
			return *a
		}
		family, dest, err := sock.sendAddr(name)
		if err != nil {
			return ptrace.Fail(errnoOf(err, unix.EBADF))
		}
		if family != unix.AF_INET && family != unix.AF_INET6 {
			continue
		}
		msgs[i].dest = dest
		routed = routed || h.cfg.Policy.handled(dest)
	}
	if !routed {
		return ptrace.Continue
	}
	s, si, err := sock.get()
	if err != nil {
		return ptrace.Fail(errnoOf(err, unix.EBADF))
	}
	if si.tcp() {
		if flags&unix.MSG_FASTOPEN != 0 {
			return ptrace.Fail(unix.EOPNOTSUPP)
		}
		return ptrace.Continue
	}
	for _, m := range msgs {
		if d := m.dest; d.IsValid() && (!si.udp() || d.Port() != 53) && !h.cfg.Policy.direct(d.Addr()) {
			h.log(Event{Pid: c.Pid, Fd: fd, Op: "refuse", Call: "sendmmsg " + sockKind(si), Dest: d, Err: unix.EPERM})
			return ptrace.Fail(unix.EPERM)
		}
	}
	sent := 0
	for i, m := range msgs {
		data, err := gather(c, m.m.Iov, m.m.Iovlen)
		if err == nil {
			var to unix.Sockaddr // nil: the socket's peer
			switch d := m.dest; {
			case d.IsValid() && d.Port() == 53:
				t, terr := h.dnsTarget(s, si.domain)
				if terr != nil {
					err = terr
					break
				}
				to = unixSockaddr(si.domain, t)
				if h.noteDNS(c.Pid, si.cookie, d) {
					h.log(Event{Pid: c.Pid, Fd: fd, Op: "dns", Dest: d, Via: viaDNS})
				}
			case d.IsValid():
				to = unixSockaddr(si.domain, d)
			}
			if err == nil {
				var n int
				if n, err = unix.SendmsgN(s, data, nil, to, flags|unix.MSG_DONTWAIT); err == nil {
					var nb [4]byte
					binary.LittleEndian.PutUint32(nb[:], uint32(n))
					c.Mem().WriteAt(nb[:], c.Args[1]+uint64(i)*sizeofMmsghdr+linux.SizeofMsghdr)
				}
			}
		}
		if err != nil {
			if sent > 0 {
				break
			}
			return ptrace.Fail(errnoOf(err, unix.EIO))
		}
		sent++
	}
	return ptrace.Return(int64(sent))
}

func (h *Handler) recvfrom(c *ptrace.Syscall) ptrace.Action {
	if c.Args[4] == 0 || c.Args[5] == 0 {
		return ptrace.Continue
	}
	h.mu.Lock()
	have := len(h.dnsPeer) > 0
	h.mu.Unlock()
	if !have {
		return ptrace.Continue
	}
	var lb [4]byte
	if _, err := c.Mem().ReadAt(lb[:], c.Args[5]); err != nil {
		return ptrace.Continue // the kernel reports EFAULT
	}
	h.exits[c.Tid] = &exitCall{kind: exitRecvfrom, fd: argFd(c, 0), addr: c.Args[4], alen: c.Args[5],
		size: int32(binary.LittleEndian.Uint32(lb[:]))}
	return ptrace.WantExit
}

// recvfromExit shows an answer from carrot's DNS server as coming from the
// server the program asked.
func (h *Handler) recvfromExit(c *ptrace.Syscall, x *exitCall) {
	if c.Ret < 0 || x.size <= 0 {
		return
	}
	var lb [4]byte
	if _, err := c.Mem().ReadAt(lb[:], x.alen); err != nil {
		return
	}
	klen := int32(binary.LittleEndian.Uint32(lb[:]))
	n := min(klen, x.size, linux.SizeofSockaddrIn6)
	if n < 2 {
		return
	}
	b := make([]byte, n)
	if _, err := c.Mem().ReadAt(b, x.addr); err != nil {
		return
	}
	family, from, err := parseSockaddr(b)
	if err != nil || !from.IsValid() || !h.isDNSServer(from) {
		return
	}
	var peer netip.AddrPort
	if s, si, err := h.dup(c, x.fd); err == nil {
		unix.Close(s)
		h.mu.Lock()
		peer = h.dnsPeer[si.cookie]
		h.mu.Unlock()
	}
	if !peer.IsValid() {
		h.mu.Lock()
		peer = h.lastDNS[c.Pid]
		h.mu.Unlock()
	}
	if !peer.IsValid() || family == unix.AF_INET && !peer.Addr().Unmap().Is4() {
		return
	}
	v := sockaddr(int(family), peer)
	c.Mem().WriteAt(v[:min(int(x.size), len(v))], x.addr)
	binary.LittleEndian.PutUint32(lb[:], uint32(len(v)))
	c.Mem().WriteAt(lb[:], x.alen)
}
