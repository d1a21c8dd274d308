/* referrers.c - referrers found through the OCI 1.1 API, per snapshot
 * (schema v5, table snapshot_referrers).
 *
 * Few rows per snapshot (signatures, SBOMs), so the statements are
 * prepared per call rather than cached (but for the snapshot lookup,
 * which is done before any callback runs): the callback of
 * cat_snapshot_referrers may use the catalog while one is running. */
#include "catalog/internal.h"

#include "util/err.h"

#include <string.h>

/* The row id of recorded manifest digest: RV_INVALID when absent (the
 * caller must record it first). */
static int manifest_row(int64_t *row, struct cat *c, const char *digest)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	rc = sqlite3_prepare_v2(
	    c->db, "SELECT id FROM manifests WHERE digest = ?1", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rv = rv_err_set(RV_INVALID,
				"cannot record referrer '%s': the manifest is "
				"not recorded in the catalog (record it first)",
				digest);
		goto done;
	}
	if (rc != SQLITE_ROW) {
		rv = cat_sql_errf(c, rc, "look up manifest '%s'", digest);
		goto done;
	}
	*row = sqlite3_column_int64(st, 0);
	rv = 0;
done:
	sqlite3_finalize(st);
	return rv;
}

int cat_snapshot_referrer_add(struct cat *c, const char *snap_id,
			      const char *repo, const char *subject_digest,
			      const char *manifest_digest)
{
	sqlite3_stmt *st = NULL;
	int64_t snap = 0, manifest = 0;
	int rc, rv;

	rv = cat_snap_id_check(snap_id);
	if (rv)
		return rv;
	if (!repo || !*repo || strlen(repo) > CAT_NAME_MAX)
		return rv_err_set(RV_INVALID,
				  "snapshot '%s': a referrer's repository "
				  "name is empty or too long",
				  snap_id);
	if (!rv_digest_valid(subject_digest) ||
	    !rv_digest_valid(manifest_digest))
		return rv_err_set(RV_INVALID,
				  "snapshot '%s': referrer '%.80s' of '%.80s' "
				  "in '%s' is not a pair of sha256 digests",
				  snap_id,
				  manifest_digest ? manifest_digest : "",
				  subject_digest ? subject_digest : "", repo);
	rv = cat_snap_row(&snap, c, snap_id);
	if (rv == RV_NOTFOUND)
		rv = rv_err_set(RV_INVALID,
				"cannot record a referrer of '%s': snapshot "
				"'%s' is not recorded (add the snapshot first)",
				subject_digest, snap_id);
	if (!rv)
		rv = manifest_row(&manifest, c, manifest_digest);
	if (rv)
		return rv;
	rc =
	    sqlite3_prepare_v2(c->db,
			       "INSERT INTO snapshot_referrers (snapshot, "
			       "repo, subject, manifest) "
			       "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
			       -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, snap);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, repo, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc =
		    sqlite3_bind_text(st, 3, subject_digest, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, manifest);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc,
				  "record referrer '%s' of '%s' in snapshot "
				  "'%s'",
				  manifest_digest, subject_digest, snap_id);
		goto done;
	}
	rv = 0;
done:
	sqlite3_finalize(st);
	return rv;
}

int cat_snapshot_referrers(struct cat *c, const char *snap_id,
			   cat_referrer_fn fn, void *arg)
{
	return cat_snap_rows(c, snap_id,
			     "SELECT r.repo, r.subject, m.digest "
			     "FROM snapshot_referrers r "
			     "JOIN manifests m ON m.id = r.manifest "
			     "WHERE r.snapshot = ?1 "
			     "ORDER BY r.repo, r.subject, m.digest",
			     "referrers", fn, arg);
}
