/* Unit tests for util/array.h: growing a malloc'd array. */
#include "util/array.h"
#include "util/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_array_grow_starts_at_16_and_doubles(void **state)
{
	int *list = NULL;
	size_t cap = 0, n;

	(void)state;
	for (n = 0; n < 100; n++) {
		assert_int_equal(
		    rv_array_grow((void **)&list, &cap, n + 1, sizeof(*list)),
		    0);
		assert_true(cap >= n + 1);
		list[n] = (int)n;
		if (n == 0)
			assert_int_equal(cap, 16);
	}
	assert_int_equal(cap, 128);
	for (n = 0; n < 100; n++)
		assert_int_equal(list[n], (int)n);
	free(list);
}

static void test_array_grow_leaves_enough_room_alone(void **state)
{
	int *list = NULL;
	int *before;
	size_t cap = 0;

	(void)state;
	assert_int_equal(rv_array_grow((void **)&list, &cap, 10, sizeof(*list)),
			 0);
	before = list;
	assert_int_equal(rv_array_grow((void **)&list, &cap, 16, sizeof(*list)),
			 0);
	assert_ptr_equal(list, before);
	assert_int_equal(cap, 16);
	free(list);
}

static void test_array_grow_jumps_to_a_large_need(void **state)
{
	char *list = NULL;
	size_t cap = 16;

	(void)state;
	list = malloc(cap);
	assert_non_null(list);
	assert_int_equal(rv_array_grow((void **)&list, &cap, 1000, 1), 0);
	assert_true(cap >= 1000);
	memset(list, 'x', 1000);
	free(list);
}

static void test_array_grow_rejects_overflowing_size(void **state)
{
	int *list = NULL;
	int *before;
	size_t cap = 0;

	(void)state;
	assert_int_equal(rv_array_grow((void **)&list, &cap, 4, sizeof(*list)),
			 0);
	before = list;
	assert_int_equal(
	    rv_array_grow((void **)&list, &cap, SIZE_MAX / 2, sizeof(*list)),
	    RV_NOMEM);
	assert_ptr_equal(list, before);
	assert_int_equal(cap, 16);
	assert_non_null(strstr(rv_err_msg(), "out of memory"));
	free(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_array_grow_starts_at_16_and_doubles),
	    cmocka_unit_test(test_array_grow_leaves_enough_room_alone),
	    cmocka_unit_test(test_array_grow_jumps_to_a_large_need),
	    cmocka_unit_test(test_array_grow_rejects_overflowing_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
