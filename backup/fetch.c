/* fetch.c - the backup's blob fetchers (fetch.h). */
#include "backup/fetch.h"

#include "backup/stream.h"
#include "catalog/catalog.h"
#include "registry/registry.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_WORKERS_MAX 16
/* Each clone gets this many requests of a limited budget (capped by
 * reg_clone at half of what is left). */
#define FETCH_BUDGET_SHARE 1000000

struct job {
	char *repo;
	char *what;
	char digest[RV_DIGEST_MAX];
	int64_t size;
	struct job *next;
};

struct worker {
	struct fetch_pool *p;
	struct reg *r;	  /* a clone, or the caller's client inline */
	struct cat *c;	  /* a reader, or the caller's catalog inline */
	int own_r, own_c; /* r, c were opened for this worker */
	struct stream st;
	int st_ready;
	uint64_t chunks_reported;
	uint64_t flushed_gen; /* the last flush request done */
	pthread_t thread;
	int started;
};

struct fetch_pool {
	pthread_mutex_t mu;
	pthread_cond_t work;  /* a job, a flush request or stop */
	pthread_cond_t event; /* an event, or a worker went idle */
	struct job *head, *tail;
	size_t backlog; /* queued + running */
	size_t running; /* jobs and flushes in a worker's hands */
	struct fetch_event *ev_head, *ev_tail;
	uint64_t flush_gen;
	int stop;

	struct reg *r;
	struct worker w[FETCH_WORKERS_MAX];
	int n;	    /* threads */
	int inline_; /* no threads: w[0] works in the caller's thread */
};

static void job_free(struct job *j)
{
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

/* Queue an event (p->mu held by the caller in threaded mode). */
static void push_event(struct fetch_pool *p, struct fetch_event *e)
{
	e->next = NULL;
	if (p->ev_tail)
		p->ev_tail->next = e;
	else
		p->ev_head = e;
	p->ev_tail = e;
	pthread_cond_broadcast(&p->event);
}

static void lock(struct fetch_pool *p)
{
	if (!p->inline_)
		pthread_mutex_lock(&p->mu);
}

static void unlock(struct fetch_pool *p)
{
	if (!p->inline_)
		pthread_mutex_unlock(&p->mu);
}

/* An event for w, with the current error as msg when rc != 0. NULL only
 * when out of memory (the event is then lost; a fatal one is replaced by
 * the pool's own out-of-memory event). */
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
	struct fetch_pool *p = w->p;
	struct fetch_event *e = new_event(w, kind, rc, j);

	if (!e) {
		rv_log(RV_LOG_ERROR, "out of memory reporting a fetch event");
		return;
	}
	e->bytes = bytes;
	lock(p);
	push_event(p, e);
	unlock(p);
}

/* stream_pack_fn: hand the flushed pack to the coordinator. */
static int on_pack(void *arg, struct store_flushed *f)
{
	struct worker *w = arg;
	struct fetch_pool *p = w->p;
	struct fetch_event *e = new_event(w, FETCH_PACK, 0, NULL);

	if (!e) {
		/* the pack is on the targets but will not be recorded: an
		 * orphan that prune removes */
		store_flushed_free(f);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	e->pack = f;
	lock(p);
	push_event(p, e);
	unlock(p);
	return 0;
}

static void do_job(struct worker *w, const struct job *j)
{
	int rc;

	if (w->st.fatal) {
		rv_err_set(RV_ERROR, "blob %s not fetched: this worker "
				     "stopped on an earlier failure",
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

static void do_flush(struct worker *w)
{
	int rc;

	if (w->st.fatal)
		return;
	rc = stream_flush(&w->st);
	if (rc)
		emit(w, FETCH_FATAL, rc, NULL, 0);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fetch_pool *p = w->p;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct job *j;

		while (!p->stop && !p->head && w->flushed_gen == p->flush_gen)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		if ((j = p->head)) {
			p->head = j->next;
			if (!p->head)
				p->tail = NULL;
			p->running++;
			pthread_mutex_unlock(&p->mu);
			do_job(w, j);
			job_free(j);
			pthread_mutex_lock(&p->mu);
			p->running--;
			p->backlog--;
		} else {
			uint64_t gen = p->flush_gen;

			p->running++;
			pthread_mutex_unlock(&p->mu);
			do_flush(w);
			pthread_mutex_lock(&p->mu);
			p->running--;
			w->flushed_gen = gen;
		}
		pthread_cond_broadcast(&p->event);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

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
	sigset_t all, old;
	int rc = 0;

	*out = NULL;
	if (!p)
		return rv_err_set(RV_NOMEM, "out of memory");
	p->r = r;
	if (workers > FETCH_WORKERS_MAX)
		workers = FETCH_WORKERS_MAX;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->event, NULL);
	/* workers take no signals: the main thread handles them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < workers; i++) {
		struct worker *w = &p->w[p->n];

		rc = worker_init(w, p, s, c, r, 1);
		if (rc) {
			worker_release(w, r);
			if (rc == RV_NOMEM)
				break;
			rv_debug("blob fetch: %s; going on with %d "
				 "worker(s)",
				 rv_err_msg(), p->n);
			rv_err_clear();
			rc = 0;
			break;
		}
		if (pthread_create(&w->thread, NULL, worker_main, w)) {
			worker_release(w, r);
			break;
		}
		w->started = 1;
		p->n++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!rc && p->n == 0) {
		p->inline_ = 1;
		rc = worker_init(&p->w[0], p, s, c, r, 0);
	}
	if (rc) {
		fetch_pool_free(p);
		return rc;
	}
	rv_debug("blob fetch: %d worker(s)%s", p->n,
		 p->inline_ ? " (inline)" : "");
	*out = p;
	return 0;
}

void fetch_pool_free(struct fetch_pool *p)
{
	struct fetch_event *e;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->n; i++)
		if (p->w[i].started)
			pthread_join(p->w[i].thread, NULL);
	for (int i = 0; i < p->n || (p->inline_ && i == 0); i++)
		worker_release(&p->w[i], p->r);
	while (p->head) {
		struct job *j = p->head;
		p->head = j->next;
		job_free(j);
	}
	while ((e = p->ev_head)) {
		p->ev_head = e->next;
		fetch_event_free(e);
	}
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->event);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

int fetch_pool_workers(const struct fetch_pool *p)
{
	return p->n;
}

struct stream *fetch_pool_inline_stream(struct fetch_pool *p)
{
	return p->inline_ ? &p->w[0].st : NULL;
}

int fetch_pool_submit(struct fetch_pool *p, const char *repo,
		      const char *digest, int64_t size, const char *what)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j || !(j->repo = strdup(repo)) ||
	    (what && !(j->what = strdup(what)))) {
		job_free(j);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	snprintf(j->digest, sizeof(j->digest), "%s", digest);
	j->size = size;
	if (p->inline_) {
		do_job(&p->w[0], j);
		job_free(j);
		return 0;
	}
	pthread_mutex_lock(&p->mu);
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->backlog++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

size_t fetch_pool_backlog(struct fetch_pool *p)
{
	size_t n;

	lock(p);
	n = p->backlog;
	unlock(p);
	return n;
}

void fetch_pool_flush(struct fetch_pool *p)
{
	if (p->inline_) {
		do_flush(&p->w[0]);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->flush_gen++;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
}

static int all_flushed(const struct fetch_pool *p)
{
	for (int i = 0; i < p->n; i++)
		if (p->w[i].flushed_gen != p->flush_gen)
			return 0;
	return 1;
}

struct fetch_event *fetch_pool_next(struct fetch_pool *p, int wait)
{
	struct fetch_event *e;

	lock(p);
	while (!p->ev_head && wait && !p->inline_ &&
	       (p->backlog || p->running || !all_flushed(p)))
		pthread_cond_wait(&p->event, &p->mu);
	e = p->ev_head;
	if (e) {
		p->ev_head = e->next;
		if (!p->ev_head)
			p->ev_tail = NULL;
		e->next = NULL;
	}
	unlock(p);
	return e;
}
