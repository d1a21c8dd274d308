/* test_store_frame.c - sealing and opening frames (store/frame.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/frame.h"
#include "util/buf.h"
#include "util/err.h"

#include <openssl/rand.h>

#include <stdlib.h>
#include <string.h>

#define HDR 56
#define TAG 16
#define BIG_MAX ((size_t)4 << 30)

static unsigned char key[32], other_key[32];
static unsigned char id[FRAME_ID_LEN], other_id[FRAME_ID_LEN];

static int setup_keys(void **state)
{
	(void)state;
	assert_int_equal(RAND_bytes(key, sizeof(key)), 1);
	memcpy(other_key, key, sizeof(key));
	other_key[31] ^= 0x01;
	assert_int_equal(RAND_bytes(id, sizeof(id)), 1);
	memcpy(other_id, id, sizeof(id));
	other_id[0] ^= 0x80;
	return 0;
}

static unsigned char *random_bytes(size_t n)
{
	unsigned char *p = malloc(n ? n : 1);

	assert_non_null(p);
	if (n)
		assert_int_equal(RAND_bytes(p, (int)n), 1);
	return p;
}

static unsigned char *text_bytes(size_t n)
{
	static const char line[] = "layer sha256:0123456789abcdef repeated "
				   "text compresses well\n";
	unsigned char *p = malloc(n ? n : 1);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)line[i % (sizeof(line) - 1)];
	return p;
}

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

static size_t nseg_of(size_t body_len)
{
	size_t n = (body_len + FRAME_SEGMENT - 1) / FRAME_SEGMENT;

	return n ? n : 1;
}

static void seal(struct rv_buf *sealed, int type, const void *plain, size_t len,
		 int compress)
{
	rv_buf_init(sealed, BIG_MAX);
	assert_int_equal(
	    frame_seal(sealed, key, type, id, plain, len, compress), 0);
}

/* Seal, check the layout, open, and compare. Returns the flags byte. */
static int round_trip(const void *plain, size_t len, int compress)
{
	struct rv_buf sealed, opened = RV_BUF_INIT(BIG_MAX);
	int flags;

	seal(&sealed, FRAME_CHUNK, plain, len, compress);
	assert_true(sealed.len >= HDR + TAG);
	assert_memory_equal(sealed.data, "RVF1", 4);
	assert_int_equal(sealed.data[4], FRAME_CHUNK);
	flags = sealed.data[5];
	assert_true(flags == 0 || flags == 1);
	assert_int_equal(sealed.data[6], 0);
	assert_int_equal(sealed.data[7], 0);
	assert_int_equal(be64(sealed.data + 8), len);
	uint64_t body_len = be64(sealed.data + 16);
	if (!flags)
		assert_int_equal(body_len, len);
	assert_int_equal(sealed.len,
			 HDR + body_len + TAG * nseg_of((size_t)body_len));

	assert_int_equal(
	    frame_open(&opened, key, FRAME_CHUNK, id, sealed.data, sealed.len),
	    0);
	assert_int_equal(opened.len, len);
	if (len)
		assert_memory_equal(opened.data, plain, len);
	rv_buf_release(&sealed);
	rv_buf_release(&opened);
	return flags;
}

static void expect_open(int code, const struct rv_buf *sealed,
			const unsigned char *k, int type,
			const unsigned char *object_id, size_t len)
{
	struct rv_buf opened = RV_BUF_INIT(BIG_MAX);

	assert_int_equal(
	    frame_open(&opened, k, type, object_id, sealed->data, len), code);
	if (code)
		assert_int_equal(opened.len, 0);
	else
		assert_int_equal(opened.len, be64(sealed->data + 8));
	rv_buf_release(&opened);
}

static void test_frame_round_trips_empty(void **state)
{
	(void)state;
	assert_int_equal(round_trip(NULL, 0, 0), 0);
	assert_int_equal(round_trip("", 0, 1), 0);
}

static void test_frame_round_trips_small(void **state)
{
	(void)state;
	round_trip("hello", 5, 0);
	round_trip("hello", 5, 1);
	round_trip("x", 1, 1);
}

static void test_frame_compresses_compressible_data(void **state)
{
	size_t n = 100000;
	unsigned char *plain = text_bytes(n);
	struct rv_buf sealed;

	(void)state;
	assert_int_equal(round_trip(plain, n, 1), 1);
	seal(&sealed, FRAME_CHUNK, plain, n, 1);
	assert_true(sealed.len < n / 4);
	rv_buf_release(&sealed);
	/* compress=0 keeps it raw */
	assert_int_equal(round_trip(plain, n, 0), 0);
	free(plain);
}

static void test_frame_stores_incompressible_data_raw(void **state)
{
	size_t n = 100000;
	unsigned char *plain = random_bytes(n);
	struct rv_buf sealed;

	(void)state;
	assert_int_equal(round_trip(plain, n, 1), 0);
	seal(&sealed, FRAME_CHUNK, plain, n, 1);
	assert_int_equal(sealed.len, HDR + n + TAG);
	rv_buf_release(&sealed);
	free(plain);
}

static void test_frame_keeps_compression_only_when_it_saves_a_32nd(void **s)
{
	size_t n = 4096 + 64;
	unsigned char *plain = random_bytes(4096 + 1000);

	(void)s;
	/* 64 zero bytes after 4 KiB of noise save less than n/32 = 130 */
	memset(plain + 4096, 0, 1000);
	assert_int_equal(round_trip(plain, n, 1), 0);
	/* 1000 zero bytes save far more than (4096+1000)/32 */
	assert_int_equal(round_trip(plain, 4096 + 1000, 1), 1);
	free(plain);
}

/* Above 256 KiB a sample decides: noise is stored raw without a full zstd
 * pass; text is compressed; noise with a compressible middle is compressed
 * (the middle sample says so); noise compressible only in a region no
 * sample sees is stored raw (the documented cost of sampling). */
static void test_frame_samples_large_bodies_before_compressing(void **s)
{
	size_t n = 1 << 20;
	unsigned char *noise = random_bytes(n), *text = text_bytes(n);

	(void)s;
	assert_int_equal(frame_worth_compressing(noise, n), 0);
	assert_int_equal(round_trip(noise, n, 1), 0);
	assert_int_equal(frame_worth_compressing(text, n), 1);
	assert_int_equal(round_trip(text, n, 1), 1);
	/* small bodies are always tried */
	assert_int_equal(frame_worth_compressing(noise, 4096), 1);
	/* a compressible middle */
	memset(noise + n / 2, 0, 64 << 10);
	assert_int_equal(frame_worth_compressing(noise, n), 1);
	assert_int_equal(round_trip(noise, n, 1), 1);
	free(noise);
	/* compressible only at three quarters: not sampled, kept raw */
	noise = random_bytes(n);
	memset(noise + 3 * n / 4, 0, 64 << 10);
	assert_int_equal(frame_worth_compressing(noise, n), 0);
	assert_int_equal(round_trip(noise, n, 1), 0);
	free(noise);
	free(text);
}

static void test_frame_round_trips_exactly_one_segment(void **state)
{
	unsigned char *plain = random_bytes(FRAME_SEGMENT + 1);
	struct rv_buf sealed;

	(void)state;
	seal(&sealed, FRAME_CHUNK, plain, FRAME_SEGMENT, 0);
	assert_int_equal(sealed.len, HDR + FRAME_SEGMENT + TAG);
	rv_buf_release(&sealed);
	round_trip(plain, FRAME_SEGMENT, 1);

	/* one byte more needs a second segment */
	seal(&sealed, FRAME_CHUNK, plain, FRAME_SEGMENT + 1, 0);
	assert_int_equal(sealed.len, HDR + FRAME_SEGMENT + 1 + 2 * TAG);
	rv_buf_release(&sealed);
	round_trip(plain, FRAME_SEGMENT + 1, 0);
	free(plain);
}

static void test_frame_round_trips_several_segments(void **state)
{
	size_t n = 3 * FRAME_SEGMENT + FRAME_SEGMENT / 2;
	unsigned char *noise = random_bytes(n);
	unsigned char *text = text_bytes(n * 2);

	(void)state;
	assert_int_equal(round_trip(noise, n, 1), 0);
	/* 7 MiB of text compresses to well under one segment */
	assert_int_equal(round_trip(text, n * 2, 1), 1);
	free(noise);
	free(text);
}

static void test_frame_round_trips_every_type(void **state)
{
	int types[] = {FRAME_CHUNK, FRAME_PACK_INDEX, FRAME_SNAPSHOT};
	struct rv_buf sealed, opened = RV_BUF_INIT(1024);

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		seal(&sealed, types[i], "{}", 2, 1);
		assert_int_equal(sealed.data[4], types[i]);
		assert_int_equal(frame_open(&opened, key, types[i], id,
					    sealed.data, sealed.len),
				 0);
		assert_string_equal(rv_buf_cstr(&opened), "{}");
		rv_buf_reset(&opened);
		rv_buf_release(&sealed);
	}
	rv_buf_release(&opened);
}

static void test_frame_appends_to_out(void **state)
{
	struct rv_buf sealed, opened = RV_BUF_INIT(64);

	(void)state;
	assert_int_equal(rv_buf_puts(&opened, "prefix:"), 0);
	seal(&sealed, FRAME_CHUNK, "payload", 7, 1);
	assert_int_equal(
	    frame_open(&opened, key, FRAME_CHUNK, id, sealed.data, sealed.len),
	    0);
	assert_string_equal(rv_buf_cstr(&opened), "prefix:payload");

	/* the sealed bytes are appended after what out holds */
	size_t before = sealed.len;
	assert_int_equal(frame_seal(&sealed, key, FRAME_CHUNK, id, "b", 1, 0),
			 0);
	assert_int_equal(sealed.len, before + HDR + 1 + TAG);
	rv_buf_reset(&opened);
	assert_int_equal(frame_open(&opened, key, FRAME_CHUNK, id,
				    sealed.data + before, sealed.len - before),
			 0);
	assert_string_equal(rv_buf_cstr(&opened), "b");
	rv_buf_release(&sealed);
	rv_buf_release(&opened);
}

static void test_frame_uses_a_fresh_salt_each_time(void **state)
{
	struct rv_buf a, b;

	(void)state;
	seal(&a, FRAME_CHUNK, "same", 4, 0);
	seal(&b, FRAME_CHUNK, "same", 4, 0);
	assert_int_equal(a.len, b.len);
	assert_memory_not_equal(a.data + 24, b.data + 24, 32);
	assert_memory_not_equal(a.data + HDR, b.data + HDR, a.len - HDR);
	rv_buf_release(&a);
	rv_buf_release(&b);
}

static void test_frame_rejects_wrong_key_type_or_id(void **state)
{
	struct rv_buf sealed;
	size_t n = FRAME_SEGMENT + 5000;
	unsigned char *plain = text_bytes(n);

	(void)state;
	for (int compress = 0; compress <= 1; compress++) {
		seal(&sealed, FRAME_CHUNK, plain, n, compress);
		expect_open(RV_CORRUPT, &sealed, other_key, FRAME_CHUNK, id,
			    sealed.len);
		expect_open(RV_CORRUPT, &sealed, key, FRAME_PACK_INDEX, id,
			    sealed.len);
		expect_open(RV_CORRUPT, &sealed, key, FRAME_CHUNK, other_id,
			    sealed.len);
		rv_buf_release(&sealed);
	}
	free(plain);
}

static void test_frame_rejects_header_retyped_to_expected_type(void **state)
{
	struct rv_buf sealed;

	(void)state;
	/* the type is bound by the AAD, not only checked in the header */
	seal(&sealed, FRAME_SNAPSHOT, "snapshot", 8, 0);
	sealed.data[4] = FRAME_CHUNK;
	expect_open(RV_CORRUPT, &sealed, key, FRAME_CHUNK, id, sealed.len);
	rv_buf_release(&sealed);
}

static void test_frame_rejects_every_flipped_bit(void **state)
{
	unsigned char *text = text_bytes(300);
	unsigned char *noise = random_bytes(40);

	(void)state;
	for (int which = 0; which < 3; which++) {
		struct rv_buf sealed;

		if (which == 0)
			seal(&sealed, FRAME_CHUNK, text, 300, 1);
		else if (which == 1)
			seal(&sealed, FRAME_CHUNK, noise, 40, 0);
		else
			seal(&sealed, FRAME_CHUNK, NULL, 0, 0);
		if (which == 0)
			assert_int_equal(sealed.data[5], 1);
		for (size_t i = 0; i < sealed.len; i++) {
			for (int bit = 0; bit < 8; bit++) {
				sealed.data[i] ^= (unsigned char)(1u << bit);
				expect_open(RV_CORRUPT, &sealed, key,
					    FRAME_CHUNK, id, sealed.len);
				sealed.data[i] ^= (unsigned char)(1u << bit);
			}
		}
		/* and unflipped it still opens */
		expect_open(0, &sealed, key, FRAME_CHUNK, id, sealed.len);
		rv_buf_release(&sealed);
	}
	free(text);
	free(noise);
}

static void test_frame_rejects_truncated(void **state)
{
	unsigned char *plain = random_bytes(2 * FRAME_SEGMENT + 100);
	struct rv_buf small, big;

	(void)state;
	seal(&small, FRAME_CHUNK, plain, 200, 0);
	for (size_t n = 0; n < small.len; n++)
		expect_open(RV_CORRUPT, &small, key, FRAME_CHUNK, id, n);
	rv_buf_release(&small);

	seal(&big, FRAME_CHUNK, plain, 2 * FRAME_SEGMENT + 100, 0);
	for (size_t n = 0; n < big.len; n += 4093)
		expect_open(RV_CORRUPT, &big, key, FRAME_CHUNK, id, n);
	/* at and around every segment boundary */
	for (size_t seg = 1; seg <= 3; seg++) {
		size_t at = HDR + seg * (FRAME_SEGMENT + TAG);
		for (size_t n = at - 20; n < at + 20 && n < big.len; n++)
			expect_open(RV_CORRUPT, &big, key, FRAME_CHUNK, id, n);
	}
	rv_buf_release(&big);
	free(plain);
}

static void
test_frame_rejects_dropped_last_segment_with_fixed_header(void **state)
{
	size_t n = 2 * FRAME_SEGMENT + 100;
	unsigned char *plain = random_bytes(n);
	struct rv_buf sealed;
	size_t cut = HDR + 2 * (FRAME_SEGMENT + TAG);

	(void)state;
	seal(&sealed, FRAME_CHUNK, plain, n, 0);
	/* claim the first two segments were the whole frame */
	put_be64(sealed.data + 8, 2 * FRAME_SEGMENT);
	put_be64(sealed.data + 16, 2 * FRAME_SEGMENT);
	expect_open(RV_CORRUPT, &sealed, key, FRAME_CHUNK, id, cut);
	rv_buf_release(&sealed);
	free(plain);
}

static void test_frame_rejects_extended(void **state)
{
	struct rv_buf sealed;

	(void)state;
	seal(&sealed, FRAME_CHUNK, "abc", 3, 0);
	assert_int_equal(rv_buf_add(&sealed, "", 1), 0);
	expect_open(RV_CORRUPT, &sealed, key, FRAME_CHUNK, id, sealed.len);
	/* a whole extra tag's worth too */
	assert_int_equal(rv_buf_add(&sealed, "0123456789abcde", 15), 0);
	expect_open(RV_CORRUPT, &sealed, key, FRAME_CHUNK, id, sealed.len);
	rv_buf_release(&sealed);
}

static void swap_segments(unsigned char *frame, size_t a, size_t b)
{
	unsigned char *tmp = malloc(FRAME_SEGMENT + TAG);
	unsigned char *sa = frame + HDR + a * (FRAME_SEGMENT + TAG);
	unsigned char *sb = frame + HDR + b * (FRAME_SEGMENT + TAG);

	assert_non_null(tmp);
	memcpy(tmp, sa, FRAME_SEGMENT + TAG);
	memcpy(sa, sb, FRAME_SEGMENT + TAG);
	memcpy(sb, tmp, FRAME_SEGMENT + TAG);
	free(tmp);
}

static void test_frame_rejects_swapped_segments(void **state)
{
	size_t n = 3 * FRAME_SEGMENT; /* three full, equal-sized segments */
	unsigned char *plain = random_bytes(n);
	struct rv_buf sealed;

	(void)state;
	seal(&sealed, FRAME_CHUNK, plain, n, 0);
	swap_segments(sealed.data, 0, 1);
	expect_open(RV_CORRUPT, &sealed, key, FRAME_CHUNK, id, sealed.len);
	swap_segments(sealed.data, 0, 1);
	expect_open(0, &sealed, key, FRAME_CHUNK, id, sealed.len);
	/* the last segment moved into the middle */
	swap_segments(sealed.data, 1, 2);
	expect_open(RV_CORRUPT, &sealed, key, FRAME_CHUNK, id, sealed.len);
	rv_buf_release(&sealed);
	free(plain);
}

static void test_frame_rejects_segment_from_another_frame(void **state)
{
	size_t n = 2 * FRAME_SEGMENT;
	unsigned char *plain = random_bytes(n);
	struct rv_buf a, b;

	(void)state;
	seal(&a, FRAME_CHUNK, plain, n, 0);
	seal(&b, FRAME_CHUNK, plain, n, 0);
	memcpy(a.data + HDR, b.data + HDR, FRAME_SEGMENT + TAG);
	expect_open(RV_CORRUPT, &a, key, FRAME_CHUNK, id, a.len);
	rv_buf_release(&a);
	rv_buf_release(&b);
	free(plain);
}

static void test_frame_refuses_plain_len_above_out_max(void **state)
{
	size_t n = 5000;
	unsigned char *plain = text_bytes(n);
	struct rv_buf sealed, opened;
	int rc;

	(void)state;
	for (int compress = 0; compress <= 1; compress++) {
		seal(&sealed, FRAME_CHUNK, plain, n, compress);
		rv_buf_init(&opened, n - 1);
		rc = frame_open(&opened, key, FRAME_CHUNK, id, sealed.data,
				sealed.len);
		assert_int_equal(rc, RV_TOOBIG);
		assert_null(opened.data); /* nothing was allocated */
		/* room left counts, not the max alone */
		rv_buf_init(&opened, n + 3);
		assert_int_equal(rv_buf_add(&opened, "1234", 4), 0);
		rc = frame_open(&opened, key, FRAME_CHUNK, id, sealed.data,
				sealed.len);
		assert_int_equal(rc, RV_TOOBIG);
		assert_int_equal(opened.len, 4);
		rv_buf_release(&opened);
		/* exactly enough room works */
		rv_buf_init(&opened, n);
		assert_int_equal(frame_open(&opened, key, FRAME_CHUNK, id,
					    sealed.data, sealed.len),
				 0);
		rv_buf_release(&opened);
		rv_buf_release(&sealed);
	}
	free(plain);
}

static void test_frame_refuses_huge_claimed_plain_len(void **state)
{
	struct rv_buf sealed, opened;
	uint64_t claims[] = {(uint64_t)1 << 40, UINT64_MAX,
			     ((uint64_t)2 << 30) + 1};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		seal(&sealed, FRAME_CHUNK, "tiny", 4, 0);
		put_be64(sealed.data + 8, claims[i]);
		put_be64(sealed.data + 16, 4);
		rv_buf_init(&opened, SIZE_MAX);
		assert_int_equal(frame_open(&opened, key, FRAME_CHUNK, id,
					    sealed.data, sealed.len),
				 RV_CORRUPT);
		assert_null(opened.data);
		rv_buf_release(&sealed);
	}
	/* a compressed frame that claims 2 GiB: refused by authentication,
	 * before out grows to the claimed size */
	unsigned char *text = text_bytes(10000);
	seal(&sealed, FRAME_CHUNK, text, 10000, 1);
	assert_int_equal(sealed.data[5], 1);
	put_be64(sealed.data + 8, (uint64_t)2 << 30);
	rv_buf_init(&opened, SIZE_MAX);
	assert_int_equal(
	    frame_open(&opened, key, FRAME_CHUNK, id, sealed.data, sealed.len),
	    RV_CORRUPT);
	assert_null(opened.data);
	rv_buf_release(&sealed);
	free(text);
}

static void test_frame_rejects_bad_header_fields(void **state)
{
	struct rv_buf sealed;

	(void)state;
	seal(&sealed, FRAME_CHUNK, "abcdef", 6, 0);
	sealed.data[5] = 0x02; /* unknown flag */
	expect_open(RV_CORRUPT, &sealed, key, FRAME_CHUNK, id, sealed.len);
	sealed.data[5] = 0x01; /* "compressed" but body == plain */
	expect_open(RV_CORRUPT, &sealed, key, FRAME_CHUNK, id, sealed.len);
	sealed.data[5] = 0;
	sealed.data[7] = 1; /* reserved */
	expect_open(RV_CORRUPT, &sealed, key, FRAME_CHUNK, id, sealed.len);
	sealed.data[7] = 0;
	sealed.data[0] = 'X';
	expect_open(RV_CORRUPT, &sealed, key, FRAME_CHUNK, id, sealed.len);
	sealed.data[0] = 'R';
	expect_open(0, &sealed, key, FRAME_CHUNK, id, sealed.len);
	rv_buf_release(&sealed);
}

/* Frames made by an independent implementation of docs/FORMAT.md (Python:
 * hmac for HKDF, cryptography's AESGCM, the zstd command at level 3) with
 * key 32 x 0x02, id 32 x 0x04 and salt 32 x 0x03. */
static const unsigned char kat_raw[89] = {
    0x52, 0x56, 0x46, 0x31, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11,
    0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03,
    0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03,
    0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0xb2, 0x5c, 0xcd, 0xe0,
    0x1f, 0xcc, 0xb7, 0x3c, 0x9e, 0xf3, 0x96, 0x40, 0x22, 0x26, 0x28, 0x9a,
    0xbe, 0x99, 0x4e, 0x81, 0x52, 0xdc, 0xd1, 0x97, 0x55, 0xf0, 0x60, 0xac,
    0xd6, 0x21, 0xf6, 0xcc, 0x61,
};

static const unsigned char kat_zstd[96] = {
    0x52, 0x56, 0x46, 0x31, 0x03, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18,
    0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03,
    0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03,
    0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0xe8, 0x8c, 0x85, 0x6b,
    0x1a, 0xb1, 0xdb, 0x1d, 0xbe, 0x95, 0xfc, 0x40, 0x2d, 0x20, 0x09, 0xec,
    0x8d, 0x16, 0x94, 0x09, 0xda, 0xd2, 0x48, 0xf5, 0x69, 0xae, 0x72, 0xc3,
    0x91, 0xc8, 0x2f, 0x9d, 0xc4, 0xe1, 0xde, 0x95, 0xe7, 0x41, 0x0d, 0x8c,
};

static void test_frame_opens_independently_made_frames(void **state)
{
	unsigned char k[32], object_id[FRAME_ID_LEN], want[264];
	struct rv_buf opened = RV_BUF_INIT(1024);

	(void)state;
	memset(k, 0x02, sizeof(k));
	memset(object_id, 0x04, sizeof(object_id));
	assert_int_equal(frame_open(&opened, k, FRAME_CHUNK, object_id, kat_raw,
				    sizeof(kat_raw)),
			 0);
	assert_string_equal(rv_buf_cstr(&opened), "regvault frame v1");
	rv_buf_reset(&opened);

	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (unsigned char)"abc"[i % 3];
	assert_int_equal(kat_zstd[5], 1);
	assert_int_equal(frame_open(&opened, k, FRAME_SNAPSHOT, object_id,
				    kat_zstd, sizeof(kat_zstd)),
			 0);
	assert_int_equal(opened.len, sizeof(want));
	assert_memory_equal(opened.data, want, sizeof(want));
	rv_buf_release(&opened);
}

static void test_frame_rejects_unknown_type_argument(void **state)
{
	struct rv_buf out = RV_BUF_INIT(1024);
	unsigned char junk[HDR + TAG] = {0};

	(void)state;
	assert_int_equal(frame_seal(&out, key, 0, id, "a", 1, 0), RV_INVALID);
	assert_int_equal(frame_seal(&out, key, 9, id, "a", 1, 0), RV_INVALID);
	assert_int_equal(out.len, 0);
	assert_int_equal(frame_open(&out, key, 5, id, junk, sizeof(junk)),
			 RV_INVALID);
	rv_buf_release(&out);
}

static void test_frame_seal_respects_out_max(void **state)
{
	struct rv_buf out = RV_BUF_INIT(HDR + TAG + 9);

	(void)state;
	assert_int_equal(
	    frame_seal(&out, key, FRAME_CHUNK, id, "0123456789", 10, 0),
	    RV_TOOBIG);
	assert_int_equal(out.len, 0);
	rv_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_round_trips_empty),
	    cmocka_unit_test(test_frame_round_trips_small),
	    cmocka_unit_test(test_frame_compresses_compressible_data),
	    cmocka_unit_test(test_frame_stores_incompressible_data_raw),
	    cmocka_unit_test(
		test_frame_keeps_compression_only_when_it_saves_a_32nd),
	    cmocka_unit_test(test_frame_samples_large_bodies_before_compressing),
	    cmocka_unit_test(test_frame_round_trips_exactly_one_segment),
	    cmocka_unit_test(test_frame_round_trips_several_segments),
	    cmocka_unit_test(test_frame_round_trips_every_type),
	    cmocka_unit_test(test_frame_appends_to_out),
	    cmocka_unit_test(test_frame_uses_a_fresh_salt_each_time),
	    cmocka_unit_test(test_frame_rejects_wrong_key_type_or_id),
	    cmocka_unit_test(
		test_frame_rejects_header_retyped_to_expected_type),
	    cmocka_unit_test(test_frame_rejects_every_flipped_bit),
	    cmocka_unit_test(test_frame_rejects_truncated),
	    cmocka_unit_test(
		test_frame_rejects_dropped_last_segment_with_fixed_header),
	    cmocka_unit_test(test_frame_rejects_extended),
	    cmocka_unit_test(test_frame_rejects_swapped_segments),
	    cmocka_unit_test(test_frame_rejects_segment_from_another_frame),
	    cmocka_unit_test(test_frame_refuses_plain_len_above_out_max),
	    cmocka_unit_test(test_frame_refuses_huge_claimed_plain_len),
	    cmocka_unit_test(test_frame_rejects_bad_header_fields),
	    cmocka_unit_test(test_frame_opens_independently_made_frames),
	    cmocka_unit_test(test_frame_rejects_unknown_type_argument),
	    cmocka_unit_test(test_frame_seal_respects_out_max),
	};

	return cmocka_run_group_tests(tests, setup_keys, NULL);
}
