package syscalls

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The kernel's x86-64 numbers: 0..334 and 424..462 (335..423 are reserved
// to line up with other architectures).
func kernelHas(nr int) bool { return nr >= 0 && nr <= 334 || nr >= 424 && nr <= MaxNr }

func TestTableComplete(t *testing.T) {
	names := map[string]int{}
	for nr := -1; nr <= MaxNr+1; nr++ {
		i := Lookup(nr)
		if kernelHas(nr) != (i != nil) {
			t.Errorf("Lookup(%d) = %v, kernel has it: %v", nr, i, kernelHas(nr))
			continue
		}
		if i == nil {
			continue
		}
		if i.Nr != nr {
			t.Errorf("Lookup(%d).Nr = %d", nr, i.Nr)
		}
		if prev, dup := names[i.Name]; dup {
			t.Errorf("name %q used by %d and %d", i.Name, prev, nr)
		}
		names[i.Name] = nr
		if ByName(i.Name) != i {
			t.Errorf("ByName(%q) is not Lookup(%d)", i.Name, nr)
		}
		if len(i.Args) > 6 {
			t.Errorf("%s has %d args", i.Name, len(i.Args))
		}
	}
	if len(All()) != 335+(MaxNr-424+1) {
		t.Errorf("All() has %d calls", len(All()))
	}
}

// strace names a few calls differently from the kernel's entry points and
// from x/sys/unix's constants.
var straceNames = map[string]string{
	"PREAD64": "pread64", "PWRITE64": "pwrite64", "NEWFSTATAT": "newfstatat", "_SYSCTL": "_sysctl",
	"PRLIMIT64": "prlimit64", "FADVISE64": "fadvise64",
}

func TestTableMatchesUnix(t *testing.T) {
	want := map[int]string{}
	for name, nr := range sysConsts {
		want[nr] = name
	}
	for nr, name := range want {
		if nr > MaxNr {
			continue
		}
		i := Lookup(nr)
		if i == nil {
			t.Errorf("x/sys/unix has SYS_%s = %d, the table does not", name, nr)
			continue
		}
		if n, ok := straceNames[name]; ok {
			name = n
		}
		if strings.ToLower(name) != i.Name {
			t.Errorf("nr %d: unix says %s, table says %s", nr, name, i.Name)
		}
	}
}

// sysConsts are x/sys/unix's SYS_* numbers for the calls checked above
// (every call; unix exports them only as constants, so they are listed).
var sysConsts = map[string]int{
	"READ": unix.SYS_READ, "WRITE": unix.SYS_WRITE, "OPEN": unix.SYS_OPEN, "CLOSE": unix.SYS_CLOSE,
	"STAT": unix.SYS_STAT, "FSTAT": unix.SYS_FSTAT, "LSTAT": unix.SYS_LSTAT, "POLL": unix.SYS_POLL,
	"MMAP": unix.SYS_MMAP, "PREAD64": unix.SYS_PREAD64, "PWRITE64": unix.SYS_PWRITE64,
	"EXECVE": unix.SYS_EXECVE, "EXIT_GROUP": unix.SYS_EXIT_GROUP, "CLONE": unix.SYS_CLONE,
	"NEWFSTATAT": unix.SYS_NEWFSTATAT, "OPENAT": unix.SYS_OPENAT, "OPENAT2": unix.SYS_OPENAT2,
	"STATX": unix.SYS_STATX, "RENAMEAT2": unix.SYS_RENAMEAT2, "CLONE3": unix.SYS_CLONE3,
	"FACCESSAT2": unix.SYS_FACCESSAT2, "IO_URING_SETUP": unix.SYS_IO_URING_SETUP,
	"CONNECT": unix.SYS_CONNECT, "ACCEPT4": unix.SYS_ACCEPT4, "PRLIMIT64": unix.SYS_PRLIMIT64,
	"FADVISE64": unix.SYS_FADVISE64, "_SYSCTL": unix.SYS__SYSCTL, "RSEQ": unix.SYS_RSEQ,
	"PIDFD_OPEN": unix.SYS_PIDFD_OPEN, "CLOSE_RANGE": unix.SYS_CLOSE_RANGE,
	"FUTEX_WAITV": unix.SYS_FUTEX_WAITV, "CACHESTAT": unix.SYS_CACHESTAT, "FCHMODAT2": unix.SYS_FCHMODAT2,
	"MAP_SHADOW_STACK": unix.SYS_MAP_SHADOW_STACK, "FUTEX_WAKE": unix.SYS_FUTEX_WAKE,
	"FUTEX_WAIT": unix.SYS_FUTEX_WAIT, "FUTEX_REQUEUE": unix.SYS_FUTEX_REQUEUE,
	"STATMOUNT": unix.SYS_STATMOUNT, "LISTMOUNT": unix.SYS_LISTMOUNT,
	"LSM_GET_SELF_ATTR": unix.SYS_LSM_GET_SELF_ATTR, "LSM_SET_SELF_ATTR": unix.SYS_LSM_SET_SELF_ATTR,
	"LSM_LIST_MODULES": unix.SYS_LSM_LIST_MODULES, "MSEAL": unix.SYS_MSEAL, "RT_SIGRETURN": unix.SYS_RT_SIGRETURN,
	"RESTART_SYSCALL": unix.SYS_RESTART_SYSCALL, "SET_MEMPOLICY_HOME_NODE": unix.SYS_SET_MEMPOLICY_HOME_NODE,
	"PROCESS_MRELEASE": unix.SYS_PROCESS_MRELEASE, "MEMFD_SECRET": unix.SYS_MEMFD_SECRET,
	"PIDFD_SEND_SIGNAL": unix.SYS_PIDFD_SEND_SIGNAL, "RT_TGSIGQUEUEINFO": unix.SYS_RT_TGSIGQUEUEINFO,
	"IO_PGETEVENTS": unix.SYS_IO_PGETEVENTS, "PKEY_FREE": unix.SYS_PKEY_FREE, "COPY_FILE_RANGE": unix.SYS_COPY_FILE_RANGE,
	"EPOLL_PWAIT2": unix.SYS_EPOLL_PWAIT2, "MOUNT_SETATTR": unix.SYS_MOUNT_SETATTR, "QUOTACTL_FD": unix.SYS_QUOTACTL_FD,
	"LANDLOCK_CREATE_RULESET": unix.SYS_LANDLOCK_CREATE_RULESET, "GETPID": unix.SYS_GETPID,
	"WAIT4": unix.SYS_WAIT4, "KILL": unix.SYS_KILL, "SOCKET": unix.SYS_SOCKET, "VFORK": unix.SYS_VFORK,
	"GETDENTS64": unix.SYS_GETDENTS64, "SET_TID_ADDRESS": unix.SYS_SET_TID_ADDRESS, "TGKILL": unix.SYS_TGKILL,
	"UTIMENSAT": unix.SYS_UTIMENSAT, "PIPE2": unix.SYS_PIPE2, "DUP3": unix.SYS_DUP3, "EXECVEAT": unix.SYS_EXECVEAT,
	"USERFAULTFD": unix.SYS_USERFAULTFD, "MEMBARRIER": unix.SYS_MEMBARRIER, "MLOCK2": unix.SYS_MLOCK2,
	"PKEY_MPROTECT": unix.SYS_PKEY_MPROTECT, "GETRANDOM": unix.SYS_GETRANDOM, "SECCOMP": unix.SYS_SECCOMP,
}

// Spot checks of strace's classes (strace 6.1's -e trace=%CLASS).
func TestClassesSpot(t *testing.T) {
	for name, want := range map[string]Class{
		"read":              ClassDesc,
		"openat":            ClassDesc | ClassFile,
		"open":              ClassDesc | ClassFile,
		"stat":              ClassFile | ClassStat | ClassAnyStat,
		"lstat":             ClassFile | ClassLStat | ClassAnyStat,
		"fstat":             ClassDesc | ClassFStat | ClassAnyStat,
		"newfstatat":        ClassDesc | ClassFile | ClassFStat | ClassAnyStat,
		"statx":             ClassDesc | ClassFile | ClassFStat | ClassAnyStat,
		"statfs":            ClassFile | ClassStatFS | ClassAnyStatFS,
		"ustat":             ClassAnyStatFS,
		"execve":            ClassFile | ClassProcess,
		"execveat":          ClassDesc | ClassFile | ClassProcess,
		"kill":              ClassSignal | ClassProcess,
		"mmap":              ClassDesc | ClassMemory,
		"shmat":             ClassIPC | ClassMemory,
		"connect":           ClassNetwork,
		"sendfile":          ClassDesc | ClassNetwork,
		"getuid":            ClassCreds | ClassPure,
		"getpid":            ClassPure,
		"prctl":             ClassCreds,
		"clock_gettime":     ClassClock,
		"sched_yield":       0,
		"pidfd_send_signal": ClassDesc | ClassSignal | ClassProcess,
		"io_uring_register": ClassDesc | ClassMemory,
		"fchmodat2":         ClassDesc | ClassFile,
		"mseal":             ClassMemory,
		"clone3":            ClassProcess,
	} {
		i := ByName(name)
		if i == nil {
			t.Errorf("no %s", name)
			continue
		}
		if i.Class != want {
			t.Errorf("%s: class %v, want %v", name, i.Class, want)
		}
	}
}

func TestArgKinds(t *testing.T) {
	open := ByName("openat")
	got := []Kind{}
	for _, a := range open.Args {
		got = append(got, a.Kind)
	}
	if want := []Kind{KindDirfd, KindPath, KindOpenFlags, KindOpenMode}; !reflect.DeepEqual(got, want) {
		t.Errorf("openat kinds %v, want %v", got, want)
	}
	if r := ByName("read"); !r.Args[1].Out || r.Args[0].Out {
		t.Errorf("read's buffer should be the only out-argument: %+v", r.Args)
	}
	if ByName("mmap").Ret != RetHex || ByName("exit_group").Ret != RetNone || ByName("socket").Ret != RetFd {
		t.Error("return kinds of mmap, exit_group, socket")
	}
}

// TestTableMatchesStrace runs testdata/call.c's "all" mode (every number
// with zero arguments, each failing with ENOSYS) under strace 6.1, once to
// read the names strace prints and once per class to read its members.
func TestTableMatchesStrace(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short: runs strace 18 times")
	}
	s := newStraceRunner(t)
	run := func(expr string) map[string]bool {
		c := goldenCase{id: "all", call: "none", a: &arena{}, flags: []string{"-e", "trace=" + expr}}
		out := filepath.Join(s.dir, "all.out")
		cmd := exec.Command("strace", append(append([]string{"-o", out}, c.flags...), s.bin, "all")...)
		if b, err := cmd.CombinedOutput(); err != nil && !strings.Contains(err.Error(), "exit status 42") {
			t.Fatalf("strace: %v\n%s", err, b)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		in := expr != "all"
		for _, l := range strings.Split(string(data), "\n") {
			switch {
			case strings.HasPrefix(l, "prctl(PR_SET_SECCOMP"):
				in = true
			case in && strings.Contains(l, "(") && !strings.HasPrefix(l, "exit_group(42)"):
				got[l[:strings.Index(l, "(")]] = true
			}
		}
		return got
	}
	names := run("all")
	for _, i := range All() {
		known := i.Nr <= 450 // strace 6.1 knows calls up to set_mempolicy_home_node
		if known != names[i.Name] {
			t.Errorf("%d %s: strace printed it: %v", i.Nr, i.Name, names[i.Name])
		}
	}
	for name, c := range classNames {
		members := run("%" + name)
		for _, i := range All() {
			if i.Nr > 450 {
				continue // strace 6.1 traces unknown numbers in every class
			}
			if (i.Class&c != 0) != members[i.Name] {
				t.Errorf("%s in %%%s: table %v, strace %v", i.Name, name, i.Class&c != 0, members[i.Name])
			}
		}
	}
}
