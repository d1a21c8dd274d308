#include "restore/drill.h"

#include "catalog/catalog.h"
#include "registry/manifest.h"
#include "registry/registry.h"
#include "restore/restore.h"
#include "restore/snapcheck.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/glob.h"
#include "util/log.h"
#include "util/progress.h"
#include "util/set.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MANIFEST_MAX (4u << 20)
#define DEPTH_MAX 8
/* the report lists every checked tag up to this many */
#define REPORT_TAGS_MAX 500

struct dtag {
	char *repo;
	char *tag;
	char digest[RV_DIGEST_MAX];
	char *restore_err; /* why its restore failed, or NULL */
	int restore_rc;
};

struct tag_list {
	struct dtag *items;
	size_t n, cap;
	const struct rv_strlist *repos; /* globs; NULL/empty: all */
};

static void tag_list_release(struct tag_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].repo);
		free(l->items[i].tag);
		free(l->items[i].restore_err);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static int collect_tag(void *arg, const char *repo, const char *tag,
		       const char *digest)
{
	struct tag_list *l = arg;
	const struct rv_strlist *sel = l->repos;
	int in = !sel || sel->n == 0;
	struct dtag *t;
	int rc;

	for (size_t i = 0; !in && i < sel->n; i++)
		in = rv_glob_match(sel->items[i], repo);
	if (!in)
		return 0;
	rc = rv_array_grow((void **)&l->items, &l->cap, l->n + 1,
			   sizeof(*l->items));
	if (rc)
		return rc;
	t = &l->items[l->n];
	memset(t, 0, sizeof(*t));
	t->repo = strdup(repo);
	t->tag = strdup(tag);
	if (!t->repo || !t->tag) {
		free(t->repo);
		free(t->tag);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	snprintf(t->digest, sizeof(t->digest), "%s", digest);
	l->n++;
	return 0;
}

/* A uniform random number below n (n > 0), from the OpenSSL generator. */
static int rand_below(size_t *out, size_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n, v;

	do {
		if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
			return rv_err_set(RV_ERROR,
					  "cannot draw random numbers for the "
					  "sample");
	} while (v >= limit);
	*out = (size_t)(v % n);
	return 0;
}

static int cmp_dtag(const void *a, const void *b)
{
	const struct dtag *x = a, *y = b;
	int c = strcmp(x->repo, y->repo);
	return c ? c : strcmp(x->tag, y->tag);
}

/* Keep `want` tags drawn at random (partial Fisher-Yates), back in
 * repository/tag order. */
static int sample_tags(struct tag_list *l, size_t want)
{
	int rc;

	if (want == 0 || want >= l->n)
		return 0;
	for (size_t i = 0; i < want; i++) {
		size_t j = 0;
		struct dtag tmp;
		rc = rand_below(&j, l->n - i);
		if (rc)
			return rc;
		j += i;
		tmp = l->items[i];
		l->items[i] = l->items[j];
		l->items[j] = tmp;
	}
	for (size_t i = want; i < l->n; i++) {
		free(l->items[i].repo);
		free(l->items[i].tag);
	}
	l->n = want;
	qsort(l->items, l->n, sizeof(*l->items), cmp_dtag);
	return 0;
}

static char *tag_key(const char *repo, const char *tag, size_t *len)
{
	size_t rlen = strlen(repo), tlen = strlen(tag);
	char *key = malloc(rlen + tlen + 2);

	if (!key)
		return NULL;
	memcpy(key, repo, rlen);
	key[rlen] = ':';
	memcpy(key + rlen + 1, tag, tlen + 1);
	*len = rlen + tlen + 1;
	return key;
}

static int add_failure(struct drill_result *r, const char *repo,
		       const char *tag, const char *digest, const char *reason)
{
	struct drill_failure *f;
	void *p = realloc(r->failures, (r->n_failures + 1) * sizeof(*f));

	if (!p)
		return rv_err_set(RV_NOMEM, "out of memory");
	r->failures = p;
	f = &r->failures[r->n_failures];
	memset(f, 0, sizeof(*f));
	f->repo = repo ? strdup(repo) : NULL;
	f->tag = tag ? strdup(tag) : NULL;
	f->digest = digest ? strdup(digest) : NULL;
	f->reason = strdup(reason);
	r->n_failures++;
	if ((repo && !f->repo) || (tag && !f->tag) || (digest && !f->digest) ||
	    !f->reason)
		return rv_err_set(RV_NOMEM, "out of memory");
	return 0;
}

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the restore ---- */

struct failed_repos {
	struct rv_strlist names;
	struct rv_strlist msgs;
	int *codes;
	int oom;
};

static int on_repo_failed(void *arg, const char *repo, int rc, const char *msg)
{
	struct failed_repos *fr = arg;
	void *p;

	rv_log(RV_LOG_ERROR, "drill: restoring '%s' failed (%s): %s", repo,
	       rv_code_name(rc), msg);
	if (fr->oom)
		return rv_err_set(RV_NOMEM, "out of memory");
	if (rv_strlist_add(&fr->names, repo) ||
	    rv_strlist_add(&fr->msgs, msg)) {
		fr->oom = 1;
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	/* one per failed repository: few, so grow one at a time */
	p = realloc(fr->codes, fr->names.n * sizeof(int));
	if (!p) {
		fr->oom = 1;
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	fr->codes = p;
	fr->codes[fr->names.n - 1] = rc;
	/* a registry that stopped answering would fail every repository
	 * after a round of retries each: stop and say so */
	return rc == RV_NET ? rc : 0;
}

/* Damaged or missing stored data: worth retrying tag by tag, since other
 * tags of the repository may not need it. Anything else (network, auth,
 * a full registry) would fail the same way for every tag. */
static int data_failure(int rc)
{
	return rc == RV_CORRUPT || rc == RV_NOTFOUND;
}

static int mark_failed(struct dtag *t, int code, const char *msg)
{
	t->restore_rc = code;
	free(t->restore_err);
	t->restore_err = strdup(msg);
	return t->restore_err ? 0 : rv_err_set(RV_NOMEM, "out of memory");
}

static void add_stats(struct drill_result *r, const struct restore_stats *st)
{
	r->bytes_pushed += st->bytes_pushed;
	r->bytes_present += st->bytes_skipped;
	r->bytes_mounted += st->bytes_mounted;
}

/* Restore the tags of a repository that failed one at a time, so that a
 * tag that does not need the broken data still arrives, and each broken
 * tag keeps its own reason. */
static int retry_repo(struct drill_result *r, struct tag_list *l,
		      const char *repo, int repo_rc, const char *repo_msg,
		      struct cat *c, struct store *s, struct reg *dst,
		      const struct drill_opts *o)
{
	int rc = 0;
	int give_up = !data_failure(repo_rc);

	for (size_t i = 0; !rc && i < l->n; i++) {
		struct dtag *t = &l->items[i];
		struct rv_set one = RV_SET_INIT;
		struct restore_opts ro;
		struct restore_stats st;
		size_t klen;
		char *key;
		int trc;

		if (strcmp(t->repo, repo))
			continue;
		if (give_up) {
			rc = mark_failed(t, repo_rc, repo_msg);
			continue;
		}
		key = tag_key(t->repo, t->tag, &klen);
		if (!key)
			return rv_err_set(RV_NOMEM, "out of memory");
		trc = rv_set_add(&one, key, klen);
		free(key);
		if (trc < 0) {
			rv_set_release(&one);
			return trc;
		}
		memset(&ro, 0, sizeof(ro));
		memset(&st, 0, sizeof(st));
		ro.snapshot = o->snapshot;
		ro.tags = &one;
		trc = restore_run(&st, c, s, dst, &ro);
		rv_set_release(&one);
		/* what it found present the first run had already pushed or
		 * mounted: only new uploads count */
		r->bytes_pushed += st.bytes_pushed;
		if (trc == RV_NOMEM || trc == RV_CANCELLED)
			return trc;
		if (trc && !data_failure(trc)) {
			/* the rest of the repository would fail alike */
			give_up = 1;
			repo_rc = trc;
			repo_msg = NULL;
		}
		if (trc)
			rc = mark_failed(t, trc, rv_err_msg());
		if (!rc && give_up && !repo_msg)
			repo_msg = t->restore_err;
	}
	return rc;
}

static int run_restore(struct drill_result *r, struct tag_list *l,
		       struct cat *c, struct store *s, struct reg *dst,
		       const struct drill_opts *o)
{
	struct failed_repos fr;
	struct rv_set keys = RV_SET_INIT;
	struct restore_opts ro;
	struct restore_stats st;
	double t0;
	int rc = 0;

	memset(&fr, 0, sizeof(fr));
	memset(&ro, 0, sizeof(ro));
	memset(&st, 0, sizeof(st));
	ro.snapshot = o->snapshot;
	ro.repos = o->repos;
	if (o->sample) {
		for (size_t i = 0; !rc && i < l->n; i++) {
			size_t klen;
			char *key =
			    tag_key(l->items[i].repo, l->items[i].tag, &klen);
			if (!key) {
				rc = rv_err_set(RV_NOMEM, "out of memory");
				break;
			}
			rc = rv_set_add(&keys, key, klen);
			free(key);
			rc = rc < 0 ? rc : 0;
		}
		if (rc)
			goto done;
		ro.tags = &keys;
	}
	ro.repo_failed = on_repo_failed;
	ro.arg = &fr;

	t0 = now_mono();
	rc = restore_run(&st, c, s, dst, &ro);
	add_stats(r, &st);
	if (fr.oom)
		rc = rv_err_set(RV_NOMEM, "out of memory");
	if (rc == RV_NOMEM || rc == RV_CANCELLED)
		goto done;
	if (rc) {
		r->restore_rc = rc;
		r->restore_error = strdup(rv_err_msg());
		if (fr.names.n == 0)
			rv_log(RV_LOG_ERROR, "drill: restore: %s",
			       rv_err_msg());
		if (!r->restore_error) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
	}
	rc = 0;
	for (size_t i = 0; !rc && i < fr.names.n; i++)
		rc = retry_repo(r, l, fr.names.items[i], fr.codes[i],
				fr.msgs.items[i], c, s, dst, o);
	r->seconds = now_mono() - t0;
	/* a blob that was mounted was not read from the packs: it is left out
	 * of the rate so the projected RTO stays on the safe side */
	r->bytes = r->bytes_pushed + r->bytes_present;
	r->throughput = r->seconds > 0 ? (double)r->bytes / r->seconds : 0;
done:
	rv_set_release(&keys);
	rv_strlist_release(&fr.names);
	rv_strlist_release(&fr.msgs);
	free(fr.codes);
	return rc;
}

/* ---- the independent checks ---- */

struct checker {
	struct reg *reg;
	struct drill_result *r;
	const char *repo;
	/* per repository: manifests already checked (with their verdict:
	 * NULL when fine) and blobs already checked */
	struct rv_set manifests;
	char **manifest_err;
	size_t cap_manifest;
	struct rv_set blobs;
	unsigned char *blob_ok;
	size_t cap_blob;
	int hard_rc; /* first check that failed for another reason than a
			mismatch or an absence (network, auth) */
	int dead;    /* the registry stopped answering: check no more */
	char dead_msg[512];
};

static void checker_reset(struct checker *k, const char *repo)
{
	for (size_t i = 0; i < k->manifests.n; i++)
		free(k->manifest_err[i]);
	rv_set_clear(&k->manifests);
	rv_set_clear(&k->blobs);
	k->repo = repo;
}

static void checker_release(struct checker *k)
{
	checker_reset(k, NULL);
	rv_set_release(&k->manifests);
	rv_set_release(&k->blobs);
	free(k->manifest_err);
	free(k->blob_ok);
}

static void note_hard(struct checker *k, int rc)
{
	if (rc != RV_NOTFOUND && rc != RV_CORRUPT && !k->hard_rc)
		k->hard_rc = rc;
	/* each further request would wait through its own retries */
	if (rc == RV_NET && !k->dead) {
		k->dead = 1;
		snprintf(k->dead_msg, sizeof(k->dead_msg), "%s", rv_err_msg());
	}
}

/* Keep the first problem found in *why (malloc'd). */
static int first_problem(char **why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int first_problem(char **why, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (*why)
		return 0;
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		return rv_err_set(RV_ERROR, "cannot format a drill finding");
	*why = malloc((size_t)len + 1);
	if (!*why)
		return rv_err_set(RV_NOMEM, "out of memory");
	va_start(ap, fmt);
	vsnprintf(*why, (size_t)len + 1, fmt, ap);
	va_end(ap);
	return 0;
}

static int check_blob(struct checker *k, const struct reg_ref *ref, char **why)
{
	int64_t size = -1;
	long idx = rv_set_index(&k->blobs, ref->digest, strlen(ref->digest));
	int rc, ok;

	if (idx >= 0) {
		if (k->blob_ok[idx])
			return 0;
		return first_problem(why, "blob %s is missing from '%s'",
				     ref->digest, k->repo);
	}
	rc = reg_blob_head(&size, k->reg, k->repo, ref->digest);
	ok = rc == 0 && size == ref->size;
	k->r->blobs_checked++;
	if (!ok) {
		k->r->blobs_missing++;
		note_hard(k, rc);
		rv_log(RV_LOG_ERROR, "drill: blob %s in '%s': %s", ref->digest,
		       k->repo,
		       rc ? rv_err_msg() : "present with the wrong size");
	}
	if (k->blobs.n == k->cap_blob) {
		size_t ncap = k->cap_blob ? k->cap_blob * 2 : 256;
		void *p = realloc(k->blob_ok, ncap);
		if (!p)
			return rv_err_set(RV_NOMEM, "out of memory");
		k->blob_ok = p;
		k->cap_blob = ncap;
	}
	rc = rv_set_add(&k->blobs, ref->digest, strlen(ref->digest));
	if (rc < 0)
		return rc;
	k->blob_ok[k->blobs.n - 1] = (unsigned char)ok;
	if (ok)
		return 0;
	return first_problem(why,
			     size >= 0 && size != ref->size
				 ? "blob %s in '%s' has the wrong size"
				 : "blob %s is missing from '%s'",
			     ref->digest, k->repo);
}

static int check_manifest(struct checker *k, const char *digest, int depth,
			  char **why);

static int check_child(struct checker *k, const struct reg_ref *ref, int depth,
		       char **why)
{
	struct reg_desc d;
	int rc = reg_manifest_head(&d, k->reg, k->repo, ref->digest);

	if (rc) {
		note_hard(k, rc);
		return first_problem(why, "child manifest %s: %s", ref->digest,
				     rv_err_msg());
	}
	if (strcmp(d.digest, ref->digest))
		return first_problem(why, "child manifest %s reads back as %s",
				     ref->digest, d.digest);
	return check_manifest(k, ref->digest, depth + 1, why);
}

/* GET a manifest by digest from the scratch registry, parse it, and check
 * everything it names. A problem is recorded in *why (the first one); the
 * return value is only for errors that stop the drill (memory). */
static int check_manifest(struct checker *k, const char *digest, int depth,
			  char **why)
{
	struct rv_buf body = RV_BUF_INIT(MANIFEST_MAX);
	struct reg_manifest *m = NULL;
	struct reg_desc d;
	char *mine = NULL;
	long idx = rv_set_index(&k->manifests, digest, strlen(digest));
	int rc;

	if (idx >= 0) {
		if (!k->manifest_err[idx])
			return 0;
		return first_problem(why, "%s", k->manifest_err[idx]);
	}
	if (depth > DEPTH_MAX)
		return first_problem(why,
				     "manifest %s nests deeper than %d "
				     "levels",
				     digest, DEPTH_MAX);
	k->r->manifests_checked++;
	rc = reg_manifest_get(&body, &d, k->reg, k->repo, digest);
	if (rc) {
		note_hard(k, rc);
		rc = first_problem(&mine, "manifest %s: %s", digest,
				   rv_err_msg());
		goto record;
	}
	rc = reg_manifest_parse(&m, body.data, body.len, d.media_type);
	if (rc) {
		rc = first_problem(&mine, "manifest %s does not parse: %s",
				   digest, rv_err_msg());
		goto record;
	}
	if (m->kind == REG_KIND_INDEX) {
		for (size_t i = 0; !rc && i < m->n_manifests; i++)
			rc = check_child(k, &m->manifests[i], depth, &mine);
	} else {
		rc = check_blob(k, &m->config, &mine);
		for (size_t i = 0; !rc && i < m->n_layers; i++)
			if (!m->layers[i].nondistributable)
				rc = check_blob(k, &m->layers[i], &mine);
	}
record:
	reg_manifest_free(m);
	rv_buf_release(&body);
	if (rc) {
		free(mine);
		return rc;
	}
	if (k->manifests.n == k->cap_manifest) {
		size_t ncap = k->cap_manifest ? k->cap_manifest * 2 : 64;
		void *p = realloc(k->manifest_err, ncap * sizeof(char *));
		if (!p) {
			free(mine);
			return rv_err_set(RV_NOMEM, "out of memory");
		}
		k->manifest_err = p;
		k->cap_manifest = ncap;
	}
	rc = rv_set_add(&k->manifests, digest, strlen(digest));
	if (rc < 0) {
		free(mine);
		return rc;
	}
	k->manifest_err[k->manifests.n - 1] = mine;
	if (mine)
		return first_problem(why, "%s", mine);
	return 0;
}

static int check_tag(struct checker *k, struct dtag *t)
{
	struct reg_desc d;
	struct rv_buf reason = RV_BUF_INIT(1u << 17);
	char *why = NULL;
	int rc;

	if (k->dead) {
		rc = first_problem(&why,
				   "not checked: the scratch registry stopped "
				   "answering (%s)",
				   k->dead_msg);
		goto verdict;
	}
	k->r->tags_checked++;
	rc = reg_manifest_head(&d, k->reg, t->repo, t->tag);
	if (rc) {
		note_hard(k, rc);
		rc = first_problem(&why, "not on the scratch registry: %s",
				   rv_err_msg());
	} else if (strcmp(d.digest, t->digest)) {
		rc = first_problem(&why,
				   "the scratch registry has %s, the "
				   "snapshot %s",
				   d.digest, t->digest);
	} else {
		rc = check_manifest(k, t->digest, 0, &why);
	}
verdict:
	if (rc)
		goto done;
	if (!why && !t->restore_rc) {
		k->r->tags_ok++;
		goto done;
	}
	if (t->restore_err)
		rc = rv_buf_printf(&reason, "restore failed: %s",
				   t->restore_err);
	else if (t->restore_rc)
		rc = rv_buf_printf(&reason, "restore failed (%s)",
				   rv_code_name(t->restore_rc));
	if (!rc && why)
		rc = rv_buf_printf(&reason, "%scheck: %s",
				   reason.len ? "; " : "", why);
	if (!rc)
		rc = add_failure(k->r, t->repo, t->tag, t->digest,
				 rv_buf_cstr(&reason));
	rv_log(RV_LOG_ERROR, "drill: %s:%s: %s", t->repo, t->tag,
	       rv_buf_cstr(&reason));
done:
	free(why);
	rv_buf_release(&reason);
	return rc;
}

static int run_checks(struct drill_result *r, struct tag_list *l,
		      struct reg *check, int *hard_rc)
{
	struct checker k;
	struct rv_meter meter;
	int rc = 0;

	memset(&k, 0, sizeof(k));
	k.reg = check;
	k.r = r;
	/* the restore before this had its own meter (restore_run) */
	rv_meter_start(&meter, "drill", "tags checked", l->n, 0);
	for (size_t i = 0; !rc && i < l->n; i++) {
		if (!k.repo || strcmp(k.repo, l->items[i].repo)) {
			checker_reset(&k, l->items[i].repo);
			rv_meter_where(&meter, k.repo);
		}
		rv_meter_show(&meter);
		rc = check_tag(&k, &l->items[i]);
		meter.done = i + 1;
	}
	rv_progress_done();
	*hard_rc = k.hard_rc;
	checker_release(&k);
	return rc;
}

/* ---- RPO and RTO from the catalog ---- */

struct need {
	struct cat *c;
	struct rv_set manifests;
	struct rv_set blobs; /* this source's */
	struct rv_set *all;  /* across sources */
	uint64_t bytes;
	uint64_t *all_bytes;
};

static int need_visit(struct need *nd, const char *digest, int depth)
{
	struct cat_manifest *m = NULL;
	int rc;

	rc = rv_set_add(&nd->manifests, digest, strlen(digest));
	if (rc <= 0)
		return rc;
	if (depth > DEPTH_MAX)
		return rv_err_set(RV_CORRUPT, "manifest %s nests too deep",
				  digest);
	rc = cat_manifest_get(&m, nd->c, digest);
	if (rc)
		return rc == RV_NOTFOUND
			   ? rv_err_set(RV_CORRUPT,
					"the catalog lacks manifest %s "
					"that a snapshot needs",
					digest)
			   : rc;
	for (size_t i = 0; !rc && i < m->n_refs; i++) {
		const struct cat_ref *ref = &m->refs[i];
		size_t len = strlen(ref->digest);
		if (ref->is_manifest) {
			rc = need_visit(nd, ref->digest, depth + 1);
			continue;
		}
		if (ref->nondistributable)
			continue;
		rc = rv_set_add(&nd->blobs, ref->digest, len);
		if (rc == 1)
			nd->bytes += (uint64_t)ref->size;
		if (rc >= 0)
			rc = rv_set_add(nd->all, ref->digest, len);
		if (rc == 1)
			*nd->all_bytes += (uint64_t)ref->size;
		rc = rc < 0 ? rc : 0;
	}
	cat_manifest_free(m);
	return rc;
}

/* Distinct blob bytes of snapshot snap_id into src->bytes (and the union
 * across sources into *all_bytes). */
static int snapshot_bytes(struct drill_source *src, struct cat *c,
			  struct rv_set *all, uint64_t *all_bytes)
{
	struct tag_list l;
	struct need nd;
	int rc;

	memset(&l, 0, sizeof(l));
	memset(&nd, 0, sizeof(nd));
	nd.c = c;
	nd.all = all;
	nd.all_bytes = all_bytes;
	rc = cat_snapshot_tags(c, src->snapshot, collect_tag, &l);
	for (size_t i = 0; !rc && i < l.n; i++)
		rc = need_visit(&nd, l.items[i].digest, 0);
	src->bytes = nd.bytes;
	rv_set_release(&nd.manifests);
	rv_set_release(&nd.blobs);
	tag_list_release(&l);
	return rc;
}

static int objectives(struct drill_result *r, struct cat *c, int64_t now)
{
	struct cat_snapshot *snaps = NULL;
	struct rv_set all = RV_SET_INIT;
	uint64_t all_bytes = 0;
	size_t n = 0;
	int64_t newest = -1;
	int rc = cat_snapshot_list(&snaps, &n, c);

	if (rc)
		goto done;
	for (size_t i = 0; i < n; i++) {
		struct drill_source *src = NULL;
		if (snaps[i].time > newest)
			newest = snaps[i].time;
		for (size_t j = 0; j < r->n_sources; j++)
			if (!strcmp(r->sources[j].source, snaps[i].source))
				src = &r->sources[j];
		if (!src) {
			void *p = realloc(r->sources,
					  (r->n_sources + 1) * sizeof(*src));
			if (!p) {
				rc = rv_err_set(RV_NOMEM, "out of memory");
				goto done;
			}
			r->sources = p;
			src = &r->sources[r->n_sources++];
			memset(src, 0, sizeof(*src));
			snprintf(src->source, sizeof(src->source), "%s",
				 snaps[i].source);
			src->time = -1;
		}
		/* oldest first: a later one of the same source wins */
		if (snaps[i].time >= src->time) {
			src->time = snaps[i].time;
			snprintf(src->snapshot, sizeof(src->snapshot), "%s",
				 snaps[i].id);
		}
	}
	r->rpo_seconds = newest < 0 ? -1 : now - newest;
	for (size_t j = 0; !rc && j < r->n_sources; j++) {
		struct drill_source *src = &r->sources[j];
		src->rpo_seconds = now - src->time;
		rc = snapshot_bytes(src, c, &all, &all_bytes);
		src->rto_seconds =
		    r->throughput > 0 ? (double)src->bytes / r->throughput : -1;
	}
	r->rto_bytes = all_bytes;
	r->rto_seconds =
	    r->throughput > 0 ? (double)all_bytes / r->throughput : -1;
done:
	free(snaps);
	rv_set_release(&all);
	return rc;
}

/* ---- the drill ---- */

static int fail_all(struct drill_result *r, const struct tag_list *l,
		    const char *why)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < l->n; i++)
		rc = add_failure(r, l->items[i].repo, l->items[i].tag,
				 l->items[i].digest, why);
	return rc;
}

static int finish(struct drill_result *r, int rc)
{
	r->finished = (int64_t)time(NULL);
	r->rc = rc;
	if (rc) {
		free(r->error);
		r->error = strdup(rv_err_msg());
	}
	return rc;
}

int drill_run(struct drill_result **out, struct cat *c, struct store *s,
	      struct reg *dst, struct reg *check, const struct drill_opts *o)
{
	struct drill_result *r = calloc(1, sizeof(*r));
	struct tag_list l;
	struct cat_snapshot snap;
	struct rv_buf why = RV_BUF_INIT(1u << 16);
	char *saved = NULL;
	int rc, orc, hard_rc = 0, integrity;

	*out = r;
	memset(&l, 0, sizeof(l));
	if (!r)
		return rv_err_set(RV_NOMEM, "out of memory");
	r->started = (int64_t)time(NULL);
	r->rpo_seconds = -1;
	r->rto_seconds = -1;
	snprintf(r->snapshot, sizeof(r->snapshot), "%s", o->snapshot);
	rc = cat_snapshot_find(&snap, c, o->snapshot);
	if (rc)
		goto done;
	snprintf(r->source, sizeof(r->source), "%s", snap.source);
	r->snapshot_time = snap.time;

	l.repos = o->repos;
	rc = cat_snapshot_tags(c, o->snapshot, collect_tag, &l);
	if (rc)
		goto done;
	if (l.n == 0) {
		rc = rv_err_set(RV_NOTFOUND,
				"snapshot %.12s has no tag in the selected "
				"repositories",
				o->snapshot);
		goto done;
	}
	rc = sample_tags(&l, o->sample);
	for (size_t i = 0; !rc && i < l.n; i++) {
		size_t klen;
		char *key = tag_key(l.items[i].repo, l.items[i].tag, &klen);
		rc = key ? rv_strlist_take(&r->sampled, key)
			 : rv_err_set(RV_NOMEM, "out of memory");
	}
	if (rc)
		goto done;
	r->tags_selected = l.n;

	/* the targets, not the catalog, decide what the snapshot is */
	rc = restore_check_snapshot(c, s, o->snapshot);
	if (rc) {
		int frc;
		rv_log(RV_LOG_ERROR, "drill: %s", rv_err_msg());
		frc = rv_buf_printf(&why,
				    "not restored: the snapshot does not "
				    "check out against the targets (%s)",
				    rv_err_msg());
		if (!frc)
			frc = fail_all(r, &l, rv_buf_cstr(&why));
		rc = frc ? frc : rc;
		rv_err_set(rc, "%s",
			   r->n_failures ? r->failures[0].reason
					 : rv_err_msg());
		goto objectives;
	}

	rc = run_restore(r, &l, c, s, dst, o);
	if (rc)
		goto done;
	rc = run_checks(r, &l, check, &hard_rc);
	if (rc)
		goto done;
	/* a restore that failed as a whole (not one repository: the read
	 * back, the catalog) may leave every tag fine on the registry; say
	 * so rather than report a failure without a reason */
	if (r->restore_rc && r->n_failures == 0) {
		rc =
		    rv_buf_printf(&why, "restore failed: %s", r->restore_error);
		if (!rc)
			rc =
			    add_failure(r, NULL, NULL, NULL, rv_buf_cstr(&why));
		if (rc)
			goto done;
	}

	/* missing stored data (a pack no target holds) is a damaged archive
	 * for a drill, as is anything that does not authenticate */
	integrity = r->restore_rc == RV_CORRUPT || r->restore_rc == RV_NOTFOUND;
	if (r->restore_rc && !integrity)
		rc = r->restore_rc;
	else if (r->n_failures && hard_rc && !integrity)
		rc = hard_rc;
	else if (r->n_failures || integrity)
		rc = RV_CORRUPT;
	if (rc && r->n_failures && r->failures[0].tag)
		rv_err_set(rc,
			   "drill of snapshot %.12s: %zu of %llu tag(s) do not "
			   "check out on '%s' (first: %s:%s: %s)",
			   o->snapshot, r->n_failures,
			   (unsigned long long)r->tags_checked, o->registry,
			   r->failures[0].repo, r->failures[0].tag,
			   r->failures[0].reason);
	else if (rc)
		rv_err_set(rc, "drill of snapshot %.12s: %s", o->snapshot,
			   r->n_failures ? r->failures[0].reason
					 : rv_code_name(rc));
objectives:
	/* the figures are worth having also when the drill failed */
	if (rc) {
		saved = strdup(rv_err_msg());
		if (!saved) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
	}
	orc = objectives(r, c, (int64_t)time(NULL));
	if (orc == RV_NOMEM || (orc && !rc)) {
		rc = orc;
	} else if (orc) {
		rv_log(RV_LOG_ERROR, "drill: RPO/RTO: %s", rv_err_msg());
		rv_err_set(rc, "%s", saved);
	}
done:
	free(saved);
	rv_buf_release(&why);
	tag_list_release(&l);
	return finish(r, rc);
}

void drill_result_free(struct drill_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_failures; i++) {
		free(r->failures[i].repo);
		free(r->failures[i].tag);
		free(r->failures[i].digest);
		free(r->failures[i].reason);
	}
	free(r->failures);
	free(r->sources);
	rv_strlist_release(&r->sampled);
	free(r->restore_error);
	free(r->error);
	free(r);
}

/* ---- JSON and the report ---- */

static void fmt_time(char *buf, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *opt_real(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

static json_t *failures_json(const struct drill_result *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < r->n_failures; i++) {
		const struct drill_failure *f = &r->failures[i];
		json_t *o = json_pack(
		    "{s:o, s:o, s:o, s:s}", "repository",
		    f->repo ? json_string(f->repo) : json_null(), "tag",
		    f->tag ? json_string(f->tag) : json_null(), "digest",
		    f->digest ? json_string(f->digest) : json_null(), "reason",
		    f->reason);
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *sources_json(const struct drill_result *r)
{
	json_t *arr = json_array();
	char when[32];

	for (size_t i = 0; arr && i < r->n_sources; i++) {
		const struct drill_source *src = &r->sources[i];
		json_t *o;

		fmt_time(when, sizeof(when), src->time);
		o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "source",
			      src->source, "snapshot", src->snapshot, "time",
			      when, "rpo_seconds", (json_int_t)src->rpo_seconds,
			      "bytes", (json_int_t)src->bytes,
			      "rto_seconds_projected",
			      opt_real(src->rto_seconds));
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *tags_json(const struct rv_strlist *l)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < l->n; i++)
		if (json_array_append_new(arr, json_string(l->items[i]))) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

int drill_json(char **out, const struct drill_result *r,
	       const struct drill_opts *o, int exit_code)
{
	char started[32], finished[32], taken[32];
	json_t *doc;

	*out = NULL;
	fmt_time(started, sizeof(started), r->started);
	fmt_time(finished, sizeof(finished), r->finished);
	fmt_time(taken, sizeof(taken), r->snapshot_time);
	doc = json_pack(
	    "{s:s, s:s, s:o, s:s, s:o, s:s, s:s, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:o, s:o, s:I, s:s, "
	    "s:o, s:o, s:o, s:i, s:b, s:o}",
	    "snapshot", r->snapshot, "registry", o->registry ? o->registry : "",
	    "store_id", o->store_id ? json_string(o->store_id) : json_null(),
	    "source", r->source, "snapshot_time",
	    r->snapshot_time ? json_string(taken) : json_null(), "started",
	    started, "finished", finished, "sample", (json_int_t)o->sample,
	    "tags_selected", (json_int_t)r->tags_selected, "tags_checked",
	    (json_int_t)r->tags_checked, "tags_ok", (json_int_t)r->tags_ok,
	    "manifests_checked", (json_int_t)r->manifests_checked,
	    "blobs_checked", (json_int_t)r->blobs_checked, "blobs_missing",
	    (json_int_t)r->blobs_missing, "bytes", (json_int_t)r->bytes,
	    "bytes_pushed", (json_int_t)r->bytes_pushed, "bytes_present",
	    (json_int_t)r->bytes_present, "bytes_mounted",
	    (json_int_t)r->bytes_mounted, "seconds", r->seconds,
	    "throughput_bytes_per_second", r->throughput, "rpo_seconds",
	    r->rpo_seconds < 0 ? json_null()
			       : json_integer((json_int_t)r->rpo_seconds),
	    "rto_seconds_projected", opt_real(r->rto_seconds), "rto_bytes",
	    (json_int_t)r->rto_bytes, "rto_basis",
	    "projection: distinct blob bytes of the newest snapshot of every "
	    "source over this drill's restore rate",
	    "sources", sources_json(r), "tags", tags_json(&r->sampled),
	    "failures", failures_json(r), "exit_code", exit_code, "ok",
	    exit_code == 0, "error",
	    r->error ? json_string(r->error) : json_null());
	if (doc)
		*out = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	if (!*out)
		return rv_err_set(RV_NOMEM, "out of memory");
	return 0;
}

static const char *human_secs(char *buf, size_t size, double secs)
{
	if (secs < 0)
		snprintf(buf, size, "unknown");
	else if (secs < 120)
		snprintf(buf, size, "%.1f s", secs);
	else if (secs < 7200)
		snprintf(buf, size, "%.0f s (%.1f min)", secs, secs / 60);
	else if (secs < 172800)
		snprintf(buf, size, "%.0f s (%.1f h)", secs, secs / 3600);
	else
		snprintf(buf, size, "%.0f s (%.1f days)", secs, secs / 86400);
	return buf;
}

/* Markdown inline code that stays inline whatever the text holds. */
static int md_code(struct rv_buf *b, const char *text)
{
	int rc = rv_buf_puts(b, "`");

	for (const char *p = text; !rc && *p; p++)
		rc = rv_buf_add(b, *p == '`' || *p == '\n' ? "'" : p, 1);
	return rc ? rc : rv_buf_puts(b, "`");
}

/* Plain Markdown text on one line: no table breaks, no newlines. */
static int md_text(struct rv_buf *b, const char *text)
{
	int rc = 0;

	for (const char *p = text; !rc && *p; p++)
		rc = rv_buf_add(b, *p == '|' ? "/" : *p == '\n' ? " " : p, 1);
	return rc;
}

static int report_head(struct rv_buf *b, const struct drill_result *r,
		       const struct drill_opts *o, int exit_code)
{
	char started[32], finished[32], taken[32];
	int rc;

	fmt_time(started, sizeof(started), r->started);
	fmt_time(finished, sizeof(finished), r->finished);
	fmt_time(taken, sizeof(taken), r->snapshot_time);
	rc = rv_buf_printf(b,
			   "# regvault DR drill report\n\n"
			   "- Date: %s (finished %s)\n- Store: ",
			   started, finished);
	if (!rc)
		rc = md_code(b, o->store_id ? o->store_id : "unknown");
	if (!rc)
		rc = rv_buf_printf(b, "\n- Snapshot: `%s` (source ",
				   r->snapshot);
	if (!rc)
		rc = md_code(b, r->source);
	if (!rc)
		rc = rv_buf_printf(b, ", taken %s)\n- Scratch registry: ",
				   r->snapshot_time ? taken : "unknown");
	if (!rc)
		rc = md_code(b, o->registry ? o->registry : "");
	if (!rc)
		rc = rv_buf_puts(b, "\n- Selection: ");
	if (!rc && o->sample && r->tags_selected)
		rc = rv_buf_printf(b, "a random sample of %llu tag(s)",
				   (unsigned long long)r->tags_selected);
	else if (!rc)
		rc = rv_buf_printf(b, "every tag (%llu)",
				   (unsigned long long)r->tags_selected);
	if (!rc && o->repos && o->repos->n) {
		rc = rv_buf_puts(b, " of the repositories matching");
		for (size_t i = 0; !rc && i < o->repos->n; i++) {
			rc = rv_buf_puts(b, " ");
			if (!rc)
				rc = md_code(b, o->repos->items[i]);
		}
	}
	if (!rc && exit_code == 0)
		rc = rv_buf_puts(b, "\n- Result: **PASSED**: every restored "
				    "tag checks out\n\n");
	else if (!rc)
		rc = rv_buf_printf(b,
				   "\n- Result: **FAILED** (exit code %d): "
				   "%zu failure(s), listed below\n\n",
				   exit_code, r->n_failures);
	return rc;
}

static int report_checked(struct rv_buf *b)
{
	return rv_buf_puts(
	    b,
	    "## What was checked\n\n"
	    "1. The snapshot against the targets, not only the catalog: its "
	    "signed seal, the hash of its record, its tags and the packs it "
	    "needs.\n"
	    "2. A restore of the selection into the scratch registry, streamed "
	    "from the packs (every chunk authenticated, every blob's sha256 "
	    "checked as it streams).\n"
	    "3. Independently of the restore's own bookkeeping, with a "
	    "separate registry client: each tag read back (HEAD) and its "
	    "digest compared with the snapshot's; each manifest fetched by "
	    "digest (its bytes hash to it) and parsed again; every child "
	    "manifest and every blob it names (config and layers; "
	    "non-distributable layers excepted) looked up (HEAD) in that "
	    "repository with its size.\n\n");
}

static int report_figures(struct rv_buf *b, const struct drill_result *r)
{
	char h1[32], h2[32], t1[48], t2[48];
	int rc;

	rc = rv_buf_printf(
	    b,
	    "## Figures\n\n| figure | value |\n|---|---|\n"
	    "| tags checked | %llu |\n| tags that check out | %llu |\n"
	    "| manifests fetched and parsed | %llu |\n"
	    "| blobs looked up (repository, blob) | %llu |\n"
	    "| blobs missing or of the wrong size | %llu |\n"
	    "| bytes restored (pushed + already present) | %llu (%s) |\n"
	    "| of which pushed | %llu |\n"
	    "| mounted from another repository (not counted) | %llu |\n"
	    "| restore time | %.3f s |\n"
	    "| restore throughput | %.0f bytes/s (%s/s) |\n",
	    (unsigned long long)r->tags_checked, (unsigned long long)r->tags_ok,
	    (unsigned long long)r->manifests_checked,
	    (unsigned long long)r->blobs_checked,
	    (unsigned long long)r->blobs_missing, (unsigned long long)r->bytes,
	    rv_human_bytes(h1, sizeof(h1), r->bytes),
	    (unsigned long long)r->bytes_pushed,
	    (unsigned long long)r->bytes_mounted, r->seconds, r->throughput,
	    rv_human_bytes(h2, sizeof(h2), (unsigned long long)r->throughput));
	if (!rc)
		rc = rv_buf_printf(
		    b,
		    "| RPO (age of the newest snapshot) | %s |\n"
		    "| projected RTO (full restore of every source's newest "
		    "snapshot, %llu bytes) | %s |\n\n",
		    human_secs(t1, sizeof(t1), (double)r->rpo_seconds),
		    (unsigned long long)r->rto_bytes,
		    human_secs(t2, sizeof(t2), r->rto_seconds));
	if (!rc)
		rc = rv_buf_puts(
		    b, "The RTO is a projection from this drill's restore rate "
		       "(bytes over the restore's wall time), not a "
		       "measurement: a full restore into another registry, "
		       "over another network, runs at its own rate. A drill "
		       "of a small sample measures mostly per-request "
		       "latency and understates the rate of large blobs.\n\n");
	if (!rc && r->n_sources)
		rc =
		    rv_buf_puts(b, "| source | newest snapshot | taken | RPO | "
				   "bytes | projected RTO |\n"
				   "|---|---|---|---|---|---|\n");
	for (size_t i = 0; !rc && i < r->n_sources; i++) {
		const struct drill_source *src = &r->sources[i];
		char taken[32];

		fmt_time(taken, sizeof(taken), src->time);
		rc = rv_buf_puts(b, "| ");
		if (!rc)
			rc = md_text(b, src->source);
		if (!rc)
			rc = rv_buf_printf(
			    b, " | `%.12s` | %s | %s | %llu | %s |\n",
			    src->snapshot, taken,
			    human_secs(t1, sizeof(t1),
				       (double)src->rpo_seconds),
			    (unsigned long long)src->bytes,
			    human_secs(t2, sizeof(t2), src->rto_seconds));
	}
	return rc ? rc : rv_buf_puts(b, "\n");
}

static int report_failures(struct rv_buf *b, const struct drill_result *r)
{
	int rc = rv_buf_puts(b, "## What failed\n\n");

	if (!rc && r->n_failures == 0)
		rc = rv_buf_puts(b, "Nothing.\n\n");
	for (size_t i = 0; !rc && i < r->n_failures; i++) {
		const struct drill_failure *f = &r->failures[i];
		rc = rv_buf_puts(b, "- ");
		if (!rc && f->tag) {
			struct rv_buf name = RV_BUF_INIT(1u << 16);
			rc = rv_buf_printf(&name, "%s:%s", f->repo, f->tag);
			if (!rc)
				rc = md_code(b, rv_buf_cstr(&name));
			rv_buf_release(&name);
			if (!rc && f->digest)
				rc = rv_buf_printf(b, " (snapshot digest `%s`)",
						   f->digest);
			if (!rc)
				rc = rv_buf_puts(b, ": ");
		}
		if (!rc)
			rc = md_text(b, f->reason);
		if (!rc)
			rc = rv_buf_puts(b, "\n");
	}
	if (!rc && r->n_failures)
		rc = rv_buf_puts(b, "\n");
	return rc;
}

static int report_todo(struct rv_buf *b, const struct drill_result *r,
		       int exit_code)
{
	const char *text;

	if (exit_code == 0)
		text = "Nothing. Keep drilling on a schedule (a `drill` job in "
		       "the schedules) and keep this report with the "
		       "previous ones: `regvault verify --history` lists the "
		       "trail.\n";
	else if (exit_code == 4)
		text = "The archive cannot restore the tags listed above. "
		       "Run `regvault verify --level hash` (and `--level "
		       "deep`) to see which packs are damaged or missing and "
		       "on which targets. When another target still holds a "
		       "good copy, `regvault repair` copies it back; run the "
		       "drill again afterwards. When no target holds a good "
		       "copy, those tags cannot be restored from this "
		       "snapshot: take a new backup now (`regvault backup`) "
		       "while the source registry still has them, and find "
		       "out what damaged the store. When the scratch "
		       "registry holds other content under these names, "
		       "drill into an empty one.\n";
	else
		text = "The drill could not run to the end (see the error "
		       "above): check that the scratch registry and the "
		       "targets are reachable and that the credentials are "
		       "right, then run the drill again. Nothing here says "
		       "the archive is damaged.\n";
	(void)r;
	return rv_buf_printf(b, "## What to do\n\n%s", text);
}

static int report_tags(struct rv_buf *b, const struct drill_result *r)
{
	int rc = rv_buf_puts(b, "\n## Tags drilled\n\n");

	for (size_t i = 0; !rc && i < r->sampled.n && i < REPORT_TAGS_MAX;
	     i++) {
		rc = rv_buf_puts(b, "- ");
		if (!rc)
			rc = md_code(b, r->sampled.items[i]);
		if (!rc)
			rc = rv_buf_puts(b, "\n");
	}
	if (!rc && r->sampled.n > REPORT_TAGS_MAX)
		rc = rv_buf_printf(b, "- ... and %zu more (see --json)\n",
				   r->sampled.n - REPORT_TAGS_MAX);
	return rc;
}

int drill_report(struct rv_buf *out, const struct drill_result *r,
		 const struct drill_opts *o, int exit_code)
{
	int rc = report_head(out, r, o, exit_code);

	if (!rc && r->error)
		rc = rv_buf_puts(out, "Error: ");
	if (!rc && r->error)
		rc = md_text(out, r->error);
	if (!rc && r->error)
		rc = rv_buf_puts(out, "\n\n");
	if (!rc)
		rc = report_checked(out);
	if (!rc)
		rc = report_figures(out, r);
	if (!rc)
		rc = report_failures(out, r);
	if (!rc)
		rc = report_todo(out, r, exit_code);
	if (!rc)
		rc = report_tags(out, r);
	return rc;
}
