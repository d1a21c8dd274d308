/* test_store_store.c - the store facade: init, open, write packs to every
 * target, read chunks and snapshots back, survive a damaged target. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store.h"
#include "store/target.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strlist.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASS "correct horse battery staple"
#define N_CHUNKS 6

struct fixture {
	char root[64];
	char tpath[2][128];
	char staging[128];
	unsigned char *plain[N_CHUNKS];
	size_t plain_len[N_CHUNKS];
};

static int rm_cb(const char *p, const struct stat *sb, int flag,
		 struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void fill_random(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)x;
	}
}

static int setup(void **state)
{
	static const size_t lens[N_CHUNKS] = {300000,  1,     65536,
					      2 << 20, 12345, 500000};
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	setenv("REGVAULT_TEST_FAST_KDF", "1", 1);
	rv_log_set_level(RV_LOG_ERROR); /* the warnings are expected */
	snprintf(f->root, sizeof(f->root), "/tmp/rv-store-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	for (int i = 0; i < 2; i++)
		snprintf(f->tpath[i], sizeof(f->tpath[i]), "%s/t%d", f->root,
			 i + 1);
	snprintf(f->staging, sizeof(f->staging), "%s/staging/deep", f->root);
	for (int i = 0; i < N_CHUNKS; i++) {
		f->plain_len[i] = lens[i];
		f->plain[i] = malloc(lens[i]);
		if (!f->plain[i])
			return -1;
		if (i % 2)
			memset(f->plain[i], 'x', lens[i]);
		else
			fill_random(f->plain[i], lens[i], (uint64_t)i + 3);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < N_CHUNKS; i++)
		free(f->plain[i]);
	nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void open_targets(struct fixture *f, struct target **t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "t%zu", i + 1);
		assert_int_equal(target_dir_open(&t[i], name, f->tpath[i], 1),
				 0);
	}
}

static void init_store(struct fixture *f, size_t n, char id[STORE_ID_HEX])
{
	struct target *t[2] = {NULL, NULL};

	open_targets(f, t, n);
	assert_int_equal(store_init(t, n, PASS, strlen(PASS), id), 0);
	for (size_t i = 0; i < n; i++)
		target_free(t[i]);
}

static int open_store(struct fixture *f, size_t n, const char *pass,
		      struct store **s)
{
	struct target *t[2] = {NULL, NULL};
	int rc;

	open_targets(f, t, n);
	rc = store_open(s, t, n, pass, strlen(pass), f->staging);
	if (rc)
		for (size_t i = 0; i < n; i++)
			target_free(t[i]);
	return rc;
}

static void pack_path(char *out, size_t cap, const struct fixture *f,
		      int target, const char *pack_id)
{
	snprintf(out, cap, "%s/packs/%.2s/%s", f->tpath[target], pack_id,
		 pack_id);
}

static void flip_byte(const char *path, uint64_t off)
{
	FILE *fp = fopen(path, "r+b");
	int c;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, (long)off, SEEK_SET), 0);
	c = fgetc(fp);
	assert_int_not_equal(c, EOF);
	assert_int_equal(fseek(fp, (long)off, SEEK_SET), 0);
	fputc(c ^ 0x20, fp);
	fclose(fp);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' ||
		    (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")))
			n++;
	closedir(d);
	return n;
}

/* Add every fixture chunk and one blob; flush. */
static struct store_flushed *write_all(struct fixture *f, struct store *s,
				       unsigned char ids[N_CHUNKS][32])
{
	struct store_flushed *fl = NULL;
	struct pack_blob b;

	for (int i = 0; i < N_CHUNKS; i++) {
		assert_int_equal(
		    store_chunk_id(ids[i], s, f->plain[i], f->plain_len[i]), 0);
		assert_int_equal(
		    store_add_chunk(s, ids[i], f->plain[i], f->plain_len[i]),
		    0);
	}
	memset(&b, 0, sizeof(b));
	assert_int_equal(rv_digest_of(b.digest, "blob", 4), 0);
	b.size = 4;
	b.kind = PACK_BLOB;
	b.chunks = ids;
	b.n_chunks = N_CHUNKS;
	assert_int_equal(store_add_blob(s, &b), 0);
	assert_true(store_pack_open(s));
	assert_int_equal(store_flush(s, &fl), 0);
	assert_non_null(fl);
	assert_false(store_pack_open(s));
	return fl;
}

static const struct pack_chunk *find_chunk(const struct store_flushed *fl,
					   const unsigned char id[32])
{
	for (size_t i = 0; i < fl->n_chunks; i++)
		if (!memcmp(fl->chunks[i].id, id, 32))
			return &fl->chunks[i];
	fail_msg("chunk not in the flushed pack");
	return NULL;
}

static void assert_reads_back(struct fixture *f, struct store *s,
			      const struct store_flushed *fl,
			      unsigned char ids[N_CHUNKS][32])
{
	struct rv_buf out = RV_BUF_INIT(8 << 20);

	for (int i = 0; i < N_CHUNKS; i++) {
		const struct pack_chunk *c = find_chunk(fl, ids[i]);
		rv_buf_reset(&out);
		assert_int_equal(store_read_chunk(s, fl->pack_id, c->offset,
						  c->length, ids[i], &out),
				 0);
		assert_int_equal(out.len, f->plain_len[i]);
		assert_memory_equal(out.data, f->plain[i], out.len);
	}
	rv_buf_release(&out);
}

static void test_store_init_open_write_read_back(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	struct store_flushed *fl;
	unsigned char ids[N_CHUNKS][32], sha[32];
	char id[STORE_ID_HEX], path[256], hex[65];
	struct rv_buf file = RV_BUF_INIT(64 << 20);

	init_store(f, 1, id);
	assert_int_equal(strlen(id), 32);
	assert_int_equal(open_store(f, 1, PASS, &s), 0);
	assert_string_equal(store_id(s), id);
	/* a new store is format 2: content-defined chunks of at most 8 MiB,
	 * and a signing key */
	assert_int_equal(store_chunk_size(s), 8 << 20);
	assert_int_equal(store_format(s), 2);
	assert_true(store_signs(s));
	assert_non_null(store_fingerprint(s));
	assert_int_equal(strncmp(store_fingerprint(s), "sha256:", 7), 0);
	assert_int_equal(store_target_count(s), 1);
	assert_string_equal(store_target_name(s, 0), "t1");
	assert_null(store_target_name(s, 1));

	fl = write_all(f, s, ids);
	assert_int_equal(fl->n_chunks, N_CHUNKS);
	assert_int_equal(fl->n_blobs, 1);
	assert_int_equal(fl->blobs[0].n_chunks, N_CHUNKS);

	/* the pack is on the target under its hash; staging is empty */
	pack_path(path, sizeof(path), f, 0, fl->pack_id);
	assert_int_equal(rv_fs_read_file(&file, path), 0);
	assert_int_equal(file.len, fl->size);
	rv_sha256_buf(sha, file.data, file.len);
	rv_hex_encode(hex, sha, 32);
	assert_string_equal(hex, fl->pack_id);
	assert_int_equal(count_files(f->staging), 0);

	assert_reads_back(f, s, fl, ids);

	/* a wrong id for the right bytes is refused */
	{
		struct rv_buf out = RV_BUF_INIT(8 << 20);
		const struct pack_chunk *c = find_chunk(fl, ids[0]);
		assert_int_equal(store_read_chunk(s, fl->pack_id, c->offset,
						  c->length, ids[1], &out),
				 RV_CORRUPT);
		assert_int_equal(out.len, 0);
		rv_buf_release(&out);
	}
	store_flushed_free(fl);
	store_free(s);
	rv_buf_release(&file);
}

static void test_store_reopen_reads_earlier_pack(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	struct store_flushed *fl;
	unsigned char ids[N_CHUNKS][32];
	char id[STORE_ID_HEX];

	init_store(f, 1, id);
	assert_int_equal(open_store(f, 1, PASS, &s), 0);
	fl = write_all(f, s, ids);
	store_free(s);
	s = NULL;
	assert_int_equal(open_store(f, 1, PASS, &s), 0);
	assert_reads_back(f, s, fl, ids);
	store_flushed_free(fl);
	store_free(s);
}

static void test_store_open_wrong_passphrase_is_key_error(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	char id[STORE_ID_HEX];

	init_store(f, 1, id);
	assert_int_equal(open_store(f, 1, "wrong", &s), RV_KEY);
	assert_null(s);
	assert_non_null(strstr(rv_err_msg(), id));
	assert_non_null(strstr(rv_err_msg(), "wrong passphrase"));
}

static void test_store_init_twice_is_refused(void **state)
{
	struct fixture *f = *state;
	struct target *t[1] = {NULL};
	char id[STORE_ID_HEX], id2[STORE_ID_HEX] = "";

	init_store(f, 1, id);
	open_targets(f, t, 1);
	assert_int_equal(store_init(t, 1, PASS, strlen(PASS), id2), RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "already initialised"));
	assert_string_equal(id2, "");
	target_free(t[0]);
}

static void test_store_open_uninitialised_is_notfound(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;

	assert_int_equal(open_store(f, 1, PASS, &s), RV_NOTFOUND);
	assert_non_null(strstr(rv_err_msg(), "regvault init"));
	assert_non_null(strstr(rv_err_msg(), "'t1'"));
}

static void write_config(struct fixture *f, int target, const char *id,
			 int format, long long chunk, long long pack)
{
	char path[256], doc[512];
	int n;

	snprintf(path, sizeof(path), "%s/regvault.json", f->tpath[target]);
	n = snprintf(doc, sizeof(doc),
		     "{\"chunker\":{\"size\":%lld,\"type\":\"fixed\"},"
		     "\"created\":\"2024-01-01T00:00:00Z\",\"format\":%d,"
		     "\"pack_size\":%lld,\"store_id\":\"%s\"}\n",
		     chunk, format, pack, id);
	assert_true(n > 0 && (size_t)n < sizeof(doc));
	assert_int_equal(rv_fs_write_atomic(path, doc, (size_t)n, 0600), 0);
}

static void test_store_open_checks_regvault_json(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	char id[STORE_ID_HEX];

	init_store(f, 1, id);
	write_config(f, 0, id, 3, 2 << 20, 32 << 20);
	assert_int_equal(open_store(f, 1, PASS, &s), RV_UNSUPPORTED);
	assert_non_null(strstr(rv_err_msg(), "upgrade regvault"));
	/* format 2 requires a signing key */
	write_config(f, 0, id, 2, 2 << 20, 32 << 20);
	assert_int_equal(open_store(f, 1, PASS, &s), RV_CORRUPT);
	write_config(f, 0, id, 1, 1024, 32 << 20);
	assert_int_equal(open_store(f, 1, PASS, &s), RV_CORRUPT);
	write_config(f, 0, id, 1, 2 << 20, 1024);
	assert_int_equal(open_store(f, 1, PASS, &s), RV_CORRUPT);
	write_config(f, 0, "nothex", 1, 2 << 20, 32 << 20);
	assert_int_equal(open_store(f, 1, PASS, &s), RV_CORRUPT);
	/* a format 1 store (fixed chunks, no signing key) still opens */
	write_config(f, 0, id, 1, 2 << 20, 32 << 20);
	assert_int_equal(open_store(f, 1, PASS, &s), 0);
	assert_int_equal(store_format(s), 1);
	assert_int_equal(store_chunk_size(s), 2 << 20);
	assert_false(store_signs(s));
	assert_null(store_fingerprint(s));
	store_free(s);
}

static void test_store_targets_must_share_store_id(void **state)
{
	struct fixture *f = *state;
	struct target *t[1] = {NULL};
	struct store *s = NULL;
	char id1[STORE_ID_HEX], id2[STORE_ID_HEX];

	init_store(f, 1, id1);
	assert_int_equal(target_dir_open(&t[0], "t2", f->tpath[1], 1), 0);
	assert_int_equal(store_init(t, 1, PASS, strlen(PASS), id2), 0);
	target_free(t[0]);
	assert_string_not_equal(id1, id2);
	assert_int_equal(open_store(f, 2, PASS, &s), RV_INVALID);
	assert_null(s);
}

static void test_store_pack_with_flipped_byte_is_corrupt(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	struct store_flushed *fl;
	unsigned char ids[N_CHUNKS][32];
	char id[STORE_ID_HEX], path[256];
	struct rv_buf out = RV_BUF_INIT(8 << 20);
	const struct pack_chunk *c;

	init_store(f, 1, id);
	assert_int_equal(open_store(f, 1, PASS, &s), 0);
	fl = write_all(f, s, ids);
	c = find_chunk(fl, ids[2]);
	pack_path(path, sizeof(path), f, 0, fl->pack_id);
	flip_byte(path, c->offset + c->length / 2);
	assert_int_equal(store_read_chunk(s, fl->pack_id, c->offset, c->length,
					  ids[2], &out),
			 RV_CORRUPT);
	assert_non_null(strstr(rv_err_msg(), "fails authentication on every"));
	assert_int_equal(out.len, 0);
	/* the other chunks are still fine */
	c = find_chunk(fl, ids[3]);
	assert_int_equal(store_read_chunk(s, fl->pack_id, c->offset, c->length,
					  ids[3], &out),
			 0);
	assert_int_equal(out.len, f->plain_len[3]);
	/* a pack nobody has */
	rv_buf_reset(&out);
	assert_int_equal(store_read_chunk(s,
					  "00000000000000000000000000000000"
					  "00000000000000000000000000000000",
					  c->offset, c->length, ids[3], &out),
			 RV_NOTFOUND);
	rv_buf_release(&out);
	store_flushed_free(fl);
	store_free(s);
}

static void test_store_reads_from_second_target_when_first_is_bad(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	struct store_flushed *fl;
	unsigned char ids[N_CHUNKS][32];
	char id[STORE_ID_HEX], path[256];
	struct rv_buf out = RV_BUF_INIT(8 << 20);

	init_store(f, 2, id);
	assert_int_equal(open_store(f, 2, PASS, &s), 0);
	assert_int_equal(store_target_count(s), 2);
	fl = write_all(f, s, ids);
	/* the pack went to both targets */
	pack_path(path, sizeof(path), f, 1, fl->pack_id);
	assert_int_equal(access(path, F_OK), 0);
	pack_path(path, sizeof(path), f, 0, fl->pack_id);
	assert_int_equal(access(path, F_OK), 0);

	/* damage every chunk on the first target */
	for (int i = 0; i < N_CHUNKS; i++) {
		const struct pack_chunk *c = find_chunk(fl, ids[i]);
		flip_byte(path, c->offset + c->length - 1);
	}
	assert_reads_back(f, s, fl, ids);

	/* gone from the first target entirely */
	assert_int_equal(unlink(path), 0);
	assert_reads_back(f, s, fl, ids);

	/* damaged on the second as well */
	pack_path(path, sizeof(path), f, 1, fl->pack_id);
	{
		const struct pack_chunk *c = find_chunk(fl, ids[0]);
		flip_byte(path, c->offset + 3);
		assert_int_equal(store_read_chunk(s, fl->pack_id, c->offset,
						  c->length, ids[0], &out),
				 RV_CORRUPT);
	}
	rv_buf_release(&out);
	store_flushed_free(fl);
	store_free(s);
}

static void test_store_rollback_and_generations(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	struct store_flushed *fl = NULL;
	struct pack_mark m0, m1;
	uint64_t g0, g1;
	unsigned char ids[N_CHUNKS][32];
	char id[STORE_ID_HEX];

	init_store(f, 1, id);
	assert_int_equal(open_store(f, 1, PASS, &s), 0);
	for (int i = 0; i < N_CHUNKS; i++)
		assert_int_equal(
		    store_chunk_id(ids[i], s, f->plain[i], f->plain_len[i]), 0);

	/* nothing open: flushing does nothing */
	assert_int_equal(store_flush(s, &fl), 0);
	assert_null(fl);

	store_mark(s, &m0, &g0);
	assert_int_equal(
	    store_add_chunk(s, ids[0], f->plain[0], f->plain_len[0]), 0);
	store_mark(s, &m1, &g1);
	assert_int_equal(g0, g1);
	assert_int_equal(
	    store_add_chunk(s, ids[1], f->plain[1], f->plain_len[1]), 0);
	assert_int_equal(store_rollback(s, &m1, g1), 0);
	assert_true(store_pack_open(s));
	assert_int_equal(store_rollback(s, &m0, g0), 0);
	assert_false(store_pack_open(s));

	assert_int_equal(
	    store_add_chunk(s, ids[2], f->plain[2], f->plain_len[2]), 0);
	assert_int_equal(store_flush(s, &fl), 0);
	assert_non_null(fl);
	assert_int_equal(fl->n_chunks, 1);
	assert_memory_equal(fl->chunks[0].id, ids[2], 32);
	/* a mark from before the flush is stale */
	assert_int_equal(store_rollback(s, &m0, g0), RV_INVALID);
	store_flushed_free(fl);
	store_free(s);
}

static void test_store_pack_full_at_pack_size(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	unsigned char cid[32];
	char id[STORE_ID_HEX];

	init_store(f, 1, id);
	write_config(f, 0, id, 1, 512 << 10, 1 << 20);
	assert_int_equal(open_store(f, 1, PASS, &s), 0);
	assert_false(store_pack_full(s));
	assert_int_equal(store_chunk_id(cid, s, f->plain[0], f->plain_len[0]),
			 0);
	assert_int_equal(store_add_chunk(s, cid, f->plain[0], f->plain_len[0]),
			 0);
	assert_false(store_pack_full(s));
	fill_random(f->plain[5], 400000, 99);
	assert_int_equal(store_chunk_id(cid, s, f->plain[5], 400000), 0);
	assert_int_equal(store_add_chunk(s, cid, f->plain[5], 400000), 0);
	assert_false(store_pack_full(s));
	fill_random(f->plain[5], 400000, 100);
	assert_int_equal(store_chunk_id(cid, s, f->plain[5], 400000), 0);
	assert_int_equal(store_add_chunk(s, cid, f->plain[5], 400000), 0);
	assert_true(store_pack_full(s));
	/* a chunk larger than twice the chunk size is refused */
	assert_int_equal(store_add_chunk(s, cid, f->plain[3], 2 << 20),
			 RV_INVALID);
	store_free(s);
	/* the unflushed pack was removed from staging */
	assert_int_equal(count_files(f->staging), 0);
}

static void test_store_snapshot_round_trip(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	char id[STORE_ID_HEX], path[256];
	const char *snap_id =
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	const char *other =
	    "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	const char *json = "{\"source\":\"reg\",\"tags\":{\"a:1\":\"x\"}}";
	struct rv_buf out = RV_BUF_INIT(1 << 20);

	init_store(f, 2, id);
	assert_int_equal(open_store(f, 2, PASS, &s), 0);
	assert_int_equal(store_put_snapshot(s, snap_id, json, strlen(json), NULL), 0);
	assert_int_equal(store_get_snapshot(s, snap_id, &out), 0);
	assert_int_equal(out.len, strlen(json));
	assert_memory_equal(out.data, json, out.len);

	/* damaged on the first target: read from the second */
	snprintf(path, sizeof(path), "%s/snapshots/%s", f->tpath[0], snap_id);
	flip_byte(path, 60);
	rv_buf_reset(&out);
	assert_int_equal(store_get_snapshot(s, snap_id, &out), 0);
	assert_memory_equal(out.data, json, out.len);

	/* a snapshot copied under another id does not open */
	{
		struct rv_buf sealed = RV_BUF_INIT(1 << 20);
		char opath[256];
		snprintf(path, sizeof(path), "%s/snapshots/%s", f->tpath[1],
			 snap_id);
		assert_int_equal(rv_fs_read_file(&sealed, path), 0);
		for (int i = 0; i < 2; i++) {
			snprintf(opath, sizeof(opath), "%s/snapshots/%s",
				 f->tpath[i], other);
			assert_int_equal(rv_fs_write_atomic(opath, sealed.data,
							    sealed.len, 0600),
					 0);
		}
		rv_buf_reset(&out);
		assert_int_equal(store_get_snapshot(s, other, &out),
				 RV_CORRUPT);
		rv_buf_release(&sealed);
	}
	assert_int_equal(store_get_snapshot(s,
					    "2123456789abcdef0123456789abcdef"
					    "0123456789abcdef0123456789abcdef",
					    &out),
			 RV_NOTFOUND);
	assert_int_equal(store_put_snapshot(s, "../../etc", "x", 1, NULL),
			 RV_INVALID);
	rv_buf_release(&out);
	store_free(s);
}

static void test_store_open_skips_corrupt_key_slot(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	struct target *t = NULL;
	char id[STORE_ID_HEX], path[256];
	struct rv_strlist names = RV_STRLIST_INIT;

	init_store(f, 1, id);
	/* a damaged extra slot sorts first and is skipped */
	snprintf(path, sizeof(path), "%s/keys/0000000000000000", f->tpath[0]);
	assert_int_equal(rv_fs_write_atomic(path, "{not json", 9, 0600), 0);
	assert_int_equal(open_store(f, 1, PASS, &s), 0);
	store_free(s);
	s = NULL;

	/* with every slot damaged the store is corrupt */
	assert_int_equal(target_dir_open(&t, "t1", f->tpath[0], 0), 0);
	assert_int_equal(target_list(t, "keys/", &names), 0);
	assert_int_equal(names.n, 2);
	for (size_t i = 0; i < names.n; i++)
		assert_int_equal(target_put_buf(t, names.items[i], "[]", 2), 0);
	target_free(t);
	rv_strlist_release(&names);
	assert_int_equal(open_store(f, 1, PASS, &s), RV_CORRUPT);
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_store_init_open_write_read_back),
	    T(test_store_reopen_reads_earlier_pack),
	    T(test_store_open_wrong_passphrase_is_key_error),
	    T(test_store_init_twice_is_refused),
	    T(test_store_open_uninitialised_is_notfound),
	    T(test_store_open_checks_regvault_json),
	    T(test_store_targets_must_share_store_id),
	    T(test_store_pack_with_flipped_byte_is_corrupt),
	    T(test_store_reads_from_second_target_when_first_is_bad),
	    T(test_store_rollback_and_generations),
	    T(test_store_pack_full_at_pack_size),
	    T(test_store_snapshot_round_trip),
	    T(test_store_open_skips_corrupt_key_slot),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
