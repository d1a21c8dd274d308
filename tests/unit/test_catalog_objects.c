/* test_catalog_objects.c - packs, locations, chunks, blobs, manifests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "catalog/catalog.h"
#include "catalog/internal.h"
#include "util/err.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PACK_A                                                                 \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define PACK_B                                                                 \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define PACK_C                                                                 \
	"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

struct fx {
	char dir[64];
	char path[128];
	struct cat *c;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rv-cat-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/catalog.db", f->dir);
	assert_int_equal(cat_open(&f->c, f->path), 0);
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

static void chunk_id(unsigned char id[32], unsigned n)
{
	unsigned char seed[4] = {(unsigned char)(n >> 24),
				 (unsigned char)(n >> 16),
				 (unsigned char)(n >> 8), (unsigned char)n};

	assert_int_equal(rv_sha256_buf(id, seed, sizeof(seed)), 0);
}

static void digest_of(char out[RV_DIGEST_MAX], const char *text)
{
	assert_int_equal(rv_digest_of(out, text, strlen(text)), 0);
}

static int64_t count_rows(struct cat *c, const char *table)
{
	char sql[128];
	sqlite3_stmt *st = NULL;
	int64_t n;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	assert_int_equal(sqlite3_prepare_v2(c->db, sql, -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Pack A holds chunks 0..2 (plain 10, 20, 30 bytes); pack B chunk 3
 * (plain 40 bytes). */
static void add_two_packs(struct cat *c)
{
	unsigned char id[32];

	assert_int_equal(cat_begin(c), 0);
	assert_int_equal(cat_pack_add(c, PACK_A, 1000, 1700000000), 0);
	assert_int_equal(cat_pack_location_add(c, PACK_A, "local"), 0);
	assert_int_equal(cat_pack_location_add(c, PACK_A, "s3-eu"), 0);
	for (unsigned i = 0; i < 3; i++) {
		chunk_id(id, i);
		assert_int_equal(cat_chunk_add(c, id, PACK_A, 512 * (i + 1),
					       100 + i, 10 * (i + 1)),
				 0);
	}
	assert_int_equal(cat_commit(c), 0);

	assert_int_equal(cat_begin(c), 0);
	assert_int_equal(cat_pack_add(c, PACK_B, 2000, 1700000100), 0);
	assert_int_equal(cat_pack_location_add(c, PACK_B, "local"), 0);
	chunk_id(id, 3);
	assert_int_equal(cat_chunk_add(c, id, PACK_B, 4096, 200, 40), 0);
	assert_int_equal(cat_commit(c), 0);
}

/* A blob of the given chunk numbers; size is the sum of their plain
 * lengths as laid out by add_two_packs. */
static int add_blob(struct cat *c, const char *digest, const unsigned *nums,
		    size_t n)
{
	unsigned char(*ids)[32] = calloc(n ? n : 1, 32);
	int64_t size = 0;
	int rv;

	assert_non_null(ids);
	for (size_t i = 0; i < n; i++) {
		chunk_id(ids[i], nums[i]);
		size += 10 * (nums[i] + 1);
	}
	rv = cat_blob_add(c, digest, size, (const unsigned char(*)[32])ids, n);
	free(ids);
	return rv;
}

static void test_catalog_pack_chunk_blob_round_trip(void **state)
{
	struct fx *f = *state;
	const unsigned order[] = {2, 0, 3, 1};
	struct cat_chunk_loc *locs = NULL;
	char digest[RV_DIGEST_MAX];
	unsigned char id[32];
	int64_t size = 0;
	size_t n = 0;

	add_two_packs(f->c);
	digest_of(digest, "layer");
	chunk_id(id, 3);
	assert_int_equal(cat_chunk_has(f->c, id), 1);
	chunk_id(id, 99);
	assert_int_equal(cat_chunk_has(f->c, id), 0);
	assert_int_equal(cat_blob_has(f->c, digest), 0);

	assert_int_equal(add_blob(f->c, digest, order, 4), 0);
	assert_int_equal(cat_blob_has(f->c, digest), 1);

	assert_int_equal(cat_blob_chunks(&locs, &n, &size, f->c, digest), 0);
	assert_int_equal(n, 4);
	assert_int_equal(size, 100);
	for (size_t i = 0; i < n; i++) {
		unsigned num = order[i];

		chunk_id(id, num);
		assert_memory_equal(locs[i].id, id, 32);
		assert_string_equal(locs[i].pack_id,
				    num == 3 ? PACK_B : PACK_A);
		assert_int_equal(locs[i].offset,
				 num == 3 ? 4096 : 512 * (num + 1));
		assert_int_equal(locs[i].length, num == 3 ? 200 : 100 + num);
		assert_int_equal(locs[i].plain_len, 10 * (num + 1));
	}
	free(locs);
	assert_int_equal(count_rows(f->c, "pack_locations"), 3);
	assert_int_equal(count_rows(f->c, "targets"), 2);
}

static void test_catalog_blob_chunks_stores_ids_as_32_byte_blobs(void **state)
{
	struct fx *f = *state;
	sqlite3_stmt *st = NULL;

	add_two_packs(f->c);
	assert_int_equal(sqlite3_prepare_v2(f->c->db,
					    "SELECT typeof(chunk_id), "
					    "length(chunk_id) FROM chunks",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		assert_string_equal((const char *)sqlite3_column_text(st, 0),
				    "blob");
		assert_int_equal(sqlite3_column_int(st, 1), 32);
	}
	sqlite3_finalize(st);
}

static void test_catalog_empty_blob_has_no_chunks(void **state)
{
	struct fx *f = *state;
	struct cat_chunk_loc *locs = NULL;
	char digest[RV_DIGEST_MAX];
	int64_t size = -1;
	size_t n = 5;

	digest_of(digest, "");
	assert_int_equal(cat_blob_add(f->c, digest, 0, NULL, 0), 0);
	assert_int_equal(cat_blob_chunks(&locs, &n, &size, f->c, digest), 0);
	assert_int_equal(n, 0);
	assert_int_equal(size, 0);
	free(locs);
}

static void test_catalog_blob_chunks_unknown_blob_is_notfound(void **state)
{
	struct fx *f = *state;
	struct cat_chunk_loc *locs = NULL;
	char digest[RV_DIGEST_MAX];
	int64_t size = 0;
	size_t n = 0;

	digest_of(digest, "never stored");
	assert_int_equal(cat_blob_chunks(&locs, &n, &size, f->c, digest),
			 RV_NOTFOUND);
	assert_null(locs);
	assert_non_null(strstr(rv_err_msg(), digest));
}

static void test_catalog_blob_refuses_unknown_chunk(void **state)
{
	struct fx *f = *state;
	const unsigned with_unknown[] = {0, 1, 77};
	char digest[RV_DIGEST_MAX];

	add_two_packs(f->c);
	digest_of(digest, "layer with a hole");
	assert_int_equal(cat_begin(f->c), 0);
	assert_int_equal(cat_pack_add(f->c, PACK_C, 10, 1700000200), 0);
	assert_int_equal(add_blob(f->c, digest, with_unknown, 3), RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), digest));
	assert_non_null(strstr(rv_err_msg(), "chunk 2"));
	/* The failed add leaves no trace, the rest of the transaction
	 * stands. */
	assert_int_equal(cat_blob_has(f->c, digest), 0);
	assert_int_equal(cat_commit(f->c), 0);
	assert_int_equal(count_rows(f->c, "blob_chunks"), 0);
	assert_int_equal(count_rows(f->c, "blobs"), 0);
	assert_int_equal(count_rows(f->c, "packs"), 3);
}

static void test_catalog_blob_refuses_size_mismatch(void **state)
{
	struct fx *f = *state;
	char digest[RV_DIGEST_MAX];
	unsigned char id[32];

	add_two_packs(f->c);
	digest_of(digest, "short");
	chunk_id(id, 0);
	/* Chunk 0 holds 10 plain bytes. */
	assert_int_equal(
	    cat_blob_add(f->c, digest, 11, (const unsigned char(*)[32])id, 1),
	    RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), digest));
	assert_int_equal(cat_blob_has(f->c, digest), 0);
	/* The failed add left no transaction open behind it. */
	assert_int_equal(cat_begin(f->c), 0);
	assert_int_equal(cat_commit(f->c), 0);
}

static void test_catalog_blob_add_keeps_existing_row(void **state)
{
	struct fx *f = *state;
	const unsigned first[] = {0, 1}, second[] = {3};
	struct cat_chunk_loc *locs = NULL;
	char digest[RV_DIGEST_MAX];
	int64_t size = 0;
	size_t n = 0;

	add_two_packs(f->c);
	digest_of(digest, "twice");
	assert_int_equal(add_blob(f->c, digest, first, 2), 0);
	assert_int_equal(add_blob(f->c, digest, second, 1), 0);
	assert_int_equal(cat_blob_chunks(&locs, &n, &size, f->c, digest), 0);
	assert_int_equal(n, 2);
	assert_int_equal(size, 30);
	free(locs);
	assert_int_equal(count_rows(f->c, "blobs"), 1);
}

static void test_catalog_chunk_add_keeps_first_location(void **state)
{
	struct fx *f = *state;
	const unsigned one[] = {1};
	struct cat_chunk_loc *locs = NULL;
	char digest[RV_DIGEST_MAX];
	unsigned char id[32];
	int64_t size = 0;
	size_t n = 0;

	add_two_packs(f->c);
	chunk_id(id, 1);
	assert_int_equal(cat_chunk_add(f->c, id, PACK_B, 9999, 1, 20), 0);
	digest_of(digest, "one");
	assert_int_equal(add_blob(f->c, digest, one, 1), 0);
	assert_int_equal(cat_blob_chunks(&locs, &n, &size, f->c, digest), 0);
	assert_int_equal(n, 1);
	assert_string_equal(locs[0].pack_id, PACK_A);
	assert_int_equal(locs[0].offset, 1024);
	free(locs);
	assert_int_equal(count_rows(f->c, "chunks"), 4);
}

static void test_catalog_chunk_add_refuses_unknown_pack(void **state)
{
	struct fx *f = *state;
	unsigned char id[32];

	chunk_id(id, 5);
	assert_int_equal(cat_chunk_add(f->c, id, PACK_C, 0, 10, 10),
			 RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), PACK_C));
	assert_int_equal(cat_chunk_has(f->c, id), 0);
	assert_int_equal(cat_chunk_add(f->c, id, "not-a-pack-id", 0, 10, 10),
			 RV_INVALID);
}

static void test_catalog_location_refuses_unknown_pack(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cat_pack_location_add(f->c, PACK_C, "local"),
			 RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), PACK_C));
	assert_int_equal(count_rows(f->c, "pack_locations"), 0);
}

static void test_catalog_pack_add_is_idempotent(void **state)
{
	struct fx *f = *state;
	struct cat_stats stats;

	assert_int_equal(cat_pack_add(f->c, PACK_A, 1000, 1), 0);
	assert_int_equal(cat_pack_add(f->c, PACK_A, 1000, 2), 0);
	assert_int_equal(cat_pack_location_add(f->c, PACK_A, "local"), 0);
	assert_int_equal(cat_pack_location_add(f->c, PACK_A, "local"), 0);
	assert_int_equal(cat_stats_get(&stats, f->c), 0);
	assert_int_equal(stats.packs, 1);
	assert_int_equal(stats.pack_bytes, 1000);
	assert_int_equal(count_rows(f->c, "pack_locations"), 1);
	assert_int_equal(cat_pack_add(f->c, "ABCD", 1, 1), RV_INVALID);
}

/* Blobs for one image: config (chunk 0), layer (chunks 1, 2), and the
 * manifest's own bytes (chunk 3). */
struct image {
	char config[RV_DIGEST_MAX];
	char layer[RV_DIGEST_MAX];
	char manifest[RV_DIGEST_MAX];
	struct cat_ref refs[3];
};

static void add_image_blobs(struct image *img, struct cat *c)
{
	const unsigned config[] = {0}, layer[] = {1, 2}, manifest[] = {3};

	memset(img, 0, sizeof(*img));
	add_two_packs(c);
	digest_of(img->config, "config");
	digest_of(img->layer, "layer");
	digest_of(img->manifest, "manifest");
	assert_int_equal(add_blob(c, img->config, config, 1), 0);
	assert_int_equal(add_blob(c, img->layer, layer, 2), 0);
	assert_int_equal(add_blob(c, img->manifest, manifest, 1), 0);

	memcpy(img->refs[0].digest, img->config, RV_DIGEST_MAX);
	img->refs[0].size = 10;
	snprintf(img->refs[0].media_type, sizeof(img->refs[0].media_type),
		 "application/vnd.oci.image.config.v1+json");
	memcpy(img->refs[1].digest, img->layer, RV_DIGEST_MAX);
	img->refs[1].size = 50;
	snprintf(img->refs[1].media_type, sizeof(img->refs[1].media_type),
		 "application/vnd.oci.image.layer.v1.tar+gzip");
	/* A foreign layer, never stored. */
	digest_of(img->refs[2].digest, "windows base layer");
	img->refs[2].size = 123456789;
	img->refs[2].nondistributable = 1;
	snprintf(img->refs[2].media_type, sizeof(img->refs[2].media_type),
		 "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");
}

static void test_catalog_manifest_round_trip(void **state)
{
	struct fx *f = *state;
	struct cat_manifest *m = NULL;
	struct image img;

	add_image_blobs(&img, f->c);
	assert_int_equal(cat_manifest_has(f->c, img.manifest), 0);
	assert_int_equal(
	    cat_manifest_add(f->c, img.manifest,
			     "application/vnd.oci.image.manifest.v1+json", 40,
			     img.refs, 3),
	    0);
	assert_int_equal(cat_manifest_has(f->c, img.manifest), 1);

	assert_int_equal(cat_manifest_get(&m, f->c, img.manifest), 0);
	assert_string_equal(m->digest, img.manifest);
	assert_string_equal(m->media_type,
			    "application/vnd.oci.image.manifest.v1+json");
	assert_int_equal(m->size, 40);
	assert_int_equal(m->n_refs, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(m->refs[i].digest, img.refs[i].digest);
		assert_string_equal(m->refs[i].media_type,
				    img.refs[i].media_type);
		assert_int_equal(m->refs[i].size, img.refs[i].size);
		assert_int_equal(m->refs[i].is_manifest, 0);
		assert_int_equal(m->refs[i].nondistributable,
				 img.refs[i].nondistributable);
	}
	cat_manifest_free(m);
}

static void test_catalog_index_refers_to_child_manifests(void **state)
{
	struct fx *f = *state;
	const unsigned index_chunks[] = {0, 0, 0};
	struct cat_manifest *m = NULL;
	struct cat_ref child;
	char index[RV_DIGEST_MAX];
	struct image img;

	add_image_blobs(&img, f->c);
	digest_of(index, "index");
	assert_int_equal(add_blob(f->c, index, index_chunks, 3), 0);
	memset(&child, 0, sizeof(child));
	memcpy(child.digest, img.manifest, RV_DIGEST_MAX);
	child.is_manifest = 1;
	child.size = 40;
	snprintf(child.media_type, sizeof(child.media_type),
		 "application/vnd.oci.image.manifest.v1+json");

	/* The child's bytes are a blob, but it is not a recorded manifest
	 * yet: the index must wait. */
	assert_int_equal(
	    cat_manifest_add(f->c, index,
			     "application/vnd.oci.image.index.v1+json", 30,
			     &child, 1),
	    RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), index));
	assert_non_null(strstr(rv_err_msg(), img.manifest));

	assert_int_equal(
	    cat_manifest_add(f->c, img.manifest,
			     "application/vnd.oci.image.manifest.v1+json", 40,
			     img.refs, 3),
	    0);
	assert_int_equal(
	    cat_manifest_add(f->c, index,
			     "application/vnd.oci.image.index.v1+json", 30,
			     &child, 1),
	    0);
	assert_int_equal(cat_manifest_get(&m, f->c, index), 0);
	assert_int_equal(m->n_refs, 1);
	assert_int_equal(m->refs[0].is_manifest, 1);
	cat_manifest_free(m);
}

static void test_catalog_manifest_refuses_missing_own_blob(void **state)
{
	struct fx *f = *state;
	char digest[RV_DIGEST_MAX];

	digest_of(digest, "manifest whose bytes were never stored");
	assert_int_equal(
	    cat_manifest_add(f->c, digest,
			     "application/vnd.oci.image.manifest.v1+json", 10,
			     NULL, 0),
	    RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), digest));
	assert_int_equal(cat_manifest_has(f->c, digest), 0);
}

static void test_catalog_manifest_refuses_missing_child_blob(void **state)
{
	struct fx *f = *state;
	struct image img;

	add_image_blobs(&img, f->c);
	digest_of(img.refs[1].digest, "a layer that was never fetched");
	assert_int_equal(
	    cat_manifest_add(f->c, img.manifest,
			     "application/vnd.oci.image.manifest.v1+json", 40,
			     img.refs, 3),
	    RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), img.manifest));
	assert_non_null(strstr(rv_err_msg(), img.refs[1].digest));
	assert_int_equal(cat_manifest_has(f->c, img.manifest), 0);
	assert_int_equal(count_rows(f->c, "manifest_refs"), 0);
}

static void test_catalog_manifest_allows_missing_nondistributable(void **state)
{
	struct fx *f = *state;
	struct image img;

	add_image_blobs(&img, f->c);
	assert_int_equal(cat_blob_has(f->c, img.refs[2].digest), 0);
	assert_int_equal(
	    cat_manifest_add(f->c, img.manifest,
			     "application/vnd.oci.image.manifest.v1+json", 40,
			     &img.refs[2], 1),
	    0);
	/* The same child without the flag is refused. */
	img.refs[2].nondistributable = 0;
	assert_int_equal(
	    cat_manifest_add(f->c, img.config,
			     "application/vnd.oci.image.manifest.v1+json", 10,
			     &img.refs[2], 1),
	    RV_INVALID);
}

static void test_catalog_manifest_refuses_size_mismatch(void **state)
{
	struct fx *f = *state;
	struct image img;

	add_image_blobs(&img, f->c);
	assert_int_equal(
	    cat_manifest_add(f->c, img.manifest,
			     "application/vnd.oci.image.manifest.v1+json", 41,
			     img.refs, 2),
	    RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), img.manifest));
}

static void test_catalog_manifest_add_keeps_existing_row(void **state)
{
	struct fx *f = *state;
	struct cat_manifest *m = NULL;
	struct image img;

	add_image_blobs(&img, f->c);
	assert_int_equal(
	    cat_manifest_add(f->c, img.manifest, "a/b", 40, img.refs, 2), 0);
	assert_int_equal(
	    cat_manifest_add(f->c, img.manifest, "c/d", 40, img.refs, 1), 0);
	assert_int_equal(cat_manifest_get(&m, f->c, img.manifest), 0);
	assert_string_equal(m->media_type, "a/b");
	assert_int_equal(m->n_refs, 2);
	cat_manifest_free(m);
	assert_int_equal(count_rows(f->c, "manifests"), 1);
}

static void test_catalog_manifest_get_unknown_is_notfound(void **state)
{
	struct fx *f = *state;
	struct cat_manifest *m = NULL;
	char digest[RV_DIGEST_MAX];

	digest_of(digest, "nope");
	assert_int_equal(cat_manifest_get(&m, f->c, digest), RV_NOTFOUND);
	assert_null(m);
	assert_int_equal(cat_manifest_get(&m, f->c, "sha256:xyz"), RV_INVALID);
	assert_int_equal(cat_blob_has(f->c, "md5:abc"), RV_INVALID);
}

static void test_catalog_stats_counts_everything(void **state)
{
	struct fx *f = *state;
	struct cat_stats stats;
	struct image img;

	assert_int_equal(cat_stats_get(&stats, f->c), 0);
	assert_int_equal(stats.packs, 0);
	assert_int_equal(stats.snapshots, 0);

	add_image_blobs(&img, f->c);
	assert_int_equal(
	    cat_manifest_add(f->c, img.manifest, "a/b", 40, img.refs, 3), 0);
	assert_int_equal(cat_stats_get(&stats, f->c), 0);
	assert_int_equal(stats.packs, 2);
	assert_int_equal(stats.pack_bytes, 3000);
	assert_int_equal(stats.chunks, 4);
	assert_int_equal(stats.blobs, 3);
	assert_int_equal(stats.blob_bytes, 10 + 50 + 40);
	assert_int_equal(stats.manifests, 1);
	assert_int_equal(stats.snapshots, 0);
}

/* A backup records tens of thousands of chunks in one transaction. */
static void test_catalog_many_chunks_in_one_transaction(void **state)
{
	struct fx *f = *state;
	enum { N = 20000 };
	unsigned char(*ids)[32] = malloc((size_t)N * 32);
	struct cat_chunk_loc *locs = NULL;
	char digest[RV_DIGEST_MAX];
	struct timespec t0, t1;
	int64_t size = 0;
	size_t n = 0;

	assert_non_null(ids);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(cat_begin(f->c), 0);
	assert_int_equal(cat_pack_add(f->c, PACK_C, (uint64_t)N * 100, 1), 0);
	assert_int_equal(cat_pack_location_add(f->c, PACK_C, "local"), 0);
	for (unsigned i = 0; i < N; i++) {
		chunk_id(ids[i], 1000 + i);
		assert_int_equal(cat_chunk_add(f->c, ids[i], PACK_C,
					       (uint64_t)i * 100, 100, 7),
				 0);
	}
	digest_of(digest, "big");
	assert_int_equal(cat_blob_add(f->c, digest, (int64_t)N * 7,
				      (const unsigned char(*)[32])ids, N),
			 0);
	assert_int_equal(cat_commit(f->c), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("%d chunks and a blob of them: %.3f s\n", N,
		      (double)(t1.tv_sec - t0.tv_sec) +
			  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);

	assert_int_equal(cat_blob_chunks(&locs, &n, &size, f->c, digest), 0);
	assert_int_equal(n, N);
	assert_int_equal(size, (int64_t)N * 7);
	assert_memory_equal(locs[N - 1].id, ids[N - 1], 32);
	assert_int_equal(locs[N - 1].offset, (uint64_t)(N - 1) * 100);
	free(locs);
	free(ids);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_catalog_pack_chunk_blob_round_trip),
	    T(test_catalog_blob_chunks_stores_ids_as_32_byte_blobs),
	    T(test_catalog_empty_blob_has_no_chunks),
	    T(test_catalog_blob_chunks_unknown_blob_is_notfound),
	    T(test_catalog_blob_refuses_unknown_chunk),
	    T(test_catalog_blob_refuses_size_mismatch),
	    T(test_catalog_blob_add_keeps_existing_row),
	    T(test_catalog_chunk_add_keeps_first_location),
	    T(test_catalog_chunk_add_refuses_unknown_pack),
	    T(test_catalog_location_refuses_unknown_pack),
	    T(test_catalog_pack_add_is_idempotent),
	    T(test_catalog_manifest_round_trip),
	    T(test_catalog_index_refers_to_child_manifests),
	    T(test_catalog_manifest_refuses_missing_own_blob),
	    T(test_catalog_manifest_refuses_missing_child_blob),
	    T(test_catalog_manifest_allows_missing_nondistributable),
	    T(test_catalog_manifest_refuses_size_mismatch),
	    T(test_catalog_manifest_add_keeps_existing_row),
	    T(test_catalog_manifest_get_unknown_is_notfound),
	    T(test_catalog_stats_counts_everything),
	    T(test_catalog_many_chunks_in_one_transaction),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
