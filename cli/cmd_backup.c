/* cmd_backup.c - regvault backup */
#include "cli/cli.h"

#include "backup/backup.h"
#include "catalog/catalog.h"
#include "maint/maint.h"
#include "registry/registry.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/progress.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void print_json(FILE *f, const struct backup_stats *st, char **ids,
		       size_t n)
{
	fprintf(f, "{\"snapshot\":\"%s\",\"snapshots\":[", n ? ids[n - 1] : "");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\"%s\"", i ? "," : "", ids[i]);
	fprintf(f, "],\"repositories\":%llu,\"tags\":%llu,\"tags_failed\":%llu,"
	       "\"tags_skipped\":%llu,\"manifest_heads\":%llu,"
	       "\"manifests_fetched\":%llu,\"blobs_fetched\":%llu,"
	       "\"bytes_fetched\":%llu,\"chunks_written\":%llu,"
	       "\"bytes_written\":%llu,\"packs_written\":%llu,"
	       "\"requests\":%llu,\"retries\":%llu,\"throttled\":%llu,"
	       "\"resumed\":%llu}\n",
	       (unsigned long long)st->repositories,
	       (unsigned long long)st->tags,
	       (unsigned long long)st->tags_failed,
	       (unsigned long long)st->tags_skipped,
	       (unsigned long long)st->manifest_heads,
	       (unsigned long long)st->manifests_fetched,
	       (unsigned long long)st->blobs_fetched,
	       (unsigned long long)st->bytes_fetched,
	       (unsigned long long)st->chunks_written,
	       (unsigned long long)st->bytes_written,
	       (unsigned long long)st->packs_written,
	       (unsigned long long)st->requests,
	       (unsigned long long)st->retries,
	       (unsigned long long)st->throttled,
	       (unsigned long long)st->resumed);
}

static void add_stats(struct backup_stats *t, const struct backup_stats *s)
{
	t->repositories += s->repositories;
	t->tags += s->tags;
	t->tags_failed += s->tags_failed;
	t->tags_skipped += s->tags_skipped;
	t->manifest_heads += s->manifest_heads;
	t->manifests_fetched += s->manifests_fetched;
	t->blobs_fetched += s->blobs_fetched;
	t->bytes_fetched += s->bytes_fetched;
	t->chunks_written += s->chunks_written;
	t->bytes_written += s->bytes_written;
	t->packs_written += s->packs_written;
	t->requests += s->requests;
	t->retries += s->retries;
	t->throttled += s->throttled;
	t->resumed += s->resumed;
}

int cmd_backup(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"source", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const struct command *cmd = cli_command("backup");
	const char *only = NULL;
	struct backup_stats total;
	char ids[64][65];
	char *idp[64];
	size_t n_ids = 0, ran = 0;
	int c, rc = 0, first_rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:j", opts, NULL)) != -1) {
		if (c == 's')
			only = optarg;
		else if (c == 'j')
			a->json = 1;
		else
			return cli_usage(cmd, "bad option");
	}
	if (optind < argc)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	rc = app_load_config(a);
	if (!rc && a->cfg->n_sources == 0)
		rc = rv_err_set(RV_INVALID,
				"config '%s' has no 'sources': nothing to back "
				"up",
				a->cfg->path);
	if (!rc && a->cfg->n_sources > 64)
		rc = rv_err_set(RV_INVALID, "at most 64 sources per run");
	if (!rc)
		rc = app_lock(a);
	if (!rc)
		rc = app_open_store(a);
	if (!rc)
		rc = app_lock_targets(a, 0, "backup", 0);
	if (!rc)
		rc = app_open_catalog(a);
	if (!rc)
		rc = app_resume(a);
	if (rc)
		return cli_fail(rc);

	memset(&total, 0, sizeof(total));
	for (size_t i = 0; i < a->cfg->n_sources; i++) {
		const struct cfg_source *src = &a->cfg->sources[i];
		struct backup_source bs = {
		    .name = src->registry,
		    .include = &src->repositories,
		    .exclude = &src->exclude,
		    .tags_include = &src->tags_include,
		    .tags_exclude = &src->tags_exclude,
		    .keep_newest = src->keep_newest,
		    .platforms = &src->platforms,
		    .referrers = src->referrers,
		};
		const struct cfg_registry *creg =
		    cfg_registry_find(a->cfg, src->registry);
		struct reg *r = NULL;
		struct backup_stats st;

		memset(&st, 0, sizeof(st));
		bs.max_connections = creg ? creg->max_connections : 0;
		if (only && strcmp(only, src->registry))
			continue;
		ran++;
		rc = app_open_registry(&r, a, src->registry);
		if (!rc)
			rc = backup_run(&st, a->cat, a->store, r, &bs);
		if (r) {
			struct reg_stats rs;

			reg_get_stats(&rs, r);
			st.requests = rs.requests;
			st.retries = rs.retries;
			st.throttled = rs.throttled;
			st.resumed = rs.resumed;
		}
		reg_free(r);
		add_stats(&total, &st);
		if (rc) {
			rv_log(RV_LOG_ERROR, "source '%s': %s", src->registry,
			       rv_err_msg());
			if (!first_rc)
				first_rc = rc;
			/* another source may still succeed */
			if (rc == RV_NOSPC || rc == RV_IO || rc == RV_NOMEM)
				break;
			continue;
		}
		snprintf(ids[n_ids], sizeof(ids[0]), "%s", st.snapshot);
		idp[n_ids] = ids[n_ids];
		n_ids++;
		if (!a->json) {
			char fetched[32], written[32];
			printf("snapshot %.12s of '%s': %llu repositories, "
			       "%llu tags; fetched %llu manifests, %llu blobs "
			       "(%s); wrote %llu packs (%s)\n",
			       st.snapshot, src->registry,
			       (unsigned long long)st.repositories,
			       (unsigned long long)st.tags,
			       (unsigned long long)st.manifests_fetched,
			       (unsigned long long)st.blobs_fetched,
			       rv_human_bytes(fetched, sizeof(fetched),
					      st.bytes_fetched),
			       (unsigned long long)st.packs_written,
			       rv_human_bytes(written, sizeof(written),
					      st.bytes_written));
		}
	}
	if (only && !ran) {
		rv_err_set(RV_INVALID, "no source uses registry '%s'", only);
		return cli_fail(RV_INVALID);
	}
	if (cli_result_file(a))
		print_json(cli_result_file(a), &total, idp, n_ids);
	if (first_rc) {
		rv_log(RV_LOG_ERROR, "backup failed");
		return cli_exit_code(first_rc);
	}
	return EXIT_OK;
}
