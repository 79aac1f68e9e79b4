package syscalls

import (
	"strconv"
	"strings"

	"github.com/carrot-project/carrot/internal/linux"
)

// Kind says how one argument is decoded. The names in parentheses are the
// ones used in the table's signatures.
type Kind uint8

// Argument kinds.
const (
	KindHex                Kind = iota // (x) a number strace prints in hex, 0 as "0"
	KindPtr                            // (p) a pointer: NULL or hex
	KindInt                            // (d) a C int, signed decimal
	KindLong                           // (ld) a signed long (offsets, lengths)
	KindUlong                          // (u) an unsigned long (sizes, counts)
	KindOctal                          // (oct) an octal number: umask's mask
	KindMode                           // (mode) a file mode, in octal: 0644, 0100644
	KindSymMode                        // (smode) mknod's mode, its type and special bits named: S_IFREG|S_ISUID|0644
	KindOpenMode                       // (cmode) open's mode, in octal: printed only with O_CREAT or O_TMPFILE
	KindFd                             // (fd) a file descriptor, named with -y
	KindDirfd                          // (dfd) an *at dirfd: AT_FDCWD or an fd
	KindPath                           // (path) a NUL-terminated path, not limited by -s
	KindString                         // (str) a NUL-terminated string limited by -s: an xattr name, memfd_create's name
	KindInBuf                          // (wbuf) bytes passed in, length in the next argument
	KindOutBuf                         // (rbuf) bytes read, length the return value
	KindRandBuf                        // (randbuf) random bytes read, length the return value: always \xNN
	KindOpenFlags                      // (oflags) O_RDONLY|O_CLOEXEC
	KindOpenFlags0                     // (oflags0) open flags without the access mode (dup3, pipe2)
	KindAtFlags                        // (at) AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH
	KindAccessAt                       // (accat) faccessat2 flags
	KindAccessMode                     // (amode) F_OK, R_OK|W_OK
	KindProt                           // (prot) PROT_READ|PROT_WRITE
	KindMmapFlags                      // (mflags) MAP_PRIVATE|MAP_ANONYMOUS
	KindWhence                         // (whence) SEEK_SET
	KindMadvise                        // (madv) MADV_DONTNEED
	KindMremap                         // (mremapf) MREMAP_MAYMOVE
	KindShutdown                       // (shut) SHUT_WR
	KindSockLevel                      // (level) SOL_SOCKET
	KindSockOpt                        // (optname) SO_REUSEADDR, named by the level before it
	KindMsgFlags                       // (msgf) MSG_DONTWAIT|MSG_NOSIGNAL
	KindFamily                         // (fam) AF_INET
	KindSockType                       // (stype) SOCK_STREAM|SOCK_CLOEXEC
	KindSockFlags                      // (sockf) SOCK_CLOEXEC (accept4)
	KindWaitOpts                       // (wopt) WNOHANG|__WALL
	KindCloneFlags                     // (clonef) CLONE_VM|...|SIGCHLD
	KindSignal                         // (sig) SIGTERM
	KindSigHow                         // (how) SIG_BLOCK
	KindSigset                         // (sigset) [HUP INT], size in the last argument
	KindOutSigset                      // (osigset) the old mask, at exit
	KindSigaction                      // (sigact) {sa_handler=..., sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x...}
	KindOutSigaction                   // (osigact) the old action, at exit
	KindFcntlCmd                       // (fcntl) F_SETFD; the argument after it depends on it
	KindIoctl                          // (ioctl) TCGETS or _IOC(...)
	KindFlock                          // (flock) LOCK_EX|LOCK_NB
	KindArchPrctl                      // (archprctl) ARCH_SET_FS
	KindPrctl                          // (prctl) PR_SET_NAME
	KindEpollOp                        // (epollop) EPOLL_CTL_ADD
	KindStatxFlags                     // (statxf) AT_STATX_SYNC_AS_STAT|AT_EMPTY_PATH
	KindStatxMask                      // (statxm) STATX_BASIC_STATS
	KindRenameFlags                    // (renamef) RENAME_NOREPLACE
	KindOpenHow                        // (openhow) {flags=O_RDONLY, mode=0, resolve=0}
	KindArgv                           // (argv) ["ls", "-l"]
	KindEnvp                           // (envp) 0x7ffd... /* 20 vars */, full with -v
	KindPoll                           // (poll) [{fd=3, events=POLLIN}]
	KindTimespec                       // (timespec) {tv_sec=1, tv_nsec=0}
	KindTimeval                        // (timeval) {tv_sec=1, tv_usec=0}
	KindPselectMask                    // (psmask) pselect6's {sigmask=[INT], sigsetsize=8}
	KindIovec                          // (iov) [{iov_base="..", iov_len=5}], count in the next argument
	KindOutIovec                       // (oiov) the same, filled at exit (readv)
	KindSockaddr                       // (sa) a sockaddr passed in, length in the next argument
	KindOutSockaddr                    // (osa) a sockaddr written back, length pointer in the next argument
	KindOutSocklen                     // (olen) [16], or [128 => 16] when the call changed it
	KindMsghdr                         // (msghdr) sendmsg's struct msghdr
	KindOutMsghdr                      // (omsghdr) recvmsg's, at exit
	KindOutPipe                        // (opipe) [3, 4]
	KindOutWaitStatus                  // (owstatus) [{WIFEXITED(s) && WEXITSTATUS(s) == 0}]
	KindOutStat                        // (ostat) {st_mode=S_IFREG|0644, st_size=3391, ...}
	KindOutStatx                       // (ostatx) {stx_mask=..., stx_attributes=0, stx_mode=..., stx_size=..., ...}
	KindOutCwd                         // (ocwd) getcwd's buffer, a string of the return value's length
	KindOutLink                        // (olink) readlink's buffer, the return value's length
	KindGetrandom                      // (grnd) GRND_NONBLOCK
	KindRlimit                         // (rlimit) RLIMIT_NOFILE
	KindClockID                        // (clockid) CLOCK_MONOTONIC
	KindEpollFlags                     // (epollf) EPOLL_CLOEXEC
	KindTimerfdFlags                   // (tfdf) TFD_CLOEXEC|TFD_NONBLOCK, TFD_TIMER_ABSTIME (timerfd_create and _settime)
	KindSignalfdFlags                  // (sfdf) SFD_CLOEXEC|SFD_NONBLOCK
	KindMemfdFlags                     // (mfdf) MFD_CLOEXEC|MFD_HUGETLB|21<<MFD_HUGE_SHIFT
	KindIDType                         // (idtype) waitid's P_ALL, P_PID, P_PGID, P_PIDFD
	KindEventfdFlags                   // (efdf) EFD_CLOEXEC|EFD_NONBLOCK
	KindFadvise                        // (fadv) POSIX_FADV_SEQUENTIAL
	KindFutexOp                        // (futexop) FUTEX_WAIT_PRIVATE; the arguments after it depend on it
	KindFdSet                          // (fdset) select's fd_set: [3 4], size from the first argument
	KindOutDirents                     // (odirents) getdents' buffer: 0x... /* 5 entries */
	KindOutPtr                         // (op) a pointer the kernel writes through, printed (as a pointer) at exit
	KindResumes                        // (resumes) restart_syscall's <... resuming interrupted read ...>, not a register
	KindSockoptVal                     // (optval) setsockopt's value: [1] for an int, else the pointer
	KindOutSockoptVal                  // (ooptval) getsockopt's value, its length read through the next argument
	KindSigframe                       // (frame) rt_sigreturn's signal frame on the stack: {mask=[...]}
	KindRlim                           // (rlim) a struct rlimit passed in: {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}
	KindOutRlim                        // (orlim) a struct rlimit filled in
	KindOutTimespec                    // (otimespec) a struct timespec filled in (clock_gettime)
	KindOutTimeval                     // (otimeval) a struct timeval filled in (gettimeofday)
	KindOutUtsname                     // (outsname) uname's struct utsname
	KindEpollEvent                     // (epollev) epoll_ctl's struct epoll_event
	KindOutEpollEvents                 // (oepollevs) epoll_wait's events, as many as the return value
	KindOutRusage                      // (orusage) getrusage's struct rusage
	KindRusageWho                      // (who) RUSAGE_SELF
	KindOutWaitRusage                  // (wrusage) wait4's struct rusage: shown only when a child was reaped
	KindOutSiginfo                     // (osiginfo) waitid's siginfo_t: {si_signo=SIGCHLD, ...}, {} when none
	KindOutStatfs                      // (ostatfs) struct statfs: {f_type=EXT2_SUPER_MAGIC, f_bsize=4096, ...}
	KindItimerWhich                    // (itimer) ITIMER_REAL
	KindItimerval                      // (itv) a struct itimerval passed in
	KindOutItimerval                   // (oitv) a struct itimerval filled in
	KindItimerspec                     // (its) a struct itimerspec passed in
	KindOutItimerspec                  // (oits) a struct itimerspec filled in
	KindTimerFlags                     // (timerf) TIMER_ABSTIME
	KindSigevent                       // (sigev) timer_create's struct sigevent
	KindOutInt                         // (oint) an int filled in: [5]
	KindOutSysinfo                     // (osysinfo) struct sysinfo
	KindCloneArgs                      // (cloneargs) clone3's struct clone_args, its size in the next argument
	KindUint                           // (ud) a C unsigned int, decimal
	KindCpuset                         // (cpuset) a CPU mask passed in, its size in the previous argument: [0 1 2 3]
	KindOutCpuset                      // (ocpuset) a CPU mask filled in, its size the return value
	KindOutID                          // (ouid) a uid or gid filled in: [0], [-1]
	KindGids                           // (gids) setgroups' list, its count in the previous argument
	KindOutGids                        // (ogids) getgroups' list, as many as the return value
	KindStack                          // (stack) sigaltstack's stack_t passed in
	KindOutStack                       // (ostack) the old stack_t, at exit
	KindOutTms                         // (otms) times's struct tms
	KindOutUint                        // (ouint) an unsigned int filled in: [3]
	KindMsyncFlags                     // (msyncf) MS_SYNC|MS_INVALIDATE
	KindMlockallFlags                  // (mcl) MCL_CURRENT|MCL_FUTURE
	KindMlock2Flags                    // (mlock2f) MLOCK_ONFAULT
	KindInotifyInitFlags               // (inif) IN_NONBLOCK|IN_CLOEXEC
	KindInotifyMask                    // (inmask) IN_MODIFY|IN_CREATE
	KindUnshareFlags                   // (unsharef) CLONE_NEWNS|CLONE_NEWUSER (64 bits)
	KindSetnsType                      // (nstype) CLONE_NEWNET
	KindCloseRangeFlags                // (crf) CLOSE_RANGE_CLOEXEC
	KindPidfdFlags                     // (pidfdf) PIDFD_NONBLOCK
	KindPriorityWhich                  // (prio) PRIO_PROCESS
	KindUtimens                        // (utimens) utimensat's times: [{tv_sec=1, tv_nsec=0} /* date */, UTIME_NOW]
	KindUtimes                         // (utimes) utimes' and futimesat's times: [{tv_sec=1, tv_usec=0} /* date */, ...]
	KindUtimbuf                        // (utimbuf) utime's {actime=1 /* date */, modtime=2 /* date */}
	KindOutTime                        // (otime) time's [1700000000 /* date */]
	KindOutTimezone                    // (otz) gettimeofday's {tz_minuteswest=-60, tz_dsttime=0}
	KindTimezone                       // (tz) settimeofday's struct timezone
	KindHostname                       // (hostname) sethostname's name, its length in the next argument
	KindIPCKey                         // (ipckey) IPC_PRIVATE or the key in hex
	KindIPCGetFlags                    // (ipcflg) semget's and msgget's IPC_CREAT|0600
	KindShmgetFlags                    // (shmflg) shmget's IPC_CREAT|SHM_HUGETLB|21<<SHM_HUGE_SHIFT|0600
	KindShmatFlags                     // (shmatf) SHM_RDONLY
	KindShmctlCmd                      // (shmcmd) IPC_STAT, IPC_64|IPC_STAT
	KindSemctlCmd                      // (semcmd) SETVAL
	KindMsgctlCmd                      // (msgcmd) MSG_STAT
	KindSembuf                         // (sembuf) semop's [{sem_num=0, sem_op=1, sem_flg=SEM_UNDO}], count next
	KindMsgbuf                         // (msgbuf) msgsnd's {mtype=1, mtext="..."}, size next
	KindOutMsgbuf                      // (omsgbuf) msgrcv's, at exit: as many mtext bytes as asked for
	KindIPCMsgFlags                    // (ipcmsgf) MSG_NOERROR|IPC_NOWAIT
	KindXattrValue                     // (xattrval) setxattr's value, its size next
	KindOutXattrValue                  // (oxattrval) getxattr's value, as long as the return value
	KindOutXattrList                   // (oxattrlist) listxattr's names, "a\0b\0"
	KindXattrFlags                     // (xattrf) XATTR_CREATE
	KindOffPtr                         // (offp) splice's offset pointer: [10], NULL
	KindSpliceFlags                    // (splicef) SPLICE_F_MOVE|SPLICE_F_MORE
	KindSyncFileRangeFlags             // (sfrf) SYNC_FILE_RANGE_WRITE
	KindUmountFlags                    // (umountf) MNT_DETACH
	KindSchedPolicy                    // (policy) SCHED_RR
	KindSchedParam                     // (schedparam) a struct sched_param passed in: [5]
	KindOutSchedParam                  // (oschedparam) the same, filled in
	KindSiginfo                        // (siginfo) a siginfo_t passed in (rt_sigqueueinfo)
	KindIoprioWho                      // (iowho) IOPRIO_WHO_PROCESS
	KindIoprio                         // (ioprio) IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4)
	KindMembarrierCmd                  // (membarrier) MEMBARRIER_CMD_QUERY
	KindMembarrierFlags                // (membarrierf) MEMBARRIER_CMD_FLAG_CPU
	KindKcmpType                       // (kcmp) KCMP_FILE
	KindPersonality                    // (persona) PER_LINUX|ADDR_NO_RANDOMIZE, 0xffffffff (the query) in hex
	KindCapHeader                      // (caphdr) {version=_LINUX_CAPABILITY_VERSION_3, pid=0}
	KindCapData                        // (capdata) capset's {effective=1<<CAP_CHOWN|..., permitted=..., inheritable=0}, sized by the header before it
	KindOutCapData                     // (ocapdata) capget's, at exit
	KindMpolMode                       // (mpolmode) mbind's MPOL_BIND|MPOL_F_STATIC_NODES (64 bits)
	KindMpolMode32                     // (mpolmode32) set_mempolicy's (32 bits)
	KindOutMpolMode                    // (ompolmode) get_mempolicy's [MPOL_BIND]
	KindNodemask                       // (nodemask) a node mask, its bit count in the next argument
	KindOutNodemask                    // (onodemask) the same, filled in
	KindMbindFlags                     // (mbindf) MPOL_MF_STRICT|MPOL_MF_MOVE
	KindGetMempolicyFlags              // (gmpolf) MPOL_F_NODE|MPOL_F_ADDR (64 bits)
	KindOutMincore                     // (omincore) mincore's vector, a page count of the previous argument: [1, 0, 1]
	KindOutTimex                       // (otimex) adjtimex's and clock_adjtime's struct timex, at exit
	KindSchedAttr                      // (schedattr) sched_setattr's struct sched_attr
	KindOutSchedAttr                   // (oschedattr) sched_getattr's, its size in the next argument
	numKinds
)

var kindNames = map[string]Kind{
	"x": KindHex, "p": KindPtr, "d": KindInt, "ld": KindLong, "u": KindUlong, "oct": KindOctal,
	"mode": KindMode, "smode": KindSymMode, "cmode": KindOpenMode, "fd": KindFd, "dfd": KindDirfd, "path": KindPath, "str": KindString,
	"wbuf": KindInBuf, "rbuf": KindOutBuf, "randbuf": KindRandBuf, "oflags": KindOpenFlags, "oflags0": KindOpenFlags0,
	"at": KindAtFlags, "accat": KindAccessAt, "amode": KindAccessMode, "prot": KindProt,
	"mflags": KindMmapFlags, "whence": KindWhence, "madv": KindMadvise, "mremapf": KindMremap,
	"shut": KindShutdown, "level": KindSockLevel, "optname": KindSockOpt, "msgf": KindMsgFlags,
	"fam": KindFamily, "stype": KindSockType, "sockf": KindSockFlags,
	"wopt": KindWaitOpts, "clonef": KindCloneFlags, "sig": KindSignal, "how": KindSigHow,
	"sigset": KindSigset, "osigset": KindOutSigset, "sigact": KindSigaction, "osigact": KindOutSigaction,
	"fcntl": KindFcntlCmd, "ioctl": KindIoctl, "flock": KindFlock, "archprctl": KindArchPrctl,
	"prctl": KindPrctl, "epollop": KindEpollOp, "statxf": KindStatxFlags, "statxm": KindStatxMask,
	"renamef": KindRenameFlags, "openhow": KindOpenHow, "argv": KindArgv, "envp": KindEnvp,
	"poll": KindPoll, "timespec": KindTimespec, "timeval": KindTimeval, "psmask": KindPselectMask, "iov": KindIovec, "oiov": KindOutIovec,
	"sa": KindSockaddr, "osa": KindOutSockaddr, "olen": KindOutSocklen, "msghdr": KindMsghdr,
	"omsghdr": KindOutMsghdr, "opipe": KindOutPipe, "owstatus": KindOutWaitStatus,
	"grnd": KindGetrandom, "rlimit": KindRlimit, "clockid": KindClockID, "epollf": KindEpollFlags,
	"tfdf": KindTimerfdFlags, "sfdf": KindSignalfdFlags, "mfdf": KindMemfdFlags, "idtype": KindIDType,
	"efdf": KindEventfdFlags, "fadv": KindFadvise, "futexop": KindFutexOp, "fdset": KindFdSet,
	"odirents": KindOutDirents, "ostat": KindOutStat, "ostatx": KindOutStatx, "ocwd": KindOutCwd, "olink": KindOutLink,
	"op": KindOutPtr, "resumes": KindResumes, "optval": KindSockoptVal, "ooptval": KindOutSockoptVal, "frame": KindSigframe,
	"rlim": KindRlim, "orlim": KindOutRlim, "otimespec": KindOutTimespec, "otimeval": KindOutTimeval,
	"outsname": KindOutUtsname, "epollev": KindEpollEvent, "oepollevs": KindOutEpollEvents, "orusage": KindOutRusage, "who": KindRusageWho,
	"wrusage": KindOutWaitRusage, "osiginfo": KindOutSiginfo, "ostatfs": KindOutStatfs, "itimer": KindItimerWhich,
	"itv": KindItimerval, "oitv": KindOutItimerval, "its": KindItimerspec, "oits": KindOutItimerspec,
	"timerf": KindTimerFlags, "sigev": KindSigevent, "oint": KindOutInt,
	"osysinfo": KindOutSysinfo, "cloneargs": KindCloneArgs, "ud": KindUint,
	"cpuset": KindCpuset, "ocpuset": KindOutCpuset, "ouid": KindOutID, "gids": KindGids, "ogids": KindOutGids,
	"stack": KindStack, "ostack": KindOutStack, "otms": KindOutTms, "ouint": KindOutUint,
	"msyncf": KindMsyncFlags, "mcl": KindMlockallFlags, "mlock2f": KindMlock2Flags, "inif": KindInotifyInitFlags,
	"inmask": KindInotifyMask, "unsharef": KindUnshareFlags, "nstype": KindSetnsType, "crf": KindCloseRangeFlags,
	"pidfdf": KindPidfdFlags, "prio": KindPriorityWhich,
	"utimens": KindUtimens, "utimes": KindUtimes, "utimbuf": KindUtimbuf,
	"otime": KindOutTime, "otz": KindOutTimezone, "tz": KindTimezone, "hostname": KindHostname,
	"ipckey": KindIPCKey, "ipcflg": KindIPCGetFlags, "shmflg": KindShmgetFlags, "shmatf": KindShmatFlags,
	"shmcmd": KindShmctlCmd, "semcmd": KindSemctlCmd, "msgcmd": KindMsgctlCmd, "sembuf": KindSembuf,
	"msgbuf": KindMsgbuf, "omsgbuf": KindOutMsgbuf, "ipcmsgf": KindIPCMsgFlags, "xattrval": KindXattrValue, "oxattrval": KindOutXattrValue,
	"oxattrlist": KindOutXattrList, "xattrf": KindXattrFlags, "offp": KindOffPtr, "splicef": KindSpliceFlags,
	"sfrf": KindSyncFileRangeFlags, "umountf": KindUmountFlags, "policy": KindSchedPolicy,
	"schedparam": KindSchedParam, "oschedparam": KindOutSchedParam, "siginfo": KindSiginfo,
	"iowho": KindIoprioWho, "ioprio": KindIoprio, "membarrier": KindMembarrierCmd, "membarrierf": KindMembarrierFlags,
	"kcmp": KindKcmpType, "persona": KindPersonality,
	"caphdr": KindCapHeader, "capdata": KindCapData, "ocapdata": KindOutCapData,
	"mpolmode": KindMpolMode, "mpolmode32": KindMpolMode32, "ompolmode": KindOutMpolMode,
	"nodemask": KindNodemask, "onodemask": KindOutNodemask, "mbindf": KindMbindFlags, "gmpolf": KindGetMempolicyFlags,
	"omincore": KindOutMincore, "otimex": KindOutTimex, "schedattr": KindSchedAttr, "oschedattr": KindOutSchedAttr,
}

// String returns the kind's signature name ("path").
func (k Kind) String() string {
	for n, v := range kindNames {
		if v == k {
			return n
		}
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// isOut reports whether arguments of kind k are decoded at exit.
func (k Kind) isOut() bool { return kinds[k].exit != nil }

// kindDef renders one kind. In-arguments have enter; out-arguments have
// exit and, if they need a value from before the call, save.
type kindDef struct {
	enter func(d *Decoded, i int) string
	save  func(d *Decoded, i int)
	exit  func(d *Decoded, i int) string
}

var kinds [numKinds]kindDef

func flagsKind(s *linux.FlagSet) kindDef {
	return kindDef{enter: func(d *Decoded, i int) string { return s.Format(d.c.Args[i]) }}
}

func flags32Kind(s *linux.FlagSet) kindDef {
	return kindDef{enter: func(d *Decoded, i int) string { return s.Format(uint64(uint32(d.c.Args[i]))) }}
}

func valueKind(s *linux.ValueSet) kindDef {
	return kindDef{enter: func(d *Decoded, i int) string { return s.Format(uint64(uint32(d.c.Args[i]))) }}
}

func noSave(*Decoded, int) {}

// outStruct is a structure the kernel fills in: rendered at exit, or as
// its pointer when the call failed and wrote nothing.
func outStruct(render func(d *Decoded, addr uint64) string) kindDef {
	return kindDef{save: noSave, exit: func(d *Decoded, i int) string {
		if d.ret < 0 || d.c.Args[i] == 0 {
			return ptr(d.c.Args[i])
		}
		return render(d, d.c.Args[i])
	}}
}

func init() {
	kinds = [numKinds]kindDef{
		KindHex:     {enter: func(d *Decoded, i int) string { return hexs(d.c.Args[i]) }},
		KindPtr:     {enter: func(d *Decoded, i int) string { return ptr(d.c.Args[i]) }},
		KindInt:     {enter: func(d *Decoded, i int) string { return strconv.Itoa(int(int32(d.c.Args[i]))) }},
		KindLong:    {enter: func(d *Decoded, i int) string { return strconv.FormatInt(int64(d.c.Args[i]), 10) }},
		KindUlong:   {enter: func(d *Decoded, i int) string { return strconv.FormatUint(d.c.Args[i], 10) }},
		KindOctal:   {enter: func(d *Decoded, i int) string { return octal(uint64(uint32(d.c.Args[i]))) }},
		KindMode:    {enter: func(d *Decoded, i int) string { return octal(uint64(uint32(d.c.Args[i]))) }},
		KindSymMode: {enter: func(d *Decoded, i int) string { return formatMode(uint32(d.c.Args[i])) }},
		KindOpenMode: {enter: func(d *Decoded, i int) string {
			if d.c.Args[i-1]&(linux.O_CREAT|linux.O_TMPFILE_BIT) == 0 {
				d.omit[i] = true
			}
			return octal(uint64(uint32(d.c.Args[i])))
		}},
		KindFd:     {enter: func(d *Decoded, i int) string { return d.fd(int64(int32(d.c.Args[i]))) }},
		KindDirfd:  {enter: func(d *Decoded, i int) string { return d.dirfd(d.c.Args[i]) }},
		KindPath:   {enter: func(d *Decoded, i int) string { return d.path(d.c.Args[i]) }},
		KindString: {enter: func(d *Decoded, i int) string { return d.cstring(d.c.Args[i]) }},
		KindInBuf:  {enter: func(d *Decoded, i int) string { return d.buffer(d.c.Args[i], d.c.Args[i+1]) }},
		KindOutBuf: {save: noSave, exit: func(d *Decoded, i int) string {
			return d.buffer(d.c.Args[i], uint64(d.ret))
		}},
		KindRandBuf: {save: noSave, exit: func(d *Decoded, i int) string {
			return d.bufferHex(d.c.Args[i], uint64(d.ret), 2)
		}},
		KindOpenFlags:    {enter: func(d *Decoded, i int) string { return formatOpenFlags(d.c.Args[i]) }},
		KindOpenFlags0:   flags32Kind(linux.OpenFlags),
		KindAtFlags:      flags32Kind(linux.AtFlags),
		KindAccessAt:     flags32Kind(linux.AccessAtFlags),
		KindAccessMode:   flags32Kind(linux.AccessModes),
		KindProt:         flagsKind(linux.ProtFlags),
		KindMmapFlags:    {enter: func(d *Decoded, i int) string { return formatMmapFlags(d.c.Args[i]) }},
		KindWhence:       valueKind(linux.SeekWhence),
		KindMadvise:      valueKind(linux.Madvise),
		KindMremap:       flagsKind(linux.MremapFlags),
		KindShutdown:     valueKind(linux.ShutdownHow),
		KindSockLevel:    valueKind(linux.SockoptLevels),
		KindSockOpt:      {enter: func(d *Decoded, i int) string { return formatSockopt(d.c.Args[i-1], d.c.Args[i]) }},
		KindMsgFlags:     flags32Kind(linux.MsgFlags),
		KindFamily:       valueKind(linux.AddressFamilies),
		KindSockType:     {enter: func(d *Decoded, i int) string { return formatSockType(d.c.Args[i]) }},
		KindSockFlags:    flags32Kind(linux.SocketTypeFlags),
		KindWaitOpts:     flags32Kind(linux.WaitOptions),
		KindCloneFlags:   {enter: func(d *Decoded, i int) string { return formatCloneFlags(d.c.Args[i]) }},
		KindSignal:       {enter: func(d *Decoded, i int) string { return linux.FormatSignal(int64(int32(d.c.Args[i]))) }},
		KindSigHow:       valueKind(linux.SigprocmaskHow),
		KindSigset:       {enter: func(d *Decoded, i int) string { return d.sigset(d.c.Args[i], d.sigsetSize()) }},
		KindOutSigset:    {save: noSave, exit: func(d *Decoded, i int) string { return d.sigset(d.c.Args[i], d.sigsetSize()) }},
		KindSigaction:    {enter: func(d *Decoded, i int) string { return d.sigaction(d.c.Args[i]) }},
		KindOutSigaction: {save: noSave, exit: func(d *Decoded, i int) string { return d.sigaction(d.c.Args[i]) }},
		KindFcntlCmd:     valueKind(linux.FcntlCmds),
		KindIoctl:        {enter: func(d *Decoded, i int) string { return formatIoctl(uint32(d.c.Args[i])) }},
		KindFlock:        flags32Kind(linux.FlockOps),
		KindArchPrctl:    valueKind(linux.ArchPrctlCodes),
		KindPrctl:        valueKind(linux.PrctlOptions),
		KindEpollOp:      valueKind(linux.EpollCtlOps),
		KindStatxFlags:   {enter: func(d *Decoded, i int) string { return formatStatxFlags(d.c.Args[i]) }},
		KindStatxMask:    flags32Kind(linux.StatxMask),
		KindRenameFlags:  flags32Kind(linux.RenameFlags),
		KindOpenHow:      {enter: func(d *Decoded, i int) string { return d.openHow(d.c.Args[i], d.c.Args[i+1]) }},
		KindArgv:         {enter: func(d *Decoded, i int) string { return d.argv(d.c.Args[i], false) }},
		KindEnvp:         {enter: func(d *Decoded, i int) string { return d.argv(d.c.Args[i], !d.o.Verbose) }},
		KindPoll:         {enter: func(d *Decoded, i int) string { return d.pollfds(d.c.Args[i], d.c.Args[i+1]) }},
		KindTimespec:     {enter: func(d *Decoded, i int) string { return d.timespec(d.c.Args[i]) }},
		KindTimeval: {enter: func(d *Decoded, i int) string {
			if d.c.Args[i] == 0 {
				return "NULL"
			}
			return d.timeval(d.c.Args[i])
		}},
		KindPselectMask: {enter: func(d *Decoded, i int) string { return d.pselectMask(d.c.Args[i]) }},
		KindIovec:       {enter: func(d *Decoded, i int) string { return d.iovec(d.c.Args[i], d.c.Args[i+1], -1) }},
		KindOutIovec: {save: noSave, exit: func(d *Decoded, i int) string {
			return d.iovec(d.c.Args[i], d.c.Args[i+1], d.ret)
		}},
		KindSockaddr: {enter: func(d *Decoded, i int) string { return d.sockaddr(d.c.Args[i], d.c.Args[i+1]) }},
		KindOutSockaddr: {save: noSave, exit: func(d *Decoded, i int) string {
			n, ok := d.u32(d.c.Args[i+1])
			if !ok {
				return ptr(d.c.Args[i])
			}
			if sv, had := d.saved[i+1], d.okSav[i+1]; had && uint64(n) > sv {
				n = uint32(sv) // the kernel reports the full length; only sv bytes were written
			}
			return d.sockaddr(d.c.Args[i], uint64(n))
		}},
		KindOutSocklen: {save: func(d *Decoded, i int) {
			if v, ok := d.u32(d.c.Args[i]); ok {
				d.saved[i], d.okSav[i] = uint64(v), true
			}
		}, exit: func(d *Decoded, i int) string {
			v, ok := d.u32(d.c.Args[i])
			if !ok {
				return ptr(d.c.Args[i])
			}
			if d.okSav[i] && uint64(v) != d.saved[i] {
				return "[" + strconv.FormatUint(d.saved[i], 10) + " => " + strconv.FormatUint(uint64(v), 10) + "]"
			}
			return "[" + strconv.FormatUint(uint64(v), 10) + "]"
		}},
		KindMsghdr:    {enter: func(d *Decoded, i int) string { return d.msghdr(d.c.Args[i], -1) }},
		KindOutMsghdr: {save: noSave, exit: func(d *Decoded, i int) string { return d.msghdr(d.c.Args[i], d.ret) }},
		KindOutPipe: {save: noSave, exit: func(d *Decoded, i int) string {
			b, err := d.read(d.c.Args[i], 8)
			if err != nil {
				return ptr(d.c.Args[i])
			}
			return "[" + d.fd(int64(int32(le32(b)))) + ", " + d.fd(int64(int32(le32(b[4:])))) + "]"
		}},
		KindOutPtr: {save: noSave, exit: func(d *Decoded, i int) string { return ptr(d.c.Args[i]) }},
		KindResumes: {enter: func(d *Decoded, i int) string {
			name := d.c.Resumes
			if name == "" {
				name = "system call"
			}
			return "<... resuming interrupted " + name + " ...>"
		}},
		KindSockoptVal: {enter: func(d *Decoded, i int) string {
			return d.sockoptValue(d.c.Args[i-2], d.c.Args[i-1], d.c.Args[i], int32(d.c.Args[i+1]), false)
		}},
		KindOutSockoptVal: {save: noSave, exit: func(d *Decoded, i int) string {
			if d.ret < 0 {
				return ptr(d.c.Args[i])
			}
			n, ok := d.u32(d.c.Args[i+1])
			if !ok {
				return ptr(d.c.Args[i])
			}
			if d.okSav[i+1] && int32(d.saved[i+1]) <= 0 {
				return ptr(d.c.Args[i])
			}
			return d.sockoptValue(d.c.Args[i-2], d.c.Args[i-1], d.c.Args[i], int32(n), true)
		}},
		KindRlim:           {enter: func(d *Decoded, i int) string { return d.rlimit(d.c.Args[i]) }},
		KindOutRlim:        outStruct(func(d *Decoded, a uint64) string { return d.rlimit(a) }),
		KindOutTimespec:    outStruct(func(d *Decoded, a uint64) string { return d.timespec(a) }),
		KindOutTimeval:     outStruct(func(d *Decoded, a uint64) string { return d.timeval(a) }),
		KindOutUtsname:     outStruct(func(d *Decoded, a uint64) string { return d.utsname(a) }),
		KindEpollEvent:     {enter: func(d *Decoded, i int) string { return d.epollEvents(d.c.Args[i], 1, false) }},
		KindOutEpollEvents: outStruct(func(d *Decoded, a uint64) string { return d.epollEvents(a, d.ret, true) }),
		KindOutRusage:      outStruct(func(d *Decoded, a uint64) string { return d.rusage(a) }),
		KindRusageWho:      valueKind(linux.RusageWho),
		KindOutWaitRusage: {save: noSave, exit: func(d *Decoded, i int) string {
			if d.ret <= 0 { // WNOHANG with nothing reaped: nothing written
				return ptr(d.c.Args[i])
			}
			return d.rusage(d.c.Args[i])
		}},
		KindOutSiginfo:    outStruct(func(d *Decoded, a uint64) string { return d.siginfo(a) }),
		KindOutStatfs:     outStruct(func(d *Decoded, a uint64) string { return d.statfs(a) }),
		KindItimerWhich:   valueKind(linux.ItimerWhich),
		KindItimerval:     {enter: func(d *Decoded, i int) string { return d.itimerval(d.c.Args[i]) }},
		KindOutItimerval:  outStruct(func(d *Decoded, a uint64) string { return d.itimerval(a) }),
		KindItimerspec:    {enter: func(d *Decoded, i int) string { return d.itimerspec(d.c.Args[i]) }},
		KindOutItimerspec: outStruct(func(d *Decoded, a uint64) string { return d.itimerspec(a) }),
		KindTimerFlags:    flags32Kind(linux.TimerFlags),
		KindSigevent:      {enter: func(d *Decoded, i int) string { return d.sigevent(d.c.Args[i]) }},
		KindOutInt:        outStruct(func(d *Decoded, a uint64) string { return d.intArray(a, 1) }),
		KindOutSysinfo:    outStruct(func(d *Decoded, a uint64) string { return d.sysinfo(a) }),
		KindCloneArgs:     {enter: func(d *Decoded, i int) string { return d.cloneArgs(d.c.Args[i], d.c.Args[i+1]) }},
		KindUint:          {enter: func(d *Decoded, i int) string { return strconv.FormatUint(uint64(uint32(d.c.Args[i])), 10) }},
		KindCpuset:        {enter: func(d *Decoded, i int) string { return d.cpuset(d.c.Args[i], d.c.Args[i-1]) }},
		KindOutCpuset:     outStruct(func(d *Decoded, a uint64) string { return d.cpuset(a, uint64(d.ret)) }),
		KindOutID: outStruct(func(d *Decoded, a uint64) string {
			if v, ok := d.u32(a); ok {
				return "[" + formatID(v) + "]"
			}
			return hexs(a)
		}),
		KindGids:             {enter: func(d *Decoded, i int) string { return d.idArray(d.c.Args[i], int64(int32(d.c.Args[i-1]))) }},
		KindOutGids:          outStruct(func(d *Decoded, a uint64) string { return d.idArray(a, d.ret) }),
		KindStack:            {enter: func(d *Decoded, i int) string { return d.stackT(d.c.Args[i]) }},
		KindOutStack:         outStruct(func(d *Decoded, a uint64) string { return d.stackT(a) }),
		KindOutTms:           outStruct(func(d *Decoded, a uint64) string { return d.tms(a) }),
		KindMsyncFlags:       flags32Kind(linux.MsyncFlags),
		KindMlockallFlags:    flags32Kind(linux.MlockallFlags),
		KindMlock2Flags:      flags32Kind(linux.Mlock2Flags),
		KindInotifyInitFlags: flags32Kind(linux.InotifyInitFlags),
		KindInotifyMask:      flags32Kind(linux.InotifyMask),
		KindUnshareFlags:     flagsKind(linux.UnshareFlags),
		KindSetnsType:        flags32Kind(linux.SetnsTypes),
		KindCloseRangeFlags:  flags32Kind(linux.CloseRangeFlags),
		KindPidfdFlags:       flags32Kind(linux.PidfdFlags),
		KindPriorityWhich:    valueKind(linux.PriorityWhich),
		KindUtimens:          {enter: func(d *Decoded, i int) string { return d.utimens(d.c.Args[i]) }},
		KindUtimes:           {enter: func(d *Decoded, i int) string { return d.utimes(d.c.Args[i]) }},
		KindUtimbuf:          {enter: func(d *Decoded, i int) string { return d.utimbuf(d.c.Args[i]) }},
		KindOutTime: outStruct(func(d *Decoded, a uint64) string {
			b, err := d.read(a, 8)
			if err != nil {
				return hexs(a)
			}
			t := int64(le64(b))
			return "[" + strconv.FormatInt(t, 10) + dateComment(t, 0, 0, 0) + "]"
		}),
		KindOutTimezone:        outStruct(func(d *Decoded, a uint64) string { return d.timezone(a) }),
		KindTimezone:           {enter: func(d *Decoded, i int) string { return d.timezone(d.c.Args[i]) }},
		KindHostname:           {enter: func(d *Decoded, i int) string { return d.hostname(d.c.Args[i], d.c.Args[i+1]) }},
		KindIPCKey:             {enter: func(d *Decoded, i int) string { return linux.IPCPrivate.Format(uint64(uint32(d.c.Args[i]))) }},
		KindIPCGetFlags:        {enter: func(d *Decoded, i int) string { return formatIPCGetFlags(d.c.Args[i]) }},
		KindShmgetFlags:        {enter: func(d *Decoded, i int) string { return formatShmgetFlags(d.c.Args[i]) }},
		KindShmatFlags:         flags32Kind(linux.ShmFlags),
		KindShmctlCmd:          {enter: func(d *Decoded, i int) string { return formatIPCCmd(linux.ShmctlCmds, d.c.Args[i]) }},
		KindSemctlCmd:          {enter: func(d *Decoded, i int) string { return formatIPCCmd(linux.SemctlCmds, d.c.Args[i]) }},
		KindMsgctlCmd:          {enter: func(d *Decoded, i int) string { return formatIPCCmd(linux.MsgctlCmds, d.c.Args[i]) }},
		KindSembuf:             {enter: func(d *Decoded, i int) string { return d.sembufs(d.c.Args[i], d.c.Args[i+1]) }},
		KindMsgbuf:             {enter: func(d *Decoded, i int) string { return d.msgbuf(d.c.Args[i], d.c.Args[i+1]) }},
		KindOutMsgbuf:          outStruct(func(d *Decoded, a uint64) string { return d.msgbuf(a, d.c.Args[2]) }),
		KindIPCMsgFlags:        flags32Kind(linux.IPCMsgFlags),
		KindXattrValue:         {enter: func(d *Decoded, i int) string { return d.xattrValue(d.c.Args[i], d.c.Args[i+1]) }},
		KindOutXattrValue:      outStruct(func(d *Decoded, a uint64) string { return d.xattrValue(a, uint64(d.ret)) }),
		KindOutXattrList:       outStruct(func(d *Decoded, a uint64) string { return d.xattrList(a, uint64(d.ret)) }),
		KindXattrFlags:         flags32Kind(linux.XattrFlags),
		KindOffPtr:             {enter: func(d *Decoded, i int) string { return d.offPtr(d.c.Args[i]) }},
		KindSpliceFlags:        flags32Kind(linux.SpliceFlags),
		KindSyncFileRangeFlags: flags32Kind(linux.SyncFileRangeFlags),
		KindUmountFlags:        flags32Kind(linux.UmountFlags),
		KindSchedPolicy:        valueKind(linux.SchedPolicies),
		KindSchedParam:         {enter: func(d *Decoded, i int) string { return d.schedParam(d.c.Args[i]) }},
		KindOutSchedParam:      outStruct(func(d *Decoded, a uint64) string { return d.schedParam(a) }),
		KindSiginfo: {enter: func(d *Decoded, i int) string {
			if d.c.Args[i] == 0 {
				return "NULL"
			}
			return d.siginfo(d.c.Args[i])
		}},
		KindIoprioWho:       valueKind(linux.IoprioWho),
		KindIoprio:          {enter: func(d *Decoded, i int) string { return formatIoprio(d.c.Args[i]) }},
		KindMembarrierCmd:   valueKind(linux.MembarrierCmds),
		KindMembarrierFlags: flags32Kind(linux.MembarrierFlags),
		KindKcmpType:        valueKind(linux.KcmpTypes),
		KindCapHeader:       {enter: func(d *Decoded, i int) string { return d.capHeader(d.c.Args[i]) }},
		KindCapData:         {enter: func(d *Decoded, i int) string { return d.capData(d.c.Args[i-1], d.c.Args[i]) }},
		KindOutCapData:      outStruct(func(d *Decoded, a uint64) string { return d.capData(d.c.Args[0], a) }),
		KindMpolMode:        {enter: func(d *Decoded, i int) string { return formatMpolMode(d.c.Args[i]) }},
		KindMpolMode32:      {enter: func(d *Decoded, i int) string { return formatMpolMode(uint64(uint32(d.c.Args[i]))) }},
		KindOutMpolMode:     outStruct(func(d *Decoded, a uint64) string { return d.mpolModeOut(a) }),
		KindNodemask: {enter: func(d *Decoded, i int) string {
			return d.nodemask(d.c.Args[i], d.c.Args[i+1])
		}},
		KindOutNodemask:       outStruct(func(d *Decoded, a uint64) string { return d.nodemask(a, d.c.Args[2]) }),
		KindMbindFlags:        flags32Kind(linux.MbindFlags),
		KindGetMempolicyFlags: flagsKind(linux.GetMempolicyFlags),
		KindOutMincore:        outStruct(func(d *Decoded, a uint64) string { return d.mincore(a, d.c.Args[1]) }),
		KindOutTimex:          outStruct(func(d *Decoded, a uint64) string { return d.timex(a) }),
		KindSchedAttr:         {enter: func(d *Decoded, i int) string { return d.schedAttr(d.c.Args[i], 0, true) }},
		KindOutSchedAttr: outStruct(func(d *Decoded, a uint64) string {
			if uint32(d.c.Args[2]) == 0 {
				return hexs(a)
			}
			return d.schedAttr(a, uint32(d.c.Args[2]), false)
		}),
		KindPersonality: {enter: func(d *Decoded, i int) string {
			if p := uint32(d.c.Args[i]); p != 0xffffffff {
				return formatPersonality(p)
			}
			return "0xffffffff"
		}},
		KindOutUint: outStruct(func(d *Decoded, a uint64) string {
			if v, ok := d.u32(a); ok {
				return "[" + strconv.FormatUint(uint64(v), 10) + "]"
			}
			return hexs(a)
		}),
		KindSigframe: {enter: func(d *Decoded, i int) string {
			// x86-64: at rt_sigreturn the frame (struct rt_sigframe) starts
			// 8 bytes below the stack pointer; uc.uc_sigmask is 304 bytes
			// into it (pretcode 8, uc_flags 8, uc_link 8, uc_stack 24,
			// uc_mcontext 256). arch/x86/include/asm/sigframe.h
			if d.c.SP == 0 {
				return "{mask=" + ptr(0) + "}"
			}
			return "{mask=" + d.sigset(d.c.SP-8+304, 8) + "}"
		}},
		KindOutWaitStatus: {save: noSave, exit: func(d *Decoded, i int) string {
			if d.c.Args[i] == 0 {
				return "NULL"
			}
			if d.ret <= 0 { // WNOHANG with nothing to report, or a failure: nothing written
				return hexs(d.c.Args[i])
			}
			b, err := d.read(d.c.Args[i], 4)
			if err != nil {
				return hexs(d.c.Args[i])
			}
			return "[" + formatWaitStatus(le32(b)) + "]"
		}},
		KindGetrandom:     flags32Kind(linux.GetrandomFlags),
		KindRlimit:        valueKind(linux.Rlimits),
		KindClockID:       valueKind(linux.ClockIDs),
		KindEpollFlags:    flags32Kind(linux.EpollCreateFlags),
		KindTimerfdFlags:  flags32Kind(linux.TimerfdFlags),
		KindSignalfdFlags: flags32Kind(linux.SignalfdFlags),
		KindMemfdFlags:    {enter: func(d *Decoded, i int) string { return formatMemfdFlags(d.c.Args[i]) }},
		KindIDType:        valueKind(linux.IDTypes),
		KindEventfdFlags:  flags32Kind(linux.EventfdFlags),
		KindFadvise:       valueKind(linux.FadviseAdvice),
		KindFutexOp:       {enter: func(d *Decoded, i int) string { return formatFutexOp(d.c.Args[i]) }},
		KindFdSet:         {enter: func(d *Decoded, i int) string { return d.fdset(d.c.Args[i], d.c.Args[0]) }},
		KindOutDirents: {save: noSave, exit: func(d *Decoded, i int) string {
			return hexs(d.c.Args[i]) + " /* " + strconv.Itoa(d.countDirents(d.c.Args[i], d.ret)) + " entries */"
		}},
		KindOutStat:  {save: noSave, exit: func(d *Decoded, i int) string { return d.stat(d.c.Args[i]) }},
		KindOutStatx: {save: noSave, exit: func(d *Decoded, i int) string { return d.statx(d.c.Args[i]) }},
		KindOutCwd: {save: noSave, exit: func(d *Decoded, i int) string {
			if d.ret <= 0 {
				return ptr(d.c.Args[i])
			}
			s, _, err := d.readCString(d.c.Args[i], int(min(d.ret, pathMax)))
			if err != nil {
				return hexs(d.c.Args[i])
			}
			return d.quote(s, false)
		}},
		KindOutLink: {save: noSave, exit: func(d *Decoded, i int) string {
			return d.buffer(d.c.Args[i], uint64(d.ret))
		}},
	}
	for k := range kinds {
		if kinds[k].exit != nil && kinds[k].save == nil || kinds[k].exit == nil && kinds[k].enter == nil {
			panic("syscalls: kind " + Kind(k).String() + " is incomplete")
		}
		if kinds[k].exit != nil {
			kinds[k].enter = func(d *Decoded, i int) string { return ptr(d.c.Args[i]) }
		}
	}
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func le64(b []byte) uint64 { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }

// u32 reads a 32-bit value at addr.
func (d *Decoded) u32(addr uint64) (uint32, bool) {
	b, err := d.read(addr, 4)
	if err != nil {
		return 0, false
	}
	return le32(b), true
}

func (d *Decoded) dirfd(v uint64) string {
	if int32(v) == linux.AT_FDCWD {
		if d.o.FdPaths > 0 && d.o.Fds != nil {
			if n := d.o.Fds.FdName(d.c.Pid, linux.AT_FDCWD); n != "" {
				return "AT_FDCWD" + d.fdSuffix(n)
			}
		}
		return "AT_FDCWD"
	}
	return d.fd(int64(int32(v)))
}

// formatMode renders a mode as strace's print_symbolic_mode_t (mknod's
// mode, st_mode): the type name if any type bits are set, the special bits
// named, then the permission bits in octal ("S_IFREG|0644",
// "S_IFDIR|S_ISVTX|0777", "S_ISUID|0755", "0644", "000"); an unknown type
// prints the whole mode in octal. Other calls' modes are plain octal.
func formatMode(m uint32) string {
	t := uint64(m & 0170000)
	perm := uint64(m &^ 0170000)
	var name string
	if t != 0 {
		var ok bool
		if name, ok = linux.ModeTypes.Name(t); !ok {
			return octal(uint64(m))
		}
		name += "|"
	}
	for _, b := range [...]struct {
		bit  uint64
		name string
	}{{04000, "S_ISUID"}, {02000, "S_ISGID"}, {01000, "S_ISVTX"}} {
		if perm&b.bit != 0 {
			name += b.name + "|"
			perm &^= b.bit
		}
	}
	return name + octal(perm)
}

func formatOpenFlags(v uint64) string {
	v = uint64(uint32(v))
	var b strings.Builder
	acc, _ := linux.OpenAccMode.Name(v & 3)
	b.WriteString(acc)
	rest := linux.OpenFlags.FormatTo(&b, v&^3)
	if rest != 0 {
		b.WriteString("|" + hexs(rest))
	}
	return b.String()
}

func formatMmapFlags(v uint64) string {
	v = uint64(uint32(v))
	var b strings.Builder
	b.WriteString(linux.MapType.Format(v & 0xf))
	hugeBits := v >> linux.MAP_HUGE_SHIFT & linux.MAP_HUGE_MASK
	rest := linux.MapFlags.FormatTo(&b, v&^0xf&^(linux.MAP_HUGE_MASK<<linux.MAP_HUGE_SHIFT))
	if rest != 0 {
		b.WriteString("|" + hexs(rest))
	}
	if hugeBits != 0 {
		b.WriteString("|" + strconv.FormatUint(hugeBits, 10) + "<<MAP_HUGE_SHIFT")
	}
	return b.String()
}

// formatMemfdFlags renders memfd_create's flags as strace does: the named
// bits (with "MFD_???" when none is), then the huge page size.
func formatMemfdFlags(v uint64) string {
	v = uint64(uint32(v))
	huge := v >> linux.MFD_HUGE_SHIFT & linux.MFD_HUGE_MASK
	v &^= linux.MFD_HUGE_MASK << linux.MFD_HUGE_SHIFT
	if huge == 0 {
		return linux.MemfdFlags.Format(v)
	}
	s := strconv.FormatUint(huge, 10) + "<<MFD_HUGE_SHIFT"
	if v == 0 {
		return s
	}
	return linux.MemfdFlags.Format(v) + "|" + s
}

func formatSockType(v uint64) string {
	v = uint64(uint32(v))
	var b strings.Builder
	b.WriteString(linux.SocketTypes.Format(v & 0xf))
	rest := linux.SocketTypeFlags.FormatTo(&b, v&^0xf)
	if rest != 0 {
		b.WriteString("|" + hexs(rest) + " /* SOCK_??? */")
	}
	return b.String()
}

func formatCloneFlags(v uint64) string {
	sig := v & 0xff
	var b strings.Builder
	rest := linux.CloneFlags.FormatTo(&b, v&^0xff)
	if rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString(hexs(rest))
	}
	if sig != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString(linux.FormatSignal(int64(sig)))
	}
	if b.Len() == 0 {
		return "0"
	}
	return b.String()
}

func formatSockopt(level, name uint64) string {
	var set *linux.ValueSet
	switch uint32(level) {
	case 1:
		set = linux.SocketOptions
	case 6:
		set = linux.TCPOptions
	case 0:
		set = linux.IPOptions
	case 41:
		set = linux.IPv6Options
	default:
		return strconv.FormatUint(uint64(uint32(name)), 10)
	}
	return set.Format(uint64(uint32(name)))
}

// formatIoctl names an ioctl request, or spells out its _IOC fields.
func formatIoctl(req uint32) string {
	if n, ok := linux.Ioctls.Name(uint64(req)); ok {
		return n
	}
	dir := [...]string{"_IOC_NONE", "_IOC_WRITE", "_IOC_READ", "_IOC_READ|_IOC_WRITE"}[req>>30]
	return "_IOC(" + dir + ", " + hexs(uint64(req>>8&0xff)) + ", " + hexs(uint64(req&0xff)) + ", " +
		hexs(uint64(req>>16&0x3fff)) + ")"
}

// formatWaitStatus renders a wait status as strace's printstatus.
func formatWaitStatus(s uint32) string {
	sig := func(n uint32) string { return linux.FormatSignal(int64(n)) }
	var out string
	switch {
	case s&0xff == 0x7f: // stopped
		out = "{WIFSTOPPED(s) && WSTOPSIG(s) == " + sig(s>>8&0xff) + "}"
		if ev := s >> 16; ev != 0 {
			return out + "|" + ptraceEvent(ev) + "<<16"
		}
		return out
	case s == 0xffff:
		return "{WIFCONTINUED(s)}"
	case s&0x7f == 0: // exited
		out = "{WIFEXITED(s) && WEXITSTATUS(s) == " + strconv.Itoa(int(s>>8&0xff)) + "}"
		if s&^0xffff != 0 {
			return out + "|" + hexs(uint64(s&^0xffff))
		}
		return out
	default: // signaled
		out = "{WIFSIGNALED(s) && WTERMSIG(s) == " + sig(s&0x7f)
		if s&0x80 != 0 {
			out += " && WCOREDUMP(s)"
		}
		out += "}"
		if s&^0xffff != 0 {
			return out + "|" + hexs(uint64(s&^0xffff))
		}
		return out
	}
}

func ptraceEvent(ev uint32) string {
	names := map[uint32]string{1: "PTRACE_EVENT_FORK", 2: "PTRACE_EVENT_VFORK", 3: "PTRACE_EVENT_CLONE",
		4: "PTRACE_EVENT_EXEC", 5: "PTRACE_EVENT_VFORK_DONE", 6: "PTRACE_EVENT_EXIT", 7: "PTRACE_EVENT_SECCOMP",
		128: "PTRACE_EVENT_STOP"}
	if n, ok := names[ev]; ok {
		return n
	}
	return hexs(uint64(ev)) + " /* PTRACE_EVENT_??? */"
}

// formatStatxFlags renders statx's flags: the sync type (a value in bits
// 0x6000, AT_STATX_SYNC_AS_STAT when 0) first, then the AT_* flags.
func formatStatxFlags(v uint64) string {
	v = uint64(uint32(v))
	var b strings.Builder
	switch v & 0x6000 {
	case 0:
		b.WriteString("AT_STATX_SYNC_AS_STAT")
	case 0x2000:
		b.WriteString("AT_STATX_FORCE_SYNC")
	case 0x4000:
		b.WriteString("AT_STATX_DONT_SYNC")
	default:
		b.WriteString("AT_STATX_FORCE_SYNC|AT_STATX_DONT_SYNC")
	}
	rest := linux.AtFlags.FormatTo(&b, v&^0x6000)
	if rest != 0 {
		b.WriteString("|" + hexs(rest))
	}
	return b.String()
}

func formatFutexOp(v uint64) string {
	op := uint32(v)
	s := linux.FutexOps.Format(uint64(op &^ 384))
	if op&128 != 0 {
		s += "_PRIVATE"
	}
	if op&256 != 0 {
		s += "|FUTEX_CLOCK_REALTIME"
	}
	return s
}

// fdset renders select's fd_set of nfds bits: [3 4], NULL.
func (d *Decoded) fdset(addr, nfds uint64) string {
	if addr == 0 {
		return "NULL"
	}
	n := int(int32(nfds))
	if n < 0 || n > 1<<20 {
		return hexs(addr)
	}
	b, err := d.read(addr, (n+63)/64*8)
	if err != nil {
		return hexs(addr)
	}
	var fds []string
	for fd := 0; fd < n; fd++ {
		if b[fd/8]&(1<<(fd%8)) != 0 {
			fds = append(fds, strconv.Itoa(fd))
		}
	}
	return "[" + strings.Join(fds, " ") + "]"
}

// countDirents counts the linux_dirent64 records in the n bytes getdents
// returned (d_reclen is the u16 at offset 16).
func (d *Decoded) countDirents(addr uint64, n int64) int {
	if n <= 0 || n > 1<<24 {
		return 0
	}
	b := d.readUpTo(addr, int(n))
	count := 0
	for off := 0; off+18 <= len(b); count++ {
		rl := int(b[off+16]) | int(b[off+17])<<8
		if rl == 0 {
			return count + 1
		}
		off += rl
	}
	return count
}
