package linux

import "golang.org/x/sys/unix"

// AT_FDCWD is the dirfd meaning "the current directory" (fcntl.h).
const AT_FDCWD = -100

// OpenAccMode names the access mode field of open flags (O_ACCMODE bits).
var OpenAccMode = NewValueSet("", false,
	Flag{unix.O_RDONLY, "O_RDONLY"}, Flag{unix.O_WRONLY, "O_WRONLY"},
	Flag{unix.O_RDWR, "O_RDWR"}, Flag{unix.O_ACCMODE, "O_ACCMODE"})

// OpenFlags are the open(2) flags above the access mode, in strace's order
// (include/uapi/asm-generic/fcntl.h). dup3 and pipe2 print their flags with
// this set alone: "O_CLOEXEC", "0x4 /* O_??? */".
var OpenFlags = &FlagSet{Unknown: "O_???", Flags: []Flag{
	{unix.O_CREAT, "O_CREAT"}, {unix.O_EXCL, "O_EXCL"}, {unix.O_NOCTTY, "O_NOCTTY"},
	{unix.O_TRUNC, "O_TRUNC"}, {unix.O_APPEND, "O_APPEND"}, {unix.O_NONBLOCK, "O_NONBLOCK"},
	{unix.O_SYNC, "O_SYNC"}, {unix.O_DSYNC, "O_DSYNC"}, {0x100000, "__O_SYNC"},
	{unix.O_DIRECT, "O_DIRECT"}, {0x8000, "O_LARGEFILE"}, {unix.O_NOFOLLOW, "O_NOFOLLOW"},
	{unix.O_NOATIME, "O_NOATIME"}, {unix.O_CLOEXEC, "O_CLOEXEC"}, {unix.O_PATH, "O_PATH"},
	{unix.O_TMPFILE, "O_TMPFILE"}, {unix.O_DIRECTORY, "O_DIRECTORY"}, {unix.O_ASYNC, "FASYNC"},
}}

// AtFlags are the AT_* flags of the *at calls (include/uapi/linux/fcntl.h).
var AtFlags = &FlagSet{Flags: []Flag{
	{unix.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"}, {unix.AT_REMOVEDIR, "AT_REMOVEDIR"},
	{unix.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"}, {unix.AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"},
	{unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"}, {unix.AT_RECURSIVE, "AT_RECURSIVE"},
}}

// AccessAtFlags are the flags of faccessat2 (AT_EACCESS shares AT_REMOVEDIR's bit).
var AccessAtFlags = &FlagSet{Flags: []Flag{
	{unix.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"}, {unix.AT_EACCESS, "AT_EACCESS"},
	{unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"},
}}

// StatxFlags are statx's flags: the AT_* bits plus the sync type field.
var StatxFlags = &FlagSet{Flags: []Flag{
	{unix.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"}, {unix.AT_REMOVEDIR, "AT_REMOVEDIR"},
	{unix.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"}, {unix.AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"},
	{unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"}, {unix.AT_STATX_FORCE_SYNC, "AT_STATX_FORCE_SYNC"},
	{unix.AT_STATX_DONT_SYNC, "AT_STATX_DONT_SYNC"}, {unix.AT_RECURSIVE, "AT_RECURSIVE"},
}, Zero: "AT_STATX_SYNC_AS_STAT"}

// StatxMask names statx's mask bits (include/uapi/linux/stat.h).
var StatxMask = &FlagSet{Flags: []Flag{
	{unix.STATX_ALL, "STATX_ALL"}, {unix.STATX_BASIC_STATS, "STATX_BASIC_STATS"},
	{unix.STATX_TYPE, "STATX_TYPE"}, {unix.STATX_MODE, "STATX_MODE"}, {unix.STATX_NLINK, "STATX_NLINK"},
	{unix.STATX_UID, "STATX_UID"}, {unix.STATX_GID, "STATX_GID"}, {unix.STATX_ATIME, "STATX_ATIME"},
	{unix.STATX_MTIME, "STATX_MTIME"}, {unix.STATX_CTIME, "STATX_CTIME"}, {unix.STATX_INO, "STATX_INO"},
	{unix.STATX_SIZE, "STATX_SIZE"}, {unix.STATX_BLOCKS, "STATX_BLOCKS"}, {unix.STATX_BTIME, "STATX_BTIME"},
	{unix.STATX_MNT_ID, "STATX_MNT_ID"}, {unix.STATX_DIOALIGN, "STATX_DIOALIGN"},
}}

// RenameFlags are renameat2's flags.
var RenameFlags = &FlagSet{Flags: []Flag{
	{unix.RENAME_NOREPLACE, "RENAME_NOREPLACE"}, {unix.RENAME_EXCHANGE, "RENAME_EXCHANGE"},
	{unix.RENAME_WHITEOUT, "RENAME_WHITEOUT"},
}}

// AccessModes are access(2)'s mode bits; 0 is F_OK.
var AccessModes = &FlagSet{Flags: []Flag{{unix.R_OK, "R_OK"}, {unix.W_OK, "W_OK"}, {unix.X_OK, "X_OK"}}, Zero: "F_OK"}

// ProtFlags are mmap/mprotect protections (include/uapi/asm-generic/mman-common.h).
var ProtFlags = &FlagSet{Flags: []Flag{
	{unix.PROT_READ, "PROT_READ"}, {unix.PROT_WRITE, "PROT_WRITE"}, {unix.PROT_EXEC, "PROT_EXEC"},
	{0x8, "PROT_SEM"}, {unix.PROT_GROWSDOWN, "PROT_GROWSDOWN"}, {unix.PROT_GROWSUP, "PROT_GROWSUP"},
}, Zero: "PROT_NONE"}

// MapType names the sharing type, the low 4 bits of mmap flags.
var MapType = NewValueSet("MAP_???", false,
	Flag{0, "MAP_FILE"}, Flag{unix.MAP_SHARED, "MAP_SHARED"}, Flag{unix.MAP_PRIVATE, "MAP_PRIVATE"},
	Flag{unix.MAP_SHARED_VALIDATE, "MAP_SHARED_VALIDATE"})

// MapFlags are the mmap flags above the type (arch/x86 uses the generic set).
var MapFlags = &FlagSet{Flags: []Flag{
	{unix.MAP_FIXED, "MAP_FIXED"}, {unix.MAP_ANONYMOUS, "MAP_ANONYMOUS"}, {unix.MAP_32BIT, "MAP_32BIT"},
	{unix.MAP_NORESERVE, "MAP_NORESERVE"}, {unix.MAP_POPULATE, "MAP_POPULATE"},
	{unix.MAP_NONBLOCK, "MAP_NONBLOCK"}, {unix.MAP_GROWSDOWN, "MAP_GROWSDOWN"},
	{unix.MAP_DENYWRITE, "MAP_DENYWRITE"}, {unix.MAP_EXECUTABLE, "MAP_EXECUTABLE"},
	{unix.MAP_LOCKED, "MAP_LOCKED"}, {unix.MAP_STACK, "MAP_STACK"}, {unix.MAP_HUGETLB, "MAP_HUGETLB"},
	{unix.MAP_SYNC, "MAP_SYNC"}, {unix.MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"},
}}

// MAP_HUGE_SHIFT and MAP_HUGE_MASK locate the huge page size in mmap flags.
const (
	MAP_HUGE_SHIFT = 26
	MAP_HUGE_MASK  = 0x3f
)

// MremapFlags are mremap's flags.
var MremapFlags = &FlagSet{Flags: []Flag{
	{unix.MREMAP_MAYMOVE, "MREMAP_MAYMOVE"}, {unix.MREMAP_FIXED, "MREMAP_FIXED"},
	{unix.MREMAP_DONTUNMAP, "MREMAP_DONTUNMAP"},
}}

// Madvise names madvise's advice values.
var Madvise = NewValueSet("MADV_???", false,
	Flag{0, "MADV_NORMAL"}, Flag{1, "MADV_RANDOM"}, Flag{2, "MADV_SEQUENTIAL"}, Flag{3, "MADV_WILLNEED"},
	Flag{4, "MADV_DONTNEED"}, Flag{8, "MADV_FREE"}, Flag{9, "MADV_REMOVE"}, Flag{10, "MADV_DONTFORK"},
	Flag{11, "MADV_DOFORK"}, Flag{12, "MADV_MERGEABLE"}, Flag{13, "MADV_UNMERGEABLE"},
	Flag{14, "MADV_HUGEPAGE"}, Flag{15, "MADV_NOHUGEPAGE"}, Flag{16, "MADV_DONTDUMP"},
	Flag{17, "MADV_DODUMP"}, Flag{18, "MADV_WIPEONFORK"}, Flag{19, "MADV_KEEPONFORK"},
	Flag{20, "MADV_COLD"}, Flag{21, "MADV_PAGEOUT"}, Flag{22, "MADV_POPULATE_READ"},
	Flag{23, "MADV_POPULATE_WRITE"}, Flag{24, "MADV_DONTNEED_LOCKED"}, Flag{25, "MADV_COLLAPSE"},
	Flag{100, "MADV_HWPOISON"}, Flag{101, "MADV_SOFT_OFFLINE"})

// AddressFamilies names socket address families (include/linux/socket.h).
var AddressFamilies = NewValueSet("AF_???", false,
	Flag{0, "AF_UNSPEC"}, Flag{1, "AF_UNIX"}, Flag{2, "AF_INET"}, Flag{3, "AF_AX25"}, Flag{4, "AF_IPX"},
	Flag{5, "AF_APPLETALK"}, Flag{6, "AF_NETROM"}, Flag{7, "AF_BRIDGE"}, Flag{8, "AF_ATMPVC"},
	Flag{9, "AF_X25"}, Flag{10, "AF_INET6"}, Flag{11, "AF_ROSE"}, Flag{12, "AF_DECnet"},
	Flag{13, "AF_NETBEUI"}, Flag{14, "AF_SECURITY"}, Flag{15, "AF_KEY"}, Flag{16, "AF_NETLINK"},
	Flag{17, "AF_PACKET"}, Flag{18, "AF_ASH"}, Flag{19, "AF_ECONET"}, Flag{20, "AF_ATMSVC"},
	Flag{21, "AF_RDS"}, Flag{22, "AF_SNA"}, Flag{23, "AF_IRDA"}, Flag{24, "AF_PPPOX"},
	Flag{25, "AF_WANPIPE"}, Flag{26, "AF_LLC"}, Flag{27, "AF_IB"}, Flag{28, "AF_MPLS"},
	Flag{29, "AF_CAN"}, Flag{30, "AF_TIPC"}, Flag{31, "AF_BLUETOOTH"}, Flag{32, "AF_IUCV"},
	Flag{33, "AF_RXRPC"}, Flag{34, "AF_ISDN"}, Flag{35, "AF_PHONET"}, Flag{36, "AF_IEEE802154"},
	Flag{37, "AF_CAIF"}, Flag{38, "AF_ALG"}, Flag{39, "AF_NFC"}, Flag{40, "AF_VSOCK"},
	Flag{41, "AF_KCM"}, Flag{42, "AF_QIPCRTR"}, Flag{43, "AF_SMC"}, Flag{44, "AF_XDP"},
	Flag{45, "AF_MCTP"})

// SocketTypes names the type field (low 4 bits) of socket's type argument.
var SocketTypes = NewValueSet("SOCK_???", false,
	Flag{1, "SOCK_STREAM"}, Flag{2, "SOCK_DGRAM"}, Flag{3, "SOCK_RAW"}, Flag{4, "SOCK_RDM"},
	Flag{5, "SOCK_SEQPACKET"}, Flag{6, "SOCK_DCCP"}, Flag{10, "SOCK_PACKET"})

// SocketTypeFlags are the flags or'ed into socket's type (and accept4's flags).
var SocketTypeFlags = &FlagSet{Flags: []Flag{
	{unix.SOCK_CLOEXEC, "SOCK_CLOEXEC"}, {unix.SOCK_NONBLOCK, "SOCK_NONBLOCK"},
}}

// IPProtocols names IP protocol numbers (include/uapi/linux/in.h).
var IPProtocols = NewValueSet("IPPROTO_???", false,
	Flag{0, "IPPROTO_IP"}, Flag{1, "IPPROTO_ICMP"}, Flag{2, "IPPROTO_IGMP"}, Flag{4, "IPPROTO_IPIP"},
	Flag{6, "IPPROTO_TCP"}, Flag{8, "IPPROTO_EGP"}, Flag{12, "IPPROTO_PUP"}, Flag{17, "IPPROTO_UDP"},
	Flag{22, "IPPROTO_IDP"}, Flag{29, "IPPROTO_TP"}, Flag{33, "IPPROTO_DCCP"}, Flag{41, "IPPROTO_IPV6"},
	Flag{46, "IPPROTO_RSVP"}, Flag{47, "IPPROTO_GRE"}, Flag{50, "IPPROTO_ESP"}, Flag{51, "IPPROTO_AH"},
	Flag{58, "IPPROTO_ICMPV6"}, Flag{92, "IPPROTO_MTP"}, Flag{94, "IPPROTO_BEETPH"},
	Flag{98, "IPPROTO_ENCAP"}, Flag{103, "IPPROTO_PIM"}, Flag{108, "IPPROTO_COMP"},
	Flag{132, "IPPROTO_SCTP"}, Flag{136, "IPPROTO_UDPLITE"}, Flag{137, "IPPROTO_MPLS"},
	Flag{143, "IPPROTO_ETHERNET"}, Flag{255, "IPPROTO_RAW"}, Flag{262, "IPPROTO_MPTCP"})

// NetlinkProtocols names the protocols of AF_NETLINK sockets.
var NetlinkProtocols = NewValueSet("NETLINK_???", false,
	Flag{0, "NETLINK_ROUTE"}, Flag{1, "NETLINK_UNUSED"}, Flag{2, "NETLINK_USERSOCK"},
	Flag{3, "NETLINK_FIREWALL"}, Flag{4, "NETLINK_SOCK_DIAG"}, Flag{5, "NETLINK_NFLOG"},
	Flag{6, "NETLINK_XFRM"}, Flag{7, "NETLINK_SELINUX"}, Flag{8, "NETLINK_ISCSI"},
	Flag{9, "NETLINK_AUDIT"}, Flag{10, "NETLINK_FIB_LOOKUP"}, Flag{11, "NETLINK_CONNECTOR"},
	Flag{12, "NETLINK_NETFILTER"}, Flag{13, "NETLINK_IP6_FW"}, Flag{14, "NETLINK_DNRTMSG"},
	Flag{15, "NETLINK_KOBJECT_UEVENT"}, Flag{16, "NETLINK_GENERIC"}, Flag{18, "NETLINK_SCSITRANSPORT"},
	Flag{19, "NETLINK_ECRYPTFS"}, Flag{20, "NETLINK_RDMA"}, Flag{21, "NETLINK_CRYPTO"},
	Flag{22, "NETLINK_SMC"})

// MsgFlags are the flags of send/recv calls (include/linux/socket.h).
var MsgFlags = &FlagSet{Flags: []Flag{
	{unix.MSG_OOB, "MSG_OOB"}, {unix.MSG_PEEK, "MSG_PEEK"}, {unix.MSG_DONTROUTE, "MSG_DONTROUTE"},
	{unix.MSG_CTRUNC, "MSG_CTRUNC"}, {0x10, "MSG_PROBE"}, {unix.MSG_TRUNC, "MSG_TRUNC"},
	{unix.MSG_DONTWAIT, "MSG_DONTWAIT"}, {unix.MSG_EOR, "MSG_EOR"}, {unix.MSG_WAITALL, "MSG_WAITALL"},
	{unix.MSG_FIN, "MSG_FIN"}, {unix.MSG_SYN, "MSG_SYN"}, {unix.MSG_CONFIRM, "MSG_CONFIRM"},
	{unix.MSG_RST, "MSG_RST"}, {unix.MSG_ERRQUEUE, "MSG_ERRQUEUE"}, {unix.MSG_NOSIGNAL, "MSG_NOSIGNAL"},
	{unix.MSG_MORE, "MSG_MORE"}, {unix.MSG_WAITFORONE, "MSG_WAITFORONE"}, {0x20000, "MSG_SENDPAGE_NOPOLICY"},
	{unix.MSG_BATCH, "MSG_BATCH"}, {unix.MSG_ZEROCOPY, "MSG_ZEROCOPY"}, {unix.MSG_FASTOPEN, "MSG_FASTOPEN"},
	{unix.MSG_CMSG_CLOEXEC, "MSG_CMSG_CLOEXEC"},
}}

// ShutdownHow names shutdown's how.
var ShutdownHow = NewValueSet("SHUT_???", false, Flag{0, "SHUT_RD"}, Flag{1, "SHUT_WR"}, Flag{2, "SHUT_RDWR"})

// SockoptLevels names setsockopt/getsockopt levels.
var SockoptLevels = NewValueSet("SOL_??", false, // sic: strace 6.1 prints two
	Flag{0, "SOL_IP"}, Flag{1, "SOL_SOCKET"}, Flag{6, "SOL_TCP"}, Flag{17, "SOL_UDP"},
	Flag{41, "SOL_IPV6"}, Flag{58, "SOL_ICMPV6"}, Flag{132, "SOL_SCTP"}, Flag{136, "SOL_UDPLITE"},
	Flag{255, "SOL_RAW"}, Flag{263, "SOL_PACKET"}, Flag{270, "SOL_NETLINK"}, Flag{282, "SOL_TLS"})

// SocketOptions names SOL_SOCKET options (include/uapi/asm-generic/socket.h).
var SocketOptions = NewValueSet("SO_???", false,
	Flag{1, "SO_DEBUG"}, Flag{2, "SO_REUSEADDR"}, Flag{3, "SO_TYPE"}, Flag{4, "SO_ERROR"},
	Flag{5, "SO_DONTROUTE"}, Flag{6, "SO_BROADCAST"}, Flag{7, "SO_SNDBUF"}, Flag{8, "SO_RCVBUF"},
	Flag{9, "SO_KEEPALIVE"}, Flag{10, "SO_OOBINLINE"}, Flag{11, "SO_NO_CHECK"}, Flag{12, "SO_PRIORITY"},
	Flag{13, "SO_LINGER"}, Flag{14, "SO_BSDCOMPAT"}, Flag{15, "SO_REUSEPORT"}, Flag{16, "SO_PASSCRED"},
	Flag{17, "SO_PEERCRED"}, Flag{18, "SO_RCVLOWAT"}, Flag{19, "SO_SNDLOWAT"},
	Flag{20, "SO_RCVTIMEO_OLD"}, Flag{21, "SO_SNDTIMEO_OLD"}, Flag{25, "SO_BINDTODEVICE"},
	Flag{26, "SO_ATTACH_FILTER"}, Flag{27, "SO_DETACH_FILTER"}, Flag{28, "SO_PEERNAME"},
	Flag{29, "SO_TIMESTAMP_OLD"}, Flag{30, "SO_ACCEPTCONN"}, Flag{31, "SO_PEERSEC"},
	Flag{32, "SO_SNDBUFFORCE"}, Flag{33, "SO_RCVBUFFORCE"}, Flag{34, "SO_PASSSEC"},
	Flag{36, "SO_MARK"}, Flag{38, "SO_PROTOCOL"}, Flag{39, "SO_DOMAIN"}, Flag{46, "SO_BUSY_POLL"},
	Flag{47, "SO_MAX_PACING_RATE"}, Flag{49, "SO_INCOMING_CPU"}, Flag{59, "SO_PEERGROUPS"},
	Flag{60, "SO_ZEROCOPY"}, Flag{62, "SO_TIMESTAMP_NEW"}, Flag{66, "SO_RCVTIMEO_NEW"},
	Flag{67, "SO_SNDTIMEO_NEW"})

// TCPOptions names SOL_TCP options (include/uapi/linux/tcp.h).
var TCPOptions = NewValueSet("TCP_???", false,
	Flag{1, "TCP_NODELAY"}, Flag{2, "TCP_MAXSEG"}, Flag{3, "TCP_CORK"}, Flag{4, "TCP_KEEPIDLE"},
	Flag{5, "TCP_KEEPINTVL"}, Flag{6, "TCP_KEEPCNT"}, Flag{7, "TCP_SYNCNT"}, Flag{8, "TCP_LINGER2"},
	Flag{9, "TCP_DEFER_ACCEPT"}, Flag{10, "TCP_WINDOW_CLAMP"}, Flag{11, "TCP_INFO"},
	Flag{12, "TCP_QUICKACK"}, Flag{13, "TCP_CONGESTION"}, Flag{14, "TCP_MD5SIG"},
	Flag{18, "TCP_USER_TIMEOUT"}, Flag{23, "TCP_FASTOPEN"}, Flag{30, "TCP_FASTOPEN_CONNECT"},
	Flag{31, "TCP_ULP"}, Flag{37, "TCP_INQ"})

// IPOptions names SOL_IP options (include/uapi/linux/in.h).
var IPOptions = NewValueSet("IP_???", false,
	Flag{1, "IP_TOS"}, Flag{2, "IP_TTL"}, Flag{3, "IP_HDRINCL"}, Flag{4, "IP_OPTIONS"},
	Flag{6, "IP_RECVOPTS"}, Flag{7, "IP_RETOPTS"}, Flag{8, "IP_PKTINFO"}, Flag{10, "IP_MTU_DISCOVER"},
	Flag{11, "IP_RECVERR"}, Flag{12, "IP_RECVTTL"}, Flag{13, "IP_RECVTOS"}, Flag{14, "IP_MTU"},
	Flag{15, "IP_FREEBIND"}, Flag{19, "IP_TRANSPARENT"}, Flag{24, "IP_BIND_ADDRESS_NO_PORT"},
	Flag{32, "IP_MULTICAST_IF"}, Flag{33, "IP_MULTICAST_TTL"}, Flag{34, "IP_MULTICAST_LOOP"},
	Flag{35, "IP_ADD_MEMBERSHIP"}, Flag{36, "IP_DROP_MEMBERSHIP"})

// IPv6Options names SOL_IPV6 options (include/uapi/linux/in6.h).
var IPv6Options = NewValueSet("IPV6_???", false,
	Flag{16, "IPV6_UNICAST_HOPS"}, Flag{17, "IPV6_MULTICAST_IF"}, Flag{18, "IPV6_MULTICAST_HOPS"},
	Flag{19, "IPV6_MULTICAST_LOOP"}, Flag{20, "IPV6_ADD_MEMBERSHIP"}, Flag{21, "IPV6_DROP_MEMBERSHIP"},
	Flag{23, "IPV6_MTU_DISCOVER"}, Flag{24, "IPV6_MTU"}, Flag{25, "IPV6_RECVERR"},
	Flag{26, "IPV6_V6ONLY"}, Flag{49, "IPV6_RECVPKTINFO"}, Flag{50, "IPV6_PKTINFO"},
	Flag{67, "IPV6_TCLASS"})

// FcntlCmds names fcntl commands (include/uapi/asm-generic/fcntl.h).
var FcntlCmds = NewValueSet("F_???", false,
	Flag{0, "F_DUPFD"}, Flag{1, "F_GETFD"}, Flag{2, "F_SETFD"}, Flag{3, "F_GETFL"}, Flag{4, "F_SETFL"},
	Flag{5, "F_GETLK"}, Flag{6, "F_SETLK"}, Flag{7, "F_SETLKW"}, Flag{8, "F_SETOWN"}, Flag{9, "F_GETOWN"},
	Flag{10, "F_SETSIG"}, Flag{11, "F_GETSIG"}, Flag{15, "F_SETOWN_EX"}, Flag{16, "F_GETOWN_EX"},
	Flag{17, "F_GETOWNER_UIDS"}, Flag{36, "F_OFD_GETLK"}, Flag{37, "F_OFD_SETLK"},
	Flag{38, "F_OFD_SETLKW"}, Flag{1024, "F_SETLEASE"}, Flag{1025, "F_GETLEASE"},
	Flag{1026, "F_NOTIFY"}, Flag{1030, "F_DUPFD_CLOEXEC"}, Flag{1031, "F_SETPIPE_SZ"},
	Flag{1032, "F_GETPIPE_SZ"}, Flag{1033, "F_ADD_SEALS"}, Flag{1034, "F_GET_SEALS"},
	// The 32-bit commands keep their names on x86-64 (strace 6.1 does not
	// know the read/write hint commands 1035..1038).
	Flag{12, "F_GETLK64"}, Flag{13, "F_SETLK64"}, Flag{14, "F_SETLKW64"})

// FdFlags are the F_GETFD/F_SETFD flags.
var FdFlags = &FlagSet{Flags: []Flag{{unix.FD_CLOEXEC, "FD_CLOEXEC"}}}

// SeekWhence names lseek's whence.
var SeekWhence = NewValueSet("SEEK_???", false,
	Flag{0, "SEEK_SET"}, Flag{1, "SEEK_CUR"}, Flag{2, "SEEK_END"}, Flag{3, "SEEK_DATA"}, Flag{4, "SEEK_HOLE"})

// WaitOptions are wait4/waitid options (include/uapi/linux/wait.h), in
// strace's order (src/xlat/wait4_options.in).
var WaitOptions = &FlagSet{Flags: []Flag{
	{unix.WNOHANG, "WNOHANG"}, {unix.WEXITED, "WEXITED"}, {unix.WUNTRACED, "WSTOPPED"},
	{unix.WCONTINUED, "WCONTINUED"}, {unix.WNOWAIT, "WNOWAIT"}, {0x80000000, "__WCLONE"},
	{0x40000000, "__WALL"}, {0x20000000, "__WNOTHREAD"},
}, Unknown: "W???"}

// CloneFlags are clone's flags above the exit signal byte, in strace's order
// (include/uapi/linux/sched.h).
var CloneFlags = &FlagSet{Flags: []Flag{
	{unix.CLONE_VM, "CLONE_VM"}, {unix.CLONE_FS, "CLONE_FS"}, {unix.CLONE_FILES, "CLONE_FILES"},
	{unix.CLONE_SIGHAND, "CLONE_SIGHAND"}, {unix.CLONE_PIDFD, "CLONE_PIDFD"},
	{unix.CLONE_PTRACE, "CLONE_PTRACE"}, {unix.CLONE_VFORK, "CLONE_VFORK"},
	{unix.CLONE_PARENT, "CLONE_PARENT"}, {unix.CLONE_THREAD, "CLONE_THREAD"},
	{unix.CLONE_NEWNS, "CLONE_NEWNS"}, {unix.CLONE_SYSVSEM, "CLONE_SYSVSEM"},
	{unix.CLONE_SETTLS, "CLONE_SETTLS"}, {unix.CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"},
	{unix.CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"}, {unix.CLONE_UNTRACED, "CLONE_UNTRACED"},
	{unix.CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"}, {unix.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
	{unix.CLONE_NEWUTS, "CLONE_NEWUTS"}, {unix.CLONE_NEWIPC, "CLONE_NEWIPC"},
	{unix.CLONE_NEWUSER, "CLONE_NEWUSER"}, {unix.CLONE_NEWPID, "CLONE_NEWPID"},
	{unix.CLONE_NEWNET, "CLONE_NEWNET"}, {unix.CLONE_IO, "CLONE_IO"},
}}

// SigprocmaskHow names rt_sigprocmask's how.
var SigprocmaskHow = NewValueSet("SIG_???", false,
	Flag{0, "SIG_BLOCK"}, Flag{1, "SIG_UNBLOCK"}, Flag{2, "SIG_SETMASK"})

// SA_RESTORER is the sa_flags bit that says sa_restorer is set.
const SA_RESTORER = 0x04000000

// SigactionFlags are sa_flags (arch/x86/include/uapi/asm/signal.h), in
// strace 6.1's order (src/xlat/sigact_flags.in), which names neither
// SA_UNSUPPORTED (0x400) nor SA_EXPOSE_TAGBITS (0x800).
var SigactionFlags = &FlagSet{Flags: []Flag{
	{SA_RESTORER, "SA_RESTORER"}, {0x08000000, "SA_ONSTACK"}, {0x10000000, "SA_RESTART"},
	{0x20000000, "SA_INTERRUPT"}, {0x40000000, "SA_NODEFER"}, {0x80000000, "SA_RESETHAND"},
	{0x4, "SA_SIGINFO"}, {0x1, "SA_NOCLDSTOP"}, {0x2, "SA_NOCLDWAIT"},
}, Unknown: "SA_???"}

// PollEvents are pollfd event bits (include/uapi/asm-generic/poll.h).
var PollEvents = &FlagSet{Flags: []Flag{
	{0x1, "POLLIN"}, {0x2, "POLLPRI"}, {0x4, "POLLOUT"}, {0x8, "POLLERR"}, {0x10, "POLLHUP"},
	{0x20, "POLLNVAL"}, {0x40, "POLLRDNORM"}, {0x80, "POLLRDBAND"}, {0x100, "POLLWRNORM"},
	{0x200, "POLLWRBAND"}, {0x400, "POLLMSG"}, {0x2000, "POLLRDHUP"},
}}

// ArchPrctlCodes names arch_prctl's codes (arch/x86/include/uapi/asm/prctl.h).
var ArchPrctlCodes = NewValueSet("ARCH_???", false,
	Flag{0x1001, "ARCH_SET_GS"}, Flag{0x1002, "ARCH_SET_FS"}, Flag{0x1003, "ARCH_GET_FS"},
	Flag{0x1004, "ARCH_GET_GS"}, Flag{0x1011, "ARCH_GET_CPUID"}, Flag{0x1012, "ARCH_SET_CPUID"},
	Flag{0x1021, "ARCH_GET_XCOMP_SUPP"}, Flag{0x1022, "ARCH_GET_XCOMP_PERM"}, Flag{0x1023, "ARCH_REQ_XCOMP_PERM"},
	Flag{0x1024, "ARCH_GET_XCOMP_GUEST_PERM"}, Flag{0x1025, "ARCH_REQ_XCOMP_GUEST_PERM"}, Flag{0x2001, "ARCH_MAP_VDSO_X32"},
	Flag{0x2002, "ARCH_MAP_VDSO_32"}, Flag{0x2003, "ARCH_MAP_VDSO_64"})

// Ioctls names the terminal and file ioctl requests as strace 6.1 does
// (include/uapi/asm-generic/ioctls.h, linux/fs.h), a number two
// subsystems share by both names: "SNDCTL_TMR_START or TCSETS".
var Ioctls = NewValueSet("", false,
	Flag{0x5401, "TCGETS"}, Flag{0x5402, "SNDCTL_TMR_START or TCSETS"},
	Flag{0x5403, "SNDCTL_TMR_STOP or TCSETSW"}, Flag{0x5404, "SNDCTL_TMR_CONTINUE or TCSETSF"},
	Flag{0x5405, "TCGETA"}, Flag{0x5406, "TCSETA"}, Flag{0x5407, "TCSETAW"}, Flag{0x5408, "TCSETAF"},
	Flag{0x5409, "TCSBRK"}, Flag{0x540a, "TCXONC"}, Flag{0x540b, "TCFLSH"}, Flag{0x540c, "TIOCEXCL"},
	Flag{0x540d, "TIOCNXCL"}, Flag{0x540e, "TIOCSCTTY"}, Flag{0x540f, "TIOCGPGRP"}, Flag{0x5410, "TIOCSPGRP"},
	Flag{0x5411, "TIOCOUTQ"}, Flag{0x5412, "TIOCSTI"}, Flag{0x5413, "TIOCGWINSZ"}, Flag{0x5414, "TIOCSWINSZ"},
	Flag{0x5415, "TIOCMGET"}, Flag{0x5416, "TIOCMBIS"}, Flag{0x5417, "TIOCMBIC"}, Flag{0x5418, "TIOCMSET"},
	Flag{0x5419, "TIOCGSOFTCAR"}, Flag{0x541a, "TIOCSSOFTCAR"}, Flag{0x541b, "FIONREAD"},
	Flag{0x541c, "TIOCLINUX"}, Flag{0x541d, "TIOCCONS"}, Flag{0x541e, "TIOCGSERIAL"},
	Flag{0x541f, "TIOCSSERIAL"}, Flag{0x5420, "TIOCPKT"}, Flag{0x5421, "FIONBIO"}, Flag{0x5422, "TIOCNOTTY"},
	Flag{0x5423, "TIOCSETD"}, Flag{0x5424, "TIOCGETD"}, Flag{0x5425, "TCSBRKP"}, Flag{0x5427, "TIOCSBRK"},
	Flag{0x5428, "TIOCCBRK"}, Flag{0x5429, "TIOCGSID"}, Flag{0x542e, "TIOCGRS485"},
	Flag{0x542f, "TIOCSRS485"}, Flag{0x5432, "TCGETX"}, Flag{0x5433, "TCSETX"}, Flag{0x5434, "TCSETXF"},
	Flag{0x5435, "TCSETXW"}, Flag{0x5437, "TIOCVHANGUP"}, Flag{0x5441, "TIOCGPTPEER"},
	Flag{0x5450, "FIONCLEX"}, Flag{0x5451, "FIOCLEX"}, Flag{0x5452, "FIOASYNC"},
	Flag{0x5453, "TIOCSERCONFIG"}, Flag{0x5454, "TIOCSERGWILD"}, Flag{0x5455, "TIOCSERSWILD"},
	Flag{0x5456, "TIOCGLCKTRMIOS"}, Flag{0x5457, "TIOCSLCKTRMIOS"}, Flag{0x5458, "TIOCSERGSTRUCT"},
	Flag{0x5459, "TIOCSERGETLSR"}, Flag{0x545a, "TIOCSERGETMULTI"}, Flag{0x545b, "TIOCSERSETMULTI"},
	Flag{0x545c, "TIOCMIWAIT"}, Flag{0x545d, "TIOCGICOUNT"}, Flag{0x5460, "FIOQSIZE"},
	Flag{0x40045431, "TIOCSPTLCK"}, Flag{0x40045436, "TIOCSIG"},
	Flag{0x40049409, "BTRFS_IOC_CLONE or FICLONE"}, Flag{0x4020940d, "BTRFS_IOC_CLONE_RANGE or FICLONERANGE"},
	Flag{0x402c542b, "TCSETS2"}, Flag{0x402c542c, "TCSETSW2"}, Flag{0x402c542d, "TCSETSF2"},
	Flag{0x80045430, "TIOCGPTN"}, Flag{0x80045432, "TIOCGDEV"}, Flag{0x80045438, "TIOCGPKT"},
	Flag{0x80045439, "TIOCGPTLCK"}, Flag{0x80045440, "TIOCGEXCL"}, Flag{0x802c542a, "TCGETS2"})

// ModeTypes names the file type field of a mode (S_IFMT bits, octal 0170000).
var ModeTypes = NewValueSet("", false,
	Flag{unix.S_IFREG, "S_IFREG"}, Flag{unix.S_IFDIR, "S_IFDIR"}, Flag{unix.S_IFLNK, "S_IFLNK"},
	Flag{unix.S_IFCHR, "S_IFCHR"}, Flag{unix.S_IFBLK, "S_IFBLK"}, Flag{unix.S_IFIFO, "S_IFIFO"},
	Flag{unix.S_IFSOCK, "S_IFSOCK"})

// EpollCtlOps names epoll_ctl's op.
var EpollCtlOps = NewValueSet("EPOLL_CTL_???", false,
	Flag{1, "EPOLL_CTL_ADD"}, Flag{2, "EPOLL_CTL_DEL"}, Flag{3, "EPOLL_CTL_MOD"})

// FlockOps are flock's operation bits, with the obsolete LOCK_MAND ones
// strace still names (src/xlat/flockcmds.in).
var FlockOps = &FlagSet{Flags: []Flag{
	{1, "LOCK_SH"}, {2, "LOCK_EX"}, {4, "LOCK_NB"}, {8, "LOCK_UN"},
	{32, "LOCK_MAND"}, {192, "LOCK_RW"}, {64, "LOCK_READ"}, {128, "LOCK_WRITE"},
}, Unknown: "LOCK_???"}

// O_CREAT, and O_TMPFILE's own bit (__O_TMPFILE; O_TMPFILE is it plus
// O_DIRECTORY): open's mode argument matters only when one is set.
const (
	O_CREAT       = unix.O_CREAT
	O_TMPFILE_BIT = 0x400000
)

// GetrandomFlags are getrandom's flags (include/uapi/linux/random.h).
var GetrandomFlags = &FlagSet{Flags: []Flag{{1, "GRND_NONBLOCK"}, {2, "GRND_RANDOM"}, {4, "GRND_INSECURE"}}}

// Rlimits names resource limits (include/uapi/asm-generic/resource.h).
var Rlimits = NewValueSet("RLIMIT_???", false,
	Flag{0, "RLIMIT_CPU"}, Flag{1, "RLIMIT_FSIZE"}, Flag{2, "RLIMIT_DATA"}, Flag{3, "RLIMIT_STACK"},
	Flag{4, "RLIMIT_CORE"}, Flag{5, "RLIMIT_RSS"}, Flag{6, "RLIMIT_NPROC"}, Flag{7, "RLIMIT_NOFILE"},
	Flag{8, "RLIMIT_MEMLOCK"}, Flag{9, "RLIMIT_AS"}, Flag{10, "RLIMIT_LOCKS"}, Flag{11, "RLIMIT_SIGPENDING"},
	Flag{12, "RLIMIT_MSGQUEUE"}, Flag{13, "RLIMIT_NICE"}, Flag{14, "RLIMIT_RTPRIO"}, Flag{15, "RLIMIT_RTTIME"})

// ClockIDs names clock ids (include/uapi/linux/time.h).
var ClockIDs = NewValueSet("CLOCK_???", false,
	Flag{0, "CLOCK_REALTIME"}, Flag{1, "CLOCK_MONOTONIC"}, Flag{2, "CLOCK_PROCESS_CPUTIME_ID"},
	Flag{3, "CLOCK_THREAD_CPUTIME_ID"}, Flag{4, "CLOCK_MONOTONIC_RAW"}, Flag{5, "CLOCK_REALTIME_COARSE"},
	Flag{6, "CLOCK_MONOTONIC_COARSE"}, Flag{7, "CLOCK_BOOTTIME"}, Flag{8, "CLOCK_REALTIME_ALARM"},
	Flag{9, "CLOCK_BOOTTIME_ALARM"}, Flag{11, "CLOCK_TAI"})

// EpollCreateFlags are epoll_create1's flags.
var EpollCreateFlags = &FlagSet{Flags: []Flag{{unix.EPOLL_CLOEXEC, "EPOLL_CLOEXEC"}}}

// LockTypes are the types of a file lock or lease: struct flock's l_type,
// F_SETLEASE's argument, F_GETLEASE's result (include/uapi/asm-generic/fcntl.h).
var LockTypes = NewValueSet("F_???", false, Flag{0, "F_RDLCK"}, Flag{1, "F_WRLCK"}, Flag{2, "F_UNLCK"},
	Flag{4, "F_EXLCK"}, Flag{8, "F_SHLCK"})

// DnotifyFlags are F_NOTIFY's events (include/uapi/linux/fcntl.h).
var DnotifyFlags = &FlagSet{Flags: []Flag{
	{0x1, "DN_ACCESS"}, {0x2, "DN_MODIFY"}, {0x4, "DN_CREATE"}, {0x8, "DN_DELETE"},
	{0x10, "DN_RENAME"}, {0x20, "DN_ATTRIB"}, {0x80000000, "DN_MULTISHOT"},
}, Unknown: "DN_???"}

// SealFlags are memfd seals, F_ADD_SEALS's argument and F_GET_SEALS's
// result (include/uapi/linux/fcntl.h).
var SealFlags = &FlagSet{Flags: []Flag{
	{0x1, "F_SEAL_SEAL"}, {0x2, "F_SEAL_SHRINK"}, {0x4, "F_SEAL_GROW"}, {0x8, "F_SEAL_WRITE"},
	{0x10, "F_SEAL_FUTURE_WRITE"},
}, Unknown: "F_SEAL_???"}

// FOwnerTypes are struct f_owner_ex's types (include/uapi/asm-generic/fcntl.h).
var FOwnerTypes = NewValueSet("F_OWNER_???", false, Flag{0, "F_OWNER_TID"}, Flag{1, "F_OWNER_PID"}, Flag{2, "F_OWNER_PGRP"})

// SignalfdFlags are signalfd4's flags (include/uapi/linux/signalfd.h).
var SignalfdFlags = &FlagSet{Flags: []Flag{{unix.SFD_CLOEXEC, "SFD_CLOEXEC"}, {unix.SFD_NONBLOCK, "SFD_NONBLOCK"}}}

// TimerfdFlags are the flags of timerfd_create and timerfd_settime, which
// strace decodes with one set (src/xlat/timerfd_flags.in;
// include/uapi/linux/timerfd.h).
var TimerfdFlags = &FlagSet{Flags: []Flag{
	{1, "TFD_TIMER_ABSTIME"}, {2, "TFD_TIMER_CANCEL_ON_SET"},
	{unix.TFD_CLOEXEC, "TFD_CLOEXEC"}, {unix.TFD_NONBLOCK, "TFD_NONBLOCK"},
}, Unknown: "TFD_???"}

// MemfdFlags are memfd_create's flags (include/uapi/linux/memfd.h) that
// strace 6.1 names; the huge page size above MFD_HUGE_SHIFT is printed
// apart, as mmap's is.
var MemfdFlags = &FlagSet{Flags: []Flag{
	{0x1, "MFD_CLOEXEC"}, {0x2, "MFD_ALLOW_SEALING"}, {0x4, "MFD_HUGETLB"},
}, Unknown: "MFD_???"}

// MFD_HUGE_SHIFT and MFD_HUGE_MASK locate the huge page size in memfd_create's flags.
const (
	MFD_HUGE_SHIFT = 26
	MFD_HUGE_MASK  = 0x3f
)

// IDTypes are waitid's idtype values (include/uapi/linux/wait.h).
var IDTypes = NewValueSet("P_???", false, Flag{0, "P_ALL"}, Flag{1, "P_PID"}, Flag{2, "P_PGID"}, Flag{3, "P_PIDFD"})

// EventfdFlags are eventfd2's flags (include/linux/eventfd.h), in strace's order.
var EventfdFlags = &FlagSet{Flags: []Flag{
	{unix.EFD_SEMAPHORE, "EFD_SEMAPHORE"}, {unix.EFD_CLOEXEC, "EFD_CLOEXEC"}, {unix.EFD_NONBLOCK, "EFD_NONBLOCK"},
}, Unknown: "EFD_???"}

// FadviseAdvice names fadvise64's advice (include/uapi/linux/fadvise.h, x86-64 values).
var FadviseAdvice = NewValueSet("POSIX_FADV_???", false,
	Flag{0, "POSIX_FADV_NORMAL"}, Flag{1, "POSIX_FADV_RANDOM"}, Flag{2, "POSIX_FADV_SEQUENTIAL"},
	Flag{3, "POSIX_FADV_WILLNEED"}, Flag{4, "POSIX_FADV_DONTNEED"}, Flag{5, "POSIX_FADV_NOREUSE"})

// FutexOps names futex commands (include/uapi/linux/futex.h); FUTEX_PRIVATE_FLAG
// (128) and FUTEX_CLOCK_REALTIME (256) are or'ed in.
var FutexOps = NewValueSet("FUTEX_???", false,
	Flag{0, "FUTEX_WAIT"}, Flag{1, "FUTEX_WAKE"}, Flag{2, "FUTEX_FD"}, Flag{3, "FUTEX_REQUEUE"},
	Flag{4, "FUTEX_CMP_REQUEUE"}, Flag{5, "FUTEX_WAKE_OP"}, Flag{6, "FUTEX_LOCK_PI"},
	Flag{7, "FUTEX_UNLOCK_PI"}, Flag{8, "FUTEX_TRYLOCK_PI"}, Flag{9, "FUTEX_WAIT_BITSET"},
	Flag{10, "FUTEX_WAKE_BITSET"}, Flag{11, "FUTEX_WAIT_REQUEUE_PI"}, Flag{12, "FUTEX_CMP_REQUEUE_PI"},
	Flag{13, "FUTEX_LOCK_PI2"})

// EpollEvents are epoll_event's events bits (include/uapi/linux/eventpoll.h).
var EpollEvents = &FlagSet{Flags: []Flag{
	{0x1, "EPOLLIN"}, {0x2, "EPOLLPRI"}, {0x4, "EPOLLOUT"}, {0x8, "EPOLLERR"}, {0x10, "EPOLLHUP"},
	{0x20, "EPOLLNVAL"}, {0x40, "EPOLLRDNORM"}, {0x80, "EPOLLRDBAND"}, {0x100, "EPOLLWRNORM"},
	{0x200, "EPOLLWRBAND"}, {0x400, "EPOLLMSG"}, {0x2000, "EPOLLRDHUP"}, {1 << 28, "EPOLLEXCLUSIVE"},
	{1 << 29, "EPOLLWAKEUP"}, {1 << 30, "EPOLLONESHOT"}, {1 << 31, "EPOLLET"},
}}

// RusageWho names getrusage's who (include/uapi/linux/resource.h).
var RusageWho = NewValueSet("RUSAGE_???", false,
	Flag{0, "RUSAGE_SELF"}, Flag{0xffffffff, "RUSAGE_CHILDREN"}, Flag{1, "RUSAGE_THREAD"})

// FsMagic names a file system's f_type (include/uapi/linux/magic.h), the
// magic numbers strace 6.1 knows.
var FsMagic = NewValueSet("", false,
	Flag{0x2f, "QNX4_SUPER_MAGIC"}, Flag{0x33, "Z3FOLD_MAGIC"}, Flag{0x187, "AUTOFS_SUPER_MAGIC"},
	Flag{0x1373, "DEVFS_SUPER_MAGIC"}, Flag{0x137d, "EXT_SUPER_MAGIC"}, Flag{0x137f, "MINIX_SUPER_MAGIC"},
	Flag{0x138f, "MINIX_SUPER_MAGIC2"}, Flag{0x1cd1, "DEVPTS_SUPER_MAGIC"}, Flag{0x2468, "MINIX2_SUPER_MAGIC"},
	Flag{0x2478, "MINIX2_SUPER_MAGIC2"}, Flag{0x3434, "NILFS_SUPER_MAGIC"}, Flag{0x4244, "HFS_SUPER_MAGIC"},
	Flag{0x482b, "HFSPLUS_SUPER_MAGIC"}, Flag{0x4d44, "MSDOS_SUPER_MAGIC"}, Flag{0x4d5a, "MINIX3_SUPER_MAGIC"},
	Flag{0x517b, "SMB_SUPER_MAGIC"}, Flag{0x564c, "NCP_SUPER_MAGIC"}, Flag{0x5df5, "EXOFS_SUPER_MAGIC"},
	Flag{0x6969, "NFS_SUPER_MAGIC"}, Flag{0x7275, "ROMFS_MAGIC"}, Flag{0x72b6, "JFFS2_SUPER_MAGIC"},
	Flag{0x9660, "ISOFS_SUPER_MAGIC"}, Flag{0x9fa0, "PROC_SUPER_MAGIC"}, Flag{0x9fa1, "OPENPROM_SUPER_MAGIC"},
	Flag{0x9fa2, "USBDEVICE_SUPER_MAGIC"}, Flag{0xadf5, "ADFS_SUPER_MAGIC"}, Flag{0xadff, "AFFS_SUPER_MAGIC"},
	Flag{0xef51, "EXT2_OLD_SUPER_MAGIC"}, Flag{0xef53, "EXT2_SUPER_MAGIC"}, Flag{0xf15f, "ECRYPTFS_SUPER_MAGIC"},
	Flag{0x11954, "UFS_MAGIC"}, Flag{0x27e0eb, "CGROUP_SUPER_MAGIC"}, Flag{0x414a53, "EFS_SUPER_MAGIC"},
	Flag{0xc0ffee, "HOSTFS_SUPER_MAGIC"}, Flag{0xc36400, "CEPH_SUPER_MAGIC"}, Flag{0x1021994, "TMPFS_MAGIC"},
	Flag{0x1021997, "V9FS_MAGIC"}, Flag{0x1161970, "GFS2_MAGIC"}, Flag{0x12fd16d, "XIAFS_SUPER_MAGIC"},
	Flag{0x12ff7b4, "XENIX_SUPER_MAGIC"}, Flag{0x12ff7b5, "SYSV4_SUPER_MAGIC"}, Flag{0x12ff7b6, "SYSV2_SUPER_MAGIC"},
	Flag{0x12ff7b7, "COH_SUPER_MAGIC"}, Flag{0x2011994, "SHMFS_SUPER_MAGIC"}, Flag{0x9041934, "ANON_INODE_FS_MAGIC"},
	Flag{0xbad1dea, "FUTEXFS_SUPER_MAGIC"}, Flag{0x11307854, "MTD_INODE_FS_MAGIC"}, Flag{0x13661366, "BALLOON_KVM_MAGIC"},
	Flag{0x15013346, "UDF_SUPER_MAGIC"}, Flag{0x1badface, "BFS_MAGIC"}, Flag{0x2011bab0, "EXFAT_SUPER_MAGIC"},
	Flag{0x24051905, "UBIFS_SUPER_MAGIC"}, Flag{0x28cd3d45, "CRAMFS_MAGIC"}, Flag{0x2fc12fc1, "ZFS_SUPER_MAGIC"},
	Flag{0x3153464a, "JFS_SUPER_MAGIC"}, Flag{0x42465331, "BEFS_SUPER_MAGIC"}, Flag{0x42494e4d, "BINFMTFS_MAGIC"},
	Flag{0x43415d53, "SMACK_MAGIC"}, Flag{0x444d4142, "DMA_BUF_MAGIC"}, Flag{0x453dcd28, "CRAMFS_MAGIC_WEND"},
	Flag{0x454d444d, "DEVMEM_MAGIC"}, Flag{0x47504653, "GPFS_SUPER_MAGIC"}, Flag{0x50495045, "PIPEFS_MAGIC"},
	Flag{0x52654973, "REISERFS_SUPER_MAGIC"}, Flag{0x5345434d, "SECRETMEM_MAGIC"}, Flag{0x5346414f, "AFS_SUPER_MAGIC"},
	Flag{0x5346544e, "NTFS_SB_MAGIC"}, Flag{0x534f434b, "SOCKFS_MAGIC"}, Flag{0x54190100, "UFS_CIGAM"},
	Flag{0x565a4653, "VZFS_SUPER_MAGIC"}, Flag{0x57ac6e9d, "STACK_END_MAGIC"}, Flag{0x58295829, "ZSMALLOC_MAGIC"},
	Flag{0x58465342, "XFS_SUPER_MAGIC"}, Flag{0x5a3c69f0, "AAFS_MAGIC"}, Flag{0x5a4f4653, "ZONEFS_MAGIC"},
	Flag{0x6165676c, "PSTOREFS_MAGIC"}, Flag{0x61756673, "AUFS_SUPER_MAGIC"}, Flag{0x62646576, "BDEVFS_MAGIC"},
	Flag{0x62656570, "CONFIGFS_MAGIC"}, Flag{0x62656572, "SYSFS_MAGIC"}, Flag{0x63677270, "CGROUP2_SUPER_MAGIC"},
	Flag{0x64626720, "DEBUGFS_MAGIC"}, Flag{0x64646178, "DAXFS_MAGIC"}, Flag{0x65735543, "FUSE_CTL_SUPER_MAGIC"},
	Flag{0x65735546, "FUSE_SUPER_MAGIC"}, Flag{0x68191122, "QNX6_SUPER_MAGIC"}, Flag{0x6b414653, "AFS_FS_MAGIC"},
	Flag{0x6c6f6f70, "BINDERFS_SUPER_MAGIC"}, Flag{0x6e736673, "NSFS_MAGIC"}, Flag{0x73636673, "SECURITYFS_MAGIC"},
	Flag{0x73717368, "SQUASHFS_MAGIC"}, Flag{0x73727279, "BTRFS_TEST_MAGIC"}, Flag{0x73757245, "CODA_SUPER_MAGIC"},
	Flag{0x7461636f, "OCFS2_SUPER_MAGIC"}, Flag{0x74726163, "TRACEFS_MAGIC"}, Flag{0x794c7630, "OVERLAYFS_SUPER_MAGIC"},
	Flag{0x858458f6, "RAMFS_MAGIC"}, Flag{0x9123683e, "BTRFS_SUPER_MAGIC"}, Flag{0x958458f6, "HUGETLBFS_MAGIC"},
	Flag{0xa501fcf5, "VXFS_SUPER_MAGIC"}, Flag{0xabba1974, "XENFS_SUPER_MAGIC"}, Flag{0xc7571590, "PPC_CMM_MAGIC"},
	Flag{0xc97e8168, "LOGFS_MAGIC"}, Flag{0xcafe4a11, "BPF_FS_MAGIC"}, Flag{0xde5e81e4, "EFIVARFS_MAGIC"},
	Flag{0xe0f5e1e2, "EROFS_SUPER_MAGIC_V1"}, Flag{0xf2f52010, "F2FS_SUPER_MAGIC"}, Flag{0xf97cff8c, "SELINUX_MAGIC"},
	Flag{0xf995e849, "HPFS_SUPER_MAGIC"}, Flag{0xfe534d42, "SMB2_SUPER_MAGIC"}, Flag{0xff534d42, "CIFS_SUPER_MAGIC"})

// ST_VALID is the f_flags bit that says the other bits are meaningful.
const ST_VALID = 0x20

// StatfsFlags are statfs's f_flags (include/linux/statfs.h), ST_VALID
// first as strace prints it.
var StatfsFlags = &FlagSet{Flags: []Flag{
	{ST_VALID, "ST_VALID"}, {0x1, "ST_RDONLY"}, {0x2, "ST_NOSUID"}, {0x4, "ST_NODEV"}, {0x8, "ST_NOEXEC"},
	{0x10, "ST_SYNCHRONOUS"}, {0x40, "ST_MANDLOCK"}, {0x400, "ST_NOATIME"}, {0x800, "ST_NODIRATIME"},
	{0x1000, "ST_RELATIME"}, {0x2000, "ST_NOSYMFOLLOW"},
}, Unknown: "ST_???"}

// ItimerWhich names getitimer's and setitimer's which (include/uapi/linux/time.h).
var ItimerWhich = NewValueSet("ITIMER_???", false, Flag{0, "ITIMER_REAL"}, Flag{1, "ITIMER_VIRTUAL"}, Flag{2, "ITIMER_PROF"})

// TimerFlags are timer_settime's flags (include/uapi/linux/time.h).
var TimerFlags = &FlagSet{Flags: []Flag{{1, "TIMER_ABSTIME"}}, Unknown: "TIMER_???"}

// SigevNotify names struct sigevent's sigev_notify (include/uapi/asm-generic/siginfo.h).
var SigevNotify = NewValueSet("SIGEV_???", false,
	Flag{0, "SIGEV_SIGNAL"}, Flag{1, "SIGEV_NONE"}, Flag{2, "SIGEV_THREAD"}, Flag{4, "SIGEV_THREAD_ID"})

// Clone3Flags are struct clone_args' flags: clone's, which leave the low
// byte to the exit signal, then those only clone3 takes
// (include/uapi/linux/sched.h), in strace's order.
var Clone3Flags = &FlagSet{Flags: append(append([]Flag{}, CloneFlags.Flags...),
	Flag{0x80, "CLONE_NEWTIME"}, Flag{0x100000000, "CLONE_CLEAR_SIGHAND"}, Flag{0x200000000, "CLONE_INTO_CGROUP"}),
	Unknown: "CLONE_???"}

// SigaltstackFlags are stack_t's ss_flags (include/uapi/linux/signal.h).
var SigaltstackFlags = &FlagSet{Flags: []Flag{
	{1, "SS_ONSTACK"}, {2, "SS_DISABLE"}, {1 << 31, "SS_AUTODISARM"},
}, Unknown: "SS_???"}

// MsyncFlags are msync's flags (include/uapi/asm-generic/mman-common.h),
// in strace's order.
var MsyncFlags = &FlagSet{Flags: []Flag{{4, "MS_SYNC"}, {1, "MS_ASYNC"}, {2, "MS_INVALIDATE"}}, Unknown: "MS_???"}

// MlockallFlags are mlockall's flags (include/uapi/asm-generic/mman.h).
var MlockallFlags = &FlagSet{Flags: []Flag{{1, "MCL_CURRENT"}, {2, "MCL_FUTURE"}, {4, "MCL_ONFAULT"}}, Unknown: "MCL_???"}

// Mlock2Flags are mlock2's flags (include/uapi/asm-generic/mman-common.h).
var Mlock2Flags = &FlagSet{Flags: []Flag{{1, "MLOCK_ONFAULT"}}, Unknown: "MLOCK_???"}

// InotifyInitFlags are inotify_init1's flags (include/uapi/linux/inotify.h).
var InotifyInitFlags = &FlagSet{Flags: []Flag{{0x800, "IN_NONBLOCK"}, {0x80000, "IN_CLOEXEC"}}, Unknown: "IN_???"}

// InotifyMask are inotify_add_watch's events and flags (include/uapi/linux/inotify.h).
var InotifyMask = &FlagSet{Flags: []Flag{
	{0x1, "IN_ACCESS"}, {0x2, "IN_MODIFY"}, {0x4, "IN_ATTRIB"}, {0x8, "IN_CLOSE_WRITE"},
	{0x10, "IN_CLOSE_NOWRITE"}, {0x20, "IN_OPEN"}, {0x40, "IN_MOVED_FROM"}, {0x80, "IN_MOVED_TO"},
	{0x100, "IN_CREATE"}, {0x200, "IN_DELETE"}, {0x400, "IN_DELETE_SELF"}, {0x800, "IN_MOVE_SELF"},
	{0x2000, "IN_UNMOUNT"}, {0x4000, "IN_Q_OVERFLOW"}, {0x8000, "IN_IGNORED"},
	{0x1000000, "IN_ONLYDIR"}, {0x2000000, "IN_DONT_FOLLOW"}, {0x4000000, "IN_EXCL_UNLINK"},
	{0x10000000, "IN_MASK_CREATE"}, {0x20000000, "IN_MASK_ADD"}, {0x40000000, "IN_ISDIR"}, {0x80000000, "IN_ONESHOT"},
}, Unknown: "IN_???"}

// UnshareFlags are unshare's flags, in strace's order (include/uapi/linux/sched.h).
var UnshareFlags = &FlagSet{Flags: []Flag{
	{0x80, "CLONE_NEWTIME"}, {unix.CLONE_VM, "CLONE_VM"}, {unix.CLONE_FS, "CLONE_FS"}, {unix.CLONE_FILES, "CLONE_FILES"},
	{unix.CLONE_SIGHAND, "CLONE_SIGHAND"}, {unix.CLONE_THREAD, "CLONE_THREAD"}, {unix.CLONE_NEWNS, "CLONE_NEWNS"},
	{unix.CLONE_SYSVSEM, "CLONE_SYSVSEM"}, {unix.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"}, {unix.CLONE_NEWUTS, "CLONE_NEWUTS"},
	{unix.CLONE_NEWIPC, "CLONE_NEWIPC"}, {unix.CLONE_NEWUSER, "CLONE_NEWUSER"}, {unix.CLONE_NEWPID, "CLONE_NEWPID"},
	{unix.CLONE_NEWNET, "CLONE_NEWNET"},
}, Unknown: "CLONE_???"}

// SetnsTypes are setns's namespace types, in strace's order.
var SetnsTypes = &FlagSet{Flags: []Flag{
	{0x80, "CLONE_NEWTIME"}, {unix.CLONE_NEWNS, "CLONE_NEWNS"}, {unix.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
	{unix.CLONE_NEWUTS, "CLONE_NEWUTS"}, {unix.CLONE_NEWIPC, "CLONE_NEWIPC"}, {unix.CLONE_NEWUSER, "CLONE_NEWUSER"},
	{unix.CLONE_NEWPID, "CLONE_NEWPID"}, {unix.CLONE_NEWNET, "CLONE_NEWNET"},
}, Unknown: "CLONE_NEW???"}

// CloseRangeFlags are close_range's flags (include/uapi/linux/close_range.h).
var CloseRangeFlags = &FlagSet{Flags: []Flag{{2, "CLOSE_RANGE_UNSHARE"}, {4, "CLOSE_RANGE_CLOEXEC"}}, Unknown: "CLOSE_RANGE_???"}

// PidfdFlags are pidfd_open's flags (include/uapi/linux/pidfd.h).
var PidfdFlags = &FlagSet{Flags: []Flag{{0x800, "PIDFD_NONBLOCK"}}, Unknown: "PIDFD_???"}

// PriorityWhich names getpriority's and setpriority's which (include/uapi/linux/resource.h).
var PriorityWhich = NewValueSet("PRIO_???", false, Flag{0, "PRIO_PROCESS"}, Flag{1, "PRIO_PGRP"}, Flag{2, "PRIO_USER"})

// EthernetProtocols names AF_PACKET's protocol, an ethertype in network
// byte order (include/uapi/linux/if_ether.h): the names strace 6.1 knows.
var EthernetProtocols = NewValueSet("ETH_P_???", false,
	Flag{0x1, "ETH_P_802_3"}, Flag{0x2, "ETH_P_AX25"}, Flag{0x3, "ETH_P_ALL"}, Flag{0x4, "ETH_P_802_2"},
	Flag{0x5, "ETH_P_SNAP"}, Flag{0x6, "ETH_P_DDCMP"}, Flag{0x7, "ETH_P_WAN_PPP"}, Flag{0x8, "ETH_P_PPP_MP"},
	Flag{0x9, "ETH_P_LOCALTALK"}, Flag{0xc, "ETH_P_CAN"}, Flag{0xd, "ETH_P_CANFD"}, Flag{0xe, "ETH_P_CANXL"},
	Flag{0x10, "ETH_P_PPPTALK"}, Flag{0x11, "ETH_P_TR_802_2"}, Flag{0x15, "ETH_P_MOBITEX"},
	Flag{0x16, "ETH_P_CONTROL"}, Flag{0x17, "ETH_P_IRDA"}, Flag{0x18, "ETH_P_ECONET"}, Flag{0x19, "ETH_P_HDLC"},
	Flag{0x1a, "ETH_P_ARCNET"}, Flag{0x1b, "ETH_P_DSA"}, Flag{0x1c, "ETH_P_TRAILER"}, Flag{0x60, "ETH_P_LOOP"},
	Flag{0xf5, "ETH_P_PHONET"}, Flag{0xf6, "ETH_P_IEEE802154"}, Flag{0xf7, "ETH_P_CAIF"},
	Flag{0xf8, "ETH_P_XDSA"}, Flag{0xf9, "ETH_P_MAP"}, Flag{0xfa, "ETH_P_MCTP"}, Flag{0x200, "ETH_P_PUP"},
	Flag{0x201, "ETH_P_PUPAT"}, Flag{0x600, "ETH_P_802_3_MIN"}, Flag{0x800, "ETH_P_IP"},
	Flag{0x805, "ETH_P_X25"}, Flag{0x806, "ETH_P_ARP"}, Flag{0xa00, "ETH_P_IEEEPUP"},
	Flag{0xa01, "ETH_P_IEEEPUPAT"}, Flag{0x22eb, "ETH_P_ERSPAN2"}, Flag{0x22f0, "ETH_P_TSN"},
	Flag{0x4305, "ETH_P_BATMAN"}, Flag{0x6000, "ETH_P_DEC"}, Flag{0x6001, "ETH_P_DNA_DL"},
	Flag{0x6002, "ETH_P_DNA_RC"}, Flag{0x6003, "ETH_P_DNA_RT"}, Flag{0x6004, "ETH_P_LAT"},
	Flag{0x6005, "ETH_P_DIAG"}, Flag{0x6006, "ETH_P_CUST"}, Flag{0x6007, "ETH_P_SCA"},
	Flag{0x6558, "ETH_P_TEB"}, Flag{0x8035, "ETH_P_RARP"}, Flag{0x809b, "ETH_P_ATALK"},
	Flag{0x80f3, "ETH_P_AARP"}, Flag{0x8100, "ETH_P_8021Q"}, Flag{0x8137, "ETH_P_IPX"},
	Flag{0x86dd, "ETH_P_IPV6"}, Flag{0x8808, "ETH_P_PAUSE"}, Flag{0x8809, "ETH_P_SLOW"},
	Flag{0x883e, "ETH_P_WCCP"}, Flag{0x8847, "ETH_P_MPLS_UC"}, Flag{0x8848, "ETH_P_MPLS_MC"},
	Flag{0x884c, "ETH_P_ATMMPOA"}, Flag{0x8863, "ETH_P_PPP_DISC"}, Flag{0x8864, "ETH_P_PPP_SES"},
	Flag{0x886c, "ETH_P_LINK_CTL"}, Flag{0x8884, "ETH_P_ATMFATE"}, Flag{0x888e, "ETH_P_PAE"},
	Flag{0x8899, "ETH_P_REALTEK"}, Flag{0x88a2, "ETH_P_AOE"}, Flag{0x88a8, "ETH_P_8021AD"},
	Flag{0x88b5, "ETH_P_802_EX1"}, Flag{0x88be, "ETH_P_ERSPAN"}, Flag{0x88c7, "ETH_P_PREAUTH"},
	Flag{0x88ca, "ETH_P_TIPC"}, Flag{0x88cc, "ETH_P_LLDP"}, Flag{0x88e3, "ETH_P_MRP"},
	Flag{0x88e5, "ETH_P_MACSEC"}, Flag{0x88e7, "ETH_P_8021AH"}, Flag{0x88f5, "ETH_P_MVRP"},
	Flag{0x88f7, "ETH_P_1588"}, Flag{0x88f8, "ETH_P_NCSI"}, Flag{0x88fb, "ETH_P_PRP"},
	Flag{0x8902, "ETH_P_CFM"}, Flag{0x8906, "ETH_P_FCOE"}, Flag{0x890d, "ETH_P_TDLS"},
	Flag{0x8914, "ETH_P_FIP"}, Flag{0x8915, "ETH_P_IBOE"}, Flag{0x8917, "ETH_P_80221"},
	Flag{0x892f, "ETH_P_HSR"}, Flag{0x894f, "ETH_P_NSH"}, Flag{0x9000, "ETH_P_LOOPBACK"},
	Flag{0x9100, "ETH_P_QINQ1"}, Flag{0x9200, "ETH_P_QINQ2"}, Flag{0x9300, "ETH_P_QINQ3"},
	Flag{0xdada, "ETH_P_EDSA"}, Flag{0xdadb, "ETH_P_DSA_8021Q"}, Flag{0xe001, "ETH_P_DSA_A5PSW"},
	Flag{0xed3e, "ETH_P_IFE"}, Flag{0xfbfb, "ETH_P_AF_IUCV"})
