/* record.c - report lists, pack listings, and the recorder that turns
 * pack indexes into catalog rows (shared by rebuild and adoption). */
#include "maint/internal.h"

#include "catalog/catalog.h"
#include "registry/manifest.h"
#include "store/store.h"
#include "store/target.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- report lists ---------------------------------------------------- */

static char *dup_or_null(const char *s, int *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = 1;
	return d;
}

int maint_list_add(struct maint_list *l, const char *what, const char *target,
		   const char *why, ...)
{
	struct maint_item *it, *grown;
	char reason[1024];
	int failed = 0;
	va_list ap;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;

		grown = realloc(l->items, cap * sizeof(*grown));
		if (!grown)
			return rv_err_set(RV_NOMEM, "out of memory");
		l->items = grown;
		l->cap = cap;
	}
	va_start(ap, why);
	if (vsnprintf(reason, sizeof(reason), why, ap) < 0)
		reason[0] = '\0';
	va_end(ap);
	it = &l->items[l->n];
	it->what = dup_or_null(what, &failed);
	it->target = dup_or_null(target, &failed);
	it->why = dup_or_null(reason, &failed);
	if (failed) {
		free(it->what);
		free(it->target);
		free(it->why);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	l->n++;
	return 0;
}

int maint_list_has(const struct maint_list *l, const char *what,
		   const char *target)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct maint_item *it = &l->items[i];

		if (strcmp(it->what, what))
			continue;
		if (!target || (it->target && !strcmp(it->target, target)))
			return 1;
	}
	return 0;
}

void maint_list_release(struct maint_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].what);
		free(l->items[i].target);
		free(l->items[i].why);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

void maint_stats_release(struct maint_stats *st)
{
	if (!st)
		return;
	maint_list_release(&st->damaged);
	maint_list_release(&st->skipped);
	maint_list_release(&st->adopted);
	maint_list_release(&st->removable);
	maint_list_release(&st->vanished);
	maint_list_release(&st->copied);
	maint_list_release(&st->lost);
	maint_list_release(&st->failed);
	maint_list_release(&st->notes);
}

/* ---- pack names and listings ------------------------------------------ */

void maint_pack_name(char *out, size_t size, const char *pack_id)
{
	snprintf(out, size, "packs/%.2s/%s", pack_id, pack_id);
}

int maint_hex64(const char *s)
{
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

const char *maint_pack_id_of(const char *name)
{
	const char *id;

	if (strncmp(name, "packs/", 6) || strlen(name) != 6 + 3 + 64 ||
	    name[8] != '/')
		return NULL;
	id = name + 9;
	if (!maint_hex64(id) || name[6] != id[0] || name[7] != id[1])
		return NULL;
	return id;
}

int maint_listing_load(struct maint_listing *l, struct maint_stats *st,
		       struct store *s)
{
	struct rv_strlist names = RV_STRLIST_INIT;
	size_t n = store_target_count(s);
	int rc = 0;

	memset(l, 0, sizeof(*l));
	l->sets = calloc(n ? n : 1, sizeof(*l->sets));
	l->ids = calloc(n ? n : 1, sizeof(*l->ids));
	l->ok = calloc(n ? n : 1, sizeof(*l->ok));
	if (!l->sets || !l->ids || !l->ok) {
		maint_listing_release(l);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	l->n = n;
	for (size_t i = 0; i < n; i++) {
		const char *tname = store_target_name(s, i);

		rv_strlist_release(&names);
		rc = target_list(store_target(s, i), "packs/", &names);
		if (rc == RV_NOMEM)
			goto done;
		if (rc) {
			rc = maint_list_add(&st->failed, "packs/", tname,
					    "cannot list: %s", rv_err_msg());
			if (rc)
				goto done;
			continue;
		}
		rv_strlist_sort(&names);
		for (size_t j = 0; j < names.n; j++) {
			const char *id = maint_pack_id_of(names.items[j]);

			if (!id) {
				rc = maint_list_add(&st->notes, names.items[j],
						    tname,
						    "not a pack name; left "
						    "alone");
				if (rc)
					goto done;
				continue;
			}
			rc = rv_set_add(&l->sets[i], id, 64);
			if (rc < 0)
				goto done;
			if (rc == 0)
				continue;
			rc = rv_strlist_add(&l->ids[i], id);
			if (rc)
				goto done;
		}
		l->ok[i] = 1;
	}
	rc = 0;
done:
	rv_strlist_release(&names);
	if (rc) {
		maint_listing_release(l);
		if (rc == RV_NOMEM)
			rv_err_set(RV_NOMEM, "out of memory");
	}
	return rc;
}

void maint_listing_release(struct maint_listing *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->sets)
			rv_set_release(&l->sets[i]);
		if (l->ids)
			rv_strlist_release(&l->ids[i]);
	}
	free(l->sets);
	free(l->ids);
	free(l->ok);
	memset(l, 0, sizeof(*l));
}

int maint_listing_has(const struct maint_listing *l, size_t i,
		      const char *pack_id)
{
	return i < l->n && l->ok[i] && rv_set_has(&l->sets[i], pack_id, 64);
}

/* ---- the recorder ------------------------------------------------------ */

void maint_rec_init(struct maint_rec *r, struct cat *c, struct store *s,
		    struct maint_stats *st)
{
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->s = s;
	r->st = st;
}

void maint_rec_release(struct maint_rec *r)
{
	for (size_t i = 0; i < r->n_blobs; i++)
		free(r->blobs[i].chunks);
	free(r->blobs);
	free(r->blob_packs);
	r->blobs = NULL;
	r->blob_packs = NULL;
	r->n_blobs = r->cap_blobs = 0;
}

/* Take the pack's blobs (and their chunk lists) out of ix. */
static int keep_blobs(struct maint_rec *r, struct pack_index *ix,
		      const char *pack_id)
{
	if (r->n_blobs + ix->n_blobs > r->cap_blobs) {
		size_t cap = r->cap_blobs ? r->cap_blobs : 64;
		struct pack_blob *grown;
		char(*packs)[65];

		while (cap < r->n_blobs + ix->n_blobs)
			cap *= 2;
		grown = realloc(r->blobs, cap * sizeof(*grown));
		if (!grown)
			return rv_err_set(RV_NOMEM, "out of memory");
		r->blobs = grown;
		packs = realloc(r->blob_packs, cap * sizeof(*packs));
		if (!packs)
			return rv_err_set(RV_NOMEM, "out of memory");
		r->blob_packs = packs;
		r->cap_blobs = cap;
	}
	for (size_t i = 0; i < ix->n_blobs; i++) {
		snprintf(r->blob_packs[r->n_blobs], 65, "%s", pack_id);
		r->blobs[r->n_blobs++] = ix->blobs[i];
		ix->blobs[i].chunks = NULL;
		ix->blobs[i].n_chunks = 0;
	}
	return 0;
}

int maint_rec_pack(struct maint_rec *r, const char *pack_id, uint64_t size,
		   struct pack_index *ix, const struct rv_strlist *targets)
{
	int rc = cat_begin(r->c);

	if (rc)
		return rc;
	rc = cat_pack_add(r->c, pack_id, size, (int64_t)time(NULL));
	for (size_t i = 0; !rc && i < targets->n; i++)
		rc = cat_pack_location_add(r->c, pack_id, targets->items[i]);
	for (size_t i = 0; !rc && i < ix->n_chunks; i++)
		rc = cat_chunk_add(r->c, ix->chunks[i].id, pack_id,
				   ix->chunks[i].offset, ix->chunks[i].length,
				   ix->chunks[i].plain_len);
	if (!rc)
		rc = cat_commit(r->c);
	if (rc) {
		cat_rollback(r->c);
		return rc;
	}
	r->st->packs++;
	r->st->pack_bytes += size;
	r->st->chunks += ix->n_chunks;
	return keep_blobs(r, ix, pack_id);
}

/* 1 when every chunk of b is recorded; else 0 with the first missing one
 * in missing_hex. */
static int chunks_recorded(struct maint_rec *r, const struct pack_blob *b,
			   char missing_hex[65])
{
	for (size_t i = 0; i < b->n_chunks; i++) {
		int rc = cat_chunk_has(r->c, b->chunks[i]);

		if (rc < 0)
			return rc;
		if (rc == 0) {
			rv_hex_encode(missing_hex, b->chunks[i], 32);
			return 0;
		}
	}
	return 1;
}

/* Pass 1 records what can be; pass 2 reports each blob that is still
 * missing once (the same blob may be listed by several packs, one of them
 * complete). */
static int record_blobs(struct maint_rec *r)
{
	char missing[65];
	int rc = cat_begin(r->c);

	if (rc)
		return rc;
	for (size_t i = 0; i < r->n_blobs; i++) {
		const struct pack_blob *b = &r->blobs[i];

		rc = cat_blob_has(r->c, b->digest);
		if (rc < 0)
			goto done;
		if (rc == 1)
			continue;
		rc = chunks_recorded(r, b, missing);
		if (rc <= 0)
			goto next;
		rc = cat_blob_add(r->c, b->digest, b->size,
				  (const unsigned char(*)[32])b->chunks,
				  b->n_chunks);
		if (!rc)
			rc = cat_blob_entry_set(r->c, b->digest,
						r->blob_packs[i], 0);
		if (rc == RV_INVALID) {
			/* an index that authenticates but does not add up */
			rc = maint_list_add(&r->st->skipped, b->digest, NULL,
					    "%s", rv_err_msg());
			goto next;
		}
		if (rc)
			goto done;
		r->st->blobs++;
	next:
		if (rc < 0)
			goto done;
	}
	for (size_t i = 0; i < r->n_blobs; i++) {
		const struct pack_blob *b = &r->blobs[i];

		rc = cat_blob_has(r->c, b->digest);
		if (rc < 0)
			goto done;
		if (rc == 1 || maint_list_has(&r->st->skipped, b->digest, NULL) ||
		    maint_list_has(&r->st->notes, b->digest, NULL))
			continue;
		rc = chunks_recorded(r, b, missing);
		if (rc < 0)
			goto done;
		/* garbage a prune left in a kept pack's index, or lost with
		 * a damaged pack (then listed in st->damaged): only a
		 * snapshot that needs it makes the rebuild incomplete */
		rc = maint_list_add(
		    &r->st->notes, b->digest, NULL,
		    "%s not rebuilt: chunk %.16s is in no readable pack",
		    b->kind == PACK_MANIFEST ? "manifest" : "blob", missing);
		if (rc)
			goto done;
	}
	rc = cat_commit(r->c);
done:
	if (rc)
		cat_rollback(r->c);
	return rc;
}

/* A manifest whose bytes are recorded, waiting for its children. */
struct pending_manifest {
	char digest[RV_DIGEST_MAX];
	char media_type[128];
	int64_t size;
	struct cat_ref *refs;
	size_t n_refs;
	int done; /* recorded, or given up (in st->skipped) */
};

/* Read a recorded blob back whole through the store and check its
 * digest. */
static int read_blob(struct rv_buf *out, struct maint_rec *r,
		     const char *digest)
{
	struct cat_chunk_loc *locs = NULL;
	char got[RV_DIGEST_MAX];
	size_t n = 0;
	int64_t size = 0;
	int rc;

	rc = cat_blob_chunks(&locs, &n, &size, r->c, digest);
	if (rc)
		return rc;
	if ((uint64_t)size > out->max) {
		rc = rv_err_set(RV_TOOBIG,
				"manifest '%s' is %lld bytes, more than %zu",
				digest, (long long)size, out->max);
		goto done;
	}
	for (size_t i = 0; !rc && i < n; i++)
		rc = store_read_chunk(r->s, locs[i].pack_id, locs[i].offset,
				      locs[i].length, locs[i].id, out);
	if (rc)
		goto done;
	rc = rv_digest_of(got, out->data, out->len);
	if (!rc && (strcmp(got, digest) || out->len != (size_t)size))
		rc = rv_err_set(RV_CORRUPT,
				"manifest '%s': its stored bytes hash to %s",
				digest, got);
done:
	free(locs);
	return rc;
}

/* The same refs the backup engine records: an index's child manifests,
 * or an image's config then its layers. */
static int refs_of(struct pending_manifest *pm, const struct reg_manifest *m)
{
	size_t n = m->kind == REG_KIND_INDEX ? m->n_manifests : 1 + m->n_layers;

	pm->refs = calloc(n ? n : 1, sizeof(*pm->refs));
	if (!pm->refs)
		return rv_err_set(RV_NOMEM, "out of memory");
	snprintf(pm->media_type, sizeof(pm->media_type), "%s", m->media_type);
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
	return 0;
}

/* Read and parse one manifest. A manifest that cannot be read or parsed
 * is reported and marked done (rc 0); only a failure that must stop the
 * work is returned. */
static int load_manifest(struct pending_manifest *pm, struct maint_rec *r,
			 const struct pack_blob *b)
{
	struct rv_buf body = RV_BUF_INIT(MAINT_MANIFEST_MAX);
	struct reg_manifest *m = NULL;
	int rc;

	snprintf(pm->digest, sizeof(pm->digest), "%s", b->digest);
	pm->size = b->size;
	rc = read_blob(&body, r, b->digest);
	if (!rc)
		rc =
		    reg_manifest_parse(&m, body.data, body.len,
				       b->media_type[0] ? b->media_type : NULL);
	if (rc == RV_NOMEM)
		goto done;
	if (rc) {
		pm->done = 1;
		rc = maint_list_add(&r->st->skipped, b->digest, NULL,
				    "manifest: %s", rv_err_msg());
		goto done;
	}
	rc = refs_of(pm, m);
done:
	reg_manifest_free(m);
	rv_buf_release(&body);
	return rc;
}

static int seen(const struct pending_manifest *pms, size_t n,
		const char *digest)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(pms[i].digest, digest))
			return 1;
	return 0;
}

static int find_pending(const struct pending_manifest *pms, size_t n,
			const char *digest)
{
	for (size_t i = 0; i < n; i++)
		if (!pms[i].done && !strcmp(pms[i].digest, digest))
			return 1;
	return 0;
}

/* 1: every child is recorded; 0: one is still pending (wait); 2: one is
 * missing for good (*missing names it). */
static int children_state(const struct pending_manifest *pm,
			  struct maint_rec *r,
			  const struct pending_manifest *pms, size_t n,
			  const struct cat_ref **missing)
{
	for (size_t i = 0; i < pm->n_refs; i++) {
		const struct cat_ref *ref = &pm->refs[i];
		int rc;

		if (ref->nondistributable)
			continue;
		rc = ref->is_manifest ? cat_manifest_has(r->c, ref->digest)
				      : cat_blob_has(r->c, ref->digest);
		if (rc < 0)
			return rc;
		if (rc == 1)
			continue;
		if (ref->is_manifest && find_pending(pms, n, ref->digest))
			return 0;
		*missing = ref;
		return 2;
	}
	return 1;
}

static int record_manifests(struct maint_rec *r)
{
	struct pending_manifest *pms = NULL;
	const struct cat_ref *missing = NULL;
	size_t n = 0;
	int rc = 0, progress;

	pms = calloc(r->n_blobs ? r->n_blobs : 1, sizeof(*pms));
	if (!pms)
		return rv_err_set(RV_NOMEM, "out of memory");
	for (size_t i = 0; i < r->n_blobs; i++) {
		const struct pack_blob *b = &r->blobs[i];

		if (b->kind != PACK_MANIFEST)
			continue;
		if (seen(pms, n, b->digest))
			continue; /* listed by two packs */
		rc = cat_manifest_has(r->c, b->digest);
		if (rc < 0)
			goto done;
		if (rc == 1)
			continue; /* recorded already */
		rc = cat_blob_has(r->c, b->digest);
		if (rc < 0)
			goto done;
		if (rc == 0)
			continue; /* its bytes are missing (reported) */
		rc = load_manifest(&pms[n++], r, b);
		if (rc)
			goto done;
	}
	rc = cat_begin(r->c);
	if (rc)
		goto done;
	/* Children first: each pass records the manifests whose children
	 * are all in; indexes nest a few levels at most. */
	do {
		progress = 0;
		for (size_t i = 0; i < n; i++) {
			struct pending_manifest *pm = &pms[i];

			if (pm->done)
				continue;
			rc = children_state(pm, r, pms, n, &missing);
			if (rc < 0)
				goto rollback;
			if (rc == 0)
				continue;
			pm->done = 1;
			progress = 1;
			if (rc == 2) {
				rc = maint_list_add(
				    &r->st->notes, pm->digest, NULL,
				    "manifest not rebuilt: its child %s '%s' "
				    "is not recorded",
				    missing->is_manifest ? "manifest" : "blob",
				    missing->digest);
				if (rc)
					goto rollback;
				continue;
			}
			rc = cat_manifest_add(r->c, pm->digest, pm->media_type,
					      pm->size, pm->refs, pm->n_refs);
			if (rc == RV_INVALID) {
				/* parsed, but not something the catalog
				 * takes (its savepoint is rolled back) */
				rc = maint_list_add(&r->st->skipped, pm->digest,
						    NULL, "manifest: %s",
						    rv_err_msg());
				if (rc)
					goto rollback;
				continue;
			}
			if (rc)
				goto rollback;
			r->st->manifests++;
		}
	} while (progress);
	/* What is left waits on itself: a cycle no registry can produce. */
	for (size_t i = 0; i < n; i++) {
		if (pms[i].done)
			continue;
		rc = maint_list_add(&r->st->skipped, pms[i].digest, NULL,
				    "manifest: its children refer back to it");
		if (rc)
			goto rollback;
	}
	rc = cat_commit(r->c);
rollback:
	if (rc)
		cat_rollback(r->c);
done:
	for (size_t i = 0; i < n; i++)
		free(pms[i].refs);
	free(pms);
	return rc;
}

int maint_rec_finish(struct maint_rec *r)
{
	int rc = record_blobs(r);

	if (!rc)
		rc = record_manifests(r);
	return rc;
}
