/* fetch.c - the backup's blob fetchers (fetch.h), on a util/workq pool. */
#include "backup/fetch.h"

#include "backup/stream.h"
#include "catalog/catalog.h"
#include "registry/registry.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_WORKERS_MAX 16
/* The most requests one clone may make of a limited budget (the budget
 * itself is shared: reg_clone). */
#define FETCH_BUDGET_SHARE 1000000

struct job {
	struct workq_item link; /* first */
	char *repo;
	char *what;
	char digest[RV_DIGEST_MAX];
	int64_t size;
};

struct worker {
	struct fetch_pool *p;
	struct reg *r;	  /* a clone, or the caller's client inline */
	struct cat *c;	  /* a reader, or the caller's catalog inline */
	int own_r, own_c; /* r, c were opened for this worker */
	struct stream st;
	int st_ready;
	uint64_t chunks_reported;
};

struct fetch_pool {
	struct workq *q;
	struct reg *r;
	struct worker w[FETCH_WORKERS_MAX];
	int n_ready; /* workers set up (threads, or 1 inline) */
};

static void job_free(struct workq_item *it)
{
	struct job *j = (struct job *)it;

	if (!j)
		return;
	free(j->repo);
	free(j->what);
	free(j);
}

void fetch_event_free(struct fetch_event *e)
{
	if (!e)
		return;
	free(e->what);
	free(e->msg);
	store_flushed_free(e->pack);
	free(e);
}

static void event_free(struct workq_item *it)
{
	fetch_event_free((struct fetch_event *)it);
}

/* An event for w, with the current error as msg when rc != 0. NULL only
 * when out of memory. */
static struct fetch_event *new_event(struct worker *w, int kind, int rc,
				     const struct job *j)
{
	struct fetch_event *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->kind = kind;
	e->rc = rc;
	e->chunks_written = w->st.chunks_written - w->chunks_reported;
	w->chunks_reported = w->st.chunks_written;
	if (j) {
		snprintf(e->digest, sizeof(e->digest), "%s", j->digest);
		e->what = j->what ? strdup(j->what) : NULL;
	}
	if (rc)
		e->msg = strdup(rv_err_msg());
	return e;
}

static void emit(struct worker *w, int kind, int rc, const struct job *j,
		 uint64_t bytes)
{
	struct fetch_event *e = new_event(w, kind, rc, j);

	if (!e) {
		rv_log(RV_LOG_ERROR, "out of memory reporting a fetch event");
		return;
	}
	e->bytes = bytes;
	workq_post(w->p->q, &e->link);
}

/* stream_pack_fn: hand the flushed pack to the coordinator. */
static int on_pack(void *arg, struct store_flushed *f)
{
	struct worker *w = arg;
	struct fetch_event *e = new_event(w, FETCH_PACK, 0, NULL);

	if (!e) {
		/* the pack is on the targets but will not be recorded: an
		 * orphan that the next run adopts */
		store_flushed_free(f);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	e->pack = f;
	workq_post(w->p->q, &e->link);
	return 0;
}

static void run_job(void *arg, int wi, struct workq_item *it)
{
	struct fetch_pool *p = arg;
	struct worker *w = &p->w[wi];
	const struct job *j = (const struct job *)it;
	int rc;

	if (w->st.fatal) {
		rv_err_set(RV_ERROR,
			   "blob %s not fetched: this worker stopped on an "
			   "earlier failure",
			   j->digest);
		emit(w, FETCH_BLOB_FAILED, RV_ERROR, j, 0);
		return;
	}
	stream_begin(&w->st);
	rc = reg_blob_get(w->r, j->repo, j->digest, j->size, stream_feed,
			  &w->st);
	if (!rc)
		rc = stream_end(&w->st, j->digest, j->size, PACK_BLOB, NULL);
	if (!rc) {
		emit(w, FETCH_BLOB_DONE, 0, j, (uint64_t)j->size);
		return;
	}
	if (!w->st.fatal)
		stream_abandon(&w->st);
	emit(w, w->st.fatal ? FETCH_FATAL : FETCH_BLOB_FAILED, rc, j, 0);
}

static void run_flush(void *arg, int wi)
{
	struct worker *w = &((struct fetch_pool *)arg)->w[wi];
	int rc;

	if (w->st.fatal)
		return;
	rc = stream_flush(&w->st);
	if (rc)
		emit(w, FETCH_FATAL, rc, NULL, 0);
}

static const struct workq_ops fetch_ops = {
    .run = run_job,
    .flush = run_flush,
    .job_free = job_free,
    .result_free = event_free,
};

static int worker_init(struct worker *w, struct fetch_pool *p,
		       struct store *s, struct cat *c, struct reg *r,
		       int clone)
{
	int rc;

	w->p = p;
	if (clone) {
		rc = reg_clone(&w->r, r, FETCH_BUDGET_SHARE);
		if (rc)
			return rc;
		w->own_r = 1;
		rc = cat_open_reader(&w->c, c);
		if (rc)
			return rc;
		w->own_c = 1;
	} else {
		w->r = r;
		w->c = c;
	}
	rc = stream_init(&w->st, s, w->c, on_pack, w);
	if (!rc)
		w->st_ready = 1;
	return rc;
}

static void worker_release(struct worker *w, struct reg *r)
{
	if (w->st_ready)
		stream_release(&w->st);
	if (w->own_c)
		cat_close(w->c);
	if (w->own_r) {
		reg_stats_add(r, w->r);
		reg_free(w->r);
	}
	memset(w, 0, sizeof(*w));
}

int fetch_pool_new(struct fetch_pool **out, struct store *s, struct cat *c,
		   struct reg *r, int workers)
{
	struct fetch_pool *p = calloc(1, sizeof(*p));
	int rc = 0, threads;

	*out = NULL;
	if (!p)
		return rv_err_set(RV_NOMEM, "out of memory");
	p->r = r;
	if (workers > FETCH_WORKERS_MAX)
		workers = FETCH_WORKERS_MAX;
	while (p->n_ready < workers) {
		rc = worker_init(&p->w[p->n_ready], p, s, c, r, 1);
		if (rc) {
			worker_release(&p->w[p->n_ready], r);
			if (rc == RV_NOMEM)
				goto fail;
			/* fewer connections, or one: the backup goes on */
			rv_debug("blob fetch: %s; going on with %d "
				 "worker(s)",
				 rv_err_msg(), p->n_ready);
			rv_err_clear();
			rc = 0;
			break;
		}
		p->n_ready++;
	}
	rc = workq_start(&p->q, &fetch_ops, p, p->n_ready);
	if (rc)
		goto fail;
	threads = workq_threads(p->q);
	while (p->n_ready > threads) /* threads that did not start */
		worker_release(&p->w[--p->n_ready], r);
	if (!threads) {
		rc = worker_init(&p->w[0], p, s, c, r, 0);
		if (rc)
			goto fail;
		p->n_ready = 1;
	}
	rv_debug("blob fetch: %d worker(s)%s", threads,
		 threads ? "" : " (inline)");
	*out = p;
	return 0;
fail:
	fetch_pool_free(p);
	return rc;
}

void fetch_pool_free(struct fetch_pool *p)
{
	if (!p)
		return;
	workq_free(p->q);
	for (int i = 0; i < p->n_ready; i++)
		worker_release(&p->w[i], p->r);
	free(p);
}

int fetch_pool_workers(const struct fetch_pool *p)
{
	return workq_threads(p->q);
}

struct stream *fetch_pool_inline_stream(struct fetch_pool *p)
{
	return workq_threads(p->q) ? NULL : &p->w[0].st;
}

int fetch_pool_submit(struct fetch_pool *p, const char *repo,
		      const char *digest, int64_t size, const char *what)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j || !(j->repo = strdup(repo)) ||
	    (what && !(j->what = strdup(what)))) {
		job_free(j ? &j->link : NULL);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	snprintf(j->digest, sizeof(j->digest), "%s", digest);
	j->size = size;
	workq_submit(p->q, &j->link);
	return 0;
}

size_t fetch_pool_backlog(struct fetch_pool *p)
{
	return workq_backlog(p->q);
}

void fetch_pool_flush(struct fetch_pool *p)
{
	workq_flush(p->q);
}

struct fetch_event *fetch_pool_next(struct fetch_pool *p, int wait)
{
	return (struct fetch_event *)workq_next(p->q, wait);
}
