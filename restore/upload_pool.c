/* upload_pool.c - restore's blob uploaders (upload_pool.h). */
#include "restore/upload_pool.h"

#include "catalog/catalog.h"
#include "registry/registry.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UPLOAD_WORKERS_MAX 16
/* The most requests one clone may make of a limited budget (the budget
 * itself is shared: reg_clone). */
#define UPLOAD_BUDGET_SHARE 1000000

struct job {
	struct workq_item link; /* first */
	char *repo;
	char *mount_from;
	char *locs_msg;
	char digest[RV_DIGEST_MAX];
	int64_t stored_size;
	struct cat_chunk_loc *locs;
	size_t n_locs;
	int locs_rc;
	size_t index;
	/* allocated at submit, so a worker never has an outcome it cannot
	 * report */
	struct upload_result *res;
};

struct upload_pool {
	struct workq *q;
	struct store *s;
	struct reg *r;
	struct reg *clones[UPLOAD_WORKERS_MAX];
	int n_clones;
};

/* A stored blob readable from any offset, for uploads that resume: the
 * chunk holding an offset is found from the chunks' plain lengths. The
 * chunks are hashed in order as they are first read (a jump forward reads
 * the ones skipped), and the digest is checked when the last one is
 * hashed, before its bytes are handed out. */
struct seek_reader {
	struct store *s;
	const char *digest;
	const struct cat_chunk_loc *locs;
	uint64_t *starts; /* plain offset of each chunk */
	size_t n_locs;
	int64_t size;
	struct rv_buf chunk;
	size_t cur;    /* index of the chunk in `chunk`, n_locs: none */
	size_t hashed; /* chunks [0, hashed) went into sha */
	struct rv_sha256 sha;
	int verified;
};

static void seek_close(struct seek_reader *sr)
{
	free(sr->starts);
	rv_buf_release(&sr->chunk);
	rv_sha256_release(&sr->sha);
}

static int seek_check(struct seek_reader *sr)
{
	unsigned char sha[RV_SHA256_LEN];
	char got[RV_DIGEST_MAX];
	int rc = rv_sha256_final(&sr->sha, sha);

	if (rc)
		return rc;
	rv_digest_format(got, sha);
	if (strcmp(got, sr->digest))
		return rv_err_set(RV_CORRUPT,
				  "stored blob %s does not reassemble to its "
				  "digest (got %s); run 'regvault verify' and "
				  "restore from another target",
				  sr->digest, got);
	sr->verified = 1;
	return 0;
}

/* sr reads the job's chunks (it borrows j->locs). */
static int seek_open(struct seek_reader *sr, struct store *s,
		     const struct job *j)
{
	uint64_t total = 0;
	int rc;

	memset(sr, 0, sizeof(*sr));
	sr->s = s;
	sr->digest = j->digest;
	sr->locs = j->locs;
	sr->n_locs = j->n_locs;
	sr->size = j->stored_size;
	sr->cur = sr->n_locs;
	rv_buf_init(&sr->chunk, 2 * store_chunk_size(s) + (1u << 20));
	rc = rv_sha256_init(&sr->sha);
	if (rc)
		return rc;
	sr->starts = malloc((sr->n_locs ? sr->n_locs : 1) * sizeof(uint64_t));
	if (!sr->starts)
		return rv_err_set(RV_NOMEM, "out of memory");
	for (size_t i = 0; i < sr->n_locs; i++) {
		sr->starts[i] = total;
		total += sr->locs[i].plain_len;
	}
	if (sr->size < 0 || total != (uint64_t)sr->size)
		return rv_err_set(RV_CORRUPT,
				  "stored blob %s: its chunks hold %llu bytes, "
				  "its size is %lld",
				  sr->digest, (unsigned long long)total,
				  (long long)sr->size);
	return sr->n_locs ? 0 : seek_check(sr);
}

/* Read chunk i into sr->chunk (hashing it if it is the next in order). */
static int seek_load_one(struct seek_reader *sr, size_t i)
{
	const struct cat_chunk_loc *l = &sr->locs[i];
	int rc;

	rv_buf_reset(&sr->chunk);
	sr->cur = sr->n_locs;
	rc = store_read_chunk(sr->s, l->pack_id, l->offset, l->length, l->id,
			      &sr->chunk);
	if (rc)
		return rc;
	if (sr->chunk.len != l->plain_len)
		return rv_err_set(RV_CORRUPT,
				  "chunk of blob %s in pack %s has the wrong "
				  "length",
				  sr->digest, l->pack_id);
	sr->cur = i;
	if (i != sr->hashed)
		return 0;
	rc = rv_sha256_update(&sr->sha, sr->chunk.data, sr->chunk.len);
	if (rc)
		return rc;
	sr->hashed++;
	return sr->hashed == sr->n_locs ? seek_check(sr) : 0;
}

static int seek_load(struct seek_reader *sr, size_t i)
{
	int rc = 0;

	if (sr->cur == i)
		return 0;
	while (!rc && sr->hashed < i)
		rc = seek_load_one(sr, sr->hashed);
	return rc ? rc : seek_load_one(sr, i);
}

static int seek_read(void *arg, uint64_t offset, void *buf, size_t cap,
		     size_t *got)
{
	struct seek_reader *sr = arg;
	unsigned char *out = buf;
	size_t lo = 0, hi = sr->n_locs;
	int rc;

	*got = 0;
	if (offset >= (uint64_t)sr->size)
		return 0;
	/* the last chunk starting at or before offset */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (sr->starts[mid] <= offset)
			lo = mid;
		else
			hi = mid;
	}
	while (cap > 0 && lo < sr->n_locs) {
		uint64_t in;
		size_t n;

		rc = seek_load(sr, lo);
		if (rc)
			return rc;
		in = offset - sr->starts[lo];
		if (in >= sr->chunk.len) {
			lo++;
			continue;
		}
		n = sr->chunk.len - (size_t)in;
		if (n > cap)
			n = cap;
		memcpy(out, sr->chunk.data + in, n);
		out += n;
		cap -= n;
		*got += n;
		offset += n;
	}
	return 0;
}

/* HEAD, then a mount when a source is known, else an upload from the
 * packs. Returns the outcome; on failure the thread's message says why. */
static int push_one(enum upload_outcome *out, uint64_t *bytes, struct reg *r,
		    struct store *s, const struct job *j)
{
	struct seek_reader sr;
	int64_t have;
	int rc = reg_blob_head(&have, r, j->repo, j->digest);

	*bytes = 0;
	if (rc == 0) {
		*out = UPLOAD_PRESENT;
		return 0;
	}
	if (rc != RV_NOTFOUND)
		return rc;
	rv_err_clear();
	if (j->mount_from) {
		rc = reg_blob_mount(r, j->repo, j->digest, j->mount_from);
		if (rc == 0) {
			*out = UPLOAD_MOUNTED;
			return 0;
		}
		if (rc != RV_NOTFOUND)
			return rc;
		rv_err_clear();
	}
	if (j->locs_rc)
		return rv_err_set(j->locs_rc, "%s",
				  j->locs_msg ? j->locs_msg
					      : rv_code_name(j->locs_rc));
	rc = seek_open(&sr, s, j);
	if (!rc)
		rc = reg_blob_put_seekable(r, j->repo, j->digest, sr.size,
					   seek_read, &sr);
	/* every byte went up, so every chunk was hashed and checked; a
	 * registry that took the blob without asking for all of it would
	 * leave chunks unchecked: check them now */
	while (!rc && !sr.verified && sr.hashed < sr.n_locs)
		rc = seek_load_one(&sr, sr.hashed);
	if (!rc) {
		*out = UPLOAD_PUSHED;
		*bytes = (uint64_t)sr.size;
	}
	seek_close(&sr);
	return rc;
}

static void job_free(struct workq_item *it)
{
	struct job *j = (struct job *)it;

	if (!j)
		return;
	free(j->repo);
	free(j->mount_from);
	free(j->locs_msg);
	free(j->locs);
	free(j->res);
	free(j);
}

void upload_result_free(struct upload_result *res)
{
	if (!res)
		return;
	free(res->msg);
	free(res);
}

static void result_free(struct workq_item *it)
{
	upload_result_free((struct upload_result *)it);
}

/* Run a job on worker w's client and post its result (taken from j). */
static void run_job(void *arg, int w, struct workq_item *it)
{
	struct upload_pool *p = arg;
	struct job *j = (struct job *)it;
	struct reg *r = workq_threads(p->q) ? p->clones[w] : p->r;
	struct upload_result *res = j->res;
	int rc = push_one(&res->outcome, &res->bytes, r, p->s, j);

	j->res = NULL;
	res->index = j->index;
	if (rc) {
		res->outcome = UPLOAD_FAILED;
		res->rc = rc;
		res->msg = strdup(rv_err_msg());
	}
	rv_err_clear();
	workq_post(p->q, &res->link);
}

static const struct workq_ops upload_ops = {
    .run = run_job,
    .job_free = job_free,
    .result_free = result_free,
};

static void clones_free(struct upload_pool *p, int from)
{
	while (p->n_clones > from) {
		struct reg *c = p->clones[--p->n_clones];
		reg_stats_add(p->r, c);
		reg_free(c);
	}
}

int upload_pool_new(struct upload_pool **out, struct store *s, struct reg *r,
		    int workers)
{
	struct upload_pool *p = calloc(1, sizeof(*p));
	int rc;

	*out = NULL;
	if (!p)
		return rv_err_set(RV_NOMEM, "out of memory");
	p->s = s;
	p->r = r;
	if (workers > UPLOAD_WORKERS_MAX)
		workers = UPLOAD_WORKERS_MAX;
	while (p->n_clones < workers) {
		if (reg_clone(&p->clones[p->n_clones], r,
			      UPLOAD_BUDGET_SHARE)) {
			/* fewer connections, or one: the restore goes on */
			rv_debug("blob upload: %s; going on with %d "
				 "worker(s)",
				 rv_err_msg(), p->n_clones);
			rv_err_clear();
			break;
		}
		p->n_clones++;
	}
	rc = workq_start(&p->q, &upload_ops, p, p->n_clones);
	if (rc) {
		upload_pool_free(p);
		return rc;
	}
	clones_free(p, workq_threads(p->q)); /* threads that did not start */
	rv_debug("blob upload: %d worker(s)%s", p->n_clones,
		 p->n_clones ? "" : " (inline)");
	*out = p;
	return 0;
}

void upload_pool_free(struct upload_pool *p)
{
	if (!p)
		return;
	workq_free(p->q);
	clones_free(p, 0);
	free(p);
}

int upload_pool_workers(const struct upload_pool *p)
{
	return workq_threads(p->q);
}

static char *dup_or_null(const char *str, int *failed)
{
	char *d;

	if (!str)
		return NULL;
	d = strdup(str);
	if (!d)
		*failed = 1;
	return d;
}

int upload_pool_submit(struct upload_pool *p, const struct upload_job *job)
{
	struct job *j = calloc(1, sizeof(*j));
	int failed = 0;

	if (!j) {
		free(job->locs);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	j->locs = job->locs;
	j->n_locs = job->n_locs;
	j->repo = dup_or_null(job->repo, &failed);
	j->mount_from = dup_or_null(job->mount_from, &failed);
	j->locs_msg = dup_or_null(job->locs_msg, &failed);
	j->res = calloc(1, sizeof(*j->res));
	if (failed || !j->res || !j->repo) {
		job_free(&j->link);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	snprintf(j->digest, sizeof(j->digest), "%s", job->digest);
	j->stored_size = job->stored_size;
	j->locs_rc = job->locs_rc;
	j->index = job->index;
	workq_submit(p->q, &j->link);
	return 0;
}

struct upload_result *upload_pool_next(struct upload_pool *p)
{
	return (struct upload_result *)workq_next(p->q, 1);
}
