/* pack_read.c - read and check a pack's index.
 *
 * The tar entries are walked with libarchive (tar only, no filters), and
 * their data offsets compared with what the sealed index claims: an index
 * that lists a chunk the archive does not hold where it says, or an
 * archive entry the index does not list, makes the pack corrupt. Every
 * count and size comes from outside and is bounded before use.
 */
#include "store/pack.h"

#include "store/frame.h"
#include "store/pack_internal.h"
#include "util/buf.h"
#include "util/err.h"

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pr_entry {
	unsigned char id[32];
	uint64_t offset;
	uint64_t length;
	int listed; /* seen in the index */
};

static int pr_cmp_entry(const void *a, const void *b)
{
	return memcmp(((const struct pr_entry *)a)->id,
		      ((const struct pr_entry *)b)->id, 32);
}

static int pr_hex_id(unsigned char id[32], const char *hex)
{
	if (strlen(hex) != 64)
		return RV_INVALID;
	for (size_t i = 0; i < 64; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') ||
		      (hex[i] >= 'a' && hex[i] <= 'f')))
			return RV_INVALID;
	return rv_hex_decode(id, 32, hex);
}

/* The entries of the archive: chunks into *entries, the index's place
 * into *ix_off / *ix_len. */
static int pr_walk(struct pr_entry **entries, size_t *n_entries,
		   uint64_t *ix_off, uint64_t *ix_len, const void *pack,
		   size_t len)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	struct pr_entry *ents = NULL;
	size_t n = 0, cap = 0;
	int rc = 0, have_index = 0;

	a = archive_read_new();
	if (!a)
		return rv_err_set(RV_NOMEM, "out of memory (archive)");
	if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open_memory(a, pack, len) != ARCHIVE_OK) {
		rc = rv_err_set(RV_CORRUPT, "pack is not a tar archive: %s",
				archive_error_string(a));
		goto done;
	}
	for (;;) {
		const char *name;
		int64_t hdr_pos, data_off, size;
		int r = archive_read_next_header(a, &e);

		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			rc = rv_err_set(RV_CORRUPT,
					"pack has a bad tar entry after %zu "
					"chunks: %s",
					n, archive_error_string(a));
			goto done;
		}
		name = archive_entry_pathname(e);
		hdr_pos = archive_read_header_position(a);
		data_off = archive_filter_bytes(a, 0);
		size =
		    archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
		if (!name) {
			rc = rv_err_set(RV_CORRUPT,
					"pack has a tar entry without a name");
			goto done;
		}
		if (have_index) {
			rc = rv_err_set(RV_CORRUPT,
					"pack has entry '%.100s' after its "
					"index",
					name);
			goto done;
		}
		/* Our writer makes plain ustar entries only: one 512-byte
		 * header straight before the data, no extension headers. */
		if (archive_entry_filetype(e) != AE_IFREG || size <= 0 ||
		    hdr_pos < 0 || data_off != hdr_pos + PACK_TAR_HEADER ||
		    (uint64_t)data_off > len ||
		    (uint64_t)size > len - (uint64_t)data_off) {
			rc = rv_err_set(RV_CORRUPT,
					"pack entry '%.100s' has a bad type, "
					"header or size",
					name);
			goto done;
		}
		if (!strcmp(name, PACK_INDEX_NAME)) {
			if ((uint64_t)size > PACK_INDEX_SEALED_MAX) {
				rc = rv_err_set(RV_CORRUPT,
						"pack index is %lld bytes, "
						"more than allowed",
						(long long)size);
				goto done;
			}
			*ix_off = (uint64_t)data_off;
			*ix_len = (uint64_t)size;
			have_index = 1;
			continue;
		}
		if (strncmp(name, PACK_CHUNK_PREFIX,
			    strlen(PACK_CHUNK_PREFIX)) != 0 ||
		    (size_t)size > UINT32_MAX) {
			rc = rv_err_set(RV_CORRUPT,
					"pack has an unknown entry '%.100s'",
					name);
			goto done;
		}
		if (n >= PACK_MAX_CHUNKS) {
			rc = rv_err_set(RV_CORRUPT,
					"pack has more than %u chunk entries",
					PACK_MAX_CHUNKS);
			goto done;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct pr_entry *p = realloc(ents, ncap * sizeof(*p));
			if (!p) {
				rc = rv_err_set(RV_NOMEM, "out of memory");
				goto done;
			}
			ents = p;
			cap = ncap;
		}
		if (pr_hex_id(ents[n].id, name + strlen(PACK_CHUNK_PREFIX))) {
			rc = rv_err_set(RV_CORRUPT,
					"pack has an unknown entry '%.100s'",
					name);
			goto done;
		}
		ents[n].offset = (uint64_t)data_off;
		ents[n].length = (uint64_t)size;
		ents[n].listed = 0;
		n++;
	}
	if (!have_index) {
		rc = rv_err_set(RV_CORRUPT, "pack has no index entry");
		goto done;
	}
	if (n > 1)
		qsort(ents, n, sizeof(*ents), pr_cmp_entry);
	for (size_t i = 1; i < n; i++) {
		if (!memcmp(ents[i - 1].id, ents[i].id, 32)) {
			char hex[65];
			rv_hex_encode(hex, ents[i].id, 32);
			rc = rv_err_set(RV_CORRUPT, "pack holds chunk %s twice",
					hex);
			goto done;
		}
	}
	*entries = ents;
	ents = NULL;
	*n_entries = n;
done:
	free(ents);
	archive_read_free(a);
	return rc;
}

/* A non-negative JSON integer no larger than max. */
static int pr_uint(uint64_t *out, json_t *obj, const char *key, uint64_t max)
{
	json_t *v = json_object_get(obj, key);
	json_int_t i;

	if (!json_is_integer(v))
		return -1;
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return -1;
	*out = (uint64_t)i;
	return 0;
}

static int pr_chunks(struct pack_index *ix, json_t *arr, struct pr_entry *ents,
		     size_t n_ents)
{
	size_t n = json_array_size(arr);

	if (!json_is_array(arr) || n > PACK_MAX_CHUNKS)
		return rv_err_set(RV_CORRUPT,
				  "pack index has a bad chunk list");
	if (n != n_ents)
		return rv_err_set(RV_CORRUPT,
				  "pack index lists %zu chunks but the pack "
				  "holds %zu",
				  n, n_ents);
	if (n) {
		ix->chunks = calloc(n, sizeof(*ix->chunks));
		if (!ix->chunks)
			return rv_err_set(RV_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(arr, i);
		struct pack_chunk *pc = &ix->chunks[i];
		const char *hex = json_string_value(json_object_get(c, "id"));
		uint64_t off, length, plain;
		struct pr_entry key, *ent;

		if (!json_is_object(c) || !hex || pr_hex_id(pc->id, hex) ||
		    pr_uint(&off, c, "offset", UINT64_MAX >> 1) ||
		    pr_uint(&length, c, "length", UINT32_MAX) ||
		    pr_uint(&plain, c, "plain", UINT32_MAX))
			return rv_err_set(
			    RV_CORRUPT, "pack index chunk %zu is malformed", i);
		memcpy(key.id, pc->id, 32);
		ent = bsearch(&key, ents, n_ents, sizeof(*ents), pr_cmp_entry);
		if (!ent)
			return rv_err_set(RV_CORRUPT,
					  "pack index lists chunk %s, which "
					  "the pack does not hold",
					  hex);
		if (ent->listed)
			return rv_err_set(
			    RV_CORRUPT, "pack index lists chunk %s twice", hex);
		if (ent->offset != off || ent->length != length)
			return rv_err_set(RV_CORRUPT,
					  "pack index puts chunk %s at "
					  "%llu+%llu but the pack holds it at "
					  "%llu+%llu",
					  hex, (unsigned long long)off,
					  (unsigned long long)length,
					  (unsigned long long)ent->offset,
					  (unsigned long long)ent->length);
		ent->listed = 1;
		pc->offset = off;
		pc->length = (uint32_t)length;
		pc->plain_len = (uint32_t)plain;
		ix->n_chunks++;
	}
	return 0;
}

static int pr_blob(struct pack_blob *b, json_t *o, size_t i)
{
	const char *digest = json_string_value(json_object_get(o, "digest"));
	const char *kind = json_string_value(json_object_get(o, "kind"));
	json_t *mt = json_object_get(o, "media_type");
	json_t *chunks = json_object_get(o, "chunks");
	uint64_t size;
	size_t n;

	if (!json_is_object(o) || !digest || !rv_digest_valid(digest) ||
	    !kind || pr_uint(&size, o, "size", INT64_MAX) ||
	    (mt && (!json_is_string(mt) ||
		    json_string_length(mt) >= sizeof(b->media_type))) ||
	    !json_is_array(chunks) ||
	    json_array_size(chunks) > PACK_MAX_BLOB_CHUNKS)
		return rv_err_set(RV_CORRUPT,
				  "pack index blob %zu is malformed", i);
	if (!strcmp(kind, "blob"))
		b->kind = PACK_BLOB;
	else if (!strcmp(kind, "manifest"))
		b->kind = PACK_MANIFEST;
	else
		return rv_err_set(RV_CORRUPT,
				  "pack index blob '%s' has an unknown kind",
				  digest);
	snprintf(b->digest, sizeof(b->digest), "%s", digest);
	b->size = (int64_t)size;
	if (mt && memchr(json_string_value(mt), '\0', json_string_length(mt)))
		return rv_err_set(RV_CORRUPT,
				  "pack index blob '%s' has a bad media type",
				  digest);
	snprintf(b->media_type, sizeof(b->media_type), "%s",
		 mt ? json_string_value(mt) : "");
	n = json_array_size(chunks);
	if (n) {
		b->chunks = malloc(n * sizeof(*b->chunks));
		if (!b->chunks)
			return rv_err_set(RV_NOMEM, "out of memory");
	}
	for (size_t j = 0; j < n; j++) {
		const char *hex = json_string_value(json_array_get(chunks, j));
		if (!hex || pr_hex_id(b->chunks[b->n_chunks], hex))
			return rv_err_set(RV_CORRUPT,
					  "pack index blob '%s' has a bad "
					  "chunk id",
					  digest);
		b->n_chunks++;
	}
	return 0;
}

static int pr_parse(struct pack_index *ix, const struct rv_buf *plain,
		    struct pr_entry *ents, size_t n_ents)
{
	json_error_t jerr;
	json_t *root = NULL, *blobs;
	size_t n_blobs;
	int rc;

	root = json_loadb((const char *)plain->data, plain->len,
			  JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		rc = rv_err_set(RV_CORRUPT, "pack index is not JSON: %s",
				root ? "not an object" : jerr.text);
		goto done;
	}
	if (!json_is_integer(json_object_get(root, "version"))) {
		rc = rv_err_set(RV_CORRUPT, "pack index has no version");
		goto done;
	}
	if (json_integer_value(json_object_get(root, "version")) !=
	    PACK_INDEX_VERSION) {
		rc = rv_err_set(RV_UNSUPPORTED,
				"pack index version %lld is not supported "
				"(this regvault reads version %d)",
				(long long)json_integer_value(
				    json_object_get(root, "version")),
				PACK_INDEX_VERSION);
		goto done;
	}
	rc = pr_chunks(ix, json_object_get(root, "chunks"), ents, n_ents);
	if (rc)
		goto done;
	blobs = json_object_get(root, "blobs");
	n_blobs = json_array_size(blobs);
	if (!json_is_array(blobs) || n_blobs > PACK_MAX_BLOBS) {
		rc = rv_err_set(RV_CORRUPT, "pack index has a bad blob list");
		goto done;
	}
	if (n_blobs) {
		ix->blobs = calloc(n_blobs, sizeof(*ix->blobs));
		if (!ix->blobs) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
	}
	for (size_t i = 0; i < n_blobs; i++) {
		rc = pr_blob(&ix->blobs[i], json_array_get(blobs, i), i);
		ix->n_blobs++; /* so that a half-read blob is freed */
		if (rc)
			goto done;
	}
done:
	json_decref(root);
	return rc;
}

int pack_index_read(struct pack_index **out, const unsigned char data_key[32],
		    const void *pack, size_t len)
{
	static const unsigned char zero_id[FRAME_ID_LEN];
	struct rv_buf plain = RV_BUF_INIT(PACK_INDEX_MAX);
	struct pr_entry *ents = NULL;
	struct pack_index *ix = NULL;
	size_t n_ents = 0;
	uint64_t ix_off = 0, ix_len = 0;
	int rc;

	*out = NULL;
	rc = pr_walk(&ents, &n_ents, &ix_off, &ix_len, pack, len);
	if (rc)
		goto done;
	rc = frame_open(&plain, data_key, FRAME_PACK_INDEX, zero_id,
			(const unsigned char *)pack + ix_off, (size_t)ix_len);
	if (rc == RV_NOMEM)
		goto done;
	if (rc) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", rv_err_msg());
		rc = rv_err_set(RV_CORRUPT, "pack index cannot be opened: %s",
				msg);
		goto done;
	}
	ix = calloc(1, sizeof(*ix));
	if (!ix) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	rc = pr_parse(ix, &plain, ents, n_ents);
	if (rc)
		goto done;
	for (size_t i = 0; i < n_ents; i++) {
		if (!ents[i].listed) {
			char hex[65];
			rv_hex_encode(hex, ents[i].id, 32);
			rc = rv_err_set(RV_CORRUPT,
					"pack holds chunk %s, which its index "
					"does not list",
					hex);
			goto done;
		}
	}
	*out = ix;
	ix = NULL;
done:
	pack_index_free(ix);
	free(ents);
	rv_buf_release(&plain);
	return rc;
}

void pack_index_free(struct pack_index *ix)
{
	if (!ix)
		return;
	free(ix->chunks);
	pack_blobs_release(ix->blobs, ix->n_blobs);
	free(ix->blobs);
	free(ix);
}
