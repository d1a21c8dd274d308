/* cmd_prune.c - regvault prune [--dry-run] [--repack-threshold PERCENT]
 * [--json] */
#include "cli/cli.h"

#include "maint/prune.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/progress.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int print_json(FILE *f, const struct prune_result *r, int dry_run)
{
	json_t *pending = json_array(), *doc;

	for (size_t i = 0; pending && i < r->n_pending; i++)
		json_array_append_new(pending,
				      json_pack("{s:s, s:s, s:s}", "pack",
						r->pending[i].pack_id, "target",
						r->pending[i].target, "why",
						r->pending[i].why));
	doc = json_pack(
	    "{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I, s:I, s:o}",
	    "dry_run", dry_run, "packs_total", (json_int_t)r->packs_total,
	    "bytes_total", (json_int_t)r->bytes_total, "packs_deleted",
	    (json_int_t)r->packs_deleted, "bytes_deleted",
	    (json_int_t)r->bytes_deleted, "packs_repacked",
	    (json_int_t)r->packs_repacked, "bytes_repacked",
	    (json_int_t)r->bytes_repacked, "packs_written",
	    (json_int_t)r->packs_written, "bytes_written",
	    (json_int_t)r->bytes_written, "chunks_moved",
	    (json_int_t)r->chunks_moved, "manifests_dropped",
	    (json_int_t)r->manifests_dropped, "blobs_dropped",
	    (json_int_t)r->blobs_dropped, "snapshots_resealed",
	    (json_int_t)r->snapshots_resealed, "copies_deleted",
	    (json_int_t)r->copies_deleted, "bytes_freed",
	    (json_int_t)r->copies_bytes, "entries_moved",
	    (json_int_t)r->entries_moved, "packs_kept_for_others",
	    (json_int_t)r->packs_foreign, "pending", pending);
	return cli_print_json_to(f, doc);
}

static void print_text(const struct prune_result *r, int dry_run)
{
	char total[32], del[32], rep[32], wr[32], freed[32];

	rv_human_bytes(total, sizeof(total), r->bytes_total);
	rv_human_bytes(del, sizeof(del), r->bytes_deleted);
	rv_human_bytes(rep, sizeof(rep), r->bytes_repacked);
	rv_human_bytes(wr, sizeof(wr), r->bytes_written);
	rv_human_bytes(freed, sizeof(freed), r->copies_bytes);
	for (size_t i = 0; i < r->n_pending; i++)
		printf("%s packs/%.2s/%s on '%s': %s\n",
		       dry_run ? "queued" : "kept for now",
		       r->pending[i].pack_id, r->pending[i].pack_id,
		       r->pending[i].target, r->pending[i].why);
	if (dry_run) {
		printf("dry run: of %llu pack(s) (%s), %llu (%s) would be "
		       "deleted and %llu (%s) repacked, writing about %s; "
		       "%llu manifest(s) and %llu blob(s) are no longer "
		       "needed\n",
		       (unsigned long long)r->packs_total, total,
		       (unsigned long long)r->packs_deleted, del,
		       (unsigned long long)r->packs_repacked, rep, wr,
		       (unsigned long long)r->manifests_dropped,
		       (unsigned long long)r->blobs_dropped);
		return;
	}
	printf("pruned: of %llu pack(s) (%s), %llu deleted (%s) and %llu "
	       "repacked (%s) into %llu new (%s); %llu manifest(s) and %llu "
	       "blob(s) dropped; %llu seal(s) re-signed; %llu copies "
	       "removed from the targets, %s freed%s\n",
	       (unsigned long long)r->packs_total, total,
	       (unsigned long long)r->packs_deleted, del,
	       (unsigned long long)r->packs_repacked, rep,
	       (unsigned long long)r->packs_written, wr,
	       (unsigned long long)r->manifests_dropped,
	       (unsigned long long)r->blobs_dropped,
	       (unsigned long long)r->snapshots_resealed,
	       (unsigned long long)r->copies_deleted, freed,
	       r->n_pending ? "; the copies listed above wait for a later "
			      "prune"
			    : "");
}

int cmd_prune(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dry-run", no_argument, NULL, 'n'},
	    {"repack-threshold", required_argument, NULL, 't'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const struct command *cmd = cli_command("prune");
	struct prune_opts o;
	struct prune_result r;
	int c, rc;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end = NULL;
		long v;

		switch (c) {
		case 'n':
			o.dry_run = 1;
			break;
		case 't':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > 100)
				return cli_usage(cmd,
						 "--repack-threshold wants a "
						 "percentage from 1 to 100, "
						 "not '%.40s'",
						 optarg);
			o.repack_threshold = (int)v;
			break;
		case 'j':
			a->json = 1;
			break;
		default:
			return cli_usage(cmd, "bad option");
		}
	}
	if (optind < argc)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	rc = rv_now(&o.now);
	if (!rc)
		rc = app_load_config(a);
	if (!rc)
		rc = app_lock(a);
	if (!rc)
		rc = app_open_store(a);
	if (!rc)
		rc = app_lock_targets(a, !o.dry_run, "prune", 0);
	if (!rc)
		rc = app_open_catalog(a);
	/* what killed runs left (a repack's unfinished or unrecorded pack):
	 * cleaned and adopted first, so this prune judges it too */
	if (!rc && !o.dry_run)
		rc = app_resume(a);
	if (!rc)
		rc = maint_prune(&r, a->cat, a->store, &o);
	if (!rc) {
		if (!a->json)
			print_text(&r, o.dry_run);
		if (cli_result_file(a))
			rc = print_json(cli_result_file(a), &r, o.dry_run);
	}
	maint_prune_release(&r);
	return rc ? cli_fail(rc) : EXIT_OK;
}
