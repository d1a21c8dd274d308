/* digest.h - sha256 hashing, hex, and OCI digest strings.
 *
 * regvault handles only "sha256:<64 lowercase hex>" digests; anything else
 * is refused by rv_digest_valid().
 */
#ifndef RV_DIGEST_H
#define RV_DIGEST_H

#include <stddef.h>

#define RV_SHA256_LEN 32
#define RV_DIGEST_MAX 72 /* "sha256:" + 64 hex + NUL */

struct rv_sha256 {
	void *ctx; /* EVP_MD_CTX */
};

int rv_sha256_init(struct rv_sha256 *h);
int rv_sha256_update(struct rv_sha256 *h, const void *data, size_t len);
/* Write the hash and release the context. */
int rv_sha256_final(struct rv_sha256 *h, unsigned char out[RV_SHA256_LEN]);
/* Release without a result (safe on an initialised or zeroed struct). */
void rv_sha256_release(struct rv_sha256 *h);
int rv_sha256_buf(unsigned char out[RV_SHA256_LEN], const void *data,
		  size_t len);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void rv_hex_encode(char *out, const unsigned char *in, size_t n);
/* Decode exactly 2*n hex chars; RV_INVALID otherwise. */
int rv_hex_decode(unsigned char *out, size_t n, const char *hex);

/* 1 if d is "sha256:" followed by 64 lowercase hex chars, else 0. */
int rv_digest_valid(const char *d);
void rv_digest_format(char out[RV_DIGEST_MAX],
		      const unsigned char sha[RV_SHA256_LEN]);
/* The sha256 of data as a digest string. */
int rv_digest_of(char out[RV_DIGEST_MAX], const void *data, size_t len);

#endif
