/* The retry policy of the registry client (registry/retry.c): which
 * failures are retried, Retry-After in both forms, backoff bounds with full
 * jitter, Content-Range of a resumed download. No network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "registry/internal.h"

#include <stdlib.h>
#include <string.h>

/* Sun, 06 Nov 1994 08:49:37 GMT */
#define RFC_EXAMPLE ((time_t)784111777)

/* ---- Retry-After ------------------------------------------------------*/

static void test_retry_after_reads_delay_seconds(void **state)
{
	(void)state;
	assert_int_equal(reg_retry_after_parse("3", 0), 3);
	assert_int_equal(reg_retry_after_parse("0", 0), 0);
	assert_int_equal(reg_retry_after_parse(" 120 ", 0), 120);
	assert_int_equal(reg_retry_after_parse("0007", 0), 7);
}

static void test_retry_after_caps_huge_delay_seconds(void **state)
{
	(void)state;
	assert_int_equal(reg_retry_after_parse("99999999999999999999999", 0),
			 1000000000);
	assert_int_equal(reg_retry_after_parse("1000000000", 0), 1000000000);
}

static void test_retry_after_reads_http_dates(void **state)
{
	time_t now = RFC_EXAMPLE - 10;
	(void)state;
	assert_int_equal(
	    reg_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", now), 10);
	assert_int_equal(
	    reg_retry_after_parse("Sunday, 06-Nov-94 08:49:37 GMT", now), 10);
	assert_int_equal(reg_retry_after_parse("Sun Nov  6 08:49:37 1994", now),
			 10);
}

static void test_retry_after_date_in_the_past_waits_zero(void **state)
{
	(void)state;
	assert_int_equal(reg_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT",
					       RFC_EXAMPLE + 3600),
			 0);
	assert_int_equal(
	    reg_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", RFC_EXAMPLE),
	    0);
}

static void test_retry_after_rejects_garbage(void **state)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "soon",
	    "-5",
	    "3s",
	    "1.5",
	    "0x10",
	    "+3",
	    "3 4",
	    "\t",
	    "Sun, 99 Foo 1994 garbage",
	    "Retry-After: 3",
	    "Sun, 06 Nov 1994 08:49:37 GMT and then some more text that makes "
	    "it longer than any date",
	};
	(void)state;
	assert_int_equal(reg_retry_after_parse(NULL, 0), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v = reg_retry_after_parse(bad[i], RFC_EXAMPLE);
		if (v != -1)
			fail_msg("'%s' parsed as %lld", bad[i], (long long)v);
	}
}

/* ---- backoff ----------------------------------------------------------*/

static uint64_t bound(int retry, int base, int max)
{
	uint64_t d = (uint64_t)base;
	for (int i = 0; i < retry && d < (uint64_t)max; i++)
		d *= 2;
	return d < (uint64_t)max ? d : (uint64_t)max;
}

static void test_backoff_doubles_from_base_up_to_the_cap(void **state)
{
	(void)state;
	/* rnd = bound gives the bound itself, rnd = bound + 1 gives 0 */
	assert_int_equal(reg_backoff_ms(0, 500, 30000, 500), 500);
	assert_int_equal(reg_backoff_ms(0, 500, 30000, 501), 0);
	assert_int_equal(reg_backoff_ms(1, 500, 30000, 1000), 1000);
	assert_int_equal(reg_backoff_ms(2, 500, 30000, 2000), 2000);
	assert_int_equal(reg_backoff_ms(5, 500, 30000, 16000), 16000);
	/* 500 * 2^6 = 32000 is over the cap */
	assert_int_equal(reg_backoff_ms(6, 500, 30000, 30000), 30000);
	assert_int_equal(reg_backoff_ms(6, 500, 30000, 30001), 0);
	assert_int_equal(reg_backoff_ms(60, 500, 30000, 30000), 30000);
}

static void test_backoff_full_jitter_stays_in_bounds(void **state)
{
	uint64_t rng = 42, lo = 0, hi = 0;
	(void)state;
	for (int retry = 0; retry < 70; retry++) {
		uint64_t b = bound(retry, 500, 30000);
		for (int i = 0; i < 200; i++) {
			uint64_t ms =
			    reg_backoff_ms(retry, 500, 30000, reg_rand(&rng));
			assert_true(ms <= b);
			if (retry == 3) {
				if (ms < b / 2)
					lo++;
				else
					hi++;
			}
		}
		assert_true(reg_backoff_ms(retry, 500, 30000, UINT64_MAX) <= b);
	}
	/* jitter spreads over the whole range, not near the bound only */
	assert_true(lo > 40 && hi > 40);
}

static void test_backoff_is_zero_without_a_base(void **state)
{
	(void)state;
	assert_int_equal(reg_backoff_ms(3, 0, 30000, 12345), 0);
	assert_int_equal(reg_backoff_ms(3, 500, 0, 12345), 0);
	assert_int_equal(reg_backoff_ms(3, -1, 30000, 12345), 0);
}

static void test_rand_gives_different_numbers(void **state)
{
	uint64_t s = 1, a, b, c;
	(void)state;
	a = reg_rand(&s);
	b = reg_rand(&s);
	c = reg_rand(&s);
	assert_true(a != b && b != c && a != c);
}

/* ---- what is retried --------------------------------------------------*/

static void test_retriable_statuses(void **state)
{
	static const long yes[] = {429, 500, 502, 503, 504};
	static const long no[] = {200, 206, 301, 400, 401, 403,
				  404, 416, 501, 505, 507};
	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(reg_status_retriable(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(reg_status_retriable(no[i]));
	assert_string_equal(reg_status_phrase(429), "Too Many Requests");
	assert_string_equal(reg_status_phrase(503), "Service Unavailable");
}

static void test_retriable_transport_errors(void **state)
{
	(void)state;
	assert_true(reg_curl_retriable(CURLE_COULDNT_CONNECT));
	assert_true(reg_curl_retriable(CURLE_RECV_ERROR));
	assert_true(reg_curl_retriable(CURLE_SEND_ERROR));
	assert_true(reg_curl_retriable(CURLE_PARTIAL_FILE));
	assert_true(reg_curl_retriable(CURLE_OPERATION_TIMEDOUT));
	assert_true(reg_curl_retriable(CURLE_GOT_NOTHING));
	/* a certificate or URL problem does not go away by itself */
	assert_false(reg_curl_retriable(CURLE_PEER_FAILED_VERIFICATION));
	assert_false(reg_curl_retriable(CURLE_SSL_CACERT_BADFILE));
	assert_false(reg_curl_retriable(CURLE_URL_MALFORMAT));
	assert_false(reg_curl_retriable(CURLE_UNSUPPORTED_PROTOCOL));
	assert_false(reg_curl_retriable(CURLE_WRITE_ERROR));
	assert_false(reg_curl_retriable(CURLE_ABORTED_BY_CALLBACK));
}

/* ---- Content-Range ----------------------------------------------------*/

static void test_content_range_parses_a_resume(void **state)
{
	int64_t s, l, t;
	(void)state;
	assert_int_equal(
	    reg_content_range_parse(&s, &l, &t, "bytes 100-199/200"), 0);
	assert_int_equal(s, 100);
	assert_int_equal(l, 199);
	assert_int_equal(t, 200);
	assert_int_equal(reg_content_range_parse(&s, &l, &t, "bytes 5-9/*"), 0);
	assert_int_equal(s, 5);
	assert_int_equal(t, -1);
	assert_int_equal(reg_content_range_parse(&s, &l, &t, "Bytes 0-0/1"), 0);
	assert_int_equal(
	    reg_content_range_parse(&s, &l, &t,
				    "bytes 4294967296-8589934591/8589934592"),
	    0);
	assert_int_equal(s, INT64_C(4294967296));
}

static void test_content_range_rejects_nonsense(void **state)
{
	static const char *const bad[] = {
	    "",
	    "bytes",
	    "bytes 10-5/20",
	    "bytes 0-20/20",
	    "items 0-1/2",
	    "bytes 1-2/3x",
	    "bytes -1-2/3",
	    "bytes 1-/3",
	    "bytes */3",
	    "bytes 99999999999999999999-1/2",
	};
	int64_t s, l, t;
	(void)state;
	assert_int_equal(reg_content_range_parse(&s, &l, &t, NULL), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (reg_content_range_parse(&s, &l, &t, bad[i]) != -1)
			fail_msg("'%s' accepted", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry_after_reads_delay_seconds),
	    cmocka_unit_test(test_retry_after_caps_huge_delay_seconds),
	    cmocka_unit_test(test_retry_after_reads_http_dates),
	    cmocka_unit_test(test_retry_after_date_in_the_past_waits_zero),
	    cmocka_unit_test(test_retry_after_rejects_garbage),
	    cmocka_unit_test(test_backoff_doubles_from_base_up_to_the_cap),
	    cmocka_unit_test(test_backoff_full_jitter_stays_in_bounds),
	    cmocka_unit_test(test_backoff_is_zero_without_a_base),
	    cmocka_unit_test(test_rand_gives_different_numbers),
	    cmocka_unit_test(test_retriable_statuses),
	    cmocka_unit_test(test_retriable_transport_errors),
	    cmocka_unit_test(test_content_range_parses_a_resume),
	    cmocka_unit_test(test_content_range_rejects_nonsense),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
