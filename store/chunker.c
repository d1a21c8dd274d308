/* chunker.c - keyed FastCDC (format: docs/FORMAT.md, "Content-defined
 * chunking").
 *
 * The gear hash fp = (fp << 1) + gear[byte] forgets a byte 64 steps after
 * it entered, so the state needed to resume a scan is just (position in the
 * chunk, fp): bytes handed over in any number of pieces give the same cut
 * points as one piece. The scan reads the caller's bytes where they are and
 * copies only the bytes of the unfinished chunk, so a chunk that lies whole
 * inside one feed is emitted without a copy.
 */
#include "store/chunker.h"

#include "store/crypto_internal.h"
#include "util/err.h"

#include <openssl/crypto.h>

#include <stdlib.h>
#include <string.h>

#define CHUNKER_GEAR_INFO "regvault/v1/gear"
/* Normalization level: the mask below avg has NC more bits than
 * log2(avg), the one above it NC fewer (FastCDC's recommended 2). */
#define CHUNKER_NC 2

struct chunker {
	uint64_t gear[256];
	uint64_t mask_s; /* before avg: the stricter mask */
	uint64_t mask_l; /* from avg on: the looser mask */
	size_t min, avg, max;
	unsigned char *buf; /* max bytes: the unfinished chunk */
	size_t buf_len;
	size_t pos;  /* next index in the chunk to hash (>= min, >= buf_len) */
	uint64_t fp; /* gear hash after hashing indexes [min, pos) */
};

void chunker_params_default(struct chunker_params *p)
{
	p->min = 512u << 10;
	p->avg = 1u << 20;
	p->max = 8u << 20;
}

int chunker_params_check(const struct chunker_params *p)
{
	if (!p)
		return rv_err_set(RV_INVALID, "chunker parameters missing");
	if (p->min < CHUNKER_MIN_LIMIT || p->min > CHUNKER_MAX_LIMIT)
		return rv_err_set(
		    RV_INVALID, "chunker min size %u is outside %u..%u",
		    (unsigned)p->min, CHUNKER_MIN_LIMIT, CHUNKER_MAX_LIMIT);
	if (p->max < CHUNKER_MIN_LIMIT || p->max > CHUNKER_MAX_LIMIT)
		return rv_err_set(
		    RV_INVALID, "chunker max size %u is outside %u..%u",
		    (unsigned)p->max, CHUNKER_MIN_LIMIT, CHUNKER_MAX_LIMIT);
	if (p->avg == 0 || (p->avg & (p->avg - 1)) != 0)
		return rv_err_set(RV_INVALID,
				  "chunker average size %u is not a power of "
				  "two",
				  (unsigned)p->avg);
	if (!(p->min < p->avg && p->avg < p->max))
		return rv_err_set(RV_INVALID,
				  "chunker sizes min %u, avg %u, max %u are "
				  "not in increasing order (need min < avg < "
				  "max)",
				  (unsigned)p->min, (unsigned)p->avg,
				  (unsigned)p->max);
	return 0;
}

static int log2_u32(uint32_t v)
{
	int n = 0;

	while (v >>= 1)
		n++;
	return n;
}

/* A mask of the top `bits` bits: those depend on the most bytes of the
 * window (bit k of fp depends on the last k + 1 bytes only). */
static uint64_t top_mask(int bits)
{
	return ~(uint64_t)0 << (64 - bits);
}

static int chunker_derive_gear(uint64_t gear[256],
			       const unsigned char key[CHUNKER_KEY_LEN])
{
	unsigned char okm[256 * 8];
	int rc;

	rc = keys_hkdf(okm, sizeof(okm), key, CHUNKER_KEY_LEN, "", 0,
		       CHUNKER_GEAR_INFO);
	if (!rc) {
		for (int i = 0; i < 256; i++)
			gear[i] = keys_get_be64(okm + 8 * i);
	}
	OPENSSL_cleanse(okm, sizeof(okm));
	return rc;
}

int chunker_new(struct chunker **out, const struct chunker_params *p,
		const unsigned char key[CHUNKER_KEY_LEN])
{
	int rc;
	struct chunker_params defaults;
	struct chunker *c = NULL;
	int bits;

	*out = NULL;
	if (!p) {
		chunker_params_default(&defaults);
		p = &defaults;
	}
	rc = chunker_params_check(p);
	if (rc)
		goto done;
	c = calloc(1, sizeof(*c));
	if (!c) {
		rc = rv_err_set(RV_NOMEM, "out of memory (chunker)");
		goto done;
	}
	c->buf = malloc(p->max);
	if (!c->buf) {
		rc = rv_err_set(RV_NOMEM,
				"out of memory (chunker buffer of %u bytes)",
				(unsigned)p->max);
		goto done;
	}
	rc = chunker_derive_gear(c->gear, key);
	if (rc)
		goto done;
	bits = log2_u32(p->avg);
	c->mask_s = top_mask(bits + CHUNKER_NC);
	c->mask_l = top_mask(bits - CHUNKER_NC);
	c->min = p->min;
	c->avg = p->avg;
	c->max = p->max;
	chunker_reset(c);
	*out = c;
	c = NULL;
done:
	chunker_free(c);
	return rc;
}

void chunker_reset(struct chunker *c)
{
	c->buf_len = 0;
	c->pos = c->min;
	c->fp = 0;
}

void chunker_free(struct chunker *c)
{
	if (!c)
		return;
	free(c->buf);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

/* Hash chunk indexes [from, to) of the current chunk, whose index i is the
 * byte in[i - off]. Returns the index just past the first byte whose hash
 * meets mask, or 0 (fp updated, no cut). */
static inline size_t chunker_run(uint64_t *fpp, const uint64_t *gear,
				 uint64_t mask, const unsigned char *in,
				 size_t off, size_t from, size_t to)
{
	const unsigned char *p = in + (from - off);
	const unsigned char *end = in + (to - off);
	uint64_t fp = *fpp;

	while (p < end) {
		fp = (fp << 1) + gear[*p++];
		if (!(fp & mask)) {
			*fpp = fp;
			return (size_t)(p - in) + off;
		}
	}
	*fpp = fp;
	return 0;
}

/* Look for the end of the current chunk, whose bytes [0, off) are in the
 * buffer (all hashed already) and [off, n) are in[0 .. n - off). Returns
 * the chunk's length, or 0 when bytes up to n do not end it (the hash
 * state then covers them). */
static size_t chunker_scan(struct chunker *c, const unsigned char *in,
			   size_t off, size_t n)
{
	size_t normal = c->avg < n ? c->avg : n;
	size_t cut;

	if (c->pos < normal) {
		cut = chunker_run(&c->fp, c->gear, c->mask_s, in, off, c->pos,
				  normal);
		if (cut)
			return cut;
		c->pos = normal;
	}
	if (c->pos < n) {
		cut =
		    chunker_run(&c->fp, c->gear, c->mask_l, in, off, c->pos, n);
		if (cut)
			return cut;
		c->pos = n;
	}
	return n == c->max ? n : 0;
}

int chunker_feed(struct chunker *c, const void *data, size_t len,
		 chunker_emit_fn emit, void *arg)
{
	const unsigned char *in = data;

	while (len > 0) {
		size_t off = c->buf_len;
		size_t avail = c->max - off < len ? c->max - off : len;
		size_t cut = chunker_scan(c, in, off, off + avail);
		size_t take = cut ? cut - off : avail;
		int rc;

		if (!cut || off > 0)
			memcpy(c->buf + off, in, take);
		in += take;
		len -= take;
		if (!cut) {
			c->buf_len = off + take;
			continue;
		}
		/* A chunk that began in this feed is emitted in place. */
		rc = emit(arg, off ? c->buf : in - take, cut);
		chunker_reset(c);
		if (rc)
			return rc;
	}
	return 0;
}

int chunker_finish(struct chunker *c, chunker_emit_fn emit, void *arg)
{
	size_t len = c->buf_len;
	int rc = 0;

	if (len)
		rc = emit(arg, c->buf, len);
	chunker_reset(c);
	return rc;
}
