/* pack_write.c - write a pack: a ustar archive of sealed chunks and a
 * sealed index, in a temporary file.
 *
 * libarchive writes through our callback with blocking turned off, so
 * every byte reaches the file at once and the writer knows the exact
 * offset of each entry's data. Each add is all or nothing: when writing an
 * entry fails, the file is cut back to where the entry began and a fresh
 * archive handle takes over (libarchive's own cannot recover from a failed
 * write). A rollback to a mark works the same way.
 */
#include "store/pack.h"

#include "store/frame.h"
#include "store/pack_internal.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/set.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/crypto.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PACK_HASH_BLOCK (1u << 20)

struct pack_writer {
	int fd;
	char *path;
	unsigned char data_key[32];
	struct archive *ar;
	uint64_t off; /* bytes in the file */
	struct rv_sha256 sha;
	int sha_live;	 /* sha has hashed exactly [0, off) */
	int discard;	 /* drop writes: closing a handle we abandon */
	int write_errno; /* errno of the callback's last failed write */
	int broken;	 /* the file could not be restored after a failure */
	int finished;
	uint64_t json_max; /* upper bound on the index JSON's size */
	struct pack_chunk *chunks;
	size_t n_chunks, cap_chunks;
	struct pack_blob *blobs;
	size_t n_blobs, cap_blobs;
	struct rv_set ids;    /* chunk ids, in the order of chunks[] */
	struct rv_buf sealed; /* scratch for one sealed frame */
	char pack_id[PACK_ID_HEX];
};

void pack_blobs_release(struct pack_blob *blobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(blobs[i].chunks);
		blobs[i].chunks = NULL;
		blobs[i].n_chunks = 0;
	}
}

static la_ssize_t pw_write_cb(struct archive *a, void *client, const void *data,
			      size_t len)
{
	struct pack_writer *w = client;
	const unsigned char *p = data;
	size_t left = len;

	if (w->discard)
		return (la_ssize_t)len;
	while (left) {
		ssize_t n = write(w->fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			w->write_errno = errno;
			archive_set_error(a, errno, "write failed");
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	if (w->sha_live && rv_sha256_update(&w->sha, data, len)) {
		rv_sha256_release(&w->sha);
		w->sha_live = 0; /* hashed again from the file at finish */
	}
	w->off += len;
	return (la_ssize_t)len;
}

static void pw_archive_drop(struct pack_writer *w)
{
	if (!w->ar)
		return;
	w->discard = 1;
	archive_write_free(w->ar);
	w->discard = 0;
	w->ar = NULL;
}

static int pw_archive_open(struct pack_writer *w)
{
	struct archive *a = archive_write_new();

	if (!a)
		return rv_err_set(RV_NOMEM, "out of memory (archive)");
	if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, w, NULL, pw_write_cb, NULL) != ARCHIVE_OK) {
		int rc = rv_err_set(RV_ERROR, "cannot start pack '%s': %s",
				    w->path, archive_error_string(a));
		w->discard = 1;
		archive_write_free(a);
		w->discard = 0;
		return rc;
	}
	w->ar = a;
	return 0;
}

/* Cut the file back to off and start a fresh archive handle there. */
static int pw_restore(struct pack_writer *w, uint64_t off)
{
	int rc;

	pw_archive_drop(w);
	if (ftruncate(w->fd, (off_t)off) < 0 ||
	    lseek(w->fd, (off_t)off, SEEK_SET) < 0) {
		w->broken = 1;
		return rv_err_errno(RV_IO, errno,
				    "cannot cut pack '%s' back to %llu bytes",
				    w->path, (unsigned long long)off);
	}
	if (off != w->off && w->sha_live) {
		rv_sha256_release(&w->sha);
		w->sha_live = 0;
	}
	w->off = off;
	rc = pw_archive_open(w);
	w->broken = rc != 0;
	return rc;
}

/* Restore after a failed step, keeping the step's error message (a
 * failure to restore leaves w broken, which the next call reports). */
static int pw_restore_after(struct pack_writer *w, uint64_t off, int rc)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", rv_err_msg());
	if (pw_restore(w, off))
		rv_err_set(rc, "%s", msg);
	return rc;
}

static int pw_archive_err(struct pack_writer *w, const char *what)
{
	int e = w->write_errno;

	if (e)
		return rv_err_errno(rv_err_from_errno(e) == RV_NOTFOUND
					? RV_IO
					: rv_err_from_errno(e),
				    e, "cannot write pack '%s'", w->path);
	return rv_err_set(RV_ERROR, "cannot write %s to pack '%s': %s", what,
			  w->path, archive_error_string(w->ar));
}

/* Write one regular-file entry; *data_off receives where its data
 * starts. On failure the file is restored to where it was. */
static int pw_add_entry(struct pack_writer *w, const char *name,
			const void *data, size_t len, uint64_t *data_off)
{
	struct archive_entry *e = archive_entry_new();
	uint64_t start = w->off;
	int rc = 0;

	if (!e)
		return rv_err_set(RV_NOMEM, "out of memory (archive entry)");
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	w->write_errno = 0;
	if (archive_write_header(w->ar, e) != ARCHIVE_OK) {
		rc = pw_archive_err(w, name);
		goto done;
	}
	*data_off = w->off;
	if (archive_write_data(w->ar, data, len) != (la_ssize_t)len) {
		rc = pw_archive_err(w, name);
		goto done;
	}
	if (archive_write_finish_entry(w->ar) != ARCHIVE_OK) {
		rc = pw_archive_err(w, name);
		goto done;
	}
	if (*data_off != start + PACK_TAR_HEADER) {
		rc = rv_err_set(RV_ERROR,
				"pack '%s': entry '%s' got an unexpected "
				"header size",
				w->path, name);
		goto done;
	}
done:
	archive_entry_free(e);
	if (rc)
		pw_restore_after(w, start, rc);
	return rc;
}

static int pw_usable(const struct pack_writer *w)
{
	if (w->finished)
		return rv_err_set(RV_INVALID,
				  "pack '%s' is finished; nothing can be added",
				  w->path);
	if (w->broken || !w->ar)
		return rv_err_set(RV_IO,
				  "pack '%s' is unusable after a failed write",
				  w->path);
	return 0;
}

int pack_writer_new(struct pack_writer **out, const char *dir,
		    const unsigned char data_key[32])
{
	struct pack_writer *w = NULL;
	int rc;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return rv_err_set(RV_NOMEM, "out of memory");
	w->fd = -1;
	memcpy(w->data_key, data_key, sizeof(w->data_key));
	rv_buf_init(&w->sealed, PACK_CHUNK_PLAIN_MAX + ((size_t)1 << 20));
	w->json_max = PACK_JSON_BASE;
	rc = rv_fs_tmpfile(&w->fd, &w->path, dir, "pack");
	if (rc)
		goto fail;
	rc = rv_sha256_init(&w->sha);
	if (rc)
		goto fail;
	w->sha_live = 1;
	rc = pw_archive_open(w);
	if (rc)
		goto fail;
	*out = w;
	return 0;
fail:
	pack_writer_free(w);
	return rc;
}

static int pw_grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * size);
	if (!p)
		return rv_err_set(RV_NOMEM, "out of memory");
	*arr = p;
	*cap = ncap;
	return 0;
}

int pack_writer_add_chunk(struct pack_writer *w, const unsigned char id[32],
			  const void *plain, size_t len)
{
	char name[PACK_ENTRY_NAME_MAX];
	char hex[65];
	struct pack_chunk *c;
	uint64_t data_off = 0;
	int rc;

	rc = pw_usable(w);
	if (rc)
		return rc;
	if (rv_set_has(&w->ids, id, 32))
		return 0; /* already in this pack: once is enough */
	if (len > PACK_CHUNK_PLAIN_MAX)
		return rv_err_set(RV_TOOBIG,
				  "chunk of %zu bytes is larger than a pack "
				  "allows (%zu)",
				  len, PACK_CHUNK_PLAIN_MAX);
	if (w->n_chunks >= PACK_MAX_CHUNKS ||
	    w->json_max + PACK_JSON_CHUNK_MAX > PACK_INDEX_MAX)
		return rv_err_set(RV_TOOBIG,
				  "pack '%s' holds as many chunks as one index "
				  "can list; flush it first",
				  w->path);
	rc = pw_grow((void **)&w->chunks, &w->cap_chunks, w->n_chunks + 1,
		     sizeof(*w->chunks));
	if (rc)
		return rc;
	rv_buf_reset(&w->sealed);
	rc =
	    frame_seal(&w->sealed, w->data_key, FRAME_CHUNK, id, plain, len, 1);
	if (rc)
		return rc;
	if (w->sealed.len > UINT32_MAX)
		return rv_err_set(RV_TOOBIG, "sealed chunk is too large");
	rv_hex_encode(hex, id, 32);
	snprintf(name, sizeof(name), PACK_CHUNK_PREFIX "%s", hex);
	rc = pw_add_entry(w, name, w->sealed.data, w->sealed.len, &data_off);
	if (rc)
		return rc;
	rc = rv_set_add(&w->ids, id, 32);
	if (rc < 0) {
		/* keep chunks[] and ids in step: drop the entry again */
		return pw_restore_after(w, data_off - PACK_TAR_HEADER, rc);
	}
	c = &w->chunks[w->n_chunks++];
	memcpy(c->id, id, 32);
	c->offset = data_off;
	c->length = (uint32_t)w->sealed.len;
	c->plain_len = (uint32_t)len;
	w->json_max += PACK_JSON_CHUNK_MAX;
	return 0;
}

static int pw_media_type_ok(const char *mt)
{
	size_t n = strnlen(mt, 128);

	if (n == 128)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)mt[i];
		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return 0;
	}
	return 1;
}

static uint64_t pw_blob_json_max(const struct pack_blob *b)
{
	return PACK_JSON_BLOB_MAX +
	       (uint64_t)b->n_chunks * PACK_JSON_BLOB_CHUNK;
}

int pack_writer_add_blob(struct pack_writer *w, const struct pack_blob *b)
{
	struct pack_blob *nb;
	int rc;

	rc = pw_usable(w);
	if (rc)
		return rc;
	if (!rv_digest_valid(b->digest))
		return rv_err_set(RV_INVALID, "bad blob digest '%.80s'",
				  b->digest);
	if (b->size < 0 || (b->kind != PACK_BLOB && b->kind != PACK_MANIFEST) ||
	    !pw_media_type_ok(b->media_type) ||
	    b->n_chunks > PACK_MAX_BLOB_CHUNKS || (b->n_chunks && !b->chunks))
		return rv_err_set(RV_INVALID,
				  "blob '%s': bad size, kind, media type or "
				  "chunk list",
				  b->digest);
	if (w->n_blobs >= PACK_MAX_BLOBS ||
	    w->json_max + pw_blob_json_max(b) > PACK_INDEX_MAX)
		return rv_err_set(RV_TOOBIG,
				  "pack '%s' cannot list blob '%s' in its "
				  "index (too many blobs or chunks)",
				  w->path, b->digest);
	rc = pw_grow((void **)&w->blobs, &w->cap_blobs, w->n_blobs + 1,
		     sizeof(*w->blobs));
	if (rc)
		return rc;
	nb = &w->blobs[w->n_blobs];
	*nb = *b;
	nb->chunks = NULL;
	if (b->n_chunks) {
		nb->chunks = malloc(b->n_chunks * sizeof(*nb->chunks));
		if (!nb->chunks)
			return rv_err_set(RV_NOMEM, "out of memory");
		memcpy(nb->chunks, b->chunks,
		       b->n_chunks * sizeof(*nb->chunks));
	}
	w->n_blobs++;
	w->json_max += pw_blob_json_max(b);
	return 0;
}

uint64_t pack_writer_size(const struct pack_writer *w)
{
	return w->off;
}

void pack_writer_mark(const struct pack_writer *w, struct pack_mark *m)
{
	m->offset = w->off;
	m->n_chunks = w->n_chunks;
	m->n_blobs = w->n_blobs;
}

/* Where the entry of the n-th chunk ends: each entry's data is padded to a
 * 512-byte tar block. */
static uint64_t pw_chunks_end(const struct pack_writer *w, size_t n)
{
	uint64_t end;

	if (n == 0)
		return 0;
	end = w->chunks[n - 1].offset + w->chunks[n - 1].length;
	return (end + PACK_TAR_HEADER - 1) / PACK_TAR_HEADER * PACK_TAR_HEADER;
}

int pack_writer_rollback(struct pack_writer *w, const struct pack_mark *m)
{
	int rc;

	if (w->finished)
		return rv_err_set(RV_INVALID,
				  "pack '%s' is finished; it cannot be rolled "
				  "back",
				  w->path);
	if (m->n_chunks > w->n_chunks || m->n_blobs > w->n_blobs ||
	    m->offset != pw_chunks_end(w, m->n_chunks))
		return rv_err_set(RV_INVALID,
				  "pack '%s': the mark does not match what the "
				  "pack holds",
				  w->path);
	rc = pw_restore(w, m->offset);
	if (rc)
		return rc;
	pack_blobs_release(w->blobs + m->n_blobs, w->n_blobs - m->n_blobs);
	w->n_blobs = m->n_blobs;
	w->n_chunks = m->n_chunks;
	rv_set_truncate(&w->ids, m->n_chunks);
	w->json_max =
	    PACK_JSON_BASE + (uint64_t)w->n_chunks * PACK_JSON_CHUNK_MAX;
	for (size_t i = 0; i < w->n_blobs; i++)
		w->json_max += pw_blob_json_max(&w->blobs[i]);
	return 0;
}

static int pw_index_json(struct rv_buf *json, const struct pack_writer *w)
{
	char hex[65];
	int rc;

	rc = rv_buf_printf(json, "{\"version\":%d,\"chunks\":[",
			   PACK_INDEX_VERSION);
	for (size_t i = 0; !rc && i < w->n_chunks; i++) {
		const struct pack_chunk *c = &w->chunks[i];
		rv_hex_encode(hex, c->id, 32);
		rc = rv_buf_printf(
		    json,
		    "%s{\"id\":\"%s\",\"offset\":%llu,"
		    "\"length\":%lu,\"plain\":%lu}",
		    i ? "," : "", hex, (unsigned long long)c->offset,
		    (unsigned long)c->length, (unsigned long)c->plain_len);
	}
	if (!rc)
		rc = rv_buf_puts(json, "],\"blobs\":[");
	for (size_t i = 0; !rc && i < w->n_blobs; i++) {
		const struct pack_blob *b = &w->blobs[i];
		rc = rv_buf_printf(json,
				   "%s{\"digest\":\"%s\",\"size\":%lld,"
				   "\"kind\":\"%s\",\"media_type\":\"%s\","
				   "\"chunks\":[",
				   i ? "," : "", b->digest, (long long)b->size,
				   b->kind == PACK_MANIFEST ? "manifest"
							    : "blob",
				   b->media_type);
		for (size_t j = 0; !rc && j < b->n_chunks; j++) {
			rv_hex_encode(hex, b->chunks[j], 32);
			rc = rv_buf_printf(json, "%s\"%s\"", j ? "," : "", hex);
		}
		if (!rc)
			rc = rv_buf_puts(json, "]}");
	}
	if (!rc)
		rc = rv_buf_puts(json, "]}\n");
	return rc;
}

/* The sha256 of the file's bytes, read back (after a rollback the
 * running hash covers bytes that are gone). */
static int pw_hash_file(struct pack_writer *w, unsigned char sha[32])
{
	struct rv_sha256 h = {0};
	unsigned char *block = NULL;
	uint64_t pos = 0;
	int rc;

	block = malloc(PACK_HASH_BLOCK);
	if (!block)
		return rv_err_set(RV_NOMEM, "out of memory");
	rc = rv_sha256_init(&h);
	while (!rc && pos < w->off) {
		size_t want = w->off - pos < PACK_HASH_BLOCK
				  ? (size_t)(w->off - pos)
				  : PACK_HASH_BLOCK;
		ssize_t n = pread(w->fd, block, want, (off_t)pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? rv_err_errno(RV_IO, errno,
						  "cannot read pack '%s'",
						  w->path)
				   : rv_err_set(RV_IO,
						"pack '%s' shrank while "
						"being hashed",
						w->path);
			break;
		}
		rc = rv_sha256_update(&h, block, (size_t)n);
		pos += (uint64_t)n;
	}
	if (!rc)
		rc = rv_sha256_final(&h, sha);
	else
		rv_sha256_release(&h);
	free(block);
	return rc;
}

int pack_writer_finish(struct pack_writer *w, char pack_id[PACK_ID_HEX])
{
	static const unsigned char zero_id[FRAME_ID_LEN];
	struct rv_buf json = RV_BUF_INIT(PACK_INDEX_MAX);
	unsigned char sha[32];
	uint64_t start = w->off, data_off = 0;
	int rc;

	rc = pw_usable(w);
	if (rc)
		return rc;
	rc = pw_index_json(&json, w);
	if (rc)
		goto done;
	rv_buf_reset(&w->sealed);
	rc = frame_seal(&w->sealed, w->data_key, FRAME_PACK_INDEX, zero_id,
			json.data, json.len, 1);
	if (rc)
		goto done;
	rc = pw_add_entry(w, PACK_INDEX_NAME, w->sealed.data, w->sealed.len,
			  &data_off);
	if (rc)
		goto done;
	w->write_errno = 0;
	if (archive_write_close(w->ar) != ARCHIVE_OK) {
		rc = pw_archive_err(w, "the end of the archive");
		pw_restore_after(w, start, rc);
		goto done;
	}
	archive_write_free(w->ar);
	w->ar = NULL;
	if (fsync(w->fd) < 0) {
		rc = rv_err_errno(
		    rv_err_from_errno(errno) == RV_NOSPC ? RV_NOSPC : RV_IO,
		    errno, "cannot fsync pack '%s'", w->path);
		pw_restore_after(w, start, rc);
		goto done;
	}
	if (w->sha_live) {
		w->sha_live = 0;
		rc = rv_sha256_final(&w->sha, sha);
	} else {
		rc = pw_hash_file(w, sha);
	}
	if (rc) {
		pw_restore_after(w, start, rc);
		goto done;
	}
	rv_hex_encode(w->pack_id, sha, 32);
	memcpy(pack_id, w->pack_id, PACK_ID_HEX);
	w->finished = 1;
	rv_buf_release(&w->sealed);
done:
	rv_buf_release(&json);
	return rc;
}

const char *pack_writer_path(const struct pack_writer *w)
{
	return w->path;
}

const struct pack_chunk *pack_writer_chunks(const struct pack_writer *w,
					    size_t *n)
{
	*n = w->n_chunks;
	return w->chunks;
}

const struct pack_blob *pack_writer_blobs(const struct pack_writer *w,
					  size_t *n)
{
	*n = w->n_blobs;
	return w->blobs;
}

void pack_writer_free(struct pack_writer *w)
{
	if (!w)
		return;
	pw_archive_drop(w);
	if (w->fd >= 0)
		close(w->fd);
	if (w->path)
		unlink(w->path);
	if (w->sha_live)
		rv_sha256_release(&w->sha);
	OPENSSL_cleanse(w->data_key, sizeof(w->data_key));
	pack_blobs_release(w->blobs, w->n_blobs);
	free(w->blobs);
	free(w->chunks);
	rv_set_release(&w->ids);
	rv_buf_release(&w->sealed);
	free(w->path);
	free(w);
}
