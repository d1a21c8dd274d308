/* test_sched_retention.c - forget policies, table-driven like restic's
 * TestApplyPolicy: one fixed list of 41 snapshots over two years (several
 * a day, gaps, two in the same second, several in one hour, a year end
 * that falls in ISO week 1), about 20 policies, and for each the kept set
 * written out. The sets were worked out by hand from the rules (notes next
 * to each) and cross-checked against a line-by-line re-statement of
 * restic's ApplyPolicy in Python (datetime.isocalendar() = Go's ISOWeek).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "schedules/retention.h"
#include "schedules/tz.h"
#include "util/err.h"

/* "YYYY-MM-DD HH:MM:SS" UTC to unix seconds. */
static int64_t utc(const char *s)
{
	int y, mo, d, h, mi, sec;

	if (sscanf(s, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &sec) != 6)
		fail_msg("bad test time '%s'", s);
	return sched_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	       sec;
}

/* In a scrambled order on purpose (the function must sort); s30 comes
 * before s29, which has the same time, so ties keep this order. */
static const struct {
	const char *id, *time;
} list[] = {
    {"s25", "2025-12-03 03:00:00"}, {"s24", "2025-12-01 03:00:00"},
    {"s05", "2024-07-04 12:00:00"}, {"s21", "2025-11-01 03:00:00"},
    {"s36", "2025-12-10 03:10:00"}, {"s22", "2025-11-24 03:00:00"},
    {"s20", "2025-10-01 03:00:00"}, {"s31", "2025-12-08 09:15:00"},
    {"s39", "2025-12-10 05:00:00"}, {"s33", "2025-12-09 03:00:00"},
    {"s10", "2024-12-31 22:00:00"}, {"s03", "2024-03-31 23:30:00"},
    {"s37", "2025-12-10 03:20:00"}, {"s15", "2025-02-14 03:00:00"},
    {"s41", "2025-12-10 06:00:00"}, {"s26", "2025-12-03 15:00:00"},
    {"s27", "2025-12-04 03:00:00"}, {"s06", "2024-09-01 03:00:00"},
    {"s09", "2024-12-30 03:00:00"}, {"s14", "2025-01-06 03:00:00"},
    {"s07", "2024-11-11 03:00:00"}, {"s01", "2024-01-15 03:00:00"},
    {"s30", "2025-12-08 03:00:00"}, {"s19", "2025-08-15 03:00:00"},
    {"s38", "2025-12-10 04:05:00"}, {"s18", "2025-06-01 03:00:00"},
    {"s13", "2025-01-05 03:00:00"}, {"s32", "2025-12-08 09:45:00"},
    {"s28", "2025-12-07 03:00:00"}, {"s35", "2025-12-10 03:00:00"},
    {"s12", "2025-01-01 03:00:00"}, {"s08", "2024-12-29 03:00:00"},
    {"s11", "2024-12-31 23:30:00"}, {"s04", "2024-05-20 03:00:00"},
    {"s16", "2025-03-15 03:00:00"}, {"s29", "2025-12-08 03:00:00"},
    {"s02", "2024-02-10 03:00:00"}, {"s34", "2025-12-09 21:00:00"},
    {"s23", "2025-11-30 03:00:00"}, {"s17", "2025-04-30 03:00:00"},
    {"s40", "2025-12-10 05:59:59"},
};
#define NSNAPS (sizeof(list) / sizeof(list[0]))
/* "now" for every table case: six hours after the newest snapshot. */
#define NOW "2025-12-10 12:00:00"

struct reason_case {
	const char *id, *reasons;
};

struct policy_case {
	const char *name;
	struct sched_keep keep;
	const char *zone;
	const char *kept; /* ids, ascending, space-separated */
	struct reason_case reasons[4];
};

#define CAL(y, m, d, h) ((struct sched_duration){(y), (m), (d), (h)})

static const struct policy_case cases[] = {
    /* The three newest. */
    {"last 3", {.last = 3}, NULL, "s39 s40 s41", {{"s41", "last snapshot"}}},
    /* Newest of each day: Dec 10 s41, 9 s34, 8 s32, 7 s28, 4 s27,
     * 3 s26, 1 s24; the count is used up before the oldest. */
    {"daily 7",
     {.daily = 7},
     NULL,
     "s24 s26 s27 s28 s32 s34 s41",
     {{"s26", "daily snapshot"}}},
    /* ISO weeks: 2025-W50 s41, W49 (Dec 1-7) s28, W48 s23, W44 s21. */
    {"weekly 4", {.weekly = 4}, NULL, "s21 s23 s28 s41", {{NULL, NULL}}},
    /* Dec s41, Nov s23, Oct s20, Aug s19, Jun s18, Apr s17, Mar s16,
     * Feb s15, Jan 2025 s14, Dec 2024 s11, Nov s07, Sep s06. */
    {"monthly 12",
     {.monthly = 12},
     NULL,
     "s06 s07 s11 s14 s15 s16 s17 s18 s19 s20 s23 s41",
     {{NULL, NULL}}},
    /* 2025 s41, 2024 s11 (23:30 on Dec 31), then 8 counts are left when
     * the oldest is reached: s01 is kept too. */
    {"yearly 10",
     {.yearly = 10},
     NULL,
     "s01 s11 s41",
     {{"s01", "oldest yearly snapshot"}, {"s11", "yearly snapshot"}}},
    /* Dec 10 06h s41, 05h s40 (05:59:59 beats 05:00), 04h s38,
     * 03h s37 (03:20 beats 03:10 and 03:00), Dec 9 21h s34. */
    {"hourly 5", {.hourly = 5}, NULL, "s34 s37 s38 s40 s41", {{NULL, NULL}}},
    /* Newer than Dec 7 06:00 (newest minus 3 days): Dec 8 onwards. */
    {"within 3d",
     {.within = CAL(0, 0, 3, 0)},
     NULL,
     "s29 s30 s31 s32 s33 s34 s35 s36 s37 s38 s39 s40 s41",
     {{"s29", "within 3d"}}},
    /* The same in plain seconds. */
    {"within 259200 s",
     {.within_seconds = 3 * 86400},
     NULL,
     "s29 s30 s31 s32 s33 s34 s35 s36 s37 s38 s39 s40 s41",
     {{"s35", "within 3d"}}},
    /* Every day's newest: 29 distinct days; s10 shares Dec 31 with s11,
     * and the Dec 3/8/9/10 extras go. */
    {"daily unlimited",
     {.daily = -1},
     NULL,
     "s01 s02 s03 s04 s05 s06 s07 s08 s09 s11 s12 s13 s14 s15 s16 s17 "
     "s18 s19 s20 s21 s22 s23 s24 s26 s27 s28 s32 s34 s41",
     {{"s01", "daily snapshot"}}},
    /* Nothing set: everything stays. */
    {"empty policy",
     {0},
     NULL,
     "s01 s02 s03 s04 s05 s06 s07 s08 s09 s10 s11 s12 s13 s14 s15 s16 "
     "s17 s18 s19 s20 s21 s22 s23 s24 s25 s26 s27 s28 s29 s30 s31 s32 "
     "s33 s34 s35 s36 s37 s38 s39 s40 s41",
     {{"s10", "policy is empty"}}},
    /* last: s41 s40; daily: s41 s34 s32; weekly: s41 s28; monthly:
     * s41 s23 s20; yearly: s41 s11. */
    {"last 2 daily 3 weekly 2 monthly 3 yearly 2",
     {.last = 2, .daily = 3, .weekly = 2, .monthly = 3, .yearly = 2},
     NULL,
     "s11 s20 s23 s28 s32 s34 s40 s41",
     {{"s41", "last snapshot, daily snapshot, weekly snapshot, monthly "
	      "snapshot, yearly snapshot"},
      {"s40", "last snapshot"},
      {"s28", "weekly snapshot"},
      {"s11", "yearly snapshot"}}},
    /* daily: s41 s34 s32; weekly: s41 s28 s23 s21. */
    {"daily 3 weekly 4",
     {.daily = 3, .weekly = 4},
     NULL,
     "s21 s23 s28 s32 s34 s41",
     {{"s41", "daily snapshot, weekly snapshot"}}},
    /* Newer than 2025-11-10 06:00: Nov 24 onwards. */
    {"within 1m",
     {.within = CAL(0, 1, 0, 0)},
     NULL,
     "s22 s23 s24 s25 s26 s27 s28 s29 s30 s31 s32 s33 s34 s35 s36 s37 "
     "s38 s39 s40 s41",
     {{"s22", "within 1m"}}},
    /* Newer than 2024-10-10 06:00: Nov 11 2024 onwards. */
    {"within 1y2m",
     {.within = CAL(1, 2, 0, 0)},
     NULL,
     "s07 s08 s09 s10 s11 s12 s13 s14 s15 s16 s17 s18 s19 s20 s21 s22 "
     "s23 s24 s25 s26 s27 s28 s29 s30 s31 s32 s33 s34 s35 s36 s37 s38 "
     "s39 s40 s41",
     {{"s07", "within 1y2m"}}},
    /* More than there are: all, by position. */
    {"last 100",
     {.last = 100},
     NULL,
     "s01 s02 s03 s04 s05 s06 s07 s08 s09 s10 s11 s12 s13 s14 s15 s16 "
     "s17 s18 s19 s20 s21 s22 s23 s24 s25 s26 s27 s28 s29 s30 s31 s32 "
     "s33 s34 s35 s36 s37 s38 s39 s40 s41",
     {{"s01", "last snapshot"}}},
    /* Every month's newest: 17 months have a snapshot. */
    {"monthly unlimited",
     {.monthly = -1},
     NULL,
     "s01 s02 s03 s04 s05 s06 s07 s11 s14 s15 s16 s17 s18 s19 s20 s23 "
     "s41",
     {{NULL, NULL}}},
    /* Newer than Dec 9 18:00, plus the newest. */
    {"within 12h last 1",
     {.last = 1, .within = CAL(0, 0, 0, 12)},
     NULL,
     "s34 s35 s36 s37 s38 s39 s40 s41",
     {{"s41", "within 12h, last snapshot"}, {"s34", "within 12h"}}},
    /* Newer than Dec 8 06:00 (s29, s30 at 03:00 are not), and the
     * daily 7 of above. */
    {"daily 7 within 2d",
     {.daily = 7, .within = CAL(0, 0, 2, 0)},
     NULL,
     "s24 s26 s27 s28 s31 s32 s33 s34 s35 s36 s37 s38 s39 s40 s41",
     {{"s32", "within 2d, daily snapshot"},
      {"s31", "within 2d"},
      {"s24", "daily snapshot"}}},
    /* 20 ISO weeks have one; 2024-12-30 and -31 and 2025-01-01..05 are
     * all 2025-W01, whose newest is s13 (Jan 5). */
    {"weekly 30",
     {.weekly = 30},
     NULL,
     "s01 s02 s03 s04 s05 s06 s07 s08 s13 s14 s15 s16 s17 s18 s19 s20 "
     "s21 s23 s28 s41",
     {{"s08", "weekly snapshot"}}},
    /* Every distinct hour (36 of them); of s29/s30 (same second) the one
     * given first, s30, is "newer" (stable order, as restic). */
    {"hourly 48",
     {.hourly = 48},
     NULL,
     "s01 s02 s03 s04 s05 s06 s07 s08 s09 s10 s11 s12 s13 s14 s15 s16 "
     "s17 s18 s19 s20 s21 s22 s23 s24 s25 s26 s27 s28 s30 s32 s33 s34 "
     "s37 s38 s40 s41",
     {{"s30", "hourly snapshot"}}},
    /* In Berlin s11 (23:30Z) is 2025-01-01 00:30: 2024's newest is s10. */
    {"yearly 10 in Berlin",
     {.yearly = 10},
     "Europe/Berlin",
     "s01 s10 s41",
     {{"s10", "yearly snapshot"}, {"s01", "oldest yearly snapshot"}}},
    {"monthly 12 in Berlin",
     {.monthly = 12},
     "Europe/Berlin",
     "s06 s07 s10 s14 s15 s16 s17 s18 s19 s20 s23 s41",
     {{NULL, NULL}}},
    {"daily 5 in Berlin",
     {.daily = 5},
     "Europe/Berlin",
     "s27 s28 s32 s34 s41",
     {{NULL, NULL}}},
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The kept ids, ascending, space-separated. */
static void kept_ids(char *out, size_t size, const struct sched_decision *dec,
		     const struct sched_snap *snaps, size_t n)
{
	const char *ids[64];
	size_t i, k = 0, used = 0;

	out[0] = '\0';
	for (i = 0; i < n; i++)
		if (dec[i].keep)
			ids[k++] = snaps[i].id;
	qsort(ids, k, sizeof(ids[0]), cmp_str);
	for (i = 0; i < k; i++)
		used += (size_t)snprintf(out + used, size - used, "%s%s",
					 i ? " " : "", ids[i]);
}

static void test_retention_table_like_restic(void **state)
{
	struct sched_snap snaps[NSNAPS];
	struct sched_decision dec[NSNAPS];
	char got[512];
	size_t c, i, r;

	(void)state;
	for (i = 0; i < NSNAPS; i++)
		snaps[i] = (struct sched_snap){list[i].id, utc(list[i].time)};
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct policy_case *pc = &cases[c];

		if (sched_retention_apply(dec, snaps, NSNAPS, &pc->keep,
					  pc->zone, utc(NOW)) != 0)
			fail_msg("%s: %s", pc->name, rv_err_msg());
		kept_ids(got, sizeof(got), dec, snaps, NSNAPS);
		if (strcmp(got, pc->kept) != 0)
			fail_msg("%s:\n want %s\n got  %s", pc->name, pc->kept,
				 got);
		for (i = 0; i < NSNAPS; i++) {
			/* Reasons exactly when kept. */
			assert_int_equal(dec[i].keep,
					 dec[i].reasons[0] != '\0');
			for (r = 0; r < 4 && pc->reasons[r].id; r++) {
				if (strcmp(snaps[i].id, pc->reasons[r].id) ==
					0 &&
				    strcmp(dec[i].reasons,
					   pc->reasons[r].reasons) != 0)
					fail_msg("%s: %s: want '%s', got '%s'",
						 pc->name, snaps[i].id,
						 pc->reasons[r].reasons,
						 dec[i].reasons);
			}
		}
	}
}

/* restic keeps the oldest snapshot while a bucket has count left, even if
 * its period already has a newer one. */
static void test_retention_keeps_oldest_while_count_left(void **state)
{
	struct sched_snap snaps[] = {
	    {"a", utc("2025-01-02 10:00:00")},
	    {"b", utc("2025-01-02 09:00:00")},
	    {"c", utc("2025-01-01 10:00:00")},
	    {"d", utc("2025-01-01 08:00:00")},
	};
	struct sched_decision dec[4];
	struct sched_keep daily7 = {.daily = 7}, daily2 = {.daily = 2};
	char got[64];

	(void)state;
	assert_int_equal(sched_retention_apply(dec, snaps, 4, &daily7, NULL,
					       utc("2025-02-01 00:00:00")),
			 0);
	kept_ids(got, sizeof(got), dec, snaps, 4);
	assert_string_equal(got, "a c d");
	assert_string_equal(dec[3].reasons, "oldest daily snapshot");
	assert_string_equal(dec[2].reasons, "daily snapshot");
	/* Count used up by a and c: d goes. */
	assert_int_equal(sched_retention_apply(dec, snaps, 4, &daily2, NULL,
					       utc("2025-02-01 00:00:00")),
			 0);
	kept_ids(got, sizeof(got), dec, snaps, 4);
	assert_string_equal(got, "a c");
	assert_string_equal(dec[1].reasons, "");
}

/* keep-within counts from the newest snapshot that is not in the future,
 * not from now. */
static void test_retention_within_ignores_future_snapshots(void **state)
{
	struct sched_snap snaps[] = {
	    {"future", utc("2026-01-05 00:00:00")},
	    {"new", utc("2025-12-10 06:00:00")},
	    {"mid", utc("2025-12-08 06:00:01")},
	    {"edge", utc("2025-12-07 06:00:00")},
	    {"old", utc("2025-11-01 00:00:00")},
	};
	struct sched_decision dec[5];
	struct sched_keep within3d = {.within = CAL(0, 0, 3, 0)};
	struct sched_keep last1 = {.last = 1};
	char got[64];

	(void)state;
	/* now is long after "new": still measured from "new", and "edge"
	 * (exactly 3 days older) is not strictly newer. */
	assert_int_equal(sched_retention_apply(dec, snaps, 5, &within3d, NULL,
					       utc("2025-12-20 00:00:00")),
			 0);
	kept_ids(got, sizeof(got), dec, snaps, 5);
	assert_string_equal(got, "future mid new");
	/* keep-last counts the future one like any other. */
	assert_int_equal(sched_retention_apply(dec, snaps, 5, &last1, NULL,
					       utc("2025-12-20 00:00:00")),
			 0);
	kept_ids(got, sizeof(got), dec, snaps, 5);
	assert_string_equal(got, "future");
	/* All in the future: restic measures from the zero time and keeps
	 * them all. */
	assert_int_equal(sched_retention_apply(dec, snaps, 5, &within3d, NULL,
					       utc("2020-01-01 00:00:00")),
			 0);
	kept_ids(got, sizeof(got), dec, snaps, 5);
	assert_string_equal(got, "edge future mid new old");
}

/* Months are calendar months like Go's AddDate: March 31 minus one month
 * is "February 31", which is March 3 (2025). */
static void test_retention_within_uses_calendar_months(void **state)
{
	struct sched_snap snaps[] = {
	    {"latest", utc("2025-03-31 12:00:00")},
	    {"after", utc("2025-03-03 12:00:01")},
	    {"at", utc("2025-03-03 12:00:00")},
	    {"before", utc("2025-03-02 12:00:00")},
	};
	struct sched_decision dec[4];
	struct sched_keep k = {.within = CAL(0, 1, 0, 0)};
	char got[64];

	(void)state;
	assert_int_equal(sched_retention_apply(dec, snaps, 4, &k, NULL,
					       utc("2025-04-01 00:00:00")),
			 0);
	kept_ids(got, sizeof(got), dec, snaps, 4);
	assert_string_equal(got, "after latest");
}

/* Days are calendar days in the zone: across the spring-forward night in
 * Berlin, "2d" is 47 hours. */
static void test_retention_within_days_follow_the_zone(void **state)
{
	struct sched_snap snaps[] = {
	    {"latest", utc("2025-03-31 10:00:00")}, /* 12:00 CEST */
	    {"x", utc("2025-03-29 10:30:00")},	    /* 11:30 CET */
	};
	struct sched_decision dec[2];
	struct sched_keep k = {.within = CAL(0, 0, 2, 0)};

	(void)state;
	assert_int_equal(sched_retention_apply(dec, snaps, 2, &k, NULL,
					       utc("2025-04-01 00:00:00")),
			 0);
	assert_int_equal(dec[1].keep, 1); /* UTC: 48 h, 10:00Z */
	assert_int_equal(sched_retention_apply(dec, snaps, 2, &k,
					       "Europe/Berlin",
					       utc("2025-04-01 00:00:00")),
			 0);
	assert_int_equal(dec[1].keep, 0); /* Berlin: 12:00 CET = 11:00Z */
}

static void test_retention_rejects_bad_policies(void **state)
{
	struct sched_snap snaps[] = {{"a", utc("2025-01-01 00:00:00")}};
	struct sched_decision dec[1];
	struct sched_keep k;

	(void)state;
	k = (struct sched_keep){.last = -2};
	assert_int_equal(sched_retention_apply(dec, snaps, 1, &k, NULL, 0),
			 RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "keep-last -2"));
	k = (struct sched_keep){.weekly = -7};
	assert_int_equal(sched_retention_apply(dec, snaps, 1, &k, NULL, 0),
			 RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "keep-weekly -7"));
	assert_non_null(strstr(rv_err_msg(), "-1 for unlimited"));
	k = (struct sched_keep){.within = CAL(0, 0, -1, 0)};
	assert_int_equal(sched_retention_apply(dec, snaps, 1, &k, NULL, 0),
			 RV_INVALID);
	k = (struct sched_keep){.within_seconds = -5};
	assert_int_equal(sched_retention_apply(dec, snaps, 1, &k, NULL, 0),
			 RV_INVALID);
	k = (struct sched_keep){.daily = 1};
	assert_int_equal(
	    sched_retention_apply(dec, snaps, 1, &k, "Nowhere/Town", 0),
	    RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "'Nowhere/Town'"));
	/* No snapshots: nothing to decide, not an error. */
	assert_int_equal(sched_retention_apply(dec, snaps, 0, &k, NULL, 0), 0);
}

static void test_retention_duration_parse(void **state)
{
	static const char *const bad[] = {
	    "",	    "d",   "3",	  "3w",	     "-3d",  "1d1d", "3D",
	    "1.5d", " 3d", "3d ", "100001d", "1y2x", "h3",
	};
	struct sched_duration d;
	int64_t s;
	char text[64];
	size_t i;

	(void)state;
	assert_int_equal(sched_duration_parse_cal(&d, "1y2m3d4h"), 0);
	assert_int_equal(d.years, 1);
	assert_int_equal(d.months, 2);
	assert_int_equal(d.days, 3);
	assert_int_equal(d.hours, 4);
	sched_duration_format(text, sizeof(text), &d);
	assert_string_equal(text, "1y2m3d4h");
	assert_int_equal(sched_duration_parse_cal(&d, "4h1y"), 0);
	sched_duration_format(text, sizeof(text), &d);
	assert_string_equal(text, "1y4h");
	assert_int_equal(sched_duration_parse(&s, "30d"), 0);
	assert_int_equal(s, 30 * 86400);
	assert_int_equal(sched_duration_parse(&s, "12h"), 0);
	assert_int_equal(s, 12 * 3600);
	assert_int_equal(sched_duration_parse(&s, "1m"), 0);
	assert_int_equal(s, 30 * 86400);
	assert_int_equal(sched_duration_parse(&s, "1y1d"), 0);
	assert_int_equal(s, 366 * 86400);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sched_duration_parse(&s, bad[i]) != RV_INVALID)
			fail_msg("duration '%s' accepted", bad[i]);
		assert_non_null(strstr(rv_err_msg(), "duration '"));
	}
	assert_int_equal(sched_duration_parse(&s, "3w"), RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "unknown unit 'w'"));
	assert_int_equal(sched_duration_parse(&s, "1d1d"), RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "given twice"));
}

/* The longest reasons text fits: every bucket, each "oldest", and a long
 * keep-within. */
static void test_retention_longest_reasons_fit(void **state)
{
	struct sched_snap snaps[] = {
	    {"a", utc("2025-01-01 10:00:10")},
	    {"b", utc("2025-01-01 10:00:00")},
	};
	struct sched_decision dec[2];
	struct sched_keep k = {.last = 5,
			       .hourly = 5,
			       .daily = 5,
			       .weekly = 5,
			       .monthly = 5,
			       .yearly = 5,
			       .within = CAL(99999, 99999, 99999, 99999)};

	(void)state;
	assert_int_equal(sched_retention_apply(dec, snaps, 2, &k, NULL,
					       utc("2025-02-01 00:00:00")),
			 0);
	assert_string_equal(
	    dec[1].reasons,
	    "within 99999y99999m99999d99999h, last snapshot, oldest hourly "
	    "snapshot, oldest daily snapshot, oldest weekly snapshot, oldest "
	    "monthly snapshot, oldest yearly snapshot");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retention_table_like_restic),
	    cmocka_unit_test(test_retention_keeps_oldest_while_count_left),
	    cmocka_unit_test(test_retention_within_ignores_future_snapshots),
	    cmocka_unit_test(test_retention_within_uses_calendar_months),
	    cmocka_unit_test(test_retention_within_days_follow_the_zone),
	    cmocka_unit_test(test_retention_rejects_bad_policies),
	    cmocka_unit_test(test_retention_duration_parse),
	    cmocka_unit_test(test_retention_longest_reasons_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
