#include "restore/restore.h"

#include "restore/upload_pool.h"

#include "catalog/catalog.h"
#include "registry/registry.h"
#include "store/store.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/glob.h"
#include "util/log.h"
#include "util/progress.h"
#include "util/set.h"

#include <jansson.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX (4u << 20)
#define REPO_NAME_MAX 255
#define FALLBACK_TAG_LEN (7 + 64) /* "sha256-" + hex */
#define REFERRERS_MAX 100000

enum tag_state {
	TAG_UNKNOWN = 0, /* not looked at (policy PUSH, or no destination) */
	TAG_CREATE,	 /* absent on the destination */
	TAG_UNCHANGED,	 /* present with the snapshot's digest */
	TAG_KEEP,	 /* present with another digest, left alone */
	TAG_OVERWRITE,	 /* present with another digest, forced */
};

struct rtag {
	char *repo; /* the snapshot's name */
	char *dst;  /* the destination's name (after --map) */
	char *tag;
	char digest[RV_DIGEST_MAX];
	int failed; /* its repository failed (opts.repo_failed) */
	enum tag_state state;
	char dst_digest[RV_DIGEST_MAX]; /* what the destination had */
};

/* A referrer recorded through the referrers API. */
struct rref {
	char *repo;
	char subject[RV_DIGEST_MAX];
	char digest[RV_DIGEST_MAX];
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
	/* blobs known to be on the destination (pushed by this run or
	 * found there), with a (destination) repository that holds them */
	struct rv_set pushed;
	char **pushed_repo;
	size_t cap_pushed;
	struct rref *refs;
	size_t n_refs, cap_refs;
	int referrers_api; /* destination: 0 not asked, 1 has it, -1 not */
	struct upload_pool *pool; /* made for the first blob to push */

	/* The progress line (not in a dry run): tags of repositories done
	 * of the selected ones, bytes uploaded of the bytes to upload. The
	 * latter is an estimate from the catalog: the blobs of each
	 * repository not counted for an earlier one (those are mounted),
	 * est[first tag of a repository]; the current repository's figure
	 * is exact once it is planned (cur_left: its blobs not on the
	 * destination and not yet done). */
	int metered;
	struct rv_meter meter;
	uint64_t *est;
	int est_known;
	uint64_t est_rest; /* the repositories after the current one */
	uint64_t cur_left;
	uint64_t up_bytes; /* uploaded by this run */
};

static void meter_show(struct rs *x)
{
	if (!x->metered)
		return;
	x->meter.bytes = x->up_bytes;
	x->meter.bytes_total =
	    x->est_known ? x->up_bytes + x->cur_left + x->est_rest : 0;
	rv_meter_show(&x->meter);
}

/* 1 when repo is one the restore is asked for (all when none named). */
static int repo_selected(const struct rs *x, const char *repo)
{
	const struct rv_strlist *sel = x->o->repos;
	int in = !sel || sel->n == 0;

	for (size_t i = 0; !in && i < sel->n; i++)
		in = rv_glob_match(sel->items[i], repo);
	return in;
}

static int collect_tag(void *arg, const char *repo, const char *tag,
		       const char *digest)
{
	struct rs *x = arg;
	struct rtag *t;
	int rc;

	if (!repo_selected(x, repo))
		return 0;
	if (x->o->tags) {
		size_t rlen = strlen(repo), tlen = strlen(tag);
		char *key = malloc(rlen + tlen + 2);
		int in;

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
	rc = rv_array_grow((void **)&x->tags, &x->cap_tags, x->n_tags + 1,
			   sizeof(*x->tags));
	if (rc)
		return rc;
	t = &x->tags[x->n_tags];
	t->repo = strdup(repo);
	t->tag = strdup(tag);
	if (!t->repo || !t->tag) {
		free(t->repo);
		free(t->tag);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	snprintf(t->digest, sizeof(t->digest), "%s", digest);
	t->dst = NULL;
	t->failed = 0;
	t->state = TAG_UNKNOWN;
	t->dst_digest[0] = '\0';
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

/* Remember that the destination's repo holds digest (a mount source). */
static int known_add(struct rs *x, const char *repo, const char *digest)
{
	int rc = rv_set_add(&x->pushed, digest, strlen(digest));

	if (rc <= 0)
		return rc;
	rc = rv_array_grow((void **)&x->pushed_repo, &x->cap_pushed,
			   x->pushed.n, sizeof(*x->pushed_repo));
	if (rc) {
		rv_set_truncate(&x->pushed, x->pushed.n - 1);
		return rc;
	}
	x->pushed_repo[x->pushed.n - 1] = strdup(repo);
	if (!x->pushed_repo[x->pushed.n - 1]) {
		rv_set_truncate(&x->pushed, x->pushed.n - 1);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	return 0;
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
			rc = rv_array_grow((void **)&p->blobs, &p->cap_blobs,
					   p->n_blobs + 1, sizeof(*p->blobs));
			if (rc)
				break;
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

/* `sha256-<64 hex>` optionally followed by anything: the referrers tag
 * schema (and cosign's .sig/.att/.sbom tags built on it). */
static int is_fallback_tag(const char *tag)
{
	if (strncmp(tag, "sha256-", 7))
		return 0;
	for (size_t i = 7; i < FALLBACK_TAG_LEN; i++)
		if (!strchr("0123456789abcdef", tag[i]) || !tag[i])
			return 0;
	return 1;
}

static int needs_push(const struct rtag *t)
{
	return t->state == TAG_UNKNOWN || t->state == TAG_CREATE ||
	       t->state == TAG_OVERWRITE;
}

/* Look at each tag on the destination (policy KEEP or FORCE). */
static int classify_tags(struct rs *x, size_t first, size_t end)
{
	for (size_t i = first; i < end; i++) {
		struct rtag *t = &x->tags[i];
		struct reg_desc d;
		int rc;

		t->state = TAG_UNKNOWN;
		if (x->o->tag_policy == RESTORE_TAGS_PUSH || !x->dst)
			continue;
		rc = reg_manifest_head(&d, x->dst, t->dst, t->tag);
		if (rc == RV_NOTFOUND) {
			rv_err_clear();
			t->state = TAG_CREATE;
			continue;
		}
		if (rc)
			return rc;
		snprintf(t->dst_digest, sizeof(t->dst_digest), "%s", d.digest);
		if (!strcmp(d.digest, t->digest))
			t->state = TAG_UNCHANGED;
		else if (x->o->tag_policy == RESTORE_TAGS_FORCE)
			t->state = TAG_OVERWRITE;
		else
			t->state = TAG_KEEP;
	}
	return 0;
}

static const char *state_text(char *out, size_t cap, const struct rtag *t,
			      int force)
{
	switch (t->state) {
	case TAG_CREATE:
		return "create";
	case TAG_UNCHANGED:
		return "unchanged";
	case TAG_KEEP:
	case TAG_OVERWRITE:
		snprintf(out, cap,
			 "would change (dest has %s, snapshot has %s)%s",
			 t->dst_digest, t->digest,
			 force ? "" : "; kept without --force");
		return out;
	default:
		return "push";
	}
}

/* The referrers of one repository and what became of them. */
struct repo_refs {
	struct rv_strlist subjects; /* parallel: subject, referrer */
	struct rv_strlist referrers;
	struct rv_set pushed; /* referrers this run pushes */
};

static void repo_refs_release(struct repo_refs *rr)
{
	rv_strlist_release(&rr->subjects);
	rv_strlist_release(&rr->referrers);
	rv_set_release(&rr->pushed);
}

/* Pick the API referrers of repo whose subjects the destination has or
 * gets (in reach), subjects first: a referrer of a referrer waits for
 * the pass after its subject's. Absent ones go into the plan. */
static int plan_referrers(struct repo_refs *rr, struct plan *p,
			  struct rv_set *reach, struct rs *x, const char *repo,
			  const char *dst_repo)
{
	unsigned char *done = NULL;
	size_t lo = 0, hi, n;
	int progress = 1, rc = 0;

	while (lo < x->n_refs && strcmp(x->refs[lo].repo, repo))
		lo++;
	for (hi = lo; hi < x->n_refs && !strcmp(x->refs[hi].repo, repo);)
		hi++;
	n = hi - lo;
	if (!n)
		return 0;
	done = calloc(n, 1);
	if (!done)
		return rv_err_set(RV_NOMEM, "out of memory");
	while (progress && !rc) {
		progress = 0;
		for (size_t i = 0; i < n && !rc; i++) {
			const struct rref *f = &x->refs[lo + i];
			struct reg_desc d;

			if (done[i] ||
			    !rv_set_has(reach, f->subject, strlen(f->subject)))
				continue;
			done[i] = 1;
			progress = 1;
			rc = rv_strlist_add(&rr->subjects, f->subject);
			if (!rc)
				rc = rv_strlist_add(&rr->referrers, f->digest);
			if (!rc)
				rc = rv_set_add(reach, f->digest,
						strlen(f->digest));
			if (rc < 0)
				break;
			rc = 0;
			if (x->dst) {
				rc = reg_manifest_head(&d, x->dst, dst_repo,
						       f->digest);
				if (rc == 0)
					continue; /* already there */
				if (rc != RV_NOTFOUND)
					break;
				rv_err_clear();
				rc = 0;
			}
			rc = plan_visit(p, x, f->digest, 0);
			if (!rc)
				rc = rv_set_add(&rr->pushed, f->digest,
						strlen(f->digest));
			if (rc > 0)
				rc = 0;
		}
	}
	free(done);
	return rc;
}

/* The descriptor of a referrer for a fallback index: mediaType, digest,
 * size, artifactType (or its config's mediaType), annotations. */
static int referrer_desc(json_t **out, struct rs *x, const char *digest)
{
	struct rv_buf body = RV_BUF_INIT(MANIFEST_MAX);
	struct cat_manifest *m = NULL;
	json_t *doc = NULL, *desc = NULL, *v;
	const char *artifact = NULL;
	int rc;

	*out = NULL;
	rc = cat_manifest_get(&m, x->c, digest);
	if (!rc)
		rc = read_object(&body, x, digest);
	if (rc)
		goto done;
	doc = json_loadb((const char *)body.data, body.len, 0, NULL);
	if (!json_is_object(doc)) {
		rc = rv_err_set(RV_CORRUPT, "referrer %s is not a JSON object",
				digest);
		goto done;
	}
	v = json_object_get(doc, "artifactType");
	if (json_is_string(v))
		artifact = json_string_value(v);
	else
		artifact = json_string_value(json_object_get(
		    json_object_get(doc, "config"), "mediaType"));
	desc = json_pack("{s:s, s:s, s:I}", "mediaType", m->media_type,
			 "digest", digest, "size", (json_int_t)body.len);
	if (!desc ||
	    (artifact && json_object_set_new(desc, "artifactType",
					     json_string(artifact))) ||
	    (json_is_object(v = json_object_get(doc, "annotations")) &&
	     json_object_set(desc, "annotations", v))) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	*out = desc;
	desc = NULL;
done:
	json_decref(desc);
	json_decref(doc);
	cat_manifest_free(m);
	rv_buf_release(&body);
	return rc;
}

/* Create or update the fallback tag index `sha256-<hex of subject>` on a
 * destination without the referrers API, so clients find the referrers;
 * descriptors already listed are kept as they are. */
static int fallback_index(struct rs *x, size_t first, size_t end,
			  const char *dst_repo, const char *subject,
			  const struct rv_strlist *referrers)
{
	struct rv_buf body = RV_BUF_INIT(MANIFEST_MAX);
	struct reg_desc d;
	json_t *root = NULL, *list, *desc = NULL;
	char tag[FALLBACK_TAG_LEN + 1], new_digest[RV_DIGEST_MAX];
	char *text = NULL;
	size_t added = 0;
	int rc;

	snprintf(tag, sizeof(tag), "sha256-%s", subject + 7);
	rc = reg_manifest_get(&body, &d, x->dst, dst_repo, tag);
	if (rc == 0) {
		root = json_loadb((const char *)body.data, body.len, 0, NULL);
		list = json_object_get(root, "manifests");
		if (!json_is_array(list) ||
		    strcmp(d.media_type, REG_MT_OCI_INDEX)) {
			rv_warn("'%s:%s' on the destination is not an OCI "
				"index: left alone, the referrers of %s are "
				"not listed in it",
				dst_repo, tag, subject);
			rc = 0;
			goto done;
		}
	} else if (rc == RV_NOTFOUND) {
		rv_err_clear();
		root = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2,
				 "mediaType", REG_MT_OCI_INDEX, "manifests");
		if (!root) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
	} else {
		goto done;
	}
	list = json_object_get(root, "manifests");
	for (size_t i = 0; i < referrers->n; i++) {
		const char *dg = referrers->items[i];
		size_t k, j;
		json_t *e;
		int have = 0;

		json_array_foreach(list, k, e)
		{
			const char *ed =
			    json_string_value(json_object_get(e, "digest"));
			have |= ed && !strcmp(ed, dg);
		}
		for (j = 0; j < i && !have; j++)
			have = !strcmp(referrers->items[j], dg);
		if (have)
			continue;
		rc = referrer_desc(&desc, x, dg);
		if (rc)
			goto done;
		if (json_array_append_new(list, desc)) {
			desc = NULL;
			rc = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
		desc = NULL;
		added++;
	}
	rc = 0;
	if (!added)
		goto done;
	text = json_dumps(root, JSON_COMPACT);
	if (!text) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	rc = reg_manifest_put(x->dst, dst_repo, tag, REG_MT_OCI_INDEX, text,
			      strlen(text));
	if (!rc)
		rc = rv_digest_of(new_digest, text, strlen(text));
	if (rc)
		goto done;
	x->st->referrer_indexes++;
	/* a snapshot tag of that name now reads back as the merged index */
	for (size_t i = first; i < end; i++)
		if (!strcmp(x->tags[i].tag, tag))
			snprintf(x->tags[i].digest, sizeof(x->tags[i].digest),
				 "%s", new_digest);
done:
	free(text);
	json_decref(desc);
	json_decref(root);
	rv_buf_release(&body);
	return rc;
}

/* After the referrers went up: when the destination has no referrers
 * API, list them in the fallback tag index of each subject. */
static int referrer_indexes(struct rs *x, size_t first, size_t end,
			    const char *dst_repo, const struct repo_refs *rr)
{
	struct rv_buf tmp = RV_BUF_INIT(REFERRERS_MAX * 1024);
	struct rv_strlist group = RV_STRLIST_INIT;
	int rc = 0;

	if (!rr->subjects.n)
		return 0;
	if (x->referrers_api == 0) {
		rc = reg_referrers(&tmp, x->dst, dst_repo,
				   rr->subjects.items[0]);
		if (rc == RV_UNSUPPORTED || rc == 0) {
			x->referrers_api = rc ? -1 : 1;
			rv_err_clear();
			rc = 0;
		}
	}
	rv_buf_release(&tmp);
	if (rc || x->referrers_api > 0)
		return rc;
	for (size_t i = 0; i < rr->subjects.n && !rc; i++) {
		const char *subj = rr->subjects.items[i];
		int seen = 0;

		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(rr->subjects.items[j], subj);
		if (seen)
			continue;
		rv_strlist_release(&group);
		for (size_t j = i; j < rr->subjects.n && !rc; j++)
			if (!strcmp(rr->subjects.items[j], subj))
				rc = rv_strlist_add(&group,
						    rr->referrers.items[j]);
		if (!rc)
			rc = fallback_index(x, first, end, dst_repo, subj,
					    &group);
	}
	rv_strlist_release(&group);
	return rc;
}

/* The manifests of one repository's plan and what each still waits for:
 * its blobs and child manifests (and, for a referrer this run pushes, its
 * subject), as edges from each child to the manifests that need it. */
struct dep_edge {
	size_t to;   /* a manifest (index in plan.order) */
	size_t next; /* the child's next edge, DEP_NONE: none */
};

#define DEP_NONE ((size_t)-1)

struct deps {
	size_t n_man;
	size_t *pending;     /* per manifest: children not yet in */
	unsigned char *done; /* per manifest: pushed */
	size_t *blob_head;   /* per blob: its first edge */
	size_t *man_head;    /* per manifest: its first edge */
	struct dep_edge *edges;
	size_t n_edges, cap_edges;
	size_t *ready; /* FIFO of manifests whose children are all in */
	size_t ready_lo, ready_hi;
};

static void deps_release(struct deps *d)
{
	free(d->pending);
	free(d->done);
	free(d->blob_head);
	free(d->man_head);
	free(d->edges);
	free(d->ready);
	memset(d, 0, sizeof(*d));
}

static int deps_edge(struct deps *d, size_t *head, size_t to)
{
	int rc = rv_array_grow((void **)&d->edges, &d->cap_edges,
			       d->n_edges + 1, sizeof(*d->edges));

	if (rc)
		return rc;
	d->edges[d->n_edges].to = to;
	d->edges[d->n_edges].next = *head;
	*head = d->n_edges++;
	d->pending[to]++;
	return 0;
}

/* A child is in: the manifests waiting for it only on it become ready. */
static void deps_child_in(struct deps *d, size_t head)
{
	for (size_t e = head; e != DEP_NONE; e = d->edges[e].next) {
		size_t to = d->edges[e].to;
		if (--d->pending[to] == 0)
			d->ready[d->ready_hi++] = to;
	}
}

static int deps_build(struct deps *d, struct rs *x, const struct plan *p,
		      const struct repo_refs *rr)
{
	size_t n_man = p->order.n, n_blobs = p->n_blobs;
	struct cat_manifest *m = NULL;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	d->n_man = n_man;
	d->pending = calloc(n_man ? n_man : 1, sizeof(*d->pending));
	d->done = calloc(n_man ? n_man : 1, 1);
	d->ready = calloc(n_man ? n_man : 1, sizeof(*d->ready));
	d->man_head = malloc((n_man ? n_man : 1) * sizeof(*d->man_head));
	d->blob_head = malloc((n_blobs ? n_blobs : 1) * sizeof(*d->blob_head));
	if (!d->pending || !d->done || !d->ready || !d->man_head ||
	    !d->blob_head)
		return rv_err_set(RV_NOMEM, "out of memory");
	for (size_t i = 0; i < n_man; i++)
		d->man_head[i] = DEP_NONE;
	for (size_t i = 0; i < n_blobs; i++)
		d->blob_head[i] = DEP_NONE;
	for (size_t i = 0; !rc && i < n_man; i++) {
		rc = cat_manifest_get(&m, x->c, p->order.items[i]);
		for (size_t k = 0; !rc && k < m->n_refs; k++) {
			const struct cat_ref *ref = &m->refs[k];
			const char *dg = ref->digest;
			long j;

			if (ref->is_manifest) {
				j = rv_set_index(&p->seen, dg, strlen(dg));
				if (j >= 0 && (size_t)j != i)
					rc = deps_edge(d, &d->man_head[j], i);
			} else if (!ref->nondistributable) {
				j = rv_set_index(&p->blob_set, dg, strlen(dg));
				if (j >= 0)
					rc = deps_edge(d, &d->blob_head[j], i);
			}
		}
		cat_manifest_free(m);
		m = NULL;
	}
	/* a referrer after its subject, as the plan orders them */
	for (size_t k = 0; !rc && k < rr->referrers.n; k++) {
		const char *dg = rr->referrers.items[k];
		const char *subj = rr->subjects.items[k];
		long i, j;

		if (!rv_set_has(&rr->pushed, dg, strlen(dg)))
			continue;
		i = rv_set_index(&p->seen, dg, strlen(dg));
		j = rv_set_index(&p->seen, subj, strlen(subj));
		if (i >= 0 && j >= 0 && i != j)
			rc = deps_edge(d, &d->man_head[j], (size_t)i);
	}
	for (size_t i = 0; !rc && i < n_man; i++)
		if (d->pending[i] == 0)
			d->ready[d->ready_hi++] = i;
	return rc;
}

/* The most connections to the destination at once: the main client
 * (manifests, tags) and up to this many minus one upload workers. */
#define RESTORE_CONNS_DEFAULT 4
#define RESTORE_CONNS_MAX 16

static int pool_ensure(struct rs *x)
{
	int conns = x->o->max_connections;

	if (x->pool)
		return 0;
	if (conns <= 0)
		conns = RESTORE_CONNS_DEFAULT;
	if (conns > RESTORE_CONNS_MAX)
		conns = RESTORE_CONNS_MAX;
	return upload_pool_new(&x->pool, x->s, x->dst, conns - 1);
}

/* Hand blob b of the plan to the pool with where its chunks are (the
 * catalog is read here, on the main thread, never by a worker). */
static int submit_blob(struct rs *x, const char *dst_repo, const struct plan *p,
		       size_t b)
{
	const struct rblob *bl = &p->blobs[b];
	struct upload_job j;
	long idx = rv_set_index(&x->pushed, bl->digest, strlen(bl->digest));
	int rc;

	memset(&j, 0, sizeof(j));
	j.repo = dst_repo;
	j.digest = bl->digest;
	j.mount_from = idx >= 0 ? x->pushed_repo[idx] : NULL;
	j.index = b;
	rc = cat_blob_chunks(&j.locs, &j.n_locs, &j.stored_size, x->c,
			     bl->digest);
	if (rc == RV_NOMEM)
		return rc;
	if (rc) {
		/* not needed when the destination has the blob */
		j.locs_rc = rc;
		j.locs_msg = rv_err_msg();
	}
	rc = upload_pool_submit(x->pool, &j);
	if (!rc)
		rv_err_clear();
	return rc;
}

/* A blob's outcome: counted, remembered as a mount source, and the
 * manifests that waited for it told. */
static int blob_done(struct rs *x, const char *dst_repo, const struct plan *p,
		     struct deps *d, const struct upload_result *res)
{
	const struct rblob *bl = &p->blobs[res->index];
	int rc = 0;

	switch (res->outcome) {
	case UPLOAD_FAILED:
		return 0; /* the caller notes it */
	case UPLOAD_PRESENT:
		x->st->blobs_skipped++;
		x->st->bytes_skipped += (uint64_t)bl->size;
		rc = known_add(x, dst_repo, bl->digest);
		break;
	case UPLOAD_MOUNTED:
		x->st->blobs_mounted++;
		x->st->bytes_mounted += (uint64_t)bl->size;
		break;
	case UPLOAD_PUSHED:
		x->st->blobs_pushed++;
		x->st->bytes_pushed += res->bytes;
		rc = known_add(x, dst_repo, bl->digest);
		break;
	}
	if (rc < 0)
		return rc;
	deps_child_in(d, d->blob_head[res->index]);
	return 0;
}

static int push_planned_manifest(struct rs *x, const char *dst_repo,
				 const struct plan *p,
				 const struct repo_refs *rr, struct deps *d,
				 size_t i)
{
	const char *dg = p->order.items[i];
	int rc = push_manifest(x, dst_repo, dg, dg);

	if (rc)
		return rc;
	d->done[i] = 1;
	x->st->manifests_pushed++;
	if (rv_set_has(&rr->pushed, dg, strlen(dg)))
		x->st->referrers_pushed++;
	deps_child_in(d, d->man_head[i]);
	return 0;
}

/* A blob's outcome on the meter, before blob_done adds it to x->pushed.
 * It was counted in cur_left when it was not known on the destination
 * (then it was not given a mount source either). */
static void meter_blob(struct rs *x, const struct plan *p,
		       const struct upload_result *res)
{
	const struct rblob *bl = &p->blobs[res->index];

	if (!rv_set_has(&x->pushed, bl->digest, strlen(bl->digest)))
		x->cur_left -= x->cur_left < (uint64_t)bl->size
				   ? x->cur_left
				   : (uint64_t)bl->size;
	if (res->outcome == UPLOAD_PUSHED)
		x->up_bytes += res->bytes;
	meter_show(x);
}

/* The failure a restore reports: the one a run pushing everything in
 * plan order would have met first. */
struct failure {
	int rc;
	char *msg;
	size_t rank; /* blob index, or n_blobs + manifest index */
};

/* Keep the failure of lowest rank with its message (msg: NULL for the
 * thread's current one). */
static void note_failure(struct failure *f, int rc, const char *msg,
			 size_t rank)
{
	char *copy;

	if (f->rc && rank >= f->rank)
		return;
	copy = strdup(msg ? msg : rv_err_msg());
	free(f->msg);
	f->rc = rc;
	f->msg = copy;
	f->rank = rank;
}

/* Put a repository's blobs and manifests on the destination: the blobs
 * over the upload pool, several at once, each manifest (on this thread's
 * client) as soon as its children are in. After a failure no new blob is
 * handed out and those under way finish; the failure returned (with its
 * message) is the one a one-at-a-time run would have stopped at: the
 * first failing blob in plan order, else the manifest. */
static int push_contents(struct rs *x, const char *dst_repo,
			 const struct plan *p, const struct repo_refs *rr)
{
	struct deps d;
	struct failure f;
	size_t next_blob = 0, in_flight = 0, cap = 0, n_blobs = p->n_blobs;
	int rc;

	memset(&f, 0, sizeof(f));
	rc = deps_build(&d, x, p, rr);
	if (!rc && n_blobs)
		rc = pool_ensure(x);
	if (rc)
		goto done;
	if (n_blobs) {
		int workers = upload_pool_workers(x->pool);
		/* inline: one at a time, so nothing follows a failure */
		cap = workers ? 2 * (size_t)workers : 1;
	}
	for (;;) {
		struct upload_result *res;

		while (!f.rc && d.ready_lo < d.ready_hi) {
			size_t i = d.ready[d.ready_lo++];
			rc = push_planned_manifest(x, dst_repo, p, rr, &d, i);
			if (rc)
				note_failure(&f, rc, NULL, n_blobs + i);
		}
		while (!f.rc && next_blob < n_blobs && in_flight < cap) {
			rc = submit_blob(x, dst_repo, p, next_blob);
			if (rc) {
				note_failure(&f, rc, NULL, next_blob);
				break;
			}
			next_blob++;
			in_flight++;
		}
		if (!in_flight)
			break;
		res = upload_pool_next(x->pool);
		if (!res) {
			rc = rv_err_set(RV_ERROR,
					"blob upload: %zu result(s) lost",
					in_flight);
			note_failure(&f, rc, NULL, 0);
			break;
		}
		in_flight--;
		meter_blob(x, p, res);
		if (res->outcome == UPLOAD_FAILED)
			note_failure(&f, res->rc,
				     res->msg ? res->msg
					      : rv_code_name(res->rc),
				     res->index);
		else if ((rc = blob_done(x, dst_repo, p, &d, res)))
			note_failure(&f, rc, NULL, res->index);
		upload_result_free(res);
	}
	/* what waits on a cycle (a referrer of its own child): plan order */
	for (size_t i = 0; !f.rc && i < d.n_man; i++) {
		if (d.done[i])
			continue;
		rc = push_planned_manifest(x, dst_repo, p, rr, &d, i);
		if (rc)
			note_failure(&f, rc, NULL, n_blobs + i);
	}
	rc = 0;
	if (f.rc)
		rc = rv_err_set(f.rc, "%s", f.msg ? f.msg : rv_code_name(f.rc));
done:
	free(f.msg);
	deps_release(&d);
	return rc;
}

/* The current repository is planned: its blobs not on the destination
 * are what it uploads (the others are there, or mounted). */
static void meter_repo(struct rs *x, size_t first, const struct plan *p)
{
	if (!x->metered)
		return;
	x->est_rest -=
	    x->est_rest < x->est[first] ? x->est_rest : x->est[first];
	x->cur_left = 0;
	for (size_t i = 0; i < p->n_blobs; i++)
		if (!rv_set_has(&x->pushed, p->blobs[i].digest,
				strlen(p->blobs[i].digest)))
			x->cur_left += (uint64_t)p->blobs[i].size;
	meter_show(x);
}

/* Add the sizes of the blobs under digest not counted yet to *bytes. */
static int est_visit(struct rs *x, struct rv_set *manifests,
		     struct rv_set *blobs, const char *digest, int depth,
		     uint64_t *bytes)
{
	struct cat_manifest *m = NULL;
	int rc = rv_set_add(manifests, digest, strlen(digest));

	if (rc <= 0)
		return rc;
	if (depth > 8)
		return rv_err_set(RV_CORRUPT, "manifest %s nests too deep",
				  digest);
	rc = cat_manifest_get(&m, x->c, digest);
	for (size_t i = 0; !rc && i < m->n_refs; i++) {
		const struct cat_ref *ref = &m->refs[i];

		if (ref->is_manifest) {
			rc = est_visit(x, manifests, blobs, ref->digest,
				       depth + 1, bytes);
			continue;
		}
		if (ref->nondistributable)
			continue;
		rc = rv_set_add(blobs, ref->digest, strlen(ref->digest));
		if (rc == 1 && ref->size > 0)
			*bytes += (uint64_t)ref->size;
		rc = rc < 0 ? rc : 0;
	}
	cat_manifest_free(m);
	return rc;
}

/* Start the meter, with the bytes to upload estimated from the catalog
 * (manifests only, no request): left unknown when that fails (the run
 * itself then says why). */
static void meter_start(struct rs *x)
{
	struct rv_set manifests = RV_SET_INIT, blobs = RV_SET_INIT;
	uint64_t sum = 0;
	int rc = 0;

	x->metered = 1;
	rv_meter_start(&x->meter, "restore", "tags", x->n_tags, 0);
	x->est = calloc(x->n_tags ? x->n_tags : 1, sizeof(*x->est));
	if (!x->est)
		rc = rv_err_set(RV_NOMEM, "out of memory");
	for (size_t first = 0; !rc && first < x->n_tags;) {
		const char *repo = x->tags[first].repo;
		size_t end = first;

		while (end < x->n_tags && !strcmp(x->tags[end].repo, repo))
			end++;
		for (size_t i = first; !rc && i < end; i++)
			rc = est_visit(x, &manifests, &blobs, x->tags[i].digest,
				       0, &x->est[first]);
		for (size_t i = 0; !rc && i < x->n_refs; i++)
			if (!strcmp(x->refs[i].repo, repo))
				rc = est_visit(x, &manifests, &blobs,
					       x->refs[i].digest, 0,
					       &x->est[first]);
		sum += x->est[first];
		first = end;
	}
	rv_set_release(&manifests);
	rv_set_release(&blobs);
	if (rc) {
		rv_debug("restore: no estimate of the bytes to upload: %s",
			 rv_err_msg());
		rv_err_clear();
		if (!x->est)
			x->metered = 0;
		else
			memset(x->est, 0, x->n_tags * sizeof(*x->est));
		return;
	}
	x->est_known = 1;
	x->est_rest = sum;
}

/* Restore the tags [first, end) which all belong to one repository. */
static int restore_repo(struct rs *x, size_t first, size_t end)
{
	const char *repo = x->tags[first].repo;
	const char *dst_repo = x->tags[first].dst;
	struct plan p, reach;
	struct repo_refs rr;
	uint64_t bytes = 0;
	size_t n_push = 0;
	int rc = 0, force = x->o->tag_policy == RESTORE_TAGS_FORCE;

	memset(&p, 0, sizeof(p));
	memset(&reach, 0, sizeof(reach));
	memset(&rr, 0, sizeof(rr));
	rv_meter_where(&x->meter, dst_repo);
	meter_show(x);
	rc = classify_tags(x, first, end);
	for (size_t i = first; !rc && i < end; i++) {
		const struct rtag *t = &x->tags[i];
		if (needs_push(t)) {
			n_push++;
			rc = plan_visit(&p, x, t->digest, 0);
		}
		/* what the destination has or gets: referrers' subjects */
		if (!rc && t->state != TAG_KEEP)
			rc = plan_visit(&reach, x, t->digest, 0);
	}
	if (!rc)
		rc = plan_referrers(&rr, &p, &reach.seen, x, repo, dst_repo);
	if (rc)
		goto done;
	for (size_t i = 0; i < p.n_blobs; i++)
		bytes += (uint64_t)p.blobs[i].size;
	x->st->repositories++;
	x->st->blobs_planned += p.n_blobs;
	x->st->bytes_planned += bytes;
	if (x->o->dry_run) {
		char why[300];
		if (strcmp(repo, dst_repo))
			fprintf(x->o->plan, "%s (from %s): ", dst_repo, repo);
		else
			fprintf(x->o->plan, "%s: ", dst_repo);
		fprintf(x->o->plan,
			"%zu tag(s), %zu manifest(s), %zu blob(s), "
			"%llu bytes\n",
			end - first, p.order.n, p.n_blobs,
			(unsigned long long)bytes);
		for (size_t i = first; i < end; i++) {
			const struct rtag *t = &x->tags[i];
			if (t->state == TAG_UNKNOWN)
				fprintf(x->o->plan, "  %s:%s -> %s\n", dst_repo,
					t->tag, t->digest);
			else
				fprintf(x->o->plan, "  %s:%s -> %s: %s\n",
					dst_repo, t->tag, t->digest,
					state_text(why, sizeof(why), t, force));
		}
		for (size_t i = 0; i < rr.referrers.n; i++) {
			const char *dg = rr.referrers.items[i];
			fprintf(x->o->plan, "  referrer %s of %s: %s\n", dg,
				rr.subjects.items[i],
				rv_set_has(&rr.pushed, dg, strlen(dg))
				    ? "push"
				    : "present");
		}
		for (size_t i = first; i < end; i++) {
			const struct rtag *t = &x->tags[i];
			x->st->tags += t->state != TAG_KEEP;
			x->st->tags_unchanged += t->state == TAG_UNCHANGED;
			x->st->tags_kept += t->state == TAG_KEEP;
			x->st->tags_overwritten += t->state == TAG_OVERWRITE;
		}
		goto done;
	}
	rv_info("restoring '%s'%s%s: %zu of %zu tag(s) to push, %zu "
		"manifest(s), %zu blob(s)",
		dst_repo, strcmp(repo, dst_repo) ? " from " : "",
		strcmp(repo, dst_repo) ? repo : "", n_push, end - first,
		p.order.n, p.n_blobs);
	meter_repo(x, first, &p);
	/* blobs of unchanged tags: their manifests are there, and a
	 * registry takes a manifest only with its blobs */
	for (size_t i = 0; i < reach.n_blobs; i++) {
		const struct rblob *b = &reach.blobs[i];
		if (!rv_set_has(&p.blob_set, b->digest, strlen(b->digest))) {
			x->st->blobs_skipped++;
			x->st->bytes_skipped += (uint64_t)b->size;
		}
	}
	rc = push_contents(x, dst_repo, &p, &rr);
	/* the referrers tag schema's tags after every other tag */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = first; !rc && i < end; i++) {
			struct rtag *t = &x->tags[i];
			if (is_fallback_tag(t->tag) != pass)
				continue;
			x->meter.done++;
			meter_show(x);
			if (t->state == TAG_KEEP) {
				rv_warn("'%s:%s' on the destination is %s, "
					"the snapshot has %s: left alone "
					"(--force overwrites it)",
					dst_repo, t->tag, t->dst_digest,
					t->digest);
				x->st->tags_kept++;
				continue;
			}
			if (t->state == TAG_UNCHANGED) {
				x->st->tags_unchanged++;
				x->st->tags++;
				continue;
			}
			rc = push_manifest(x, dst_repo, t->digest, t->tag);
			if (rc)
				break;
			x->st->tags++;
			x->st->tags_overwritten += t->state == TAG_OVERWRITE;
		}
	}
	if (!rc)
		rc = referrer_indexes(x, first, end, dst_repo, &rr);
done:
	repo_refs_release(&rr);
	plan_release(&reach);
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

		if (t->failed || t->state == TAG_KEEP)
			continue;
		rc = reg_manifest_head(&d, x->dst, t->dst, t->tag);
		if (rc) {
			rv_log(RV_LOG_ERROR, "verify %s:%s: %s", t->dst, t->tag,
			       rv_err_msg());
			bad++;
			continue;
		}
		if (strcmp(d.digest, t->digest)) {
			rv_log(RV_LOG_ERROR,
			       "verify %s:%s: the destination has %s, the "
			       "snapshot %s",
			       t->dst, t->tag, d.digest, t->digest);
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

/* The destination name of repo under the mapping (longest FROM wins). */
static int map_name(char **out, const struct rv_strlist *map, const char *repo)
{
	size_t best_len = 0, rlen = strlen(repo);
	const char *best = NULL;
	struct rv_buf b = RV_BUF_INIT(4096);
	int rc;

	*out = NULL;
	for (size_t i = 0; map && i < map->n; i++) {
		const char *item = map->items[i], *eq = strchr(item, '=');
		size_t flen;
		if (!eq)
			return rv_err_set(RV_INVALID,
					  "mapping '%.200s' is not FROM=TO",
					  item);
		flen = (size_t)(eq - item);
		if (flen <= rlen && !strncmp(repo, item, flen) &&
		    (!best || flen > best_len)) {
			best = item;
			best_len = flen;
		}
	}
	if (!best)
		rc = rv_buf_puts(&b, repo);
	else
		rc = rv_buf_printf(&b, "%s%s", best + best_len + 1,
				   repo + best_len);
	if (!rc)
		*out = rv_buf_detach(&b, NULL);
	rv_buf_release(&b);
	return rc;
}

static int map_repos(struct rs *x)
{
	static const char *name_re = "^[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*"
				     "(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*$";
	struct rv_set dsts = RV_SET_INIT;
	const char **from = NULL;
	regex_t re;
	int rc = 0;

	if (regcomp(&re, name_re, REG_EXTENDED | REG_NOSUB))
		return rv_err_set(RV_ERROR, "cannot compile a regex");
	from = calloc(x->n_tags ? x->n_tags : 1, sizeof(*from));
	if (!from) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < x->n_tags && !rc; i++) {
		struct rtag *t = &x->tags[i];
		long idx;

		if (i && !strcmp(t->repo, x->tags[i - 1].repo)) {
			t->dst = strdup(x->tags[i - 1].dst);
			if (!t->dst)
				rc = rv_err_set(RV_NOMEM, "out of memory");
			continue;
		}
		rc = map_name(&t->dst, x->o->map, t->repo);
		if (rc)
			break;
		if (strlen(t->dst) > REPO_NAME_MAX ||
		    regexec(&re, t->dst, 0, NULL, 0)) {
			rc = rv_err_set(RV_INVALID,
					"repository '%s' maps to '%.300s', "
					"which is not a valid repository name "
					"(lowercase letters, digits and . _ "
					"__ - separators, components joined "
					"by /, at most 255 characters)",
					t->repo, t->dst);
			break;
		}
		rc = rv_set_add(&dsts, t->dst, strlen(t->dst));
		if (rc < 0)
			break;
		idx = rv_set_index(&dsts, t->dst, strlen(t->dst));
		if (rc == 0) {
			rc = rv_err_set(RV_INVALID,
					"repositories '%s' and '%s' both map "
					"to '%s'; change the mapping",
					from[idx], t->repo, t->dst);
			break;
		}
		from[idx] = t->repo;
		rc = 0;
	}
done:
	free(from);
	rv_set_release(&dsts);
	regfree(&re);
	return rc;
}

static int collect_referrer(void *arg, const char *repo, const char *subject,
			    const char *digest)
{
	struct rs *x = arg;
	struct rref *f;
	int rc;

	if (!repo_selected(x, repo))
		return 0;
	if (!rv_digest_valid(subject) || !rv_digest_valid(digest))
		return rv_err_set(RV_CORRUPT,
				  "the catalog holds a referrer with a bad "
				  "digest in '%s'",
				  repo);
	if (x->n_refs == REFERRERS_MAX)
		return rv_err_set(RV_TOOBIG,
				  "the snapshot holds more than %d referrers",
				  REFERRERS_MAX);
	rc = rv_array_grow((void **)&x->refs, &x->cap_refs, x->n_refs + 1,
			   sizeof(*x->refs));
	if (rc)
		return rc;
	f = &x->refs[x->n_refs];
	f->repo = strdup(repo);
	if (!f->repo)
		return rv_err_set(RV_NOMEM, "out of memory");
	snprintf(f->subject, sizeof(f->subject), "%s", subject);
	snprintf(f->digest, sizeof(f->digest), "%s", digest);
	x->n_refs++;
	return 0;
}

/* Every key of o->tags must be in the selection. */
static int check_tags_found(struct rs *x)
{
	const struct rv_set *want = x->o->tags;
	struct rv_set found = RV_SET_INIT;
	struct rv_buf key = RV_BUF_INIT(4096);
	int rc = 0;

	for (size_t i = 0; i < x->n_tags && !rc; i++) {
		rv_buf_reset(&key);
		rc = rv_buf_printf(&key, "%s:%s", x->tags[i].repo,
				   x->tags[i].tag);
		if (!rc)
			rc = rv_set_add(&found, key.data, key.len);
		rc = rc < 0 ? rc : 0;
	}
	for (size_t i = 0; !rc && i < want->n; i++)
		if (!rv_set_has(&found, want->keys[i], want->lens[i]))
			rc = rv_err_set(RV_NOTFOUND,
					"snapshot %.12s has no tag '%.*s' in "
					"the selected repositories",
					x->o->snapshot, (int)want->lens[i],
					(const char *)want->keys[i]);
	rv_buf_release(&key);
	rv_set_release(&found);
	return rc;
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
	if (o->tags && o->tags_strict) {
		rc = check_tags_found(&x);
		if (rc)
			goto done;
	}
	if (x.n_tags == 0) {
		rc = rv_err_set(RV_NOTFOUND,
				"snapshot %.12s has no tag in the selected "
				"repositories",
				o->snapshot);
		goto done;
	}
	rc = map_repos(&x);
	if (!rc)
		rc = cat_snapshot_referrers(c, o->snapshot, collect_referrer,
					    &x);
	if (rc)
		goto done;
	if (!o->dry_run)
		meter_start(&x);
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
		x.meter.done = end;
		meter_show(&x);
		first = end;
	}
	if (!rc && !o->dry_run)
		rc = verify_tags(&x);
	if (!rc && first_rc)
		rc = rv_err_set(first_rc, "%s",
				first_msg ? first_msg : rv_code_name(first_rc));
done:
	rv_progress_done();
	upload_pool_free(x.pool);
	free(x.est);
	free(first_msg);
	for (size_t i = 0; i < x.n_tags; i++) {
		free(x.tags[i].repo);
		free(x.tags[i].dst);
		free(x.tags[i].tag);
	}
	free(x.tags);
	for (size_t i = 0; i < x.n_refs; i++)
		free(x.refs[i].repo);
	free(x.refs);
	for (size_t i = 0; i < x.pushed.n; i++)
		free(x.pushed_repo[i]);
	free(x.pushed_repo);
	rv_set_release(&x.pushed);
	return rc;
}
