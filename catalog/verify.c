/* verify.c - what `regvault verify` asks of the catalog: which packs of a
 * target were verified least recently (for --sample), the chunks and blobs
 * of one pack (for --level deep), and what can no longer be restored when
 * packs are lost (blobs, manifests, snapshots and their tags).
 *
 * One call per run or per pack, so the statements are prepared per call
 * instead of taking slots in the shared statement cache.
 */
#include "catalog/internal.h"

#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int prepare(sqlite3_stmt **st, struct cat *c, const char *sql,
		   const char *what)
{
	int rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK)
		return cat_sql_err(c, rc, what);
	return 0;
}

static int bad_pack_id(const char *pack_id)
{
	return rv_err_set(RV_INVALID, "pack id '%.80s' is not 64 hex digits",
			  pack_id ? pack_id : "");
}

int cat_pack_verify_times(struct cat_pack_seen **out, size_t *n, struct cat *c,
			  const char *target)
{
	sqlite3_stmt *st = NULL;
	struct cat_pack_seen *list = NULL;
	size_t count = 0, cap = 0;
	int rc, rv;

	*out = NULL;
	*n = 0;
	if (!target || !*target || strlen(target) > CAT_NAME_MAX)
		return rv_err_set(RV_INVALID,
				  "target name is empty or too long");
	rv = prepare(
	    &st, c,
	    "SELECT p.pack_id, p.size, l.pack IS NOT NULL, "
	    "coalesce(l.verified_at, 0) FROM packs p "
	    "LEFT JOIN pack_locations l ON l.pack = p.id AND l.target = "
	    "(SELECT id FROM targets WHERE name = ?1) "
	    "ORDER BY l.verified_at IS NOT NULL, l.verified_at, "
	    "p.pack_id",
	    "list the packs by verification time");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		const char *pack_id = (const char *)sqlite3_column_text(st, 0);
		struct cat_pack_seen *p;

		if (!pack_id || !cat_hex64_valid(pack_id)) {
			rv = rv_err_set(RV_CORRUPT,
					"catalog '%s': a pack row has a bad "
					"pack id (the catalog can be rebuilt "
					"from the targets)",
					c->path);
			goto done;
		}
		rv = rv_array_grow((void **)&list, &cap, count + 1,
				   sizeof(*list));
		if (rv < 0)
			goto done;
		p = &list[count++];
		memcpy(p->pack_id, pack_id, 65);
		p->size = (uint64_t)sqlite3_column_int64(st, 1);
		p->located = sqlite3_column_int(st, 2);
		p->verified_at = sqlite3_column_int64(st, 3);
	}
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc,
				  "list the packs of target '%s' by "
				  "verification time",
				  target);
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

int cat_pack_chunks(struct cat_chunk_loc **out, size_t *n, struct cat *c,
		    const char *pack_id)
{
	return cat_chunks_query(
	    out, n, c, pack_id,
	    "SELECT ch.chunk_id, ch.offset, ch.length, ch.plain_len "
	    "FROM chunks ch JOIN packs p ON p.id = ch.pack "
	    "WHERE p.pack_id = ?1 ORDER BY ch.offset");
}

int cat_chunks_query(struct cat_chunk_loc **out, size_t *n, struct cat *c,
		     const char *pack_id, const char *sql)
{
	sqlite3_stmt *st = NULL;
	struct cat_chunk_loc *list = NULL;
	size_t count = 0, cap = 0;
	int rc, rv;

	*out = NULL;
	*n = 0;
	if (!cat_hex64_valid(pack_id))
		return bad_pack_id(pack_id);
	rv = prepare(&st, c, sql, "list the chunks of a pack");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, pack_id, 64, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		struct cat_chunk_loc *l;
		int64_t off = sqlite3_column_int64(st, 1);
		int64_t len = sqlite3_column_int64(st, 2);
		int64_t plain = sqlite3_column_int64(st, 3);

		if (sqlite3_column_bytes(st, 0) != 32 || off < 0 || len < 0 ||
		    len > UINT32_MAX || plain < 0 || plain > UINT32_MAX) {
			rv = rv_err_set(RV_CORRUPT,
					"catalog '%s': a chunk row of pack "
					"'%s' is malformed (the catalog can be "
					"rebuilt from the targets)",
					c->path, pack_id);
			goto done;
		}
		rv = rv_array_grow((void **)&list, &cap, count + 1,
				   sizeof(*list));
		if (rv < 0)
			goto done;
		l = &list[count++];
		memcpy(l->id, sqlite3_column_blob(st, 0), 32);
		memcpy(l->pack_id, pack_id, 64);
		l->pack_id[64] = '\0';
		l->offset = (uint64_t)off;
		l->length = (uint32_t)len;
		l->plain_len = (uint32_t)plain;
	}
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "list the chunks of pack '%s'",
				  pack_id);
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

int cat_column_list(struct rv_strlist *l, struct cat *c, const char *sql,
		       const char *text, const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc, rv = prepare(&st, c, sql, what);

	if (rv < 0)
		return rv;
	rc = sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		const char *v = (const char *)sqlite3_column_text(st, 0);

		if (!v) {
			rv = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
		if (rv_strlist_has(l, v))
			continue;
		rv = rv_strlist_add(l, v);
		if (rv < 0)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		rv = cat_sql_err(c, rc, what);
		goto done;
	}
	rv_strlist_sort(l);
	rv = 0;
done:
	sqlite3_finalize(st);
	return rv;
}

int cat_pack_blobs(struct rv_strlist *digests, struct cat *c,
		   const char *pack_id)
{
	if (!cat_hex64_valid(pack_id))
		return bad_pack_id(pack_id);
	return cat_column_list(
	    digests, c,
	    "SELECT DISTINCT b.digest FROM blobs b "
	    "JOIN blob_chunks bc ON bc.blob = b.id "
	    "JOIN chunks ch ON ch.id = bc.chunk "
	    "JOIN packs p ON p.id = ch.pack WHERE p.pack_id = ?1 "
	    "ORDER BY b.digest",
	    pack_id, "list the blobs of a pack");
}

/* ?1 is a JSON array of pack ids. The blobs with a chunk in one of them;
 * the manifests whose bytes are such a blob or that refer to one (a
 * nondistributable layer is never restored, so it does not count); then,
 * repeatedly, the manifests that refer to such a manifest (indexes). UNION
 * stops the recursion once nothing new turns up. */
#define NEEDS_CTE                                                              \
	"WITH RECURSIVE "                                                      \
	"lost_packs(id) AS (SELECT p.id FROM packs p WHERE p.pack_id IN "      \
	"  (SELECT value FROM json_each(?1))),"                                \
	"lost_blobs(id) AS ("                                                  \
	"  SELECT DISTINCT bc.blob FROM blob_chunks bc"                        \
	"  JOIN chunks ch ON ch.id = bc.chunk WHERE ch.pack IN lost_packs),"   \
	"lost_manifests(id) AS ("                                              \
	"  SELECT m.id FROM manifests m WHERE m.blob IN lost_blobs"            \
	"  UNION SELECT r.manifest FROM manifest_refs r"                       \
	"  JOIN blobs b ON b.digest = r.digest"                                \
	"  WHERE r.is_manifest = 0 AND r.nondistributable = 0"                 \
	"  AND b.id IN lost_blobs"                                             \
	"  UNION SELECT r.manifest FROM manifest_refs r"                       \
	"  JOIN manifests child ON child.digest = r.digest"                    \
	"  JOIN lost_manifests lm ON lm.id = child.id"                         \
	"  WHERE r.is_manifest = 1) "

void cat_needs_release(struct cat_needs *nd)
{
	if (!nd)
		return;
	rv_strlist_release(&nd->blobs);
	rv_strlist_release(&nd->manifests);
	rv_strlist_release(&nd->snapshots);
	for (size_t i = 0; nd->tags && i < nd->n_tags; i++) {
		free(nd->tags[i].repo);
		free(nd->tags[i].tag);
	}
	free(nd->tags);
	memset(nd, 0, sizeof(*nd));
}

static int needs_tags(struct cat_needs *nd, struct cat *c, const char *ids)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc, rv;

	rv = prepare(
	    &st, c,
	    NEEDS_CTE
	    "SELECT s.snap_id, t.repo, t.tag, m.digest "
	    "FROM snapshot_tags t JOIN snapshots s ON s.id = t.snapshot "
	    "JOIN manifests m ON m.id = t.manifest "
	    "WHERE t.manifest IN lost_manifests "
	    "ORDER BY s.time, s.id, t.repo, t.tag",
	    "find the tags that need lost packs");
	if (rv < 0)
		return rv;
	rc = sqlite3_bind_text(st, 1, ids, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		const char *snap = (const char *)sqlite3_column_text(st, 0);
		const char *repo = (const char *)sqlite3_column_text(st, 1);
		const char *tag = (const char *)sqlite3_column_text(st, 2);
		const char *digest = (const char *)sqlite3_column_text(st, 3);
		struct cat_needs_tag *t;

		if (!snap || !cat_hex64_valid(snap) || !repo || !tag ||
		    !digest || strlen(digest) >= RV_DIGEST_MAX) {
			rv = rv_err_set(RV_CORRUPT,
					"catalog '%s': a snapshot tag row is "
					"malformed (the catalog can be rebuilt "
					"from the targets)",
					c->path);
			goto done;
		}
		rv = rv_array_grow((void **)&nd->tags, &cap, nd->n_tags + 1,
				   sizeof(*nd->tags));
		if (rv < 0)
			goto done;
		t = &nd->tags[nd->n_tags];
		memset(t, 0, sizeof(*t));
		memcpy(t->snap_id, snap, 65);
		memcpy(t->manifest, digest, strlen(digest) + 1);
		t->repo = strdup(repo);
		t->tag = strdup(tag);
		nd->n_tags++;
		if (!t->repo || !t->tag) {
			rv = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
		if (!rv_strlist_has(&nd->snapshots, snap)) {
			rv = rv_strlist_add(&nd->snapshots, snap);
			if (rv < 0)
				goto done;
		}
	}
	if (rc != SQLITE_DONE) {
		rv = cat_sql_err(c, rc, "find the tags that need lost packs");
		goto done;
	}
	rv_strlist_sort(&nd->snapshots);
	rv = 0;
done:
	sqlite3_finalize(st);
	return rv;
}

int cat_packs_needed_by(struct cat_needs *out, struct cat *c,
			const struct rv_strlist *pack_ids)
{
	struct rv_buf ids = RV_BUF_INIT((size_t)1 << 28);
	int rv = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < pack_ids->n; i++)
		if (!cat_hex64_valid(pack_ids->items[i]))
			return bad_pack_id(pack_ids->items[i]);
	/* pack ids are plain hex: no JSON escaping needed */
	rv = rv_buf_puts(&ids, "[");
	for (size_t i = 0; !rv && i < pack_ids->n; i++)
		rv = rv_buf_printf(&ids, "%s\"%s\"", i ? "," : "",
				   pack_ids->items[i]);
	if (!rv)
		rv = rv_buf_puts(&ids, "]");
	if (!rv)
		rv = cat_column_list(
		    &out->blobs, c,
		    NEEDS_CTE "SELECT b.digest FROM blobs b "
			      "WHERE b.id IN lost_blobs AND b.id NOT IN "
			      "(SELECT blob FROM manifests)",
		    rv_buf_cstr(&ids), "find the blobs in lost packs");
	if (!rv)
		rv = cat_column_list(&out->manifests, c,
				 NEEDS_CTE "SELECT m.digest FROM manifests m "
					   "WHERE m.id IN lost_manifests",
				 rv_buf_cstr(&ids),
				 "find the manifests that need lost packs");
	if (!rv)
		rv = needs_tags(out, c, rv_buf_cstr(&ids));
	rv_buf_release(&ids);
	if (rv)
		cat_needs_release(out);
	return rv;
}
