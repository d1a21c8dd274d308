#include "backup/backup.h"

#include "catalog/catalog.h"
#include "maint/seals.h"
#include "registry/manifest.h"
#include "registry/registry.h"
#include "store/chunker.h"
#include "store/store.h"
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

struct pending_manifest {
	char digest[RV_DIGEST_MAX];
	char media_type[128];
	int64_t size;
	struct cat_ref *refs;
	size_t n_refs;
};

struct tag_entry {
	char *repo;
	char *tag;
	char digest[RV_DIGEST_MAX];
};

struct bk {
	struct cat *c;
	struct store *s;
	struct reg *r;
	const struct backup_source *src;
	struct backup_stats *st;

	/* what the open pack holds, not yet in the catalog */
	struct rv_set pend_chunks;
	struct rv_set pend_blobs;
	struct rv_set pend_manifest_set;
	struct pending_manifest *pm;
	size_t n_pm, cap_pm;

	/* the blob being streamed */
	struct chunker *chunker; /* NULL: fixed-size chunks (format 1) */
	unsigned char *chunk_buf;
	size_t chunk_len, chunk_size;
	unsigned char (*blob_chunks)[32];
	size_t n_blob_chunks, cap_blob_chunks;
	struct pack_mark mark;
	uint64_t mark_gen;
	size_t mark_pend_chunks;

	struct tag_entry *tags;
	size_t n_tags, cap_tags;

	int fatal;     /* a store or catalog failure: stop the run */
	int first_err; /* the first per-tag failure */
	char first_msg[2048];
};

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

static void pending_clear(struct bk *b)
{
	for (size_t i = 0; i < b->n_pm; i++)
		free(b->pm[i].refs);
	b->n_pm = 0;
	rv_set_clear(&b->pend_chunks);
	rv_set_clear(&b->pend_blobs);
	rv_set_clear(&b->pend_manifest_set);
}

/* Record a flushed pack (may be NULL) and every pending manifest in one
 * transaction. */
static int commit_pending(struct bk *b, const struct store_flushed *f)
{
	int rc = cat_begin(b->c);
	if (rc)
		return rc;
	if (f) {
		rc = cat_pack_add(b->c, f->pack_id, f->size,
				  (int64_t)time(NULL));
		for (size_t i = 0; !rc && i < store_target_count(b->s); i++)
			if (f->on_target[i])
				rc = cat_pack_location_add(
				    b->c, f->pack_id,
				    store_target_name(b->s, i));
		for (size_t i = 0; !rc && i < f->n_chunks; i++)
			rc = cat_chunk_add(b->c, f->chunks[i].id, f->pack_id,
					   f->chunks[i].offset,
					   f->chunks[i].length,
					   f->chunks[i].plain_len);
		for (size_t i = 0; !rc && i < f->n_blobs; i++) {
			rc = cat_blob_add(
			    b->c, f->blobs[i].digest, f->blobs[i].size,
			    (const unsigned char(*)[32])f->blobs[i].chunks,
			    f->blobs[i].n_chunks);
			if (!rc)
				rc = cat_blob_entry_set(b->c,
							f->blobs[i].digest,
							f->pack_id, 0);
		}
	}
	for (size_t i = 0; !rc && i < b->n_pm; i++)
		rc = cat_manifest_add(b->c, b->pm[i].digest,
				      b->pm[i].media_type, b->pm[i].size,
				      b->pm[i].refs, b->pm[i].n_refs);
	if (!rc)
		rc = cat_commit(b->c);
	if (rc) {
		cat_rollback(b->c);
		return rc;
	}
	if (f) {
		b->st->packs_written++;
		b->st->bytes_written += f->size;
		rv_debug("pack %.12s: %zu chunks, %zu blobs, %llu bytes",
			 f->pack_id, f->n_chunks, f->n_blobs,
			 (unsigned long long)f->size);
	}
	pending_clear(b);
	return 0;
}

/* Finish the open pack, put it on every target, record it. */
static int flush(struct bk *b)
{
	struct store_flushed *f = NULL;
	int rc = store_flush(b->s, &f);
	if (!rc)
		rc = commit_pending(b, f);
	store_flushed_free(f);
	if (rc)
		b->fatal = 1;
	return rc;
}

static void take_mark(struct bk *b)
{
	store_mark(b->s, &b->mark, &b->mark_gen);
	b->mark_pend_chunks = b->pend_chunks.n;
}

static int blob_chunk_append(struct bk *b, const unsigned char id[32])
{
	if (b->n_blob_chunks == b->cap_blob_chunks) {
		size_t ncap = b->cap_blob_chunks ? b->cap_blob_chunks * 2 : 64;
		void *p = realloc(b->blob_chunks, ncap * 32);
		if (!p)
			return rv_err_set(RV_NOMEM, "out of memory");
		b->blob_chunks = p;
		b->cap_blob_chunks = ncap;
	}
	memcpy(b->blob_chunks[b->n_blob_chunks++], id, 32);
	return 0;
}

/* Store one chunk of the current blob unless it is already stored. */
static int add_chunk(struct bk *b, const void *data, size_t len)
{
	unsigned char id[32];
	int rc = store_chunk_id(id, b->s, data, len);
	if (!rc)
		rc = blob_chunk_append(b, id);
	if (rc)
		goto fail;
	if (rv_set_has(&b->pend_chunks, id, 32))
		return 0;
	rc = cat_chunk_has(b->c, id);
	if (rc < 0)
		goto fail;
	if (rc == 1)
		return 0;
	rc = store_add_chunk(b->s, id, data, len);
	if (!rc && rv_set_add(&b->pend_chunks, id, 32) < 0)
		rc = RV_NOMEM;
	if (rc)
		goto fail;
	b->st->chunks_written++;
	if (store_pack_full(b->s)) {
		rc = flush(b);
		if (rc)
			goto fail;
		take_mark(b); /* a rollback can only undo the open pack */
	}
	return 0;
fail:
	b->fatal = 1;
	return rc;
}

static int emit_chunk(void *arg, const unsigned char *data, size_t len)
{
	return add_chunk(arg, data, len);
}

/* The next bytes of the current blob: cut into content-defined chunks, or
 * fixed-size ones in a format 1 store. */
static int blob_sink(void *arg, const void *data, size_t len)
{
	struct bk *b = arg;
	const unsigned char *p = data;

	if (b->chunker)
		return chunker_feed(b->chunker, data, len, emit_chunk, b);
	while (len) {
		size_t n = b->chunk_size - b->chunk_len;
		if (n > len)
			n = len;
		memcpy(b->chunk_buf + b->chunk_len, p, n);
		b->chunk_len += n;
		p += n;
		len -= n;
		if (b->chunk_len == b->chunk_size) {
			int rc = add_chunk(b, b->chunk_buf, b->chunk_len);
			if (rc)
				return rc;
			b->chunk_len = 0;
		}
	}
	return 0;
}

/* The end of the current blob: its last, short chunk. */
static int blob_end(struct bk *b)
{
	int rc = 0;
	if (b->chunker)
		return chunker_finish(b->chunker, emit_chunk, b);
	if (b->chunk_len)
		rc = add_chunk(b, b->chunk_buf, b->chunk_len);
	b->chunk_len = 0;
	return rc;
}

static int is_known_blob(struct bk *b, const char *digest)
{
	if (rv_set_has(&b->pend_blobs, digest, strlen(digest)))
		return 1;
	return cat_blob_has(b->c, digest);
}

/* Record the blob just streamed (its chunks are in b->blob_chunks). */
static int finish_blob(struct bk *b, const char *digest, int64_t size, int kind,
		       const char *media_type)
{
	struct pack_blob pb;
	int rc;

	memset(&pb, 0, sizeof(pb));
	snprintf(pb.digest, sizeof(pb.digest), "%s", digest);
	pb.size = size;
	pb.kind = kind;
	snprintf(pb.media_type, sizeof(pb.media_type), "%s",
		 media_type ? media_type : "");
	pb.chunks = b->blob_chunks;
	pb.n_chunks = b->n_blob_chunks;
	rc = store_add_blob(b->s, &pb);
	if (!rc && rv_set_add(&b->pend_blobs, digest, strlen(digest)) < 0)
		rc = RV_NOMEM;
	if (rc)
		b->fatal = 1;
	return rc;
}

static void begin_blob(struct bk *b)
{
	b->chunk_len = 0;
	if (b->chunker)
		chunker_reset(b->chunker);
	b->n_blob_chunks = 0;
	take_mark(b);
}

/* Undo what a failed blob added to the open pack. */
static void abandon_blob(struct bk *b)
{
	if (store_rollback(b->s, &b->mark, b->mark_gen) == 0)
		rv_set_truncate(&b->pend_chunks, b->mark_pend_chunks);
	else
		b->fatal = 1;
}

/* Fetch a blob from the registry into the store (once, ever). */
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
	begin_blob(b);
	rc = reg_blob_get(b->r, repo, ref->digest, ref->size, blob_sink, b);
	if (!rc)
		rc = blob_end(b);
	if (rc) {
		if (!b->fatal)
			abandon_blob(b);
		return rc;
	}
	b->st->blobs_fetched++;
	b->st->bytes_fetched += (uint64_t)ref->size;
	return finish_blob(b, ref->digest, ref->size, PACK_BLOB, NULL);
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
	begin_blob(b);
	rc = blob_sink(b, body->data, body->len);
	if (!rc)
		rc = blob_end(b);
	if (rc)
		return rc;
	return finish_blob(b, d->digest, (int64_t)body->len, PACK_MANIFEST,
			   d->media_type);
}

static int add_pending_manifest(struct bk *b, const struct reg_desc *d,
				const struct reg_manifest *m)
{
	struct pending_manifest *pm;
	size_t n = m->kind == REG_KIND_INDEX ? m->n_manifests : 1 + m->n_layers;

	if (b->n_pm == b->cap_pm) {
		size_t ncap = b->cap_pm ? b->cap_pm * 2 : 16;
		void *p = realloc(b->pm, ncap * sizeof(*b->pm));
		if (!p)
			return rv_err_set(RV_NOMEM, "out of memory");
		b->pm = p;
		b->cap_pm = ncap;
	}
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
		return RV_NOMEM;
	return 0;
}

static int is_known_manifest(struct bk *b, const char *digest)
{
	if (rv_set_has(&b->pend_manifest_set, digest, strlen(digest)))
		return 1;
	return cat_manifest_has(b->c, digest);
}

/* Back up a manifest and everything it needs, children first. */
static int backup_manifest(struct bk *b, const char *repo, const char *digest,
			   int depth)
{
	struct rv_buf body = RV_BUF_INIT(MANIFEST_MAX);
	struct reg_manifest *m = NULL;
	struct reg_desc d;
	int rc;

	rc = is_known_manifest(b, digest);
	if (rc != 0) {
		if (rc < 0)
			b->fatal = 1;
		return rc < 0 ? rc : 0;
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
	if (m->kind == REG_KIND_INDEX) {
		for (size_t i = 0; !rc && i < m->n_manifests; i++)
			rc = backup_manifest(b, repo, m->manifests[i].digest,
					     depth + 1);
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
done:
	reg_manifest_free(m);
	rv_buf_release(&body);
	return rc;
}

static int add_tag(struct bk *b, const char *repo, const char *tag,
		   const char *digest)
{
	struct tag_entry *t;
	if (b->n_tags == b->cap_tags) {
		size_t ncap = b->cap_tags ? b->cap_tags * 2 : 64;
		void *p = realloc(b->tags, ncap * sizeof(*b->tags));
		if (!p)
			return rv_err_set(RV_NOMEM, "out of memory");
		b->tags = p;
		b->cap_tags = ncap;
	}
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
	json_t *doc = NULL, *tags = NULL;
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
	doc = json_pack("{s:i, s:s, s:I, s:s, s:s}", "version", 1, "id", id,
			"time", (json_int_t)now, "source", b->src->name, "url",
			reg_url(b->r));
	if (!tags || !doc) {
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
	json_decref(doc);
	return rc;
}

/* Back up every tag of one repository. Returns a fatal code, or 0 with
 * per-tag failures noted in b. */
static int backup_repo(struct bk *b, const char *repo)
{
	char what[512];
	struct rv_strlist tags = RV_STRLIST_INIT;
	int rc = reg_tags(b->r, repo, &tags);

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
	for (size_t i = 0; i < tags.n; i++) {
		struct reg_desc d;
		const char *tag = tags.items[i];

		rc = reg_manifest_head(&d, b->r, repo, tag);
		if (rc == RV_NOTFOUND) {
			rv_warn("tag '%s:%s' disappeared during the walk; "
				"skipped",
				repo, tag);
			continue;
		}
		if (!rc) {
			b->st->manifest_heads++;
			rc = backup_manifest(b, repo, d.digest, 0);
			/* a manifest or blob the tag needs is missing: the
			 * image cannot be restored, so this is a failure */
			if (rc == RV_NOTFOUND)
				rc =
				    rv_err_set(RV_ERROR, "%s (needed by %s:%s)",
					       rv_err_msg(), repo, tag);
		}
		if (!rc) {
			char h[32];
			rc = add_tag(b, repo, tag, d.digest);
			if (rc)
				goto done;
			b->st->tags++;
			rv_progress(
			    "backup %s: %s:%s | %llu tags, %llu blobs "
			    "fetched, %s",
			    b->src->name, repo, tag,
			    (unsigned long long)b->st->tags,
			    (unsigned long long)b->st->blobs_fetched,
			    rv_human_bytes(h, sizeof(h), b->st->bytes_fetched));
			continue;
		}
		if (b->fatal)
			goto done;
		if (rc == RV_REFUSED) {
			rv_warn("%s:%s skipped: %s", repo, tag, rv_err_msg());
			b->st->tags_skipped++;
		} else {
			snprintf(what, sizeof(what), "%s:%s", repo, tag);
			note_failure(b, rc, what);
			b->st->tags_failed++;
		}
		rc = 0;
	}
done:
	rv_strlist_release(&tags);
	return rc;
}

int backup_run(struct backup_stats *stats, struct cat *c, struct store *s,
	       struct reg *r, const struct backup_source *src)
{
	struct bk b;
	struct rv_strlist repos = RV_STRLIST_INIT;
	int rc;

	memset(&b, 0, sizeof(b));
	b.c = c;
	b.s = s;
	b.r = r;
	b.src = src;
	b.st = stats;
	b.chunk_size = store_chunk_size(s);
	rc = store_chunker_new(&b.chunker, s);
	if (rc)
		goto done;
	if (!b.chunker)
		b.chunk_buf = malloc(b.chunk_size);
	if (!b.chunker && !b.chunk_buf) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	stats->snapshot[0] = '\0';

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
	 * need not fetch it again */
	rv_progress_done();
	rc = flush(&b);
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
	rc = write_snapshot(&b);
done:
	rv_progress_done();
	if (rc && b.fatal)
		rv_debug("backup stopped on a store or catalog failure");
	for (size_t i = 0; i < b.n_tags; i++) {
		free(b.tags[i].repo);
		free(b.tags[i].tag);
	}
	free(b.tags);
	pending_clear(&b);
	free(b.pm);
	rv_set_release(&b.pend_chunks);
	rv_set_release(&b.pend_blobs);
	rv_set_release(&b.pend_manifest_set);
	free(b.blob_chunks);
	free(b.chunk_buf);
	chunker_free(b.chunker);
	rv_strlist_release(&repos);
	return rc;
}
