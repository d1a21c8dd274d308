/* target_s3.c - the s3 target: the target_ops table over libcurl with
 * SigV4 (CURLOPT_AWS_SIGV4).
 *
 * libcurl 7.88 signs the URL exactly as written and hashes the payload as
 * the x-amz-content-sha256 header says, so every URL here is canonical
 * (s3_url, s3_query) and every request carries that header. One easy
 * handle per target keeps the connection alive between requests; it is
 * reset (not recreated) before each one.
 */
#include "store/target_s3.h"

#include "store/s3_xml.h"
#include "store/target.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/httphdr.h"
#include "util/log.h"
#include "util/strlist.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S3_PART_DEFAULT (64ull << 20)
#define S3_PART_MIN (5ull << 20)
#define S3_PART_MAX (5ull << 30)
#define S3_PARTS_MAX 10000
#define S3_TRIES 4
#define S3_RETRY_MS 200
#define S3_PAGE_KEYS 1000
#define S3_LIST_NAMES_MAX 5000000
#define S3_EMPTY_PAGES_MAX 100
#define S3_ERRBODY_MAX (64u << 10)
#define S3_COMPLETE_MAX (2u << 20)
#define S3_HASH_BLOCK (1u << 20)
#define S3_ETAG_MAX 192
#define S3_PREFIX_MAX 512
#define S3_LOCK_DAYS_MAX 36500
#define S3_SECRET_MAX 1024
#define S3_VERSIONS_MAX 100000 /* versions of one key we delete */

static const char EMPTY_SHA256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct target_s3 {
	struct target base;
	CURL *curl;
	struct s3_endpoint ep;
	char *endpoint, *bucket, *prefix, *sigv4, *access_key, *secret;
	char *ca_file;
	int path_style, insecure, lock_days, https;
	uint64_t part_size;
	unsigned page_keys, retry_ms;
	int bucket_ok; /* a request on the bucket worked: it exists */
	unsigned rand_state;
	char curl_err[CURL_ERROR_SIZE];
};

static struct target_s3 *to_s3(struct target *t)
{
	return (struct target_s3 *)t;
}

/* ---- requests -----------------------------------------------------------*/

/* Where an upload's bytes come from: memory, or a file descriptor. */
struct s3_src {
	const unsigned char *data;
	int fd;
	const char *path; /* for messages */
	uint64_t size;
};

struct s3_req {
	const char *what;	  /* verb for messages: "put", "read", ... */
	const char *name;	  /* object name for messages (relative) */
	const char *method;	  /* GET HEAD PUT POST DELETE */
	const char *key;	  /* full key; NULL for the bucket */
	const char *query;	  /* canonical; NULL for none */
	const struct s3_src *src; /* PUT/POST body: [off, off+len) of src */
	uint64_t off, len;
	const char *sha256; /* hex, "UNSIGNED-PAYLOAD"; NULL = empty body */
	const char *md5;    /* base64 Content-MD5 or NULL */
	const char *content_type;
	int lock;      /* add the object lock headers */
	int has_range; /* send Range for [range_off, +range_len) */
	uint64_t range_off, range_len; /* range_len 0: to the end */
	int idempotent;		       /* 0: retry only when nothing was done */
	int complete;		       /* a 200 may carry an <Error> body */
	struct rv_buf *out;	       /* 2xx body, appended; NULL: dropped */
};

struct s3_resp {
	long status;
	int64_t content_length; /* -1 when absent */
	char content_range[128];
	char etag[S3_ETAG_MAX];
	char version_id[S3_ETAG_MAX]; /* x-amz-version-id */
	char lock_until[64];	      /* x-amz-object-lock-retain-until-date */
	char legal_hold[8];	      /* x-amz-object-lock-legal-hold */
	struct rv_buf err_body;
	struct s3_error err; /* parsed from err_body after a failure */
	int tries;
};

struct xfer {
	struct target_s3 *s;
	const struct s3_req *req;
	struct s3_resp *resp;
	int rc; /* first error raised in a callback */
	uint64_t sent;
	uint64_t seen; /* 2xx body bytes received */
};

static void resp_init(struct s3_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->content_length = -1;
	rv_buf_init(&resp->err_body, S3_ERRBODY_MAX);
}

static void resp_clear(struct s3_resp *resp)
{
	resp->status = 0;
	resp->content_length = -1;
	resp->content_range[0] = '\0';
	resp->etag[0] = '\0';
	resp->version_id[0] = '\0';
	resp->lock_until[0] = '\0';
	resp->legal_hold[0] = '\0';
	rv_buf_reset(&resp->err_body);
	memset(&resp->err, 0, sizeof(resp->err));
}

static void resp_release(struct s3_resp *resp)
{
	rv_buf_release(&resp->err_body);
}

static void copy_field(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct s3_resp *resp = x->resp;
	size_t len = size * n, vlen;
	const char *v;
	struct rv_hdr h;

	if (rv_hdr_parse(&h, p, len))
		return len;
	if (h.is_status) {
		/* a new response (after 100 Continue) starts afresh */
		resp_clear(resp);
		resp->status = h.status;
		return len;
	}
	v = h.value;
	vlen = h.value_len;
#define IS(s) rv_hdr_is(&h, s)
	if (IS("content-length")) {
		char num[24];
		char *e;
		unsigned long long cl;
		if (vlen == 0 || vlen >= sizeof(num))
			return len;
		copy_field(num, sizeof(num), v, vlen);
		errno = 0;
		cl = strtoull(num, &e, 10);
		if (!errno && *e == '\0' && num[0] != '-' && cl <= INT64_MAX)
			resp->content_length = (int64_t)cl;
	} else if (IS("content-range")) {
		copy_field(resp->content_range, sizeof(resp->content_range), v,
			   vlen);
	} else if (IS("etag")) {
		if (vlen < S3_ETAG_MAX)
			copy_field(resp->etag, sizeof(resp->etag), v, vlen);
	} else if (IS("x-amz-version-id")) {
		if (vlen < S3_ETAG_MAX)
			copy_field(resp->version_id, sizeof(resp->version_id),
				   v, vlen);
	} else if (IS("x-amz-object-lock-retain-until-date")) {
		if (vlen < sizeof(resp->lock_until))
			copy_field(resp->lock_until, sizeof(resp->lock_until),
				   v, vlen);
	} else if (IS("x-amz-object-lock-legal-hold")) {
		if (vlen < sizeof(resp->legal_hold))
			copy_field(resp->legal_hold, sizeof(resp->legal_hold),
				   v, vlen);
	}
#undef IS
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	const struct s3_req *req = x->req;
	size_t len = size * n;
	const char *d = p;

	if (x->resp->status < 200 || x->resp->status >= 300) {
		/* error bodies: keep what fits, the rest does not matter */
		size_t room = x->resp->err_body.max - x->resp->err_body.len;
		if (room)
			rv_buf_add(&x->resp->err_body, p,
				   len < room ? len : room);
		return len;
	}
	if (!req->out)
		return len;
	if (x->seen == 0 && x->resp->content_length > 0) {
		/* one allocation for the whole body when its size is known
		 * and within the cap (the cap is enforced on each append) */
		uint64_t want = (uint64_t)x->resp->content_length;
		if (req->has_range && req->range_len && want > req->range_len)
			want = req->range_len;
		if (want <= req->out->max - req->out->len)
			rv_buf_reserve(req->out, (size_t)want);
	}
	if (req->has_range && x->resp->status == 200) {
		/* the server ignored Range: keep only the bytes asked */
		uint64_t start = x->seen, stop = x->seen + len;
		uint64_t lo = req->range_off;
		uint64_t hi = req->range_len ? req->range_off + req->range_len
					     : UINT64_MAX;
		x->seen += len;
		if (stop <= lo || start >= hi)
			return len;
		if (start < lo) {
			d += lo - start;
			start = lo;
		}
		if (stop > hi)
			stop = hi;
		len = (size_t)(stop - start);
		if (rv_buf_add(req->out, d, len)) {
			x->rc = RV_TOOBIG;
			return 0;
		}
		return size * n;
	}
	x->seen += len;
	if (rv_buf_add(req->out, d, len)) {
		x->rc = RV_TOOBIG;
		return 0;
	}
	return len;
}

static size_t on_read(char *dst, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	const struct s3_req *req = x->req;
	const struct s3_src *src = req->src;
	size_t cap = size * n, k;
	uint64_t left = req->len - x->sent;

	k = left < cap ? (size_t)left : cap;
	if (!k)
		return 0;
	if (src->data) {
		memcpy(dst, src->data + req->off + x->sent, k);
	} else {
		size_t got = 0;
		while (got < k) {
			ssize_t r = pread(src->fd, dst + got, k - got,
					  (off_t)(req->off + x->sent + got));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				x->rc =
				    rv_err_errno(RV_IO, errno,
						 "cannot read '%s'", src->path);
				return CURL_READFUNC_ABORT;
			}
			if (r == 0) {
				x->rc = rv_err_set(RV_IO,
						   "'%s' shrank while being "
						   "uploaded",
						   src->path);
				return CURL_READFUNC_ABORT;
			}
			got += (size_t)r;
		}
	}
	x->sent += k;
	return k;
}

/* libcurl rewinds the body when it resends on a reused connection. */
static int on_seek(void *arg, curl_off_t offset, int origin)
{
	struct xfer *x = arg;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > x->req->len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->sent = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static const char *obj_label(const struct s3_req *req)
{
	return req->name ? req->name : "";
}

/* One exchange. Returns 0 when an HTTP answer arrived (any status), or
 * a negative code (message set) for a transport or callback failure;
 * *retriable says whether trying again can help, *sent whether the
 * request may have reached the server. */
static int s3_perform(struct target_s3 *s, const struct s3_req *req,
		      struct s3_resp *resp, int *retriable, int *sent)
{
	CURL *c = s->curl;
	struct curl_slist *hdrs = NULL, *tmp;
	struct rv_buf url = RV_BUF_INIT(16384);
	struct rv_buf line = RV_BUF_INIT(512);
	struct xfer x = {s, req, resp, 0, 0, 0};
	CURLcode cc;
	int rc = 0;

	*retriable = 0;
	*sent = 1;
	resp_clear(resp);
	curl_easy_reset(c);
	s->curl_err[0] = '\0';
	rc = s3_url(&url, &s->ep, s->bucket, s->path_style, req->key,
		    req->query);
	if (rc)
		goto done;

#define HDR(...)                                                               \
	do {                                                                   \
		rv_buf_reset(&line);                                           \
		if ((rc = rv_buf_printf(&line, __VA_ARGS__)))                  \
			goto done;                                             \
		tmp = curl_slist_append(hdrs, rv_buf_cstr(&line));             \
		if (!tmp) {                                                    \
			rc = rv_err_set(RV_NOMEM, "out of memory");            \
			goto done;                                             \
		}                                                              \
		hdrs = tmp;                                                    \
	} while (0)
	HDR("x-amz-content-sha256: %s",
	    req->sha256 ? req->sha256 : EMPTY_SHA256);
	if (req->md5)
		HDR("Content-MD5: %s", req->md5);
	if (req->content_type)
		HDR("Content-Type: %s", req->content_type);
	if (req->lock) {
		char until[32];
		s3_time_rfc3339(until, (int64_t)time(NULL) +
					   (int64_t)s->lock_days * 86400);
		HDR("x-amz-object-lock-mode: COMPLIANCE");
		HDR("x-amz-object-lock-retain-until-date: %s", until);
	}
	if (req->has_range) {
		if (req->range_len)
			HDR("Range: bytes=%llu-%llu",
			    (unsigned long long)req->range_off,
			    (unsigned long long)(req->range_off +
						 req->range_len - 1));
		else
			HDR("Range: bytes=%llu-",
			    (unsigned long long)req->range_off);
	}
#undef HDR

	curl_easy_setopt(c, CURLOPT_URL, rv_buf_cstr(&url));
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, RV_HTTP_CONNECT_S);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, RV_HTTP_LOW_SPEED_BPS);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, RV_HTTP_LOW_SPEED_S);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->curl_err);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "regvault/0.1");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
	curl_easy_setopt(c, CURLOPT_USERNAME, s->access_key);
	curl_easy_setopt(c, CURLOPT_PASSWORD, s->secret);
	if (s->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
	if (s->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (!strcmp(req->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(req->method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(req->method, "PUT")) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &x);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, &x);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)req->len);
	} else if (!strcmp(req->method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(req->src ? req->len : 0));
		curl_easy_setopt(
		    c, CURLOPT_POSTFIELDS,
		    req->src ? (const char *)req->src->data + req->off : "");
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	}

	cc = curl_easy_perform(c);
	if (x.rc) {
		rc = x.rc;
		if (rc == RV_TOOBIG)
			rc = rv_err_set(RV_TOOBIG,
					"s3 target '%s': cannot %s '%s': the "
					"answer is larger than %zu bytes",
					s->base.name, req->what, obj_label(req),
					req->out ? req->out->max : (size_t)0);
		goto done; /* read errors keep their own message */
	}
	if (cc != CURLE_OK) {
		switch (cc) {
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CIPHER:
		case CURLE_OUT_OF_MEMORY:
			break;
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_CONNECT:
			*sent = 0;
			*retriable = 1;
			break;
		default:
			*retriable = 1;
		}
		rc = rv_err_set(
		    RV_NET, "s3 target '%s': cannot %s '%s': %s%s%s%s",
		    s->base.name, req->what, obj_label(req),
		    curl_easy_strerror(cc), s->curl_err[0] ? " (" : "",
		    s->curl_err, s->curl_err[0] ? ")" : "");
		goto done;
	}
	if (resp->status < 100) {
		long code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		resp->status = code;
	}
done:
	curl_slist_free_all(hdrs);
	rv_buf_release(&url);
	rv_buf_release(&line);
	return rc;
}

static int code_is(const struct s3_error *e, const char *code)
{
	return !strcmp(e->code, code);
}

/* Set the message and code for an HTTP failure answer. */
static int s3_fail(struct target_s3 *s, const struct s3_req *req,
		   const struct s3_resp *resp)
{
	const struct s3_error *e = &resp->err;
	const char *name = s->base.name, *obj = obj_label(req);
	char detail[S3_ERR_CODE_MAX + S3_ERR_MSG_MAX + 160];
	char tries[32] = "";
	long st = resp->status;

	if (e->code[0])
		snprintf(detail, sizeof(detail), "%ld %s%s%s%s%s", st, e->code,
			 e->message[0] ? ": " : "", e->message,
			 e->request_id[0] ? ", request id " : "",
			 e->request_id);
	else
		snprintf(detail, sizeof(detail), "HTTP %ld", st);
	if (resp->tries > 1)
		snprintf(tries, sizeof(tries), " (after %d tries)",
			 resp->tries);

	if (code_is(e, "NoSuchBucket") ||
	    (st == 404 && !req->key && !e->code[0]))
		return rv_err_set(RV_NOTFOUND,
				  "s3 target '%s': bucket '%s' does not exist "
				  "at %s (create it, or check bucket and "
				  "endpoint)",
				  name, s->bucket, s->endpoint);
	if (st == 507 || code_is(e, "EntityTooLarge") ||
	    code_is(e, "QuotaExceeded") || code_is(e, "InsufficientStorage") ||
	    code_is(e, "InsufficientCapacity"))
		return rv_err_set(RV_NOSPC,
				  "s3 target '%s' is full: cannot %s '%s' "
				  "(%s)",
				  name, req->what, obj, detail);
	if (st == 404 && (code_is(e, "NoSuchKey") || !e->code[0]))
		return rv_err_set(RV_NOTFOUND,
				  "s3 target '%s': '%s' does not exist", name,
				  obj);
	if (st == 403 || st == 401) {
		if (code_is(e, "RequestTimeTooSkewed"))
			return rv_err_set(RV_AUTH,
					  "credentials refused by s3 target "
					  "'%s' (RequestTimeTooSkewed): the "
					  "system clock is off by more than 15 "
					  "minutes; fix the clock",
					  name);
		if (!e->code[0] || code_is(e, "SignatureDoesNotMatch") ||
		    code_is(e, "InvalidAccessKeyId") ||
		    code_is(e, "InvalidToken") || code_is(e, "ExpiredToken"))
			return rv_err_set(RV_AUTH,
					  "credentials refused by s3 target "
					  "'%s' (%s) when trying to %s '%s': "
					  "check access_key_id and "
					  "secret_access_key",
					  name, e->code[0] ? e->code : detail,
					  req->what, obj);
		return rv_err_set(RV_AUTH,
				  "s3 target '%s' denied access: cannot %s "
				  "'%s' (%s)",
				  name, req->what, obj, detail);
	}
	if (st == 416)
		return rv_err_set(RV_CORRUPT,
				  "s3 target '%s': '%s' is shorter than the "
				  "range asked (%llu+%llu)",
				  name, obj, (unsigned long long)req->range_off,
				  (unsigned long long)req->range_len);
	if (st >= 500 || st == 429)
		return rv_err_set(RV_NET,
				  "s3 target '%s': cannot %s '%s': %s%s", name,
				  req->what, obj, detail, tries);
	return rv_err_set(
	    RV_IO, "s3 target '%s': cannot %s '%s': %s%s", name, req->what, obj,
	    detail,
	    req->lock && code_is(e, "InvalidRequest")
		? " (object_lock_days is set: was the bucket created with "
		  "object lock enabled?)"
	    : code_is(e, "AuthorizationHeaderMalformed") ||
		    code_is(e, "PermanentRedirect")
		? " (check endpoint and region)"
		: "");
}

static int answer_retriable(const struct s3_resp *resp)
{
	const struct s3_error *e = &resp->err;

	return resp->status >= 500 || resp->status == 429 ||
	       code_is(e, "SlowDown") || code_is(e, "RequestTimeout") ||
	       code_is(e, "InternalError");
}

static void backoff(struct target_s3 *s, int attempt, const struct s3_req *req,
		    const char *why)
{
	/* retry_ms * 4^(attempt-1), times a jitter in [0.5, 1.5) */
	double ms = (double)s->retry_ms;
	struct timespec ts;

	for (int i = 1; i < attempt; i++)
		ms *= 4;
	ms *= 0.5 + (double)rand_r(&s->rand_state) / ((double)RAND_MAX + 1);
	rv_info("s3 target '%s': %s '%s' failed (%s); retrying in %.1f s",
		s->base.name, req->what, obj_label(req), why, ms / 1000);
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A request with retries. 0 on a 2xx answer (resp filled); otherwise the
 * mapped code with its message, resp->status/err telling the caller what
 * the server said (status 0 for transport failures). */
static int s3_do(struct target_s3 *s, const struct s3_req *req,
		 struct s3_resp *resp)
{
	size_t out_len0 = req->out ? req->out->len : 0;
	int attempt, rc = 0;

	for (attempt = 1;; attempt++) {
		int retriable = 0, sent = 1, ok;
		char why[S3_ERR_CODE_MAX + 16];

		if (req->out && req->out->data) {
			req->out->len = out_len0;
			req->out->data[out_len0] = '\0';
		}
		resp->tries = attempt;
		rc = s3_perform(s, req, resp, &retriable, &sent);
		if (rc) {
			resp->status = 0;
			if (!retriable || attempt >= S3_TRIES ||
			    (!req->idempotent && sent))
				goto fail_transport;
			backoff(s, attempt, req, "connection error");
			continue;
		}
		ok = resp->status >= 200 && resp->status < 300;
		if (ok && req->complete && req->out) {
			int r = s3_xml_parse_complete(
			    &resp->err, (const char *)req->out->data,
			    req->out->len);
			if (r < 0)
				return rv_err_set(r,
						  "s3 target '%s': cannot %s "
						  "'%s': %s",
						  s->base.name, req->what,
						  obj_label(req), rv_err_msg());
			if (r == 1) {
				ok = 0;
				resp->status = 500; /* an error inside a 200 */
			}
		} else if (!ok) {
			s3_xml_parse_error(&resp->err,
					   (const char *)resp->err_body.data,
					   resp->err_body.len);
		}
		if (ok) {
			s->bucket_ok = 1;
			return 0;
		}
		if (resp->status == 404 && code_is(&resp->err, "NoSuchKey"))
			s->bucket_ok = 1;
		if (!answer_retriable(resp) || attempt >= S3_TRIES)
			break;
		if (!req->idempotent && resp->status != 503 &&
		    resp->status != 429)
			break;
		snprintf(why, sizeof(why), "%ld %s", resp->status,
			 resp->err.code);
		backoff(s, attempt, req, why);
	}
	return s3_fail(s, req, resp);

fail_transport:
	if (attempt > 1)
		rc = rv_err_set(rc, "%s (after %d tries)", rv_err_msg(),
				attempt);
	return rc;
}

/* ---- names and hashes -------------------------------------------------*/

/* The same rule as the dir target: a relative path without empty, '.'
 * or '..' parts or hidden components, no control characters. */
static int name_check(const struct target_s3 *s, const char *name)
{
	size_t len = name ? strlen(name) : 0, comp = 0;

	if (len == 0 || len + strlen(s->prefix) > S3_KEY_MAX || name[0] == '/')
		goto bad;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '/' || c == '\0') {
			if (comp == 0 || name[i - comp] == '.')
				goto bad;
			comp = 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			goto bad;
		comp++;
	}
	return 0;
bad:
	return rv_err_set(RV_INVALID,
			  "s3 target '%s': bad object name '%.200s' (want a "
			  "relative path of at most %d bytes with the prefix, "
			  "without empty, '.' or hidden parts or control "
			  "characters)",
			  s->base.name, name ? name : "", S3_KEY_MAX);
}

static char *full_key(const struct target_s3 *s, const char *name)
{
	size_t n = strlen(s->prefix) + strlen(name) + 1;
	char *k = malloc(n);

	if (!k) {
		rv_err_set(RV_NOMEM, "out of memory");
		return NULL;
	}
	snprintf(k, n, "%s%s", s->prefix, name);
	return k;
}

/* sha256 (hex) and/or MD5 (base64) of [off, off+len) of src. */
static int src_hash(const struct s3_src *src, uint64_t off, uint64_t len,
		    char *sha_hex, char *md5_b64)
{
	struct rv_sha256 sha = {0};
	EVP_MD_CTX *md5 = NULL;
	unsigned char *block = NULL, dig[EVP_MAX_MD_SIZE];
	uint64_t done_bytes = 0;
	int rc = 0;

	if (sha_hex && (rc = rv_sha256_init(&sha)))
		return rc;
	if (md5_b64) {
		md5 = EVP_MD_CTX_new();
		if (!md5 || !EVP_DigestInit_ex(md5, EVP_md5(), NULL)) {
			rc = rv_err_set(RV_ERROR, "cannot start an MD5 hash");
			goto done;
		}
	}
	if (!src->data) {
		block = malloc(S3_HASH_BLOCK);
		if (!block) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
	}
	while (done_bytes < len) {
		size_t k = len - done_bytes < S3_HASH_BLOCK
			       ? (size_t)(len - done_bytes)
			       : S3_HASH_BLOCK;
		const unsigned char *p;
		if (src->data) {
			p = src->data + off + done_bytes;
		} else {
			ssize_t r =
			    pread(src->fd, block, k, (off_t)(off + done_bytes));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				rc =
				    rv_err_errno(RV_IO, errno,
						 "cannot read '%s'", src->path);
				goto done;
			}
			if (r == 0) {
				rc = rv_err_set(RV_IO,
						"'%s' shrank while being read",
						src->path);
				goto done;
			}
			k = (size_t)r;
			p = block;
		}
		if (sha_hex && (rc = rv_sha256_update(&sha, p, k)))
			goto done;
		if (md5 && !EVP_DigestUpdate(md5, p, k)) {
			rc = rv_err_set(RV_ERROR, "MD5 hashing failed");
			goto done;
		}
		done_bytes += k;
	}
	if (sha_hex) {
		rc = rv_sha256_final(&sha, dig);
		if (rc)
			goto done;
		rv_hex_encode(sha_hex, dig, RV_SHA256_LEN);
	}
	if (md5) {
		unsigned int n = 0;
		if (!EVP_DigestFinal_ex(md5, dig, &n) || n != 16) {
			rc = rv_err_set(RV_ERROR, "MD5 hashing failed");
			goto done;
		}
		EVP_EncodeBlock((unsigned char *)md5_b64, dig, 16);
	}
done:
	if (sha_hex)
		rv_sha256_release(&sha);
	EVP_MD_CTX_free(md5);
	free(block);
	return rc;
}

/* ---- put ----------------------------------------------------------------*/

/* Hashes for an upload body: the real sha256 for memory, plain http and
 * object lock (a pass over the bytes is needed for Content-MD5 anyway);
 * UNSIGNED-PAYLOAD for files over https. */
static int body_hashes(const struct target_s3 *s, const struct s3_src *src,
		       uint64_t off, uint64_t len, char sha_hex[65],
		       char md5_b64[32])
{
	int want_sha = src->data || !s->https || s->lock_days;

	if (!want_sha)
		memcpy(sha_hex, "UNSIGNED-PAYLOAD", 17);
	return src_hash(src, off, len, want_sha ? sha_hex : NULL,
			s->lock_days ? md5_b64 : NULL);
}

/* Object Lock retention for a put: everything but lock files, which must
 * be deleted when a run ends (store/lock.h). */
static int retained(const struct target_s3 *s, const char *name)
{
	return s->lock_days > 0 && strncmp(name, "locks/", 6) != 0;
}

static int put_single(struct target_s3 *s, const char *name, const char *key,
		      const struct s3_src *src)
{
	struct s3_req req = {0};
	struct s3_resp resp;
	char sha_hex[65], md5_b64[32];
	int rc;

	rc = body_hashes(s, src, 0, src->size, sha_hex, md5_b64);
	if (rc)
		return rc;
	req.what = "put";
	req.name = name;
	req.method = "PUT";
	req.key = key;
	req.src = src;
	req.off = 0;
	req.len = src->size;
	req.sha256 = sha_hex;
	req.md5 = s->lock_days ? md5_b64 : NULL;
	req.content_type = "application/octet-stream";
	req.lock = retained(s, name);
	req.idempotent = 1;
	resp_init(&resp);
	rc = s3_do(s, &req, &resp);
	resp_release(&resp);
	return rc;
}

static int abort_upload(struct target_s3 *s, const char *name, const char *key,
			const char *upload_id)
{
	const char *qn[] = {"uploadId"}, *qv[] = {upload_id};
	struct rv_buf query = RV_BUF_INIT(S3_TOKEN_MAX * 4);
	struct s3_req req = {0};
	struct s3_resp resp;
	int rc;

	rc = s3_query(&query, qn, qv, 1);
	if (rc)
		return rc;
	req.what = "abort the upload of";
	req.name = name;
	req.method = "DELETE";
	req.key = key;
	req.query = rv_buf_cstr(&query);
	req.idempotent = 1;
	resp_init(&resp);
	rc = s3_do(s, &req, &resp);
	if (rc == RV_NOTFOUND)
		rc = 0; /* already gone */
	resp_release(&resp);
	rv_buf_release(&query);
	return rc;
}

/* PutObjectRetention on key (version_id, or the current version when
 * empty). Ceph RGW 16.2 ignores the lock headers of a multipart upload
 * start, so a completed upload gets its retention this way (AWS honours
 * the headers; the same or a later date is accepted again). Between the
 * completion and this request the object is briefly unlocked; if this
 * fails the put fails, and the caller's retry uploads it again. */
static int set_retention(struct target_s3 *s, const char *name, const char *key,
			 const char *version_id)
{
	struct rv_buf query = RV_BUF_INIT(S3_TOKEN_MAX * 4);
	struct rv_buf xml = RV_BUF_INIT(1024);
	struct s3_req req = {0};
	struct s3_resp resp;
	struct s3_src body = {0};
	char until[32], sha_hex[65], md5_b64[32];
	int rc;

	resp_init(&resp);
	s3_time_rfc3339(until,
			(int64_t)time(NULL) + (int64_t)s->lock_days * 86400);
	rc = rv_buf_printf(&xml,
			   "<Retention xmlns=\"http://s3.amazonaws.com/doc/"
			   "2006-03-01/\"><Mode>COMPLIANCE</Mode>"
			   "<RetainUntilDate>%s</RetainUntilDate></Retention>",
			   until);
	if (!rc)
		rc =
		    s3_query(&query, (const char *[]){"retention", "versionId"},
			     (const char *[]){"", version_id},
			     version_id && *version_id ? 2 : 1);
	if (rc)
		goto done;
	body.data = xml.data;
	body.fd = -1;
	body.path = "the retention body";
	body.size = xml.len;
	rc = src_hash(&body, 0, body.size, sha_hex, md5_b64);
	if (rc)
		goto done;
	req.what = "set the retention of";
	req.name = name;
	req.method = "PUT";
	req.key = key;
	req.query = rv_buf_cstr(&query);
	req.src = &body;
	req.len = body.size;
	req.sha256 = sha_hex;
	req.md5 = md5_b64;
	req.content_type = "application/xml";
	req.idempotent = 1;
	rc = s3_do(s, &req, &resp);
done:
	resp_release(&resp);
	rv_buf_release(&query);
	rv_buf_release(&xml);
	return rc;
}

static int put_multipart(struct target_s3 *s, const char *name, const char *key,
			 const struct s3_src *src)
{
	struct rv_buf query = RV_BUF_INIT(S3_TOKEN_MAX * 4);
	struct rv_buf xml = RV_BUF_INIT(S3_XML_MAX);
	struct rv_buf complete = RV_BUF_INIT(S3_COMPLETE_MAX);
	struct s3_req req = {0};
	struct s3_resp resp;
	struct s3_src body = {0};
	char *upload_id = NULL;
	char sha_hex[65], md5_b64[32];
	uint64_t part = s->part_size, nparts, off;
	int rc;

	resp_init(&resp);
	nparts = (src->size + part - 1) / part;
	if (nparts > S3_PARTS_MAX) {
		/* grow the parts (in whole MiB) to stay within 10000 */
		part = (src->size + S3_PARTS_MAX - 1) / S3_PARTS_MAX;
		part = (part + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
		if (part > S3_PART_MAX) {
			rc = rv_err_set(RV_TOOBIG,
					"s3 target '%s': '%s' is too large for "
					"S3 (%llu bytes)",
					s->base.name, src->path,
					(unsigned long long)src->size);
			goto done;
		}
		nparts = (src->size + part - 1) / part;
	}

	/* start */
	if ((rc = s3_query(&query, (const char *[]){"uploads"},
			   (const char *[]){""}, 1)))
		goto done;
	req.what = "start the upload of";
	req.name = name;
	req.method = "POST";
	req.key = key;
	req.query = rv_buf_cstr(&query);
	req.content_type = "application/octet-stream";
	req.lock = retained(s, name);
	req.out = &xml;
	rc = s3_do(s, &req, &resp);
	if (rc)
		goto done;
	rc = s3_xml_parse_initiate(&upload_id, (const char *)xml.data, xml.len);
	if (rc) {
		rc = rv_err_set(rc,
				"s3 target '%s': cannot start the upload "
				"of '%s': %s",
				s->base.name, name, rv_err_msg());
		goto done;
	}

	/* parts, each retried on its own */
	rc = rv_buf_puts(&complete, "<CompleteMultipartUpload>");
	for (uint64_t i = 0; !rc && i < nparts; i++) {
		char num[24];
		off = i * part;
		snprintf(num, sizeof(num), "%llu", (unsigned long long)(i + 1));
		memset(&req, 0, sizeof(req));
		rv_buf_reset(&query);
		rc =
		    s3_query(&query, (const char *[]){"partNumber", "uploadId"},
			     (const char *[]){num, upload_id}, 2);
		if (rc)
			break;
		req.len = src->size - off < part ? src->size - off : part;
		rc = body_hashes(s, src, off, req.len, sha_hex, md5_b64);
		if (rc)
			break;
		req.what = "upload a part of";
		req.name = name;
		req.method = "PUT";
		req.key = key;
		req.query = rv_buf_cstr(&query);
		req.src = src;
		req.off = off;
		req.sha256 = sha_hex;
		req.md5 = s->lock_days ? md5_b64 : NULL;
		req.idempotent = 1;
		rc = s3_do(s, &req, &resp);
		if (rc)
			break;
		if (!resp.etag[0]) {
			rc = rv_err_set(RV_NET,
					"s3 target '%s': no ETag for part %s "
					"of '%s'",
					s->base.name, num, name);
			break;
		}
		rc = rv_buf_printf(
		    &complete, "<Part><PartNumber>%s</PartNumber><ETag>", num);
		if (!rc)
			rc = s3_xml_escape(&complete, resp.etag);
		if (!rc)
			rc = rv_buf_puts(&complete, "</ETag></Part>");
	}
	if (!rc)
		rc = rv_buf_puts(&complete, "</CompleteMultipartUpload>");
	if (rc)
		goto done;

	/* complete */
	body.data = complete.data;
	body.fd = -1;
	body.path = "the completion body";
	body.size = complete.len;
	rc = src_hash(&body, 0, body.size, sha_hex,
		      s->lock_days ? md5_b64 : NULL);
	if (rc)
		goto done;
	memset(&req, 0, sizeof(req));
	rv_buf_reset(&query);
	rc = s3_query(&query, (const char *[]){"uploadId"},
		      (const char *[]){upload_id}, 1);
	if (rc)
		goto done;
	rv_buf_reset(&xml);
	req.what = "complete the upload of";
	req.name = name;
	req.method = "POST";
	req.key = key;
	req.query = rv_buf_cstr(&query);
	req.src = &body;
	req.len = body.size;
	req.sha256 = sha_hex;
	req.md5 = s->lock_days ? md5_b64 : NULL;
	req.content_type = "application/xml";
	req.idempotent = 1;
	req.complete = 1;
	req.out = &xml;
	rc = s3_do(s, &req, &resp);
	if (rc && resp.tries > 1 && code_is(&resp.err, "NoSuchUpload")) {
		/* an earlier try completed it and its answer was lost */
		struct s3_req head = {0};
		struct s3_resp hresp;
		resp_init(&hresp);
		head.what = "check";
		head.name = name;
		head.method = "HEAD";
		head.key = key;
		head.idempotent = 1;
		if (!s3_do(s, &head, &hresp) &&
		    hresp.content_length == (int64_t)src->size)
			rc = 0;
		resp_release(&hresp);
	}
	if (!rc) {
		free(upload_id);
		upload_id = NULL;
		if (retained(s, name))
			rc = set_retention(s, name, key, resp.version_id);
	}
done:
	if (upload_id) {
		/* keep the first error's message over the abort's */
		int code = rv_err_code();
		char *msg = strdup(rv_err_msg());
		if (abort_upload(s, name, key, upload_id))
			rv_warn("s3 target '%s': could not abort the upload of "
				"'%s' (%s); a bucket lifecycle rule for "
				"incomplete uploads cleans it up",
				s->base.name, name, rv_err_msg());
		rv_err_set(code, "%s", msg ? msg : "upload failed");
		free(msg);
	}
	free(upload_id);
	resp_release(&resp);
	rv_buf_release(&query);
	rv_buf_release(&xml);
	rv_buf_release(&complete);
	return rc;
}

static int s3_put(struct target_s3 *s, const char *name,
		  const struct s3_src *src)
{
	char *key = NULL;
	int rc;

	rc = name_check(s, name);
	if (rc)
		return rc;
	key = full_key(s, name);
	if (!key)
		return RV_NOMEM;
	if (src->size > s->part_size)
		rc = put_multipart(s, name, key, src);
	else
		rc = put_single(s, name, key, src);
	free(key);
	return rc;
}

static int s3_put_file(struct target *t, const char *name, const char *src_path)
{
	struct s3_src src = {0};
	struct stat st;
	int rc;

	src.fd = open(src_path, O_RDONLY | O_CLOEXEC);
	if (src.fd < 0)
		return rv_err_errno(RV_IO, errno, "cannot open '%s'", src_path);
	if (fstat(src.fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = rv_err_set(RV_IO, "cannot upload '%s': not a regular file",
				src_path);
		goto done;
	}
	src.path = src_path;
	src.size = (uint64_t)st.st_size;
	rc = s3_put(to_s3(t), name, &src);
done:
	close(src.fd);
	return rc;
}

static int s3_put_buf(struct target *t, const char *name, const void *data,
		      size_t len)
{
	static const unsigned char none[1];
	struct s3_src src = {0};

	src.data = data ? data : none;
	src.fd = -1;
	src.path = name;
	src.size = len;
	return s3_put(to_s3(t), name, &src);
}

/* ---- get, stat, del ---------------------------------------------------*/

static int s3_head(struct target_s3 *s, const char *name, const char *key,
		   uint64_t *size)
{
	struct s3_req req = {0};
	struct s3_resp resp;
	int rc;

	resp_init(&resp);
	req.what = "stat";
	req.name = name;
	req.method = "HEAD";
	req.key = key;
	req.idempotent = 1;
	rc = s3_do(s, &req, &resp);
	if (rc == RV_NOTFOUND && !s->bucket_ok) {
		/* a HEAD has no body: ask whether the bucket is there */
		struct s3_req breq = {0};
		struct s3_resp bresp;
		resp_init(&bresp);
		breq.what = "check the bucket for";
		breq.name = name;
		breq.method = "HEAD";
		breq.idempotent = 1;
		if (!s3_do(s, &breq, &bresp))
			rc = rv_err_set(RV_NOTFOUND,
					"s3 target '%s': '%s' does not exist",
					s->base.name, name);
		else if (bresp.status != 404)
			rc = rv_err_code();
		resp_release(&bresp);
		if (rc == RV_NOTFOUND && !s->bucket_ok)
			rc = rv_err_set(RV_NOTFOUND,
					"s3 target '%s': bucket '%s' does not "
					"exist at %s (create it, or check "
					"bucket and endpoint)",
					s->base.name, s->bucket, s->endpoint);
	}
	if (!rc) {
		if (resp.content_length < 0)
			rc = rv_err_set(RV_NET,
					"s3 target '%s': no Content-Length for "
					"'%s'",
					s->base.name, name);
		else
			*size = (uint64_t)resp.content_length;
	}
	resp_release(&resp);
	return rc;
}

static int s3_stat(struct target *t, const char *name, uint64_t *size)
{
	struct target_s3 *s = to_s3(t);
	char *key;
	int rc;

	rc = name_check(s, name);
	if (rc)
		return rc;
	key = full_key(s, name);
	if (!key)
		return RV_NOMEM;
	rc = s3_head(s, name, key, size);
	free(key);
	return rc;
}

/* Parse "bytes A-B/T" (T may be '*'). */
static int parse_content_range(const char *v, uint64_t *a, uint64_t *b,
			       uint64_t *total, int *total_known)
{
	unsigned long long x, y, z;
	char *e;

	if (strncmp(v, "bytes ", 6))
		return -1;
	v += 6;
	errno = 0;
	x = strtoull(v, &e, 10);
	if (errno || e == v || *e != '-' || *v == '-')
		return -1;
	v = e + 1;
	y = strtoull(v, &e, 10);
	if (errno || e == v || *e != '/' || *v == '-' || y < x)
		return -1;
	v = e + 1;
	*total_known = 0;
	if (!strcmp(v, "*")) {
		z = 0;
	} else {
		z = strtoull(v, &e, 10);
		if (errno || e == v || *e || *v == '-' || z <= y)
			return -1;
		*total_known = 1;
	}
	*a = x;
	*b = y;
	*total = z;
	return 0;
}

static int s3_get_range(struct target *t, const char *name, uint64_t off,
			uint64_t len, struct rv_buf *out)
{
	struct target_s3 *s = to_s3(t);
	struct s3_req req = {0};
	struct s3_resp resp;
	size_t len0 = out->len;
	char *key = NULL;
	uint64_t got, a, b, total;
	int rc, total_known;

	rc = name_check(s, name);
	if (rc)
		return rc;
	if (len && (off + len < off || len > out->max - out->len))
		return rv_err_set(RV_TOOBIG,
				  "s3 target '%s': '%s' (%llu bytes asked) is "
				  "larger than allowed (%zu bytes)",
				  s->base.name, name, (unsigned long long)len,
				  out->max - out->len);
	key = full_key(s, name);
	if (!key)
		return RV_NOMEM;
	resp_init(&resp);
	req.what = "read";
	req.name = name;
	req.method = "GET";
	req.key = key;
	req.has_range = off || len;
	req.range_off = off;
	req.range_len = len;
	req.idempotent = 1;
	req.out = out;
	rc = s3_do(s, &req, &resp);
	if (rc == RV_CORRUPT && resp.status == 416 && !len) {
		/* "from off to the end" of an object exactly off long */
		uint64_t size = 0;
		rc = s3_head(s, name, key, &size);
		if (!rc && size != off)
			rc = rv_err_set(RV_CORRUPT,
					"s3 target '%s': '%s' is %llu bytes, "
					"shorter than the range asked (%llu+)",
					s->base.name, name,
					(unsigned long long)size,
					(unsigned long long)off);
		goto done;
	}
	if (rc)
		goto done;
	got = out->len - len0;
	if (resp.status == 206) {
		if (parse_content_range(resp.content_range, &a, &b, &total,
					&total_known) ||
		    a != off || b - a + 1 != got) {
			rc = rv_err_set(RV_NET,
					"s3 target '%s': bad Content-Range "
					"'%.60s' for '%s' (asked %llu+%llu, "
					"got %llu bytes)",
					s->base.name, resp.content_range, name,
					(unsigned long long)off,
					(unsigned long long)len,
					(unsigned long long)got);
			goto done;
		}
		if ((len && got < len) ||
		    (!len && total_known && b + 1 != total)) {
			rc = rv_err_set(
			    RV_CORRUPT,
			    "s3 target '%s': '%s' is %llu bytes, "
			    "shorter than the range asked "
			    "(%llu+%llu)",
			    s->base.name, name,
			    (unsigned long long)(total_known ? total : b + 1),
			    (unsigned long long)off, (unsigned long long)len);
			goto done;
		}
	} else if (resp.status == 200) {
		/* the whole object: no Range was sent, or the server ignored
		 * it and on_body kept the bytes asked (libcurl itself fails a
		 * body shorter than its Content-Length) */
		if (req.has_range && ((len && got != len) ||
				      (!len && resp.content_length >= 0 &&
				       (uint64_t)resp.content_length < off))) {
			rc = rv_err_set(RV_CORRUPT,
					"s3 target '%s': '%s' is shorter than "
					"the range asked (%llu+%llu)",
					s->base.name, name,
					(unsigned long long)off,
					(unsigned long long)len);
			goto done;
		}
	} else {
		rc = rv_err_set(RV_NET,
				"s3 target '%s': unexpected HTTP %ld reading "
				"'%s'",
				s->base.name, resp.status, name);
	}
done:
	if (rc) {
		out->len = len0;
		if (out->data)
			out->data[len0] = '\0';
	}
	resp_release(&resp);
	free(key);
	return rc;
}

/* Normalise a retain-until date to "YYYY-MM-DDTHH:MM:SSZ": RGW sends
 * nanoseconds ("...:17.000000000Z"), AWS milliseconds. 0 when it is not
 * a UTC RFC 3339 time. */
static int lock_date_norm(char out[32], const char *v)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	const char *p = v + 19;

	for (size_t i = 0; i < 19; i++) {
		if (shape[i] == 'd' ? !(v[i] >= '0' && v[i] <= '9')
				    : v[i] != shape[i])
			return 0;
	}
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (strcmp(p, "Z") && strcmp(p, "+00:00"))
		return 0;
	memcpy(out, v, 19);
	memcpy(out + 19, "Z", 2);
	return 1;
}

/* GET one page of a bucket listing (query names and values, sorted by
 * name) into xml. */
static int get_page(struct target_s3 *s, struct s3_resp *resp,
		    struct rv_buf *query, struct rv_buf *xml, const char **qn,
		    const char **qv, size_t nq, const char *what,
		    const char *name)
{
	struct s3_req req;
	int rc;

	rv_buf_reset(query);
	rc = s3_query(query, qn, qv, nq);
	if (rc)
		return rc;
	memset(&req, 0, sizeof(req));
	req.what = what;
	req.name = name;
	req.method = "GET";
	req.query = rv_buf_cstr(query);
	req.idempotent = 1;
	req.out = xml;
	rv_buf_reset(xml);
	return s3_do(s, &req, resp);
}

/* Append to ids the version ids of every version and delete marker of
 * exactly key (ListObjectVersions with prefix = key, paged). */
static int list_versions(struct target_s3 *s, const char *name, const char *key,
			 struct rv_strlist *ids)
{
	struct rv_buf query = RV_BUF_INIT(S3_TOKEN_MAX * 4);
	struct rv_buf xml = RV_BUF_INIT(S3_XML_MAX);
	struct rv_strlist keys = RV_STRLIST_INIT, vids = RV_STRLIST_INIT;
	struct s3_versions_page page = {&keys, &vids, 0, NULL, NULL};
	struct s3_resp resp;
	char *key_marker = NULL, *vid_marker = NULL, max_keys[16];
	int rc = 0, empty_pages = 0;

	resp_init(&resp);
	snprintf(max_keys, sizeof(max_keys), "%u", s->page_keys);
	for (;;) {
		const char *qn[5], *qv[5];
		size_t nq = 0;
		int other_key = 0;

		if (key_marker) {
			qn[nq] = "key-marker";
			qv[nq++] = key_marker;
		}
		qn[nq] = "max-keys";
		qv[nq++] = max_keys;
		qn[nq] = "prefix";
		qv[nq++] = key;
		if (vid_marker) {
			qn[nq] = "version-id-marker";
			qv[nq++] = vid_marker;
		}
		qn[nq] = "versions";
		qv[nq++] = "";
		rc = get_page(s, &resp, &query, &xml, qn, qv, nq,
			      "list the versions of", name);
		if (rc)
			goto done;
		rc = s3_xml_parse_versions(&page, (const char *)xml.data,
					   xml.len);
		if (rc) {
			rc = rv_err_set(rc,
					"s3 target '%s': cannot list the "
					"versions of '%s': %s",
					s->base.name, name, rv_err_msg());
			goto done;
		}
		for (size_t i = 0; i < keys.n; i++) {
			if (strcmp(keys.items[i], key)) {
				/* a longer key under the same prefix: keys
				 * come sorted, so ours are all behind us */
				other_key = 1;
				continue;
			}
			if (ids->n >= S3_VERSIONS_MAX) {
				rc = rv_err_set(RV_TOOBIG,
						"s3 target '%s': '%s' has more "
						"than %d versions",
						s->base.name, name,
						S3_VERSIONS_MAX);
				goto done;
			}
			rc = rv_strlist_add(ids, vids.items[i]);
			if (rc)
				goto done;
		}
		empty_pages = keys.n ? 0 : empty_pages + 1;
		rv_strlist_release(&keys);
		rv_strlist_release(&vids);
		if (!page.truncated || other_key)
			break;
		if ((key_marker && !strcmp(key_marker, page.next_key_marker) &&
		     !strcmp(vid_marker ? vid_marker : "",
			     page.next_version_id_marker
				 ? page.next_version_id_marker
				 : "")) ||
		    empty_pages > S3_EMPTY_PAGES_MAX) {
			rc = rv_err_set(RV_CORRUPT,
					"s3 target '%s': the version listing "
					"of '%s' does not advance",
					s->base.name, name);
			goto done;
		}
		free(key_marker);
		free(vid_marker);
		key_marker = page.next_key_marker;
		vid_marker = page.next_version_id_marker;
		page.next_key_marker = page.next_version_id_marker = NULL;
	}
done:
	free(page.next_key_marker);
	free(page.next_version_id_marker);
	free(key_marker);
	free(vid_marker);
	rv_strlist_release(&keys);
	rv_strlist_release(&vids);
	resp_release(&resp);
	rv_buf_release(&query);
	rv_buf_release(&xml);
	return rc;
}

/* What Object Lock says about one version: its retain-until date
 * (normalised, "" when not given) and whether a legal hold is on. A
 * failed HEAD leaves both empty. */
static void version_lock_info(struct target_s3 *s, const char *name,
			      const char *key, const char *version_id,
			      char until[32], int *legal_hold)
{
	struct rv_buf query = RV_BUF_INIT(S3_TOKEN_MAX * 4);
	struct s3_req req = {0};
	struct s3_resp resp;

	until[0] = '\0';
	*legal_hold = 0;
	resp_init(&resp);
	if (s3_query(&query, (const char *[]){"versionId"},
		     (const char *[]){version_id}, 1))
		goto done;
	req.what = "check the retention of";
	req.name = name;
	req.method = "HEAD";
	req.key = key;
	req.query = rv_buf_cstr(&query);
	req.idempotent = 1;
	if (s3_do(s, &req, &resp))
		goto done;
	if (!lock_date_norm(until, resp.lock_until))
		until[0] = '\0';
	*legal_hold = !strcasecmp(resp.legal_hold, "ON");
done:
	resp_release(&resp);
	rv_buf_release(&query);
}

/* Delete every version (and delete marker) of key, one by one: on a
 * versioned bucket a plain DELETE only hides the object behind a marker.
 * Versions under Object Lock are left as they are and give RV_LOCKED,
 * after every other version was deleted. */
static int del_versions(struct target_s3 *s, const char *name, const char *key)
{
	struct rv_strlist ids = RV_STRLIST_INIT;
	struct rv_buf query = RV_BUF_INIT(S3_TOKEN_MAX * 4);
	struct s3_req req = {0};
	struct s3_resp resp;
	char until[32] = "", denied[S3_ERR_CODE_MAX + S3_ERR_MSG_MAX + 16];
	size_t locked = 0, held = 0, deleted = 0;
	int rc;

	denied[0] = '\0';
	resp_init(&resp);
	rc = list_versions(s, name, key, &ids);
	if (rc)
		goto done;
	for (size_t i = 0; i < ids.n; i++) {
		char v_until[32];
		int v_held;

		rv_buf_reset(&query);
		rc = s3_query(&query, (const char *[]){"versionId"},
			      (const char *[]){ids.items[i]}, 1);
		if (rc)
			goto done;
		memset(&req, 0, sizeof(req));
		req.what = "delete a version of";
		req.name = name;
		req.method = "DELETE";
		req.key = key;
		req.query = rv_buf_cstr(&query);
		req.idempotent = 1;
		rc = s3_do(s, &req, &resp);
		if (!rc) {
			deleted++;
			continue;
		}
		if (rc == RV_NOTFOUND && !code_is(&resp.err, "NoSuchBucket")) {
			rc = 0; /* gone already */
			continue;
		}
		if (!(resp.status == 403 && code_is(&resp.err, "AccessDenied")))
			goto done;
		/* Object Lock refuses with 403 AccessDenied */
		rc = 0;
		locked++;
		snprintf(denied, sizeof(denied), "403 %s%s%s", resp.err.code,
			 resp.err.message[0] ? ": " : "", resp.err.message);
		version_lock_info(s, name, key, ids.items[i], v_until, &v_held);
		if (v_held)
			held++;
		if (strcmp(v_until, until) > 0)
			memcpy(until, v_until, sizeof(until));
	}
	rv_debug("s3 target '%s': '%s': %zu version(s) listed, %zu deleted, "
		 "%zu under Object Lock",
		 s->base.name, name, ids.n, deleted, locked);
	if (!locked)
		goto done;
	if (held)
		rc = rv_err_set(RV_LOCKED,
				"s3 target '%s': '%s' is under an Object Lock "
				"legal hold%s%s; it can be deleted once the "
				"hold is removed%s",
				s->base.name, name,
				until[0] ? " and retained until " : "", until,
				until[0] ? " and that date has passed" : "");
	else if (until[0])
		rc = rv_err_set(RV_LOCKED,
				"s3 target '%s': '%s' is retained by Object "
				"Lock until %s; prune will retry it later",
				s->base.name, name, until);
	else
		rc = rv_err_set(RV_LOCKED,
				"s3 target '%s': '%s' is retained by Object "
				"Lock (%s); prune will retry it later",
				s->base.name, name, denied);
done:
	rv_strlist_release(&ids);
	rv_buf_release(&query);
	resp_release(&resp);
	return rc;
}

static int s3_del(struct target *t, const char *name)
{
	struct target_s3 *s = to_s3(t);
	struct s3_req req = {0};
	struct s3_resp resp;
	char *key;
	int rc;

	rc = name_check(s, name);
	if (rc)
		return rc;
	key = full_key(s, name);
	if (!key)
		return RV_NOMEM;
	if (s->lock_days) {
		/* the bucket is versioned: delete for real, or say why not */
		rc = del_versions(s, name, key);
		free(key);
		return rc;
	}
	resp_init(&resp);
	req.what = "delete";
	req.name = name;
	req.method = "DELETE";
	req.key = key;
	req.idempotent = 1;
	rc = s3_do(s, &req, &resp);
	if (rc == RV_NOTFOUND && !code_is(&resp.err, "NoSuchBucket"))
		rc = 0; /* absent is fine */
	resp_release(&resp);
	free(key);
	return rc;
}

/* ---- list ---------------------------------------------------------------*/

/* 1 when a listed name is one we hand out: valid, and its last component
 * does not begin with '.' (temporary files of other tools). */
static int list_name_ok(const char *rel)
{
	size_t len = strlen(rel), comp = 0;

	if (!len || rel[0] == '/')
		return 0;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)rel[i];
		if (c == '/' || c == '\0') {
			if (comp == 0 || rel[i - comp] == '.')
				return 0;
			comp = 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			return 0;
		comp++;
	}
	return 1;
}

static int s3_list(struct target *t, const char *prefix,
		   struct rv_strlist *names)
{
	struct target_s3 *s = to_s3(t);
	struct rv_buf query = RV_BUF_INIT(S3_TOKEN_MAX * 4);
	struct rv_buf xml = RV_BUF_INIT(S3_XML_MAX);
	struct rv_strlist keys = RV_STRLIST_INIT;
	struct s3_list_page page = {&keys, 0, NULL};
	struct s3_resp resp;
	char *full = NULL, *token = NULL, max_keys[16], label[S3_KEY_MAX + 8];
	size_t plen = strlen(s->prefix), n0 = names->n;
	int rc = 0, empty_pages = 0;

	resp_init(&resp);
	if (!prefix)
		prefix = "";
	if (strlen(prefix) > S3_KEY_MAX)
		return rv_err_set(RV_INVALID,
				  "s3 target '%s': list prefix too long",
				  s->base.name);
	for (const char *p = prefix; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return rv_err_set(RV_INVALID,
					  "s3 target '%s': bad list prefix "
					  "(control characters)",
					  s->base.name);
	full = full_key(s, prefix);
	if (!full) {
		rc = RV_NOMEM;
		goto done;
	}
	snprintf(label, sizeof(label), "%s*", prefix);
	snprintf(max_keys, sizeof(max_keys), "%u", s->page_keys);
	for (;;) {
		const char *qn[4], *qv[4];
		size_t nq = 0;

		if (token) {
			qn[nq] = "continuation-token";
			qv[nq++] = token;
		}
		qn[nq] = "list-type";
		qv[nq++] = "2";
		qn[nq] = "max-keys";
		qv[nq++] = max_keys;
		qn[nq] = "prefix";
		qv[nq++] = full;
		rc = get_page(s, &resp, &query, &xml, qn, qv, nq, "list",
			      label);
		if (rc)
			goto done;
		rc = s3_xml_parse_list(&page, (const char *)xml.data, xml.len);
		if (rc) {
			rc = rv_err_set(rc,
					"s3 target '%s': cannot list '%s': %s",
					s->base.name, label, rv_err_msg());
			goto done;
		}
		for (size_t i = 0; i < keys.n; i++) {
			const char *k = keys.items[i];
			if (strncmp(k, s->prefix, plen) ||
			    strncmp(k + plen, prefix, strlen(prefix)) ||
			    !list_name_ok(k + plen)) {
				rv_debug(
				    "s3 target '%s': listing skips '%.200s'",
				    s->base.name, k);
				continue;
			}
			if (names->n - n0 >= S3_LIST_NAMES_MAX) {
				rc = rv_err_set(RV_TOOBIG,
						"s3 target '%s': more than %d "
						"objects under '%s'",
						s->base.name, S3_LIST_NAMES_MAX,
						label);
				goto done;
			}
			rc = rv_strlist_add(names, k + plen);
			if (rc)
				goto done;
		}
		empty_pages = keys.n ? 0 : empty_pages + 1;
		rv_strlist_release(&keys);
		if (!page.truncated)
			break;
		if ((token && !strcmp(token, page.next_token)) ||
		    empty_pages > S3_EMPTY_PAGES_MAX) {
			rc = rv_err_set(RV_CORRUPT,
					"s3 target '%s': the listing of '%s' "
					"does not advance",
					s->base.name, label);
			goto done;
		}
		free(token);
		token = page.next_token;
		page.next_token = NULL;
	}
done:
	if (rc) {
		while (names->n > n0)
			free(names->items[--names->n]);
	}
	free(page.next_token);
	free(token);
	free(full);
	rv_strlist_release(&keys);
	resp_release(&resp);
	rv_buf_release(&query);
	rv_buf_release(&xml);
	return rc;
}

/* ---- open, free -----------------------------------------------------*/

static void wipe_free(char *p)
{
	if (p) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

static void s3_free(struct target *t)
{
	struct target_s3 *s = to_s3(t);

	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free(s->base.name);
	free(s->endpoint);
	free(s->bucket);
	free(s->prefix);
	free(s->sigv4);
	free(s->ca_file);
	wipe_free(s->access_key);
	wipe_free(s->secret);
	free(s);
}

static const struct target_ops s3_ops = {
    .put_file = s3_put_file,
    .put_buf = s3_put_buf,
    .get_range = s3_get_range,
    .stat = s3_stat,
    .list = s3_list,
    .del = s3_del,
    .free = s3_free,
};

static int dup_to(char **slot, const char *v)
{
	*slot = strdup(v);
	return *slot ? 0 : rv_err_set(RV_NOMEM, "out of memory");
}

static int secret_ok(const char *v)
{
	size_t n = v ? strlen(v) : 0;

	if (n == 0 || n > S3_SECRET_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 0;
	return 1;
}

int target_s3_open(struct target **out, const struct target_s3_config *cfg)
{
	struct target_s3 *s = NULL;
	const char *tname = cfg->name ? cfg->name : "s3";
	const char *region =
	    cfg->region && *cfg->region ? cfg->region : "us-east-1";
	const char *prefix = cfg->prefix ? cfg->prefix : "";
	size_t plen = strlen(prefix), n;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return rv_err_set(RV_NOMEM, "out of memory");
	target_base_init(&s->base, &s3_ops);
	if ((rc = dup_to(&s->base.name, tname)))
		goto fail;
	rc = s3_endpoint_parse(&s->ep, cfg->endpoint);
	if (rc) {
		rc = rv_err_set(rc, "s3 target '%s': %s", tname, rv_err_msg());
		goto fail;
	}
	s->https = !strcmp(s->ep.scheme, "https");
	s->path_style = cfg->path_style ? 1 : 0;
	if (!s3_bucket_valid(cfg->bucket, s->path_style)) {
		rc = rv_err_set(RV_INVALID,
				"s3 target '%s': bad bucket name '%.100s' "
				"(3-63 characters: lowercase letters, digits, "
				"'.', '-'%s)",
				tname, cfg->bucket ? cfg->bucket : "",
				s->path_style ? ", also A-Z and '_' in path "
						"style"
					      : "");
		goto fail;
	}
	if (!s->path_style && s->ep.is_ip) {
		rc = rv_err_set(RV_INVALID,
				"s3 target '%s': virtual-host style needs a "
				"host name, not the address '%s' (set "
				"path_style: true)",
				tname, s->ep.host);
		goto fail;
	}
	n = strlen(region);
	for (size_t i = 0; i < n; i++) {
		char c = region[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_') ||
		    n > 64) {
			rc = rv_err_set(RV_INVALID,
					"s3 target '%s': bad region '%.64s'",
					tname, region);
			goto fail;
		}
	}
	if (plen) {
		/* the prefix without its trailing '/' must be a valid name */
		char *trim =
		    strndup(prefix, prefix[plen - 1] == '/' ? plen - 1 : plen);
		int ok = trim && plen <= S3_PREFIX_MAX && list_name_ok(trim);
		free(trim);
		if (!ok) {
			rc = rv_err_set(RV_INVALID,
					"s3 target '%s': bad prefix '%.100s' "
					"(want \"\" or a relative path like "
					"'regvault/')",
					tname, prefix);
			goto fail;
		}
	}
	s->prefix = malloc(plen + 2);
	if (!s->prefix) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto fail;
	}
	snprintf(s->prefix, plen + 2, "%s%s", prefix,
		 plen && prefix[plen - 1] != '/' ? "/" : "");
	if (!secret_ok(cfg->access_key_id) ||
	    !secret_ok(cfg->secret_access_key) ||
	    strchr(cfg->access_key_id, ':')) {
		rc = rv_err_set(RV_INVALID,
				"s3 target '%s': access_key_id or "
				"secret_access_key is missing or malformed",
				tname);
		goto fail;
	}
	if (cfg->object_lock_days < 0 ||
	    cfg->object_lock_days > S3_LOCK_DAYS_MAX) {
		rc = rv_err_set(RV_INVALID,
				"s3 target '%s': object_lock_days %d is out of "
				"range (0 to %d)",
				tname, cfg->object_lock_days, S3_LOCK_DAYS_MAX);
		goto fail;
	}
	s->lock_days = cfg->object_lock_days;
	s->part_size = cfg->part_size ? cfg->part_size : S3_PART_DEFAULT;
	if (s->part_size < S3_PART_MIN || s->part_size > S3_PART_MAX) {
		rc = rv_err_set(RV_INVALID,
				"s3 target '%s': part size %llu is out of "
				"range (5 MiB to 5 GiB)",
				tname, (unsigned long long)s->part_size);
		goto fail;
	}
	s->insecure = cfg->insecure ? 1 : 0;
	if ((rc = dup_to(&s->endpoint, cfg->endpoint)) ||
	    (rc = dup_to(&s->bucket, cfg->bucket)) ||
	    (rc = dup_to(&s->access_key, cfg->access_key_id)) ||
	    (rc = dup_to(&s->secret, cfg->secret_access_key)))
		goto fail;
	if (cfg->ca_file && (rc = dup_to(&s->ca_file, cfg->ca_file)))
		goto fail;
	n = strlen("aws:amz::s3") + strlen(region) + 1;
	s->sigv4 = malloc(n);
	if (!s->sigv4) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto fail;
	}
	snprintf(s->sigv4, n, "aws:amz:%s:s3", region);
	s->page_keys = S3_PAGE_KEYS;
	s->retry_ms = S3_RETRY_MS;
	s->rand_state =
	    (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)s;
	s->curl = curl_easy_init();
	if (!s->curl) {
		rc = rv_err_set(RV_NOMEM,
				"s3 target '%s': cannot start libcurl", tname);
		goto fail;
	}
	*out = &s->base;
	return 0;
fail:
	s3_free(&s->base);
	return rc;
}

void target_s3_set_test_knobs(struct target *t, unsigned page_keys,
			      unsigned retry_ms)
{
	struct target_s3 *s = to_s3(t);

	if (page_keys >= 1 && page_keys <= S3_PAGE_KEYS)
		s->page_keys = page_keys;
	if (retry_ms)
		s->retry_ms = retry_ms;
}
