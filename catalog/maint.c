/* maint.c - what rebuild, repair and adoption ask of the catalog: the
 * list of packs with their locations, removing a location, marking one
 * verified, and which snapshots a pack's loss would break.
 *
 * None of this runs on a backup's hot path (one call per pack at most), so
 * the statements are prepared per call instead of taking slots in the
 * shared statement cache.
 */
#include "catalog/internal.h"

#include "util/err.h"

#include <stdlib.h>
#include <string.h>

static int bad_pack_id(const char *pack_id)
{
	return rv_err_set(RV_INVALID, "pack id '%.80s' is not 64 hex digits",
			  pack_id ? pack_id : "");
}

static int bad_target(const char *pack_id, const char *target)
{
	if (target && *target && strlen(target) <= CAT_NAME_MAX)
		return 0;
	return rv_err_set(
	    RV_INVALID, "pack '%s': target name is empty or too long", pack_id);
}

static int prepare(sqlite3_stmt **st, struct cat *c, const char *sql,
		   const char *what)
{
	int rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK)
		return cat_sql_err(c, rc, what);
	return 0;
}

int cat_pack_has(struct cat *c, const char *pack_id)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	if (!cat_hex64_valid(pack_id))
		return bad_pack_id(pack_id);
	rv = prepare(&st, c, "SELECT 1 FROM packs WHERE pack_id = ?1",
		     "look up a pack");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, pack_id, 64, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "look up pack '%s'", pack_id);
		goto done;
	}
	rv = rc == SQLITE_ROW;
done:
	sqlite3_finalize(st);
	return rv;
}

void cat_pack_list_free(struct cat_pack *packs, size_t n)
{
	if (!packs)
		return;
	for (size_t i = 0; i < n; i++)
		rv_strlist_release(&packs[i].targets);
	free(packs);
}

/* One row per (pack, location); a pack without locations gives one row
 * with a NULL target name. Rows of one pack are adjacent. */
int cat_pack_list(struct cat_pack **out, size_t *n, struct cat *c)
{
	sqlite3_stmt *st = NULL;
	struct cat_pack *list = NULL, *grown;
	size_t count = 0, cap = 0;
	int rc, rv;

	*out = NULL;
	*n = 0;
	rv = prepare(&st, c,
		     "SELECT p.pack_id, p.size, p.created, t.name "
		     "FROM packs p "
		     "LEFT JOIN pack_locations l ON l.pack = p.id "
		     "LEFT JOIN targets t ON t.id = l.target "
		     "ORDER BY p.pack_id, t.name",
		     "list packs");
	if (rv < 0)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *pack_id = (const char *)sqlite3_column_text(st, 0);
		const char *target = (const char *)sqlite3_column_text(st, 3);
		struct cat_pack *p;

		if (!pack_id || !cat_hex64_valid(pack_id)) {
			rv = rv_err_set(RV_CORRUPT,
					"catalog '%s': a pack row has a bad "
					"pack id (the catalog can be rebuilt "
					"from the targets)",
					c->path);
			goto done;
		}
		if (!count || strcmp(list[count - 1].pack_id, pack_id)) {
			if (count == cap) {
				cap = cap ? 2 * cap : 64;
				grown = realloc(list, cap * sizeof(*list));
				if (!grown) {
					rv = rv_err_set(RV_NOMEM,
							"cannot list packs: "
							"out of memory");
					goto done;
				}
				list = grown;
			}
			p = &list[count++];
			memset(p, 0, sizeof(*p));
			memcpy(p->pack_id, pack_id, 65);
			p->size = (uint64_t)sqlite3_column_int64(st, 1);
			p->created = sqlite3_column_int64(st, 2);
		}
		p = &list[count - 1];
		if (target && rv_strlist_add(&p->targets, target) < 0) {
			rv = rv_err_set(RV_NOMEM,
					"cannot list packs: out of memory");
			goto done;
		}
	}
	if (rc != SQLITE_DONE) {
		rv = cat_sql_err(c, rc, "list packs");
		goto done;
	}
	*out = list;
	*n = count;
	list = NULL;
	count = 0;
	rv = 0;
done:
	sqlite3_finalize(st);
	cat_pack_list_free(list, count);
	return rv;
}

int cat_pack_location_del(struct cat *c, const char *pack_id,
			  const char *target)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	if (!cat_hex64_valid(pack_id))
		return bad_pack_id(pack_id);
	rv = bad_target(pack_id, target);
	if (rv < 0)
		return rv;
	rv = prepare(&st, c,
		     "DELETE FROM pack_locations "
		     "WHERE pack = (SELECT id FROM packs WHERE pack_id = ?1) "
		     "AND target = (SELECT id FROM targets WHERE name = ?2)",
		     "remove a pack location");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, pack_id, 64, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "forget pack '%s' on target '%s'",
				  pack_id, target);
		goto done;
	}
	rv = 0;
done:
	sqlite3_finalize(st);
	return rv;
}

int cat_pack_location_verified(struct cat *c, const char *pack_id,
			       const char *target, int64_t when)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	if (!cat_hex64_valid(pack_id))
		return bad_pack_id(pack_id);
	rv = bad_target(pack_id, target);
	if (rv < 0)
		return rv;
	rv = prepare(&st, c,
		     "UPDATE pack_locations SET verified_at = ?3 "
		     "WHERE pack = (SELECT id FROM packs WHERE pack_id = ?1) "
		     "AND target = (SELECT id FROM targets WHERE name = ?2)",
		     "mark a pack location verified");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, pack_id, 64, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, when);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc,
				  "mark pack '%s' on target '%s' verified",
				  pack_id, target);
		goto done;
	}
	rv = 0;
	if (sqlite3_changes(c->db) == 0)
		rv = rv_err_set(RV_NOTFOUND,
				"pack '%s' is not recorded on target '%s'",
				pack_id, target);
done:
	sqlite3_finalize(st);
	return rv;
}

/* The blobs with a chunk in the pack; the manifests whose bytes are one of
 * them or that refer to one of them; then, repeatedly, the manifests that
 * refer to such a manifest (indexes); finally the snapshots with a tag on
 * any of those manifests. UNION (not UNION ALL) stops the recursion once
 * nothing new turns up. */
static const char pack_snapshots_sql[] =
    "WITH RECURSIVE "
    "lost_blobs(id) AS ("
    "  SELECT DISTINCT bc.blob FROM blob_chunks bc"
    "  JOIN chunks ch ON ch.id = bc.chunk"
    "  JOIN packs p ON p.id = ch.pack WHERE p.pack_id = ?1),"
    "lost_manifests(id) AS ("
    "  SELECT m.id FROM manifests m WHERE m.blob IN lost_blobs"
    "  UNION SELECT r.manifest FROM manifest_refs r"
    "  JOIN blobs b ON b.digest = r.digest"
    "  WHERE r.is_manifest = 0 AND b.id IN lost_blobs"
    "  UNION SELECT r.manifest FROM manifest_refs r"
    "  JOIN manifests child ON child.digest = r.digest"
    "  JOIN lost_manifests lm ON lm.id = child.id"
    "  WHERE r.is_manifest = 1) "
    "SELECT s.snap_id FROM snapshot_tags t"
    " JOIN snapshots s ON s.id = t.snapshot"
    " WHERE t.manifest IN lost_manifests "
    "UNION SELECT s.snap_id FROM snapshot_referrers sr"
    " JOIN snapshots s ON s.id = sr.snapshot"
    " WHERE sr.manifest IN lost_manifests ORDER BY 1";

int cat_pack_snapshots(struct rv_strlist *snap_ids, struct cat *c,
		       const char *pack_id)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	if (!cat_hex64_valid(pack_id))
		return bad_pack_id(pack_id);
	rv = prepare(&st, c, pack_snapshots_sql,
		     "find the snapshots that need a pack");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, pack_id, 64, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		const char *id = (const char *)sqlite3_column_text(st, 0);

		if (!id) {
			rv = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
		if (rv_strlist_has(snap_ids, id))
			continue;
		rv = rv_strlist_add(snap_ids, id);
		if (rv < 0)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(
		    c, rc, "find the snapshots that need pack '%s'", pack_id);
		goto done;
	}
	rv_strlist_sort(snap_ids);
	rv = 0;
done:
	sqlite3_finalize(st);
	return rv;
}

int cat_checkpoint(struct cat *c)
{
	sqlite3_stmt *st = NULL;
	int rv;

	if (!sqlite3_get_autocommit(c->db))
		return rv_err_set(RV_INVALID,
				  "catalog '%s': cannot checkpoint inside a "
				  "transaction",
				  c->path);
	rv = prepare(&st, c, "PRAGMA wal_checkpoint(TRUNCATE)",
		     "checkpoint the write-ahead log");
	if (rv < 0)
		goto done;
	rv = cat_step(c, st, "checkpoint the write-ahead log");
	if (rv < 0)
		goto done;
	/* Column 0 is 1 when another connection kept the checkpoint from
	 * finishing. */
	if (rv > 0 && sqlite3_column_int(st, 0) != 0) {
		rv = rv_err_set(RV_LOCKED,
				"catalog '%s': cannot checkpoint the "
				"write-ahead log: another connection is "
				"reading it; try again",
				c->path);
		goto done;
	}
	rv = 0;
done:
	sqlite3_finalize(st);
	return rv;
}
