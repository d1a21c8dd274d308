/* http.c - the client object and one HTTP exchange: auth (Basic, Bearer
 * tokens cached per scope), redirects followed by hand, retries, capped
 * bodies, error mapping. */
#include "registry/internal.h"
#include "registry/manifest.h"
#include "util/err.h"
#include "util/httphdr.h"
#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TOKEN_DEFAULT_TTL 60
#define TOKEN_MAX_TTL 86400
#define TOKEN_LEN_MAX 16384

struct xfer {
	struct reg *r;
	const struct reg_req *req;
	struct reg_resp *resp;
	int rc; /* first error raised in a callback */
	size_t body_off;
	int64_t sent;
};

/* ---- response ---------------------------------------------------------*/

static void resp_clear_headers(struct reg_resp *resp)
{
	free(resp->location);
	free(resp->content_type);
	free(resp->digest);
	free(resp->link);
	resp->location = resp->content_type = resp->digest = resp->link = NULL;
	resp->content_length = -1;
	rv_strlist_release(&resp->challenges);
	rv_buf_reset(&resp->err_body);
}

void reg_resp_init(struct reg_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->content_length = -1;
	rv_buf_init(&resp->err_body, REG_ERRBODY_MAX);
}

void reg_resp_release(struct reg_resp *resp)
{
	if (!resp)
		return;
	resp_clear_headers(resp);
	rv_buf_release(&resp->err_body);
	free(resp->url);
	resp->url = NULL;
}

static int set_str(char **slot, const char *v, size_t len)
{
	char *s = strndup(v, len);
	if (!s)
		return rv_err_set(RV_NOMEM, "out of memory");
	free(*slot);
	*slot = s;
	return 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct reg_resp *resp = x->resp;
	size_t len = size * n, vlen;
	const char *v;
	struct rv_hdr h;
	int rc = 0;

	if (rv_hdr_parse(&h, p, len))
		return len;
	if (h.is_status) {
		/* a new response (after 100 Continue, say) starts afresh */
		resp_clear_headers(resp);
		resp->status = h.status;
		return len;
	}
	v = h.value;
	vlen = h.value_len;
	if (vlen > REG_HEADER_MAX)
		return len; /* nothing we need is that long; ignore it */
#define IS(s) rv_hdr_is(&h, s)
	if (IS("location")) {
		rc = set_str(&resp->location, v, vlen);
	} else if (IS("content-type")) {
		char mt[REG_MEDIA_MAX];
		char *tmp = strndup(v, vlen);
		if (!tmp) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
		} else {
			reg_media_type_copy(mt, sizeof(mt), tmp);
			free(tmp);
			rc = set_str(&resp->content_type, mt, strlen(mt));
		}
	} else if (IS("docker-content-digest")) {
		rc = set_str(&resp->digest, v, vlen);
	} else if (IS("content-length")) {
		char num[24];
		char *e = NULL;
		long long cl;
		if (vlen && vlen < sizeof(num)) {
			memcpy(num, v, vlen);
			num[vlen] = '\0';
			errno = 0;
			cl = strtoll(num, &e, 10);
			if (!errno && *e == '\0' && cl >= 0 && isdigit(num[0]))
				resp->content_length = cl;
		}
	} else if (IS("link")) {
		if (resp->link) {
			struct rv_buf b = RV_BUF_INIT(4 * REG_HEADER_MAX);
			rc = rv_buf_printf(&b, "%s, %.*s", resp->link,
					   (int)vlen, v);
			if (!rc) {
				free(resp->link);
				resp->link = rv_buf_detach(&b, NULL);
			}
			rv_buf_release(&b);
			if (rc == RV_TOOBIG)
				rc = 0; /* keep the first ones */
		} else {
			rc = set_str(&resp->link, v, vlen);
		}
	} else if (IS("www-authenticate")) {
		if (resp->challenges.n < 8)
			rc = rv_strlist_take(&resp->challenges,
					     strndup(v, vlen));
	}
#undef IS
	if (rc) {
		x->rc = rc;
		return 0;
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	const struct reg_req *req = x->req;
	struct reg_resp *resp = x->resp;
	size_t len = size * n;
	int rc;

	if (resp->status >= 200 && resp->status < 300) {
		if (req->sink) {
			resp->sink_used = 1;
			rc = req->sink(req->sink_arg, p, len);
			if (rc < 0) {
				x->rc = rc;
				return 0;
			}
		} else if (req->out) {
			if (len > req->out_max ||
			    req->out->len > req->out_max - len) {
				x->rc = RV_TOOBIG;
				return 0;
			}
			rc = rv_buf_add(req->out, p, len);
			if (rc) {
				x->rc = rc;
				return 0;
			}
		}
		return len;
	}
	/* an error or redirect body: keep the start for the error code */
	if (resp->err_body.len < REG_ERRBODY_MAX) {
		size_t room = REG_ERRBODY_MAX - resp->err_body.len;
		if (rv_buf_add(&resp->err_body, p, len < room ? len : room))
			rv_err_clear();
	}
	return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	const struct reg_req *req = x->req;
	size_t cap = size * n, got = 0;
	int rc;

	if (!req->src) {
		size_t left = req->body_len - x->body_off;
		size_t k = left < cap ? left : cap;
		if (k)
			memcpy(buf, (const char *)req->body + x->body_off, k);
		x->body_off += k;
		return k;
	}
	x->resp->src_started = 1;
	if (x->sent >= req->src_len)
		return 0;
	if ((uint64_t)(req->src_len - x->sent) < cap)
		cap = (size_t)(req->src_len - x->sent);
	rc = req->src(req->src_arg, buf, cap, &got);
	if (rc < 0) {
		x->rc = rc;
		return CURL_READFUNC_ABORT;
	}
	if (got > cap || got == 0) {
		x->rc = rv_err_set(
		    RV_INVALID,
		    "cannot %s on registry '%s': the data source "
		    "%s after %lld of %lld bytes",
		    req->what, x->r->name, got ? "overran its buffer" : "ended",
		    (long long)x->sent, (long long)req->src_len);
		return CURL_READFUNC_ABORT;
	}
	x->sent += (int64_t)got;
	x->r->stats.bytes_sent += got;
	return got;
}

/* ---- one exchange -----------------------------------------------------*/

static int is_method(const struct reg_req *req, const char *m)
{
	return !strcmp(req->method, m);
}

static int perform_once(struct reg *r, const struct reg_req *req,
			const char *url, const char *token, int basic,
			struct reg_resp *resp, int *retriable)
{
	CURL *c = r->curl;
	struct curl_slist *hdrs = NULL, *tmp;
	struct rv_buf line = RV_BUF_INIT(TOKEN_LEN_MAX + 256);
	struct xfer x = {r, req, resp, 0, 0, 0};
	CURLcode cc;
	int rv = 0;

	*retriable = 0;
	resp_clear_headers(resp);
	resp->status = 0;
	resp->src_started = 0;
	if (req->out)
		rv_buf_reset(req->out);
	curl_easy_reset(c);
	r->curl_err[0] = '\0';

#define HDR(s)                                                                 \
	do {                                                                   \
		tmp = curl_slist_append(hdrs, (s));                            \
		if (!tmp) {                                                    \
			rv = rv_err_set(RV_NOMEM, "out of memory");            \
			goto done;                                             \
		}                                                              \
		hdrs = tmp;                                                    \
	} while (0)
	if (req->accept) {
		rv_buf_reset(&line);
		if ((rv = rv_buf_printf(&line, "Accept: %s", req->accept)))
			goto done;
		HDR(rv_buf_cstr(&line));
	}
	if (req->content_type) {
		rv_buf_reset(&line);
		if ((rv = rv_buf_printf(&line, "Content-Type: %s",
					req->content_type)))
			goto done;
		HDR(rv_buf_cstr(&line));
	} else if (is_method(req, "POST")) {
		HDR("Content-Type:"); /* no form encoding */
	}
	if (token) {
		rv_buf_reset(&line);
		if ((rv = rv_buf_printf(&line, "Authorization: Bearer %s",
					token)))
			goto done;
		HDR(rv_buf_cstr(&line));
	}
#undef HDR

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->curl_err);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "regvault/0.1");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	if (r->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
	if (r->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (basic && r->username) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, r->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD,
				 r->password ? r->password : "");
	}
	if (is_method(req, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (is_method(req, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (is_method(req, "PUT")) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &x);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)(req->src
						  ? req->src_len
						  : (int64_t)req->body_len));
	} else if (is_method(req, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)req->body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
				 req->body ? req->body : "");
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	}

	cc = curl_easy_perform(c);
	r->stats.requests++;
	if (x.rc) {
		rv = x.rc;
		if (rv == RV_TOOBIG)
			rv = rv_err_set(RV_TOOBIG,
					"cannot %s on registry '%s': the "
					"response is larger than %zu bytes",
					req->what, r->name, req->out_max);
		/* sink and source errors keep their own message */
		goto done;
	}
	if (cc != CURLE_OK) {
		/* a certificate or URL problem does not go away by itself */
		*retriable = cc != CURLE_PEER_FAILED_VERIFICATION &&
			     cc != CURLE_SSL_CACERT_BADFILE &&
			     cc != CURLE_SSL_CERTPROBLEM &&
			     cc != CURLE_SSL_ISSUER_ERROR &&
			     cc != CURLE_URL_MALFORMAT &&
			     cc != CURLE_UNSUPPORTED_PROTOCOL;
		rv = rv_err_set(RV_NET, "cannot %s on registry '%s': %s%s%s%s",
				req->what, r->name, curl_easy_strerror(cc),
				r->curl_err[0] ? " (" : "", r->curl_err,
				r->curl_err[0] ? ")" : "");
		goto done;
	}
	if (resp->status < 100) {
		long code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		resp->status = code;
	}
done:
	curl_slist_free_all(hdrs);
	rv_buf_release(&line);
	return rv;
}

/* ---- tokens -----------------------------------------------------------*/

static void token_drop(struct reg *r, size_t i)
{
	free(r->tokens[i].scope);
	explicit_bzero(r->tokens[i].token, strlen(r->tokens[i].token));
	free(r->tokens[i].token);
	r->tokens[i] = r->tokens[--r->n_tokens];
	memset(&r->tokens[r->n_tokens], 0, sizeof(r->tokens[0]));
}

static struct reg_token *token_find(struct reg *r, const char *scope)
{
	for (size_t i = 0; i < r->n_tokens; i++)
		if (!strcmp(r->tokens[i].scope, scope))
			return &r->tokens[i];
	return NULL;
}

static void token_forget(struct reg *r, const char *scope)
{
	struct reg_token *t = token_find(r, scope);
	if (t)
		token_drop(r, (size_t)(t - r->tokens));
}

static int token_store(struct reg *r, const char *scope, char *token,
		       time_t expires)
{
	char *key = strdup(scope);
	time_t now = time(NULL);
	size_t i;

	if (!key) {
		free(token);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	token_forget(r, scope);
	for (i = 0; i < r->n_tokens;) {
		if (r->tokens[i].expires <= now)
			token_drop(r, i);
		else
			i++;
	}
	if (r->n_tokens == REG_TOKENS_MAX) {
		size_t oldest = 0;
		for (i = 1; i < r->n_tokens; i++)
			if (r->tokens[i].expires < r->tokens[oldest].expires)
				oldest = i;
		token_drop(r, oldest);
	}
	r->tokens[r->n_tokens].scope = key;
	r->tokens[r->n_tokens].token = token;
	r->tokens[r->n_tokens].expires = expires;
	r->n_tokens++;
	return 0;
}

/* issued_at is RFC 3339; only the UTC date and time are used. */
static int parse_issued_at(time_t *out, const char *s)
{
	struct tm tm;
	const char *e;

	memset(&tm, 0, sizeof(tm));
	e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!e)
		return -1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

static int token_parse(char **token, long long *ttl, time_t *issued,
		       const struct rv_buf *body)
{
	json_t *root = NULL, *v;
	const char *s;
	int rv = RV_CORRUPT;

	*token = NULL;
	*ttl = TOKEN_DEFAULT_TTL;
	*issued = 0;
	root = json_loadb((const char *)body->data, body->len, 0, NULL);
	if (!json_is_object(root))
		goto done;
	v = json_object_get(root, "token");
	if (!json_is_string(v) || !json_string_length(v))
		v = json_object_get(root, "access_token");
	if (!json_is_string(v) || !json_string_length(v) ||
	    json_string_length(v) > TOKEN_LEN_MAX)
		goto done;
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		goto done;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			goto done; /* would break the header */
	v = json_object_get(root, "expires_in");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		*ttl = json_integer_value(v);
	if (*ttl > TOKEN_MAX_TTL)
		*ttl = TOKEN_MAX_TTL;
	v = json_object_get(root, "issued_at");
	if (json_is_string(v))
		parse_issued_at(issued, json_string_value(v));
	*token = strdup(s);
	rv = *token ? 0 : RV_NOMEM;
done:
	json_decref(root);
	return rv;
}

static int token_fetch(struct reg *r, const char *scope, const char *what)
{
	struct rv_buf url = RV_BUF_INIT(16384);
	struct rv_buf body = RV_BUF_INIT(REG_TOKEN_MAX);
	struct reg_resp resp;
	struct reg_req req;
	char *token = NULL;
	const char *sep;
	long long ttl, margin;
	time_t issued, now, base;
	int rv;

	reg_resp_init(&resp);
	if (r->username && !strncasecmp(r->url, "https:", 6) &&
	    strncasecmp(r->realm, "https:", 6)) {
		rv = rv_err_set(RV_AUTH,
				"registry '%s' sends its token requests over "
				"plain http; refusing to send the credentials",
				r->name);
		goto done;
	}
	sep = strchr(r->realm, '?') ? "&" : "?";
	rv = rv_buf_puts(&url, r->realm);
	if (!rv && r->service) {
		rv = rv_buf_printf(&url, "%sservice=", sep);
		sep = "&";
		if (!rv)
			rv = reg_urlenc(&url, r->service);
	}
	for (const char *p = scope; !rv && *p;) {
		size_t k = strcspn(p, " ");
		char one[1024];
		if (k && k < sizeof(one)) {
			memcpy(one, p, k);
			one[k] = '\0';
			rv = rv_buf_printf(&url, "%sscope=", sep);
			sep = "&";
			if (!rv)
				rv = reg_urlenc(&url, one);
		}
		p += k;
		p += strspn(p, " ");
	}
	if (rv)
		goto done;

	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = rv_buf_cstr(&url);
	req.what = "get an access token";
	req.accept = "application/json";
	req.out = &body;
	req.out_max = REG_TOKEN_MAX;
	req.token_request = 1;
	rv = reg_do(r, &req, &resp);
	if (rv)
		goto done;
	if (resp.status == 401 || resp.status == 403) {
		rv = rv_err_set(
		    RV_AUTH,
		    "cannot %s on registry '%s': the token server "
		    "refused %s (HTTP %ld)%s",
		    what, r->name,
		    r->username ? "the credentials" : "anonymous access",
		    resp.status,
		    r->username ? "; check username and password_file"
				: "; set username and password_file");
		goto done;
	}
	if (resp.status != 200) {
		rv = reg_status_error(r, &req, &resp);
		goto done;
	}
	rv = token_parse(&token, &ttl, &issued, &body);
	if (rv) {
		rv = rv == RV_NOMEM
			 ? rv_err_set(RV_NOMEM, "out of memory")
			 : rv_err_set(RV_AUTH,
				      "cannot %s on registry '%s': the "
				      "token server sent no usable token",
				      what, r->name);
		goto done;
	}
	now = time(NULL);
	/* a server clock ahead of ours must not stretch the lifetime */
	base = issued > 0 && issued < now ? issued : now;
	margin = ttl / 5 < 30 ? ttl / 5 : 30;
	rv = token_store(r, scope, token, base + (time_t)(ttl - margin));
	token = NULL;
done:
	free(token);
	rv_buf_release(&url);
	rv_buf_release(&body);
	reg_resp_release(&resp);
	return rv;
}

static int token_get(const char **token, struct reg *r, const char *scope,
		     const char *what)
{
	struct reg_token *t = token_find(r, scope);
	int rc;

	if (t && t->expires > time(NULL)) {
		*token = t->token;
		return 0;
	}
	rc = token_fetch(r, scope, what);
	if (rc)
		return rc;
	t = token_find(r, scope);
	if (!t)
		return rv_err_set(RV_ERROR, "token cache lost a token");
	*token = t->token;
	return 0;
}

/* After a 401 from the registry: 0 to try again with the new credentials,
 * 1 to give up (the caller reports the 401), or an error. */
static int auth_on_401(struct reg *r, const struct reg_req *req,
		       const struct reg_resp *resp)
{
	struct reg_challenge basic, bearer, ch;
	const char *scope;
	int have_basic = 0, have_bearer = 0, rv = 1;

	memset(&basic, 0, sizeof(basic));
	memset(&bearer, 0, sizeof(bearer));
	for (size_t i = 0; i < resp->challenges.n; i++) {
		if (reg_parse_www_authenticate(&ch, resp->challenges.items[i]))
			continue;
		if (!strcmp(ch.scheme, "bearer") && !have_bearer) {
			bearer = ch;
			have_bearer = 1;
		} else if (!strcmp(ch.scheme, "basic") && !have_basic) {
			basic = ch;
			have_basic = 1;
		} else {
			reg_challenge_release(&ch);
		}
	}
	rv_err_clear();
	if (have_bearer) {
		char *realm = NULL, *service = NULL;
		char *origin = NULL;

		/* the realm must be an http(s) URL */
		rv = reg_origin_of(&origin, bearer.realm);
		free(origin);
		if (rv || (strncasecmp(bearer.realm, "http://", 7) &&
			   strncasecmp(bearer.realm, "https://", 8))) {
			rv = rv_err_set(RV_AUTH,
					"registry '%s' names an unusable token "
					"realm",
					r->name);
			goto done;
		}
		realm = strdup(bearer.realm);
		service = bearer.service ? strdup(bearer.service) : NULL;
		if (!realm || (bearer.service && !service)) {
			free(realm);
			free(service);
			rv = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
		free(r->realm);
		free(r->service);
		r->realm = realm;
		r->service = service;
		r->auth = REG_AUTH_BEARER;
		scope = req->scope ? req->scope
				   : (bearer.scope ? bearer.scope : "");
		token_forget(r, scope);
		rv = token_fetch(r, scope, req->what);
	} else if (have_basic) {
		if (!r->username) {
			rv = rv_err_set(RV_AUTH,
					"registry '%s' asks for credentials; "
					"set username and password_file",
					r->name);
			goto done;
		}
		if (r->auth == REG_AUTH_BASIC) {
			rv = 1; /* we sent them: refused */
			goto done;
		}
		r->auth = REG_AUTH_BASIC;
		rv = 0;
	}
done:
	reg_challenge_release(&basic);
	reg_challenge_release(&bearer);
	return rv;
}

/* ---- the request loop -------------------------------------------------*/

static void backoff(int attempt)
{
	struct timespec ts = {0, attempt == 0 ? 200000000L : 800000000L};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int is_redirect(long st)
{
	return st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
}

int reg_do(struct reg *r, const struct reg_req *req, struct reg_resp *resp)
{
	char *url = NULL, *next = NULL;
	int idempotent = is_method(req, "GET") || is_method(req, "HEAD");
	int attempt, rv = 0, retriable;

	resp->sink_used = 0;
	for (attempt = 0;; attempt++) {
		int redirects = 0, reauthed = 0;

		free(url);
		url = strdup(req->url);
		if (!url) {
			rv = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
		for (;;) {
			int same =
			    !req->token_request && reg_same_origin(r, url);
			const char *token = NULL;
			int basic = req->token_request;
			long st;

			if (same && r->auth == REG_AUTH_BASIC)
				basic = 1;
			if (same && r->auth == REG_AUTH_BEARER) {
				rv = token_get(&token, r,
					       req->scope ? req->scope : "",
					       req->what);
				if (rv)
					goto done;
			}
			rv = perform_once(r, req, url, token, basic, resp,
					  &retriable);
			if (rv) {
				if (retriable && idempotent &&
				    !resp->sink_used &&
				    attempt + 1 < REG_ATTEMPTS) {
					rv_debug("registry '%s': %s; retrying",
						 r->name, rv_err_msg());
					backoff(attempt);
					break;
				}
				goto done;
			}
			st = resp->status;
			if (is_redirect(st) && resp->location && idempotent) {
				if (++redirects > REG_REDIRECTS_MAX) {
					rv = rv_err_set(RV_NET,
							"cannot %s on registry "
							"'%s': more than %d "
							"redirects",
							req->what, r->name,
							REG_REDIRECTS_MAX);
					goto done;
				}
				rv =
				    reg_url_resolve(&next, url, resp->location);
				if (rv) {
					rv = rv_err_set(RV_NET,
							"cannot %s on registry "
							"'%s': unusable "
							"redirect Location",
							req->what, r->name);
					goto done;
				}
				free(url);
				url = next;
				next = NULL;
				continue;
			}
			if (st == 401 && same && !reauthed &&
			    !resp->src_started) {
				reauthed = 1;
				rv = auth_on_401(r, req, resp);
				if (rv < 0)
					goto done;
				if (rv == 0)
					continue;
				rv = 0;
				goto done;
			}
			if ((st >= 500 || st == 429) && idempotent &&
			    !resp->sink_used && attempt + 1 < REG_ATTEMPTS) {
				rv_debug("registry '%s': HTTP %ld on %s; "
					 "retrying",
					 r->name, st, req->what);
				backoff(attempt);
				break;
			}
			rv = 0;
			goto done;
		}
	}
done:
	if (!rv) {
		free(resp->url);
		resp->url = url;
		url = NULL;
	}
	free(url);
	return rv;
}

/* ---- errors -----------------------------------------------------------*/

static void copy_clean(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	for (; s && *s && n + 1 < cap; s++)
		out[n++] =
		    ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			? '?'
			: *s;
	out[n] = '\0';
}

static void error_detail(char *code, size_t code_cap, char *msg, size_t msg_cap,
			 const struct reg_resp *resp)
{
	json_t *root, *e;

	code[0] = msg[0] = '\0';
	if (!resp->err_body.len)
		return;
	root = json_loadb((const char *)resp->err_body.data, resp->err_body.len,
			  0, NULL);
	e = json_array_get(json_object_get(root, "errors"), 0);
	copy_clean(code, code_cap,
		   json_string_value(json_object_get(e, "code")));
	copy_clean(msg, msg_cap,
		   json_string_value(json_object_get(e, "message")));
	json_decref(root);
}

void reg_error_code(char *code, size_t cap, const struct reg_resp *resp)
{
	char msg[8];
	error_detail(code, cap, msg, sizeof(msg), resp);
}

int reg_status_error(const struct reg *r, const struct reg_req *req,
		     const struct reg_resp *resp)
{
	char code[64], msg[256], detail[340] = "";
	const char *hint = "";
	long st = resp->status;
	int rv = RV_ERROR;

	error_detail(code, sizeof(code), msg, sizeof(msg), resp);
	if (code[0] || msg[0])
		snprintf(detail, sizeof(detail), " (%s%s%s)", code,
			 code[0] && msg[0] ? ": " : "", msg);
	if (st == 404 || !strcmp(code, "MANIFEST_UNKNOWN") ||
	    !strcmp(code, "BLOB_UNKNOWN") || !strcmp(code, "NAME_UNKNOWN")) {
		rv = RV_NOTFOUND;
	} else if (st == 401 || st == 403) {
		rv = RV_AUTH;
		hint = r->username ? "; check username and password_file"
				   : "; set username and password_file";
	} else if (!strcmp(code, "DIGEST_INVALID")) {
		rv = RV_CORRUPT;
	} else if (st >= 500 || st == 429) {
		rv = RV_NET;
	} else if (st == 413) {
		rv = RV_TOOBIG;
	}
	return rv_err_set(rv, "cannot %s on registry '%s': HTTP %ld%s%s",
			  req->what, r->name, st, detail, hint);
}

/* ---- the client object ------------------------------------------------*/

int reg_same_origin(const struct reg *r, const char *url)
{
	char *o = NULL;
	int same;

	if (reg_origin_of(&o, url))
		return 0;
	same = !strcmp(o, r->origin);
	free(o);
	return same;
}

static int dup_opt(char **out, const char *s)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : rv_err_set(RV_NOMEM, "out of memory");
}

int reg_new(struct reg **out, const struct reg_config *cfg)
{
	struct reg *r = NULL;
	CURLU *u = NULL;
	char *part = NULL;
	const char *name = cfg->name ? cfg->name : "registry";
	size_t len;
	int rv;

	*out = NULL;
	if (!cfg->url || !*cfg->url)
		return rv_err_set(RV_INVALID, "registry '%s' has no url", name);
	u = curl_url();
	if (!u)
		return rv_err_set(RV_NOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, cfg->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &part, 0) != CURLUE_OK ||
	    (strcmp(part, "http") && strcmp(part, "https"))) {
		rv = rv_err_set(RV_INVALID,
				"registry '%s': url '%.200s' is not an http or "
				"https URL",
				name, cfg->url);
		goto done;
	}
	curl_free(part);
	part = NULL;
	if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
		rv =
		    rv_err_set(RV_INVALID,
			       "registry '%s': url must have no user, query or "
			       "fragment (put credentials in username and "
			       "password_file)",
			       name);
		goto done;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		rv = rv_err_set(RV_ERROR, "cannot initialise libcurl");
		goto done;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		curl_global_cleanup();
		rv = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	r->manifest_max = REG_MANIFEST_MAX;
	r->insecure = cfg->insecure;
	if ((rv = dup_opt(&r->name, name)) ||
	    (rv = dup_opt(&r->url, cfg->url)) ||
	    (rv = dup_opt(&r->username, cfg->username)) ||
	    (rv = dup_opt(&r->password, cfg->password)) ||
	    (rv = dup_opt(&r->ca_file, cfg->ca_file)))
		goto done;
	len = strlen(r->url);
	while (len && r->url[len - 1] == '/')
		r->url[--len] = '\0';
	rv = reg_origin_of(&r->origin, r->url);
	if (rv) {
		rv = rv_err_set(RV_INVALID, "registry '%s': bad url '%.200s'",
				name, cfg->url);
		goto done;
	}
	r->curl = curl_easy_init();
	if (!r->curl) {
		rv = rv_err_set(RV_NOMEM, "cannot create a libcurl handle");
		goto done;
	}
	*out = r;
	r = NULL;
	rv = 0;
done:
	curl_free(part);
	curl_url_cleanup(u);
	reg_free(r);
	return rv;
}

void reg_free(struct reg *r)
{
	if (!r)
		return;
	if (r->curl)
		curl_easy_cleanup(r->curl);
	while (r->n_tokens)
		token_drop(r, 0);
	free(r->name);
	free(r->url);
	free(r->username);
	if (r->password) {
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
	}
	free(r->ca_file);
	free(r->origin);
	free(r->realm);
	free(r->service);
	free(r);
	curl_global_cleanup();
}

const char *reg_url(const struct reg *r)
{
	return r->url;
}

void reg_get_stats(struct reg_stats *out, const struct reg *r)
{
	*out = r->stats;
}
