#include "digest.h"

#include "err.h"

#include <openssl/evp.h>
#include <string.h>

int rv_sha256_init(struct rv_sha256 *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return rv_err_set(RV_NOMEM, "out of memory (sha256)");
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return rv_err_set(RV_ERROR, "sha256 init failed");
	}
	h->ctx = ctx;
	return 0;
}

int rv_sha256_update(struct rv_sha256 *h, const void *data, size_t len)
{
	if (len && EVP_DigestUpdate(h->ctx, data, len) != 1)
		return rv_err_set(RV_ERROR, "sha256 update failed");
	return 0;
}

int rv_sha256_final(struct rv_sha256 *h, unsigned char out[RV_SHA256_LEN])
{
	unsigned int n = 0;
	int ok = EVP_DigestFinal_ex(h->ctx, out, &n) == 1 && n == RV_SHA256_LEN;
	rv_sha256_release(h);
	return ok ? 0 : rv_err_set(RV_ERROR, "sha256 final failed");
}

void rv_sha256_release(struct rv_sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

int rv_sha256_buf(unsigned char out[RV_SHA256_LEN], const void *data,
		  size_t len)
{
	unsigned int n = 0;
	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1)
		return rv_err_set(RV_ERROR, "sha256 failed");
	return 0;
}

void rv_hex_encode(char *out, const unsigned char *in, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexd[in[i] >> 4];
		out[2 * i + 1] = hexd[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int rv_hex_decode(unsigned char *out, size_t n, const char *hex)
{
	if (strlen(hex) != 2 * n)
		return rv_err_set(RV_INVALID, "bad hex string length");
	for (size_t i = 0; i < n; i++) {
		int hi = hexval((unsigned char)hex[2 * i]);
		int lo = hexval((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return rv_err_set(RV_INVALID, "bad hex digit");
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int rv_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
		return 0;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

void rv_digest_format(char out[RV_DIGEST_MAX],
		      const unsigned char sha[RV_SHA256_LEN])
{
	memcpy(out, "sha256:", 7);
	rv_hex_encode(out + 7, sha, RV_SHA256_LEN);
}

int rv_digest_of(char out[RV_DIGEST_MAX], const void *data, size_t len)
{
	unsigned char sha[RV_SHA256_LEN];
	int rc = rv_sha256_buf(sha, data, len);
	if (rc)
		return rc;
	rv_digest_format(out, sha);
	return 0;
}
