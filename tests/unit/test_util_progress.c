/* test_util_progress.c - the progress meter's text (util/progress.h):
 * items of a total or alone, bytes, rate, an ETA by bytes when their total
 * is known and by items otherwise, and where the work is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/progress.h"

#include <string.h>

static void test_meter_items_of_total_bytes_rate_eta_where(void **state)
{
	struct rv_meter m;
	char buf[320];

	(void)state;
	rv_meter_start(&m, "restore", "tags", 100, 4ULL << 30);
	m.done = 25;
	m.bytes = 1ULL << 30;
	rv_meter_where(&m, "team-a/api");
	/* 1 GiB in 10 s: 102.4 MiB/s; 3 GiB left: 30 s */
	assert_string_equal(rv_meter_text(buf, sizeof(buf), &m, 10.0),
			    "restore: 25/100 tags, 1.0 GiB/4.0 GiB, "
			    "102.4 MiB/s, ETA 30s | team-a/api");
}

static void test_meter_eta_by_items_when_bytes_total_unknown(void **state)
{
	struct rv_meter m;
	char buf[320];

	(void)state;
	rv_meter_start(&m, "verify", "packs", 40, 0);
	m.done = 10;
	m.bytes = 10 << 20;
	/* a quarter done in 100 s: 300 s left */
	assert_string_equal(rv_meter_text(buf, sizeof(buf), &m, 100.0),
			    "verify: 10/40 packs, 10.0 MiB, 102.4 KiB/s, "
			    "ETA 5m00s");
}

static void test_meter_without_totals_has_no_eta(void **state)
{
	struct rv_meter m;
	char buf[320];

	(void)state;
	rv_meter_start(&m, "backup", "tags", 0, 0);
	m.done = 7;
	m.bytes = 3 << 20;
	rv_meter_where(&m, "big/layers");
	assert_string_equal(rv_meter_text(buf, sizeof(buf), &m, 2.0),
			    "backup: 7 tags, 3.0 MiB, 1.5 MiB/s | big/layers");
	/* in its first second: no rate, no ETA (both would be noise) */
	m.total = 10;
	assert_string_equal(rv_meter_text(buf, sizeof(buf), &m, 0.5),
			    "backup: 7/10 tags, 3.0 MiB | big/layers");
}

static void test_meter_hours_and_a_short_buffer(void **state)
{
	struct rv_meter m;
	char buf[320], small[16];

	(void)state;
	rv_meter_start(&m, "prune", "packs", 1000, 0);
	m.done = 1;
	assert_string_equal(rv_meter_text(buf, sizeof(buf), &m, 10.0),
			    "prune: 1/1000 packs, ETA 2h46m");
	rv_meter_text(small, sizeof(small), &m, 10.0);
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_meter_items_of_total_bytes_rate_eta_where),
	    cmocka_unit_test(test_meter_eta_by_items_when_bytes_total_unknown),
	    cmocka_unit_test(test_meter_without_totals_has_no_eta),
	    cmocka_unit_test(test_meter_hours_and_a_short_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
