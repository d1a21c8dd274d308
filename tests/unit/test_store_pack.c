/* test_store_pack.c - packs: write, read the index back, roll back, and
 * detect damage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/frame.h"
#include "store/pack.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_CHUNKS 5

struct fixture {
	char dir[64];
	unsigned char key[32];
	unsigned char *plain[N_CHUNKS];
	size_t plain_len[N_CHUNKS];
	unsigned char id[N_CHUNKS][32];
	struct rv_buf pack;
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
	static const size_t lens[N_CHUNKS] = {100000, 70000, 1, 200000, 4096};
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/rv-pack-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	fill_random(f->key, sizeof(f->key), 42);
	for (int i = 0; i < N_CHUNKS; i++) {
		f->plain_len[i] = lens[i];
		f->plain[i] = malloc(lens[i]);
		if (!f->plain[i])
			return -1;
		if (i < 3)
			fill_random(f->plain[i], lens[i], (uint64_t)i + 7);
		else
			memset(f->plain[i], 'a' + i, lens[i]);
		rv_sha256_buf(f->id[i], f->plain[i], lens[i]);
	}
	rv_buf_init(&f->pack, 64 << 20);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < N_CHUNKS; i++)
		free(f->plain[i]);
	rv_buf_release(&f->pack);
	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void make_blob(struct pack_blob *b, const char *seed, int kind,
		      unsigned char (*chunks)[32], size_t n)
{
	memset(b, 0, sizeof(*b));
	assert_int_equal(rv_digest_of(b->digest, seed, strlen(seed)), 0);
	b->size = (int64_t)strlen(seed) * 1000;
	b->kind = kind;
	if (kind == PACK_MANIFEST)
		snprintf(b->media_type, sizeof(b->media_type), "%s",
			 "application/vnd.oci.image.manifest.v1+json");
	b->chunks = chunks;
	b->n_chunks = n;
}

/* Write every chunk of the fixture and two blobs; finish; load the file. */
static struct pack_writer *write_pack(struct fixture *f,
				      char pack_id[PACK_ID_HEX])
{
	struct pack_writer *w = NULL;
	struct pack_blob b;

	assert_int_equal(pack_writer_new(&w, f->dir, f->key), 0);
	for (int i = 0; i < N_CHUNKS; i++)
		assert_int_equal(pack_writer_add_chunk(w, f->id[i], f->plain[i],
						       f->plain_len[i]),
				 0);
	make_blob(&b, "layer", PACK_BLOB, f->id, 3);
	assert_int_equal(pack_writer_add_blob(w, &b), 0);
	make_blob(&b, "manifest", PACK_MANIFEST, f->id + 4, 1);
	assert_int_equal(pack_writer_add_blob(w, &b), 0);
	assert_int_equal(pack_writer_finish(w, pack_id), 0);
	rv_buf_reset(&f->pack);
	assert_int_equal(rv_fs_read_file(&f->pack, pack_writer_path(w)), 0);
	return w;
}

static void assert_chunk_opens(const struct fixture *f,
			       const struct pack_chunk *c, int i)
{
	struct rv_buf plain = RV_BUF_INIT(1 << 20);

	assert_true(c->offset + c->length <= f->pack.len);
	assert_int_equal(frame_open(&plain, f->key, FRAME_CHUNK, f->id[i],
				    f->pack.data + c->offset, c->length),
			 0);
	assert_int_equal(plain.len, f->plain_len[i]);
	assert_memory_equal(plain.data, f->plain[i], plain.len);
	rv_buf_release(&plain);
}

static void test_pack_round_trip_lists_chunks_and_blobs(void **state)
{
	struct fixture *f = *state;
	char pack_id[PACK_ID_HEX], hex[65];
	unsigned char sha[32];
	struct pack_index *ix = NULL;
	const struct pack_chunk *wc;
	const struct pack_blob *wb;
	size_t n_wc, n_wb;
	struct pack_writer *w = write_pack(f, pack_id);

	/* the id is the sha256 of the file, and the writer knew its size */
	rv_sha256_buf(sha, f->pack.data, f->pack.len);
	rv_hex_encode(hex, sha, 32);
	assert_string_equal(pack_id, hex);
	assert_int_equal(pack_writer_size(w), f->pack.len);
	assert_int_equal(f->pack.len % 512, 0);

	wc = pack_writer_chunks(w, &n_wc);
	wb = pack_writer_blobs(w, &n_wb);
	assert_int_equal(n_wc, N_CHUNKS);
	assert_int_equal(n_wb, 2);

	assert_int_equal(
	    pack_index_read(&ix, f->key, f->pack.data, f->pack.len), 0);
	assert_int_equal(ix->n_chunks, N_CHUNKS);
	for (int i = 0; i < N_CHUNKS; i++) {
		assert_memory_equal(ix->chunks[i].id, f->id[i], 32);
		assert_int_equal(ix->chunks[i].offset, wc[i].offset);
		assert_int_equal(ix->chunks[i].length, wc[i].length);
		assert_int_equal(ix->chunks[i].plain_len, f->plain_len[i]);
		assert_chunk_opens(f, &ix->chunks[i], i);
	}
	/* compressible chunks were compressed, random ones were not */
	assert_true(ix->chunks[3].length < f->plain_len[3] / 10);
	assert_true(ix->chunks[0].length >= f->plain_len[0]);

	assert_int_equal(ix->n_blobs, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(ix->blobs[i].digest, wb[i].digest);
		assert_int_equal(ix->blobs[i].size, wb[i].size);
		assert_int_equal(ix->blobs[i].kind, wb[i].kind);
		assert_string_equal(ix->blobs[i].media_type, wb[i].media_type);
		assert_int_equal(ix->blobs[i].n_chunks, wb[i].n_chunks);
		assert_memory_equal(ix->blobs[i].chunks, wb[i].chunks,
				    32 * wb[i].n_chunks);
	}
	assert_int_equal(ix->blobs[0].kind, PACK_BLOB);
	assert_int_equal(ix->blobs[1].kind, PACK_MANIFEST);
	assert_memory_equal(ix->blobs[1].chunks[0], f->id[4], 32);
	pack_index_free(ix);
	pack_writer_free(w);
}

static void test_pack_is_a_plain_tar(void **state)
{
	struct fixture *f = *state;
	char pack_id[PACK_ID_HEX], want[80], hex[65];
	struct pack_writer *w = write_pack(f, pack_id);
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int n = 0;

	assert_non_null(a);
	assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
	assert_int_equal(archive_read_open_memory(a, f->pack.data, f->pack.len),
			 ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (n < N_CHUNKS) {
			rv_hex_encode(hex, f->id[n], 32);
			snprintf(want, sizeof(want), "chunks/%s", hex);
		} else {
			snprintf(want, sizeof(want), "index");
		}
		assert_string_equal(archive_entry_pathname(e), want);
		assert_int_equal(archive_entry_mtime(e), 0);
		assert_int_equal(archive_entry_uid(e), 0);
		assert_int_equal(archive_entry_perm(e), 0600);
		n++;
	}
	assert_int_equal(n, N_CHUNKS + 1);
	archive_read_free(a);
	pack_writer_free(w);
}

static void test_pack_rollback_drops_last_chunks(void **state)
{
	struct fixture *f = *state;
	struct pack_writer *w = NULL;
	struct pack_mark m, later;
	struct pack_index *ix = NULL;
	struct pack_blob b;
	char pack_id[PACK_ID_HEX], hex[65];
	unsigned char sha[32];
	size_t n;

	assert_int_equal(pack_writer_new(&w, f->dir, f->key), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pack_writer_add_chunk(w, f->id[i], f->plain[i],
						       f->plain_len[i]),
				 0);
	pack_writer_mark(w, &m);
	for (int i = 2; i < 4; i++)
		assert_int_equal(pack_writer_add_chunk(w, f->id[i], f->plain[i],
						       f->plain_len[i]),
				 0);
	make_blob(&b, "dropped", PACK_BLOB, f->id + 2, 2);
	assert_int_equal(pack_writer_add_blob(w, &b), 0);
	pack_writer_mark(w, &later);
	assert_true(pack_writer_size(w) > m.offset);

	assert_int_equal(pack_writer_rollback(w, &m), 0);
	assert_int_equal(pack_writer_size(w), m.offset);
	pack_writer_chunks(w, &n);
	assert_int_equal(n, 2);
	pack_writer_blobs(w, &n);
	assert_int_equal(n, 0);
	/* a mark beyond what is left cannot be rolled back to, nor one
	 * that points into the middle of an entry */
	assert_int_equal(pack_writer_rollback(w, &later), RV_INVALID);
	later = m;
	later.offset -= 100;
	assert_int_equal(pack_writer_rollback(w, &later), RV_INVALID);
	assert_int_equal(pack_writer_size(w), m.offset);

	/* chunk 2 was dropped, so it can be added again */
	assert_int_equal(
	    pack_writer_add_chunk(w, f->id[2], f->plain[2], f->plain_len[2]),
	    0);
	assert_int_equal(
	    pack_writer_add_chunk(w, f->id[4], f->plain[4], f->plain_len[4]),
	    0);
	assert_int_equal(pack_writer_finish(w, pack_id), 0);
	assert_int_equal(rv_fs_read_file(&f->pack, pack_writer_path(w)), 0);
	rv_sha256_buf(sha, f->pack.data, f->pack.len);
	rv_hex_encode(hex, sha, 32);
	assert_string_equal(pack_id, hex);

	assert_int_equal(
	    pack_index_read(&ix, f->key, f->pack.data, f->pack.len), 0);
	assert_int_equal(ix->n_chunks, 4);
	assert_int_equal(ix->n_blobs, 0);
	assert_memory_equal(ix->chunks[2].id, f->id[2], 32);
	assert_memory_equal(ix->chunks[3].id, f->id[4], 32);
	assert_chunk_opens(f, &ix->chunks[0], 0);
	assert_chunk_opens(f, &ix->chunks[2], 2);
	assert_chunk_opens(f, &ix->chunks[3], 4);
	pack_index_free(ix);
	pack_writer_free(w);
}

static void test_pack_rollback_to_empty(void **state)
{
	struct fixture *f = *state;
	struct pack_writer *w = NULL;
	struct pack_mark m;
	struct pack_index *ix = NULL;
	char pack_id[PACK_ID_HEX];

	assert_int_equal(pack_writer_new(&w, f->dir, f->key), 0);
	pack_writer_mark(w, &m);
	assert_int_equal(m.offset, 0);
	assert_int_equal(
	    pack_writer_add_chunk(w, f->id[0], f->plain[0], f->plain_len[0]),
	    0);
	assert_int_equal(pack_writer_rollback(w, &m), 0);
	assert_int_equal(pack_writer_size(w), 0);
	assert_int_equal(
	    pack_writer_add_chunk(w, f->id[1], f->plain[1], f->plain_len[1]),
	    0);
	assert_int_equal(pack_writer_finish(w, pack_id), 0);
	assert_int_equal(rv_fs_read_file(&f->pack, pack_writer_path(w)), 0);
	assert_int_equal(
	    pack_index_read(&ix, f->key, f->pack.data, f->pack.len), 0);
	assert_int_equal(ix->n_chunks, 1);
	assert_int_equal(ix->chunks[0].offset, 512);
	assert_chunk_opens(f, &ix->chunks[0], 1);
	pack_index_free(ix);
	pack_writer_free(w);
}

static void test_pack_flipped_byte_in_chunk_is_detected(void **state)
{
	struct fixture *f = *state;
	char pack_id[PACK_ID_HEX];
	struct pack_writer *w = write_pack(f, pack_id);
	struct pack_index *ix = NULL;
	struct rv_buf plain = RV_BUF_INIT(1 << 20);
	const struct pack_chunk *c;

	assert_int_equal(
	    pack_index_read(&ix, f->key, f->pack.data, f->pack.len), 0);
	c = &ix->chunks[1];
	f->pack.data[c->offset + c->length / 2] ^= 0x01;
	assert_int_equal(frame_open(&plain, f->key, FRAME_CHUNK, f->id[1],
				    f->pack.data + c->offset, c->length),
			 RV_CORRUPT);
	/* the others still open, and so does the index */
	assert_chunk_opens(f, &ix->chunks[0], 0);
	assert_chunk_opens(f, &ix->chunks[2], 2);
	pack_index_free(ix);
	ix = NULL;
	assert_int_equal(
	    pack_index_read(&ix, f->key, f->pack.data, f->pack.len), 0);
	pack_index_free(ix);
	rv_buf_release(&plain);
	pack_writer_free(w);
}

/* Offset of the index entry's data: after the last chunk, padded. */
static size_t index_offset(const struct pack_chunk *last)
{
	size_t end = last->offset + last->length;
	return (end + 511) / 512 * 512 + 512;
}

static void test_pack_tampered_index_is_corrupt(void **state)
{
	struct fixture *f = *state;
	char pack_id[PACK_ID_HEX];
	struct pack_writer *w = write_pack(f, pack_id);
	struct pack_index *ix = NULL;
	const struct pack_chunk *wc;
	size_t n, off;

	wc = pack_writer_chunks(w, &n);
	off = index_offset(&wc[n - 1]);
	f->pack.data[off + 70] ^= 0x80;
	assert_int_equal(
	    pack_index_read(&ix, f->key, f->pack.data, f->pack.len),
	    RV_CORRUPT);
	assert_null(ix);
	f->pack.data[off + 70] ^= 0x80;
	assert_int_equal(
	    pack_index_read(&ix, f->key, f->pack.data, f->pack.len), 0);
	pack_index_free(ix);
	ix = NULL;

	/* a tar header changed (a chunk's name) */
	f->pack.data[wc[0].offset - 512 + 10] ^= 0x01;
	assert_int_equal(
	    pack_index_read(&ix, f->key, f->pack.data, f->pack.len),
	    RV_CORRUPT);
	assert_null(ix);
	pack_writer_free(w);
}

static void test_pack_index_needs_the_right_key(void **state)
{
	struct fixture *f = *state;
	char pack_id[PACK_ID_HEX];
	struct pack_writer *w = write_pack(f, pack_id);
	struct pack_index *ix = NULL;
	unsigned char other[32];

	memcpy(other, f->key, 32);
	other[0] ^= 1;
	assert_int_equal(pack_index_read(&ix, other, f->pack.data, f->pack.len),
			 RV_CORRUPT);
	assert_null(ix);
	pack_writer_free(w);
}

static void test_pack_truncated_is_corrupt(void **state)
{
	struct fixture *f = *state;
	char pack_id[PACK_ID_HEX];
	struct pack_writer *w = write_pack(f, pack_id);
	struct pack_index *ix = NULL;
	const struct pack_chunk *wc;
	size_t n;

	wc = pack_writer_chunks(w, &n);
	/* cut inside the index, inside a chunk, and inside a header */
	assert_int_equal(pack_index_read(&ix, f->key, f->pack.data,
					 index_offset(&wc[n - 1]) + 20),
			 RV_CORRUPT);
	assert_int_equal(
	    pack_index_read(&ix, f->key, f->pack.data, wc[2].offset + 10),
	    RV_CORRUPT);
	assert_int_equal(pack_index_read(&ix, f->key, f->pack.data, 100),
			 RV_CORRUPT);
	assert_int_equal(pack_index_read(&ix, f->key, f->pack.data, 0),
			 RV_CORRUPT);
	assert_null(ix);
	pack_writer_free(w);
}

static void test_pack_writer_ignores_duplicate_chunk(void **state)
{
	struct fixture *f = *state;
	struct pack_writer *w = NULL;
	uint64_t size;
	size_t n;

	assert_int_equal(pack_writer_new(&w, f->dir, f->key), 0);
	assert_int_equal(
	    pack_writer_add_chunk(w, f->id[0], f->plain[0], f->plain_len[0]),
	    0);
	size = pack_writer_size(w);
	assert_int_equal(
	    pack_writer_add_chunk(w, f->id[0], f->plain[0], f->plain_len[0]),
	    0);
	assert_int_equal(pack_writer_size(w), size);
	pack_writer_chunks(w, &n);
	assert_int_equal(n, 1);
	pack_writer_free(w);
}

static void test_pack_writer_refuses_bad_blob(void **state)
{
	struct fixture *f = *state;
	struct pack_writer *w = NULL;
	struct pack_blob b;
	size_t n;

	assert_int_equal(pack_writer_new(&w, f->dir, f->key), 0);
	make_blob(&b, "x", PACK_BLOB, f->id, 1);
	snprintf(b.digest, sizeof(b.digest), "md5:abc");
	assert_int_equal(pack_writer_add_blob(w, &b), RV_INVALID);
	make_blob(&b, "x", PACK_MANIFEST, f->id, 1);
	snprintf(b.media_type, sizeof(b.media_type), "bad\"type");
	assert_int_equal(pack_writer_add_blob(w, &b), RV_INVALID);
	make_blob(&b, "x", 7, f->id, 1);
	assert_int_equal(pack_writer_add_blob(w, &b), RV_INVALID);
	pack_writer_blobs(w, &n);
	assert_int_equal(n, 0);
	pack_writer_free(w);
}

static void test_pack_finished_refuses_more(void **state)
{
	struct fixture *f = *state;
	char pack_id[PACK_ID_HEX], path[256];
	struct pack_writer *w = write_pack(f, pack_id);
	struct pack_mark m = {0, 0, 0};

	assert_int_equal(pack_writer_add_chunk(w, f->id[0], "x", 1),
			 RV_INVALID);
	assert_int_equal(pack_writer_rollback(w, &m), RV_INVALID);
	assert_int_equal(pack_writer_finish(w, pack_id), RV_INVALID);
	/* free removes the temporary file */
	snprintf(path, sizeof(path), "%s", pack_writer_path(w));
	assert_int_equal(access(path, F_OK), 0);
	pack_writer_free(w);
	assert_int_not_equal(access(path, F_OK), 0);
	pack_writer_free(NULL);
}

static void test_pack_failed_write_leaves_writer_usable(void **state)
{
	struct fixture *f = *state;
	struct pack_writer *w = NULL;
	struct pack_index *ix = NULL;
	struct rlimit old, lim;
	char pack_id[PACK_ID_HEX], hex[65];
	unsigned char sha[32];
	uint64_t size;
	size_t n;

	assert_int_equal(pack_writer_new(&w, f->dir, f->key), 0);
	assert_int_equal(
	    pack_writer_add_chunk(w, f->id[0], f->plain[0], f->plain_len[0]),
	    0);
	size = pack_writer_size(w);

	/* the file may not grow past 1000 more bytes: the next write fails
	 * half way (EFBIG), as it would on a full disk */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = size + 1000;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(
	    pack_writer_add_chunk(w, f->id[1], f->plain[1], f->plain_len[1]),
	    RV_IO);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);

	assert_int_equal(pack_writer_size(w), size);
	pack_writer_chunks(w, &n);
	assert_int_equal(n, 1);
	assert_int_equal(
	    pack_writer_add_chunk(w, f->id[1], f->plain[1], f->plain_len[1]),
	    0);
	assert_int_equal(pack_writer_finish(w, pack_id), 0);
	assert_int_equal(rv_fs_read_file(&f->pack, pack_writer_path(w)), 0);
	rv_sha256_buf(sha, f->pack.data, f->pack.len);
	rv_hex_encode(hex, sha, 32);
	assert_string_equal(pack_id, hex);
	assert_int_equal(
	    pack_index_read(&ix, f->key, f->pack.data, f->pack.len), 0);
	assert_int_equal(ix->n_chunks, 2);
	assert_chunk_opens(f, &ix->chunks[0], 0);
	assert_chunk_opens(f, &ix->chunks[1], 1);
	pack_index_free(ix);
	pack_writer_free(w);
}

/* ---- hand-made packs ---------------------------------------------- */

struct entry {
	char name[80];
	struct rv_buf data;
	int real; /* one of the two chunks the index should list */
};

static void build_tar(struct rv_buf *out, struct entry *e, size_t n)
{
	struct archive *a = archive_write_new();
	size_t used = 0;

	assert_non_null(a);
	assert_int_equal(rv_buf_reserve(out, 4 << 20), 0);
	assert_int_equal(archive_write_set_format_ustar(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_per_block(a, 0), ARCHIVE_OK);
	assert_int_equal(
	    archive_write_open_memory(a, out->data, 4 << 20, &used),
	    ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0600);
		archive_entry_set_size(ae, (la_int64_t)e[i].data.len);
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		assert_int_equal(
		    archive_write_data(a, e[i].data.data, e[i].data.len),
		    (la_ssize_t)e[i].data.len);
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	out->len = used;
}

enum craft_index {
	INDEX_GOOD,
	INDEX_WRONG_OFFSET, /* the second chunk's offset is off by 512 */
	INDEX_LISTED_TWICE, /* the first chunk listed for both */
	INDEX_NOT_JSON,
	INDEX_VERSION_2,
};

static void craft_json(struct rv_buf *json, enum craft_index kind,
		       char hex[2][65], const size_t off[2],
		       const size_t len[2])
{
	if (kind == INDEX_NOT_JSON) {
		assert_int_equal(rv_buf_puts(json, "{\"version\":1,\"chu"), 0);
		return;
	}
	assert_int_equal(rv_buf_printf(json, "{\"version\":%d,\"chunks\":[",
				       kind == INDEX_VERSION_2 ? 2 : 1),
			 0);
	for (int i = 0; i < 2; i++) {
		int which = kind == INDEX_LISTED_TWICE ? 0 : i;
		size_t o = off[which] +
			   (kind == INDEX_WRONG_OFFSET && i == 1 ? 512 : 0);
		assert_int_equal(
		    rv_buf_printf(json,
				  "%s{\"id\":\"%s\",\"offset\":%zu,"
				  "\"length\":%zu,\"plain\":1}",
				  i ? "," : "", hex[which], o, len[which]),
		    0);
	}
	assert_int_equal(rv_buf_puts(json, "],\"blobs\":[]}"), 0);
}

/* Two sealed chunks and an index of the given kind; extra (when not NULL)
 * names one more entry put at position extra_at (3 = after the index).
 * Returns what pack_index_read says. */
static int crafted_read(struct fixture *f, enum craft_index kind,
			const char *extra, size_t extra_at)
{
	static const unsigned char zero[32];
	struct entry e[4];
	struct rv_buf json = RV_BUF_INIT(1 << 20);
	struct pack_index *ix = NULL;
	size_t n = 0, off[2] = {0, 0}, len[2] = {0, 0}, pos = 0, k = 0;
	char hex[2][65];
	int rc, chunk_i = 0;

	memset(e, 0, sizeof(e));
	for (size_t i = 0; i < 3; i++) {
		struct entry *x = &e[n++];
		rv_buf_init(&x->data, 1 << 20);
		if (extra && i == extra_at) {
			snprintf(x->name, sizeof(x->name), "%s", extra);
			/* an extra chunk entry holds a real sealed chunk */
			assert_int_equal(frame_seal(&x->data, f->key,
						    FRAME_CHUNK, f->id[0],
						    f->plain[0], 1, 1),
					 0);
			continue;
		}
		if (chunk_i == 2) {
			n--;
			rv_buf_release(&x->data);
			break;
		}
		rv_hex_encode(hex[chunk_i], f->id[chunk_i], 32);
		snprintf(x->name, sizeof(x->name), "chunks/%s", hex[chunk_i]);
		assert_int_equal(frame_seal(&x->data, f->key, FRAME_CHUNK,
					    f->id[chunk_i], f->plain[chunk_i],
					    f->plain_len[chunk_i], 1),
				 0);
		x->real = 1;
		chunk_i++;
	}
	for (size_t i = 0; i < n; i++) {
		size_t data = pos + 512;
		if (e[i].real) {
			off[k] = data;
			len[k] = e[i].data.len;
			k++;
		}
		pos = data + (e[i].data.len + 511) / 512 * 512;
	}
	craft_json(&json, kind, hex, off, len);
	snprintf(e[n].name, sizeof(e[n].name), "index");
	rv_buf_init(&e[n].data, 1 << 20);
	assert_int_equal(frame_seal(&e[n].data, f->key, FRAME_PACK_INDEX, zero,
				    json.data, json.len, 1),
			 0);
	n++;
	if (extra && extra_at == 3) {
		snprintf(e[n].name, sizeof(e[n].name), "%s", extra);
		rv_buf_init(&e[n].data, 16);
		assert_int_equal(rv_buf_add(&e[n].data, "x", 1), 0);
		n++;
	}
	rv_buf_reset(&f->pack);
	build_tar(&f->pack, e, n);
	rc = pack_index_read(&ix, f->key, f->pack.data, f->pack.len);
	if (!rc) {
		assert_int_equal(ix->n_chunks, 2);
		assert_int_equal(ix->chunks[1].offset, off[1]);
		pack_index_free(ix);
	} else {
		assert_null(ix);
	}
	for (size_t i = 0; i < n; i++)
		rv_buf_release(&e[i].data);
	rv_buf_release(&json);
	return rc;
}

#define assert_msg_has(text) assert_non_null(strstr(rv_err_msg(), (text)))

static void test_pack_index_accepts_hand_made_pack(void **state)
{
	assert_int_equal(crafted_read(*state, INDEX_GOOD, NULL, 0), 0);
}

static void test_pack_index_rejects_wrong_offset(void **state)
{
	assert_int_equal(crafted_read(*state, INDEX_WRONG_OFFSET, NULL, 0),
			 RV_CORRUPT);
	assert_msg_has("but the pack holds it at");
}

static void test_pack_index_rejects_unlisted_chunk(void **state)
{
	struct fixture *f = *state;
	char name[80], hex[65];

	rv_hex_encode(hex, f->id[3], 32);
	snprintf(name, sizeof(name), "chunks/%s", hex);
	assert_int_equal(crafted_read(f, INDEX_GOOD, name, 2), RV_CORRUPT);
	assert_msg_has("lists 2 chunks but the pack holds 3");
	assert_int_equal(crafted_read(f, INDEX_GOOD, name, 0), RV_CORRUPT);
	assert_msg_has("lists 2 chunks but the pack holds 3");
}

static void test_pack_index_rejects_unknown_entry(void **state)
{
	struct fixture *f = *state;
	char name[80], hex[65];

	assert_int_equal(crafted_read(f, INDEX_GOOD, "notes.txt", 1),
			 RV_CORRUPT);
	assert_msg_has("unknown entry 'notes.txt'");
	assert_int_equal(crafted_read(f, INDEX_GOOD, "chunks/zz", 1),
			 RV_CORRUPT);
	assert_msg_has("unknown entry 'chunks/zz'");
	rv_hex_encode(hex, f->id[3], 32);
	hex[0] = 'A'; /* upper-case hex is not ours */
	snprintf(name, sizeof(name), "chunks/%s", hex);
	assert_int_equal(crafted_read(f, INDEX_GOOD, name, 1), RV_CORRUPT);
	assert_msg_has("unknown entry");
}

static void test_pack_index_rejects_duplicate_entry(void **state)
{
	struct fixture *f = *state;
	char name[80], hex[65];

	rv_hex_encode(hex, f->id[1], 32);
	snprintf(name, sizeof(name), "chunks/%s", hex);
	assert_int_equal(crafted_read(f, INDEX_GOOD, name, 1), RV_CORRUPT);
	assert_msg_has("twice");
}

static void test_pack_index_rejects_entry_after_index(void **state)
{
	assert_int_equal(crafted_read(*state, INDEX_GOOD, "late", 3),
			 RV_CORRUPT);
	assert_msg_has("after its index");
}

static void test_pack_index_rejects_chunk_listed_twice(void **state)
{
	assert_int_equal(crafted_read(*state, INDEX_LISTED_TWICE, NULL, 0),
			 RV_CORRUPT);
	assert_msg_has("lists chunk");
}

static void test_pack_index_rejects_bad_json(void **state)
{
	assert_int_equal(crafted_read(*state, INDEX_NOT_JSON, NULL, 0),
			 RV_CORRUPT);
	assert_msg_has("not JSON");
	assert_int_equal(crafted_read(*state, INDEX_VERSION_2, NULL, 0),
			 RV_UNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_pack_round_trip_lists_chunks_and_blobs),
	    T(test_pack_is_a_plain_tar),
	    T(test_pack_rollback_drops_last_chunks),
	    T(test_pack_rollback_to_empty),
	    T(test_pack_flipped_byte_in_chunk_is_detected),
	    T(test_pack_tampered_index_is_corrupt),
	    T(test_pack_index_needs_the_right_key),
	    T(test_pack_truncated_is_corrupt),
	    T(test_pack_writer_ignores_duplicate_chunk),
	    T(test_pack_writer_refuses_bad_blob),
	    T(test_pack_finished_refuses_more),
	    T(test_pack_failed_write_leaves_writer_usable),
	    T(test_pack_index_accepts_hand_made_pack),
	    T(test_pack_index_rejects_wrong_offset),
	    T(test_pack_index_rejects_unlisted_chunk),
	    T(test_pack_index_rejects_unknown_entry),
	    T(test_pack_index_rejects_duplicate_entry),
	    T(test_pack_index_rejects_entry_after_index),
	    T(test_pack_index_rejects_chunk_listed_twice),
	    T(test_pack_index_rejects_bad_json),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
