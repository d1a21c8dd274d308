/* test_catalog_referrers.c - referrers recorded per snapshot (schema v5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "catalog/catalog.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PACK_A                                                                 \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SNAP_1                                                                 \
	"1111111111111111111111111111111111111111111111111111111111111111"
#define SNAP_2                                                                 \
	"2222222222222222222222222222222222222222222222222222222222222222"

struct fx {
	char dir[64];
	char path[128];
	struct cat *c;
	char image[RV_DIGEST_MAX];  /* the subject */
	char sig[RV_DIGEST_MAX];    /* a signature manifest */
	char sbom[RV_DIGEST_MAX];   /* an SBOM manifest */
	char absent[RV_DIGEST_MAX]; /* never recorded */
};

static void add_manifest(struct cat *c, const char *digest)
{
	unsigned char id[32];

	memset(id, 0x5a, sizeof(id));
	assert_int_equal(
	    cat_blob_add(c, digest, 1, (const unsigned char(*)[32])id, 1), 0);
	assert_int_equal(cat_manifest_add(c, digest,
					  "application/vnd.oci.image.manifest."
					  "v1+json",
					  1, NULL, 0),
			 0);
}

static void add_snapshot(struct cat *c, const char *id, int64_t t)
{
	struct cat_snapshot s;

	memset(&s, 0, sizeof(s));
	snprintf(s.id, sizeof(s.id), "%s", id);
	s.time = t;
	snprintf(s.source, sizeof(s.source), "src");
	snprintf(s.url, sizeof(s.url), "http://127.0.0.1:5000");
	assert_int_equal(cat_snapshot_add(c, &s), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	unsigned char id[32];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rv-refstest-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/catalog.db", f->dir);
	assert_int_equal(cat_open(&f->c, f->path), 0);
	assert_int_equal(rv_digest_of(f->image, "image", 5), 0);
	assert_int_equal(rv_digest_of(f->sig, "sig", 3), 0);
	assert_int_equal(rv_digest_of(f->sbom, "sbom", 4), 0);
	assert_int_equal(rv_digest_of(f->absent, "absent", 6), 0);
	memset(id, 0x5a, sizeof(id));
	assert_int_equal(cat_begin(f->c), 0);
	assert_int_equal(cat_pack_add(f->c, PACK_A, 100, 1), 0);
	assert_int_equal(cat_chunk_add(f->c, id, PACK_A, 0, 30, 1), 0);
	add_manifest(f->c, f->image);
	add_manifest(f->c, f->sig);
	add_manifest(f->c, f->sbom);
	add_snapshot(f->c, SNAP_1, 100);
	add_snapshot(f->c, SNAP_2, 200);
	assert_int_equal(cat_commit(f->c), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	const char *suffixes[] = {"", "-wal", "-shm"};
	char name[160];

	cat_close(f->c);
	for (size_t i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%s%s", f->path, suffixes[i]);
		unlink(name);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

struct seen {
	char lines[8][300];
	size_t n;
	size_t stop_after; /* 0: never */
};

static int collect(void *arg, const char *repo, const char *subject,
		   const char *manifest)
{
	struct seen *s = arg;

	assert_true(s->n < 8);
	snprintf(s->lines[s->n], sizeof(s->lines[0]), "%s %s %s", repo, subject,
		 manifest);
	s->n++;
	if (s->stop_after && s->n == s->stop_after)
		return 7;
	return 0;
}

static void line(char *out, size_t cap, const char *repo, const char *subject,
		 const char *manifest)
{
	snprintf(out, cap, "%s %s %s", repo, subject, manifest);
}

static void test_referrers_listed_in_order_per_snapshot(void **state)
{
	struct fx *f = *state;
	struct seen s;
	char want[300];
	/* the smaller of the two digests comes first */
	const char *first = strcmp(f->sig, f->sbom) < 0 ? f->sig : f->sbom;
	const char *second = first == f->sig ? f->sbom : f->sig;

	assert_int_equal(cat_begin(f->c), 0);
	assert_int_equal(cat_snapshot_referrer_add(f->c, SNAP_1, "team/app",
						   f->image, second),
			 0);
	assert_int_equal(cat_snapshot_referrer_add(f->c, SNAP_1, "team/app",
						   f->image, first),
			 0);
	assert_int_equal(cat_snapshot_referrer_add(f->c, SNAP_1, "a/first",
						   f->image, f->sig),
			 0);
	assert_int_equal(cat_snapshot_referrer_add(f->c, SNAP_2, "team/app",
						   f->image, f->sig),
			 0);
	assert_int_equal(cat_commit(f->c), 0);

	memset(&s, 0, sizeof(s));
	assert_int_equal(cat_snapshot_referrers(f->c, SNAP_1, collect, &s), 0);
	assert_int_equal(s.n, 3);
	line(want, sizeof(want), "a/first", f->image, f->sig);
	assert_string_equal(s.lines[0], want);
	line(want, sizeof(want), "team/app", f->image, first);
	assert_string_equal(s.lines[1], want);
	line(want, sizeof(want), "team/app", f->image, second);
	assert_string_equal(s.lines[2], want);

	memset(&s, 0, sizeof(s));
	assert_int_equal(cat_snapshot_referrers(f->c, SNAP_2, collect, &s), 0);
	assert_int_equal(s.n, 1);
}

static void test_referrer_added_twice_is_kept_once(void **state)
{
	struct fx *f = *state;
	struct seen s;

	for (int i = 0; i < 2; i++)
		assert_int_equal(cat_snapshot_referrer_add(f->c, SNAP_1, "r",
							   f->image, f->sig),
				 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cat_snapshot_referrers(f->c, SNAP_1, collect, &s), 0);
	assert_int_equal(s.n, 1);
}

static void test_referrer_needs_recorded_manifest(void **state)
{
	struct fx *f = *state;
	struct seen s;

	assert_int_equal(
	    cat_snapshot_referrer_add(f->c, SNAP_1, "r", f->image, f->absent),
	    RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "not recorded"));
	memset(&s, 0, sizeof(s));
	assert_int_equal(cat_snapshot_referrers(f->c, SNAP_1, collect, &s), 0);
	assert_int_equal(s.n, 0);
}

static void test_referrer_needs_recorded_snapshot(void **state)
{
	struct fx *f = *state;
	const char *unknown =
	    "3333333333333333333333333333333333333333333333333333333333333333";

	assert_int_equal(
	    cat_snapshot_referrer_add(f->c, unknown, "r", f->image, f->sig),
	    RV_INVALID);
	assert_int_equal(cat_snapshot_referrers(f->c, unknown, collect, NULL),
			 RV_NOTFOUND);
}

static void test_referrer_rejects_bad_input(void **state)
{
	struct fx *f = *state;

	assert_int_equal(
	    cat_snapshot_referrer_add(f->c, "abc", "r", f->image, f->sig),
	    RV_INVALID);
	assert_int_equal(
	    cat_snapshot_referrer_add(f->c, SNAP_1, "", f->image, f->sig),
	    RV_INVALID);
	assert_int_equal(cat_snapshot_referrer_add(f->c, SNAP_1, "r",
						   "sha256:nothex", f->sig),
			 RV_INVALID);
	assert_int_equal(
	    cat_snapshot_referrer_add(f->c, SNAP_1, "r", f->image, "md5:00"),
	    RV_INVALID);
}

static void test_referrers_callback_stops_walk(void **state)
{
	struct fx *f = *state;
	struct seen s;

	assert_int_equal(
	    cat_snapshot_referrer_add(f->c, SNAP_1, "r", f->image, f->sig), 0);
	assert_int_equal(
	    cat_snapshot_referrer_add(f->c, SNAP_1, "r", f->image, f->sbom), 0);
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	assert_int_equal(cat_snapshot_referrers(f->c, SNAP_1, collect, &s), 7);
	assert_int_equal(s.n, 1);
}

static void test_referrers_go_with_their_snapshot(void **state)
{
	struct fx *f = *state;
	struct seen s;

	assert_int_equal(
	    cat_snapshot_referrer_add(f->c, SNAP_2, "r", f->image, f->sig), 0);
	assert_int_equal(cat_begin(f->c), 0);
	assert_int_equal(cat_snapshot_del(f->c, SNAP_2), 0);
	assert_int_equal(cat_commit(f->c), 0);
	assert_int_equal(cat_snapshot_referrers(f->c, SNAP_2, collect, &s),
			 RV_NOTFOUND);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cat_snapshot_referrers(f->c, SNAP_1, collect, &s), 0);
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_referrers_listed_in_order_per_snapshot, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_referrer_added_twice_is_kept_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_referrer_needs_recorded_manifest, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_referrer_needs_recorded_snapshot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_referrer_rejects_bad_input,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_referrers_callback_stops_walk,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_referrers_go_with_their_snapshot, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
