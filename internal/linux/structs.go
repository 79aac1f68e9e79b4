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
// that strace 6.1 prints.
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
	RdevMajor  uint32 // stx_rdev_major, 128
	RdevMinor  uint32 // stx_rdev_minor, 132
	DevMajor   uint32 // stx_dev_major, 136
	DevMinor   uint32 // stx_dev_minor, 140
	MntID      uint64 // stx_mnt_id, 144
	DioMem     uint32 // stx_dio_mem_align, 152
	DioOffset  uint32 // stx_dio_offset_align, 156
}

// StatxTimestamp is struct statx_timestamp (16 bytes: tv_sec, tv_nsec, pad).
type StatxTimestamp struct {
	Sec  int64
	Nsec uint32
}

// SizeofStatx is the size of struct statx.
const SizeofStatx = 256

// ParseStatx decodes the leading fields of a struct statx; b must hold at
// least 160 bytes.
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
		RdevMajor: le.Uint32(b[128:]), RdevMinor: le.Uint32(b[132:]),
		DevMajor: le.Uint32(b[136:]), DevMinor: le.Uint32(b[140:]),
		MntID: le.Uint64(b[144:]), DioMem: le.Uint32(b[152:]), DioOffset: le.Uint32(b[156:]),
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

// SizeofCmsghdr is the size of struct cmsghdr: a 64-bit cmsg_len, then
// cmsg_level and cmsg_type, ints.
const SizeofCmsghdr = 16

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

// Timeval is struct timeval (include/uapi/linux/time.h
// __kernel_old_timeval); 16 bytes.
type Timeval struct {
	Sec  int64 // tv_sec
	Usec int64 // tv_usec
}

// SizeofTimeval is the size of struct timeval.
const SizeofTimeval = 16

// ParseTimeval decodes a struct timeval from 16 bytes.
func ParseTimeval(b []byte) Timeval {
	return Timeval{Sec: int64(le.Uint64(b)), Usec: int64(le.Uint64(b[8:]))}
}

// Rusage is struct rusage (include/uapi/linux/resource.h); 144 bytes: two
// timevals and fourteen longs, ru_maxrss to ru_nivcsw in Counts.
type Rusage struct {
	Utime  Timeval // ru_utime
	Stime  Timeval // ru_stime
	Counts [14]int64
}

// SizeofRusage is the size of struct rusage.
const SizeofRusage = 144

// RusageCounts names Rusage.Counts in order.
var RusageCounts = [14]string{"ru_maxrss", "ru_ixrss", "ru_idrss", "ru_isrss", "ru_minflt", "ru_majflt",
	"ru_nswap", "ru_inblock", "ru_oublock", "ru_msgsnd", "ru_msgrcv", "ru_nsignals", "ru_nvcsw", "ru_nivcsw"}

// ParseRusage decodes a struct rusage; b must hold SizeofRusage bytes.
func ParseRusage(b []byte) Rusage {
	r := Rusage{Utime: ParseTimeval(b), Stime: ParseTimeval(b[16:])}
	for i := range r.Counts {
		r.Counts[i] = int64(le.Uint64(b[32+8*i:]))
	}
	return r
}

// Statfs is struct statfs as the x86-64 kernel writes it for statfs and
// fstatfs (include/uapi/asm-generic/statfs.h, __statfs_word is a long);
// 120 bytes.
type Statfs struct {
	Type    uint64    // f_type
	Bsize   uint64    // f_bsize
	Blocks  uint64    // f_blocks
	Bfree   uint64    // f_bfree
	Bavail  uint64    // f_bavail
	Files   uint64    // f_files
	Ffree   uint64    // f_ffree
	Fsid    [2]uint32 // f_fsid.val, offset 56
	Namelen uint64    // f_namelen, 64
	Frsize  uint64    // f_frsize, 72
	Flags   uint64    // f_flags, 80 (then f_spare[4])
}

// SizeofStatfs is the size of the x86-64 struct statfs.
const SizeofStatfs = 120

// ParseStatfs decodes a struct statfs; b must hold SizeofStatfs bytes.
func ParseStatfs(b []byte) Statfs {
	return Statfs{
		Type: le.Uint64(b), Bsize: le.Uint64(b[8:]), Blocks: le.Uint64(b[16:]), Bfree: le.Uint64(b[24:]),
		Bavail: le.Uint64(b[32:]), Files: le.Uint64(b[40:]), Ffree: le.Uint64(b[48:]),
		Fsid:    [2]uint32{le.Uint32(b[56:]), le.Uint32(b[60:])},
		Namelen: le.Uint64(b[64:]), Frsize: le.Uint64(b[72:]), Flags: le.Uint64(b[80:]),
	}
}

// Flock is struct flock (include/uapi/asm-generic/fcntl.h; on x86-64 it
// is struct flock64 too); 32 bytes.
type Flock struct {
	Type   int16 // l_type
	Whence int16 // l_whence
	Start  int64 // l_start, offset 8
	Len    int64 // l_len
	Pid    int32 // l_pid
}

// SizeofFlock is the size of struct flock.
const SizeofFlock = 32

// ParseFlock decodes a struct flock.
func ParseFlock(b []byte) Flock {
	return Flock{
		Type: int16(le.Uint16(b)), Whence: int16(le.Uint16(b[2:])),
		Start: int64(le.Uint64(b[8:])), Len: int64(le.Uint64(b[16:])), Pid: int32(le.Uint32(b[24:])),
	}
}

// CloneArgs is struct clone_args (include/uapi/linux/sched.h); 88 bytes
// (CLONE_ARGS_SIZE_VER2), of which clone3 needs the first 64
// (CLONE_ARGS_SIZE_VER0, up to tls).
type CloneArgs struct {
	Flags      uint64 // flags
	Pidfd      uint64 // pidfd
	ChildTid   uint64 // child_tid
	ParentTid  uint64 // parent_tid
	ExitSignal uint64 // exit_signal
	Stack      uint64 // stack
	StackSize  uint64 // stack_size
	TLS        uint64 // tls
	SetTid     uint64 // set_tid
	SetTidSize uint64 // set_tid_size
	Cgroup     uint64 // cgroup
}

// Sizes of struct clone_args: the oldest the kernel accepts, and the
// newest known.
const (
	SizeofCloneArgsVer0 = 64
	SizeofCloneArgs     = 88
)

// ParseCloneArgs decodes a struct clone_args from up to SizeofCloneArgs
// bytes; fields b does not reach are zero.
func ParseCloneArgs(b []byte) CloneArgs {
	var f [11]uint64
	for i := range f {
		if len(b) >= 8*i+8 {
			f[i] = le.Uint64(b[8*i:])
		}
	}
	return CloneArgs{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10]}
}

// Sysinfo is struct sysinfo (include/uapi/linux/sysinfo.h) on x86-64;
// 112 bytes.
type Sysinfo struct {
	Uptime    int64     // uptime
	Loads     [3]uint64 // loads, offset 8
	Totalram  uint64    // totalram, 32
	Freeram   uint64    // freeram
	Sharedram uint64    // sharedram
	Bufferram uint64    // bufferram
	Totalswap uint64    // totalswap
	Freeswap  uint64    // freeswap
	Procs     uint16    // procs, 80
	Totalhigh uint64    // totalhigh, 88
	Freehigh  uint64    // freehigh
	MemUnit   uint32    // mem_unit, 104
}

// SizeofSysinfo is the size of struct sysinfo.
const SizeofSysinfo = 112

// ParseSysinfo decodes a struct sysinfo.
func ParseSysinfo(b []byte) Sysinfo {
	return Sysinfo{
		Uptime: int64(le.Uint64(b)), Loads: [3]uint64{le.Uint64(b[8:]), le.Uint64(b[16:]), le.Uint64(b[24:])},
		Totalram: le.Uint64(b[32:]), Freeram: le.Uint64(b[40:]), Sharedram: le.Uint64(b[48:]),
		Bufferram: le.Uint64(b[56:]), Totalswap: le.Uint64(b[64:]), Freeswap: le.Uint64(b[72:]),
		Procs: le.Uint16(b[80:]), Totalhigh: le.Uint64(b[88:]), Freehigh: le.Uint64(b[96:]), MemUnit: le.Uint32(b[104:]),
	}
}

// Sigevent is struct sigevent (include/uapi/asm-generic/siginfo.h) on
// x86-64; 64 bytes. The union after sigev_notify holds a thread id
// (SIGEV_THREAD_ID) or a function and its attributes (SIGEV_THREAD).
type Sigevent struct {
	Value    uint64 // sigev_value (sival_int is its low 32 bits)
	Signo    int32  // sigev_signo, offset 8
	Notify   int32  // sigev_notify, 12
	Function uint64 // sigev_notify_function, 16 (also _tid as an int)
	Attr     uint64 // sigev_notify_attributes, 24
}

// SizeofSigevent is the size of struct sigevent.
const SizeofSigevent = 64

// ParseSigevent decodes a struct sigevent.
func ParseSigevent(b []byte) Sigevent {
	return Sigevent{
		Value: le.Uint64(b), Signo: int32(le.Uint32(b[8:])), Notify: int32(le.Uint32(b[12:])),
		Function: le.Uint64(b[16:]), Attr: le.Uint64(b[24:]),
	}
}
