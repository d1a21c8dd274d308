/* cmd_schedule.c - regvault schedule list | run-due | history, and the
 * scheduler pass that `daemon` shares.
 *
 * A job runs in this process through the same command function a user
 * would call (cmd_backup, cmd_verify, cmd_drill, cmd_prune; a backup with a
 * retention is followed by cmd_forget for the same source) with an argv built from
 * the schedule and a fresh struct app, so its behaviour, locks, checks,
 * exit codes and messages are those of the command. Its --json output is
 * captured (stdout is pointed at a temporary file for the job's duration)
 * and kept in the history; its warnings and errors go to stderr as usual.
 */
#include "cli/cli.h"
#include "cli/metrics.h"

#include "catalog/catalog.h"
#include "schedules/cron.h"
#include "schedules/runner.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* A job's --json output is read back up to this size. */
#define JOB_OUTPUT_MAX (16u << 20)
#define HISTORY_LIMIT_MAX 1000000u

/* The schedules of a config as the runner sees them. */
struct sched_set {
	struct sched_entry *entries;
	char **timings;
	size_t n;
};

static void set_release(struct sched_set *s)
{
	for (size_t i = 0; s->timings && i < s->n; i++)
		free(s->timings[i]);
	free(s->timings);
	free(s->entries);
	memset(s, 0, sizeof(*s));
}

static int set_build(struct sched_set *s, const struct config *cfg)
{
	size_t n = cfg->n_schedules;

	memset(s, 0, sizeof(*s));
	s->entries = calloc(n ? n : 1, sizeof(*s->entries));
	s->timings = calloc(n ? n : 1, sizeof(*s->timings));
	if (!s->entries || !s->timings) {
		set_release(s);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		const struct cfg_schedule *cs = &cfg->schedules[i];
		struct rv_buf t = RV_BUF_INIT(4096);
		int rc = rv_buf_printf(&t, "%s|%s", cs->cron,
				       sched_cron_zone(cs->parsed));
		if (rc) {
			rv_buf_release(&t);
			set_release(s);
			return rc;
		}
		s->timings[i] = rv_buf_detach(&t, NULL);
		s->entries[i].name = cs->name;
		s->entries[i].job = cs->job;
		s->entries[i].cron = cs->parsed;
		s->entries[i].timing = s->timings[i];
		s->entries[i].data = cs;
	}
	return 0;
}

/* The scheduler lock: one pass at a time per catalog. It is not the run
 * lock (the jobs take that themselves, as the commands always do). */
static int sched_lock(int *fd, const struct config *cfg)
{
	struct rv_buf path = RV_BUF_INIT(8192);
	char *dir = rv_fs_dirname(cfg->catalog);
	int rc = dir ? rv_fs_mkdirs(dir, 0700)
		     : rv_err_set(RV_NOMEM, "out of memory");

	*fd = -1;
	free(dir);
	if (!rc)
		rc = rv_buf_printf(&path, "%s.schedule.lock", cfg->catalog);
	if (rc)
		goto done;
	*fd = open(rv_buf_cstr(&path), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		rc =
		    rv_err_errno(RV_IO, errno, "cannot open the lock file '%s'",
				 rv_buf_cstr(&path));
		goto done;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			rc =
			    rv_err_set(RV_LOCKED,
				       "another 'schedule run-due' or 'daemon' "
				       "is running the jobs now (lock '%s'); "
				       "it runs whatever is due",
				       rv_buf_cstr(&path));
		else
			rc = rv_err_errno(RV_IO, errno, "cannot lock '%s'",
					  rv_buf_cstr(&path));
		close(*fd);
		*fd = -1;
	}
done:
	rv_buf_release(&path);
	return rc;
}

/* Point stdout at a fresh temporary file; *saved is the old stdout. */
static int capture_begin(int *saved, FILE **tmp)
{
	fflush(stdout);
	*saved = -1;
	*tmp = tmpfile();
	if (!*tmp)
		return rv_err_errno(RV_IO, errno,
				    "cannot create a temporary file for a "
				    "job's output");
	*saved = dup(STDOUT_FILENO);
	if (*saved < 0 || dup2(fileno(*tmp), STDOUT_FILENO) < 0) {
		int rc = rv_err_errno(RV_IO, errno,
				      "cannot redirect a job's output");
		if (*saved >= 0)
			close(*saved);
		*saved = -1;
		fclose(*tmp);
		*tmp = NULL;
		return rc;
	}
	return 0;
}

/* Restore stdout and read what the job printed into out. */
static int capture_end(struct rv_buf *out, int saved, FILE *tmp)
{
	char chunk[8192];
	size_t got;
	int rc = 0;

	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(tmp);
	while (!rc && (got = fread(chunk, 1, sizeof(chunk), tmp)) > 0)
		rc = rv_buf_add(out, chunk, got);
	if (!rc && ferror(tmp))
		rc = rv_err_set(RV_IO, "cannot read a job's output back");
	fclose(tmp);
	return rc;
}

/* A short account of a job's figures from its JSON output. */
static void figures(char *buf, size_t size, const char *job, json_t *r)
{
	buf[0] = '\0';
	if (!json_is_object(r))
		return;
	if (!strcmp(job, "backup"))
		snprintf(
		    buf, size,
		    "snapshot %.12s, %lld tags, %lld blobs fetched, %lld "
		    "packs written",
		    json_string_value(json_object_get(r, "snapshot"))
			? json_string_value(json_object_get(r, "snapshot"))
			: "-",
		    (long long)json_integer_value(json_object_get(r, "tags")),
		    (long long)json_integer_value(
			json_object_get(r, "blobs_fetched")),
		    (long long)json_integer_value(
			json_object_get(r, "packs_written")));
	else if (!strcmp(job, "verify"))
		snprintf(buf, size, "%s, level %s, %lld packs checked",
			 json_string_value(json_object_get(r, "outcome"))
			     ? json_string_value(json_object_get(r, "outcome"))
			     : "-",
			 json_string_value(json_object_get(r, "level"))
			     ? json_string_value(json_object_get(r, "level"))
			     : "-",
			 (long long)json_integer_value(
			     json_object_get(r, "packs_checked")));
	else if (!strcmp(job, "prune"))
		snprintf(buf, size,
			 "%lld packs deleted, %lld repacked, %lld bytes freed",
			 (long long)json_integer_value(
			     json_object_get(r, "packs_deleted")),
			 (long long)json_integer_value(
			     json_object_get(r, "packs_repacked")),
			 (long long)json_integer_value(
			     json_object_get(r, "bytes_freed")));
	else if (!strcmp(job, "drill"))
		snprintf(buf, size, "%lld of %lld tags check out",
			 (long long)json_integer_value(
			     json_object_get(r, "tags_ok")),
			 (long long)json_integer_value(
			     json_object_get(r, "tags_checked")));
}

static const char *outcome_of(int exit_code)
{
	return exit_code == 0	 ? "ok"
	       : exit_code == -1 ? "interrupted"
				 : "failed";
}

/* What a pass needs while it runs jobs. */
struct pass_ctx {
	const struct config *cfg;
	int json;
	int (*stop)(void *);
	void *stop_arg;
};

static int pass_stop(void *arg)
{
	const struct pass_ctx *p = arg;
	return p->stop ? p->stop(p->stop_arg) : 0;
}

/* Build the command line of a schedule's job. args must hold 12. */
static int job_argv(char **args, char *num, size_t num_size,
		    const struct cfg_schedule *s)
{
	int n = 0;

	args[n++] = (char *)s->job;
	args[n++] = (char *)"--json";
	if (s->source) {
		args[n++] = (char *)"--source";
		args[n++] = s->source;
	}
	if (s->level) {
		args[n++] = (char *)"--level";
		args[n++] = s->level;
	}
	if (s->to) {
		args[n++] = (char *)"--to";
		args[n++] = s->to;
	}
	if (s->sample >= 0) {
		snprintf(num, num_size, "%d", s->sample);
		args[n++] = (char *)"--sample";
		args[n++] = num;
	}
	if (s->repack_threshold > 0) {
		snprintf(num, num_size, "%d", s->repack_threshold);
		args[n++] = (char *)"--repack-threshold";
		args[n++] = num;
	}
	args[n] = NULL;
	return n;
}

/* The forget that follows a backup schedule with a retention: the same
 * source (or all), the schedule's zone for the calendar. args must hold
 * 24, nums 8 x 32 bytes. */
static int forget_argv(char **args, char (*nums)[32],
		       const struct cfg_schedule *s)
{
	const struct sched_keep *k = &s->retention;
	const struct {
		const char *flag;
		int v;
	} counts[] = {
	    {"--keep-last", k->last},	  {"--keep-hourly", k->hourly},
	    {"--keep-daily", k->daily},	  {"--keep-weekly", k->weekly},
	    {"--keep-monthly", k->monthly}, {"--keep-yearly", k->yearly},
	};
	int n = 0, used = 0;

	args[n++] = (char *)"forget";
	args[n++] = (char *)"--json";
	if (s->source) {
		args[n++] = (char *)"--source";
		args[n++] = s->source;
	}
	args[n++] = (char *)"--timezone";
	args[n++] = s->timezone ? s->timezone : (char *)"UTC";
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		if (!counts[i].v)
			continue;
		snprintf(nums[used], 32, "%d", counts[i].v);
		args[n++] = (char *)counts[i].flag;
		args[n++] = nums[used++];
	}
	if (k->within.years || k->within.months || k->within.days ||
	    k->within.hours) {
		sched_duration_format(nums[used], 32, &k->within);
		args[n++] = (char *)"--keep-within";
		args[n++] = nums[used++];
	}
	args[n] = NULL;
	return n;
}

/* Run one command as a job would: a fresh struct app, stdout captured.
 * *doc receives its JSON output (or NULL). */
static int run_command(int *exit_code, json_t **doc, const char *name,
		       const char *job, int argc, char **args,
		       const struct pass_ctx *p)
{
	const struct command *cmd = cli_command(job);
	struct rv_buf out = RV_BUF_INIT(JOB_OUTPUT_MAX);
	struct app ja;
	struct cli_job mjob;
	int saved = -1, rc, captured, is_job;
	FILE *tmp = NULL;

	*doc = NULL;
	if (!cmd)
		return rv_err_set(RV_INVALID, "schedule '%s': unknown job '%s'",
				  name, job);
	memset(&ja, 0, sizeof(ja));
	ja.lock_fd = -1;
	ja.config_path = p->cfg->path;
	ja.json = 1;
	captured = capture_begin(&saved, &tmp) == 0;
	if (!captured)
		rv_warn("schedule '%s': %s; the job's figures are not kept",
			name, rv_err_msg());
	is_job = cli_job_start(&mjob, argc, args, 1);
	*exit_code = cmd->run(&ja, argc, args);
	app_close(&ja);
	if (captured) {
		rc = capture_end(&out, saved, tmp);
		if (rc)
			rv_warn("schedule '%s': %s; the job's figures are not "
				"kept",
				name, rv_err_msg());
		else
			*doc = json_loads(rv_buf_cstr(&out), 0, NULL);
	}
	rv_buf_release(&out);
	/* the metrics file and webhook, as for a job run directly */
	if (is_job)
		cli_job_finish(&mjob, p->cfg, *exit_code, *doc);
	return 0;
}

static int run_job(void *arg, const struct sched_entry *e, int64_t slot,
		   int *exit_code, char **result)
{
	const struct pass_ctx *p = arg;
	const struct cfg_schedule *s = e->data;
	char *args[24], num[32], nums[8][32], when[32], took[300];
	int argc, rc;
	int64_t t0 = 0, t1 = 0;
	json_t *doc = NULL;

	*result = NULL;
	argc = job_argv(args, num, sizeof(num), s);
	cli_time(when, sizeof(when), slot);
	if (rv_log_level() >= RV_LOG_INFO && !p->json) {
		printf("schedule '%s': %s for slot %s starts\n", e->name,
		       s->job, when);
		fflush(stdout);
	}
	sched_now(&t0);
	rc = run_command(exit_code, &doc, e->name, s->job, argc, args, p);
	if (!rc && *exit_code == 0 && s->has_retention) {
		json_t *fdoc = NULL;
		int fexit = 0;

		argc = forget_argv(args, nums, s);
		rc = run_command(&fexit, &fdoc, e->name, "forget", argc, args,
				 p);
		if (!rc && fexit)
			*exit_code = fexit;
		if (json_is_object(doc) && fdoc)
			json_object_set_new(doc, "forget", fdoc);
		else
			json_decref(fdoc);
	}
	sched_now(&t1);
	if (rc)
		return rc;
	if (doc) {
		*result = json_dumps(doc, JSON_COMPACT);
		if (!*result) {
			json_decref(doc);
			return rv_err_set(RV_NOMEM, "out of memory");
		}
	}
	if (rv_log_level() >= RV_LOG_INFO && !p->json) {
		figures(took, sizeof(took), s->job, doc);
		if (*exit_code == 0)
			printf(
			    "schedule '%s': %s for slot %s: ok (%lld s)%s%s\n",
			    e->name, s->job, when, (long long)(t1 - t0),
			    *took ? ": " : "", took);
		else
			printf("schedule '%s': %s for slot %s: FAILED (exit "
			       "%d)%s%s\n",
			       e->name, s->job, when, *exit_code,
			       *took ? ": " : "", took);
		fflush(stdout);
	}
	json_decref(doc);
	return 0;
}

static json_t *done_json(const struct sched_set *set,
			 const struct sched_done *d)
{
	char slot[32], started[32], finished[32];
	const struct sched_entry *e = &set->entries[d->index];
	json_t *res = d->result ? json_loads(d->result, 0, NULL) : NULL;

	cli_time(slot, sizeof(slot), d->slot);
	cli_time(started, sizeof(started), d->started);
	cli_time(finished, sizeof(finished), d->finished);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:o}", "schedule",
			 e->name, "job", e->job, "slot", slot, "started",
			 started, "finished", finished, "exit_code",
			 d->exit_code, "outcome", outcome_of(d->exit_code),
			 "result", res ? res : json_null());
}

static int print_json_value(json_t *v)
{
	char *text = v ? json_dumps(v, JSON_INDENT(2)) : NULL;

	if (!text)
		return rv_err_set(RV_NOMEM, "out of memory");
	printf("%s\n", text);
	free(text);
	return 0;
}

int cli_schedule_pass(int *exit_code, int *stopped, const struct config *cfg,
		      int json, int (*stop)(void *), void *stop_arg)
{
	struct pass_ctx ctx = {cfg, json, stop, stop_arg};
	struct sched_job_ops ops = {run_job, pass_stop, &ctx};
	struct sched_set set;
	struct sched_pass pass;
	struct cat *cat = NULL;
	json_t *arr = NULL;
	int fd = -1, rc;

	*exit_code = 0;
	*stopped = 0;
	memset(&pass, 0, sizeof(pass));
	rc = set_build(&set, cfg);
	if (rc)
		return rc;
	rc = sched_lock(&fd, cfg);
	if (!rc)
		rc = cat_open(&cat, cfg->catalog);
	if (!rc)
		rc = sched_run_due(&pass, cat, set.entries, set.n, &ops);
	*stopped = pass.stopped;
	for (size_t i = 0; i < pass.n_done; i++)
		if (pass.done[i].exit_code && !*exit_code)
			*exit_code = pass.done[i].exit_code < 0
					 ? EXIT_FAIL
					 : pass.done[i].exit_code;
	if (json && (pass.n_done || !rc)) {
		int jrc = 0;
		arr = json_array();
		for (size_t i = 0; arr && !jrc && i < pass.n_done; i++)
			if (json_array_append_new(
				arr, done_json(&set, &pass.done[i])))
				jrc = rv_err_set(RV_NOMEM, "out of memory");
		if (!jrc)
			jrc = print_json_value(arr);
		if (!rc)
			rc = jrc;
	}
	json_decref(arr);
	sched_pass_release(&pass);
	cat_close(cat);
	if (fd >= 0)
		close(fd);
	set_release(&set);
	return rc;
}

/* ---- schedule run-due ---- */

static int run_due(struct app *a, int argc, char **argv)
{
	const struct command *cmd = cli_command("schedule");
	int code = 0, stopped = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			a->json = 1;
		else
			return cli_usage(cmd, "unexpected argument '%s'",
					 argv[i]);
	}
	rc = app_load_config(a);
	if (!rc && !a->cfg->n_schedules) {
		rv_debug("config '%s' has no schedules", a->cfg->path);
		if (a->json)
			printf("[]\n");
		return EXIT_OK;
	}
	if (!rc)
		rc = cli_schedule_pass(&code, &stopped, a->cfg, a->json, NULL,
				       NULL);
	if (rc == RV_LOCKED) {
		/* a long job of another pass: it covers what is due, and a
		 * crontab line that runs every minute must not fail */
		rv_info("%s", rv_err_msg());
		if (a->json)
			printf("[]\n");
		return EXIT_OK;
	}
	if (rc)
		return cli_fail(rc);
	return code;
}

/* ---- schedule list ---- */

static int file_exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

struct list_row {
	int have;
	int running;
	struct cat_sched_state st;
	int due;
	int64_t due_slot;
	int has_next;
	int64_t next;
};

static int list_rows(struct list_row *rows, struct app *a,
		     const struct sched_set *set)
{
	int64_t now;
	int lock_fd = -1, rc = sched_now(&now);

	if (!rc && file_exists(a->cfg->catalog))
		rc = cat_open(&a->cat, a->cfg->catalog);
	if (rc)
		return rc;
	/* a job "started, not finished" is running only if a pass holds the
	 * scheduler lock now */
	if (sched_lock(&lock_fd, a->cfg) == 0)
		close(lock_fd);
	else
		lock_fd = -2;
	for (size_t i = 0; !rc && i < set->n; i++) {
		struct list_row *r = &rows[i];
		const struct sched_entry *e = &set->entries[i];
		int due;

		if (a->cat) {
			rc = cat_sched_state_get(&r->st, a->cat, e->name);
			if (rc == RV_NOTFOUND)
				rc = 0;
			else if (!rc)
				r->have = 1;
		}
		if (rc)
			break;
		r->running = r->have && !r->st.finished && lock_fd == -2;
		due = sched_due_slot(&r->due_slot, e->cron,
				     r->have && !strcmp(r->st.timing, e->timing)
					 ? &r->st.last_slot
					 : NULL,
				     now);
		if (due < 0) {
			rc = due;
			break;
		}
		r->due = due == SCHED_DUE;
		rc = sched_cron_next(&r->next, e->cron, now);
		r->has_next = rc == 0;
		if (rc == RV_NOTFOUND) {
			rv_err_clear();
			rc = 0;
		}
	}
	return rc;
}

static const char *last_outcome(const struct list_row *r)
{
	if (!r->have || !r->st.last_started)
		return "never run";
	if (!r->st.finished)
		return r->running ? "running" : "interrupted";
	return outcome_of(r->st.last_exit);
}

static int list(struct app *a, int argc, char **argv)
{
	const struct command *cmd = cli_command("schedule");
	struct list_row *rows = NULL;
	struct sched_set set;
	json_t *arr = NULL;
	int rc;

	memset(&set, 0, sizeof(set));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			a->json = 1;
		else
			return cli_usage(cmd, "unexpected argument '%s'",
					 argv[i]);
	}
	rc = app_load_config(a);
	if (!rc)
		rc = set_build(&set, a->cfg);
	if (!rc) {
		rows = calloc(set.n ? set.n : 1, sizeof(*rows));
		if (!rows)
			rc = rv_err_set(RV_NOMEM, "out of memory");
	}
	if (!rc)
		rc = list_rows(rows, a, &set);
	if (!rc && a->json) {
		arr = json_array();
		for (size_t i = 0; arr && !rc && i < set.n; i++) {
			const struct cfg_schedule *cs = &a->cfg->schedules[i];
			const struct list_row *r = &rows[i];
			char last[32], next[32], slot[32];
			int ran = r->have && r->st.last_started;
			json_t *o;

			cli_time(last, sizeof(last), r->st.last_started);
			cli_time(next, sizeof(next), r->next);
			cli_time(slot, sizeof(slot), r->due_slot);
			o = json_pack(
			    "{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:b, "
			    "s:o}",
			    "name", cs->name, "cron", cs->cron, "timezone",
			    sched_cron_zone(cs->parsed), "job", cs->job,
			    "last_run", ran ? json_string(last) : json_null(),
			    "last_exit_code",
			    ran && r->st.finished
				? json_integer(r->st.last_exit)
				: json_null(),
			    "last_outcome", last_outcome(r), "next_run",
			    r->has_next ? json_string(next) : json_null(),
			    "due", r->due, "due_slot",
			    r->due ? json_string(slot) : json_null());
			if (!o || json_array_append_new(arr, o))
				rc = rv_err_set(RV_NOMEM, "out of memory");
		}
		if (!rc)
			rc = print_json_value(arr);
	} else if (!rc) {
		printf("%-16s  %-6s  %-16s  %-14s  %-20s  %-11s  %s\n", "name",
		       "job", "cron", "zone", "last run", "outcome",
		       "next run");
		for (size_t i = 0; i < set.n; i++) {
			const struct cfg_schedule *cs = &a->cfg->schedules[i];
			const struct list_row *r = &rows[i];
			char last[32] = "-", next[32] = "never", slot[32];

			if (r->have && r->st.last_started)
				cli_time(last, sizeof(last),
					 r->st.last_started);
			if (r->has_next)
				cli_time(next, sizeof(next), r->next);
			printf("%-16s  %-6s  %-16s  %-14s  %-20s  %-11s  %s",
			       cs->name, cs->job, cs->cron,
			       sched_cron_zone(cs->parsed), last,
			       last_outcome(r), next);
			if (r->due) {
				cli_time(slot, sizeof(slot), r->due_slot);
				printf(" (slot %s is due now)", slot);
			}
			printf("\n");
		}
		if (!set.n)
			printf("(no schedules in '%s')\n", a->cfg->path);
	}
	json_decref(arr);
	free(rows);
	set_release(&set);
	return rc ? cli_fail(rc) : EXIT_OK;
}

/* ---- schedule history ---- */

static int parse_limit(size_t *out, const char *text)
{
	char *end = NULL;
	unsigned long long v;

	if (!text || !*text || *text == '-')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v > HISTORY_LIMIT_MAX)
		return -1;
	*out = (size_t)v;
	return 0;
}

static const char *jstr(json_t *o, const char *key, const char *dflt)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : dflt;
}

static int history(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"limit", required_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	const struct command *cmd = cli_command("schedule");
	struct cat_run *runs = NULL;
	size_t n = 0, limit = 20;
	json_t *arr = NULL;
	int c, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			a->json = 1;
		else if (c == 'n' && !parse_limit(&limit, optarg))
			continue;
		else if (c == 'n')
			return cli_usage(cmd,
					 "--limit takes a number of runs (0: "
					 "all), not '%s'",
					 optarg);
		else
			return cli_usage(cmd, "bad option");
	}
	if (optind < argc)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	rc = app_load_config(a);
	if (!rc && file_exists(a->cfg->catalog))
		rc = cat_open(&a->cat, a->cfg->catalog);
	if (!rc && a->cat)
		rc = cat_run_list(&runs, &n, a->cat, "job", limit);
	if (rc)
		return cli_fail(rc);
	if (a->json) {
		arr = json_array();
		for (size_t i = 0; arr && !rc && i < n; i++) {
			char started[32], finished[32];
			json_t *sum = json_loads(runs[i].summary, 0, NULL);
			json_t *o;

			cli_time(started, sizeof(started), runs[i].started);
			cli_time(finished, sizeof(finished), runs[i].finished);
			o = json_pack(
			    "{s:I, s:s, s:s, s:s, s:s, s:s, s:i, s:s, "
			    "s:O}",
			    "id", (json_int_t)runs[i].id, "schedule",
			    jstr(sum, "schedule", ""), "job",
			    jstr(sum, "job", ""), "slot", jstr(sum, "slot", ""),
			    "started", started, "finished", finished,
			    "exit_code", runs[i].exit_code, "outcome",
			    outcome_of(runs[i].exit_code), "result",
			    json_object_get(sum, "result")
				? json_object_get(sum, "result")
				: json_null());
			json_decref(sum);
			if (!o || json_array_append_new(arr, o))
				rc = rv_err_set(RV_NOMEM, "out of memory");
		}
		if (!rc)
			rc = print_json_value(arr);
		json_decref(arr);
	} else {
		printf("%-20s  %-16s  %-6s  %-20s  %-11s  %-4s  %-6s  %s\n",
		       "started", "schedule", "job", "slot", "outcome", "exit",
		       "secs", "figures");
		for (size_t i = 0; i < n; i++) {
			char started[32], fig[300];
			json_t *sum = json_loads(runs[i].summary, 0, NULL);
			const char *job = jstr(sum, "job", "-");

			cli_time(started, sizeof(started), runs[i].started);
			figures(fig, sizeof(fig), job,
				json_object_get(sum, "result"));
			printf(
			    "%-20s  %-16s  %-6s  %-20s  %-11s  %-4d  %-6lld  "
			    "%s\n",
			    started, jstr(sum, "schedule", "-"), job,
			    jstr(sum, "slot", "-"),
			    outcome_of(runs[i].exit_code), runs[i].exit_code,
			    (long long)(runs[i].finished - runs[i].started),
			    *fig ? fig : "-");
			json_decref(sum);
		}
		if (!n)
			printf("(no scheduled jobs have run)\n");
	}
	cat_run_list_free(runs, n);
	return rc ? cli_fail(rc) : EXIT_OK;
}

int cmd_schedule(struct app *a, int argc, char **argv)
{
	const struct command *cmd = cli_command("schedule");

	if (argc < 2)
		return cli_usage(cmd, "which one: list, run-due or history?");
	if (!strcmp(argv[1], "list"))
		return list(a, argc - 1, argv + 1);
	if (!strcmp(argv[1], "run-due"))
		return run_due(a, argc - 1, argv + 1);
	if (!strcmp(argv[1], "history"))
		return history(a, argc - 1, argv + 1);
	return cli_usage(cmd, "unknown subcommand '%s'", argv[1]);
}
