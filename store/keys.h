/* keys.h - master keys, the keys derived from them, and key slots.
 *
 * The master secret is 64 random bytes made at `init`. HKDF-SHA256 (salt:
 * the store id) derives
 *   data_key: seals frames (info "regvault/v1/data"),
 *   id_key:   HMAC-SHA256 ids of chunks (info "regvault/v1/id").
 * A key slot wraps the master secret under a key derived from a passphrase
 * with scrypt; its parameters are stored in the slot and bounded when read.
 */
#ifndef STORE_KEYS_H
#define STORE_KEYS_H

#include "util/buf.h"

#include <stddef.h>
#include <stdint.h>

#define KEYS_MASTER_LEN 64
#define KEYS_KEY_LEN 32
#define KEYS_ID_LEN 32

struct store_keys {
	unsigned char master[KEYS_MASTER_LEN];
	unsigned char data_key[KEYS_KEY_LEN];
	unsigned char id_key[KEYS_KEY_LEN];
};

struct keyslot_params {
	uint64_t n; /* scrypt N, a power of two */
	uint32_t r;
	uint32_t p;
};

/* Defaults: N=2^15, r=8, p=1 (32 MiB, ~0.1 s). */
void keyslot_params_default(struct keyslot_params *p);

/* Fresh random master secret, derived keys filled in. */
int keys_generate(struct store_keys *k, const char *store_id);
/* Fill data_key and id_key from master. */
int keys_derive(struct store_keys *k, const char *store_id);
/* Zero the struct (OPENSSL_cleanse). */
void keys_wipe(struct store_keys *k);

/* HMAC-SHA256(id_key, data) -> out. */
int keys_chunk_id(unsigned char out[KEYS_ID_LEN], const struct store_keys *k,
		  const void *data, size_t len);

/* A key slot document (JSON, see docs/FORMAT.md) that wraps k->master
 * for this passphrase, appended to out. */
int keyslot_seal(struct rv_buf *out, const struct store_keys *k,
		 const char *store_id, const char *passphrase, size_t pass_len,
		 const struct keyslot_params *params);

/* Unwrap a key slot. RV_KEY when the passphrase is wrong (the AEAD tag
 * fails), RV_INVALID when the KDF parameters are absurd (checked before
 * any work), RV_CORRUPT when the document is malformed. On success k
 * holds the master secret and derived keys. */
int keyslot_open(struct store_keys *k, const char *store_id, const void *slot,
		 size_t len, const char *passphrase, size_t pass_len);

#endif
