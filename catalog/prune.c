/* prune.c - what forget and prune ask of the catalog (schema v4): delete a
 * snapshot, work out what the remaining snapshots need, move chunks to the
 * packs that replace theirs, drop what nothing needs, and remember the
 * pack copies still to be deleted from the targets.
 *
 * The "live" sets are temporary tables (temp.prune_live_*) made by
 * cat_prune_plan from the snapshots as they are then; the caller holds the
 * run lock, so no snapshot comes or goes until cat_prune_end.
 */
#include "catalog/internal.h"

#include "util/array.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/strlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad_pack(const char *pack_id)
{
	return rv_err_set(RV_INVALID, "pack id '%.80s' is not 64 hex digits",
			  pack_id ? pack_id : "");
}

/* Run a statement with text ?1 (and optionally ?2) to completion. */
static int run_text(struct cat *c, const char *sql, const char *a,
		    const char *b, const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK && a)
		rc = sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && b)
		rc = sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cat_sql_err(c, rc, what);
	return 0;
}

int cat_snapshot_del(struct cat *c, const char *snap_id)
{
	int rv;

	if (!cat_hex64_valid(snap_id))
		return rv_err_set(RV_INVALID,
				  "snapshot id '%.80s' is not 64 lowercase "
				  "hex digits",
				  snap_id ? snap_id : "");
	rv = run_text(c, "DELETE FROM snapshots WHERE snap_id = ?1", snap_id,
		      NULL, "delete a snapshot");
	if (rv < 0)
		return rv;
	if (sqlite3_changes(c->db) == 0)
		return rv_err_set(RV_NOTFOUND,
				  "snapshot %s is not in the catalog", snap_id);
	return 0;
}

int cat_blob_entry_set(struct cat *c, const char *digest, const char *pack_id,
		       int replace)
{
	int rv;

	if (!rv_digest_valid(digest))
		return rv_err_set(RV_INVALID, "'%.100s' is not a digest",
				  digest ? digest : "");
	if (!cat_hex64_valid(pack_id))
		return bad_pack(pack_id);
	rv = run_text(c,
		      replace ? "UPDATE blobs SET entry_pack = (SELECT id FROM "
				"packs WHERE pack_id = ?2) WHERE digest = ?1 "
				"AND EXISTS (SELECT 1 FROM packs WHERE "
				"pack_id = ?2)"
			      : "UPDATE blobs SET entry_pack = (SELECT id FROM "
				"packs WHERE pack_id = ?2) WHERE digest = ?1 "
				"AND entry_pack IS NULL AND EXISTS (SELECT 1 "
				"FROM packs WHERE pack_id = ?2)",
		      digest, pack_id, "record where a blob is indexed");
	if (rv < 0)
		return rv;
	if (sqlite3_changes(c->db) == 0 && replace)
		return rv_err_set(RV_NOTFOUND,
				  "blob %s or pack %s is not in the catalog",
				  digest, pack_id);
	return 0;
}

/* ---- the live sets ------------------------------------------------------ */

static const char live_sql[] =
    "DROP TABLE IF EXISTS temp.prune_live_manifests;"
    "DROP TABLE IF EXISTS temp.prune_live_blobs;"
    "DROP TABLE IF EXISTS temp.prune_live_chunks;"
    "CREATE TEMP TABLE prune_live_manifests (id INTEGER PRIMARY KEY);"
    "CREATE TEMP TABLE prune_live_blobs (id INTEGER PRIMARY KEY);"
    "CREATE TEMP TABLE prune_live_chunks (id INTEGER PRIMARY KEY);"
    "INSERT INTO prune_live_manifests "
    "  WITH RECURSIVE m(id) AS ("
    "    SELECT manifest FROM snapshot_tags"
    "    UNION"
    "    SELECT manifest FROM snapshot_referrers"
    "    UNION"
    "    SELECT c.id FROM m JOIN manifest_refs r ON r.manifest = m.id"
    "      JOIN manifests c ON c.digest = r.digest WHERE r.is_manifest = 1)"
    "  SELECT id FROM m;"
    "INSERT OR IGNORE INTO prune_live_blobs"
    "  SELECT mf.blob FROM manifests mf"
    "  JOIN prune_live_manifests l ON l.id = mf.id;"
    "INSERT OR IGNORE INTO prune_live_blobs"
    "  SELECT b.id FROM prune_live_manifests l"
    "  JOIN manifest_refs r ON r.manifest = l.id"
    "  JOIN blobs b ON b.digest = r.digest;"
    "INSERT OR IGNORE INTO prune_live_chunks"
    "  SELECT bc.chunk FROM blob_chunks bc"
    "  JOIN prune_live_blobs lb ON lb.id = bc.blob;";

static const char pack_stats_sql[] =
    "SELECT p.pack_id, p.size, count(ch.id), count(lc.id),"
    " coalesce(sum(ch.length), 0),"
    " coalesce(sum(CASE WHEN lc.id IS NOT NULL THEN ch.length END), 0),"
    " (SELECT count(*) FROM blobs b JOIN prune_live_blobs lb ON lb.id = b.id"
    "  WHERE b.entry_pack = p.id)"
    " FROM packs p LEFT JOIN chunks ch ON ch.pack = p.id"
    " LEFT JOIN prune_live_chunks lc ON lc.id = ch.id"
    " GROUP BY p.id ORDER BY p.pack_id";

int cat_prune_plan(struct cat_prune_pack **out, size_t *n,
		   uint64_t *unknown_entries, struct cat *c)
{
	struct cat_prune_pack *list = NULL;
	size_t count = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int rc, rv;

	*out = NULL;
	*n = 0;
	*unknown_entries = 0;
	rv = cat_exec(c, live_sql, "work out what the snapshots need");
	if (rv < 0)
		return rv;
	rc = sqlite3_prepare_v2(c->db,
				"SELECT count(*) FROM blobs b JOIN "
				"prune_live_blobs lb ON lb.id = b.id WHERE "
				"b.entry_pack IS NULL",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rv = cat_sql_err(c, rc, "count blobs without an entry pack");
		goto done;
	}
	*unknown_entries = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	rc = sqlite3_prepare_v2(c->db, pack_stats_sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		struct cat_prune_pack *p;

		if (!id || !cat_hex64_valid(id)) {
			rv = rv_err_set(RV_CORRUPT,
					"catalog '%s': a pack row is malformed "
					"(the catalog can be rebuilt from the "
					"targets)",
					c->path);
			goto done;
		}
		rv = rv_array_grow((void **)&list, &cap, count + 1,
				   sizeof(*list));
		if (rv < 0)
			goto done;
		p = &list[count++];
		memset(p, 0, sizeof(*p));
		memcpy(p->pack_id, id, 65);
		p->size = (uint64_t)sqlite3_column_int64(st, 1);
		p->n_chunks = (uint64_t)sqlite3_column_int64(st, 2);
		p->n_live = (uint64_t)sqlite3_column_int64(st, 3);
		p->bytes = (uint64_t)sqlite3_column_int64(st, 4);
		p->live_bytes = (uint64_t)sqlite3_column_int64(st, 5);
		p->entries = (uint64_t)sqlite3_column_int64(st, 6);
	}
	if (rc != SQLITE_DONE) {
		rv = cat_sql_err(c, rc, "describe the packs for prune");
		goto done;
	}
	*out = list;
	*n = count;
	list = NULL;
	rv = 0;
done:
	sqlite3_finalize(st);
	free(list);
	return rv;
}

void cat_prune_end(struct cat *c)
{
	if (c)
		sqlite3_exec(c->db,
			     "DROP TABLE IF EXISTS temp.prune_live_manifests;"
			     "DROP TABLE IF EXISTS temp.prune_live_blobs;"
			     "DROP TABLE IF EXISTS temp.prune_live_chunks;",
			     NULL, NULL, NULL);
}

int cat_prune_live_chunks(struct cat_chunk_loc **out, size_t *n, struct cat *c,
			  const char *pack_id)
{
	return cat_chunks_query(
	    out, n, c, pack_id,
	    "SELECT ch.chunk_id, ch.offset, ch.length, ch.plain_len "
	    "FROM chunks ch JOIN packs p ON p.id = ch.pack "
	    "JOIN prune_live_chunks lc ON lc.id = ch.id "
	    "WHERE p.pack_id = ?1 ORDER BY ch.offset");
}

int cat_prune_entries(struct rv_strlist *digests, struct cat *c,
		      const char *pack_id)
{
	if (!cat_hex64_valid(pack_id))
		return bad_pack(pack_id);
	return cat_column_list(digests, c,
			       "SELECT b.digest FROM blobs b "
			       "JOIN prune_live_blobs lb ON lb.id = b.id "
			       "JOIN packs p ON p.id = b.entry_pack "
			       "WHERE p.pack_id = ?1 ORDER BY b.digest",
			       pack_id, "list the blobs a pack indexes");
}

int cat_prune_blob_live(struct cat *c, const char *digest)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db,
				    "SELECT 1 FROM blobs b JOIN "
				    "prune_live_blobs lb ON lb.id = b.id "
				    "WHERE b.digest = ?1",
				    -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return cat_sql_err(c, rc, "look up a live blob");
}

int cat_manifest_media_type(char **out, struct cat *c, const char *digest)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    c->db, "SELECT media_type FROM manifests WHERE digest = ?1", -1,
	    &st, NULL);
	int rv = 0;

	*out = NULL;
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *mt = (const char *)sqlite3_column_text(st, 0);
		*out = strdup(mt ? mt : "");
		if (!*out)
			rv = rv_err_set(RV_NOMEM, "out of memory");
	} else if (rc == SQLITE_DONE) {
		rv = RV_NOTFOUND; /* a plain blob: no message needed */
	} else {
		rv = cat_sql_err(c, rc, "look up a manifest's media type");
	}
	sqlite3_finalize(st);
	return rv;
}

int cat_chunk_move(struct cat *c, const unsigned char id[32],
		   const char *pack_id, uint64_t offset, uint32_t length)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!cat_hex64_valid(pack_id))
		return bad_pack(pack_id);
	rc = sqlite3_prepare_v2(
	    c->db,
	    "UPDATE chunks SET pack = (SELECT id FROM packs WHERE pack_id = "
	    "?2), offset = ?3, length = ?4 WHERE chunk_id = ?1 AND EXISTS "
	    "(SELECT 1 FROM packs WHERE pack_id = ?2)",
	    -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 1, id, 32, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, pack_id, 64, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)offset);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)length);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cat_sql_errf(c, rc, "move a chunk to pack '%s'",
				    pack_id);
	if (sqlite3_changes(c->db) != 1)
		return rv_err_set(RV_NOTFOUND,
				  "a chunk to move or pack '%s' is not in the "
				  "catalog",
				  pack_id);
	return 0;
}

int cat_prune_drop_dead(uint64_t *manifests, uint64_t *blobs, struct cat *c)
{
	int rv = cat_exec(c,
			  "DELETE FROM manifests WHERE id NOT IN (SELECT id "
			  "FROM prune_live_manifests)",
			  "delete the manifests no snapshot needs");
	if (rv < 0)
		return rv;
	*manifests = (uint64_t)sqlite3_changes(c->db);
	rv = cat_exec(c,
		      "DELETE FROM blobs WHERE id NOT IN (SELECT id FROM "
		      "prune_live_blobs)",
		      "delete the blobs no snapshot needs");
	if (rv < 0)
		return rv;
	*blobs = (uint64_t)sqlite3_changes(c->db);
	return 0;
}

int cat_pack_drop(struct cat *c, const char *pack_id, int64_t now)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	if (!cat_hex64_valid(pack_id))
		return bad_pack(pack_id);
	/* every target ever used: a copy the catalog did not record (a
	 * write under a quorum, a copy made by hand) goes too */
	rc = sqlite3_prepare_v2(
	    c->db,
	    "INSERT OR REPLACE INTO prune_pending (pack_id, target, size, "
	    "since, why) SELECT p.pack_id, t.name, p.size, ?2, '' FROM packs "
	    "p, targets t WHERE p.pack_id = ?1",
	    -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, pack_id, 64, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cat_sql_errf(c, rc, "queue pack '%s' for deletion",
				    pack_id);
	rv = run_text(c,
		      "DELETE FROM chunks WHERE pack = (SELECT id FROM packs "
		      "WHERE pack_id = ?1)",
		      pack_id, NULL, "drop the chunks of a pack");
	if (rv == RV_INVALID)
		return rv_err_set(RV_INVALID,
				  "pack %s still holds a chunk that a blob "
				  "needs; nothing was deleted",
				  pack_id);
	if (rv < 0)
		return rv;
	return run_text(c, "DELETE FROM packs WHERE pack_id = ?1", pack_id,
			NULL, "drop a pack");
}

/* ---- pack copies waiting for deletion ------------------------------------ */

int cat_pending_list(struct cat_pending **out, size_t *n, struct cat *c)
{
	struct cat_pending *list = NULL;
	size_t count = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int rc, rv = 0;

	*out = NULL;
	*n = 0;
	rc = sqlite3_prepare_v2(c->db,
				"SELECT pack_id, target, size, since, why FROM "
				"prune_pending ORDER BY pack_id, target",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *t = (const char *)sqlite3_column_text(st, 1);
		const char *why = (const char *)sqlite3_column_text(st, 4);
		struct cat_pending *p;

		if (!id || !cat_hex64_valid(id) || !t) {
			rv = rv_err_set(RV_CORRUPT,
					"catalog '%s': a prune_pending row is "
					"malformed",
					c->path);
			goto done;
		}
		rv = rv_array_grow((void **)&list, &cap, count + 1,
				   sizeof(*list));
		if (rv < 0)
			goto done;
		p = &list[count++];
		memset(p, 0, sizeof(*p));
		memcpy(p->pack_id, id, 65);
		snprintf(p->target, sizeof(p->target), "%s", t);
		p->size = (uint64_t)sqlite3_column_int64(st, 2);
		p->since = sqlite3_column_int64(st, 3);
		snprintf(p->why, sizeof(p->why), "%s", why ? why : "");
	}
	if (rc != SQLITE_DONE) {
		rv = cat_sql_err(c, rc, "list the packs waiting for deletion");
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

int cat_pending_has(struct cat *c, const char *pack_id)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    c->db, "SELECT 1 FROM prune_pending WHERE pack_id = ?1", -1, &st,
	    NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, pack_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return cat_sql_err(c, rc, "look up a pack waiting for deletion");
}

int cat_pending_done(struct cat *c, const char *pack_id, const char *target,
		     int deleted, const char *why)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    c->db,
	    deleted ? "DELETE FROM prune_pending WHERE pack_id = ?1 AND "
		      "target = ?2"
		    : "UPDATE prune_pending SET why = ?3 WHERE pack_id = ?1 "
		      "AND target = ?2",
	    -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, pack_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && !deleted)
		rc =
		    sqlite3_bind_text(st, 3, why ? why : "", -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cat_sql_errf(c, rc,
				    "record the deletion of pack '%s' on '%s'",
				    pack_id, target);
	return 0;
}
