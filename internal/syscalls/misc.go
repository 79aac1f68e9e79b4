package syscalls

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/carrot-project/carrot/internal/linux"
)

// Renderers and specials of time, gettimeofday's timezone, sethostname,
// the xattr, splice, mount, sched_* and arch_prctl calls.

// timezone renders a struct timezone.
func (d *Decoded) timezone(addr uint64) string {
	b, shown, ok := d.structAt(addr, 8)
	if !ok {
		return shown
	}
	return "{tz_minuteswest=" + i32s(b, 0) + ", tz_dsttime=" + i32s(b, 4) + "}"
}

// hostname renders sethostname's and setdomainname's name: n bytes, or
// the pointer when n is above __NEW_UTS_LEN (64).
func (d *Decoded) hostname(addr, n uint64) string {
	if uint32(n) > 64 {
		return ptr(addr)
	}
	return d.buffer(addr, uint64(uint32(n)))
}

// xattrValue renders an xattr value of n bytes as a string without its
// trailing NUL, or the pointer when n is above XATTR_SIZE_MAX.
func (d *Decoded) xattrValue(addr, n uint64) string {
	if addr == 0 {
		return "NULL"
	}
	if n > 65536 {
		return hexs(addr)
	}
	show := min(n, uint64(d.o.StrSize))
	b, err := d.read(addr, int(show))
	if err != nil {
		return hexs(addr)
	}
	if len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return d.quote(b, n > show)
}

// xattrList renders listxattr's n bytes of names, NULs included.
func (d *Decoded) xattrList(addr, n uint64) string {
	if n > 65536 {
		return hexs(addr)
	}
	return d.buffer(addr, n)
}

// offPtr renders splice's and copy_file_range's loff_t pointers: [10].
func (d *Decoded) offPtr(addr uint64) string {
	b, shown, ok := d.structAt(addr, 8)
	if !ok {
		return shown
	}
	return "[" + strconv.FormatInt(int64(le64(b)), 10) + "]"
}

// schedParam renders a struct sched_param: [sched_priority].
func (d *Decoded) schedParam(addr uint64) string {
	if addr == 0 {
		return "NULL"
	}
	v, ok := d.u32(addr)
	if !ok {
		return hexs(addr)
	}
	return "[" + strconv.Itoa(int(int32(v))) + "]"
}

// schedAttr renders a struct sched_attr as strace's print_sched_attr:
// sched_setattr's (set) as long as its size field says, or the first
// version's if 0; sched_getattr's as long as the kernel's size field says,
// of the usize bytes the call asked for. sched_setattr leaves out the
// policy and the parameters its SCHED_FLAG_KEEP_* flags keep.
func (d *Decoded) schedAttr(addr uint64, usize uint32, set bool) string {
	b := make([]byte, linux.SizeofSchedAttrVer1)
	var size uint32
	if set {
		v, ok := d.u32(addr)
		if !ok {
			return ptr(addr)
		}
		usize = v
		if usize == 0 {
			usize = linux.SizeofSchedAttrVer0
		}
		size = min(usize, linux.SizeofSchedAttrVer1)
		if size >= linux.SizeofSchedAttrVer0 {
			r, err := d.read(addr, int(size))
			if err != nil {
				return ptr(addr)
			}
			copy(b, r)
		}
		binary.LittleEndian.PutUint32(b, v)
	} else {
		r, err := d.read(addr, int(min(usize, linux.SizeofSchedAttrVer1)))
		if err != nil {
			return ptr(addr)
		}
		copy(b, r)
		size = le32(b)
	}
	u := func(o int) string { return strconv.FormatUint(uint64(le32(b[o:])), 10) }
	s := "{size=" + u(0)
	if size >= linux.SizeofSchedAttrVer0 {
		policy, flags := le32(b[4:]), le64(b[8:])
		if !set || int32(policy) < 0 || flags&(linux.SCHED_FLAG_KEEP_POLICY|linux.SCHED_FLAG_KEEP_PARAMS) == 0 {
			s += ", sched_policy=" + linux.SchedPolicies.Format(uint64(policy))
		}
		s += ", sched_flags=" + linux.SchedFlags.Format(flags)
		if !set || flags&linux.SCHED_FLAG_KEEP_PARAMS == 0 {
			s += ", sched_nice=" + strconv.Itoa(int(int32(le32(b[16:])))) + ", sched_priority=" + u(20) +
				", sched_runtime=" + strconv.FormatUint(le64(b[24:]), 10) +
				", sched_deadline=" + strconv.FormatUint(le64(b[32:]), 10) +
				", sched_period=" + strconv.FormatUint(le64(b[40:]), 10)
		}
		if size >= linux.SizeofSchedAttrVer1 {
			s += ", sched_util_min=" + u(48) + ", sched_util_max=" + u(52)
		}
	}
	if set && usize > size {
		s += ", ..."
	}
	return s + "}"
}

// formatIoprio renders an I/O priority: IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4).
func formatIoprio(v uint64) string {
	p := uint32(v)
	return "IOPRIO_PRIO_VALUE(" + linux.IoprioClasses.Format(uint64(p>>13)) + ", " + strconv.FormatUint(uint64(p&0x1fff), 10) + ")"
}

// formatPersonality renders a personality: its execution domain (the low
// byte), then its flags: PER_LINUX|ADDR_NO_RANDOMIZE.
func formatPersonality(p uint32) string {
	s := linux.PersonalityTypes.Format(uint64(p & 0xff))
	if f := p &^ 0xff; f != 0 {
		s += "|" + linux.PersonalityFlags.Format(uint64(f))
	}
	return s
}

// capHeader renders capget's and capset's header:
// {version=_LINUX_CAPABILITY_VERSION_3, pid=0}. strace prints it at entry
// only, so capget's line shows the version passed in even when the kernel
// wrote its own back (on EINVAL).
func (d *Decoded) capHeader(addr uint64) string {
	b, err := d.read(addr, 8)
	if err != nil {
		return ptr(addr)
	}
	return "{version=" + linux.CapVersions.Format(uint64(le32(b))) + ", pid=" + strconv.Itoa(int(int32(le32(b[4:])))) + "}"
}

// capData renders the capability sets at addr, as many 32-bit words each
// as the header at hdr asks for (two from _LINUX_CAPABILITY_VERSION_2 on):
// {effective=1<<CAP_CHOWN|1<<CAP_MAC_OVERRIDE, permitted=0, inheritable=0}.
// Without a readable header it is the pointer.
func (d *Decoded) capData(hdr, addr uint64) string {
	h, err := d.read(hdr, 8)
	if err != nil || addr == 0 {
		return ptr(addr)
	}
	n := 1
	if v := le32(h); v == linux.LINUX_CAPABILITY_VERSION_2 || v == linux.LINUX_CAPABILITY_VERSION_3 {
		n = 2
	}
	b, err := d.read(addr, 12*n)
	if err != nil {
		return hexs(addr)
	}
	set := func(off int) string {
		lo, hi := uint64(le32(b[off:])), uint64(0)
		if n > 1 {
			hi = uint64(le32(b[12+off:]))
		}
		var s string
		if lo != 0 || hi == 0 {
			s = linux.CapMasks[0].Format(lo)
		}
		if hi != 0 {
			if lo != 0 {
				s += "|"
			}
			s += linux.CapMasks[1].Format(hi)
		}
		return s
	}
	return "{effective=" + set(0) + ", permitted=" + set(4) + ", inheritable=" + set(8) + "}"
}

// The arch_prctl codes whose argument is an address the kernel writes.
const (
	linux_ARCH_GET_FS    = 0x1003
	linux_ARCH_GET_GS    = 0x1004
	linux_ARCH_GET_CPUID = 0x1011
)

// callSpecials are the specials of the calls in this file and sysv.go.
func callSpecials() map[string]*special {
	return map[string]*special{
		"shmctl": ipcCtlSpecial("shmctl"),
		"msgctl": ipcCtlSpecial("msgctl"),
		"semctl": ipcCtlSpecial("semctl"),
		"time": {ret: func(d *Decoded) string {
			return strconv.FormatInt(d.ret, 10) + " (" + time.Unix(d.ret, 0).Local().Format("2006-01-02T15:04:05-0700") + ")"
		}},
		"sched_getscheduler": {ret: func(d *Decoded) string {
			if n, ok := linux.SchedPolicies.Name(uint64(d.ret)); ok {
				return strconv.FormatInt(d.ret, 10) + " (" + n + ")"
			}
			return strconv.FormatInt(d.ret, 10)
		}},
		"arch_prctl": {enter: func(d *Decoded) {
			switch uint32(d.c.Args[0]) {
			case linux_ARCH_GET_FS, linux_ARCH_GET_GS:
				d.out[1] = true
			case linux_ARCH_GET_CPUID:
				d.omit[1] = true
			}
		}, exit: func(d *Decoded) {
			if !d.out[1] {
				return
			}
			a := d.c.Args[1]
			d.args[1] = ptr(a)
			if b, err := d.read(a, 8); err == nil && a != 0 && !d.Failed() {
				d.args[1] = "[" + hexs(le64(b)) + "]"
			}
		}},
		"mount": {enter: mountEnter},
		"membarrier": {enter: func(d *Decoded) {
			// cpu_id matters only with MEMBARRIER_CMD_FLAG_CPU.
			d.omit[2] = d.c.Args[1]&1 == 0
		}},
		"kcmp": {enter: func(d *Decoded) {
			// Only KCMP_FILE compares descriptors (idx1 and idx2);
			// unknown types print them in hex.
			switch t := uint32(d.c.Args[2]); {
			case t == 0:
			case t < 7:
				d.omit[3], d.omit[4] = true, true
			case t > 7:
				d.args[3], d.args[4] = hexs(d.c.Args[3]), hexs(d.c.Args[4])
			}
		}},
		"adjtimex":      {ret: func(d *Decoded) string { return d.timexRet(d.c.Args[0]) }},
		"clock_adjtime": {ret: func(d *Decoded) string { return d.timexRet(d.c.Args[1]) }},
		"sched_setattr": {enter: func(d *Decoded) {
			// flags is printed at exit, after what E2BIG wrote back:
			// "sched_setattr(0, {...} => {size=56}, 0)".
			d.out[2], d.sepAtExit = true, true
		}, exit: func(d *Decoded) {
			if d.Errno() != "E2BIG" {
				return
			}
			if v, ok := d.u32(d.c.Args[1]); ok {
				d.late = " => {size=" + strconv.FormatUint(uint64(v), 10) + "}"
				d.args[1] += d.late
			}
		}},
		"personality": {ret: func(d *Decoded) string {
			// The old personality, named even when it is 0xffffffff.
			return hexs(uint64(d.ret)) + " (" + formatPersonality(uint32(d.ret)) + ")"
		}},
		"ioprio_get": {ret: func(d *Decoded) string {
			return strconv.FormatInt(d.ret, 10) + " (" + formatIoprio(uint64(d.ret)) + ")"
		}},
	}
}

// mountEnter renders mount's flags as strace does: MS_MGC_VAL first when
// the old magic is there; the type is a pointer for a remount, and the
// type and data are pointers for a bind, a move or a propagation change.
func mountEnter(d *Decoded) {
	f := d.c.Args[3]
	magic := f&linux.MS_MGC_MSK == linux.MS_MGC_VAL
	if magic {
		f &^= linux.MS_MGC_MSK
	}
	const (
		remount  = 32
		typeless = 4096 | 8192 | 1<<20 | 1<<18 | 1<<19 | 1<<17 // MS_BIND|MS_MOVE|MS_SHARED|MS_PRIVATE|MS_SLAVE|MS_UNBINDABLE
	)
	switch {
	case f&remount != 0:
		d.args[2] = ptr(d.c.Args[2])
	case f&typeless != 0:
		d.args[2], d.args[4] = ptr(d.c.Args[2]), ptr(d.c.Args[4])
	}
	var s string
	if magic {
		s = "MS_MGC_VAL"
		if f != 0 {
			s += "|"
		}
	}
	if f != 0 || !magic {
		s += linux.MountFlags.Format(f)
	}
	d.args[3] = s
}
