/* chunker.h - keyed content-defined chunking (FastCDC with normalized
 * chunking).
 *
 * A blob is cut where a gear hash rolling over its bytes meets a mask, so
 * an insertion or deletion moves only the chunk boundaries near it and the
 * rest of the blob deduplicates against an earlier version. The 256 gear
 * values are derived from a 32-byte secret (the store's id key), so chunk
 * sizes do not reveal which public layers a store holds. The cut points
 * depend only on the bytes of the blob, the parameters and the key, never on
 * how the bytes were split between chunker_feed() calls. Exact algorithm,
 * key derivation and known answers: docs/FORMAT.md ("Content-defined
 * chunking").
 *
 * Memory: one buffer of max bytes per chunker, allocated by chunker_new();
 * nothing is allocated per chunk. A chunker is not thread safe; use one per
 * stream.
 */
#ifndef STORE_CHUNKER_H
#define STORE_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#define CHUNKER_KEY_LEN 32
#define CHUNKER_MIN_LIMIT (64u << 10) /* smallest allowed min: 64 KiB */
#define CHUNKER_MAX_LIMIT (64u << 20) /* largest allowed max: 64 MiB */

/* Sizes in bytes. Every chunk but the last of a blob is longer than min and
 * at most max; avg (a power of two) is where the stricter mask gives way to
 * the looser one. */
struct chunker_params {
	uint32_t min, avg, max;
};

/* min 512 KiB, avg 1 MiB, max 8 MiB. */
void chunker_params_default(struct chunker_params *p);

/* 0 when 64 KiB <= min < avg < max <= 64 MiB and avg is a power of two;
 * otherwise RV_INVALID with a message naming the bad value. */
int chunker_params_check(const struct chunker_params *p);

struct chunker;

/* A new chunker for these parameters (NULL: the defaults) and key (the
 * store's id key; the chunker keeps only the gear table derived from it).
 * *out belongs to the caller (chunker_free()). RV_INVALID for bad
 * parameters, RV_NOMEM, RV_ERROR when the key derivation fails. */
int chunker_new(struct chunker **out, const struct chunker_params *p,
		const unsigned char key[CHUNKER_KEY_LEN]);

/* Called once per complete chunk, in order. data is valid only during the
 * call. Return 0 to go on; any other value stops the chunker and is
 * returned by chunker_feed()/chunker_finish(). */
typedef int (*chunker_emit_fn)(void *arg, const unsigned char *data,
			       size_t len);

/* Feed the next len bytes of the current blob (data may be NULL when len is
 * 0). Bytes that do not yet end a chunk are copied into the chunker's
 * buffer. Returns 0, or the first non-zero value returned by emit: the
 * chunker is then reset (the blob's buffered bytes are forgotten). */
int chunker_feed(struct chunker *c, const void *data, size_t len,
		 chunker_emit_fn emit, void *arg);

/* End of the blob: emit the buffered bytes as the last (possibly short)
 * chunk, if any (an empty blob emits nothing), and reset the chunker for
 * the next blob. Returns 0 or emit's non-zero value. */
int chunker_finish(struct chunker *c, chunker_emit_fn emit, void *arg);

/* Forget the buffered bytes (after an aborted blob); the chunker is ready
 * for a new blob. */
void chunker_reset(struct chunker *c);

/* Release the chunker and wipe its key-derived table; NULL is a no-op. */
void chunker_free(struct chunker *c);

#endif
