/* writer.c - open packs: chunks and blobs go into a pack in the staging
 * folder; a flush finishes it and puts it on every target (store.h).
 *
 * The store has one writer of its own (store_add_chunk and friends); a
 * thread that fills packs in parallel with others opens its own with
 * store_writer_new. Writers share nothing but the store's keys (read
 * only) and its target handles (each call under the handle's mutex).
 */
#include "store/store_internal.h"

#include "store/pack.h"
#include "store/target.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int store_writer_new(struct store_writer **out, struct store *s)
{
	struct store_writer *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w)
		return rv_err_set(RV_NOMEM, "out of memory");
	w->s = s;
	*out = w;
	return 0;
}

void store_writer_release(struct store_writer *w)
{
	pack_writer_free(w->pw);
	w->pw = NULL;
}

void store_writer_free(struct store_writer *w)
{
	if (!w)
		return;
	store_writer_release(w);
	free(w);
}

static int writer_open(struct store_writer *w)
{
	int rc;

	if (w->pw)
		return 0;
	rc = rv_fs_mkdirs(w->s->staging_dir, 0700);
	if (rc)
		return rc;
	return pack_writer_new(&w->pw, w->s->staging_dir,
			       w->s->keys.data_key);
}

int store_writer_add_chunk(struct store_writer *w, const unsigned char id[32],
			   const void *plain, size_t len)
{
	int rc;

	if (len > 2 * w->s->chunk_size)
		return rv_err_set(RV_INVALID,
				  "chunk of %zu bytes is larger than this "
				  "store allows (%zu)",
				  len, 2 * w->s->chunk_size);
	rc = writer_open(w);
	if (rc)
		return rc;
	return pack_writer_add_chunk(w->pw, id, plain, len);
}

int store_writer_add_blob(struct store_writer *w, const struct pack_blob *b)
{
	int rc = writer_open(w);

	if (rc)
		return rc;
	return pack_writer_add_blob(w->pw, b);
}

void store_writer_mark(struct store_writer *w, struct pack_mark *m,
		       uint64_t *generation)
{
	if (w->pw) {
		pack_writer_mark(w->pw, m);
	} else {
		m->offset = 0;
		m->n_chunks = 0;
		m->n_blobs = 0;
	}
	*generation = w->generation;
}

int store_writer_rollback(struct store_writer *w, const struct pack_mark *m,
			  uint64_t generation)
{
	if (generation != w->generation)
		return rv_err_set(RV_INVALID,
				  "cannot roll back past a pack that was "
				  "already flushed");
	if (!w->pw) {
		if (m->offset || m->n_chunks || m->n_blobs)
			return rv_err_set(RV_INVALID,
					  "cannot roll back: no pack is open");
		return 0;
	}
	return pack_writer_rollback(w->pw, m);
}

int store_writer_full(const struct store_writer *w)
{
	return w->pw && pack_writer_size(w->pw) >= w->s->pack_size;
}

int store_writer_open(const struct store_writer *w)
{
	size_t n_chunks = 0, n_blobs = 0;

	if (!w->pw)
		return 0;
	pack_writer_chunks(w->pw, &n_chunks);
	pack_writer_blobs(w->pw, &n_blobs);
	return n_chunks > 0 || n_blobs > 0;
}

int store_writer_flush(struct store_writer *w, struct store_flushed **out)
{
	struct store *s = w->s;
	struct store_flushed *f = NULL;
	struct pack_writer *pw = w->pw;
	struct store_put_tally t = {0};
	char pack_id[PACK_ID_HEX], name[96];
	int rc;

	*out = NULL;
	if (!store_writer_open(w)) {
		store_writer_release(w); /* empty after a rollback */
		return 0;
	}
	/* Whatever happens, this pack is done with: marks taken in it can
	 * no longer be rolled back to. */
	w->pw = NULL;
	w->generation++;
	f = calloc(1, sizeof(*f) + s->n_targets);
	if (!f) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto fail;
	}
	t.ok = (unsigned char *)(f + 1);
	f->on_target = t.ok;
	rc = pack_writer_finish(pw, pack_id);
	if (rc)
		goto fail;
	snprintf(name, sizeof(name), "packs/%.2s/%s", pack_id, pack_id);
	/* the last target may take the file itself (pack_writer_finish
	 * made it durable): no copy when it is a folder on this file
	 * system */
	for (size_t i = 0; i < s->n_targets; i++) {
		const char *path = pack_writer_path(pw);

		store_put_note(&t, s, i,
			       i + 1 == s->n_targets
				   ? target_move_file(s->targets[i], name, path)
				   : target_put_file(s->targets[i], name,
						     path));
	}
	rc = store_put_outcome(s, name, &t);
	if (rc)
		goto fail;
	unlink(pack_writer_path(pw));
	memcpy(f->pack_id, pack_id, PACK_ID_HEX);
	f->size = pack_writer_size(pw);
	f->chunks = pack_writer_chunks(pw, &f->n_chunks);
	f->blobs = pack_writer_blobs(pw, &f->n_blobs);
	f->priv = pw;
	*out = f;
	return 0;
fail:
	free(f);
	pack_writer_free(pw);
	return rc;
}

void store_flushed_free(struct store_flushed *f)
{
	if (!f)
		return;
	pack_writer_free(f->priv);
	free(f);
}

int store_pack_copy(struct store *s, size_t from, size_t to,
		    const char *pack_id)
{
	enum store_copy state = STORE_COPY_FAILED;
	uint64_t size = 0;
	char *tmp = NULL, name[96];
	int fd = -1, rc;

	snprintf(name, sizeof(name), "packs/%.2s/%s", pack_id, pack_id);
	rc = rv_fs_mkdirs(s->staging_dir, 0700);
	if (!rc)
		rc = rv_fs_tmpfile(&fd, &tmp, s->staging_dir, "copy");
	if (rc)
		return rc;
	rc = store_pack_hash(&state, &size, s, from, pack_id, fd);
	if (!rc && state == STORE_COPY_FAILED)
		rc = rv_err_set(RV_IO, "%s", rv_err_msg());
	else if (!rc && state != STORE_COPY_GOOD)
		rc = rv_err_set(RV_CORRUPT,
				"pack %s on target '%s' does not check out; "
				"not copied",
				pack_id, s->targets[from]->name);
	if (!rc && fsync(fd) < 0)
		rc = rv_err_errno(RV_IO, errno, "cannot write '%s'", tmp);
	close(fd);
	if (!rc)
		rc = target_move_file(s->targets[to], name, tmp);
	unlink(tmp);
	free(tmp);
	return rc;
}

/* ---- the store's own writer ------------------------------------------ */

int store_add_chunk(struct store *s, const unsigned char id[32],
		    const void *plain, size_t len)
{
	return store_writer_add_chunk(&s->w, id, plain, len);
}

int store_add_blob(struct store *s, const struct pack_blob *b)
{
	return store_writer_add_blob(&s->w, b);
}

void store_mark(struct store *s, struct pack_mark *m, uint64_t *generation)
{
	store_writer_mark(&s->w, m, generation);
}

int store_rollback(struct store *s, const struct pack_mark *m,
		   uint64_t generation)
{
	return store_writer_rollback(&s->w, m, generation);
}

int store_pack_full(const struct store *s)
{
	return store_writer_full(&s->w);
}

int store_pack_open(const struct store *s)
{
	return store_writer_open(&s->w);
}

int store_flush(struct store *s, struct store_flushed **out)
{
	return store_writer_flush(&s->w, out);
}
