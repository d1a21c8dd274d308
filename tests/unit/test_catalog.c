/* test_catalog.c - opening, migrations, pragmas, meta, transactions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "catalog/catalog.h"
#include "catalog/internal.h"
#include "util/err.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fx {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rv-cat-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/catalog.db", f->dir);
	*state = f;
	return 0;
}

static void remove_with_suffix(const char *path, const char *suffix)
{
	char name[160];

	snprintf(name, sizeof(name), "%s%s", path, suffix);
	unlink(name);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	remove_with_suffix(f->path, "");
	remove_with_suffix(f->path, "-wal");
	remove_with_suffix(f->path, "-shm");
	remove_with_suffix(f->path, "-journal");
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Run one SQL statement on the file with a separate connection, as another
 * program (or an older or newer regvault) would. */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static void test_catalog_open_creates_schema_and_reopens(void **state)
{
	struct fx *f = *state;
	struct cat *c = NULL;
	char *value = NULL;
	int64_t tables;

	assert_int_equal(cat_open(&c, f->path), 0);
	assert_non_null(c);
	assert_int_equal(raw_int(c->db, "PRAGMA user_version"),
			 cat_schema_version());
	assert_int_equal(raw_int(c->db, "PRAGMA application_id"),
			 CAT_APPLICATION_ID);
	tables = raw_int(c->db, "SELECT count(*) FROM sqlite_schema");
	assert_true(tables >= 11);
	assert_int_equal(cat_meta_set(c, "store_id", "abc"), 0);
	cat_close(c);
	c = NULL;

	/* Reopening applies nothing twice and keeps the data. */
	assert_int_equal(cat_open(&c, f->path), 0);
	assert_int_equal(raw_int(c->db, "PRAGMA user_version"),
			 cat_schema_version());
	assert_int_equal(raw_int(c->db, "SELECT count(*) FROM sqlite_schema"),
			 tables);
	assert_int_equal(cat_meta_get(&value, c, "store_id"), 0);
	assert_string_equal(value, "abc");
	free(value);
	cat_close(c);
}

static void test_catalog_open_sets_wal_sync_full_and_foreign_keys(void **state)
{
	struct fx *f = *state;
	struct cat *c = NULL;
	sqlite3 *other = NULL;
	const unsigned char *mode;
	sqlite3_stmt *st = NULL;
	struct stat sb;
	char wal[160];

	assert_int_equal(cat_open(&c, f->path), 0);
	assert_int_equal(raw_int(c->db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(raw_int(c->db, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(raw_int(c->db, "PRAGMA busy_timeout"), 5000);

	/* WAL is a property of the file: another connection sees it. */
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(other, "PRAGMA journal_mode", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	mode = sqlite3_column_text(st, 0);
	assert_string_equal((const char *)mode, "wal");
	sqlite3_finalize(st);
	sqlite3_close(other);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	cat_close(c);
}

static void test_catalog_open_refuses_newer_schema(void **state)
{
	struct fx *f = *state;
	struct cat *c = NULL;

	assert_int_equal(cat_open(&c, f->path), 0);
	cat_close(c);
	c = NULL;
	raw_exec(f->path, "PRAGMA user_version = 99");

	assert_int_equal(cat_open(&c, f->path), RV_UNSUPPORTED);
	assert_null(c);
	assert_non_null(strstr(rv_err_msg(), f->path));
	assert_non_null(strstr(rv_err_msg(), "newer regvault (schema 99)"));
	assert_non_null(strstr(rv_err_msg(), "upgrade regvault"));
}

static void test_catalog_open_refuses_garbage_file(void **state)
{
	struct fx *f = *state;
	struct cat *c = NULL;
	struct stat before, after;

	write_file(f->path, "this is not a database, just some text\n");
	assert_int_equal(stat(f->path, &before), 0);

	assert_int_equal(cat_open(&c, f->path), RV_CORRUPT);
	assert_null(c);
	assert_non_null(strstr(rv_err_msg(), f->path));
	assert_non_null(strstr(rv_err_msg(), "rebuilt from the targets"));
	/* The file is left as it was. */
	assert_int_equal(stat(f->path, &after), 0);
	assert_int_equal(before.st_size, after.st_size);
}

static void test_catalog_open_refuses_foreign_sqlite_database(void **state)
{
	struct fx *f = *state;
	struct cat *c = NULL;

	raw_exec(f->path, "CREATE TABLE photos (id INTEGER PRIMARY KEY)");
	assert_int_equal(cat_open(&c, f->path), RV_CORRUPT);
	assert_null(c);
	assert_non_null(strstr(rv_err_msg(), "not a regvault catalog"));
}

static void test_catalog_open_accepts_empty_file(void **state)
{
	struct fx *f = *state;
	struct cat *c = NULL;
	int fd = open(f->path, O_CREAT | O_WRONLY, 0600);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(cat_open(&c, f->path), 0);
	assert_int_equal(raw_int(c->db, "PRAGMA user_version"),
			 cat_schema_version());
	cat_close(c);
}

static void test_catalog_open_missing_folder_is_io_error(void **state)
{
	struct fx *f = *state;
	struct cat *c = NULL;
	char path[200];

	snprintf(path, sizeof(path), "%s/no/such/dir/catalog.db", f->dir);
	assert_int_equal(cat_open(&c, path), RV_IO);
	assert_null(c);
	assert_non_null(strstr(rv_err_msg(), path));
}

static void test_catalog_open_does_not_wait_for_a_writer(void **state)
{
	struct fx *f = *state;
	struct cat *writer = NULL, *reader = NULL;
	char *value = NULL;

	assert_int_equal(cat_open(&writer, f->path), 0);
	assert_int_equal(cat_begin(writer), 0);
	assert_int_equal(cat_meta_set(writer, "k", "uncommitted"), 0);

	/* A second process (here: connection) can open and read while a
	 * backup holds the write lock; it sees committed data only. */
	assert_int_equal(cat_open(&reader, f->path), 0);
	assert_int_equal(cat_meta_get(&value, reader, "k"), RV_NOTFOUND);
	assert_null(value);
	cat_close(reader);

	assert_int_equal(cat_commit(writer), 0);
	cat_close(writer);
}

static void test_catalog_meta_get_unset_is_notfound(void **state)
{
	struct fx *f = *state;
	struct cat *c = NULL;
	char *value = NULL;

	assert_int_equal(cat_open(&c, f->path), 0);
	assert_int_equal(cat_meta_get(&value, c, "nothing"), RV_NOTFOUND);
	assert_null(value);
	assert_non_null(strstr(rv_err_msg(), "'nothing'"));
	assert_int_equal(cat_meta_set(c, "k", "one"), 0);
	assert_int_equal(cat_meta_set(c, "k", "two"), 0);
	assert_int_equal(cat_meta_get(&value, c, "k"), 0);
	assert_string_equal(value, "two");
	free(value);
	cat_close(c);
}

static void test_catalog_rollback_leaves_nothing(void **state)
{
	struct fx *f = *state;
	struct cat *c = NULL;
	char *value = NULL;
	const char *pack = "0123456789abcdef0123456789abcdef"
			   "0123456789abcdef0123456789abcdef";
	unsigned char id[32];
	struct cat_stats stats;
	char digest[RV_DIGEST_MAX];

	memset(id, 7, sizeof(id));
	assert_int_equal(rv_digest_of(digest, "x", 1), 0);
	assert_int_equal(cat_open(&c, f->path), 0);
	assert_int_equal(cat_begin(c), 0);
	assert_int_equal(cat_meta_set(c, "k", "v"), 0);
	assert_int_equal(cat_pack_add(c, pack, 100, 1700000000), 0);
	assert_int_equal(cat_pack_location_add(c, pack, "local"), 0);
	assert_int_equal(cat_chunk_add(c, id, pack, 0, 50, 1), 0);
	assert_int_equal(
	    cat_blob_add(c, digest, 1, (const unsigned char(*)[32])id, 1), 0);
	assert_int_equal(cat_blob_has(c, digest), 1);
	cat_rollback(c);

	assert_int_equal(cat_blob_has(c, digest), 0);
	assert_int_equal(cat_chunk_has(c, id), 0);
	assert_int_equal(cat_meta_get(&value, c, "k"), RV_NOTFOUND);
	assert_int_equal(cat_stats_get(&stats, c), 0);
	assert_int_equal(stats.packs, 0);
	assert_int_equal(stats.chunks, 0);
	assert_int_equal(stats.blobs, 0);
	assert_int_equal(raw_int(c->db, "SELECT count(*) FROM pack_locations"),
			 0);
	assert_int_equal(raw_int(c->db, "SELECT count(*) FROM blob_chunks"), 0);
	/* A rollback with nothing open is harmless. */
	cat_rollback(c);
	cat_close(c);
}

static void test_catalog_nested_begin_is_refused(void **state)
{
	struct fx *f = *state;
	struct cat *c = NULL;

	assert_int_equal(cat_open(&c, f->path), 0);
	assert_int_equal(cat_commit(c), RV_INVALID);
	assert_int_equal(cat_begin(c), 0);
	assert_int_equal(cat_begin(c), RV_INVALID);
	assert_int_equal(cat_commit(c), 0);
	cat_close(c);
}

static void test_catalog_commit_survives_reopen(void **state)
{
	struct fx *f = *state;
	struct cat *c = NULL;
	char *value = NULL;

	assert_int_equal(cat_open(&c, f->path), 0);
	assert_int_equal(cat_begin(c), 0);
	assert_int_equal(cat_meta_set(c, "store_id", "s1"), 0);
	assert_int_equal(cat_commit(c), 0);
	cat_close(c);
	c = NULL;
	assert_int_equal(cat_open(&c, f->path), 0);
	assert_int_equal(cat_meta_get(&value, c, "store_id"), 0);
	assert_string_equal(value, "s1");
	free(value);
	cat_close(c);
}

static void test_catalog_sql_errors_map_to_codes(void **state)
{
	struct fx *f = *state;
	struct cat *c = NULL;

	assert_int_equal(cat_open(&c, f->path), 0);
	assert_int_equal(cat_sql_err(c, SQLITE_FULL, "write"), RV_NOSPC);
	assert_int_equal(cat_sql_err(c, SQLITE_BUSY, "write"), RV_LOCKED);
	assert_int_equal(cat_sql_err(c, SQLITE_LOCKED, "write"), RV_LOCKED);
	assert_int_equal(cat_sql_err(c, SQLITE_CORRUPT, "read"), RV_CORRUPT);
	assert_int_equal(cat_sql_err(c, SQLITE_NOTADB, "read"), RV_CORRUPT);
	assert_int_equal(cat_sql_err(c, SQLITE_IOERR_FSYNC, "sync"), RV_IO);
	assert_int_equal(
	    cat_sql_errf(c, SQLITE_BUSY_SNAPSHOT, "record '%s'", "x"),
	    RV_LOCKED);
	assert_non_null(strstr(rv_err_msg(), "cannot record 'x'"));
	assert_non_null(strstr(rv_err_msg(), f->path));
	cat_close(c);
}

static void test_catalog_full_disk_is_nospc(void **state)
{
	struct fx *f = *state;
	struct cat *c = NULL;
	char value[4096];
	char key[32];
	int rv = 0;

	assert_int_equal(cat_open(&c, f->path), 0);
	/* A page cap stands in for a full disk: sqlite reports SQLITE_FULL
	 * either way. */
	assert_int_equal(
	    sqlite3_exec(c->db, "PRAGMA max_page_count = 30", NULL, NULL, NULL),
	    SQLITE_OK);
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	for (int i = 0; i < 100 && rv == 0; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		rv = cat_meta_set(c, key, value);
	}
	assert_int_equal(rv, RV_NOSPC);
	assert_non_null(strstr(rv_err_msg(), "free some disk space"));
	cat_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_catalog_open_creates_schema_and_reopens, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_catalog_open_sets_wal_sync_full_and_foreign_keys, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_catalog_open_refuses_newer_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_catalog_open_refuses_garbage_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_catalog_open_refuses_foreign_sqlite_database, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_catalog_open_accepts_empty_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_catalog_open_missing_folder_is_io_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_catalog_open_does_not_wait_for_a_writer, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_catalog_meta_get_unset_is_notfound, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_catalog_rollback_leaves_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_catalog_nested_begin_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_catalog_commit_survives_reopen,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_catalog_sql_errors_map_to_codes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_catalog_full_disk_is_nospc,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
