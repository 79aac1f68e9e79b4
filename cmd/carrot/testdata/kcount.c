// kcount: programs whose syscall counts and times are known, for carrot
// trace -c's tests.
//
//	kcount getpid N      N getpid calls
//	kcount forks A B C   two children make A and B getpid calls, the
//	                     parent C (after reaping them)
//	kcount sleep         one 200 ms nanosleep
//	kcount burn          getrandom until 64 MiB are generated
//	kcount execthread N  a thread other than the leader execs "kcount
//	                     getpid N" while the leader waits in pthread_join
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void getpids(long n) {
	for (long i = 0; i < n; i++)
		syscall(SYS_getpid);
}

static char **args;

static void *execer(void *arg) {
	(void)arg;
	char *argv[] = {"/proc/self/exe", "getpid", args[2], NULL};
	execv(argv[0], argv);
	_exit(99);
}

int main(int argc, char **argv) {
	if (argc >= 3 && strcmp(argv[1], "getpid") == 0) {
		getpids(atol(argv[2]));
	} else if (argc >= 5 && strcmp(argv[1], "forks") == 0) {
		for (int i = 0; i < 2; i++) {
			pid_t p = fork();
			if (p == 0) {
				getpids(atol(argv[2 + i]));
				_exit(0);
			}
			waitpid(p, NULL, 0);
		}
		getpids(atol(argv[4]));
	} else if (argc >= 2 && strcmp(argv[1], "sleep") == 0) {
		struct timespec ts = {0, 200 * 1000 * 1000};
		syscall(SYS_nanosleep, &ts, NULL); /* glibc calls clock_nanosleep */
	} else if (argc >= 2 && strcmp(argv[1], "burn") == 0) {
		static char buf[1 << 20];
		for (long left = 64L << 20; left > 0;) {
			long n = syscall(SYS_getrandom, buf, sizeof buf, 0);
			if (n > 0)
				left -= n;
		}
	} else if (argc >= 3 && strcmp(argv[1], "execthread") == 0) {
		pthread_t t;
		args = argv;
		pthread_create(&t, NULL, execer, NULL);
		pthread_join(t, NULL);
		return 98;
	} else {
		return 2;
	}
	return 0;
}
