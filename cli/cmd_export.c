/* cmd_export.c - regvault export SNAPSHOT --repo R[:T]
 *                (--oci-layout DIR | --oci-archive FILE) [--json] */
#include "cli/cli.h"

#include "catalog/catalog.h"
#include "restore/export.h"
#include "restore/snapcheck.h"
#include "store/store.h"
#include "util/err.h"
#include "util/progress.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one signal flag: SIGINT/SIGTERM ask the export to stop and remove
 * its temporary folder or file. */
static volatile sig_atomic_t export_stop;

static void on_signal(int sig)
{
	(void)sig;
	export_stop = 1;
}

static int catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGTERM, &sa, NULL) < 0)
		return rv_err_errno(RV_ERROR, errno,
				    "cannot install a signal handler");
	return 0;
}

static int print_json(const struct cat_snapshot *snap,
		      const struct export_opts *o,
		      const struct export_stats *st)
{
	char when[32];

	cli_time(when, sizeof(when), snap->time);
	return cli_print_json(json_pack(
	    "{s:s, s:s, s:s, s:s?, s:s, s:s, s:I, s:I, s:I, s:I, s:I}",
	    "snapshot", snap->id, "time", when, "repository", o->repo, "tag",
	    o->tag, "format",
	    o->format == EXPORT_ARCHIVE ? "oci-archive" : "oci-layout", "path",
	    o->path, "tags", (json_int_t)st->tags, "manifests",
	    (json_int_t)st->manifests, "blobs", (json_int_t)st->blobs, "bytes",
	    (json_int_t)st->bytes, "foreign_layers", (json_int_t)st->foreign));
}

int cmd_export(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"repo", required_argument, NULL, 'r'},
	    {"oci-layout", required_argument, NULL, 'l'},
	    {"oci-archive", required_argument, NULL, 'a'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const struct command *cmd = cli_command("export");
	struct export_opts o;
	struct export_stats st;
	struct cat_snapshot snap;
	const char *layout = NULL, *archive = NULL, *repo_arg = NULL;
	char *repo = NULL;
	int c, rc;

	memset(&o, 0, sizeof(o));
	memset(&st, 0, sizeof(st));
	optind = 1;
	while ((c = getopt_long(argc, argv, "r:l:a:j", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (repo_arg)
				return cli_usage(cmd, "give --repo once (one "
						      "repository per export)");
			repo_arg = optarg;
			break;
		case 'l':
			layout = optarg;
			break;
		case 'a':
			archive = optarg;
			break;
		case 'j':
			a->json = 1;
			break;
		default:
			return cli_usage(cmd, "bad option");
		}
	}
	if (optind == argc)
		return cli_usage(cmd, "which snapshot? give an id, a unique "
				      "prefix or 'latest'");
	if (optind + 1 != argc)
		return cli_usage(cmd, "give exactly one snapshot");
	if (!repo_arg || !repo_arg[0])
		return cli_usage(cmd, "--repo REPOSITORY[:TAG] is required");
	if (!layout == !archive)
		return cli_usage(cmd, "give one of --oci-layout DIR or "
				      "--oci-archive FILE");
	if ((layout && !layout[0]) || (archive && !archive[0]))
		return cli_usage(cmd, "the output path is empty");
	repo = strdup(repo_arg);
	if (!repo)
		return cli_fail(rv_err_set(RV_NOMEM, "out of memory"));
	/* repository names hold no ':', so the last one starts the tag */
	{
		char *colon = strrchr(repo, ':');
		if (colon) {
			*colon = '\0';
			o.tag = colon + 1;
			if (!repo[0] || !export_tag_valid(o.tag)) {
				rc = cli_usage(cmd,
					       "'%s' is not REPOSITORY[:TAG]",
					       repo_arg);
				free(repo);
				return rc;
			}
		}
	}
	o.repo = repo;
	o.path = layout ? layout : archive;
	o.format = layout ? EXPORT_LAYOUT : EXPORT_ARCHIVE;
	o.stop = &export_stop;

	rc = app_load_config(a);
	if (!rc)
		rc = app_open_catalog(a);
	if (!rc)
		rc = cat_snapshot_find(&snap, a->cat, argv[optind]);
	if (!rc)
		rc = app_open_store(a);
	if (!rc)
		rc = app_lock_targets(a, 0, "export", 1);
	/* the targets, not the catalog, decide what the snapshot is */
	if (!rc)
		rc = restore_check_snapshot(a->cat, a->store, snap.id);
	if (!rc)
		rc = catch_signals();
	if (!rc) {
		o.snapshot = snap.id;
		rc = export_run(&st, a->cat, a->store, &o);
	}
	rv_progress_done();
	if (rc) {
		free(repo);
		return cli_fail(rc);
	}
	if (a->json) {
		rc = print_json(&snap, &o, &st);
	} else {
		char h[32];
		printf("exported %llu tag(s) of %s%s%s from snapshot %.12s to "
		       "%s '%s': %llu manifest(s), %llu blob(s), %s\n",
		       (unsigned long long)st.tags, o.repo, o.tag ? ":" : "",
		       o.tag ? o.tag : "", snap.id,
		       o.format == EXPORT_ARCHIVE ? "oci-archive"
						  : "oci-layout",
		       o.path, (unsigned long long)st.manifests,
		       (unsigned long long)st.blobs,
		       rv_human_bytes(h, sizeof(h), st.bytes));
		if (st.foreign)
			printf("left out %llu foreign layer(s): regvault does "
			       "not store them; the manifests still name "
			       "their URLs\n",
			       (unsigned long long)st.foreign);
	}
	free(repo);
	return rc ? cli_fail(rc) : EXIT_OK;
}
