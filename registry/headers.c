/* headers.c - parsers for the HTTP headers the protocol depends on (Link,
 * WWW-Authenticate), URL resolution and the name checks that keep user and
 * registry input out of URL syntax. Pure functions: no I/O. */
#include "registry/internal.h"
#include "registry/manifest.h"
#include "util/err.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HDR_VALUE_MAX 8192 /* one auth-param or Link target */

static int is_ows(int c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_ows(const char *p)
{
	while (is_ows((unsigned char)*p))
		p++;
	return p;
}

/* RFC 9110 tchar */
static int is_tchar(int c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Read a token or a quoted-string at *pp into b. */
static int read_value(struct rv_buf *b, const char **pp)
{
	const char *p = *pp;
	int rc;

	rv_buf_reset(b);
	if (*p == '"') {
		p++;
		for (;;) {
			if (*p == '\0')
				return RV_CORRUPT; /* unterminated */
			if (*p == '"')
				break;
			if (*p == '\\') {
				p++;
				if (*p == '\0')
					return RV_CORRUPT;
			}
			if ((unsigned char)*p < 0x20 && *p != '\t')
				return RV_CORRUPT;
			rc = rv_buf_add(b, p, 1);
			if (rc)
				return rc == RV_TOOBIG ? RV_CORRUPT : rc;
			p++;
		}
		p++;
	} else {
		const char *start = p;
		/* token68 may end in '=' (e.g. base64 padding) */
		while (is_tchar((unsigned char)*p) || *p == '/' || *p == '=')
			p++;
		if (p == start)
			return RV_CORRUPT;
		rc = rv_buf_add(b, start, (size_t)(p - start));
		if (rc)
			return rc == RV_TOOBIG ? RV_CORRUPT : rc;
	}
	*pp = p;
	return 0;
}

int reg_parse_link(char **next, const char *header_value)
{
	struct rv_buf target = RV_BUF_INIT(HDR_VALUE_MAX);
	struct rv_buf val = RV_BUF_INIT(HDR_VALUE_MAX);
	const char *p = header_value;
	int rv = RV_NOTFOUND;

	*next = NULL;
	if (!p)
		return rv_err_set(RV_NOTFOUND, "no Link header");
	for (;;) {
		const char *start;
		int is_next = 0;

		p = skip_ows(p);
		while (*p == ',') /* empty list elements are allowed */
			p = skip_ows(p + 1);
		if (*p == '\0')
			break;
		if (*p != '<')
			goto bad;
		start = ++p;
		while (*p && *p != '>')
			p++;
		if (*p != '>' || p == start)
			goto bad;
		rv_buf_reset(&target);
		if (rv_buf_add(&target, start, (size_t)(p - start)))
			goto bad;
		for (const char *c = start; c < p; c++)
			if ((unsigned char)*c <= 0x20 || *c == 0x7f)
				goto bad;
		p = skip_ows(p + 1);
		while (*p == ';') {
			const char *name = skip_ows(p + 1);
			size_t name_len;

			p = name;
			while (is_tchar((unsigned char)*p))
				p++;
			name_len = (size_t)(p - name);
			if (!name_len)
				goto bad;
			p = skip_ows(p);
			rv_buf_reset(&val);
			if (*p == '=') {
				p = skip_ows(p + 1);
				if (read_value(&val, &p))
					goto bad;
				p = skip_ows(p);
			}
			if (name_len == 3 && !strncasecmp(name, "rel", 3)) {
				/* rel is a space-separated list of types */
				const char *v = rv_buf_cstr(&val);
				while (*v) {
					const char *w = v;
					while (*v && *v != ' ')
						v++;
					if (v - w == 4 &&
					    !strncasecmp(w, "next", 4))
						is_next = 1;
					while (*v == ' ')
						v++;
				}
			}
		}
		if (*p != ',' && *p != '\0')
			goto bad;
		if (is_next && !*next) {
			*next = rv_buf_detach(&target, NULL);
			if (!*next) {
				rv = rv_err_set(RV_NOMEM, "out of memory");
				goto done;
			}
		}
	}
	if (*next)
		rv = 0;
	else
		rv = rv_err_set(RV_NOTFOUND, "no rel=\"next\" in Link header");
	goto done;
bad:
	free(*next);
	*next = NULL;
	rv = rv_err_set(RV_CORRUPT, "malformed Link header");
done:
	rv_buf_release(&target);
	rv_buf_release(&val);
	return rv;
}

static int set_param(char **slot, const struct rv_buf *val)
{
	if (*slot) /* a repeated parameter: the first one counts */
		return 0;
	*slot = strdup(rv_buf_cstr(val));
	return *slot ? 0 : rv_err_set(RV_NOMEM, "out of memory");
}

int reg_parse_www_authenticate(struct reg_challenge *out, const char *value)
{
	struct rv_buf val = RV_BUF_INIT(HDR_VALUE_MAX);
	const char *p = value;
	const char *start;
	size_t len;
	int rv = 0;

	memset(out, 0, sizeof(*out));
	if (!p)
		return rv_err_set(RV_CORRUPT, "empty WWW-Authenticate header");
	p = skip_ows(p);
	start = p;
	while (is_tchar((unsigned char)*p))
		p++;
	len = (size_t)(p - start);
	if (!len || (*p && !is_ows((unsigned char)*p)))
		goto bad;
	if (len >= sizeof(out->scheme)) {
		rv = rv_err_set(RV_UNSUPPORTED,
				"unsupported authentication scheme in "
				"WWW-Authenticate");
		goto done;
	}
	for (size_t i = 0; i < len; i++)
		out->scheme[i] = (char)tolower((unsigned char)start[i]);
	out->scheme[len] = '\0';

	for (;;) {
		const char *name;
		size_t name_len;

		p = skip_ows(p);
		while (*p == ',')
			p = skip_ows(p + 1);
		if (*p == '\0')
			break;
		name = p;
		while (is_tchar((unsigned char)*p))
			p++;
		name_len = (size_t)(p - name);
		if (!name_len)
			goto bad;
		p = skip_ows(p);
		if (*p != '=')
			goto bad;
		p = skip_ows(p + 1);
		if (read_value(&val, &p))
			goto bad;
		p = skip_ows(p);
		if (*p != ',' && *p != '\0')
			goto bad;
#define PARAM(s) (name_len == sizeof(s) - 1 && !strncasecmp(name, s, name_len))
		if (PARAM("realm"))
			rv = set_param(&out->realm, &val);
		else if (PARAM("service"))
			rv = set_param(&out->service, &val);
		else if (PARAM("scope"))
			rv = set_param(&out->scope, &val);
		else if (PARAM("error"))
			rv = set_param(&out->error, &val);
#undef PARAM
		if (rv)
			goto done;
	}
	if (strcmp(out->scheme, "basic") && strcmp(out->scheme, "bearer")) {
		rv = rv_err_set(RV_UNSUPPORTED,
				"unsupported authentication scheme '%s' in "
				"WWW-Authenticate",
				out->scheme);
		goto done;
	}
	if (!strcmp(out->scheme, "bearer") && (!out->realm || !*out->realm)) {
		rv = rv_err_set(RV_CORRUPT,
				"Bearer challenge without a realm in "
				"WWW-Authenticate");
		goto done;
	}
	goto done;
bad:
	rv = rv_err_set(RV_CORRUPT, "malformed WWW-Authenticate header");
done:
	rv_buf_release(&val);
	if (rv)
		reg_challenge_release(out);
	return rv;
}

void reg_challenge_release(struct reg_challenge *c)
{
	if (!c)
		return;
	free(c->realm);
	free(c->service);
	free(c->scope);
	free(c->error);
	memset(c, 0, sizeof(*c));
}

static int scheme_ok(CURLU *u)
{
	char *scheme = NULL;
	int ok;

	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		return 0;
	ok = !strcasecmp(scheme, "http") || !strcasecmp(scheme, "https");
	curl_free(scheme);
	return ok;
}

int reg_url_resolve(char **out, const char *base, const char *ref)
{
	CURLU *u = NULL;
	char *s = NULL;
	int rv = RV_INVALID;

	*out = NULL;
	if (!base || !ref || !*ref || strpbrk(ref, "\r\n"))
		return rv_err_set(RV_INVALID, "cannot resolve an empty URL");
	u = curl_url();
	if (!u)
		return rv_err_set(RV_NOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    !scheme_ok(u)) {
		rv = rv_err_set(RV_INVALID, "bad base URL");
		goto done;
	}
	/* a relative ref resolves against the URL already set */
	if (curl_url_set(u, CURLUPART_URL, ref, 0) != CURLUE_OK ||
	    !scheme_ok(u)) {
		rv = rv_err_set(RV_INVALID,
				"cannot resolve URL reference (only http and "
				"https URLs are followed)");
		goto done;
	}
	if (curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK) {
		rv = rv_err_set(RV_INVALID, "cannot resolve URL reference");
		goto done;
	}
	*out = strdup(s);
	rv = *out ? 0 : rv_err_set(RV_NOMEM, "out of memory");
done:
	curl_free(s);
	curl_url_cleanup(u);
	return rv;
}

int reg_origin_of(char **out, const char *url)
{
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL, *port = NULL;
	struct rv_buf b = RV_BUF_INIT(4096);
	int rv = RV_INVALID;

	*out = NULL;
	u = curl_url();
	if (!u)
		return rv_err_set(RV_NOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
		CURLUE_OK) {
		rv = rv_err_set(RV_INVALID, "bad URL");
		goto done;
	}
	rv = rv_buf_printf(&b, "%s://%s:%s", scheme, host, port);
	if (rv)
		goto done;
	for (size_t i = 0; i < b.len; i++)
		b.data[i] = (unsigned char)tolower(b.data[i]);
	*out = rv_buf_detach(&b, NULL);
	rv = *out ? 0 : rv_err_set(RV_NOMEM, "out of memory");
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	rv_buf_release(&b);
	return rv;
}

int reg_urlenc(struct rv_buf *b, const char *s)
{
	static const char hexd[] = "0123456789ABCDEF";
	int rc;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			rc = rv_buf_add(b, s, 1);
		} else {
			char enc[3] = {'%', hexd[c >> 4], hexd[c & 15]};
			rc = rv_buf_add(b, enc, 3);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static const char *component_end(const char *p)
{
	if (!is_lower_alnum((unsigned char)*p))
		return NULL;
	for (;;) {
		while (is_lower_alnum((unsigned char)*p))
			p++;
		if (*p == '.') {
			p++;
		} else if (*p == '_') {
			p++;
			if (*p == '_')
				p++;
		} else if (*p == '-') {
			while (*p == '-')
				p++;
		} else {
			return p;
		}
		if (!is_lower_alnum((unsigned char)*p))
			return NULL;
	}
}

int reg_repo_valid(const char *repo)
{
	const char *p = repo;

	if (!repo || !*repo || strlen(repo) > 255)
		return 0;
	for (;;) {
		p = component_end(p);
		if (!p)
			return 0;
		if (*p == '\0')
			return 1;
		if (*p != '/')
			return 0;
		p++;
	}
}

int reg_tag_valid(const char *tag)
{
	size_t n;

	if (!tag || !(isalnum((unsigned char)tag[0]) || tag[0] == '_'))
		return 0;
	for (n = 1; tag[n]; n++) {
		unsigned char c = (unsigned char)tag[n];
		if (n > 127)
			return 0;
		if (!(isalnum(c) || c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

int reg_check_repo(const struct reg *r, const char *repo)
{
	if (reg_repo_valid(repo))
		return 0;
	return rv_err_set(RV_INVALID,
			  "invalid repository name '%.300s' for registry '%s' "
			  "(lowercase letters, digits and . _ __ - separators, "
			  "components joined by /)",
			  repo ? repo : "", r->name);
}

int reg_check_ref(const struct reg *r, const char *repo, const char *ref)
{
	int rc = reg_check_repo(r, repo);
	if (rc)
		return rc;
	if (ref && (reg_tag_valid(ref) || rv_digest_valid(ref)))
		return 0;
	return rv_err_set(RV_INVALID,
			  "invalid reference '%.300s' for '%s' on registry "
			  "'%s' (a tag [A-Za-z0-9_][A-Za-z0-9._-]{0,127} or a "
			  "sha256 digest)",
			  ref ? ref : "", repo, r->name);
}

int reg_check_digest(const struct reg *r, const char *repo, const char *digest)
{
	int rc = reg_check_repo(r, repo);
	if (rc)
		return rc;
	if (digest && rv_digest_valid(digest))
		return 0;
	return rv_err_set(RV_INVALID,
			  "invalid blob digest '%.100s' for '%s' on registry "
			  "'%s' (only sha256:<64 hex> is supported)",
			  digest ? digest : "", repo, r->name);
}
