/* upload_pool.h - restore's blob uploaders: threads that push blobs to
 * the destination registry, several at once, each streamed from the packs.
 *
 * The restore (the coordinator, which alone reads the catalog) submits a
 * blob with where its chunks are; a worker HEADs it on the destination
 * (present: done), tries a cross-repository mount when the coordinator
 * named a source, else uploads it from the packs (reg_blob_put_seekable,
 * chunked and resumable for large blobs), checking that the chunks
 * reassemble to the digest. Each outcome comes back as a result, in the
 * order the jobs finished. Each worker has its own registry connection (a
 * reg_clone); the store is shared (store_read_chunk may run in several
 * threads at once).
 *
 * With no worker (one connection allowed, or a client that cannot be
 * cloned) upload_pool_submit does the job in the caller's thread on the
 * caller's client and queues its result just the same.
 *
 * Memory: a worker holds one blob reader at a time (a buffer of the
 * store's largest chunk) and libcurl's buffers; a queued job holds its
 * chunk list. The coordinator bounds how many jobs it queues.
 */
#ifndef RESTORE_UPLOAD_POOL_H
#define RESTORE_UPLOAD_POOL_H

#include "util/workq.h"

#include <stddef.h>
#include <stdint.h>

struct cat_chunk_loc;
struct reg;
struct store;

/* One blob to put on the destination. Strings are copied at submit. */
struct upload_job {
	const char *repo;	/* destination repository */
	const char *digest;	/* the blob's digest */
	const char *mount_from; /* NULL, or a destination repository that
				   holds the blob (a mount is tried) */
	/* Where the blob's chunks are (cat_blob_chunks), in order, and the
	 * stored size; the pool takes locs (malloc'd) at submit, also on
	 * failure. */
	struct cat_chunk_loc *locs;
	size_t n_locs;
	int64_t stored_size;
	/* Nonzero when the chunk list could not be read: the blob then
	 * fails with this code and message, but only if it has to be
	 * uploaded (one already on the destination is fine). */
	int locs_rc;
	const char *locs_msg;
	size_t index; /* the caller's, given back in the result */
};

enum upload_outcome {
	UPLOAD_PRESENT, /* already on the destination */
	UPLOAD_MOUNTED, /* mounted from mount_from */
	UPLOAD_PUSHED,	/* uploaded from the packs */
	UPLOAD_FAILED,	/* rc and msg say why */
};

struct upload_result {
	struct workq_item link; /* first */
	size_t index;
	enum upload_outcome outcome;
	uint64_t bytes; /* UPLOAD_PUSHED: bytes uploaded (the stored size) */
	int rc;		/* UPLOAD_FAILED: the code */
	char *msg;	/* UPLOAD_FAILED: its message (malloc'd; may be NULL
			   when out of memory) */
};

struct upload_pool;

/* workers: how many threads (each with a clone of r); 0, or no clone
 * possible: inline mode on r. s is shared with the workers. RV_NOMEM. */
int upload_pool_new(struct upload_pool **out, struct store *s, struct reg *r,
		    int workers);
/* Wait for the jobs in the workers' hands, drop the queued ones, add the
 * clones' registry stats (and budget shares) back into r, free. NULL: no-op. */
void upload_pool_free(struct upload_pool *p);

/* Threads working (0: inline). */
int upload_pool_workers(const struct upload_pool *p);

/* Queue a blob (job->locs is the pool's from here on, even on failure).
 * Inline mode: done before this returns. RV_NOMEM. */
int upload_pool_submit(struct upload_pool *p, const struct upload_job *job);

/* The next result, waiting for one while jobs are queued or running;
 * NULL when none is left. The caller frees it. */
struct upload_result *upload_pool_next(struct upload_pool *p);
void upload_result_free(struct upload_result *r);

#endif
