#include "backup/backup.h"
#include "backup/fetch.h"
#include "backup/filter.h"
#include "backup/heads.h"
#include "backup/referrers.h"
#include "backup/stream.h"

#include "catalog/catalog.h"
#include "maint/seals.h"
#include "registry/manifest.h"
#include "registry/registry.h"
#include "store/store.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/glob.h"
#include "util/log.h"
#include "util/progress.h"
#include "util/set.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MANIFEST_MAX (4u << 20)
#define INDEX_DEPTH_MAX 4
/* An image config read for keep_newest: larger ones count as timeless. */
#define CONFIG_MAX (4u << 20)
/* Pending manifests: their pack (the coordinator's own, manifests only)
 * is flushed every PM_FLUSH of them so they can be recorded as soon as
 * their blobs are; past PM_MAX the run waits for every fetch (memory). */
#define PM_FLUSH 256
#define PM_MAX 4096
/* Blobs queued per fetch worker before the walk waits. */
#define BACKLOG_PER_WORKER 2

struct pending_manifest {
	char digest[RV_DIGEST_MAX];
	char media_type[128];
	int64_t size;
	struct cat_ref *refs;
	size_t n_refs;
	size_t checked; /* refs found recorded so far */
	int bytes_in;	/* its own bytes are recorded */
};

struct tag_entry {
	char *repo;
	char *tag;
	char digest[RV_DIGEST_MAX];
};

/* A referrer found through the referrers API. */
struct referrer_entry {
	char *repo;
	char subject[RV_DIGEST_MAX];
	char digest[RV_DIGEST_MAX];
};

/* A tag of the current repository that passed the name filters. */
struct tag_cand {
	const char *tag;
	struct reg_desc d;
	int64_t created;
	int has_time;
};

struct bk {
	struct cat *c;
	struct store *s;
	struct reg *r;
	const struct backup_source *src;
	struct backup_stats *st;

	/* blobs fetched or queued in this run (until the next barrier) and
	 * manifests walked but not yet in the catalog, oldest first */
	struct rv_set pend_blobs;
	struct rv_set pend_manifest_set;
	struct pending_manifest *pm;
	size_t n_pm, cap_pm;

	struct fetch_pool *pool; /* blobs, in parallel */
	struct stream *ms;	 /* manifests' bytes: own_ms, or the
				  * inline fetcher's stream */
	struct stream own_ms;
	int own_ms_ready;
	size_t backlog_max;
	char cur_what[512]; /* the tag being walked, for failure notes */

	struct tag_entry *tags;
	size_t n_tags, cap_tags;

	struct backup_tag_filter *tag_filter;
	/* the manifests backed up in the current repository (NUL included
	 * in each key), with the referrer depth at which each was found:
	 * the subjects whose referrers are kept */
	struct rv_set seen;
	int *seen_depth;
	size_t cap_seen_depth;
	int cur_ref_depth;
	int api_off; /* the registry has no referrers API (this repository) */
	int api_noted; /* that was logged at info once in this run (then at
			  debug: a registry without it says so for every
			  repository) */
	struct referrer_entry *refs;
	size_t n_refs, cap_refs;
	int refs_capped;
	struct heads *heads; /* the tag walk's HEADs, several at once */

	int fatal;     /* a store or catalog failure: stop the run */
	int first_err; /* the first per-tag failure */
	char first_msg[2048];

	/* the progress line: tags backed up and bytes fetched by this run
	 * (st holds the totals of earlier sources too) */
	struct rv_meter meter;
	uint64_t tags0, bytes0;
};

/* Show the meter as the run is now (the coordinator's thread only). */
static void meter_show(struct bk *b)
{
	b->meter.done = b->st->tags - b->tags0;
	b->meter.bytes = b->st->bytes_fetched - b->bytes0;
	rv_meter_show(&b->meter);
}

/* A tag or repository failed without stopping the run: log it, keep the
 * first one for the final message. */
static void note_failure(struct bk *b, int rc, const char *what)
{
	rv_log(RV_LOG_ERROR, "%s: %s", what, rv_err_msg());
	if (!b->first_err) {
		b->first_err = rc;
		snprintf(b->first_msg, sizeof(b->first_msg), "%s: %s", what,
			 rv_err_msg());
	}
}

static void pm_free(struct pending_manifest *pm)
{
	free(pm->refs);
	pm->refs = NULL;
}

/* Record a flushed pack: the pack, where it is, its chunks and the blobs
 * that completed in it, in one transaction. Takes f. */
static int commit_pack(struct bk *b, struct store_flushed *f)
{
	int rc = cat_begin(b->c);

	if (rc)
		goto done;
	rc = cat_pack_add(b->c, f->pack_id, f->size, (int64_t)time(NULL));
	for (size_t i = 0; !rc && i < store_target_count(b->s); i++)
		if (f->on_target[i])
			rc = cat_pack_location_add(b->c, f->pack_id,
						   store_target_name(b->s, i));
	for (size_t i = 0; !rc && i < f->n_chunks; i++)
		rc = cat_chunk_add(b->c, f->chunks[i].id, f->pack_id,
				   f->chunks[i].offset, f->chunks[i].length,
				   f->chunks[i].plain_len);
	for (size_t i = 0; !rc && i < f->n_blobs; i++) {
		rc = cat_blob_add(b->c, f->blobs[i].digest, f->blobs[i].size,
				  (const unsigned char(*)[32])f->blobs[i].chunks,
				  f->blobs[i].n_chunks);
		if (!rc)
			rc = cat_blob_entry_set(b->c, f->blobs[i].digest,
						f->pack_id, 0);
	}
	if (!rc)
		rc = cat_commit(b->c);
	if (rc) {
		cat_rollback(b->c);
		goto done;
	}
	b->st->packs_written++;
	b->st->bytes_written += f->size;
	rv_debug("pack %.12s: %zu chunks, %zu blobs, %llu bytes", f->pack_id,
		 f->n_chunks, f->n_blobs, (unsigned long long)f->size);
done:
	store_flushed_free(f);
	if (rc)
		b->fatal = 1;
	return rc;
}

/* stream_pack_fn of the coordinator's own stream. */
static int commit_own_pack(void *arg, struct store_flushed *f)
{
	return commit_pack(arg, f);
}

/* 1 when everything pm names is in the catalog (its own bytes, its
 * blobs, its child manifests), 0 when not yet, or a failure. */
static int pm_ready(struct bk *b, struct pending_manifest *pm)
{
	int rc;

	if (!pm->bytes_in) {
		rc = cat_blob_has(b->c, pm->digest);
		if (rc != 1)
			return rc;
		pm->bytes_in = 1;
	}
	for (; pm->checked < pm->n_refs; pm->checked++) {
		const struct cat_ref *r = &pm->refs[pm->checked];

		if (r->nondistributable)
			continue; /* never backed up */
		rc = r->is_manifest ? cat_manifest_has(b->c, r->digest)
				    : cat_blob_has(b->c, r->digest);
		if (rc != 1)
			return rc;
	}
	return 1;
}

/* Record every pending manifest whose children are all recorded, oldest
 * first (a child is walked, so pending, before its index), in one
 * transaction; the others wait. */
static int commit_ready(struct bk *b)
{
	size_t kept = 0, done = 0;
	int rc = 0, in_tx = 0;

	for (size_t i = 0; i < b->n_pm; i++) {
		struct pending_manifest *pm = &b->pm[i];

		int ready = pm_ready(b, pm);

		if (ready < 0) {
			rc = ready;
			break;
		}
		if (ready && !in_tx) {
			rc = cat_begin(b->c);
			if (rc)
				break;
			in_tx = 1;
		}
		if (ready) {
			rc = cat_manifest_add(b->c, pm->digest,
					      pm->media_type, pm->size,
					      pm->refs, pm->n_refs);
			if (rc)
				break;
			pm_free(pm);
			done++;
			continue;
		}
		b->pm[kept++] = *pm;
	}
	if (!rc && in_tx)
		rc = cat_commit(b->c);
	if (rc) {
		if (in_tx)
			cat_rollback(b->c);
		b->fatal = 1;
		return rc;
	}
	b->n_pm = kept;
	if (!done)
		return 0;
	/* the recorded ones are the catalog's to answer for now */
	rv_set_clear(&b->pend_manifest_set);
	for (size_t i = 0; i < b->n_pm; i++)
		if (rv_set_add(&b->pend_manifest_set, b->pm[i].digest,
			       strlen(b->pm[i].digest)) < 0) {
			b->fatal = 1;
			return rv_err_set(RV_NOMEM, "out of memory");
		}
	return 0;
}

/* What a fetch worker reports. Returns a fatal code, or 0. */
static int handle_event(struct bk *b, struct fetch_event *e)
{
	char what[600];

	b->st->chunks_written += e->chunks_written;
	switch (e->kind) {
	case FETCH_BLOB_DONE:
		b->st->blobs_fetched++;
		b->st->bytes_fetched += e->bytes;
		meter_show(b);
		return 0;
	case FETCH_PACK: {
		struct store_flushed *f = e->pack;
		int rc;

		e->pack = NULL;
		rc = commit_pack(b, f);
		return rc ? rc : commit_ready(b);
	}
	case FETCH_BLOB_FAILED:
		/* a blob the tag needs is missing or bad: the image cannot
		 * be restored, so the tag failed */
		snprintf(what, sizeof(what), "%s", e->what ? e->what : "blob");
		rv_err_set(e->rc, "%s (blob %s)", e->msg ? e->msg : "failed",
			   e->digest);
		note_failure(b, e->rc == RV_NOTFOUND ? RV_ERROR : e->rc, what);
		b->st->tags_failed++;
		return 0;
	case FETCH_FATAL:
	default:
		b->fatal = 1;
		return rv_err_set(e->rc ? e->rc : RV_ERROR, "%s",
				  e->msg ? e->msg : "a fetch worker failed");
	}
}

/* Take the events that are ready (wait: at least one, unless idle). */
static int pump(struct bk *b, int wait)
{
	struct fetch_event *e;
	int rc = 0;

	while ((e = fetch_pool_next(b->pool, wait))) {
		int r = handle_event(b, e);
		fetch_event_free(e);
		if (r && !rc)
			rc = r;
		wait = 0;
	}
	return rc;
}

/* Flush the manifests' pack and record the manifests that are ready. */
static int flush_manifests(struct bk *b)
{
	int rc = stream_flush(b->ms);

	if (!rc)
		rc = pump(b, 0); /* the inline stream's pack is an event */
	if (!rc)
		rc = commit_ready(b);
	return rc;
}

/* Everything fetched so far into the catalog: every worker flushes its
 * pack, every event is handled, the manifests' pack is flushed, and the
 * manifests whose children made it are recorded. */
static int barrier(struct bk *b)
{
	struct fetch_event *e;
	int rc = 0;

	fetch_pool_flush(b->pool);
	while ((e = fetch_pool_next(b->pool, 1))) {
		int r = handle_event(b, e);
		fetch_event_free(e);
		if (r && !rc)
			rc = r;
	}
	if (!rc && !b->fatal)
		rc = flush_manifests(b);
	if (rc)
		b->fatal = 1;
	else
		rv_set_clear(&b->pend_blobs); /* all recorded (or failed) */
	return rc;
}

static int is_known_blob(struct bk *b, const char *digest)
{
	if (rv_set_has(&b->pend_blobs, digest, strlen(digest)))
		return 1;
	return cat_blob_has(b->c, digest);
}

/* Have a blob fetched into the store (once, ever): queued for a fetch
 * worker; the walk goes on meanwhile, and waits when the queue is full.
 * Its failure is noted when a worker reports it. */
static int backup_blob(struct bk *b, const char *repo,
		       const struct reg_ref *ref)
{
	int rc = is_known_blob(b, ref->digest);

	if (rc < 0) {
		b->fatal = 1;
		return rc;
	}
	if (rc == 1)
		return 0;
	if (rv_set_add(&b->pend_blobs, ref->digest, strlen(ref->digest)) < 0 ||
	    fetch_pool_submit(b->pool, repo, ref->digest, ref->size,
			      b->cur_what)) {
		b->fatal = 1;
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	rc = pump(b, 0);
	while (!rc && fetch_pool_backlog(b->pool) > b->backlog_max)
		rc = pump(b, 1);
	return rc;
}

/* Store manifest bytes held in memory as a blob of kind manifest. */
static int store_manifest_bytes(struct bk *b, const struct reg_desc *d,
				const struct rv_buf *body)
{
	int rc = is_known_blob(b, d->digest);
	if (rc < 0) {
		b->fatal = 1;
		return rc;
	}
	if (rc == 1)
		return 0;
	stream_begin(b->ms);
	rc = stream_feed(b->ms, body->data, body->len);
	if (!rc)
		rc = stream_end(b->ms, d->digest, (int64_t)body->len,
				PACK_MANIFEST, d->media_type);
	if (!rc && rv_set_add(&b->pend_blobs, d->digest, strlen(d->digest)) < 0)
		rc = rv_err_set(RV_NOMEM, "out of memory");
	if (rc)
		b->fatal = 1;
	return rc;
}

static int add_pending_manifest(struct bk *b, const struct reg_desc *d,
				const struct reg_manifest *m)
{
	struct pending_manifest *pm;
	size_t n = m->kind == REG_KIND_INDEX ? m->n_manifests : 1 + m->n_layers;
	int rc;

	rc = rv_array_grow((void **)&b->pm, &b->cap_pm, b->n_pm + 1,
			   sizeof(*b->pm));
	if (rc)
		return rc;
	pm = &b->pm[b->n_pm];
	memset(pm, 0, sizeof(*pm));
	pm->refs = calloc(n ? n : 1, sizeof(*pm->refs));
	if (!pm->refs)
		return rv_err_set(RV_NOMEM, "out of memory");
	snprintf(pm->digest, sizeof(pm->digest), "%s", d->digest);
	snprintf(pm->media_type, sizeof(pm->media_type), "%s", m->media_type);
	pm->size = d->size;
	pm->n_refs = n;
	for (size_t i = 0; i < n; i++) {
		const struct reg_ref *src;
		struct cat_ref *dst = &pm->refs[i];
		if (m->kind == REG_KIND_INDEX)
			src = &m->manifests[i];
		else
			src = i == 0 ? &m->config : &m->layers[i - 1];
		snprintf(dst->digest, sizeof(dst->digest), "%s", src->digest);
		snprintf(dst->media_type, sizeof(dst->media_type), "%s",
			 src->media_type);
		dst->size = src->size;
		dst->is_manifest = m->kind == REG_KIND_INDEX;
		dst->nondistributable = src->nondistributable;
	}
	b->n_pm++;
	if (rv_set_add(&b->pend_manifest_set, d->digest, strlen(d->digest)) < 0)
		return rv_err_set(RV_NOMEM, "out of memory");
	if (b->n_pm >= PM_MAX)
		return barrier(b);
	if (b->n_pm % PM_FLUSH == 0)
		return flush_manifests(b);
	return 0;
}

static int is_known_manifest(struct bk *b, const char *digest)
{
	if (rv_set_has(&b->pend_manifest_set, digest, strlen(digest)))
		return 1;
	return cat_manifest_has(b->c, digest);
}

/* Remember that digest is backed up in the current repository (its
 * referrers are wanted). 1 when new, 0 when known, RV_NOMEM. */
static int seen_add(struct bk *b, const char *digest)
{
	int rc;

	if (!b->src->referrers)
		return 0;
	rc = rv_set_add(&b->seen, digest, strlen(digest) + 1);
	if (rc != 1)
		return rc < 0 ? rv_err_set(RV_NOMEM, "out of memory") : 0;
	if (b->seen.n > b->cap_seen_depth) {
		size_t ncap = b->cap_seen_depth ? b->cap_seen_depth * 2 : 64;
		void *p = realloc(b->seen_depth, ncap * sizeof(int));
		if (!p)
			return rv_err_set(RV_NOMEM, "out of memory");
		b->seen_depth = p;
		b->cap_seen_depth = ncap;
	}
	b->seen_depth[b->seen.n - 1] = b->cur_ref_depth;
	return 1;
}

/* A manifest the catalog already holds: remember it and, for an index,
 * its children (their referrers are wanted too). */
static int seen_known(struct bk *b, const char *digest, int depth)
{
	struct cat_manifest *cm = NULL;
	int rc = seen_add(b, digest);

	if (rc <= 0 || depth > INDEX_DEPTH_MAX)
		return rc < 0 ? rc : 0;
	rc = cat_manifest_get(&cm, b->c, digest);
	if (rc == RV_NOTFOUND) /* pending in the open pack */
		return 0;
	for (size_t i = 0; !rc && i < cm->n_refs; i++)
		if (cm->refs[i].is_manifest)
			rc = seen_known(b, cm->refs[i].digest, depth + 1);
	cat_manifest_free(cm);
	return rc;
}

/* Keep only the platforms the source asks for: body and d are replaced
 * by the rewritten index (its own digest) when a child was dropped; *m
 * is parsed again from the new bytes. RV_REFUSED when no child is left. */
static int filter_platforms(struct bk *b, const char *repo,
			    struct rv_buf *body, struct reg_desc *d,
			    struct reg_manifest **m)
{
	struct rv_buf out = RV_BUF_INIT(MANIFEST_MAX);
	size_t kept = 0, dropped = 0;
	int rc;

	rc = backup_filter_index(&out, &kept, &dropped, body->data, body->len,
				 b->src->platforms, b->src->referrers);
	if (rc)
		goto done;
	if (!kept) {
		rc = rv_err_set(RV_REFUSED,
				"no platform of index %s in '%s' matches the "
				"source's platforms",
				d->digest, repo);
		goto done;
	}
	if (!dropped)
		goto done;
	rv_debug("'%s': index %s: %zu platform(s) kept, %zu dropped", repo,
		 d->digest, kept, dropped);
	rc = rv_digest_of(d->digest, out.data, out.len);
	if (rc)
		goto done;
	d->size = (int64_t)out.len;
	snprintf(d->media_type, sizeof(d->media_type), "%s", (*m)->media_type);
	reg_manifest_free(*m);
	*m = NULL;
	rc = reg_manifest_parse(m, out.data, out.len, d->media_type);
	if (rc)
		goto done;
	rv_buf_release(body);
	*body = out;
	rv_buf_init(&out, MANIFEST_MAX);
done:
	rv_buf_release(&out);
	return rc;
}

/* Back up a manifest and everything it needs, children first. filter: a
 * tag's own manifest, to which the platform filter applies. stored
 * receives the digest the tag points to in the snapshot: digest itself,
 * or the rewritten index's. */
static int backup_manifest(char stored[RV_DIGEST_MAX], struct bk *b,
			   const char *repo, const char *digest, int depth,
			   int filter)
{
	struct rv_buf body = RV_BUF_INIT(MANIFEST_MAX);
	struct reg_manifest *m = NULL;
	struct reg_desc d;
	char child[RV_DIGEST_MAX];
	int rc;

	snprintf(stored, RV_DIGEST_MAX, "%s", digest);
	filter = filter && b->src->platforms && b->src->platforms->n > 0;
	/* an index under a platform filter is never recorded as it is (its
	 * rewrite is), so the catalog cannot answer for it */
	rc = is_known_manifest(b, digest);
	if (rc != 0) {
		if (rc < 0) {
			b->fatal = 1;
			return rc;
		}
		if (!filter || depth > 0)
			return seen_known(b, digest, depth);
	}
	if (depth > INDEX_DEPTH_MAX)
		return rv_err_set(RV_CORRUPT,
				  "manifest %s in '%s' nests indexes deeper "
				  "than %d levels",
				  digest, repo, INDEX_DEPTH_MAX);
	rc = reg_manifest_get(&body, &d, b->r, repo, digest);
	if (rc)
		goto done;
	b->st->manifests_fetched++;
	b->st->bytes_fetched += body.len;
	rc = reg_manifest_parse(&m, body.data, body.len, d.media_type);
	if (rc)
		goto done;
	if (filter && m->kind == REG_KIND_INDEX) {
		/* the source's index is a subject too (cosign signs it) */
		rc = seen_add(b, digest);
		if (rc >= 0)
			rc = filter_platforms(b, repo, &body, &d, &m);
		if (rc)
			goto done;
		snprintf(stored, RV_DIGEST_MAX, "%s", d.digest);
		rc = is_known_manifest(b, d.digest);
		if (rc != 0) {
			if (rc < 0)
				b->fatal = 1;
			else
				rc = seen_known(b, d.digest, depth);
			goto done;
		}
	}
	if (m->kind == REG_KIND_INDEX) {
		for (size_t i = 0; !rc && i < m->n_manifests; i++)
			rc = backup_manifest(child, b, repo,
					     m->manifests[i].digest, depth + 1,
					     0);
	} else {
		rc = backup_blob(b, repo, &m->config);
		for (size_t i = 0; !rc && i < m->n_layers; i++) {
			if (m->layers[i].nondistributable) {
				rv_warn("'%s': layer %s is non-distributable "
					"(foreign); it is not backed up",
					repo, m->layers[i].digest);
				continue;
			}
			rc = backup_blob(b, repo, &m->layers[i]);
		}
	}
	if (!rc)
		rc = store_manifest_bytes(b, &d, &body);
	if (!rc) {
		rc = add_pending_manifest(b, &d, m);
		if (rc)
			b->fatal = 1;
	}
	if (!rc) {
		rc = seen_add(b, d.digest);
		if (rc > 0)
			rc = 0;
	}
done:
	reg_manifest_free(m);
	rv_buf_release(&body);
	return rc;
}

static int add_tag(struct bk *b, const char *repo, const char *tag,
		   const char *digest)
{
	struct tag_entry *t;
	int rc;

	rc = rv_array_grow((void **)&b->tags, &b->cap_tags, b->n_tags + 1,
			   sizeof(*b->tags));
	if (rc)
		return rc;
	t = &b->tags[b->n_tags];
	t->repo = strdup(repo);
	t->tag = strdup(tag);
	if (!t->repo || !t->tag) {
		free(t->repo);
		free(t->tag);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	snprintf(t->digest, sizeof(t->digest), "%s", digest);
	b->n_tags++;
	return 0;
}

static int has_glob_chars(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static int repo_selected(const struct backup_source *src, const char *repo)
{
	int in = !src->include || src->include->n == 0;
	for (size_t i = 0; !in && i < src->include->n; i++)
		in = rv_glob_match(src->include->items[i], repo);
	for (size_t i = 0; in && src->exclude && i < src->exclude->n; i++)
		if (rv_glob_match(src->exclude->items[i], repo))
			in = 0;
	return in;
}

/* The repositories of this source, sorted. */
static int list_repos(struct rv_strlist *out, struct bk *b)
{
	struct rv_strlist all = RV_STRLIST_INIT;
	const struct rv_strlist *inc = b->src->include;
	int rc = reg_catalog(b->r, &all);

	if (rc == RV_UNSUPPORTED || rc == RV_NOTFOUND || rc == RV_AUTH) {
		int literal = inc && inc->n > 0;
		for (size_t i = 0; literal && i < inc->n; i++)
			if (has_glob_chars(inc->items[i]))
				literal = 0;
		if (!literal)
			goto done; /* keep the registry's message */
		rv_warn("%s; using the repositories listed in the config",
			rv_err_msg());
		rv_strlist_release(&all);
		for (size_t i = 0; i < inc->n; i++)
			if ((rc = rv_strlist_add(&all, inc->items[i])))
				goto done;
		rc = 0;
	}
	if (rc)
		goto done;
	if (reg_catalog_truncated(b->r)) {
		size_t n_literal = 0, n_catalog = all.n;
		for (size_t i = 0; inc && i < inc->n; i++) {
			if (has_glob_chars(inc->items[i]))
				continue;
			n_literal++;
			if (!rv_strlist_has(&all, inc->items[i]) &&
			    (rc = rv_strlist_add(&all, inc->items[i])))
				goto done;
		}
		rv_warn("registry '%s': the catalog answer looks truncated (%zu "
			"repositories and no link to a next page); %s",
			b->src->name, n_catalog,
			n_literal ? "the repositories named in the configuration "
				    "are backed up as well (globs match only "
				    "what the catalog listed)"
				  : "list the repositories by name in the "
				    "configuration to back up the others");
	}
	for (size_t i = 0; i < all.n; i++)
		if (repo_selected(b->src, all.items[i]) &&
		    !rv_strlist_has(out, all.items[i]) &&
		    (rc = rv_strlist_add(out, all.items[i])))
			goto done;
	rv_strlist_sort(out);
done:
	rv_strlist_release(&all);
	return rc;
}

/* Seal the snapshot record and put it on the targets; record the snapshot
 * in the catalog and, in the same transaction, sign and put its seal: the
 * seal on the targets and the catalog row are the commit points. */
static int write_snapshot(struct bk *b)
{
	unsigned char raw[32];
	char id[65], record_hash[65];
	json_t *doc = NULL, *tags = NULL, *refs = NULL;
	char *text = NULL;
	struct cat_snapshot cs;
	int64_t now = 0;
	int rc = rv_now(&now);

	if (rc)
		return rc;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return rv_err_set(RV_ERROR, "no random bytes for a snapshot id");
	rv_hex_encode(id, raw, sizeof(raw));
	tags = json_array();
	refs = json_array();
	doc = json_pack("{s:i, s:s, s:I, s:s, s:s}", "version", 1, "id", id,
			"time", (json_int_t)now, "source", b->src->name, "url",
			reg_url(b->r));
	if (!tags || !refs || !doc) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < b->n_tags; i++) {
		json_t *t =
		    json_pack("{s:s, s:s, s:s}", "repo", b->tags[i].repo, "tag",
			      b->tags[i].tag, "digest", b->tags[i].digest);
		if (!t || json_array_append_new(tags, t)) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
	}
	json_object_set(doc, "tags", tags);
	/* referrers found through the API (fallback tags are in "tags") */
	for (size_t i = 0; i < b->n_refs; i++) {
		json_t *t = json_pack("{s:s, s:s, s:s}", "repo",
				      b->refs[i].repo, "subject",
				      b->refs[i].subject, "digest",
				      b->refs[i].digest);
		if (!t || json_array_append_new(refs, t)) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
	}
	if (b->n_refs)
		json_object_set(doc, "referrers", refs);
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	rc = store_put_snapshot(b->s, id, text, strlen(text), record_hash);
	if (rc)
		goto done;

	memset(&cs, 0, sizeof(cs));
	snprintf(cs.id, sizeof(cs.id), "%s", id);
	cs.time = now;
	snprintf(cs.source, sizeof(cs.source), "%s", b->src->name);
	snprintf(cs.url, sizeof(cs.url), "%s", reg_url(b->r));
	rc = cat_begin(b->c);
	if (rc)
		goto done;
	rc = cat_snapshot_add(b->c, &cs);
	for (size_t i = 0; !rc && i < b->n_tags; i++)
		rc = cat_snapshot_tag_add(b->c, id, b->tags[i].repo,
					  b->tags[i].tag, b->tags[i].digest);
	for (size_t i = 0; !rc && i < b->n_refs; i++)
		rc = cat_snapshot_referrer_add(b->c, id, b->refs[i].repo,
					       b->refs[i].subject,
					       b->refs[i].digest);
	if (!rc && store_signs(b->s))
		rc = maint_seal_new(b->s, b->c, id, b->src->name, now,
				    record_hash);
	if (!rc)
		rc = cat_commit(b->c);
	if (rc) {
		cat_rollback(b->c);
		goto done;
	}
	snprintf(b->st->snapshot, sizeof(b->st->snapshot), "%s", id);
done:
	free(text);
	json_decref(tags);
	json_decref(refs);
	json_decref(doc);
	return rc;
}

static int buf_sink(void *arg, const void *data, size_t len)
{
	return rv_buf_add(arg, data, len);
}

/* The created time of an image manifest's config; RV_NOTFOUND when none
 * can be read (the tag then sorts last). */
static int image_created(int64_t *ns, struct bk *b, const char *repo,
			 const struct reg_manifest *m)
{
	struct rv_buf config = RV_BUF_INIT(CONFIG_MAX);
	int rc;

	if (m->config.size < 0 || (uint64_t)m->config.size > CONFIG_MAX)
		return RV_NOTFOUND;
	rc = reg_blob_get(b->r, repo, m->config.digest, m->config.size,
			  buf_sink, &config);
	if (!rc)
		rc = backup_filter_config_created(ns, config.data, config.len);
	rv_buf_release(&config);
	return rc;
}

/* The created time of what a tag points to: an image's config, or for an
 * index the config of its first child that the platform filter keeps
 * (the first child without a filter). */
static int manifest_created(int64_t *ns, struct bk *b, const char *repo,
			    const char *digest, int depth)
{
	struct rv_buf body = RV_BUF_INIT(MANIFEST_MAX);
	struct reg_manifest *m = NULL;
	struct reg_desc d;
	const struct rv_strlist *pl = b->src->platforms;
	int rc;

	rc = reg_manifest_get(&body, &d, b->r, repo, digest);
	if (!rc)
		rc = reg_manifest_parse(&m, body.data, body.len, d.media_type);
	if (rc)
		goto done;
	if (m->kind == REG_KIND_IMAGE) {
		rc = image_created(ns, b, repo, m);
		goto done;
	}
	rc = RV_NOTFOUND;
	for (size_t i = 0; depth < INDEX_DEPTH_MAX && i < m->n_manifests;
	     i++) {
		if (pl && pl->n &&
		    !backup_filter_platform_match(pl, m->manifests[i].platform))
			continue;
		rc = manifest_created(ns, b, repo, m->manifests[i].digest,
				      depth + 1);
		break;
	}
done:
	reg_manifest_free(m);
	rv_buf_release(&body);
	return rc;
}

static int cand_digest_cmp(const void *a, const void *b)
{
	const struct tag_cand *x = a, *y = b;
	return strcmp(x->d.digest, y->d.digest);
}

static int cand_tag_cmp(const void *a, const void *b)
{
	const struct tag_cand *x = a, *y = b;
	return strcmp(x->tag, y->tag);
}

/* keep_newest: rank the candidates by their image's created time and
 * keep the first N (*n shrinks). One config read per distinct digest. */
static int keep_newest(struct bk *b, const char *repo, struct tag_cand *c,
		       size_t *n)
{
	struct backup_tag_time *tt = NULL;
	size_t keep = (size_t)b->src->keep_newest;
	int rc = 0;

	if (*n <= keep)
		return 0;
	qsort(c, *n, sizeof(*c), cand_digest_cmp);
	for (size_t i = 0; i < *n; i++) {
		if (i > 0 && !strcmp(c[i].d.digest, c[i - 1].d.digest)) {
			c[i].created = c[i - 1].created;
			c[i].has_time = c[i - 1].has_time;
			continue;
		}
		rc = manifest_created(&c[i].created, b, repo, c[i].d.digest, 0);
		c[i].has_time = rc == 0;
		if (rc && rc != RV_NOTFOUND)
			rv_debug("'%s:%s': no created time (%s); it sorts last",
				 repo, c[i].tag, rv_err_msg());
		rc = 0;
	}
	tt = calloc(*n, sizeof(*tt));
	if (!tt)
		return rv_err_set(RV_NOMEM, "out of memory");
	for (size_t i = 0; i < *n; i++) {
		tt[i].tag = c[i].tag;
		tt[i].created = c[i].created;
		tt[i].has_time = c[i].has_time;
	}
	backup_filter_newest_sort(tt, *n);
	/* the kept ones, back in tag order */
	qsort(c, *n, sizeof(*c), cand_tag_cmp);
	{
		size_t w = 0;
		for (size_t i = 0; i < *n; i++) {
			int in = 0;
			for (size_t j = 0; j < keep && !in; j++)
				in = !strcmp(tt[j].tag, c[i].tag);
			if (in)
				c[w++] = c[i];
		}
		rv_info("'%s': keep_newest %zu: %zu tag(s) left out", repo,
			keep, *n - w);
		*n = w;
	}
	free(tt);
	return rc;
}

/* Back up one tag whose HEAD answered d. Returns a fatal code, or 0 with
 * a failure noted in b. */
static int backup_tag(struct bk *b, const char *repo, const char *tag,
		      const struct reg_desc *d, int filter)
{
	char what[512], stored[RV_DIGEST_MAX];
	int rc;

	snprintf(b->cur_what, sizeof(b->cur_what), "%s:%s", repo, tag);
	rc = backup_manifest(stored, b, repo, d->digest, 0, filter);

	/* a manifest or blob the tag needs is missing: the image cannot be
	 * restored, so this is a failure */
	if (rc == RV_NOTFOUND)
		rc = rv_err_set(RV_ERROR, "%s (needed by %s:%s)", rv_err_msg(),
				repo, tag);
	if (!rc) {
		rc = add_tag(b, repo, tag, stored);
		if (rc)
			return rc;
		b->st->tags++;
		meter_show(b);
		return 0;
	}
	if (b->fatal)
		return rc;
	if (rc == RV_REFUSED) {
		rv_warn("%s:%s skipped: %s", repo, tag, rv_err_msg());
		b->st->tags_skipped++;
	} else {
		snprintf(what, sizeof(what), "%s:%s", repo, tag);
		note_failure(b, rc, what);
		b->st->tags_failed++;
	}
	return 0;
}

/* HEAD a tag: 0 and *d, 1 when it vanished or failed (noted), or a fatal
 * code. */
static int head_outcome(struct bk *b, const char *repo, const char *tag,
			int rc, const char *msg)
{
	char what[512];

	if (rc == RV_NOTFOUND) {
		rv_warn("tag '%s:%s' disappeared during the walk; skipped",
			repo, tag);
		return 1;
	}
	if (rc == RV_REFUSED) {
		rv_warn("%s:%s skipped: %s", repo, tag, msg);
		b->st->tags_skipped++;
		return 1;
	}
	if (rc) {
		snprintf(what, sizeof(what), "%s:%s", repo, tag);
		rv_err_set(rc, "%s", msg);
		note_failure(b, rc, what);
		b->st->tags_failed++;
		return 1;
	}
	b->st->manifest_heads++;
	return 0;
}

static int head_tag(struct reg_desc *d, struct bk *b, const char *repo,
		    const char *tag)
{
	int rc = reg_manifest_head(d, b->r, repo, tag);

	return head_outcome(b, repo, tag, rc, rc ? rv_err_msg() : "");
}

static int referrer_add(struct bk *b, const char *repo, const char *subject,
			const char *digest)
{
	struct referrer_entry *e;
	int rc;

	rc = rv_array_grow((void **)&b->refs, &b->cap_refs, b->n_refs + 1,
			   sizeof(*b->refs));
	if (rc)
		return rc;
	e = &b->refs[b->n_refs];
	e->repo = strdup(repo);
	if (!e->repo)
		return rv_err_set(RV_NOMEM, "out of memory");
	snprintf(e->subject, sizeof(e->subject), "%s", subject);
	snprintf(e->digest, sizeof(e->digest), "%s", digest);
	b->n_refs++;
	return 0;
}

/* The referrers API: for every manifest backed up in this repository
 * (the list grows as referrers are found: a signature's referrers are
 * followed too, up to BACKUP_REFERRERS_DEPTH_MAX). After one
 * RV_UNSUPPORTED the repository is not asked again. */
static int backup_referrers_api(struct bk *b, const char *repo)
{
	struct rv_buf list = RV_BUF_INIT((size_t)64 << 20);
	struct rv_strlist found = RV_STRLIST_INIT;
	char what[600], stored[RV_DIGEST_MAX], subject[RV_DIGEST_MAX];
	size_t n_found;
	int rc = 0;

	for (size_t i = 0; !b->api_off && i < b->seen.n; i++) {
		int depth = b->seen_depth[i];

		snprintf(subject, sizeof(subject), "%s",
			 (const char *)b->seen.keys[i]);
		if (depth >= BACKUP_REFERRERS_DEPTH_MAX)
			continue;
		rv_buf_reset(&list);
		rc = reg_referrers(&list, b->r, repo, subject);
		if (rc == RV_UNSUPPORTED) {
			rv_log(b->api_noted ? RV_LOG_DEBUG : RV_LOG_INFO, "%s",
			       rv_err_msg());
			b->api_noted = 1;
			b->api_off = 1;
			rc = 0;
			break;
		}
		if (!rc) {
			rv_strlist_release(&found);
			rc = backup_referrers_parse(&found,
						    rv_buf_cstr(&list),
						    list.len, subject);
		}
		if (rc) {
			snprintf(what, sizeof(what), "referrers of %s@%s",
				 repo, subject);
			note_failure(b, rc, what);
			b->st->tags_failed++;
			rc = 0;
			continue;
		}
		n_found = found.n;
		if (n_found > BACKUP_REFERRERS_PER_SUBJECT_MAX) {
			rv_warn("%s@%s has %zu referrers; only the first %d "
				"are backed up",
				repo, subject, n_found,
				BACKUP_REFERRERS_PER_SUBJECT_MAX);
			n_found = BACKUP_REFERRERS_PER_SUBJECT_MAX;
		}
		for (size_t j = 0; j < n_found; j++) {
			if (b->n_refs >= BACKUP_REFERRERS_PER_RUN_MAX) {
				if (!b->refs_capped)
					rv_warn("more than %d referrers in "
						"this run; the rest are not "
						"backed up",
						BACKUP_REFERRERS_PER_RUN_MAX);
				b->refs_capped = 1;
				break;
			}
			b->cur_ref_depth = depth + 1;
			rc = backup_manifest(stored, b, repo, found.items[j],
					     0, 0);
			b->cur_ref_depth = 0;
			if (!rc)
				rc = referrer_add(b, repo, subject,
						  found.items[j]);
			if (!rc)
				continue;
			if (b->fatal || rc == RV_NOMEM)
				goto done;
			snprintf(what, sizeof(what), "referrer %s of %s@%s",
				 found.items[j], repo, subject);
			if (rc == RV_REFUSED) {
				rv_warn("%s skipped: %s", what, rv_err_msg());
			} else {
				note_failure(b, rc, what);
				b->st->tags_failed++;
			}
			rc = 0;
		}
	}
done:
	rv_strlist_release(&found);
	rv_buf_release(&list);
	return rc;
}

/* Back up every tag of one repository. Returns a fatal code, or 0 with
 * per-tag failures noted in b. */
static int backup_repo(struct bk *b, const char *repo)
{
	char what[512], subject[RV_DIGEST_MAX];
	struct rv_strlist tags = RV_STRLIST_INIT;
	struct tag_cand *cands = NULL;
	unsigned char *rdone = NULL;
	const char **htags = NULL;
	struct head_result *hres = NULL;
	size_t n_cands = 0, n_ref_tags = 0, n_dropped = 0, n_heads = 0;
	const struct backup_source *src = b->src;
	int no_tag_filters =
	    (!src->tags_include || !src->tags_include->n) &&
	    (!src->tags_exclude || !src->tags_exclude->n) &&
	    src->keep_newest == 0;
	int rc = reg_tags(b->r, repo, &tags);

	rv_set_clear(&b->seen);
	b->api_off = 0;
	b->cur_ref_depth = 0;
	rv_meter_where(&b->meter, repo);
	if (rc == RV_NOTFOUND) {
		rv_warn("repository '%s' disappeared during the walk; "
			"skipped",
			repo);
		rc = 0;
		goto done;
	}
	if (rc) {
		snprintf(what, sizeof(what), "repository '%s'", repo);
		note_failure(b, rc, what);
		b->st->repos_failed++;
		rc = 0;
		goto done;
	}
	rv_strlist_sort(&tags);
	b->st->repositories++;
	cands = calloc(tags.n ? tags.n : 1, sizeof(*cands));
	rdone = calloc(tags.n ? tags.n : 1, 1);
	htags = calloc(tags.n ? tags.n : 1, sizeof(*htags));
	hres = calloc(tags.n ? tags.n : 1, sizeof(*hres));
	if (!cands || !rdone || !htags || !hres) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	/* 1. ordinary tags through the name filters; referrer tags wait
	 * for their subjects */
	for (size_t i = 0; i < tags.n; i++) {
		const char *tag = tags.items[i];

		if (backup_filter_referrer_tag(subject, tag)) {
			if (!b->src->referrers) {
				rdone[i] = 1;
				n_dropped++;
			} else {
				n_ref_tags++;
			}
			continue;
		}
		rdone[i] = 1;
		if (!backup_filter_tag_kept(b->tag_filter, tag)) {
			n_dropped++;
			continue;
		}
		htags[n_heads++] = tag;
	}
	/* their HEADs, several at once; results in tag order */
	rc = heads_run(b->heads, repo, htags, n_heads, hres);
	for (size_t i = 0; !rc && i < n_heads; i++) {
		int h = head_outcome(b, repo, htags[i], hres[i].rc,
				     hres[i].msg ? hres[i].msg : "");
		if (h == 0) {
			cands[n_cands].d = hres[i].d;
			cands[n_cands++].tag = htags[i];
		}
	}
	if (rc)
		goto done;
	/* 2. the newest N */
	if (b->src->keep_newest > 0) {
		size_t before = n_cands;
		rc = keep_newest(b, repo, cands, &n_cands);
		if (rc)
			goto done;
		n_dropped += before - n_cands;
	}
	/* 3. back them up */
	for (size_t i = 0; i < n_cands; i++) {
		rc = backup_tag(b, repo, cands[i].tag, &cands[i].d, 1);
		if (rc)
			goto done;
	}
	/* 4. referrer tags (`sha256-<hex>[.sig|.att|.sbom]`): the tag filters
	 * never judge them; they are kept when their subject is backed up
	 * here (a signature of a signature is found on the next pass), and
	 * all of them when the source has no tag filter (a plain copy) */
	for (int pass = 0; n_ref_tags && pass <= BACKUP_REFERRERS_DEPTH_MAX;
	     pass++) {
		int changed = 0;
		for (size_t i = 0; i < tags.n; i++) {
			struct reg_desc d;
			const char *tag = tags.items[i];

			if (rdone[i] ||
			    !backup_filter_referrer_tag(subject, tag))
				continue;
			if (!rv_set_has(&b->seen, subject,
					strlen(subject) + 1) &&
			    !no_tag_filters)
				continue;
			rdone[i] = 1;
			n_ref_tags--;
			changed = 1;
			rc = head_tag(&d, b, repo, tag);
			if (rc < 0)
				goto done;
			if (rc == 0)
				rc = backup_tag(b, repo, tag, &d, 0);
			if (rc)
				goto done;
		}
		if (!changed)
			break;
	}
	n_dropped += n_ref_tags;
	if (n_dropped)
		rv_info("'%s': %zu of %zu tag(s) left out by the source's "
			"filters",
			repo, n_dropped, tags.n);
	/* 5. the referrers API */
	if (b->src->referrers)
		rc = backup_referrers_api(b, repo);
done:
	heads_results_release(hres, n_heads);
	free(hres);
	free(htags);
	free(rdone);
	free(cands);
	rv_strlist_release(&tags);
	return rc;
}

int backup_run(struct backup_stats *stats, struct cat *c, struct store *s,
	       struct reg *r, const struct backup_source *src)
{
	struct bk b;
	struct rv_strlist repos = RV_STRLIST_INIT;
	int rc, conns;

	memset(&b, 0, sizeof(b));
	b.c = c;
	b.s = s;
	b.r = r;
	b.src = src;
	b.st = stats;
	stats->snapshot[0] = '\0';
	b.tags0 = stats->tags;
	b.bytes0 = stats->bytes_fetched;
	rv_meter_start(&b.meter, "backup", "tags", 0, 0);

	rc = backup_filter_new(&b.tag_filter, src->tags_include,
			       src->tags_exclude);
	if (rc)
		goto done;
	if (src->keep_newest < 0) {
		rc = rv_err_set(RV_INVALID,
				"source '%s': keep_newest must be 0 (all) or "
				"more",
				src->name);
		goto done;
	}

	conns = src->max_connections > 0 ? src->max_connections
					 : BACKUP_CONNS_DEFAULT;
	rc = heads_new(&b.heads, r, conns);
	if (rc)
		goto done;
	/* the walk keeps one connection; the blobs get the others */
	rc = fetch_pool_new(&b.pool, s, c, r, conns - 1);
	if (rc)
		goto done;
	b.ms = fetch_pool_inline_stream(b.pool);
	if (!b.ms) {
		rc = stream_init(&b.own_ms, s, c, commit_own_pack, &b);
		if (rc)
			goto done;
		b.own_ms_ready = 1;
		b.ms = &b.own_ms;
	}
	b.backlog_max =
	    BACKLOG_PER_WORKER * (size_t)(fetch_pool_workers(b.pool) + 1);
	rc = list_repos(&repos, &b);
	if (rc)
		goto done;
	rv_info("source '%s': %zu repositories", src->name, repos.n);
	for (size_t i = 0; i < repos.n; i++) {
		rc = backup_repo(&b, repos.items[i]);
		if (rc)
			goto done;
	}
	/* keep what was fetched even when a tag failed: the next run
	 * need not fetch it again (the meter goes on while the last blobs
	 * arrive) */
	rc = barrier(&b);
	if (rc)
		goto done;
	if (b.first_err) {
		rc = rv_err_set(b.first_err,
				"%llu tag(s) and %llu repositor%s of source "
				"'%s' failed; no snapshot was written (first: "
				"%s)",
				(unsigned long long)stats->tags_failed,
				(unsigned long long)stats->repos_failed,
				stats->repos_failed == 1 ? "y" : "ies",
				src->name, b.first_msg);
		goto done;
	}
	if (b.n_pm) /* every tag succeeded, so every manifest is in */
		rc = rv_err_set(RV_ERROR,
				"internal error: %zu manifest(s) of source "
				"'%s' were not recorded (first: %s, waiting "
				"for %s); no snapshot was written",
				b.n_pm, src->name, b.pm[0].digest,
				b.pm[0].bytes_in
				    ? b.pm[0].refs[b.pm[0].checked].digest
				    : "its own bytes");
	else
		rc = write_snapshot(&b);
done:
	if (rc && b.fatal)
		rv_debug("backup stopped on a store or catalog failure");
	for (size_t i = 0; i < b.n_tags; i++) {
		free(b.tags[i].repo);
		free(b.tags[i].tag);
	}
	free(b.tags);
	for (size_t i = 0; i < b.n_refs; i++)
		free(b.refs[i].repo);
	free(b.refs);
	backup_filter_free(b.tag_filter);
	heads_free(b.heads);
	rv_set_release(&b.seen);
	free(b.seen_depth);
	if (b.pool) {
		/* a failed run stops here: what the workers hold in open packs
		 * is lost (recorded packs are kept); take the events left */
		if (rc)
			(void)pump(&b, 0);
		fetch_pool_free(b.pool);
	}
	if (b.own_ms_ready)
		stream_release(&b.own_ms);
	for (size_t i = 0; i < b.n_pm; i++)
		pm_free(&b.pm[i]);
	free(b.pm);
	rv_set_release(&b.pend_blobs);
	rv_set_release(&b.pend_manifest_set);
	rv_strlist_release(&repos);
	/* last: the events taken above may have drawn the meter again */
	rv_progress_done();
	return rc;
}
