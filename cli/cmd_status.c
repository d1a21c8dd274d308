/* cmd_status.c - regvault status: the state of the backups at a glance.
 *
 * Everything comes from the config and the catalog (no target, registry
 * or key is touched, so it answers in a second even when the targets are
 * down): per source its newest snapshot, per schedule its last job and
 * whether it keeps up, the last verify and drill, per target what the
 * catalog records there, the store's size and ratios. Then what needs
 * attention, and the exit code says whether anything does (docs/
 * OPERATIONS.md, "Status"):
 *
 *   - a schedule whose last job failed or never finished;
 *   - a schedule that is stale: no successful job (for a backup schedule,
 *     no snapshot of its source) since the slot before its latest one, so
 *     at least one whole slot went by without it;
 *   - a source with no snapshot at all;
 *   - a target the newest verify that covered it found damaged copies on,
 *     or could not check; a target the catalog records fewer packs on
 *     than the store has (a write_policy quorum, or copies verify or
 *     repair gave up on);
 *   - the newest verify finding a problem not tied to a target, or the
 *     newest drill failing.
 */
#include "cli/cli.h"

#include "catalog/catalog.h"
#include "catalog/queries.h"
#include "schedules/cron.h"
#include "schedules/runner.h"
#include "util/err.h"
#include "util/progress.h"
#include "util/strlist.h"

#include <fcntl.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* how many verify runs are looked through for the newest per target */
#define STATUS_VERIFY_RUNS 200

struct status {
	struct app *a;
	FILE *out;	   /* the text answer; NULL with --json */
	int64_t now;
	json_t *doc;	   /* the --json answer, built as we go */
	json_t *attention; /* [{kind, subject, message}] */
	struct cat_snapshot *snaps; /* oldest first */
	size_t n_snaps;
};

static int attention(struct status *s, const char *kind, const char *subject,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void say(const struct status *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(const struct status *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->out)
		return;
	va_start(ap, fmt);
	vfprintf(s->out, fmt, ap);
	va_end(ap);
}

static int attention(struct status *s, const char *kind, const char *subject,
		     const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_array_append_new(s->attention,
				  json_pack("{s:s, s:s, s:s}", "kind", kind,
					    "subject", subject, "message",
					    msg)))
		return rv_err_set(RV_NOMEM, "out of memory");
	return 0;
}

static json_t *time_json(int64_t t)
{
	char buf[32];

	if (t <= 0)
		return json_null();
	cli_time(buf, sizeof(buf), t);
	return json_string(buf);
}

static const char *age(char *buf, size_t size, int64_t now, int64_t t)
{
	return rv_human_age(buf, size, now - t);
}

/* The newest snapshot of source, or NULL. */
static const struct cat_snapshot *newest_of(const struct status *s,
					    const char *source)
{
	for (size_t i = s->n_snaps; i-- > 0;)
		if (!strcmp(s->snaps[i].source, source))
			return &s->snaps[i];
	return NULL;
}

/* ---- sources ---------------------------------------------------------- */

static int sources(struct status *s)
{
	const struct config *cfg = s->a->cfg;
	json_t *arr = json_array();
	int rc = 0;

	if (!arr || json_object_set_new(s->doc, "sources", arr))
		return rv_err_set(RV_NOMEM, "out of memory");
	say(s, "sources\n");
	for (size_t i = 0; !rc && i < cfg->n_sources; i++) {
		const char *name = cfg->sources[i].registry;
		const struct cat_snapshot *sn = newest_of(s, name);
		char when[32], ago[48];

		if (json_array_append_new(
			arr, json_pack("{s:s, s:o, s:o, s:o, s:o}", "source",
				       name, "snapshot",
				       sn ? json_string(sn->id) : json_null(),
				       "time", time_json(sn ? sn->time : 0),
				       "age_seconds",
				       sn ? json_integer(s->now - sn->time)
					  : json_null(),
				       "tags",
				       sn ? json_integer(sn->n_tags)
					  : json_null())))
			return rv_err_set(RV_NOMEM, "out of memory");
		if (!sn) {
			say(s, "  %-16s  no snapshot yet\n", name);
			rc = attention(s, "source_no_snapshot", name,
				       "source '%s' has no snapshot yet (run "
				       "'regvault backup --source %s')",
				       name, name);
			continue;
		}
		cli_time(when, sizeof(when), sn->time);
		say(s, "  %-16s  newest snapshot %.12s at %s (%s), %lld tags\n",
		       name, sn->id, when, age(ago, sizeof(ago), s->now, sn->time),
		       (long long)sn->n_tags);
	}
	return rc;
}

/* ---- schedules -------------------------------------------------------- */

/* 1 when a scheduler pass holds "<catalog>.schedule.lock" now. */
static int scheduler_running(const struct config *cfg)
{
	char path[4200];
	int fd, held = 0;

	snprintf(path, sizeof(path), "%s.schedule.lock", cfg->catalog);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB))
		held = 1;
	close(fd);
	return held;
}

/* The start of the newest run of kind that exited 0 (0: none). */
static int last_success(int64_t *out, struct cat *c, const char *kind)
{
	struct cat_run *runs = NULL;
	size_t n = 0;
	int rc = cat_run_list(&runs, &n, c, kind, 0);

	*out = 0;
	for (size_t i = 0; !rc && i < n; i++)
		if (runs[i].exit_code == 0) {
			*out = runs[i].started;
			break;
		}
	cat_run_list_free(runs, n);
	return rc;
}

/* When schedule cs last did its job: for a backup, the oldest of the
 * newest snapshots of the sources it backs up (0 when one has none). */
static int schedule_done_at(int64_t *out, struct status *s,
			    const struct cfg_schedule *cs,
			    const struct cat_sched_state *st, int have)
{
	const struct config *cfg = s->a->cfg;
	int64_t t = have && st->finished && st->last_exit == 0
			? st->last_started
			: 0;

	*out = t;
	if (!strcmp(cs->job, "backup")) {
		int64_t oldest = -1;

		for (size_t i = 0; i < cfg->n_sources; i++) {
			const char *name = cfg->sources[i].registry;
			const struct cat_snapshot *sn;

			if (cs->source && strcmp(cs->source, name))
				continue;
			sn = newest_of(s, name);
			if (!sn) {
				oldest = 0;
				break;
			}
			if (oldest < 0 || sn->time < oldest)
				oldest = sn->time;
		}
		if (oldest > t)
			t = oldest;
		*out = t;
		return 0;
	}
	if (!strcmp(cs->job, "verify") || !strcmp(cs->job, "drill")) {
		int64_t ok;
		int rc = last_success(&ok, s->a->cat, cs->job);

		if (rc)
			return rc;
		if (ok > t)
			*out = ok;
	}
	return 0;
}

static int one_schedule(struct status *s, json_t *arr,
			const struct cfg_schedule *cs, int sched_running)
{
	struct cat_sched_state st;
	int64_t latest = 0, before = 0, next = 0, done_at = 0;
	int have = 0, stale = 0, rc;
	const char *outcome = "never run";
	char last[32] = "-", nexts[32] = "-", ago[48], slot[32];

	rc = cat_sched_state_get(&st, s->a->cat, cs->name);
	if (rc == RV_NOTFOUND) {
		rv_err_clear();
		rc = 0;
	} else if (!rc) {
		have = 1;
	}
	if (rc)
		return rc;
	if (have && st.last_started) {
		cli_time(last, sizeof(last), st.last_started);
		if (!st.finished)
			outcome = sched_running ? "running" : "interrupted";
		else
			outcome = st.last_exit == 0 ? "ok" : "failed";
	}
	rc = schedule_done_at(&done_at, s, cs, &st, have);
	if (rc)
		return rc;
	/* the latest slot and the one before it: a job done before both
	 * means a whole slot went by without one */
	if (!sched_cron_prev(&latest, cs->parsed, s->now) &&
	    !sched_cron_prev(&before, cs->parsed, latest - 1))
		stale = done_at < before;
	rv_err_clear();
	if (sched_cron_next(&next, cs->parsed, s->now) == 0)
		cli_time(nexts, sizeof(nexts), next);
	rv_err_clear();
	if (json_array_append_new(
		arr,
		json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:b}",
			  "name", cs->name, "job", cs->job, "cron", cs->cron,
			  "last_run",
			  time_json(have ? st.last_started : 0),
			  "last_outcome", outcome, "last_exit_code",
			  have && st.last_started && st.finished
			      ? json_integer(st.last_exit)
			      : json_null(),
			  "last_success", time_json(done_at), "next_run",
			  time_json(next), "stale", stale)))
		return rv_err_set(RV_NOMEM, "out of memory");
	say(s, "  %-16s  %-6s  last run %s (%s), next %s%s\n", cs->name,
	       cs->job, last, outcome, nexts, stale ? ", STALE" : "");
	if (have && st.last_started && st.finished && st.last_exit != 0)
		rc = attention(s, "schedule_failing", cs->name,
			       "schedule '%s': its last %s job (%s) failed "
			       "with exit code %d ('regvault schedule "
			       "history' has its output)",
			       cs->name, cs->job, last, st.last_exit);
	else if (have && st.last_started && !st.finished && !sched_running)
		rc = attention(s, "schedule_interrupted", cs->name,
			       "schedule '%s': its last %s job (%s) never "
			       "finished (killed, or the machine went down)",
			       cs->name, cs->job, last);
	if (rc || !stale)
		return rc;
	cli_time(slot, sizeof(slot), before);
	if (done_at > 0) {
		char ok_at[32];

		cli_time(ok_at, sizeof(ok_at), done_at);
		return attention(s, "schedule_stale", cs->name,
				 "schedule '%s' (%s, '%s') is stale: its last "
				 "success was %s (%s), before its slot of %s; "
				 "is cron or the daemon running it?",
				 cs->name, cs->job, cs->cron, ok_at,
				 age(ago, sizeof(ago), s->now, done_at), slot);
	}
	return attention(s, "schedule_stale", cs->name,
			 "schedule '%s' (%s, '%s') is stale: it has never "
			 "succeeded, and its slot of %s has passed; is cron or "
			 "the daemon running it?",
			 cs->name, cs->job, cs->cron, slot);
}

static int schedules(struct status *s)
{
	const struct config *cfg = s->a->cfg;
	json_t *arr = json_array();
	int running = scheduler_running(cfg), rc = 0;

	if (!arr || json_object_set_new(s->doc, "schedules", arr))
		return rv_err_set(RV_NOMEM, "out of memory");
	say(s, "schedules\n");
	if (!cfg->n_schedules)
		say(s, "  (none in the config)\n");
	for (size_t i = 0; !rc && i < cfg->n_schedules; i++)
		rc = one_schedule(s, arr, &cfg->schedules[i], running);
	return rc;
}

/* ---- verify and drill ------------------------------------------------- */

/* 1 when the JSON list `key` of doc has an item whose "target" is name. */
static int lists_target(json_t *doc, const char *key, const char *name,
			size_t *count)
{
	json_t *arr = json_object_get(doc, key), *it;
	size_t i;

	*count = 0;
	json_array_foreach(arr, i, it)
	{
		const char *t = json_string_value(json_object_get(it, "target"));
		if (t && !strcmp(t, name))
			(*count)++;
	}
	return *count > 0;
}

/* 1 when verify report doc covered target name. */
static int covers(json_t *doc, const char *name)
{
	json_t *arr = json_object_get(doc, "targets"), *it;
	size_t i;

	json_array_foreach(arr, i, it)
	{
		const char *t = json_string_value(it);
		if (t && !strcmp(t, name))
			return 1;
	}
	return 0;
}

/* The reason of the first item of a verify report's list. */
static const char *first_reason(json_t *items)
{
	const char *r = json_string_value(
	    json_object_get(json_array_get(items, 0), "reason"));

	return r ? r : "see 'regvault verify --history'";
}

static json_t *run_json(const struct cat_run *r)
{
	json_t *summary = r->summary ? json_loads(r->summary, 0, NULL) : NULL;
	json_t *o = json_pack("{s:o, s:i, s:o}", "time", time_json(r->started),
			      "exit_code", r->exit_code, "outcome",
			      json_object_get(summary, "outcome")
				  ? json_incref(
					json_object_get(summary, "outcome"))
				  : json_string(r->exit_code ? "failed"
							     : "ok"));
	json_decref(summary);
	return o;
}

static int last_runs(struct status *s, struct cat_run **verifies,
		     size_t *n_verifies)
{
	struct cat_run *drills = NULL;
	size_t n_drills = 0;
	char when[32], ago[48];
	int rc;

	rc = cat_run_list(verifies, n_verifies, s->a->cat, "verify",
			  STATUS_VERIFY_RUNS);
	if (!rc)
		rc = cat_run_list(&drills, &n_drills, s->a->cat, "drill", 1);
	if (rc)
		return rc;
	if (json_object_set_new(s->doc, "last_verify",
				*n_verifies ? run_json(&(*verifies)[0])
					    : json_null()) ||
	    json_object_set_new(s->doc, "last_drill",
				n_drills ? run_json(&drills[0]) : json_null())) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	say(s, "checks\n");
	if (*n_verifies) {
		const struct cat_run *v = &(*verifies)[0];
		json_t *doc = v->summary ? json_loads(v->summary, 0, NULL)
					 : NULL;
		json_t *problems = json_object_get(doc, "problems");
		const char *outcome =
		    json_string_value(json_object_get(doc, "outcome"));

		cli_time(when, sizeof(when), v->started);
		say(s, "  last verify  %s (%s): %s, exit %d\n", when,
		       age(ago, sizeof(ago), s->now, v->started),
		       outcome ? outcome : "?", v->exit_code);
		if (json_array_size(problems))
			rc = attention(
			    s, "verify_problem", "store",
			    "the last verify (%s) found %zu problem(s) not "
			    "tied to one target: %s",
			    when, json_array_size(problems),
			    first_reason(problems));
		json_decref(doc);
	} else {
		say(s, "  last verify  never\n");
	}
	if (!rc && n_drills) {
		cli_time(when, sizeof(when), drills[0].started);
		say(s, "  last drill   %s (%s): exit %d\n", when,
		       age(ago, sizeof(ago), s->now, drills[0].started),
		       drills[0].exit_code);
		if (drills[0].exit_code)
			rc = attention(s, "drill_failed", "drill",
				       "the last drill (%s) failed with exit "
				       "code %d",
				       when, drills[0].exit_code);
	} else if (!rc) {
		say(s, "  last drill   never\n");
	}
done:
	cat_run_list_free(drills, n_drills);
	return rc;
}

/* ---- targets and the store -------------------------------------------- */

static int one_target(struct status *s, json_t *arr, const char *name,
		      const struct cat_target_packs *tp, int64_t packs,
		      const struct cat_run *verifies, size_t n_verifies)
{
	size_t damaged = 0, failed = 0;
	const struct cat_run *v = NULL;
	int64_t held = tp ? tp->packs : 0;
	char bytes[32], when[32] = "", what[512] = "";
	int rc = 0;

	for (size_t i = 0; i < n_verifies && !v; i++) {
		json_t *doc = verifies[i].summary
				  ? json_loads(verifies[i].summary, 0, NULL)
				  : NULL;
		if (covers(doc, name)) {
			v = &verifies[i];
			lists_target(doc, "damaged", name, &damaged);
			lists_target(doc, "failed", name, &failed);
		}
		json_decref(doc);
	}
	if (v)
		cli_time(when, sizeof(when), v->started);
	rv_human_bytes(bytes, sizeof(bytes), tp ? (uint64_t)tp->bytes : 0);
	if (json_array_append_new(
		arr, json_pack("{s:s, s:I, s:I, s:I, s:o, s:I, s:I}", "target",
			       name, "packs", (json_int_t)held, "missing_packs",
			       (json_int_t)(packs - held), "bytes",
			       (json_int_t)(tp ? tp->bytes : 0), "last_verify",
			       time_json(v ? v->started : 0), "damaged",
			       (json_int_t)damaged, "unchecked",
			       (json_int_t)failed)))
		return rv_err_set(RV_NOMEM, "out of memory");
	say(s, "  %-16s  %lld of %lld packs, %s; last verified %s\n", name,
	       (long long)held, (long long)packs, bytes, v ? when : "never");
	if (damaged || failed)
		snprintf(what, sizeof(what),
			 "the last verify that covered it (%s) found %zu "
			 "damaged cop%s%s; ",
			 when, damaged, damaged == 1 ? "y" : "ies",
			 failed ? " and could not check some" : "");
	if (held < packs) {
		size_t len = strlen(what);
		snprintf(what + len, sizeof(what) - len,
			 "the catalog records %lld of the store's %lld packs "
			 "on it; ",
			 (long long)held, (long long)packs);
	}
	if (what[0])
		rc = attention(s, "target_damaged", name,
			       "target '%s': %srun 'regvault repair', then "
			       "'regvault verify --target %s'",
			       name, what, name);
	return rc;
}

static int targets(struct status *s, const struct cat_run *verifies,
		   size_t n_verifies, const struct cat_totals *tot)
{
	const struct config *cfg = s->a->cfg;
	struct cat_target_packs *tp = NULL;
	size_t n_tp = 0;
	json_t *arr = json_array();
	int rc;

	if (!arr || json_object_set_new(s->doc, "targets", arr))
		return rv_err_set(RV_NOMEM, "out of memory");
	rc = cat_query_target_packs(&tp, &n_tp, s->a->cat);
	say(s, "targets\n");
	for (size_t i = 0; !rc && i < cfg->n_targets; i++) {
		const struct cat_target_packs *mine = NULL;

		for (size_t j = 0; j < n_tp; j++)
			if (!strcmp(tp[j].target, cfg->targets[i].name))
				mine = &tp[j];
		rc = one_target(s, arr, cfg->targets[i].name, mine, tot->packs,
				verifies, n_verifies);
	}
	cat_target_packs_free(tp, n_tp);
	return rc;
}

static double ratio(int64_t a, int64_t b)
{
	return b > 0 ? (double)a / (double)b : 0.0;
}

static int store_totals(struct status *s, const struct cat_totals *t)
{
	char logical[32], unique[32], packed[32];

	rv_human_bytes(logical, sizeof(logical), (uint64_t)t->logical_size);
	rv_human_bytes(unique, sizeof(unique), (uint64_t)t->unique_size);
	rv_human_bytes(packed, sizeof(packed), (uint64_t)t->packed_size);
	say(s, "store\n  %lld snapshots reach %s; %s unique (dedup %.1fx); "
	       "%s in %lld packs (compression %.2fx)\n",
	       (long long)t->snapshots, logical, unique,
	       ratio(t->logical_size, t->unique_size), packed,
	       (long long)t->packs, ratio(t->unique_size, t->packed_size));
	if (json_object_set_new(
		s->doc, "store",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:f}", "snapshots",
			  (json_int_t)t->snapshots, "logical_bytes",
			  (json_int_t)t->logical_size, "unique_bytes",
			  (json_int_t)t->unique_size, "packs",
			  (json_int_t)t->packs, "packed_bytes",
			  (json_int_t)t->packed_size, "dedup_ratio",
			  ratio(t->logical_size, t->unique_size),
			  "compression_ratio",
			  ratio(t->unique_size, t->packed_size))))
		return rv_err_set(RV_NOMEM, "out of memory");
	return 0;
}

/* ---- the command ------------------------------------------------------ */

static int gather(struct status *s)
{
	struct cat_run *verifies = NULL;
	size_t n_verifies = 0;
	struct cat_totals tot;
	struct stat sb;
	int rc;

	if (stat(s->a->cfg->catalog, &sb))
		return rv_err_set(RV_NOTFOUND,
				  "no catalog at '%s' yet: run 'regvault init' "
				  "and 'regvault backup' first",
				  s->a->cfg->catalog);
	rc = cat_open(&s->a->cat, s->a->cfg->catalog);
	if (!rc)
		rc = cat_snapshot_list(&s->snaps, &s->n_snaps, s->a->cat);
	if (!rc)
		rc = cat_query_totals(&tot, s->a->cat);
	if (!rc)
		rc = sources(s);
	if (!rc)
		rc = schedules(s);
	if (!rc)
		rc = last_runs(s, &verifies, &n_verifies);
	if (!rc)
		rc = targets(s, verifies, n_verifies, &tot);
	if (!rc)
		rc = store_totals(s, &tot);
	cat_run_list_free(verifies, n_verifies);
	return rc;
}

int cmd_status(struct app *a, int argc, char **argv)
{
	const struct command *cmd = cli_command("status");
	struct status s;
	size_t n_att;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			a->json = 1;
		else
			return cli_usage(cmd, "unexpected argument '%s'",
					 argv[i]);
	}
	memset(&s, 0, sizeof(s));
	s.a = a;
	rc = app_load_config(a);
	if (!rc)
		rc = sched_now(&s.now);
	if (rc)
		return cli_fail(rc);
	s.doc = json_object();
	s.attention = json_array();
	if (!s.doc || !s.attention) {
		json_decref(s.doc);
		json_decref(s.attention);
		return cli_fail(rv_err_set(RV_NOMEM, "out of memory"));
	}
	s.out = a->json ? NULL : stdout;
	rc = gather(&s);
	free(s.snaps);
	if (rc) {
		json_decref(s.doc);
		json_decref(s.attention);
		return cli_fail(rc);
	}
	n_att = json_array_size(s.attention);
	if (a->json) {
		json_object_set_new(s.doc, "time", time_json(s.now));
		json_object_set_new(s.doc, "ok", json_boolean(n_att == 0));
		json_object_set_new(s.doc, "attention", s.attention);
		rc = cli_print_json(s.doc);
		if (rc)
			return cli_fail(rc);
	} else {
		size_t i;
		json_t *it;

		if (!n_att)
			printf("nothing needs attention\n");
		else
			printf("needs attention (%zu)\n", n_att);
		json_array_foreach(s.attention, i, it)
		    printf("  - %s\n",
			   json_string_value(json_object_get(it, "message")));
		json_decref(s.attention);
		json_decref(s.doc);
	}
	return n_att ? EXIT_FAIL : EXIT_OK;
}
