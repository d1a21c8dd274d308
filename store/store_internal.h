/* store_internal.h - the store handle, shared by store.c, seal.c and
 * keyslots.c only. */
#ifndef STORE_STORE_INTERNAL_H
#define STORE_STORE_INTERNAL_H

#include "store/chunker.h"
#include "store/keys.h"
#include "store/sign.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

#define STORE_CONFIG_NAME "regvault.json"
#define STORE_CONFIG_MAX ((size_t)64 << 10)
#define STORE_SLOT_MAX ((size_t)64 << 10)
#define STORE_MAX_SLOTS 64
#define STORE_CHUNK_DEFAULT ((size_t)2 << 20)
#define STORE_CHUNK_MIN ((uint64_t)64 << 10)
#define STORE_CHUNK_MAX ((uint64_t)64 << 20)
#define STORE_PACK_DEFAULT ((uint64_t)32 << 20)
#define STORE_PACK_MIN ((uint64_t)1 << 20)
#define STORE_PACK_MAX ((uint64_t)4 << 30)
#define STORE_SNAPSHOT_MAX ((size_t)256 << 20)
#define STORE_SEAL_MAX ((size_t)64 << 20)
#define STORE_FRAME_SLACK ((size_t)1 << 20)

/* An open pack and the store it goes to (store/writer.c). */
struct store_writer {
	struct store *s;
	struct pack_writer *pw; /* the open pack, or NULL */
	uint64_t generation;    /* bumped at every flush */
};

/* Free w's open pack (its temporary file goes too). */
void store_writer_release(struct store_writer *w);

/* The targets' answers to one put: each failure is warned about by
 * target name as it comes, the first one kept for the final message. */
struct store_put_tally {
	unsigned char *ok; /* one per target */
	int first_rc;
	char first_msg[1024];
};
void store_put_note(struct store_put_tally *t, const struct store *s,
		    size_t i, int rc);
/* Did enough targets take it (write policy)? The message names the
 * first failure. */
int store_put_outcome(const struct store *s, const char *name,
		      const struct store_put_tally *t);

struct store {
	struct target **targets; /* owned elements */
	size_t n_targets;
	size_t quorum;           /* puts needed for success; 0 = all */
	char id[STORE_ID_HEX];
	int format;
	struct store_keys keys;
	char *slot_name;         /* the key slot that opened the store */
	int chunker;             /* enum store_chunker */
	struct chunker_params cdc;
	size_t chunk_size;       /* the largest chunk */
	uint64_t pack_size;
	int has_signing;         /* format >= 2 */
	unsigned char sign_pub[SIGN_KEY_LEN];
	unsigned char sign_priv[SIGN_KEY_LEN];
	char fingerprint[SIGN_FINGERPRINT_MAX];
	char *staging_dir;
	struct store_writer w;  /* the store's own open pack */
};

struct store_config {
	char id[STORE_ID_HEX];
	int format;
	int chunker;
	struct chunker_params cdc;
	size_t chunk_size;
	uint64_t pack_size;
	int has_signing;
	unsigned char sign_pub[SIGN_KEY_LEN];
	unsigned char sign_priv_sealed[2048];
	size_t sign_priv_sealed_len;
};

/* 1 when s is exactly n lowercase hex characters. */
int store_hex_ok(const char *s, size_t n);

/* The 32 bytes a 64-hex snapshot id spells; RV_INVALID otherwise. */
int store_snap_id(unsigned char raw[32], const char *snap_id);

/* Put the same bytes on every target under name; succeeds when at least
 * the quorum of targets took them (all, by default). Failures are warned
 * about by target name; *ok (may be NULL) receives a 0/1 flag per target. */
int store_put_all(struct store *s, const char *name, const void *data,
		  size_t len, unsigned char *ok);

#endif
