package exit

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// IsLocal reports whether the kernel delivers a connection to ip on this
// host (its routing decision is RTN_LOCAL): one of its addresses, whenever
// it was added, or an address of a local route (AnyIP). It asks at the
// moment of the request, with an RTM_GETROUTE on a netlink socket (about
// 10–20 µs), because a list taken at start misses what the host gains
// later: an IPv6 privacy address, a DHCP renumbering, a failover address,
// a VPN. An address with no route is not local.
func IsLocal(ip netip.Addr) (bool, error) { return IsLocalTo(ip, 0) }

// IsLocalTo is IsLocal for a TCP connection to port (0: any): the lookup
// carries the protocol and the port, as the dial's own route lookup does,
// so that policy routing by protocol or port (ip rule ipproto, dport)
// answers as it will for the dial.
func IsLocalTo(ip netip.Addr, port uint16) (bool, error) {
	ip = ip.Unmap().WithZone("")
	family := unix.AF_INET6
	if ip.Is4() {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return false, fmt.Errorf("route lookup: %w", err)
	}
	defer unix.Close(fd)
	addr := ip.AsSlice()
	// struct nlmsghdr, struct rtmsg, then the rtattrs: RTA_DST, the
	// protocol (RTA_IP_PROTO, TCP) and the port (RTA_DPORT).
	const hdr, rtm = unix.SizeofNlMsghdr, unix.SizeofRtMsg
	le := binary.LittleEndian
	req := make([]byte, hdr+rtm)
	attr := func(typ uint16, val []byte) {
		a := make([]byte, (unix.SizeofRtAttr+len(val)+3)&^3)
		le.PutUint16(a, uint16(unix.SizeofRtAttr+len(val)))
		le.PutUint16(a[2:], typ)
		copy(a[unix.SizeofRtAttr:], val)
		req = append(req, a...)
	}
	attr(unix.RTA_DST, addr)
	attr(rtaIPProto, []byte{unix.IPPROTO_TCP})
	if port != 0 {
		attr(rtaDport, []byte{byte(port >> 8), byte(port)})
	}
	le.PutUint32(req[0:], uint32(len(req)))
	le.PutUint16(req[4:], unix.RTM_GETROUTE)
	le.PutUint16(req[6:], unix.NLM_F_REQUEST)
	le.PutUint32(req[8:], 1) // sequence
	req[hdr] = byte(family)
	req[hdr+1] = byte(8 * len(addr)) // rtm_dst_len
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return false, fmt.Errorf("route lookup: %w", err)
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return false, fmt.Errorf("route lookup: %w", err)
	}
	if n < hdr+rtm {
		return false, fmt.Errorf("route lookup: a short answer (%d bytes)", n)
	}
	switch le.Uint16(buf[4:]) {
	case unix.NLMSG_ERROR:
		// No route (ENETUNREACH, EHOSTUNREACH...): the dial fails anyway,
		// and nothing on this host answers it.
		errno := unix.Errno(-int32(le.Uint32(buf[hdr:])))
		switch errno {
		case unix.ENETUNREACH, unix.EHOSTUNREACH:
			return false, nil
		}
		return false, fmt.Errorf("route lookup: %w", errno)
	case unix.RTM_NEWROUTE:
		return buf[hdr+7] == unix.RTN_LOCAL, nil // rtm_type
	}
	return false, fmt.Errorf("route lookup: an answer of type %d", le.Uint16(buf[4:]))
}

// Route attributes x/sys/unix does not name (include/uapi/linux/rtnetlink.h).
const (
	rtaIPProto = 27 // RTA_IP_PROTO
	rtaDport   = 29 // RTA_DPORT
)
