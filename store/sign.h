/* sign.h - Ed25519 signatures (OpenSSL EVP) for snapshot seals.
 *
 * Raw 32-byte keys and 64-byte signatures. The fingerprint of a public key
 * is "sha256:" followed by the hex sha256 of its 32 raw bytes; it is what
 * an operator pins in the config (key.fingerprint).
 */
#ifndef STORE_SIGN_H
#define STORE_SIGN_H

#include <stddef.h>

#define SIGN_KEY_LEN 32
#define SIGN_SIG_LEN 64
#define SIGN_FINGERPRINT_MAX 72

/* A fresh key pair. */
int sign_keygen(unsigned char pub[SIGN_KEY_LEN], unsigned char priv[SIGN_KEY_LEN]);
/* The public half of a private key. */
int sign_public(unsigned char pub[SIGN_KEY_LEN],
		const unsigned char priv[SIGN_KEY_LEN]);
int sign_sign(unsigned char sig[SIGN_SIG_LEN],
	      const unsigned char priv[SIGN_KEY_LEN], const void *msg,
	      size_t len);
/* 0 when sig is a valid signature of msg by pub, else RV_CORRUPT. */
int sign_verify(const unsigned char pub[SIGN_KEY_LEN], const void *msg,
		size_t len, const unsigned char sig[SIGN_SIG_LEN]);
void sign_fingerprint(char out[SIGN_FINGERPRINT_MAX],
		      const unsigned char pub[SIGN_KEY_LEN]);

#endif
