/* test_maint_seals.c - forget and prune re-sign seals: a tombstone keeps
 * the seal's place in the chain, a refreshed seal lists the catalog's
 * packs, both name the text they replace in "former" and reach every
 * target or fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "catalog/catalog.h"
#include "maint/seals.h"
#include "store/sealtext.h"
#include "store/store.h"
#include "store/target.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/log.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASS "correct horse battery staple"
#define PACK_A                                                                 \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define PACK_B                                                                 \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define PACK_C                                                                 \
	"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define SNAP "1111111111111111111111111111111111111111111111111111111111111111"
#define OTHER "2222222222222222222222222222222222222222222222222222222222222222"
#define REC "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define PREV "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

struct fx {
	char root[64];
	char tpath[2][128];
	char staging[128];
	char catalog[128];
	struct store *s;
	struct cat *c;
	char first_self[65]; /* the hash of the seal backup wrote */
};

static int rm_cb(const char *p, const struct stat *sb, int flag,
		 struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void chunk_id(unsigned char id[32], unsigned n)
{
	unsigned char seed[1] = {(unsigned char)n};

	assert_int_equal(rv_sha256_buf(id, seed, sizeof(seed)), 0);
}

static void add_pack(struct cat *c, const char *pack_id, unsigned n)
{
	unsigned char id[32];

	chunk_id(id, n);
	assert_int_equal(cat_begin(c), 0);
	assert_int_equal(cat_pack_add(c, pack_id, 1000 + n, 1700000000), 0);
	assert_int_equal(cat_pack_location_add(c, pack_id, "t1"), 0);
	assert_int_equal(cat_chunk_add(c, id, pack_id, 512, 100, 10), 0);
	assert_int_equal(cat_commit(c), 0);
}

static void add_blob(struct cat *c, const char *digest, unsigned n)
{
	unsigned char ids[1][32];

	chunk_id(ids[0], n);
	assert_int_equal(
	    cat_blob_add(c, digest, 10, (const unsigned char(*)[32])ids, 1), 0);
}

/* SNAP tags app:v1 -> an image whose layer is chunk 1 (pack A) and whose
 * config and own bytes are chunk 2 (pack B). */
static void fill_catalog(struct cat *c)
{
	char layer[RV_DIGEST_MAX], config[RV_DIGEST_MAX], image[RV_DIGEST_MAX];
	struct cat_ref refs[2];
	struct cat_snapshot cs;

	assert_int_equal(rv_digest_of(layer, "layer", 5), 0);
	assert_int_equal(rv_digest_of(config, "config", 6), 0);
	assert_int_equal(rv_digest_of(image, "image", 5), 0);
	add_pack(c, PACK_A, 1);
	add_pack(c, PACK_B, 2);
	add_blob(c, layer, 1);
	add_blob(c, config, 2);
	add_blob(c, image, 2);
	memset(refs, 0, sizeof(refs));
	snprintf(refs[0].digest, sizeof(refs[0].digest), "%s", config);
	snprintf(refs[1].digest, sizeof(refs[1].digest), "%s", layer);
	refs[0].size = refs[1].size = 10;
	snprintf(refs[0].media_type, sizeof(refs[0].media_type),
		 "application/vnd.oci.image.config.v1+json");
	snprintf(refs[1].media_type, sizeof(refs[1].media_type),
		 "application/vnd.oci.image.layer.v1.tar");
	assert_int_equal(cat_manifest_add(c, image,
					  "application/vnd.oci.image.manifest."
					  "v1+json",
					  10, refs, 2),
			 0);
	memset(&cs, 0, sizeof(cs));
	snprintf(cs.id, sizeof(cs.id), SNAP);
	snprintf(cs.source, sizeof(cs.source), "prod");
	cs.time = 1700000000;
	assert_int_equal(cat_begin(c), 0);
	assert_int_equal(cat_snapshot_add(c, &cs), 0);
	assert_int_equal(cat_snapshot_tag_add(c, SNAP, "app", "v1", image), 0);
	assert_int_equal(cat_commit(c), 0);
}

/* The seal backup writes for SNAP: packs A and B, sequence 5. */
static void put_first_seal(struct fx *f)
{
	struct seal_pack packs[2];
	struct seal_text t;
	unsigned char sha[32];
	char *text = NULL;

	memset(&t, 0, sizeof(t));
	memset(packs, 0, sizeof(packs));
	snprintf(t.store_id, sizeof(t.store_id), "%s", store_id(f->s));
	snprintf(t.snapshot, sizeof(t.snapshot), SNAP);
	snprintf(t.record, sizeof(t.record), REC);
	snprintf(t.previous, sizeof(t.previous), PREV);
	t.sequence = 5;
	t.time = 1700000000;
	t.source = "prod";
	snprintf(packs[0].id, sizeof(packs[0].id), PACK_A);
	packs[0].size = 1001;
	snprintf(packs[1].id, sizeof(packs[1].id), PACK_B);
	packs[1].size = 1002;
	t.packs = packs;
	t.n_packs = 2;
	assert_int_equal(seal_text_format(&text, &t), 0);
	assert_int_equal(store_put_seal(f->s, SNAP, text), 0);
	assert_int_equal(rv_sha256_buf(sha, text, strlen(text)), 0);
	rv_hex_encode(f->first_self, sha, 32);
	free(text);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct target *t[2] = {NULL, NULL};
	char id[STORE_ID_HEX];

	assert_non_null(f);
	setenv("REGVAULT_TEST_FAST_KDF", "1", 1);
	rv_log_set_level(RV_LOG_ERROR); /* failing targets warn */
	snprintf(f->root, sizeof(f->root), "/tmp/rv-mseals-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->staging, sizeof(f->staging), "%s/staging", f->root);
	snprintf(f->catalog, sizeof(f->catalog), "%s/catalog.db", f->root);
	for (int i = 0; i < 2; i++) {
		char name[8];

		snprintf(f->tpath[i], sizeof(f->tpath[i]), "%s/t%d", f->root,
			 i + 1);
		snprintf(name, sizeof(name), "t%d", i + 1);
		assert_int_equal(target_dir_open(&t[i], name, f->tpath[i], 1),
				 0);
	}
	assert_int_equal(store_init(t, 2, PASS, strlen(PASS), id), 0);
	assert_int_equal(
	    store_open(&f->s, t, 2, PASS, strlen(PASS), f->staging), 0);
	assert_int_equal(store_signs(f->s), 1);
	assert_int_equal(cat_open(&f->c, f->catalog), 0);
	fill_catalog(f->c);
	put_first_seal(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	cat_close(f->c);
	store_free(f->s);
	nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* The seal file on target i, whole. */
static void read_file(struct rv_buf *out, const struct fx *f, int i,
		      const char *snap_id)
{
	char path[256];
	FILE *fp;
	char buf[4096];
	size_t n;

	snprintf(path, sizeof(path), "%s/seals/%s", f->tpath[i], snap_id);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	rv_buf_reset(out);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		assert_int_equal(rv_buf_add(out, buf, n), 0);
	fclose(fp);
}

static void get_seal(struct seal_text *t, struct fx *f)
{
	struct rv_buf text = RV_BUF_INIT((size_t)1 << 20);

	assert_int_equal(store_get_seal(f->s, SNAP, &text), 0);
	assert_int_equal(seal_text_parse(t, (const char *)text.data, text.len),
			 0);
	rv_buf_release(&text);
}

static void assert_same_on_both_targets(struct fx *f)
{
	struct rv_buf a = RV_BUF_INIT((size_t)1 << 20);
	struct rv_buf b = RV_BUF_INIT((size_t)1 << 20);

	read_file(&a, f, 0, SNAP);
	read_file(&b, f, 1, SNAP);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	rv_buf_release(&a);
	rv_buf_release(&b);
}

static void test_maint_seal_forget_signs_a_tombstone(void **state)
{
	struct fx *f = *state;
	struct seal_text t;

	assert_int_equal(maint_seal_forget(f->s, SNAP, 1800000000), 0);
	get_seal(&t, f);
	assert_int_equal(t.version, 2);
	assert_int_equal(t.forgotten, 1);
	assert_int_equal(t.forgotten_at, 1800000000);
	assert_int_equal(t.sequence, 5);
	assert_string_equal(t.previous, PREV);
	assert_string_equal(t.snapshot, SNAP);
	assert_string_equal(t.source, "prod");
	assert_int_equal(t.time, 1700000000);
	assert_string_equal(t.record, "");
	assert_int_equal(t.n_packs, 0);
	assert_int_equal(t.n_former, 1);
	assert_string_equal(t.former[0], f->first_self);
	/* the next seal, which names the old text, still links */
	assert_int_equal(seal_text_has_hash(&t, f->first_self), 1);
	seal_text_release(&t);
	assert_same_on_both_targets(f);
}

static void test_maint_seal_forget_twice_keeps_the_tombstone(void **state)
{
	struct fx *f = *state;
	struct rv_buf first = RV_BUF_INIT((size_t)1 << 20);
	struct rv_buf again = RV_BUF_INIT((size_t)1 << 20);
	char path[256];

	assert_int_equal(maint_seal_forget(f->s, SNAP, 1800000000), 0);
	read_file(&first, f, 0, SNAP);
	/* target 2 missed it (an interrupted forget) */
	snprintf(path, sizeof(path), "%s/seals/" SNAP, f->tpath[1]);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(maint_seal_forget(f->s, SNAP, 1900000000), 0);
	read_file(&again, f, 0, SNAP);
	assert_int_equal(first.len, again.len);
	assert_memory_equal(first.data, again.data, first.len);
	assert_same_on_both_targets(f);
	rv_buf_release(&first);
	rv_buf_release(&again);
}

static void test_maint_seal_forget_without_seal_is_notfound(void **state)
{
	struct fx *f = *state;

	assert_int_equal(maint_seal_forget(f->s, OTHER, 1800000000),
			 RV_NOTFOUND);
}

/* A target that cannot take the seal fails the call even when the write
 * policy would be content with one target. */
static void test_maint_seal_forget_needs_every_target(void **state)
{
	struct fx *f = *state;
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/seals", f->tpath[1]);
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	fp = fopen(path, "w"); /* "seals" is now a file: puts fail */
	assert_non_null(fp);
	fclose(fp);
	store_set_quorum(f->s, 1);
	assert_int_equal(maint_seal_forget(f->s, SNAP, 1800000000), RV_IO);
	assert_non_null(strstr(rv_err_msg(), "'t2'"));
	store_set_quorum(f->s, 0);
}

static void test_maint_seal_refresh_unchanged_writes_nothing(void **state)
{
	struct fx *f = *state;
	struct rv_buf before = RV_BUF_INIT((size_t)1 << 20);
	struct rv_buf after = RV_BUF_INIT((size_t)1 << 20);
	int changed = -1;

	read_file(&before, f, 0, SNAP);
	assert_int_equal(maint_seal_refresh(&changed, f->s, f->c, SNAP), 0);
	assert_int_equal(changed, 0);
	read_file(&after, f, 0, SNAP);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.data, after.data, before.len);
	rv_buf_release(&before);
	rv_buf_release(&after);
}

static void test_maint_seal_refresh_lists_repacked_packs(void **state)
{
	struct fx *f = *state;
	struct seal_text t;
	unsigned char id[32];
	int changed = -1;

	/* prune moved chunk 1 (the layer) from pack A to pack C */
	add_pack(f->c, PACK_C, 3);
	chunk_id(id, 1);
	assert_int_equal(cat_chunk_move(f->c, id, PACK_C, 700, 100), 0);
	assert_int_equal(maint_seal_refresh(&changed, f->s, f->c, SNAP), 0);
	assert_int_equal(changed, 1);
	get_seal(&t, f);
	assert_int_equal(t.version, 2);
	assert_int_equal(t.forgotten, 0);
	assert_int_equal(t.n_packs, 2);
	assert_string_equal(t.packs[0].id, PACK_B);
	assert_int_equal(t.packs[0].size, 1002);
	assert_string_equal(t.packs[1].id, PACK_C);
	assert_int_equal(t.packs[1].size, 1003);
	assert_int_equal(t.sequence, 5);
	assert_string_equal(t.previous, PREV);
	assert_string_equal(t.record, REC);
	assert_int_equal(t.n_former, 1);
	assert_string_equal(t.former[0], f->first_self);
	seal_text_release(&t);
	assert_same_on_both_targets(f);
	/* a second refresh finds nothing to do */
	assert_int_equal(maint_seal_refresh(&changed, f->s, f->c, SNAP), 0);
	assert_int_equal(changed, 0);
}

/* Re-signed, then forgotten: the tombstone keeps every earlier hash. */
static void test_maint_seal_forget_after_refresh_keeps_both(void **state)
{
	struct fx *f = *state;
	struct seal_text refreshed, t;
	unsigned char id[32];
	int changed = 0;

	add_pack(f->c, PACK_C, 3);
	chunk_id(id, 1);
	assert_int_equal(cat_chunk_move(f->c, id, PACK_C, 700, 100), 0);
	assert_int_equal(maint_seal_refresh(&changed, f->s, f->c, SNAP), 0);
	assert_int_equal(changed, 1);
	get_seal(&refreshed, f);
	assert_int_equal(maint_seal_forget(f->s, SNAP, 1800000000), 0);
	get_seal(&t, f);
	assert_int_equal(t.n_former, 2);
	assert_string_equal(t.former[0], f->first_self);
	assert_string_equal(t.former[1], refreshed.self);
	/* a tombstone is not refreshed */
	assert_int_equal(maint_seal_refresh(&changed, f->s, f->c, SNAP),
			 RV_INVALID);
	assert_int_equal(changed, 0);
	seal_text_release(&refreshed);
	seal_text_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_maint_seal_forget_signs_a_tombstone, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_maint_seal_forget_twice_keeps_the_tombstone, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_maint_seal_forget_without_seal_is_notfound, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_maint_seal_forget_needs_every_target, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_maint_seal_refresh_unchanged_writes_nothing, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_maint_seal_refresh_lists_repacked_packs, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_maint_seal_forget_after_refresh_keeps_both, setup,
		teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
