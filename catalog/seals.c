/* seals.c - what a snapshot's seal lists: every pack its tags need. */
#include "catalog/internal.h"

#include "util/err.h"

#include <stdio.h>
#include <string.h>

/* Manifests reachable from the snapshot's tags (through index children),
 * their own bytes' blobs and their child blobs, then those blobs' chunks'
 * packs. */
static const char *const snapshot_packs_sql =
    "WITH RECURSIVE m(id) AS ("
    "  SELECT t.manifest FROM snapshot_tags t WHERE t.snapshot = ?1"
    "  UNION"
    "  SELECT sr.manifest FROM snapshot_referrers sr WHERE sr.snapshot = ?1"
    "  UNION"
    "  SELECT c.id FROM m JOIN manifest_refs r ON r.manifest = m.id"
    "    JOIN manifests c ON c.digest = r.digest WHERE r.is_manifest = 1"
    "), b(id) AS ("
    "  SELECT mf.blob FROM manifests mf JOIN m ON mf.id = m.id"
    "  UNION"
    "  SELECT bl.id FROM m JOIN manifest_refs r ON r.manifest = m.id"
    "    JOIN blobs bl ON bl.digest = r.digest WHERE r.is_manifest = 0"
    ") "
    "SELECT DISTINCT p.pack_id, p.size FROM b"
    "  JOIN blob_chunks bc ON bc.blob = b.id"
    "  JOIN chunks ch ON ch.id = bc.chunk"
    "  JOIN packs p ON p.id = ch.pack "
    "ORDER BY p.pack_id";

int cat_snapshot_packs(struct cat *c, const char *snap_id, cat_pack_fn fn,
		       void *arg)
{
	sqlite3_stmt *st = NULL, *id_st = NULL;
	int64_t row = -1;
	int rc, rv = 0;

	if (!cat_hex64_valid(snap_id))
		return rv_err_set(RV_INVALID,
				  "snapshot id '%.80s' is not 64 lowercase "
				  "hex digits",
				  snap_id ? snap_id : "");
	rc = sqlite3_prepare_v2(c->db, "SELECT id FROM snapshots WHERE snap_id = ?1",
				-1, &id_st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(id_st, 1, snap_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(id_st);
	if (rc == SQLITE_ROW)
		row = sqlite3_column_int64(id_st, 0);
	else if (rc == SQLITE_DONE)
		rv = rv_err_set(RV_NOTFOUND, "no snapshot '%s' in the catalog",
				snap_id);
	else
		rv = cat_sql_err(c, rc, "finding a snapshot");
	sqlite3_finalize(id_st);
	if (rv)
		return rv;
	rc = sqlite3_prepare_v2(c->db, snapshot_packs_sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, row);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		const char *pack_id = (const char *)sqlite3_column_text(st, 0);
		int64_t size = sqlite3_column_int64(st, 1);
		if (!pack_id) {
			rv = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
		rv = fn(arg, pack_id, (uint64_t)size);
		if (rv)
			goto done;
	}
	if (rc != SQLITE_DONE)
		rv = cat_sql_err(c, rc, "listing the packs of a snapshot");
done:
	sqlite3_finalize(st);
	return rv;
}
