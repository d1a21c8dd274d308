/* Unit tests for util/base64.h: the alphabet. */
#include "util/base64.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void test_b64_value_maps_the_whole_alphabet(void **state)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz"
				       "0123456789+/";

	(void)state;
	for (int i = 0; i < 64; i++)
		assert_int_equal(rv_b64_value((unsigned char)alphabet[i]), i);
}

static void test_b64_value_rejects_padding_and_others(void **state)
{
	(void)state;
	assert_int_equal(rv_b64_value('='), -1);
	assert_int_equal(rv_b64_value('-'), -1); /* base64url, not standard */
	assert_int_equal(rv_b64_value('_'), -1);
	assert_int_equal(rv_b64_value(' '), -1);
	assert_int_equal(rv_b64_value(0), -1);
	assert_int_equal(rv_b64_value(0xc3), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64_value_maps_the_whole_alphabet),
	    cmocka_unit_test(test_b64_value_rejects_padding_and_others),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
