/* Chunked uploads: the upload status Range header, Content-Range values,
 * and the chunk size a client picks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "registry/internal.h"
#include "util/err.h"

#include <string.h>

#define MIB ((uint64_t)1 << 20)

static void test_range_absent_means_nothing_held(void **state)
{
	uint64_t held = 99;
	int amb = 7;

	(void)state;
	assert_int_equal(reg_upload_parse_range(&held, &amb, NULL, 100), 0);
	assert_int_equal(held, 0);
	assert_int_equal(amb, 0);
}

static void test_range_end_is_inclusive(void **state)
{
	uint64_t held = 0;
	int amb = 1;

	(void)state;
	assert_int_equal(
	    reg_upload_parse_range(&held, &amb, "0-1048575", 4 * MIB), 0);
	assert_int_equal(held, MIB);
	assert_int_equal(amb, 0);
}

static void test_range_accepts_bytes_prefix_and_spaces(void **state)
{
	uint64_t held = 0;
	int amb = 1;

	(void)state;
	assert_int_equal(
	    reg_upload_parse_range(&held, &amb, " bytes=0-9 ", 100), 0);
	assert_int_equal(held, 10);
}

static void test_range_zero_zero_is_ambiguous(void **state)
{
	uint64_t held = 0;
	int amb = 0;

	(void)state;
	assert_int_equal(reg_upload_parse_range(&held, &amb, "0-0", 100), 0);
	assert_int_equal(held, 1);
	assert_int_equal(amb, 1);
}

static void test_range_rejects_malformed_values(void **state)
{
	static const char *bad[] = {
	    "",		"-",
	    "0-",	"-5",
	    "0-x",	"5-10",
	    "0--1",	"0-+3",
	    "0- 3",	"a-b",
	    "10-5",	"0-1-2",
	    "0x0-0x10", "0-99999999999999999999999",
	    "bytes=",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t held = 42;
		int amb = 0;
		assert_int_equal(
		    reg_upload_parse_range(&held, &amb, bad[i], 1000),
		    RV_CORRUPT);
		assert_int_equal(held, 0);
	}
}

static void test_range_rejects_more_than_the_blob(void **state)
{
	uint64_t held = 0;
	int amb = 0;

	(void)state;
	/* 100 bytes held of a 100-byte blob is fine, 101 is not */
	assert_int_equal(reg_upload_parse_range(&held, &amb, "0-99", 100), 0);
	assert_int_equal(held, 100);
	assert_int_equal(reg_upload_parse_range(&held, &amb, "0-100", 100),
			 RV_CORRUPT);
	assert_int_equal(reg_upload_parse_range(
			     &held, &amb, "0-18446744073709551615", UINT64_MAX),
			 RV_CORRUPT);
}

static void test_content_range_is_start_dash_inclusive_end(void **state)
{
	char out[48];

	(void)state;
	assert_int_equal(reg_upload_content_range(out, sizeof(out), 0, MIB), 0);
	assert_string_equal(out, "0-1048575");
	assert_int_equal(reg_upload_content_range(out, sizeof(out), 3 * MIB, 5),
			 0);
	assert_string_equal(out, "3145728-3145732");
	assert_int_equal(reg_upload_content_range(out, sizeof(out), 7, 1), 0);
	assert_string_equal(out, "7-7");
}

static void test_content_range_refuses_empty_or_small_buffer(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(reg_upload_content_range(out, sizeof(out), 0, 0),
			 RV_INVALID);
	assert_int_equal(
	    reg_upload_content_range(out, sizeof(out), 1000000, 1000),
	    RV_INVALID);
	assert_int_equal(
	    reg_upload_content_range(out, sizeof(out), UINT64_MAX, 2),
	    RV_INVALID);
}

static void test_parse_and_format_round_trip(void **state)
{
	char out[48];
	uint64_t held;
	int amb;

	(void)state;
	/* what we send as a chunk's range reads back as the bytes held */
	for (uint64_t len = 1; len < 5 * MIB; len = len * 3 + 1) {
		assert_int_equal(
		    reg_upload_content_range(out, sizeof(out), 0, len), 0);
		assert_int_equal(
		    reg_upload_parse_range(&held, &amb, out, 5 * MIB), 0);
		assert_int_equal(held, len);
	}
}

static void test_chunk_size_default_and_floor(void **state)
{
	struct reg *r = NULL;
	struct reg_config cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.name = "t";
	cfg.url = "http://127.0.0.1:1";
	assert_int_equal(reg_new(&r, &cfg), 0);
	assert_int_equal(reg_upload_chunk_size(r), 64 * MIB);
	reg_free(r);

	cfg.upload_chunk = MIB;
	assert_int_equal(reg_new(&r, &cfg), 0);
	assert_int_equal(reg_upload_chunk_size(r), MIB);
	reg_free(r);

	cfg.upload_chunk = 10;
	assert_int_equal(reg_new(&r, &cfg), 0);
	assert_int_equal(reg_upload_chunk_size(r), REG_UPLOAD_CHUNK_MIN);
	reg_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_range_absent_means_nothing_held),
	    cmocka_unit_test(test_range_end_is_inclusive),
	    cmocka_unit_test(test_range_accepts_bytes_prefix_and_spaces),
	    cmocka_unit_test(test_range_zero_zero_is_ambiguous),
	    cmocka_unit_test(test_range_rejects_malformed_values),
	    cmocka_unit_test(test_range_rejects_more_than_the_blob),
	    cmocka_unit_test(test_content_range_is_start_dash_inclusive_end),
	    cmocka_unit_test(test_content_range_refuses_empty_or_small_buffer),
	    cmocka_unit_test(test_parse_and_format_round_trip),
	    cmocka_unit_test(test_chunk_size_default_and_floor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
