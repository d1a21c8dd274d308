/* test_sched_cron.c - cron expressions: parser, next(), prev(), DST.
 *
 * Times are written as local wall time with their UTC offset
 * ("2026-03-29 03:00 +0200"), so every expectation is unambiguous even on
 * the days the clocks change. Zone conversion itself is checked against
 * glibc in test_sched_tz.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "schedules/cron.h"
#include "schedules/tz.h"
#include "util/err.h"

/* "YYYY-MM-DD HH:MM[:SS] +HHMM" to unix seconds. */
static int64_t at(const char *s)
{
	int y, mo, d, h, mi, sec = 0, off, n = 0;
	char sign;

	if (sscanf(s, "%d-%d-%d %d:%d:%d %c%d%n", &y, &mo, &d, &h, &mi, &sec,
		   &sign, &off, &n) != 8 ||
	    s[n] != '\0') {
		sec = 0;
		if (sscanf(s, "%d-%d-%d %d:%d %c%d%n", &y, &mo, &d, &h, &mi,
			   &sign, &off, &n) != 7 ||
		    s[n] != '\0')
			fail_msg("bad test time '%s'", s);
	}
	off = (off / 100 * 3600 + off % 100 * 60) * (sign == '-' ? -1 : 1);
	return sched_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	       sec - off;
}

/* t as "YYYY-MM-DD HH:MM +HHMM" in zone (":SS" too when not 0). */
static void show(char *out, size_t size, int64_t t, const char *zone)
{
	struct sched_tz *tz = NULL;
	struct sched_civil c;
	int32_t off;
	char secs[8] = "";

	assert_int_equal(sched_tz_open(&tz, zone), 0);
	sched_tz_local(&c, tz, t);
	off = sched_tz_offset(tz, t, NULL, NULL);
	if (c.second)
		snprintf(secs, sizeof(secs), ":%02d", c.second);
	snprintf(out, size, "%04d-%02d-%02d %02d:%02d%s %c%02d%02d", c.year,
		 c.month, c.day, c.hour, c.minute, secs, off < 0 ? '-' : '+',
		 abs(off) / 3600, abs(off) / 60 % 60);
	sched_tz_free(tz);
}

/* next() from `after`, repeatedly, must give exactly `want` (NULL-ended). */
static void expect_next(const char *expr, const char *zone, const char *after,
			const char *const *want)
{
	struct sched_cron *c = NULL;
	int64_t t = at(after), next;
	char got[64];
	size_t i;

	if (sched_cron_parse(&c, expr, zone) != 0)
		fail_msg("'%s' in %s: %s", expr, zone ? zone : "UTC",
			 rv_err_msg());
	for (i = 0; want[i]; i++) {
		assert_int_equal(sched_cron_next(&next, c, t), 0);
		show(got, sizeof(got), next, zone);
		if (strcmp(got, want[i]) != 0)
			fail_msg("'%s' in %s after %s: want %s, got %s", expr,
				 zone ? zone : "UTC", after, want[i], got);
		assert_true(next > t);
		t = next;
	}
	sched_cron_free(c);
}

static void expect_prev(const char *expr, const char *zone, const char *when,
			const char *want)
{
	struct sched_cron *c = NULL;
	int64_t prev;
	char got[64];

	assert_int_equal(sched_cron_parse(&c, expr, zone), 0);
	assert_int_equal(sched_cron_prev(&prev, c, at(when)), 0);
	show(got, sizeof(got), prev, zone);
	if (strcmp(got, want) != 0)
		fail_msg("prev '%s' in %s at %s: want %s, got %s", expr,
			 zone ? zone : "UTC", when, want, got);
	assert_true(prev <= at(when));
	sched_cron_free(c);
}

/* How many times expr fires in (from, to]. */
static int count_firings(const char *expr, const char *zone, const char *from,
			 const char *to)
{
	struct sched_cron *c = NULL;
	int64_t t = at(from), end = at(to), next;
	int n = 0;

	assert_int_equal(sched_cron_parse(&c, expr, zone), 0);
	for (;;) {
		assert_int_equal(sched_cron_next(&next, c, t), 0);
		if (next > end)
			break;
		n++;
		t = next;
	}
	sched_cron_free(c);
	return n;
}

#define WANT(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- parser ---- */

static void test_cron_parse_accepts_valid_expressions(void **state)
{
	static const char *const ok[] = {
	    "* * * * *",
	    "*/15 * * * *",
	    "0 2 * * *",
	    "0 8 * * MON-FRI",
	    "0 8 * * mon-fri",
	    "0 8 * * Mon,Wed,fri",
	    "0 0 1 JAN *",
	    "0 0 * jan-mar,OCT *",
	    "1-30/5 * * * *",
	    "5/15 * * * *",
	    "0 0 * * 7",
	    "0 0 * * 5-7",
	    "0 0 * * 0-6/2",
	    "0,30 9-17 * * 1-5",
	    "59 23 31 12 6",
	    "0 0 29 2 *",
	    "*/60 */24 */31 */12 */8",
	    "0-59 0-23 1-31 1-12 0-7",
	    "  0 2 * * *  ",
	    "0\t2\t*\t*\t*",
	    "@yearly",
	    "@annually",
	    "@monthly",
	    "@weekly",
	    "@daily",
	    "@midnight",
	    "@hourly",
	    "@DAILY",
	    " @hourly ",
	};
	struct sched_cron *c = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (sched_cron_parse(&c, ok[i], NULL) != 0)
			fail_msg("'%s' rejected: %s", ok[i], rv_err_msg());
		assert_non_null(c);
		assert_string_equal(sched_cron_zone(c), "UTC");
		sched_cron_free(c);
	}
	assert_int_equal(sched_cron_parse(&c, "0 2 * * *", "Europe/Berlin"), 0);
	assert_string_equal(sched_cron_zone(c), "Europe/Berlin");
	sched_cron_free(c);
	assert_int_equal(sched_cron_parse(&c, "0 2 * * *", ""), 0);
	assert_string_equal(sched_cron_zone(c), "UTC");
	sched_cron_free(c);
}

static void test_cron_parse_rejects_with_clear_messages(void **state)
{
	static const struct {
		const char *expr, *zone, *msg;
	} bad[] = {
	    {"", NULL, "cron expression '' is empty"},
	    {"   ", NULL, "is empty"},
	    {"60 * * * *", NULL,
	     "cron expression '60 * * * *': minute field '60': 60 is out of "
	     "range 0-59"},
	    {"* 24 * * *", NULL, "hour field '24': 24 is out of range 0-23"},
	    {"* * 0 * *", NULL,
	     "day-of-month field '0': 0 is out of range 1-31"},
	    {"* * 32 * *", NULL, "day-of-month field '32': 32 is out of range"},
	    {"* * * 13 *", NULL, "month field '13': 13 is out of range 1-12"},
	    {"* * * 0 *", NULL, "month field '0': 0 is out of range"},
	    {"* * * * 8", NULL, "day-of-week field '8': 8 is out of range 0-7"},
	    {"99999999999 * * * *", NULL, "is out of range 0-59"},
	    {"*/0 * * * *", NULL, "minute field '*/0': step 0 is not allowed"},
	    {"1-30/0 * * * *", NULL, "step 0 is not allowed"},
	    {"*/61 * * * *", NULL, "step 61 is larger than the field's range"},
	    {"30-10 * * * *", NULL,
	     "minute field '30-10': range 30-10 is reversed"},
	    {"* * * * FRI-SUN", NULL, "write FRI-SUN as 5-7"},
	    {"* * * DEC-JAN *", NULL, "range 12-1 is reversed"},
	    {"* * * * * *", NULL,
	     "has 6 fields, expected 5 (minute hour day-of-month month "
	     "day-of-week; seconds and years are not supported)"},
	    {"0 0 1 1 * 2026", NULL, "has 6 fields"},
	    {"* * * *", NULL, "has 4 fields, expected 5"},
	    {"hello world", NULL, "has 2 fields"},
	    {"a b c d e", NULL,
	     "minute field 'a': 'a' is not a number (names are only allowed "
	     "for months and weekdays)"},
	    {"0 MON * * *", NULL, "hour field 'MON': 'MON' is not a number"},
	    {"* * * FOO *", NULL,
	     "month field 'FOO': 'FOO' is not a month name (JAN-DEC)"},
	    {"* * * * MONDAY", NULL,
	     "'MONDAY' is not a day-of-week name (SUN-SAT)"},
	    {"1,,2 * * * *", NULL, "minute field '1,,2': empty list item"},
	    {"1, * * * *", NULL, "empty list item"},
	    {"*/ * * * *", NULL, "a step must be a number after '/'"},
	    {"*/x * * * *", NULL, "a step must be a number"},
	    {"-5 * * * *", NULL, "minute field '-5': unexpected '-'"},
	    {"1-2-3 * * * *", NULL, "unexpected '-'"},
	    {"5- * * * *", NULL, "a number is missing"},
	    {"** * * * *", NULL, "unexpected '*'"},
	    {"1.5 * * * *", NULL, "unexpected '.'"},
	    {"@reboot", NULL, "@reboot is not supported"},
	    {"@fortnightly", NULL, "unknown macro"},
	    {"@daily extra", NULL, "unknown macro"},
	    {"0 2 * * *", "Mars/Olympus_Mons",
	     "cron expression '0 2 * * *': unknown time zone "
	     "'Mars/Olympus_Mons'"},
	    {"0 2 * * *", "../../etc/passwd", "is not a tz database name"},
	    {"0 2 * * *", "/etc/localtime", "is not a tz database name"},
	    {"0 2 * * *\x01", NULL, "control or non-ASCII character"},
	};
	struct sched_cron *c = NULL;
	char longexpr[400];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = sched_cron_parse(&c, bad[i].expr, bad[i].zone);

		if (rc != RV_INVALID)
			fail_msg("'%s' gave %d, want RV_INVALID", bad[i].expr,
				 rc);
		assert_null(c);
		if (!strstr(rv_err_msg(), bad[i].msg))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].expr,
				 rv_err_msg(), bad[i].msg);
	}
	memset(longexpr, '1', sizeof(longexpr) - 1);
	longexpr[sizeof(longexpr) - 1] = '\0';
	assert_int_equal(sched_cron_parse(&c, longexpr, NULL), RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "longer than 256 characters"));
	assert_int_equal(sched_cron_parse(&c, NULL, NULL), RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "is empty"));
}

/* ---- next() in UTC ---- */

static void test_cron_next_every_minute_is_strictly_after(void **state)
{
	(void)state;
	expect_next("* * * * *", NULL, "2026-01-01 00:00:30 +0000",
		    WANT("2026-01-01 00:01 +0000", "2026-01-01 00:02 +0000"));
	expect_next("* * * * *", NULL, "2026-01-01 00:01 +0000",
		    WANT("2026-01-01 00:02 +0000"));
}

static void test_cron_next_every_15_minutes(void **state)
{
	(void)state;
	expect_next("*/15 * * * *", NULL, "2026-05-04 10:07 +0000",
		    WANT("2026-05-04 10:15 +0000", "2026-05-04 10:30 +0000",
			 "2026-05-04 10:45 +0000", "2026-05-04 11:00 +0000"));
	expect_next("1-30/10 * * * *", NULL, "2026-05-04 10:07 +0000",
		    WANT("2026-05-04 10:11 +0000", "2026-05-04 10:21 +0000",
			 "2026-05-04 11:01 +0000"));
	expect_next("5/20 * * * *", NULL, "2026-05-04 10:50 +0000",
		    WANT("2026-05-04 11:05 +0000", "2026-05-04 11:25 +0000",
			 "2026-05-04 11:45 +0000", "2026-05-04 12:05 +0000"));
}

static void test_cron_next_daily_at_two(void **state)
{
	(void)state;
	expect_next("0 2 * * *", NULL, "2026-01-01 02:00 +0000",
		    WANT("2026-01-02 02:00 +0000", "2026-01-03 02:00 +0000"));
	expect_next("0 2 * * *", NULL, "2026-01-01 01:59:59 +0000",
		    WANT("2026-01-01 02:00 +0000"));
	expect_next("@daily", NULL, "2026-02-28 12:00 +0000",
		    WANT("2026-03-01 00:00 +0000"));
}

static void test_cron_next_weekday_mornings(void **state)
{
	(void)state;
	/* 2026-01-02 is a Friday. */
	expect_next("0 8 * * MON-FRI", NULL, "2026-01-02 09:00 +0000",
		    WANT("2026-01-05 08:00 +0000", "2026-01-06 08:00 +0000",
			 "2026-01-07 08:00 +0000", "2026-01-08 08:00 +0000",
			 "2026-01-09 08:00 +0000", "2026-01-12 08:00 +0000"));
	expect_next("0 5 * * SUN", NULL, "2026-01-02 09:00 +0000",
		    WANT("2026-01-04 05:00 +0000", "2026-01-11 05:00 +0000"));
	expect_next("0 5 * * 7", NULL, "2026-01-02 09:00 +0000",
		    WANT("2026-01-04 05:00 +0000"));
	expect_next("@weekly", NULL, "2026-01-02 09:00 +0000",
		    WANT("2026-01-04 00:00 +0000"));
}

static void test_cron_next_monthly_31st_skips_short_months(void **state)
{
	(void)state;
	expect_next("0 0 31 * *", NULL, "2026-01-31 00:00 +0000",
		    WANT("2026-03-31 00:00 +0000", "2026-05-31 00:00 +0000",
			 "2026-07-31 00:00 +0000", "2026-08-31 00:00 +0000",
			 "2026-10-31 00:00 +0000", "2026-12-31 00:00 +0000",
			 "2027-01-31 00:00 +0000"));
	expect_next("@monthly", NULL, "2026-01-31 00:00 +0000",
		    WANT("2026-02-01 00:00 +0000", "2026-03-01 00:00 +0000"));
}

static void test_cron_next_feb_29_waits_for_leap_year(void **state)
{
	(void)state;
	expect_next("0 0 29 2 *", NULL, "2026-01-01 00:00 +0000",
		    WANT("2028-02-29 00:00 +0000", "2032-02-29 00:00 +0000"));
	/* 2100 is not a leap year: 8 years between 2096 and 2104. */
	expect_next("0 0 29 2 *", NULL, "2096-03-01 00:00 +0000",
		    WANT("2104-02-29 00:00 +0000"));
	expect_prev("0 0 29 2 *", NULL, "2027-06-01 00:00 +0000",
		    "2024-02-29 00:00 +0000");
}

static void test_cron_next_yearly_and_year_boundaries(void **state)
{
	(void)state;
	expect_next("@yearly", NULL, "2026-06-01 00:00 +0000",
		    WANT("2027-01-01 00:00 +0000", "2028-01-01 00:00 +0000"));
	expect_next("59 23 31 12 *", NULL, "2026-12-31 23:59 +0000",
		    WANT("2027-12-31 23:59 +0000"));
	expect_next("*/15 * * * *", NULL, "2026-12-31 23:50 +0000",
		    WANT("2027-01-01 00:00 +0000", "2027-01-01 00:15 +0000"));
	expect_next("0 0 1 1 *", NULL, "2026-12-31 23:59:59 +0000",
		    WANT("2027-01-01 00:00 +0000"));
	expect_next("0 12 * DEC,JAN *", NULL, "2026-12-31 12:00 +0000",
		    WANT("2027-01-01 12:00 +0000"));
}

static void test_cron_dom_and_dow_match_either(void **state)
{
	(void)state;
	/* Both restricted: every Friday, and every 13th. */
	expect_next("0 0 13 * FRI", NULL, "2026-02-01 00:00 +0000",
		    WANT("2026-02-06 00:00 +0000", "2026-02-13 00:00 +0000",
			 "2026-02-20 00:00 +0000", "2026-02-27 00:00 +0000",
			 "2026-03-06 00:00 +0000", "2026-03-13 00:00 +0000",
			 "2026-03-20 00:00 +0000", "2026-03-27 00:00 +0000",
			 "2026-04-03 00:00 +0000", "2026-04-10 00:00 +0000",
			 "2026-04-13 00:00 +0000"));
	/* February 31 never exists, but Mondays in February do. */
	expect_next("0 0 31 2 MON", NULL, "2026-01-01 00:00 +0000",
		    WANT("2026-02-02 00:00 +0000", "2026-02-09 00:00 +0000"));
	/* Day-of-week '*': only the day of month counts. */
	expect_next("0 0 13 * *", NULL, "2026-02-01 00:00 +0000",
		    WANT("2026-02-13 00:00 +0000", "2026-03-13 00:00 +0000"));
	/* A field that starts with '*' counts as unrestricted (Vixie): odd
	 * days AND Mondays. */
	expect_next("0 0 */2 * MON", NULL, "2026-02-01 00:00 +0000",
		    WANT("2026-02-09 00:00 +0000", "2026-02-23 00:00 +0000",
			 "2026-03-09 00:00 +0000"));
}

static void test_cron_never_fires_is_notfound_quickly(void **state)
{
	static const char *const never[] = {"0 0 30 2 *", "0 0 31 4,6,9,11 *",
					    "0 0 31 2 *", "* * 30-31 2 *"};
	struct sched_cron *c = NULL;
	clock_t start = clock();
	int64_t t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		assert_int_equal(
		    sched_cron_parse(&c, never[i], "Europe/Berlin"), 0);
		assert_int_equal(
		    sched_cron_next(&t, c, at("2026-01-01 00:00 +0000")),
		    RV_NOTFOUND);
		assert_non_null(strstr(rv_err_msg(), "never fires"));
		assert_int_equal(
		    sched_cron_prev(&t, c, at("2026-01-01 00:00 +0000")),
		    RV_NOTFOUND);
		sched_cron_free(c);
	}
	/* Well under a second for all of them, even under valgrind. */
	assert_true((double)(clock() - start) / CLOCKS_PER_SEC < 5.0);
}

static void test_cron_rejects_times_outside_years_1_to_9999(void **state)
{
	struct sched_cron *c = NULL;
	int64_t t;

	(void)state;
	assert_int_equal(sched_cron_parse(&c, "* * * * *", NULL), 0);
	assert_int_equal(sched_cron_next(&t, c, INT64_MAX), RV_INVALID);
	assert_int_equal(sched_cron_prev(&t, c, INT64_MIN), RV_INVALID);
	assert_int_equal(sched_cron_next(&t, c, SCHED_TIME_MAX), RV_NOTFOUND);
	assert_int_equal(sched_cron_prev(&t, c, SCHED_TIME_MIN), 0);
	assert_int_equal(t, SCHED_TIME_MIN);
	sched_cron_free(c);
}

/* ---- prev() ---- */

static void test_cron_prev_includes_the_instant_itself(void **state)
{
	(void)state;
	expect_prev("0 2 * * *", NULL, "2026-01-05 02:00 +0000",
		    "2026-01-05 02:00 +0000");
	expect_prev("0 2 * * *", NULL, "2026-01-05 01:59:59 +0000",
		    "2026-01-04 02:00 +0000");
	expect_prev("*/15 * * * *", NULL, "2026-01-05 10:07 +0000",
		    "2026-01-05 10:00 +0000");
	expect_prev("0 8 * * MON-FRI", NULL, "2026-01-04 12:00 +0000",
		    "2026-01-02 08:00 +0000");
	expect_prev("@yearly", NULL, "2026-01-01 00:00 +0000",
		    "2026-01-01 00:00 +0000");
	expect_prev("@yearly", NULL, "2025-12-31 23:59 +0000",
		    "2025-01-01 00:00 +0000");
	expect_prev("0 0 31 * *", NULL, "2026-03-30 00:00 +0000",
		    "2026-01-31 00:00 +0000");
}

/* next(prev(t)) > t and prev(next(t)) == next(t) for many t, expressions
 * and zones: next() and prev() agree on one set of firing times. */
static void test_cron_next_and_prev_agree(void **state)
{
	static const char *const exprs[] = {
	    "30 2 * * *", "0 * * * *",	  "*/20 1-3 * * *", "0 0 13 * FRI",
	    "@monthly",	  "15 1,2 * * 0", "0 0,12 * * *",
	};
	static const char *const zones[] = {"Europe/Berlin", "America/New_York",
					    "Australia/Lord_Howe", NULL};
	struct sched_cron *c = NULL;
	int64_t base = at("2026-01-01 00:00 +0000"), t, p, n, q;
	size_t e, z;
	int i;

	(void)state;
	for (e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
		for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
			assert_int_equal(
			    sched_cron_parse(&c, exprs[e], zones[z]), 0);
			for (i = 0; i < 120; i++) {
				t = base + (int64_t)i * 3 * 86400 + i * 4111;
				assert_int_equal(sched_cron_prev(&p, c, t), 0);
				assert_int_equal(sched_cron_next(&n, c, p), 0);
				assert_true(p <= t);
				assert_true(n > t);
				assert_int_equal(sched_cron_prev(&q, c, n), 0);
				assert_int_equal(q, n);
				assert_int_equal(sched_cron_prev(&q, c, n - 1),
						 0);
				assert_int_equal(q, p);
			}
			sched_cron_free(c);
		}
	}
}

/* ---- daylight saving time ---- */

static void test_cron_dst_berlin_spring_forward_runs_once(void **state)
{
	(void)state;
	/* 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist. */
	expect_next("30 2 * * *", "Europe/Berlin", "2026-03-28 03:00 +0100",
		    WANT("2026-03-29 03:00 +0200", "2026-03-30 02:30 +0200"));
	expect_next("0 2 * * *", "Europe/Berlin", "2026-03-28 03:00 +0100",
		    WANT("2026-03-29 03:00 +0200", "2026-03-30 02:00 +0200"));
	/* Several skipped times run once together at the end of the gap,
	 * merged with a job at 03:00 itself. */
	expect_next("0,30 2,3 * * *", "Europe/Berlin", "2026-03-29 00:00 +0100",
		    WANT("2026-03-29 03:00 +0200", "2026-03-29 03:30 +0200",
			 "2026-03-30 02:00 +0200"));
	/* Outside the gap nothing moves. */
	expect_next("15 3 * * *", "Europe/Berlin", "2026-03-28 04:00 +0100",
		    WANT("2026-03-29 03:15 +0200", "2026-03-30 03:15 +0200"));
	expect_next("30 1 * * *", "Europe/Berlin", "2026-03-28 04:00 +0100",
		    WANT("2026-03-29 01:30 +0100"));
	assert_int_equal(count_firings("30 2 * * *", "Europe/Berlin",
				       "2026-03-29 00:00 +0100",
				       "2026-03-29 23:59 +0200"),
			 1);
}

static void test_cron_dst_berlin_fall_back_runs_once(void **state)
{
	(void)state;
	/* 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice. */
	expect_next("30 2 * * *", "Europe/Berlin", "2026-10-24 03:00 +0200",
		    WANT("2026-10-25 02:30 +0200", "2026-10-26 02:30 +0100"));
	/* Asked during the second 02:00-03:00, the run is already past. */
	expect_next("30 2 * * *", "Europe/Berlin", "2026-10-25 02:10 +0100",
		    WANT("2026-10-26 02:30 +0100"));
	expect_next("*/20 2 * * *", "Europe/Berlin", "2026-10-25 01:00 +0200",
		    WANT("2026-10-25 02:00 +0200", "2026-10-25 02:20 +0200",
			 "2026-10-25 02:40 +0200", "2026-10-26 02:00 +0100"));
	assert_int_equal(count_firings("30 2 * * *", "Europe/Berlin",
				       "2026-10-25 00:00 +0200",
				       "2026-10-25 23:59 +0100"),
			 1);
	expect_prev("30 2 * * *", "Europe/Berlin", "2026-10-25 02:45 +0100",
		    "2026-10-25 02:30 +0200");
	expect_prev("30 2 * * *", "Europe/Berlin", "2026-03-29 12:00 +0200",
		    "2026-03-29 03:00 +0200");
}

static void test_cron_dst_berlin_hourly_follows_the_clock(void **state)
{
	(void)state;
	assert_int_equal(count_firings("0 * * * *", "Europe/Berlin",
				       "2026-03-28 23:59 +0100",
				       "2026-03-29 23:59 +0200"),
			 23);
	assert_int_equal(count_firings("@hourly", "Europe/Berlin",
				       "2026-10-24 23:59 +0200",
				       "2026-10-25 23:59 +0100"),
			 25);
	assert_int_equal(count_firings("0 * * * *", "Europe/Berlin",
				       "2026-10-25 23:59 +0100",
				       "2026-10-26 23:59 +0100"),
			 24);
	assert_int_equal(count_firings("*/30 * * * *", "Europe/Berlin",
				       "2026-03-28 23:59 +0100",
				       "2026-03-29 23:59 +0200"),
			 46);
	expect_next("0 * * * *", "Europe/Berlin", "2026-03-29 01:00 +0100",
		    WANT("2026-03-29 03:00 +0200", "2026-03-29 04:00 +0200"));
	expect_next("0 * * * *", "Europe/Berlin", "2026-10-25 01:00 +0200",
		    WANT("2026-10-25 02:00 +0200", "2026-10-25 02:00 +0100",
			 "2026-10-25 03:00 +0100"));
	/* "30 * * * *" skips 02:30 (it does not exist) instead of moving it. */
	expect_next("30 * * * *", "Europe/Berlin", "2026-03-29 01:00 +0100",
		    WANT("2026-03-29 01:30 +0100", "2026-03-29 03:30 +0200"));
}

static void test_cron_dst_new_york_both_directions(void **state)
{
	const char *ny = "America/New_York";

	(void)state;
	/* 2026-03-08: 02:00 EST becomes 03:00 EDT. */
	expect_next("30 2 * * *", ny, "2026-03-07 12:00 -0500",
		    WANT("2026-03-08 03:00 -0400", "2026-03-09 02:30 -0400"));
	expect_next("0 2 * * 0", ny, "2026-03-01 12:00 -0500",
		    WANT("2026-03-08 03:00 -0400", "2026-03-15 02:00 -0400"));
	/* 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:30 happens twice. */
	expect_next("30 1 * * *", ny, "2026-10-31 12:00 -0400",
		    WANT("2026-11-01 01:30 -0400", "2026-11-02 01:30 -0500"));
	/* 02:30 exists once on the fall-back day. */
	expect_next("30 2 * * *", ny, "2026-10-31 12:00 -0400",
		    WANT("2026-11-01 02:30 -0500", "2026-11-02 02:30 -0500"));
	assert_int_equal(count_firings("0 * * * *", ny,
				       "2026-03-07 23:59 -0500",
				       "2026-03-08 23:59 -0400"),
			 23);
	assert_int_equal(count_firings("0 * * * *", ny,
				       "2026-10-31 23:59 -0400",
				       "2026-11-01 23:59 -0500"),
			 25);
	assert_int_equal(count_firings("*/10 1 * * *", ny,
				       "2026-10-31 23:59 -0400",
				       "2026-11-01 23:59 -0500"),
			 6);
	expect_prev("30 1 * * *", ny, "2026-11-01 01:45 -0500",
		    "2026-11-01 01:30 -0400");
}

static void test_cron_dst_southern_hemisphere_and_half_hour(void **state)
{
	(void)state;
	/* Sydney: 2026-10-04 02:00 AEST becomes 03:00 AEDT;
	 * 2026-04-05 03:00 AEDT becomes 02:00 AEST. */
	expect_next("30 2 * * *", "Australia/Sydney", "2026-10-03 12:00 +1000",
		    WANT("2026-10-04 03:00 +1100", "2026-10-05 02:30 +1100"));
	expect_next("30 2 * * *", "Australia/Sydney", "2026-04-04 12:00 +1100",
		    WANT("2026-04-05 02:30 +1100", "2026-04-06 02:30 +1000"));
	/* Lord Howe moves by 30 minutes: 2026-10-04 02:00 becomes 02:30. */
	expect_next("15 2 * * *", "Australia/Lord_Howe",
		    "2026-10-03 12:00 +1030",
		    WANT("2026-10-04 02:30 +1100", "2026-10-05 02:15 +1100"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cron_parse_accepts_valid_expressions),
	    cmocka_unit_test(test_cron_parse_rejects_with_clear_messages),
	    cmocka_unit_test(test_cron_next_every_minute_is_strictly_after),
	    cmocka_unit_test(test_cron_next_every_15_minutes),
	    cmocka_unit_test(test_cron_next_daily_at_two),
	    cmocka_unit_test(test_cron_next_weekday_mornings),
	    cmocka_unit_test(test_cron_next_monthly_31st_skips_short_months),
	    cmocka_unit_test(test_cron_next_feb_29_waits_for_leap_year),
	    cmocka_unit_test(test_cron_next_yearly_and_year_boundaries),
	    cmocka_unit_test(test_cron_dom_and_dow_match_either),
	    cmocka_unit_test(test_cron_never_fires_is_notfound_quickly),
	    cmocka_unit_test(test_cron_rejects_times_outside_years_1_to_9999),
	    cmocka_unit_test(test_cron_prev_includes_the_instant_itself),
	    cmocka_unit_test(test_cron_next_and_prev_agree),
	    cmocka_unit_test(test_cron_dst_berlin_spring_forward_runs_once),
	    cmocka_unit_test(test_cron_dst_berlin_fall_back_runs_once),
	    cmocka_unit_test(test_cron_dst_berlin_hourly_follows_the_clock),
	    cmocka_unit_test(test_cron_dst_new_york_both_directions),
	    cmocka_unit_test(test_cron_dst_southern_hemisphere_and_half_hour),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
