/* stream.c - one blob at a time into packs (stream.h). */
#include "backup/stream.h"

#include "catalog/catalog.h"
#include "store/chunker.h"
#include "store/store.h"
#include "util/array.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int stream_init(struct stream *st, struct store *s, struct cat *c,
		stream_pack_fn on_pack, void *arg)
{
	int rc;

	memset(st, 0, sizeof(*st));
	st->s = s;
	st->c = c;
	st->on_pack = on_pack;
	st->arg = arg;
	st->chunk_size = store_chunk_size(s);
	rc = store_writer_new(&st->w, s);
	if (!rc)
		rc = store_chunker_new(&st->chunker, s);
	if (!rc && !st->chunker && !(st->chunk_buf = malloc(st->chunk_size)))
		rc = rv_err_set(RV_NOMEM, "out of memory");
	if (rc)
		stream_release(st);
	return rc;
}

void stream_release(struct stream *st)
{
	store_writer_free(st->w);
	chunker_free(st->chunker);
	free(st->chunk_buf);
	free(st->ids);
	rv_set_release(&st->pend);
	rv_set_release(&st->prev);
	memset(st, 0, sizeof(*st));
}

static void take_mark(struct stream *st)
{
	store_writer_mark(st->w, &st->mark, &st->mark_gen);
	st->mark_pend = st->pend.n;
}

int stream_flush(struct stream *st)
{
	struct store_flushed *f = NULL;
	struct rv_set t;
	int rc = store_writer_flush(st->w, &f);

	if (!rc && f) {
		st->packs_flushed++;
		rc = st->on_pack(st->arg, f);
	}
	if (rc) {
		st->fatal = 1;
		return rc;
	}
	/* what went out stays known for one more pack: the catalog may
	 * not have recorded it yet */
	t = st->prev;
	st->prev = st->pend;
	st->pend = t;
	rv_set_clear(&st->pend);
	take_mark(st); /* a rollback can only undo the open pack */
	return 0;
}

static int chunk_known(struct stream *st, const unsigned char id[32])
{
	if (rv_set_has(&st->pend, id, 32) || rv_set_has(&st->prev, id, 32))
		return 1;
	return cat_chunk_has(st->c, id);
}

static int add_chunk(struct stream *st, const void *data, size_t len)
{
	unsigned char id[32];
	int rc = store_chunk_id(id, st->s, data, len);

	if (!rc)
		rc = rv_array_grow((void **)&st->ids, &st->cap_ids,
				   st->n_ids + 1, sizeof(*st->ids));
	if (rc)
		goto fail;
	memcpy(st->ids[st->n_ids++], id, 32);
	rc = chunk_known(st, id);
	if (rc < 0)
		goto fail;
	if (rc == 1)
		return 0;
	rc = store_writer_add_chunk(st->w, id, data, len);
	if (!rc && rv_set_add(&st->pend, id, 32) < 0)
		rc = rv_err_set(RV_NOMEM, "out of memory");
	if (rc)
		goto fail;
	st->chunks_written++;
	if (store_writer_full(st->w))
		return stream_flush(st);
	return 0;
fail:
	st->fatal = 1;
	return rc;
}

static int emit_chunk(void *arg, const unsigned char *data, size_t len)
{
	return add_chunk(arg, data, len);
}

void stream_begin(struct stream *st)
{
	st->chunk_len = 0;
	if (st->chunker)
		chunker_reset(st->chunker);
	st->n_ids = 0;
	take_mark(st);
}

int stream_feed(void *arg, const void *data, size_t len)
{
	struct stream *st = arg;
	const unsigned char *p = data;

	if (st->chunker)
		return chunker_feed(st->chunker, data, len, emit_chunk, st);
	while (len) {
		size_t n = st->chunk_size - st->chunk_len;
		if (n > len)
			n = len;
		memcpy(st->chunk_buf + st->chunk_len, p, n);
		st->chunk_len += n;
		p += n;
		len -= n;
		if (st->chunk_len == st->chunk_size) {
			int rc = add_chunk(st, st->chunk_buf, st->chunk_len);
			if (rc)
				return rc;
			st->chunk_len = 0;
		}
	}
	return 0;
}

int stream_end(struct stream *st, const char *digest, int64_t size, int kind,
	       const char *media_type)
{
	struct pack_blob pb;
	int rc = 0;

	if (st->chunker)
		rc = chunker_finish(st->chunker, emit_chunk, st);
	else if (st->chunk_len)
		rc = add_chunk(st, st->chunk_buf, st->chunk_len);
	st->chunk_len = 0;
	if (rc)
		return rc;
	memset(&pb, 0, sizeof(pb));
	snprintf(pb.digest, sizeof(pb.digest), "%s", digest);
	pb.size = size;
	pb.kind = kind;
	snprintf(pb.media_type, sizeof(pb.media_type), "%s",
		 media_type ? media_type : "");
	pb.chunks = st->ids;
	pb.n_chunks = st->n_ids;
	rc = store_writer_add_blob(st->w, &pb);
	if (rc)
		st->fatal = 1;
	return rc;
}

void stream_abandon(struct stream *st)
{
	if (st->chunker)
		chunker_reset(st->chunker);
	st->chunk_len = 0;
	if (store_writer_rollback(st->w, &st->mark, st->mark_gen) == 0)
		rv_set_truncate(&st->pend, st->mark_pend);
	else
		st->fatal = 1;
}
