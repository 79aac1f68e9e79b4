// execthread: a non-leader thread execs argv[1] while the leader waits
// in pthread_join; the exec'd program must keep the process's pid.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static char **args;

static void *run(void *arg) {
	(void)arg;
	execv(args[1], args + 1);
	perror("execv");
	_exit(99);
}

int main(int argc, char **argv) {
	pthread_t t;
	if (argc < 2) return 2;
	args = argv;
	printf("pid %d\n", getpid());
	fflush(stdout);
	pthread_create(&t, NULL, run, NULL);
	pthread_join(t, NULL);
	return 98;
}
