/* pack.h - packs: tar archives (libarchive) of sealed chunks plus a
 * sealed index as the last entry.
 *
 * Entries, in order:
 *   chunks/<64 hex chunk id>   one sealed FRAME_CHUNK frame each
 *   index                      a sealed FRAME_PACK_INDEX frame (id: 32
 *                              zero bytes) holding JSON: every chunk's id,
 *                              data offset, sealed length and plain length,
 *                              and every blob that completed in this pack
 *                              with its ordered chunk ids (so the catalog
 *                              can be rebuilt from packs alone).
 * The pack id is the sha256 of the whole file. Exact layout:
 * docs/FORMAT.md.
 */
#ifndef STORE_PACK_H
#define STORE_PACK_H

#include "util/digest.h"

#include <stddef.h>
#include <stdint.h>

#define PACK_ID_HEX 65 /* 64 hex + NUL */

enum pack_blob_kind {
	PACK_BLOB = 0,     /* a config or layer blob */
	PACK_MANIFEST = 1, /* a manifest's exact bytes */
};

struct pack_chunk {
	unsigned char id[32];
	uint64_t offset;    /* of the sealed frame inside the pack file */
	uint32_t length;    /* sealed frame bytes */
	uint32_t plain_len; /* chunk bytes before compression and sealing */
};

struct pack_blob {
	char digest[RV_DIGEST_MAX];
	int64_t size;
	int kind;                   /* enum pack_blob_kind */
	char media_type[128];       /* manifests: their media type; else "" */
	unsigned char (*chunks)[32];/* ordered chunk ids (owned) */
	size_t n_chunks;
};

struct pack_writer;

/* Start a pack in a temporary file inside dir (which must exist). */
int pack_writer_new(struct pack_writer **out, const char *dir,
		    const unsigned char data_key[32]);
/* Seal a chunk (compressing when it helps) and append it. */
int pack_writer_add_chunk(struct pack_writer *w, const unsigned char id[32],
			  const void *plain, size_t len);
/* Record that a blob completed in this pack (b is copied). Its chunks may
 * live in this or earlier packs. */
int pack_writer_add_blob(struct pack_writer *w, const struct pack_blob *b);
/* Bytes written so far. */
uint64_t pack_writer_size(const struct pack_writer *w);

/* A point to roll back to: everything added after it is dropped from the
 * file (truncated) and from the index. */
struct pack_mark {
	uint64_t offset;
	size_t n_chunks;
	size_t n_blobs;
};
void pack_writer_mark(const struct pack_writer *w, struct pack_mark *m);
int pack_writer_rollback(struct pack_writer *w, const struct pack_mark *m);

/* Append the index, close the archive, fsync; pack_id receives the sha256
 * hex of the file. Nothing can be added afterwards. */
int pack_writer_finish(struct pack_writer *w, char pack_id[PACK_ID_HEX]);
/* The temporary file's path (valid until pack_writer_free). */
const char *pack_writer_path(const struct pack_writer *w);
const struct pack_chunk *pack_writer_chunks(const struct pack_writer *w,
					    size_t *n);
const struct pack_blob *pack_writer_blobs(const struct pack_writer *w,
					  size_t *n);
/* Free; removes the temporary file. NULL is fine. */
void pack_writer_free(struct pack_writer *w);

struct pack_index {
	struct pack_chunk *chunks;
	size_t n_chunks;
	struct pack_blob *blobs;
	size_t n_blobs;
};

/* Read the index of a whole pack held in memory: walk the tar entries,
 * open the index frame, and check that every chunk entry it lists sits at
 * the offset and length it says. RV_CORRUPT on any mismatch. */
int pack_index_read(struct pack_index **out, const unsigned char data_key[32],
		    const void *pack, size_t len);
void pack_index_free(struct pack_index *ix);

#endif
