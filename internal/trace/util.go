package trace

import (
	"strconv"
	"unsafe"

	"github.com/carrot-project/carrot/internal/syscalls"
	"golang.org/x/sys/unix"
)

func itoa(n int) string { return strconv.Itoa(n) }

// siginfoBytes views a siginfo_t as the bytes linux.FormatSiginfo reads.
func siginfoBytes(si *unix.Siginfo) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(si)), unsafe.Sizeof(*si))
}

// nrOf and nameOf map names and numbers through the syscall table; the
// names they are given are fixed in this package, so a miss is a bug.
func nrOf(name string) int {
	i := syscalls.ByName(name)
	if i == nil {
		panic("trace: no syscall " + name)
	}
	return i.Nr
}

func nameOf(nr int) string {
	if i := syscalls.Lookup(nr); i != nil {
		return i.Name
	}
	return ""
}
