/* test_catalog_prune.c - what forget and prune ask of the catalog: the
 * live sets, moving chunks, dropping what nothing needs, the queue of
 * copies to delete. */
#include "catalog/catalog.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/strlist.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "catalog_fixture.h"

/* Chunks: 1 = image 1's layer, 2 = image 1's manifest bytes, 3 = image
 * 2's layer, 4 = image 2's manifest bytes, 5 = a config both images use.
 * Pack A holds 1, 2 and 5; pack B holds 3 and 4. Snapshot 1 tags image 1,
 * snapshot 2 tags image 2. */
struct world {
	char layer[RV_DIGEST_MAX], layer2[RV_DIGEST_MAX], config[RV_DIGEST_MAX];
	char img1[RV_DIGEST_MAX], img2[RV_DIGEST_MAX];
};

static void chunk_in(struct cat *c, const char *pack, unsigned n, uint64_t off,
		     uint32_t len)
{
	unsigned char id[32];

	chunk_id(id, n);
	assert_int_equal(cat_chunk_add(c, id, pack, off, len, 10), 0);
}

static void build(struct cat *c, struct world *w)
{
	struct cat_ref refs[2];
	struct cat_snapshot s;

	digest_of(w->layer, "layer");
	digest_of(w->layer2, "layer2");
	digest_of(w->config, "config");
	digest_of(w->img1, "img1");
	digest_of(w->img2, "img2");
	assert_int_equal(cat_begin(c), 0);
	assert_int_equal(cat_pack_add(c, PACK_A, 3000, 1700000000), 0);
	assert_int_equal(cat_pack_location_add(c, PACK_A, "local"), 0);
	assert_int_equal(cat_pack_location_add(c, PACK_A, "offsite"), 0);
	chunk_in(c, PACK_A, 1, 512, 1000);
	chunk_in(c, PACK_A, 2, 2048, 100);
	chunk_in(c, PACK_A, 5, 2560, 100);
	assert_int_equal(cat_pack_add(c, PACK_B, 2000, 1700000000), 0);
	assert_int_equal(cat_pack_location_add(c, PACK_B, "local"), 0);
	chunk_in(c, PACK_B, 3, 512, 1000);
	chunk_in(c, PACK_B, 4, 2048, 100);
	add_blob(c, w->layer, 1);
	add_blob(c, w->img1, 2);
	add_blob(c, w->config, 5);
	add_blob(c, w->layer2, 3);
	add_blob(c, w->img2, 4);
	assert_int_equal(cat_blob_entry_set(c, w->layer, PACK_A, 0), 0);
	assert_int_equal(cat_blob_entry_set(c, w->img1, PACK_A, 0), 0);
	assert_int_equal(cat_blob_entry_set(c, w->config, PACK_A, 0), 0);
	assert_int_equal(cat_blob_entry_set(c, w->layer2, PACK_B, 0), 0);
	assert_int_equal(cat_blob_entry_set(c, w->img2, PACK_B, 0), 0);
	ref_to(&refs[0], w->config, 0);
	ref_to(&refs[1], w->layer, 0);
	assert_int_equal(cat_manifest_add(c, w->img1,
					  "application/vnd.oci.image.manifest."
					  "v1+json",
					  10, refs, 2),
			 0);
	ref_to(&refs[1], w->layer2, 0);
	assert_int_equal(cat_manifest_add(c, w->img2,
					  "application/vnd.oci.image.manifest."
					  "v1+json",
					  10, refs, 2),
			 0);
	memset(&s, 0, sizeof(s));
	snprintf(s.source, sizeof(s.source), "src");
	snprintf(s.id, sizeof(s.id), SNAP_1);
	s.time = 1700000000;
	assert_int_equal(cat_snapshot_add(c, &s), 0);
	assert_int_equal(cat_snapshot_tag_add(c, SNAP_1, "app", "v1", w->img1),
			 0);
	snprintf(s.id, sizeof(s.id), SNAP_2);
	s.time = 1700086400;
	assert_int_equal(cat_snapshot_add(c, &s), 0);
	assert_int_equal(cat_snapshot_tag_add(c, SNAP_2, "app", "v2", w->img2),
			 0);
	assert_int_equal(cat_commit(c), 0);
}

static const struct cat_prune_pack *find(const struct cat_prune_pack *p,
					 size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(p[i].pack_id, id))
			return &p[i];
	fail_msg("pack %s not in the plan", id);
	return NULL;
}

static void test_everything_is_live_while_both_snapshots_exist(void **state)
{
	struct fx *f = *state;
	struct world w;
	struct cat_prune_pack *p = NULL;
	size_t n = 0;
	uint64_t unknown = 99;

	build(f->c, &w);
	assert_int_equal(cat_prune_plan(&p, &n, &unknown, f->c), 0);
	assert_int_equal(n, 2);
	assert_int_equal(unknown, 0);
	assert_int_equal(find(p, n, PACK_A)->n_live, 3);
	assert_int_equal(find(p, n, PACK_A)->live_bytes, 1200);
	assert_int_equal(find(p, n, PACK_A)->entries, 3);
	assert_int_equal(find(p, n, PACK_B)->n_live, 2);
	free(p);
	cat_prune_end(f->c);
}

static void test_forgetting_a_snapshot_leaves_its_unique_data_dead(void **state)
{
	struct fx *f = *state;
	struct world w;
	struct cat_prune_pack *p = NULL;
	struct cat_chunk_loc *live = NULL;
	struct rv_strlist entries = RV_STRLIST_INIT;
	size_t n = 0, n_live = 0;
	uint64_t unknown = 0, m = 0, b = 0;
	unsigned char one[32];

	build(f->c, &w);
	assert_int_equal(cat_snapshot_del(f->c, SNAP_1), 0);
	assert_int_equal(cat_snapshot_del(f->c, SNAP_1), RV_NOTFOUND);
	assert_int_equal(cat_prune_plan(&p, &n, &unknown, f->c), 0);
	/* pack A: only the config (chunk 5) is still needed by image 2 */
	assert_int_equal(find(p, n, PACK_A)->n_chunks, 3);
	assert_int_equal(find(p, n, PACK_A)->n_live, 1);
	assert_int_equal(find(p, n, PACK_A)->bytes, 1200);
	assert_int_equal(find(p, n, PACK_A)->live_bytes, 100);
	assert_int_equal(find(p, n, PACK_A)->entries, 1);
	assert_int_equal(find(p, n, PACK_B)->n_live, 2);
	assert_int_equal(cat_prune_live_chunks(&live, &n_live, f->c, PACK_A),
			 0);
	assert_int_equal(n_live, 1);
	assert_int_equal(live[0].offset, 2560);
	assert_int_equal(cat_prune_entries(&entries, f->c, PACK_A), 0);
	assert_int_equal(entries.n, 1);
	assert_string_equal(entries.items[0], w.config);
	assert_int_equal(cat_prune_blob_live(f->c, w.config), 1);
	assert_int_equal(cat_prune_blob_live(f->c, w.layer), 0);

	/* dropping pack A now must fail: the config still lives there */
	assert_int_equal(cat_begin(f->c), 0);
	assert_int_equal(cat_prune_drop_dead(&m, &b, f->c), 0);
	assert_int_equal(m, 1); /* image 1 */
	assert_int_equal(b, 2); /* its bytes and its layer */
	assert_int_equal(cat_pack_drop(f->c, PACK_A, 1800000000), RV_INVALID);
	cat_rollback(f->c);

	/* move the config into pack C, then pack A can go */
	assert_int_equal(cat_begin(f->c), 0);
	assert_int_equal(cat_pack_add(f->c, PACK_C, 700, 1800000000), 0);
	assert_int_equal(cat_pack_location_add(f->c, PACK_C, "local"), 0);
	assert_int_equal(cat_chunk_move(f->c, live[0].id, PACK_C, 512, 100), 0);
	assert_int_equal(cat_blob_entry_set(f->c, w.config, PACK_C, 1), 0);
	assert_int_equal(cat_prune_drop_dead(&m, &b, f->c), 0);
	assert_int_equal(cat_pack_drop(f->c, PACK_A, 1800000000), 0);
	assert_int_equal(cat_commit(f->c), 0);
	cat_prune_end(f->c);

	assert_int_equal(cat_pack_has(f->c, PACK_A), 0);
	chunk_id(one, 1);
	assert_int_equal(cat_chunk_has(f->c, one), 0);
	assert_int_equal(cat_blob_has(f->c, w.img2), 1);
	assert_int_equal(cat_blob_has(f->c, w.img1), 0);
	assert_int_equal(cat_manifest_has(f->c, w.img1), 0);
	assert_int_equal(cat_manifest_has(f->c, w.img2), 1);
	free(live);
	free(p);
	rv_strlist_release(&entries);
}

static void test_dropped_pack_is_queued_for_every_target(void **state)
{
	struct fx *f = *state;
	struct world w;
	struct cat_prune_pack *p = NULL;
	struct cat_pending *q = NULL;
	size_t n = 0, nq = 0;
	uint64_t unknown = 0, m = 0, b = 0;

	build(f->c, &w);
	assert_int_equal(cat_snapshot_del(f->c, SNAP_2), 0);
	assert_int_equal(cat_prune_plan(&p, &n, &unknown, f->c), 0);
	assert_int_equal(find(p, n, PACK_B)->n_live, 0);
	assert_int_equal(cat_begin(f->c), 0);
	assert_int_equal(cat_prune_drop_dead(&m, &b, f->c), 0);
	assert_int_equal(cat_pack_drop(f->c, PACK_B, 1800000000), 0);
	assert_int_equal(cat_commit(f->c), 0);
	cat_prune_end(f->c);
	/* B was recorded only on "local", but every known target is queued */
	assert_int_equal(cat_pending_list(&q, &nq, f->c), 0);
	assert_int_equal(nq, 2);
	assert_string_equal(q[0].pack_id, PACK_B);
	assert_string_equal(q[0].target, "local");
	assert_string_equal(q[1].target, "offsite");
	assert_int_equal(q[0].size, 2000);
	assert_int_equal(cat_pending_has(f->c, PACK_B), 1);
	assert_int_equal(cat_pending_has(f->c, PACK_A), 0);
	assert_int_equal(cat_pending_done(f->c, PACK_B, "offsite", 0,
					  "retained by Object Lock"),
			 0);
	assert_int_equal(cat_pending_done(f->c, PACK_B, "local", 1, NULL), 0);
	free(q);
	assert_int_equal(cat_pending_list(&q, &nq, f->c), 0);
	assert_int_equal(nq, 1);
	assert_string_equal(q[0].why, "retained by Object Lock");
	free(q);
	free(p);
}

static void test_entry_pack_keeps_the_first_unless_replaced(void **state)
{
	struct fx *f = *state;
	struct world w;
	struct rv_strlist e = RV_STRLIST_INIT;
	struct cat_prune_pack *p = NULL;
	size_t n = 0;
	uint64_t unknown = 0;

	build(f->c, &w);
	/* a second sighting (rebuild) does not move it */
	assert_int_equal(cat_blob_entry_set(f->c, w.layer, PACK_B, 0), 0);
	assert_int_equal(cat_prune_plan(&p, &n, &unknown, f->c), 0);
	assert_int_equal(cat_prune_entries(&e, f->c, PACK_A), 0);
	assert_true(rv_strlist_has(&e, w.layer));
	rv_strlist_release(&e);
	free(p);
	assert_int_equal(cat_blob_entry_set(f->c, w.layer, PACK_B, 1), 0);
	assert_int_equal(cat_prune_plan(&p, &n, &unknown, f->c), 0);
	assert_int_equal(cat_prune_entries(&e, f->c, PACK_B), 0);
	assert_true(rv_strlist_has(&e, w.layer));
	assert_int_equal(cat_blob_entry_set(f->c, w.layer, PACK_C, 1),
			 RV_NOTFOUND);
	rv_strlist_release(&e);
	free(p);
	cat_prune_end(f->c);
}

static void test_media_type_tells_manifests_from_blobs(void **state)
{
	struct fx *f = *state;
	struct world w;
	char *mt = NULL;

	build(f->c, &w);
	assert_int_equal(cat_manifest_media_type(&mt, f->c, w.img1), 0);
	assert_string_equal(mt, "application/vnd.oci.image.manifest.v1+json");
	free(mt);
	assert_int_equal(cat_manifest_media_type(&mt, f->c, w.layer),
			 RV_NOTFOUND);
	assert_null(mt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_everything_is_live_while_both_snapshots_exist, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_forgetting_a_snapshot_leaves_its_unique_data_dead, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_dropped_pack_is_queued_for_every_target, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_entry_pack_keeps_the_first_unless_replaced, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_media_type_tells_manifests_from_blobs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
