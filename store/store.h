/* store.h - the archive store: targets + keys + packs, one handle.
 *
 * Layout on every target (docs/FORMAT.md):
 *   regvault.json       store id, format version, chunker parameters
 *   keys/<slot id>      key slots (JSON)
 *   packs/<xx>/<id>     packs; id = sha256 of the file
 *   snapshots/<id>      sealed snapshot records
 *
 * Writing: chunks are added to an open pack in a staging folder; when the
 * caller flushes, the pack is finished and put on every target; only then
 * does store_pack_flush return its description, for the caller to record
 * in the catalog. Reading: a chunk is fetched by byte range from the first
 * target that has its pack, authenticated, decompressed and its id
 * recomputed.
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include "store/pack.h"
#include "util/buf.h"
#include "util/strlist.h"

#include <stddef.h>
#include <stdint.h>

#define STORE_ID_HEX 33 /* 16 random bytes as hex + NUL */
#define STORE_FORMAT_VERSION 2 /* reads 1 and 2 */

enum store_chunker {
	STORE_CHUNKER_FIXED = 0,   /* format 1: fixed-size chunks */
	STORE_CHUNKER_FASTCDC = 1, /* format 2: keyed content-defined */
};

struct store;
struct target;
struct chunker;

/* Write regvault.json and a first key slot on every target. The targets
 * must hold no store yet (RV_INVALID: "already initialised"). */
int store_init(struct target **targets, size_t n, const char *passphrase,
	       size_t pass_len, char store_id[STORE_ID_HEX]);

/* Open an initialised store: read regvault.json from the first target
 * that has it (all must agree on the store id), try each key slot.
 * RV_NOTFOUND when no target is initialised (message says to run
 * `regvault init`), RV_KEY when no slot opens with this passphrase.
 * staging_dir holds packs being written. The store takes ownership of the
 * targets array's elements (not of the array); on failure the caller keeps
 * them. */
int store_open(struct store **out, struct target **targets, size_t n,
	       const char *passphrase, size_t pass_len,
	       const char *staging_dir);
void store_free(struct store *s);

/* Remove temporary files ('.'-names: unfinished packs, copies) that a
 * killed run left in the staging folder (never recorded anywhere). Call only while holding the
 * run lock: a concurrent writer's open pack lives there too. Returns the
 * number removed in *removed. */
int store_staging_clean(struct store *s, size_t *removed);

const char *store_id(const struct store *s);
/* The largest chunk this store's chunker makes (the fixed size for
 * format 1 stores, the content-defined maximum for format 2). */
size_t store_chunk_size(const struct store *s);
int store_format(const struct store *s);
/* A content-defined chunker keyed for this store, or *out = NULL when the
 * store cuts fixed-size chunks of store_chunk_size() bytes (format 1). */
int store_chunker_new(struct chunker **out, const struct store *s);
/* Succeed when at least n targets take a write (0 or n >= count: all). */
void store_set_quorum(struct store *s, size_t n);
/* How many targets a write must reach (the write policy). */
size_t store_write_needed(const struct store *s);
size_t store_target_count(const struct store *s);
const char *store_target_name(const struct store *s, size_t i);

/* Key slots (keys/<16 hex>): each wraps the same master secret under its
 * own passphrase; adding or removing one rewrites no data. */
/* Add a slot for passphrase on every target (all must take it; a partial
 * add is undone). name_out receives its id. */
int store_key_add(char name_out[17], struct store *s, const char *passphrase,
		  size_t pass_len);
/* The ids of every slot on any target, sorted. */
int store_key_list(struct rv_strlist *names, struct store *s);
/* The id of the slot that opened this store. */
const char *store_key_current(const struct store *s);
/* Remove a slot from every target. RV_INVALID for the last slot,
 * RV_NOTFOUND for an unknown id. */
int store_key_remove(struct store *s, const char *slot);

/* The i-th target (owned by the store), for maintenance that works on one
 * target at a time (repair, catalog rebuild). */
struct target *store_target(struct store *s, size_t i);

/* Read pack_id whole from target i, check that its bytes hash to its id
 * (RV_CORRUPT otherwise) and read its index. *size receives the file size.
 * RV_NOTFOUND when the target does not hold it. Free with pack_index_free. */
int store_pack_index_read(struct pack_index **out, uint64_t *size,
			  struct store *s, size_t i, const char *pack_id);

/* Keyed id of a chunk's plaintext. */
int store_chunk_id(unsigned char out[32], const struct store *s,
		   const void *data, size_t len);

/* Append a chunk to the open pack (one is started when none is open). */
int store_add_chunk(struct store *s, const unsigned char id[32],
		    const void *plain, size_t len);
/* Record a completed blob or manifest in the open pack. */
int store_add_blob(struct store *s, const struct pack_blob *b);
/* Mark / roll back the open pack (see pack_writer_mark). A mark taken
 * before a flush cannot be rolled back after it: rollback then returns
 * RV_INVALID. */
void store_mark(struct store *s, struct pack_mark *m, uint64_t *generation);
int store_rollback(struct store *s, const struct pack_mark *m,
		   uint64_t generation);
/* 1 when the open pack has reached its target size. */
int store_pack_full(const struct store *s);
/* 1 when a pack is open with at least one chunk or blob. */
int store_pack_open(const struct store *s);

/* What a flushed pack holds, to be recorded in the catalog. */
struct store_flushed {
	char pack_id[PACK_ID_HEX];
	uint64_t size;
	const struct pack_chunk *chunks; /* valid until store_flushed_free */
	size_t n_chunks;
	const struct pack_blob *blobs;
	size_t n_blobs;
	const unsigned char *on_target; /* 1 per target that holds it */
	void *priv;
};

/* Finish the open pack and put it on every target; *out describes it and
 * which targets took it. Fails (nothing to record) when fewer targets than
 * the write policy needs took it; each failing target is warned about by
 * name. *out is NULL when no pack was open. */
int store_flush(struct store *s, struct store_flushed **out);
void store_flushed_free(struct store_flushed *f);

/* A writer of one's own: packs filled by one thread while other threads
 * fill theirs (the backup's fetch workers). Same calls as the store's
 * own writer above; each writer keeps its own marks and generation. A
 * flush puts the pack on the shared targets one call at a time (each
 * target handle has a mutex), so it may wait for another writer's put.
 * Free an open pack's writer only to abandon the pack. */
struct store_writer;
int store_writer_new(struct store_writer **out, struct store *s);
void store_writer_free(struct store_writer *w);
int store_writer_add_chunk(struct store_writer *w, const unsigned char id[32],
			   const void *plain, size_t len);
int store_writer_add_blob(struct store_writer *w, const struct pack_blob *b);
void store_writer_mark(struct store_writer *w, struct pack_mark *m,
		       uint64_t *generation);
int store_writer_rollback(struct store_writer *w, const struct pack_mark *m,
			  uint64_t generation);
int store_writer_full(const struct store_writer *w);
int store_writer_open(const struct store_writer *w);
int store_writer_flush(struct store_writer *w, struct store_flushed **out);

/* Read one chunk: bytes [offset, offset+length) of pack_id, opened and
 * checked against id; the plaintext is appended to out. RV_NOTFOUND when
 * no target has the pack, RV_CORRUPT when no copy checks out. */
int store_read_chunk(struct store *s, const char *pack_id, uint64_t offset,
		     uint32_t length, const unsigned char id[32],
		     struct rv_buf *out);

/* Seal and put a snapshot record (JSON bytes) as snapshots/<snap_id> on
 * every target (write policy as for packs). snap_id is 64 hex chars.
 * record_hash (may be NULL) receives the sha256 hex of the sealed file,
 * which the snapshot's seal names. */
int store_put_snapshot(struct store *s, const char *snap_id,
		       const void *json, size_t len, char record_hash[65]);
/* Snapshot seals (format 2): a snapshot's seal is a small JSON text that
 * the backup engine writes (which packs the snapshot needs, the hash of its
 * record, its place in the store's chain of seals); the store signs it
 * with its Ed25519 key and puts seals/<snap_id> on every target:
 *   {"version":1,"seal":"<the text>","signature":"<128 hex>"}
 * Anyone with the public key alone can check it. RV_UNSUPPORTED for a
 * format 1 store, which has no signing key. */
int store_put_seal(struct store *s, const char *snap_id, const char *seal_text);
/* The same, but every target must take it whatever the write policy
 * (forget and prune re-sign seals before deleting what the old text
 * named): RV_IO naming the first target that did not, or its own code
 * when fewer targets than the policy needs took it. */
int store_put_seal_all(struct store *s, const char *snap_id,
		       const char *seal_text);
/* The seal text of snap_id from the first target whose copy verifies with
 * the store's public key, appended to out. RV_NOTFOUND when no target has
 * one; RV_CORRUPT when every copy fails its signature. */
int store_get_seal(struct store *s, const char *snap_id, struct rv_buf *out);
/* Read snap_id's seal (store_get_seal), parse its text into *out
 * (store/sealtext.h) and check that it names this snapshot and store
 * (RV_CORRUPT, naming both, otherwise; a malformed text is RV_CORRUPT
 * "the seal of snapshot X: ..."). Release *out with seal_text_release in
 * every case. */
struct seal_text;
int store_seal_read(struct seal_text *out, struct store *s,
		    const char *snap_id);
/* Verify a seal file's bytes against a public key (no store needed: for
 * keyless checks); the seal text is appended to out. RV_CORRUPT. */
int store_seal_verify(struct rv_buf *out, const unsigned char pub[32],
		      const void *file, size_t len);
/* Check bytes read from one target without going to the others: a sealed
 * snapshot record must open for snap_id; a seal file must verify with the
 * store's public key. 0 when good, RV_CORRUPT (or RV_UNSUPPORTED for a
 * seal in a format 1 store) otherwise. */
int store_snapshot_check(struct store *s, const char *snap_id,
			 const void *file, size_t len);
int store_seal_check(struct store *s, const void *file, size_t len);
/* 1 when the store signs its snapshots (format 2). */
int store_signs(const struct store *s);
/* "sha256:<hex>" of the store's public signing key, or NULL (format 1). */
const char *store_fingerprint(const struct store *s);
/* Fetch and open a snapshot record whose sealed file must hash to
 * record_hash (from its seal): a copy that does not is skipped as damaged.
 * RV_CORRUPT when no copy matches. */
int store_get_snapshot_checked(struct store *s, const char *snap_id,
			       const char *record_hash, struct rv_buf *out);

/* Fetch and open a snapshot record. */
int store_get_snapshot(struct store *s, const char *snap_id,
		       struct rv_buf *out);

/* ---- verification (store/verify_store.c) ---- */

/* Packs are hashed in ranges of this size: memory stays bounded whatever
 * the pack size. */
#define STORE_HASH_STEP ((uint64_t)8 << 20)

/* What one target holds of a pack. */
enum store_copy {
	STORE_COPY_ABSENT = 1, /* no such file */
	STORE_COPY_BAD,	       /* its bytes do not hash to its id */
	STORE_COPY_GOOD,       /* its bytes hash to its id */
	STORE_COPY_FAILED,     /* the target could not be read (message set) */
};

/* Open a store without its key, for checks that need none: regvault.json
 * is read from every target that has it (all must name the same store and
 * signing key) for the store id, format and public signing key. Only
 * store_id, store_format, store_signs, store_fingerprint,
 * store_public_key, store_target*, store_seal_check, store_pack_hash and
 * store_free may be used on such a handle (store_has_key() is 0). Takes
 * the targets as store_open does. RV_NOTFOUND when no target holds a
 * store. */
int store_open_keyless(struct store **out, struct target **targets, size_t n);
/* 1 when the store was unlocked with a key slot, 0 for a keyless open. */
int store_has_key(const struct store *s);
/* The 32 raw bytes of the public signing key; NULL for a format 1 store. */
const unsigned char *store_public_key(const struct store *s);

/* Hash target i's copy of pack_id in STORE_HASH_STEP ranges; when fd >= 0
 * its bytes are also written to fd. *state: ABSENT, BAD (wrong hash, or
 * shorter than its listed size), GOOD, or FAILED (the target failed:
 * nothing is known of that copy; rv_err_msg() says why); *size: the size
 * the target gives. Returns 0 with *state set, or a local failure that
 * should stop the caller: RV_NOMEM, a failed write to fd. */
int store_pack_hash(enum store_copy *state, uint64_t *size, struct store *s,
		    size_t i, const char *pack_id, int fd);

/* Copy pack_id from target `from` to target `to` through a temporary
 * file in the staging folder: the source copy must hash to its id
 * (RV_CORRUPT otherwise, nothing put), the file is fsynced, then put. */
int store_pack_copy(struct store *s, size_t from, size_t to,
		    const char *pack_id);

/* store_read_chunk from target i only, without trying the others:
 * RV_NOTFOUND when it lacks the pack, RV_CORRUPT when the chunk is short,
 * does not authenticate or its plaintext does not match its id (message
 * names the chunk, pack and target). RV_KEY on a keyless handle. */
int store_read_chunk_at(struct store *s, size_t i, const char *pack_id,
			uint64_t offset, uint32_t length,
			const unsigned char id[32], struct rv_buf *out);

#endif
