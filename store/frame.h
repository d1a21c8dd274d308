/* frame.h - sealed objects: zstd (when it helps) then AES-256-GCM.
 *
 * Each frame gets a fresh 32-byte random salt; HKDF-SHA256(data_key, salt)
 * gives a one-time AES key and nonce base, so no counter must be kept. The
 * plaintext is sealed in segments of FRAME_SEGMENT bytes, each with its own
 * tag; the associated data binds the frame header (type, flags, lengths),
 * the object id, the segment index and a last-segment flag, so a frame
 * cannot be moved to another id or type, reordered, truncated or extended
 * without detection. Exact layout: docs/FORMAT.md.
 */
#ifndef STORE_FRAME_H
#define STORE_FRAME_H

#include "util/buf.h"

#include <stddef.h>
#include <stdint.h>

enum frame_type {
	FRAME_CHUNK = 1,
	FRAME_PACK_INDEX = 2,
	FRAME_SNAPSHOT = 3,
	FRAME_SIGNING_KEY = 4, /* format 2: the Ed25519 private key */
};

#define FRAME_SEGMENT (1u << 20)
#define FRAME_ID_LEN 32

/* Seal plain (len bytes) as an object of this type and id; appended to out.
 * compress=1 tries zstd and keeps the result only when it saves at least
 * 1/32 of the size (incompressible data is stored raw). */
int frame_seal(struct rv_buf *out, const unsigned char key[32], int type,
	       const unsigned char id[FRAME_ID_LEN], const void *plain,
	       size_t len, int compress);

/* Open a frame: authenticate every segment, decompress, append the
 * plaintext to out (out->max bounds it, checked against the header before
 * any allocation). RV_CORRUPT on any mismatch: wrong key, type, id,
 * tampered, truncated or extended bytes, bad header. */
int frame_open(struct rv_buf *out, const unsigned char key[32], int type,
	       const unsigned char id[FRAME_ID_LEN], const void *sealed,
	       size_t len);

/* 1 when frame_seal should try zstd on these bytes: always below 256 KiB;
 * above, only when a 32 KiB sample at the start or the middle shrinks by
 * at least 1/32 at zstd's fastest level (incompressible data, such as
 * gzip'd layers, is then stored raw without a full zstd pass). */
int frame_worth_compressing(const void *plain, size_t len);

#endif
