/*
 * call: issue one system call with exact register values and memory, for
 * the golden tests that compare internal/syscalls with the real strace.
 *
 *   call [-f PATH]... [-m ADDR:HEX]... NR [A0 [A1 ... A5]]
 *   call all
 *
 * "all" makes every call 0..334 and 424..474 with zero arguments, for the
 * test that checks the table's names and classes against strace.
 * -f opens PATH read-only (fds 3, 4, ... in order) so that strace -y has
 * something to name; -m writes the bytes HEX at ADDR inside the arena, a
 * 1 MiB mapping at ARENA followed by an unmapped page. Then every syscall
 * but exit_group(42) is made to fail with ENOSYS by a seccomp filter, so
 * the call has no effect: strace decodes it at entry, and strace's
 * -e inject=NAME:retval=N makes it look successful, so out-arguments are
 * decoded from the memory prepared here. Nothing else runs in between.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#define ARENA 0x200000000UL
#define ARENA_SIZE (1UL << 20)

static int hexval(char c) {
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int main(int argc, char **argv) {
	unsigned char *arena = mmap((void *)ARENA, ARENA_SIZE + 4096, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (arena != (void *)ARENA) { perror("mmap"); return 2; }
	munmap(arena + ARENA_SIZE, 4096);
	int i = 1;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "-f") && i + 1 < argc) {
			if (open(argv[++i], O_RDONLY) < 0) { perror(argv[i]); return 2; }
		} else if (!strcmp(argv[i], "-m") && i + 1 < argc) {
			char *s = argv[++i], *colon = strchr(s, ':');
			if (!colon) return 2;
			unsigned long addr = strtoul(s, NULL, 0);
			if (addr < ARENA) return 2;
			unsigned char *p = arena + (addr - ARENA);
			for (char *h = colon + 1; h[0] && h[1]; h += 2) {
				if (p >= arena + ARENA_SIZE) return 2;
				*p++ = hexval(h[0]) << 4 | hexval(h[1]);
			}
		} else break;
	}
	if (i >= argc) { fprintf(stderr, "usage: call [-f PATH]... [-m ADDR:HEX]... NR [ARGS]\n"); return 2; }
	int all = !strcmp(argv[i], "all");
	long nr = strtol(argv[i++], NULL, 0);
	unsigned long a[6] = {0};
	for (int k = 0; k < 6 && i < argc; k++, i++) a[k] = strtoull(argv[i], NULL, 0);

	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit_group, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 42, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 38),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("seccomp");
		return 2;
	}
	if (all) {
		for (long n = 0; n <= 474; n++)
			if (n <= 334 || n >= 424)
				syscall(n, 0, 0, 0, 0, 0, 0);
	} else
		syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	syscall(SYS_exit_group, 42);
	return 2;
}
