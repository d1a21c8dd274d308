/* cmd_restore.c - regvault restore */
#include "cli/cli.h"

#include "catalog/catalog.h"
#include "registry/registry.h"
#include "restore/restore.h"
#include "restore/snapcheck.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/progress.h"
#include "util/set.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* TIME: unix seconds, or RFC 3339 ("2026-11-24T12:00:00Z", fractions
 * dropped, "+02:00" offsets applied). 0 or -1. */
static int parse_time(int64_t *out, const char *s)
{
	struct tm tm, back;
	const char *p;
	char *end = NULL;
	long long v;
	time_t t;
	int off = 0;

	if (*s && strspn(s, "0123456789") == strlen(s)) {
		if (strlen(s) > 12)
			return -1;
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno || *end || v < 0 || v > RV_TIME_MAX)
			return -1;
		*out = v;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p || (*p != 'T' && *p != 't') || !isdigit((unsigned char)p[1]))
		return -1;
	p = strptime(p + 1, "%H:%M:%S", &tm);
	if (!p || p - s < 19)
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
		   isdigit((unsigned char)p[2]) && p[3] == ':' &&
		   isdigit((unsigned char)p[4]) &&
		   isdigit((unsigned char)p[5])) {
		int hh = (p[1] - '0') * 10 + (p[2] - '0');
		int mm = (p[4] - '0') * 10 + (p[5] - '0');
		if (hh > 23 || mm > 59)
			return -1;
		off = (hh * 60 + mm) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	back = tm;
	t = timegm(&tm);
	/* timegm() quietly turns February 30 into March 2 */
	if (t == (time_t)-1 || tm.tm_mday != back.tm_mday ||
	    tm.tm_mon != back.tm_mon || tm.tm_hour != back.tm_hour)
		return -1;
	if ((int64_t)t - off < 0 || (int64_t)t - off > RV_TIME_MAX)
		return -1;
	*out = (int64_t)t - off;
	return 0;
}

/* REPO:TAG with a non-empty repository and tag (the tag after the last
 * colon: repository names hold no colon). */
static int tag_key_ok(const char *s)
{
	const char *colon = strrchr(s, ':');
	return colon && colon != s && colon[1] && !strchr(colon + 1, '/');
}

static int map_ok(const char *s)
{
	const char *eq = strchr(s, '=');
	return eq && eq != s;
}

int cmd_restore(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"to", required_argument, NULL, 't'},
	    {"repo", required_argument, NULL, 'r'},
	    {"map", required_argument, NULL, 'm'},
	    {"at", required_argument, NULL, 'a'},
	    {"tag", required_argument, NULL, 'T'},
	    {"force", no_argument, NULL, 'f'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const struct command *cmd = cli_command("restore");
	struct rv_strlist repos = RV_STRLIST_INIT;
	struct rv_strlist map = RV_STRLIST_INIT;
	struct rv_set tags = RV_SET_INIT;
	struct restore_opts o;
	struct restore_stats st;
	struct reg_stats rs;
	struct cat_snapshot snap;
	struct reg *dst = NULL;
	const char *to = NULL, *which = NULL, *at_text = NULL;
	const char *usage = NULL;
	int64_t at = 0;
	int c, rc = 0, force = 0, exit_code;

	memset(&o, 0, sizeof(o));
	memset(&st, 0, sizeof(st));
	memset(&rs, 0, sizeof(rs));
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:r:m:a:T:fnj", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 't':
			to = optarg;
			break;
		case 'r':
			rc = rv_strlist_add(&repos, optarg);
			break;
		case 'm':
			if (!map_ok(optarg))
				usage = "--map wants FROM=TO, e.g. "
					"'team-a/=dr/team-a/'";
			else
				rc = rv_strlist_add(&map, optarg);
			break;
		case 'a':
			at_text = optarg;
			if (parse_time(&at, optarg))
				usage = "--at wants an RFC 3339 time "
					"(2026-11-24T12:00:00Z) or unix "
					"seconds";
			break;
		case 'T':
			if (!tag_key_ok(optarg))
				usage = "--tag wants REPO:TAG";
			else
				rc = rv_set_add(&tags, optarg, strlen(optarg)) <
					     0
					 ? RV_NOMEM
					 : 0;
			break;
		case 'f':
			force = 1;
			break;
		case 'n':
			o.dry_run = 1;
			break;
		case 'j':
			a->json = 1;
			break;
		default:
			usage = "bad option";
			break;
		}
		if (rc || usage)
			break;
	}
	if (!rc && !usage) {
		if (at_text && optind != argc)
			usage = "give a snapshot or --at TIME, not both";
		else if (!at_text && optind == argc)
			usage = "which snapshot? give an id, 'latest' or "
				"--at TIME";
		else if (optind + (at_text ? 0 : 1) != argc)
			usage = "give exactly one snapshot";
		else if (!to && !o.dry_run)
			usage = "--to REGISTRY is required";
	}
	if (rc || usage) {
		exit_code = rc ? cli_fail(rc) : cli_usage(cmd, "%s", usage);
		goto out;
	}
	which = at_text ? NULL : argv[optind];
	rc = app_load_config(a);
	if (!rc)
		rc = app_open_catalog(a);
	if (!rc && which)
		rc = cat_snapshot_find(&snap, a->cat, which);
	if (!rc && !which) {
		rc = cat_snapshot_at(&snap, a->cat, at, NULL);
		if (rc == RV_NOTFOUND)
			rc = rv_err_set(RV_NOTFOUND,
					"no snapshot was taken at or before "
					"%s",
					at_text);
	}
	if (!rc && !o.dry_run)
		rc = app_open_store(a);
	if (!rc && !o.dry_run)
		rc = app_lock_targets(a, 0, "restore", 1);
	/* the targets, not the catalog, decide what the snapshot is */
	if (!rc && !o.dry_run)
		rc = restore_check_snapshot(a->cat, a->store, snap.id);
	/* a dry run with --to says what each tag would become */
	if (!rc && to)
		rc = app_open_registry(&dst, a, to);
	if (rc) {
		exit_code = cli_fail(rc);
		goto out;
	}
	o.snapshot = snap.id;
	o.repos = &repos;
	o.plan = a->json ? stderr : stdout;
	o.map = &map;
	o.tag_policy = force ? RESTORE_TAGS_FORCE : RESTORE_TAGS_KEEP;
	if (tags.n) {
		o.tags = &tags;
		o.tags_strict = 1;
	}
	if (o.dry_run && !a->json)
		printf("plan: restore snapshot %.12s (%s) into %s\n", snap.id,
		       snap.source, to ? to : "(nowhere: dry run)");
	if (at_text && !a->json) {
		char when[32];
		cli_time(when, sizeof(when), (long long)snap.time);
		fprintf(o.dry_run ? stdout : stderr,
			"snapshot %.12s, taken %s, is the newest at or "
			"before %s\n",
			snap.id, when, at_text);
	}
	if (to) {
		const struct cfg_registry *creg = cfg_registry_find(a->cfg, to);
		o.max_connections = creg ? creg->max_connections : 0;
	}
	rc = restore_run(&st, a->cat, a->store, dst, &o);
	if (dst)
		reg_get_stats(&rs, dst);
	rv_progress_done();
	if (cli_result_file(a))
		fprintf(cli_result_file(a),
		    "{\"snapshot\":\"%s\",\"dry_run\":%s,\"repositories\":%llu,"
		    "\"tags\":%llu,\"manifests_pushed\":%llu,"
		    "\"blobs_pushed\":%llu,\"blobs_mounted\":%llu,"
		    "\"blobs_skipped\":%llu,\"bytes_pushed\":%llu,"
		    "\"verified\":%llu,\"tags_unchanged\":%llu,"
		    "\"tags_kept\":%llu,\"tags_overwritten\":%llu,"
		    "\"referrers_pushed\":%llu,\"referrer_indexes\":%llu,"
		    "\"chunks_sent\":%llu}\n",
		    snap.id, o.dry_run ? "true" : "false",
		    (unsigned long long)st.repositories,
		    (unsigned long long)st.tags,
		    (unsigned long long)st.manifests_pushed,
		    (unsigned long long)st.blobs_pushed,
		    (unsigned long long)st.blobs_mounted,
		    (unsigned long long)st.blobs_skipped,
		    (unsigned long long)st.bytes_pushed,
		    (unsigned long long)st.tags_verified,
		    (unsigned long long)st.tags_unchanged,
		    (unsigned long long)st.tags_kept,
		    (unsigned long long)st.tags_overwritten,
		    (unsigned long long)st.referrers_pushed,
		    (unsigned long long)st.referrer_indexes,
		    (unsigned long long)rs.chunks_sent);
	if (rc) {
		exit_code = cli_fail(rc);
		goto out;
	}
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
		if (st.tags_unchanged || st.tags_kept || st.tags_overwritten)
			printf("tags already on the destination: %llu "
			       "unchanged, %llu kept with another digest%s, "
			       "%llu overwritten\n",
			       (unsigned long long)st.tags_unchanged,
			       (unsigned long long)st.tags_kept,
			       st.tags_kept ? " (--force overwrites them)" : "",
			       (unsigned long long)st.tags_overwritten);
	}
	exit_code = EXIT_OK;
out:
	reg_free(dst);
	rv_strlist_release(&repos);
	rv_strlist_release(&map);
	rv_set_release(&tags);
	return exit_code;
}
