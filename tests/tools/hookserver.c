/* hookserver.c - a webhook receiver for the end-to-end tests.
 *
 *	rv_hookserver --dir DIR [--port-file F] [--status N] [--stall]
 *
 * Plain HTTP/1.1 on 127.0.0.1 (a free port, printed on stdout and written
 * to --port-file once it listens), one request per connection, one
 * connection at a time. Each request N (from 1) is kept as DIR/N.head
 * (the request line and headers, one per line, CRs dropped) and DIR/N.body
 * (the body, by Content-Length), both complete before they appear (written
 * under a temporary name, then renamed; the body first). The answer is
 * --status (default 200) with a short body. "Expect: 100-continue" gets
 * its interim answer. --stall reads the request, keeps it, and never
 * answers: the client must time out. SIGTERM or SIGINT ends it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HEAD_MAX 65536
#define BODY_MAX (32u << 20)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "rv_hookserver: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write data to DIR/NAME through DIR/.NAME.tmp and a rename. */
static void keep(const char *dir, const char *name, const char *data,
		 size_t len)
{
	char tmp[4096], final[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >=
		(int)sizeof(tmp) ||
	    snprintf(final, sizeof(final), "%s/%s", dir, name) >=
		(int)sizeof(final)) {
		fprintf(stderr, "rv_hookserver: --dir is too long\n");
		exit(1);
	}
	f = fopen(tmp, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) ||
	    rename(tmp, final))
		die(final);
}

/* The value of header `name` in head (NUL-terminated), or NULL. */
static const char *header(const char *head, const char *name)
{
	size_t n = strlen(name);

	for (const char *line = strchr(head, '\n'); line;
	     line = strchr(line, '\n')) {
		line++;
		if (!strncasecmp(line, name, n) && line[n] == ':') {
			line += n + 1;
			while (*line == ' ' || *line == '\t')
				line++;
			return line;
		}
	}
	return NULL;
}

static void serve(int fd, const char *dir, int status, int stall,
		  unsigned long nr)
{
	static char head[HEAD_MAX + 1];
	char *body = NULL, name[64], answer[256];
	size_t len = 0, head_len = 0, body_len = 0, have;
	const char *cl, *end = NULL;
	struct timeval tv = {30, 0};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < HEAD_MAX) {
		ssize_t n = read(fd, head + len, HEAD_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		len += (size_t)n;
		head[len] = '\0';
		end = strstr(head, "\r\n\r\n");
		if (end)
			break;
	}
	if (!end)
		return;
	head_len = (size_t)(end - head) + 4;
	cl = header(head, "Content-Length");
	if (cl) {
		char *stop_at = NULL;
		unsigned long v = strtoul(cl, &stop_at, 10);
		if (v > BODY_MAX)
			return;
		body_len = v;
	}
	body = malloc(body_len + 1);
	if (!body)
		return;
	have = len - head_len;
	if (have > body_len)
		have = body_len;
	memcpy(body, head + head_len, have);
	if (have < body_len) {
		const char *ex = header(head, "Expect");
		if (ex && !strncasecmp(ex, "100-continue", 12))
			write_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	}
	while (have < body_len) {
		ssize_t n = read(fd, body + have, body_len - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	/* the head, CRs dropped */
	{
		size_t o = 0;
		for (size_t i = 0; i < head_len; i++)
			if (head[i] != '\r')
				head[o++] = head[i];
		head_len = o;
	}
	snprintf(name, sizeof(name), "%lu.body", nr);
	keep(dir, name, body, have);
	snprintf(name, sizeof(name), "%lu.head", nr);
	keep(dir, name, head, head_len);
	fprintf(stderr, "rv_hookserver: request %lu: %zu body bytes\n", nr,
		have);
	free(body);
	if (stall) {
		char sink[256];
		while (!stop && read(fd, sink, sizeof(sink)) > 0)
			;
		return;
	}
	snprintf(answer, sizeof(answer),
		 "HTTP/1.1 %d Test\r\nContent-Type: text/plain\r\n"
		 "Content-Length: 3\r\nConnection: close\r\n\r\nok\n",
		 status);
	write_all(fd, answer, strlen(answer));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"port-file", required_argument, NULL, 'p'},
	    {"status", required_argument, NULL, 's'},
	    {"stall", no_argument, NULL, 'S'},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *port_file = NULL;
	int status = 200, stall = 0, c, lfd, one = 1;
	unsigned long nr = 0;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct sigaction act;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'p')
			port_file = optarg;
		else if (c == 's')
			status = (int)strtol(optarg, NULL, 10);
		else if (c == 'S')
			stall = 1;
		else
			return 2;
	}
	if (!dir || status < 100 || status > 599) {
		fprintf(stderr, "usage: rv_hookserver --dir DIR [--port-file "
				"F] [--status N] [--stall]\n");
		return 2;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = on_signal; /* no SA_RESTART: accept() returns */
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl))
		die("listen on 127.0.0.1");
	printf("%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	if (port_file) {
		char tmp[4096];
		FILE *f;

		if (snprintf(tmp, sizeof(tmp), "%s.tmp", port_file) >=
		    (int)sizeof(tmp))
			return 2;
		f = fopen(tmp, "w");
		if (!f || fprintf(f, "%d\n", ntohs(sa.sin_port)) < 0 ||
		    fclose(f) || rename(tmp, port_file))
			die(port_file);
	}
	while (!stop) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		serve(fd, dir, status, stall, ++nr);
		close(fd);
	}
	close(lfd);
	return 0;
}
