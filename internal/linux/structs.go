package linux

import "encoding/binary"

// le is the byte order of every x86-64 structure.
var le = binary.LittleEndian

// Stat is struct stat as the x86-64 kernel writes it for stat, fstat,
// lstat and newfstatat (arch/x86/include/uapi/asm/stat.h); 144 bytes.
type Stat struct {
	Dev     uint64 // st_dev
	Ino     uint64 // st_ino
	Nlink   uint64 // st_nlink
	Mode    uint32 // st_mode
	UID     uint32 // st_uid
	GID     uint32 // st_gid
	Rdev    uint64 // st_rdev (after 4 bytes of padding)
	Size    int64  // st_size
	Blksize int64  // st_blksize
	Blocks  int64  // st_blocks
	Atime   Timespec
	Mtime   Timespec
	Ctime   Timespec
}

// SizeofStat is the size of the x86-64 struct stat.
const SizeofStat = 144

// ParseStat decodes a struct stat; b must hold SizeofStat bytes.
func ParseStat(b []byte) Stat {
	return Stat{
		Dev: le.Uint64(b[0:]), Ino: le.Uint64(b[8:]), Nlink: le.Uint64(b[16:]),
		Mode: le.Uint32(b[24:]), UID: le.Uint32(b[28:]), GID: le.Uint32(b[32:]),
		Rdev: le.Uint64(b[40:]), Size: int64(le.Uint64(b[48:])), Blksize: int64(le.Uint64(b[56:])),
		Blocks: int64(le.Uint64(b[64:])),
		Atime:  ParseTimespec(b[72:]), Mtime: ParseTimespec(b[88:]), Ctime: ParseTimespec(b[104:]),
	}
}

// Timespec is struct timespec (include/uapi/linux/time_types.h
// __kernel_timespec); 16 bytes.
type Timespec struct {
	Sec  int64 // tv_sec
	Nsec int64 // tv_nsec
}

// SizeofTimespec is the size of struct timespec.
const SizeofTimespec = 16

// ParseTimespec decodes a struct timespec from 16 bytes.
func ParseTimespec(b []byte) Timespec {
	return Timespec{Sec: int64(le.Uint64(b)), Nsec: int64(le.Uint64(b[8:]))}
}

// Statx is the part of struct statx (include/uapi/linux/stat.h, 256 bytes)
// that strace prints without -v.
type Statx struct {
	Mask       uint32 // stx_mask, offset 0
	Blksize    uint32 // stx_blksize, 4
	Attributes uint64 // stx_attributes, 8
	Nlink      uint32 // stx_nlink, 16
	UID        uint32 // stx_uid, 20
	GID        uint32 // stx_gid, 24
	Mode       uint16 // stx_mode, 28
	Ino        uint64 // stx_ino, 32
	Size       uint64 // stx_size, 40
	Blocks     uint64 // stx_blocks, 48
	AttrMask   uint64 // stx_attributes_mask, 56
	Atime      StatxTimestamp
	Btime      StatxTimestamp
	Ctime      StatxTimestamp
	Mtime      StatxTimestamp
}

// StatxTimestamp is struct statx_timestamp (16 bytes: tv_sec, tv_nsec, pad).
type StatxTimestamp struct {
	Sec  int64
	Nsec uint32
}

// SizeofStatx is the size of struct statx.
const SizeofStatx = 256

// ParseStatx decodes the leading fields of a struct statx; b must hold at
// least 128 bytes.
func ParseStatx(b []byte) Statx {
	ts := func(o int) StatxTimestamp {
		return StatxTimestamp{Sec: int64(le.Uint64(b[o:])), Nsec: le.Uint32(b[o+8:])}
	}
	return Statx{
		Mask: le.Uint32(b), Blksize: le.Uint32(b[4:]), Attributes: le.Uint64(b[8:]),
		Nlink: le.Uint32(b[16:]), UID: le.Uint32(b[20:]), GID: le.Uint32(b[24:]),
		Mode: le.Uint16(b[28:]), Ino: le.Uint64(b[32:]), Size: le.Uint64(b[40:]),
		Blocks: le.Uint64(b[48:]), AttrMask: le.Uint64(b[56:]),
		Atime: ts(64), Btime: ts(80), Ctime: ts(96), Mtime: ts(112),
	}
}

// Socket address layouts (include/uapi/linux/in.h, in6.h, un.h).
const (
	SizeofSockaddrIn  = 16  // sa_family u16, sin_port be16, sin_addr [4], zero [8]
	SizeofSockaddrIn6 = 28  // family, port, sin6_flowinfo be32, sin6_addr [16], sin6_scope_id u32
	SizeofSockaddrUn  = 110 // family, sun_path [108]
	SizeofSockaddr    = 128 // struct __kernel_sockaddr_storage
)

// Iovec is struct iovec (include/uapi/linux/uio.h); 16 bytes.
type Iovec struct {
	Base uint64 // iov_base
	Len  uint64 // iov_len
}

// SizeofIovec is the size of struct iovec.
const SizeofIovec = 16

// ParseIovec decodes one struct iovec.
func ParseIovec(b []byte) Iovec { return Iovec{Base: le.Uint64(b), Len: le.Uint64(b[8:])} }

// Msghdr is struct user_msghdr (include/linux/socket.h); 56 bytes.
type Msghdr struct {
	Name       uint64 // msg_name
	Namelen    uint32 // msg_namelen
	Iov        uint64 // msg_iov, offset 16
	Iovlen     uint64 // msg_iovlen
	Control    uint64 // msg_control
	Controllen uint64 // msg_controllen
	Flags      uint32 // msg_flags
}

// SizeofMsghdr is the size of struct user_msghdr.
const SizeofMsghdr = 56

// ParseMsghdr decodes a struct user_msghdr.
func ParseMsghdr(b []byte) Msghdr {
	return Msghdr{
		Name: le.Uint64(b), Namelen: le.Uint32(b[8:]), Iov: le.Uint64(b[16:]), Iovlen: le.Uint64(b[24:]),
		Control: le.Uint64(b[32:]), Controllen: le.Uint64(b[40:]), Flags: le.Uint32(b[48:]),
	}
}

// Pollfd is struct pollfd (include/uapi/asm-generic/poll.h); 8 bytes.
type Pollfd struct {
	Fd      int32 // fd
	Events  int16 // events
	Revents int16 // revents
}

// SizeofPollfd is the size of struct pollfd.
const SizeofPollfd = 8

// ParsePollfd decodes a struct pollfd.
func ParsePollfd(b []byte) Pollfd {
	return Pollfd{Fd: int32(le.Uint32(b)), Events: int16(le.Uint16(b[4:])), Revents: int16(le.Uint16(b[6:]))}
}

// Sigaction is the kernel's struct sigaction on x86-64
// (arch/x86/include/asm/signal.h; the handler, flags, restorer, mask
// order differs from glibc's); 32 bytes with an 8-byte mask.
type Sigaction struct {
	Handler  uint64 // sa_handler
	Flags    uint64 // sa_flags
	Restorer uint64 // sa_restorer
	Mask     uint64 // sa_mask
}

// SizeofSigaction is the size of the kernel's struct sigaction.
const SizeofSigaction = 32

// ParseSigaction decodes a kernel struct sigaction.
func ParseSigaction(b []byte) Sigaction {
	return Sigaction{Handler: le.Uint64(b), Flags: le.Uint64(b[8:]), Restorer: le.Uint64(b[16:]), Mask: le.Uint64(b[24:])}
}

// Signal handler values with special meaning (include/uapi/asm-generic/signal-defs.h).
const (
	SIG_DFL = 0
	SIG_IGN = 1
)

// Termios is struct termios as TCGETS fills it (include/uapi/asm-generic/termbits.h); 36 bytes.
type Termios struct {
	Iflag, Oflag, Cflag, Lflag uint32 // c_iflag, c_oflag, c_cflag, c_lflag
	Line                       uint8  // c_line
	Cc                         [19]byte
}

// SizeofTermios is the size of the kernel's struct termios.
const SizeofTermios = 36

// Winsize is struct winsize (TIOCGWINSZ); 8 bytes.
type Winsize struct{ Row, Col, Xpixel, Ypixel uint16 }

// Rlimit is struct rlimit64; 16 bytes.
type Rlimit struct{ Cur, Max uint64 }

// EpollEvent is struct epoll_event, packed on x86-64; 12 bytes.
type EpollEvent struct {
	Events uint32
	Data   uint64
}

// SizeofEpollEvent is the packed size of struct epoll_event on x86-64.
const SizeofEpollEvent = 12
