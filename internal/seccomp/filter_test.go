package seccomp

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// data builds a struct seccomp_data for x/net/bpf's interpreter, which
// loads words big-endian where the kernel loads them in host order: each
// 32-bit field is written big-endian so the program sees the same values.
func data(arch uint32, nr uint32, args ...uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[offNr:], nr)
	binary.BigEndian.PutUint32(b[offArch:], arch)
	for i, a := range args {
		// low word first, as the kernel lays out a 64-bit argument on a
		// little-endian machine; each word big-endian for the interpreter
		binary.BigEndian.PutUint32(b[offArgs+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[offArgs+8*i+4:], uint32(a>>32))
	}
	return b
}

func run(t *testing.T, f *Filter, arch, nr uint32, args ...uint64) Action {
	t.Helper()
	raw, err := f.Compile()
	if err != nil {
		t.Fatal(err)
	}
	insns, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("program does not disassemble")
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatalf("interpreter refuses program: %v", err)
	}
	out, err := vm.Run(data(arch, nr, args...))
	if err != nil {
		t.Fatal(err)
	}
	return Action(out)
}

// want is the action f gives nr, computed directly from the Filter's maps:
// the reference the compiled program must agree with.
func want(f *Filter, nr uint32, arg0 uint64) Action {
	if f.X32Bit != 0 && nr >= f.X32Bit {
		return orAllow(f.Foreign)
	}
	a, ok := f.Calls[int(nr)]
	if !ok {
		a = f.Default
	}
	for _, r := range f.Rules {
		if uint32(r.Nr) == nr && r.Arg == 0 && matches(r, arg0) {
			return r.IfSet
		}
	}
	return orAllow(a)
}

func matches(r ArgRule, arg uint64) bool {
	if r.Values == nil {
		return arg&r.Mask != 0
	}
	for _, v := range r.Values {
		if uint32(arg)&uint32(r.Mask) == v {
			return true
		}
	}
	return false
}

func TestCompileSmallSet(t *testing.T) {
	f := &Filter{Arch: AuditArchX86_64, X32Bit: X32SyscallBit, Foreign: Errno(uint16(unix.ENOSYS)),
		Calls: map[int]Action{unix.SYS_OPENAT: Trace(1), unix.SYS_CLOSE: Trace(0), unix.SYS_IO_URING_SETUP: Errno(uint16(unix.ENOSYS))}}
	cases := []struct {
		arch, nr uint32
		want     Action
	}{
		{AuditArchX86_64, unix.SYS_OPENAT, Trace(1)},
		{AuditArchX86_64, unix.SYS_CLOSE, Trace(0)},
		{AuditArchX86_64, unix.SYS_GETPID, Allow},
		{AuditArchX86_64, 0, Allow},
		{AuditArchX86_64, unix.SYS_IO_URING_SETUP, Errno(uint16(unix.ENOSYS))},
		{AuditArchX86_64, X32SyscallBit | unix.SYS_OPENAT, Errno(uint16(unix.ENOSYS))},
		{AuditArchX86_64, 1<<32 - 1, Errno(uint16(unix.ENOSYS))},
		{0x40000003 /* AUDIT_ARCH_I386 */, 5, Errno(uint16(unix.ENOSYS))},
	}
	for _, c := range cases {
		if got := run(t, f, c.arch, c.nr); got != c.want {
			t.Errorf("arch %#x nr %d: got %v, want %v", c.arch, c.nr, got, c.want)
		}
	}
}

func TestCompileArgRule(t *testing.T) {
	const cloneUntraced = 0x00800000
	f := &Filter{Arch: AuditArchX86_64, Calls: map[int]Action{unix.SYS_READ: Trace(0)},
		Rules: []ArgRule{{Nr: unix.SYS_CLONE, Arg: 0, Mask: cloneUntraced, IfSet: Trace(7)}}}
	if got := run(t, f, AuditArchX86_64, unix.SYS_CLONE, cloneUntraced|uint64(unix.SIGCHLD)); got != Trace(7) {
		t.Errorf("clone(CLONE_UNTRACED): got %v", got)
	}
	if got := run(t, f, AuditArchX86_64, unix.SYS_CLONE, uint64(unix.SIGCHLD)); got != Allow {
		t.Errorf("clone(SIGCHLD): got %v", got)
	}
	if got := run(t, f, AuditArchX86_64, unix.SYS_READ); got != Trace(0) {
		t.Errorf("read: got %v", got)
	}
}

// TestCompileAgreesWithReference checks random filters, including dense
// ones as large as "trace everything but a few", number by number.
func TestCompileAgreesWithReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	acts := []Action{Allow, Trace(0), Trace(1), Errno(1), Errno(38)}
	for iter := range 40 {
		f := &Filter{Arch: AuditArchX86_64, X32Bit: X32SyscallBit, Foreign: Errno(38),
			Default: acts[rng.IntN(len(acts))], Calls: map[int]Action{}}
		n := rng.IntN(470)
		for range n {
			f.Calls[rng.IntN(470)] = acts[rng.IntN(len(acts))]
		}
		switch iter % 4 {
		case 0:
			f.Rules = []ArgRule{{Nr: rng.IntN(470), Mask: 0x800000, IfSet: Trace(9)}}
		case 1:
			f.Rules = []ArgRule{{Nr: rng.IntN(470), Mask: ^uint64(0), IfSet: Trace(9)}}
		case 2:
			nr := rng.IntN(470)
			f.Rules = []ArgRule{
				{Nr: nr, Mask: 0xff, Values: []uint32{0x11}, IfSet: Errno(1)},
				{Nr: nr, Mask: 0xffffffff, Values: []uint32{0, 0x800011}, IfSet: Trace(9)},
			}
		}
		raw, err := f.Compile()
		if err != nil {
			t.Fatal(err)
		}
		insns, _ := bpf.Disassemble(raw)
		vm, err := bpf.NewVM(insns)
		if err != nil {
			t.Fatal(err)
		}
		for nr := uint32(0); nr < 520; nr++ {
			for _, arg := range []uint64{0, 0x800011, 1 << 32, 0x7ffd00000000} {
				out, _ := vm.Run(data(AuditArchX86_64, nr, arg))
				if Action(out) != want(f, nr, arg) {
					t.Fatalf("iter %d nr %d arg %#x: got %v want %v", iter, nr, arg, Action(out), want(f, nr, arg))
				}
			}
		}
	}
}

func TestCompileIsShort(t *testing.T) {
	// "Trace every file call": the cost an untraced call pays is the
	// path from the root to a leaf.
	f := &Filter{Arch: AuditArchX86_64, X32Bit: X32SyscallBit, Calls: map[int]Action{}}
	for nr := 0; nr < 460; nr += 4 {
		f.Calls[nr] = Trace(1)
	}
	raw, err := f.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 2000 {
		t.Errorf("program has %d instructions", len(raw))
	}
	depth := 0
	for n := len(f.spans()); n > 1; n = (n + 1) / 2 {
		depth++
	}
	if depth > 9 {
		t.Errorf("search depth %d", depth)
	}
}

// Value rules compare the low word, masked, in order; the first match
// decides, and a high word the kernel ignores for an int changes nothing.
func TestArgRuleValues(t *testing.T) {
	const sockPacket = 10
	f := &Filter{Arch: AuditArchX86_64, Calls: map[int]Action{unix.SYS_SOCKET: Trace(2)},
		Rules: []ArgRule{
			{Nr: unix.SYS_SOCKET, Arg: 1, Mask: 0xf, Values: []uint32{sockPacket}, IfSet: Trace(3)},
			{Nr: unix.SYS_SOCKET, Arg: 0, Mask: 0xffffffff, Values: []uint32{unix.AF_UNIX, unix.AF_INET, unix.AF_INET6}, IfSet: Allow},
		}}
	for _, c := range []struct {
		domain, typ uint64
		want        Action
	}{
		{unix.AF_INET, unix.SOCK_STREAM, Allow},
		{unix.AF_INET6, unix.SOCK_DGRAM | unix.SOCK_CLOEXEC, Allow},
		{unix.AF_UNIX, unix.SOCK_STREAM, Allow},
		{1<<32 | unix.AF_INET, unix.SOCK_STREAM, Allow}, // the kernel reads AF_INET
		{unix.AF_INET, sockPacket, Trace(3)},
		{unix.AF_INET, sockPacket | unix.SOCK_NONBLOCK, Trace(3)},
		{unix.AF_INET, 1<<32 | sockPacket, Trace(3)},
		{unix.AF_PACKET, unix.SOCK_RAW, Trace(2)},
		{1<<32 | unix.AF_PACKET, unix.SOCK_RAW, Trace(2)},
		{44 /* AF_XDP */, unix.SOCK_RAW, Trace(2)},
		{1 << 32, unix.SOCK_STREAM, Trace(2)}, // AF_UNSPEC
	} {
		if got := run(t, f, AuditArchX86_64, unix.SYS_SOCKET, c.domain, c.typ); got != c.want {
			t.Errorf("socket(%#x, %#x): %v, want %v", c.domain, c.typ, got, c.want)
		}
	}
}

// And joins two arguments' tests: setsockopt of an option name at one
// level only. The second rule for the same call is tested when the first's
// And fails.
func TestArgRuleAnd(t *testing.T) {
	f := &Filter{Arch: AuditArchX86_64, Rules: []ArgRule{
		{Nr: unix.SYS_SETSOCKOPT, Arg: 2, Mask: 0xffffffff, Values: []uint32{4}, IfSet: Trace(1),
			And: &ArgRule{Arg: 1, Mask: 0xffffffff, Values: []uint32{unix.SOL_IP}}},
		{Nr: unix.SYS_SETSOCKOPT, Arg: 2, Mask: 0xffffffff, Values: []uint32{5, 6, 57}, IfSet: Trace(2),
			And: &ArgRule{Arg: 1, Mask: 0xffffffff, Values: []uint32{unix.SOL_IPV6}}},
		{Nr: unix.SYS_SETSOCKOPT, Arg: 4, Mask: 1 << 40, IfSet: Trace(3),
			And: &ArgRule{Arg: 1, Mask: 0xffffffff, Values: []uint32{unix.SOL_TCP}}},
	}}
	for _, c := range []struct {
		level, name, optlen uint64
		want                Action
	}{
		{unix.SOL_IP, 4, 0, Trace(1)},
		{unix.SOL_TCP, 4, 0, Allow}, // TCP_KEEPIDLE
		{unix.SOL_IPV6, 4, 0, Allow},
		{unix.SOL_IPV6, 57, 0, Trace(2)},
		{unix.SOL_IPV6, 6, 0, Trace(2)},
		{unix.SOL_IP, 57, 0, Allow},
		{1<<32 | unix.SOL_IP, 4, 0, Trace(1)},
		{unix.SOL_TCP, 1, 1 << 40, Trace(3)},
		{unix.SOL_IP, 1, 1 << 40, Allow},
	} {
		if got := run(t, f, AuditArchX86_64, unix.SYS_SETSOCKOPT, 3, c.level, c.name, 0, c.optlen); got != c.want {
			t.Errorf("setsockopt(level %#x, name %d, arg4 %#x): %v, want %v", c.level, c.name, c.optlen, got, c.want)
		}
	}
}

// A pointer on a 4 GiB boundary has a zero low word: a "not NULL" rule
// must still see it.
func TestArgRuleWholeWord(t *testing.T) {
	f := &Filter{Arch: AuditArchX86_64, Rules: []ArgRule{{Nr: unix.SYS_SENDTO, Arg: 4, Mask: ^uint64(0), IfSet: Trace(1)}}}
	for _, c := range []struct {
		addr uint64
		want Action
	}{{0, Allow}, {0x7ffd00000000, Trace(1)}, {0x1000, Trace(1)}} {
		args := []uint64{3, 0, 0, 0, c.addr}
		if got := run(t, f, AuditArchX86_64, unix.SYS_SENDTO, args...); got != c.want {
			t.Errorf("sendto(addr=%#x): %v, want %v", c.addr, got, c.want)
		}
	}
}

func TestMissingArch(t *testing.T) {
	if _, err := (&Filter{}).Compile(); err == nil {
		t.Fatal("compiled a filter without an architecture")
	}
}

// The child half of TestInstallForReal: it installs a filter that fails
// getppid with EPERM and reports what getppid returned.
func init() {
	if os.Getenv("CARROT_SECCOMP_TEST_CHILD") != "1" {
		return
	}
	runtime.LockOSThread()
	f := &Filter{Arch: AuditArchX86_64, X32Bit: X32SyscallBit, Calls: map[int]Action{unix.SYS_GETPPID: Errno(uint16(unix.EPERM))}}
	raw, err := f.Compile()
	if err == nil {
		err = Install(raw)
	}
	if err != nil {
		os.Stdout.WriteString("install: " + err.Error())
		os.Exit(1)
	}
	_, _, e := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	_, _, e2 := unix.RawSyscall(unix.SYS_GETPID, 0, 0, 0)
	os.Stdout.WriteString(e.Error() + "|" + e2.Error())
	os.Exit(0)
}

func TestInstallForReal(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CARROT_SECCOMP_TEST_CHILD=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	if got, want := string(out), unix.EPERM.Error()+"|"+unix.Errno(0).Error(); got != want {
		t.Fatalf("child saw %q, want %q", got, want)
	}
}

// TestTraps: a filter traps when any of its actions is Trace, whether the
// default, the foreign ABIs', a call's or an argument rule's.
func TestTraps(t *testing.T) {
	for _, c := range []struct {
		name string
		f    Filter
		want bool
	}{
		{"allow all", Filter{}, false},
		{"errno only", Filter{Calls: map[int]Action{1: Errno(1)}, Foreign: Errno(38)}, false},
		{"default", Filter{Default: Trace(0)}, true},
		{"foreign", Filter{Foreign: Trace(1)}, true},
		{"a call", Filter{Calls: map[int]Action{2: Allow, 42: Trace(3)}}, true},
		{"a rule", Filter{Rules: []ArgRule{{Nr: 56, Arg: 0, Mask: 1, IfSet: Trace(0)}}}, true},
	} {
		if got := c.f.Traps(); got != c.want {
			t.Errorf("%s: Traps() = %v", c.name, got)
		}
	}
}
