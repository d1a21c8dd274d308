/* schema.c - the catalog's schema as an ordered list of migrations.
 *
 * PRAGMA user_version holds the number of steps applied. Each step runs in
 * its own BEGIN IMMEDIATE transaction together with the user_version bump,
 * so a crash leaves the file at a step boundary and two processes opening
 * a fresh catalog at once do not both apply a step. Steps are never
 * edited once released: a change is a new step at the end. docs/CATALOG.md
 * explains every table.
 */
#include "catalog/internal.h"

#include "util/err.h"

#include <stdio.h>

static const char schema_v1[] =
    "PRAGMA application_id = 1920361332;\n" /* CAT_APPLICATION_ID */
    "CREATE TABLE meta (\n"
    "  key   TEXT PRIMARY KEY NOT NULL,\n"
    "  value TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE packs (\n"
    "  id      INTEGER PRIMARY KEY,\n"
    "  pack_id TEXT NOT NULL UNIQUE CHECK (length(pack_id) = 64),\n"
    "  size    INTEGER NOT NULL CHECK (size >= 0),\n"
    "  created INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE targets (\n"
    "  id   INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE\n"
    ");\n"
    "CREATE TABLE pack_locations (\n"
    "  pack        INTEGER NOT NULL REFERENCES packs (id) ON DELETE CASCADE,\n"
    "  target      INTEGER NOT NULL REFERENCES targets (id),\n"
    "  added       INTEGER NOT NULL,\n"
    "  verified_at INTEGER,\n"
    "  PRIMARY KEY (pack, target)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX pack_locations_target ON pack_locations (target);\n"
    "CREATE TABLE chunks (\n"
    "  id        INTEGER PRIMARY KEY,\n"
    "  chunk_id  BLOB NOT NULL UNIQUE CHECK (length(chunk_id) = 32),\n"
    "  pack      INTEGER NOT NULL REFERENCES packs (id),\n"
    "  offset    INTEGER NOT NULL CHECK (offset >= 0),\n"
    "  length    INTEGER NOT NULL CHECK (length >= 0),\n"
    "  plain_len INTEGER NOT NULL CHECK (plain_len >= 0)\n"
    ");\n"
    "CREATE INDEX chunks_pack ON chunks (pack);\n"
    "CREATE TABLE blobs (\n"
    "  id     INTEGER PRIMARY KEY,\n"
    "  digest TEXT NOT NULL UNIQUE,\n"
    "  size   INTEGER NOT NULL CHECK (size >= 0)\n"
    ");\n"
    "CREATE TABLE blob_chunks (\n"
    "  blob  INTEGER NOT NULL REFERENCES blobs (id) ON DELETE CASCADE,\n"
    "  seq   INTEGER NOT NULL,\n"
    "  chunk INTEGER NOT NULL REFERENCES chunks (id),\n"
    "  PRIMARY KEY (blob, seq)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX blob_chunks_chunk ON blob_chunks (chunk);\n"
    "CREATE TABLE manifests (\n"
    "  id         INTEGER PRIMARY KEY,\n"
    "  digest     TEXT NOT NULL UNIQUE,\n"
    "  media_type TEXT NOT NULL,\n"
    "  size       INTEGER NOT NULL CHECK (size >= 0),\n"
    "  blob       INTEGER NOT NULL REFERENCES blobs (id)\n"
    ");\n"
    "CREATE INDEX manifests_blob ON manifests (blob);\n"
    "CREATE TABLE manifest_refs (\n"
    "  manifest         INTEGER NOT NULL\n"
    "                   REFERENCES manifests (id) ON DELETE CASCADE,\n"
    "  seq              INTEGER NOT NULL,\n"
    "  digest           TEXT NOT NULL,\n"
    "  is_manifest      INTEGER NOT NULL CHECK (is_manifest IN (0, 1)),\n"
    "  size             INTEGER NOT NULL CHECK (size >= 0),\n"
    "  media_type       TEXT NOT NULL,\n"
    "  nondistributable INTEGER NOT NULL\n"
    "                   CHECK (nondistributable IN (0, 1)),\n"
    "  PRIMARY KEY (manifest, seq)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX manifest_refs_digest ON manifest_refs (digest);\n"
    "CREATE TABLE snapshots (\n"
    "  id      INTEGER PRIMARY KEY,\n"
    "  snap_id TEXT NOT NULL UNIQUE CHECK (length(snap_id) = 64),\n"
    "  time    INTEGER NOT NULL,\n"
    "  source  TEXT NOT NULL,\n"
    "  url     TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX snapshots_time ON snapshots (time, id);\n"
    "CREATE TABLE snapshot_tags (\n"
    "  snapshot INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,\n"
    "  repo     TEXT NOT NULL,\n"
    "  tag      TEXT NOT NULL,\n"
    "  manifest INTEGER NOT NULL REFERENCES manifests (id),\n"
    "  PRIMARY KEY (snapshot, repo, tag)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX snapshot_tags_manifest ON snapshot_tags (manifest);\n"
    "CREATE INDEX snapshot_tags_history ON snapshot_tags (repo, tag);\n";

/* v2: a trail of verify and drill runs for auditors. */
static const char schema_v2[] =
    "CREATE TABLE runs (\n"
    "  id        INTEGER PRIMARY KEY,\n"
    "  kind      TEXT NOT NULL,\n"
    "  started   INTEGER NOT NULL,\n"
    "  finished  INTEGER NOT NULL,\n"
    "  exit_code INTEGER NOT NULL,\n"
    "  summary   TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX runs_kind_time ON runs (kind, started);\n";

/* v3: where each schedule stands, so that no slot runs twice. `timing`
 * is the cron expression and zone the slot was computed with: a schedule
 * whose timing changed starts afresh from its next slot. Job history goes
 * into `runs` with kind 'job'. */
static const char schema_v3[] = "CREATE TABLE schedule_state (\n"
				"  name          TEXT PRIMARY KEY NOT NULL,\n"
				"  last_slot     INTEGER,\n"
				"  last_started  INTEGER,\n"
				"  last_finished INTEGER,\n"
				"  last_exit     INTEGER,\n"
				"  timing        TEXT NOT NULL DEFAULT ''\n"
				");\n";

/* v4: forget and prune. blobs.entry_pack is the pack whose index lists
 * the blob (NULL for rows recorded before v4: prune then reads the index
 * of a pack it removes to find them); prune_pending holds pack copies that
 * prune has dropped from the catalog but not yet deleted from a target
 * (interrupted, or retained by Object Lock), retried by the next prune. */
static const char schema_v4[] =
    "ALTER TABLE blobs ADD COLUMN entry_pack INTEGER\n"
    "  REFERENCES packs (id) ON DELETE SET NULL;\n"
    "CREATE INDEX blobs_entry_pack ON blobs (entry_pack);\n"
    "CREATE TABLE prune_pending (\n"
    "  pack_id TEXT NOT NULL CHECK (length(pack_id) = 64),\n"
    "  target  TEXT NOT NULL,\n"
    "  size    INTEGER NOT NULL,\n"
    "  since   INTEGER NOT NULL,\n"
    "  why     TEXT NOT NULL DEFAULT '',\n"
    "  PRIMARY KEY (pack_id, target)\n"
    ") WITHOUT ROWID;\n";

/* v5: referrers found through the OCI 1.1 referrers API (signatures,
 * attestations, SBOMs that no tag points to), per snapshot: the subject's
 * digest and the referrer's manifest. Referrers reached by the fallback
 * tag schema (`sha256-<hex>` tags) are ordinary tags in snapshot_tags. */
static const char schema_v5[] =
    "CREATE TABLE snapshot_referrers (\n"
    "  snapshot INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,\n"
    "  repo     TEXT NOT NULL,\n"
    "  subject  TEXT NOT NULL,\n"
    "  manifest INTEGER NOT NULL REFERENCES manifests (id),\n"
    "  PRIMARY KEY (snapshot, repo, subject, manifest)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX snapshot_referrers_manifest ON snapshot_referrers "
    "(manifest);\n";

/* Step i brings the schema from version i to i + 1. Append only. */
static const char *const migrations[] = {
    schema_v1,
    schema_v2,
    schema_v3,
    schema_v4,
    schema_v5,
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int cat_schema_version(void)
{
	return N_MIGRATIONS;
}

static int read_version(int *version, struct cat *c)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	*version = 0;
	rc = sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rv = cat_sql_err(c, rc, "read the schema version");
		goto done;
	}
	*version = sqlite3_column_int(st, 0);
	rv = 0;
done:
	sqlite3_finalize(st);
	return rv;
}

/* Apply step `from` (to from + 1) unless another process got there first.
 * *done_all is set when nothing is left to apply. */
static int apply_step(int *done_all, struct cat *c)
{
	char bump[64];
	int version = 0, n, rv;

	*done_all = 0;
	rv = cat_exec(c, "BEGIN IMMEDIATE", "start a schema migration");
	if (rv < 0)
		return rv;
	/* Read inside the write transaction: the version is now ours. */
	rv = read_version(&version, c);
	if (rv < 0)
		goto done;
	if (version > N_MIGRATIONS) {
		rv = rv_err_set(RV_UNSUPPORTED,
				"catalog '%s' was written by a newer regvault "
				"(schema %d); upgrade regvault",
				c->path, version);
		goto done;
	}
	if (version == N_MIGRATIONS) {
		*done_all = 1;
		rv = cat_exec(c, "COMMIT", "finish the schema migration");
		goto done;
	}
	rv = cat_exec(c, migrations[version], "migrate the schema");
	if (rv < 0)
		goto done;
	n = snprintf(bump, sizeof(bump), "PRAGMA user_version = %d",
		     version + 1);
	if (n < 0 || (size_t)n >= sizeof(bump)) {
		rv = rv_err_set(
		    RV_ERROR, "catalog '%s': schema version overflow", c->path);
		goto done;
	}
	rv = cat_exec(c, bump, "record the schema version");
	if (rv < 0)
		goto done;
	rv = cat_exec(c, "COMMIT", "commit the schema migration");
done:
	if (rv < 0 && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return rv;
}

int cat_schema_migrate(struct cat *c)
{
	int done_all = 0, version = 0, rv;

	/* The usual case costs no write lock, so that opening the catalog
	 * while a backup holds it for writing does not wait. */
	rv = read_version(&version, c);
	if (rv < 0)
		return rv;
	if (version == N_MIGRATIONS)
		return 0;
	while (!done_all) {
		rv = apply_step(&done_all, c);
		if (rv < 0)
			return rv;
	}
	return 0;
}
