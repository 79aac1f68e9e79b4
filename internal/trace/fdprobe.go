package trace

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Class is what kind of object a file descriptor refers to.
type Class string

// Classes.
const (
	ClassFile    Class = "file"
	ClassTCP     Class = "tcp"
	ClassUDP     Class = "udp"
	ClassUnix    Class = "unix"
	ClassSocket  Class = "socket" // other families: netlink, packet, ...
	ClassPipe    Class = "pipe"
	ClassTTY     Class = "tty"
	ClassEventfd Class = "eventfd"
	ClassOther   Class = "other"
)

// IsNetwork reports whether c is a network socket.
func (c Class) IsNetwork() bool { return c == ClassTCP || c == ClassUDP }

// probe looks at a tracee's descriptors from outside: /proc/PID/fd links
// for names, and, for sockets, a duplicate of the tracee's socket taken
// with pidfd_getfd(2) and asked for its family, type and endpoints with
// getsockopt/getsockname/getpeername. It keeps one pidfd per process and
// is used on the tracer thread only.
type probe struct {
	pidfds map[int]int
}

func newProbe() *probe { return &probe{pidfds: map[int]int{}} }

// forget drops what is kept for process pid (at its exit).
func (p *probe) forget(pid int) {
	if fd, ok := p.pidfds[pid]; ok {
		unix.Close(fd)
		delete(p.pidfds, pid)
	}
}

func (p *probe) close() {
	for pid := range p.pidfds {
		p.forget(pid)
	}
}

// fdPath is /proc's link to fd of process pid.
func fdPath(pid, fd int) string { return "/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(fd) }

// link is the target of /proc/PID/fd/FD ("" if the fd is not open).
func link(pid, fd int) string {
	s, err := os.Readlink(fdPath(pid, fd))
	if err != nil {
		return ""
	}
	return s
}

// unixPeer asks the kernel (sock_diag, UNIX_DIAG_PEER) for the inode of
// the peer of the unix socket with inode ino in carrot's network
// namespace: 0 if it has none or the kernel does not say.
func unixPeer(ino uint32) uint32 {
	const (
		sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
		udiagShowPeer    = 4  // UDIAG_SHOW_PEER
		unixDiagPeer     = 2  // UNIX_DIAG_PEER
	)
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return 0
	}
	defer unix.Close(fd)
	// struct nlmsghdr, then struct unix_diag_req: family, protocol, pad,
	// states, ino, show, cookie (any: INET_DIAG_NOCOOKIE).
	req := make([]byte, 16+24)
	le := binary.LittleEndian
	le.PutUint32(req[0:], uint32(len(req)))
	le.PutUint16(req[4:], sockDiagByFamily)
	le.PutUint16(req[6:], unix.NLM_F_REQUEST)
	req[16] = unix.AF_UNIX
	le.PutUint32(req[20:], ^uint32(0))
	le.PutUint32(req[24:], ino)
	le.PutUint32(req[28:], udiagShowPeer)
	le.PutUint32(req[32:], ^uint32(0))
	le.PutUint32(req[36:], ^uint32(0))
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil || n < 16+16 || le.Uint16(buf[4:]) != sockDiagByFamily {
		return 0 // NLMSG_ERROR: no such socket here
	}
	// struct unix_diag_msg (16 bytes), then its attributes.
	for off := 16 + 16; off+4 <= n; {
		alen, atype := int(le.Uint16(buf[off:])), le.Uint16(buf[off+2:])
		if alen < 4 || off+alen > n {
			break
		}
		if atype == unixDiagPeer && alen >= 8 {
			return le.Uint32(buf[off+4:])
		}
		off += (alen + 3) &^ 3
	}
	return 0
}

// fdinfoPid is the process a pidfd refers to (fdinfo's "Pid:"), 0 if
// none can be read.
func fdinfoPid(pid, fd int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Pid:"); ok {
			p, _ := strconv.Atoi(strings.TrimSpace(v))
			return p
		}
	}
	return 0
}

func cwd(pid int) string {
	s, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	return s
}

// sock is what a socket says of itself.
type sock struct {
	family, typ, proto int
	local, peer        unix.Sockaddr
}

// socket inspects the tracee's socket fd through a duplicate.
func (p *probe) socket(pid, fd int) (*sock, error) {
	pidfd, ok := p.pidfds[pid]
	if !ok {
		var err error
		pidfd, err = unix.PidfdOpen(pid, 0)
		if err != nil {
			return nil, err
		}
		p.pidfds[pid] = pidfd
	}
	dup, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dup)
	s := &sock{}
	if s.family, err = unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_DOMAIN); err != nil {
		return nil, err
	}
	s.typ, _ = unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_TYPE)
	s.proto, _ = unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_PROTOCOL)
	s.local, _ = unix.Getsockname(dup)
	s.peer, _ = unix.Getpeername(dup)
	return s, nil
}

// classify says what pid's fd is and names it for reports: a path, a
// socket's endpoints, "pipe:[ino]".
func (p *probe) classify(pid, fd int) (Class, string) {
	l := link(pid, fd)
	switch {
	case l == "":
		return ClassOther, ""
	case strings.HasPrefix(l, "socket:["):
		s, err := p.socket(pid, fd)
		if err != nil {
			return ClassSocket, l
		}
		c := ClassSocket
		switch {
		case s.family == unix.AF_UNIX:
			c = ClassUnix
		case (s.family == unix.AF_INET || s.family == unix.AF_INET6) && s.proto == unix.IPPROTO_TCP:
			c = ClassTCP
		case (s.family == unix.AF_INET || s.family == unix.AF_INET6) && s.proto == unix.IPPROTO_UDP:
			c = ClassUDP
		}
		if ep := s.endpoints(); ep != "" {
			return c, ep
		}
		return c, l
	case strings.HasPrefix(l, "pipe:["):
		return ClassPipe, l
	case strings.Contains(l, "[eventfd]") || l == "anon_inode:eventfd":
		return ClassEventfd, l
	case strings.HasPrefix(l, "anon_inode:"):
		return ClassOther, l
	case strings.HasPrefix(l, "/dev/pts/") || strings.HasPrefix(l, "/dev/tty") || l == "/dev/console":
		return ClassTTY, l
	}
	var st unix.Stat_t
	if unix.Stat("/proc/"+strconv.Itoa(pid)+"/fd/"+strconv.Itoa(fd), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR {
		return ClassOther, l
	}
	return ClassFile, l
}

// endpoints renders "local->peer", "local", or "" for an unbound socket.
func (s *sock) endpoints() string {
	if s.family == unix.AF_UNIX {
		if u, ok := s.local.(*unix.SockaddrUnix); ok && u.Name != "" && u.Name != "@" {
			return u.Name
		}
		return ""
	}
	local, peer := addrPort(s.local), addrPort(s.peer)
	switch {
	case peer.IsValid() && local.IsValid():
		return local.String() + "->" + peer.String()
	case local.IsValid() && local.Port() != 0:
		return local.String()
	}
	return ""
}

func addrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// fdNamer implements syscalls.FdNamer for -y and -yy: the /proc link, as
// strace prints it, and for -yy a socket's protocol and endpoints:
// TCP:[127.0.0.1:34671->127.0.0.1:46144], UNIX-STREAM:[1234,"/run/x"].
type fdNamer struct {
	p       *probe
	sockets bool // -yy
}

func (n *fdNamer) FdName(pid, fd int) string {
	if fd == unix.AT_FDCWD {
		return cwd(pid)
	}
	l := link(pid, fd)
	if !n.sockets {
		return l
	}
	switch {
	case l == "anon_inode:[pidfd]":
		// -yy names the process a pidfd refers to, as strace does.
		if p := fdinfoPid(pid, fd); p > 0 {
			return "pid:" + strconv.Itoa(p)
		}
		return l
	case strings.HasPrefix(l, "/"):
		// and the device a path is, after it: /dev/null<char 1:3>.
		var st unix.Stat_t
		if unix.Stat(fdPath(pid, fd), &st) != nil {
			return l
		}
		kind := "char"
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
		case unix.S_IFBLK:
			kind = "block"
		default:
			return l
		}
		return fmt.Sprintf("%s\x00%s %d:%d", l, kind, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	case !strings.HasPrefix(l, "socket:["):
		return l
	}
	ino := strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")
	s, err := n.p.socket(pid, fd)
	if err != nil {
		return l
	}
	return s.straceName(ino)
}

// straceName is the socket as strace -yy names it.
func (s *sock) straceName(ino string) string {
	switch s.family {
	case unix.AF_UNIX:
		// the kernel's protocol names, which strace shows: datagram
		// and seqpacket sockets share "UNIX"
		kind := "UNIX"
		if s.typ == unix.SOCK_STREAM {
			kind = "UNIX-STREAM"
		}
		// and its peer's inode, when the peer has one (a connection not
		// yet accepted has none)
		if n, err := strconv.ParseUint(ino, 10, 32); err == nil {
			if peer := unixPeer(uint32(n)); peer != 0 {
				ino += "->" + strconv.FormatUint(uint64(peer), 10)
			}
		}
		if u, ok := s.local.(*unix.SockaddrUnix); ok && u.Name != "" && u.Name != "@" {
			name := u.Name
			if name[0] == '@' || name[0] == 0 {
				name = "@" + name[1:]
			}
			return fmt.Sprintf("%s:[%s,%q]", kind, ino, name)
		}
		return kind + ":[" + ino + "]"
	case unix.AF_INET, unix.AF_INET6:
		proto := "TCP"
		if s.proto == unix.IPPROTO_UDP {
			proto = "UDP"
		}
		if s.family == unix.AF_INET6 {
			proto += "v6"
		}
		if ep := s.endpoints(); ep != "" {
			return proto + ":[" + ep + "]"
		}
		return proto + ":[" + ino + "]"
	case unix.AF_NETLINK:
		return "NETLINK:[" + ino + "]"
	}
	return "socket:[" + ino + "]"
}
