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
func IsLocal(ip netip.Addr) (bool, error) {
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
	// struct nlmsghdr, struct rtmsg, then one rtattr: RTA_DST.
	const hdr, rtm = unix.SizeofNlMsghdr, unix.SizeofRtMsg
	req := make([]byte, hdr+rtm+unix.SizeofRtAttr+len(addr))
	le := binary.LittleEndian
	le.PutUint32(req[0:], uint32(len(req)))
	le.PutUint16(req[4:], unix.RTM_GETROUTE)
	le.PutUint16(req[6:], unix.NLM_F_REQUEST)
	le.PutUint32(req[8:], 1) // sequence
	req[hdr] = byte(family)
	req[hdr+1] = byte(8 * len(addr)) // rtm_dst_len
	le.PutUint16(req[hdr+rtm:], uint16(unix.SizeofRtAttr+len(addr)))
	le.PutUint16(req[hdr+rtm+2:], unix.RTA_DST)
	copy(req[hdr+rtm+unix.SizeofRtAttr:], addr)
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
		case unix.ENETUNREACH, unix.EHOSTUNREACH, unix.EINVAL:
			return false, nil
		}
		return false, fmt.Errorf("route lookup: %w", errno)
	case unix.RTM_NEWROUTE:
		return buf[hdr+7] == unix.RTN_LOCAL, nil // rtm_type
	}
	return false, fmt.Errorf("route lookup: an answer of type %d", le.Uint16(buf[4:]))
}
