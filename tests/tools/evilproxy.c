/* evilproxy.c - an HTTP/1.1 proxy that lies on purpose, for the end-to-end
 * tests of faults rv_faultproxy does not make: stalls, wrong bytes under a
 * right name, malformed or oversized answers, persistent errors.
 *
 *	rv_evilproxy --upstream HOST:PORT --log FILE [--port P]
 *		[--port-file F] [--tap FILE] [--rule RULE]...
 *
 * It listens on 127.0.0.1 (port P, or one the system picks: printed on
 * stdout and written to --port-file) and forwards each request to the
 * upstream server as it came (plain TCP, keep-alive on both sides), unless
 * a rule matches. A rule is one argument of words separated by spaces:
 *
 *	"METHOD REGEX ACTION [TIMES]"
 *
 * METHOD is GET, HEAD, ... or * (any); REGEX a POSIX extended regular
 * expression searched in the request path (with its query); TIMES how many
 * matching requests get the action (default 0: every one); later ones
 * pass. The first rule that matches (and has times left) wins. Actions:
 *
 *	status:CODE      answer CODE with a JSON error body; nothing upstream
 *	stall:K:S        forward the head and K body bytes, then send nothing
 *	                 for S seconds (0: until the client goes), then close;
 *	                 logs how long the client waited before it gave up
 *	stallhead:S      send nothing at all for S seconds (0: until the
 *	                 client goes), then close
 *	drip:K:MS        forward the head and K body bytes, then one byte
 *	                 every MS milliseconds (a connection that never quite
 *	                 stalls) until the body ends or the client goes;
 *	                 logs how long the client took to give up
 *	rst:K            forward the head and K body bytes, then a TCP reset
 *	flip:OFF         forward the whole answer with the byte at OFF (or the
 *	                 middle byte when the body is shorter) inverted: same
 *	                 length, same headers, wrong bytes
 *	replace:FILE[:DIGEST]  the upstream head, with FILE as the body
 *	                 (Content-Length adjusted; HEAD: no body) and
 *	                 Docker-Content-Digest set to DIGEST (dropped when no
 *	                 DIGEST is given); always a 200: when upstream said
 *	                 otherwise (a digest it does not know), its
 *	                 Content-Type is replaced by an OCI manifest's (a
 *	                 /manifests/ path) or application/json
 *	huge:N[:chunked] answer 200 application/json with an N-byte body that
 *	                 starts like a tag list and never ends it
 *	                 ({"name":"x","tags":["t000000001","t0000...), with a
 *	                 Content-Length (or chunked); logs how many bytes went
 *	                 out before the client closed
 *	link:URL         forward the answer with its Link header replaced by
 *	                 <URL>; rel="next" (a listing whose pages never end,
 *	                 or lead back)
 *	tap              forward, and append the answer's body (one line) to
 *	                 --tap FILE (to learn what a server handed out)
 *	delay:MS         wait MS milliseconds, then forward (a slow server:
 *	                 keeps a run that makes such requests going)
 *
 * Every request gets one line in the log (appended, flushed at once):
 *	pass GET /v2/... 200
 *	status GET /v2/... 503
 *	stall GET /v2/... 65536 of 2100000; client left after 60.0 s
 *	stallhead GET /v2/...; client left after 60.0 s
 *	drip GET /v2/... 65536 of 2100000, 120 dripped; client left after 60.0 s
 *	rst GET /v2/... 65536 of 2100000
 *	flip GET /v2/... byte 1050000 of 2100000
 *	replace HEAD /v2/... 120 bytes
 *	huge GET /v2/... sent 9437184 of 1073741824
 *	tap GET /token 200
 *	link GET /v2/... next /v2/...
 *	delay DELETE /bucket/... 2000 ms
 * A thread per client connection. SIGTERM or SIGINT ends it.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 65536		       /* request or response head */
#define IOBUF 65536		       /* socket read buffer */
#define LINE_MAX_LEN 1024	       /* a chunk-size line */
#define BODY_MAX ((uint64_t)256 << 20) /* a body held whole (flip, tap) */
#define RULES_MAX 32

enum action {
	A_PASS,
	A_STATUS,
	A_STALL,
	A_STALLHEAD,
	A_DRIP,
	A_RST,
	A_FLIP,
	A_REPLACE,
	A_HUGE,
	A_TAP,
	A_LINK,
	A_DELAY,
};

struct rule {
	char method[16];
	regex_t re;
	enum action action;
	long times; /* 0: every time */
	long used;  /* under S.lock */
	int64_t k;  /* status code, bytes, offset, size */
	long secs;
	long ms; /* drip */
	int chunked;
	char *file;   /* replace */
	char *digest; /* replace */
};

struct opts {
	const char *up_host;
	const char *up_port;
	const char *log_file;
	const char *port_file;
	const char *tap_file;
	int port;
	struct rule rules[RULES_MAX];
	size_t n_rules;
};

struct state {
	pthread_mutex_t lock;
	FILE *log;
	FILE *tap;
};

static struct opts O;
static struct state S = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct io {
	int fd;
	char buf[IOBUF];
	size_t off, len;
};

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&S.lock);
	va_start(ap, fmt);
	vfprintf(S.log, fmt, ap);
	va_end(ap);
	fputc('\n', S.log);
	fflush(S.log);
	pthread_mutex_unlock(&S.lock);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static ssize_t io_fill(struct io *io)
{
	ssize_t k;

	if (io->off == io->len)
		io->off = io->len = 0;
	if (io->len == sizeof(io->buf)) {
		if (!io->off)
			return -1;
		memmove(io->buf, io->buf + io->off, io->len - io->off);
		io->len -= io->off;
		io->off = 0;
	}
	do {
		k = recv(io->fd, io->buf + io->len, sizeof(io->buf) - io->len,
			 0);
	} while (k < 0 && errno == EINTR);
	if (k > 0)
		io->len += (size_t)k;
	return k;
}

/* A head up to the blank line, NUL-terminated: 0, 1 at a clean EOF before
 * any byte, -1 on error or when too long. */
static int io_head(struct io *io, char *out, size_t cap, size_t *outlen)
{
	size_t n = 0;

	for (;;) {
		while (io->off < io->len) {
			if (n + 1 >= cap)
				return -1;
			out[n++] = io->buf[io->off++];
			if (n >= 4 && !memcmp(out + n - 4, "\r\n\r\n", 4)) {
				out[n] = '\0';
				*outlen = n;
				return 0;
			}
		}
		ssize_t k = io_fill(io);
		if (k == 0 && n == 0)
			return 1;
		if (k <= 0)
			return -1;
	}
}

static int io_line(struct io *io, char *out, size_t cap)
{
	size_t n = 0;

	for (;;) {
		while (io->off < io->len) {
			char c = io->buf[io->off++];
			if (c == '\n') {
				if (n && out[n - 1] == '\r')
					n--;
				out[n] = '\0';
				return 0;
			}
			if (n + 1 >= cap)
				return -1;
			out[n++] = c;
		}
		if (io_fill(io) <= 0)
			return -1;
	}
}

/* A growable byte string (bodies held whole). */
struct bytes {
	char *p;
	size_t len, cap;
};

static int bytes_add(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n > BODY_MAX)
		return -1;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *q;
		while (cap < b->len + n)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q)
			return -1;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* Move n bytes from io to fd (fd < 0: discard) or into keep. */
static int io_copy(struct io *io, int fd, struct bytes *keep, uint64_t n)
{
	while (n) {
		if (io->off == io->len && io_fill(io) <= 0)
			return -1;
		size_t k = io->len - io->off;
		if (k > n)
			k = (size_t)n;
		if (fd >= 0 && write_all(fd, io->buf + io->off, k))
			return -1;
		if (keep && bytes_add(keep, io->buf + io->off, k))
			return -1;
		io->off += k;
		n -= k;
	}
	return 0;
}

/* A chunked body: relayed verbatim to fd, or decoded into keep. */
static int io_copy_chunked(struct io *io, int fd, struct bytes *keep)
{
	char line[LINE_MAX_LEN + 3];

	for (;;) {
		char *end = NULL;
		unsigned long long size;
		size_t n;

		if (io_line(io, line, LINE_MAX_LEN))
			return -1;
		errno = 0;
		size = strtoull(line, &end, 16);
		if (errno || end == line || size > ((uint64_t)1 << 40))
			return -1;
		n = strlen(line);
		memcpy(line + n, "\r\n", 3);
		if (fd >= 0 && write_all(fd, line, n + 2))
			return -1;
		if (!size)
			break;
		if (io_copy(io, fd, keep, size))
			return -1;
		if (io_copy(io, fd, NULL, 2))
			return -1;
	}
	for (;;) {
		size_t n;
		if (io_line(io, line, LINE_MAX_LEN))
			return -1;
		n = strlen(line);
		memcpy(line + n, "\r\n", 3);
		if (fd >= 0 && write_all(fd, line, n + 2))
			return -1;
		if (!n)
			return 0;
	}
}

static int io_copy_eof(struct io *io, int fd, struct bytes *keep)
{
	for (;;) {
		if (io->off < io->len) {
			if (fd >= 0 &&
			    write_all(fd, io->buf + io->off, io->len - io->off))
				return -1;
			if (keep && bytes_add(keep, io->buf + io->off,
					      io->len - io->off))
				return -1;
			io->off = io->len;
		}
		ssize_t k = io_fill(io);
		if (k == 0)
			return 0;
		if (k < 0)
			return -1;
	}
}

struct head {
	char method[16];
	char path[4096];
	int status;
	int64_t content_length; /* -1: none */
	int chunked;
	int close;
	int expect;
};

static int header_is(const char *line, const char *name)
{
	size_t n = strlen(name);
	return !strncasecmp(line, name, n) && line[n] == ':';
}

static const char *header_value(const char *line)
{
	const char *v = strchr(line, ':');
	v = v ? v + 1 : line + strlen(line);
	while (*v == ' ' || *v == '\t')
		v++;
	return v;
}

static int head_parse(struct head *h, const char *text, int request)
{
	const char *p = text, *eol;

	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	eol = strstr(p, "\r\n");
	if (!eol)
		return -1;
	if (request) {
		const char *sp = memchr(p, ' ', (size_t)(eol - p)), *sp2;
		if (!sp || (size_t)(sp - p) >= sizeof(h->method))
			return -1;
		memcpy(h->method, p, (size_t)(sp - p));
		sp2 = memchr(sp + 1, ' ', (size_t)(eol - sp - 1));
		if (!sp2 || (size_t)(sp2 - sp - 1) >= sizeof(h->path))
			return -1;
		memcpy(h->path, sp + 1, (size_t)(sp2 - sp - 1));
	} else {
		char *end = NULL;
		if (strncmp(p, "HTTP/1.", 7) || eol - p < 12)
			return -1;
		h->status = (int)strtol(p + 9, &end, 10);
		if (end != p + 12 || h->status < 100 || h->status > 599)
			return -1;
	}
	for (p = eol + 2; *p && strncmp(p, "\r\n", 2); p = eol + 2) {
		char line[HEAD_MAX];
		size_t n;

		eol = strstr(p, "\r\n");
		if (!eol)
			return -1;
		n = (size_t)(eol - p);
		memcpy(line, p, n);
		line[n] = '\0';
		if (header_is(line, "content-length")) {
			char *end = NULL;
			errno = 0;
			long long cl = strtoll(header_value(line), &end, 10);
			if (errno || cl < 0 || *end)
				return -1;
			h->content_length = cl;
		} else if (header_is(line, "transfer-encoding")) {
			h->chunked =
			    strcasestr(header_value(line), "chunked") != NULL;
		} else if (header_is(line, "connection")) {
			h->close =
			    strcasestr(header_value(line), "close") != NULL;
		} else if (header_is(line, "expect")) {
			h->expect = strcasestr(header_value(line),
					       "100-continue") != NULL;
		}
	}
	return 0;
}

/* Copy a head without the headers named in drop, adding extra (a
 * "Name: value\r\n..." text or NULL) before the blank line. */
static size_t head_rewrite(char *out, size_t cap, const char *text,
			   const char *const *drop, const char *extra)
{
	const char *p = text, *eol;
	size_t n = 0;

	while ((eol = strstr(p, "\r\n")) != NULL && eol != p) {
		size_t len = (size_t)(eol - p) + 2;
		int keep = 1;
		for (const char *const *d = drop; *d; d++) {
			size_t dl = strlen(*d);
			if (!strncasecmp(p, *d, dl) && p[dl] == ':')
				keep = 0;
		}
		if (keep && n + len < cap) {
			memcpy(out + n, p, len);
			n += len;
		}
		p = eol + 2;
	}
	if (extra && n + strlen(extra) < cap) {
		memcpy(out + n, extra, strlen(extra));
		n += strlen(extra);
	}
	if (n + 2 < cap) {
		memcpy(out + n, "\r\n", 2);
		n += 2;
	}
	return n;
}

static int upstream_connect(void)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(O.up_host, O.up_port, &hints, &res))
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* The rule for this request (its use counted), or NULL. */
static struct rule *rule_match(const struct head *rq)
{
	struct rule *hit = NULL;

	pthread_mutex_lock(&S.lock);
	for (size_t i = 0; i < O.n_rules && !hit; i++) {
		struct rule *r = &O.rules[i];
		if (strcmp(r->method, "*") && strcmp(r->method, rq->method))
			continue;
		if (regexec(&r->re, rq->path, 0, NULL, 0))
			continue;
		if (r->times && r->used >= r->times)
			continue;
		r->used++;
		hit = r;
	}
	pthread_mutex_unlock(&S.lock);
	return hit;
}

static void send_status(int fd, int status, int close_after)
{
	char out[512];
	const char *body = "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":"
			   "\"evil proxy: made-up failure\"}]}";
	int n;

	n = snprintf(out, sizeof(out),
		     "HTTP/1.1 %d Evil\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\n%s\r\n%s",
		     status, strlen(body),
		     close_after ? "Connection: close\r\n" : "", body);
	if (n > 0 && (size_t)n < sizeof(out))
		write_all(fd, out, (size_t)n);
}

static int relay_req_body(struct io *cl, int fd, const struct head *h)
{
	if (h->chunked)
		return io_copy_chunked(cl, fd, NULL);
	if (h->content_length > 0)
		return io_copy(cl, fd, NULL, (uint64_t)h->content_length);
	return 0;
}

/* Wait up to secs (0: for ever) for the client to close; the seconds it
 * waited, or -1 when it was still there at the end. */
static double wait_client_gone(int fd, long secs)
{
	double t0 = now_s();
	char sink[4096];

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		double left = secs ? (double)secs - (now_s() - t0) : 1.0;
		int r;

		if (left <= 0)
			return -1;
		r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno != EINTR)
			return now_s() - t0;
		if (r > 0) {
			ssize_t k = recv(fd, sink, sizeof(sink), 0);
			if (k <= 0)
				return now_s() - t0;
		}
	}
}

static void log_wait(const char *what, double waited, long secs)
{
	if (waited < 0)
		logf_("%s; client still there after %ld s", what, secs);
	else
		logf_("%s; client left after %.1f s", what, waited);
}

/* drip: after the head and r->k bytes, one byte every r->ms ms until the
 * body ends or the client goes; logs which. */
static void drip(struct io *up, int fd, const struct rule *r, const char *what,
		 int64_t length)
{
	struct timespec gap = {.tv_sec = r->ms / 1000,
			       .tv_nsec = (r->ms % 1000) * 1000000};
	int64_t sent = r->k, dripped = 0;
	double t0 = now_s();
	char w[4400];

	while (sent < length) {
		struct timespec ts = gap;
		struct pollfd p = {.fd = fd, .events = POLLIN};

		/* a client that closed shows as readable with nothing to read */
		if (poll(&p, 1, 0) > 0) {
			char c;
			if (recv(fd, &c, 1, MSG_PEEK) <= 0)
				break;
		}
		if (io_copy(up, fd, NULL, 1))
			break;
		sent++;
		dripped++;
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
	snprintf(w, sizeof(w), "drip %s %lld of %lld, %lld dripped", what,
		 (long long)r->k, (long long)length, (long long)dripped);
	if (sent < length)
		log_wait(w, now_s() - t0, 0);
	else
		logf_("%s; the whole body went out", w);
}

/* huge:N: a never-ending tag list. -1: close the connection. */
static int send_huge(int fd, const struct head *rq, const struct rule *r)
{
	static const char start[] = "{\"name\":\"x\",\"tags\":[";
	char head[512], piece[16384], what[4200];
	uint64_t total = (uint64_t)r->k, sent = 0;
	size_t fill = 0;
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		     "%s\r\n",
		     r->chunked ? "Transfer-Encoding: chunked\r\n" : "");
	if (!r->chunked)
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 200 OK\r\nContent-Type: "
			     "application/json\r\nContent-Length: %llu\r\n\r\n",
			     (unsigned long long)total);
	if (n <= 0 || (size_t)n >= sizeof(head) ||
	    write_all(fd, head, (size_t)n))
		goto out;
	memcpy(piece, start, sizeof(start) - 1);
	fill = sizeof(start) - 1;
	for (unsigned long i = 1; fill + 16 <= sizeof(piece); i++)
		fill += (size_t)snprintf(piece + fill, sizeof(piece) - fill,
					 "\"t%09lu\",", i % 1000000000UL);
	while (sent < total) {
		size_t k = fill;
		const char *p = piece;
		char ch[32];

		if (sent) { /* later pieces: the filler only */
			p = piece + sizeof(start) - 1;
			k = fill - (sizeof(start) - 1);
		}
		if ((uint64_t)k > total - sent)
			k = (size_t)(total - sent);
		if (r->chunked) {
			n = snprintf(ch, sizeof(ch), "%zx\r\n", k);
			if (write_all(fd, ch, (size_t)n))
				break;
		}
		if (write_all(fd, p, k))
			break;
		if (r->chunked && write_all(fd, "\r\n", 2))
			break;
		sent += k;
	}
	if (sent == total && r->chunked)
		write_all(fd, "0\r\n\r\n", 5);
out:
	snprintf(what, sizeof(what), "huge %s %s sent %llu of %llu", rq->method,
		 rq->path, (unsigned long long)sent, (unsigned long long)total);
	logf_("%s", what);
	return -1;
}

/* replace: the answer is a 200 whatever upstream said; when upstream
 * did not say 200, its Content-Type (an error's) goes too, and one that
 * suits the path is added to extra. */
static void replace_head(char *out, const struct head *rs, char *extra,
			 size_t cap, const struct head *rq)
{
	static const char *const drop_ct[] = {"content-type", NULL};
	char tmp[HEAD_MAX];
	size_t n, used;

	if (rs->status == 200)
		return;
	n = head_rewrite(tmp, sizeof(tmp) - 1, out, drop_ct, NULL);
	tmp[n] = '\0';
	/* the status line says 200; the headers stay */
	snprintf(out, HEAD_MAX, "HTTP/1.1 200 OK%s", tmp + strcspn(tmp, "\r"));
	used = strlen(extra);
	snprintf(extra + used, cap - used, "Content-Type: %s\r\n",
		 strstr(rq->path, "/manifests/")
		     ? "application/vnd.oci.image.manifest.v1+json"
		     : "application/json");
}

/* Read the upstream answer's body whole (after the head in up). */
static int read_body(struct bytes *body, struct io *up, const struct head *rs,
		     const struct head *rq)
{
	if (!strcmp(rq->method, "HEAD") || rs->status == 204 ||
	    rs->status == 304)
		return 0;
	if (rs->chunked)
		return io_copy_chunked(up, -1, body);
	if (rs->content_length >= 0)
		return io_copy(up, -1, body, (uint64_t)rs->content_length);
	return io_copy_eof(up, -1, body);
}

static char *file_read(size_t *len, const char *path)
{
	FILE *f = fopen(path, "rb");
	struct bytes b = {0};
	char tmp[65536];
	size_t k;

	if (!f)
		return NULL;
	while ((k = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (bytes_add(&b, tmp, k)) {
			fclose(f);
			free(b.p);
			return NULL;
		}
	fclose(f);
	*len = b.len;
	if (!b.p)
		b.p = calloc(1, 1);
	return b.p;
}

/* One request/response on the client connection: 0 to keep it, -1 to
 * close it. */
static int serve_one(struct io *cl, struct io *up, char *head, char *out)
{
	static const char *const drop_req[] = {"expect", NULL};
	static const char *const drop_len[] = {"content-length",
					       "transfer-encoding",
					       "docker-content-digest", NULL};
	static const char *const drop_len_keep_digest[] = {
	    "content-length", "transfer-encoding", NULL};
	static const char *const drop_len_link[] = {
	    "content-length", "transfer-encoding", "link", NULL};
	struct head rq, rs;
	struct bytes body = {0};
	struct rule *r;
	char what[4200];
	size_t hlen, n;
	int rc = -1;

	if (io_head(cl, head, HEAD_MAX, &hlen))
		return -1;
	if (head_parse(&rq, head, 1))
		return -1;
	snprintf(what, sizeof(what), "%s %s", rq.method, rq.path);
	r = rule_match(&rq);
	if (r && (r->action == A_STATUS || r->action == A_HUGE ||
		  r->action == A_STALLHEAD)) {
		int has_body = rq.chunked || rq.content_length > 0;
		if (has_body && rq.expect) {
			rq.close = 1;
		} else if (relay_req_body(cl, -1, &rq)) {
			return -1;
		}
		if (r->action == A_HUGE)
			return send_huge(cl->fd, &rq, r);
		if (r->action == A_STALLHEAD) {
			char w[4300];
			double waited = wait_client_gone(cl->fd, r->secs);
			snprintf(w, sizeof(w), "stallhead %s", what);
			log_wait(w, waited, r->secs);
			return -1;
		}
		logf_("status %s %d", what, (int)r->k);
		send_status(cl->fd, (int)r->k, rq.close);
		return rq.close ? -1 : 0;
	}
	if (r && r->action == A_DELAY) {
		struct timespec ts = {.tv_sec = r->k / 1000,
				      .tv_nsec = (r->k % 1000) * 1000000};
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		logf_("delay %s %lld ms", what, (long long)r->k);
	}
	if (rq.expect && write_all(cl->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25))
		return -1;
	if (up->fd < 0) {
		up->fd = upstream_connect();
		up->off = up->len = 0;
		if (up->fd < 0) {
			logf_("error %s cannot connect upstream", what);
			return -1;
		}
	}
	n = head_rewrite(out, HEAD_MAX, head, drop_req, NULL);
	if (write_all(up->fd, out, n) || relay_req_body(cl, up->fd, &rq))
		return -1;
	do {
		if (io_head(up, out, HEAD_MAX, &hlen) ||
		    head_parse(&rs, out, 0))
			return -1;
	} while (rs.status >= 100 && rs.status < 200);

	if (r && (r->action == A_STALL || r->action == A_RST ||
		  r->action == A_DRIP) &&
	    !rs.chunked && rs.content_length > r->k) {
		char w[4300];
		rc = write_all(cl->fd, out, hlen);
		if (!rc)
			rc = io_copy(up, cl->fd, NULL, (uint64_t)r->k);
		if (r->action == A_DRIP) {
			if (!rc)
				drip(up, cl->fd, r, what, rs.content_length);
			close(up->fd);
			up->fd = -1;
			return -1;
		}
		snprintf(w, sizeof(w), "%s %s %lld of %lld",
			 r->action == A_STALL ? "stall" : "rst", what,
			 (long long)r->k, (long long)rs.content_length);
		if (r->action == A_RST) {
			struct linger lg = {1, 0};
			setsockopt(cl->fd, SOL_SOCKET, SO_LINGER, &lg,
				   sizeof(lg));
			logf_("%s", w);
		} else {
			log_wait(w, wait_client_gone(cl->fd, r->secs), r->secs);
		}
		close(up->fd);
		up->fd = -1;
		return -1;
	}
	if (r && (r->action == A_FLIP || r->action == A_REPLACE ||
		  r->action == A_TAP || r->action == A_LINK)) {
		char extra[512];
		char *file = NULL;
		size_t file_len = 0;
		const char *send_body;
		size_t send_len;

		if (read_body(&body, up, &rs, &rq)) {
			logf_("error %s: cannot read the upstream body", what);
			goto close_up;
		}
		send_body = body.p;
		send_len = body.len;
		if (r->action == A_FLIP && body.len) {
			size_t at = (uint64_t)r->k < body.len ? (size_t)r->k
							      : body.len / 2;
			body.p[at] = (char)~body.p[at];
			logf_("flip %s byte %zu of %zu", what, at, body.len);
		} else if (r->action == A_REPLACE) {
			file = file_read(&file_len, r->file);
			if (!file) {
				logf_("error %s: cannot read '%s'", what,
				      r->file);
				goto close_up;
			}
			send_body = file;
			send_len = file_len;
			logf_("replace %s %zu bytes", what, file_len);
		} else if (r->action == A_TAP) {
			pthread_mutex_lock(&S.lock);
			if (S.tap) {
				fwrite(body.p ? body.p : "", 1, body.len,
				       S.tap);
				fputc('\n', S.tap);
				fflush(S.tap);
			}
			pthread_mutex_unlock(&S.lock);
			logf_("tap %s %d", what, rs.status);
		} else if (r->action == A_LINK) {
			logf_("link %s next %s", what, r->file);
		} else {
			logf_("flip %s empty body, nothing flipped", what);
		}
		if (r->action == A_REPLACE && r->digest)
			snprintf(extra, sizeof(extra),
				 "Content-Length: %zu\r\n"
				 "Docker-Content-Digest: %s\r\n",
				 send_len, r->digest);
		else if (r->action == A_LINK)
			snprintf(extra, sizeof(extra),
				 "Content-Length: %zu\r\n"
				 "Link: <%.300s>; rel=\"next\"\r\n",
				 send_len, r->file);
		else
			snprintf(extra, sizeof(extra),
				 "Content-Length: %zu\r\n", send_len);
		if (r->action == A_REPLACE)
			replace_head(out, &rs, extra, sizeof(extra), &rq);
		n = head_rewrite(head, HEAD_MAX, out,
				 r->action == A_REPLACE ? drop_len
				 : r->action == A_LINK	? drop_len_link
							: drop_len_keep_digest,
				 extra);
		rc = write_all(cl->fd, head, n);
		if (!rc && strcmp(rq.method, "HEAD") && send_len)
			rc = write_all(cl->fd, send_body, send_len);
		free(file);
		free(body.p);
		if (!rs.chunked && rs.content_length < 0 &&
		    strcmp(rq.method, "HEAD"))
			rs.close = 1; /* the body ended with the connection */
		if (rc || rs.close)
			goto close_up_nofree;
		return rq.close ? -1 : 0;
	}
	if (write_all(cl->fd, out, hlen))
		return -1;
	if (!strcmp(rq.method, "HEAD") || rs.status == 204 ||
	    rs.status == 304) {
		rc = 0;
	} else if (rs.chunked) {
		rc = io_copy_chunked(up, cl->fd, NULL);
	} else if (rs.content_length >= 0) {
		rc = io_copy(up, cl->fd, NULL, (uint64_t)rs.content_length);
	} else {
		io_copy_eof(up, cl->fd, NULL);
		rs.close = 1;
		rc = 0;
	}
	logf_("pass %s %d", what, rs.status);
	if (rc || rs.close)
		goto close_up_nofree;
	return rq.close ? -1 : 0;
close_up:
	free(body.p);
close_up_nofree:
	close(up->fd);
	up->fd = -1;
	return -1;
}

struct conn {
	struct io cl;
	struct io up;
	char head[HEAD_MAX];
	char out[HEAD_MAX];
};

static void *serve(void *arg)
{
	struct conn *c = arg;

	while (!serve_one(&c->cl, &c->up, c->head, c->out))
		;
	close(c->cl.fd);
	if (c->up.fd >= 0)
		close(c->up.fd);
	free(c);
	return NULL;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: rv_evilproxy --upstream HOST:PORT --log FILE "
	    "[--port P] [--port-file F]\n"
	    "       [--tap FILE] [--rule \"METHOD REGEX ACTION "
	    "[TIMES]\"]...\n"
	    "actions: status:CODE stall:K:S stallhead:S drip:K:MS rst:K\n"
	    "         flip:OFF link:URL\n"
	    "         replace:FILE[:DIGEST] huge:N[:chunked] tap delay:MS\n");
	exit(2);
}

static int64_t num(const char *s, int64_t min, int64_t max)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || !*s || (*end && *end != ':') || v < min || v > max) {
		fprintf(stderr, "evilproxy: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static void rule_parse(const char *text)
{
	char *copy = strdup(text), *w[4] = {0};
	struct rule *r;
	size_t n = 0;

	if (!copy || O.n_rules == RULES_MAX)
		usage();
	r = &O.rules[O.n_rules];
	memset(r, 0, sizeof(*r));
	for (char *t = copy; *t;) {
		if (*t == ' ') {
			*t++ = '\0';
			continue;
		}
		if (n == 4)
			usage();
		w[n++] = t;
		t += strcspn(t, " ");
	}
	if (n < 3 || strlen(w[0]) >= sizeof(r->method))
		usage();
	memcpy(r->method, w[0], strlen(w[0]) + 1);
	if (regcomp(&r->re, w[1], REG_EXTENDED | REG_NOSUB)) {
		fprintf(stderr, "evilproxy: bad regex '%s'\n", w[1]);
		exit(2);
	}
	if (n == 4)
		r->times = (long)num(w[3], 0, 1000000000);
	if (!strncmp(w[2], "status:", 7)) {
		r->action = A_STATUS;
		r->k = num(w[2] + 7, 100, 599);
	} else if (!strncmp(w[2], "stall:", 6)) {
		char *c = strchr(w[2] + 6, ':');
		if (!c)
			usage();
		r->action = A_STALL;
		r->k = num(w[2] + 6, 0, (int64_t)1 << 40);
		r->secs = (long)num(c + 1, 0, 86400);
	} else if (!strncmp(w[2], "drip:", 5)) {
		char *c = strchr(w[2] + 5, ':');
		if (!c)
			usage();
		r->action = A_DRIP;
		r->k = num(w[2] + 5, 0, (int64_t)1 << 40);
		r->ms = (long)num(c + 1, 1, 3600000);
	} else if (!strncmp(w[2], "stallhead:", 10)) {
		r->action = A_STALLHEAD;
		r->secs = (long)num(w[2] + 10, 0, 86400);
	} else if (!strncmp(w[2], "rst:", 4)) {
		r->action = A_RST;
		r->k = num(w[2] + 4, 0, (int64_t)1 << 40);
	} else if (!strncmp(w[2], "flip:", 5)) {
		r->action = A_FLIP;
		r->k = num(w[2] + 5, 0, (int64_t)1 << 40);
	} else if (!strncmp(w[2], "replace:", 8)) {
		char *c = strchr(w[2] + 8, ':');
		r->action = A_REPLACE;
		if (c) {
			*c = '\0';
			r->digest = strdup(c + 1);
		}
		r->file = strdup(w[2] + 8);
		if (!r->file || !*r->file)
			usage();
	} else if (!strncmp(w[2], "huge:", 5)) {
		char *c = strchr(w[2] + 5, ':');
		r->action = A_HUGE;
		r->k = num(w[2] + 5, 1, (int64_t)1 << 50);
		if (c && strcmp(c + 1, "chunked"))
			usage();
		r->chunked = c != NULL;
	} else if (!strncmp(w[2], "delay:", 6)) {
		r->action = A_DELAY;
		r->k = num(w[2] + 6, 0, 3600000);
	} else if (!strncmp(w[2], "link:", 5)) {
		r->action = A_LINK;
		r->file = strdup(w[2] + 5);
		if (!r->file || !*r->file)
			usage();
	} else if (!strcmp(w[2], "tap")) {
		r->action = A_TAP;
	} else {
		usage();
	}
	O.n_rules++;
	free(copy);
}

static void parse_opts(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"upstream", required_argument, NULL, 'u'},
	    {"log", required_argument, NULL, 'l'},
	    {"port", required_argument, NULL, 'p'},
	    {"port-file", required_argument, NULL, 'f'},
	    {"tap", required_argument, NULL, 't'},
	    {"rule", required_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	static char up_host[256], up_port[16];
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'u': {
			const char *colon = strrchr(optarg, ':');
			size_t hl = colon ? (size_t)(colon - optarg) : 0;
			if (!colon || !hl || hl >= sizeof(up_host) ||
			    strlen(colon + 1) >= sizeof(up_port))
				usage();
			memcpy(up_host, optarg, hl);
			up_host[hl] = '\0';
			memcpy(up_port, colon + 1, strlen(colon + 1) + 1);
			num(up_port, 1, 65535);
			O.up_host = up_host;
			O.up_port = up_port;
			break;
		}
		case 'l':
			O.log_file = optarg;
			break;
		case 'p':
			O.port = (int)num(optarg, 0, 65535);
			break;
		case 'f':
			O.port_file = optarg;
			break;
		case 't':
			O.tap_file = optarg;
			break;
		case 'r':
			rule_parse(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !O.up_host || !O.log_file)
		usage();
}

static void write_port_file(int port)
{
	char tmp[4096];
	FILE *f;

	if (!O.port_file)
		return;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", O.port_file) >=
	    (int)sizeof(tmp))
		exit(2);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) ||
	    rename(tmp, O.port_file)) {
		perror("evilproxy: port file");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int lfd, one = 1;

	parse_opts(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	S.log = fopen(O.log_file, "a");
	if (!S.log) {
		perror("evilproxy: log file");
		return 1;
	}
	if (O.tap_file) {
		S.tap = fopen(O.tap_file, "a");
		if (!S.tap) {
			perror("evilproxy: tap file");
			return 1;
		}
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0) {
		perror("evilproxy: socket");
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)O.port);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
		perror("evilproxy: listen");
		return 1;
	}
	printf("%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	write_port_file(ntohs(sa.sin_port));
	for (;;) {
		pthread_t t;
		pthread_attr_t attr;
		struct conn *c;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EMFILE)
				continue;
			perror("evilproxy: accept");
			return 1;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->cl.fd = fd;
		c->up.fd = -1;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, serve, c)) {
			close(fd);
			free(c);
		}
		pthread_attr_destroy(&attr);
	}
}
