// connect: a client that connects the way real programs do, and prints
// what it saw, one key=value per line, for a test to compare natively and
// under carrot run.
//
//	connect HOST PORT MODE [FAMILY]
//
// MODE: nonblock (EINPROGRESS, poll, SO_ERROR), block (plain connect),
// epoll (non-blocking, an epoll loop with a 10 ms timerfd that counts its
// ticks while the connect is pending), alarm (blocking, interrupted by
// SIGALRM after 1 s: the connect should fail with EINTR), uring (only
// tries io_uring_setup and prints its errno).
// FAMILY: 4 (default) or 6.
// After a successful connect it checks getpeername, sends an HTTP/1.0 GET
// and prints the response's last line.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e) {
	switch (e) {
	case 0: return "0";
	case EINPROGRESS: return "EINPROGRESS";
	case EALREADY: return "EALREADY";
	case EISCONN: return "EISCONN";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENETUNREACH: return "ENETUNREACH";
	case ECONNRESET: return "ECONNRESET";
	case ECONNABORTED: return "ECONNABORTED";
	case EINTR: return "EINTR";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOSYS: return "ENOSYS";
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "E%d", e);
	return buf;
}

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void onalarm(int sig) { (void)sig; }

int main(int argc, char **argv) {
	if (argc < 4) {
		fprintf(stderr, "usage: connect HOST PORT nonblock|block|epoll|alarm [4|6]\n");
		return 2;
	}
	const char *host = argv[1], *port = argv[2], *mode = argv[3];
	if (strcmp(mode, "uring") == 0) {
		char params[120] = {0}; // struct io_uring_params
		long r = syscall(SYS_io_uring_setup, 4, params);
		printf("io_uring_setup=%ld %s\n", r < 0 ? -1 : 0L, ename(r < 0 ? errno : 0));
		return 0;
	}
	int family = argc > 4 && strcmp(argv[4], "6") == 0 ? AF_INET6 : AF_INET;
	struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM}, *ai;
	int r = getaddrinfo(host, port, &hints, &ai);
	if (r != 0) {
		printf("getaddrinfo=%s\n", gai_strerror(r));
		return 1;
	}
	char ip[INET6_ADDRSTRLEN];
	void *a = family == AF_INET ? (void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
	                            : (void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
	inet_ntop(family, a, ip, sizeof ip);
	printf("resolved=%s\n", ip);

	int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_storage copy;
	memcpy(&copy, ai->ai_addr, ai->ai_addrlen);
	int nonblock = strcmp(mode, "nonblock") == 0 || strcmp(mode, "epoll") == 0;
	if (nonblock)
		fcntl(s, F_SETFL, O_NONBLOCK);
	if (strcmp(mode, "alarm") == 0) {
		struct sigaction sa = {.sa_handler = onalarm}; // no SA_RESTART
		sigaction(SIGALRM, &sa, NULL);
		alarm(1);
	}
	double t0 = now();
	r = connect(s, ai->ai_addr, ai->ai_addrlen);
	int e = r < 0 ? errno : 0;
	printf("connect=%d %s\n", r, ename(e));
	fprintf(stderr, "connect returned after %.1f ms\n", (now() - t0) * 1e3);
	printf("sockaddr_unchanged=%d\n", memcmp(&copy, ai->ai_addr, ai->ai_addrlen) == 0);
	if (r < 0 && e != EINPROGRESS) {
		// what the failed socket shows after: nothing pending, and (for
		// a refusal) writable and hung up
		struct pollfd p = {.fd = s, .events = POLLIN | POLLOUT};
		poll(&p, 1, 0);
		printf("after_fail_revents=%s%s%s%s\n", p.revents & POLLIN ? "IN|" : "", p.revents & POLLOUT ? "OUT" : "",
		       p.revents & POLLERR ? "|ERR" : "", p.revents & POLLHUP ? "|HUP" : "");
		int so = -1;
		socklen_t l = sizeof so;
		getsockopt(s, SOL_SOCKET, SO_ERROR, &so, &l);
		printf("after_fail_so_error=%s\n", ename(so));
		return 0;
	}

	if (r < 0) {
		if (strcmp(mode, "epoll") == 0) {
			int ep = epoll_create1(EPOLL_CLOEXEC);
			int tf = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
			struct itimerspec its = {.it_interval = {0, 10000000}, .it_value = {0, 10000000}};
			timerfd_settime(tf, 0, &its, NULL);
			struct epoll_event ev = {.events = EPOLLOUT, .data.fd = s};
			epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
			ev = (struct epoll_event){.events = EPOLLIN, .data.fd = tf};
			epoll_ctl(ep, EPOLL_CTL_ADD, tf, &ev);
			long ticks = 0;
			for (int done = 0; !done;) {
				struct epoll_event evs[2];
				int n = epoll_wait(ep, evs, 2, 30000);
				if (n <= 0) {
					printf("epoll=timeout\n");
					return 1;
				}
				for (int i = 0; i < n; i++) {
					if (evs[i].data.fd == tf) {
						unsigned long long x;
						read(tf, &x, sizeof x);
						ticks += x;
					} else {
						done = 1;
					}
				}
			}
			printf("ticks=%ld\n", ticks);
		} else {
			struct pollfd p = {.fd = s, .events = POLLOUT};
			if (poll(&p, 1, 30000) != 1) {
				printf("poll=timeout\n");
				return 1;
			}
			printf("revents=%s%s%s\n", p.revents & POLLOUT ? "OUT" : "", p.revents & POLLERR ? "|ERR" : "",
			       p.revents & POLLHUP ? "|HUP" : "");
		}
		int so = -1;
		socklen_t l = sizeof so;
		getsockopt(s, SOL_SOCKET, SO_ERROR, &so, &l);
		printf("so_error=%s\n", ename(so));
		if (so != 0) {
			// the pending error was consumed: a second read is clean
			l = sizeof so;
			getsockopt(s, SOL_SOCKET, SO_ERROR, &so, &l);
			printf("so_error_again=%s\n", ename(so));
			// the failure read, the socket is still "connecting" for the
			// socket layer: connect says so (ECONNABORTED) once
			r = connect(s, ai->ai_addr, ai->ai_addrlen);
			printf("connect_after_error=%d %s\n", r, ename(r < 0 ? errno : 0));
			return 0;
		}
	}
	struct sockaddr_storage peer;
	socklen_t pl = sizeof peer;
	if (getpeername(s, (struct sockaddr *)&peer, &pl) < 0) {
		printf("getpeername=%s\n", ename(errno));
	} else {
		printf("peer_is_dest=%d\n", pl == ai->ai_addrlen && memcmp(&peer, ai->ai_addr, pl) == 0);
	}
	r = connect(s, ai->ai_addr, ai->ai_addrlen);
	printf("connect_again=%d %s\n", r, ename(r < 0 ? errno : 0));
	if (nonblock)
		fcntl(s, F_SETFL, 0);
	char req[512];
	snprintf(req, sizeof req, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", host);
	write(s, req, strlen(req));
	char resp[8192];
	size_t n = 0;
	ssize_t k;
	while (n < sizeof resp - 1 && (k = read(s, resp + n, sizeof resp - 1 - n)) > 0)
		n += k;
	resp[n] = 0;
	char *last = resp;
	for (char *p = resp; *p; p++)
		if (p[0] == '\n' && p[1])
			last = p + 1;
	printf("body=%s", last);
	return 0;
}
