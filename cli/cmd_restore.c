/* cmd_restore.c - regvault restore */
#include "cli/cli.h"

#include "catalog/catalog.h"
#include "registry/registry.h"
#include "restore/restore.h"
#include "restore/snapcheck.h"
#include "store/store.h"
#include "util/err.h"
#include "util/progress.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int cmd_restore(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"to", required_argument, NULL, 't'},
	    {"repo", required_argument, NULL, 'r'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const struct command *cmd = cli_command("restore");
	struct rv_strlist repos = RV_STRLIST_INIT;
	struct restore_opts o;
	struct restore_stats st;
	struct cat_snapshot snap;
	struct reg *dst = NULL;
	const char *to = NULL, *which;
	int c, rc;

	memset(&o, 0, sizeof(o));
	memset(&st, 0, sizeof(st));
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:r:nj", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			to = optarg;
			break;
		case 'r':
			if (rv_strlist_add(&repos, optarg))
				return cli_fail(RV_NOMEM);
			break;
		case 'n':
			o.dry_run = 1;
			break;
		case 'j':
			a->json = 1;
			break;
		default:
			rv_strlist_release(&repos);
			return cli_usage(cmd, "bad option");
		}
	}
	if (optind + 1 != argc || (!to && !o.dry_run)) {
		rv_strlist_release(&repos);
		return cli_usage(
		    cmd, optind == argc	      ? "which snapshot? give an id or "
						"'latest'"
			 : optind + 1 != argc ? "give exactly one snapshot"
					      : "--to REGISTRY is required");
	}
	which = argv[optind];
	rc = app_load_config(a);
	if (!rc)
		rc = app_open_catalog(a);
	if (!rc)
		rc = cat_snapshot_find(&snap, a->cat, which);
	if (!rc && !o.dry_run)
		rc = app_open_store(a);
	if (!rc && !o.dry_run)
		rc = app_lock_targets(a, 0, "restore", 1);
	/* the targets, not the catalog, decide what the snapshot is */
	if (!rc && !o.dry_run)
		rc = restore_check_snapshot(a->cat, a->store, snap.id);
	if (!rc && to && !o.dry_run)
		rc = app_open_registry(&dst, a, to);
	if (rc) {
		rv_strlist_release(&repos);
		return cli_fail(rc);
	}
	o.snapshot = snap.id;
	o.repos = &repos;
	o.plan = stdout;
	if (o.dry_run && !a->json)
		printf("plan: restore snapshot %.12s (%s) into %s\n", snap.id,
		       snap.source, to ? to : "(nowhere: dry run)");
	rc = restore_run(&st, a->cat, a->store, dst, &o);
	reg_free(dst);
	rv_strlist_release(&repos);
	rv_progress_done();
	if (a->json)
		printf(
		    "{\"snapshot\":\"%s\",\"dry_run\":%s,\"repositories\":%llu,"
		    "\"tags\":%llu,\"manifests_pushed\":%llu,"
		    "\"blobs_pushed\":%llu,\"blobs_mounted\":%llu,"
		    "\"blobs_skipped\":%llu,\"bytes_pushed\":%llu,"
		    "\"verified\":%llu}\n",
		    snap.id, o.dry_run ? "true" : "false",
		    (unsigned long long)st.repositories,
		    (unsigned long long)st.tags,
		    (unsigned long long)st.manifests_pushed,
		    (unsigned long long)st.blobs_pushed,
		    (unsigned long long)st.blobs_mounted,
		    (unsigned long long)st.blobs_skipped,
		    (unsigned long long)st.bytes_pushed,
		    (unsigned long long)st.tags_verified);
	if (rc)
		return cli_fail(rc);
	if (!a->json) {
		char h[32];
		if (o.dry_run)
			printf("plan: %llu repositories, %llu tags, %llu "
			       "blobs (%s); nothing pushed\n",
			       (unsigned long long)st.repositories,
			       (unsigned long long)st.tags,
			       (unsigned long long)st.blobs_planned,
			       rv_human_bytes(h, sizeof(h), st.bytes_planned));
		else
			printf("restored snapshot %.12s into %s: %llu "
			       "repositories, %llu tags, %llu manifests, %llu "
			       "blobs pushed (%s), %llu mounted, %llu already "
			       "present; %llu/%llu tags verified\n",
			       snap.id, to, (unsigned long long)st.repositories,
			       (unsigned long long)st.tags,
			       (unsigned long long)st.manifests_pushed,
			       (unsigned long long)st.blobs_pushed,
			       rv_human_bytes(h, sizeof(h), st.bytes_pushed),
			       (unsigned long long)st.blobs_mounted,
			       (unsigned long long)st.blobs_skipped,
			       (unsigned long long)st.tags_verified,
			       (unsigned long long)st.tags);
	}
	return EXIT_OK;
}
