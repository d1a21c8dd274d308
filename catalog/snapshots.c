/* snapshots.c - snapshots, their tags, and the totals for reports. */
#include "catalog/internal.h"

#include "util/array.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

/* The shortest snapshot id prefix accepted: shorter ones would soon match
 * several snapshots and make scripts break as the catalog grows. */
#define CAT_SNAP_PREFIX_MIN 4

/* Every query that fills a struct cat_snapshot selects these columns. */
#define SNAP_COLUMNS                                                           \
	"s.snap_id, s.time, s.source, s.url, "                                 \
	"(SELECT count(DISTINCT t.repo) FROM snapshot_tags t "                 \
	"WHERE t.snapshot = s.id), "                                           \
	"(SELECT count(*) FROM snapshot_tags t WHERE t.snapshot = s.id)"

static int copy_column(char *dst, size_t dst_size, sqlite3_stmt *st, int col)
{
	const unsigned char *text = sqlite3_column_text(st, col);
	size_t len = text ? (size_t)sqlite3_column_bytes(st, col) : 0;

	if (len >= dst_size)
		return -1;
	if (len)
		memcpy(dst, text, len);
	dst[len] = '\0';
	return 0;
}

static int snap_read_row(struct cat_snapshot *s, struct cat *c,
			 sqlite3_stmt *st)
{
	memset(s, 0, sizeof(*s));
	if (copy_column(s->id, sizeof(s->id), st, 0) < 0 ||
	    !cat_hex64_valid(s->id) ||
	    copy_column(s->source, sizeof(s->source), st, 2) < 0 ||
	    copy_column(s->url, sizeof(s->url), st, 3) < 0)
		return rv_err_set(
		    RV_CORRUPT,
		    "catalog '%s': a snapshot row is malformed "
		    "(the catalog can be rebuilt from the targets)",
		    c->path);
	s->time = sqlite3_column_int64(st, 1);
	s->n_repos = sqlite3_column_int64(st, 4);
	s->n_tags = sqlite3_column_int64(st, 5);
	return 0;
}

static int field_ok(const char *text, size_t size)
{
	return strnlen(text, size) < size;
}

/* A snapshot id already recorded: fine if it is the same record. */
static int snap_same(struct cat *c, const struct cat_snapshot *s)
{
	sqlite3_stmt *st = NULL;
	const char *source, *url;
	int rc, rv;

	rv = cat_stmt(&st, c, CAT_ST_SNAP_GET,
		      "SELECT time, source, url FROM snapshots "
		      "WHERE snap_id = ?1");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, s->id, 64, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rv = cat_sql_errf(c, rc, "look up snapshot '%s'", s->id);
		goto done;
	}
	source = (const char *)sqlite3_column_text(st, 1);
	url = (const char *)sqlite3_column_text(st, 2);
	if (sqlite3_column_int64(st, 0) != s->time || !source || !url ||
	    strcmp(source, s->source) != 0 || strcmp(url, s->url) != 0) {
		rv = rv_err_set(RV_INVALID,
				"snapshot '%s' is already recorded with a "
				"different time, source or url",
				s->id);
		goto done;
	}
	rv = 0;
done:
	cat_stmt_done(st);
	return rv;
}

int cat_snapshot_add(struct cat *c, const struct cat_snapshot *s)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	if (!field_ok(s->id, sizeof(s->id)) || !cat_hex64_valid(s->id))
		return rv_err_set(RV_INVALID,
				  "snapshot id '%.64s' is not 64 "
				  "lowercase hex digits",
				  s->id);
	if (!field_ok(s->source, sizeof(s->source)) || !s->source[0] ||
	    !field_ok(s->url, sizeof(s->url)))
		return rv_err_set(RV_INVALID,
				  "snapshot '%s': source name is "
				  "empty or source or url is unterminated",
				  s->id);
	rv = cat_stmt(
	    &st, c, CAT_ST_SNAP_INSERT,
	    "INSERT INTO snapshots (snap_id, time, source, url) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (snap_id) DO NOTHING");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, s->id, 64, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, s->time);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, s->source, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 4, s->url, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "record snapshot '%s'", s->id);
		goto done;
	}
	rv = 0;
	if (sqlite3_changes(c->db) == 0)
		rv = snap_same(c, s);
done:
	cat_stmt_done(st);
	return rv;
}

/* No row was inserted: say which of the three reasons it was. */
static int tag_not_added(struct cat *c, const char *snap_id, const char *repo,
			 const char *tag, const char *manifest_digest)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *current;
	int rc, rv;

	rv = cat_stmt(&st, c, CAT_ST_TAG_GET,
		      "SELECT (SELECT id FROM snapshots WHERE snap_id = ?1), "
		      "(SELECT id FROM manifests WHERE digest = ?4), "
		      "(SELECT m.digest FROM snapshot_tags t "
		      "JOIN snapshots s ON s.id = t.snapshot "
		      "JOIN manifests m ON m.id = t.manifest "
		      "WHERE s.snap_id = ?1 AND t.repo = ?2 AND t.tag = ?3)");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, snap_id, 64, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, repo, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, tag, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 4, manifest_digest, -1,
				       SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rv = cat_sql_errf(c, rc, "look up tag '%s:%s' of snapshot '%s'",
				  repo, tag, snap_id);
		goto done;
	}
	if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
		rv = rv_err_set(
		    RV_INVALID,
		    "cannot record tag '%s:%s': snapshot '%s' is not "
		    "recorded (add the snapshot first)",
		    repo, tag, snap_id);
		goto done;
	}
	if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
		rv = rv_err_set(
		    RV_INVALID,
		    "cannot record tag '%s:%s': manifest '%s' is not "
		    "recorded in the catalog (record it first)",
		    repo, tag, manifest_digest);
		goto done;
	}
	current = sqlite3_column_text(st, 2);
	if (!current || strcmp((const char *)current, manifest_digest) != 0) {
		rv = rv_err_set(
		    RV_INVALID,
		    "snapshot '%s' already has tag '%s:%s' pointing "
		    "at '%s', not '%s'",
		    snap_id, repo, tag, current ? (const char *)current : "?",
		    manifest_digest);
		goto done;
	}
	rv = 0;
done:
	cat_stmt_done(st);
	return rv;
}

int cat_snapshot_tag_add(struct cat *c, const char *snap_id, const char *repo,
			 const char *tag, const char *manifest_digest)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	rv = cat_snap_id_check(snap_id);
	if (rv)
		return rv;
	if (!repo || !*repo || strlen(repo) > CAT_NAME_MAX || !tag || !*tag ||
	    strlen(tag) > CAT_NAME_MAX)
		return rv_err_set(RV_INVALID,
				  "snapshot '%s': repository or tag "
				  "name is empty or too long",
				  snap_id);
	if (!rv_digest_valid(manifest_digest))
		return rv_err_set(
		    RV_INVALID, "tag '%s:%s': '%.80s' is not a sha256 digest",
		    repo, tag, manifest_digest ? manifest_digest : "");
	rv = cat_stmt(
	    &st, c, CAT_ST_TAG_INSERT,
	    "INSERT INTO snapshot_tags (snapshot, repo, tag, manifest) "
	    "SELECT s.id, ?2, ?3, m.id FROM snapshots s, manifests m "
	    "WHERE s.snap_id = ?1 AND m.digest = ?4 "
	    "ON CONFLICT (snapshot, repo, tag) DO NOTHING");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, snap_id, 64, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, repo, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, tag, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 4, manifest_digest, -1,
				       SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "record tag '%s:%s' of snapshot '%s'",
				  repo, tag, snap_id);
		goto done;
	}
	rv = 0;
	if (sqlite3_changes(c->db) == 0)
		rv = tag_not_added(c, snap_id, repo, tag, manifest_digest);
done:
	cat_stmt_done(st);
	return rv;
}

int cat_snapshot_list(struct cat_snapshot **out, size_t *n, struct cat *c)
{
	sqlite3_stmt *st = NULL;
	struct cat_snapshot *list = NULL, *grown;
	size_t count = 0, cap = 0;
	int rc, rv;

	*out = NULL;
	*n = 0;
	rv = cat_stmt(&st, c, CAT_ST_SNAP_LIST,
		      "SELECT " SNAP_COLUMNS " FROM snapshots s "
		      "ORDER BY s.time, s.id");
	if (rv < 0)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				rv = rv_err_set(RV_NOMEM,
						"cannot list snapshots: "
						"out of memory");
				goto done;
			}
			list = grown;
		}
		rv = snap_read_row(&list[count], c, st);
		if (rv < 0)
			goto done;
		count++;
	}
	if (rc != SQLITE_DONE) {
		rv = cat_sql_err(c, rc, "list snapshots");
		goto done;
	}
	*out = list;
	*n = count;
	list = NULL;
	rv = 0;
done:
	cat_stmt_done(st);
	free(list);
	return rv;
}

static int snap_not_found(const char *ref)
{
	return rv_err_set(RV_NOTFOUND,
			  "no snapshot '%s'; see 'regvault snapshots'", ref);
}

static int find_latest(struct cat_snapshot *out, struct cat *c)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	rv = cat_stmt(&st, c, CAT_ST_SNAP_LATEST,
		      "SELECT " SNAP_COLUMNS " FROM snapshots s "
		      "ORDER BY s.time DESC, s.id DESC LIMIT 1");
	if (rv < 0)
		goto done;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rv =
		    rv_err_set(RV_NOTFOUND, "no snapshot 'latest': the catalog "
					    "holds no snapshots yet");
		goto done;
	}
	if (rc != SQLITE_ROW) {
		rv = cat_sql_err(c, rc, "find the latest snapshot");
		goto done;
	}
	rv = snap_read_row(out, c, st);
done:
	cat_stmt_done(st);
	return rv;
}

/* prefix: 4 to 64 lowercase hex digits. Every id starting with it sorts
 * in [prefix, prefix + "g"), since 'g' follows every hex digit, so the
 * unique index on snap_id answers the range. */
static int find_prefix(struct cat_snapshot *out, struct cat *c,
		       const char *prefix, const char *ref)
{
	sqlite3_stmt *st = NULL;
	char upper[66];
	size_t len = strlen(prefix);
	int64_t matches = 0;
	int rc, rv;

	memcpy(upper, prefix, len);
	upper[len] = 'g';
	upper[len + 1] = '\0';
	rv = cat_stmt(&st, c, CAT_ST_SNAP_PREFIX,
		      "SELECT " SNAP_COLUMNS " FROM snapshots s "
		      "WHERE s.snap_id >= ?1 AND s.snap_id < ?2 "
		      "ORDER BY s.snap_id");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, upper, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		if (matches++ == 0) {
			rv = snap_read_row(out, c, st);
			if (rv < 0)
				goto done;
		}
	}
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "look up snapshot '%s'", ref);
		goto done;
	}
	if (matches == 0) {
		rv = snap_not_found(ref);
		goto done;
	}
	if (matches > 1) {
		memset(out, 0, sizeof(*out));
		rv = rv_err_set(RV_INVALID,
				"snapshot prefix '%s' is ambiguous: %lld "
				"snapshots match (give more of the id)",
				ref, (long long)matches);
		goto done;
	}
	rv = 0;
done:
	cat_stmt_done(st);
	return rv;
}

int cat_snapshot_find(struct cat_snapshot *out, struct cat *c, const char *ref)
{
	char prefix[65];
	size_t len, i;

	memset(out, 0, sizeof(*out));
	if (!ref || !*ref)
		return rv_err_set(RV_INVALID, "no snapshot given (an id, a "
					      "prefix of one, or 'latest')");
	if (strcmp(ref, "latest") == 0)
		return find_latest(out, c);
	len = strnlen(ref, sizeof(prefix));
	if (len >= sizeof(prefix))
		return rv_err_set(RV_NOTFOUND,
				  "no snapshot '%.64s...': ids "
				  "are 64 hex digits; see 'regvault snapshots'",
				  ref);
	for (i = 0; i < len; i++) {
		char ch = ref[i];

		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return rv_err_set(
			    RV_INVALID,
			    "'%s' is not a snapshot: give 'latest', "
			    "an id or a prefix of at least %d hex "
			    "digits; see 'regvault snapshots'",
			    ref, CAT_SNAP_PREFIX_MIN);
		prefix[i] = ch;
	}
	prefix[len] = '\0';
	if (len < CAT_SNAP_PREFIX_MIN)
		return rv_err_set(RV_INVALID,
				  "snapshot prefix '%s' is too short: give at "
				  "least %d hex digits",
				  ref, CAT_SNAP_PREFIX_MIN);
	return find_prefix(out, c, prefix, ref);
}

int cat_snap_id_check(const char *snap_id)
{
	if (cat_hex64_valid(snap_id))
		return 0;
	return rv_err_set(RV_INVALID,
			  "snapshot id '%.80s' is not 64 lowercase hex digits",
			  snap_id ? snap_id : "");
}

int cat_snap_row(int64_t *row, struct cat *c, const char *snap_id)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	*row = 0;
	rv = cat_stmt(&st, c, CAT_ST_SNAP_ID,
		      "SELECT id FROM snapshots WHERE snap_id = ?1");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, snap_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rv = snap_not_found(snap_id);
		goto done;
	}
	if (rc != SQLITE_ROW) {
		rv = cat_sql_errf(c, rc, "look up snapshot '%s'", snap_id);
		goto done;
	}
	*row = sqlite3_column_int64(st, 0);
	rv = 0;
done:
	cat_stmt_done(st);
	return rv;
}

int cat_snap_rows(struct cat *c, const char *snap_id, const char *sql,
		  const char *what, cat_row3_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int64_t row = 0;
	int rc, rv;

	rv = cat_snap_id_check(snap_id);
	if (!rv)
		rv = cat_snap_row(&row, c, snap_id);
	if (rv < 0)
		return rv;
	/* Not from the cache: the callback may use the catalog, even to list
	 * the rows of another snapshot, while this statement is running. */
	rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, row);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		const char *a = (const char *)sqlite3_column_text(st, 0);
		const char *b = (const char *)sqlite3_column_text(st, 1);
		const char *d = (const char *)sqlite3_column_text(st, 2);

		if (!a || !b || !d) {
			rv = rv_err_set(RV_NOMEM,
					"cannot read the %s of "
					"snapshot '%s': out of memory",
					what, snap_id);
			goto done;
		}
		rv = fn(arg, a, b, d);
		if (rv != 0)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "read the %s of snapshot '%s'", what,
				  snap_id);
		goto done;
	}
	rv = 0;
done:
	sqlite3_finalize(st);
	return rv;
}

int cat_snapshot_tags(struct cat *c, const char *snap_id, cat_tag_fn fn,
		      void *arg)
{
	return cat_snap_rows(c, snap_id,
			     "SELECT t.repo, t.tag, m.digest "
			     "FROM snapshot_tags t "
			     "JOIN manifests m ON m.id = t.manifest "
			     "WHERE t.snapshot = ?1 ORDER BY t.repo, t.tag",
			     "tags", fn, arg);
}

int cat_stats_get(struct cat_stats *out, struct cat *c)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	memset(out, 0, sizeof(*out));
	rv = cat_stmt(&st, c, CAT_ST_STATS,
		      "SELECT (SELECT count(*) FROM packs), "
		      "(SELECT coalesce(sum(size), 0) FROM packs), "
		      "(SELECT count(*) FROM chunks), "
		      "(SELECT count(*) FROM blobs), "
		      "(SELECT coalesce(sum(size), 0) FROM blobs), "
		      "(SELECT count(*) FROM manifests), "
		      "(SELECT count(*) FROM snapshots)");
	if (rv < 0)
		goto done;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rv = cat_sql_err(c, rc, "count the catalog's contents");
		goto done;
	}
	out->packs = sqlite3_column_int64(st, 0);
	out->pack_bytes = sqlite3_column_int64(st, 1);
	out->chunks = sqlite3_column_int64(st, 2);
	out->blobs = sqlite3_column_int64(st, 3);
	out->blob_bytes = sqlite3_column_int64(st, 4);
	out->manifests = sqlite3_column_int64(st, 5);
	out->snapshots = sqlite3_column_int64(st, 6);
	rv = 0;
done:
	cat_stmt_done(st);
	return rv;
}

/* ---- history ------------------------------------------------------------ */

int cat_snapshot_at(struct cat_snapshot *out, struct cat *c, int64_t t,
		    const char *source)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	memset(out, 0, sizeof(*out));
	rc = sqlite3_prepare_v2(c->db,
				"SELECT " SNAP_COLUMNS " FROM snapshots s "
				"WHERE s.time <= ?1 AND (?2 IS NULL OR "
				"s.source = ?2) ORDER BY s.time DESC, s.id "
				"DESC LIMIT 1",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)t);
	if (rc == SQLITE_OK)
		rc = source ? sqlite3_bind_text(st, 2, source, -1,
						SQLITE_STATIC)
			    : sqlite3_bind_null(st, 2);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rv = rv_err_set(RV_NOTFOUND,
				"no snapshot%s%s was taken at or before that "
				"time; see 'regvault snapshots'",
				source ? " of source " : "",
				source ? source : "");
		goto done;
	}
	if (rc != SQLITE_ROW) {
		rv = cat_sql_err(c, rc, "find the snapshot at a time");
		goto done;
	}
	rv = snap_read_row(out, c, st);
done:
	sqlite3_finalize(st);
	return rv;
}

/* Every snapshot of a source that ever had the tag, from the first that
 * had it on, with the tag's manifest digest (NULL when absent). */
static const char tag_history_sql[] =
    "WITH had AS (SELECT s.source, min(s.time) AS first FROM snapshot_tags t"
    "  JOIN snapshots s ON s.id = t.snapshot"
    "  WHERE t.repo = ?1 AND t.tag = ?2 GROUP BY s.source) "
    "SELECT s.snap_id, s.time, s.source, m.digest FROM snapshots s"
    "  JOIN had ON had.source = s.source AND s.time >= had.first"
    "  LEFT JOIN snapshot_tags t ON t.snapshot = s.id AND t.repo = ?1"
    "   AND t.tag = ?2"
    "  LEFT JOIN manifests m ON m.id = t.manifest "
    "ORDER BY s.time, s.id";

int cat_tag_history(struct cat_tag_state **out, size_t *n, struct cat *c,
		    const char *repo, const char *tag)
{
	struct cat_tag_state *list = NULL;
	size_t count = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int rc, rv = 0;

	*out = NULL;
	*n = 0;
	rc = sqlite3_prepare_v2(c->db, tag_history_sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		struct cat_tag_state *ts;

		rv = rv_array_grow((void **)&list, &cap, count + 1,
				   sizeof(*list));
		if (rv < 0)
			goto done;
		ts = &list[count++];
		memset(ts, 0, sizeof(*ts));
		if (copy_column(ts->snap_id, sizeof(ts->snap_id), st, 0) < 0 ||
		    copy_column(ts->source, sizeof(ts->source), st, 2) < 0 ||
		    copy_column(ts->digest, sizeof(ts->digest), st, 3) < 0) {
			rv = rv_err_set(RV_CORRUPT,
					"catalog '%s': a snapshot row is "
					"malformed (the catalog can be rebuilt "
					"from the targets)",
					c->path);
			goto done;
		}
		ts->time = sqlite3_column_int64(st, 1);
	}
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "read the history of '%s:%s'", repo,
				  tag);
		goto done;
	}
	*out = list;
	*n = count;
	list = NULL;
done:
	sqlite3_finalize(st);
	free(list);
	return rv;
}
