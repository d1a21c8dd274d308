/* runner.h - when a schedule is due, and one pass over the schedules.
 *
 * `regvault schedule run-due` and `regvault daemon` both make passes: for
 * each schedule, in the order written, the slot due now is the cron
 * expression's latest firing at or before now (sched_cron_prev); it runs
 * when that slot is later than the last slot recorded in the catalog's
 * schedule_state, and the slot is recorded (claimed) before the job runs,
 * so no slot ever runs twice. Missed slots are not replayed one by one:
 * only the latest is compared, so a machine that was down for three slots
 * runs the job once. A schedule seen for the first time (or whose cron or
 * zone changed) records its current slot without running: it first runs
 * at its next slot, never as a surprise at install time.
 *
 * The jobs themselves are run by the caller (the CLI runs the same command
 * functions a user would) through struct sched_job_ops.
 */
#ifndef SCHED_RUNNER_H
#define SCHED_RUNNER_H

#include <stddef.h>
#include <stdint.h>

struct cat;
struct sched_cron;

/* "Now" in unix seconds: the real clock, or, FOR TESTS ONLY, the value of
 * the environment variable REGVAULT_TEST_NOW (unix seconds; the clock is
 * then frozen at that instant for the whole process). The only place that
 * variable is read. RV_INVALID when it is set but not a number of seconds
 * in years 1970-9999. */
int sched_now(int64_t *out);

enum sched_due {
	SCHED_NOT_DUE = 0,    /* nothing newer than last_slot is due */
	SCHED_DUE = 1,	      /* *slot is due: run the job once for it */
	SCHED_FIRST_SIGHT = 2 /* never seen: record *slot, do not run */
};

/* The pure rule. last_slot is the slot recorded for the schedule, NULL
 * when it has none. Returns SCHED_DUE with *slot = prev(now) when that is
 * later than *last_slot; SCHED_NOT_DUE when it is not (or the expression
 * has not fired within 8 years); SCHED_FIRST_SIGHT when last_slot is NULL,
 * with *slot = prev(now) (now itself when it never fired). RV_INVALID (from
 * the cron code) when now is out of range. */
int sched_due_slot(int64_t *slot, const struct sched_cron *c,
		   const int64_t *last_slot, int64_t now);

/* One schedule as the runner sees it. */
struct sched_entry {
	const char *name;
	const char *job; /* "backup", "verify", "drill" */
	const struct sched_cron *cron;
	const char *timing; /* cron + zone as text: a change starts
			       the schedule afresh */
	const void *data;   /* the caller's, for run() */
};

struct sched_job_ops {
	/* Run e's job for slot. *exit_code: the job's exit code (0 ok);
	 * *result: its JSON output (malloc'd, or NULL). Return 0, or a
	 * negative code when the job could not be started at all (the slot
	 * is then recorded as failed with exit code 1). */
	int (*run)(void *arg, const struct sched_entry *e, int64_t slot,
		   int *exit_code, char **result);
	/* Non-zero: start no further job in this pass (a signal came). NULL
	 * means never. */
	int (*stop)(void *arg);
	void *arg;
};

/* One job that ran in a pass. */
struct sched_done {
	size_t index; /* into the entries */
	int64_t slot;
	int64_t started;
	int64_t finished;
	int exit_code;
	char *result; /* the job's JSON output or NULL */
};

struct sched_pass {
	struct sched_done *done; /* in the order they ran */
	size_t n_done;
	int stopped; /* 1 when ops->stop ended the pass early */
};

/* Make one pass over entries[0..n) in order (c must have no open
 * transaction; the jobs open the catalog themselves). Each job that runs
 * is recorded in schedule_state and in `runs` (kind "job", summary
 * {"schedule", "job", "slot", "outcome", "exit_code", "result"}). A job
 * that started in an earlier pass and never ended (the process was
 * killed) is recorded as interrupted (exit code -1). The caller must keep
 * other passes out (the CLI's scheduler lock); two passes that overlap
 * anyway still never run one slot twice. Returns 0 or the first catalog
 * error; *out holds the jobs that ran either way: release it with
 * sched_pass_release(). */
int sched_run_due(struct sched_pass *out, struct cat *c,
		  const struct sched_entry *entries, size_t n,
		  const struct sched_job_ops *ops);
void sched_pass_release(struct sched_pass *p);

/* The earliest firing strictly after `now` over entries: *when and the
 * entry's *index. RV_NOTFOUND when no entry fires within 8 years (or n is
 * 0). */
int sched_next_any(int64_t *when, size_t *index,
		   const struct sched_entry *entries, size_t n, int64_t now);

/* Format unix seconds as RFC 3339 UTC ("2026-03-29T01:00:00Z") into buf
 * (at least 32 bytes). */
void sched_time_str(char *buf, size_t size, int64_t t);

#endif
