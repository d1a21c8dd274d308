/* pack_internal.h - limits and helpers shared by pack_write.c and
 * pack_read.c only. */
#ifndef STORE_PACK_INTERNAL_H
#define STORE_PACK_INTERNAL_H

#include "store/pack.h"

#include <stddef.h>
#include <stdint.h>

#define PACK_INDEX_VERSION 1
#define PACK_INDEX_NAME "index"
#define PACK_CHUNK_PREFIX "chunks/"
/* "chunks/" + 64 hex + NUL */
#define PACK_ENTRY_NAME_MAX (sizeof(PACK_CHUNK_PREFIX) + 64)

#define PACK_MAX_CHUNKS 1000000u
#define PACK_MAX_BLOBS 1000000u
#define PACK_MAX_BLOB_CHUNKS 4000000u
/* Plaintext of the index JSON, and its sealed frame (header, and a 16-byte
 * tag per MiB segment, fit in the extra MiB). */
#define PACK_INDEX_MAX ((size_t)256 << 20)
#define PACK_INDEX_SEALED_MAX (PACK_INDEX_MAX + ((size_t)1 << 20))
/* A single chunk's plaintext. */
#define PACK_CHUNK_PLAIN_MAX ((size_t)1 << 30)
/* The tar header of every entry: ustar, no extension headers. */
#define PACK_TAR_HEADER 512u

/* Bytes of the index JSON one chunk or one blob can take, at most. */
#define PACK_JSON_CHUNK_MAX 160u
#define PACK_JSON_BLOB_MAX (RV_DIGEST_MAX + 128u + 128u)
#define PACK_JSON_BLOB_CHUNK 67u
#define PACK_JSON_BASE 64u

/* Free the chunk lists of n blobs (not the array). */
void pack_blobs_release(struct pack_blob *blobs, size_t n);

#endif
