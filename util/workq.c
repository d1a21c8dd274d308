/* workq.c - worker threads for one coordinating thread (workq.h). */
#include "util/workq.h"

#include "util/err.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

#define WORKQ_MAX 16

struct worker {
	struct workq *q;
	int id;
	uint64_t flushed_gen; /* the last flush request done */
	pthread_t thread;
};

struct workq {
	const struct workq_ops *ops;
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t work;   /* a job, a flush request or stop */
	pthread_cond_t result; /* a result, or a worker went idle */
	struct workq_item *head, *tail;
	struct workq_item *res_head, *res_tail;
	size_t backlog; /* queued + running jobs */
	size_t busy;	/* jobs and flushes in a worker's hands */
	uint64_t flush_gen;
	int stop;
	struct worker w[WORKQ_MAX];
	int n; /* threads */
};

static void push(struct workq_item **head, struct workq_item **tail,
		 struct workq_item *it)
{
	it->next = NULL;
	if (*tail)
		(*tail)->next = it;
	else
		*head = it;
	*tail = it;
}

static struct workq_item *pop(struct workq_item **head,
			      struct workq_item **tail)
{
	struct workq_item *it = *head;

	if (it) {
		*head = it->next;
		if (!*head)
			*tail = NULL;
		it->next = NULL;
	}
	return it;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct workq *q = w->q;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct workq_item *job;

		while (!q->stop && !q->head && w->flushed_gen == q->flush_gen)
			pthread_cond_wait(&q->work, &q->mu);
		if (q->stop)
			break;
		q->busy++;
		if ((job = pop(&q->head, &q->tail))) {
			pthread_mutex_unlock(&q->mu);
			q->ops->run(q->arg, w->id, job);
			q->ops->job_free(job);
			pthread_mutex_lock(&q->mu);
			q->backlog--;
		} else {
			uint64_t gen = q->flush_gen;

			pthread_mutex_unlock(&q->mu);
			if (q->ops->flush)
				q->ops->flush(q->arg, w->id);
			pthread_mutex_lock(&q->mu);
			w->flushed_gen = gen;
		}
		q->busy--;
		pthread_cond_broadcast(&q->result);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int workq_start(struct workq **out, const struct workq_ops *ops, void *arg,
		int n)
{
	struct workq *q = calloc(1, sizeof(*q));
	sigset_t all, old;

	*out = NULL;
	if (!q)
		return rv_err_set(RV_NOMEM, "out of memory");
	q->ops = ops;
	q->arg = arg;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->result, NULL);
	if (n > WORKQ_MAX)
		n = WORKQ_MAX;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < n; i++) {
		q->w[i].q = q;
		q->w[i].id = i;
		if (pthread_create(&q->w[i].thread, NULL, worker_main, &q->w[i]))
			break;
		q->n++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*out = q;
	return 0;
}

void workq_free(struct workq *q)
{
	struct workq_item *it;

	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->mu);
	for (int i = 0; i < q->n; i++)
		pthread_join(q->w[i].thread, NULL);
	while ((it = pop(&q->head, &q->tail)))
		q->ops->job_free(it);
	while ((it = pop(&q->res_head, &q->res_tail)))
		q->ops->result_free(it);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->result);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

int workq_threads(const struct workq *q)
{
	return q->n;
}

void workq_submit(struct workq *q, struct workq_item *job)
{
	if (!q->n) {
		q->ops->run(q->arg, 0, job);
		q->ops->job_free(job);
		return;
	}
	pthread_mutex_lock(&q->mu);
	push(&q->head, &q->tail, job);
	q->backlog++;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
}

size_t workq_backlog(struct workq *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->backlog;
	pthread_mutex_unlock(&q->mu);
	return n;
}

void workq_flush(struct workq *q)
{
	if (!q->n) {
		if (q->ops->flush)
			q->ops->flush(q->arg, 0);
		return;
	}
	pthread_mutex_lock(&q->mu);
	q->flush_gen++;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->mu);
}

void workq_post(struct workq *q, struct workq_item *res)
{
	pthread_mutex_lock(&q->mu);
	push(&q->res_head, &q->res_tail, res);
	pthread_cond_broadcast(&q->result);
	pthread_mutex_unlock(&q->mu);
}

static int all_flushed(const struct workq *q)
{
	for (int i = 0; i < q->n; i++)
		if (q->w[i].flushed_gen != q->flush_gen)
			return 0;
	return 1;
}

struct workq_item *workq_next(struct workq *q, int wait)
{
	struct workq_item *it;

	pthread_mutex_lock(&q->mu);
	while (!q->res_head && wait && q->n &&
	       (q->backlog || q->busy || !all_flushed(q)))
		pthread_cond_wait(&q->result, &q->mu);
	it = pop(&q->res_head, &q->res_tail);
	pthread_mutex_unlock(&q->mu);
	return it;
}
