/* queries.c - ls, diff, usage and find over the snapshots in the catalog
 * (queries.h). Each answer is one or two SQL statements; the walk from
 * tags to what they reach is a recursive CTE, as in seals.c and prune.c.
 *
 * The statements are prepared per call, not cached in struct cat: each
 * runs once per command, and an interactive query should not keep a
 * large recursive plan around in a backup's handle. */
#include "catalog/queries.h"

#include "catalog/internal.h"
#include "util/array.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The manifests a set of roots reaches (index children, recursively),
 * then the blobs those manifests are made of (their own bytes) and refer
 * to (config and layers; foreign layers are not stored). KEY is the
 * column list carried along ("repo, tag", ...), ROOTS a query giving
 * (KEY..., manifest row id). The m and b CTEs it defines give
 * (KEY..., mid) and (KEY..., bid); b is materialised because each query
 * reads it more than once. */
#define REACH_CTE(KEY, MKEY, ROOTS)                                            \
	"WITH RECURSIVE m(" KEY ", mid) AS (" ROOTS "  UNION"                  \
	"  SELECT " MKEY ", ch.id FROM m"                                      \
	"    JOIN manifest_refs r ON r.manifest = m.mid AND r.is_manifest = 1" \
	"    JOIN manifests ch ON ch.digest = r.digest"                        \
	"), b(" KEY ", bid) AS MATERIALIZED ("                                 \
	"  SELECT " MKEY ", mf.blob FROM m JOIN manifests mf ON mf.id = m.mid" \
	"  UNION"                                                              \
	"  SELECT " MKEY ", bl.id FROM m"                                      \
	"    JOIN manifest_refs r ON r.manifest = m.mid AND r.is_manifest = 0" \
	"     AND r.nondistributable = 0"                                      \
	"    JOIN blobs bl ON bl.digest = r.digest"                            \
	")"

/* ls: one row per repository (tag NULL: its totals) followed by one row
 * per tag; ?1 the snapshot's row id, ?2 a repository or NULL. */
#define LS_ROOTS                                                               \
	"  SELECT t.repo, t.tag, t.manifest FROM snapshot_tags t"              \
	"   WHERE t.snapshot = ?1 AND (?2 IS NULL OR t.repo = ?2)"             \
	"  UNION"                                                              \
	"  SELECT sr.repo, NULL, sr.manifest FROM snapshot_referrers sr"       \
	"   WHERE sr.snapshot = ?1 AND (?2 IS NULL OR sr.repo = ?2)"
#define LS_SELECT                                                              \
	", per_tag(repo, tag, size, n) AS ("                                   \
	"  SELECT b.repo, b.tag, sum(bl.size), count(*) FROM b"                \
	"    JOIN blobs bl ON bl.id = b.bid WHERE b.tag IS NOT NULL"           \
	"   GROUP BY b.repo, b.tag"                                            \
	") "                                                                   \
	"SELECT t.repo, t.tag, md.digest, md.media_type,"                      \
	"  coalesce(pt.size, 0), coalesce(pt.n, 0)"                            \
	"  FROM snapshot_tags t JOIN manifests md ON md.id = t.manifest"       \
	"  LEFT JOIN per_tag pt ON pt.repo = t.repo AND pt.tag = t.tag"        \
	" WHERE t.snapshot = ?1 AND (?2 IS NULL OR t.repo = ?2) "              \
	"UNION ALL "                                                           \
	"SELECT r.repo, NULL, NULL, NULL, sum(bl.size), count(*)"              \
	"  FROM (SELECT DISTINCT repo, bid FROM b) r"                          \
	"  JOIN blobs bl ON bl.id = r.bid GROUP BY r.repo "                    \
	"ORDER BY 1, 2"
static const char ls_sql[] =
    REACH_CTE("repo, tag", "m.repo, m.tag", LS_ROOTS) LS_SELECT;

/* usage: the snapshot's totals first (repo NULL), then per repository:
 * tags, objects, bytes, and how much of that only it reaches; ?1 the
 * snapshot's row id. */
#define USAGE_ROOTS                                                            \
	"  SELECT t.repo, t.manifest FROM snapshot_tags t"                     \
	"   WHERE t.snapshot = ?1"                                             \
	"  UNION"                                                              \
	"  SELECT sr.repo, sr.manifest FROM snapshot_referrers sr"             \
	"   WHERE sr.snapshot = ?1"
#define USAGE_SELECT                                                           \
	", holders(bid, n) AS MATERIALIZED ("                                  \
	"  SELECT bid, count(*) FROM b GROUP BY bid"                           \
	") "                                                                   \
	"SELECT b.repo,"                                                       \
	"  (SELECT count(*) FROM snapshot_tags t"                              \
	"    WHERE t.snapshot = ?1 AND t.repo = b.repo),"                      \
	"  count(*), sum(bl.size),"                                            \
	"  sum(h.n = 1), sum(CASE WHEN h.n = 1 THEN bl.size ELSE 0 END),"      \
	"  sum(h.n > 1), sum(CASE WHEN h.n > 1 THEN bl.size ELSE 0 END)"       \
	"  FROM b JOIN holders h ON h.bid = b.bid"                             \
	"  JOIN blobs bl ON bl.id = b.bid GROUP BY b.repo "                    \
	"UNION ALL "                                                           \
	"SELECT NULL, 0, count(*), coalesce(sum(bl.size), 0), 0, 0, 0, 0"      \
	"  FROM holders h JOIN blobs bl ON bl.id = h.bid "                     \
	"ORDER BY 1"
static const char usage_sql[] =
    REACH_CTE("repo", "m.repo", USAGE_ROOTS) USAGE_SELECT;

/* diff, bytes: what B reaches and A does not, and the reverse, and the
 * number of tags unchanged; ?1 A's row id, ?2 B's. */
#define DIFF_ROOTS                                                             \
	"  SELECT t.snapshot, t.manifest FROM snapshot_tags t"                 \
	"   WHERE t.snapshot IN (?1, ?2)"                                      \
	"  UNION"                                                              \
	"  SELECT sr.snapshot, sr.manifest FROM snapshot_referrers sr"         \
	"   WHERE sr.snapshot IN (?1, ?2)"
#define DIFF_SELECT                                                            \
	", added(bid) AS ("                                                    \
	"  SELECT bid FROM b WHERE snap = ?2"                                  \
	"  EXCEPT SELECT bid FROM b WHERE snap = ?1"                           \
	"), removed(bid) AS ("                                                 \
	"  SELECT bid FROM b WHERE snap = ?1"                                  \
	"  EXCEPT SELECT bid FROM b WHERE snap = ?2"                           \
	") "                                                                   \
	"SELECT (SELECT count(*) FROM added),"                                 \
	"  (SELECT coalesce(sum(bl.size), 0) FROM added"                       \
	"    JOIN blobs bl ON bl.id = added.bid),"                             \
	"  (SELECT count(*) FROM removed),"                                    \
	"  (SELECT coalesce(sum(bl.size), 0) FROM removed"                     \
	"    JOIN blobs bl ON bl.id = removed.bid),"                           \
	"  (SELECT count(*) FROM snapshot_tags ta"                             \
	"    JOIN snapshot_tags tb ON tb.snapshot = ?2 AND tb.repo = ta.repo"  \
	"     AND tb.tag = ta.tag AND tb.manifest = ta.manifest"               \
	"    WHERE ta.snapshot = ?1)"
static const char diff_bytes_sql[] =
    REACH_CTE("snap", "m.snap", DIFF_ROOTS) DIFF_SELECT;

/* diff, tags: removed and moved (A's side), then added (B's side). */
static const char diff_tags_sql[] =
    "SELECT ta.repo, ta.tag, ma.digest, mb.digest FROM snapshot_tags ta"
    "  JOIN manifests ma ON ma.id = ta.manifest"
    "  LEFT JOIN snapshot_tags tb ON tb.snapshot = ?2 AND tb.repo = ta.repo"
    "   AND tb.tag = ta.tag"
    "  LEFT JOIN manifests mb ON mb.id = tb.manifest"
    " WHERE ta.snapshot = ?1"
    "   AND (tb.manifest IS NULL OR tb.manifest <> ta.manifest) "
    "UNION ALL "
    "SELECT tb.repo, tb.tag, NULL, mb.digest FROM snapshot_tags tb"
    "  JOIN manifests mb ON mb.id = tb.manifest"
    " WHERE tb.snapshot = ?2 AND NOT EXISTS (SELECT 1 FROM snapshot_tags ta"
    "   WHERE ta.snapshot = ?1 AND ta.repo = tb.repo AND ta.tag = tb.tag) "
    "ORDER BY 1, 2";

/* find: the object itself. */
static const char find_object_sql[] =
    "SELECT bl.size, mf.media_type FROM blobs bl"
    "  LEFT JOIN manifests mf ON mf.blob = bl.id WHERE bl.digest = ?1";

/* find: walk up from the digest. `up` is every manifest from which the
 * digest is reached, with the direct parent and how the digest hangs off
 * it (the values of enum cat_via); tags and referrers whose manifest is
 * the digest itself, or one of `up`, hold it. */
static const char find_sql[] =
    "WITH RECURSIVE self(mid) AS ("
    "  SELECT id FROM manifests WHERE digest = ?1"
    "), up(mid, parent, via) AS ("
    "  SELECT r.manifest, p.digest,"
    "    CASE WHEN r.is_manifest = 1 THEN 2 WHEN r.seq = 0 THEN 3 ELSE 4 END"
    "    FROM manifest_refs r JOIN manifests p ON p.id = r.manifest"
    "   WHERE r.digest = ?1 AND r.nondistributable = 0"
    "  UNION"
    "  SELECT r.manifest, up.parent, up.via FROM up"
    "    JOIN manifests x ON x.id = up.mid"
    "    JOIN manifest_refs r ON r.digest = x.digest AND r.is_manifest = 1"
    "), hit(snapshot, repo, tag, root, via, parent) AS ("
    "  SELECT t.snapshot, t.repo, t.tag, t.manifest, 0, NULL"
    "    FROM snapshot_tags t JOIN self ON t.manifest = self.mid"
    "  UNION ALL"
    "  SELECT sr.snapshot, sr.repo, NULL, sr.manifest, 1, sr.subject"
    "    FROM snapshot_referrers sr JOIN self ON sr.manifest = self.mid"
    "  UNION ALL"
    "  SELECT t.snapshot, t.repo, t.tag, t.manifest, up.via, up.parent"
    "    FROM up JOIN snapshot_tags t ON t.manifest = up.mid"
    "  UNION ALL"
    "  SELECT sr.snapshot, sr.repo, NULL, sr.manifest, up.via, up.parent"
    "    FROM up JOIN snapshot_referrers sr ON sr.manifest = up.mid"
    ") "
    "SELECT DISTINCT s.snap_id, s.time, s.source, h.repo, h.tag, rm.digest,"
    "  h.via, h.parent"
    "  FROM hit h JOIN snapshots s ON s.id = h.snapshot"
    "  JOIN manifests rm ON rm.id = h.root "
    "ORDER BY s.time, s.id, h.repo, h.tag, h.parent, h.via";

static int malformed(struct cat *c, const char *what)
{
	return rv_err_set(RV_CORRUPT,
			  "catalog '%s': a row of %s is malformed (the catalog "
			  "can be rebuilt from the targets)",
			  c->path, what);
}

/* Column col into dst (NULL gives ""); -1 when it does not fit. */
static int text_copy(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const unsigned char *text = sqlite3_column_text(st, col);
	size_t len = text ? (size_t)sqlite3_column_bytes(st, col) : 0;

	if (len >= size)
		return -1;
	if (len)
		memcpy(dst, text, len);
	dst[len] = '\0';
	return 0;
}

/* Column col as a malloc'd string (*out NULL for SQL NULL). */
static int text_dup(char **out, struct cat *c, sqlite3_stmt *st, int col,
		    const char *what)
{
	const unsigned char *text;
	size_t len;

	*out = NULL;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return 0;
	text = sqlite3_column_text(st, col);
	if (!text)
		return rv_err_set(RV_NOMEM, "out of memory");
	len = (size_t)sqlite3_column_bytes(st, col);
	if (len == 0 || len > CAT_NAME_MAX)
		return malformed(c, what);
	*out = malloc(len + 1);
	if (!*out)
		return rv_err_set(RV_NOMEM, "out of memory");
	memcpy(*out, text, len + 1);
	return 0;
}

/* A digest column; NULL gives "" when null_ok. */
static int digest_copy(char out[RV_DIGEST_MAX], struct cat *c, sqlite3_stmt *st,
		       int col, int null_ok, const char *what)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL && null_ok) {
		out[0] = '\0';
		return 0;
	}
	if (text_copy(out, RV_DIGEST_MAX, st, col) < 0 || !rv_digest_valid(out))
		return malformed(c, what);
	return 0;
}

/* Prepare sql and bind snapshot row ids (n_rows of them) to ?1, ?2. */
static int prepare_rows(sqlite3_stmt **st, struct cat *c, const char *sql,
			const int64_t *rows, int n_rows, const char *what)
{
	int rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);

	for (int i = 0; rc == SQLITE_OK && i < n_rows; i++)
		rc = sqlite3_bind_int64(*st, i + 1, rows[i]);
	if (rc != SQLITE_OK)
		return cat_sql_errf(c, rc, "prepare the query for %s", what);
	return 0;
}

/* The row id of snapshot snap_id (checked), RV_NOTFOUND when absent. */
static int snap_row(int64_t *row, struct cat *c, const char *snap_id)
{
	int rv = cat_snap_id_check(snap_id);

	return rv ? rv : cat_snap_row(row, c, snap_id);
}

/* ---- ls ------------------------------------------------------------- */

void cat_ls_release(struct cat_ls *ls)
{
	if (!ls)
		return;
	for (size_t i = 0; i < ls->n_repos; i++) {
		struct cat_ls_repo *r = &ls->repos[i];

		for (size_t j = 0; j < r->n_tags; j++)
			free(r->tags[j].tag);
		free(r->tags);
		free(r->repo);
	}
	free(ls->repos);
	memset(ls, 0, sizeof(*ls));
}

/* A totals row (tag NULL) opens a repository. */
static int ls_repo_row(struct cat_ls *out, size_t *cap, struct cat *c,
		       sqlite3_stmt *st)
{
	struct cat_ls_repo *r;
	int rv = rv_array_grow((void **)&out->repos, cap, out->n_repos + 1,
			       sizeof(*out->repos));

	if (rv)
		return rv;
	r = &out->repos[out->n_repos++];
	memset(r, 0, sizeof(*r));
	rv = text_dup(&r->repo, c, st, 0, "snapshot_tags");
	if (!rv && !r->repo)
		rv = malformed(c, "snapshot_tags");
	r->logical_size = sqlite3_column_int64(st, 4);
	r->objects = sqlite3_column_int64(st, 5);
	return rv;
}

/* A tag row belongs to the repository opened last (rows come ordered by
 * repo, then tag, NULL first). */
static int ls_tag_row(struct cat_ls *out, size_t *cap, struct cat *c,
		      sqlite3_stmt *st)
{
	struct cat_ls_repo *r =
	    out->n_repos ? &out->repos[out->n_repos - 1] : NULL;
	const unsigned char *repo = sqlite3_column_text(st, 0);
	struct cat_ls_tag *t;
	int rv;

	if (!r || !repo || strcmp((const char *)repo, r->repo))
		return malformed(c, "snapshot_tags");
	rv = rv_array_grow((void **)&r->tags, cap, r->n_tags + 1,
			   sizeof(*r->tags));
	if (rv)
		return rv;
	t = &r->tags[r->n_tags++];
	memset(t, 0, sizeof(*t));
	rv = text_dup(&t->tag, c, st, 1, "snapshot_tags");
	if (!rv)
		rv = digest_copy(t->digest, c, st, 2, 0, "manifests");
	if (!rv && text_copy(t->media_type, sizeof(t->media_type), st, 3) < 0)
		rv = malformed(c, "manifests");
	t->size = sqlite3_column_int64(st, 4);
	t->objects = sqlite3_column_int64(st, 5);
	return rv;
}

int cat_query_ls(struct cat_ls *out, struct cat *c, const char *snap_id,
		 const char *repo)
{
	sqlite3_stmt *st = NULL;
	size_t repo_cap = 0, tag_cap = 0;
	int64_t row = 0;
	int rc, rv;

	memset(out, 0, sizeof(*out));
	rv = snap_row(&row, c, snap_id);
	if (!rv)
		rv = prepare_rows(&st, c, ls_sql, &row, 1, "ls");
	if (rv)
		goto done;
	rc = repo ? sqlite3_bind_text(st, 2, repo, -1, SQLITE_STATIC)
		  : sqlite3_bind_null(st, 2);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
			rv = ls_repo_row(out, &repo_cap, c, st);
			tag_cap = 0;
		} else {
			rv = ls_tag_row(out, &tag_cap, c, st);
		}
		if (rv)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "list the tags of snapshot '%s'",
				  snap_id);
		goto done;
	}
	/* a repository reached only through referrers has no tag to show */
	if (repo && (out->n_repos == 0 || out->repos[0].n_tags == 0))
		rv = rv_err_set(RV_NOTFOUND,
				"snapshot '%.12s' holds no tag of repository "
				"'%s'; see 'regvault catalog ls %.12s'",
				snap_id, repo, snap_id);
done:
	sqlite3_finalize(st);
	return rv;
}

/* ---- diff ----------------------------------------------------------- */

void cat_diff_release(struct cat_diff *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_tags; i++) {
		free(d->tags[i].repo);
		free(d->tags[i].tag);
	}
	free(d->tags);
	memset(d, 0, sizeof(*d));
}

static int diff_bytes(struct cat_diff *out, struct cat *c,
		      const int64_t rows[2])
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	rv = prepare_rows(&st, c, diff_bytes_sql, rows, 2, "diff");
	if (rv)
		goto done;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rv = cat_sql_err(c, rc, "compare what two snapshots reach");
		goto done;
	}
	out->objects_added = sqlite3_column_int64(st, 0);
	out->bytes_added = sqlite3_column_int64(st, 1);
	out->objects_removed = sqlite3_column_int64(st, 2);
	out->bytes_removed = sqlite3_column_int64(st, 3);
	out->unchanged = sqlite3_column_int64(st, 4);
done:
	sqlite3_finalize(st);
	return rv;
}

static int diff_tag_row(struct cat_diff *out, size_t *cap, struct cat *c,
			sqlite3_stmt *st)
{
	struct cat_diff_tag *t;
	int rv = rv_array_grow((void **)&out->tags, cap, out->n_tags + 1,
			       sizeof(*out->tags));

	if (rv)
		return rv;
	t = &out->tags[out->n_tags++];
	memset(t, 0, sizeof(*t));
	rv = text_dup(&t->repo, c, st, 0, "snapshot_tags");
	if (!rv)
		rv = text_dup(&t->tag, c, st, 1, "snapshot_tags");
	if (!rv && (!t->repo || !t->tag))
		rv = malformed(c, "snapshot_tags");
	if (!rv)
		rv = digest_copy(t->old_digest, c, st, 2, 1, "manifests");
	if (!rv)
		rv = digest_copy(t->new_digest, c, st, 3, 1, "manifests");
	if (rv)
		return rv;
	if (!t->old_digest[0]) {
		t->kind = CAT_DIFF_ADDED;
		out->n_added++;
	} else if (!t->new_digest[0]) {
		t->kind = CAT_DIFF_REMOVED;
		out->n_removed++;
	} else {
		t->kind = CAT_DIFF_MOVED;
		out->n_moved++;
	}
	return 0;
}

int cat_query_diff(struct cat_diff *out, struct cat *c, const char *snap_a,
		   const char *snap_b)
{
	sqlite3_stmt *st = NULL;
	int64_t rows[2] = {0, 0};
	size_t cap = 0;
	int rc, rv;

	memset(out, 0, sizeof(*out));
	rv = snap_row(&rows[0], c, snap_a);
	if (!rv)
		rv = snap_row(&rows[1], c, snap_b);
	if (!rv)
		rv = diff_bytes(out, c, rows);
	if (!rv)
		rv = prepare_rows(&st, c, diff_tags_sql, rows, 2, "diff");
	if (rv)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rv = diff_tag_row(out, &cap, c, st);
		if (rv)
			goto done;
	}
	if (rc != SQLITE_DONE)
		rv = cat_sql_errf(c, rc,
				  "compare the tags of snapshots '%s' and "
				  "'%s'",
				  snap_a, snap_b);
done:
	sqlite3_finalize(st);
	return rv;
}

/* ---- usage ---------------------------------------------------------- */

void cat_usage_release(struct cat_usage *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n_repos; i++)
		free(u->repos[i].repo);
	free(u->repos);
	memset(u, 0, sizeof(*u));
}

int cat_query_usage(struct cat_usage *out, struct cat *c, const char *snap_id)
{
	sqlite3_stmt *st = NULL;
	int64_t row = 0;
	size_t cap = 0;
	int rc, rv;

	memset(out, 0, sizeof(*out));
	rv = snap_row(&row, c, snap_id);
	if (!rv)
		rv = prepare_rows(&st, c, usage_sql, &row, 1, "usage");
	if (rv)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cat_repo_usage *r;

		if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
			out->objects = sqlite3_column_int64(st, 2);
			out->dedup_size = sqlite3_column_int64(st, 3);
			continue;
		}
		rv = rv_array_grow((void **)&out->repos, &cap, out->n_repos + 1,
				   sizeof(*out->repos));
		if (rv)
			goto done;
		r = &out->repos[out->n_repos++];
		memset(r, 0, sizeof(*r));
		rv = text_dup(&r->repo, c, st, 0, "snapshot_tags");
		if (rv)
			goto done;
		r->tags = sqlite3_column_int64(st, 1);
		r->objects = sqlite3_column_int64(st, 2);
		r->logical_size = sqlite3_column_int64(st, 3);
		r->unique_objects = sqlite3_column_int64(st, 4);
		r->unique_size = sqlite3_column_int64(st, 5);
		r->shared_objects = sqlite3_column_int64(st, 6);
		r->shared_size = sqlite3_column_int64(st, 7);
		out->logical_size += r->logical_size;
	}
	if (rc != SQLITE_DONE)
		rv = cat_sql_errf(c, rc,
				  "measure the repositories of snapshot "
				  "'%s'",
				  snap_id);
done:
	sqlite3_finalize(st);
	return rv;
}

/* ---- find ----------------------------------------------------------- */

const char *cat_via_name(enum cat_via via)
{
	switch (via) {
	case CAT_VIA_TAG:
		return "tag";
	case CAT_VIA_REFERRER:
		return "referrer";
	case CAT_VIA_INDEX_CHILD:
		return "index_child";
	case CAT_VIA_CONFIG:
		return "config";
	case CAT_VIA_LAYER:
		return "layer";
	}
	return "?";
}

void cat_found_release(struct cat_found *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_holders; i++) {
		free(f->holders[i].repo);
		free(f->holders[i].tag);
	}
	free(f->holders);
	memset(f, 0, sizeof(*f));
}

static int find_object(struct cat_found *out, struct cat *c, const char *digest)
{
	sqlite3_stmt *st = NULL;
	int rc, rv = 0;

	rc = sqlite3_prepare_v2(c->db, find_object_sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rv = rv_err_set(RV_NOTFOUND,
				"the catalog holds no blob or manifest '%s'",
				digest);
		goto done;
	}
	if (rc != SQLITE_ROW) {
		rv = cat_sql_errf(c, rc, "look up '%s'", digest);
		goto done;
	}
	out->size = sqlite3_column_int64(st, 0);
	out->is_manifest = sqlite3_column_type(st, 1) != SQLITE_NULL;
	if (text_copy(out->media_type, sizeof(out->media_type), st, 1) < 0)
		rv = malformed(c, "manifests");
done:
	sqlite3_finalize(st);
	return rv;
}

static int find_row(struct cat_found *out, size_t *cap, struct cat *c,
		    sqlite3_stmt *st)
{
	struct cat_holder *h;
	int via;
	int rv = rv_array_grow((void **)&out->holders, cap, out->n_holders + 1,
			       sizeof(*out->holders));

	if (rv)
		return rv;
	h = &out->holders[out->n_holders++];
	memset(h, 0, sizeof(*h));
	if (text_copy(h->snap_id, sizeof(h->snap_id), st, 0) < 0 ||
	    !cat_hex64_valid(h->snap_id) ||
	    text_copy(h->source, sizeof(h->source), st, 2) < 0)
		return malformed(c, "snapshots");
	h->time = sqlite3_column_int64(st, 1);
	rv = text_dup(&h->repo, c, st, 3, "snapshot_tags");
	if (!rv && !h->repo)
		rv = malformed(c, "snapshot_tags");
	if (!rv)
		rv = text_dup(&h->tag, c, st, 4, "snapshot_tags");
	if (!rv)
		rv = digest_copy(h->root, c, st, 5, 0, "manifests");
	if (rv)
		return rv;
	via = sqlite3_column_int(st, 6);
	if (via < CAT_VIA_TAG || via > CAT_VIA_LAYER)
		return malformed(c, "manifest_refs");
	h->via = (enum cat_via)via;
	return digest_copy(h->parent, c, st, 7, via == CAT_VIA_TAG,
			   "manifest_refs");
}

int cat_query_find(struct cat_found *out, struct cat *c, const char *digest)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc, rv;

	memset(out, 0, sizeof(*out));
	if (!digest || !rv_digest_valid(digest))
		return rv_err_set(RV_INVALID,
				  "'%.80s' is not a digest: give "
				  "sha256:<64 hex digits>",
				  digest ? digest : "");
	snprintf(out->digest, sizeof(out->digest), "%s", digest);
	rv = find_object(out, c, digest);
	if (rv)
		goto done;
	rc = sqlite3_prepare_v2(c->db, find_sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		rv = find_row(out, &cap, c, st);
		if (rv)
			goto done;
	}
	if (rc != SQLITE_DONE)
		rv = cat_sql_errf(c, rc, "find what holds '%s'", digest);
done:
	sqlite3_finalize(st);
	return rv;
}

/* ---- totals and targets --------------------------------------------- */

/* every snapshot's roots, keyed by the snapshot's row id */
#define TOTALS_ROOTS                                                           \
	"  SELECT t.snapshot, t.manifest FROM snapshot_tags t"                 \
	"  UNION"                                                              \
	"  SELECT sr.snapshot, sr.manifest FROM snapshot_referrers sr"
#define TOTALS_SELECT                                                          \
	" SELECT (SELECT count(*) FROM snapshots),"                            \
	"  (SELECT coalesce(sum(bl.size), 0) FROM b"                           \
	"    JOIN blobs bl ON bl.id = b.bid),"                                 \
	"  (SELECT coalesce(sum(size), 0) FROM blobs),"                        \
	"  (SELECT count(*) FROM packs),"                                      \
	"  (SELECT coalesce(sum(size), 0) FROM packs)"
static const char totals_sql[] =
    REACH_CTE("snap", "m.snap", TOTALS_ROOTS) TOTALS_SELECT;

int cat_query_totals(struct cat_totals *out, struct cat *c)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	memset(out, 0, sizeof(*out));
	rv = prepare_rows(&st, c, totals_sql, NULL, 0, "the totals");
	if (rv)
		goto done;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rv = cat_sql_err(c, rc, "add up the catalog");
		goto done;
	}
	out->snapshots = sqlite3_column_int64(st, 0);
	out->logical_size = sqlite3_column_int64(st, 1);
	out->unique_size = sqlite3_column_int64(st, 2);
	out->packs = sqlite3_column_int64(st, 3);
	out->packed_size = sqlite3_column_int64(st, 4);
done:
	sqlite3_finalize(st);
	return rv;
}

static const char target_packs_sql[] =
    "SELECT t.name, count(l.pack), coalesce(sum(p.size), 0),"
    "  CASE WHEN count(l.pack) > count(l.verified_at) THEN 0"
    "   ELSE coalesce(min(l.verified_at), 0) END"
    "  FROM targets t LEFT JOIN pack_locations l ON l.target = t.id"
    "  LEFT JOIN packs p ON p.id = l.pack GROUP BY t.id ORDER BY t.name";

void cat_target_packs_free(struct cat_target_packs *t, size_t n)
{
	for (size_t i = 0; t && i < n; i++)
		free(t[i].target);
	free(t);
}

int cat_query_target_packs(struct cat_target_packs **out, size_t *n,
			   struct cat *c)
{
	struct cat_target_packs *t = NULL;
	sqlite3_stmt *st = NULL;
	size_t cap = 0, used = 0;
	int rc, rv;

	*out = NULL;
	*n = 0;
	rv = prepare_rows(&st, c, target_packs_sql, NULL, 0, "the targets");
	while (!rv && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rv = rv_array_grow((void **)&t, &cap, used + 1, sizeof(*t));
		if (rv)
			break;
		memset(&t[used], 0, sizeof(*t));
		rv = text_dup(&t[used].target, c, st, 0, "a target name");
		if (rv)
			break;
		t[used].packs = sqlite3_column_int64(st, 1);
		t[used].bytes = sqlite3_column_int64(st, 2);
		t[used].oldest_verified = sqlite3_column_int64(st, 3);
		used++;
	}
	if (!rv && rc != SQLITE_DONE)
		rv = cat_sql_err(c, rc, "list the targets");
	sqlite3_finalize(st);
	if (rv) {
		cat_target_packs_free(t, used);
		return rv;
	}
	*out = t;
	*n = used;
	return 0;
}
