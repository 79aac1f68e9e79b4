package launcher

import "syscall"

const sysSeccomp = syscall.SYS_SECCOMP
