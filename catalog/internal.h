/* internal.h - shared by the catalog's .c files only.
 *
 * struct cat owns the connection and a cache of prepared statements, one
 * slot per SQL text: a statement is prepared on first use, kept for the
 * life of the handle, and reset (with its bindings cleared) after each use
 * so that a backup recording tens of thousands of chunks parses nothing.
 */
#ifndef CAT_INTERNAL_H
#define CAT_INTERNAL_H

#include "catalog/catalog.h"

#include <sqlite3.h>

/* One slot per cached statement. A slot always holds the same SQL text:
 * each is used from one place only. */
enum cat_stmt_id {
	CAT_ST_BEGIN,
	CAT_ST_COMMIT,
	CAT_ST_ROLLBACK,
	CAT_ST_META_GET,
	CAT_ST_META_SET,
	CAT_ST_SAVEPOINT,
	CAT_ST_RELEASE,
	CAT_ST_BLOB_HAS,
	CAT_ST_MANIFEST_HAS,
	CAT_ST_CHUNK_HAS,
	CAT_ST_PACK_ADD,
	CAT_ST_PACK_HAS,
	CAT_ST_TARGET_ADD,
	CAT_ST_LOCATION_ADD,
	CAT_ST_CHUNK_ADD,
	CAT_ST_BLOB_INSERT,
	CAT_ST_BLOB_CHUNK_ADD,
	CAT_ST_BLOB_PLAIN_SUM,
	CAT_ST_BLOB_GET,
	CAT_ST_BLOB_LOCS,
	CAT_ST_MANIFEST_INSERT,
	CAT_ST_MANIFEST_REF_ADD,
	CAT_ST_MANIFEST_GET,
	CAT_ST_MANIFEST_REFS,
	CAT_ST_SNAP_INSERT,
	CAT_ST_SNAP_GET,
	CAT_ST_SNAP_ID,
	CAT_ST_TAG_INSERT,
	CAT_ST_TAG_GET,
	CAT_ST_SNAP_LIST,
	CAT_ST_SNAP_LATEST,
	CAT_ST_SNAP_PREFIX,
	CAT_ST_STATS,
	CAT_ST_COUNT
};

struct cat {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmts[CAT_ST_COUNT];
};

/* The cached statement for slot id, prepared from sql on first use.
 * Release it with cat_stmt_done() whatever happened. */
int cat_stmt(sqlite3_stmt **out, struct cat *c, enum cat_stmt_id id,
	     const char *sql);
/* Reset st and clear its bindings; NULL is fine. */
void cat_stmt_done(sqlite3_stmt *st);

/* Step st: 1 on a row, 0 when done, a negative rv code (message set,
 * naming `what`) on failure. */
int cat_step(struct cat *c, sqlite3_stmt *st, const char *what);

/* Set the error message for SQLite result rc while doing `what` and
 * return the mapped code: SQLITE_FULL -> RV_NOSPC, BUSY/LOCKED ->
 * RV_LOCKED, CORRUPT/NOTADB -> RV_CORRUPT, NOMEM -> RV_NOMEM, CONSTRAINT
 * -> RV_INVALID, anything else RV_IO. */
int cat_sql_err(struct cat *c, int rc, const char *what);
/* The same with a printf-style description of the work. */
int cat_sql_errf(struct cat *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Run one SQL statement (or a script) without caching it. */
int cat_exec(struct cat *c, const char *sql, const char *what);

/* Savepoints make a multi-row add all-or-nothing inside or outside the
 * caller's transaction. */
int cat_savepoint(struct cat *c);
int cat_release(struct cat *c);
void cat_rollback_to(struct cat *c);

/* Apply every migration step above the file's user_version (schema.c). */
int cat_schema_migrate(struct cat *c);
/* The newest schema this build knows. */
int cat_schema_version(void);

/* PRAGMA application_id of every catalog: "rvct". */
#define CAT_APPLICATION_ID 0x72766374

/* Bounds for text columns that come back into fixed-size fields. */
#define CAT_NAME_MAX 4096 /* repos, tags, targets, meta keys */
#define CAT_META_VALUE_MAX (1u << 20)

/* 1 if s is exactly 64 lowercase hex chars. */
int cat_hex64_valid(const char *s);

/* The chunks of pack_id (?1) that sql selects, as (chunk_id, offset,
 * length, plain_len) rows (catalog/verify.c). */
struct cat_chunk_loc;
int cat_chunks_query(struct cat_chunk_loc **out, size_t *n, struct cat *c,
		     const char *pack_id, const char *sql);
/* Run a one-column text query bound to ?1 = text and append each row to
 * l (each once; l is sorted at the end). */
struct rv_strlist;
int cat_column_list(struct rv_strlist *l, struct cat *c, const char *sql,
		    const char *text, const char *what);

/* Snapshots by id (catalog/snapshots.c). cat_snap_id_check: 0 when
 * snap_id is 64 lowercase hex digits, else RV_INVALID with the message
 * set. cat_snap_row: the row id of recorded snapshot snap_id, or
 * RV_NOTFOUND. cat_snap_rows: run sql bound to ?1 = that row id and call
 * fn with the three text columns of each row, in order; the statement is
 * prepared per call, so fn may use the catalog; `what` names the rows in
 * messages ("tags"). */
typedef int (*cat_row3_fn)(void *arg, const char *a, const char *b,
			   const char *d);
int cat_snap_id_check(const char *snap_id);
int cat_snap_row(int64_t *row, struct cat *c, const char *snap_id);
int cat_snap_rows(struct cat *c, const char *snap_id, const char *sql,
		  const char *what, cat_row3_fn fn, void *arg);

#endif
