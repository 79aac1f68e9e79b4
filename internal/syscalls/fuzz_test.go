package syscalls

import (
	"encoding/binary"
	"testing"
)

// fuzzMem is memory at 0x1000..0x1000+len(b), with the arguments pointing
// into it, so decoders follow pointers into random bytes.
type fuzzMem []byte

func (m fuzzMem) ReadAt(p []byte, addr uint64) (int, error) {
	if addr < 0x1000 || addr-0x1000 >= uint64(len(m)) {
		return 0, errBadAddr
	}
	n := copy(p, m[addr-0x1000:])
	if n < len(p) {
		return n, errBadAddr
	}
	return n, nil
}

// FuzzDecode feeds random registers and memory through every call's
// decoders; nothing may panic, and a line must come out.
func FuzzDecode(f *testing.F) {
	f.Add(uint16(257), uint64(0xffffffffffffff9c), uint64(0x1000), uint64(0x80000), uint64(0), int64(3), uint8(0), []byte("/etc/passwd\x00"))
	f.Add(uint16(0), uint64(3), uint64(0x1000), uint64(100), uint64(0), int64(5), uint8(1), []byte("hello"))
	f.Add(uint16(59), uint64(0x1000), uint64(0x1010), uint64(0x1010), uint64(0), int64(0), uint8(2), make([]byte, 64))
	f.Add(uint16(42), uint64(3), uint64(0x1000), uint64(28), uint64(0), int64(-111), uint8(3), []byte{10, 0, 0, 80})
	f.Fuzz(func(t *testing.T, nr uint16, a0, a1, a2, a3 uint64, ret int64, opt uint8, mem []byte) {
		// Pointers into mem are likely: rewrite small values into its range.
		fix := func(v uint64) uint64 {
			if len(mem) > 0 && v < 0x1000 && v%3 == 1 {
				return 0x1000 + v%uint64(len(mem))
			}
			return v
		}
		if len(mem) >= 16 {
			binary.LittleEndian.PutUint64(mem[8:], 0x1000)
		}
		c := &Call{Nr: int(nr % 480), Args: [6]uint64{fix(a0), fix(a1), fix(a2), fix(a3), 0x1000, 0}}
		o := &Options{StrSize: int(opt%40) + 1, Verbose: opt&0x40 != 0, Hex: int(opt>>4) % 3, FdPaths: int(opt>>7) & 1, Fds: fileNamer{"/x"}}
		d := Enter(c, fuzzMem(mem), o)
		_ = d.Entry()
		d.Exit(ret, fuzzMem(mem))
		if d.Line() == "" || d.Resumed() == "" {
			t.Fatal("empty line")
		}
		_, _ = Canonical(c, fuzzMem(mem))
	})
}

// FuzzParseTraceSet: any expression parses or fails cleanly.
func FuzzParseTraceSet(f *testing.F) {
	for _, s := range []string{"open,read", "!%file", "?x,/^a", "%%stat", "/[", "all", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := ParseTraceSet(expr)
		if err == nil {
			for _, nr := range s.Numbers() {
				if Lookup(nr) == nil {
					t.Fatalf("%q: number %d not in the table", expr, nr)
				}
			}
		}
	})
}
