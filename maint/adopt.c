/* adopt.c - packs on the targets that the catalog does not know.
 *
 * A backup puts a pack on every target before it records it; a run killed
 * in between leaves a complete, durable pack that nothing refers to. Its
 * index says what it holds, so when a copy checks out (hash = id, index
 * authenticated with the key) it is recorded as if the run had finished
 * that step, and the next backup does not fetch its blobs again. A pack
 * no copy of which checks out is reported for removal, never deleted here:
 * deleting is for an operator or a later prune to decide.
 *
 * Cost: one listing of packs/ per target; only unknown packs are read.
 */
#include "maint/internal.h"

#include "catalog/catalog.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

/* Every pack id some target lists and the catalog does not know, sorted,
 * each once; and into `vanished` the recorded packs that no target lists
 * (when every target could be listed). */
static int unknown_packs(struct rv_strlist *out, struct maint_list *vanished,
			 struct cat *c, const struct maint_listing *l)
{
	struct cat_pack *packs = NULL;
	struct rv_set known = RV_SET_INIT;
	size_t n_packs = 0;
	int rc;

	rc = cat_pack_list(&packs, &n_packs, c);
	for (size_t i = 0; !rc && i < n_packs; i++) {
		size_t t;

		if (rv_set_add(&known, packs[i].pack_id, 64) < 0)
			rc = rv_err_set(RV_NOMEM, "out of memory");
		for (t = 0; !rc && t < l->n; t++)
			if (!l->ok[t] ||
			    maint_listing_has(l, t, packs[i].pack_id))
				break;
		if (!rc && l->n && t == l->n) {
			char name[96];

			maint_pack_name(name, sizeof(name), packs[i].pack_id);
			rc = maint_list_add(vanished, name, NULL,
					    "recorded in the catalog but on "
					    "no target");
		}
	}
	for (size_t t = 0; !rc && t < l->n; t++) {
		for (size_t i = 0; !rc && i < l->ids[t].n; i++) {
			const char *id = l->ids[t].items[i];

			if (rv_set_has(&known, id, 64))
				continue;
			/* prune dropped it and deletes it later (an
			 * interrupted prune, or Object Lock): never adopt it
			 * back */
			rc = cat_pending_has(c, id);
			if (rc) {
				rc = rc < 0 ? rc : 0;
				if (!rc && rv_set_add(&known, id, 64) < 0)
					rc = rv_err_set(RV_NOMEM,
							"out of memory");
				continue;
			}
			if (rv_set_add(&known, id, 64) < 0 ||
			    rv_strlist_add(out, id) < 0)
				rc = rv_err_set(RV_NOMEM, "out of memory");
		}
	}
	if (!rc)
		rv_strlist_sort(out);
	rv_set_release(&known);
	cat_pack_list_free(packs, n_packs);
	return rc;
}

/* Check every copy of one unknown pack; record it when one checks out. */
static int adopt_one(struct maint_rec *r, const struct maint_listing *l,
		     const char *id, int dry_run)
{
	struct rv_strlist good = RV_STRLIST_INIT;
	struct pack_index *keep = NULL;
	uint64_t keep_size = 0;
	size_t src = 0;
	char name[96];
	int rc = 0;

	maint_pack_name(name, sizeof(name), id);
	for (size_t t = 0; t < l->n; t++) {
		struct pack_index *ix = NULL;
		uint64_t size = 0;

		if (!maint_listing_has(l, t, id))
			continue;
		rc = store_pack_index_read(&ix, &size, r->s, t, id);
		if (rc == RV_NOMEM)
			goto done;
		if (rc) {
			rv_warn("%s", rv_err_msg());
			rc = maint_list_add(&r->st->damaged, name,
					    store_target_name(r->s, t), "%s",
					    rv_err_msg());
			if (rc)
				goto done;
			continue;
		}
		rc = rv_strlist_add(&good, store_target_name(r->s, t));
		if (rc)
			goto done;
		if (!keep) {
			keep = ix;
			keep_size = size;
			src = t;
		} else {
			pack_index_free(ix);
		}
	}
	if (!keep) {
		for (size_t t = 0; t < l->n; t++) {
			if (!maint_listing_has(l, t, id))
				continue;
			rv_warn("pack %s on target '%s' is not in the catalog "
				"and does not check out; remove it by hand",
				id, store_target_name(r->s, t));
			rc = maint_list_add(&r->st->removable, name,
					    store_target_name(r->s, t),
					    "not in the catalog and no copy "
					    "checks out");
			if (rc)
				goto done;
		}
		goto done;
	}
	/* a run that died while putting the pack left it on fewer targets
	 * than the write policy asks: copy it to the others first, or leave
	 * it unadopted (its blobs are fetched again) */
	for (size_t t = 0; !dry_run && t < l->n &&
			   good.n < store_write_needed(r->s);
	     t++) {
		if (rv_strlist_has(&good, store_target_name(r->s, t)))
			continue;
		rc = store_pack_copy(r->s, src, t, id);
		if (rc == RV_NOMEM)
			goto done;
		if (rc) {
			rv_warn("pack %.12s left by an interrupted run: cannot "
				"copy it to target '%s': %s",
				id, store_target_name(r->s, t), rv_err_msg());
			rc = 0;
			continue;
		}
		rc = rv_strlist_add(&good, store_target_name(r->s, t));
		if (rc)
			goto done;
	}
	if (!dry_run && good.n < store_write_needed(r->s)) {
		rv_warn("pack %.12s left by an interrupted run is on %zu "
			"target(s), the write policy needs %zu: not adopted "
			"(its blobs are fetched again)",
			id, good.n, store_write_needed(r->s));
		rc = maint_list_add(&r->st->skipped, name, NULL,
				    "on %zu target(s), %zu needed: not "
				    "adopted",
				    good.n, store_write_needed(r->s));
		goto done;
	}
	rc = maint_list_add(&r->st->adopted, name, NULL,
			    dry_run ? "would be adopted (%zu chunks, %zu "
				      "blobs)"
				    : "adopted (%zu chunks, %zu blobs)",
			    keep->n_chunks, keep->n_blobs);
	if (!rc && !dry_run) {
		rv_info("adopting pack %.12s left by an interrupted run", id);
		rc = maint_rec_pack(r, id, keep_size, keep, &good);
	}
done:
	pack_index_free(keep);
	rv_strlist_release(&good);
	return rc;
}

int maint_adopt_listed(struct maint_stats *st, struct cat *c, struct store *s,
		       const struct maint_listing *l, int dry_run)
{
	struct rv_strlist unknown = RV_STRLIST_INIT;
	struct maint_rec r;
	int rc;

	maint_rec_init(&r, c, s, st);
	rc = unknown_packs(&unknown, &st->vanished, c, l);
	for (size_t i = 0; !rc && i < unknown.n; i++)
		rc = adopt_one(&r, l, unknown.items[i], dry_run);
	if (!rc && !dry_run && r.n_blobs)
		rc = maint_rec_finish(&r);
	maint_rec_release(&r);
	rv_strlist_release(&unknown);
	return rc;
}

int maint_adopt(struct maint_stats *st, struct cat *c, struct store *s)
{
	struct maint_listing l;
	int rc = maint_listing_load(&l, st, s);

	if (rc)
		return rc;
	rc = maint_adopt_listed(st, c, s, &l, 0);
	maint_listing_release(&l);
	return rc;
}
