package syscalls

import (
	"strconv"
	"strings"

	"github.com/carrot-project/carrot/internal/linux"
)

// formatMpolMode renders a memory policy mode with its flags:
// MPOL_BIND|MPOL_F_STATIC_NODES; an unknown mode with flags as a flag word
// (MPOL_F_STATIC_NODES|0x9), as strace's print_mode does.
func formatMpolMode(v uint64) string {
	const flagsMask = 1<<15 | 1<<14 | 1<<13
	mode, flags := v&^flagsMask, v&flagsMask
	if flags == 0 {
		return linux.MpolModes.Format(mode)
	}
	name, ok := linux.MpolModes.Name(mode)
	if !ok {
		return linux.MpolModeFlags.Format(v)
	}
	return name + "|" + linux.MpolModeFlags.Format(flags)
}

// maxArrayBytes bounds what an array strace would print whole (with -v)
// is read of: beyond it, "...".
const maxArrayBytes = 1 << 20

// nodemask renders a node mask of maxnodes bits as strace does: the words
// in hex, zero-padded ([0x00000000000003, 0000000000000000]), limited by
// -s unless -v; just the pointer when maxnodes makes no sense.
func (d *Decoded) nodemask(addr, maxnodes uint64) string {
	const bits = 64
	n := (maxnodes + bits - 2) / bits
	if n < maxnodes/bits || maxnodes != 0 && n == 0 {
		return ptr(addr)
	}
	if addr == 0 {
		return "NULL"
	}
	return d.array(addr, int(min(n, maxArrayBytes/8)), 8, !d.o.Verbose, func(b []byte) string {
		v := le64(b)
		if v == 0 {
			return strings.Repeat("0", 16)
		}
		s := strconv.FormatUint(v, 16)
		return "0x" + strings.Repeat("0", max(0, 14-len(s))) + s
	})
}

// mpolModeOut renders get_mempolicy's mode: [MPOL_BIND]; the kernel's
// flags in it are not split off.
func (d *Decoded) mpolModeOut(addr uint64) string {
	v, ok := d.u32(addr)
	if !ok {
		return hexs(addr)
	}
	return "[" + linux.MpolModes.Format(uint64(v)) + "]"
}

// mincore renders mincore's vector at exit: one 0 or 1 (the resident bit)
// per page of the length, limited by -s unless -v.
func (d *Decoded) mincore(addr, length uint64) string {
	const page = 4096
	n := length/page + min(length%page, 1)
	return d.array(addr, int(min(n, maxArrayBytes)), 1, !d.o.Verbose, func(b []byte) string {
		return strconv.Itoa(int(b[0] & 1))
	})
}
