/* test_backup_filter.c - tag regexes, newest-N ordering, referrer tag
 * names, created times and index platform rewriting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backup/filter.h"
#include "util/digest.h"
#include "util/err.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void list_of(struct rv_strlist *l, const char *const *items)
{
	for (size_t i = 0; items && items[i]; i++)
		assert_int_equal(rv_strlist_add(l, items[i]), 0);
}

static int kept(const char *const *inc, const char *const *exc, const char *tag)
{
	struct rv_strlist i = RV_STRLIST_INIT, e = RV_STRLIST_INIT;
	struct backup_tag_filter *f = NULL;
	int k;

	list_of(&i, inc);
	list_of(&e, exc);
	assert_int_equal(backup_filter_new(&f, &i, &e), 0);
	k = backup_filter_tag_kept(f, tag);
	backup_filter_free(f);
	rv_strlist_release(&i);
	rv_strlist_release(&e);
	return k;
}

static void test_filter_keeps_everything_without_regexes(void **state)
{
	(void)state;
	assert_true(kept(NULL, NULL, "latest"));
	assert_true(kept(NULL, NULL, "v1.2.3"));
}

static void test_filter_include_any_and_exclude_none(void **state)
{
	const char *inc[] = {"^v[0-9]+\\.[0-9]+$", "^stable$", NULL};
	const char *exc[] = {"-rc", NULL};
	(void)state;
	assert_true(kept(inc, NULL, "v1.2"));
	assert_true(kept(inc, NULL, "stable"));
	assert_false(kept(inc, NULL, "v1.2.3"));
	assert_false(kept(inc, NULL, "latest"));
	assert_false(kept(inc, NULL, "stable2"));
	/* unanchored: matches anywhere, as grep -E */
	assert_true(kept(NULL, exc, "v1"));
	assert_false(kept(NULL, exc, "v1-rc1"));
	{
		const char *inc2[] = {"^v", NULL};
		assert_true(kept(inc2, exc, "v2"));
		assert_false(kept(inc2, exc, "v2-rc3"));
	}
}

static void test_filter_rejects_bad_regex(void **state)
{
	struct rv_strlist i = RV_STRLIST_INIT;
	struct backup_tag_filter *f = NULL;
	const char *bad[] = {"v(1", NULL};
	(void)state;
	list_of(&i, bad);
	assert_int_equal(backup_filter_new(&f, &i, NULL), RV_INVALID);
	assert_null(f);
	assert_non_null(strstr(rv_err_msg(), "v(1"));
	rv_strlist_release(&i);
}

static void test_filter_newest_orders_by_time_then_name(void **state)
{
	struct backup_tag_time t[] = {
	    {"old", 100, 1},   {"none-b", 0, 0}, {"new-b", 300, 1},
	    {"new-a", 300, 1}, {"none-a", 0, 0}, {"mid", 200, 1},
	};
	const char *want[] = {"new-a", "new-b",	 "mid",
			      "old",   "none-a", "none-b"};
	(void)state;
	backup_filter_newest_sort(t, 6);
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(t[i].tag, want[i]);
}

static void test_filter_created_parses_rfc3339(void **state)
{
	int64_t ns = 0;
	const char *c1 = "{\"created\":\"2024-01-02T03:04:05Z\"}";
	const char *c2 = "{\"created\":\"2024-01-02T03:04:05.5Z\"}";
	const char *c3 = "{\"created\":\"2024-01-02T05:04:05+02:00\"}";
	const char *none = "{\"architecture\":\"amd64\"}";
	const char *bad = "{\"created\":\"yesterday\"}";
	(void)state;
	assert_int_equal(backup_filter_config_created(&ns, c1, strlen(c1)), 0);
	assert_int_equal(ns, 1704164645LL * 1000000000);
	assert_int_equal(backup_filter_config_created(&ns, c2, strlen(c2)), 0);
	assert_int_equal(ns, 1704164645LL * 1000000000 + 500000000);
	assert_int_equal(backup_filter_config_created(&ns, c3, strlen(c3)), 0);
	assert_int_equal(ns, 1704164645LL * 1000000000);
	assert_int_equal(backup_filter_config_created(&ns, none, strlen(none)),
			 RV_NOTFOUND);
	assert_int_equal(backup_filter_config_created(&ns, bad, strlen(bad)),
			 RV_NOTFOUND);
	assert_int_equal(backup_filter_config_created(&ns, "{", 1),
			 RV_NOTFOUND);
}

static void test_filter_referrer_tag_names(void **state)
{
	char subject[RV_DIGEST_MAX];
	(void)state;
	assert_true(backup_filter_referrer_tag(subject, "sha256-" HEX64));
	assert_string_equal(subject, "sha256:" HEX64);
	assert_true(
	    backup_filter_referrer_tag(subject, "sha256-" HEX64 ".sig"));
	assert_true(
	    backup_filter_referrer_tag(subject, "sha256-" HEX64 ".att"));
	assert_true(
	    backup_filter_referrer_tag(subject, "sha256-" HEX64 ".sbom"));
	assert_false(backup_filter_referrer_tag(subject, "sha256-" HEX64 "."));
	assert_false(backup_filter_referrer_tag(subject, "sha256-abc"));
	assert_false(backup_filter_referrer_tag(subject, "latest"));
	assert_false(backup_filter_referrer_tag(
	    subject, "sha256-0123456789ABCDEF0123456789abcdef0123456789abcdef"
		     "0123456789abcdef"));
}

static void test_filter_platform_match(void **state)
{
	struct rv_strlist p = RV_STRLIST_INIT;
	const char *pl[] = {"linux/amd64", "linux/arm/v7", NULL};
	(void)state;
	list_of(&p, pl);
	assert_true(backup_filter_platform_match(&p, "linux/amd64"));
	assert_true(backup_filter_platform_match(&p, "linux/amd64/v3"));
	assert_true(backup_filter_platform_match(&p, "linux/arm/v7"));
	assert_false(backup_filter_platform_match(&p, "linux/arm/v6"));
	assert_false(backup_filter_platform_match(&p, "linux/arm64/v8"));
	assert_false(backup_filter_platform_match(&p, "linux/amd64x"));
	assert_false(backup_filter_platform_match(&p, ""));
	rv_strlist_release(&p);
}

#define CHILD(d, os, arch, var)                                                \
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","       \
	"\"digest\":\"sha256:" d "\",\"size\":10,\"platform\":{"               \
	"\"architecture\":\"" arch "\",\"os\":\"" os "\"" var "}}"
#define D1 "1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "3333333333333333333333333333333333333333333333333333333333333333"
#define D4 "4444444444444444444444444444444444444444444444444444444444444444"

static const char
    index_body[] =
	"{\"schemaVersion\":2,\"mediaType\":\"MT\",\"manifests\":[" CHILD(
	    D1, "linux", "amd64",
	    "") "," CHILD(D2, "linux", "arm64",
			  ",\"variant\":\"v8\"") "," CHILD(D3, "linux", "arm",
							   ",\"variant\":"
							   "\"v7\"") ","
								     "{\"mediaT"
								     "ype\":"
								     "\"applica"
								     "tion/"
								     "vnd.oci."
								     "image."
								     "manifest."
								     "v1+"
								     "json\","
								     "\"digest"
								     "\":"
								     "\"sha256"
								     ":" D4
								     "\","
								     "\"size\":"
								     "5,"
								     "\"platfor"
								     "m\":{"
								     "\"archite"
								     "cture\":"
								     "\"unknown"
								     "\","
								     "\"os\":"
								     "\"unknown"
								     "\"},"
								     "\"annotat"
								     "ions\":{"
								     "\"vnd."
								     "docker."
								     "reference"
								     ".type\":"
								     "\"attesta"
								     "tion-"
								     "manifest"
								     "\","
								     "\"vnd."
								     "docker."
								     "reference"
								     ".digest\""
								     ":\"sha256"
								     ":" D3
								     "\"}}"
								     "],"
								     "\"annotat"
								     "ions\":{"
								     "\"org."
								     "example\""
								     ":\"kept\""
								     "}}";

/* index_body with MT replaced by media_type */
static char *index_with(const char *media_type)
{
	const char *at = strstr(index_body, "MT");
	size_t n = strlen(index_body) + strlen(media_type);
	char *s = malloc(n);
	assert_non_null(s);
	snprintf(s, n, "%.*s%s%s", (int)(at - index_body), index_body,
		 media_type, at + 2);
	return s;
}

static void check_rewrite(const char *media_type, int attestations,
			  const char *const *want_digests, size_t n_want)
{
	struct rv_buf out = RV_BUF_INIT(1 << 20);
	struct rv_strlist p = RV_STRLIST_INIT;
	const char *pl[] = {"linux/amd64", "linux/arm", NULL};
	char *body = index_with(media_type);
	size_t k = 0, d = 0;
	json_t *doc, *list;

	list_of(&p, pl);
	assert_int_equal(backup_filter_index(&out, &k, &d, body, strlen(body),
					     &p, attestations),
			 0);
	assert_int_equal(k, n_want);
	assert_int_equal(d, 4 - n_want);
	doc = json_loadb((const char *)out.data, out.len, 0, NULL);
	assert_non_null(doc); /* valid JSON */
	assert_string_equal(
	    json_string_value(json_object_get(doc, "mediaType")), media_type);
	assert_int_equal(
	    json_integer_value(json_object_get(doc, "schemaVersion")), 2);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(doc, "annotations"), "org.example")),
	    "kept");
	list = json_object_get(doc, "manifests");
	assert_int_equal(json_array_size(list), n_want);
	for (size_t i = 0; i < n_want; i++)
		assert_string_equal(json_string_value(json_object_get(
					json_array_get(list, i), "digest")),
				    want_digests[i]);
	/* the rewritten bytes are not the original's: a digest of their own */
	assert_true(out.len != strlen(body) ||
		    memcmp(out.data, body, out.len) != 0);
	json_decref(doc);
	free(body);
	rv_strlist_release(&p);
	rv_buf_release(&out);
}

static void test_filter_index_keeps_matching_children(void **state)
{
	const char *want[] = {"sha256:" D1, "sha256:" D3, "sha256:" D4};
	(void)state;
	check_rewrite("application/vnd.oci.image.index.v1+json", 1, want, 3);
	/* without referrers the attestation goes */
	check_rewrite("application/vnd.oci.image.index.v1+json", 0, want, 2);
}

static void test_filter_index_keeps_docker_list_media_type(void **state)
{
	const char *want[] = {"sha256:" D1, "sha256:" D3, "sha256:" D4};
	(void)state;
	check_rewrite(
	    "application/vnd.docker.distribution.manifest.list.v2+json", 1,
	    want, 3);
}

static void test_filter_index_untouched_when_all_match(void **state)
{
	struct rv_buf out = RV_BUF_INIT(1 << 20);
	struct rv_strlist p = RV_STRLIST_INIT;
	const char *pl[] = {"linux/amd64", "linux/arm64", "linux/arm", NULL};
	char *body = index_with("application/vnd.oci.image.index.v1+json");
	size_t k = 0, d = 0;
	(void)state;
	list_of(&p, pl);
	assert_int_equal(
	    backup_filter_index(&out, &k, &d, body, strlen(body), &p, 1), 0);
	assert_int_equal(k, 4);
	assert_int_equal(d, 0);
	assert_int_equal(out.len, 0);
	free(body);
	rv_strlist_release(&p);
	rv_buf_release(&out);
}

static void test_filter_index_none_match(void **state)
{
	struct rv_buf out = RV_BUF_INIT(1 << 20);
	struct rv_strlist p = RV_STRLIST_INIT;
	const char *pl[] = {"windows/amd64", NULL};
	char *body = index_with("application/vnd.oci.image.index.v1+json");
	size_t k = 9, d = 0;
	(void)state;
	list_of(&p, pl);
	assert_int_equal(
	    backup_filter_index(&out, &k, &d, body, strlen(body), &p, 1), 0);
	assert_int_equal(k, 0);
	assert_int_equal(d, 4);
	assert_int_equal(
	    backup_filter_index(&out, &k, &d, "{\"layers\":[]}", 13, &p, 1),
	    RV_CORRUPT);
	free(body);
	rv_strlist_release(&p);
	rv_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_filter_keeps_everything_without_regexes),
	    cmocka_unit_test(test_filter_include_any_and_exclude_none),
	    cmocka_unit_test(test_filter_rejects_bad_regex),
	    cmocka_unit_test(test_filter_newest_orders_by_time_then_name),
	    cmocka_unit_test(test_filter_created_parses_rfc3339),
	    cmocka_unit_test(test_filter_referrer_tag_names),
	    cmocka_unit_test(test_filter_platform_match),
	    cmocka_unit_test(test_filter_index_keeps_matching_children),
	    cmocka_unit_test(test_filter_index_keeps_docker_list_media_type),
	    cmocka_unit_test(test_filter_index_untouched_when_all_match),
	    cmocka_unit_test(test_filter_index_none_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
