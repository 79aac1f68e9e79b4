package ptrace

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Memory is a tracee's address space, read and written with
// process_vm_readv/writev (one syscall per access, from any thread), or
// through /proc/PID/mem where those are refused (e.g. writes to read-only
// pages, kernels without CONFIG_CROSS_MEMORY_ATTACH). Never PEEKDATA word
// by word.
type Memory struct {
	tid int
}

// NewMemory returns the memory of task tid. The caller must be allowed to
// ptrace tid (it is the tracer, or has CAP_SYS_PTRACE).
func NewMemory(tid int) *Memory { return &Memory{tid: tid} }

const pageSize = 4096

// maxIov bounds the remote iovecs of one transfer (UIO_MAXIOV is 1024).
const maxIov = 64

// ReadAt reads len(p) bytes at addr. When the range runs into unmapped
// memory it returns the bytes before the first bad page and an error
// wrapping EFAULT, so a decoder can print what is readable; a bad
// pointer from a tracee is never more than an error here.
func (m *Memory) ReadAt(p []byte, addr uint64) (int, error) {
	return m.transfer(p, addr, false)
}

// WriteAt writes p at addr.
func (m *Memory) WriteAt(p []byte, addr uint64) (int, error) {
	return m.transfer(p, addr, true)
}

// transfer copies between p and [addr, addr+len(p)), splitting the remote
// range at page boundaries so that a fault ends the copy at the last good
// page instead of failing it whole.
func (m *Memory) transfer(p []byte, addr uint64, write bool) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if addr+uint64(len(p)) < addr {
		return 0, m.err(addr, write, unix.EFAULT)
	}
	done := 0
	for done < len(p) {
		var remote [maxIov]unix.RemoteIovec
		n, start := 0, done
		for n < maxIov && done < len(p) {
			a := addr + uint64(done)
			chunk := min(pageSize-int(a%pageSize), len(p)-done)
			remote[n] = unix.RemoteIovec{Base: uintptr(a), Len: chunk}
			n++
			done += chunk
		}
		local := []unix.Iovec{{Base: &p[start], Len: uint64(done - start)}}
		var got int
		var err error
		if write {
			got, err = unix.ProcessVMWritev(m.tid, local, remote[:n], 0)
		} else {
			got, err = unix.ProcessVMReadv(m.tid, local, remote[:n], 0)
		}
		if err == unix.ENOSYS || err == unix.EPERM || (write && err == unix.EFAULT) {
			return m.procMem(p, addr, write)
		}
		if err != nil {
			return start, m.err(addr+uint64(start), write, err)
		}
		if got < done-start {
			return start + got, m.err(addr+uint64(start+got), write, unix.EFAULT)
		}
	}
	return done, nil
}

// procMem is the fallback through /proc/TID/mem, which also writes to
// read-only mappings (as a debugger does).
func (m *Memory) procMem(p []byte, addr uint64, write bool) (int, error) {
	flag := os.O_RDONLY
	if write {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(fmt.Sprintf("/proc/%d/mem", m.tid), flag, 0)
	if err != nil {
		return 0, m.err(addr, write, err)
	}
	defer f.Close()
	var n int
	if write {
		n, err = f.WriteAt(p, int64(addr))
	} else {
		n, err = f.ReadAt(p, int64(addr))
	}
	if err != nil {
		if errors.Is(err, unix.EIO) {
			err = unix.EFAULT
		}
		return n, m.err(addr+uint64(n), write, err)
	}
	return n, nil
}

func (m *Memory) err(addr uint64, write bool, e error) error {
	op := "read"
	if write {
		op = "write"
	}
	return &MemError{Op: op, Tid: m.tid, Addr: addr, Err: e}
}

// MemError is a failed access to tracee memory.
type MemError struct {
	Op   string
	Tid  int
	Addr uint64
	Err  error
}

func (e *MemError) Error() string {
	return fmt.Sprintf("%s memory of %d at %#x: %v", e.Op, e.Tid, e.Addr, e.Err)
}

func (e *MemError) Unwrap() error { return e.Err }

// ReadString reads a NUL-terminated string of at most max bytes at addr.
// It reads page by page, so a string that ends just before unmapped memory
// is still read. ok is false when no NUL was found within max bytes.
func (m *Memory) ReadString(addr uint64, max int) (s string, ok bool, err error) {
	buf := make([]byte, 0, min(max, pageSize))
	var page [pageSize]byte
	for len(buf) < max {
		chunk := min(pageSize-int(addr%pageSize), max-len(buf))
		n, err := m.ReadAt(page[:chunk], addr)
		for i := range page[:n] {
			if page[i] == 0 {
				return string(append(buf, page[:i]...)), true, nil
			}
		}
		buf = append(buf, page[:n]...)
		if err != nil {
			return string(buf), false, err
		}
		addr += uint64(n)
	}
	return string(buf), false, nil
}
