/* cmd_catalog.c - regvault catalog rebuild --from TARGET [--force]
 *                 regvault catalog history REPO:TAG */
#include "cli/cli.h"

#include "catalog/catalog.h"
#include "maint/maint.h"
#include "store/store.h"
#include "util/err.h"
#include "util/progress.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int print_json(const struct maint_stats *st, const char *catalog,
		      const char *from, int complete)
{
	json_t *doc = json_pack(
	    "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:b}",
	    "catalog", catalog, "from", from, "packs", (json_int_t)st->packs,
	    "pack_bytes", (json_int_t)st->pack_bytes, "chunks",
	    (json_int_t)st->chunks, "blobs", (json_int_t)st->blobs, "manifests",
	    (json_int_t)st->manifests, "snapshots", (json_int_t)st->snapshots,
	    "damaged", cli_maint_items_json(&st->damaged), "skipped",
	    cli_maint_items_json(&st->skipped), "notes",
	    cli_maint_items_json(&st->notes), "complete", complete);
	return cli_print_json(doc);
}

/* Open the store on the one target named `from` only: the config is
 * narrowed to it for the length of app_open_store. */
static int open_store_on(struct app *a, size_t from)
{
	struct cfg_target *all = a->cfg->targets;
	size_t n_all = a->cfg->n_targets;
	int rc;

	a->cfg->targets = &all[from];
	a->cfg->n_targets = 1;
	rc = app_open_store(a);
	a->cfg->targets = all;
	a->cfg->n_targets = n_all;
	return rc;
}

static int rebuild(struct app *a, const char *from, int force)
{
	struct maint_stats st;
	size_t i;
	char bytes[32];
	int rc, complete;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < a->cfg->n_targets; i++)
		if (!strcmp(a->cfg->targets[i].name, from))
			break;
	if (i == a->cfg->n_targets)
		return cli_fail(rv_err_set(RV_INVALID,
					   "no target '%s' in config '%s'",
					   from, a->cfg->path));
	rc = app_lock(a);
	if (!rc && !force && access(a->cfg->catalog, F_OK) == 0)
		rc = rv_err_set(RV_INVALID,
				"catalog '%s' exists; move it aside, or give "
				"--force to replace it once the rebuild is "
				"complete",
				a->cfg->catalog);
	if (!rc)
		rc = open_store_on(a, i);
	if (!rc)
		rc = maint_rebuild_file(&st, a->cfg->catalog, a->store, 0);
	if (rc) {
		maint_stats_release(&st);
		return cli_fail(rc);
	}
	complete = !st.damaged.n && !st.skipped.n;
	if (a->json) {
		rc = print_json(&st, a->cfg->catalog, from, complete);
	} else {
		cli_maint_items_print("damaged", &st.damaged);
		cli_maint_items_print("skipped", &st.skipped);
		cli_maint_items_print("note", &st.notes);
		printf("rebuilt catalog '%s' from target '%s': %llu packs "
		       "(%s), %llu chunks, %llu blobs, %llu manifests, %llu "
		       "snapshots\n",
		       a->cfg->catalog, from, (unsigned long long)st.packs,
		       rv_human_bytes(bytes, sizeof(bytes), st.pack_bytes),
		       (unsigned long long)st.chunks,
		       (unsigned long long)st.blobs,
		       (unsigned long long)st.manifests,
		       (unsigned long long)st.snapshots);
	}
	if (!rc && !complete)
		rc = rv_err_set(RV_CORRUPT,
				"the rebuilt catalog lacks what %zu damaged "
				"pack(s) held: %zu blob(s), manifest(s) or "
				"snapshot(s) were skipped; run 'regvault "
				"repair', or rebuild from another target",
				st.damaged.n, st.skipped.n);
	maint_stats_release(&st);
	fflush(stdout); /* the report before the error line */
	return rc ? cli_fail(rc) : EXIT_OK;
}

/* One row of the history as JSON. */
static json_t *history_row(const struct cat_tag_state *ts, int changed)
{
	char when[32];

	cli_time(when, sizeof(when), ts->time);
	return json_pack("{s:s, s:s, s:s, s:s?, s:b, s:b}", "snapshot",
			 ts->snap_id, "time", when, "source", ts->source,
			 "digest", ts->digest[0] ? ts->digest : NULL, "changed",
			 changed, "absent", !ts->digest[0]);
}

/* What repo:tag pointed to in every snapshot, oldest first, marking
 * where it changed. Rows compare with the previous row of the same source
 * (each source is its own timeline). */
static int history(struct app *a, const char *repo, const char *tag)
{
	struct cat_tag_state *rows = NULL;
	const char **last = NULL; /* per row: the previous digest of its
				     source, or NULL for its first row */
	json_t *list = NULL;
	size_t n = 0, changes = 0;
	int rc;

	rc = app_load_config(a);
	if (!rc)
		rc = app_open_catalog(a);
	if (!rc)
		rc = cat_tag_history(&rows, &n, a->cat, repo, tag);
	if (rc)
		goto done;
	if (n == 0) {
		rc = rv_err_set(RV_NOTFOUND,
				"no snapshot holds '%s:%s' (see 'regvault "
				"snapshots')",
				repo, tag);
		goto done;
	}
	last = calloc(n, sizeof(*last));
	if (a->json)
		list = json_array();
	if (!last || (a->json && !list)) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		const struct cat_tag_state *ts = &rows[i];
		int changed = 0;

		for (size_t j = i; j-- > 0;)
			if (!strcmp(rows[j].source, ts->source)) {
				last[i] = rows[j].digest;
				break;
			}
		/* present after another digest or after an absence */
		changed =
		    last[i] && ts->digest[0] && strcmp(last[i], ts->digest);
		changes += changed;
		if (a->json) {
			json_t *row = history_row(ts, changed);
			if (!row || json_array_append_new(list, row) < 0) {
				rc = rv_err_set(RV_NOMEM, "out of memory");
				goto done;
			}
			continue;
		}
		{
			char when[32];
			cli_time(when, sizeof(when), ts->time);
			printf("%s  %.12s  %-71s%s\n", when, ts->snap_id,
			       ts->digest[0] ? ts->digest : "-",
			       !ts->digest[0] ? "  (absent)"
			       : changed      ? "  (changed)"
					      : "");
		}
	}
	if (a->json) {
		rc = cli_print_json(json_pack(
		    "{s:s, s:s, s:I, s:O}", "repository", repo, "tag", tag,
		    "changes", (json_int_t)changes, "history", list));
	}
done:
	json_decref(list);
	free(last);
	free(rows);
	return rc ? cli_fail(rc) : EXIT_OK;
}

static int cmd_history(struct app *a, const struct command *cmd, int argc,
		       char **argv)
{
	char *repo = NULL, *colon;
	const char *ref = NULL;
	int rc;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			a->json = 1;
		else if (argv[i][0] == '-')
			return cli_usage(cmd, "unknown option '%s'", argv[i]);
		else if (ref)
			return cli_usage(cmd, "give exactly one REPO:TAG");
		else
			ref = argv[i];
	}
	if (!ref)
		return cli_usage(cmd, "which tag? give REPO:TAG");
	repo = strdup(ref);
	if (!repo)
		return cli_fail(rv_err_set(RV_NOMEM, "out of memory"));
	/* repository names hold no ':', so the last one starts the tag */
	colon = strrchr(repo, ':');
	if (!colon || colon == repo || !colon[1]) {
		free(repo);
		return cli_usage(cmd, "'%s' is not REPO:TAG", ref);
	}
	*colon = '\0';
	rc = history(a, repo, colon + 1);
	free(repo);
	return rc;
}

int cmd_catalog(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"from", required_argument, NULL, 'f'},
	    {"force", no_argument, NULL, 'F'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const struct command *cmd = cli_command("catalog");
	const char *from = NULL;
	int c, force = 0, rc;

	if (argc < 2)
		return cli_usage(cmd, "missing subcommand (rebuild, history)");
	if (!strcmp(argv[1], "history"))
		return cmd_history(a, cmd, argc, argv);
	if (strcmp(argv[1], "rebuild"))
		return cli_usage(cmd, "unknown subcommand '%s'", argv[1]);
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "f:Fj", opts, NULL)) !=
	       -1) {
		if (c == 'f')
			from = optarg;
		else if (c == 'F')
			force = 1;
		else if (c == 'j')
			a->json = 1;
		else
			return cli_usage(cmd, "bad option");
	}
	if (optind < argc - 1)
		return cli_usage(cmd, "unexpected argument '%s'",
				 argv[optind + 1]);
	if (!from)
		return cli_usage(cmd, "--from TARGET is required");
	rc = app_load_config(a);
	if (rc)
		return cli_fail(rc);
	return rebuild(a, from, force);
}
