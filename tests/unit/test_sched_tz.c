/* test_sched_tz.c - the TZif reader agrees with glibc's localtime_r. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "schedules/tz.h"
#include "util/err.h"

/* Compare offsets and calendar fields with glibc for instants every
 * 7 hours 13 minutes from 1900 to 2100 (covers table and footer rule). */
static void agree_with_glibc(const char *zone)
{
	struct sched_tz *tz = NULL;
	int64_t t;
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	assert_int_equal(sched_tz_open(&tz, zone), 0);
	setenv("TZ", zone, 1);
	tzset();
	for (t = -2208988800LL; t < 4102444800LL; t += 7 * 3600 + 13 * 60) {
		struct tm tm;
		struct sched_civil c;
		time_t tt = (time_t)t;

		assert_non_null(localtime_r(&tt, &tm));
		sched_tz_local(&c, tz, t);
		if (c.year != tm.tm_year + 1900 || c.month != tm.tm_mon + 1 ||
		    c.day != tm.tm_mday || c.hour != tm.tm_hour ||
		    c.minute != tm.tm_min || c.wday != tm.tm_wday)
			fail_msg("%s at %lld: ours %04d-%02d-%02d %02d:%02d, "
				 "glibc %04d-%02d-%02d %02d:%02d",
				 zone, (long long)t, c.year, c.month, c.day,
				 c.hour, c.minute, tm.tm_year + 1900,
				 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				 tm.tm_min);
		assert_int_equal(sched_tz_offset(tz, t, NULL, NULL),
				 tm.tm_gmtoff);
	}
	if (old) {
		setenv("TZ", old, 1);
		free(old);
	} else {
		unsetenv("TZ");
	}
	tzset();
	sched_tz_free(tz);
}

static void test_tz_matches_glibc_in_many_zones(void **state)
{
	static const char *const zones[] = {
	    "Europe/Berlin",	"America/New_York",
	    "Australia/Sydney", "Australia/Lord_Howe",
	    "Asia/Kolkata",	"America/Santiago",
	    "Pacific/Apia",	"Africa/Casablanca",
	    "Europe/London",	"UTC",
	    "Asia/Tokyo",	"America/St_Johns",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		agree_with_glibc(zones[i]);
}

static void test_tz_utc_for_null_and_empty(void **state)
{
	struct sched_tz *tz = NULL;

	(void)state;
	assert_int_equal(sched_tz_open(&tz, NULL), 0);
	assert_string_equal(sched_tz_name(tz), "UTC");
	assert_int_equal(sched_tz_offset(tz, 1700000000, NULL, NULL), 0);
	sched_tz_free(tz);
	assert_int_equal(sched_tz_open(&tz, ""), 0);
	assert_int_equal(sched_tz_offset(tz, -1700000000, NULL, NULL), 0);
	sched_tz_free(tz);
}

static void test_tz_rejects_unsafe_and_unknown_names(void **state)
{
	static const char *const bad[] = {
	    "../../etc/passwd",
	    "/etc/localtime",
	    "Europe/../../etc/passwd",
	    "Mars/Olympus_Mons",
	    "Europe",
	    "zone.tab",
	    "Europe/Berlin/",
	    "Europe//Berlin",
	    ".hidden",
	    "Europe/Berlin\n",
	    "right/Europe/Berlin",
	};
	struct sched_tz *tz = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sched_tz_open(&tz, bad[i]), RV_INVALID);
		assert_null(tz);
		assert_non_null(strstr(rv_err_msg(), "time zone"));
	}
	assert_int_equal(sched_tz_open(&tz, "Mars/Olympus_Mons"), RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "unknown time zone"));
	assert_non_null(strstr(rv_err_msg(), "'Mars/Olympus_Mons'"));
}

static void test_tz_resolve_gap_and_overlap(void **state)
{
	struct sched_tz *tz = NULL;
	int64_t at[2], gap_end;
	int n;

	(void)state;
	assert_int_equal(sched_tz_open(&tz, "Europe/Berlin"), 0);
	/* 2026-03-29 02:30 does not exist: the gap ends 01:00Z. */
	sched_tz_resolve(at, &n, &gap_end, tz, 1774751400);
	assert_int_equal(n, 0);
	assert_int_equal(gap_end, 1774746000);
	/* 2026-10-25 02:30 happens at 00:30Z and at 01:30Z. */
	sched_tz_resolve(at, &n, &gap_end, tz, 1792895400);
	assert_int_equal(n, 2);
	assert_int_equal(at[0], 1792888200);
	assert_int_equal(at[1], 1792891800);
	/* An ordinary time. */
	sched_tz_resolve(at, &n, &gap_end, tz, 1792895400 + 86400);
	assert_int_equal(n, 1);
	assert_int_equal(at[0], 1792895400 + 86400 - 3600);
	sched_tz_free(tz);
}

static void test_tz_iso_week_matches_go(void **state)
{
	int y, w;

	(void)state;
	/* Go: 2021-01-03 is 2020-W53, 2021-01-04 is 2021-W01,
	 * 2024-12-30 is 2025-W01, 2026-12-31 is 2026-W53. */
	sched_iso_week(&y, &w, 2021, 1, 3);
	assert_int_equal(y * 100 + w, 202053);
	sched_iso_week(&y, &w, 2021, 1, 4);
	assert_int_equal(y * 100 + w, 202101);
	sched_iso_week(&y, &w, 2024, 12, 30);
	assert_int_equal(y * 100 + w, 202501);
	sched_iso_week(&y, &w, 2026, 12, 31);
	assert_int_equal(y * 100 + w, 202653);
	sched_iso_week(&y, &w, 2027, 1, 1);
	assert_int_equal(y * 100 + w, 202653);
}

static void test_tz_civil_roundtrip(void **state)
{
	int64_t d;
	int y, m, dd;

	(void)state;
	assert_int_equal(sched_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(sched_days_from_civil(2000, 3, 1), 11017);
	/* Month and day carry like mktime: 2024-02-31 is 2024-03-02. */
	assert_int_equal(sched_days_from_civil(2024, 2, 31),
			 sched_days_from_civil(2024, 3, 2));
	assert_int_equal(sched_days_from_civil(2024, 0, 1),
			 sched_days_from_civil(2023, 12, 1));
	assert_int_equal(sched_days_from_civil(2024, -13, 1),
			 sched_days_from_civil(2022, 11, 1));
	for (d = -800000; d < 3000000; d += 997) {
		sched_civil_from_days(d, &y, &m, &dd);
		assert_int_equal(sched_days_from_civil(y, m, dd), d);
	}
	assert_int_equal(sched_weekday(0), 4);
	assert_int_equal(sched_weekday(-1), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tz_matches_glibc_in_many_zones),
	    cmocka_unit_test(test_tz_utc_for_null_and_empty),
	    cmocka_unit_test(test_tz_rejects_unsafe_and_unknown_names),
	    cmocka_unit_test(test_tz_resolve_gap_and_overlap),
	    cmocka_unit_test(test_tz_iso_week_matches_go),
	    cmocka_unit_test(test_tz_civil_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
