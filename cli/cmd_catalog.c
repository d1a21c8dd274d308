/* cmd_catalog.c - regvault catalog rebuild --from TARGET [--force]
 *                 regvault catalog history REPO:TAG
 *                 regvault catalog ls SNAPSHOT [REPO]
 *                 regvault catalog diff A B
 *                 regvault catalog stats [--snapshot S]
 *                 regvault catalog find DIGEST
 *
 * history, ls, diff, stats and find read the catalog only: no passphrase,
 * no target, no network (docs/CATALOG.md, "Queries"). */
#include "cli/cli.h"

#include "catalog/catalog.h"
#include "catalog/queries.h"
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

/* ---- ls, diff, stats, find ------------------------------------------ */

static const char catalog_help[] =
    "usage: regvault catalog SUBCOMMAND [ARGS] [--json]\n"
    "\n"
    "  rebuild --from TARGET [--force]\n"
    "      rebuild the catalog from one target and the key\n"
    "  history REPO:TAG\n"
    "      the digest a tag had in every snapshot, oldest first\n"
    "  ls SNAPSHOT [REPO]\n"
    "      the repositories of a snapshot with their tag counts and sizes;\n"
    "      with REPO, its tags with digest and size\n"
    "  diff A B\n"
    "      tags added, removed and moved from snapshot A to snapshot B, and\n"
    "      the bytes B reaches that A does not\n"
    "  stats [--snapshot SNAPSHOT]\n"
    "      per repository of a snapshot (default: latest): logical size,\n"
    "      bytes no other repository reaches (unique), bytes it shares\n"
    "  find DIGEST\n"
    "      every snapshot, repository and tag holding a blob or manifest,\n"
    "      and how: as the tag's manifest, an index child, a config or a\n"
    "      layer, or a referrer\n"
    "\n"
    "SNAPSHOT is a full id, a unique prefix of at least 4 hex digits, or\n"
    "'latest' (see 'regvault snapshots'). Everything but rebuild reads the\n"
    "catalog only: no passphrase, no target, no network. --json prints the\n"
    "shapes documented in docs/CATALOG.md, \"Queries\"; sizes are bytes.\n";

/* {"id", "time", "source"} of a snapshot. */
static json_t *snap_json(const struct cat_snapshot *s)
{
	char when[32];

	cli_time(when, sizeof(when), s->time);
	return json_pack("{s:s, s:s, s:s}", "id", s->id, "time", when, "source",
			 s->source);
}

static void snap_line(const char *label, const struct cat_snapshot *s)
{
	char when[32];

	cli_time(when, sizeof(when), s->time);
	printf("%s%.12s  %s  %s\n", label, s->id, when, s->source);
}

/* Append item (owned) to arr; RV_NOMEM when either is missing. */
static int append(json_t *arr, json_t *item)
{
	if (!arr || !item || json_array_append_new(arr, item) < 0)
		return rv_err_set(RV_NOMEM, "out of memory");
	return 0;
}

static int ls_json(const struct cat_snapshot *snap, const struct cat_ls *ls)
{
	json_t *repos = json_array();
	int rc = 0;

	for (size_t i = 0; !rc && i < ls->n_repos; i++) {
		const struct cat_ls_repo *r = &ls->repos[i];
		json_t *tags = json_array();

		for (size_t j = 0; !rc && j < r->n_tags; j++) {
			const struct cat_ls_tag *t = &r->tags[j];
			rc = append(
			    tags, json_pack("{s:s, s:s, s:s, s:I, s:I}", "tag",
					    t->tag, "digest", t->digest,
					    "media_type", t->media_type, "size",
					    (json_int_t)t->size, "objects",
					    (json_int_t)t->objects));
		}
		if (rc) {
			json_decref(tags);
			break;
		}
		rc = append(repos,
			    json_pack("{s:s, s:I, s:I, s:o}", "repository",
				      r->repo, "logical_size",
				      (json_int_t)r->logical_size, "objects",
				      (json_int_t)r->objects, "tags", tags));
	}
	if (rc) {
		json_decref(repos);
		return rc;
	}
	return cli_print_json(json_pack(
	    "{s:o, s:o}", "snapshot", snap_json(snap), "repositories", repos));
}

static void ls_text(const struct cat_snapshot *snap, const struct cat_ls *ls,
		    int one_repo)
{
	char h[32];

	snap_line("snapshot ", snap);
	if (!one_repo) {
		printf("%-40s  %5s  %10s\n", "REPOSITORY", "TAGS", "LOGICAL");
		for (size_t i = 0; i < ls->n_repos; i++)
			printf(
			    "%-40s  %5zu  %10s\n", ls->repos[i].repo,
			    ls->repos[i].n_tags,
			    rv_human_bytes(
				h, sizeof(h),
				(unsigned long long)ls->repos[i].logical_size));
		return;
	}
	for (size_t i = 0; i < ls->n_repos; i++) {
		const struct cat_ls_repo *r = &ls->repos[i];

		printf("%s: %zu tags, %s\n", r->repo, r->n_tags,
		       rv_human_bytes(h, sizeof(h),
				      (unsigned long long)r->logical_size));
		for (size_t j = 0; j < r->n_tags; j++)
			printf("  %-24s  %s  %10s\n", r->tags[j].tag,
			       r->tags[j].digest,
			       rv_human_bytes(
				   h, sizeof(h),
				   (unsigned long long)r->tags[j].size));
	}
}

static int query_ls(struct app *a, char **args, size_t n, const char *opt)
{
	struct cat_snapshot snap;
	struct cat_ls ls;
	const char *repo = n > 1 ? args[1] : NULL;
	int rc;

	(void)opt;
	memset(&ls, 0, sizeof(ls));
	rc = cat_snapshot_find(&snap, a->cat, args[0]);
	if (!rc)
		rc = cat_query_ls(&ls, a->cat, snap.id, repo);
	if (!rc && a->json)
		rc = ls_json(&snap, &ls);
	else if (!rc)
		ls_text(&snap, &ls, repo != NULL);
	cat_ls_release(&ls);
	return rc;
}

static int diff_json(const struct cat_snapshot *from,
		     const struct cat_snapshot *to, const struct cat_diff *d)
{
	json_t *added = json_array(), *removed = json_array();
	json_t *moved = json_array();
	int rc = 0;

	for (size_t i = 0; !rc && i < d->n_tags; i++) {
		const struct cat_diff_tag *t = &d->tags[i];

		if (t->kind == CAT_DIFF_ADDED)
			rc = append(added,
				    json_pack("{s:s, s:s, s:s}", "repository",
					      t->repo, "tag", t->tag, "digest",
					      t->new_digest));
		else if (t->kind == CAT_DIFF_REMOVED)
			rc = append(removed,
				    json_pack("{s:s, s:s, s:s}", "repository",
					      t->repo, "tag", t->tag, "digest",
					      t->old_digest));
		else
			rc = append(moved,
				    json_pack("{s:s, s:s, s:s, s:s}",
					      "repository", t->repo, "tag",
					      t->tag, "from", t->old_digest,
					      "to", t->new_digest));
	}
	if (rc) {
		json_decref(added);
		json_decref(removed);
		json_decref(moved);
		return rc;
	}
	return cli_print_json(json_pack(
	    "{s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I}", "from",
	    snap_json(from), "to", snap_json(to), "added", added, "removed",
	    removed, "moved", moved, "unchanged", (json_int_t)d->unchanged,
	    "bytes_added", (json_int_t)d->bytes_added, "objects_added",
	    (json_int_t)d->objects_added, "bytes_removed",
	    (json_int_t)d->bytes_removed, "objects_removed",
	    (json_int_t)d->objects_removed));
}

static void diff_text(const struct cat_snapshot *from,
		      const struct cat_snapshot *to, const struct cat_diff *d)
{
	char h1[32], h2[32];

	snap_line("from ", from);
	snap_line("to   ", to);
	for (size_t i = 0; i < d->n_tags; i++) {
		const struct cat_diff_tag *t = &d->tags[i];

		if (t->kind == CAT_DIFF_ADDED)
			printf("+ %s:%s  %s\n", t->repo, t->tag, t->new_digest);
		else if (t->kind == CAT_DIFF_REMOVED)
			printf("- %s:%s  %s\n", t->repo, t->tag, t->old_digest);
		else
			printf("~ %s:%s  %s -> %s\n", t->repo, t->tag,
			       t->old_digest, t->new_digest);
	}
	printf(
	    "%zu added, %zu removed, %zu moved, %lld unchanged; %s added "
	    "(%lld objects), %s removed (%lld objects)\n",
	    d->n_added, d->n_removed, d->n_moved, (long long)d->unchanged,
	    rv_human_bytes(h1, sizeof(h1), (unsigned long long)d->bytes_added),
	    (long long)d->objects_added,
	    rv_human_bytes(h2, sizeof(h2),
			   (unsigned long long)d->bytes_removed),
	    (long long)d->objects_removed);
}

static int query_diff(struct app *a, char **args, size_t n, const char *opt)
{
	struct cat_snapshot from, to;
	struct cat_diff d;
	int rc;

	(void)n;
	(void)opt;
	memset(&d, 0, sizeof(d));
	rc = cat_snapshot_find(&from, a->cat, args[0]);
	if (!rc)
		rc = cat_snapshot_find(&to, a->cat, args[1]);
	if (!rc)
		rc = cat_query_diff(&d, a->cat, from.id, to.id);
	if (!rc && a->json)
		rc = diff_json(&from, &to, &d);
	else if (!rc)
		diff_text(&from, &to, &d);
	cat_diff_release(&d);
	return rc;
}

static int stats_json(const struct cat_snapshot *snap,
		      const struct cat_usage *u)
{
	json_t *repos = json_array();
	int rc = 0;

	for (size_t i = 0; !rc && i < u->n_repos; i++) {
		const struct cat_repo_usage *r = &u->repos[i];
		rc = append(
		    repos,
		    json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			      "repository", r->repo, "tags",
			      (json_int_t)r->tags, "objects",
			      (json_int_t)r->objects, "logical_size",
			      (json_int_t)r->logical_size, "unique_size",
			      (json_int_t)r->unique_size, "unique_objects",
			      (json_int_t)r->unique_objects, "shared_size",
			      (json_int_t)r->shared_size, "shared_objects",
			      (json_int_t)r->shared_objects));
	}
	if (rc) {
		json_decref(repos);
		return rc;
	}
	return cli_print_json(json_pack(
	    "{s:o, s:o, s:{s:I, s:I, s:I, s:I}}", "snapshot", snap_json(snap),
	    "repositories", repos, "total", "repositories",
	    (json_int_t)u->n_repos, "logical_size", (json_int_t)u->logical_size,
	    "deduplicated_size", (json_int_t)u->dedup_size, "objects",
	    (json_int_t)u->objects));
}

static void stats_text(const struct cat_snapshot *snap,
		       const struct cat_usage *u)
{
	char h1[32], h2[32], h3[32];

	snap_line("snapshot ", snap);
	printf("%-40s  %5s  %10s  %10s  %10s\n", "REPOSITORY", "TAGS",
	       "LOGICAL", "UNIQUE", "SHARED");
	for (size_t i = 0; i < u->n_repos; i++) {
		const struct cat_repo_usage *r = &u->repos[i];
		printf("%-40s  %5lld  %10s  %10s  %10s\n", r->repo,
		       (long long)r->tags,
		       rv_human_bytes(h1, sizeof(h1),
				      (unsigned long long)r->logical_size),
		       rv_human_bytes(h2, sizeof(h2),
				      (unsigned long long)r->unique_size),
		       rv_human_bytes(h3, sizeof(h3),
				      (unsigned long long)r->shared_size));
	}
	printf(
	    "total: %zu repositories, %s logical, %s once deduplicated "
	    "(%lld blobs and manifests)\n",
	    u->n_repos,
	    rv_human_bytes(h1, sizeof(h1), (unsigned long long)u->logical_size),
	    rv_human_bytes(h2, sizeof(h2), (unsigned long long)u->dedup_size),
	    (long long)u->objects);
}

static int query_stats(struct app *a, char **args, size_t n, const char *opt)
{
	struct cat_snapshot snap;
	struct cat_usage u;
	int rc;

	(void)args;
	(void)n;
	memset(&u, 0, sizeof(u));
	rc = cat_snapshot_find(&snap, a->cat, opt ? opt : "latest");
	if (!rc)
		rc = cat_query_usage(&u, a->cat, snap.id);
	if (!rc && a->json)
		rc = stats_json(&snap, &u);
	else if (!rc)
		stats_text(&snap, &u);
	cat_usage_release(&u);
	return rc;
}

static int find_json(const struct cat_found *f)
{
	json_t *holders = json_array();
	int rc = 0;

	for (size_t i = 0; !rc && i < f->n_holders; i++) {
		const struct cat_holder *h = &f->holders[i];
		char when[32];

		cli_time(when, sizeof(when), h->time);
		rc = append(holders,
			    json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:s, "
				      "s:s?}",
				      "snapshot", h->snap_id, "time", when,
				      "source", h->source, "repository",
				      h->repo, "tag", h->tag, "root", h->root,
				      "via", cat_via_name(h->via), "parent",
				      h->parent[0] ? h->parent : NULL));
	}
	if (rc) {
		json_decref(holders);
		return rc;
	}
	return cli_print_json(
	    json_pack("{s:s, s:s, s:s?, s:I, s:o}", "digest", f->digest, "kind",
		      f->is_manifest ? "manifest" : "blob", "media_type",
		      f->is_manifest ? f->media_type : NULL, "size",
		      (json_int_t)f->size, "holders", holders));
}

static void find_text(const struct cat_found *f)
{
	char h[32], when[32];

	printf("%s: %s%s%s, %s\n", f->digest,
	       f->is_manifest ? "manifest (" : "blob",
	       f->is_manifest ? f->media_type : "", f->is_manifest ? ")" : "",
	       rv_human_bytes(h, sizeof(h), (unsigned long long)f->size));
	if (!f->n_holders)
		printf("recorded, but no snapshot holds it ('regvault prune' "
		       "removes it)\n");
	for (size_t i = 0; i < f->n_holders; i++) {
		const struct cat_holder *ho = &f->holders[i];

		cli_time(when, sizeof(when), ho->time);
		printf("%s  %.12s  %s", when, ho->snap_id, ho->repo);
		if (ho->tag)
			printf(":%s", ho->tag);
		else
			printf(" (referrer %s)", ho->root);
		switch (ho->via) {
		case CAT_VIA_TAG:
			printf("  tagged\n");
			break;
		case CAT_VIA_REFERRER:
			printf("  referrer of %s\n", ho->parent);
			break;
		case CAT_VIA_INDEX_CHILD:
			printf("  child of index %s\n", ho->parent);
			break;
		default:
			printf("  %s of %s\n", cat_via_name(ho->via),
			       ho->parent);
			break;
		}
	}
}

static int query_find(struct app *a, char **args, size_t n, const char *opt)
{
	struct cat_found f;
	char digest[RV_DIGEST_MAX];
	int rc;

	(void)n;
	(void)opt;
	memset(&f, 0, sizeof(f));
	/* a bare hex digest is a sha256 one */
	if (strlen(args[0]) == 64 && !strchr(args[0], ':'))
		snprintf(digest, sizeof(digest), "sha256:%s", args[0]);
	else
		snprintf(digest, sizeof(digest), "%.*s", RV_DIGEST_MAX - 1,
			 args[0]);
	rc = cat_query_find(&f, a->cat, digest);
	if (!rc && a->json)
		rc = find_json(&f);
	else if (!rc)
		find_text(&f);
	cat_found_release(&f);
	return rc;
}

struct query_cmd {
	const char *name;
	size_t min_args, max_args;
	int snapshot_opt; /* takes --snapshot SNAPSHOT */
	const char *missing;
	int (*run)(struct app *a, char **args, size_t n, const char *opt);
};

static const struct query_cmd queries[] = {
    {"ls", 1, 2, 0, "which snapshot? give SNAPSHOT [REPO]", query_ls},
    {"diff", 2, 2, 0, "give two snapshots: diff A B", query_diff},
    {"stats", 0, 0, 1, "", query_stats},
    {"find", 1, 1, 0, "which digest? give sha256:<hex>", query_find},
};

static int cmd_query(struct app *a, const struct command *cmd,
		     const struct query_cmd *q, int argc, char **argv)
{
	char *args[2] = {NULL, NULL};
	const char *snapshot = NULL;
	size_t n = 0;
	int rc;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			a->json = 1;
		} else if (q->snapshot_opt && !strcmp(argv[i], "--snapshot")) {
			if (++i == argc)
				return cli_usage(cmd, "--snapshot needs a "
						      "snapshot");
			snapshot = argv[i];
		} else if (q->snapshot_opt &&
			   !strncmp(argv[i], "--snapshot=", 11)) {
			snapshot = argv[i] + 11;
		} else if (argv[i][0] == '-') {
			return cli_usage(cmd,
					 "unknown option '%s' for catalog "
					 "%s",
					 argv[i], q->name);
		} else if (n == q->max_args) {
			return cli_usage(cmd,
					 "unexpected argument '%s' for "
					 "catalog %s",
					 argv[i], q->name);
		} else {
			args[n++] = argv[i];
		}
	}
	if (n < q->min_args)
		return cli_usage(cmd, "%s", q->missing);
	rc = app_load_config(a);
	if (!rc)
		rc = app_open_catalog(a);
	if (!rc)
		rc = q->run(a, args, n, snapshot);
	return rc ? cli_fail(rc) : EXIT_OK;
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
		return cli_usage(cmd, "missing subcommand (rebuild, history, "
				      "ls, diff, stats, find)");
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		fputs(catalog_help, stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "history"))
		return cmd_history(a, cmd, argc, argv);
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
		if (!strcmp(argv[1], queries[i].name))
			return cmd_query(a, cmd, &queries[i], argc, argv);
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
