package syscalls

import (
	"strconv"

	"github.com/carrot-project/carrot/internal/linux"
)

// SysV IPC: the flags of the *get calls, the *ctl commands and the
// structures they pass, semop's sembufs and the message queues' msgbuf,
// as strace 6.1's ipc_*.c print them.

// The SHM_HUGE_* size bits of shmget's flags.
const (
	linux_SHM_HUGE_SHIFT = 26
	linux_SHM_HUGE_MASK  = 0x3f
)

// formatIPCGetFlags renders semget's and msgget's flags: the named flags,
// then the mode in octal ("IPC_CREAT|0600", "000").
func formatIPCGetFlags(v uint64) string {
	return ipcFlagsMode(linux.IPCResourceFlags, uint32(v), "")
}

// formatShmgetFlags renders shmget's flags: the named flags, the huge
// page size ("21<<SHM_HUGE_SHIFT"), then the mode.
func formatShmgetFlags(v uint64) string {
	f := uint32(v)
	huge := f >> linux_SHM_HUGE_SHIFT & linux_SHM_HUGE_MASK
	f &^= linux_SHM_HUGE_MASK << linux_SHM_HUGE_SHIFT
	var hs string
	if huge != 0 {
		hs = strconv.FormatUint(uint64(huge), 10) + "<<SHM_HUGE_SHIFT"
	}
	return ipcFlagsMode(linux.ShmResourceFlags, f, hs)
}

// ipcFlagsMode renders the bits of f above 0777 with set (unnamed ones in
// hex), then extra, then the mode bits.
func ipcFlagsMode(set *linux.FlagSet, f uint32, extra string) string {
	s := set.FormatPlain(uint64(f &^ 0777))
	if f&^0777 == 0 {
		s = ""
	}
	if extra != "" {
		if s != "" {
			s += "|"
		}
		s += extra
	}
	if s != "" {
		s += "|"
	}
	return s + octal(uint64(f&0777))
}

// formatIPCCmd renders a *ctl command: "IPC_64|IPC_STAT", "0x63 /* SHM_??? */".
func formatIPCCmd(set *linux.ValueSet, v uint64) string {
	c := uint32(v)
	if c&linux.IPC_64 != 0 {
		return "IPC_64|" + set.Format(uint64(c&^linux.IPC_64))
	}
	return set.Format(uint64(c))
}

// sembufs renders semop's array of n struct sembuf (6 bytes each).
func (d *Decoded) sembufs(addr, n uint64) string {
	if addr == 0 {
		return "NULL"
	}
	if n == 0 {
		return "[]"
	}
	if n > 1<<16 {
		return hexs(addr)
	}
	return d.array(addr, int(n), 6, true, func(b []byte) string {
		num := uint16(b[0]) | uint16(b[1])<<8
		op := int16(uint16(b[2]) | uint16(b[3])<<8)
		flg := uint16(b[4]) | uint16(b[5])<<8
		return "{sem_num=" + strconv.Itoa(int(num)) + ", sem_op=" + strconv.Itoa(int(op)) +
			", sem_flg=" + linux.SemFlags.Format(uint64(flg)) + "}"
	})
}

// msgbuf renders a struct msgbuf: its mtype and size bytes of mtext.
func (d *Decoded) msgbuf(addr, size uint64) string {
	b, shown, ok := d.structAt(addr, 8)
	if !ok {
		return shown
	}
	return "{mtype=" + strconv.FormatInt(int64(le64(b)), 10) + ", mtext=" + d.buffer(addr+8, size) + "}"
}

// The sizes of x86-64's struct shmid_ds, msqid_ds and semid_ds, each
// starting with a 48-byte struct ipc_perm.
const (
	sizeofShmidDs = 112
	sizeofMsqidDs = 120
	sizeofSemidDs = 104
)

// ipcPerm renders a struct ipc_perm; IPC_SET's shows only what it sets.
func ipcPerm(b []byte, set bool) string {
	s := "{uid=" + formatID(le32(b[4:])) + ", gid=" + formatID(le32(b[8:])) + ", mode=" + octal(uint64(le32(b[20:])))
	if !set {
		s += ", key=" + strconv.FormatUint(uint64(le32(b)), 10) + ", cuid=" + formatID(le32(b[12:])) +
			", cgid=" + formatID(le32(b[16:]))
	}
	return s + "}"
}

// ipcCtl describes one *ctl call: where its buffer is, its commands'
// structure, and how to render it.
type ipcCtl struct {
	buf    int // the buffer's argument index
	size   int
	stat   map[uint32]bool // the commands that fill the structure in
	render func(b []byte, set bool) string
}

func u64s(b []byte, off int) string { return strconv.FormatUint(le64(b[off:]), 10) }

func i32s(b []byte, off int) string { return strconv.Itoa(int(int32(le32(b[off:])))) }

var ipcCtls = map[string]ipcCtl{
	"shmctl": {buf: 2, size: sizeofShmidDs, stat: map[uint32]bool{2: true, 13: true, 15: true},
		render: func(b []byte, set bool) string {
			if set {
				return "{shm_perm=" + ipcPerm(b, true) + "}"
			}
			return "{shm_perm=" + ipcPerm(b, false) + ", shm_segsz=" + u64s(b, 48) + ", shm_cpid=" + i32s(b, 80) +
				", shm_lpid=" + i32s(b, 84) + ", shm_nattch=" + u64s(b, 88) + ", shm_atime=" + u64s(b, 56) +
				", shm_dtime=" + u64s(b, 64) + ", shm_ctime=" + u64s(b, 72) + "}"
		}},
	"msgctl": {buf: 2, size: sizeofMsqidDs, stat: map[uint32]bool{2: true, 11: true, 13: true},
		render: func(b []byte, set bool) string {
			if set {
				return "{msg_perm=" + ipcPerm(b, true) + ", msg_qbytes=" + u64s(b, 88) + "}"
			}
			return "{msg_perm=" + ipcPerm(b, false) + ", msg_stime=" + u64s(b, 48) + ", msg_rtime=" + u64s(b, 56) +
				", msg_ctime=" + u64s(b, 64) + ", msg_qnum=" + u64s(b, 80) + ", msg_qbytes=" + u64s(b, 88) +
				", msg_lspid=" + i32s(b, 96) + ", msg_lrpid=" + i32s(b, 100) + "}"
		}},
	"semctl": {buf: 3, size: sizeofSemidDs, stat: map[uint32]bool{2: true, 18: true, 20: true},
		render: func(b []byte, set bool) string {
			if set {
				return "{sem_perm=" + ipcPerm(b, true) + "}"
			}
			return "{sem_perm=" + ipcPerm(b, false) + ", sem_otime=" + u64s(b, 48) + ", sem_ctime=" + u64s(b, 64) +
				", sem_nsems=" + u64s(b, 80) + "}"
		}},
}

// ipcCtlStruct reads and renders the structure of call c at addr.
func (d *Decoded) ipcCtlStruct(c ipcCtl, addr uint64, set bool) string {
	b, shown, ok := d.structAt(addr, c.size)
	if !ok {
		return shown
	}
	return c.render(b, set)
}

// ipcCtlSpecial decodes shmctl, msgctl and semctl: IPC_SET's structure at
// entry, IPC_STAT's (and *_STAT's) at exit. The *_INFO commands'
// structures print as pointers.
func ipcCtlSpecial(name string) *special {
	c := ipcCtls[name]
	cmd := func(d *Decoded) uint32 { return uint32(d.c.Args[c.buf-1]) &^ linux.IPC_64 }
	return &special{
		enter: func(d *Decoded) {
			switch k := cmd(d); {
			case k == 1: // IPC_SET
				d.args[c.buf] = d.ipcCtlStruct(c, d.c.Args[c.buf], true)
			case c.stat[k]:
				d.out[c.buf] = true
			}
		},
		exit: func(d *Decoded) {
			if !c.stat[cmd(d)] {
				return
			}
			if d.Failed() {
				d.args[c.buf] = ptr(d.c.Args[c.buf])
				return
			}
			d.args[c.buf] = d.ipcCtlStruct(c, d.c.Args[c.buf], false)
		},
	}
}
