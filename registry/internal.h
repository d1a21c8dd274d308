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
#define REG_ATTEMPTS 3
#define REG_PAGES_MAX 100000
#define REG_PAGE_N 1000
#define REG_TOKENS_MAX 32

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

	struct reg_stats stats;
	char curl_err[CURL_ERROR_SIZE];
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
	int token_request; /* internal: a token GET, no registry auth */
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
};

void reg_resp_init(struct reg_resp *resp);
void reg_resp_release(struct reg_resp *resp);

/* Perform req. 0 when an HTTP response arrived (any status: the caller
 * judges it), a negative code with the message set otherwise (network,
 * token fetch, sink or source error, body over its cap). */
int reg_do(struct reg *r, const struct reg_req *req, struct reg_resp *resp);

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

/* Names, validated before they go into a URL (RV_INVALID otherwise). */
int reg_repo_valid(const char *repo);
int reg_tag_valid(const char *tag);
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

#endif
