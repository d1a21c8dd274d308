/* crypto_internal.h - small crypto helpers shared by frame.c and keys.c.
 *
 * Internal to store/: not for callers outside it. The functions live in
 * keys.c and carry its prefix.
 */
#ifndef STORE_CRYPTO_INTERNAL_H
#define STORE_CRYPTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* HKDF-SHA256 (extract and expand) of ikm with salt and the text info into
 * out (out_len bytes). RV_ERROR (message set) when OpenSSL fails. */
int keys_hkdf(unsigned char *out, size_t out_len, const void *ikm,
	      size_t ikm_len, const void *salt, size_t salt_len,
	      const char *info);

/* Set an RV_ERROR message "<what> failed (openssl: <reason>)" from the
 * OpenSSL error queue, clear the queue, and return RV_ERROR. */
int keys_openssl_error(const char *what);

static inline void keys_put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static inline uint64_t keys_get_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

#endif
