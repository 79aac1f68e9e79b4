// golden: a deterministic program for comparing carrot trace with strace.
// Usage: golden DIR PORT. Everything between the close(-4242) and
// close(-4243) markers (numbers, so every -x style and trace set shows
// them; failures, so status=failed does) is compared line by line, after pids, pointers and inode numbers are
// normalised; DIR is an empty scratch directory, PORT a free TCP port
// (PORT+1 must be free too: the client binds it, so addresses repeat).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void on_usr1(int sig) { (void)sig; }

int main(int argc, char **argv) {
	char path[512], path2[512], buf[8192];
	struct stat st;
	int fd, fd2, p[2], port;
	if (argc < 3) return 2;
	port = atoi(argv[2]);
	close(-4242);

	// files, paths, flags, modes, errno
	snprintf(path, sizeof path, "%s/data.txt", argv[1]);
	snprintf(path2, sizeof path2, "%s/moved.txt", argv[1]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	write(fd, "hello, world\n", 13);
	write(fd, "a longer line with \"quotes\", a tab\t and bytes \001\377 in it\n", 55);
	struct iovec iov[2] = {{"iov-one ", 8}, {"iov-two\n", 8}};
	writev(fd, iov, 2);
	pwrite(fd, "XY", 2, 3);
	fsync(fd);
	close(fd);
	fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	read(fd, buf, 5);
	pread(fd, buf, 13, 0);
	char a[4], b[6];
	struct iovec riov[2] = {{a, sizeof a}, {b, sizeof b}};
	readv(fd, riov, 2);
	lseek(fd, 0, SEEK_SET);
	read(fd, buf, sizeof buf);
	read(fd, buf, sizeof buf);
	fstat(fd, &st);
	stat(path, &st);
	lstat(path, &st);
	fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW);
	access(path, R_OK | W_OK);
	access("/nonexistent/file", F_OK);
	open("/nonexistent/file", O_RDONLY);
	openat(AT_FDCWD, "/etc", O_RDONLY | O_DIRECTORY | O_NONBLOCK);
	close(12345);
	open((char *)1, O_RDONLY);
	fd2 = dup(fd);
	dup2(fd, 20);
	fcntl(fd, F_GETFD);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	fcntl(fd, F_GETFL);
	close(20);
	close(fd2);
	close(fd);
	rename(path, path2);
	mkdir(path, 0755);
	rmdir(path);
	unlink(path2);
	unlink(path2);

	// memory
	void *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(m, 4096, PROT_READ);
	munmap(m, 65536);

	// limits, clocks (their values vary: only the resolution is printed),
	// uname
	struct rlimit rl;
	getrlimit(RLIMIT_STACK, &rl);
	rl.rlim_cur = 1024;
	rl.rlim_max = 1 << 20;
	setrlimit(RLIMIT_CORE, &rl);
	struct timespec res;
	syscall(SYS_clock_getres, CLOCK_REALTIME, &res);
	struct utsname un;
	uname(&un);

	// pipes and epoll
	pipe2(p, O_CLOEXEC);
	write(p[1], "through a pipe", 14);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 0x100000007ULL}, evs[4];
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	epoll_wait(ep, evs, 4, 1000);
	close(ep);
	read(p[0], buf, sizeof buf);
	close(p[0]);
	close(p[1]);

	// sockets: TCP over loopback, IPv6, unix
	int srv = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	bind(srv, (struct sockaddr *)&sin, sizeof sin);
	listen(srv, 8);
	int cli = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(cli, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in csin = sin;
	csin.sin_port = htons(port + 1);
	bind(cli, (struct sockaddr *)&csin, sizeof csin);
	connect(cli, (struct sockaddr *)&sin, sizeof sin);
	struct sockaddr_in peer;
	socklen_t plen = sizeof peer;
	int acc = accept(srv, (struct sockaddr *)&peer, &plen);
	sendto(cli, "ping", 4, 0, NULL, 0);
	recvfrom(acc, buf, sizeof buf, 0, NULL, NULL);
	plen = sizeof peer;
	getsockname(acc, (struct sockaddr *)&peer, &plen);
	shutdown(cli, SHUT_WR);
	close(acc);
	close(cli);
	close(srv);
	int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	connect(s6, (struct sockaddr *)&sin6, sizeof sin6);
	close(s6);
	int su = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/sock", argv[1]);
	connect(su, (struct sockaddr *)&sun, sizeof sun);
	close(su);

	// signals
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	kill(getpid(), SIGUSR1);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigprocmask(SIG_UNBLOCK, &set, NULL);

	// a child; SIGCHLD is held until the child is reaped, so that its
	// delivery comes at the same point under every tracer
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	pid_t pid = fork();
	if (pid == 0) _exit(3);
	int status;
	waitpid(pid, &status, 0);
	sigprocmask(SIG_UNBLOCK, &chld, NULL);

	close(-4243);
	return 0;
}
