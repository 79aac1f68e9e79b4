package netroute

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/carrot-project/carrot/internal/linux"
)

// parseSockaddr decodes an AF_INET or AF_INET6 socket address as the
// kernel would take it from a program (include/uapi/linux/in.h, in6.h).
// Other families return their family and no address; a length the kernel
// would refuse for the family is EINVAL.
func parseSockaddr(b []byte) (family uint16, ap netip.AddrPort, err error) {
	if len(b) < 2 {
		return 0, ap, unix.EINVAL
	}
	family = binary.LittleEndian.Uint16(b)
	switch family {
	case unix.AF_INET:
		if len(b) < linux.SizeofSockaddrIn {
			return family, ap, unix.EINVAL
		}
		return family, netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:])), nil
	case unix.AF_INET6:
		if len(b) < 24 { // SIN6_LEN_RFC2133: without sin6_scope_id
			return family, ap, unix.EINVAL
		}
		ip := netip.AddrFrom16([16]byte(b[8:24]))
		if len(b) >= linux.SizeofSockaddrIn6 {
			if scope := binary.LittleEndian.Uint32(b[24:]); scope != 0 && ip.Is6() && !ip.Is4In6() {
				ip = ip.WithZone(fmt.Sprint(scope))
			}
		}
		return family, netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[2:])), nil
	}
	return family, ap, nil
}

// sockaddr encodes ap in family's layout: AF_INET needs an IPv4 address
// (a v4-mapped one is unmapped); AF_INET6 maps an IPv4 address.
func sockaddr(family int, ap netip.AddrPort) []byte {
	ip := ap.Addr()
	if family == unix.AF_INET {
		b := make([]byte, linux.SizeofSockaddrIn)
		binary.LittleEndian.PutUint16(b, unix.AF_INET)
		binary.BigEndian.PutUint16(b[2:], ap.Port())
		a := ip.Unmap().As4()
		copy(b[4:], a[:])
		return b
	}
	b := make([]byte, linux.SizeofSockaddrIn6)
	binary.LittleEndian.PutUint16(b, unix.AF_INET6)
	binary.BigEndian.PutUint16(b[2:], ap.Port())
	if ip.Is4() {
		ip = netip.AddrFrom16(ip.As16())
	}
	a := ip.As16()
	copy(b[8:], a[:])
	return b
}

// unixSockaddr is ap as an x/sys/unix address for family.
func unixSockaddr(family int, ap netip.AddrPort) unix.Sockaddr {
	if family == unix.AF_INET {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
	}
	ip := ap.Addr()
	if ip.Is4() {
		ip = netip.AddrFrom16(ip.As16())
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}
}

// addrPortOf converts an x/sys/unix address back; ok is false for other
// families.
func addrPortOf(sa unix.Sockaddr) (netip.AddrPort, bool) {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)), true
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)), true
	}
	return netip.AddrPort{}, false
}
