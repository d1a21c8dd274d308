/* fuzz_listing.c - the JSON pages a registry answers to tags/list, _catalog
 * and the referrers API (registry/client.c: add_names, referrers_page,
 * body_is_index). These are static, so this file includes client.c; the
 * rest of rv_registry comes from the library.
 *
 * Input: the first byte picks the parser, the rest is the body.
 * Invariants: only the documented codes; every name kept is one that
 * reg_repo_valid / reg_tag_valid accept, and so has no "..", no leading
 * '/', no control character (these names go into URLs and messages); the
 * page count is at least the names kept; referrers kept all have a valid
 * digest and there are at most REG_REFERRERS_MAX. */
#include "fuzz_common.h"

#include "registry/client.c"

FUZZ_QUIET_INIT()

static void check_name(const char *s, int repos)
{
	FUZZ_CHECK(*s);
	FUZZ_CHECK(!fuzz_has_ctl(s));
	FUZZ_CHECK(s[0] != '/' && s[0] != '.' && s[0] != '-');
	FUZZ_CHECK(!strchr(s, '\\') && !strchr(s, '%') && !strchr(s, '?') &&
		   !strchr(s, '#') && !strchr(s, ':') && !strchr(s, '@'));
	if (repos) {
		FUZZ_CHECK(!strstr(s, "..") && !strstr(s, "//"));
		FUZZ_CHECK(s[strlen(s) - 1] != '/');
		FUZZ_CHECK(strlen(s) <= 255);
		FUZZ_CHECK(reg_repo_valid(s));
	} else {
		FUZZ_CHECK(!strchr(s, '/'));
		FUZZ_CHECK(strlen(s) <= 128);
		FUZZ_CHECK(reg_tag_valid(s));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reg r;
	struct rv_buf body = RV_BUF_INIT(REG_PAGE_MAX);
	struct rv_strlist list = RV_STRLIST_INIT;
	size_t count = 0;
	int mode, rc;

	if (size < 1 || size - 1 > REG_PAGE_MAX)
		return 0;
	mode = data[0] % 3;
	memset(&r, 0, sizeof(r));
	r.name = "fuzz";
	if (rv_buf_add(&body, data + 1, size - 1))
		abort();

	if (mode < 2) {
		int repos = mode == 0;

		rc = add_names(&count, &r, &list, &body,
			       repos ? "repositories" : "tags", "list", repos);
		FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_CORRUPT, RV_NOMEM));
		FUZZ_CHECK(count >= list.n);
		for (size_t i = 0; i < list.n; i++)
			check_name(list.items[i], repos);
	} else {
		json_t *arr = json_array();

		FUZZ_CHECK(arr);
		rc = referrers_page(arr, &r, "list", body.data, body.len);
		FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_CORRUPT, RV_TOOBIG, RV_NOMEM));
		FUZZ_CHECK(json_array_size(arr) <= REG_REFERRERS_MAX);
		for (size_t i = 0; i < json_array_size(arr); i++) {
			json_t *v = json_array_get(arr, i);
			FUZZ_CHECK(json_is_object(v));
			FUZZ_CHECK(rv_digest_valid(
			    json_string_value(json_object_get(v, "digest"))));
		}
		/* an index answer is also what body_is_index accepts */
		if (!rc)
			FUZZ_CHECK(body_is_index(&body));
		json_decref(arr);
	}
	rv_strlist_release(&list);
	rv_buf_release(&body);
	return 0;
}
