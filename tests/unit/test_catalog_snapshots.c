/* test_catalog_snapshots.c - snapshots, their tags, find and list. */
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
/* Two ids sharing the prefix "abcd", one elsewhere. */
#define SNAP_1                                                                 \
	"abcd1111111111111111111111111111111111111111111111111111111111ff"
#define SNAP_2                                                                 \
	"abcd2222222222222222222222222222222222222222222222222222222222ff"
#define SNAP_3                                                                 \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct fx {
	char dir[64];
	char path[128];
	struct cat *c;
	char manifest_a[RV_DIGEST_MAX];
	char manifest_b[RV_DIGEST_MAX];
};

/* Two recorded manifests without children, each a one-chunk blob. */
static void add_manifests(struct fx *f)
{
	unsigned char id[32];

	memset(id, 0x5a, sizeof(id));
	assert_int_equal(rv_digest_of(f->manifest_a, "a", 1), 0);
	assert_int_equal(rv_digest_of(f->manifest_b, "b", 1), 0);
	assert_int_equal(cat_begin(f->c), 0);
	assert_int_equal(cat_pack_add(f->c, PACK_A, 100, 1), 0);
	assert_int_equal(cat_chunk_add(f->c, id, PACK_A, 0, 30, 1), 0);
	assert_int_equal(cat_blob_add(f->c, f->manifest_a, 1,
				      (const unsigned char(*)[32])id, 1),
			 0);
	assert_int_equal(cat_blob_add(f->c, f->manifest_b, 1,
				      (const unsigned char(*)[32])id, 1),
			 0);
	assert_int_equal(
	    cat_manifest_add(f->c, f->manifest_a, "a/b", 1, NULL, 0), 0);
	assert_int_equal(
	    cat_manifest_add(f->c, f->manifest_b, "a/b", 1, NULL, 0), 0);
	assert_int_equal(cat_commit(f->c), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rv-cat-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/catalog.db", f->dir);
	assert_int_equal(cat_open(&f->c, f->path), 0);
	add_manifests(f);
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

static void snap_init(struct cat_snapshot *s, const char *id, int64_t time)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->time = time;
	snprintf(s->source, sizeof(s->source), "hub");
	snprintf(s->url, sizeof(s->url), "https://registry.example:5000");
}

/* SNAP_1 at t=1000: team/api:{prod,dev}, team/web:latest.
 * SNAP_2 at t=2000: team/api:prod only. */
static void add_two_snapshots(struct fx *f)
{
	struct cat_snapshot s;

	assert_int_equal(cat_begin(f->c), 0);
	snap_init(&s, SNAP_1, 1000);
	assert_int_equal(cat_snapshot_add(f->c, &s), 0);
	/* Added out of order on purpose. */
	assert_int_equal(cat_snapshot_tag_add(f->c, SNAP_1, "team/web",
					      "latest", f->manifest_b),
			 0);
	assert_int_equal(cat_snapshot_tag_add(f->c, SNAP_1, "team/api", "prod",
					      f->manifest_a),
			 0);
	assert_int_equal(cat_snapshot_tag_add(f->c, SNAP_1, "team/api", "dev",
					      f->manifest_b),
			 0);
	assert_int_equal(cat_commit(f->c), 0);

	assert_int_equal(cat_begin(f->c), 0);
	snap_init(&s, SNAP_2, 2000);
	assert_int_equal(cat_snapshot_add(f->c, &s), 0);
	assert_int_equal(cat_snapshot_tag_add(f->c, SNAP_2, "team/api", "prod",
					      f->manifest_b),
			 0);
	assert_int_equal(cat_commit(f->c), 0);
}

static void test_catalog_snapshot_list_oldest_first_with_counts(void **state)
{
	struct fx *f = *state;
	struct cat_snapshot *list = NULL;
	size_t n = 0;

	add_two_snapshots(f);
	assert_int_equal(cat_snapshot_list(&list, &n, f->c), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].id, SNAP_1);
	assert_int_equal(list[0].time, 1000);
	assert_string_equal(list[0].source, "hub");
	assert_string_equal(list[0].url, "https://registry.example:5000");
	assert_int_equal(list[0].n_repos, 2);
	assert_int_equal(list[0].n_tags, 3);
	assert_string_equal(list[1].id, SNAP_2);
	assert_int_equal(list[1].n_repos, 1);
	assert_int_equal(list[1].n_tags, 1);
	free(list);
}

static void test_catalog_snapshot_list_empty(void **state)
{
	struct fx *f = *state;
	struct cat_snapshot *list = NULL;
	size_t n = 9;

	assert_int_equal(cat_snapshot_list(&list, &n, f->c), 0);
	assert_int_equal(n, 0);
	free(list);
}

static void test_catalog_snapshot_find_latest(void **state)
{
	struct fx *f = *state;
	struct cat_snapshot s;

	assert_int_equal(cat_snapshot_find(&s, f->c, "latest"), RV_NOTFOUND);
	add_two_snapshots(f);
	assert_int_equal(cat_snapshot_find(&s, f->c, "latest"), 0);
	assert_string_equal(s.id, SNAP_2);
	assert_int_equal(s.n_tags, 1);

	/* An older snapshot recorded later is not the latest. */
	snap_init(&s, SNAP_3, 1500);
	assert_int_equal(cat_snapshot_add(f->c, &s), 0);
	assert_int_equal(cat_snapshot_find(&s, f->c, "latest"), 0);
	assert_string_equal(s.id, SNAP_2);
}

static void test_catalog_snapshot_find_latest_ties_on_time(void **state)
{
	struct fx *f = *state;
	struct cat_snapshot s;

	snap_init(&s, SNAP_2, 5000);
	assert_int_equal(cat_snapshot_add(f->c, &s), 0);
	snap_init(&s, SNAP_1, 5000);
	assert_int_equal(cat_snapshot_add(f->c, &s), 0);
	/* Same second: the one recorded last wins. */
	assert_int_equal(cat_snapshot_find(&s, f->c, "latest"), 0);
	assert_string_equal(s.id, SNAP_1);
}

static void test_catalog_snapshot_find_full_id_and_prefix(void **state)
{
	struct fx *f = *state;
	struct cat_snapshot s;

	add_two_snapshots(f);
	assert_int_equal(cat_snapshot_find(&s, f->c, SNAP_1), 0);
	assert_string_equal(s.id, SNAP_1);
	assert_int_equal(s.time, 1000);
	assert_int_equal(s.n_repos, 2);
	assert_int_equal(cat_snapshot_find(&s, f->c, "abcd2"), 0);
	assert_string_equal(s.id, SNAP_2);
	/* Upper-case hex as copied from elsewhere works too. */
	assert_int_equal(cat_snapshot_find(&s, f->c, "ABCD1"), 0);
	assert_string_equal(s.id, SNAP_1);
}

static void test_catalog_snapshot_find_ambiguous_prefix(void **state)
{
	struct fx *f = *state;
	struct cat_snapshot s;

	add_two_snapshots(f);
	assert_int_equal(cat_snapshot_find(&s, f->c, "abcd"), RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "'abcd'"));
	assert_non_null(strstr(rv_err_msg(), "2 snapshots"));
}

static void test_catalog_snapshot_find_unknown(void **state)
{
	struct fx *f = *state;
	struct cat_snapshot s;

	add_two_snapshots(f);
	assert_int_equal(cat_snapshot_find(&s, f->c, "ffff"), RV_NOTFOUND);
	assert_string_equal(rv_err_msg(),
			    "no snapshot 'ffff'; see 'regvault snapshots'");
	assert_int_equal(cat_snapshot_find(&s, f->c, SNAP_3), RV_NOTFOUND);
	assert_int_equal(cat_snapshot_find(&s, f->c, "abc"), RV_INVALID);
	assert_int_equal(cat_snapshot_find(&s, f->c, "last-tuesday"),
			 RV_INVALID);
	assert_int_equal(cat_snapshot_find(&s, f->c, ""), RV_INVALID);
	assert_int_equal(cat_snapshot_find(&s, f->c, SNAP_1 "00"), RV_NOTFOUND);
}

struct seen {
	char lines[8][160];
	size_t n;
	int stop_after;
};

static int collect(void *arg, const char *repo, const char *tag,
		   const char *manifest_digest)
{
	struct seen *seen = arg;

	assert_true(seen->n < 8);
	snprintf(seen->lines[seen->n], sizeof(seen->lines[0]), "%s:%s@%s", repo,
		 tag, manifest_digest);
	seen->n++;
	if (seen->stop_after && (int)seen->n == seen->stop_after)
		return 7;
	return 0;
}

static void test_catalog_snapshot_tags_ordered_by_repo_then_tag(void **state)
{
	struct fx *f = *state;
	struct seen seen = {0};
	char want[160];

	add_two_snapshots(f);
	assert_int_equal(cat_snapshot_tags(f->c, SNAP_1, collect, &seen), 0);
	assert_int_equal(seen.n, 3);
	snprintf(want, sizeof(want), "team/api:dev@%s", f->manifest_b);
	assert_string_equal(seen.lines[0], want);
	snprintf(want, sizeof(want), "team/api:prod@%s", f->manifest_a);
	assert_string_equal(seen.lines[1], want);
	snprintf(want, sizeof(want), "team/web:latest@%s", f->manifest_b);
	assert_string_equal(seen.lines[2], want);
}

static void test_catalog_snapshot_tags_stops_early(void **state)
{
	struct fx *f = *state;
	struct seen seen = {0};

	add_two_snapshots(f);
	seen.stop_after = 2;
	assert_int_equal(cat_snapshot_tags(f->c, SNAP_1, collect, &seen), 7);
	assert_int_equal(seen.n, 2);
}

struct nested {
	struct cat *c;
	size_t outer, inner;
};

static int count_inner(void *arg, const char *repo, const char *tag,
		       const char *manifest_digest)
{
	struct nested *nested = arg;

	(void)repo;
	(void)tag;
	(void)manifest_digest;
	nested->inner++;
	return 0;
}

static int walk_other(void *arg, const char *repo, const char *tag,
		      const char *manifest_digest)
{
	struct nested *nested = arg;

	(void)repo;
	(void)tag;
	(void)manifest_digest;
	nested->outer++;
	return cat_snapshot_tags(nested->c, SNAP_2, count_inner, nested);
}

static void test_catalog_snapshot_tags_callback_may_use_catalog(void **state)
{
	struct fx *f = *state;
	struct nested nested = {f->c, 0, 0};

	add_two_snapshots(f);
	assert_int_equal(cat_snapshot_tags(f->c, SNAP_1, walk_other, &nested),
			 0);
	assert_int_equal(nested.outer, 3);
	assert_int_equal(nested.inner, 3);
}

static void test_catalog_snapshot_tags_unknown_snapshot(void **state)
{
	struct fx *f = *state;
	struct seen seen = {0};

	assert_int_equal(cat_snapshot_tags(f->c, SNAP_3, collect, &seen),
			 RV_NOTFOUND);
	assert_int_equal(seen.n, 0);
	assert_int_equal(cat_snapshot_tags(f->c, "abcd", collect, &seen),
			 RV_INVALID);
}

static void test_catalog_snapshot_tag_refuses_unknown_manifest(void **state)
{
	struct fx *f = *state;
	struct cat_snapshot s;
	char missing[RV_DIGEST_MAX];

	assert_int_equal(rv_digest_of(missing, "c", 1), 0);
	snap_init(&s, SNAP_1, 1000);
	assert_int_equal(cat_snapshot_add(f->c, &s), 0);
	assert_int_equal(cat_snapshot_tag_add(f->c, SNAP_1, "r", "t", missing),
			 RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), missing));
	assert_int_equal(
	    cat_snapshot_tag_add(f->c, SNAP_3, "r", "t", f->manifest_a),
	    RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), SNAP_3));
	assert_int_equal(cat_snapshot_find(&s, f->c, SNAP_1), 0);
	assert_int_equal(s.n_tags, 0);
}

static void test_catalog_snapshot_add_twice(void **state)
{
	struct fx *f = *state;
	struct cat_snapshot s;
	struct cat_stats stats;

	snap_init(&s, SNAP_1, 1000);
	assert_int_equal(cat_snapshot_add(f->c, &s), 0);
	assert_int_equal(
	    cat_snapshot_tag_add(f->c, SNAP_1, "r", "t", f->manifest_a), 0);
	/* The same record again is fine (a retried commit) ... */
	assert_int_equal(cat_snapshot_add(f->c, &s), 0);
	assert_int_equal(
	    cat_snapshot_tag_add(f->c, SNAP_1, "r", "t", f->manifest_a), 0);
	/* ... a different one under the same id is not. */
	assert_int_equal(
	    cat_snapshot_tag_add(f->c, SNAP_1, "r", "t", f->manifest_b),
	    RV_INVALID);
	s.time = 1001;
	assert_int_equal(cat_snapshot_add(f->c, &s), RV_INVALID);
	assert_int_equal(cat_stats_get(&stats, f->c), 0);
	assert_int_equal(stats.snapshots, 1);
}

static void test_catalog_snapshot_add_validates_id(void **state)
{
	struct fx *f = *state;
	struct cat_snapshot s;

	snap_init(&s, "ABCD", 1);
	assert_int_equal(cat_snapshot_add(f->c, &s), RV_INVALID);
	snap_init(&s, SNAP_1, 1);
	s.source[0] = '\0';
	assert_int_equal(cat_snapshot_add(f->c, &s), RV_INVALID);
}

static void test_catalog_snapshot_rollback_leaves_nothing(void **state)
{
	struct fx *f = *state;
	struct cat_snapshot s;
	struct cat_snapshot *list = NULL;
	size_t n = 0;

	assert_int_equal(cat_begin(f->c), 0);
	snap_init(&s, SNAP_1, 1000);
	assert_int_equal(cat_snapshot_add(f->c, &s), 0);
	assert_int_equal(
	    cat_snapshot_tag_add(f->c, SNAP_1, "r", "t", f->manifest_a), 0);
	cat_rollback(f->c);
	assert_int_equal(cat_snapshot_list(&list, &n, f->c), 0);
	assert_int_equal(n, 0);
	free(list);
	assert_int_equal(cat_snapshot_find(&s, f->c, "latest"), RV_NOTFOUND);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_catalog_snapshot_list_oldest_first_with_counts),
	    T(test_catalog_snapshot_list_empty),
	    T(test_catalog_snapshot_find_latest),
	    T(test_catalog_snapshot_find_latest_ties_on_time),
	    T(test_catalog_snapshot_find_full_id_and_prefix),
	    T(test_catalog_snapshot_find_ambiguous_prefix),
	    T(test_catalog_snapshot_find_unknown),
	    T(test_catalog_snapshot_tags_ordered_by_repo_then_tag),
	    T(test_catalog_snapshot_tags_stops_early),
	    T(test_catalog_snapshot_tags_callback_may_use_catalog),
	    T(test_catalog_snapshot_tags_unknown_snapshot),
	    T(test_catalog_snapshot_tag_refuses_unknown_manifest),
	    T(test_catalog_snapshot_add_twice),
	    T(test_catalog_snapshot_add_validates_id),
	    T(test_catalog_snapshot_rollback_leaves_nothing),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
