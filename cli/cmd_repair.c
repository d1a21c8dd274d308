/* cmd_repair.c - regvault repair [--dry-run] [--json] */
#include "cli/cli.h"

#include "maint/maint.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/progress.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int print_json(const struct maint_stats *st, int dry_run, int complete)
{
	json_t *doc = json_pack(
	    "{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, "
	    "s:o, s:b}",
	    "dry_run", dry_run, "packs_checked", (json_int_t)st->packs_checked,
	    "copies_checked", (json_int_t)st->copies_checked, "bytes_checked",
	    (json_int_t)st->bytes_checked, "bytes_copied",
	    (json_int_t)st->bytes_copied, "locations_added",
	    (json_int_t)st->locations_added, "locations_removed",
	    (json_int_t)st->locations_removed, "adopted",
	    cli_maint_items_json(&st->adopted), "removable", cli_maint_items_json(&st->removable),
	    "damaged", cli_maint_items_json(&st->damaged), "copied",
	    cli_maint_items_json(&st->copied), "lost", cli_maint_items_json(&st->lost), "failed",
	    cli_maint_items_json(&st->failed), "notes", cli_maint_items_json(&st->notes),
	    "complete", complete);
	return cli_print_json(doc);
}

static void print_text(const struct maint_stats *st, int dry_run)
{
	char checked[32], copied[32];

	cli_maint_items_print(dry_run ? "would adopt" : "adopted", &st->adopted);
	cli_maint_items_print("remove by hand", &st->removable);
	cli_maint_items_print("damaged", &st->damaged);
	cli_maint_items_print(dry_run ? "would copy" : "copied", &st->copied);
	cli_maint_items_print("lost", &st->lost);
	cli_maint_items_print("failed", &st->failed);
	cli_maint_items_print("note", &st->notes);
	printf("%schecked %llu packs (%llu copies, %s); %s %zu files (%s); "
	       "%zu lost, %zu failed\n",
	       dry_run ? "dry run: " : "",
	       (unsigned long long)st->packs_checked,
	       (unsigned long long)st->copies_checked,
	       rv_human_bytes(checked, sizeof(checked), st->bytes_checked),
	       dry_run ? "would copy" : "copied", st->copied.n,
	       rv_human_bytes(copied, sizeof(copied), st->bytes_copied),
	       st->lost.n, st->failed.n);
}

int cmd_repair(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dry-run", no_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const struct command *cmd = cli_command("repair");
	struct rv_buf staging = RV_BUF_INIT(8192);
	struct maint_stats st;
	int c, dry_run = 0, rc, complete;

	memset(&st, 0, sizeof(st));
	optind = 1;
	while ((c = getopt_long(argc, argv, "nj", opts, NULL)) != -1) {
		if (c == 'n')
			dry_run = 1;
		else if (c == 'j')
			a->json = 1;
		else
			return cli_usage(cmd, "bad option");
	}
	if (optind < argc)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	rc = app_load_config(a);
	a->create_targets = !dry_run;
	if (!rc)
		rc = app_lock(a);
	if (!rc)
		rc = app_open_store(a);
	if (!rc)
		rc = app_lock_targets(a, 0, "repair", dry_run);
	if (!rc)
		rc = app_open_catalog(a);
	if (!rc)
		rc = rv_buf_printf(&staging, "%s.staging", a->cfg->catalog);
	if (!rc)
		rc = maint_repair(&st, a->cat, a->store, rv_buf_cstr(&staging),
				  dry_run);
	rv_buf_release(&staging);
	if (rc) {
		maint_stats_release(&st);
		return cli_fail(rc);
	}
	complete = !st.lost.n && !st.failed.n;
	if (a->json)
		rc = print_json(&st, dry_run, complete);
	else
		print_text(&st, dry_run);
	if (!rc && st.lost.n)
		rc = rv_err_set(RV_CORRUPT,
				"%zu object(s) have no good copy on any target "
				"(listed as lost)",
				st.lost.n);
	else if (!rc && st.failed.n)
		rc =
		    rv_err_set(RV_IO,
			       "%zu operation(s) on the targets failed (listed "
			       "as failed); run repair again when the targets "
			       "are reachable",
			       st.failed.n);
	maint_stats_release(&st);
	fflush(stdout); /* the report before the error line */
	return rc ? cli_fail(rc) : EXIT_OK;
}
