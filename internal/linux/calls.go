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
