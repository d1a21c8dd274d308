/* stream.h - one blob at a time into packs: cut into chunks (content
 * defined, or fixed-size in a format 1 store), each new chunk sealed into
 * the caller's pack writer, the blob's entry added at its end.
 *
 * A chunk is new unless this stream stored it in its open or its previous
 * pack, or the catalog holds it. Two streams working at once may both store
 * a chunk new to both: the catalog keeps the first copy, prune reclaims the
 * other. When the pack reaches its size it is flushed (put on the
 * targets) and handed to on_pack, whose job is to record it in the catalog
 * (directly, or by passing it to the thread that owns the catalog).
 *
 * A failed blob is rolled back out of the open pack (stream_abandon); the
 * chunks it left in a pack already flushed stay there, recorded, harmless.
 * Not thread safe: one stream per thread.
 */
#ifndef BACKUP_STREAM_H
#define BACKUP_STREAM_H

#include "store/pack.h"
#include "util/set.h"

#include <stddef.h>
#include <stdint.h>

struct cat;
struct chunker;
struct store;
struct store_flushed;
struct store_writer;

/* Called with each flushed pack; takes ownership of f (store_flushed_free)
 * whatever it returns. Non-zero stops the stream (fatal). */
typedef int (*stream_pack_fn)(void *arg, struct store_flushed *f);

struct stream {
	struct store *s;
	struct store_writer *w; /* owned */
	struct cat *c;		/* lookups only */
	stream_pack_fn on_pack;
	void *arg;

	struct chunker *chunker; /* NULL: fixed-size chunks */
	unsigned char *chunk_buf;
	size_t chunk_len, chunk_size;

	unsigned char (*ids)[32]; /* the current blob's chunks */
	size_t n_ids, cap_ids;
	struct rv_set pend; /* chunks in the open pack */
	struct rv_set prev; /* chunks in the previous pack */
	struct pack_mark mark;
	uint64_t mark_gen;
	size_t mark_pend;

	uint64_t chunks_written;
	uint64_t packs_flushed;
	int fatal; /* a store or catalog failure: the stream is unusable */
};

/* c: the catalog for lookups (a reader connection in a worker thread). */
int stream_init(struct stream *st, struct store *s, struct cat *c,
		stream_pack_fn on_pack, void *arg);
void stream_release(struct stream *st);

void stream_begin(struct stream *st);
/* A reg_sink_fn: the next bytes of the current blob. */
int stream_feed(void *st, const void *data, size_t len);
/* The end of the blob: its last chunk, then its entry in the pack. */
int stream_end(struct stream *st, const char *digest, int64_t size, int kind,
	       const char *media_type);
/* Undo what the current blob added to the open pack. */
void stream_abandon(struct stream *st);
/* Flush the open pack (if any) to on_pack. */
int stream_flush(struct stream *st);

#endif
