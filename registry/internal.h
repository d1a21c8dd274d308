/* internal.h - shared only by the registry .c files: the client struct, one
 * HTTP exchange (request, parsed response), names and URL helpers. */
#ifndef REG_INTERNAL_H
#define REG_INTERNAL_H

#include "registry/registry.h"
#include "util/buf.h"
#include "util/strlist.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define REG_MANIFEST_MAX ((size_t)4 << 20) /* manifest body */
#define REG_PAGE_MAX ((size_t)8 << 20)	   /* one catalog/tags page */
#define REG_TOKEN_MAX ((size_t)64 << 10)   /* token response */
#define REG_ERRBODY_MAX ((size_t)64 << 10) /* error bodies (rest dropped) */
#define REG_HEADER_MAX ((size_t)16 << 10)  /* one kept header value */
#define REG_REDIRECTS_MAX 5
#define REG_PAGES_MAX 100000
/* names one listing (the catalog, one repository's tags) may hold, over
 * all its pages: a registry that repeats pages without end stops here */
#define REG_NAMES_MAX 4000000
#define REG_PAGE_N 1000
#define REG_TOKENS_MAX 32
#define REG_TOKEN_GET 1
#define REG_TOKEN_OAUTH 2
/* Politeness defaults (reg_config fields left 0) and bounds. */
#define REG_RETRIES_DEFAULT 5
#define REG_RETRIES_MAX 100
#define REG_RETRY_BASE_MS_DEFAULT 500
#define REG_RETRY_MAX_MS_DEFAULT 30000
#define REG_RETRY_MS_MAX 3600000
#define REG_RETRY_AFTER_MAX_S_DEFAULT 300
#define REG_RETRY_AFTER_MAX_S_MAX 86400

enum reg_auth_kind {
	REG_AUTH_NONE = 0,
	REG_AUTH_BASIC,
	REG_AUTH_BEARER,
};

struct reg_token {
	char *scope; /* cache key: the scope string asked for */
	char *token; /* secret */
	time_t expires;
};

struct reg {
	CURL *curl;
	char *name;
	char *url;	/* base, no trailing slash */
	char *username; /* NULL: anonymous */
	char *password; /* secret */
	char *ca_file;
	int insecure;
	char *origin; /* "scheme://host:port", lowercase */
	size_t manifest_max;

	enum reg_auth_kind auth;
	char *realm;   /* Bearer token endpoint */
	char *service; /* Bearer service, may be NULL */
	struct reg_token tokens[REG_TOKENS_MAX];
	size_t n_tokens;
	/* Docker's config.json (registry/credentials.c), read at the first
	 * challenge when no username is configured */
	char *docker_config;
	int creds_loaded;
	char *creds_source;   /* "auths", "docker-credential-x": messages */
	char *identity_token; /* secret: OAuth2 refresh token */
	int oauth_get;	      /* the realm refused the OAuth2 POST: GET */
	uint64_t tokens_fetched;
	/* mutual TLS: PEM client certificate and key, or both NULL */
	char *client_cert;
	char *client_key;

	struct reg_stats stats;
	char curl_err[CURL_ERROR_SIZE];
	/* politeness (registry/http.c, registry/retry.c): effective values,
	 * defaults applied */
	uint64_t request_budget; /* 0: none; shared with the clones */
	/* requests made against the budget by this client and its clones:
	 * points at the first client's counter */
	_Atomic uint64_t *budget_spent;
	_Atomic uint64_t budget_spent_own;
	uint64_t clone_cap; /* a clone's own cap (0: none) */
	int retries;
	int retry_base_ms;
	int retry_max_ms;
	int retry_after_max_s;
	uint64_t rng;	       /* jitter state (reg_rand) */
	CURLcode last_cc;      /* libcurl's result of the last transfer */
	int catalog_truncated; /* the last reg_catalog() looked cut short */
	uint64_t upload_chunk; /* PATCH chunk size (registry/upload.c) */
};

/* One logical request: reg_do() adds auth, follows redirects and retries. */
struct reg_req {
	const char *method; /* GET HEAD PUT POST DELETE */
	const char *url;    /* absolute */
	const char *what;   /* for messages: "get manifest 'repo:tag'" */
	const char *scope;  /* Bearer scope(s), space separated; NULL: none */
	const char *accept;
	const char *content_type;
	/* in-memory request body (PUT/POST) */
	const void *body;
	size_t body_len;
	/* or a streamed one (PUT); src_len bytes exactly */
	reg_source_fn src;
	void *src_arg;
	int64_t src_len;
	/* 2xx response body: into out (at most out_max bytes) or a sink */
	struct rv_buf *out;
	size_t out_max;
	reg_sink_fn sink;
	void *sink_arg;
	/* internal: a token request, no registry auth. REG_TOKEN_GET:
	 * GET with Basic credentials when we have them; REG_TOKEN_OAUTH:
	 * the OAuth2 POST, whose credentials are in the body */
	int token_request;
	int64_t range_from; /* > 0: send "Range: bytes=N-" (blob resume) */
	/* PATCH (registry/upload.c): sent like a PUT body (src/src_len),
	 * with this Content-Range value ("start-end") when set */
	const char *content_range;
};

struct reg_resp {
	long status;
	char *url; /* the URL that gave this response (after redirects) */
	char *location;
	char *content_type;	      /* without parameters, lowercase */
	char *digest;		      /* Docker-Content-Digest */
	char *link;		      /* Link headers joined with ", " */
	int64_t content_length;	      /* -1: none */
	struct rv_strlist challenges; /* WWW-Authenticate values */
	struct rv_buf err_body;	      /* non-2xx body, first 64 KiB */
	int sink_used;		      /* bytes went to the sink */
	int src_started;	      /* the source was read from */
	char *range;		      /* Range header of an upload status */
	/* reg_do failed on a transport error that a retry could cure */
	int broken;
	char *retry_after;   /* Retry-After value */
	char *content_range; /* Content-Range of a 206 */
};

void reg_resp_init(struct reg_resp *resp);
void reg_resp_release(struct reg_resp *resp);

/* Perform req. 0 when an HTTP response arrived (any status: the caller
 * judges it), a negative code with the message set otherwise (network,
 * token fetch, sink or source error, body over its cap). */
int reg_do(struct reg *r, const struct reg_req *req, struct reg_resp *resp);

/* ---- retry policy (registry/retry.c) ---- */

/* 1 for statuses worth another try: 429, 500, 502, 503, 504. */
int reg_status_retriable(long status);
/* 1 for transport failures worth another try (refused, reset, timed out,
 * cut short, nothing received). */
int reg_curl_retriable(CURLcode cc);
/* "Too Many Requests" for 429 and the retriable 5xx; "" otherwise. */
const char *reg_status_phrase(long status);
/* Seconds a Retry-After value asks to wait: delay-seconds or an HTTP-date
 * (then relative to now; a past date gives 0). -1 when NULL or
 * unreadable. Never more than 10^9. */
int64_t reg_retry_after_parse(const char *value, time_t now);
/* Milliseconds to wait before retry number `retry` (0 = the first): full
 * jitter, rnd reduced into [0, min(base_ms * 2^retry, max_ms)]. 0 when
 * base_ms or max_ms is not positive. */
uint64_t reg_backoff_ms(int retry, int base_ms, int max_ms, uint64_t rnd);
/* The next number of a per-client generator (splitmix64) and a seed. */
uint64_t reg_rand(uint64_t *state);
uint64_t reg_rand_seed(void);
/* Sleep ms milliseconds (restarts after a signal). */
void reg_sleep_ms(uint64_t ms);
/* Parse a Content-Range value "bytes START-LAST/TOTAL" (TOTAL may be
 * "*": *total = -1). 0, or -1 when malformed or inconsistent. */
int reg_content_range_parse(int64_t *start, int64_t *last, int64_t *total,
			    const char *value);

/* Set the message for an unexpected status and return its code:
 * 404 or a ..._UNKNOWN code -> RV_NOTFOUND, 401/403 -> RV_AUTH, 5xx/429 ->
 * RV_NET, DIGEST_INVALID -> RV_CORRUPT, 405 -> RV_UNSUPPORTED, else RV_ERROR.
 */
int reg_status_error(const struct reg *r, const struct reg_req *req,
		     const struct reg_resp *resp);
/* The first registry error code from resp's JSON body into code (or ""). */
void reg_error_code(char *code, size_t cap, const struct reg_resp *resp);

/* 1 if url's scheme, host and port equal the registry's. */
int reg_same_origin(const struct reg *r, const char *url);
/* "scheme://host:port" of url, lowercase; malloc'd. RV_INVALID. */
int reg_origin_of(char **out, const char *url);

/* Percent-encode s (all but unreserved characters) onto b. */
int reg_urlenc(struct rv_buf *b, const char *s);

/* RV_INVALID (message naming r) when repo is not reg_repo_valid. */
int reg_check_repo(const struct reg *r, const char *repo);
int reg_check_ref(const struct reg *r, const char *repo, const char *ref);
int reg_check_digest(const struct reg *r, const char *repo, const char *digest);

/* Schema 1 check on a GET result: RV_UNSUPPORTED with the message set
 * when content_type or the body says schema 1, else 0. body_mt (cap
 * bytes) receives the body's "mediaType" or "". */
int reg_schema1_check(char *body_mt, size_t cap, const void *body, size_t len,
		      const char *content_type, const char *what);
/* Copy the media type of s (parameters and spaces dropped, lowercased)
 * into out; "" for NULL. */
void reg_media_type_copy(char *out, size_t cap, const char *s);

/* ---- chunked uploads (registry/upload.c) ---- */

/* Default PATCH chunk size when reg_config.upload_chunk is 0. */
#define REG_UPLOAD_CHUNK_DEFAULT ((uint64_t)64 << 20)
/* The smallest chunk accepted (smaller values are raised to it). */
#define REG_UPLOAD_CHUNK_MIN ((uint64_t)64 << 10)

/* Parse an upload's Range header ("0-N", optionally "bytes=0-N") into the
 * number of bytes the registry holds: N + 1. *ambiguous is 1 for "0-0",
 * which distribution also sends for an empty upload. RV_CORRUPT when the
 * value is malformed, does not start at 0 or is over max. A NULL value
 * means nothing received: 0. */
int reg_upload_parse_range(uint64_t *held, int *ambiguous, const char *value,
			   uint64_t max);
/* Format "start-end" (end inclusive) for Content-Range into out.
 * RV_INVALID when len is 0 or the text does not fit. */
int reg_upload_content_range(char *out, size_t cap, uint64_t start,
			     uint64_t len);
/* The client's PATCH chunk size: upload_chunk, or the default, at least
 * REG_UPLOAD_CHUNK_MIN. */
uint64_t reg_upload_chunk_size(const struct reg *r);
/* Resolve the Location of resp (the answer to req) into *loc, freeing
 * the old one. RV_NET when it has none or it does not resolve. */
int reg_upload_loc(char **loc, const struct reg *r, const char *what,
		   const struct reg_req *req, const struct reg_resp *resp);
/* Start an upload to repo: POST /blobs/uploads/, 202, its Location into
 * *loc (the caller frees it). */
int reg_upload_begin(char **loc, struct reg *r, const char *repo,
		     const char *scope, const char *what);
/* End the upload at loc: PUT ?digest=, with len bytes from src as the
 * body (no body when src is NULL); wants 201, and RV_CORRUPT when the
 * registry says it stored another sha256 digest. */
int reg_upload_finish(struct reg *r, const char *loc, const char *digest,
		      const char *scope, const char *what, reg_source_fn src,
		      void *arg, int64_t len);
/* reg_blob_put's path for a blob above the chunk size: POST, PATCH
 * chunks, PUT ?digest=. The source only reads forward, so after a cut the
 * upload resumes only when the registry holds every byte read so far. */
int reg_upload_stream(struct reg *r, const char *repo, const char *digest,
		      uint64_t size, reg_source_fn src, void *arg);

#endif
