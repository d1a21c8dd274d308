/* fetch.h - the backup's blob fetchers: threads that download blobs, cut
 * and seal them into packs of their own, in parallel.
 *
 * The backup engine (the coordinator, which alone writes the catalog)
 * submits blobs and receives events: a blob stored in a worker's open pack,
 * a blob that failed, a pack flushed to the targets (to be recorded), a
 * fatal store failure. Each worker has its own registry connection (a
 * reg_clone), stream (chunker, pack writer) and catalog reader. A blob is
 * only ever in one worker's hands: the coordinator submits each digest once.
 *
 * With no worker (a client that cannot be cloned, or one connection
 * allowed) fetch_pool_submit does the job in the caller's thread on the
 * caller's client, and the events queue up just the same.
 *
 * Memory: each worker holds one stream (a chunk buffer of the store's
 * largest chunk, the open pack's index) and libcurl's buffers; the queue
 * holds names only. The coordinator bounds it (fetch_pool_backlog).
 */
#ifndef BACKUP_FETCH_H
#define BACKUP_FETCH_H

#include "util/digest.h"
#include "util/workq.h"

#include <stddef.h>
#include <stdint.h>

struct cat;
struct reg;
struct store;
struct store_flushed;
struct stream;

enum fetch_event_kind {
	FETCH_BLOB_DONE,   /* in a worker's open pack; bytes set */
	FETCH_BLOB_FAILED, /* rc, msg; rolled back */
	FETCH_PACK,	   /* pack: on the targets, to be recorded */
	FETCH_FATAL,	   /* rc, msg: a store or catalog failure */
};

struct fetch_event {
	struct workq_item link; /* first */
	enum fetch_event_kind kind;
	char digest[RV_DIGEST_MAX];
	char *what; /* the label given at submit */
	int rc;
	char *msg;
	uint64_t bytes;		    /* FETCH_BLOB_DONE: blob bytes */
	uint64_t chunks_written;    /* new chunks since the last event */
	struct store_flushed *pack; /* FETCH_PACK; owned by the event */
};

struct fetch_pool;

/* workers: how many threads (each a clone of r); 0 or a clone refused:
 * inline mode. c: the coordinator's catalog (workers open readers). */
int fetch_pool_new(struct fetch_pool **out, struct store *s, struct cat *c,
		   struct reg *r, int workers);
/* Stop the workers (their open packs are abandoned: call fetch_pool_drain
 * first to keep them), add their registry stats into r, free. */
void fetch_pool_free(struct fetch_pool *p);

int fetch_pool_workers(const struct fetch_pool *p);
/* Inline mode: the stream the jobs go into, for the caller to put its
 * own bytes (manifests) into the same packs; its packs come back as
 * FETCH_PACK events like the others. NULL with worker threads. */
struct stream *fetch_pool_inline_stream(struct fetch_pool *p);

/* Queue a blob. what labels it in failure events ("repo:tag"). */
int fetch_pool_submit(struct fetch_pool *p, const char *repo,
		      const char *digest, int64_t size, const char *what);
/* Blobs submitted and not yet done or failed. */
size_t fetch_pool_backlog(struct fetch_pool *p);
/* Ask every worker to flush its open pack once its queue is empty; the
 * FETCH_PACK events follow. */
void fetch_pool_flush(struct fetch_pool *p);
/* The next event, in the order they happened per worker. wait=0: NULL
 * when none is ready. wait=1: block until one is, or return NULL when the
 * pool is idle (nothing queued, no job running, no flush outstanding, no
 * event left). */
struct fetch_event *fetch_pool_next(struct fetch_pool *p, int wait);
void fetch_event_free(struct fetch_event *e);

#endif
