/* test_export_tag.c - the tag check that guards what export writes into
 * index.json annotations: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}, ASCII only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "restore/export.h"

static void test_tag_accepts_ordinary_tags(void **state)
{
	(void)state;
	assert_int_equal(export_tag_valid("latest"), 1);
	assert_int_equal(export_tag_valid("v1.2.3-rc.1"), 1);
	assert_int_equal(export_tag_valid("_private"), 1);
	assert_int_equal(export_tag_valid("0"), 1);
	assert_int_equal(export_tag_valid("A_b.C-d"), 1);
	assert_int_equal(export_tag_valid("sha256-0123abcd.sig"), 1);
}

static void test_tag_rejects_empty_and_null(void **state)
{
	(void)state;
	assert_int_equal(export_tag_valid(""), 0);
	assert_int_equal(export_tag_valid(NULL), 0);
}

static void test_tag_rejects_leading_dot_or_dash(void **state)
{
	(void)state;
	assert_int_equal(export_tag_valid(".hidden"), 0);
	assert_int_equal(export_tag_valid("-v1"), 0);
	assert_int_equal(export_tag_valid(".."), 0);
}

static void test_tag_rejects_path_and_reference_characters(void **state)
{
	(void)state;
	assert_int_equal(export_tag_valid("a/b"), 0);
	assert_int_equal(export_tag_valid("../../etc"), 0);
	assert_int_equal(export_tag_valid("a:b"), 0);
	assert_int_equal(export_tag_valid("a@sha256"), 0);
	assert_int_equal(export_tag_valid("a b"), 0);
	assert_int_equal(export_tag_valid("a\nb"), 0);
	assert_int_equal(export_tag_valid("a\\b"), 0);
	assert_int_equal(export_tag_valid("a\"b"), 0);
}

static void test_tag_rejects_non_ascii(void **state)
{
	(void)state;
	assert_int_equal(export_tag_valid("caf\xc3\xa9"), 0);
	assert_int_equal(export_tag_valid("\xff"), 0);
}

static void test_tag_length_limit_is_128(void **state)
{
	char tag[130];

	(void)state;
	memset(tag, 'a', sizeof(tag));
	tag[128] = '\0';
	assert_int_equal(export_tag_valid(tag), 1);
	tag[128] = 'a';
	tag[129] = '\0';
	assert_int_equal(export_tag_valid(tag), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tag_accepts_ordinary_tags),
	    cmocka_unit_test(test_tag_rejects_empty_and_null),
	    cmocka_unit_test(test_tag_rejects_leading_dot_or_dash),
	    cmocka_unit_test(test_tag_rejects_path_and_reference_characters),
	    cmocka_unit_test(test_tag_rejects_non_ascii),
	    cmocka_unit_test(test_tag_length_limit_is_128),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
