/* cmd_drill.c - regvault drill */
#include "cli/cli.h"

#include "catalog/catalog.h"
#include "registry/registry.h"
#include "restore/drill.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/fs.h"
#include "util/progress.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* More tags than this in one sample is a typo, not a drill. */
#define SAMPLE_MAX 10000000ull
#define REPORT_MAX (64u << 20)

static int parse_sample(size_t *out, const char *text)
{
	char *end = NULL;
	unsigned long long v;

	if (!*text || *text == '-')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v > SAMPLE_MAX)
		return -1;
	*out = (size_t)v;
	return 0;
}

static void print_text(const struct drill_result *r, const char *to,
		       const char *report, int exit_code)
{
	char h1[32], h2[32], when[32];

	printf("drill of snapshot %.12s (source %s) into %s: %s\n", r->snapshot,
	       r->source, to, exit_code ? "FAILED" : "passed");
	printf("  tags: %llu checked, %llu check out; %llu manifests "
	       "fetched and parsed; %llu blobs looked up, %llu missing\n",
	       (unsigned long long)r->tags_checked,
	       (unsigned long long)r->tags_ok,
	       (unsigned long long)r->manifests_checked,
	       (unsigned long long)r->blobs_checked,
	       (unsigned long long)r->blobs_missing);
	printf(
	    "  restore: %llu bytes (%s) in %.3f s: %.0f bytes/s (%s/s)\n",
	    (unsigned long long)r->bytes,
	    rv_human_bytes(h1, sizeof(h1), r->bytes), r->seconds, r->throughput,
	    rv_human_bytes(h2, sizeof(h2), (unsigned long long)r->throughput));
	if (r->rpo_seconds >= 0)
		printf("  RPO: %lld s (age of the newest snapshot)\n",
		       (long long)r->rpo_seconds);
	if (r->rto_seconds >= 0)
		printf("  projected RTO: %.1f s for %llu bytes (a projection "
		       "from this drill's rate)\n",
		       r->rto_seconds, (unsigned long long)r->rto_bytes);
	else
		printf("  projected RTO: unknown (no restore rate measured)\n");
	for (size_t i = 0; i < r->n_sources; i++) {
		const struct drill_source *s = &r->sources[i];
		cli_time(when, sizeof(when), s->time);
		printf("  source %s: newest snapshot %.12s at %s, RPO %lld s, "
		       "%llu bytes",
		       s->source, s->snapshot, when, (long long)s->rpo_seconds,
		       (unsigned long long)s->bytes);
		if (s->rto_seconds >= 0)
			printf(", projected RTO %.1f s\n", s->rto_seconds);
		else
			printf("\n");
	}
	for (size_t i = 0; i < r->n_failures; i++) {
		const struct drill_failure *f = &r->failures[i];
		if (f->tag)
			printf("FAILED %s:%s: %s\n", f->repo, f->tag,
			       f->reason);
		else
			printf("FAILED: %s\n", f->reason);
	}
	if (report)
		printf("report: %s\n", report);
}

static int write_report(const char *path, const struct drill_result *r,
			const struct drill_opts *o, int exit_code)
{
	struct rv_buf text = RV_BUF_INIT(REPORT_MAX);
	int rc = drill_report(&text, r, o, exit_code);

	if (!rc)
		rc = rv_fs_write_atomic(path, text.data, text.len, 0644);
	rv_buf_release(&text);
	return rc;
}

int cmd_drill(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"to", required_argument, NULL, 't'},
	    {"snapshot", required_argument, NULL, 's'},
	    {"repo", required_argument, NULL, 'r'},
	    {"sample", required_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {"report", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0},
	};
	const struct command *cmd = cli_command("drill");
	struct rv_strlist repos = RV_STRLIST_INIT;
	struct drill_opts o;
	struct drill_result *r = NULL;
	struct cat_snapshot snap;
	struct reg *dst = NULL, *check = NULL;
	const char *which = "latest", *report = NULL;
	char *json = NULL, *msg = NULL;
	int c, rc, code;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:s:r:n:jo:", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			o.registry = optarg;
			break;
		case 's':
			which = optarg;
			break;
		case 'r':
			if (rv_strlist_add(&repos, optarg))
				return cli_fail(RV_NOMEM);
			break;
		case 'n':
			if (parse_sample(&o.sample, optarg)) {
				rv_strlist_release(&repos);
				return cli_usage(cmd,
						 "--sample wants a number of "
						 "tags from 0 to %llu, not "
						 "'%s'",
						 SAMPLE_MAX, optarg);
			}
			break;
		case 'j':
			a->json = 1;
			break;
		case 'o':
			report = optarg;
			break;
		default:
			rv_strlist_release(&repos);
			return cli_usage(cmd, "bad option");
		}
	}
	if (optind != argc) {
		rv_strlist_release(&repos);
		return cli_usage(cmd,
				 "unexpected argument '%s' (the snapshot "
				 "is --snapshot ID)",
				 argv[optind]);
	}
	if (!o.registry) {
		rv_strlist_release(&repos);
		return cli_usage(cmd, "--to REGISTRY is required (a scratch "
				      "registry: the drill writes into it)");
	}
	o.repos = &repos;
	rc = app_load_config(a);
	if (!rc)
		rc = app_open_catalog(a);
	if (!rc)
		rc = cat_snapshot_find(&snap, a->cat, which);
	if (!rc)
		rc = app_open_store(a);
	if (!rc)
		rc = app_lock_targets(a, 0, "drill", 1);
	/* two clients: the checks must not share a connection, a token or
	 * any state with the restore they check */
	if (!rc)
		rc = app_open_registry(&dst, a, o.registry);
	if (!rc)
		rc = app_open_registry(&check, a, o.registry);
	if (rc) {
		reg_free(dst);
		rv_strlist_release(&repos);
		return cli_fail(rc);
	}
	o.snapshot = snap.id;
	o.store_id = store_id(a->store);
	rc = drill_run(&r, a->cat, a->store, dst, check, &o);
	rv_progress_done();
	reg_free(check);
	reg_free(dst);
	if (!r) {
		rv_strlist_release(&repos);
		return cli_fail(rc);
	}
	code = cli_exit_code(rc);
	if (rc)
		msg = strdup(r->error ? r->error : rv_err_msg());

	/* the trail and the report, also (above all) when the drill failed */
	if (drill_json(&json, r, &o, code) == 0) {
		if (cat_run_add(a->cat, "drill", r->started, r->finished, code,
				json))
			fprintf(stderr,
				"regvault: warning: the drill could not be "
				"recorded in the catalog: %s\n",
				rv_err_msg());
	} else {
		rv_warn("%s", rv_err_msg());
	}
	if (report && write_report(report, r, &o, code)) {
		fprintf(stderr,
			"regvault: error: cannot write the report '%s': %s\n",
			report, rv_err_msg());
		if (!code)
			code = EXIT_FAIL;
	}
	if (a->json && json)
		printf("%s\n", json);
	else if (!a->json && r->tags_selected)
		print_text(r, o.registry, report, code);
	if (rc) {
		rv_err_set(rc, "%s", msg ? msg : rv_code_name(rc));
		cli_fail(rc);
	}
	free(msg);
	free(json);
	drill_result_free(r);
	rv_strlist_release(&repos);
	return code;
}
