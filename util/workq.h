/* workq.h - a few worker threads serving one coordinating thread: jobs go
 * in, results come out, a locked queue each way.
 *
 * The engines use it for work that may run in parallel while one thread
 * keeps what must stay single-threaded (the catalog): the backup's blob
 * fetchers (backup/fetch.c), the restore's blob uploads
 * (restore/upload_pool.c). Jobs and results are the caller's structs with
 * a struct workq_item as their first member; the queue only links them.
 *
 * With no thread (n == 0: one connection allowed, a client that cannot be
 * cloned) a job runs at once in the caller's thread, inside
 * workq_submit, and its results queue up just the same: the caller's code
 * is the same either way.
 *
 * Worker threads block every signal: the main thread handles them.
 */
#ifndef RV_WORKQ_H
#define RV_WORKQ_H

#include <stddef.h>

struct workq_item {
	struct workq_item *next;
};

struct workq_ops {
	/* Run job on worker w (0 .. n-1; 0 inline), in that worker's
	 * thread; post its results with workq_post. The job is freed with
	 * job_free afterwards. */
	void (*run)(void *arg, int w, struct workq_item *job);
	/* Optional: worker w's part of a flush (workq_flush), run once per
	 * request when its queue is empty. */
	void (*flush)(void *arg, int w);
	void (*job_free)(struct workq_item *job);
	void (*result_free)(struct workq_item *res);
};

struct workq;

/* Start up to n threads (a thread that cannot start is not an error:
 * fewer run; none: inline). ops and arg must outlive q. RV_NOMEM. */
int workq_start(struct workq **out, const struct workq_ops *ops, void *arg,
		int n);
/* Stop the threads (each finishes the job in hand), free the jobs not run
 * and the results not taken. NULL is fine. */
void workq_free(struct workq *q);
/* Threads running (0: inline). Workers n_threads .. n-1 never run. */
int workq_threads(const struct workq *q);

/* Queue a job (or run it now, inline). */
void workq_submit(struct workq *q, struct workq_item *job);
/* Jobs submitted and not yet run to their end. */
size_t workq_backlog(struct workq *q);
/* Ask every worker to run ops->flush once its queue is empty. */
void workq_flush(struct workq *q);
/* From a worker (or inline): hand a result to the coordinator. */
void workq_post(struct workq *q, struct workq_item *res);
/* The next result, in the order posted. wait=0: NULL when none is ready.
 * wait=1: block until one is, or return NULL when q is idle (nothing
 * queued or running, no flush outstanding, no result left). */
struct workq_item *workq_next(struct workq *q, int wait);

#endif
