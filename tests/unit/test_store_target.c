/* test_store_target.c - the dir target: atomic puts, ranges, listing,
 * deletion and name checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/target.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/strlist.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
	char root[64];
	char path[128];
	struct target *t;
};

static int rm_cb(const char *p, const struct stat *sb, int flag,
		 struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/rv-target-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t1/sub", f->root);
	if (target_dir_open(&f->t, "t1", f->path, 1))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	target_free(f->t);
	nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* 1 if any file or folder under dir starts with '.'. */
static int has_hidden(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		char sub[512];
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_name[0] == '.') {
			found = 1;
			break;
		}
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR)
			found = has_hidden(sub);
	}
	closedir(d);
	return found;
}

static void test_dir_put_get_round_trip(void **state)
{
	struct fixture *f = *state;
	struct rv_buf b = RV_BUF_INIT(1 << 20);
	uint64_t size = 0;

	assert_int_equal(target_put_buf(f->t, "a/b/c.txt", "hello world", 11),
			 0);
	assert_int_equal(target_get(f->t, "a/b/c.txt", &b), 0);
	assert_int_equal(b.len, 11);
	assert_memory_equal(b.data, "hello world", 11);
	assert_int_equal(target_stat(f->t, "a/b/c.txt", &size), 0);
	assert_int_equal(size, 11);

	/* overwrite */
	assert_int_equal(target_put_buf(f->t, "a/b/c.txt", "bye", 3), 0);
	rv_buf_reset(&b);
	assert_int_equal(target_get(f->t, "a/b/c.txt", &b), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "bye", 3);

	/* empty file */
	assert_int_equal(target_put_buf(f->t, "empty", "", 0), 0);
	rv_buf_reset(&b);
	assert_int_equal(target_get(f->t, "empty", &b), 0);
	assert_int_equal(b.len, 0);
	rv_buf_release(&b);
}

static void test_dir_get_range_reads_exact_bytes(void **state)
{
	struct fixture *f = *state;
	struct rv_buf b = RV_BUF_INIT(1 << 20);

	assert_int_equal(target_put_buf(f->t, "r", "0123456789", 10), 0);
	assert_int_equal(target_get_range(f->t, "r", 2, 5, &b), 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "23456", 5);
	/* appends */
	assert_int_equal(target_get_range(f->t, "r", 8, 0, &b), 0);
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.data, "2345689", 7);
	/* whole range at the end */
	rv_buf_reset(&b);
	assert_int_equal(target_get_range(f->t, "r", 0, 10, &b), 0);
	assert_int_equal(b.len, 10);
	rv_buf_release(&b);
}

static void test_dir_get_range_past_end_is_corrupt(void **state)
{
	struct fixture *f = *state;
	struct rv_buf b = RV_BUF_INIT(1 << 20);

	assert_int_equal(target_put_buf(f->t, "r", "0123456789", 10), 0);
	assert_int_equal(target_get_range(f->t, "r", 5, 6, &b), RV_CORRUPT);
	assert_int_equal(target_get_range(f->t, "r", 11, 0, &b), RV_CORRUPT);
	assert_int_equal(target_get_range(f->t, "r", UINT64_MAX, 2, &b),
			 RV_CORRUPT);
	assert_int_equal(b.len, 0);
	rv_buf_release(&b);
}

static void test_dir_get_respects_buffer_cap(void **state)
{
	struct fixture *f = *state;
	struct rv_buf b = RV_BUF_INIT(4);

	assert_int_equal(target_put_buf(f->t, "r", "0123456789", 10), 0);
	assert_int_equal(target_get(f->t, "r", &b), RV_TOOBIG);
	rv_buf_release(&b);
}

static void test_dir_absent_is_notfound(void **state)
{
	struct fixture *f = *state;
	struct rv_buf b = RV_BUF_INIT(1 << 20);
	uint64_t size;

	assert_int_equal(target_get(f->t, "nope", &b), RV_NOTFOUND);
	assert_int_equal(target_get_range(f->t, "x/y/z", 0, 1, &b),
			 RV_NOTFOUND);
	assert_int_equal(target_stat(f->t, "nope", &size), RV_NOTFOUND);
	/* a folder is not a file */
	assert_int_equal(target_put_buf(f->t, "dir/file", "x", 1), 0);
	assert_int_equal(target_stat(f->t, "dir", &size), RV_NOTFOUND);
	rv_buf_release(&b);
}

static void test_dir_put_file_copies_large_file(void **state)
{
	struct fixture *f = *state;
	struct rv_buf b = RV_BUF_INIT(8 << 20);
	size_t len = (3 << 20) + 12345;
	unsigned char *data = malloc(len);
	char src[128];
	FILE *fp;

	assert_non_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	snprintf(src, sizeof(src), "%s/src.bin", f->root);
	fp = fopen(src, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);

	assert_int_equal(target_put_file(f->t, "packs/ab/big", src), 0);
	assert_int_equal(target_get(f->t, "packs/ab/big", &b), 0);
	assert_int_equal(b.len, len);
	assert_memory_equal(b.data, data, len);
	assert_false(has_hidden(f->path));

	/* a missing source is an error and leaves nothing behind */
	snprintf(src, sizeof(src), "%s/absent.bin", f->root);
	assert_int_equal(target_put_file(f->t, "packs/ab/none", src), RV_IO);
	rv_buf_reset(&b);
	assert_int_equal(target_get(f->t, "packs/ab/none", &b), RV_NOTFOUND);
	free(data);
	rv_buf_release(&b);
}

static void test_dir_put_leaves_no_temp_file(void **state)
{
	struct fixture *f = *state;
	char name[64];

	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "snapshots/s%d", i);
		assert_int_equal(target_put_buf(f->t, name, name, strlen(name)),
				 0);
	}
	assert_int_equal(target_put_buf(f->t, "regvault.json", "{}", 2), 0);
	assert_false(has_hidden(f->path));
}

static void test_dir_refuses_bad_names(void **state)
{
	static const char *const bad[] = {
	    "../x",  "a/../b", "..",	  ".",	  "/abs", "",	   "a//b",
	    "a/./b", "a/",     ".hidden", "a/.b", "a\nb", "a\x01", "x/..",
	};
	struct fixture *f = *state;
	struct rv_buf b = RV_BUF_INIT(1024);
	struct rv_strlist names = RV_STRLIST_INIT;
	uint64_t size;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(target_put_buf(f->t, bad[i], "x", 1),
				 RV_INVALID);
		assert_int_equal(target_get(f->t, bad[i], &b), RV_INVALID);
		assert_int_equal(target_stat(f->t, bad[i], &size), RV_INVALID);
		assert_int_equal(target_del(f->t, bad[i]), RV_INVALID);
	}
	assert_int_equal(target_list(f->t, "../", &names), RV_INVALID);
	assert_int_equal(target_list(f->t, "a/../b/", &names), RV_INVALID);
	assert_int_equal(names.n, 0);
	/* "../x" did not land beside the root */
	{
		char escaped[192];
		snprintf(escaped, sizeof(escaped), "%s/t1/x", f->root);
		assert_int_not_equal(access(escaped, F_OK), 0);
	}
	rv_buf_release(&b);
}

static void test_dir_list_is_recursive_and_skips_temp_files(void **state)
{
	struct fixture *f = *state;
	struct rv_strlist names = RV_STRLIST_INIT;
	char tmp[256];
	FILE *fp;

	assert_int_equal(target_put_buf(f->t, "packs/ab/ab01", "1", 1), 0);
	assert_int_equal(target_put_buf(f->t, "packs/ab/ab02", "2", 1), 0);
	assert_int_equal(target_put_buf(f->t, "packs/cd/cd03", "3", 1), 0);
	assert_int_equal(target_put_buf(f->t, "keys/k1", "k", 1), 0);
	assert_int_equal(target_put_buf(f->t, "regvault.json", "{}", 2), 0);
	/* a temporary file left by a crash */
	snprintf(tmp, sizeof(tmp), "%s/packs/ab/.ab03.XXXXXX", f->path);
	fp = fopen(tmp, "w");
	assert_non_null(fp);
	fclose(fp);

	assert_int_equal(target_list(f->t, "packs/", &names), 0);
	assert_int_equal(names.n, 3);
	assert_string_equal(names.items[0], "packs/ab/ab01");
	assert_string_equal(names.items[1], "packs/ab/ab02");
	assert_string_equal(names.items[2], "packs/cd/cd03");
	rv_strlist_release(&names);

	assert_int_equal(target_list(f->t, "", &names), 0);
	assert_int_equal(names.n, 5);
	assert_true(rv_strlist_has(&names, "regvault.json"));
	assert_true(rv_strlist_has(&names, "keys/k1"));
	rv_strlist_release(&names);

	assert_int_equal(target_list(f->t, "packs/a", &names), 0);
	assert_int_equal(names.n, 2);
	rv_strlist_release(&names);

	assert_int_equal(target_list(f->t, "packs/cd/", &names), 0);
	assert_int_equal(names.n, 1);
	assert_string_equal(names.items[0], "packs/cd/cd03");
	rv_strlist_release(&names);

	assert_int_equal(target_list(f->t, "snapshots/", &names), 0);
	assert_int_equal(names.n, 0);
	rv_strlist_release(&names);
}

static void test_dir_del_removes_and_absent_is_ok(void **state)
{
	struct fixture *f = *state;
	uint64_t size;

	assert_int_equal(target_put_buf(f->t, "snapshots/s1", "s", 1), 0);
	assert_int_equal(target_del(f->t, "snapshots/s1"), 0);
	assert_int_equal(target_stat(f->t, "snapshots/s1", &size), RV_NOTFOUND);
	assert_int_equal(target_del(f->t, "snapshots/s1"), 0);
	assert_int_equal(target_del(f->t, "no/such/folder/file"), 0);
}

static void test_dir_open_missing_folder_without_create(void **state)
{
	struct fixture *f = *state;
	struct target *t = NULL;
	char path[192];

	snprintf(path, sizeof(path), "%s/absent", f->root);
	assert_int_equal(target_dir_open(&t, "x", path, 0), RV_NOTFOUND);
	assert_null(t);
	snprintf(path, sizeof(path), "%s/", f->path);
	assert_int_equal(target_dir_open(&t, "same", path, 0), 0);
	assert_string_equal(t->name, "same");
	target_free(t);
	target_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_dir_put_get_round_trip),
	    T(test_dir_get_range_reads_exact_bytes),
	    T(test_dir_get_range_past_end_is_corrupt),
	    T(test_dir_get_respects_buffer_cap),
	    T(test_dir_absent_is_notfound),
	    T(test_dir_put_file_copies_large_file),
	    T(test_dir_put_leaves_no_temp_file),
	    T(test_dir_refuses_bad_names),
	    T(test_dir_list_is_recursive_and_skips_temp_files),
	    T(test_dir_del_removes_and_absent_is_ok),
	    T(test_dir_open_missing_folder_without_create),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
