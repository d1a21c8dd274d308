/* catalog_fixture.h - the catalog fixture shared by test_catalog_maint.c
 * and test_catalog_verify.c: a fresh catalog in a temporary folder and
 * helpers that record packs, chunks, blobs and manifests. Included by one
 * test file each (static functions). */
#ifndef TEST_CATALOG_FIXTURE_H
#define TEST_CATALOG_FIXTURE_H

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PACK_A                                                                 \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define PACK_B                                                                 \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define PACK_C                                                                 \
	"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define SNAP_1                                                                 \
	"1111111111111111111111111111111111111111111111111111111111111111"
#define SNAP_2                                                                 \
	"2222222222222222222222222222222222222222222222222222222222222222"

struct fx {
	char dir[64];
	char path[128];
	struct cat *c;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rv-cattest-XXXXXX");
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

static inline void chunk_id(unsigned char id[32], unsigned n)
{
	unsigned char seed[4] = {(unsigned char)(n >> 24),
				 (unsigned char)(n >> 16),
				 (unsigned char)(n >> 8), (unsigned char)n};

	assert_int_equal(rv_sha256_buf(id, seed, sizeof(seed)), 0);
}

static inline void digest_of(char out[RV_DIGEST_MAX], const char *text)
{
	assert_int_equal(rv_digest_of(out, text, strlen(text)), 0);
}

/* A pack holding one chunk (number n, 10 plain bytes) on the given
 * targets. */
static inline void add_pack(struct cat *c, const char *pack_id, unsigned n,
		     const char *t1, const char *t2)
{
	unsigned char id[32];

	chunk_id(id, n);
	assert_int_equal(cat_begin(c), 0);
	assert_int_equal(cat_pack_add(c, pack_id, 1000 + n, 1700000000), 0);
	if (t1)
		assert_int_equal(cat_pack_location_add(c, pack_id, t1), 0);
	if (t2)
		assert_int_equal(cat_pack_location_add(c, pack_id, t2), 0);
	assert_int_equal(cat_chunk_add(c, id, pack_id, 512, 100, 10), 0);
	assert_int_equal(cat_commit(c), 0);
}

/* A 10-byte blob made of chunk n. */
static inline void add_blob(struct cat *c, const char *digest, unsigned n)
{
	unsigned char ids[1][32];

	chunk_id(ids[0], n);
	assert_int_equal(
	    cat_blob_add(c, digest, 10, (const unsigned char(*)[32])ids, 1), 0);
}

static inline void ref_to(struct cat_ref *r, const char *digest, int is_manifest)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->digest, sizeof(r->digest), "%s", digest);
	r->is_manifest = is_manifest;
	r->size = 10;
	snprintf(r->media_type, sizeof(r->media_type), "%s",
		 is_manifest ? "application/vnd.oci.image.manifest.v1+json"
			     : "application/vnd.oci.image.layer.v1.tar");
}


#endif
