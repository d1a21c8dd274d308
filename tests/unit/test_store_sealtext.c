/* test_store_sealtext.c - the text of a snapshot seal: version 1 and 2
 * round trips, tombstones, former hashes, and what a parser refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/sealtext.h"
#include "util/digest.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE "0123456789abcdef0123456789abcdef"
#define SNAP "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define REC "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define PREV "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define P1 "1111111111111111111111111111111111111111111111111111111111111111"
#define P2 "2222222222222222222222222222222222222222222222222222222222222222"
#define F1 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define F2 "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

/* A snapshot seal with two packs given out of order. */
static void fill_snapshot(struct seal_text *s, struct seal_pack packs[2],
			  char *source)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->store_id, sizeof(s->store_id), "%s", STORE);
	snprintf(s->snapshot, sizeof(s->snapshot), "%s", SNAP);
	snprintf(s->record, sizeof(s->record), "%s", REC);
	snprintf(s->previous, sizeof(s->previous), "%s", PREV);
	s->sequence = 7;
	s->time = 1795000000;
	s->source = source;
	snprintf(packs[0].id, sizeof(packs[0].id), "%s", P2);
	packs[0].size = 42;
	snprintf(packs[1].id, sizeof(packs[1].id), "%s", P1);
	packs[1].size = 34758144;
	s->packs = packs;
	s->n_packs = 2;
}

static void self_hash(char out[65], const char *text)
{
	unsigned char sha[32];

	assert_int_equal(rv_sha256_buf(sha, text, strlen(text)), 0);
	rv_hex_encode(out, sha, 32);
}

static void test_sealtext_v1_round_trip_is_what_backup_wrote(void **state)
{
	struct seal_text in, out;
	struct seal_pack packs[2];
	char source[] = "prod";
	char *text = NULL, *again = NULL, hex[65];

	(void)state;
	fill_snapshot(&in, packs, source);
	assert_int_equal(seal_text_format(&text, &in), 0);
	/* the exact bytes regvault 0.2 wrote: sorted keys, packs by id */
	assert_string_equal(text, "{\"packs\":[{\"id\":\"" P1
				  "\",\"size\":34758144},{\"id\":\"" P2
				  "\",\"size\":42}],\"previous\":\"" PREV
				  "\",\"record\":\"" REC
				  "\",\"sequence\":7,\"snapshot\":\"" SNAP
				  "\",\"source\":\"prod\",\"store_id\":\"" STORE
				  "\",\"time\":1795000000,\"version\":1}");
	assert_int_equal(seal_text_parse(&out, text, strlen(text)), 0);
	assert_int_equal(out.version, 1);
	assert_int_equal(out.forgotten, 0);
	assert_string_equal(out.store_id, STORE);
	assert_string_equal(out.snapshot, SNAP);
	assert_string_equal(out.record, REC);
	assert_string_equal(out.previous, PREV);
	assert_int_equal(out.sequence, 7);
	assert_int_equal(out.time, 1795000000);
	assert_string_equal(out.source, "prod");
	assert_int_equal(out.n_packs, 2);
	assert_string_equal(out.packs[0].id, P1);
	assert_int_equal(out.packs[0].size, 34758144);
	assert_string_equal(out.packs[1].id, P2);
	assert_int_equal(out.n_former, 0);
	self_hash(hex, text);
	assert_string_equal(out.self, hex);
	assert_int_equal(seal_text_has_hash(&out, hex), 1);
	assert_int_equal(seal_text_has_hash(&out, PREV), 0);
	assert_int_equal(seal_text_format(&again, &out), 0);
	assert_string_equal(again, text);
	free(again);
	free(text);
	seal_text_release(&out);
}

static void test_sealtext_first_seal_has_empty_previous(void **state)
{
	struct seal_text in, out;
	struct seal_pack packs[2];
	char source[] = "prod";
	char *text = NULL;

	(void)state;
	fill_snapshot(&in, packs, source);
	in.previous[0] = '\0';
	in.sequence = 1;
	assert_int_equal(seal_text_format(&text, &in), 0);
	assert_int_equal(seal_text_parse(&out, text, strlen(text)), 0);
	assert_string_equal(out.previous, "");
	assert_int_equal(out.sequence, 1);
	free(text);
	seal_text_release(&out);
}

static void test_sealtext_v2_refreshed_seal_keeps_former(void **state)
{
	struct seal_text in, out;
	struct seal_pack packs[2];
	char former[2][65] = {F1, F2};
	char source[] = "prod";
	char *text = NULL, *again = NULL;

	(void)state;
	fill_snapshot(&in, packs, source);
	in.former = former;
	in.n_former = 2;
	assert_int_equal(seal_text_format(&text, &in), 0);
	assert_non_null(strstr(text, "\"version\":2"));
	assert_non_null(strstr(text, "\"kind\":\"snapshot\""));
	assert_non_null(strstr(text, "\"former\":[\"" F1 "\",\"" F2 "\"]"));
	assert_null(strstr(text, "\"forgotten\""));
	assert_int_equal(seal_text_parse(&out, text, strlen(text)), 0);
	assert_int_equal(out.version, 2);
	assert_int_equal(out.forgotten, 0);
	assert_int_equal(out.n_former, 2);
	assert_string_equal(out.former[0], F1);
	assert_string_equal(out.former[1], F2);
	assert_int_equal(out.n_packs, 2);
	assert_string_equal(out.record, REC);
	assert_int_equal(seal_text_has_hash(&out, F1), 1);
	assert_int_equal(seal_text_has_hash(&out, F2), 1);
	assert_int_equal(seal_text_has_hash(&out, out.self), 1);
	assert_int_equal(seal_text_has_hash(&out, PREV), 0);
	assert_int_equal(seal_text_has_hash(&out, ""), 0);
	assert_int_equal(seal_text_format(&again, &out), 0);
	assert_string_equal(again, text);
	free(again);
	free(text);
	seal_text_release(&out);
}

static void test_sealtext_tombstone_round_trip(void **state)
{
	struct seal_text in, out;
	char former[1][65] = {F1};
	char source[] = "prod";
	char *text = NULL;

	(void)state;
	memset(&in, 0, sizeof(in));
	snprintf(in.store_id, sizeof(in.store_id), "%s", STORE);
	snprintf(in.snapshot, sizeof(in.snapshot), "%s", SNAP);
	snprintf(in.previous, sizeof(in.previous), "%s", PREV);
	in.sequence = 3;
	in.time = 1795000000;
	in.source = source;
	in.forgotten = 1;
	in.forgotten_at = 1796000000;
	in.former = former;
	in.n_former = 1;
	assert_int_equal(seal_text_format(&text, &in), 0);
	assert_string_equal(
	    text, "{\"forgotten\":1796000000,\"former\":[\"" F1 "\"],"
		  "\"kind\":\"forgotten\",\"packs\":[],\"previous\":\"" PREV
		  "\",\"record\":\"\",\"sequence\":3,\"snapshot\":\"" SNAP
		  "\",\"source\":\"prod\",\"store_id\":\"" STORE
		  "\",\"time\":1795000000,\"version\":2}");
	assert_int_equal(seal_text_parse(&out, text, strlen(text)), 0);
	assert_int_equal(out.version, 2);
	assert_int_equal(out.forgotten, 1);
	assert_int_equal(out.forgotten_at, 1796000000);
	assert_string_equal(out.record, "");
	assert_int_equal(out.n_packs, 0);
	assert_int_equal(out.sequence, 3);
	assert_string_equal(out.previous, PREV);
	assert_int_equal(seal_text_has_hash(&out, F1), 1);
	free(text);
	seal_text_release(&out);
}

static void test_sealtext_format_refuses_tombstone_with_packs(void **state)
{
	struct seal_text in;
	struct seal_pack packs[2];
	char source[] = "prod";
	char *text = NULL;

	(void)state;
	fill_snapshot(&in, packs, source);
	in.forgotten = 1;
	in.record[0] = '\0';
	assert_int_equal(seal_text_format(&text, &in), RV_INVALID);
	assert_null(text);
	fill_snapshot(&in, packs, source);
	in.sequence = 0;
	assert_int_equal(seal_text_format(&text, &in), RV_INVALID);
	assert_null(text);
}

/* A valid v1 text with one member replaced by `member` (a "key":value
 * pair, or "" to drop it). */
static int parse_with(const char *drop, const char *member)
{
	const char *members[] = {
	    "\"packs\":[{\"id\":\"" P1 "\",\"size\":1}]",
	    "\"previous\":\"" PREV "\"",
	    "\"record\":\"" REC "\"",
	    "\"sequence\":2",
	    "\"snapshot\":\"" SNAP "\"",
	    "\"source\":\"prod\"",
	    "\"store_id\":\"" STORE "\"",
	    "\"time\":1795000000",
	    "\"version\":1",
	};
	struct seal_text out;
	char text[4096];
	size_t len = 0;
	int rc;

	text[len++] = '{';
	for (size_t i = 0; i < sizeof(members) / sizeof(*members); i++) {
		const char *m = members[i];
		size_t klen = strcspn(m, ":");

		if (drop && !strncmp(m, drop, klen) && strlen(drop) == klen)
			m = member;
		if (!*m)
			continue;
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s",
					len > 1 ? "," : "", m);
	}
	len += (size_t)snprintf(text + len, sizeof(text) - len, "}");
	rc = seal_text_parse(&out, text, len);
	seal_text_release(&out);
	return rc;
}

static void test_sealtext_parse_accepts_the_base_text(void **state)
{
	(void)state;
	assert_int_equal(parse_with(NULL, ""), 0);
	/* an unknown member is ignored */
	assert_int_equal(
	    parse_with("\"time\"", "\"time\":1,\"zzz_later\":true"), 0);
}

static void test_sealtext_rejects_missing_fields(void **state)
{
	const char *keys[] = {"\"packs\"",    "\"previous\"", "\"record\"",
			      "\"sequence\"", "\"snapshot\"", "\"source\"",
			      "\"store_id\"", "\"time\"",     "\"version\""};

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		assert_int_equal(parse_with(keys[i], ""), RV_CORRUPT);
}

static void test_sealtext_rejects_bad_hex(void **state)
{
	(void)state;
	/* uppercase, short, long, not hex */
	assert_int_equal(parse_with("\"record\"", "\"record\":\"" PREV "A\""),
			 RV_CORRUPT);
	assert_int_equal(
	    parse_with("\"record\"",
		       "\"record\":\"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
		       "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\""),
	    RV_CORRUPT);
	assert_int_equal(parse_with("\"snapshot\"", "\"snapshot\":\"abc\""),
			 RV_CORRUPT);
	assert_int_equal(
	    parse_with("\"store_id\"", "\"store_id\":\"" STORE "00\""),
	    RV_CORRUPT);
	assert_int_equal(
	    parse_with("\"previous\"",
		       "\"previous\":\"gggggggggggggggggggggggggggg"
		       "gggggggggggggggggggggggggggggggggggg\""),
	    RV_CORRUPT);
	assert_int_equal(
	    parse_with("\"packs\"", "\"packs\":[{\"id\":\"xyz\",\"size\":1}]"),
	    RV_CORRUPT);
	/* a snapshot needs its record */
	assert_int_equal(parse_with("\"record\"", "\"record\":\"\""),
			 RV_CORRUPT);
}

static void test_sealtext_rejects_wrong_types(void **state)
{
	(void)state;
	assert_int_equal(parse_with("\"sequence\"", "\"sequence\":\"2\""),
			 RV_CORRUPT);
	assert_int_equal(parse_with("\"time\"", "\"time\":1.5"), RV_CORRUPT);
	assert_int_equal(parse_with("\"source\"", "\"source\":7"), RV_CORRUPT);
	assert_int_equal(parse_with("\"packs\"", "\"packs\":{}"), RV_CORRUPT);
	assert_int_equal(parse_with("\"packs\"", "\"packs\":[\"" P1 "\"]"),
			 RV_CORRUPT);
	assert_int_equal(parse_with("\"packs\"", "\"packs\":[{\"id\":\"" P1
						 "\",\"size\":-1}]"),
			 RV_CORRUPT);
	assert_int_equal(parse_with("\"version\"", "\"version\":\"1\""),
			 RV_CORRUPT);
	/* v1 knows neither tombstones nor former texts */
	assert_int_equal(
	    parse_with("\"version\"", "\"version\":1,\"kind\":\"forgotten\""),
	    RV_CORRUPT);
	assert_int_equal(
	    parse_with("\"version\"", "\"version\":1,\"former\":[]"),
	    RV_CORRUPT);
	assert_int_equal(
	    parse_with("\"version\"", "\"version\":2,\"kind\":\"other\""),
	    RV_CORRUPT);
	assert_int_equal(
	    parse_with("\"version\"", "\"version\":2,\"former\":[\"abc\"]"),
	    RV_CORRUPT);
	/* a tombstone has no packs or record, and says when */
	assert_int_equal(parse_with("\"version\"",
				    "\"version\":2,\"kind\":\"forgotten\","
				    "\"forgotten\":5"),
			 RV_CORRUPT);
	assert_int_equal(
	    parse_with("\"version\"", "\"version\":2,\"forgotten\":5"),
	    RV_CORRUPT);
	{
		struct seal_text out;

		assert_int_equal(seal_text_parse(&out, "[1]", 3), RV_CORRUPT);
		seal_text_release(&out);
		assert_int_equal(seal_text_parse(&out, "{\"version\":", 11),
				 RV_CORRUPT);
		seal_text_release(&out);
	}
}

static void test_sealtext_rejects_sequence_zero(void **state)
{
	(void)state;
	assert_int_equal(parse_with("\"sequence\"", "\"sequence\":0"),
			 RV_CORRUPT);
	assert_int_equal(parse_with("\"sequence\"", "\"sequence\":-3"),
			 RV_CORRUPT);
	assert_int_equal(parse_with("\"version\"", "\"version\":0"),
			 RV_CORRUPT);
}

static void test_sealtext_version_3_is_unsupported(void **state)
{
	(void)state;
	assert_int_equal(parse_with("\"version\"", "\"version\":3"),
			 RV_UNSUPPORTED);
	assert_non_null(strstr(rv_err_msg(), "upgrade regvault"));
}

static void test_sealtext_rejects_duplicate_keys(void **state)
{
	(void)state;
	assert_int_equal(
	    parse_with("\"sequence\"", "\"sequence\":2,\"sequence\":3"),
	    RV_CORRUPT);
}

static void test_sealtext_self_is_sha256_of_exact_text(void **state)
{
	const char *text = "{\"packs\":[],\"previous\":\"\",\"record\":\"" REC
			   "\",\"sequence\":1,\"snapshot\":\"" SNAP
			   "\",\"source\":\"s\",\"store_id\":\"" STORE
			   "\",\"time\":0,\"version\":1}";
	/* the same seal spelled differently hashes differently */
	const char *spaced =
	    "{\"packs\": [],\"previous\":\"\",\"record\":\"" REC
	    "\",\"sequence\":1,\"snapshot\":\"" SNAP
	    "\",\"source\":\"s\",\"store_id\":\"" STORE
	    "\",\"time\":0,\"version\":1}";
	struct seal_text a, b;
	char hex[65];

	(void)state;
	assert_int_equal(seal_text_parse(&a, text, strlen(text)), 0);
	assert_int_equal(seal_text_parse(&b, spaced, strlen(spaced)), 0);
	self_hash(hex, text);
	assert_string_equal(a.self, hex);
	self_hash(hex, spaced);
	assert_string_equal(b.self, hex);
	assert_string_not_equal(a.self, b.self);
	seal_text_release(&a);
	seal_text_release(&b);
	seal_text_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sealtext_v1_round_trip_is_what_backup_wrote),
	    cmocka_unit_test(test_sealtext_first_seal_has_empty_previous),
	    cmocka_unit_test(test_sealtext_v2_refreshed_seal_keeps_former),
	    cmocka_unit_test(test_sealtext_tombstone_round_trip),
	    cmocka_unit_test(test_sealtext_format_refuses_tombstone_with_packs),
	    cmocka_unit_test(test_sealtext_parse_accepts_the_base_text),
	    cmocka_unit_test(test_sealtext_rejects_missing_fields),
	    cmocka_unit_test(test_sealtext_rejects_bad_hex),
	    cmocka_unit_test(test_sealtext_rejects_wrong_types),
	    cmocka_unit_test(test_sealtext_rejects_sequence_zero),
	    cmocka_unit_test(test_sealtext_version_3_is_unsupported),
	    cmocka_unit_test(test_sealtext_rejects_duplicate_keys),
	    cmocka_unit_test(test_sealtext_self_is_sha256_of_exact_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
