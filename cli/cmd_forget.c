/* cmd_forget.c - regvault forget [--source R] --keep-* ... [--dry-run]
 * [--prune] [--json] */
#include "cli/cli.h"

#include "maint/prune.h"
#include "util/clock.h"
#include "util/err.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A --keep-* count: N >= 0, or -1 / "unlimited" (every period). */
static int parse_count(int *out, const char *opt, const char *text)
{
	char *end = NULL;
	long v;

	if (!strcmp(text, "unlimited")) {
		*out = -1;
		return 0;
	}
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < -1 || v > 1000000)
		return rv_err_set(RV_INVALID,
				  "--%s wants a count from 0 to 1000000, -1 "
				  "or 'unlimited', not '%.40s'",
				  opt, text);
	*out = (int)v;
	return 0;
}

static void time_local(char *buf, size_t size, int64_t t)
{
	cli_time(buf, size, (long long)t);
}

static int print_json(FILE *f, const struct forget_result *r, int dry_run,
		      const struct prune_result *pr)
{
	json_t *groups = json_array(), *doc;

	for (size_t i = 0; groups && i < r->n_groups; i++) {
		const struct forget_group *g = &r->groups[i];
		json_t *snaps = json_array();

		for (size_t j = 0; snaps && j < g->n; j++) {
			char when[32];

			time_local(when, sizeof(when), g->snaps[j].time);
			json_array_append_new(
			    snaps, json_pack("{s:s, s:s, s:b, s:s}", "id",
					     g->snaps[j].id, "time", when,
					     "keep", g->snaps[j].keep,
					     "reasons", g->snaps[j].reasons));
		}
		json_array_append_new(groups,
				      json_pack("{s:s, s:o}", "source",
						g->source, "snapshots", snaps));
	}
	doc = json_pack("{s:b, s:o, s:I, s:I}", "dry_run", dry_run, "groups",
			groups, "kept", (json_int_t)r->kept, "forgotten",
			(json_int_t)r->forgotten);
	if (doc && pr)
		json_object_set_new(
		    doc, "prune",
		    json_pack("{s:I, s:I, s:I, s:I, s:I}", "packs_deleted",
			      (json_int_t)pr->packs_deleted, "packs_repacked",
			      (json_int_t)pr->packs_repacked, "packs_written",
			      (json_int_t)pr->packs_written, "copies_deleted",
			      (json_int_t)pr->copies_deleted, "bytes_freed",
			      (json_int_t)pr->copies_bytes));
	return cli_print_json_to(f, doc);
}

static void print_text(const struct forget_result *r, int dry_run)
{
	for (size_t i = 0; i < r->n_groups; i++) {
		const struct forget_group *g = &r->groups[i];

		printf("source %s: %zu snapshot(s)\n", g->source, g->n);
		for (size_t j = 0; j < g->n; j++) {
			char when[32];

			time_local(when, sizeof(when), g->snaps[j].time);
			printf("  %s %.12s  %s  %s\n",
			       g->snaps[j].keep ? "keep  " : "forget",
			       g->snaps[j].id, when,
			       g->snaps[j].keep ? g->snaps[j].reasons : "");
		}
	}
	printf("%s%zu kept, %zu %s\n", dry_run ? "dry run: " : "", r->kept,
	       r->forgotten, dry_run ? "would be forgotten" : "forgotten");
}

int cmd_forget(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"source", required_argument, NULL, 's'},
	    {"keep-last", required_argument, NULL, 'l'},
	    {"keep-hourly", required_argument, NULL, 'H'},
	    {"keep-daily", required_argument, NULL, 'd'},
	    {"keep-weekly", required_argument, NULL, 'w'},
	    {"keep-monthly", required_argument, NULL, 'm'},
	    {"keep-yearly", required_argument, NULL, 'y'},
	    {"keep-within", required_argument, NULL, 'W'},
	    {"timezone", required_argument, NULL, 'z'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"prune", no_argument, NULL, 'p'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const struct command *cmd = cli_command("forget");
	struct forget_opts fo;
	struct forget_result r;
	struct prune_result pr;
	struct prune_opts po;
	int c, rc = 0, do_prune = 0, pruned = 0;

	memset(&fo, 0, sizeof(fo));
	memset(&r, 0, sizeof(r));
	memset(&pr, 0, sizeof(pr));
	memset(&po, 0, sizeof(po));
	optind = 1;
	while (!rc && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			fo.source = optarg;
			break;
		case 'l':
			rc = parse_count(&fo.keep.last, "keep-last", optarg);
			break;
		case 'H':
			rc =
			    parse_count(&fo.keep.hourly, "keep-hourly", optarg);
			break;
		case 'd':
			rc = parse_count(&fo.keep.daily, "keep-daily", optarg);
			break;
		case 'w':
			rc =
			    parse_count(&fo.keep.weekly, "keep-weekly", optarg);
			break;
		case 'm':
			rc = parse_count(&fo.keep.monthly, "keep-monthly",
					 optarg);
			break;
		case 'y':
			rc =
			    parse_count(&fo.keep.yearly, "keep-yearly", optarg);
			break;
		case 'W':
			rc = sched_duration_parse_cal(&fo.keep.within, optarg);
			break;
		case 'z':
			fo.timezone = optarg;
			break;
		case 'n':
			fo.dry_run = 1;
			break;
		case 'p':
			do_prune = 1;
			break;
		case 'j':
			a->json = 1;
			break;
		default:
			return cli_usage(cmd, "bad option");
		}
	}
	if (rc)
		return cli_usage(cmd, "%s", rv_err_msg());
	if (optind < argc)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	if (!fo.timezone)
		fo.timezone = getenv("TZ");
	rc = rv_now(&fo.now);
	if (!rc)
		rc = app_load_config(a);
	if (!rc)
		rc = app_lock(a);
	if (!rc)
		rc = app_open_store(a);
	if (!rc)
		rc =
		    app_lock_targets(a, do_prune && !fo.dry_run,
				     do_prune ? "forget --prune" : "forget", 0);
	if (!rc)
		rc = app_open_catalog(a);
	/* --prune: what killed runs left is cleaned and adopted first, as
	 * `prune` does, so this prune judges it too (a repack's output a
	 * killed prune put on the targets is recorded, then deleted if no
	 * snapshot needs it) */
	if (!rc && do_prune && !fo.dry_run)
		rc = app_resume(a);
	if (!rc)
		rc = maint_forget(&r, a->cat, a->store, &fo);
	if (!rc && do_prune) {
		po.dry_run = fo.dry_run;
		po.now = fo.now;
		rc = maint_prune(&pr, a->cat, a->store, &po);
		pruned = !rc;
	}
	if (!rc) {
		if (!a->json)
			print_text(&r, fo.dry_run);
		if (cli_result_file(a))
			rc = print_json(cli_result_file(a), &r, fo.dry_run,
					pruned ? &pr : NULL);
	}
	if (!rc && pruned && !a->json)
		printf("prune: %llu pack(s) deleted, %llu repacked into %llu; "
		       "%llu copies removed from the targets (%llu bytes)%s\n",
		       (unsigned long long)pr.packs_deleted,
		       (unsigned long long)pr.packs_repacked,
		       (unsigned long long)pr.packs_written,
		       (unsigned long long)pr.copies_deleted,
		       (unsigned long long)pr.copies_bytes,
		       pr.n_pending ? "; some copies wait (see 'regvault "
				      "prune --dry-run')"
				    : "");
	maint_forget_release(&r);
	maint_prune_release(&pr);
	return rc ? cli_fail(rc) : EXIT_OK;
}
