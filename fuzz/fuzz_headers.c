/* fuzz_headers.c - the header values a registry sends that we parse:
 * Link (pagination), WWW-Authenticate (challenges), raw header lines
 * (util/httphdr.c), Content-Range, an upload's Range, Retry-After, and
 * URL resolution of a Link target against the page's URL.
 *
 * Input: the first byte picks the parser, the rest is the value.
 * Invariants: documented codes only; a Link "next" target is non-empty
 * and has no space or control character; a challenge is basic or bearer
 * and bearer has a realm; ranges are ordered and within their caps;
 * Retry-After is -1 or within [0, 10^9]; a resolved URL is http(s) and
 * reg_origin_of accepts it. */
#include "fuzz_common.h"

#include "registry/internal.h"
#include "registry/manifest.h"
#include "util/httphdr.h"

#include <strings.h>

FUZZ_QUIET_INIT()

#define BASE_URL "https://registry.example:5000/v2/team/app/tags/list?n=100"

static void fuzz_link(const char *v)
{
	char *next = NULL, *url = NULL, *origin = NULL;
	int rc = reg_parse_link(&next, v);

	FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_NOTFOUND, RV_CORRUPT, RV_NOMEM));
	FUZZ_CHECK(rc ? next == NULL : next != NULL);
	if (!next)
		return;
	FUZZ_CHECK(*next);
	FUZZ_CHECK(!fuzz_has_ctl(next) && !strchr(next, ' ') &&
		   !strchr(next, '>'));
	rc = reg_url_resolve(&url, BASE_URL, next);
	FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_INVALID, RV_NOMEM));
	if (!rc) {
		FUZZ_CHECK(!strncasecmp(url, "http://", 7) ||
			   !strncasecmp(url, "https://", 8));
		FUZZ_CHECK(!fuzz_has_ctl(url));
		rc = reg_origin_of(&origin, url);
		FUZZ_CHECK(rc == 0);
		free(origin);
	}
	free(url);
	free(next);
}

static void fuzz_www_auth(const char *v)
{
	struct reg_challenge c;
	int rc = reg_parse_www_authenticate(&c, v);

	FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_CORRUPT, RV_UNSUPPORTED, RV_NOMEM));
	if (rc) {
		FUZZ_CHECK(!c.realm && !c.service && !c.scope && !c.error);
		return;
	}
	FUZZ_CHECK(!strcmp(c.scheme, "basic") || !strcmp(c.scheme, "bearer"));
	if (!strcmp(c.scheme, "bearer"))
		FUZZ_CHECK(c.realm && *c.realm);
	/* values may hold tabs (quoted-string), never other controls */
	FUZZ_CHECK(!c.realm || !strpbrk(c.realm, "\r\n"));
	FUZZ_CHECK(!c.scope || !strpbrk(c.scope, "\r\n"));
	FUZZ_CHECK(!c.service || !strpbrk(c.service, "\r\n"));
	reg_challenge_release(&c);
}

static void fuzz_hdr_line(const uint8_t *data, size_t size)
{
	struct rv_hdr h;
	int rc = rv_hdr_parse(&h, (const char *)data, size);

	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc)
		return;
	if (h.is_status) {
		FUZZ_CHECK(h.status >= 0 && h.status <= 999);
		return;
	}
	FUZZ_CHECK(h.name == (const char *)data);
	FUZZ_CHECK(h.name_len < size);
	FUZZ_CHECK(h.value >= (const char *)data + h.name_len + 1);
	FUZZ_CHECK(h.value + h.value_len <= (const char *)data + size);
	(void)rv_hdr_is(&h, "www-authenticate");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v;
	int mode;

	if (size < 1 || size > 65536)
		return 0;
	mode = data[0] % 7;
	data++;
	size--;
	if (mode == 2) {
		fuzz_hdr_line(data, size);
		return 0;
	}
	v = fuzz_cstr(data, size);
	switch (mode) {
	case 0:
		fuzz_link(v);
		break;
	case 1:
		fuzz_www_auth(v);
		break;
	case 3: {
		int64_t start = 0, last = 0, total = 0;
		if (!reg_content_range_parse(&start, &last, &total, v)) {
			FUZZ_CHECK(start >= 0 && start <= last);
			FUZZ_CHECK(total == -1 || last < total);
		}
		break;
	}
	case 4: {
		uint64_t held = 0, max = (uint64_t)1 << 40;
		int ambiguous = 0, rc;
		rc = reg_upload_parse_range(&held, &ambiguous, v, max);
		FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_CORRUPT));
		if (!rc)
			FUZZ_CHECK(held <= max && (!ambiguous || held == 1));
		break;
	}
	case 5: {
		int64_t s = reg_retry_after_parse(v, 1800000000);
		FUZZ_CHECK(s == -1 || (s >= 0 && s <= 1000000000));
		break;
	}
	case 6: {
		char *url = NULL;
		int rc = reg_url_resolve(&url, BASE_URL, v);
		FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_INVALID, RV_NOMEM));
		if (!rc)
			FUZZ_CHECK(!strncasecmp(url, "http", 4));
		free(url);
		break;
	}
	}
	free(v);
	return 0;
}
