package linux

// Flag and value sets of the SysV IPC, xattr, splice, mount and sched_*
// calls, as strace 6.1 names them.

// IPCPrivate names the key IPC_PRIVATE of shmget, semget and msgget.
var IPCPrivate = NewValueSet("", false, Flag{0, "IPC_PRIVATE"})

// IPCResourceFlags are semget's and msgget's flags above the mode bits.
var IPCResourceFlags = &FlagSet{Flags: []Flag{{0x200, "IPC_CREAT"}, {0x400, "IPC_EXCL"}, {0x800, "IPC_NOWAIT"}}}

// ShmResourceFlags are shmget's flags above the mode bits.
var ShmResourceFlags = &FlagSet{Flags: []Flag{
	{0x200, "IPC_CREAT"}, {0x400, "IPC_EXCL"}, {0x800, "SHM_HUGETLB"}, {0x1000, "SHM_NORESERVE"}}}

// ShmFlags are shmat's flags.
var ShmFlags = &FlagSet{Unknown: "SHM_???", Flags: []Flag{
	{0x1000, "SHM_RDONLY"}, {0x2000, "SHM_RND"}, {0x4000, "SHM_REMAP"}, {0x8000, "SHM_EXEC"}}}

// The commands of shmctl, semctl and msgctl, IPC_64 aside.
var (
	ShmctlCmds = NewValueSet("SHM_???", false, Flag{0, "IPC_RMID"}, Flag{1, "IPC_SET"}, Flag{2, "IPC_STAT"},
		Flag{3, "IPC_INFO"}, Flag{11, "SHM_LOCK"}, Flag{12, "SHM_UNLOCK"}, Flag{13, "SHM_STAT"},
		Flag{14, "SHM_INFO"}, Flag{15, "SHM_STAT_ANY"})
	SemctlCmds = NewValueSet("SEM_???", false, Flag{0, "IPC_RMID"}, Flag{1, "IPC_SET"}, Flag{2, "IPC_STAT"},
		Flag{3, "IPC_INFO"}, Flag{11, "GETPID"}, Flag{12, "GETVAL"}, Flag{13, "GETALL"}, Flag{14, "GETNCNT"},
		Flag{15, "GETZCNT"}, Flag{16, "SETVAL"}, Flag{17, "SETALL"}, Flag{18, "SEM_STAT"}, Flag{19, "SEM_INFO"},
		Flag{20, "SEM_STAT_ANY"})
	MsgctlCmds = NewValueSet("MSG_???", false, Flag{0, "IPC_RMID"}, Flag{1, "IPC_SET"}, Flag{2, "IPC_STAT"},
		Flag{3, "IPC_INFO"}, Flag{11, "MSG_STAT"}, Flag{12, "MSG_INFO"}, Flag{13, "MSG_STAT_ANY"})
)

// IPC_64 is the flag of the *ctl commands asking for the 64-bit structures.
const IPC_64 = 0x100

// SemFlags are a sembuf's sem_flg.
var SemFlags = &FlagSet{Unknown: "SEM_???", Flags: []Flag{{0x800, "IPC_NOWAIT"}, {0x1000, "SEM_UNDO"}}}

// IPCMsgFlags are msgsnd's and msgrcv's flags.
var IPCMsgFlags = &FlagSet{Unknown: "MSG_???", Flags: []Flag{
	{0x1000, "MSG_NOERROR"}, {0x2000, "MSG_EXCEPT"}, {0x4000, "MSG_COPY"}, {0x800, "IPC_NOWAIT"}}}

// XattrFlags are setxattr's flags.
var XattrFlags = &FlagSet{Flags: []Flag{{1, "XATTR_CREATE"}, {2, "XATTR_REPLACE"}}}

// SpliceFlags are splice's, tee's and vmsplice's flags.
var SpliceFlags = &FlagSet{Unknown: "SPLICE_F_???", Flags: []Flag{
	{1, "SPLICE_F_MOVE"}, {2, "SPLICE_F_NONBLOCK"}, {4, "SPLICE_F_MORE"}, {8, "SPLICE_F_GIFT"}}}

// SyncFileRangeFlags are sync_file_range's flags.
var SyncFileRangeFlags = &FlagSet{Unknown: "SYNC_FILE_RANGE_???", Flags: []Flag{
	{1, "SYNC_FILE_RANGE_WAIT_BEFORE"}, {2, "SYNC_FILE_RANGE_WRITE"}, {4, "SYNC_FILE_RANGE_WAIT_AFTER"}}}

// MountFlags are mount's flags (include/uapi/linux/mount.h), MS_MGC_VAL aside.
var MountFlags = &FlagSet{Unknown: "MS_???", Flags: []Flag{
	{1, "MS_RDONLY"}, {2, "MS_NOSUID"}, {4, "MS_NODEV"}, {8, "MS_NOEXEC"}, {16, "MS_SYNCHRONOUS"},
	{32, "MS_REMOUNT"}, {64, "MS_MANDLOCK"}, {128, "MS_DIRSYNC"}, {256, "MS_NOSYMFOLLOW"},
	{1024, "MS_NOATIME"}, {2048, "MS_NODIRATIME"}, {4096, "MS_BIND"}, {8192, "MS_MOVE"},
	{16384, "MS_REC"}, {32768, "MS_SILENT"}, {1 << 16, "MS_POSIXACL"}, {1 << 17, "MS_UNBINDABLE"},
	{1 << 18, "MS_PRIVATE"}, {1 << 19, "MS_SLAVE"}, {1 << 20, "MS_SHARED"}, {1 << 21, "MS_RELATIME"},
	{1 << 22, "MS_KERNMOUNT"}, {1 << 23, "MS_I_VERSION"}, {1 << 24, "MS_STRICTATIME"},
	{1 << 25, "MS_LAZYTIME"}, {1 << 26, "MS_SUBMOUNT"}, {1 << 27, "MS_NOREMOTELOCK"},
	{1 << 28, "MS_NOSEC"}, {1 << 29, "MS_BORN"}, {1 << 30, "MS_ACTIVE"}, {1 << 31, "MS_NOUSER"}}}

// The magic number old programs put in mount's flags' high half.
const (
	MS_MGC_VAL = 0xc0ed0000
	MS_MGC_MSK = 0xffff0000
)

// UmountFlags are umount2's flags.
var UmountFlags = &FlagSet{Unknown: "MNT_???", Flags: []Flag{
	{1, "MNT_FORCE"}, {2, "MNT_DETACH"}, {4, "MNT_EXPIRE"}, {8, "UMOUNT_NOFOLLOW"}}}

// SchedPolicies names the scheduling policies.
var SchedPolicies = NewValueSet("SCHED_???", false, Flag{0, "SCHED_OTHER"}, Flag{1, "SCHED_FIFO"},
	Flag{2, "SCHED_RR"}, Flag{3, "SCHED_BATCH"}, Flag{4, "SCHED_ISO"}, Flag{5, "SCHED_IDLE"},
	Flag{6, "SCHED_DEADLINE"})

// IoprioWho names ioprio_get's and ioprio_set's which.
var IoprioWho = NewValueSet("IOPRIO_WHO_???", false,
	Flag{1, "IOPRIO_WHO_PROCESS"}, Flag{2, "IOPRIO_WHO_PGRP"}, Flag{3, "IOPRIO_WHO_USER"})

// IoprioClasses names the class in an I/O priority's top bits.
var IoprioClasses = NewValueSet("IOPRIO_CLASS_???", false,
	Flag{0, "IOPRIO_CLASS_NONE"}, Flag{1, "IOPRIO_CLASS_RT"}, Flag{2, "IOPRIO_CLASS_BE"}, Flag{3, "IOPRIO_CLASS_IDLE"})

// MembarrierCmds names membarrier's commands.
var MembarrierCmds = NewValueSet("MEMBARRIER_CMD_???", false,
	Flag{0, "MEMBARRIER_CMD_QUERY"}, Flag{1, "MEMBARRIER_CMD_GLOBAL"}, Flag{2, "MEMBARRIER_CMD_GLOBAL_EXPEDITED"},
	Flag{4, "MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED"}, Flag{8, "MEMBARRIER_CMD_PRIVATE_EXPEDITED"},
	Flag{16, "MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED"}, Flag{32, "MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE"},
	Flag{64, "MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE"}, Flag{128, "MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ"},
	Flag{256, "MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ"})

// MembarrierFlags are membarrier's flags.
var MembarrierFlags = &FlagSet{Unknown: "MEMBARRIER_CMD_FLAG_???", Flags: []Flag{{1, "MEMBARRIER_CMD_FLAG_CPU"}}}

// KcmpTypes names kcmp's types.
var KcmpTypes = NewValueSet("KCMP_???", false, Flag{0, "KCMP_FILE"}, Flag{1, "KCMP_VM"}, Flag{2, "KCMP_FILES"},
	Flag{3, "KCMP_FS"}, Flag{4, "KCMP_SIGHAND"}, Flag{5, "KCMP_IO"}, Flag{6, "KCMP_SYSVSEM"}, Flag{7, "KCMP_EPOLL_TFD"})

// PersonalityTypes names the execution domain in a personality's low byte
// (PER_MASK); strace 6.1 names only the values that are whole on their own.
var PersonalityTypes = NewValueSet("PER_???", false, Flag{0, "PER_LINUX"}, Flag{6, "PER_BSD"},
	Flag{8, "PER_LINUX32"}, Flag{0xc, "PER_RISCOS"}, Flag{0xf, "PER_OSF4"}, Flag{0x10, "PER_HPUX"},
	Flag{0xff, "PER_MASK"})

// PersonalityFlags are a personality's flags above PER_MASK.
var PersonalityFlags = &FlagSet{Flags: []Flag{
	{0x0020000, "UNAME26"}, {0x0040000, "ADDR_NO_RANDOMIZE"}, {0x0080000, "FDPIC_FUNCPTRS"},
	{0x0100000, "MMAP_PAGE_ZERO"}, {0x0200000, "ADDR_COMPAT_LAYOUT"}, {0x0400000, "READ_IMPLIES_EXEC"},
	{0x0800000, "ADDR_LIMIT_32BIT"}, {0x1000000, "SHORT_INODE"}, {0x2000000, "WHOLE_SECONDS"},
	{0x4000000, "STICKY_TIMEOUTS"}, {0x8000000, "ADDR_LIMIT_3GB"}}}

// The versions of capget's and capset's header.
const (
	LINUX_CAPABILITY_VERSION_1 = 0x19980330
	LINUX_CAPABILITY_VERSION_2 = 0x20071026
	LINUX_CAPABILITY_VERSION_3 = 0x20080522
)

// CapVersions names a capability header's version.
var CapVersions = NewValueSet("_LINUX_CAPABILITY_VERSION_???", false,
	Flag{LINUX_CAPABILITY_VERSION_1, "_LINUX_CAPABILITY_VERSION_1"},
	Flag{LINUX_CAPABILITY_VERSION_2, "_LINUX_CAPABILITY_VERSION_2"},
	Flag{LINUX_CAPABILITY_VERSION_3, "_LINUX_CAPABILITY_VERSION_3"})

// CapMasks are the capability sets' two 32-bit words as strace names
// their bits: 1<<CAP_CHOWN ... 1<<CAP_SETFCAP in the first, 1<<CAP_MAC_OVERRIDE
// and up in the second.
var CapMasks = func() [2]*FlagSet {
	var m [2]*FlagSet
	for w := range m {
		m[w] = &FlagSet{Unknown: "CAP_???"}
		for bit := uint64(0); bit < 32; bit++ {
			if n, ok := Capabilities.Name(uint64(w)*32 + bit); ok {
				m[w].Flags = append(m[w].Flags, Flag{1 << bit, "1<<" + n})
			}
		}
	}
	return m
}()

// MpolModes names the memory policy modes; MpolModeFlags are the flags
// that may be or-ed into a mode.
var (
	MpolModes = NewValueSet("MPOL_???", false, Flag{0, "MPOL_DEFAULT"}, Flag{1, "MPOL_PREFERRED"},
		Flag{2, "MPOL_BIND"}, Flag{3, "MPOL_INTERLEAVE"}, Flag{4, "MPOL_LOCAL"}, Flag{5, "MPOL_PREFERRED_MANY"})
	MpolModeFlags = &FlagSet{Unknown: "MPOL_???", Flags: []Flag{
		{1 << 15, "MPOL_F_STATIC_NODES"}, {1 << 14, "MPOL_F_RELATIVE_NODES"}, {1 << 13, "MPOL_F_NUMA_BALANCING"}}}
)

// MbindFlags are mbind's flags.
var MbindFlags = &FlagSet{Unknown: "MPOL_???", Flags: []Flag{
	{1, "MPOL_MF_STRICT"}, {2, "MPOL_MF_MOVE"}, {4, "MPOL_MF_MOVE_ALL"}}}

// GetMempolicyFlags are get_mempolicy's flags.
var GetMempolicyFlags = &FlagSet{Unknown: "MPOL_???", Flags: []Flag{
	{1, "MPOL_F_NODE"}, {2, "MPOL_F_ADDR"}, {4, "MPOL_F_MEMS_ALLOWED"}}}

// AdjtimexModes are a struct timex's modes, the combined offset modes first.
var AdjtimexModes = &FlagSet{Unknown: "ADJ_???", Flags: []Flag{
	{0xa001, "ADJ_OFFSET_SS_READ"}, {0x8001, "ADJ_OFFSET_SINGLESHOT"}, {0x0001, "ADJ_OFFSET"},
	{0x0002, "ADJ_FREQUENCY"}, {0x0004, "ADJ_MAXERROR"}, {0x0008, "ADJ_ESTERROR"}, {0x0010, "ADJ_STATUS"},
	{0x0020, "ADJ_TIMECONST"}, {0x0080, "ADJ_TAI"}, {0x0100, "ADJ_SETOFFSET"}, {0x1000, "ADJ_MICRO"},
	{0x2000, "ADJ_NANO"}, {0x4000, "ADJ_TICK"}}}

// AdjtimexStatus are a struct timex's status bits.
var AdjtimexStatus = &FlagSet{Unknown: "STA_???", Flags: []Flag{
	{0x0001, "STA_PLL"}, {0x0002, "STA_PPSFREQ"}, {0x0004, "STA_PPSTIME"}, {0x0008, "STA_FLL"},
	{0x0010, "STA_INS"}, {0x0020, "STA_DEL"}, {0x0040, "STA_UNSYNC"}, {0x0080, "STA_FREQHOLD"},
	{0x0100, "STA_PPSSIGNAL"}, {0x0200, "STA_PPSJITTER"}, {0x0400, "STA_PPSWANDER"}, {0x0800, "STA_PPSERROR"},
	{0x1000, "STA_CLOCKERR"}, {0x2000, "STA_NANO"}, {0x4000, "STA_MODE"}, {0x8000, "STA_CLK"}}}

// AdjtimexStates names adjtimex's and clock_adjtime's return values.
var AdjtimexStates = NewValueSet("", false, Flag{0, "TIME_OK"}, Flag{1, "TIME_INS"}, Flag{2, "TIME_DEL"},
	Flag{3, "TIME_OOP"}, Flag{4, "TIME_WAIT"}, Flag{5, "TIME_ERROR"})

// SchedFlags are a struct sched_attr's sched_flags.
var SchedFlags = &FlagSet{Unknown: "SCHED_FLAG_???", Flags: []Flag{
	{0x01, "SCHED_FLAG_RESET_ON_FORK"}, {0x02, "SCHED_FLAG_RECLAIM"}, {0x04, "SCHED_FLAG_DL_OVERRUN"},
	{0x08, "SCHED_FLAG_KEEP_POLICY"}, {0x10, "SCHED_FLAG_KEEP_PARAMS"}, {0x20, "SCHED_FLAG_UTIL_CLAMP_MIN"},
	{0x40, "SCHED_FLAG_UTIL_CLAMP_MAX"}}}

// The sched_flags that leave the policy and the parameters as they are.
const (
	SCHED_FLAG_KEEP_POLICY = 0x08
	SCHED_FLAG_KEEP_PARAMS = 0x10
)

// The sizes of struct sched_attr: the first version, and the one with
// sched_util_min and sched_util_max.
const (
	SizeofSchedAttrVer0 = 48
	SizeofSchedAttrVer1 = 56
)
