package linux

// PrctlOptions names prctl's options (include/uapi/linux/prctl.h), those
// strace 6.1 knows.
var PrctlOptions = NewValueSet("PR_???", false,
	Flag{1, "PR_SET_PDEATHSIG"}, Flag{2, "PR_GET_PDEATHSIG"}, Flag{3, "PR_GET_DUMPABLE"},
	Flag{4, "PR_SET_DUMPABLE"}, Flag{5, "PR_GET_UNALIGN"}, Flag{6, "PR_SET_UNALIGN"},
	Flag{7, "PR_GET_KEEPCAPS"}, Flag{8, "PR_SET_KEEPCAPS"}, Flag{9, "PR_GET_FPEMU"},
	Flag{10, "PR_SET_FPEMU"}, Flag{11, "PR_GET_FPEXC"}, Flag{12, "PR_SET_FPEXC"},
	Flag{13, "PR_GET_TIMING"}, Flag{14, "PR_SET_TIMING"}, Flag{15, "PR_SET_NAME"},
	Flag{16, "PR_GET_NAME"}, Flag{19, "PR_GET_ENDIAN"}, Flag{20, "PR_SET_ENDIAN"},
	Flag{21, "PR_GET_SECCOMP"}, Flag{22, "PR_SET_SECCOMP"}, Flag{23, "PR_CAPBSET_READ"},
	Flag{24, "PR_CAPBSET_DROP"}, Flag{25, "PR_GET_TSC"}, Flag{26, "PR_SET_TSC"},
	Flag{27, "PR_GET_SECUREBITS"}, Flag{28, "PR_SET_SECUREBITS"}, Flag{29, "PR_SET_TIMERSLACK"},
	Flag{30, "PR_GET_TIMERSLACK"}, Flag{31, "PR_TASK_PERF_EVENTS_DISABLE"}, Flag{32, "PR_TASK_PERF_EVENTS_ENABLE"},
	Flag{33, "PR_MCE_KILL"}, Flag{34, "PR_MCE_KILL_GET"}, Flag{35, "PR_SET_MM"},
	Flag{36, "PR_SET_CHILD_SUBREAPER"}, Flag{37, "PR_GET_CHILD_SUBREAPER"}, Flag{38, "PR_SET_NO_NEW_PRIVS"},
	Flag{39, "PR_GET_NO_NEW_PRIVS"}, Flag{40, "PR_GET_TID_ADDRESS"}, Flag{41, "PR_SET_THP_DISABLE"},
	Flag{42, "PR_GET_THP_DISABLE"}, Flag{43, "PR_MPX_ENABLE_MANAGEMENT"}, Flag{44, "PR_MPX_DISABLE_MANAGEMENT"},
	Flag{45, "PR_SET_FP_MODE"}, Flag{46, "PR_GET_FP_MODE"}, Flag{47, "PR_CAP_AMBIENT"},
	Flag{50, "PR_SVE_SET_VL"}, Flag{51, "PR_SVE_GET_VL"}, Flag{52, "PR_GET_SPECULATION_CTRL"},
	Flag{53, "PR_SET_SPECULATION_CTRL"}, Flag{54, "PR_PAC_RESET_KEYS"}, Flag{55, "PR_SET_TAGGED_ADDR_CTRL"},
	Flag{56, "PR_GET_TAGGED_ADDR_CTRL"}, Flag{57, "PR_SET_IO_FLUSHER"}, Flag{58, "PR_GET_IO_FLUSHER"},
	Flag{59, "PR_SET_SYSCALL_USER_DISPATCH"}, Flag{60, "PR_PAC_SET_ENABLED_KEYS"}, Flag{61, "PR_PAC_GET_ENABLED_KEYS"},
	Flag{62, "PR_SCHED_CORE"}, Flag{63, "PR_SME_SET_VL"}, Flag{64, "PR_SME_GET_VL"},
	Flag{0x53564d41, "PR_SET_VMA"}, Flag{0x59616d61, "PR_SET_PTRACER"})

// The prctl options whose arguments are decoded by more than their names.
const (
	PR_SET_PDEATHSIG             = 1
	PR_GET_PDEATHSIG             = 2
	PR_GET_DUMPABLE              = 3
	PR_SET_DUMPABLE              = 4
	PR_GET_UNALIGN               = 5
	PR_SET_UNALIGN               = 6
	PR_GET_KEEPCAPS              = 7
	PR_SET_KEEPCAPS              = 8
	PR_GET_FPEMU                 = 9
	PR_SET_FPEMU                 = 10
	PR_GET_FPEXC                 = 11
	PR_SET_FPEXC                 = 12
	PR_GET_TIMING                = 13
	PR_SET_TIMING                = 14
	PR_SET_NAME                  = 15
	PR_GET_NAME                  = 16
	PR_GET_ENDIAN                = 19
	PR_SET_ENDIAN                = 20
	PR_GET_SECCOMP               = 21
	PR_SET_SECCOMP               = 22
	PR_CAPBSET_READ              = 23
	PR_CAPBSET_DROP              = 24
	PR_GET_TSC                   = 25
	PR_SET_TSC                   = 26
	PR_GET_SECUREBITS            = 27
	PR_SET_SECUREBITS            = 28
	PR_SET_TIMERSLACK            = 29
	PR_GET_TIMERSLACK            = 30
	PR_TASK_PERF_EVENTS_DISABLE  = 31
	PR_TASK_PERF_EVENTS_ENABLE   = 32
	PR_MCE_KILL                  = 33
	PR_MCE_KILL_GET              = 34
	PR_SET_MM                    = 35
	PR_SET_CHILD_SUBREAPER       = 36
	PR_GET_CHILD_SUBREAPER       = 37
	PR_SET_NO_NEW_PRIVS          = 38
	PR_GET_TID_ADDRESS           = 40
	PR_SET_THP_DISABLE           = 41
	PR_SET_FP_MODE               = 45
	PR_GET_FP_MODE               = 46
	PR_CAP_AMBIENT               = 47
	PR_GET_SPECULATION_CTRL      = 52
	PR_SET_SPECULATION_CTRL      = 53
	PR_SET_IO_FLUSHER            = 57
	PR_SET_SYSCALL_USER_DISPATCH = 59
	PR_SET_VMA                   = 0x53564d41
	PR_SET_PTRACER               = 0x59616d61
)

// PrDumpable names PR_SET_DUMPABLE's argument and PR_GET_DUMPABLE's result
// (include/linux/sched/coredump.h).
var PrDumpable = NewValueSet("SUID_DUMP_???", false,
	Flag{0, "SUID_DUMP_DISABLE"}, Flag{1, "SUID_DUMP_USER"}, Flag{2, "SUID_DUMP_ROOT"})

// Capabilities names capability numbers (include/uapi/linux/capability.h).
var Capabilities = NewValueSet("CAP_???", false,
	Flag{0, "CAP_CHOWN"}, Flag{1, "CAP_DAC_OVERRIDE"}, Flag{2, "CAP_DAC_READ_SEARCH"}, Flag{3, "CAP_FOWNER"},
	Flag{4, "CAP_FSETID"}, Flag{5, "CAP_KILL"}, Flag{6, "CAP_SETGID"}, Flag{7, "CAP_SETUID"},
	Flag{8, "CAP_SETPCAP"}, Flag{9, "CAP_LINUX_IMMUTABLE"}, Flag{10, "CAP_NET_BIND_SERVICE"},
	Flag{11, "CAP_NET_BROADCAST"}, Flag{12, "CAP_NET_ADMIN"}, Flag{13, "CAP_NET_RAW"}, Flag{14, "CAP_IPC_LOCK"},
	Flag{15, "CAP_IPC_OWNER"}, Flag{16, "CAP_SYS_MODULE"}, Flag{17, "CAP_SYS_RAWIO"}, Flag{18, "CAP_SYS_CHROOT"},
	Flag{19, "CAP_SYS_PTRACE"}, Flag{20, "CAP_SYS_PACCT"}, Flag{21, "CAP_SYS_ADMIN"}, Flag{22, "CAP_SYS_BOOT"},
	Flag{23, "CAP_SYS_NICE"}, Flag{24, "CAP_SYS_RESOURCE"}, Flag{25, "CAP_SYS_TIME"}, Flag{26, "CAP_SYS_TTY_CONFIG"},
	Flag{27, "CAP_MKNOD"}, Flag{28, "CAP_LEASE"}, Flag{29, "CAP_AUDIT_WRITE"}, Flag{30, "CAP_AUDIT_CONTROL"},
	Flag{31, "CAP_SETFCAP"}, Flag{32, "CAP_MAC_OVERRIDE"}, Flag{33, "CAP_MAC_ADMIN"}, Flag{34, "CAP_SYSLOG"},
	Flag{35, "CAP_WAKE_ALARM"}, Flag{36, "CAP_BLOCK_SUSPEND"}, Flag{37, "CAP_AUDIT_READ"}, Flag{38, "CAP_PERFMON"},
	Flag{39, "CAP_BPF"}, Flag{40, "CAP_CHECKPOINT_RESTORE"})

// Securebits are PR_SET_SECUREBITS's bits (include/uapi/linux/securebits.h).
var Securebits = &FlagSet{Flags: []Flag{
	{0x1, "SECBIT_NOROOT"}, {0x2, "SECBIT_NOROOT_LOCKED"}, {0x4, "SECBIT_NO_SETUID_FIXUP"},
	{0x8, "SECBIT_NO_SETUID_FIXUP_LOCKED"}, {0x10, "SECBIT_KEEP_CAPS"}, {0x20, "SECBIT_KEEP_CAPS_LOCKED"},
	{0x40, "SECBIT_NO_CAP_AMBIENT_RAISE"}, {0x80, "SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED"},
}, Unknown: "SECBIT_???"}

// PrTSC names PR_SET_TSC's and PR_GET_TSC's values.
var PrTSC = NewValueSet("PR_TSC_???", false, Flag{1, "PR_TSC_ENABLE"}, Flag{2, "PR_TSC_SIGSEGV"})

// PrUnalign are PR_SET_UNALIGN's and PR_GET_UNALIGN's bits.
var PrUnalign = &FlagSet{Flags: []Flag{{1, "PR_UNALIGN_NOPRINT"}, {2, "PR_UNALIGN_SIGBUS"}}, Unknown: "PR_UNALIGN_???"}

// PrFpMode are PR_SET_FP_MODE's and PR_GET_FP_MODE's bits.
var PrFpMode = &FlagSet{Flags: []Flag{{1, "PR_FP_MODE_FR"}, {2, "PR_FP_MODE_FRE"}}, Unknown: "PR_FP_MODE_???"}

// PrCapAmbient names PR_CAP_AMBIENT's operations.
var PrCapAmbient = NewValueSet("PR_CAP_AMBIENT_???", false,
	Flag{1, "PR_CAP_AMBIENT_IS_SET"}, Flag{2, "PR_CAP_AMBIENT_RAISE"}, Flag{3, "PR_CAP_AMBIENT_LOWER"},
	Flag{4, "PR_CAP_AMBIENT_CLEAR_ALL"})

// PrMceKill names PR_MCE_KILL's operations, and PrMceKillPolicy its
// policies (PR_MCE_KILL_GET's result).
var (
	PrMceKill       = NewValueSet("PR_MCE_KILL_???", false, Flag{0, "PR_MCE_KILL_CLEAR"}, Flag{1, "PR_MCE_KILL_SET"})
	PrMceKillPolicy = NewValueSet("PR_MCE_KILL_???", false,
		Flag{0, "PR_MCE_KILL_LATE"}, Flag{1, "PR_MCE_KILL_EARLY"}, Flag{2, "PR_MCE_KILL_DEFAULT"})
)

// PrSetMM names PR_SET_MM's fields.
var PrSetMM = NewValueSet("PR_SET_MM_???", false,
	Flag{1, "PR_SET_MM_START_CODE"}, Flag{2, "PR_SET_MM_END_CODE"}, Flag{3, "PR_SET_MM_START_DATA"},
	Flag{4, "PR_SET_MM_END_DATA"}, Flag{5, "PR_SET_MM_START_STACK"}, Flag{6, "PR_SET_MM_START_BRK"},
	Flag{7, "PR_SET_MM_BRK"}, Flag{8, "PR_SET_MM_ARG_START"}, Flag{9, "PR_SET_MM_ARG_END"},
	Flag{10, "PR_SET_MM_ENV_START"}, Flag{11, "PR_SET_MM_ENV_END"}, Flag{12, "PR_SET_MM_AUXV"},
	Flag{13, "PR_SET_MM_EXE_FILE"}, Flag{14, "PR_SET_MM_MAP"}, Flag{15, "PR_SET_MM_MAP_SIZE"})

// PrSetVMA names PR_SET_VMA's attributes.
var PrSetVMA = NewValueSet("PR_SET_VMA_???", false, Flag{0, "PR_SET_VMA_ANON_NAME"})

// PrSpecCmds names the speculation controls, and PrSpecSetFlags and
// PrSpecGetFlags their states set and read.
var (
	PrSpecCmds = NewValueSet("PR_SPEC_???", false,
		Flag{0, "PR_SPEC_STORE_BYPASS"}, Flag{1, "PR_SPEC_INDIRECT_BRANCH"}, Flag{2, "PR_SPEC_L1D_FLUSH"})
	PrSpecSetFlags = NewValueSet("PR_SPEC_???", false,
		Flag{2, "PR_SPEC_ENABLE"}, Flag{4, "PR_SPEC_DISABLE"}, Flag{8, "PR_SPEC_FORCE_DISABLE"},
		Flag{16, "PR_SPEC_DISABLE_NOEXEC"})
	PrSpecGetFlags = &FlagSet{Flags: []Flag{
		{1, "PR_SPEC_PRCTL"}, {2, "PR_SPEC_ENABLE"}, {4, "PR_SPEC_DISABLE"}, {8, "PR_SPEC_FORCE_DISABLE"},
		{16, "PR_SPEC_DISABLE_NOEXEC"},
	}, Zero: "PR_SPEC_NOT_AFFECTED"}
)

// PrSudCmds names PR_SET_SYSCALL_USER_DISPATCH's modes.
var PrSudCmds = NewValueSet("PR_SYS_DISPATCH_???", false, Flag{0, "PR_SYS_DISPATCH_OFF"}, Flag{1, "PR_SYS_DISPATCH_ON"})

// SeccompModes names seccomp modes (include/uapi/linux/seccomp.h).
var SeccompModes = NewValueSet("SECCOMP_MODE_???", false,
	Flag{0, "SECCOMP_MODE_DISABLED"}, Flag{1, "SECCOMP_MODE_STRICT"}, Flag{2, "SECCOMP_MODE_FILTER"})
