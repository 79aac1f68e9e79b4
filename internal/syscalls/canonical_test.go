package syscalls

import (
	"errors"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/carrot-project/carrot/internal/linux"
)

func canon(t *testing.T, a *arena, name string, args ...uint64) Op {
	t.Helper()
	c := &Call{Info: ByName(name)}
	copy(c.Args[:], args)
	op, err := Canonical(c, arenaMem{a})
	if err != nil {
		t.Fatalf("Canonical(%s): %v", name, err)
	}
	return op
}

func TestCanonicalOpen(t *testing.T) {
	cwd := uint64(0xffffffffffffff9c)
	a := &arena{}
	p := a.str("/etc/passwd")
	how := a.u64s(unix.O_RDONLY|unix.O_CLOEXEC, 0, 4)
	cases := []struct {
		name string
		args []uint64
		want Open
	}{
		{"open", []uint64{p, unix.O_RDONLY}, Open{Path: Path{linux.AT_FDCWD, "/etc/passwd", 0}}},
		{"creat", []uint64{p, 0644}, Open{Path: Path{linux.AT_FDCWD, "/etc/passwd", 0}, Flags: unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC, Mode: 0644}},
		{"openat", []uint64{cwd, p, unix.O_WRONLY | unix.O_CREAT, 0600}, Open{Path: Path{linux.AT_FDCWD, "/etc/passwd", 1}, Flags: unix.O_WRONLY | unix.O_CREAT, Mode: 0600}},
		{"openat", []uint64{7, p, 0, 0}, Open{Path: Path{7, "/etc/passwd", 1}}},
		{"openat2", []uint64{cwd, p, how, 24}, Open{Path: Path{linux.AT_FDCWD, "/etc/passwd", 1}, Flags: unix.O_CLOEXEC, Resolve: 4}},
	}
	for _, tc := range cases {
		op := canon(t, a, tc.name, tc.args...)
		o, ok := op.(*Open)
		if !ok {
			t.Fatalf("%s: %T", tc.name, op)
		}
		tc.want.base = o.base
		if !reflect.DeepEqual(*o, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, *o, tc.want)
		}
		if o.Call().Info.Name != tc.name {
			t.Errorf("%s: Call() is %s", tc.name, o.Call().Info.Name)
		}
	}
}

func TestCanonicalFamilies(t *testing.T) {
	cwd := uint64(0xffffffffffffff9c)
	a := &arena{}
	x, y, empty := a.str("x"), a.str("y"), a.str("")
	check := func(got Op, want string) {
		t.Helper()
		var s string
		switch o := got.(type) {
		case *Stat:
			s = "stat " + o.Name + " fd=" + itoa(o.Fd) + " follow=" + btoa(o.Follow) + " statx=" + btoa(o.Statx)
		case *Rename:
			s = "rename " + o.Old.Name + "@" + itoa(o.Old.Reg) + " " + o.New.Name + "@" + itoa(o.New.Reg) + " dirfd=" + itoa(o.New.Dirfd)
		case *Unlink:
			s = "unlink " + o.Name
		case *Rmdir:
			s = "rmdir " + o.Name
		case *Mkdir:
			s = "mkdir " + o.Name + " " + octal(uint64(o.Mode))
		case *Link:
			s = "link " + o.Old.Name + " " + o.New.Name + " follow=" + btoa(o.Follow)
		case *Symlink:
			s = "symlink " + o.Target.Name + " " + o.Link.Name + "@" + itoa(o.Link.Reg)
		case *Readlink:
			s = "readlink " + o.Name
		case *Access:
			s = "access " + o.Name + " " + itoa(int(o.Mode)) + " " + itoa(int(o.Flags))
		case *Chmod:
			s = "chmod " + o.Name + " fd=" + itoa(o.Fd) + " " + octal(uint64(o.Mode)) + " follow=" + btoa(o.Follow)
		case *Chown:
			s = "chown " + o.Name + " fd=" + itoa(o.Fd) + " " + itoa(int(o.UID)) + ":" + itoa(int(o.GID)) + " follow=" + btoa(o.Follow)
		case *Truncate:
			s = "truncate " + o.Name + " fd=" + itoa(o.Fd) + " " + itoa(int(o.Length))
		case *Utimens:
			s = "utimens " + o.Name + " fd=" + itoa(o.Fd) + " " + o.TimesKind + " follow=" + btoa(o.Follow)
		case *Chdir:
			s = "chdir " + o.Name + " fd=" + itoa(o.Fd)
		case *Exec:
			s = "exec " + o.Name + "@" + itoa(o.Reg)
		default:
			s = "?"
		}
		if s != want {
			t.Errorf("got %q, want %q", s, want)
		}
	}
	check(canon(t, a, "stat", x, 0), "stat x fd=-1 follow=true statx=false")
	check(canon(t, a, "lstat", x, 0), "stat x fd=-1 follow=false statx=false")
	check(canon(t, a, "fstat", 5, 0), "stat  fd=5 follow=true statx=false")
	check(canon(t, a, "newfstatat", cwd, x, 0, unix.AT_SYMLINK_NOFOLLOW), "stat x fd=-1 follow=false statx=false")
	check(canon(t, a, "newfstatat", 4, empty, 0, unix.AT_EMPTY_PATH), "stat  fd=4 follow=true statx=false")
	check(canon(t, a, "statx", cwd, x, 0, 0x7ff, 0), "stat x fd=-1 follow=true statx=true")
	check(canon(t, a, "rename", x, y), "rename x@0 y@1 dirfd=-100")
	check(canon(t, a, "renameat2", 3, x, 4, y, 1), "rename x@1 y@3 dirfd=4")
	check(canon(t, a, "unlink", x), "unlink x")
	check(canon(t, a, "unlinkat", cwd, x, 0), "unlink x")
	check(canon(t, a, "unlinkat", cwd, x, unix.AT_REMOVEDIR), "rmdir x")
	check(canon(t, a, "rmdir", y), "rmdir y")
	check(canon(t, a, "mkdir", x, 0755), "mkdir x 0755")
	check(canon(t, a, "mkdirat", cwd, y, 0700), "mkdir y 0700")
	check(canon(t, a, "linkat", cwd, x, cwd, y, unix.AT_SYMLINK_FOLLOW), "link x y follow=true")
	check(canon(t, a, "symlinkat", x, cwd, y), "symlink x y@2")
	check(canon(t, a, "readlinkat", cwd, x, 0, 10), "readlink x")
	check(canon(t, a, "faccessat2", cwd, x, 4, unix.AT_EACCESS), "access x 4 512")
	check(canon(t, a, "fchmod", 3, 0644), "chmod  fd=3 0644 follow=true")
	check(canon(t, a, "fchmodat2", cwd, x, 0600, unix.AT_SYMLINK_NOFOLLOW), "chmod x fd=-1 0600 follow=false")
	check(canon(t, a, "lchown", x, 1000, ^uint64(0)), "chown x fd=-1 1000:-1 follow=false")
	check(canon(t, a, "truncate", x, 100), "truncate x fd=-1 100")
	check(canon(t, a, "ftruncate", 3, 7), "truncate  fd=3 7")
	check(canon(t, a, "utimensat", 3, 0, 0, 0), "utimens  fd=3 timespec[2] follow=true")
	check(canon(t, a, "utimes", x, 0), "utimens x fd=-1 timeval[2] follow=true")
	check(canon(t, a, "chdir", x), "chdir x fd=-1")
	check(canon(t, a, "fchdir", 3), "chdir  fd=3")
	check(canon(t, a, "execve", x, 0, 0), "exec x@0")
	check(canon(t, a, "execveat", 3, y, 0, 0, unix.AT_EMPTY_PATH), "exec y@1")
}

func itoa(i int) string { return strconv.Itoa(i) }

func btoa(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestCanonicalConnect(t *testing.T) {
	a := &arena{}
	in := a.put([]byte{2, 0, 0x1f, 0x90, 10, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0})
	in6 := make([]byte, 28)
	in6[0], in6[2], in6[3], in6[23] = 10, 1, 0xbb, 1
	p6 := a.put(in6)
	un := a.put(append([]byte{1, 0}, "/run/x.sock\x00"...))
	abs := a.put(append([]byte{1, 0, 0}, "abs"...))
	for _, tc := range []struct {
		args []uint64
		want string
	}{
		{[]uint64{3, in, 16}, "10.0.0.7:8080"},
		{[]uint64{3, p6, 28}, "[::1]:443"},
		{[]uint64{3, un, 14}, "/run/x.sock"},
		{[]uint64{3, abs, 6}, "@abs"},
	} {
		c := canon(t, a, "connect", tc.args...).(*Connect)
		got := c.Unix
		if c.Addr.IsValid() {
			got = c.Addr.String()
		}
		if got != tc.want || c.Fd != 3 || c.AddrReg != 1 {
			t.Errorf("connect %v: %q fd %d, want %q", tc.args, got, c.Fd, tc.want)
		}
	}
	if c := canon(t, a, "connect", 3, in, 16).(*Connect); c.Addr != netip.MustParseAddrPort("10.0.0.7:8080") {
		t.Errorf("addr %v", c.Addr)
	}
}

func TestCanonicalErrors(t *testing.T) {
	a := &arena{}
	long := a.put(append([]byte(strings.Repeat("a", 5000)), 0))
	for _, tc := range []struct {
		name string
		args []uint64
		want error
	}{
		{"open", []uint64{0x1000, 0}, unix.EFAULT},
		{"open", []uint64{0, 0}, unix.EFAULT},
		{"rename", []uint64{long, 0x1000}, unix.ENAMETOOLONG},
		{"openat2", []uint64{3, a.str("x"), 0x1000, 24}, unix.EFAULT},
		{"openat2", []uint64{3, a.str("x"), 0x1000, 8}, unix.EINVAL},
		{"connect", []uint64{3, 0x1000, 16}, unix.EFAULT},
		{"connect", []uint64{3, 0x1000, 1}, unix.EINVAL},
		{"read", []uint64{3, 0, 0}, ErrNotCanonical},
	} {
		c := &Call{Info: ByName(tc.name)}
		copy(c.Args[:], tc.args)
		_, err := Canonical(c, arenaMem{a})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s%v: %v, want %v", tc.name, tc.args, err, tc.want)
		}
	}
	if _, err := Canonical(&Call{Nr: 470}, nil); !errors.Is(err, ErrNotCanonical) {
		t.Errorf("unknown nr: %v", err)
	}
}
