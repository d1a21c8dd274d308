/* http.c - the client object and one HTTP exchange: auth (Basic, Bearer
 * tokens cached per scope), redirects followed by hand, retries, capped
 * bodies, error mapping. */
#include "registry/credentials.h"
#include "registry/internal.h"
#include "registry/manifest.h"
#include "util/err.h"
#include "util/httphdr.h"
#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

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
	free(resp->range);
	resp->location = resp->content_type = resp->digest = resp->link = NULL;
	resp->range = NULL;
	free(resp->retry_after);
	free(resp->content_range);
	resp->retry_after = resp->content_range = NULL;
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
	} else if (IS("range")) {
		rc = set_str(&resp->range, v, vlen);
	} else if (IS("retry-after")) {
		rc = set_str(&resp->retry_after, v, vlen);
	} else if (IS("content-range")) {
		rc = set_str(&resp->content_range, v, vlen);
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

/* What to do about a TLS failure that points at the client certificate
 * ("" when it does not): a server that demands one sends an alert. */
static const char *tls_client_hint(const struct reg *r, CURLcode cc)
{
	const char *e = r->curl_err;

	if (cc == CURLE_SSL_CERTPROBLEM && r->client_cert)
		return "; check client_cert and client_key (PEM files that "
		       "belong together)";
	if (!strstr(e, "certificate required") &&
	    !strstr(e, "bad certificate") &&
	    !strstr(e, "alert handshake failure"))
		return "";
	return r->client_cert
		   ? "; the registry refused the client certificate "
		     "(check client_cert)"
		   : "; the registry asks for a client certificate: set "
		     "client_cert and client_key";
}

static int perform_once(struct reg *r, const struct reg_req *req,
			const char *url, const char *token, int basic,
			struct reg_resp *resp, int *retriable)
{
	CURL *c = r->curl;
	struct curl_slist *hdrs = NULL, *tmp;
	struct rv_buf line = RV_BUF_INIT(TOKEN_LEN_MAX + 256);
	struct xfer x = {r, req, resp, 0, 0, 0};
	const char *hint;
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
	if (req->content_range) {
		rv_buf_reset(&line);
		if ((rv = rv_buf_printf(&line, "Content-Range: %s",
					req->content_range)))
			goto done;
		HDR(rv_buf_cstr(&line));
	}
	if (req->range_from > 0) {
		rv_buf_reset(&line);
		if ((rv = rv_buf_printf(&line, "Range: bytes=%lld-",
					(long long)req->range_from)))
			goto done;
		HDR(rv_buf_cstr(&line));
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
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, RV_HTTP_CONNECT_S);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, RV_HTTP_LOW_SPEED_BPS);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, RV_HTTP_LOW_SPEED_S);
	/* a bounded answer read into memory: bounded in time too */
	curl_easy_setopt(c, CURLOPT_TIMEOUT,
			 req->out && !req->sink ? RV_HTTP_SMALL_TOTAL_S : 0L);
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
	if (r->client_cert) {
		/* token endpoints too: they may sit behind the same proxy */
		curl_easy_setopt(c, CURLOPT_SSLCERT, r->client_cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, r->client_key);
	}
	if (basic && req->token_request != REG_TOKEN_OAUTH) {
		const char *user = r->username, *pass = r->password;
		/* an identity token asked for with GET (the realm refused the
		 * OAuth2 POST): Basic "<token>" and the token, as Docker's
		 * credential helpers spell it */
		if (req->token_request && r->identity_token &&
		    (!pass || !*pass)) {
			pass = r->identity_token;
			if (!user)
				user = "<token>";
		}
		if (user) {
			curl_easy_setopt(c, CURLOPT_HTTPAUTH,
					 (long)CURLAUTH_BASIC);
			curl_easy_setopt(c, CURLOPT_USERNAME, user);
			curl_easy_setopt(c, CURLOPT_PASSWORD, pass ? pass : "");
		}
	}
	if (is_method(req, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (is_method(req, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (is_method(req, "PUT") || is_method(req, "PATCH")) {
		if (is_method(req, "PATCH"))
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
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
	atomic_fetch_add(r->budget_spent, 1);
	r->last_cc = cc;
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
		*retriable = reg_curl_retriable(cc);
		hint = tls_client_hint(r, cc);
		if (*hint)
			*retriable = 0;
		rv = rv_err_set(
		    RV_NET, "cannot %s on registry '%s': %s%s%s%s%s", req->what,
		    r->name, curl_easy_strerror(cc), r->curl_err[0] ? " (" : "",
		    r->curl_err, r->curl_err[0] ? ")" : "", hint);
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

/* A token string we can put in a header or a form: printable, no
 * spaces, at most TOKEN_LEN_MAX bytes, no NUL inside. */
static const char *token_string(json_t *v)
{
	const char *s = json_string_value(v);

	if (!s || !*s || json_string_length(v) > TOKEN_LEN_MAX ||
	    strlen(s) != json_string_length(v))
		return NULL;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return NULL; /* would break the header */
	return s;
}

/* *refresh (may be NULL): a new OAuth2 refresh token, when one came. */
static int token_parse(char **token, char **refresh, long long *ttl,
		       time_t *issued, const struct rv_buf *body)
{
	json_t *root = NULL, *v;
	const char *s;
	int rv = RV_CORRUPT;

	*token = NULL;
	if (refresh)
		*refresh = NULL;
	*ttl = TOKEN_DEFAULT_TTL;
	*issued = 0;
	root = json_loadb((const char *)body->data, body->len, 0, NULL);
	if (!json_is_object(root))
		goto done;
	v = json_object_get(root, "token");
	if (!json_is_string(v) || !json_string_length(v))
		v = json_object_get(root, "access_token");
	s = token_string(v);
	if (!s)
		goto done;
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
	s = refresh ? token_string(json_object_get(root, "refresh_token"))
		    : NULL;
	if (!rv && s) {
		*refresh = strdup(s);
		rv = *refresh ? 0 : RV_NOMEM;
	}
done:
	json_decref(root);
	return rv;
}

/* What the user should look at when the token server refuses us. */
static const char *cred_hint(const struct reg *r)
{
	if (r->creds_source)
		return "; check this registry's entry in docker_config";
	return r->username ? "; check username and password_file"
			   : "; set username and password_file (or "
			     "docker_config)";
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Send one token request: the OAuth2 refresh_token grant (POST, form
 * body, as Docker does for an identity token) or the token GET (query,
 * Basic credentials when we have them). */
static int token_ask(struct reg_resp *resp, struct rv_buf *body, struct reg *r,
		     const char *scope, int oauth)
{
	struct rv_buf url = RV_BUF_INIT(16384);
	struct rv_buf form = RV_BUF_INIT(2 * TOKEN_LEN_MAX + 16384);
	struct reg_req req;
	const char *sep;
	int rv;

	memset(&req, 0, sizeof(req));
	req.what = "get an access token";
	req.accept = "application/json";
	req.out = body;
	req.out_max = REG_TOKEN_MAX;
	if (oauth) {
		rv = rv_buf_puts(&form,
				 "grant_type=refresh_token&refresh_token=");
		if (!rv)
			rv = reg_urlenc(&form, r->identity_token);
		if (!rv && r->service) {
			rv = rv_buf_puts(&form, "&service=");
			if (!rv)
				rv = reg_urlenc(&form, r->service);
		}
		if (!rv && *scope) {
			rv = rv_buf_puts(&form, "&scope=");
			if (!rv)
				rv = reg_urlenc(&form, scope);
		}
		if (!rv)
			rv = rv_buf_puts(&form, "&client_id=regvault");
		if (rv)
			goto done;
		req.method = "POST";
		req.url = r->realm;
		req.content_type = "application/x-www-form-urlencoded";
		req.body = form.data;
		req.body_len = form.len;
		req.token_request = REG_TOKEN_OAUTH;
		rv = reg_do(r, &req, resp);
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
	req.method = "GET";
	req.url = rv_buf_cstr(&url);
	req.token_request = REG_TOKEN_GET;
	rv = reg_do(r, &req, resp);
done:
	rv_buf_release(&url);
	if (form.data)
		explicit_bzero(form.data, form.len);
	rv_buf_release(&form);
	return rv;
}

static int token_fetch(struct reg *r, const char *scope, const char *what)
{
	struct rv_buf body = RV_BUF_INIT(REG_TOKEN_MAX);
	struct reg_resp resp;
	char *token = NULL, *refresh = NULL;
	long long ttl, margin;
	time_t issued, now, base;
	int oauth = r->identity_token && !r->oauth_get;
	int rv;

	reg_resp_init(&resp);
	if ((r->username || r->identity_token) &&
	    !strncasecmp(r->url, "https:", 6) &&
	    strncasecmp(r->realm, "https:", 6)) {
		rv = rv_err_set(RV_AUTH,
				"registry '%s' sends its token requests over "
				"plain http; refusing to send the credentials",
				r->name);
		goto done;
	}
	rv = token_ask(&resp, &body, r, scope, oauth);
	if (!rv && oauth && (resp.status == 404 || resp.status == 405)) {
		/* a token server without OAuth2: Docker falls back to GET */
		rv_debug("registry '%s': the token server answered the OAuth2 "
			 "POST with HTTP %ld; asking with GET from now on",
			 r->name, resp.status);
		r->oauth_get = 1;
		oauth = 0;
		rv_buf_reset(&body);
		rv = token_ask(&resp, &body, r, scope, oauth);
	}
	if (rv)
		goto done;
	if (resp.status == 401 || resp.status == 403 ||
	    (oauth && resp.status == 400)) {
		rv = rv_err_set(RV_AUTH,
				"cannot %s on registry '%s': the token server "
				"refused %s (HTTP %ld)%s",
				what, r->name,
				r->identity_token ? "the identity token"
				: r->username	  ? "the credentials"
						  : "anonymous access",
				resp.status, cred_hint(r));
		goto done;
	}
	if (resp.status != 200) {
		struct reg_req req;
		memset(&req, 0, sizeof(req));
		req.method = oauth ? "POST" : "GET";
		req.what = "get an access token";
		rv = reg_status_error(r, &req, &resp);
		goto done;
	}
	rv = token_parse(&token, oauth ? &refresh : NULL, &ttl, &issued, &body);
	if (rv) {
		rv = rv == RV_NOMEM
			 ? rv_err_set(RV_NOMEM, "out of memory")
			 : rv_err_set(RV_AUTH,
				      "cannot %s on registry '%s': the "
				      "token server sent no usable token",
				      what, r->name);
		goto done;
	}
	if (refresh) {
		/* the server rotated the refresh token: the old one may be
		 * dead already */
		wipe_free(r->identity_token);
		r->identity_token = refresh;
		refresh = NULL;
	}
	now = time(NULL);
	/* a server clock ahead of ours must not stretch the lifetime */
	base = issued > 0 && issued < now ? issued : now;
	/* renew before the registry stops taking it: a request sent in
	 * the token's last second may arrive after it (a 401; a streamed
	 * upload cannot be replayed then) */
	margin = ttl / 5 < 30 ? ttl / 5 : 30;
	if (margin < 1 && ttl > 1)
		margin = 1;
	rv = token_store(r, scope, token, base + (time_t)(ttl - margin));
	token = NULL;
	if (!rv) {
		r->tokens_fetched++;
		rv_debug("registry '%s': access token #%llu for scope '%s' "
			 "(%s; expires in %lld s)",
			 r->name, (unsigned long long)r->tokens_fetched, scope,
			 oauth ? "OAuth2 refresh_token grant" : "GET", ttl);
	}
done:
	wipe_free(token);
	wipe_free(refresh);
	if (body.data)
		explicit_bzero(body.data, body.len);
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

/* Credentials from Docker's config.json, once, when the config names one
 * and no username: they become the client's username/password or its
 * identity token. Nothing found: anonymous. */
static int creds_ensure(struct reg *r)
{
	struct reg_creds c;
	char *host = NULL;
	int rv;

	if (r->creds_loaded || r->username || !r->docker_config)
		return 0;
	rv = reg_creds_host(&host, r->url);
	if (!rv)
		rv = reg_creds_lookup(&c, r->docker_config, host,
				      REG_CREDS_HELPER_TIMEOUT);
	if (rv) {
		free(host);
		return rv_err_set(rv, "registry '%s': %s", r->name,
				  rv_err_msg());
	}
	r->creds_loaded = 1;
	if (c.username || c.identity_token) {
		r->creds_source = strdup(c.source);
		if (!r->creds_source) {
			reg_creds_release(&c);
			free(host);
			return rv_err_set(RV_NOMEM, "out of memory");
		}
	}
	wipe_free(r->password);
	r->username = c.username;
	r->password = c.password;
	r->identity_token = c.identity_token;
	c.username = c.password = c.identity_token = NULL;
	rv_debug("registry '%s': %s for '%s' from docker config '%s'%s%s",
		 r->name,
		 r->identity_token ? "an identity token"
		 : r->username	   ? "credentials"
				   : "no credentials (anonymous)",
		 host, r->docker_config, r->creds_source ? " via " : "",
		 r->creds_source ? r->creds_source : "");
	reg_creds_release(&c);
	free(host);
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
	if (have_bearer || have_basic) {
		rv = creds_ensure(r);
		if (rv)
			goto done;
		rv = 1;
	}
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
			rv = rv_err_set(
			    RV_AUTH,
			    "registry '%s' asks for credentials; "
			    "%s%s%sset username and password_file",
			    r->name, r->docker_config ? "docker config '" : "",
			    r->docker_config ? r->docker_config : "",
			    r->docker_config ? "' has none for it (an identity "
					       "token is only for token "
					       "servers); or "
					     : "");
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

static int is_redirect(long st)
{
	return st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
}

/* May req be sent again after this failure without repeating a side
 * effect or feeding the sink twice? GET, HEAD, DELETE and a PUT of an
 * in-memory body (a manifest) are idempotent; a streamed upload only
 * while its source is untouched. A POST only on 429: the registry
 * refused it before doing anything. */
static int replayable(const struct reg_req *req, const struct reg_resp *resp,
		      long status)
{
	if (resp->sink_used)
		return 0; /* the blob download resumes with Range instead */
	if (is_method(req, "GET") || is_method(req, "HEAD") ||
	    is_method(req, "DELETE"))
		return 1;
	if (is_method(req, "PUT"))
		return !req->src || !resp->src_started;
	if (is_method(req, "POST"))
		return status == 429 && !req->src;
	return 0;
}

/* The request for a log line: method and path, without the query (a
 * presigned storage URL carries its signature there); the host only when
 * it is not the registry's. */
static void req_label(char *out, size_t cap, const struct reg *r,
		      const char *method, const char *url)
{
	const char *p = strstr(url, "://");
	size_t n;

	p = p ? strchr(p + 3, '/') : NULL;
	if (!p || !reg_same_origin(r, url))
		p = url;
	n = strcspn(p, "?#");
	if (n > 300)
		n = 300;
	snprintf(out, cap, "%s %.*s", method, (int)n, p);
}

/* Refuse a request over the client's budget. */
static int budget_check(struct reg *r)
{
	if (!r->request_budget)
		return 0;
	if (atomic_load(r->budget_spent) < r->request_budget &&
	    (!r->clone_cap || r->stats.requests < r->clone_cap))
		return 0;
	return rv_err_set(RV_NET,
			  "registry '%s': the request budget of %llu requests "
			  "for this run is spent; raise "
			  "registries[].request_budget or run again later",
			  r->name, (unsigned long long)r->request_budget);
}

/* Log the retry and wait before it. wait_s >= 0: the server's
 * Retry-After; otherwise exponential backoff with full jitter. */
static void retry_wait(struct reg *r, const char *label, const char *reason,
		       int retry, int64_t wait_s)
{
	uint64_t ms;

	if (wait_s >= 0) {
		int64_t capped = wait_s < r->retry_after_max_s
				     ? wait_s
				     : r->retry_after_max_s;
		if (capped < wait_s)
			rv_warn("registry '%s': %s on %s; waiting %lld s "
				"(Retry-After of %lld s, capped by "
				"retry_after_max_s); retry %d of %d",
				r->name, reason, label, (long long)capped,
				(long long)wait_s, retry + 1, r->retries);
		else
			rv_warn("registry '%s': %s on %s; waiting %lld s "
				"(Retry-After); retry %d of %d",
				r->name, reason, label, (long long)capped,
				retry + 1, r->retries);
		ms = (uint64_t)capped * 1000;
	} else {
		ms = reg_backoff_ms(retry, r->retry_base_ms, r->retry_max_ms,
				    reg_rand(&r->rng));
		rv_warn("registry '%s': %s on %s; retry %d of %d in "
			"%llu.%03llu s",
			r->name, reason, label, retry + 1, r->retries,
			(unsigned long long)(ms / 1000),
			(unsigned long long)(ms % 1000));
	}
	reg_sleep_ms(ms);
}

int reg_do(struct reg *r, const struct reg_req *req, struct reg_resp *resp)
{
	char *url = NULL, *next = NULL;
	int idempotent = is_method(req, "GET") || is_method(req, "HEAD");
	int retry, rv = 0, retriable;
	char reason[CURL_ERROR_SIZE + 128], label[400];

	resp->sink_used = 0;
	resp->broken = 0;
	for (retry = 0;; retry++) {
		int redirects = 0, reauthed = 0;
		int64_t wait_s = -1;

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
			rv = budget_check(r);
			if (rv)
				goto done;
			rv = perform_once(r, req, url, token, basic, resp,
					  &retriable);
			if (rv) {
				resp->broken = retriable;
				if (!retriable || retry >= r->retries ||
				    !replayable(req, resp, 0))
					goto done;
				snprintf(reason, sizeof(reason), "%s%s%s%s",
					 curl_easy_strerror(r->last_cc),
					 r->curl_err[0] ? " (" : "",
					 r->curl_err,
					 r->curl_err[0] ? ")" : "");
				break;
			}
			st = resp->status;
			if (st == 429)
				r->stats.throttled++;
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
			if (reg_status_retriable(st) && retry < r->retries &&
			    replayable(req, resp, st)) {
				if (st == 429 || st == 503)
					wait_s = reg_retry_after_parse(
					    resp->retry_after, time(NULL));
				snprintf(reason, sizeof(reason), "%ld %s", st,
					 reg_status_phrase(st));
				break;
			}
			rv = 0;
			goto done;
		}
		req_label(label, sizeof(label), r, req->method, url);
		rv_err_clear();
		retry_wait(r, label, reason, retry, wait_s);
		r->stats.retries++;
	}
done:
	/* kept on failure too: a broken blob download resumes there */
	if (url) {
		free(resp->url);
		resp->url = url;
		url = NULL;
	}
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
		hint = cred_hint(r);
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

/* docker_config, client_cert and client_key into r; the certificate and
 * key go together and must be readable. */
static int auth_config(struct reg *r, const struct reg_config *cfg,
		       const char *name)
{
	const char *cert = cfg->client_cert, *key = cfg->client_key;
	int rv;

	if (cert && !*cert)
		cert = NULL;
	if (key && !*key)
		key = NULL;
	if (!cert != !key)
		return rv_err_set(RV_INVALID,
				  "registry '%s': client_cert and client_key "
				  "go together (set both or neither)",
				  name);
	for (int i = 0; cert && i < 2; i++) {
		const char *f = i ? key : cert;
		if (access(f, R_OK))
			return rv_err_errno(
			    RV_INVALID, errno,
			    "registry '%s': cannot read %s '%s'", name,
			    i ? "client_key" : "client_cert", f);
	}
	if ((rv = dup_opt(&r->client_cert, cert)) ||
	    (rv = dup_opt(&r->client_key, key)))
		return rv;
	if (cfg->docker_config && *cfg->docker_config)
		return dup_opt(&r->docker_config, cfg->docker_config);
	return 0;
}

/* A politeness setting: def when v is 0 (or less), at most max. */
static int setting(int v, int def, int max)
{
	return v <= 0 ? def : v > max ? max : v;
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
	r->upload_chunk = cfg->upload_chunk;
	r->request_budget = cfg->request_budget;
	r->budget_spent = &r->budget_spent_own;
	/* a negative retries turns retrying off */
	r->retries =
	    cfg->retries < 0
		? 0
		: setting(cfg->retries, REG_RETRIES_DEFAULT, REG_RETRIES_MAX);
	r->retry_base_ms = setting(cfg->retry_base_ms,
				   REG_RETRY_BASE_MS_DEFAULT, REG_RETRY_MS_MAX);
	r->retry_max_ms = setting(cfg->retry_max_ms, REG_RETRY_MAX_MS_DEFAULT,
				  REG_RETRY_MS_MAX);
	if (r->retry_max_ms < r->retry_base_ms)
		r->retry_max_ms = r->retry_base_ms;
	r->retry_after_max_s =
	    setting(cfg->retry_after_max_s, REG_RETRY_AFTER_MAX_S_DEFAULT,
		    REG_RETRY_AFTER_MAX_S_MAX);
	r->rng = reg_rand_seed();
	if ((rv = dup_opt(&r->name, name)) ||
	    (rv = dup_opt(&r->url, cfg->url)) ||
	    (rv = dup_opt(&r->username, cfg->username)) ||
	    (rv = dup_opt(&r->password, cfg->password)) ||
	    (rv = dup_opt(&r->ca_file, cfg->ca_file)))
		goto done;
	rv = auth_config(r, cfg, name);
	if (rv)
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
	free(r->docker_config);
	free(r->creds_source);
	wipe_free(r->identity_token);
	free(r->client_cert);
	free(r->client_key);
	free(r);
	curl_global_cleanup();
}

int reg_clone(struct reg **out, struct reg *r, uint64_t share)
{
	struct reg_config cfg;
	struct reg *c = NULL;
	int rv;

	*out = NULL;
	if (r->identity_token)
		/* a rotating refresh token cannot be shared by two clients */
		return rv_err_set(RV_UNSUPPORTED,
				  "registry '%s': a client with an identity "
				  "token is not cloned",
				  r->name);
	memset(&cfg, 0, sizeof(cfg));
	cfg.name = r->name;
	cfg.url = r->url;
	cfg.username = r->username;
	cfg.password = r->password;
	cfg.ca_file = r->ca_file;
	cfg.insecure = r->insecure;
	cfg.docker_config = r->creds_loaded ? NULL : r->docker_config;
	cfg.client_cert = r->client_cert;
	cfg.client_key = r->client_key;
	cfg.request_budget = r->request_budget;
	cfg.retries = r->retries ? r->retries : -1;
	cfg.retry_base_ms = r->retry_base_ms;
	cfg.retry_max_ms = r->retry_max_ms;
	cfg.retry_after_max_s = r->retry_after_max_s;
	cfg.upload_chunk = r->upload_chunk;
	rv = reg_new(&c, &cfg);
	if (rv)
		return rv;
	/* one budget for the client and all its clones */
	c->budget_spent = r->budget_spent;
	c->clone_cap = r->request_budget ? share : 0;
	c->manifest_max = r->manifest_max;
	c->creds_loaded = r->creds_loaded;
	c->auth = r->auth;
	if ((rv = dup_opt(&c->realm, r->realm)) ||
	    (rv = dup_opt(&c->service, r->service)))
		goto fail;
	for (size_t i = 0; i < r->n_tokens; i++) {
		struct reg_token *t = &c->tokens[c->n_tokens];

		t->scope = strdup(r->tokens[i].scope);
		t->token = strdup(r->tokens[i].token);
		t->expires = r->tokens[i].expires;
		if (!t->scope || !t->token) {
			free(t->scope);
			free(t->token);
			memset(t, 0, sizeof(*t));
			rv = rv_err_set(RV_NOMEM, "out of memory");
			goto fail;
		}
		c->n_tokens++;
	}
	*out = c;
	return 0;
fail:
	reg_free(c);
	return rv;
}

void reg_stats_add(struct reg *r, const struct reg *clone)
{
	const struct reg_stats *a = &clone->stats;
	struct reg_stats *t = &r->stats;

	t->requests += a->requests;
	t->retries += a->retries;
	t->throttled += a->throttled;
	t->resumed += a->resumed;
	t->chunks_sent += a->chunks_sent;
	t->manifest_heads += a->manifest_heads;
	t->manifest_gets += a->manifest_gets;
	t->blob_gets += a->blob_gets;
	t->blob_bytes += a->blob_bytes;
	t->blob_puts += a->blob_puts;
	t->bytes_sent += a->bytes_sent;
}

const char *reg_url(const struct reg *r)
{
	return r->url;
}

void reg_get_stats(struct reg_stats *out, const struct reg *r)
{
	*out = r->stats;
}
