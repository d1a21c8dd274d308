/* Unit tests for util/: globs, the capped buffer, the byte-string set,
 * digests and the error slot. */
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/glob.h"
#include "util/httphdr.h"
#include "util/set.h"
#include "util/strlist.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_glob_single_star_stops_at_slash(void **state)
{
	(void)state;
	assert_true(rv_glob_match("team-a/*", "team-a/api"));
	assert_false(rv_glob_match("team-a/*", "team-a/tools/lint"));
	assert_true(rv_glob_match("*", "alpine"));
	assert_false(rv_glob_match("*", "library/alpine"));
	assert_true(rv_glob_match("team-?/api", "team-b/api"));
	assert_false(rv_glob_match("team-?/api", "team-/api"));
}

static void test_glob_double_star_crosses_folders(void **state)
{
	(void)state;
	assert_true(rv_glob_match("team-a/**", "team-a/api"));
	assert_true(rv_glob_match("team-a/**", "team-a/tools/lint"));
	assert_false(rv_glob_match("team-a/**", "team-b/api"));
	assert_false(rv_glob_match("team-a/**", "team-ab/api"));
	assert_true(rv_glob_match("**", "a/b/c"));
	assert_true(rv_glob_match("**/scratch-*", "x/y/scratch-1"));
	assert_true(rv_glob_match("**/scratch-*", "scratch-1"));
	assert_false(rv_glob_match("**/scratch-*", "x/scratch-1/y"));
	assert_true(rv_glob_match("a/**/c", "a/c"));
	assert_true(rv_glob_match("a/**/c", "a/b/b/c"));
	assert_false(rv_glob_match("a/**/c", "a/b/cd"));
}

static void test_glob_literal_is_exact(void **state)
{
	(void)state;
	assert_true(rv_glob_match("a/b/c", "a/b/c"));
	assert_false(rv_glob_match("a/b/c", "a/b/c/d"));
	assert_false(rv_glob_match("a/b/c", "a/b"));
	assert_true(rv_glob_match("", ""));
	assert_false(rv_glob_match("", "a"));
}

static void test_buf_refuses_growth_past_its_cap(void **state)
{
	struct rv_buf b = RV_BUF_INIT(10);
	(void)state;
	assert_int_equal(rv_buf_add(&b, "0123456789", 10), 0);
	assert_int_equal(b.len, 10);
	assert_string_equal(rv_buf_cstr(&b), "0123456789");
	assert_int_equal(rv_buf_add(&b, "x", 1), RV_TOOBIG);
	assert_int_equal(b.len, 10); /* unchanged */
	assert_non_null(strstr(rv_err_msg(), "10 bytes"));
	rv_buf_reset(&b);
	assert_int_equal(rv_buf_printf(&b, "%d-%s", 42, "ok"), 0);
	assert_string_equal(rv_buf_cstr(&b), "42-ok");
	assert_int_equal(rv_buf_printf(&b, "%s", "0123456789"), RV_TOOBIG);
	rv_buf_release(&b);
	assert_null(b.data);
	assert_string_equal(rv_buf_cstr(&b), "");
}

static void test_buf_detach_hands_over_a_c_string(void **state)
{
	struct rv_buf b = RV_BUF_INIT(1024);
	size_t len = 99;
	char *s;
	(void)state;
	s = rv_buf_detach(&b, &len);
	assert_non_null(s);
	assert_int_equal(len, 0);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(rv_buf_puts(&b, "hello"), 0);
	s = rv_buf_detach(&b, &len);
	assert_string_equal(s, "hello");
	assert_int_equal(len, 5);
	assert_null(b.data);
	free(s);
}

static void test_set_adds_finds_and_truncates(void **state)
{
	struct rv_set s = RV_SET_INIT;
	char key[32];
	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "sha256:%d", i);
		assert_int_equal(rv_set_add(&s, key, strlen(key)), 1);
	}
	assert_int_equal(rv_set_add(&s, "sha256:7", 8), 0); /* present */
	assert_int_equal(s.n, 1000);
	assert_true(rv_set_has(&s, "sha256:999", 10));
	assert_int_equal(rv_set_index(&s, "sha256:10", 9), 10);
	assert_int_equal(rv_set_index(&s, "nope", 4), -1);
	rv_set_truncate(&s, 500);
	assert_int_equal(s.n, 500);
	assert_true(rv_set_has(&s, "sha256:499", 10));
	assert_false(rv_set_has(&s, "sha256:500", 10));
	assert_false(rv_set_has(&s, "sha256:999", 10));
	assert_int_equal(rv_set_add(&s, "sha256:999", 10), 1);
	assert_int_equal(rv_set_index(&s, "sha256:999", 10), 500);
	rv_set_clear(&s);
	assert_false(rv_set_has(&s, "sha256:1", 8));
	rv_set_release(&s);
}

static void test_set_keys_are_bytes_not_strings(void **state)
{
	struct rv_set s = RV_SET_INIT;
	unsigned char a[32] = { 0 }, b[32] = { 0 };
	(void)state;
	b[31] = 1;
	assert_int_equal(rv_set_add(&s, a, 32), 1);
	assert_false(rv_set_has(&s, b, 32));
	assert_int_equal(rv_set_add(&s, b, 32), 1);
	assert_false(rv_set_has(&s, a, 31)); /* a prefix is another key */
	rv_set_release(&s);
}

static void test_digest_validation(void **state)
{
	char d[RV_DIGEST_MAX];
	(void)state;
	assert_int_equal(rv_digest_of(d, "", 0), 0);
	assert_string_equal(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e"
			       "4649b934ca495991b7852b855");
	assert_true(rv_digest_valid(d));
	d[10] = 'A'; /* upper case is not canonical */
	assert_false(rv_digest_valid(d));
	assert_false(rv_digest_valid("sha256:abc"));
	assert_false(rv_digest_valid("sha512:e3b0c44298fc1c149afbf4c8996fb92427"
				     "ae41e4649b934ca495991b7852b855"));
	assert_false(rv_digest_valid(NULL));
}

static void test_hex_round_trip_and_refusals(void **state)
{
	unsigned char in[4] = { 0x00, 0x7f, 0x80, 0xff }, out[4];
	char hex[9];
	(void)state;
	rv_hex_encode(hex, in, 4);
	assert_string_equal(hex, "007f80ff");
	assert_int_equal(rv_hex_decode(out, 4, hex), 0);
	assert_memory_equal(in, out, 4);
	assert_int_equal(rv_hex_decode(out, 4, "007f80f"), RV_INVALID);
	assert_int_equal(rv_hex_decode(out, 4, "007f80fg"), RV_INVALID);
}

static void test_err_can_wrap_its_own_message(void **state)
{
	(void)state;
	rv_err_set(RV_NOTFOUND, "blob %s is missing", "sha256:x");
	assert_int_equal(rv_err_set(RV_ERROR, "%s (needed by %s)", rv_err_msg(),
				    "a:b"),
			 RV_ERROR);
	assert_string_equal(rv_err_msg(),
			    "blob sha256:x is missing (needed by a:b)");
	assert_int_equal(rv_err_code(), RV_ERROR);
	rv_err_clear();
	assert_string_equal(rv_err_msg(), "");
}

static void test_strlist_sort_and_has(void **state)
{
	struct rv_strlist l = RV_STRLIST_INIT;
	(void)state;
	assert_int_equal(rv_strlist_add(&l, "b"), 0);
	assert_int_equal(rv_strlist_add(&l, "a"), 0);
	assert_int_equal(rv_strlist_add(&l, "c"), 0);
	rv_strlist_sort(&l);
	assert_string_equal(l.items[0], "a");
	assert_string_equal(l.items[2], "c");
	assert_true(rv_strlist_has(&l, "b"));
	assert_false(rv_strlist_has(&l, "d"));
	rv_strlist_release(&l);
	assert_int_equal(l.n, 0);
}

static void test_hdr_parses_status_and_headers(void **state)
{
	struct rv_hdr h;
	(void)state;
	assert_int_equal(rv_hdr_parse(&h, "HTTP/1.1 206 Partial\r\n", strlen("HTTP/1.1 206 Partial\r\n")), 0);
	assert_true(h.is_status);
	assert_int_equal(h.status, 206);
	assert_int_equal(rv_hdr_parse(&h, "HTTP/2 404\r\n", strlen("HTTP/2 404\r\n")), 0);
	assert_int_equal(h.status, 404);
	assert_int_equal(rv_hdr_parse(&h, "HTTP/1.1 x\r\n", strlen("HTTP/1.1 x\r\n")), 0);
	assert_int_equal(h.status, 0);
	assert_int_equal(
	    rv_hdr_parse(&h, "Docker-Content-Digest:  sha256:ab \t\r\n", strlen("Docker-Content-Digest:  sha256:ab \t\r\n")),
	    0);
	assert_false(h.is_status);
	assert_true(rv_hdr_is(&h, "docker-content-digest"));
	assert_false(rv_hdr_is(&h, "docker-content"));
	assert_int_equal(h.value_len, 9);
	assert_memory_equal(h.value, "sha256:ab", 9);
	assert_int_equal(rv_hdr_parse(&h, "Empty:\r\n", strlen("Empty:\r\n")), 0);
	assert_int_equal(h.value_len, 0);
	assert_int_equal(rv_hdr_parse(&h, "\r\n", strlen("\r\n")), -1);
	assert_int_equal(rv_hdr_parse(&h, "garbage\r\n", strlen("garbage\r\n")), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob_single_star_stops_at_slash),
		cmocka_unit_test(test_glob_double_star_crosses_folders),
		cmocka_unit_test(test_glob_literal_is_exact),
		cmocka_unit_test(test_buf_refuses_growth_past_its_cap),
		cmocka_unit_test(test_buf_detach_hands_over_a_c_string),
		cmocka_unit_test(test_set_adds_finds_and_truncates),
		cmocka_unit_test(test_set_keys_are_bytes_not_strings),
		cmocka_unit_test(test_digest_validation),
		cmocka_unit_test(test_hex_round_trip_and_refusals),
		cmocka_unit_test(test_err_can_wrap_its_own_message),
		cmocka_unit_test(test_strlist_sort_and_has),
		cmocka_unit_test(test_hdr_parses_status_and_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
