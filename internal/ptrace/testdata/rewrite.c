// rewrite: opens the path given, reports what it read, and prints getpid.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
	char buf[64] = {0};
	int fd;
	if (argc < 2) return 2;
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) { perror("open"); return 1; }
	read(fd, buf, sizeof buf - 1);
	printf("read %s|pid %d\n", buf, getpid());
	return 0;
}
