/* test_util_workq.c - the worker pool: every job runs once and posts its
 * result; flush runs on every worker once its queue is empty; inline mode
 * runs at submit; results left at free are freed. */
#include "util/workq.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

struct item {
	struct workq_item link;
	int value;
	int worker;
};

struct ctx {
	struct workq *q;
	pthread_mutex_t mu;
	int ran;
	int flushes[16];
	int freed_jobs;
};

static struct ctx *g; /* for the free callbacks */

static void run(void *arg, int w, struct workq_item *job)
{
	struct ctx *c = arg;
	struct item *in = (struct item *)job;
	struct item *out = calloc(1, sizeof(*out));

	assert_non_null(out);
	out->value = in->value * 2;
	out->worker = w;
	pthread_mutex_lock(&c->mu);
	c->ran++;
	pthread_mutex_unlock(&c->mu);
	workq_post(c->q, &out->link);
}

static void flush(void *arg, int w)
{
	struct ctx *c = arg;
	struct item *out = calloc(1, sizeof(*out));

	assert_non_null(out);
	out->value = -1;
	out->worker = w;
	pthread_mutex_lock(&c->mu);
	c->flushes[w]++;
	pthread_mutex_unlock(&c->mu);
	workq_post(c->q, &out->link);
}

static void job_free(struct workq_item *it)
{
	pthread_mutex_lock(&g->mu);
	g->freed_jobs++;
	pthread_mutex_unlock(&g->mu);
	free(it);
}

static void res_free(struct workq_item *it)
{
	free(it);
}

static const struct workq_ops ops = {
    .run = run, .flush = flush, .job_free = job_free, .result_free = res_free};

static void submit(struct ctx *c, int value)
{
	struct item *in = calloc(1, sizeof(*in));

	assert_non_null(in);
	in->value = value;
	workq_submit(c->q, &in->link);
}

/* Take results until idle: the sum of the doubled values and the number of
 * flush markers. */
static void drain(struct ctx *c, long *sum, int *markers)
{
	struct workq_item *it;

	*sum = 0;
	*markers = 0;
	while ((it = workq_next(c->q, 1))) {
		struct item *r = (struct item *)it;
		if (r->value < 0)
			(*markers)++;
		else
			*sum += r->value;
		free(r);
	}
}

static void run_pool(int threads)
{
	struct ctx c;
	long sum;
	int markers;

	memset(&c, 0, sizeof(c));
	pthread_mutex_init(&c.mu, NULL);
	g = &c;
	assert_int_equal(workq_start(&c.q, &ops, &c, threads), 0);
	assert_int_equal(workq_threads(c.q), threads);
	for (int i = 1; i <= 1000; i++)
		submit(&c, i);
	workq_flush(c.q);
	drain(&c, &sum, &markers);
	assert_int_equal(c.ran, 1000);
	assert_int_equal(sum, 1000L * 1001); /* 2 * (1 + ... + 1000) */
	assert_int_equal(markers, threads ? threads : 1);
	assert_int_equal(workq_backlog(c.q), 0);
	assert_null(workq_next(c.q, 1)); /* idle: no wait */
	assert_int_equal(c.freed_jobs, 1000);
	workq_free(c.q);
	pthread_mutex_destroy(&c.mu);
}

static void test_workq_threads_run_every_job_once(void **state)
{
	(void)state;
	run_pool(3);
}

static void test_workq_inline_runs_at_submit(void **state)
{
	(void)state;
	run_pool(0);
}

static void test_workq_free_releases_results_not_taken(void **state)
{
	struct ctx c;

	(void)state;
	memset(&c, 0, sizeof(c));
	pthread_mutex_init(&c.mu, NULL);
	g = &c;
	assert_int_equal(workq_start(&c.q, &ops, &c, 2), 0);
	for (int i = 1; i <= 50; i++)
		submit(&c, i);
	/* results and maybe queued jobs left behind: freed, not leaked
	 * (valgrind and ASan run this test) */
	workq_free(c.q);
	assert_int_equal(c.freed_jobs, 50);
	pthread_mutex_destroy(&c.mu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_workq_threads_run_every_job_once),
	    cmocka_unit_test(test_workq_inline_runs_at_submit),
	    cmocka_unit_test(test_workq_free_releases_results_not_taken),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
