/* test_catalog_verify.c - what verify asks of the catalog: packs ordered
 * by their last verification on a target, the chunks and blobs of a pack,
 * and everything (blobs, manifests, snapshots, tags) that lost packs take
 * with them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "catalog/catalog.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/strlist.h"

#include <stdio.h>
#include "catalog_fixture.h"

/* Two snapshots: SNAP_1 tags app:multi -> an index -> an image (config in
 * pack C, layer in pack A); SNAP_2 tags app:one -> image2 (its bytes in
 * pack B, the shared config in C) and app:foreign, an image whose only
 * layer is nondistributable but happens to be stored in pack A. */
static void add_two_snapshots(struct cat *c)
{
	char layer[RV_DIGEST_MAX], config[RV_DIGEST_MAX], image[RV_DIGEST_MAX];
	char index[RV_DIGEST_MAX], image2[RV_DIGEST_MAX];
	char foreign[RV_DIGEST_MAX];
	struct cat_ref refs[2];
	struct cat_snapshot s;

	digest_of(layer, "layer");
	digest_of(config, "config");
	digest_of(image, "image");
	digest_of(index, "index");
	digest_of(image2, "image2");
	digest_of(foreign, "foreign");
	add_pack(c, PACK_A, 1, "local", "second");
	add_pack(c, PACK_B, 2, "local", "second");
	add_pack(c, PACK_C, 3, "local", NULL);
	add_blob(c, layer, 1);	/* pack A */
	add_blob(c, image2, 2); /* pack B */
	add_blob(c, config, 3); /* pack C */
	add_blob(c, image, 3);
	add_blob(c, index, 3);
	add_blob(c, foreign, 3);
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
	ref_to(&refs[0], config, 0);
	ref_to(&refs[1], layer, 0);
	refs[1].nondistributable = 1;
	assert_int_equal(
	    cat_manifest_add(c, foreign, refs[0].media_type, 10, refs, 2), 0);

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
	assert_int_equal(
	    cat_snapshot_tag_add(c, SNAP_2, "app", "foreign", foreign), 0);
	assert_int_equal(cat_commit(c), 0);
}

static void test_verify_times_put_unverified_first_then_oldest(void **state)
{
	struct fx *f = *state;
	struct cat_pack_seen *seen = NULL;
	size_t n = 0;

	add_pack(f->c, PACK_A, 1, "local", "second");
	add_pack(f->c, PACK_B, 2, "local", "second");
	add_pack(f->c, PACK_C, 3, "second", NULL);
	assert_int_equal(
	    cat_pack_location_verified(f->c, PACK_A, "local", 2000), 0);
	assert_int_equal(
	    cat_pack_location_verified(f->c, PACK_B, "local", 1000), 0);
	assert_int_equal(
	    cat_pack_location_verified(f->c, PACK_A, "second", 500), 0);

	assert_int_equal(cat_pack_verify_times(&seen, &n, f->c, "local"), 0);
	assert_int_equal(n, 3);
	/* C is not recorded on 'local': never verified there */
	assert_string_equal(seen[0].pack_id, PACK_C);
	assert_int_equal(seen[0].located, 0);
	assert_int_equal(seen[0].verified_at, 0);
	assert_int_equal(seen[0].size, 1003);
	assert_string_equal(seen[1].pack_id, PACK_B);
	assert_int_equal(seen[1].located, 1);
	assert_int_equal(seen[1].verified_at, 1000);
	assert_string_equal(seen[2].pack_id, PACK_A);
	assert_int_equal(seen[2].verified_at, 2000);
	free(seen);

	/* another target has its own history */
	assert_int_equal(cat_pack_verify_times(&seen, &n, f->c, "second"), 0);
	assert_int_equal(n, 3);
	assert_string_equal(seen[0].pack_id, PACK_B);
	assert_int_equal(seen[0].verified_at, 0);
	assert_int_equal(seen[0].located, 1);
	assert_string_equal(seen[1].pack_id, PACK_C);
	assert_int_equal(seen[1].verified_at, 0);
	assert_string_equal(seen[2].pack_id, PACK_A);
	assert_int_equal(seen[2].verified_at, 500);
	free(seen);

	/* a target the catalog never heard of: everything is unverified */
	assert_int_equal(cat_pack_verify_times(&seen, &n, f->c, "new"), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(seen[i].located, 0);
		assert_int_equal(seen[i].verified_at, 0);
	}
	free(seen);
	assert_int_equal(cat_pack_verify_times(&seen, &n, f->c, ""),
			 RV_INVALID);
}

static void test_verify_times_rotate_through_every_pack(void **state)
{
	struct fx *f = *state;
	struct cat_pack_seen *seen = NULL;
	struct rv_strlist covered = RV_STRLIST_INIT;
	const char *ids[] = {PACK_A, PACK_B, PACK_C};
	size_t n = 0;

	for (unsigned i = 0; i < 3; i++)
		add_pack(f->c, ids[i], i + 1, "local", NULL);
	/* three runs at the same second, each verifying the first pack the
	 * query offers, still cover every pack */
	for (int run = 0; run < 3; run++) {
		assert_int_equal(
		    cat_pack_verify_times(&seen, &n, f->c, "local"), 0);
		assert_int_equal(n, 3);
		assert_false(rv_strlist_has(&covered, seen[0].pack_id));
		assert_int_equal(rv_strlist_add(&covered, seen[0].pack_id), 0);
		assert_int_equal(cat_pack_location_verified(
				     f->c, seen[0].pack_id, "local", 1234),
				 0);
		free(seen);
	}
	assert_int_equal(covered.n, 3);
	rv_strlist_release(&covered);
}

static void test_pack_chunks_lists_chunks_by_offset(void **state)
{
	struct fx *f = *state;
	struct cat_chunk_loc *locs = NULL;
	unsigned char id1[32], id2[32];
	size_t n = 0;

	chunk_id(id1, 1);
	chunk_id(id2, 2);
	assert_int_equal(cat_begin(f->c), 0);
	assert_int_equal(cat_pack_add(f->c, PACK_A, 5000, 1700000000), 0);
	assert_int_equal(cat_chunk_add(f->c, id2, PACK_A, 2048, 300, 30), 0);
	assert_int_equal(cat_chunk_add(f->c, id1, PACK_A, 512, 200, 20), 0);
	assert_int_equal(cat_commit(f->c), 0);

	assert_int_equal(cat_pack_chunks(&locs, &n, f->c, PACK_A), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(locs[0].id, id1, 32);
	assert_string_equal(locs[0].pack_id, PACK_A);
	assert_int_equal(locs[0].offset, 512);
	assert_int_equal(locs[0].length, 200);
	assert_int_equal(locs[0].plain_len, 20);
	assert_memory_equal(locs[1].id, id2, 32);
	assert_int_equal(locs[1].offset, 2048);
	free(locs);

	assert_int_equal(cat_pack_chunks(&locs, &n, f->c, PACK_B), 0);
	assert_int_equal(n, 0);
	assert_null(locs);
	assert_int_equal(cat_pack_chunks(&locs, &n, f->c, "x"), RV_INVALID);
}

static void test_pack_blobs_lists_blobs_and_manifest_bytes(void **state)
{
	struct fx *f = *state;
	struct rv_strlist blobs = RV_STRLIST_INIT;
	char config[RV_DIGEST_MAX], image[RV_DIGEST_MAX];

	add_two_snapshots(f->c);
	digest_of(config, "config");
	digest_of(image, "image");
	assert_int_equal(cat_pack_blobs(&blobs, f->c, PACK_C), 0);
	/* config, image, index, foreign: sorted by digest */
	assert_int_equal(blobs.n, 4);
	assert_true(rv_strlist_has(&blobs, config));
	assert_true(rv_strlist_has(&blobs, image));
	for (size_t i = 1; i < blobs.n; i++)
		assert_true(strcmp(blobs.items[i - 1], blobs.items[i]) < 0);
	rv_strlist_release(&blobs);
}

static int has_tag(const struct cat_needs *nd, const char *snap,
		   const char *repo, const char *tag)
{
	for (size_t i = 0; i < nd->n_tags; i++)
		if (!strcmp(nd->tags[i].snap_id, snap) &&
		    !strcmp(nd->tags[i].repo, repo) &&
		    !strcmp(nd->tags[i].tag, tag))
			return 1;
	return 0;
}

static void test_needs_of_layer_pack_reach_tags_through_index(void **state)
{
	struct fx *f = *state;
	struct rv_strlist packs = RV_STRLIST_INIT;
	struct cat_needs nd;
	char layer[RV_DIGEST_MAX], image[RV_DIGEST_MAX], index[RV_DIGEST_MAX];

	add_two_snapshots(f->c);
	digest_of(layer, "layer");
	digest_of(image, "image");
	digest_of(index, "index");
	assert_int_equal(rv_strlist_add(&packs, PACK_A), 0);
	assert_int_equal(cat_packs_needed_by(&nd, f->c, &packs), 0);
	assert_int_equal(nd.blobs.n, 1);
	assert_string_equal(nd.blobs.items[0], layer);
	/* the image that uses the layer and the index above it; not the
	 * image whose use of the layer is nondistributable */
	assert_int_equal(nd.manifests.n, 2);
	assert_true(rv_strlist_has(&nd.manifests, image));
	assert_true(rv_strlist_has(&nd.manifests, index));
	assert_int_equal(nd.n_tags, 1);
	assert_true(has_tag(&nd, SNAP_1, "app", "multi"));
	assert_string_equal(nd.tags[0].manifest, index);
	assert_int_equal(nd.snapshots.n, 1);
	assert_string_equal(nd.snapshots.items[0], SNAP_1);
	cat_needs_release(&nd);
	rv_strlist_release(&packs);
}

static void test_needs_of_several_packs_are_their_union(void **state)
{
	struct fx *f = *state;
	struct rv_strlist packs = RV_STRLIST_INIT;
	struct cat_needs nd;
	char image2[RV_DIGEST_MAX];

	add_two_snapshots(f->c);
	digest_of(image2, "image2");
	/* pack B: the bytes of image2 only */
	assert_int_equal(rv_strlist_add(&packs, PACK_B), 0);
	assert_int_equal(cat_packs_needed_by(&nd, f->c, &packs), 0);
	assert_int_equal(nd.blobs.n, 0); /* manifests' bytes are not blobs */
	assert_int_equal(nd.manifests.n, 1);
	assert_string_equal(nd.manifests.items[0], image2);
	assert_int_equal(nd.n_tags, 1);
	assert_true(has_tag(&nd, SNAP_2, "app", "one"));
	cat_needs_release(&nd);

	/* A and B together: both snapshots, tags ordered by snapshot time */
	assert_int_equal(rv_strlist_add(&packs, PACK_A), 0);
	assert_int_equal(cat_packs_needed_by(&nd, f->c, &packs), 0);
	assert_int_equal(nd.n_tags, 2);
	assert_string_equal(nd.tags[0].snap_id, SNAP_1);
	assert_string_equal(nd.tags[1].snap_id, SNAP_2);
	assert_int_equal(nd.snapshots.n, 2);
	cat_needs_release(&nd);

	/* C holds the shared config: every tag */
	rv_strlist_release(&packs);
	assert_int_equal(rv_strlist_add(&packs, PACK_C), 0);
	assert_int_equal(cat_packs_needed_by(&nd, f->c, &packs), 0);
	assert_int_equal(nd.n_tags, 3);
	assert_true(has_tag(&nd, SNAP_2, "app", "foreign"));
	cat_needs_release(&nd);
	rv_strlist_release(&packs);
}

static void test_needs_of_no_or_unknown_packs_are_empty(void **state)
{
	struct fx *f = *state;
	struct rv_strlist packs = RV_STRLIST_INIT;
	struct cat_needs nd;

	add_two_snapshots(f->c);
	assert_int_equal(cat_packs_needed_by(&nd, f->c, &packs), 0);
	assert_int_equal(nd.n_tags + nd.blobs.n + nd.manifests.n, 0);
	cat_needs_release(&nd);
	assert_int_equal(
	    rv_strlist_add(&packs, "ddddddddddddddddddddddddddddddddddddddddddd"
				   "ddddddddddddddddddddd"),
	    0);
	assert_int_equal(cat_packs_needed_by(&nd, f->c, &packs), 0);
	assert_int_equal(nd.n_tags + nd.blobs.n + nd.manifests.n, 0);
	cat_needs_release(&nd);
	assert_int_equal(rv_strlist_add(&packs, "bad"), 0);
	assert_int_equal(cat_packs_needed_by(&nd, f->c, &packs), RV_INVALID);
	cat_needs_release(&nd);
	rv_strlist_release(&packs);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_verify_times_put_unverified_first_then_oldest),
	    T(test_verify_times_rotate_through_every_pack),
	    T(test_pack_chunks_lists_chunks_by_offset),
	    T(test_pack_blobs_lists_blobs_and_manifest_bytes),
	    T(test_needs_of_layer_pack_reach_tags_through_index),
	    T(test_needs_of_several_packs_are_their_union),
	    T(test_needs_of_no_or_unknown_packs_are_empty),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
