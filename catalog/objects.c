/* objects.c - packs, their locations, chunks, blobs and manifests.
 *
 * The add functions run on the hot path of a backup (one call per chunk),
 * so each row costs one execution of a cached statement: lookups of the
 * parent rows happen inside INSERT ... SELECT, and the rarer reason for a
 * row not being inserted (duplicate or missing parent) is only worked out
 * when no row was inserted.
 */
#include "catalog/internal.h"

#include "util/err.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAT_MEDIA_TYPE_MAX 128 /* the size of the fields in catalog.h */

static int bad_digest(const char *what, const char *digest)
{
	return rv_err_set(RV_INVALID, "%s '%.80s' is not a sha256 digest", what,
			  digest ? digest : "");
}

static int bad_pack_id(const char *pack_id)
{
	return rv_err_set(RV_INVALID, "pack id '%.80s' is not 64 hex digits",
			  pack_id ? pack_id : "");
}

/* 1 if the one-parameter text query st_sql returns a row, 0 if not. */
static int has_text(struct cat *c, enum cat_stmt_id id, const char *sql,
		    const char *key, const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	rv = cat_stmt(&st, c, id, sql);
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "look up %s '%s'", what, key);
		goto done;
	}
	rv = rc == SQLITE_ROW;
done:
	cat_stmt_done(st);
	return rv;
}

int cat_blob_has(struct cat *c, const char *digest)
{
	if (!rv_digest_valid(digest))
		return bad_digest("blob", digest);
	return has_text(c, CAT_ST_BLOB_HAS,
			"SELECT 1 FROM blobs WHERE digest = ?1", digest,
			"blob");
}

int cat_manifest_has(struct cat *c, const char *digest)
{
	if (!rv_digest_valid(digest))
		return bad_digest("manifest", digest);
	return has_text(c, CAT_ST_MANIFEST_HAS,
			"SELECT 1 FROM manifests WHERE digest = ?1", digest,
			"manifest");
}

static int pack_has(struct cat *c, const char *pack_id)
{
	return has_text(c, CAT_ST_PACK_HAS,
			"SELECT 1 FROM packs WHERE pack_id = ?1", pack_id,
			"pack");
}

int cat_chunk_has(struct cat *c, const unsigned char id[32])
{
	sqlite3_stmt *st = NULL;
	char hex[65];
	int rc, rv;

	rv = cat_stmt(&st, c, CAT_ST_CHUNK_HAS,
		      "SELECT 1 FROM chunks WHERE chunk_id = ?1");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_blob(st, 1, id, 32, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rv_hex_encode(hex, id, 32);
		rv = cat_sql_errf(c, rc, "look up chunk %s", hex);
		goto done;
	}
	rv = rc == SQLITE_ROW;
done:
	cat_stmt_done(st);
	return rv;
}

int cat_pack_add(struct cat *c, const char *pack_id, uint64_t size,
		 int64_t created)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	if (!cat_hex64_valid(pack_id))
		return bad_pack_id(pack_id);
	if (size > INT64_MAX)
		return rv_err_set(RV_INVALID,
				  "pack '%s': size %llu is too large", pack_id,
				  (unsigned long long)size);
	/* The id is the hash of the bytes: a second add of the same id is
	 * the same pack, recorded again after a retry. */
	rv = cat_stmt(&st, c, CAT_ST_PACK_ADD,
		      "INSERT INTO packs (pack_id, size, created) "
		      "VALUES (?1, ?2, ?3) ON CONFLICT (pack_id) DO NOTHING");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, pack_id, 64, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, created);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "record pack '%s'", pack_id);
		goto done;
	}
	rv = 0;
done:
	cat_stmt_done(st);
	return rv;
}

static int pack_missing(struct cat *c, const char *pack_id, const char *doing)
{
	int rv = pack_has(c, pack_id);

	if (rv < 0)
		return rv;
	if (rv == 0)
		return rv_err_set(RV_INVALID,
				  "cannot %s: pack '%s' is not recorded in the "
				  "catalog (record the pack first)",
				  doing, pack_id);
	return 0;
}

int cat_pack_location_add(struct cat *c, const char *pack_id,
			  const char *target)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	if (!cat_hex64_valid(pack_id))
		return bad_pack_id(pack_id);
	if (!target || !*target || strlen(target) > CAT_NAME_MAX)
		return rv_err_set(RV_INVALID,
				  "pack '%s': target name is empty or too long",
				  pack_id);
	rv = cat_stmt(&st, c, CAT_ST_TARGET_ADD,
		      "INSERT INTO targets (name) VALUES (?1) "
		      "ON CONFLICT (name) DO NOTHING");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "record target '%s'", target);
		goto done;
	}
	cat_stmt_done(st);

	rv = cat_stmt(&st, c, CAT_ST_LOCATION_ADD,
		      "INSERT INTO pack_locations (pack, target, added) "
		      "SELECT p.id, t.id, ?3 FROM packs p, targets t "
		      "WHERE p.pack_id = ?1 AND t.name = ?2 "
		      "ON CONFLICT (pack, target) DO NOTHING");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, pack_id, 64, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "record pack '%s' on target '%s'",
				  pack_id, target);
		goto done;
	}
	rv = 0;
	if (sqlite3_changes(c->db) == 0)
		rv = pack_missing(c, pack_id, "record a pack location");
done:
	cat_stmt_done(st);
	return rv;
}

int cat_chunk_add(struct cat *c, const unsigned char id[32],
		  const char *pack_id, uint64_t offset, uint32_t length,
		  uint32_t plain_len)
{
	sqlite3_stmt *st = NULL;
	char hex[65];
	int rc, rv;

	if (!cat_hex64_valid(pack_id))
		return bad_pack_id(pack_id);
	if (offset > INT64_MAX - (uint64_t)length) {
		rv_hex_encode(hex, id, 32);
		return rv_err_set(RV_INVALID,
				  "chunk %s: offset %llu in pack "
				  "'%s' is out of range",
				  hex, (unsigned long long)offset, pack_id);
	}
	rv = cat_stmt(&st, c, CAT_ST_CHUNK_ADD,
		      "INSERT INTO chunks (chunk_id, pack, offset, length, "
		      "plain_len) SELECT ?1, id, ?3, ?4, ?5 FROM packs "
		      "WHERE pack_id = ?2 ON CONFLICT (chunk_id) DO NOTHING");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_blob(st, 1, id, 32, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, pack_id, 64, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)offset);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, length);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, plain_len);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv_hex_encode(hex, id, 32);
		rv = cat_sql_errf(c, rc, "record chunk %s in pack '%s'", hex,
				  pack_id);
		goto done;
	}
	rv = 0;
	/* Nothing inserted: the chunk is already recorded (kept where it
	 * is) or the pack is unknown, which is the caller's mistake. */
	if (sqlite3_changes(c->db) == 0)
		rv = pack_missing(c, pack_id, "record a chunk");
done:
	cat_stmt_done(st);
	return rv;
}

/* Insert the blob row; *blob_row is 0 when the blob was already there. */
static int blob_insert(int64_t *blob_row, struct cat *c, const char *digest,
		       int64_t size)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	*blob_row = 0;
	rv = cat_stmt(&st, c, CAT_ST_BLOB_INSERT,
		      "INSERT INTO blobs (digest, size) VALUES (?1, ?2) "
		      "ON CONFLICT (digest) DO NOTHING");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, size);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "record blob '%s'", digest);
		goto done;
	}
	if (sqlite3_changes(c->db) > 0)
		*blob_row = sqlite3_last_insert_rowid(c->db);
	rv = 0;
done:
	cat_stmt_done(st);
	return rv;
}

static int blob_chunk_add(struct cat *c, int64_t blob_row, size_t seq,
			  const unsigned char id[32], const char *digest)
{
	sqlite3_stmt *st = NULL;
	char hex[65];
	int rc, rv;

	rv = cat_stmt(&st, c, CAT_ST_BLOB_CHUNK_ADD,
		      "INSERT INTO blob_chunks (blob, seq, chunk) "
		      "SELECT ?1, ?2, id FROM chunks WHERE chunk_id = ?3");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_int64(st, 1, blob_row);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 3, id, 32, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv_hex_encode(hex, id, 32);
		rv = cat_sql_errf(c, rc, "record chunk %s of blob '%s'", hex,
				  digest);
		goto done;
	}
	if (sqlite3_changes(c->db) == 0) {
		rv_hex_encode(hex, id, 32);
		rv =
		    rv_err_set(RV_INVALID,
			       "cannot record blob '%s': its chunk %zu (%s) is "
			       "not recorded in the catalog (record the pack "
			       "and its chunks first)",
			       digest, seq, hex);
		goto done;
	}
	rv = 0;
done:
	cat_stmt_done(st);
	return rv;
}

/* The chunks' plain lengths must add up to the blob: otherwise a restore
 * would stream a different number of bytes than the digest covers. */
static int blob_check_size(struct cat *c, int64_t blob_row, const char *digest,
			   int64_t size)
{
	sqlite3_stmt *st = NULL;
	int64_t total;
	int rc, rv;

	rv =
	    cat_stmt(&st, c, CAT_ST_BLOB_PLAIN_SUM,
		     "SELECT coalesce(sum(c.plain_len), 0) FROM blob_chunks bc "
		     "JOIN chunks c ON c.id = bc.chunk WHERE bc.blob = ?1");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_int64(st, 1, blob_row);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rv = cat_sql_errf(c, rc, "check the size of blob '%s'", digest);
		goto done;
	}
	total = sqlite3_column_int64(st, 0);
	if (total != size) {
		rv = rv_err_set(RV_INVALID,
				"cannot record blob '%s': its chunks hold %lld "
				"bytes, the blob has %lld",
				digest, (long long)total, (long long)size);
		goto done;
	}
	rv = 0;
done:
	cat_stmt_done(st);
	return rv;
}

int cat_blob_add(struct cat *c, const char *digest, int64_t size,
		 const unsigned char (*chunk_ids)[32], size_t n_chunks)
{
	int64_t blob_row = 0;
	size_t i;
	int rv;

	if (!rv_digest_valid(digest))
		return bad_digest("blob", digest);
	if (size < 0)
		return rv_err_set(RV_INVALID, "blob '%s': negative size",
				  digest);
	if (n_chunks > 0 && !chunk_ids)
		return rv_err_set(RV_INVALID, "blob '%s': no chunk list",
				  digest);
	/* All or nothing, whether or not the caller has a transaction. */
	rv = cat_savepoint(c);
	if (rv < 0)
		return rv;
	rv = blob_insert(&blob_row, c, digest, size);
	if (rv < 0 || blob_row == 0)
		goto done;
	for (i = 0; i < n_chunks; i++) {
		rv = blob_chunk_add(c, blob_row, i, chunk_ids[i], digest);
		if (rv < 0)
			goto done;
	}
	rv = blob_check_size(c, blob_row, digest, size);
done:
	if (rv < 0) {
		cat_rollback_to(c);
		return rv;
	}
	return cat_release(c);
}

/* The blob row holding the manifest's own bytes, and its size. */
static int blob_get(int64_t *blob_row, int64_t *size, struct cat *c,
		    const char *digest)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	*blob_row = 0;
	*size = 0;
	rv = cat_stmt(&st, c, CAT_ST_BLOB_GET,
		      "SELECT id, size FROM blobs WHERE digest = ?1");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rv = RV_NOTFOUND; /* the caller words the message */
		goto done;
	}
	if (rc != SQLITE_ROW) {
		rv = cat_sql_errf(c, rc, "look up blob '%s'", digest);
		goto done;
	}
	*blob_row = sqlite3_column_int64(st, 0);
	*size = sqlite3_column_int64(st, 1);
	rv = 0;
done:
	cat_stmt_done(st);
	return rv;
}

static int ref_check(struct cat *c, const char *digest,
		     const struct cat_ref *ref, size_t seq)
{
	int rv;

	if (strnlen(ref->digest, sizeof(ref->digest)) == sizeof(ref->digest) ||
	    !rv_digest_valid(ref->digest))
		return rv_err_set(
		    RV_INVALID, "manifest '%s': child %zu has no valid digest",
		    digest, seq);
	if (strnlen(ref->media_type, sizeof(ref->media_type)) ==
	    sizeof(ref->media_type))
		return rv_err_set(RV_INVALID,
				  "manifest '%s': child '%s' has an "
				  "unterminated media type",
				  digest, ref->digest);
	if (ref->size < 0)
		return rv_err_set(RV_INVALID,
				  "manifest '%s': child '%s' has a negative "
				  "size",
				  digest, ref->digest);
	/* Foreign layers are neither stored nor restored. */
	if (ref->nondistributable)
		return 0;
	if (ref->is_manifest)
		rv = cat_manifest_has(c, ref->digest);
	else
		rv = cat_blob_has(c, ref->digest);
	if (rv < 0)
		return rv;
	if (rv == 0)
		return rv_err_set(RV_INVALID,
				  "cannot record manifest '%s': its child %s "
				  "'%s' is not recorded in the catalog (record "
				  "children first)",
				  digest,
				  ref->is_manifest ? "manifest" : "blob",
				  ref->digest);
	return 0;
}

static int manifest_insert(int64_t *manifest_row, struct cat *c,
			   const char *digest, const char *media_type,
			   int64_t size, int64_t blob_row)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	*manifest_row = 0;
	rv =
	    cat_stmt(&st, c, CAT_ST_MANIFEST_INSERT,
		     "INSERT INTO manifests (digest, media_type, size, blob) "
		     "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (digest) DO NOTHING");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, media_type, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, size);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, blob_row);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "record manifest '%s'", digest);
		goto done;
	}
	if (sqlite3_changes(c->db) > 0)
		*manifest_row = sqlite3_last_insert_rowid(c->db);
	rv = 0;
done:
	cat_stmt_done(st);
	return rv;
}

static int manifest_ref_add(struct cat *c, int64_t manifest_row, size_t seq,
			    const struct cat_ref *ref, const char *digest)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	rv = cat_stmt(&st, c, CAT_ST_MANIFEST_REF_ADD,
		      "INSERT INTO manifest_refs (manifest, seq, digest, "
		      "is_manifest, size, media_type, nondistributable) "
		      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_int64(st, 1, manifest_row);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, ref->digest, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 4, ref->is_manifest ? 1 : 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, ref->size);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 6, ref->media_type, -1,
				       SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 7, ref->nondistributable ? 1 : 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "record child '%s' of manifest '%s'",
				  ref->digest, digest);
		goto done;
	}
	rv = 0;
done:
	cat_stmt_done(st);
	return rv;
}

int cat_manifest_add(struct cat *c, const char *digest, const char *media_type,
		     int64_t size, const struct cat_ref *refs, size_t n_refs)
{
	int64_t blob_row = 0, blob_size = 0, manifest_row = 0;
	size_t i;
	int rv;

	if (!rv_digest_valid(digest))
		return bad_digest("manifest", digest);
	if (!media_type || strlen(media_type) >= CAT_MEDIA_TYPE_MAX)
		return rv_err_set(RV_INVALID,
				  "manifest '%s': media type is "
				  "missing or longer than %d bytes",
				  digest, CAT_MEDIA_TYPE_MAX - 1);
	if (size < 0)
		return rv_err_set(RV_INVALID, "manifest '%s': negative size",
				  digest);
	if (n_refs > 0 && !refs)
		return rv_err_set(RV_INVALID, "manifest '%s': no child list",
				  digest);
	rv = cat_manifest_has(c, digest);
	if (rv != 0)
		return rv < 0 ? rv : 0; /* existing rows are kept */

	rv = blob_get(&blob_row, &blob_size, c, digest);
	if (rv == RV_NOTFOUND)
		return rv_err_set(RV_INVALID,
				  "cannot record manifest '%s': its bytes are "
				  "not a recorded blob (record the blob first)",
				  digest);
	if (rv < 0)
		return rv;
	if (blob_size != size)
		return rv_err_set(RV_INVALID,
				  "cannot record manifest '%s': size %lld "
				  "differs from its blob's %lld bytes",
				  digest, (long long)size,
				  (long long)blob_size);
	for (i = 0; i < n_refs; i++) {
		rv = ref_check(c, digest, &refs[i], i);
		if (rv < 0)
			return rv;
	}

	rv = cat_savepoint(c);
	if (rv < 0)
		return rv;
	rv = manifest_insert(&manifest_row, c, digest, media_type, size,
			     blob_row);
	if (rv < 0 || manifest_row == 0)
		goto done;
	for (i = 0; i < n_refs; i++) {
		rv = manifest_ref_add(c, manifest_row, i, &refs[i], digest);
		if (rv < 0)
			goto done;
	}
done:
	if (rv < 0) {
		cat_rollback_to(c);
		return rv;
	}
	return cat_release(c);
}

static void copy_text(char *dst, size_t dst_size, const unsigned char *src)
{
	size_t len = src ? strlen((const char *)src) : 0;

	if (len >= dst_size)
		len = dst_size - 1;
	if (len)
		memcpy(dst, src, len);
	dst[len] = '\0';
}

static int manifest_refs_get(struct cat_manifest *m, struct cat *c,
			     int64_t manifest_row)
{
	sqlite3_stmt *st = NULL;
	struct cat_ref *refs = NULL, *grown;
	size_t n = 0, cap = 0;
	int rc, rv;

	rv = cat_stmt(&st, c, CAT_ST_MANIFEST_REFS,
		      "SELECT digest, is_manifest, size, media_type, "
		      "nondistributable FROM manifest_refs "
		      "WHERE manifest = ?1 ORDER BY seq");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_int64(st, 1, manifest_row);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		const unsigned char *digest = sqlite3_column_text(st, 0);

		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(refs, cap * sizeof(*refs));
			if (!grown) {
				rv = rv_err_set(RV_NOMEM,
						"cannot read manifest "
						"'%s': out of memory",
						m->digest);
				goto done;
			}
			refs = grown;
		}
		if (!digest || !rv_digest_valid((const char *)digest)) {
			rv = rv_err_set(
			    RV_CORRUPT,
			    "catalog '%s': manifest '%s' has a child "
			    "with a bad digest (the catalog can be "
			    "rebuilt from the targets)",
			    c->path, m->digest);
			goto done;
		}
		memset(&refs[n], 0, sizeof(refs[n]));
		copy_text(refs[n].digest, sizeof(refs[n].digest), digest);
		refs[n].is_manifest = sqlite3_column_int(st, 1);
		refs[n].size = sqlite3_column_int64(st, 2);
		copy_text(refs[n].media_type, sizeof(refs[n].media_type),
			  sqlite3_column_text(st, 3));
		refs[n].nondistributable = sqlite3_column_int(st, 4);
		n++;
	}
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "read the children of manifest '%s'",
				  m->digest);
		goto done;
	}
	m->refs = refs;
	m->n_refs = n;
	refs = NULL;
	rv = 0;
done:
	cat_stmt_done(st);
	free(refs);
	return rv;
}

int cat_manifest_get(struct cat_manifest **out, struct cat *c,
		     const char *digest)
{
	sqlite3_stmt *st = NULL;
	struct cat_manifest *m = NULL;
	int64_t manifest_row = 0;
	int rc, rv;

	*out = NULL;
	if (!rv_digest_valid(digest))
		return bad_digest("manifest", digest);
	m = calloc(1, sizeof(*m));
	if (!m)
		return rv_err_set(RV_NOMEM,
				  "cannot read manifest '%s': out of memory",
				  digest);
	rv = cat_stmt(&st, c, CAT_ST_MANIFEST_GET,
		      "SELECT id, media_type, size FROM manifests "
		      "WHERE digest = ?1");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rv = rv_err_set(RV_NOTFOUND,
				"manifest '%s' is not in the catalog", digest);
		goto done;
	}
	if (rc != SQLITE_ROW) {
		rv = cat_sql_errf(c, rc, "read manifest '%s'", digest);
		goto done;
	}
	manifest_row = sqlite3_column_int64(st, 0);
	copy_text(m->digest, sizeof(m->digest), (const unsigned char *)digest);
	copy_text(m->media_type, sizeof(m->media_type),
		  sqlite3_column_text(st, 1));
	m->size = sqlite3_column_int64(st, 2);
	cat_stmt_done(st);
	st = NULL;

	rv = manifest_refs_get(m, c, manifest_row);
	if (rv < 0)
		goto done;
	*out = m;
	m = NULL;
	rv = 0;
done:
	cat_stmt_done(st);
	cat_manifest_free(m);
	return rv;
}

void cat_manifest_free(struct cat_manifest *m)
{
	if (!m)
		return;
	free(m->refs);
	free(m);
}

int cat_blob_chunks(struct cat_chunk_loc **locs, size_t *n, int64_t *size,
		    struct cat *c, const char *digest)
{
	sqlite3_stmt *st = NULL;
	struct cat_chunk_loc *list = NULL, *grown;
	int64_t blob_row = 0, blob_size = 0;
	size_t count = 0, cap = 0;
	int rc, rv;

	*locs = NULL;
	*n = 0;
	*size = 0;
	if (!rv_digest_valid(digest))
		return bad_digest("blob", digest);
	rv = blob_get(&blob_row, &blob_size, c, digest);
	if (rv == RV_NOTFOUND)
		return rv_err_set(RV_NOTFOUND,
				  "blob '%s' is not in the catalog", digest);
	if (rv < 0)
		return rv;

	rv = cat_stmt(&st, c, CAT_ST_BLOB_LOCS,
		      "SELECT c.chunk_id, p.pack_id, c.offset, c.length, "
		      "c.plain_len FROM blob_chunks bc "
		      "JOIN chunks c ON c.id = bc.chunk "
		      "JOIN packs p ON p.id = c.pack "
		      "WHERE bc.blob = ?1 ORDER BY bc.seq");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_int64(st, 1, blob_row);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		const unsigned char *pack_id = sqlite3_column_text(st, 1);
		struct cat_chunk_loc *loc;

		if (sqlite3_column_bytes(st, 0) != 32 || !pack_id ||
		    !cat_hex64_valid((const char *)pack_id)) {
			rv = rv_err_set(RV_CORRUPT,
					"catalog '%s': chunk %zu of blob '%s' "
					"has a bad id or pack id (the catalog "
					"can be rebuilt from the targets)",
					c->path, count, digest);
			goto done;
		}
		if (count == cap) {
			cap = cap ? 2 * cap : 64;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				rv = rv_err_set(RV_NOMEM,
						"cannot read blob "
						"'%s': out of memory",
						digest);
				goto done;
			}
			list = grown;
		}
		loc = &list[count++];
		memcpy(loc->id, sqlite3_column_blob(st, 0), 32);
		memcpy(loc->pack_id, pack_id, 65);
		loc->offset = (uint64_t)sqlite3_column_int64(st, 2);
		loc->length = (uint32_t)sqlite3_column_int64(st, 3);
		loc->plain_len = (uint32_t)sqlite3_column_int64(st, 4);
	}
	if (rc != SQLITE_DONE) {
		rv =
		    cat_sql_errf(c, rc, "read the chunks of blob '%s'", digest);
		goto done;
	}
	*locs = list;
	*n = count;
	*size = blob_size;
	list = NULL;
	rv = 0;
done:
	cat_stmt_done(st);
	free(list);
	return rv;
}
