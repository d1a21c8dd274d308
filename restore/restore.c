#include "restore/restore.h"

#include "catalog/catalog.h"
#include "registry/registry.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/glob.h"
#include "util/log.h"
#include "util/set.h"

#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX (4u << 20)

struct rtag {
	char *repo;
	char *tag;
	char digest[RV_DIGEST_MAX];
	int failed; /* its repository failed (opts.repo_failed) */
};

struct rblob {
	char digest[RV_DIGEST_MAX];
	int64_t size;
};

struct rs {
	struct cat *c;
	struct store *s;
	struct reg *dst;
	const struct restore_opts *o;
	struct restore_stats *st;
	struct rtag *tags;
	size_t n_tags, cap_tags;
	/* blobs pushed by this run, with the repository they went to */
	struct rv_set pushed;
	char **pushed_repo;
	size_t cap_pushed;
};

static int collect_tag(void *arg, const char *repo, const char *tag,
		       const char *digest)
{
	struct rs *x = arg;
	const struct rv_strlist *sel = x->o->repos;
	int in = !sel || sel->n == 0;
	struct rtag *t;

	for (size_t i = 0; !in && i < sel->n; i++)
		in = rv_glob_match(sel->items[i], repo);
	if (!in)
		return 0;
	if (x->o->tags) {
		size_t rlen = strlen(repo), tlen = strlen(tag);
		char *key = malloc(rlen + tlen + 2);
		if (!key)
			return rv_err_set(RV_NOMEM, "out of memory");
		memcpy(key, repo, rlen);
		key[rlen] = ':';
		memcpy(key + rlen + 1, tag, tlen + 1);
		in = rv_set_has(x->o->tags, key, rlen + tlen + 1);
		free(key);
		if (!in)
			return 0;
	}
	if (x->n_tags == x->cap_tags) {
		size_t ncap = x->cap_tags ? x->cap_tags * 2 : 64;
		void *p = realloc(x->tags, ncap * sizeof(*x->tags));
		if (!p)
			return rv_err_set(RV_NOMEM, "out of memory");
		x->tags = p;
		x->cap_tags = ncap;
	}
	t = &x->tags[x->n_tags];
	t->repo = strdup(repo);
	t->tag = strdup(tag);
	if (!t->repo || !t->tag) {
		free(t->repo);
		free(t->tag);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	snprintf(t->digest, sizeof(t->digest), "%s", digest);
	t->failed = 0;
	x->n_tags++;
	return 0;
}

/* Streams a stored blob chunk by chunk, checking that it reassembles to
 * its digest and size. */
struct blob_reader {
	struct store *s;
	const char *digest;
	struct cat_chunk_loc *locs;
	size_t n_locs, next;
	int64_t size;
	uint64_t total;
	struct rv_buf chunk;
	size_t pos;
	struct rv_sha256 sha;
	int done;
};

static int reader_open(struct blob_reader *br, struct rs *x, const char *digest)
{
	int rc;
	memset(br, 0, sizeof(*br));
	br->s = x->s;
	br->digest = digest;
	rv_buf_init(&br->chunk, 2 * store_chunk_size(x->s) + (1u << 20));
	rc = cat_blob_chunks(&br->locs, &br->n_locs, &br->size, x->c, digest);
	if (rc)
		return rc;
	return rv_sha256_init(&br->sha);
}

static void reader_close(struct blob_reader *br)
{
	free(br->locs);
	rv_buf_release(&br->chunk);
	rv_sha256_release(&br->sha);
}

static int reader_finish(struct blob_reader *br)
{
	unsigned char sha[RV_SHA256_LEN];
	char got[RV_DIGEST_MAX];
	int rc = rv_sha256_final(&br->sha, sha);
	if (rc)
		return rc;
	rv_digest_format(got, sha);
	if (strcmp(got, br->digest) || br->total != (uint64_t)br->size)
		return rv_err_set(RV_CORRUPT,
				  "stored blob %s does not reassemble to its "
				  "digest (got %s, %llu bytes); run "
				  "'regvault verify' and restore from another "
				  "target",
				  br->digest, got,
				  (unsigned long long)br->total);
	return 0;
}

static int reader_fill(void *arg, void *buf, size_t cap, size_t *got)
{
	struct blob_reader *br = arg;
	unsigned char *out = buf;
	int rc;

	*got = 0;
	while (cap > 0) {
		if (br->pos == br->chunk.len) {
			const struct cat_chunk_loc *l;
			if (br->next == br->n_locs) {
				if (!br->done) {
					br->done = 1;
					rc = reader_finish(br);
					if (rc)
						return rc;
				}
				return 0;
			}
			l = &br->locs[br->next++];
			rv_buf_reset(&br->chunk);
			br->pos = 0;
			rc = store_read_chunk(br->s, l->pack_id, l->offset,
					      l->length, l->id, &br->chunk);
			if (rc)
				return rc;
			if (br->chunk.len != l->plain_len)
				return rv_err_set(RV_CORRUPT,
						  "chunk of blob %s in pack %s "
						  "has the wrong length",
						  br->digest, l->pack_id);
			rc = rv_sha256_update(&br->sha, br->chunk.data,
					      br->chunk.len);
			if (rc)
				return rc;
			br->total += br->chunk.len;
			continue;
		}
		size_t n = br->chunk.len - br->pos;
		if (n > cap)
			n = cap;
		memcpy(out, br->chunk.data + br->pos, n);
		br->pos += n;
		out += n;
		cap -= n;
		*got += n;
	}
	return 0;
}

/* A stored object (manifest bytes) read whole into out. */
static int read_object(struct rv_buf *out, struct rs *x, const char *digest)
{
	struct blob_reader br;
	unsigned char tmp[65536];
	size_t got;
	int rc = reader_open(&br, x, digest);

	while (!rc) {
		rc = reader_fill(&br, tmp, sizeof(tmp), &got);
		if (rc || got == 0)
			break;
		rc = rv_buf_add(out, tmp, got);
	}
	reader_close(&br);
	return rc;
}

static int push_blob(struct rs *x, const char *repo, const struct rblob *bl)
{
	struct blob_reader br;
	int64_t have;
	long idx;
	int rc = reg_blob_head(&have, x->dst, repo, bl->digest);

	if (rc == 0) {
		x->st->blobs_skipped++;
		x->st->bytes_skipped += (uint64_t)bl->size;
		return 0;
	}
	if (rc != RV_NOTFOUND)
		return rc;
	idx = rv_set_index(&x->pushed, bl->digest, strlen(bl->digest));
	if (idx >= 0) {
		rc = reg_blob_mount(x->dst, repo, bl->digest,
				    x->pushed_repo[idx]);
		if (rc == 0) {
			x->st->blobs_mounted++;
			x->st->bytes_mounted += (uint64_t)bl->size;
			return 0;
		}
		if (rc != RV_NOTFOUND)
			return rc;
	}
	rc = reader_open(&br, x, bl->digest);
	if (!rc)
		rc = reg_blob_put(x->dst, repo, bl->digest, br.size,
				  reader_fill, &br);
	if (!rc && !br.done) {
		/* the upload took exactly `size` bytes: the stored blob must
		 * end there and hash to its digest */
		unsigned char extra;
		size_t got = 0;
		rc = reader_fill(&br, &extra, 1, &got);
		if (!rc && got)
			rc = rv_err_set(RV_CORRUPT,
					"stored blob %s is longer than its "
					"size",
					bl->digest);
	}
	if (!rc) {
		x->st->blobs_pushed++;
		x->st->bytes_pushed += (uint64_t)br.size;
	}
	reader_close(&br);
	if (rc)
		return rc;
	rc = rv_set_add(&x->pushed, bl->digest, strlen(bl->digest));
	if (rc == 1) {
		if (x->pushed.n > x->cap_pushed) {
			size_t ncap = x->cap_pushed ? x->cap_pushed * 2 : 64;
			char **p = realloc(x->pushed_repo, ncap * sizeof(*p));
			if (!p)
				return rv_err_set(RV_NOMEM, "out of memory");
			x->pushed_repo = p;
			x->cap_pushed = ncap;
		}
		x->pushed_repo[x->pushed.n - 1] = strdup(repo);
		if (!x->pushed_repo[x->pushed.n - 1])
			return rv_err_set(RV_NOMEM, "out of memory");
		rc = 0;
	}
	return rc < 0 ? rc : 0;
}

/* What one repository needs: manifests children-first, and its blobs. */
struct plan {
	struct rv_set seen;
	struct rv_strlist order;
	struct rv_set blob_set;
	struct rblob *blobs;
	size_t n_blobs, cap_blobs;
};

static int plan_visit(struct plan *p, struct rs *x, const char *digest,
		      int depth)
{
	struct cat_manifest *m = NULL;
	int rc;

	if (rv_set_has(&p->seen, digest, strlen(digest)))
		return 0;
	if (depth > 8)
		return rv_err_set(RV_CORRUPT, "manifest %s nests too deep",
				  digest);
	rc = cat_manifest_get(&m, x->c, digest);
	if (rc)
		return rc == RV_NOTFOUND
			   ? rv_err_set(RV_CORRUPT,
					"the catalog lacks manifest %s "
					"that the snapshot needs",
					digest)
			   : rc;
	for (size_t i = 0; !rc && i < m->n_refs; i++) {
		const struct cat_ref *ref = &m->refs[i];
		if (ref->is_manifest) {
			rc = plan_visit(p, x, ref->digest, depth + 1);
			continue;
		}
		if (ref->nondistributable)
			continue;
		rc = rv_set_add(&p->blob_set, ref->digest, strlen(ref->digest));
		if (rc == 1) {
			rc = 0;
			if (p->n_blobs == p->cap_blobs) {
				size_t ncap =
				    p->cap_blobs ? p->cap_blobs * 2 : 64;
				void *np =
				    realloc(p->blobs, ncap * sizeof(*p->blobs));
				if (!np) {
					rc = rv_err_set(RV_NOMEM,
							"out of memory");
					break;
				}
				p->blobs = np;
				p->cap_blobs = ncap;
			}
			snprintf(p->blobs[p->n_blobs].digest,
				 sizeof(p->blobs[0].digest), "%s", ref->digest);
			p->blobs[p->n_blobs].size = ref->size;
			p->n_blobs++;
		}
	}
	if (!rc && (rc = rv_set_add(&p->seen, digest, strlen(digest))) >= 0)
		rc = rv_strlist_add(&p->order, digest);
	cat_manifest_free(m);
	return rc;
}

static void plan_release(struct plan *p)
{
	rv_set_release(&p->seen);
	rv_set_release(&p->blob_set);
	rv_strlist_release(&p->order);
	free(p->blobs);
	memset(p, 0, sizeof(*p));
}

static int push_manifest(struct rs *x, const char *repo, const char *digest,
			 const char *ref)
{
	struct rv_buf body = RV_BUF_INIT(MANIFEST_MAX);
	struct cat_manifest *m = NULL;
	int rc = cat_manifest_get(&m, x->c, digest);
	if (!rc)
		rc = read_object(&body, x, digest);
	if (!rc)
		rc = reg_manifest_put(x->dst, repo, ref, m->media_type,
				      body.data, body.len);
	cat_manifest_free(m);
	rv_buf_release(&body);
	return rc;
}

/* Restore the tags [first, end) which all belong to one repository. */
static int restore_repo(struct rs *x, size_t first, size_t end)
{
	const char *repo = x->tags[first].repo;
	struct plan p;
	uint64_t bytes = 0;
	int rc = 0;

	memset(&p, 0, sizeof(p));
	for (size_t i = first; !rc && i < end; i++)
		rc = plan_visit(&p, x, x->tags[i].digest, 0);
	if (rc)
		goto done;
	for (size_t i = 0; i < p.n_blobs; i++)
		bytes += (uint64_t)p.blobs[i].size;
	x->st->repositories++;
	x->st->blobs_planned += p.n_blobs;
	x->st->bytes_planned += bytes;
	if (x->o->dry_run) {
		fprintf(x->o->plan,
			"%s: %zu tag(s), %zu manifest(s), %zu blob(s), "
			"%llu bytes\n",
			repo, end - first, p.order.n, p.n_blobs,
			(unsigned long long)bytes);
		for (size_t i = first; i < end; i++)
			fprintf(x->o->plan, "  %s:%s -> %s\n", repo,
				x->tags[i].tag, x->tags[i].digest);
		x->st->tags += end - first;
		goto done;
	}
	rv_info("restoring '%s': %zu tag(s), %zu manifest(s), %zu blob(s)",
		repo, end - first, p.order.n, p.n_blobs);
	for (size_t i = 0; !rc && i < p.n_blobs; i++)
		rc = push_blob(x, repo, &p.blobs[i]);
	for (size_t i = 0; !rc && i < p.order.n; i++) {
		rc = push_manifest(x, repo, p.order.items[i], p.order.items[i]);
		if (!rc)
			x->st->manifests_pushed++;
	}
	for (size_t i = first; !rc && i < end; i++) {
		rc = push_manifest(x, repo, x->tags[i].digest, x->tags[i].tag);
		if (!rc)
			x->st->tags++;
	}
done:
	plan_release(&p);
	return rc;
}

/* Read every restored tag back from the destination. */
static int verify_tags(struct rs *x)
{
	size_t bad = 0;
	for (size_t i = 0; i < x->n_tags; i++) {
		struct reg_desc d;
		const struct rtag *t = &x->tags[i];
		int rc;

		if (t->failed)
			continue;
		rc = reg_manifest_head(&d, x->dst, t->repo, t->tag);
		if (rc) {
			rv_log(RV_LOG_ERROR, "verify %s:%s: %s", t->repo,
			       t->tag, rv_err_msg());
			bad++;
			continue;
		}
		if (strcmp(d.digest, t->digest)) {
			rv_log(RV_LOG_ERROR,
			       "verify %s:%s: the destination has %s, the "
			       "snapshot %s",
			       t->repo, t->tag, d.digest, t->digest);
			bad++;
			continue;
		}
		x->st->tags_verified++;
	}
	if (bad)
		return rv_err_set(RV_CORRUPT,
				  "%zu restored tag(s) do not read back with "
				  "the snapshot's digest",
				  bad);
	return 0;
}

int restore_run(struct restore_stats *st, struct cat *c, struct store *s,
		struct reg *dst, const struct restore_opts *o)
{
	struct rs x;
	char *first_msg = NULL;
	int rc, first_rc = 0;

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.s = s;
	x.dst = dst;
	x.o = o;
	x.st = st;
	rc = cat_snapshot_tags(c, o->snapshot, collect_tag, &x);
	if (rc)
		goto done;
	if (x.n_tags == 0) {
		rc = rv_err_set(RV_NOTFOUND,
				"snapshot %.12s has no tag in the selected "
				"repositories",
				o->snapshot);
		goto done;
	}
	for (size_t first = 0; first < x.n_tags && !rc;) {
		size_t end = first + 1;
		while (end < x.n_tags &&
		       !strcmp(x.tags[end].repo, x.tags[first].repo))
			end++;
		rc = restore_repo(&x, first, end);
		if (rc && o->repo_failed && rc != RV_NOMEM &&
		    rc != RV_CANCELLED) {
			/* a drill wants every broken repository named, not
			 * only the first */
			int stop = o->repo_failed(o->arg, x.tags[first].repo,
						  rc, rv_err_msg());
			if (stop) {
				rc = stop;
				break;
			}
			if (!first_rc) {
				first_rc = rc;
				first_msg = strdup(rv_err_msg());
			}
			for (size_t i = first; i < end; i++)
				x.tags[i].failed = 1;
			rc = 0;
		}
		first = end;
	}
	if (!rc && !o->dry_run)
		rc = verify_tags(&x);
	if (!rc && first_rc)
		rc = rv_err_set(first_rc, "%s",
				first_msg ? first_msg : rv_code_name(first_rc));
done:
	free(first_msg);
	for (size_t i = 0; i < x.n_tags; i++) {
		free(x.tags[i].repo);
		free(x.tags[i].tag);
	}
	free(x.tags);
	for (size_t i = 0; i < x.pushed.n; i++)
		free(x.pushed_repo[i]);
	free(x.pushed_repo);
	rv_set_release(&x.pushed);
	return rc;
}
