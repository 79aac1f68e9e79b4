// syscalls: Bypass's Figure 6 microbenchmark (Thain & Livny, "Bypass: A Tool
// for Building Split Execution Systems"): each call many times in a tight
// loop on a file in a temporary directory, cached in memory; prints one
// line per call: "NAME MICROSECONDS_PER_CALL".
//
// Usage: syscalls DIR ITERATIONS [TEST ...]
// Tests: open/close stat getpid read1 write1 read8k write8k (default: all).
// Reads and writes use pread64/pwrite64 at offset 0, so that every
// iteration moves the same bytes of the same cached page.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
	static char buf[8192];
	char path[4096];
	struct stat st;
	if (argc < 3) {
		fprintf(stderr, "usage: syscalls DIR ITERATIONS [TEST ...]\n");
		return 2;
	}
	long n = atol(argv[2]);
	snprintf(path, sizeof path, "%s/bench.dat", argv[1]);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || pwrite(fd, buf, sizeof buf, 0) != sizeof buf) {
		perror(path);
		return 1;
	}
	const char *all[] = {"open/close", "stat", "getpid", "read1", "write1", "read8k", "write8k"};
	const char **tests = all;
	int ntests = 7;
	if (argc > 3) {
		tests = (const char **)argv + 3;
		ntests = argc - 3;
	}
	for (int t = 0; t < ntests; t++) {
		const char *name = tests[t];
		double start = now();
		for (long i = 0; i < n; i++) {
			if (!strcmp(name, "open/close")) {
				close(open(path, O_RDONLY));
			} else if (!strcmp(name, "stat")) {
				stat(path, &st);
			} else if (!strcmp(name, "getpid")) {
				syscall(SYS_getpid);
			} else if (!strcmp(name, "read1")) {
				pread(fd, buf, 1, 0);
			} else if (!strcmp(name, "write1")) {
				pwrite(fd, buf, 1, 0);
			} else if (!strcmp(name, "read8k")) {
				pread(fd, buf, 8192, 0);
			} else if (!strcmp(name, "write8k")) {
				pwrite(fd, buf, 8192, 0);
			} else {
				fprintf(stderr, "unknown test %s\n", name);
				return 2;
			}
		}
		printf("%s %.3f\n", name, (now() - start) / n);
	}
	close(fd);
	unlink(path);
	return 0;
}
