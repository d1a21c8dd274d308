/* cmd_unlock.c - regvault unlock [--all] [--json]
 *
 * Removes the locks on the targets that no live run holds: stale ones (a
 * dead process on this host, or not refreshed for locks.stale_seconds) and
 * files under locks/ that are not lock documents. --all removes every
 * lock, for a run on another host that is known to be gone. Needs no
 * passphrase: lock files are not sealed.
 */
#include "cli/cli.h"

#include "store/lock.h"
#include "store/target.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/progress.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Why a lock goes (or stays). */
static const char *reason(const struct store_lock_info *in, int all)
{
	if (in->unreadable)
		return "unreadable";
	if (in->stale)
		return "stale";
	return all ? "--all" : "in use";
}

static void print_line(const char *verb, const struct store_lock_info *in,
		       int all, int64_t now)
{
	char age[48];

	if (in->unreadable) {
		printf("%s %s (on target '%s'): %s\n", verb, in->name,
		       in->target, reason(in, all));
		return;
	}
	rv_human_age(age, sizeof(age), (long long)now - in->refreshed);
	printf("%s %s (%s on host %s, pid %lld, refreshed %s): %s\n", verb,
	       in->name, in->command, in->host, (long long)in->pid, age,
	       reason(in, all));
}

static json_t *info_json(const struct store_lock_info *in, int all, int64_t now)
{
	char created[32], refreshed[32];

	if (in->unreadable)
		return json_pack("{s:s, s:s, s:b, s:s}", "name", in->name,
				 "target", in->target, "unreadable", 1,
				 "reason", reason(in, all));
	cli_time(created, sizeof(created), in->created);
	cli_time(refreshed, sizeof(refreshed), in->refreshed);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:b, "
			 "s:b, s:s}",
			 "name", in->name, "target", in->target, "kind",
			 in->kind, "command", in->command, "host", in->host,
			 "pid", (json_int_t)in->pid, "created", created,
			 "refreshed", refreshed, "age_seconds",
			 (json_int_t)(now - in->refreshed), "stale", in->stale,
			 "unreadable", 0, "reason", reason(in, all));
}

int cmd_unlock(struct app *a, int argc, char **argv)
{
	const struct command *cmd = cli_command("unlock");
	struct target **ts = NULL;
	struct store_lock_info *infos = NULL;
	json_t *removed = NULL, *kept = NULL;
	size_t n = 0, n_removed = 0;
	int64_t now = 0;
	int all = 0, rc, first_rc = 0, code;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--all"))
			all = 1;
		else if (!strcmp(argv[i], "--json"))
			a->json = 1;
		else
			return cli_usage(cmd, "unexpected argument '%s'",
					 argv[i]);
	}
	rc = app_load_config(a);
	if (!rc)
		rc = rv_now(&now);
	if (!rc)
		rc = app_open_targets(&ts, a->cfg);
	if (!rc)
		rc = store_lock_list(&infos, &n, ts, a->cfg->n_targets,
				     a->cfg->lock_stale, now);
	if (rc) {
		code = cli_fail(rc);
		goto done;
	}
	if (a->json) {
		removed = json_array();
		kept = json_array();
		if (!removed || !kept) {
			code = cli_fail(rv_err_set(RV_NOMEM, "out of memory"));
			goto done;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct store_lock_info *in = &infos[i];
		int go = all || in->stale || in->unreadable;

		if (go) {
			rc = store_lock_remove(ts, a->cfg->n_targets, in->name);
			if (rc) {
				/* say so and go on with the others */
				rv_log(RV_LOG_ERROR, "%s", rv_err_msg());
				if (!first_rc)
					first_rc = rc;
				go = 0;
			} else {
				n_removed++;
			}
		}
		if (a->json)
			json_array_append_new(go ? removed : kept,
					      info_json(in, all, now));
		else
			print_line(go ? "removed" : "kept", in, all, now);
	}
	if (a->json) {
		int jrc = cli_print_json(
		    json_pack("{s:O, s:O}", "removed", removed, "kept", kept));

		if (jrc) {
			code = cli_fail(jrc);
			goto done;
		}
	} else if (!n) {
		printf("no locks on the targets\n");
	} else if (n_removed < n && !all && !first_rc) {
		printf("locks that are in use were kept; 'regvault unlock "
		       "--all' removes them too (only when those runs are "
		       "known to be gone)\n");
	}
	code = first_rc ? cli_exit_code(first_rc) : EXIT_OK;
done:
	json_decref(removed);
	json_decref(kept);
	free(infos);
	if (ts)
		for (size_t i = 0; i < a->cfg->n_targets; i++)
			target_free(ts[i]);
	free(ts);
	return code;
}
