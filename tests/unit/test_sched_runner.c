/* test_sched_runner.c - when a schedule is due (the pure rule over a
 * simulated week, gaps, DST, first sight) and one pass over schedules
 * with a real catalog and a fake job (claim once, interrupted jobs,
 * changed timing, stop between jobs).
 *
 * Times are written as local wall time with their UTC offset
 * ("2026-03-29 03:00 +0200"), as in test_sched_cron.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "catalog/catalog.h"
#include "schedules/cron.h"
#include "schedules/runner.h"
#include "schedules/tz.h"
#include "util/err.h"

/* "YYYY-MM-DD HH:MM +HHMM" to unix seconds. */
static int64_t at(const char *s)
{
	int y, mo, d, h, mi, off, n = 0;
	char sign;

	if (sscanf(s, "%d-%d-%d %d:%d %c%d%n", &y, &mo, &d, &h, &mi, &sign,
		   &off, &n) != 7 ||
	    s[n] != '\0')
		fail_msg("bad test time '%s'", s);
	off = (off / 100 * 3600 + off % 100 * 60) * (sign == '-' ? -1 : 1);
	return sched_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 -
	       off;
}

static struct sched_cron *cron(const char *expr, const char *zone)
{
	struct sched_cron *c = NULL;

	if (sched_cron_parse(&c, expr, zone) != 0)
		fail_msg("'%s': %s", expr, rv_err_msg());
	return c;
}

#define MAX_RUNS 400

/* Step the clock from `from` to `to` by `step` seconds as run-due would
 * be called: first sight at `from`, then every due slot is "run". Fills
 * runs[] with the slots that ran and returns how many. Checks on the way
 * that a slot runs at the first call after it, once, in order. */
static size_t simulate(int64_t *runs, const struct sched_cron *c, int64_t from,
		       int64_t to, int64_t step)
{
	int64_t last, slot;
	size_t n = 0;

	assert_int_equal(sched_due_slot(&last, c, NULL, from),
			 SCHED_FIRST_SIGHT);
	assert_true(last <= from);
	for (int64_t t = from + step; t <= to; t += step) {
		int due = sched_due_slot(&slot, c, &last, t);

		assert_true(due == SCHED_DUE || due == SCHED_NOT_DUE);
		if (due == SCHED_NOT_DUE)
			continue;
		assert_true(slot > last);
		assert_true(slot <= t);
		assert_true(slot > t - step); /* no slot was skipped */
		assert_true(n < MAX_RUNS);
		runs[n++] = slot;
		last = slot;
		/* the same instant again: nothing (never twice a slot) */
		assert_int_equal(sched_due_slot(&slot, c, &last, t),
				 SCHED_NOT_DUE);
	}
	return n;
}

static void test_due_hourly_over_a_week_runs_each_hour_once(void **state)
{
	struct sched_cron *c = cron("0 * * * *", NULL);
	int64_t runs[MAX_RUNS] = {0};
	int64_t from = at("2026-03-02 00:10 +0000");
	size_t n = simulate(runs, c, from, from + 7 * 86400, 300);

	(void)state;
	assert_int_equal(n, 168);
	assert_int_equal(runs[0], at("2026-03-02 01:00 +0000"));
	for (size_t i = 1; i < n; i++)
		assert_int_equal(runs[i] - runs[i - 1], 3600);
	sched_cron_free(c);
}

static void test_due_daily_berlin_runs_once_a_day_across_dst(void **state)
{
	/* the week of the spring-forward Sunday, then the fall-back one */
	struct sched_cron *c = cron("0 2 * * *", "Europe/Berlin");
	static const char *const spring[] = {
	    "2026-03-24 02:00 +0100",
	    "2026-03-25 02:00 +0100",
	    "2026-03-26 02:00 +0100",
	    "2026-03-27 02:00 +0100",
	    "2026-03-28 02:00 +0100",
	    "2026-03-29 03:00 +0200", /* 02:00 does not exist: end of gap */
	    "2026-03-30 02:00 +0200",
	};
	static const char *const autumn[] = {
	    "2026-10-20 02:00 +0200",
	    "2026-10-21 02:00 +0200",
	    "2026-10-22 02:00 +0200",
	    "2026-10-23 02:00 +0200",
	    "2026-10-24 02:00 +0200",
	    "2026-10-25 02:00 +0200", /* first of the two 02:00s only */
	    "2026-10-26 02:00 +0100",
	};
	int64_t runs[MAX_RUNS] = {0};
	size_t n;

	(void)state;
	n = simulate(runs, c, at("2026-03-23 12:00 +0100"),
		     at("2026-03-30 12:00 +0200"), 600);
	assert_int_equal(n, 7);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(runs[i], at(spring[i]));
	n = simulate(runs, c, at("2026-10-19 12:00 +0200"),
		     at("2026-10-26 12:00 +0100"), 600);
	assert_int_equal(n, 7);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(runs[i], at(autumn[i]));
	sched_cron_free(c);
}

static void test_due_weekdays_skip_the_weekend(void **state)
{
	struct sched_cron *c = cron("30 8 * * MON-FRI", "America/New_York");
	int64_t runs[MAX_RUNS] = {0};
	/* Sunday 2026-03-01 to Sunday 2026-03-08 (the DST change, 02:00) */
	size_t n = simulate(runs, c, at("2026-03-01 00:00 -0500"),
			    at("2026-03-08 23:00 -0400"), 1800);

	(void)state;
	assert_int_equal(n, 5);
	assert_int_equal(runs[0], at("2026-03-02 08:30 -0500"));
	assert_int_equal(runs[4], at("2026-03-06 08:30 -0500"));
	for (size_t i = 1; i < n; i++)
		assert_int_equal(runs[i] - runs[i - 1], 86400);
	sched_cron_free(c);
}

static void test_due_gap_catches_up_once_never_twice(void **state)
{
	struct sched_cron *c = cron("0 2 * * *", NULL);
	int64_t last = at("2026-03-02 02:00 +0000"), slot;

	(void)state;
	/* down from Monday 03:00 to Thursday 10:00: three slots missed */
	assert_int_equal(
	    sched_due_slot(&slot, c, &last, at("2026-03-05 10:00 +0000")),
	    SCHED_DUE);
	assert_int_equal(slot, at("2026-03-05 02:00 +0000"));
	last = slot;
	/* the same instant, a minute later, the evening: nothing */
	assert_int_equal(
	    sched_due_slot(&slot, c, &last, at("2026-03-05 10:00 +0000")),
	    SCHED_NOT_DUE);
	assert_int_equal(
	    sched_due_slot(&slot, c, &last, at("2026-03-05 10:01 +0000")),
	    SCHED_NOT_DUE);
	assert_int_equal(
	    sched_due_slot(&slot, c, &last, at("2026-03-06 01:59 +0000")),
	    SCHED_NOT_DUE);
	/* the next slot runs as usual */
	assert_int_equal(
	    sched_due_slot(&slot, c, &last, at("2026-03-06 02:00 +0000")),
	    SCHED_DUE);
	assert_int_equal(slot, at("2026-03-06 02:00 +0000"));
	sched_cron_free(c);
}

static void test_due_first_sight_records_without_running(void **state)
{
	struct sched_cron *c = cron("0 2 * * *", NULL);
	int64_t slot;

	(void)state;
	assert_int_equal(
	    sched_due_slot(&slot, c, NULL, at("2026-03-05 10:00 +0000")),
	    SCHED_FIRST_SIGHT);
	assert_int_equal(slot, at("2026-03-05 02:00 +0000"));
	sched_cron_free(c);
}

static void test_due_clock_going_back_runs_nothing(void **state)
{
	struct sched_cron *c = cron("0 * * * *", NULL);
	int64_t last = at("2026-03-05 10:00 +0000"), slot;

	(void)state;
	assert_int_equal(
	    sched_due_slot(&slot, c, &last, at("2026-03-05 07:30 +0000")),
	    SCHED_NOT_DUE);
	sched_cron_free(c);
}

static void test_due_never_firing_schedule_is_never_due(void **state)
{
	struct sched_cron *c = cron("0 0 30 2 *", NULL);
	int64_t now = at("2026-03-05 10:00 +0000"), slot, last;

	(void)state;
	assert_int_equal(sched_due_slot(&last, c, NULL, now),
			 SCHED_FIRST_SIGHT);
	assert_int_equal(last, now);
	assert_int_equal(sched_due_slot(&slot, c, &last, now + 86400 * 400),
			 SCHED_NOT_DUE);
	sched_cron_free(c);
}

static void test_now_reads_the_test_clock(void **state)
{
	int64_t now;

	(void)state;
	assert_int_equal(setenv("REGVAULT_TEST_NOW", "1772330400", 1), 0);
	assert_int_equal(sched_now(&now), 0);
	assert_int_equal(now, 1772330400);
	assert_int_equal(setenv("REGVAULT_TEST_NOW", "12x", 1), 0);
	assert_int_equal(sched_now(&now), RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "REGVAULT_TEST_NOW"));
	assert_int_equal(setenv("REGVAULT_TEST_NOW", "-5", 1), 0);
	assert_int_equal(sched_now(&now), RV_INVALID);
	unsetenv("REGVAULT_TEST_NOW");
	assert_int_equal(sched_now(&now), 0);
	assert_true(now > 1700000000);
}

/* ---- passes with a real catalog and a fake job ---- */

struct fake {
	char dir[64];
	char path[96];
	struct cat *cat;
	struct sched_cron *crons[3];
	struct sched_entry e[3];
	int ran[3];	  /* jobs run per entry */
	int64_t slots[3]; /* the last slot each ran for */
	int fail_entry;	  /* this entry's job exits 4 (-1: none) */
	int stop_after;	  /* stop() is true after this many jobs */
	int jobs;
};

static int fake_run(void *arg, const struct sched_entry *e, int64_t slot,
		    int *exit_code, char **result)
{
	struct fake *f = arg;
	size_t i = (size_t)(e - f->e);

	f->ran[i]++;
	f->slots[i] = slot;
	f->jobs++;
	*exit_code = (int)i == f->fail_entry ? 4 : 0;
	*result = strdup("{\"tags\":34,\"snapshot\":\"abc\"}");
	return *result ? 0 : RV_NOMEM;
}

static int fake_stop(void *arg)
{
	struct fake *f = arg;
	return f->stop_after >= 0 && f->jobs >= f->stop_after;
}

static int setup_fake(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	static const char *const exprs[] = {"0 2 * * *", "0 5 * * SUN",
					    "0 * * * *"};
	static const char *const names[] = {"nightly", "sunday", "hourly"};
	static const char *const jobs[] = {"backup", "verify", "backup"};

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rv-sched-runner.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/catalog.db", f->dir);
	assert_int_equal(cat_open(&f->cat, f->path), 0);
	for (int i = 0; i < 3; i++) {
		f->crons[i] = cron(exprs[i], NULL);
		f->e[i].name = names[i];
		f->e[i].job = jobs[i];
		f->e[i].cron = f->crons[i];
		f->e[i].timing = exprs[i];
	}
	f->fail_entry = -1;
	f->stop_after = -1;
	*state = f;
	return 0;
}

static int teardown_fake(void **state)
{
	struct fake *f = *state;
	char wal[128];

	cat_close(f->cat);
	for (int i = 0; i < 3; i++)
		sched_cron_free(f->crons[i]);
	unlink(f->path);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", f->path);
	unlink(wal);
	rmdir(f->dir);
	free(f);
	unsetenv("REGVAULT_TEST_NOW");
	return 0;
}

/* One pass at instant `now` over the first n entries; returns jobs run. */
static size_t pass_at(struct fake *f, const char *now, size_t n)
{
	struct sched_job_ops ops = {fake_run, fake_stop, f};
	struct sched_pass p;
	char num[32];
	size_t ran;

	snprintf(num, sizeof(num), "%lld", (long long)at(now));
	assert_int_equal(setenv("REGVAULT_TEST_NOW", num, 1), 0);
	if (sched_run_due(&p, f->cat, f->e, n, &ops) != 0)
		fail_msg("pass at %s: %s", now, rv_err_msg());
	ran = p.n_done;
	for (size_t i = 0; i < p.n_done; i++) {
		assert_int_equal(p.done[i].started, at(now));
		assert_non_null(p.done[i].result);
	}
	sched_pass_release(&p);
	return ran;
}

static size_t history_count(struct fake *f)
{
	struct cat_run *runs = NULL;
	size_t n = 0;

	assert_int_equal(cat_run_list(&runs, &n, f->cat, "job", 0), 0);
	cat_run_list_free(runs, n);
	return n;
}

static void test_pass_runs_each_slot_once_over_a_week(void **state)
{
	struct fake *f = *state;
	struct cat_run *runs = NULL;
	size_t n = 0, total = 0;
	char now[64];

	/* first sight on Monday 2026-03-02 00:30: nothing runs */
	assert_int_equal(pass_at(f, "2026-03-02 00:30 +0000", 2), 0);
	assert_int_equal(history_count(f), 0);
	/* every 30 minutes for a week, each instant twice */
	for (int step = 1; step <= 7 * 48; step++) {
		int64_t t = at("2026-03-02 00:30 +0000") + step * 1800;
		int64_t d = t / 86400;
		int y, mo, dd;

		sched_civil_from_days(d, &y, &mo, &dd);
		snprintf(now, sizeof(now), "%04d-%02d-%02d %02d:%02d +0000", y,
			 mo, dd, (int)(t % 86400 / 3600), (int)(t % 3600 / 60));
		total += pass_at(f, now, 2);
		assert_int_equal(pass_at(f, now, 2), 0);
	}
	assert_int_equal(f->ran[0], 7); /* 02:00, Monday to Sunday */
	assert_int_equal(f->ran[1], 1); /* Sunday 05:00 */
	assert_int_equal(f->slots[1], at("2026-03-08 05:00 +0000"));
	assert_int_equal(total, 8);
	assert_int_equal(cat_run_list(&runs, &n, f->cat, "job", 0), 0);
	assert_int_equal(n, 8);
	/* newest first: Sunday's verify, then Sunday's nightly */
	assert_non_null(strstr(runs[0].summary, "\"schedule\":\"sunday\""));
	assert_non_null(
	    strstr(runs[0].summary, "\"slot\":\"2026-03-08T05:00:00Z\""));
	assert_int_equal(runs[0].started, at("2026-03-08 05:00 +0000"));
	assert_non_null(strstr(runs[1].summary, "\"schedule\":\"nightly\""));
	assert_non_null(
	    strstr(runs[1].summary, "\"slot\":\"2026-03-08T02:00:00Z\""));
	assert_non_null(strstr(runs[1].summary, "\"outcome\":\"ok\""));
	assert_non_null(strstr(runs[1].summary, "\"result\":{"));
	cat_run_list_free(runs, n);
}

static void test_pass_gap_catches_up_with_one_run(void **state)
{
	struct fake *f = *state;
	struct cat_sched_state st;

	assert_int_equal(pass_at(f, "2026-03-02 00:30 +0000", 1), 0);
	assert_int_equal(pass_at(f, "2026-03-02 02:00 +0000", 1), 1);
	/* three days down */
	assert_int_equal(pass_at(f, "2026-03-05 09:00 +0000", 1), 1);
	assert_int_equal(f->slots[0], at("2026-03-05 02:00 +0000"));
	assert_int_equal(pass_at(f, "2026-03-05 09:00 +0000", 1), 0);
	assert_int_equal(pass_at(f, "2026-03-05 23:59 +0000", 1), 0);
	assert_int_equal(f->ran[0], 2);
	assert_int_equal(cat_sched_state_get(&st, f->cat, "nightly"), 0);
	assert_int_equal(st.last_slot, at("2026-03-05 02:00 +0000"));
	assert_int_equal(st.last_started, at("2026-03-05 09:00 +0000"));
	assert_true(st.finished);
	assert_int_equal(st.last_exit, 0);
}

static void test_pass_claim_refuses_a_slot_already_taken(void **state)
{
	struct fake *f = *state;

	assert_int_equal(pass_at(f, "2026-03-02 00:30 +0000", 1), 0);
	/* another process claimed 02:00 first */
	assert_int_equal(cat_sched_claim(f->cat, "nightly",
					 at("2026-03-02 02:00 +0000"),
					 at("2026-03-02 02:00 +0000")),
			 1);
	assert_int_equal(cat_sched_claim(f->cat, "nightly",
					 at("2026-03-02 02:00 +0000"),
					 at("2026-03-02 02:00 +0000")),
			 0);
	assert_int_equal(cat_sched_finish(f->cat, "nightly",
					  at("2026-03-02 02:10 +0000"), 0),
			 0);
	assert_int_equal(pass_at(f, "2026-03-02 02:30 +0000", 1), 0);
	assert_int_equal(f->ran[0], 0);
	assert_int_equal(cat_sched_claim(f->cat, "nobody", 1, 1), RV_NOTFOUND);
}

static void test_pass_records_an_interrupted_job(void **state)
{
	struct fake *f = *state;
	struct cat_sched_state st;
	struct cat_run *runs = NULL;
	size_t n = 0;

	assert_int_equal(pass_at(f, "2026-03-02 00:30 +0000", 1), 0);
	/* a job claimed 02:00 and its process died */
	assert_int_equal(cat_sched_claim(f->cat, "nightly",
					 at("2026-03-02 02:00 +0000"),
					 at("2026-03-02 02:00 +0000")),
			 1);
	assert_int_equal(cat_sched_state_get(&st, f->cat, "nightly"), 0);
	assert_false(st.finished);
	/* the next pass records it, does not run 02:00 again */
	assert_int_equal(pass_at(f, "2026-03-02 09:00 +0000", 1), 0);
	assert_int_equal(cat_sched_state_get(&st, f->cat, "nightly"), 0);
	assert_true(st.finished);
	assert_int_equal(st.last_exit, -1);
	assert_int_equal(cat_run_list(&runs, &n, f->cat, "job", 0), 0);
	assert_int_equal(n, 1);
	assert_int_equal(runs[0].exit_code, -1);
	assert_non_null(strstr(runs[0].summary, "\"outcome\":\"interrupted\""));
	cat_run_list_free(runs, n);
	/* and the next slot runs */
	assert_int_equal(pass_at(f, "2026-03-03 02:00 +0000", 1), 1);
}

static void test_pass_changed_timing_starts_afresh(void **state)
{
	struct fake *f = *state;

	assert_int_equal(pass_at(f, "2026-03-02 00:30 +0000", 1), 0);
	assert_int_equal(pass_at(f, "2026-03-02 02:00 +0000", 1), 1);
	/* at 10:00 the operator moves it to 03:00: today's 03:00 is past,
	 * so it must not run at once */
	sched_cron_free(f->crons[0]);
	f->crons[0] = cron("0 3 * * *", NULL);
	f->e[0].cron = f->crons[0];
	f->e[0].timing = "0 3 * * *";
	assert_int_equal(pass_at(f, "2026-03-02 10:00 +0000", 1), 0);
	assert_int_equal(pass_at(f, "2026-03-03 02:30 +0000", 1), 0);
	assert_int_equal(pass_at(f, "2026-03-03 03:00 +0000", 1), 1);
	assert_int_equal(f->slots[0], at("2026-03-03 03:00 +0000"));
}

static void test_pass_failure_is_recorded_and_stop_ends_pass(void **state)
{
	struct fake *f = *state;
	struct cat_sched_state st;
	struct sched_job_ops ops = {fake_run, fake_stop, f};
	struct sched_pass p;

	assert_int_equal(pass_at(f, "2026-03-01 00:30 +0000", 3), 0);
	f->fail_entry = 0;
	f->stop_after = 1;
	/* Sunday 05:00: hourly, sunday and nightly are all due; stop after
	 * the first job */
	assert_int_equal(setenv("REGVAULT_TEST_NOW", "1772341200", 1), 0);
	assert_int_equal(1772341200, at("2026-03-01 05:00 +0000"));
	assert_int_equal(sched_run_due(&p, f->cat, f->e, 3, &ops), 0);
	assert_int_equal(p.n_done, 1);
	assert_true(p.stopped);
	assert_int_equal(p.done[0].exit_code, 4);
	sched_pass_release(&p);
	assert_int_equal(cat_sched_state_get(&st, f->cat, "nightly"), 0);
	assert_int_equal(st.last_exit, 4);
	/* the rest run in the next pass, nightly not again */
	f->stop_after = -1;
	assert_int_equal(pass_at(f, "2026-03-01 05:00 +0000", 3), 2);
	assert_int_equal(f->ran[0], 1);
	assert_int_equal(f->ran[1], 1);
	assert_int_equal(f->ran[2], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_due_hourly_over_a_week_runs_each_hour_once),
	    cmocka_unit_test(test_due_daily_berlin_runs_once_a_day_across_dst),
	    cmocka_unit_test(test_due_weekdays_skip_the_weekend),
	    cmocka_unit_test(test_due_gap_catches_up_once_never_twice),
	    cmocka_unit_test(test_due_first_sight_records_without_running),
	    cmocka_unit_test(test_due_clock_going_back_runs_nothing),
	    cmocka_unit_test(test_due_never_firing_schedule_is_never_due),
	    cmocka_unit_test(test_now_reads_the_test_clock),
	    cmocka_unit_test_setup_teardown(
		test_pass_runs_each_slot_once_over_a_week, setup_fake,
		teardown_fake),
	    cmocka_unit_test_setup_teardown(
		test_pass_gap_catches_up_with_one_run, setup_fake,
		teardown_fake),
	    cmocka_unit_test_setup_teardown(
		test_pass_claim_refuses_a_slot_already_taken, setup_fake,
		teardown_fake),
	    cmocka_unit_test_setup_teardown(
		test_pass_records_an_interrupted_job, setup_fake,
		teardown_fake),
	    cmocka_unit_test_setup_teardown(
		test_pass_changed_timing_starts_afresh, setup_fake,
		teardown_fake),
	    cmocka_unit_test_setup_teardown(
		test_pass_failure_is_recorded_and_stop_ends_pass, setup_fake,
		teardown_fake),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
