/* test_fuzz_regressions.c - one test per defect the fuzz targets found
 * (fuzz/README.md), with the input that showed it, so that it stays
 * fixed in every build, not only in fuzz runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/s3_xml.h"
#include "store/sealtext.h"
#include "util/err.h"
#include "util/strlist.h"

#include <stdlib.h>
#include <string.h>

/* fuzz_s3_xml: a NextContinuationToken whose CDATA holds a NUL was cut at
 * the NUL (to "" here), so a truncated page came back with a token that
 * is not the one the server sent. It is refused like a key with a NUL. */
static void test_s3_list_token_with_nul_is_corrupt(void **state)
{
	static const char xml[] =
	    "<ListBucketResult><IsTruncated>true</IsTruncated>"
	    "<NextContinuationToken><![CDATA[\0abc]]></NextContinuationToken>"
	    "<Contents><Key>k</Key></Contents></ListBucketResult>";
	struct rv_strlist keys = RV_STRLIST_INIT;
	struct s3_list_page page = {&keys, 0, NULL};

	(void)state;
	assert_int_equal(s3_xml_parse_list(&page, xml, sizeof(xml) - 1),
			 RV_CORRUPT);
	assert_non_null(strstr(rv_err_msg(), "NUL"));
	assert_null(page.next_token);
	assert_int_equal(page.truncated, 0);
	assert_int_equal(keys.n, 0);
	rv_strlist_release(&keys);
}

/* fuzz_sealtext: seal_text_format sorted packs by id with qsort, which is
 * not stable, so a seal listing one pack id twice (with two sizes) came
 * out in either order: format(parse(text)) was not a function of the
 * seal. Sizes now break ties: both orders give one text. */
static void test_seal_format_is_canonical_with_a_repeated_pack_id(void **state)
{
	static const char p2[] = "2222222222222222222222222222222222222222"
				 "222222222222222222222222";
	struct seal_pack packs[3];
	struct seal_text s;
	char *a = NULL, *b = NULL, source[] = "prod";

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(packs, 0, sizeof(packs));
	memcpy(s.store_id, "0123456789abcdef0123456789abcdef", 33);
	memset(s.snapshot, 'a', 64);
	memset(s.record, 'b', 64);
	s.sequence = 7;
	s.time = 1795000000;
	s.source = source;
	memcpy(packs[0].id, p2, 65);
	packs[0].size = 42;
	memset(packs[1].id, '1', 64);
	packs[1].size = 5;
	memcpy(packs[2].id, p2, 65);
	packs[2].size = 1;
	s.packs = packs;
	s.n_packs = 3;
	assert_int_equal(seal_text_format(&a, &s), 0);
	packs[0].size = 1; /* the same set, the other order */
	packs[2].size = 42;
	assert_int_equal(seal_text_format(&b, &s), 0);
	assert_string_equal(a, b);
	assert_true(strstr(a, "\"size\":1}") < strstr(a, "\"size\":42}"));
	free(a);
	free(b);
}

/* fuzz_storedoc: a regvault.json that is not JSON got jansson's text,
 * which quotes the bytes near the error, into the message: a control
 * character from a target's file (an escape sequence, a newline forging a
 * log line) reached the terminal and the logs. Every message is one line
 * of printable text now (util/err.c). */
static void test_error_message_has_no_control_characters(void **state)
{
	const char *m;

	(void)state;
	rv_err_set(RV_CORRUPT, "near '%s' in %s", "\x1b[31m\x01\x7f",
		   "line\nforged: ok");
	m = rv_err_msg();
	assert_string_equal(m, "near '?[31m?" "?' in line?forged: ok");
	assert_int_equal(rv_err_code(), RV_CORRUPT);
	rv_err_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_s3_list_token_with_nul_is_corrupt),
	    cmocka_unit_test(
		test_seal_format_is_canonical_with_a_repeated_pack_id),
	    cmocka_unit_test(test_error_message_has_no_control_characters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
