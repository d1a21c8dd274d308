/* keys.c - master secret, derived keys, key slots (docs/FORMAT.md,
 * "Key slots").
 *
 * A key slot is read from a target that someone else may write, so its
 * scrypt parameters are bounded before scrypt runs: a forged slot must not
 * make us allocate gigabytes or spin for hours. Nothing is written to the
 * caller's struct store_keys until the slot has authenticated.
 */
#include "store/keys.h"

#include "store/crypto_internal.h"
#include "util/base64.h"
#include "util/err.h"

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <stdlib.h>
#include <string.h>

#define KEYSLOT_VERSION 1
#define KEYSLOT_MAX_DOC (64u * 1024)
#define KEYSLOT_SALT_LEN 32
#define KEYSLOT_NONCE_LEN 12
#define KEYSLOT_TAG_LEN 16
#define KEYSLOT_WRAPPED_LEN (KEYS_MASTER_LEN + KEYSLOT_TAG_LEN)
#define KEYSLOT_AAD_PREFIX "regvault/v1/keyslot"
#define KEYSLOT_N_MIN ((uint64_t)1 << 10)
#define KEYSLOT_N_MAX ((uint64_t)1 << 22)
#define KEYSLOT_R_MAX 32
#define KEYSLOT_P_MAX 16
#define KEYSLOT_MEM_MAX ((uint64_t)1 << 30) /* 128 * N * r */
/* Base64 of the longest field (80 bytes) is 108 characters. */
#define KEYSLOT_B64_MAX 128

int keys_openssl_error(const char *what)
{
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return rv_err_set(RV_ERROR, "%s failed (openssl: %s)", what,
			  reason ? reason : "no reason given");
}

int keys_hkdf(unsigned char *out, size_t out_len, const void *ikm,
	      size_t ikm_len, const void *salt, size_t salt_len,
	      const char *info)
{
	int rc = RV_ERROR;
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5];

	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (!kdf) {
		rc = keys_openssl_error("loading hkdf");
		goto done;
	}
	kctx = EVP_KDF_CTX_new(kdf);
	if (!kctx) {
		rc = keys_openssl_error("hkdf setup");
		goto done;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						      (void *)ikm, ikm_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						      (void *)salt, salt_len);
	params[3] = OSSL_PARAM_construct_octet_string(
	    OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) != 1) {
		rc = keys_openssl_error("hkdf");
		goto done;
	}
	rc = 0;
done:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

void keyslot_params_default(struct keyslot_params *p)
{
	const char *fast = getenv("REGVAULT_TEST_FAST_KDF");

	/* Tests only: scrypt at N=2^15 makes a test suite crawl, above all
	 * under valgrind. Never set this for a real store. */
	p->n =
	    fast && strcmp(fast, "1") == 0 ? KEYSLOT_N_MIN : (uint64_t)1 << 15;
	p->r = 8;
	p->p = 1;
}

static int keys_check_store_id(const char *store_id)
{
	if (!store_id || !*store_id)
		return rv_err_set(RV_INVALID, "store id is empty");
	return 0;
}

int keys_derive(struct store_keys *k, const char *store_id)
{
	int rc = keys_check_store_id(store_id);

	if (rc)
		return rc;
	rc = keys_hkdf(k->data_key, KEYS_KEY_LEN, k->master, KEYS_MASTER_LEN,
		       store_id, strlen(store_id), "regvault/v1/data");
	if (!rc)
		rc = keys_hkdf(k->id_key, KEYS_KEY_LEN, k->master,
			       KEYS_MASTER_LEN, store_id, strlen(store_id),
			       "regvault/v1/id");
	if (rc) {
		OPENSSL_cleanse(k->data_key, KEYS_KEY_LEN);
		OPENSSL_cleanse(k->id_key, KEYS_KEY_LEN);
	}
	return rc;
}

int keys_generate(struct store_keys *k, const char *store_id)
{
	int rc = keys_check_store_id(store_id);

	if (rc)
		return rc;
	if (RAND_bytes(k->master, KEYS_MASTER_LEN) != 1)
		return keys_openssl_error("random master secret");
	rc = keys_derive(k, store_id);
	if (rc)
		keys_wipe(k);
	return rc;
}

void keys_wipe(struct store_keys *k)
{
	if (k)
		OPENSSL_cleanse(k, sizeof(*k));
}

int keys_chunk_id(unsigned char out[KEYS_ID_LEN], const struct store_keys *k,
		  const void *data, size_t len)
{
	unsigned int out_len = 0;

	if (!data)
		data = "";
	if (!HMAC(EVP_sha256(), k->id_key, KEYS_KEY_LEN, data, len, out,
		  &out_len) ||
	    out_len != KEYS_ID_LEN)
		return keys_openssl_error("hmac-sha256");
	return 0;
}

/* Bounds on what a key slot may ask of us; the same bounds hold when a
 * slot is written, so every slot we write can be read back. */
static int keyslot_check_params(uint64_t n, uint64_t r, uint64_t p)
{
	int ok = n >= KEYSLOT_N_MIN && n <= KEYSLOT_N_MAX &&
		 (n & (n - 1)) == 0 && r >= 1 && r <= KEYSLOT_R_MAX && p >= 1 &&
		 p <= KEYSLOT_P_MAX && 128 * n * r <= KEYSLOT_MEM_MAX;

	if (ok)
		return 0;
	return rv_err_set(RV_INVALID,
			  "key slot asks for absurd scrypt parameters "
			  "(N=%llu, r=%llu, p=%llu; allowed: N a power of two "
			  "from 2^10 to 2^22, r 1-32, p 1-16, 128*N*r at most "
			  "1 GiB)",
			  (unsigned long long)n, (unsigned long long)r,
			  (unsigned long long)p);
}

static int keyslot_kek(unsigned char kek[32], const char *passphrase,
		       size_t pass_len, const unsigned char *salt, uint64_t n,
		       uint64_t r, uint64_t p)
{
	/* What OpenSSL's scrypt allocates: V (128*r*(N+2)) and B
	 * (128*r*p), with a little room to spare. */
	uint64_t maxmem = 128 * r * (n + 2) + 128 * r * p + 65536;

	if (!pass_len)
		passphrase = "";
	if (EVP_PBE_scrypt(passphrase, pass_len, salt, KEYSLOT_SALT_LEN, n, r,
			   p, maxmem, kek, 32) != 1)
		return keys_openssl_error("scrypt");
	return 0;
}

/* AES-256-GCM of the 64-byte master secret under kek; AAD binds the slot
 * to its store. enc: in -> out and tag written; else tag checked. */
static int keyslot_gcm(int enc, unsigned char *out, unsigned char *tag,
		       const unsigned char kek[32], const unsigned char *nonce,
		       const char *store_id, const unsigned char *in)
{
	int rc = RV_ERROR;
	EVP_CIPHER_CTX *ctx = NULL;
	int outl = 0, finl = 0;

	ctx = EVP_CIPHER_CTX_new();
	if (!ctx) {
		rc = rv_err_set(RV_NOMEM, "out of memory (cipher context)");
		goto done;
	}
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, kek, nonce, enc) !=
		1 ||
	    EVP_CipherUpdate(ctx, NULL, &outl,
			     (const unsigned char *)KEYSLOT_AAD_PREFIX,
			     (int)strlen(KEYSLOT_AAD_PREFIX)) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &outl, (const unsigned char *)store_id,
			     (int)strlen(store_id)) != 1 ||
	    EVP_CipherUpdate(ctx, out, &outl, in, KEYS_MASTER_LEN) != 1) {
		rc = keys_openssl_error("aes-256-gcm");
		goto done;
	}
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
					KEYSLOT_TAG_LEN, tag) != 1) {
		rc = keys_openssl_error("aes-256-gcm");
		goto done;
	}
	if (EVP_CipherFinal_ex(ctx, out + outl, &finl) != 1 ||
	    outl + finl != KEYS_MASTER_LEN) {
		if (enc) {
			rc = keys_openssl_error("aes-256-gcm");
		} else {
			ERR_clear_error();
			rc = rv_err_set(RV_KEY, "wrong passphrase");
		}
		goto done;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
				       KEYSLOT_TAG_LEN, tag) != 1) {
		rc = keys_openssl_error("aes-256-gcm");
		goto done;
	}
	rc = 0;
done:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* Strict standard base64 (padded, no whitespace, canonical) of exactly
 * want bytes. */
static int keyslot_b64_decode(unsigned char *out, size_t want,
			      const char *field, const char *text)
{
	size_t tlen = strlen(text);
	size_t groups = (want + 2) / 3;
	size_t pad = groups * 3 - want;
	size_t o = 0;

	if (tlen != groups * 4)
		goto bad;
	for (size_t g = 0; g < groups; g++) {
		const unsigned char *q = (const unsigned char *)text + 4 * g;
		int last = g == groups - 1;
		int v[4];
		uint32_t bits = 0;

		for (int j = 0; j < 4; j++) {
			if (last && j >= 4 - (int)pad) {
				if (q[j] != '=')
					goto bad;
				v[j] = 0;
			} else {
				v[j] = rv_b64_value(q[j]);
				if (v[j] < 0)
					goto bad;
			}
			bits = (bits << 6) | (uint32_t)v[j];
		}
		/* Bits beyond the data must be zero (one spelling only). */
		if ((last && pad == 1 && (v[2] & 0x3)) ||
		    (last && pad == 2 && (v[1] & 0xf)))
			goto bad;
		for (int j = 0; j < 3 && o < want; j++)
			out[o++] = (unsigned char)(bits >> (16 - 8 * j));
	}
	return 0;
bad:
	return rv_err_set(RV_CORRUPT,
			  "key slot field '%s' is not base64 of %zu bytes",
			  field, want);
}

int keyslot_seal(struct rv_buf *out, const struct store_keys *k,
		 const char *store_id, const char *passphrase, size_t pass_len,
		 const struct keyslot_params *params)
{
	int rc;
	json_t *doc = NULL;
	char *text = NULL;
	unsigned char salt[KEYSLOT_SALT_LEN], nonce[KEYSLOT_NONCE_LEN];
	unsigned char wrapped[KEYSLOT_WRAPPED_LEN];
	unsigned char kek[32];
	char salt_b64[KEYSLOT_B64_MAX], nonce_b64[KEYSLOT_B64_MAX];
	char wrapped_b64[KEYSLOT_B64_MAX];

	rc = keys_check_store_id(store_id);
	if (rc)
		return rc;
	if (!passphrase || !pass_len)
		return rv_err_set(RV_INVALID,
				  "refusing an empty passphrase for a key "
				  "slot");
	rc = keyslot_check_params(params->n, params->r, params->p);
	if (rc)
		return rc;
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    RAND_bytes(nonce, sizeof(nonce)) != 1)
		return keys_openssl_error("random key slot salt");

	rc = keyslot_kek(kek, passphrase, pass_len, salt, params->n, params->r,
			 params->p);
	if (rc)
		goto done;
	rc = keyslot_gcm(1, wrapped, wrapped + KEYS_MASTER_LEN, kek, nonce,
			 store_id, k->master);
	if (rc)
		goto done;

	EVP_EncodeBlock((unsigned char *)salt_b64, salt, sizeof(salt));
	EVP_EncodeBlock((unsigned char *)nonce_b64, nonce, sizeof(nonce));
	EVP_EncodeBlock((unsigned char *)wrapped_b64, wrapped, sizeof(wrapped));
	doc = json_pack("{s:i, s:s, s:I, s:i, s:i, s:s, s:s, s:s}", "version",
			KEYSLOT_VERSION, "kdf", "scrypt", "n",
			(json_int_t)params->n, "r", (int)params->r, "p",
			(int)params->p, "salt", salt_b64, "nonce", nonce_b64,
			"wrapped", wrapped_b64);
	if (!doc) {
		rc = rv_err_set(RV_NOMEM, "out of memory (key slot)");
		goto done;
	}
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		rc = rv_err_set(RV_NOMEM, "out of memory (key slot)");
		goto done;
	}
	rc = rv_buf_puts(out, text);
done:
	OPENSSL_cleanse(kek, sizeof(kek));
	free(text);
	json_decref(doc);
	return rc;
}

/* An integer member, or RV_CORRUPT when it is missing or not one. */
static int keyslot_get_int(json_int_t *out, json_t *doc, const char *name)
{
	json_t *v = json_object_get(doc, name);

	if (!json_is_integer(v))
		return rv_err_set(RV_CORRUPT,
				  "key slot field '%s' is missing or not an "
				  "integer",
				  name);
	*out = json_integer_value(v);
	return 0;
}

static int keyslot_get_b64(unsigned char *out, size_t want, json_t *doc,
			   const char *name)
{
	json_t *v = json_object_get(doc, name);

	if (!json_is_string(v))
		return rv_err_set(RV_CORRUPT,
				  "key slot field '%s' is missing or not a "
				  "string",
				  name);
	return keyslot_b64_decode(out, want, name, json_string_value(v));
}

int keyslot_open(struct store_keys *k, const char *store_id, const void *slot,
		 size_t len, const char *passphrase, size_t pass_len)
{
	int rc;
	json_t *doc = NULL;
	json_error_t jerr;
	json_t *kdf;
	json_int_t version = 0, n = 0, r = 0, p = 0;
	unsigned char salt[KEYSLOT_SALT_LEN], nonce[KEYSLOT_NONCE_LEN];
	unsigned char wrapped[KEYSLOT_WRAPPED_LEN];
	unsigned char kek[32];
	struct store_keys opened;

	memset(&opened, 0, sizeof(opened));
	rc = keys_check_store_id(store_id);
	if (rc)
		return rc;
	if (!passphrase && pass_len)
		return rv_err_set(RV_INVALID, "passphrase is missing");
	if (len > KEYSLOT_MAX_DOC)
		return rv_err_set(RV_CORRUPT,
				  "key slot is %zu bytes, more than the %u a "
				  "key slot may be",
				  len, KEYSLOT_MAX_DOC);

	doc = json_loadb(slot, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		rc = rv_err_set(RV_CORRUPT,
				"key slot is not valid json (%s at line %d)",
				jerr.text, jerr.line);
		goto done;
	}
	if (!json_is_object(doc)) {
		rc = rv_err_set(RV_CORRUPT, "key slot is not a json object");
		goto done;
	}

	rc = keyslot_get_int(&version, doc, "version");
	if (rc)
		goto done;
	if (version != KEYSLOT_VERSION) {
		rc = rv_err_set(RV_UNSUPPORTED,
				"key slot has version %lld; this regvault "
				"reads version %d (upgrade regvault)",
				(long long)version, KEYSLOT_VERSION);
		goto done;
	}
	kdf = json_object_get(doc, "kdf");
	if (!json_is_string(kdf)) {
		rc = rv_err_set(RV_CORRUPT,
				"key slot field 'kdf' is missing or not a "
				"string");
		goto done;
	}
	if (strcmp(json_string_value(kdf), "scrypt") != 0) {
		rc = rv_err_set(RV_UNSUPPORTED,
				"key slot uses kdf '%s'; only 'scrypt' is "
				"supported",
				json_string_value(kdf));
		goto done;
	}
	if ((rc = keyslot_get_int(&n, doc, "n")) ||
	    (rc = keyslot_get_int(&r, doc, "r")) ||
	    (rc = keyslot_get_int(&p, doc, "p")))
		goto done;
	if (n < 0 || r < 0 || p < 0) {
		rc = rv_err_set(RV_INVALID,
				"key slot asks for absurd scrypt parameters "
				"(N=%lld, r=%lld, p=%lld are negative)",
				(long long)n, (long long)r, (long long)p);
		goto done;
	}
	rc = keyslot_check_params((uint64_t)n, (uint64_t)r, (uint64_t)p);
	if (rc)
		goto done;
	if ((rc = keyslot_get_b64(salt, sizeof(salt), doc, "salt")) ||
	    (rc = keyslot_get_b64(nonce, sizeof(nonce), doc, "nonce")) ||
	    (rc = keyslot_get_b64(wrapped, sizeof(wrapped), doc, "wrapped")))
		goto done;

	rc = keyslot_kek(kek, passphrase, pass_len, salt, (uint64_t)n,
			 (uint64_t)r, (uint64_t)p);
	if (rc)
		goto done;
	rc = keyslot_gcm(0, opened.master, wrapped + KEYS_MASTER_LEN, kek,
			 nonce, store_id, wrapped);
	if (rc)
		goto done;
	rc = keys_derive(&opened, store_id);
	if (rc)
		goto done;
	memcpy(k, &opened, sizeof(*k));
done:
	OPENSSL_cleanse(kek, sizeof(kek));
	keys_wipe(&opened);
	json_decref(doc);
	return rc;
}
