/* fuzz_token.c - what a token server and a registry's error answers feed
 * the client (registry/http.c): the token response (token_parse), error
 * bodies (reg_status_error, reg_error_code) and response header lines as
 * libcurl hands them over (on_header, then the Link and WWW-Authenticate
 * values it collected). Static functions, so this file includes http.c.
 *
 * Input: the first byte picks the mode (and a status for error bodies),
 * the rest is the body or the header block.
 * Invariants: a token is non-empty, at most TOKEN_LEN_MAX bytes, printable
 * without spaces (it goes into a header); the TTL is in [1, TOKEN_MAX_TTL];
 * error codes and messages are cut to their buffers and hold no control
 * character; every kept header value stays under its cap. */
#include "fuzz_common.h"

#include "registry/http.c"

FUZZ_QUIET_INIT()

static void check_token(const char *t)
{
	FUZZ_CHECK(*t && strlen(t) <= TOKEN_LEN_MAX);
	for (const char *c = t; *c; c++)
		FUZZ_CHECK((unsigned char)*c > 0x20 &&
			   (unsigned char)*c < 0x7f);
}

static void fuzz_token_body(const uint8_t *data, size_t size, int oauth)
{
	struct rv_buf body = RV_BUF_INIT(REG_TOKEN_MAX);
	char *token = NULL, *refresh = NULL;
	long long ttl = 0;
	time_t issued = 0;
	int rc;

	if (size > REG_TOKEN_MAX || rv_buf_add(&body, data, size))
		goto done;
	rc = token_parse(&token, oauth ? &refresh : NULL, &ttl, &issued, &body);
	FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_CORRUPT, RV_NOMEM));
	if (rc) {
		FUZZ_CHECK(!token);
		goto done;
	}
	check_token(token);
	if (refresh)
		check_token(refresh);
	FUZZ_CHECK(ttl >= 1 && ttl <= TOKEN_MAX_TTL);
done:
	free(token);
	free(refresh);
	rv_buf_release(&body);
}

static void fuzz_error_body(const uint8_t *data, size_t size, int status)
{
	static const long statuses[] = {400, 401, 403, 404, 405,
					413, 429, 500, 502, 503};
	struct reg r;
	struct reg_req req;
	struct reg_resp resp;
	char code[16];
	int rc;

	memset(&r, 0, sizeof(r));
	memset(&req, 0, sizeof(req));
	r.name = "fuzz";
	req.what = "get manifest 'a:b'";
	reg_resp_init(&resp);
	resp.status = statuses[status % 10];
	if (rv_buf_add(&resp.err_body, data,
		       size < REG_ERRBODY_MAX ? size : REG_ERRBODY_MAX))
		abort();
	rc = reg_status_error(&r, &req, &resp);
	FUZZ_CHECK(rc < 0);
	FUZZ_CHECK(!strpbrk(rv_err_msg(), "\r\n\x1b"));
	reg_error_code(code, sizeof(code), &resp);
	FUZZ_CHECK(strlen(code) < sizeof(code) && !fuzz_has_ctl(code));
	reg_resp_release(&resp);
}

static void fuzz_header_block(const uint8_t *data, size_t size)
{
	struct reg_resp resp;
	struct xfer x;
	size_t off = 0;

	reg_resp_init(&resp);
	memset(&x, 0, sizeof(x));
	x.resp = &resp;
	/* one line at a time, as libcurl calls back (each with its CRLF) */
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t n = nl ? (size_t)(nl - (data + off)) + 1 : size - off;
		char *line = malloc(n ? n : 1);

		FUZZ_CHECK(line);
		memcpy(line, data + off, n);
		if (on_header(line, 1, n, &x) != n) {
			FUZZ_CHECK(x.rc == RV_NOMEM);
			free(line);
			break;
		}
		free(line);
		off += n;
	}
	FUZZ_CHECK(!resp.link || strlen(resp.link) <= 4 * REG_HEADER_MAX);
	FUZZ_CHECK(!resp.location || strlen(resp.location) <= REG_HEADER_MAX);
	FUZZ_CHECK(!resp.content_type ||
		   strlen(resp.content_type) < REG_MEDIA_MAX);
	FUZZ_CHECK(resp.challenges.n <= 8);
	FUZZ_CHECK(resp.content_length >= -1);
	if (resp.link) {
		char *next = NULL;
		if (!reg_parse_link(&next, resp.link))
			FUZZ_CHECK(next && *next && !fuzz_has_ctl(next));
		free(next);
	}
	for (size_t i = 0; i < resp.challenges.n; i++) {
		struct reg_challenge c;
		if (!reg_parse_www_authenticate(&c, resp.challenges.items[i]))
			reg_challenge_release(&c);
	}
	reg_resp_release(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
	case 1:
		fuzz_token_body(data + 1, size - 1, data[0] % 4);
		break;
	case 2:
		fuzz_error_body(data + 1, size - 1, data[0] / 4);
		break;
	case 3:
		fuzz_header_block(data + 1, size - 1);
		break;
	}
	return 0;
}
