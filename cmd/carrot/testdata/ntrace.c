// ntrace: the example from "Intercepting Linux system calls: Part III"
// (ntrace, 2010). A server accepts a TCP connection and forks; the child
// reads the socket with read(2), not recv(2), and writes what it reads into
// a pipe that the parent reads. A fork of the program is the client, which
// sends 2048 bytes. Prints "pids SERVER READER CLIENT" on stdout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void read_client(int sock, int fd) {
	ssize_t n;
	char buff[2048] = {0};
	while ((n = read(sock, buff, 2048)) > 0)
		write(fd, buff, n);
}

int main(void) {
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof sin;
	char buf[4096], msg[2048];
	int srv, sock, p[2];
	pid_t client, reader;
	ssize_t n, total = 0;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	srv = socket(AF_INET, SOCK_STREAM, 0);
	bind(srv, (struct sockaddr *)&sin, sizeof sin);
	listen(srv, 10);
	getsockname(srv, (struct sockaddr *)&sin, &len);
	client = fork();
	if (client == 0) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		memset(msg, 'x', sizeof msg);
		if (connect(c, (struct sockaddr *)&sin, sizeof sin) != 0) _exit(1);
		send(c, msg, sizeof msg, 0);
		close(c);
		_exit(0);
	}
	sock = accept(srv, NULL, NULL);
	pipe(p);
	reader = fork();
	if (reader == 0) {
		close(p[0]);
		read_client(sock, p[1]);
		_exit(0);
	}
	close(p[1]);
	close(sock);
	while ((n = read(p[0], buf, sizeof buf)) > 0)
		total += n;
	waitpid(reader, NULL, 0);
	waitpid(client, NULL, 0);
	printf("pids %d %d %d total %zd\n", getpid(), reader, client, total);
	return 0;
}
