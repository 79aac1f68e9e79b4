package syscalls

import (
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/carrot-project/carrot/internal/linux"
)

// Canonical call forms, after Bypass's "knowledge" of system calls: every
// variant of a call (open, openat, openat2, creat) becomes one Op, so a
// mode writes one handler per operation. Each path records the register
// that holds its pointer, so a mode can point it at a rewritten path.

// Op is a canonical operation: one of *Open, *Stat, *Rename, *Unlink,
// *Mkdir, *Link, *Symlink, *Readlink, *Access, *Chmod, *Chown, *Truncate,
// *Utimens, *Chdir, *Exec, *Connect.
type Op interface{ Call() *Call }

// Path is a path argument: resolved relative to Dirfd (linux.AT_FDCWD for
// the calls without a dirfd), its pointer in argument register Reg.
type Path struct {
	Dirfd int
	Name  string
	Reg   int
}

// NoFd is the Fd of an operation that names its file by path.
const NoFd = -1

type base struct{ c *Call }

// Call returns the call the operation was made from.
func (b base) Call() *Call { return b.c }

// Open is open, openat, openat2 and creat (creat is O_CREAT|O_WRONLY|O_TRUNC).
type Open struct {
	base
	Path
	Flags   uint64 // O_* flags
	Mode    uint32 // meaningful with O_CREAT or O_TMPFILE
	Resolve uint64 // openat2's RESOLVE_* flags
}

// Stat is stat, lstat, fstat, newfstatat and statx. A call on an open
// file (fstat, or AT_EMPTY_PATH with an empty path) has Fd >= 0.
type Stat struct {
	base
	Path
	Fd     int
	Follow bool // follow a final symlink (not lstat, not AT_SYMLINK_NOFOLLOW)
	Statx  bool // the result is a struct statx, not a struct stat
	Buf    uint64
}

// Rename is rename, renameat and renameat2.
type Rename struct {
	base
	Old, New Path
	Flags    uint32 // RENAME_*
}

// Unlink is unlink and unlinkat without AT_REMOVEDIR.
type Unlink struct {
	base
	Path
}

// Rmdir is rmdir and unlinkat with AT_REMOVEDIR.
type Rmdir struct {
	base
	Path
}

// Mkdir is mkdir and mkdirat.
type Mkdir struct {
	base
	Path
	Mode uint32
}

// Link is link and linkat.
type Link struct {
	base
	Old, New Path
	Follow   bool // AT_SYMLINK_FOLLOW
}

// Symlink is symlink and symlinkat: Target is stored as is (its Dirfd is
// meaningless), Link is created.
type Symlink struct {
	base
	Target, Link Path
}

// Readlink is readlink and readlinkat.
type Readlink struct {
	base
	Path
	Buf  uint64
	Size uint64
}

// Access is access, faccessat and faccessat2.
type Access struct {
	base
	Path
	Mode  uint32 // F_OK or R_OK|W_OK|X_OK
	Flags uint32 // AT_EACCESS, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH
}

// Chmod is chmod, fchmod, fchmodat and fchmodat2.
type Chmod struct {
	base
	Path
	Fd     int
	Mode   uint32
	Follow bool
}

// Chown is chown, lchown, fchown and fchownat; -1 leaves an id unchanged.
type Chown struct {
	base
	Path
	Fd       int
	UID, GID int32
	Follow   bool
}

// Truncate is truncate and ftruncate.
type Truncate struct {
	base
	Path
	Fd     int
	Length int64
}

// Utimens is utime, utimes, futimesat and utimensat (Times points at the
// call's own structure; TimesKind says which).
type Utimens struct {
	base
	Path
	Fd        int
	Times     uint64
	TimesKind string // "utimbuf", "timeval[2]" or "timespec[2]"
	Follow    bool
}

// Chdir is chdir and fchdir.
type Chdir struct {
	base
	Path
	Fd int
}

// Exec is execve and execveat.
type Exec struct {
	base
	Path
	Argv, Envp uint64
	Flags      uint32 // AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW
}

// Connect is connect. Addr is set for AF_INET and AF_INET6, Unix for AF_UNIX.
type Connect struct {
	base
	Fd      int
	Family  uint16
	Addr    netip.AddrPort
	Unix    string
	AddrReg int // the register holding the sockaddr pointer
	AddrLen int // the length register's value
}

// ErrNotCanonical is returned for calls that have no canonical form.
var ErrNotCanonical = errors.New("no canonical form")

// Canonical reads c's path and address arguments through m and returns its
// canonical form. A path or address that cannot be read gives an error
// wrapping unix.EFAULT (a path longer than PATH_MAX, unix.ENAMETOOLONG),
// which is what the kernel would have returned.
func Canonical(c *Call, m Memory) (Op, error) {
	info := c.Info
	if info == nil {
		info = Lookup(c.Nr)
	}
	if info == nil {
		return nil, ErrNotCanonical
	}
	r := &reader{c: c, m: m, name: info.Name}
	a := c.Args
	b := base{c}
	i32 := func(k int) int { return int(int32(a[k])) }
	at := func(k int) int { return i32(k) }
	cwd := linux.AT_FDCWD
	var op Op
	switch info.Name {
	case "open":
		op = &Open{base: b, Path: r.path(cwd, 0), Flags: a[1] & 0xffffffff, Mode: uint32(a[2])}
	case "creat":
		op = &Open{base: b, Path: r.path(cwd, 0), Flags: unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC, Mode: uint32(a[1])}
	case "openat":
		op = &Open{base: b, Path: r.path(at(0), 1), Flags: a[2] & 0xffffffff, Mode: uint32(a[3])}
	case "openat2":
		o := &Open{base: b, Path: r.path(at(0), 1)}
		if a[3] < 24 {
			return nil, fmt.Errorf("openat2: open_how size %d: %w", a[3], unix.EINVAL)
		}
		how := r.bytes(a[2], 24)
		if how != nil {
			o.Flags, o.Mode, o.Resolve = le64(how), uint32(le64(how[8:])), le64(how[16:])
		}
		op = o
	case "stat", "lstat":
		op = &Stat{base: b, Path: r.path(cwd, 0), Fd: NoFd, Follow: info.Name == "stat", Buf: a[1]}
	case "fstat":
		op = &Stat{base: b, Path: Path{Dirfd: cwd, Reg: -1}, Fd: i32(0), Follow: true, Buf: a[1]}
	case "newfstatat", "statx":
		flags, buf := uint32(a[3]), a[2]
		if info.Name == "statx" {
			flags, buf = uint32(a[2]), a[4]
		}
		s := &Stat{base: b, Path: r.path(at(0), 1), Fd: NoFd, Follow: flags&unix.AT_SYMLINK_NOFOLLOW == 0,
			Statx: info.Name == "statx", Buf: buf}
		if flags&unix.AT_EMPTY_PATH != 0 && s.Name == "" && r.err == nil {
			s.Fd = at(0)
		}
		op = s
	case "rename":
		op = &Rename{base: b, Old: r.path(cwd, 0), New: r.path(cwd, 1)}
	case "renameat", "renameat2":
		rn := &Rename{base: b, Old: r.path(at(0), 1), New: r.path(at(2), 3)}
		if info.Name == "renameat2" {
			rn.Flags = uint32(a[4])
		}
		op = rn
	case "unlink":
		op = &Unlink{base: b, Path: r.path(cwd, 0)}
	case "rmdir":
		op = &Rmdir{base: b, Path: r.path(cwd, 0)}
	case "unlinkat":
		if a[2]&unix.AT_REMOVEDIR != 0 {
			op = &Rmdir{base: b, Path: r.path(at(0), 1)}
		} else {
			op = &Unlink{base: b, Path: r.path(at(0), 1)}
		}
	case "mkdir":
		op = &Mkdir{base: b, Path: r.path(cwd, 0), Mode: uint32(a[1])}
	case "mkdirat":
		op = &Mkdir{base: b, Path: r.path(at(0), 1), Mode: uint32(a[2])}
	case "link":
		op = &Link{base: b, Old: r.path(cwd, 0), New: r.path(cwd, 1)}
	case "linkat":
		op = &Link{base: b, Old: r.path(at(0), 1), New: r.path(at(2), 3), Follow: a[4]&unix.AT_SYMLINK_FOLLOW != 0}
	case "symlink":
		op = &Symlink{base: b, Target: r.path(cwd, 0), Link: r.path(cwd, 1)}
	case "symlinkat":
		op = &Symlink{base: b, Target: r.path(cwd, 0), Link: r.path(at(1), 2)}
	case "readlink":
		op = &Readlink{base: b, Path: r.path(cwd, 0), Buf: a[1], Size: a[2]}
	case "readlinkat":
		op = &Readlink{base: b, Path: r.path(at(0), 1), Buf: a[2], Size: a[3]}
	case "access":
		op = &Access{base: b, Path: r.path(cwd, 0), Mode: uint32(a[1])}
	case "faccessat":
		op = &Access{base: b, Path: r.path(at(0), 1), Mode: uint32(a[2])}
	case "faccessat2":
		op = &Access{base: b, Path: r.path(at(0), 1), Mode: uint32(a[2]), Flags: uint32(a[3])}
	case "chmod":
		op = &Chmod{base: b, Path: r.path(cwd, 0), Fd: NoFd, Mode: uint32(a[1]), Follow: true}
	case "fchmod":
		op = &Chmod{base: b, Path: Path{Dirfd: cwd, Reg: -1}, Fd: i32(0), Mode: uint32(a[1]), Follow: true}
	case "fchmodat":
		op = &Chmod{base: b, Path: r.path(at(0), 1), Fd: NoFd, Mode: uint32(a[2]), Follow: true}
	case "fchmodat2":
		op = &Chmod{base: b, Path: r.path(at(0), 1), Fd: NoFd, Mode: uint32(a[2]), Follow: a[3]&unix.AT_SYMLINK_NOFOLLOW == 0}
	case "chown", "lchown":
		op = &Chown{base: b, Path: r.path(cwd, 0), Fd: NoFd, UID: int32(a[1]), GID: int32(a[2]), Follow: info.Name == "chown"}
	case "fchown":
		op = &Chown{base: b, Path: Path{Dirfd: cwd, Reg: -1}, Fd: i32(0), UID: int32(a[1]), GID: int32(a[2]), Follow: true}
	case "fchownat":
		ch := &Chown{base: b, Path: r.path(at(0), 1), Fd: NoFd, UID: int32(a[2]), GID: int32(a[3]),
			Follow: a[4]&unix.AT_SYMLINK_NOFOLLOW == 0}
		if a[4]&unix.AT_EMPTY_PATH != 0 && ch.Name == "" && r.err == nil {
			ch.Fd = at(0)
		}
		op = ch
	case "truncate":
		op = &Truncate{base: b, Path: r.path(cwd, 0), Fd: NoFd, Length: int64(a[1])}
	case "ftruncate":
		op = &Truncate{base: b, Path: Path{Dirfd: cwd, Reg: -1}, Fd: i32(0), Length: int64(a[1])}
	case "utime":
		op = &Utimens{base: b, Path: r.path(cwd, 0), Fd: NoFd, Times: a[1], TimesKind: "utimbuf", Follow: true}
	case "utimes":
		op = &Utimens{base: b, Path: r.path(cwd, 0), Fd: NoFd, Times: a[1], TimesKind: "timeval[2]", Follow: true}
	case "futimesat":
		op = &Utimens{base: b, Path: r.path(at(0), 1), Fd: NoFd, Times: a[2], TimesKind: "timeval[2]", Follow: true}
	case "utimensat":
		u := &Utimens{base: b, Fd: NoFd, Times: a[2], TimesKind: "timespec[2]", Follow: a[3]&unix.AT_SYMLINK_NOFOLLOW == 0}
		if a[1] == 0 { // futimens: utimensat(fd, NULL, times, 0)
			u.Path, u.Fd = Path{Dirfd: at(0), Reg: 1}, at(0)
		} else {
			u.Path = r.path(at(0), 1)
		}
		op = u
	case "chdir":
		op = &Chdir{base: b, Path: r.path(cwd, 0), Fd: NoFd}
	case "fchdir":
		op = &Chdir{base: b, Path: Path{Dirfd: cwd, Reg: -1}, Fd: i32(0)}
	case "execve":
		op = &Exec{base: b, Path: r.path(cwd, 0), Argv: a[1], Envp: a[2]}
	case "execveat":
		op = &Exec{base: b, Path: r.path(at(0), 1), Argv: a[2], Envp: a[3], Flags: uint32(a[4])}
	case "connect":
		cn := &Connect{base: b, Fd: i32(0), AddrReg: 1, AddrLen: int(int32(a[2]))}
		if err := r.sockaddr(cn, a[1], a[2]); err != nil {
			return nil, err
		}
		op = cn
	default:
		return nil, ErrNotCanonical
	}
	if r.err != nil {
		return nil, r.err
	}
	return op, nil
}

// reader reads arguments, keeping the first error.
type reader struct {
	c    *Call
	m    Memory
	name string
	err  error
}

func (r *reader) path(dirfd, reg int) Path {
	p := Path{Dirfd: dirfd, Reg: reg}
	if r.err != nil {
		return p
	}
	d := &Decoded{mem: r.m}
	s, term, err := d.readCString(r.c.Args[reg], pathMax-1)
	switch {
	case err != nil:
		r.err = fmt.Errorf("%s: path in argument %d at %#x: %w", r.name, reg, r.c.Args[reg], unix.EFAULT)
	case !term:
		r.err = fmt.Errorf("%s: path in argument %d: %w", r.name, reg, unix.ENAMETOOLONG)
	}
	p.Name = string(s)
	return p
}

func (r *reader) bytes(addr uint64, n int) []byte {
	if r.err != nil {
		return nil
	}
	b, err := (&Decoded{mem: r.m}).read(addr, n)
	if err != nil {
		r.err = fmt.Errorf("%s: %d bytes at %#x: %w", r.name, n, addr, unix.EFAULT)
	}
	return b
}

func (r *reader) sockaddr(cn *Connect, addr, n uint64) error {
	if int32(n) < 2 || n > linux.SizeofSockaddr {
		return fmt.Errorf("connect: address length %d: %w", int32(n), unix.EINVAL)
	}
	b := r.bytes(addr, int(n))
	if b == nil {
		return r.err
	}
	cn.Family = uint16(b[0]) | uint16(b[1])<<8
	switch cn.Family {
	case unix.AF_INET:
		if len(b) < linux.SizeofSockaddrIn {
			return fmt.Errorf("connect: AF_INET address length %d: %w", n, unix.EINVAL)
		}
		cn.Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), uint16(b[2])<<8|uint16(b[3]))
	case unix.AF_INET6:
		if len(b) < 24 {
			return fmt.Errorf("connect: AF_INET6 address length %d: %w", n, unix.EINVAL)
		}
		ip := netip.AddrFrom16([16]byte(b[8:24]))
		if len(b) >= linux.SizeofSockaddrIn6 {
			if scope := le32(b[24:]); scope != 0 {
				ip = ip.WithZone(fmt.Sprint(scope))
			}
		}
		cn.Addr = netip.AddrPortFrom(ip, uint16(b[2])<<8|uint16(b[3]))
	case unix.AF_UNIX:
		p := b[2:]
		if len(p) > 0 && p[0] == 0 {
			cn.Unix = "@" + string(p[1:]) // abstract: the length delimits the name
		} else {
			cn.Unix = string(trimNul(p))
		}
	}
	return nil
}
