/* pack_build.h - build a pack in memory around a given index text, as
 * pack_write.c lays it out (ustar, one 512-byte header per entry): two
 * chunk entries of CHUNK_LEN bytes, then the index sealed with key.
 * Shared by fuzz_pack_index.c and make_seeds.c. */
#ifndef FUZZ_PACK_BUILD_H
#define FUZZ_PACK_BUILD_H

#include "store/frame.h"
#include "util/buf.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <string.h>

#define PB_CHUNK_LEN 100
/* the two chunk ids: 32 bytes of 0xaa and of 0xbb */
#define PB_ID_A                                                                \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define PB_ID_B                                                                \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
/* where their data lands: after one header; after data padded + header */
#define PB_OFF_A 512
#define PB_OFF_B 1536

static const unsigned char pb_key[32] = {
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
    0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33};

static int pb_entry(struct archive *a, const char *name, const void *data,
		    size_t len)
{
	struct archive_entry *e = archive_entry_new();
	int ok;

	if (!e)
		return -1;
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, (la_int64_t)len);
	ok = archive_write_header(a, e) == ARCHIVE_OK &&
	     archive_write_data(a, data, len) == (la_ssize_t)len &&
	     archive_write_finish_entry(a) == ARCHIVE_OK;
	archive_entry_free(e);
	return ok ? 0 : -1;
}

/* The pack into out (a malloc'd buffer of cap bytes); *used its size. */
static int pb_build(unsigned char *out, size_t cap, size_t *used,
		    const void *index_text, size_t index_len)
{
	static const unsigned char zero_id[FRAME_ID_LEN];
	struct rv_buf sealed = RV_BUF_INIT((size_t)64 << 20);
	unsigned char chunk[PB_CHUNK_LEN];
	struct archive *a = archive_write_new();
	int rc = -1;

	*used = 0;
	memset(chunk, 'c', sizeof(chunk));
	if (!a || frame_seal(&sealed, pb_key, FRAME_PACK_INDEX, zero_id,
			     index_text, index_len, 1))
		goto done;
	if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_memory(a, out, cap, used) != ARCHIVE_OK)
		goto done;
	if (pb_entry(a, "chunks/" PB_ID_A, chunk, sizeof(chunk)) ||
	    pb_entry(a, "chunks/" PB_ID_B, chunk, sizeof(chunk)) ||
	    pb_entry(a, "index", sealed.data, sealed.len) ||
	    archive_write_close(a) != ARCHIVE_OK)
		goto done;
	rc = 0;
done:
	archive_write_free(a);
	rv_buf_release(&sealed);
	return rc;
}

#endif
