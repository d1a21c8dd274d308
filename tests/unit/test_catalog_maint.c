/* test_catalog_maint.c - what rebuild, repair and adoption ask of the
 * catalog: pack lookup and listing with locations, removing and verifying
 * locations, the snapshots a pack's loss breaks, checkpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "catalog/catalog.h"
#include "catalog/internal.h"
#include "util/err.h"
#include "util/strlist.h"

#include <sqlite3.h>
#include <stdio.h>
#include "catalog_fixture.h"

static int64_t verified_at(struct cat *c, const char *pack_id,
			   const char *target)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	assert_int_equal(
	    sqlite3_prepare_v2(c->db,
			       "SELECT coalesce(l.verified_at, 0) "
			       "FROM pack_locations l "
			       "JOIN packs p ON p.id = l.pack "
			       "JOIN targets t ON t.id = l.target "
			       "WHERE p.pack_id = ?1 AND t.name = ?2",
			       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, pack_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_pack_has_reports_recorded_packs_only(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cat_pack_has(f->c, PACK_A), 0);
	add_pack(f->c, PACK_A, 1, "local", NULL);
	assert_int_equal(cat_pack_has(f->c, PACK_A), 1);
	assert_int_equal(cat_pack_has(f->c, PACK_B), 0);
	assert_int_equal(cat_pack_has(f->c, "abc"), RV_INVALID);
	assert_int_equal(cat_pack_has(f->c, NULL), RV_INVALID);
}

static void test_pack_list_of_empty_catalog_is_empty(void **state)
{
	struct fx *f = *state;
	struct cat_pack *packs = (struct cat_pack *)1;
	size_t n = 99;

	assert_int_equal(cat_pack_list(&packs, &n, f->c), 0);
	assert_null(packs);
	assert_int_equal(n, 0);
	cat_pack_list_free(packs, n);
}

static void test_pack_list_gives_every_pack_with_sorted_locations(void **state)
{
	struct fx *f = *state;
	struct cat_pack *packs = NULL;
	size_t n = 0;

	add_pack(f->c, PACK_B, 2, "second", "local");
	add_pack(f->c, PACK_C, 3, NULL, NULL);
	add_pack(f->c, PACK_A, 1, "local", NULL);
	assert_int_equal(cat_pack_list(&packs, &n, f->c), 0);
	assert_int_equal(n, 3);
	assert_string_equal(packs[0].pack_id, PACK_A);
	assert_int_equal(packs[0].size, 1001);
	assert_int_equal(packs[0].created, 1700000000);
	assert_int_equal(packs[0].targets.n, 1);
	assert_string_equal(packs[0].targets.items[0], "local");
	assert_string_equal(packs[1].pack_id, PACK_B);
	assert_int_equal(packs[1].targets.n, 2);
	assert_string_equal(packs[1].targets.items[0], "local");
	assert_string_equal(packs[1].targets.items[1], "second");
	assert_string_equal(packs[2].pack_id, PACK_C);
	assert_int_equal(packs[2].targets.n, 0);
	cat_pack_list_free(packs, n);
}

static void test_pack_location_del_removes_only_that_target(void **state)
{
	struct fx *f = *state;
	struct cat_pack *packs = NULL;
	size_t n = 0;

	add_pack(f->c, PACK_A, 1, "local", "second");
	assert_int_equal(cat_pack_location_del(f->c, PACK_A, "second"), 0);
	/* absent rows, unknown targets and unknown packs are no error */
	assert_int_equal(cat_pack_location_del(f->c, PACK_A, "second"), 0);
	assert_int_equal(cat_pack_location_del(f->c, PACK_A, "nowhere"), 0);
	assert_int_equal(cat_pack_location_del(f->c, PACK_B, "local"), 0);
	assert_int_equal(cat_pack_list(&packs, &n, f->c), 0);
	assert_int_equal(n, 1);
	assert_int_equal(packs[0].targets.n, 1);
	assert_string_equal(packs[0].targets.items[0], "local");
	cat_pack_list_free(packs, n);
	/* the pack row and its chunks stay */
	assert_int_equal(cat_pack_has(f->c, PACK_A), 1);
	assert_int_equal(cat_pack_location_del(f->c, "zz", "local"),
			 RV_INVALID);
	assert_int_equal(cat_pack_location_del(f->c, PACK_A, ""), RV_INVALID);
}

static void test_pack_location_verified_sets_time_of_that_copy(void **state)
{
	struct fx *f = *state;

	add_pack(f->c, PACK_A, 1, "local", "second");
	assert_int_equal(verified_at(f->c, PACK_A, "local"), 0);
	assert_int_equal(
	    cat_pack_location_verified(f->c, PACK_A, "local", 1700001234), 0);
	assert_int_equal(verified_at(f->c, PACK_A, "local"), 1700001234);
	assert_int_equal(verified_at(f->c, PACK_A, "second"), 0);
	assert_int_equal(cat_pack_location_verified(f->c, PACK_A, "nowhere", 1),
			 RV_NOTFOUND);
	assert_int_equal(cat_pack_location_verified(f->c, PACK_B, "local", 1),
			 RV_NOTFOUND);
}

/* Snapshot 1 tags an index whose child image uses a layer in pack A;
 * snapshot 2 tags an image whose bytes are in pack B. */
static void add_two_snapshots(struct cat *c, char layer[RV_DIGEST_MAX])
{
	char image[RV_DIGEST_MAX], index[RV_DIGEST_MAX], image2[RV_DIGEST_MAX];
	char config[RV_DIGEST_MAX];
	struct cat_ref refs[2];
	struct cat_snapshot s;

	digest_of(layer, "layer");
	digest_of(config, "config");
	digest_of(image, "image");
	digest_of(index, "index");
	digest_of(image2, "image2");
	add_pack(c, PACK_A, 1, "local", NULL);
	add_pack(c, PACK_B, 2, "local", NULL);
	add_pack(c, PACK_C, 3, "local", NULL);
	add_blob(c, layer, 1);	/* pack A */
	add_blob(c, image2, 2); /* pack B */
	add_blob(c, config, 3); /* pack C */
	add_blob(c, image, 3);
	add_blob(c, index, 3);
	ref_to(&refs[0], config, 0);
	ref_to(&refs[1], layer, 0);
	assert_int_equal(
	    cat_manifest_add(c, image, refs[0].media_type, 10, refs, 2), 0);
	ref_to(&refs[0], image, 1);
	assert_int_equal(
	    cat_manifest_add(c, index,
			     "application/vnd.oci.image.index.v1+json", 10,
			     refs, 1),
	    0);
	ref_to(&refs[0], config, 0);
	assert_int_equal(
	    cat_manifest_add(c, image2, refs[0].media_type, 10, refs, 1), 0);

	memset(&s, 0, sizeof(s));
	snprintf(s.source, sizeof(s.source), "src");
	assert_int_equal(cat_begin(c), 0);
	snprintf(s.id, sizeof(s.id), SNAP_1);
	s.time = 1700000000;
	assert_int_equal(cat_snapshot_add(c, &s), 0);
	assert_int_equal(cat_snapshot_tag_add(c, SNAP_1, "app", "multi", index),
			 0);
	snprintf(s.id, sizeof(s.id), SNAP_2);
	s.time = 1700000100;
	assert_int_equal(cat_snapshot_add(c, &s), 0);
	assert_int_equal(cat_snapshot_tag_add(c, SNAP_2, "app", "one", image2),
			 0);
	assert_int_equal(cat_commit(c), 0);
}

static void test_pack_snapshots_follows_index_children_to_tags(void **state)
{
	struct fx *f = *state;
	struct rv_strlist ids = RV_STRLIST_INIT;
	char layer[RV_DIGEST_MAX];

	add_two_snapshots(f->c, layer);
	/* a layer through an image through an index */
	assert_int_equal(cat_pack_snapshots(&ids, f->c, PACK_A), 0);
	assert_int_equal(ids.n, 1);
	assert_string_equal(ids.items[0], SNAP_1);
	rv_strlist_release(&ids);
	/* the manifest's own bytes */
	assert_int_equal(cat_pack_snapshots(&ids, f->c, PACK_B), 0);
	assert_int_equal(ids.n, 1);
	assert_string_equal(ids.items[0], SNAP_2);
	rv_strlist_release(&ids);
	/* a config both images use, and the bytes of image and index */
	assert_int_equal(cat_pack_snapshots(&ids, f->c, PACK_C), 0);
	assert_int_equal(ids.n, 2);
	assert_string_equal(ids.items[0], SNAP_1);
	assert_string_equal(ids.items[1], SNAP_2);
	/* appending again adds nothing twice */
	assert_int_equal(cat_pack_snapshots(&ids, f->c, PACK_A), 0);
	assert_int_equal(ids.n, 2);
	rv_strlist_release(&ids);
}

static void test_pack_snapshots_of_unused_pack_is_empty(void **state)
{
	struct fx *f = *state;
	struct rv_strlist ids = RV_STRLIST_INIT;
	char layer[RV_DIGEST_MAX];
	const char *unused =
	    "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";

	add_two_snapshots(f->c, layer);
	add_pack(f->c, unused, 9, "local", NULL);
	assert_int_equal(cat_pack_snapshots(&ids, f->c, unused), 0);
	assert_int_equal(ids.n, 0);
	assert_int_equal(cat_pack_snapshots(&ids, f->c, "nope"), RV_INVALID);
	rv_strlist_release(&ids);
}

static void test_checkpoint_empties_the_log(void **state)
{
	struct fx *f = *state;
	char wal[160];
	struct stat sb;

	add_pack(f->c, PACK_A, 1, "local", NULL);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_true(sb.st_size > 0);
	assert_int_equal(cat_checkpoint(f->c), 0);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(cat_begin(f->c), 0);
	assert_int_equal(cat_checkpoint(f->c), RV_INVALID);
	cat_rollback(f->c);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_pack_has_reports_recorded_packs_only),
	    T(test_pack_list_of_empty_catalog_is_empty),
	    T(test_pack_list_gives_every_pack_with_sorted_locations),
	    T(test_pack_location_del_removes_only_that_target),
	    T(test_pack_location_verified_sets_time_of_that_copy),
	    T(test_pack_snapshots_follows_index_children_to_tags),
	    T(test_pack_snapshots_of_unused_pack_is_empty),
	    T(test_checkpoint_empties_the_log),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
