// bypass: ways a program could send around carrot run's routing, each
// tried once; it prints what each call returned, one key=value per line
// ("-1 EPERM", or the call's result and "0"), for a test to compare
// natively (where they send) and under carrot run (where they must not).
//
//	bypass HOST PORT [TCPPORT TRIES]
//
// HOST PORT is a UDP listener the test watches. Every datagram below goes
// there, so under carrot run the listener must hear nothing. With TCPPORT,
// it also races, TRIES times, a connect to HOST:TCPPORT on a socket that is
// already connecting (which carrot leaves to the kernel) against another
// thread's shutdown of that socket (which carrot does not see); HOST:TCPPORT
// is a TCP listener the test watches, which must accept nothing.
//
//   - sendto_highlen: sendto with an address length whose high 32 bits are
//     set (the kernel reads the low 32 only)
//   - sendto_unspec, sendmsg_unspec, sendmmsg_unspec: an AF_UNSPEC
//     address, which IPv4 UDP reads as AF_INET
//   - sendmsg_longname, sendmmsg_longname: a msghdr name over 128 bytes,
//     which the kernel cuts to 128 and sends
//   - ip_options, ipv6_rthdr, sendmsg_retopts: source routes, as socket
//     options and as a control message (on a send to loopback)
//   - socket_sctp, socket_seqpacket: IP protocols no call routes;
//     socket_mptcp: multipath TCP, refused at socket() so that programs
//     fall back to TCP (its connect would be refused)
//   - raw_unspec: the same on a raw socket (needs root)
//   - sock_packet, socket_highdomain, socket_xdp, socket_vsock: link-layer
//     or non-IP sockets; socket_netlink must still work
//   - seccomp_listener: a filter of the program's own with a notification
//     listener (which would outrank carrot's); seccomp_plain: a plain one,
//     which must still work
//   - clone_untraced, clone3: a child carrot would not trace; fork_status:
//     a plain fork still works
//   - ptrace_parent, vm_read_parent: the program reaching into carrot
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

// The shutdown race: the main thread's connect stops in carrot; the racer
// watches for the end of that stop in /proc and disconnects the socket
// before the call runs in the kernel.
static volatile int race_fd = -1, race_go, race_stop;
static pid_t race_tid;

static void *racer(void *arg) {
	(void)arg;
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", race_tid);
	while (!race_stop) {
		while (!race_go && !race_stop)
			;
		if (race_stop)
			break;
		int f = open(path, O_RDONLY);
		char b[512];
		int seen = 0;
		for (int i = 0; i < 200000 && race_go; i++) {
			int n = pread(f, b, sizeof b - 1, 0);
			if (n <= 0)
				break;
			b[n] = 0;
			char *p = strrchr(b, ')');
			if (!p || !p[1] || !p[2])
				break;
			if (p[2] == 't')
				seen = 1; // stopped in the tracer
			else if (seen)
				break; // and let go
		}
		shutdown(race_fd, SHUT_RDWR);
		close(f);
		race_go = 0;
	}
	return NULL;
}

// race tries a connect to dst on a socket held connecting to a loopback
// listener whose backlog is full, tries times, and prints how many of
// those connects the kernel started towards dst (the socket then shows a
// peer).
static void race(struct sockaddr_in dst, int tries) {
	race_tid = syscall(SYS_gettid);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in la = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t ll = sizeof la;
	bind(l, (struct sockaddr *)&la, sizeof la);
	listen(l, 0);
	getsockname(l, (struct sockaddr *)&la, &ll);
	for (int i = 0; i < 2; i++) { // fill the backlog: later SYNs go unanswered
		int f = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(f, (struct sockaddr *)&la, sizeof la);
	}
	usleep(50000);
	pthread_t th;
	pthread_create(&th, NULL, racer, NULL);
	int direct = 0, i;
	time_t end = time(NULL) + 20;
	for (i = 0; i < tries && time(NULL) < end; i++) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(s, (struct sockaddr *)&la, sizeof la); // SYN_SENT, held
		race_fd = s;
		race_go = 1;
		connect(s, (struct sockaddr *)&dst, sizeof dst);
		while (race_go)
			;
		usleep(2000);
		struct sockaddr_in p;
		socklen_t pl = sizeof p;
		if (getpeername(s, (struct sockaddr *)&p, &pl) == 0 && p.sin_addr.s_addr == dst.sin_addr.s_addr)
			direct++;
		close(s);
	}
	race_stop = 1;
	race_go = 1;
	pthread_join(th, NULL);
	printf("race_tries=%d\nrace_direct=%d\n", i, direct);
}

static void show(const char *key, long r) {
	int e = r < 0 ? errno : 0;
	const char *name = "0";
	char buf[32];
	switch (e) {
	case 0: break;
	case EPERM: name = "EPERM"; break;
	case ENOSYS: name = "ENOSYS"; break;
	case EAFNOSUPPORT: name = "EAFNOSUPPORT"; break;
	case EINVAL: name = "EINVAL"; break;
	case EACCES: name = "EACCES"; break;
	case EPROTONOSUPPORT: name = "EPROTONOSUPPORT"; break;
	case ESRCH: name = "ESRCH"; break;
	default: snprintf(buf, sizeof buf, "E%d", e); name = buf;
	}
	printf("%s=%ld %s\n", key, r < 0 ? -1 : r, name);
}

int main(int argc, char **argv) {
	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: bypass HOST PORT [TCPPORT TRIES]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "bypass: %s is not an IPv4 address\n", argv[1]);
		return 2;
	}
	struct sockaddr_in unspec = sin;
	unspec.sin_family = AF_UNSPEC;
	int u = socket(AF_INET, SOCK_DGRAM, 0);

	show("sendto_highlen", syscall(SYS_sendto, u, "highlen", 7, 0, &sin, 0x100000000UL | sizeof sin));
	show("sendto_unspec", sendto(u, "unspec", 6, 0, (struct sockaddr *)&unspec, sizeof unspec));
	struct iovec iov = {.iov_base = "unspec-msg", .iov_len = 10};
	struct msghdr m = {.msg_name = &unspec, .msg_namelen = sizeof unspec, .msg_iov = &iov, .msg_iovlen = 1};
	show("sendmsg_unspec", sendmsg(u, &m, 0));
	struct mmsghdr mm = {.msg_hdr = m};
	show("sendmmsg_unspec", sendmmsg(u, &mm, 1, 0));
	// A msghdr's name longer than a sockaddr_storage: sendmsg cuts it to
	// 128 bytes and sends (sendto refuses it).
	char longname[200] = {0};
	memcpy(longname, &sin, sizeof sin);
	struct iovec liov = {.iov_base = "longname", .iov_len = 8};
	struct msghdr lm = {.msg_name = longname, .msg_namelen = sizeof longname, .msg_iov = &liov, .msg_iovlen = 1};
	show("sendmsg_longname", sendmsg(u, &lm, 0));
	struct mmsghdr lmm = {.msg_hdr = lm};
	show("sendmmsg_longname", sendmmsg(u, &lmm, 1, 0));
	// Source routes: the packet goes to the route's first hop, whatever
	// the address.
	unsigned char opts[4] = {1, 1, 1, 0}; // IPv4 options: NOPs, an end
	show("ip_options", setsockopt(u, IPPROTO_IP, IP_OPTIONS, opts, sizeof opts));
	int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
	unsigned char rth[24] = {0, 2, 0, 1}; // next header, length 2 (x8), type 0, 1 segment left
	show("ipv6_rthdr", setsockopt(u6, IPPROTO_IPV6, IPV6_RTHDR, rth, sizeof rth));
	union {
		char buf[CMSG_SPACE(sizeof rth)];
		struct cmsghdr align;
	} ctl = {0};
	// to loopback, which carrot leaves to the kernel: only the control
	// message can make it leave
	struct sockaddr_in lo = {.sin_family = AF_INET, .sin_port = sin.sin_port, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct msghdr cm = {.msg_name = &lo, .msg_namelen = sizeof lo, .msg_iov = &liov, .msg_iovlen = 1,
	                    .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
	struct cmsghdr *ch = CMSG_FIRSTHDR(&cm);
	ch->cmsg_level = IPPROTO_IP;
	ch->cmsg_type = IP_RETOPTS;
	ch->cmsg_len = CMSG_LEN(sizeof opts);
	memcpy(CMSG_DATA(ch), opts, sizeof opts);
	cm.msg_controllen = CMSG_SPACE(sizeof opts);
	show("sendmsg_retopts", sendmsg(u, &cm, 0));
	show("socket_sctp", socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP));
	show("socket_seqpacket", socket(AF_INET6, SOCK_SEQPACKET, 0));
	show("socket_mptcp", socket(AF_INET, SOCK_STREAM, 262)); // IPPROTO_MPTCP
	int raw = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
	if (raw >= 0) {
		// a UDP header (ports, length, no checksum) and a payload
		unsigned char pkt[8 + 3] = {0x30, 0x39, 0, 0, 0, 11, 0, 0, 'r', 'a', 'w'};
		memcpy(pkt + 2, &sin.sin_port, 2);
		struct sockaddr_in to = unspec;
		to.sin_port = 0;
		show("raw_unspec", sendto(raw, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to));
	}

	show("sock_packet", socket(AF_INET, SOCK_PACKET, htons(3)));
	show("socket_highdomain", syscall(SYS_socket, 0x100000000UL | AF_PACKET, SOCK_RAW, htons(3)));
	show("socket_xdp", socket(44 /* AF_XDP */, SOCK_RAW, 0));
	show("socket_vsock", socket(AF_VSOCK, SOCK_STREAM, 0));
	show("socket_netlink", socket(AF_NETLINK, SOCK_RAW, 0) >= 0 ? 0 : -1);

	struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
	struct sock_fprog prog = {.len = 1, .filter = allow};
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	show("seccomp_listener", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog) >= 0 ? 0 : -1);
	show("seccomp_plain", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog));

	long pid = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	show("clone_untraced", pid > 0 ? 0 : pid);
	char args[88] = {0}; // struct clone_args: flags 0, exit_signal SIGCHLD
	args[32] = SIGCHLD;
	pid = syscall(SYS_clone3, args, sizeof args);
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	show("clone3", pid > 0 ? 0 : pid);
	pid = fork();
	if (pid == 0)
		_exit(7);
	int st = 0;
	waitpid(pid, &st, 0);
	printf("fork_status=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	pid_t parent = getppid();
	long r = ptrace(PTRACE_SEIZE, parent, 0, 0);
	show("ptrace_parent", r);
	if (r == 0)
		ptrace(PTRACE_DETACH, parent, 0, 0);
	char b[8];
	struct iovec local = {.iov_base = b, .iov_len = sizeof b}, remote = {.iov_base = (void *)0x400000, .iov_len = sizeof b};
	r = process_vm_readv(parent, &local, 1, &remote, 1, 0);
	show("vm_read_parent", r < 0 && errno == EFAULT ? 0 : r); // EFAULT: allowed, at an unmapped address
	if (argc == 5) {
		struct sockaddr_in dst = sin;
		dst.sin_port = htons(atoi(argv[3]));
		race(dst, atoi(argv[4]));
	}
	return 0;
}
