/* faultproxy.c - an HTTP/1.1 proxy that misbehaves on purpose, for the
 * end-to-end tests of the registry client's retries and resumes.
 *
 *	rv_faultproxy --upstream 127.0.0.1:5000 --log FILE [--port P]
 *		[--port-file F] [--cut-bytes K] [--cut-first] [--cut-every N]
 *		[--cut-mode fin|rst|short|mix] [--every-429 N] [--every-503 M]
 *		[--retry-after S] [--strip-range] [--cut-patch K]
 *		[--cut-patch-max N] [--every-500 N] [--xml-errors]
 *		[--cut-any-path] [--cut-put K] [--cut-put-every N]
 *		[--cut-put-max N] [--throttle-kbps R]
 *
 * It listens on 127.0.0.1 (port P, or one the system picks: printed on
 * stdout and written to --port-file), and forwards each request to the
 * upstream registry as it came (plain TCP, keep-alive on both sides: it
 * parses Content-Length and chunked bodies), except that:
 *   - every Nth request (counted over all connections, from 1) is answered
 *     429 Too Many Requests with Retry-After: S (default 1) by the proxy;
 *   - every Mth request is answered 503 Service Unavailable (no
 *     Retry-After), unless it got a 429;
 *   - a GET of /v2/<name>/blobs/<digest> whose answer (200 or 206) has a
 *     Content-Length above K is cut after K body bytes: the first time a
 *     digest is asked for (--cut-first) and/or every Nth blob GET
 *     (--cut-every). How: fin (close: the body is short of its
 *     Content-Length), rst (a TCP reset), short (Content-Length dropped and
 *     "Connection: close" sent, then closed: the body looks complete but is
 *     short), mix (fin, rst, short in turn; the default).
 * --strip-range drops the Range header from the requests it forwards, so
 * the registry answers a resumed download with the whole body (200).
 * --cut-patch K: the first PATCH of each upload (/v2/<name>/blobs/uploads/
 * <id>, the id without its query) whose Content-Length is above K gets its
 * head and only K body bytes forwarded (K may be 0: the head only); then
 * both connections are closed (the client sees its connection dropped
 * mid-upload, the registry a body short of its Content-Length).
 * --cut-patch-max N: at most N such cuts in the run (a registry that loses
 * a cut upload makes the client start a new one, whose first PATCH would
 * be cut again).
 * For other HTTP servers (an S3 endpoint), with any path:
 * --every-500 N: every Nth request is answered 500 Internal Server Error,
 *   unless it got a 429 or a 503.
 * --xml-errors: the 429/503/500 bodies are S3 error documents (<Error>
 *   with SlowDown, ServiceUnavailable, InternalError) instead of registry
 *   JSON.
 * --cut-any-path: the GET cuts (--cut-first, --cut-every, --cut-bytes,
 *   --cut-mode) apply to a GET of any path, not only registry blobs;
 *   --cut-first remembers the path without its query.
 * --cut-put K: a PUT whose Content-Length is above K gets its head and
 *   only K body bytes forwarded, then both connections are closed: the
 *   first PUT of each path (query included: each multipart part is its
 *   own path), and with --cut-put-every N every Nth PUT above K as well;
 *   --cut-put-max N: at most N such cuts in the run.
 * --throttle-kbps R: response bodies with a Content-Length are relayed at
 *   most R KiB/s per connection (a slow server, so a test can act while a
 *   run is in the middle).
 * Every request gets one line in the log (appended, flushed at once):
 *	pass GET /v2/... 200
 *	429 GET /v2/...
 *	503 HEAD /v2/...
 *	cut GET /v2/a/blobs/sha256:... 65536 of 2100000 fin
 *	cut PATCH /v2/a/blobs/uploads/<id> 300000 of 1048576
 *	500 PUT /bucket/key
 *	cut PUT /bucket/key 65536 of 33554432
 * A thread per client connection. SIGTERM or SIGINT ends it.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 65536	  /* request or response head */
#define IOBUF 65536	  /* socket read buffer */
#define CUT_SEEN_MAX 4096 /* digests remembered for --cut-first */
#define LINE_MAX_LEN 1024 /* a chunk-size line */

enum cut_mode { CUT_FIN, CUT_RST, CUT_SHORT, CUT_MIX };

struct opts {
	const char *up_host;
	const char *up_port;
	const char *log_file;
	const char *port_file;
	int port;
	int64_t cut_bytes;
	int cut_first;
	long cut_every;
	enum cut_mode cut_mode;
	long every_429;
	long every_503;
	long retry_after;
	int strip_range;
	int64_t cut_patch;
	long cut_patch_max;
	long every_500;
	int xml_errors;
	int cut_any_path;
	int64_t cut_put;
	long cut_put_every;
	long cut_put_max;
	long throttle_kbps;
};

/* Shared by the connection threads, under lock. */
struct state {
	pthread_mutex_t lock;
	FILE *log;
	uint64_t requests;
	uint64_t blob_gets;
	uint64_t cuts;
	char *seen[CUT_SEEN_MAX];
	size_t n_seen;
	char *patch_seen[CUT_SEEN_MAX]; /* upload ids, for --cut-patch */
	size_t n_patch_seen;
	long patch_cuts;
	char *put_seen[CUT_SEEN_MAX]; /* paths, for --cut-put */
	size_t n_put_seen;
	uint64_t puts;
	long put_cuts;
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

/* More bytes into the buffer: >0, 0 at EOF, -1 on error. */
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

/* Read a head (up to the blank line) into out, NUL-terminated. 0, 1 at a
 * clean EOF before any byte, -1 on error or when it is too long. */
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

/* One line (CRLF-ended) into out without the CRLF. */
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

/* Copy n bytes from io to fd (fd < 0: discard). -1 on error or EOF. */
static int io_copy(struct io *io, int fd, uint64_t n)
{
	while (n) {
		if (io->off == io->len && io_fill(io) <= 0)
			return -1;
		size_t k = io->len - io->off;
		if (k > n)
			k = (size_t)n;
		if (fd >= 0 && write_all(fd, io->buf + io->off, k))
			return -1;
		io->off += k;
		n -= k;
	}
	return 0;
}

/* io_copy at most rate KiB/s (0: no limit). */
static int io_copy_rate(struct io *io, int fd, uint64_t n, long rate)
{
	if (rate <= 0)
		return io_copy(io, fd, n);
	while (n) {
		size_t k;
		struct timespec ts;
		uint64_t us;

		if (io->off == io->len && io_fill(io) <= 0)
			return -1;
		k = io->len - io->off;
		if (k > n)
			k = (size_t)n;
		if (k > 16384)
			k = 16384;
		if (write_all(fd, io->buf + io->off, k))
			return -1;
		io->off += k;
		n -= k;
		us = (uint64_t)k * 1000000u / ((uint64_t)rate * 1024u);
		ts.tv_sec = (time_t)(us / 1000000u);
		ts.tv_nsec = (long)(us % 1000000u) * 1000;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	return 0;
}

/* Relay a chunked body verbatim (chunk lines, data, trailers). */
static int io_copy_chunked(struct io *io, int fd)
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
		if (io_copy(io, fd, size + 2))
			return -1;
	}
	for (;;) { /* trailers up to the blank line */
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

/* Copy until EOF. */
static int io_copy_eof(struct io *io, int fd)
{
	for (;;) {
		if (io->off < io->len) {
			if (write_all(fd, io->buf + io->off, io->len - io->off))
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

/* The facts a head tells about its body and connection. */
struct head {
	char method[16];
	char path[2048];
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

/* Parse a head in place-free fashion; request 1: a request line. */
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

/* Copy head text to out without the headers named in drop (NULL-ended),
 * adding extra (a "Name: value\r\n" text or NULL) before the blank line. */
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

/* /v2/<name>/blobs/<digest> (not uploads): the digest, else NULL. */
static const char *blob_digest(const char *path)
{
	const char *b;

	if (strncmp(path, "/v2/", 4))
		return NULL;
	b = strstr(path, "/blobs/");
	if (!b || !strncmp(b + 7, "uploads", 7) || strncmp(b + 7, "sha256:", 7))
		return NULL;
	return b + 7;
}

/* /v2/<name>/blobs/uploads/<id>[?...]: the id's length (the id starts at
 * *id), else 0. */
static size_t upload_id(const char **id, const char *path)
{
	const char *b;
	size_t n;

	if (strncmp(path, "/v2/", 4))
		return 0;
	b = strstr(path, "/blobs/uploads/");
	if (!b)
		return 0;
	b += strlen("/blobs/uploads/");
	n = strcspn(b, "?#");
	if (!n || memchr(b, '/', n))
		return 0;
	*id = b;
	return n;
}

/* Is this the first PATCH of its upload (then remember it)? */
static int patch_first(const char *id, size_t n)
{
	int first = 0;
	size_t i;

	pthread_mutex_lock(&S.lock);
	for (i = 0; i < S.n_patch_seen; i++)
		if (strlen(S.patch_seen[i]) == n &&
		    !strncmp(S.patch_seen[i], id, n))
			break;
	if (i == S.n_patch_seen && S.n_patch_seen < CUT_SEEN_MAX) {
		S.patch_seen[i] = strndup(id, n);
		if (S.patch_seen[i]) {
			S.n_patch_seen++;
			first = 1;
		}
	}
	if (first && O.cut_patch_max > 0 && S.patch_cuts >= O.cut_patch_max)
		first = 0;
	if (first)
		S.patch_cuts++;
	pthread_mutex_unlock(&S.lock);
	return first;
}

/* Should this PUT (path with its query) be cut (then count it)? */
static int put_cut(const char *path)
{
	int cut = 0;
	size_t i;

	pthread_mutex_lock(&S.lock);
	S.puts++;
	for (i = 0; i < S.n_put_seen; i++)
		if (!strcmp(S.put_seen[i], path))
			break;
	if (i == S.n_put_seen && S.n_put_seen < CUT_SEEN_MAX) {
		S.put_seen[i] = strdup(path);
		if (S.put_seen[i]) {
			S.n_put_seen++;
			cut = 1;
		}
	}
	if (O.cut_put_every > 0 && S.puts % (uint64_t)O.cut_put_every == 0)
		cut = 1;
	if (cut && O.cut_put_max > 0 && S.put_cuts >= O.cut_put_max)
		cut = 0;
	if (cut)
		S.put_cuts++;
	pthread_mutex_unlock(&S.lock);
	return cut;
}

/* Decide the fault for request number n. */
static int request_fault(void)
{
	uint64_t n;

	pthread_mutex_lock(&S.lock);
	n = ++S.requests;
	pthread_mutex_unlock(&S.lock);
	if (O.every_429 > 0 && n % (uint64_t)O.every_429 == 0)
		return 429;
	if (O.every_503 > 0 && n % (uint64_t)O.every_503 == 0)
		return 503;
	if (O.every_500 > 0 && n % (uint64_t)O.every_500 == 0)
		return 500;
	return 0;
}

/* Should this blob GET be cut? -1: no; else the cut mode. */
static int blob_cut(const char *digest)
{
	int cut = 0;
	size_t dl = strcspn(digest, "?#");
	uint64_t nth;

	pthread_mutex_lock(&S.lock);
	nth = ++S.blob_gets;
	if (O.cut_every > 0 && nth % (uint64_t)O.cut_every == 0)
		cut = 1;
	if (O.cut_first) {
		size_t i;
		for (i = 0; i < S.n_seen; i++)
			if (strlen(S.seen[i]) == dl &&
			    !strncmp(S.seen[i], digest, dl))
				break;
		if (i == S.n_seen && S.n_seen < CUT_SEEN_MAX) {
			S.seen[S.n_seen] = strndup(digest, dl);
			if (S.seen[S.n_seen]) {
				S.n_seen++;
				cut = 1;
			}
		}
	}
	if (cut)
		nth = S.cuts++;
	pthread_mutex_unlock(&S.lock);
	if (!cut)
		return -1;
	if (O.cut_mode == CUT_MIX)
		return (int)(nth % 3);
	return (int)O.cut_mode;
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

static void send_fault(int fd, int status, int close_after)
{
	char out[1024];
	const char *body =
	    status == 429
		? "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":"
		  "\"fault proxy: slow down\"}]}"
		: "{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":"
		  "\"fault proxy: try again\"}]}";
	const char *type = "application/json";
	const char *reason = status == 429   ? "Too Many Requests"
			     : status == 500 ? "Internal Server Error"
					     : "Service Unavailable";
	char ra[64] = "";
	int n;

	if (status == 500)
		body = "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":"
		       "\"fault proxy: internal error\"}]}";
	if (O.xml_errors) {
		type = "application/xml";
		body = status == 429
			   ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
			     "<Error><Code>SlowDown</Code><Message>fault "
			     "proxy: slow down</Message></Error>"
		       : status == 500
			   ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
			     "<Error><Code>InternalError</Code><Message>"
			     "fault proxy: internal error</Message></Error>"
			   : "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
			     "<Error><Code>ServiceUnavailable</Code><Message>"
			     "fault proxy: try again</Message></Error>";
	}
	if (status == 429)
		snprintf(ra, sizeof(ra), "Retry-After: %ld\r\n", O.retry_after);
	n = snprintf(out, sizeof(out),
		     "HTTP/1.1 %d %s\r\n%sContent-Type: %s\r\n"
		     "Content-Length: %zu\r\n%s\r\n%s",
		     status, reason, ra, type, strlen(body),
		     close_after ? "Connection: close\r\n" : "", body);
	if (n > 0 && (size_t)n < sizeof(out))
		write_all(fd, out, (size_t)n);
}

/* Relay the request body from client to upstream (fd < 0: discard). */
static int relay_req_body(struct io *cl, int fd, const struct head *h)
{
	if (h->chunked)
		return io_copy_chunked(cl, fd);
	if (h->content_length > 0)
		return io_copy(cl, fd, (uint64_t)h->content_length);
	return 0;
}

/* One request/response on the client connection. 0 to keep the
 * connection, -1 to close it. */
static int serve_one(struct io *cl, struct io *up, char *head, char *out)
{
	static const char *const drop_req[] = {"expect", NULL};
	static const char *const drop_req_range[] = {"expect", "range", NULL};
	static const char *const drop_short[] = {"content-length", "connection",
						 NULL};
	struct head rq, rs;
	size_t hlen, n, idlen;
	const char *digest, *id = NULL;
	int fault, cut = -1, rc, cut_patch = 0, cut_put = 0;

	rc = io_head(cl, head, HEAD_MAX, &hlen);
	if (rc)
		return -1;
	if (head_parse(&rq, head, 1))
		return -1;
	fault = request_fault();
	if (fault) {
		int has_body = rq.chunked || rq.content_length > 0;
		logf_("%d %s %s", fault, rq.method, rq.path);
		if (has_body && rq.expect) {
			send_fault(cl->fd, fault, 1);
			return -1;
		}
		if (relay_req_body(cl, -1, &rq))
			return -1;
		send_fault(cl->fd, fault, rq.close);
		return rq.close ? -1 : 0;
	}
	if (rq.expect && write_all(cl->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25))
		return -1;
	if (up->fd < 0) {
		up->fd = upstream_connect();
		up->off = up->len = 0;
		if (up->fd < 0) {
			logf_("error %s %s cannot connect upstream", rq.method,
			      rq.path);
			return -1;
		}
	}
	n = head_rewrite(out, HEAD_MAX, head,
			 O.strip_range ? drop_req_range : drop_req, NULL);
	if (O.cut_patch >= 0 && !strcmp(rq.method, "PATCH") && !rq.chunked &&
	    rq.content_length > O.cut_patch &&
	    (idlen = upload_id(&id, rq.path)) > 0)
		cut_patch = patch_first(id, idlen);
	if (O.cut_put >= 0 && !strcmp(rq.method, "PUT") && !rq.chunked &&
	    rq.content_length > O.cut_put)
		cut_put = put_cut(rq.path);
	if (cut_patch || cut_put) {
		int64_t keep = cut_put ? O.cut_put : O.cut_patch;
		/* the head and K body bytes reach the registry, then both
		 * connections close: the rest of the body never comes */
		rc = write_all(up->fd, out, n);
		if (!rc)
			rc = io_copy(cl, up->fd, (uint64_t)keep);
		logf_("cut %s %s %lld of %lld%s", rq.method, rq.path,
		      (long long)keep, (long long)rq.content_length,
		      rc ? " (short: the client or registry went first)" : "");
		close(up->fd);
		up->fd = -1;
		return -1;
	}
	if (write_all(up->fd, out, n) || relay_req_body(cl, up->fd, &rq))
		return -1;
	do {
		if (io_head(up, out, HEAD_MAX, &hlen) ||
		    head_parse(&rs, out, 0))
			return -1;
	} while (rs.status >= 100 && rs.status < 200);

	digest = O.cut_any_path ? rq.path : blob_digest(rq.path);
	if (digest && !strcmp(rq.method, "GET") &&
	    (rs.status == 200 || rs.status == 206) && !rs.chunked &&
	    rs.content_length > O.cut_bytes && O.cut_bytes > 0)
		cut = blob_cut(digest);
	if (cut >= 0) {
		static const char *const names[] = {"fin", "rst", "short"};
		if (cut == CUT_SHORT) {
			n = head_rewrite(head, HEAD_MAX, out, drop_short,
					 "Connection: close\r\n");
			rc = write_all(cl->fd, head, n);
		} else {
			rc = write_all(cl->fd, out, hlen);
		}
		if (!rc)
			rc = io_copy(up, cl->fd, (uint64_t)O.cut_bytes);
		logf_("cut %s %s %lld of %lld %s", rq.method, rq.path,
		      (long long)O.cut_bytes, (long long)rs.content_length,
		      names[cut]);
		if (cut == CUT_RST) {
			struct linger lg = {1, 0};
			setsockopt(cl->fd, SOL_SOCKET, SO_LINGER, &lg,
				   sizeof(lg));
		} else {
			shutdown(cl->fd, SHUT_WR);
		}
		close(up->fd);
		up->fd = -1;
		return -1;
	}
	if (write_all(cl->fd, out, hlen))
		return -1;
	if (!strcmp(rq.method, "HEAD") || rs.status == 204 ||
	    rs.status == 304) {
		rc = 0;
	} else if (rs.chunked) {
		rc = io_copy_chunked(up, cl->fd);
	} else if (rs.content_length >= 0) {
		rc = io_copy_rate(up, cl->fd, (uint64_t)rs.content_length,
				  O.throttle_kbps);
	} else {
		io_copy_eof(up, cl->fd);
		rs.close = 1;
		rc = 0;
	}
	logf_("pass %s %s %d", rq.method, rq.path, rs.status);
	if (rc || rs.close) {
		close(up->fd);
		up->fd = -1;
		return -1;
	}
	return rq.close ? -1 : 0;
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

static long num_arg(const char *s, const char *name, long min, long max)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || !*s || *end || v < min || v > max) {
		fprintf(stderr, "faultproxy: bad %s '%s'\n", name, s);
		exit(2);
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rv_faultproxy --upstream HOST:PORT --log FILE "
		"[--port P] [--port-file F]\n"
		"       [--cut-bytes K] [--cut-first] [--cut-every N] "
		"[--cut-mode fin|rst|short|mix]\n"
		"       [--every-429 N] [--every-503 M] [--retry-after S] "
		"[--strip-range]\n"
		"       [--cut-patch K] [--cut-patch-max N]\n"
		"       [--every-500 N] [--xml-errors] [--cut-any-path]\n"
		"       [--cut-put K] [--cut-put-every N] [--cut-put-max N]\n"
		"       [--throttle-kbps R]\n");
	exit(2);
}

static void parse_opts(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"upstream", required_argument, NULL, 'u'},
	    {"log", required_argument, NULL, 'l'},
	    {"port", required_argument, NULL, 'p'},
	    {"port-file", required_argument, NULL, 'f'},
	    {"cut-bytes", required_argument, NULL, 'k'},
	    {"cut-first", no_argument, NULL, '1'},
	    {"cut-every", required_argument, NULL, 'c'},
	    {"cut-mode", required_argument, NULL, 'm'},
	    {"every-429", required_argument, NULL, 't'},
	    {"every-503", required_argument, NULL, 's'},
	    {"retry-after", required_argument, NULL, 'r'},
	    {"strip-range", no_argument, NULL, 'R'},
	    {"cut-patch", required_argument, NULL, 'P'},
	    {"cut-patch-max", required_argument, NULL, 'M'},
	    {"every-500", required_argument, NULL, 'e'},
	    {"xml-errors", no_argument, NULL, 'X'},
	    {"cut-any-path", no_argument, NULL, 'A'},
	    {"cut-put", required_argument, NULL, 'U'},
	    {"cut-put-every", required_argument, NULL, 'V'},
	    {"cut-put-max", required_argument, NULL, 'W'},
	    {"throttle-kbps", required_argument, NULL, 'T'},
	    {NULL, 0, NULL, 0},
	};
	static char up_host[256], up_port[16];
	int ch;

	O.cut_mode = CUT_MIX;
	O.retry_after = 1;
	O.cut_patch = -1;
	O.cut_put = -1;
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
			num_arg(up_port, "upstream port", 1, 65535);
			O.up_host = up_host;
			O.up_port = up_port;
			break;
		}
		case 'l':
			O.log_file = optarg;
			break;
		case 'p':
			O.port = (int)num_arg(optarg, "port", 0, 65535);
			break;
		case 'f':
			O.port_file = optarg;
			break;
		case 'k':
			O.cut_bytes = num_arg(optarg, "cut-bytes", 1, 1L << 40);
			break;
		case '1':
			O.cut_first = 1;
			break;
		case 'c':
			O.cut_every = num_arg(optarg, "cut-every", 1, 1000000);
			break;
		case 'm':
			if (!strcmp(optarg, "fin"))
				O.cut_mode = CUT_FIN;
			else if (!strcmp(optarg, "rst"))
				O.cut_mode = CUT_RST;
			else if (!strcmp(optarg, "short"))
				O.cut_mode = CUT_SHORT;
			else if (!strcmp(optarg, "mix"))
				O.cut_mode = CUT_MIX;
			else
				usage();
			break;
		case 't':
			O.every_429 = num_arg(optarg, "every-429", 1, 1000000);
			break;
		case 's':
			O.every_503 = num_arg(optarg, "every-503", 1, 1000000);
			break;
		case 'r':
			O.retry_after =
			    num_arg(optarg, "retry-after", 0, 86400);
			break;
		case 'R':
			O.strip_range = 1;
			break;
		case 'P':
			O.cut_patch = num_arg(optarg, "cut-patch", 0, 1L << 40);
			break;
		case 'M':
			O.cut_patch_max =
			    num_arg(optarg, "cut-patch-max", 1, 1000000);
			break;
		case 'e':
			O.every_500 = num_arg(optarg, "every-500", 1, 1000000);
			break;
		case 'X':
			O.xml_errors = 1;
			break;
		case 'A':
			O.cut_any_path = 1;
			break;
		case 'U':
			O.cut_put = num_arg(optarg, "cut-put", 0, 1L << 40);
			break;
		case 'V':
			O.cut_put_every =
			    num_arg(optarg, "cut-put-every", 1, 1000000);
			break;
		case 'W':
			O.cut_put_max =
			    num_arg(optarg, "cut-put-max", 1, 1000000);
			break;
		case 'T':
			O.throttle_kbps =
			    num_arg(optarg, "throttle-kbps", 1, 10000000);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !O.up_host || !O.log_file)
		usage();
	if ((O.cut_first || O.cut_every) && !O.cut_bytes)
		O.cut_bytes = 65536;
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
		perror("faultproxy: port file");
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
		perror("faultproxy: log file");
		return 1;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0) {
		perror("faultproxy: socket");
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)O.port);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
		perror("faultproxy: listen");
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
			perror("faultproxy: accept");
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
