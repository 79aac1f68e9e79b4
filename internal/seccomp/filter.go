// Package seccomp compiles the seccomp-BPF filter a traced program runs
// under, and installs it.
//
// The filter is carrot's one rule for speed made concrete: every syscall
// the kernel sees is checked by this BPF program first, and only the calls
// a mode needs return SECCOMP_RET_TRACE (a ptrace stop in the tracer); the
// rest return SECCOMP_RET_ALLOW and cost what they cost without carrot.
//
// The program is a binary search over the syscall number: a Filter maps
// numbers to actions, Compile merges runs of numbers with the same action
// into ranges and emits a balanced tree of "jge" tests, so any filter costs
// O(log ranges) instructions per syscall (about 10 for a trace set of a
// hundred scattered calls). Calls made through another ABI (i386 via int
// 0x80, x32) are classified by Filter.Foreign, so they cannot slip past a
// policy written for the native table.
//
// RET_TRACE carries 16 bits of data that the tracer reads back at the stop
// (PTRACE_GET_SYSCALL_INFO's ret_data); modes use it to say, without any
// lookup, whether the call needs its exit stop too.
//
// Compile is pure and tested in golang.org/x/net/bpf's interpreter; Install
// (install_linux.go) is the only part that touches the kernel.
package seccomp

import (
	"fmt"
	"slices"

	"golang.org/x/net/bpf"
)

// Action is a seccomp filter return value (SECCOMP_RET_*).
type Action uint32

// Filter return values, from include/uapi/linux/seccomp.h.
const (
	actKillProcess Action = 0x80000000 // SECCOMP_RET_KILL_PROCESS
	actErrno       Action = 0x00050000 // SECCOMP_RET_ERRNO
	actTrace       Action = 0x7ff00000 // SECCOMP_RET_TRACE
	actAllow       Action = 0x7fff0000 // SECCOMP_RET_ALLOW
	actionMask     Action = 0xffff0000 // SECCOMP_RET_ACTION_FULL
	dataMask       Action = 0x0000ffff // SECCOMP_RET_DATA
)

// Allow lets the call run with no stop.
const Allow = actAllow

// KillProcess kills the whole process (used for nothing by default; a
// policy may choose it for calls that must never run).
const KillProcess = actKillProcess

// Trace stops the caller in the tracer (PTRACE_EVENT_SECCOMP) with data,
// which the tracer reads back as the stop's ret_data.
func Trace(data uint16) Action { return actTrace | Action(data) }

// Errno fails the call with errno e without running it and without a stop.
func Errno(e uint16) Action { return actErrno | Action(e) }

// IsTrace reports whether a is a Trace action, and its data.
func (a Action) IsTrace() (data uint16, ok bool) {
	return uint16(a & dataMask), a&actionMask == actTrace
}

func (a Action) String() string {
	switch a & actionMask {
	case actAllow:
		return "allow"
	case actTrace:
		return fmt.Sprintf("trace(%#x)", uint16(a&dataMask))
	case actErrno:
		return fmt.Sprintf("errno(%d)", uint16(a&dataMask))
	case actKillProcess:
		return "kill-process"
	}
	return fmt.Sprintf("action(%#x)", uint32(a))
}

// ArgRule refines the action for one syscall by one argument: the call
// gets IfSet when the argument matches, else the next rule for the same
// number (rules are tested in the order given), else the Filter's action
// for the number.
//
// Without Values, the argument matches when (arg[Arg] & Mask) != 0. The
// test covers all 64 bits (BPF loads 32-bit words, so a mask with bits in
// both halves costs two loads), so Mask: ^uint64(0) tests "the argument is
// not zero", pointers included.
//
// With Values, it matches when its low 32 bits, ANDed with Mask's low 32
// bits, equal one of Values. The kernel reads an int argument (a socket's
// domain or type, an address length) from the low word alone, whatever
// the high word holds, so that is the word a policy on one must test.
//
// And, when not nil, is a further condition (its Nr and IfSet unused)
// that must match too: setsockopt of one option name at one level.
type ArgRule struct {
	Nr     int
	Arg    int // 0..5
	Mask   uint64
	Values []uint32
	IfSet  Action
	And    *ArgRule
}

// Filter says what each syscall number gets. The zero Filter allows
// everything.
type Filter struct {
	// Arch is the AUDIT_ARCH_* value of the native ABI (AuditArchX86_64).
	Arch uint32
	// Default applies to every native number not in Calls (Allow if zero).
	Default Action
	// Calls overrides Default for individual syscall numbers.
	Calls map[int]Action
	// Rules refine individual numbers by an argument (e.g. clone with
	// CLONE_UNTRACED). A number with a rule need not be in Calls.
	Rules []ArgRule
	// Foreign applies to calls made through another ABI than Arch (i386
	// int 0x80, x32) (Allow if zero).
	Foreign Action
	// X32Bit, when non-zero, is the bit that marks x32 calls in the native
	// arch's numbers (0x40000000 on x86-64); such calls get Foreign.
	X32Bit uint32
}

// Traps reports whether any call can get a Trace action: a process under
// such a filter must be traced, since a trapped call with no tracer fails
// with ENOSYS.
func (f *Filter) Traps() bool {
	trap := func(a Action) bool { _, ok := a.IsTrace(); return ok }
	if trap(f.Default) || trap(f.Foreign) {
		return true
	}
	for _, a := range f.Calls {
		if trap(a) {
			return true
		}
	}
	for _, r := range f.Rules {
		if trap(r.IfSet) {
			return true
		}
	}
	return false
}

// Offsets in struct seccomp_data (include/uapi/linux/seccomp.h).
const (
	offNr   = 0
	offArch = 4
	offArgs = 16 // args[6], each 8 bytes, little-endian on x86-64 and arm64
)

// maxInsns is BPF_MAXINSNS: the kernel refuses longer programs.
const maxInsns = 4096

func orAllow(a Action) Action {
	if a == 0 {
		return Allow
	}
	return a
}

// span is a run of syscall numbers [lo, hi] that share an action.
type span struct {
	lo, hi uint32
	act    Action
	rules  []*ArgRule // not empty: lo == hi and the action depends on arguments
}

// spans returns the whole number space [0, 2^32) cut into runs with one
// action each, in order, adjacent runs differing.
func (f *Filter) spans() []span {
	def := orAllow(f.Default)
	top := uint32(1<<32 - 1)
	if f.X32Bit != 0 {
		top = f.X32Bit - 1
	}
	special := map[uint32]span{}
	for nr, a := range f.Calls {
		if nr < 0 || uint32(nr) > top {
			continue
		}
		special[uint32(nr)] = span{lo: uint32(nr), hi: uint32(nr), act: orAllow(a)}
	}
	for i := range f.Rules {
		r := &f.Rules[i]
		if r.Nr < 0 || uint32(r.Nr) > top {
			continue
		}
		s, ok := special[uint32(r.Nr)]
		if !ok {
			s = span{lo: uint32(r.Nr), hi: uint32(r.Nr), act: def}
		}
		s.rules = append(s.rules, r)
		special[uint32(r.Nr)] = s
	}
	nrs := make([]uint32, 0, len(special))
	for nr := range special {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)

	var out []span
	add := func(s span) {
		if n := len(out); n > 0 && out[n-1].rules == nil && s.rules == nil &&
			out[n-1].act == s.act && out[n-1].hi+1 == s.lo {
			out[n-1].hi = s.hi
			return
		}
		out = append(out, s)
	}
	next := uint32(0)
	for _, nr := range nrs {
		if nr > next {
			add(span{lo: next, hi: nr - 1, act: def})
		}
		add(special[nr])
		next = nr + 1
	}
	if len(nrs) == 0 || nrs[len(nrs)-1] < top {
		add(span{lo: next, hi: top, act: def})
	}
	if f.X32Bit != 0 {
		add(span{lo: f.X32Bit, hi: 1<<32 - 1, act: orAllow(f.Foreign)})
	}
	return out
}

// Compile returns the BPF program for f.
func (f *Filter) Compile() ([]bpf.RawInstruction, error) {
	if f.Arch == 0 {
		return nil, fmt.Errorf("seccomp: filter has no architecture")
	}
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: offArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: f.Arch, SkipTrue: 1},
		bpf.RetConstant{Val: uint32(orAllow(f.Foreign))},
		bpf.LoadAbsolute{Off: offNr, Size: 4},
	}
	for _, r := range f.Rules {
		for c := &r; c != nil; c = c.And {
			if len(c.Values) > 250 || c.Arg < 0 || c.Arg > 5 {
				return nil, fmt.Errorf("seccomp: a rule for call %d tests argument %d against %d values (at most 250, of arguments 0 to 5)", r.Nr, c.Arg, len(c.Values))
			}
		}
	}
	prog = append(prog, tree(f.spans())...)
	if len(prog) > maxInsns {
		return nil, fmt.Errorf("seccomp: filter needs %d instructions, the kernel takes at most %d", len(prog), maxInsns)
	}
	return bpf.Assemble(prog)
}

// tree emits a binary search over spans, which cover a contiguous range of
// numbers; the accumulator holds the syscall number on entry.
func tree(spans []span) []bpf.Instruction {
	if len(spans) == 1 {
		return leaf(spans[0])
	}
	mid := len(spans) / 2
	left, right := tree(spans[:mid]), tree(spans[mid:])
	// if nr >= spans[mid].lo goto right (through a long jump, since the
	// left subtree may be longer than a conditional jump can skip).
	out := make([]bpf.Instruction, 0, 2+len(left)+len(right))
	out = append(out,
		bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: spans[mid].lo, SkipTrue: 0, SkipFalse: 1},
		bpf.Jump{Skip: uint32(len(left))},
	)
	out = append(out, left...)
	return append(out, right...)
}

// leaf returns the action of one span: its rules' tests in order, each
// returning the rule's action on a match, then the span's own action.
func leaf(s span) []bpf.Instruction {
	var out []bpf.Instruction
	for _, r := range s.rules {
		out = append(out, ruleTest(r)...)
	}
	return append(out, bpf.RetConstant{Val: uint32(s.act)})
}

// ruleTest returns r's test, which returns r.IfSet when r and every rule
// in its And chain match, and falls through otherwise. A mask test looks
// at the argument's low word, then its high word (args are little-endian
// on x86-64 and arm64); a value test at the low word only.
func ruleTest(r *ArgRule) []bpf.Instruction {
	then := []bpf.Instruction{bpf.RetConstant{Val: uint32(r.IfSet)}}
	var chain []*ArgRule
	for c := r; c != nil; c = c.And {
		chain = append(chain, c)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		then = condition(chain[i], then)
	}
	return then
}

// condition returns the test of r's own condition: on a match it goes on
// to then, else it jumps past then's end.
func condition(r *ArgRule, then []bpf.Instruction) []bpf.Instruction {
	off := uint32(offArgs + 8*r.Arg)
	var out []bpf.Instruction
	if r.Values == nil {
		var words []int
		for i, m := range []uint32{uint32(r.Mask), uint32(r.Mask >> 32)} {
			if m != 0 {
				words = append(words, i)
			}
		}
		for j, i := range words {
			// a match skips the other word's load and jset, and the
			// "no match" jump
			out = append(out,
				bpf.LoadAbsolute{Off: off + 4*uint32(i), Size: 4},
				bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: uint32(r.Mask >> (32 * i)), SkipTrue: uint8(2*(len(words)-1-j) + 1)},
			)
		}
	} else {
		out = append(out, bpf.LoadAbsolute{Off: off, Size: 4})
		if m := uint32(r.Mask); m != 0xffffffff {
			out = append(out, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: m})
		}
		// One jeq per value, each jumping over the ones after it and the
		// "no match" jump.
		n := len(r.Values)
		for i, v := range r.Values {
			out = append(out, bpf.JumpIf{Cond: bpf.JumpEqual, Val: v, SkipTrue: uint8(n - i)})
		}
	}
	out = append(out, bpf.Jump{Skip: uint32(len(then))})
	return append(out, then...)
}
