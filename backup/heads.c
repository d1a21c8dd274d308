/* heads.c - the tag walk's HEAD requests, several at once (heads.h). */
#include "backup/heads.h"

#include "util/err.h"
#include "util/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define HEADS_CONNS_MAX 16
/* Below this many tags one connection is as fast (no thread). */
#define HEADS_PARALLEL_MIN 4

struct heads {
	struct reg *r;
	struct reg *clones[HEADS_CONNS_MAX];
	int n_clones;
	int conns;
	int clone_failed; /* reg_clone said no: stay on one connection */
};

struct slice {
	struct reg *r;
	const char *repo;
	const char *const *tags;
	size_t n, first, step;
	struct head_result *res;
	pthread_t thread;
	int started;
};

int heads_new(struct heads **out, struct reg *r, int conns)
{
	struct heads *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (!h)
		return rv_err_set(RV_NOMEM, "out of memory");
	h->r = r;
	h->conns = conns < 1 ? 1 : conns > HEADS_CONNS_MAX ? HEADS_CONNS_MAX
							   : conns;
	*out = h;
	return 0;
}

void heads_free(struct heads *h)
{
	if (!h)
		return;
	for (int i = 0; i < h->n_clones; i++) {
		reg_stats_add(h->r, h->clones[i]);
		reg_free(h->clones[i]);
	}
	free(h);
}

void heads_results_release(struct head_result *res, size_t n)
{
	for (size_t i = 0; res && i < n; i++) {
		free(res[i].msg);
		res[i].msg = NULL;
	}
}

static void head_one(struct reg *r, const char *repo, const char *tag,
		     struct head_result *res)
{
	res->rc = reg_manifest_head(&res->d, r, repo, tag);
	if (res->rc) {
		res->msg = strdup(rv_err_msg());
		rv_err_clear();
	}
}

static void *slice_run(void *arg)
{
	struct slice *s = arg;

	for (size_t i = s->first; i < s->n; i += s->step)
		head_one(s->r, s->repo, s->tags[i], &s->res[i]);
	return NULL;
}

/* Make clones up to conns - 1 (once; they live for the run). */
static void clones_ensure(struct heads *h)
{
	while (!h->clone_failed && h->n_clones < h->conns - 1) {
		struct reg *c = NULL;

		if (reg_clone(&c, h->r, 1000000) != 0) {
			rv_debug("tag walk: %s; going on with %d "
				 "connection(s)",
				 rv_err_msg(), h->n_clones + 1);
			rv_err_clear();
			h->clone_failed = 1;
			break;
		}
		h->clones[h->n_clones++] = c;
	}
}

int heads_run(struct heads *h, const char *repo, const char *const *tags,
	      size_t n, struct head_result *res)
{
	struct slice sl[HEADS_CONNS_MAX];
	size_t k;

	if (n < HEADS_PARALLEL_MIN || h->conns < 2) {
		for (size_t i = 0; i < n; i++)
			head_one(h->r, repo, tags[i], &res[i]);
		return 0;
	}
	/* the first HEAD on r gets this repository's token (and cost it
	 * once); the clones are made after it, so they inherit it */
	head_one(h->r, repo, tags[0], &res[0]);
	clones_ensure(h);
	k = (size_t)h->n_clones + 1;
	memset(sl, 0, sizeof(sl));
	for (size_t j = 0; j < k; j++) {
		sl[j].r = j ? h->clones[j - 1] : h->r;
		sl[j].repo = repo;
		sl[j].tags = tags;
		sl[j].n = n;
		sl[j].first = 1 + j;
		sl[j].step = k;
		sl[j].res = res;
	}
	for (size_t j = 1; j < k; j++)
		sl[j].started =
		    pthread_create(&sl[j].thread, NULL, slice_run, &sl[j]) == 0;
	/* a slice whose thread did not start runs here */
	slice_run(&sl[0]);
	for (size_t j = 1; j < k; j++) {
		if (sl[j].started)
			pthread_join(sl[j].thread, NULL);
		else
			slice_run(&sl[j]);
	}
	return 0;
}
