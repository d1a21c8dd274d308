/* runner.c - the due-slot rule, the clock, and one pass over the schedules.
 *
 * The slot is claimed in the catalog before the job starts (at most once
 * per slot): a job killed halfway is not started again for the same slot;
 * the next pass records it as interrupted and the schedule runs again at
 * its next slot. Running a slot twice (two nightly backups, two drills
 * into a shared scratch registry) is the surprise we rule out; a killed
 * backup loses nothing, since the next one fetches only what is missing.
 */
#include "schedules/runner.h"

#include "catalog/catalog.h"
#include "schedules/cron.h"
#include "schedules/tz.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A job's JSON output larger than this is not kept in the history. */
#define RESULT_KEEP_MAX (1u << 20)

int sched_now(int64_t *out)
{
	return rv_now(out);
}

void sched_time_str(char *buf, size_t size, int64_t t)
{
	struct sched_civil c;
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t sod = t - days * 86400;

	memset(&c, 0, sizeof(c));
	sched_civil_from_days(days, &c.year, &c.month, &c.day);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month,
		 c.day, (int)(sod / 3600), (int)(sod / 60 % 60),
		 (int)(sod % 60));
}

int sched_due_slot(int64_t *slot, const struct sched_cron *c,
		   const int64_t *last_slot, int64_t now)
{
	int64_t prev = 0;
	int rc = sched_cron_prev(&prev, c, now);

	if (rc == RV_NOTFOUND) {
		/* nothing fired in 8 years: nothing is due; a first sight
		 * records now, so any later firing counts as new */
		rv_err_clear();
		*slot = now;
		return last_slot ? SCHED_NOT_DUE : SCHED_FIRST_SIGHT;
	}
	if (rc < 0)
		return rc;
	*slot = prev;
	if (!last_slot)
		return SCHED_FIRST_SIGHT;
	return prev > *last_slot ? SCHED_DUE : SCHED_NOT_DUE;
}

int sched_next_any(int64_t *when, size_t *index,
		   const struct sched_entry *entries, size_t n, int64_t now)
{
	int found = 0;

	for (size_t i = 0; i < n; i++) {
		int64_t next;
		int rc = sched_cron_next(&next, entries[i].cron, now);
		if (rc == RV_NOTFOUND)
			continue;
		if (rc < 0)
			return rc;
		if (!found || next < *when) {
			*when = next;
			*index = i;
			found = 1;
		}
	}
	rv_err_clear();
	return found ? 0
		     : rv_err_set(RV_NOTFOUND,
				  "no schedule fires within the next 8 years");
}

void sched_pass_release(struct sched_pass *p)
{
	for (size_t i = 0; p->done && i < p->n_done; i++)
		free(p->done[i].result);
	free(p->done);
	memset(p, 0, sizeof(*p));
}

/* The history row's summary; NULL on NOMEM. */
static char *summary_json(const struct sched_entry *e, int64_t slot,
			  const char *outcome, int exit_code,
			  const char *result)
{
	char when[32];
	json_t *doc, *res = NULL;
	char *text;

	if (result && strlen(result) <= RESULT_KEEP_MAX)
		res = json_loads(result, 0, NULL);
	sched_time_str(when, sizeof(when), slot);
	doc = json_pack("{s:s, s:s, s:s, s:I, s:s, s:i, s:o}", "schedule",
			e->name, "job", e->job, "slot", when, "slot_unix",
			(json_int_t)slot, "outcome", outcome, "exit_code",
			exit_code, "result", res ? res : json_null());
	if (!doc)
		return NULL;
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}

/* Record the end of e's job: state and history in one transaction. */
static int record_end(struct cat *c, const struct sched_entry *e, int64_t slot,
		      int64_t started, int64_t finished, int exit_code,
		      const char *result)
{
	const char *outcome = exit_code == 0	? "ok"
			      : exit_code == -1 ? "interrupted"
						: "failed";
	char *summary = summary_json(e, slot, outcome, exit_code, result);
	int rc;

	if (!summary)
		return rv_err_set(RV_NOMEM, "out of memory");
	rc = cat_begin(c);
	if (!rc)
		rc = cat_sched_finish(c, e->name, finished, exit_code);
	if (!rc)
		rc = cat_run_add(c, "job", started, finished, exit_code,
				 summary);
	if (!rc)
		rc = cat_commit(c);
	else
		cat_rollback(c);
	free(summary);
	return rc;
}

static int add_done(struct sched_pass *p, size_t index, int64_t slot,
		    int64_t started, int64_t finished, int exit_code,
		    char **result)
{
	struct sched_done *d =
	    realloc(p->done, (p->n_done + 1) * sizeof(*p->done));

	if (!d)
		return rv_err_set(RV_NOMEM, "out of memory");
	p->done = d;
	d = &p->done[p->n_done++];
	d->index = index;
	d->slot = slot;
	d->started = started;
	d->finished = finished;
	d->exit_code = exit_code;
	d->result = *result;
	*result = NULL;
	return 0;
}

/* Claim and run one due slot of entry i. */
static int run_one(struct sched_pass *out, struct cat *c,
		   const struct sched_entry *e, size_t i, int64_t slot,
		   const struct sched_job_ops *ops)
{
	char when[32];
	char *result = NULL;
	int64_t started, finished;
	int exit_code = 1, rc;

	rc = sched_now(&started);
	if (!rc)
		rc = cat_sched_claim(c, e->name, slot, started);
	if (rc < 0)
		return rc;
	sched_time_str(when, sizeof(when), slot);
	if (rc == 0) {
		rv_debug("schedule '%s': slot %s was run by another process",
			 e->name, when);
		return 0;
	}
	rv_debug("schedule '%s': %s for slot %s starts", e->name, e->job, when);
	rc = ops->run(ops->arg, e, slot, &exit_code, &result);
	if (rc < 0) {
		rv_log(RV_LOG_ERROR,
		       "schedule '%s': the %s job could not "
		       "start: %s",
		       e->name, e->job, rv_err_msg());
		exit_code = 1;
	}
	rc = sched_now(&finished);
	if (!rc)
		rc = record_end(c, e, slot, started, finished, exit_code,
				result);
	if (!rc)
		rc = add_done(out, i, slot, started, finished, exit_code,
			      &result);
	free(result);
	return rc;
}

/* A job that started and never ended: the process running it died. */
static int record_interrupted(struct cat *c, const struct sched_entry *e,
			      const struct cat_sched_state *st)
{
	char when[32];

	sched_time_str(when, sizeof(when), st->last_started);
	rv_warn("schedule '%s': the %s job started at %s never finished (the "
		"process was stopped); recorded as interrupted, the schedule "
		"runs again at its next slot",
		e->name, e->job, when);
	return record_end(c, e, st->last_slot, st->last_started,
			  st->last_started, -1, NULL);
}

int sched_run_due(struct sched_pass *out, struct cat *c,
		  const struct sched_entry *entries, size_t n,
		  const struct sched_job_ops *ops)
{
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; !rc && i < n; i++) {
		const struct sched_entry *e = &entries[i];
		struct cat_sched_state st;
		int64_t now, slot;
		char when[32];
		int have, due;

		if (ops->stop && ops->stop(ops->arg)) {
			out->stopped = 1;
			break;
		}
		rc = sched_now(&now);
		if (rc)
			break;
		rc = cat_sched_state_get(&st, c, e->name);
		if (rc && rc != RV_NOTFOUND)
			break;
		have = rc == 0 && !strcmp(st.timing, e->timing);
		if (rc == 0 && !have)
			rv_info("schedule '%s': its cron expression or zone "
				"changed; it runs from its next slot on",
				e->name);
		rc = 0;
		if (have && !st.finished) {
			rc = record_interrupted(c, e, &st);
			if (rc)
				break;
		}
		due = sched_due_slot(&slot, e->cron,
				     have ? &st.last_slot : NULL, now);
		if (due < 0) {
			rc = due;
			break;
		}
		sched_time_str(when, sizeof(when), slot);
		if (due == SCHED_FIRST_SIGHT) {
			rv_debug("schedule '%s': first seen; slot %s counts "
				 "as done, the job runs from the next slot",
				 e->name, when);
			rc = cat_sched_state_reset(c, e->name, e->timing, slot);
		} else if (due == SCHED_NOT_DUE) {
			rv_debug("schedule '%s': not due (its latest slot, %s, "
				 "has run)",
				 e->name, when);
		} else {
			rc = run_one(out, c, e, i, slot, ops);
		}
	}
	return rc;
}
