/* catalog.c - opening the catalog, errors, the statement cache,
 * transactions and meta settings. */
#include "catalog/internal.h"

#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Another regvault holding a write transaction gets this long to finish
 * before we report the catalog as locked. */
#define CAT_BUSY_TIMEOUT_MS 5000

int cat_sql_err(struct cat *c, int rc, const char *what)
{
	const char *hint = "";
	int code;

	switch (rc & 0xff) {
	case SQLITE_FULL:
		code = RV_NOSPC;
		hint = " (free some disk space and run again)";
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = RV_LOCKED;
		hint = " (another regvault is using the catalog; try again "
		       "when it has finished)";
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		code = RV_CORRUPT;
		hint = " (move the file aside: the catalog can be rebuilt "
		       "from the targets)";
		break;
	case SQLITE_NOMEM:
		code = RV_NOMEM;
		break;
	case SQLITE_CONSTRAINT:
		code = RV_INVALID;
		break;
	default:
		code = RV_IO;
		break;
	}
	return rv_err_set(code, "catalog '%s': cannot %s: %s%s", c->path, what,
			  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc),
			  hint);
}

int cat_sql_errf(struct cat *c, int rc, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(what, sizeof(what), fmt, ap) < 0)
		what[0] = '\0';
	va_end(ap);
	return cat_sql_err(c, rc, what);
}

int cat_stmt(sqlite3_stmt **out, struct cat *c, enum cat_stmt_id id,
	     const char *sql)
{
	int rc;

	*out = NULL;
	if (!c->stmts[id]) {
		rc = sqlite3_prepare_v3(c->db, sql, -1,
					SQLITE_PREPARE_PERSISTENT,
					&c->stmts[id], NULL);
		if (rc != SQLITE_OK)
			return cat_sql_errf(c, rc, "prepare \"%.80s\"", sql);
	}
	*out = c->stmts[id];
	return 0;
}

void cat_stmt_done(sqlite3_stmt *st)
{
	if (!st)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int cat_step(struct cat *c, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return cat_sql_err(c, rc, what);
}

int cat_exec(struct cat *c, const char *sql, const char *what)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return cat_sql_err(c, rc, what);
	return 0;
}

int cat_hex64_valid(const char *s)
{
	size_t i;

	if (!s)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

/* Run a statement that takes no parameters and needs no result rows. */
static int run_cached(struct cat *c, enum cat_stmt_id id, const char *sql,
		      const char *what)
{
	sqlite3_stmt *st = NULL;
	int rv;

	rv = cat_stmt(&st, c, id, sql);
	if (rv < 0)
		goto done;
	rv = cat_step(c, st, what);
	if (rv > 0)
		rv = 0;
done:
	cat_stmt_done(st);
	return rv;
}

/* The first column of a one-row PRAGMA as an integer. */
static int pragma_int(int64_t *value, struct cat *c, const char *sql,
		      const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	*value = 0;
	rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rv = cat_sql_err(c, rc, what);
		goto done;
	}
	rv = cat_step(c, st, what);
	if (rv < 0)
		goto done;
	if (rv == 0) {
		rv = rv_err_set(RV_UNSUPPORTED,
				"catalog '%s': cannot %s: sqlite returned "
				"nothing (sqlite built without it?)",
				c->path, what);
		goto done;
	}
	*value = sqlite3_column_int64(st, 0);
	rv = 0;
done:
	sqlite3_finalize(st);
	return rv;
}

/* The messages for the two ways a file may not be a catalog. */
static int not_a_catalog(struct cat *c, const char *why)
{
	return rv_err_set(
	    RV_CORRUPT,
	    "catalog '%s' is not a regvault catalog (%s); check "
	    "the path, or move the file aside: the catalog can be "
	    "rebuilt from the targets",
	    c->path, why);
}

/* Read the header fields before anything writes to the file, so that a
 * foreign or newer file is refused untouched. */
static int check_header(struct cat *c)
{
	int64_t app_id, version, n_objects;
	int rv;

	rv = pragma_int(&app_id, c, "PRAGMA application_id",
			"read the database header");
	if (rv == RV_CORRUPT)
		return not_a_catalog(c, sqlite3_errmsg(c->db));
	if (rv < 0)
		return rv;
	rv = pragma_int(&version, c, "PRAGMA user_version",
			"read the schema version");
	if (rv == RV_CORRUPT)
		return not_a_catalog(c, sqlite3_errmsg(c->db));
	if (rv < 0)
		return rv;
	if (app_id != 0 && app_id != CAT_APPLICATION_ID)
		return not_a_catalog(c, "another program's sqlite database");
	if (app_id == 0 && version != 0)
		return not_a_catalog(c, "another program's sqlite database");
	if (version > cat_schema_version())
		return rv_err_set(
		    RV_UNSUPPORTED,
		    "catalog '%s' was written by a newer regvault "
		    "(schema %lld); upgrade regvault",
		    c->path, (long long)version);
	if (app_id == 0) {
		rv = pragma_int(&n_objects, c,
				"SELECT count(*) FROM sqlite_schema",
				"read the schema");
		if (rv == RV_CORRUPT)
			return not_a_catalog(c, sqlite3_errmsg(c->db));
		if (rv < 0)
			return rv;
		if (n_objects != 0)
			return not_a_catalog(c, "a sqlite database with other "
						"tables");
	}
	return 0;
}

static int set_wal(struct cat *c)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	int rc, rv;

	rc =
	    sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rv = cat_sql_err(c, rc, "switch to WAL journal mode");
		goto done;
	}
	rv = cat_step(c, st, "switch to WAL journal mode");
	if (rv < 0)
		goto done;
	mode = rv > 0 ? (const char *)sqlite3_column_text(st, 0) : NULL;
	if (!mode || strcmp(mode, "wal") != 0) {
		rv = rv_err_set(RV_IO,
				"catalog '%s': cannot switch to WAL journal "
				"mode (sqlite kept '%s'); put the catalog on a "
				"local file system",
				c->path, mode ? mode : "?");
		goto done;
	}
	rv = 0;
done:
	sqlite3_finalize(st);
	return rv;
}

int cat_open(struct cat **out, const char *path)
{
	struct cat *c = NULL;
	int64_t fk = 0;
	int rc, rv;

	*out = NULL;
	if (!path || !*path)
		return rv_err_set(RV_INVALID, "catalog path is empty");
	c = calloc(1, sizeof(*c));
	if (!c)
		return rv_err_set(RV_NOMEM,
				  "cannot open catalog: out of memory");
	c->path = strdup(path);
	if (!c->path) {
		rv = rv_err_set(RV_NOMEM, "cannot open catalog: out of memory");
		goto done;
	}
	rc = sqlite3_open_v2(path, &c->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		if (!c->db)
			rv = rv_err_set(RV_NOMEM,
					"catalog '%s': cannot open: "
					"out of memory",
					path);
		else
			rv = cat_sql_err(c, rc, "open");
		goto done;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, CAT_BUSY_TIMEOUT_MS);

	rv = check_header(c);
	if (rv < 0)
		goto done;
	rv = set_wal(c);
	if (rv < 0)
		goto done;
	rv = cat_exec(c, "PRAGMA synchronous=FULL", "set synchronous=FULL");
	if (rv < 0)
		goto done;
	rv = cat_exec(c, "PRAGMA foreign_keys=ON", "turn foreign keys on");
	if (rv < 0)
		goto done;
	rv = pragma_int(&fk, c, "PRAGMA foreign_keys", "turn foreign keys on");
	if (rv < 0)
		goto done;
	if (fk != 1) {
		rv = rv_err_set(RV_UNSUPPORTED,
				"catalog '%s': sqlite refuses foreign keys "
				"(built without them?)",
				path);
		goto done;
	}
	rv = cat_schema_migrate(c);
	if (rv < 0)
		goto done;

	*out = c;
	c = NULL;
	rv = 0;
done:
	cat_close(c);
	return rv;
}

int cat_open_reader(struct cat **out, const struct cat *c)
{
	struct cat *r = calloc(1, sizeof(*r));
	int rc, rv;

	*out = NULL;
	if (!r || !(r->path = strdup(c->path))) {
		free(r);
		return rv_err_set(RV_NOMEM, "cannot open catalog: out of memory");
	}
	rc = sqlite3_open_v2(c->path, &r->db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		rv = r->db ? cat_sql_err(r, rc, "open for reading")
			   : rv_err_set(RV_NOMEM, "catalog '%s': cannot open: "
						  "out of memory",
					c->path);
		cat_close(r);
		return rv;
	}
	sqlite3_extended_result_codes(r->db, 1);
	sqlite3_busy_timeout(r->db, CAT_BUSY_TIMEOUT_MS);
	*out = r;
	return 0;
}

void cat_close(struct cat *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < CAT_ST_COUNT; i++)
		sqlite3_finalize(c->stmts[i]);
	/* An open transaction is rolled back by the close. */
	sqlite3_close_v2(c->db);
	free(c->path);
	free(c);
}

int cat_begin(struct cat *c)
{
	if (!sqlite3_get_autocommit(c->db))
		return rv_err_set(RV_INVALID,
				  "catalog '%s': a transaction is already open",
				  c->path);
	return run_cached(c, CAT_ST_BEGIN, "BEGIN IMMEDIATE",
			  "start a transaction");
}

int cat_commit(struct cat *c)
{
	if (sqlite3_get_autocommit(c->db))
		return rv_err_set(RV_INVALID,
				  "catalog '%s': commit without a transaction",
				  c->path);
	return run_cached(c, CAT_ST_COMMIT, "COMMIT", "commit");
}

void cat_rollback(struct cat *c)
{
	sqlite3_stmt *st = NULL;

	/* SQLite may already have rolled back by itself (after SQLITE_FULL,
	 * for one); then there is nothing left to undo. */
	if (!c || sqlite3_get_autocommit(c->db))
		return;
	if (cat_stmt(&st, c, CAT_ST_ROLLBACK, "ROLLBACK") == 0)
		sqlite3_step(st);
	cat_stmt_done(st);
}

int cat_savepoint(struct cat *c)
{
	return run_cached(c, CAT_ST_SAVEPOINT, "SAVEPOINT cat_add",
			  "start a savepoint");
}

int cat_release(struct cat *c)
{
	return run_cached(c, CAT_ST_RELEASE, "RELEASE cat_add",
			  "release a savepoint");
}

void cat_rollback_to(struct cat *c)
{
	/* Runs after an error whose message must survive, so nothing here
	 * reports. ROLLBACK TO keeps the savepoint open; RELEASE then ends
	 * it (and the implicit transaction when the caller had none). After
	 * SQLITE_FULL or an I/O error SQLite may already have rolled back
	 * the whole transaction, and then there is nothing left to undo. */
	if (sqlite3_get_autocommit(c->db))
		return;
	sqlite3_exec(c->db, "ROLLBACK TO cat_add; RELEASE cat_add", NULL, NULL,
		     NULL);
}

int cat_meta_get(char **value, struct cat *c, const char *key)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *text;
	int rc, rv;

	*value = NULL;
	rv = cat_stmt(&st, c, CAT_ST_META_GET,
		      "SELECT value FROM meta WHERE key = ?1");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "read setting '%s'", key);
		goto done;
	}
	if (rc == SQLITE_DONE) {
		rv = rv_err_set(RV_NOTFOUND, "catalog '%s': no setting '%s'",
				c->path, key);
		goto done;
	}
	text = sqlite3_column_text(st, 0);
	*value = strdup(text ? (const char *)text : "");
	if (!*value) {
		rv = rv_err_set(RV_NOMEM,
				"cannot read setting '%s': out of memory", key);
		goto done;
	}
	rv = 0;
done:
	cat_stmt_done(st);
	return rv;
}

int cat_meta_set(struct cat *c, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	if (!key || !*key || strlen(key) > CAT_NAME_MAX)
		return rv_err_set(RV_INVALID,
				  "setting name '%.64s' is empty or too long",
				  key ? key : "");
	if (!value || strlen(value) > CAT_META_VALUE_MAX)
		return rv_err_set(RV_INVALID,
				  "value of setting '%s' is missing "
				  "or too long",
				  key);
	rv = cat_stmt(&st, c, CAT_ST_META_SET,
		      "INSERT INTO meta (key, value) VALUES (?1, ?2) "
		      "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
	if (rv < 0)
		goto done;
	rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "write setting '%s'", key);
		goto done;
	}
	rv = 0;
done:
	cat_stmt_done(st);
	return rv;
}
