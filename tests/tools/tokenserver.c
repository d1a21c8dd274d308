/* tokenserver.c - a Docker registry token server for the end-to-end tests.
 *
 * Implements the token protocol as CNCF distribution 2.8 verifies it:
 *
 *	GET /token?service=S&scope=repository:NAME:pull,push[&scope=...]
 *	-> {"token": JWT, "access_token": JWT, "expires_in": N,
 *	    "issued_at": RFC3339}
 *
 * The JWT is RS256-signed; its header carries the signing certificate (base64
 * DER) in "x5c", so a registry configured with the test root CA as its
 * rootcertbundle accepts it. Claims: iss, sub, aud (= service), exp, nbf,
 * iat, jti, access.
 *
 * Authentication: a request with HTTP Basic credentials gets every action
 * it asks for when they match a line of --users FILE ("user:password"), and
 * 401 otherwise; a request without credentials is anonymous and gets only
 * "pull" on repositories.
 *
 * OAuth2, as Docker does it with an identity token (--refresh-tokens FILE
 * of "user:refresh_token" lines):
 *
 *	POST /token  (application/x-www-form-urlencoded)
 *	grant_type=refresh_token&refresh_token=T&service=S&scope=A B&client_id=C
 *	-> {"access_token": JWT, "token": JWT, "expires_in": N, "issued_at": ..
 *	    [, "refresh_token": NEW with --rotate]}
 *
 * A refresh token that matches no line gets 400 {"error":"invalid_grant"}.
 * --rotate issues a new refresh token with every grant and stops accepting
 * the old one. --no-oauth answers every POST with 405 (a token server
 * without OAuth2); then a GET with Basic "<token>":REFRESH_TOKEN is
 * accepted as that user, the way credential helpers spell identity tokens.
 *
 * Plain HTTP/1.1 on 127.0.0.1, one request per connection, one connection
 * at a time. The port is printed on stdout (one line) once it listens. Each
 * request is logged on stderr without secrets (no password, no token, no
 * Authorization header). SIGTERM or SIGINT ends it cleanly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define REQ_MAX 16384	    /* request line + headers */
#define OUT_MAX (256 << 10) /* any string we build */
#define USERS_FILE_MAX 65536
#define USERS_MAX 16
#define SCOPES_MAX 16
#define ACTIONS_MAX 8
#define NAME_MAX_LEN 255
#define EXPIRES_MAX 86400
#define FORM_MAX 8192 /* a POST body */

struct user {
	char *name;
	char *password; /* secret: never printed */
};

struct opts {
	int port;
	const char *key_file;
	const char *cert_file;
	const char *users_file;
	const char *issuer;
	const char *service; /* NULL: any */
	long expires;
	long leeway;
	const char *refresh_file;
	int rotate;
	int no_oauth;
};

struct server {
	struct opts o;
	EVP_PKEY *key;
	char *x5c; /* base64 DER of the certificate */
	struct user users[USERS_MAX];
	size_t n_users;
	struct user refresh[USERS_MAX]; /* password: the refresh token */
	size_t n_refresh;
	unsigned long issued;
	unsigned long refresh_grants;
};

/* One parsed scope: TYPE:NAME:ACTION[,ACTION...]. */
struct scope {
	char type[32];
	char name[NAME_MAX_LEN + 1];
	char actions[ACTIONS_MAX][16];
	size_t n_actions;
};

/* The parameters of a query or a form body. */
struct params {
	char service[NAME_MAX_LEN + 1];
	int has_service;
	struct scope scopes[SCOPES_MAX];
	size_t n_scopes;
	char grant_type[32];
	char refresh_token[1024]; /* secret */
	char client_id[64];
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void ts_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ts_log(const char *fmt, ...)
{
	va_list ap;

	fputs("rv_tokenserver: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/* ---- a capped string builder -------------------------------------------*/

struct sb {
	char *p;
	size_t len, cap;
	int err;
};

static void sb_add(struct sb *s, const void *data, size_t n)
{
	size_t want;
	char *np;

	if (s->err)
		return;
	if (n > OUT_MAX || s->len > OUT_MAX - n) {
		s->err = 1;
		return;
	}
	want = s->len + n + 1;
	if (want > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		while (cap < want)
			cap *= 2;
		np = realloc(s->p, cap);
		if (!np) {
			s->err = 1;
			return;
		}
		s->p = np;
		s->cap = cap;
	}
	memcpy(s->p + s->len, data, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void sb_puts(struct sb *s, const char *str)
{
	sb_add(s, str, strlen(str));
}

static void sb_printf(struct sb *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *s, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(small)) {
		s->err = 1; /* only short pieces go through here */
		return;
	}
	sb_add(s, small, (size_t)n);
}

/* A JSON string literal (the inputs are already restricted to printable
 * ASCII, but escape anyway). */
static void sb_json_str(struct sb *s, const char *str)
{
	sb_add(s, "\"", 1);
	for (; *str; str++) {
		unsigned char c = (unsigned char)*str;
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			sb_add(s, esc, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			sb_printf(s, "\\u%04x", c);
		} else {
			sb_add(s, str, 1);
		}
	}
	sb_add(s, "\"", 1);
}

static void sb_release(struct sb *s)
{
	free(s->p);
	memset(s, 0, sizeof(*s));
}

/* ---- base64 ------------------------------------------------------------*/

/* Standard base64 with padding (x5c); url=1: base64url without padding. */
static char *b64_encode(const unsigned char *data, size_t n, int url)
{
	size_t cap;
	char *out;
	int len;

	if (n > OUT_MAX)
		return NULL;
	cap = 4 * ((n + 2) / 3) + 1;
	out = malloc(cap);
	if (!out)
		return NULL;
	len = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
	if (len < 0) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	if (url) {
		for (int i = 0; i < len; i++) {
			if (out[i] == '+')
				out[i] = '-';
			else if (out[i] == '/')
				out[i] = '_';
			else if (out[i] == '=')
				out[i] = '\0';
		}
	}
	return out;
}

/* Decode standard base64 (Basic credentials). NULL when malformed. */
static char *b64_decode(const char *in, size_t n)
{
	size_t pad = 0;
	unsigned char *out;
	int len;

	if (!n || n % 4 || n > REQ_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			 (c >= '0' && c <= '9') || c == '+' || c == '/' ||
			 (c == '=' && i >= n - 2);
		if (!ok)
			return NULL;
	}
	if (in[n - 1] == '=')
		pad++;
	if (in[n - 2] == '=')
		pad++;
	if (pad == 1 && in[n - 2] == '=')
		return NULL;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
	if (len < 0 || (size_t)len < pad) {
		free(out);
		return NULL;
	}
	len -= (int)pad;
	out[len] = '\0';
	if (memchr(out, '\0', (size_t)len)) {
		OPENSSL_cleanse(out, (size_t)len);
		free(out);
		return NULL;
	}
	return (char *)out;
}

/* ---- setup -------------------------------------------------------------*/

static int load_key_and_cert(struct server *srv)
{
	FILE *f = NULL;
	X509 *cert = NULL;
	unsigned char *der = NULL;
	int der_len, rv = -1;

	f = fopen(srv->o.key_file, "r");
	if (!f) {
		ts_log("cannot open key file '%s': %s", srv->o.key_file,
		       strerror(errno));
		goto done;
	}
	srv->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	f = NULL;
	if (!srv->key || !EVP_PKEY_is_a(srv->key, "RSA")) {
		ts_log("key file '%s' holds no RSA private key in PEM",
		       srv->o.key_file);
		goto done;
	}
	f = fopen(srv->o.cert_file, "r");
	if (!f) {
		ts_log("cannot open certificate file '%s': %s",
		       srv->o.cert_file, strerror(errno));
		goto done;
	}
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	if (!cert) {
		ts_log("certificate file '%s' holds no PEM certificate",
		       srv->o.cert_file);
		goto done;
	}
	if (X509_check_private_key(cert, srv->key) != 1) {
		ts_log("certificate '%s' does not match key '%s'",
		       srv->o.cert_file, srv->o.key_file);
		goto done;
	}
	der_len = i2d_X509(cert, &der);
	if (der_len <= 0) {
		ts_log("cannot encode certificate '%s'", srv->o.cert_file);
		goto done;
	}
	srv->x5c = b64_encode(der, (size_t)der_len, 0);
	if (!srv->x5c) {
		ts_log("out of memory");
		goto done;
	}
	rv = 0;
done:
	if (f)
		fclose(f);
	OPENSSL_free(der);
	X509_free(cert);
	return rv;
}

/* users file: one "user:password" a line; blank lines and "#" lines
 * skipped. Into users[]/ *n_users (at most USERS_MAX). */
static int load_pairs(const char *file, struct user *users, size_t *n_users)
{
	FILE *f;
	char *data = NULL, *line, *next;
	size_t n;
	int rv = -1;

	f = fopen(file, "r");
	if (!f) {
		ts_log("cannot open users file '%s': %s", file,
		       strerror(errno));
		return -1;
	}
	data = malloc(USERS_FILE_MAX + 1);
	if (!data) {
		ts_log("out of memory");
		goto done;
	}
	n = fread(data, 1, USERS_FILE_MAX + 1, f);
	if (ferror(f) || n > USERS_FILE_MAX) {
		ts_log("cannot read users file '%s' (or larger than %d bytes)",
		       file, USERS_FILE_MAX);
		goto done;
	}
	data[n] = '\0';
	for (line = data; line && *line; line = next) {
		char *colon, *end;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		end = line + strlen(line);
		if (end > line && end[-1] == '\r')
			*--end = '\0';
		if (!*line || *line == '#')
			continue;
		colon = strchr(line, ':');
		if (!colon || colon == line) {
			ts_log("users file '%s': a line is not user:password",
			       file);
			goto done;
		}
		if (*n_users == USERS_MAX) {
			ts_log("users file '%s': more than %d users", file,
			       USERS_MAX);
			goto done;
		}
		*colon = '\0';
		users[*n_users].name = strdup(line);
		users[*n_users].password = strdup(colon + 1);
		(*n_users)++;
		if (!users[*n_users - 1].name ||
		    !users[*n_users - 1].password) {
			ts_log("out of memory");
			goto done;
		}
	}
	rv = 0;
done:
	if (data) {
		OPENSSL_cleanse(data, USERS_FILE_MAX + 1);
		free(data);
	}
	fclose(f);
	return rv;
}

static void pairs_release(struct user *users, size_t *n_users)
{
	for (size_t i = 0; i < *n_users; i++) {
		free(users[i].name);
		if (users[i].password) {
			OPENSSL_cleanse(users[i].password,
					strlen(users[i].password));
			free(users[i].password);
		}
	}
	*n_users = 0;
}

static void server_release(struct server *srv)
{
	pairs_release(srv->users, &srv->n_users);
	pairs_release(srv->refresh, &srv->n_refresh);
	EVP_PKEY_free(srv->key);
	free(srv->x5c);
}

/* ---- requests ----------------------------------------------------------*/

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode in[0..n) into out (cap bytes). -1 when malformed, too long
 * or decoding to a control byte. */
static int pct_decode(char *out, size_t cap, const char *in, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= n)
				return -1;
			hi = hexval(in[i + 1]);
			lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c < 0x20 || c >= 0x7f || o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static int name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	       c == '/' || c == ':';
}

/* "TYPE:NAME:A,B": type up to the first ':', actions after the last. */
static int scope_parse(struct scope *sc, const char *s)
{
	const char *c1 = strchr(s, ':'), *c2 = strrchr(s, ':'), *a;
	size_t tl, nl;

	memset(sc, 0, sizeof(*sc));
	if (!c1 || c1 == c2)
		return -1;
	tl = (size_t)(c1 - s);
	nl = (size_t)(c2 - c1 - 1);
	if (!tl || tl >= sizeof(sc->type) || !nl || nl > NAME_MAX_LEN)
		return -1;
	memcpy(sc->type, s, tl);
	memcpy(sc->name, c1 + 1, nl);
	for (size_t i = 0; i < tl; i++)
		if (!(sc->type[i] >= 'a' && sc->type[i] <= 'z'))
			return -1;
	for (size_t i = 0; i < nl; i++)
		if (!name_char_ok(sc->name[i]))
			return -1;
	for (a = c2 + 1; *a;) {
		size_t k = strcspn(a, ",");
		if (!k || k >= sizeof(sc->actions[0]) ||
		    sc->n_actions == ACTIONS_MAX)
			return -1;
		for (size_t i = 0; i < k; i++)
			if (!((a[i] >= 'a' && a[i] <= 'z') || a[i] == '*'))
				return -1;
		memcpy(sc->actions[sc->n_actions], a, k);
		sc->actions[sc->n_actions][k] = '\0';
		sc->n_actions++;
		a += k;
		if (*a == ',')
			a++;
	}
	return sc->n_actions ? 0 : -1;
}

/* Anonymous requests keep only "pull" on repositories. */
static void scope_restrict_anonymous(struct scope *sc)
{
	size_t keep = 0;

	for (size_t i = 0; i < sc->n_actions; i++) {
		if (strcmp(sc->type, "repository") ||
		    strcmp(sc->actions[i], "pull"))
			continue;
		if (keep != i)
			memcpy(sc->actions[keep], sc->actions[i],
			       sizeof(sc->actions[0]));
		keep++;
	}
	sc->n_actions = keep;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		p += k;
		n -= (size_t)k;
	}
}

static void respond(int fd, int status, const char *reason,
		    const char *extra_headers, const char *body)
{
	struct sb s = {0};

	sb_printf(&s, "HTTP/1.1 %d %s\r\n", status, reason);
	sb_puts(&s, "Content-Type: application/json\r\n"
		    "Cache-Control: no-store\r\n"
		    "Connection: close\r\n");
	if (extra_headers)
		sb_puts(&s, extra_headers);
	sb_printf(&s, "Content-Length: %zu\r\n\r\n", strlen(body));
	sb_puts(&s, body);
	if (!s.err)
		send_all(fd, s.p, s.len);
	sb_release(&s);
}

static void respond_error(int fd, int status, const char *reason,
			  const char *code, const char *msg)
{
	struct sb body = {0};

	sb_puts(&body, "{\"errors\":[{\"code\":");
	sb_json_str(&body, code);
	sb_puts(&body, ",\"message\":");
	sb_json_str(&body, msg);
	sb_puts(&body, "}]}\n");
	if (!body.err)
		respond(fd, status, reason,
			status == 401 ? "WWW-Authenticate: Basic "
					"realm=\"rv_tokenserver\"\r\n"
				      : NULL,
			body.p);
	sb_release(&body);
}

/* Find a header's value in the raw header block (case-insensitive name).
 * Returns a pointer into hdrs and its length, or NULL. */
static const char *header_get(size_t *len, const char *hdrs, const char *name)
{
	size_t nl = strlen(name);

	for (const char *l = hdrs; l && *l;) {
		const char *eol = strstr(l, "\r\n");
		size_t ll = eol ? (size_t)(eol - l) : strlen(l);
		if (ll > nl && !strncasecmp(l, name, nl) && l[nl] == ':') {
			const char *v = l + nl + 1, *e = l + ll;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			*len = (size_t)(e - v);
			return v;
		}
		l = eol ? eol + 2 : NULL;
	}
	return NULL;
}

/* The user whose refresh token this is, or NULL. */
static const char *find_refresh(const struct server *srv, const char *token)
{
	size_t tl = strlen(token);

	for (size_t i = 0; i < srv->n_refresh; i++) {
		const struct user *u = &srv->refresh[i];
		if (strlen(u->password) == tl &&
		    !CRYPTO_memcmp(u->password, token, tl))
			return u->name;
	}
	return NULL;
}

/* 1: credentials match a user (*user set); 0: refused. */
static int check_basic(const struct server *srv, const char *v, size_t vlen,
		       const char **user)
{
	char *creds = NULL, *colon;
	size_t clen, plen;
	int ok = 0;

	*user = NULL;
	if (vlen < 6 || strncasecmp(v, "Basic ", 6))
		return 0;
	v += 6;
	vlen -= 6;
	while (vlen && *v == ' ') {
		v++;
		vlen--;
	}
	creds = b64_decode(v, vlen);
	if (!creds)
		return 0;
	clen = strlen(creds);
	colon = strchr(creds, ':');
	if (!colon)
		goto done;
	*colon = '\0';
	plen = strlen(colon + 1);
	if (!strcmp(creds, "<token>")) {
		/* an identity token sent with Basic (no OAuth2 here) */
		*user = find_refresh(srv, colon + 1);
		ok = *user != NULL;
		goto done;
	}
	for (size_t i = 0; i < srv->n_users; i++) {
		const struct user *u = &srv->users[i];
		if (strcmp(u->name, creds))
			continue;
		if (strlen(u->password) == plen &&
		    !CRYPTO_memcmp(u->password, colon + 1, plen)) {
			*user = u->name;
			ok = 1;
		}
		break;
	}
done:
	OPENSSL_cleanse(creds, clen);
	free(creds);
	return ok;
}

static void rfc3339(char *out, size_t cap, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (!strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		out[0] = '\0';
}

/* base64url(header) "." base64url(claims) "." base64url(RS256 signature) */
static char *jwt_make(const struct server *srv, const char *claims)
{
	struct sb hdr = {0}, jwt = {0};
	EVP_MD_CTX *md = NULL;
	unsigned char *sig = NULL;
	char *h64 = NULL, *c64 = NULL, *s64 = NULL, *out = NULL;
	size_t sig_len = 0;

	sb_puts(&hdr, "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"x5c\":[");
	sb_json_str(&hdr, srv->x5c);
	sb_puts(&hdr, "]}");
	if (hdr.err)
		goto done;
	h64 = b64_encode((const unsigned char *)hdr.p, hdr.len, 1);
	c64 = b64_encode((const unsigned char *)claims, strlen(claims), 1);
	if (!h64 || !c64)
		goto done;
	sb_puts(&jwt, h64);
	sb_puts(&jwt, ".");
	sb_puts(&jwt, c64);
	if (jwt.err)
		goto done;
	md = EVP_MD_CTX_new();
	if (!md ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, srv->key) != 1 ||
	    EVP_DigestSign(md, NULL, &sig_len, (const unsigned char *)jwt.p,
			   jwt.len) != 1)
		goto done;
	sig = malloc(sig_len);
	if (!sig || EVP_DigestSign(md, sig, &sig_len,
				   (const unsigned char *)jwt.p, jwt.len) != 1)
		goto done;
	s64 = b64_encode(sig, sig_len, 1);
	if (!s64)
		goto done;
	sb_puts(&jwt, ".");
	sb_puts(&jwt, s64);
	if (jwt.err)
		goto done;
	out = jwt.p;
	jwt.p = NULL;
done:
	EVP_MD_CTX_free(md);
	free(sig);
	free(h64);
	free(c64);
	free(s64);
	sb_release(&hdr);
	sb_release(&jwt);
	return out;
}

/* Build the claims and the JSON answer for the granted scopes. */
static char *token_answer(struct server *srv, const char *service,
			  const char *user, const struct scope *sc, size_t n,
			  const char *refresh)
{
	struct sb claims = {0}, body = {0};
	unsigned char rnd[16];
	char jti[33], issued[32];
	char *jwt = NULL, *out = NULL;
	time_t now = time(NULL);
	int first = 1;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return NULL;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
	rfc3339(issued, sizeof(issued), now);

	sb_puts(&claims, "{\"iss\":");
	sb_json_str(&claims, srv->o.issuer);
	sb_puts(&claims, ",\"sub\":");
	sb_json_str(&claims, user ? user : "");
	sb_puts(&claims, ",\"aud\":");
	sb_json_str(&claims, service);
	/* --leeway cancels the verifier's clock-skew allowance, so that the
	 * token really stops working --expires seconds from now. */
	sb_printf(&claims, ",\"exp\":%lld,\"nbf\":%lld,\"iat\":%lld",
		  (long long)now + srv->o.expires - srv->o.leeway,
		  (long long)now, (long long)now);
	sb_puts(&claims, ",\"jti\":");
	sb_json_str(&claims, jti);
	sb_puts(&claims, ",\"access\":[");
	for (size_t i = 0; i < n; i++) {
		if (!sc[i].n_actions)
			continue;
		sb_puts(&claims, first ? "{\"type\":" : ",{\"type\":");
		first = 0;
		sb_json_str(&claims, sc[i].type);
		sb_puts(&claims, ",\"name\":");
		sb_json_str(&claims, sc[i].name);
		sb_puts(&claims, ",\"actions\":[");
		for (size_t k = 0; k < sc[i].n_actions; k++) {
			if (k)
				sb_puts(&claims, ",");
			sb_json_str(&claims, sc[i].actions[k]);
		}
		sb_puts(&claims, "]}");
	}
	sb_puts(&claims, "]}");
	if (claims.err)
		goto done;
	jwt = jwt_make(srv, claims.p);
	if (!jwt)
		goto done;
	sb_puts(&body, "{\"token\":");
	sb_json_str(&body, jwt);
	sb_puts(&body, ",\"access_token\":");
	sb_json_str(&body, jwt);
	sb_printf(&body, ",\"expires_in\":%ld,\"issued_at\":", srv->o.expires);
	sb_json_str(&body, issued);
	if (refresh) {
		sb_puts(&body, ",\"refresh_token\":");
		sb_json_str(&body, refresh);
	}
	sb_puts(&body, "}\n");
	if (body.err)
		goto done;
	out = body.p;
	body.p = NULL;
done:
	if (jwt) {
		OPENSSL_cleanse(jwt, strlen(jwt));
		free(jwt);
	}
	sb_release(&claims);
	sb_release(&body);
	return out;
}

/* Append "type:name:a,b" of each scope to a log line. */
static void log_scopes(struct sb *l, const struct scope *sc, size_t n)
{
	if (!n)
		sb_puts(l, " (none)");
	for (size_t i = 0; i < n; i++) {
		sb_printf(l, " %s:%s:", sc[i].type, sc[i].name);
		for (size_t k = 0; k < sc[i].n_actions; k++)
			sb_printf(l, "%s%s", k ? "," : "", sc[i].actions[k]);
		if (!sc[i].n_actions)
			sb_puts(l, "-");
	}
}

/* Parse "k=v&k=v" (a query or a form body, NUL-terminated) into pm.
 * -1 when malformed (the answer is sent). */
static int parse_params(struct params *pm, int fd, const char *p)
{
	while (*p) {
		size_t k = strcspn(p, "&");
		const char *eq = memchr(p, '=', k);
		char val[1024];

		if (eq && pct_decode(val, sizeof(val), eq + 1,
				     (size_t)(p + k - eq - 1))) {
			respond_error(fd, 400, "Bad Request", "BAD_REQUEST",
				      "malformed parameter");
			ts_log("malformed parameter -> 400");
			return -1;
		}
#define KEY(s)                                                                 \
	(eq && (size_t)(eq - p) == strlen(s) && !strncmp(p, s, strlen(s)))
#define COPY(dst)                                                              \
	do {                                                                   \
		if (strlen(val) >= sizeof(dst)) {                              \
			respond_error(fd, 400, "Bad Request", "BAD_REQUEST",   \
				      "parameter too long");                   \
			ts_log("parameter too long -> 400");                   \
			return -1;                                             \
		}                                                              \
		memcpy(dst, val, strlen(val) + 1);                             \
	} while (0)
		if (KEY("service")) {
			COPY(pm->service);
			pm->has_service = 1;
		} else if (KEY("grant_type")) {
			COPY(pm->grant_type);
		} else if (KEY("refresh_token")) {
			COPY(pm->refresh_token);
		} else if (KEY("client_id")) {
			COPY(pm->client_id);
		} else if (KEY("scope")) {
			/* one parameter may hold several scopes, space
			 * separated */
			for (char *s = val; *s;) {
				size_t sl = strcspn(s, " ");
				char save = s[sl];
				if (!sl) {
					s++;
					continue;
				}
				if (pm->n_scopes == SCOPES_MAX) {
					respond_error(fd, 400, "Bad Request",
						      "BAD_REQUEST",
						      "too many scopes");
					ts_log("more than %d scopes -> 400",
					       SCOPES_MAX);
					return -1;
				}
				s[sl] = '\0';
				if (scope_parse(&pm->scopes[pm->n_scopes], s)) {
					respond_error(fd, 400, "Bad Request",
						      "BAD_REQUEST",
						      "malformed scope");
					ts_log("malformed scope -> 400");
					return -1;
				}
				pm->n_scopes++;
				s[sl] = save;
				s += sl;
			}
		}
#undef KEY
#undef COPY
		OPENSSL_cleanse(val, sizeof(val));
		p += k;
		if (*p == '&')
			p++;
	}
	return 0;
}

/* A fresh refresh token for user (--rotate); the old one stops working.
 * Returns the new token (owned by srv) or NULL. */
static const char *rotate_refresh(struct server *srv, const char *user)
{
	unsigned char rnd[24];
	char *tok;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return NULL;
	tok = malloc(2 * sizeof(rnd) + 4);
	if (!tok)
		return NULL;
	memcpy(tok, "rt-", 3);
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(tok + 3 + 2 * i, 3, "%02x", rnd[i]);
	for (size_t i = 0; i < srv->n_refresh; i++) {
		struct user *u = &srv->refresh[i];
		if (u->name != user)
			continue;
		OPENSSL_cleanse(u->password, strlen(u->password));
		free(u->password);
		u->password = tok;
		return tok;
	}
	free(tok);
	return NULL;
}

static void serve(struct server *srv, int fd, char *req, struct params *pm)
{
	struct sb logline = {0};
	size_t got = 0, alen = 0, plen, hlen, clen = 0;
	const char *hdrs, *auth, *user = NULL, *q, *path_end, *form = "";
	const char *refresh = NULL;
	char *answer = NULL, *sp1, *sp2, *hend;
	int is_post;

	for (;;) {
		ssize_t k = recv(fd, req + got, REQ_MAX - got, 0);
		if (k < 0 && errno == EINTR && !stop_flag)
			continue;
		if (k <= 0) {
			ts_log("connection closed before a full request");
			return;
		}
		got += (size_t)k;
		req[got] = '\0';
		hend = strstr(req, "\r\n\r\n");
		if (hend)
			break;
		if (got == REQ_MAX) {
			respond_error(fd, 431,
				      "Request Header Fields Too Large",
				      "TOO_LARGE", "request head too large");
			ts_log("request head larger than %d bytes -> 431",
			       REQ_MAX);
			return;
		}
	}
	hend += 4;
	hlen = (size_t)(hend - req);
	hdrs = strstr(req, "\r\n") + 2;
	is_post = !strncmp(req, "POST ", 5);
	if (is_post) {
		const char *v = header_get(&alen, hdrs, "Content-Length");
		char num[16];
		char *e = NULL;

		if (!v || !alen || alen >= sizeof(num)) {
			respond_error(fd, 411, "Length Required", "BAD_REQUEST",
				      "no Content-Length");
			ts_log("POST without Content-Length -> 411");
			return;
		}
		memcpy(num, v, alen);
		num[alen] = '\0';
		errno = 0;
		clen = strtoul(num, &e, 10);
		if (errno || *e || num[0] < '0' || num[0] > '9' ||
		    clen > FORM_MAX || clen > REQ_MAX - hlen) {
			respond_error(fd, 413, "Payload Too Large", "TOO_LARGE",
				      "form body too large");
			ts_log("POST body of '%s' bytes -> 413", num);
			return;
		}
		while (got < hlen + clen) {
			ssize_t k = recv(fd, req + got, REQ_MAX - got, 0);
			if (k < 0 && errno == EINTR && !stop_flag)
				continue;
			if (k <= 0) {
				ts_log("connection closed before the body");
				return;
			}
			got += (size_t)k;
		}
		req[hlen + clen] = '\0';
		form = hend;
	}
	hend[-2] = '\0'; /* the headers end here */
	sp1 = strchr(req, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || sp2 > hdrs) {
		respond_error(fd, 400, "Bad Request", "BAD_REQUEST",
			      "malformed request line");
		ts_log("malformed request line -> 400");
		return;
	}
	*sp1 = '\0';
	*sp2 = '\0';
	if (strcmp(req, "GET") && strcmp(req, "POST")) {
		respond_error(fd, 405, "Method Not Allowed", "UNSUPPORTED",
			      "only GET and POST are served");
		ts_log("%.16s -> 405", req);
		return;
	}
	if (is_post && srv->o.no_oauth) {
		respond_error(fd, 405, "Method Not Allowed", "UNSUPPORTED",
			      "no OAuth2 here: use GET");
		ts_log("POST /token -> 405 (--no-oauth)");
		return;
	}
	q = strchr(sp1 + 1, '?');
	path_end = q ? q : sp2;
	plen = (size_t)(path_end - (sp1 + 1));
	if (plen != 6 || strncmp(sp1 + 1, "/token", 6)) {
		respond_error(fd, 404, "Not Found", "NOT_FOUND",
			      "the token endpoint is /token");
		ts_log("%s on another path -> 404", req);
		return;
	}
	if (parse_params(pm, fd, is_post ? form : (q ? q + 1 : "")))
		return;
	if (!pm->has_service ||
	    (srv->o.service && strcmp(pm->service, srv->o.service))) {
		respond_error(fd, 400, "Bad Request", "BAD_REQUEST",
			      "unknown or missing service");
		ts_log("service '%s' is not served -> 400", pm->service);
		return;
	}

	if (is_post) {
		if (strcmp(pm->grant_type, "refresh_token")) {
			respond(fd, 400, "Bad Request", NULL,
				"{\"error\":\"unsupported_grant_type\"}\n");
			ts_log("POST /token: grant_type '%.31s' -> 400",
			       pm->grant_type);
			return;
		}
		user = find_refresh(srv, pm->refresh_token);
		if (!user) {
			respond(fd, 400, "Bad Request", NULL,
				"{\"error\":\"invalid_grant\"}\n");
			ts_log("POST /token: refresh token refused -> 400");
			return;
		}
		if (srv->o.rotate) {
			refresh = rotate_refresh(srv, user);
			if (!refresh) {
				respond_error(fd, 500, "Internal Server Error",
					      "INTERNAL",
					      "cannot make a refresh token");
				return;
			}
		}
	} else {
		auth = header_get(&alen, hdrs, "Authorization");
		if (auth && !check_basic(srv, auth, alen, &user)) {
			respond_error(fd, 401, "Unauthorized", "UNAUTHORIZED",
				      "credentials refused");
			sb_puts(&logline,
				"GET /token: credentials refused -> 401;");
			sb_puts(&logline, " asked:");
			log_scopes(&logline, pm->scopes, pm->n_scopes);
			if (!logline.err)
				ts_log("%s", logline.p);
			sb_release(&logline);
			return;
		}
	}
	if (!user)
		for (size_t i = 0; i < pm->n_scopes; i++)
			scope_restrict_anonymous(&pm->scopes[i]);

	answer = token_answer(srv, pm->service, user, pm->scopes, pm->n_scopes,
			      refresh);
	if (!answer) {
		respond_error(fd, 500, "Internal Server Error", "INTERNAL",
			      "cannot make a token");
		ts_log("cannot make a token -> 500");
		return;
	}
	respond(fd, 200, "OK", NULL, answer);
	srv->issued++;
	if (is_post) {
		srv->refresh_grants++;
		sb_printf(&logline,
			  "POST /token: refresh_token grant #%lu (client_id ",
			  srv->refresh_grants);
		sb_puts(&logline, pm->client_id[0] ? pm->client_id : "-");
		sb_puts(&logline, refresh ? ", rotated): " : "): ");
	} else {
		sb_puts(&logline, "GET /token: ");
	}
	sb_printf(&logline, "token #%lu issued for service ", srv->issued);
	sb_puts(&logline, pm->service);
	sb_puts(&logline, user ? " user " : " anonymous");
	if (user)
		sb_puts(&logline, user);
	sb_printf(&logline,
		  " iat %lld expires_in %ld; granted:", (long long)time(NULL),
		  srv->o.expires);
	log_scopes(&logline, pm->scopes, pm->n_scopes);
	if (!logline.err)
		ts_log("%s", logline.p);
	sb_release(&logline);
	OPENSSL_cleanse(answer, strlen(answer));
	free(answer);
}

static void handle(struct server *srv, int fd)
{
	char req[REQ_MAX + 1];
	struct params pm;

	memset(&pm, 0, sizeof(pm));
	serve(srv, fd, req, &pm);
	/* the request held credentials or a refresh token */
	OPENSSL_cleanse(req, sizeof(req));
	OPENSSL_cleanse(&pm, sizeof(pm));
}

/* ---- main --------------------------------------------------------------*/

static void usage(FILE *f)
{
	fputs(
	    "usage: rv_tokenserver --key KEY.pem --cert CERT.pem --issuer "
	    "ISSUER\n"
	    "                      [--users FILE] [--service NAME] [--port "
	    "PORT]\n"
	    "                      [--expires SECONDS] [--leeway SECONDS]\n"
	    "                      [--refresh-tokens FILE [--rotate]] "
	    "[--no-oauth]\n"
	    "  --key        RSA private key (PEM) that signs the tokens\n"
	    "  --cert       its certificate (PEM), sent in the x5c header\n"
	    "  --issuer     the iss claim (the registry's auth.token.issuer)\n"
	    "  --users      file of user:password lines; Basic credentials\n"
	    "               must match one (else 401); without them a\n"
	    "               request gets only pull\n"
	    "  --service    refuse other services (default: any)\n"
	    "  --port       port on 127.0.0.1 (default 0: pick one); the\n"
	    "               port is printed on stdout once listening\n"
	    "  --expires    token lifetime, expires_in (default 300)\n"
	    "  --leeway     subtract from exp to cancel a verifier's clock\n"
	    "               skew allowance (distribution: 60)\n"
	    "  --refresh-tokens  file of user:refresh_token lines: the\n"
	    "               OAuth2 POST (grant_type=refresh_token) grants as\n"
	    "               that user\n"
	    "  --rotate     every grant returns a new refresh_token and the\n"
	    "               old one stops working\n"
	    "  --no-oauth   answer POSTs with 405 (GET only); Basic\n"
	    "               \"<token>\":REFRESH_TOKEN is then accepted\n",
	    f);
}

static int parse_long(long *out, const char *s, long lo, long hi)
{
	char *e = NULL;
	long v;

	errno = 0;
	v = strtol(s, &e, 10);
	if (errno || e == s || *e || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
	long v;

	memset(o, 0, sizeof(*o));
	o->expires = 300;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i],
			   *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(a, "--rotate")) {
			o->rotate = 1;
			continue;
		}
		if (!strcmp(a, "--no-oauth")) {
			o->no_oauth = 1;
			continue;
		}
		if (!val) {
			ts_log("option '%s' needs a value (or is unknown)", a);
			return -1;
		}
		i++;
		if (!strcmp(a, "--key")) {
			o->key_file = val;
		} else if (!strcmp(a, "--cert")) {
			o->cert_file = val;
		} else if (!strcmp(a, "--users")) {
			o->users_file = val;
		} else if (!strcmp(a, "--refresh-tokens")) {
			o->refresh_file = val;
		} else if (!strcmp(a, "--issuer")) {
			o->issuer = val;
		} else if (!strcmp(a, "--service")) {
			o->service = val;
		} else if (!strcmp(a, "--port")) {
			if (parse_long(&v, val, 0, 65535)) {
				ts_log("--port '%s' is not 0..65535", val);
				return -1;
			}
			o->port = (int)v;
		} else if (!strcmp(a, "--expires")) {
			if (parse_long(&v, val, 1, EXPIRES_MAX)) {
				ts_log("--expires '%s' is not 1..%d", val,
				       EXPIRES_MAX);
				return -1;
			}
			o->expires = v;
		} else if (!strcmp(a, "--leeway")) {
			if (parse_long(&v, val, 0, 3600)) {
				ts_log("--leeway '%s' is not 0..3600", val);
				return -1;
			}
			o->leeway = v;
		} else {
			ts_log("unknown option '%s'", a);
			return -1;
		}
	}
	if (!o->key_file || !o->cert_file || !o->issuer) {
		ts_log("--key, --cert and --issuer are required");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct server srv;
	struct sockaddr_in addr;
	struct sigaction sa;
	socklen_t alen = sizeof(addr);
	int lfd = -1, one = 1, rc = 1;

	memset(&srv, 0, sizeof(srv));
	if (parse_opts(&srv.o, argc, argv)) {
		usage(stderr);
		return 2;
	}
	if (load_key_and_cert(&srv) ||
	    (srv.o.users_file &&
	     load_pairs(srv.o.users_file, srv.users, &srv.n_users)) ||
	    (srv.o.refresh_file &&
	     load_pairs(srv.o.refresh_file, srv.refresh, &srv.n_refresh)))
		goto done;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: accept() returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		ts_log("socket: %s", strerror(errno));
		goto done;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)srv.o.port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen)) {
		ts_log("cannot listen on 127.0.0.1:%d: %s", srv.o.port,
		       strerror(errno));
		goto done;
	}
	printf("%d\n", ntohs(addr.sin_port));
	fflush(stdout);
	ts_log("listening on 127.0.0.1:%d (issuer '%s', %zu user(s), %zu "
	       "refresh token(s)%s%s, tokens expire in %ld s)",
	       ntohs(addr.sin_port), srv.o.issuer, srv.n_users, srv.n_refresh,
	       srv.o.rotate ? ", rotated" : "",
	       srv.o.no_oauth ? ", no OAuth2" : "", srv.o.expires);

	while (!stop_flag) {
		struct timeval tv = {5, 0};
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			ts_log("accept: %s", strerror(errno));
			goto done;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		handle(&srv, fd);
		close(fd);
	}
	ts_log("stopping after %lu token(s), %lu refresh_token grant(s)",
	       srv.issued, srv.refresh_grants);
	rc = 0;
done:
	if (lfd >= 0)
		close(lfd);
	server_release(&srv);
	return rc;
}
