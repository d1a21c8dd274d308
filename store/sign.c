#include "store/sign.h"

#include "util/digest.h"
#include "util/err.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>

static int sign_ossl_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[256] = "unknown";
	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return rv_err_set(RV_ERROR, "%s failed (openssl: %s)", what, reason);
}

int sign_keygen(unsigned char pub[SIGN_KEY_LEN],
		unsigned char priv[SIGN_KEY_LEN])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *key = NULL;
	size_t plen = SIGN_KEY_LEN, klen = SIGN_KEY_LEN;
	int rc = 0;

	if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_keygen(ctx, &key) != 1 ||
	    EVP_PKEY_get_raw_private_key(key, priv, &klen) != 1 ||
	    EVP_PKEY_get_raw_public_key(key, pub, &plen) != 1 ||
	    klen != SIGN_KEY_LEN || plen != SIGN_KEY_LEN)
		rc = sign_ossl_error("ed25519 key generation");
	EVP_PKEY_free(key);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int sign_public(unsigned char pub[SIGN_KEY_LEN],
		const unsigned char priv[SIGN_KEY_LEN])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
						     priv, SIGN_KEY_LEN);
	size_t plen = SIGN_KEY_LEN;
	int rc = 0;
	if (!key || EVP_PKEY_get_raw_public_key(key, pub, &plen) != 1 ||
	    plen != SIGN_KEY_LEN)
		rc = sign_ossl_error("ed25519 public key");
	EVP_PKEY_free(key);
	return rc;
}

int sign_sign(unsigned char sig[SIGN_SIG_LEN],
	      const unsigned char priv[SIGN_KEY_LEN], const void *msg,
	      size_t len)
{
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
						     priv, SIGN_KEY_LEN);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t slen = SIGN_SIG_LEN;
	int rc = 0;
	if (!key || !md || EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &slen, msg, len) != 1 ||
	    slen != SIGN_SIG_LEN)
		rc = sign_ossl_error("ed25519 signing");
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return rc;
}

int sign_verify(const unsigned char pub[SIGN_KEY_LEN], const void *msg,
		size_t len, const unsigned char sig[SIGN_SIG_LEN])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
						    pub, SIGN_KEY_LEN);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = 0, ok;
	if (!key || !md || EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) != 1) {
		rc = sign_ossl_error("ed25519 verification");
		goto done;
	}
	ok = EVP_DigestVerify(md, sig, SIGN_SIG_LEN, msg, len);
	ERR_clear_error();
	if (ok != 1)
		rc = rv_err_set(RV_CORRUPT, "the signature does not verify");
done:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return rc;
}

void sign_fingerprint(char out[SIGN_FINGERPRINT_MAX],
		      const unsigned char pub[SIGN_KEY_LEN])
{
	unsigned char sha[RV_SHA256_LEN];
	if (rv_sha256_buf(sha, pub, SIGN_KEY_LEN))
		memset(sha, 0, sizeof(sha));
	rv_digest_format(out, sha);
}
