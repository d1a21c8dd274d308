/* frame.c - seal and open frames (layout: docs/FORMAT.md, "Frames").
 *
 * Sealing compresses into a temporary buffer (at most the plaintext size)
 * and encrypts segment by segment straight into the caller's buffer, so a
 * frame costs about twice its size in memory. Opening checks every header
 * field against the frame's length and the caller's cap before it
 * allocates or decrypts anything.
 */
#include "store/frame.h"

#include "store/crypto_internal.h"
#include "util/err.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zstd.h>

#include <stdlib.h>
#include <string.h>

#define FRAME_MAGIC "RVF1"
#define FRAME_HEADER_LEN 56
#define FRAME_SALT_LEN 32
#define FRAME_TAG_LEN 16
#define FRAME_NONCE_LEN 12
#define FRAME_FLAG_ZSTD 0x01u
#define FRAME_MAX_PLAIN ((uint64_t)2 << 30) /* 2 GiB */
#define FRAME_ZSTD_LEVEL 3
#define FRAME_HKDF_INFO "regvault/v1/frame"
/* header || id || BE64(segment index) || last-segment flag */
#define FRAME_AAD_LEN (FRAME_HEADER_LEN + FRAME_ID_LEN + 8 + 1)

struct frame_cipher {
	EVP_CIPHER_CTX *ctx;
	unsigned char okm[32 + FRAME_NONCE_LEN]; /* AES key || nonce base */
	unsigned char aad[FRAME_AAD_LEN];
};

static int frame_valid_type(int type)
{
	return type == FRAME_CHUNK || type == FRAME_PACK_INDEX ||
	       type == FRAME_SNAPSHOT || type == FRAME_SIGNING_KEY;
}

/* Segments needed for a body: at least one, so that even an empty frame
 * carries a tag. */
static uint64_t frame_nseg(uint64_t body_len)
{
	uint64_t n = body_len / FRAME_SEGMENT + (body_len % FRAME_SEGMENT != 0);

	return n ? n : 1;
}

static int frame_cipher_init(struct frame_cipher *c,
			     const unsigned char key[32],
			     const unsigned char *header,
			     const unsigned char id[FRAME_ID_LEN])
{
	int rc;

	c->ctx = NULL;
	rc = keys_hkdf(c->okm, sizeof(c->okm), key, 32, header + 24,
		       FRAME_SALT_LEN, FRAME_HKDF_INFO);
	if (rc)
		return rc;
	c->ctx = EVP_CIPHER_CTX_new();
	if (!c->ctx)
		return rv_err_set(RV_NOMEM, "out of memory (cipher context)");
	memcpy(c->aad, header, FRAME_HEADER_LEN);
	memcpy(c->aad + FRAME_HEADER_LEN, id, FRAME_ID_LEN);
	return 0;
}

static void frame_cipher_release(struct frame_cipher *c)
{
	EVP_CIPHER_CTX_free(c->ctx);
	c->ctx = NULL;
	OPENSSL_cleanse(c->okm, sizeof(c->okm));
}

/* Set the nonce and the associated data of segment index. */
static int frame_segment_begin(struct frame_cipher *c, int enc, uint64_t index,
			       int last)
{
	unsigned char nonce[FRAME_NONCE_LEN];
	unsigned char ctr[8];
	int outl, ok;

	memcpy(nonce, c->okm + 32, FRAME_NONCE_LEN);
	keys_put_be64(ctr, index);
	for (int i = 0; i < 8; i++)
		nonce[FRAME_NONCE_LEN - 8 + i] ^= ctr[i];
	memcpy(c->aad + FRAME_HEADER_LEN + FRAME_ID_LEN, ctr, 8);
	c->aad[FRAME_AAD_LEN - 1] = last ? 1 : 0;

	ok = EVP_CipherInit_ex(c->ctx, EVP_aes_256_gcm(), NULL, c->okm, nonce,
			       enc) == 1 &&
	     EVP_CipherUpdate(c->ctx, NULL, &outl, c->aad, FRAME_AAD_LEN) == 1;
	OPENSSL_cleanse(nonce, sizeof(nonce));
	return ok ? 0 : keys_openssl_error("aes-256-gcm setup");
}

/* Whether a body is worth a zstd pass. Layers are usually gzip'd already,
 * and zstd on such data costs time to win nothing: above FRAME_PROBE_MIN
 * bytes, two samples (the start and the middle) are compressed at the
 * fastest level first, and the body is compressed only when one of them
 * shrinks by at least 1/32. A body compressible only outside both samples
 * is then stored raw: a little space lost, never a wrong byte. */
#define FRAME_PROBE_MIN ((size_t)256 << 10)
#define FRAME_PROBE_LEN ((size_t)32 << 10)

int frame_worth_compressing(const void *plain, size_t len)
{
	const unsigned char *p = plain;
	unsigned char dst[FRAME_PROBE_LEN];
	size_t at[2] = {0, len / 2}, cap = FRAME_PROBE_LEN - FRAME_PROBE_LEN / 32;

	if (len < FRAME_PROBE_MIN)
		return 1;
	for (int i = 0; i < 2; i++) {
		size_t z = ZSTD_compress(dst, cap, p + at[i], FRAME_PROBE_LEN, 1);
		if (!ZSTD_isError(z) && FRAME_PROBE_LEN - z >= FRAME_PROBE_LEN / 32)
			return 1;
	}
	return 0;
}

int frame_seal(struct rv_buf *out, const unsigned char key[32], int type,
	       const unsigned char id[FRAME_ID_LEN], const void *plain,
	       size_t len, int compress)
{
	int rc;
	unsigned char *zbody = NULL;
	struct frame_cipher c = {0};
	const unsigned char *body = plain;
	size_t body_len = len;
	unsigned flags = 0;
	uint64_t nseg, i;
	size_t total, off, zcap = 0, zlen;
	unsigned char *frame;

	if (!frame_valid_type(type))
		return rv_err_set(RV_INVALID, "cannot seal a frame of type %d",
				  type);
	if ((uint64_t)len > FRAME_MAX_PLAIN)
		return rv_err_set(RV_TOOBIG,
				  "cannot seal %zu bytes in one frame (the "
				  "limit is 2 GiB)",
				  len);

	/* Only a result that saves at least len/32 is kept, so zstd need
	 * never write more than that: a capacity of len - len/32 gives the
	 * same answer as ZSTD_compressBound(len) with less memory. */
	if (compress && len > 0 && frame_worth_compressing(plain, len)) {
		zcap = len - len / 32;
		zbody = malloc(zcap);
		if (!zbody) {
			rc = rv_err_set(RV_NOMEM, "out of memory (%zu bytes)",
					zcap);
			goto done;
		}
		zlen = ZSTD_compress(zbody, zcap, plain, len, FRAME_ZSTD_LEVEL);
		if (!ZSTD_isError(zlen) && zlen < len &&
		    len - zlen >= len / 32) {
			body = zbody;
			body_len = zlen;
			flags = FRAME_FLAG_ZSTD;
		}
	}

	nseg = frame_nseg(body_len);
	total = FRAME_HEADER_LEN + body_len + (size_t)nseg * FRAME_TAG_LEN;
	rc = rv_buf_reserve(out, total);
	if (rc)
		goto done;
	frame = out->data + out->len;

	memcpy(frame, FRAME_MAGIC, 4);
	frame[4] = (unsigned char)type;
	frame[5] = (unsigned char)flags;
	frame[6] = frame[7] = 0;
	keys_put_be64(frame + 8, len);
	keys_put_be64(frame + 16, body_len);
	if (RAND_bytes(frame + 24, FRAME_SALT_LEN) != 1) {
		rc = keys_openssl_error("random salt");
		goto done;
	}

	rc = frame_cipher_init(&c, key, frame, id);
	if (rc)
		goto done;
	off = FRAME_HEADER_LEN;
	for (i = 0; i < nseg; i++) {
		size_t start = (size_t)i * FRAME_SEGMENT;
		size_t n = body_len - start < FRAME_SEGMENT ? body_len - start
							    : FRAME_SEGMENT;
		int outl = 0, finl = 0;

		rc = frame_segment_begin(&c, 1, i, i == nseg - 1);
		if (rc)
			goto done;
		if (n > 0 && EVP_EncryptUpdate(c.ctx, frame + off, &outl,
					       body + start, (int)n) != 1) {
			rc = keys_openssl_error("aes-256-gcm encryption");
			goto done;
		}
		if (EVP_EncryptFinal_ex(c.ctx, frame + off + outl, &finl) !=
			1 ||
		    (size_t)outl + (size_t)finl != n ||
		    EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG,
					FRAME_TAG_LEN, frame + off + n) != 1) {
			rc = keys_openssl_error("aes-256-gcm encryption");
			goto done;
		}
		off += n + FRAME_TAG_LEN;
	}
	out->len += total;
	out->data[out->len] = '\0';
	rc = 0;
done:
	frame_cipher_release(&c);
	if (zbody) {
		OPENSSL_cleanse(zbody, zcap);
		free(zbody);
	}
	return rc;
}

/* Check everything the header claims against the frame length and the
 * room left in out, before any allocation or decryption. */
static int frame_check_header(uint64_t *plain_len, uint64_t *body_len,
			      uint64_t *nseg, const struct rv_buf *out,
			      int type, const unsigned char *h, size_t len)
{
	uint64_t rest, want;

	if (len < FRAME_HEADER_LEN)
		return rv_err_set(RV_CORRUPT,
				  "frame is truncated (%zu bytes, shorter "
				  "than its header)",
				  len);
	if (memcmp(h, FRAME_MAGIC, 4) != 0)
		return rv_err_set(RV_CORRUPT,
				  "frame has a bad magic (not a regvault "
				  "v1 frame)");
	if (h[4] != type)
		return rv_err_set(RV_CORRUPT,
				  "frame has type %u where type %d was "
				  "expected",
				  h[4], type);
	if (h[5] & ~FRAME_FLAG_ZSTD)
		return rv_err_set(RV_CORRUPT, "frame has unknown flags 0x%02x",
				  h[5]);
	if (h[6] || h[7])
		return rv_err_set(RV_CORRUPT,
				  "frame has nonzero reserved bytes");

	*plain_len = keys_get_be64(h + 8);
	*body_len = keys_get_be64(h + 16);
	if (*plain_len > FRAME_MAX_PLAIN)
		return rv_err_set(RV_CORRUPT,
				  "frame claims %llu bytes of plaintext, more "
				  "than the 2 GiB a frame may hold",
				  (unsigned long long)*plain_len);
	if (*plain_len > out->max - (out->len < out->max ? out->len : out->max))
		return rv_err_set(RV_TOOBIG,
				  "frame holds %llu bytes, more than the %zu "
				  "allowed here (or its header is damaged)",
				  (unsigned long long)*plain_len,
				  out->len < out->max ? out->max - out->len
						      : (size_t)0);

	rest = len - FRAME_HEADER_LEN;
	if (*body_len > rest)
		return rv_err_set(RV_CORRUPT,
				  "frame is truncated (body of %llu bytes, "
				  "%llu present)",
				  (unsigned long long)*body_len,
				  (unsigned long long)rest);
	*nseg = frame_nseg(*body_len);
	want = *body_len + *nseg * FRAME_TAG_LEN;
	if (rest < want)
		return rv_err_set(
		    RV_CORRUPT,
		    "frame is truncated (%llu bytes, %llu "
		    "expected)",
		    (unsigned long long)len,
		    (unsigned long long)(FRAME_HEADER_LEN + want));
	if (rest > want)
		return rv_err_set(RV_CORRUPT,
				  "frame has %llu unexpected trailing bytes",
				  (unsigned long long)(rest - want));

	if (h[5] & FRAME_FLAG_ZSTD) {
		if (*body_len == 0 || *body_len >= *plain_len)
			return rv_err_set(RV_CORRUPT,
					  "compressed frame has inconsistent "
					  "lengths (%llu bytes from %llu)",
					  (unsigned long long)*plain_len,
					  (unsigned long long)*body_len);
	} else if (*body_len != *plain_len) {
		return rv_err_set(RV_CORRUPT,
				  "raw frame has inconsistent lengths (%llu "
				  "bytes from %llu)",
				  (unsigned long long)*plain_len,
				  (unsigned long long)*body_len);
	}
	return 0;
}

int frame_open(struct rv_buf *out, const unsigned char key[32], int type,
	       const unsigned char id[FRAME_ID_LEN], const void *sealed,
	       size_t len)
{
	int rc;
	unsigned char *zbody = NULL;
	struct frame_cipher c = {0};
	const unsigned char *frame = sealed;
	unsigned char *body, *dst = NULL;
	uint64_t plain_len = 0, body_len = 0, nseg = 0, i;
	size_t off;
	int zstd;

	if (!frame_valid_type(type))
		return rv_err_set(RV_INVALID, "cannot open a frame of type %d",
				  type);
	rc = frame_check_header(&plain_len, &body_len, &nseg, out, type, frame,
				len);
	if (rc)
		return rc;
	zstd = (frame[5] & FRAME_FLAG_ZSTD) != 0;

	/* A raw body decrypts straight into out; a compressed one into a
	 * temporary buffer, and out grows to plain_len only once every
	 * segment has authenticated, so a forged header cannot make us
	 * allocate more than the frame's own size. Nothing is committed to
	 * out before the end. */
	if (zstd) {
		zbody = malloc((size_t)body_len);
		if (!zbody) {
			rc = rv_err_set(RV_NOMEM, "out of memory (%llu bytes)",
					(unsigned long long)body_len);
			goto done;
		}
		body = zbody;
	} else {
		rc = rv_buf_reserve(out, (size_t)plain_len);
		if (rc)
			goto done;
		dst = out->data + out->len;
		body = dst;
	}

	rc = frame_cipher_init(&c, key, frame, id);
	if (rc)
		goto done;
	off = FRAME_HEADER_LEN;
	for (i = 0; i < nseg; i++) {
		size_t start = (size_t)i * FRAME_SEGMENT;
		size_t n = body_len - start < FRAME_SEGMENT
			       ? (size_t)body_len - start
			       : FRAME_SEGMENT;
		unsigned char tag[FRAME_TAG_LEN];
		int outl = 0, finl = 0;

		rc = frame_segment_begin(&c, 0, i, i == nseg - 1);
		if (rc)
			goto done;
		if (n > 0 && EVP_DecryptUpdate(c.ctx, body + start, &outl,
					       frame + off, (int)n) != 1) {
			rc = keys_openssl_error("aes-256-gcm decryption");
			goto done;
		}
		memcpy(tag, frame + off + n, FRAME_TAG_LEN);
		if (EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG,
					FRAME_TAG_LEN, tag) != 1) {
			rc = keys_openssl_error("aes-256-gcm decryption");
			goto done;
		}
		if (EVP_DecryptFinal_ex(c.ctx, body + start + outl, &finl) !=
			1 ||
		    (size_t)outl + (size_t)finl != n) {
			ERR_clear_error();
			rc = rv_err_set(RV_CORRUPT,
					"frame fails authentication (segment "
					"%llu of %llu: wrong key or id, or "
					"damaged data)",
					(unsigned long long)i + 1,
					(unsigned long long)nseg);
			goto done;
		}
		off += n + FRAME_TAG_LEN;
	}

	if (zstd) {
		unsigned long long content =
		    ZSTD_getFrameContentSize(zbody, (size_t)body_len);
		size_t got;

		if (content != plain_len) {
			rc = rv_err_set(RV_CORRUPT,
					"frame's zstd data does not declare "
					"its %llu bytes",
					(unsigned long long)plain_len);
			goto done;
		}
		rc = rv_buf_reserve(out, (size_t)plain_len);
		if (rc)
			goto done;
		dst = out->data + out->len;
		got = ZSTD_decompress(dst, (size_t)plain_len, zbody,
				      (size_t)body_len);
		if (ZSTD_isError(got) || got != plain_len) {
			rc = rv_err_set(
			    RV_CORRUPT, "frame fails to decompress (%s)",
			    ZSTD_isError(got) ? ZSTD_getErrorName(got)
					      : "wrong length");
			goto done;
		}
	}
	out->len += (size_t)plain_len;
	out->data[out->len] = '\0';
	rc = 0;
done:
	frame_cipher_release(&c);
	if (rc && dst)
		OPENSSL_cleanse(dst, (size_t)plain_len);
	if (zbody) {
		OPENSSL_cleanse(zbody, (size_t)body_len);
		free(zbody);
	}
	return rc;
}
