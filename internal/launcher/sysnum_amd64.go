package launcher

// sysSeccomp is seccomp(2) on x86-64 (the standard syscall package has no
// SYS_SECCOMP for amd64).
const sysSeccomp = 317
