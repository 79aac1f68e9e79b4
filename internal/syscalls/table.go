package syscalls

import (
	"fmt"
	"strings"
)

// Class is a bit set of strace's syscall classes, as selected by
// -e trace=%file and friends.
type Class uint32

// The classes, in strace's order.
const (
	ClassFile      Class = 1 << iota // %file: takes a file name
	ClassProcess                     // %process: process lifecycle
	ClassNetwork                     // %network (%net): sockets
	ClassSignal                      // %signal
	ClassIPC                         // %ipc: SysV IPC
	ClassDesc                        // %desc: takes or returns a file descriptor
	ClassMemory                      // %memory: memory mapping
	ClassCreds                       // %creds: user and group ids, capabilities
	ClassClock                       // %clock: read or change clocks
	ClassStat                        // %stat: stat variants taking a path
	ClassLStat                       // %lstat: lstat variants
	ClassFStat                       // %fstat: stat variants taking an fd (and newfstatat, statx)
	ClassAnyStat                     // %%stat: every stat variant
	ClassStatFS                      // %statfs
	ClassFStatFS                     // %fstatfs
	ClassAnyStatFS                   // %%statfs
	ClassPure                        // %pure: never fails, takes no arguments
)

// classNames maps strace's class names (without '%') to classes; a leading
// '%' is part of "%stat" and "%statfs" (written "%%stat" on the command line).
var classNames = map[string]Class{
	"file": ClassFile, "process": ClassProcess, "network": ClassNetwork, "net": ClassNetwork, "signal": ClassSignal,
	"ipc": ClassIPC, "desc": ClassDesc, "memory": ClassMemory, "creds": ClassCreds, "clock": ClassClock,
	"stat": ClassStat, "lstat": ClassLStat, "fstat": ClassFStat, "%stat": ClassAnyStat,
	"statfs": ClassStatFS, "fstatfs": ClassFStatFS, "%statfs": ClassAnyStatFS, "pure": ClassPure,
}

// String renders c as "%file|%desc".
func (c Class) String() string {
	if c == 0 {
		return "0"
	}
	var parts []string
	for _, n := range []string{"file", "process", "network", "signal", "ipc", "desc", "memory", "creds",
		"clock", "stat", "lstat", "fstat", "%stat", "statfs", "fstatfs", "%statfs", "pure"} {
		if c&classNames[n] != 0 {
			parts = append(parts, "%"+n)
		}
	}
	return strings.Join(parts, "|")
}

// RetKind says how a call's return value is printed.
type RetKind uint8

// Return kinds.
const (
	RetInt   RetKind = iota // decimal: "= 5"
	RetFd                   // a new fd: "= 3", "= 3</etc/passwd>" with -y
	RetHex                  // an address: "= 0x7f1c2a000000" (mmap, brk)
	RetNone                 // does not return: "= ?" (exit, exit_group)
	RetOct                  // octal: "= 022" (umask)
	RetFcntl                // depends on the command (fcntl: F_GETFL flags, F_DUPFD an fd)
)

// Arg describes one argument register.
type Arg struct {
	Name string // the man page's name: "pathname"
	Kind Kind   // how it is decoded
	Out  bool   // written by the kernel: decoded at exit
}

// Info describes one system call.
type Info struct {
	Nr    int
	Name  string
	Args  []Arg // one per argument the call takes
	Ret   RetKind
	Class Class
}

type entry struct {
	nr    int
	name  string
	sig   string
	ret   RetKind
	class Class
}

// MaxNr is the largest native x86-64 syscall number the table knows.
const MaxNr = 462

var (
	byNr   [MaxNr + 1]*Info
	byName = map[string]*Info{}
)

func init() {
	for _, e := range table {
		info := &Info{Nr: e.nr, Name: e.name, Ret: e.ret, Class: e.class}
		if e.sig != "" {
			for _, a := range strings.Split(e.sig, ", ") {
				name, kind, ok := strings.Cut(a, " ")
				k, known := kindNames[kind]
				if !ok || !known {
					panic(fmt.Sprintf("syscalls: bad signature %q of %s", a, e.name))
				}
				info.Args = append(info.Args, Arg{Name: name, Kind: k, Out: k.isOut()})
			}
		}
		if byNr[e.nr] != nil || byName[e.name] != nil {
			panic("syscalls: duplicate entry " + e.name)
		}
		byNr[e.nr] = info
		byName[e.name] = info
	}
}

// Lookup returns the x86-64 call numbered nr, or nil if there is none.
func Lookup(nr int) *Info {
	if nr < 0 || nr > MaxNr {
		return nil
	}
	return byNr[nr]
}

// ByName returns the call strace names name ("pread64", "newfstatat"), or nil.
func ByName(name string) *Info { return byName[name] }

// All returns every known call in number order.
func All() []*Info {
	var all []*Info
	for _, i := range byNr {
		if i != nil {
			all = append(all, i)
		}
	}
	return all
}
