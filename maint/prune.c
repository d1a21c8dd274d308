/* prune.c - give back the space no snapshot needs (maint/prune.h has the
 * order of the steps and why it is safe). */
#include "maint/prune.h"

#include "catalog/catalog.h"
#include "maint/seals.h"
#include "store/pack.h"
#include "store/sealtext.h"
#include "store/store.h"
#include "store/target.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/progress.h"
#include "util/set.h"
#include "util/strlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRUNE_THRESHOLD_DEFAULT 50

enum fate { KEEP = 0, DROP, REPACK };

struct pr {
	struct cat *c;
	struct store *s;
	const struct prune_opts *o;
	struct prune_result *r;
	struct rv_set carried; /* blob digests written to a new pack */
	struct rv_buf chunk;
	/* the progress line: packs that go, live bytes moved of those to
	 * move; then copies deleted */
	struct rv_meter meter;
};

void maint_prune_release(struct prune_result *r)
{
	if (!r)
		return;
	free(r->pending);
	memset(r, 0, sizeof(*r));
}

/* Finish the open pack, put it on every target and record it: the pack,
 * its locations, the chunks moved into it and the blob entries it now
 * holds, in one transaction. */
static int flush_record(struct pr *p)
{
	struct store_flushed *f = NULL;
	int rc = store_flush(p->s, &f);

	if (rc || !f)
		return rc;
	rc = cat_begin(p->c);
	if (!rc)
		rc = cat_pack_add(p->c, f->pack_id, f->size, p->o->now);
	for (size_t i = 0; !rc && i < store_target_count(p->s); i++)
		if (f->on_target[i])
			rc = cat_pack_location_add(p->c, f->pack_id,
						   store_target_name(p->s, i));
	for (size_t i = 0; !rc && i < f->n_chunks; i++)
		rc = cat_chunk_move(p->c, f->chunks[i].id, f->pack_id,
				    f->chunks[i].offset, f->chunks[i].length);
	for (size_t i = 0; !rc && i < f->n_blobs; i++)
		rc =
		    cat_blob_entry_set(p->c, f->blobs[i].digest, f->pack_id, 1);
	if (!rc)
		rc = cat_commit(p->c);
	if (rc)
		cat_rollback(p->c);
	if (!rc) {
		p->r->packs_written++;
		p->r->bytes_written += f->size;
		p->r->chunks_moved += f->n_chunks;
		p->r->entries_moved += f->n_blobs;
		rv_info("prune: wrote pack %.12s (%zu chunks, %zu blob "
			"entries, %llu bytes)",
			f->pack_id, f->n_chunks, f->n_blobs,
			(unsigned long long)f->size);
	}
	store_flushed_free(f);
	return rc;
}

static int maybe_flush(struct pr *p)
{
	return store_pack_full(p->s) ? flush_record(p) : 0;
}

/* Copy the live chunks of pack_id into the open pack. */
static int move_chunks(struct pr *p, const char *pack_id)
{
	struct cat_chunk_loc *locs = NULL;
	size_t n = 0;
	int rc = cat_prune_live_chunks(&locs, &n, p->c, pack_id);

	for (size_t i = 0; !rc && i < n; i++) {
		rv_buf_reset(&p->chunk);
		rc = store_read_chunk(p->s, pack_id, locs[i].offset,
				      locs[i].length, locs[i].id, &p->chunk);
		if (!rc)
			rc = store_add_chunk(p->s, locs[i].id, p->chunk.data,
					     p->chunk.len);
		if (!rc)
			rc = maybe_flush(p);
		p->meter.bytes += locs[i].length;
		rv_meter_show(&p->meter);
	}
	free(locs);
	return rc;
}

/* Write blob `digest`'s index entry into the open pack. */
static int carry_entry(struct pr *p, const char *digest)
{
	struct cat_chunk_loc *locs = NULL;
	struct pack_blob b;
	char *media_type = NULL;
	size_t n = 0;
	int64_t size = 0;
	int rc;

	if (rv_set_has(&p->carried, digest, strlen(digest)))
		return 0;
	memset(&b, 0, sizeof(b));
	rc = cat_blob_chunks(&locs, &n, &size, p->c, digest);
	if (rc)
		goto done;
	rc = cat_manifest_media_type(&media_type, p->c, digest);
	if (rc == RV_NOTFOUND) {
		rc = 0;
		b.kind = PACK_BLOB;
	} else if (!rc) {
		b.kind = PACK_MANIFEST;
		snprintf(b.media_type, sizeof(b.media_type), "%s", media_type);
	}
	if (rc)
		goto done;
	snprintf(b.digest, sizeof(b.digest), "%s", digest);
	b.size = size;
	b.n_chunks = n;
	b.chunks = calloc(n ? n : 1, sizeof(*b.chunks));
	if (!b.chunks) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		memcpy(b.chunks[i], locs[i].id, 32);
	rc = store_add_blob(p->s, &b);
	if (!rc)
		rc = rv_set_add(&p->carried, digest, strlen(digest));
	if (rc > 0)
		rc = 0;
	if (!rc)
		rc = maybe_flush(p);
done:
	free(b.chunks);
	free(media_type);
	free(locs);
	return rc;
}

/* Blob entries of a pack whose entry pack the catalog does not know (rows
 * from before schema v4): read the pack's index from a target. */
static int carry_from_index(struct pr *p, const char *pack_id)
{
	struct pack_index *ix = NULL;
	uint64_t size = 0;
	int rc = RV_NOTFOUND;

	for (size_t t = 0; rc && t < store_target_count(p->s); t++) {
		rc = store_pack_index_read(&ix, &size, p->s, t, pack_id);
		if (rc && rc != RV_NOMEM)
			rv_warn("prune: pack %.12s on '%s': %s", pack_id,
				store_target_name(p->s, t), rv_err_msg());
		if (rc == RV_NOMEM)
			return rc;
	}
	if (rc)
		return rv_err_set(rc,
				  "prune: no target gives a readable copy of "
				  "pack %s to read its index from; run "
				  "'regvault repair' first",
				  pack_id);
	for (size_t i = 0; !rc && i < ix->n_blobs; i++) {
		rc = cat_prune_blob_live(p->c, ix->blobs[i].digest);
		if (rc == 1)
			rc = carry_entry(p, ix->blobs[i].digest);
	}
	pack_index_free(ix);
	return rc < 0 ? rc : 0;
}

static int carry_entries(struct pr *p, const char *pack_id, int from_index)
{
	struct rv_strlist d = RV_STRLIST_INIT;
	int rc = cat_prune_entries(&d, p->c, pack_id);

	for (size_t i = 0; !rc && i < d.n; i++)
		rc = carry_entry(p, d.items[i]);
	rv_strlist_release(&d);
	if (!rc && from_index)
		rc = carry_from_index(p, pack_id);
	return rc;
}

/* Re-sign every kept snapshot's seal whose packs changed. */
static int reseal(struct pr *p)
{
	struct cat_snapshot *list = NULL;
	size_t n = 0;
	int rc = cat_snapshot_list(&list, &n, p->c);

	for (size_t i = 0; !rc && i < n; i++) {
		int changed = 0;

		rc = maint_seal_refresh(&changed, p->s, p->c, list[i].id);
		if (rc == RV_NOTFOUND) {
			rc = rv_err_set(RV_NOTFOUND,
					"prune: snapshot %s has no seal on any "
					"target, so its packs cannot be "
					"re-signed; nothing was deleted (run "
					"'regvault verify')",
					list[i].id);
		}
		p->r->snapshots_resealed += changed > 0;
	}
	free(list);
	return rc;
}

static int pending_note(struct prune_result *r, const struct cat_pending *pd,
			const char *why)
{
	struct prune_pending_item *it =
	    realloc(r->pending, (r->n_pending + 1) * sizeof(*it));

	if (!it)
		return rv_err_set(RV_NOMEM, "out of memory");
	r->pending = it;
	it = &r->pending[r->n_pending++];
	memset(it, 0, sizeof(*it));
	memcpy(it->pack_id, pd->pack_id, sizeof(it->pack_id));
	snprintf(it->target, sizeof(it->target), "%s", pd->target);
	snprintf(it->why, sizeof(it->why), "%s", why);
	return 0;
}

/* Delete every queued copy (this run's and those left by earlier runs). */
static int delete_queued(struct pr *p)
{
	struct cat_pending *list = NULL;
	size_t n = 0;
	int rc = cat_pending_list(&list, &n, p->c);

	rv_meter_start(&p->meter, "prune", "copies deleted", n, 0);
	for (size_t i = 0; !rc && i < n; i++) {
		struct target *t = NULL;
		char name[96], why[512];
		uint64_t size = 0;
		int del;

		p->meter.done = i;
		if (!p->o->dry_run) {
			rv_meter_where(&p->meter, list[i].target);
			rv_meter_show(&p->meter);
		}
		for (size_t k = 0; k < store_target_count(p->s); k++)
			if (!strcmp(store_target_name(p->s, k), list[i].target))
				t = store_target(p->s, k);
		if (p->o->dry_run || !t) {
			rc = pending_note(p->r, &list[i],
					  t ? "would be deleted"
					    : "the target is not in the "
					      "config; kept queued");
			continue;
		}
		snprintf(name, sizeof(name), "packs/%.2s/%s", list[i].pack_id,
			 list[i].pack_id);
		del = target_stat(t, name, &size);
		if (del == 0 || del == RV_NOTFOUND)
			del = del == RV_NOTFOUND ? 0 : target_del(t, name);
		if (del == 0) {
			rc = cat_pending_done(p->c, list[i].pack_id,
					      list[i].target, 1, NULL);
			if (!rc && size) {
				p->r->copies_deleted++;
				p->r->copies_bytes += size;
			}
			continue;
		}
		snprintf(why, sizeof(why), "%s", rv_err_msg());
		rv_warn("prune: %s on '%s' stays for now: %s", name,
			list[i].target, why);
		rc = cat_pending_done(p->c, list[i].pack_id, list[i].target, 0,
				      why);
		if (!rc)
			rc = pending_note(p->r, &list[i], why);
	}
	rv_err_clear();
	free(list);
	return rc;
}

static enum fate pack_fate(const struct cat_prune_pack *pk, int threshold)
{
	if (pk->n_live == 0)
		return DROP;
	if ((pk->bytes - pk->live_bytes) * 100 >
	    (uint64_t)threshold * pk->bytes)
		return REPACK;
	return KEEP;
}

/* The packs that snapshots this catalog does not know need: every seal on
 * the targets whose snapshot is not ours names them (another host's
 * catalog, or one not yet rebuilt). Prune never deletes those, whatever
 * this catalog says (a backup may have adopted them). */
static int foreign_packs(struct rv_set *out, struct pr *p)
{
	struct rv_strlist names = RV_STRLIST_INIT;
	struct rv_set ours = RV_SET_INIT, seen = RV_SET_INIT;
	struct cat_snapshot *snaps = NULL;
	size_t n_snaps = 0;
	int rc = cat_snapshot_list(&snaps, &n_snaps, p->c);

	for (size_t i = 0; !rc && i < n_snaps; i++)
		if (rv_set_add(&ours, snaps[i].id, 64) < 0)
			rc = rv_err_set(RV_NOMEM, "out of memory");
	for (size_t t = 0; !rc && t < store_target_count(p->s); t++) {
		rv_strlist_release(&names);
		rc = target_list(store_target(p->s, t), "seals/", &names);
		if (rc)
			break;
		for (size_t i = 0; !rc && i < names.n; i++) {
			const char *id = names.items[i] + strlen("seals/");
			struct seal_text st;
			int r;

			if (strlen(id) != 64 || rv_set_has(&ours, id, 64))
				continue;
			r = rv_set_add(&seen, id, 64);
			if (r <= 0) {
				rc = r < 0 ? rv_err_set(RV_NOMEM, "out of memory")
					   : 0;
				continue;
			}
			r = store_seal_read(&st, p->s, id);
			if (r == RV_NOMEM)
				rc = r;
			else if (r)
				rv_warn("prune: the seal of snapshot %.12s "
					"(not in this catalog) cannot be read "
					"(%s); its packs are not known",
					id, rv_err_msg());
			for (size_t k = 0; !r && !st.forgotten && k < st.n_packs;
			     k++)
				if (rv_set_add(out, st.packs[k].id, 64) < 0)
					rc = rv_err_set(RV_NOMEM,
							"out of memory");
			seal_text_release(&st);
		}
	}
	rv_strlist_release(&names);
	rv_set_release(&ours);
	rv_set_release(&seen);
	free(snaps);
	return rc;
}

/* Dry run: the counts of what would drop, from a rolled-back transaction. */
static int count_dead(struct pr *p)
{
	int rc = cat_begin(p->c);

	if (!rc)
		rc = cat_prune_drop_dead(&p->r->manifests_dropped,
					 &p->r->blobs_dropped, p->c);
	cat_rollback(p->c);
	return rc;
}

int maint_prune(struct prune_result *out, struct cat *c, struct store *s,
		const struct prune_opts *o)
{
	struct cat_prune_pack *packs = NULL;
	struct rv_set foreign = RV_SET_INIT;
	enum fate *fates = NULL;
	struct pr p;
	size_t n = 0, going = 0;
	uint64_t unknown = 0;
	int threshold =
	    o->repack_threshold ? o->repack_threshold : PRUNE_THRESHOLD_DEFAULT;
	int rc;

	memset(out, 0, sizeof(*out));
	if (threshold < 1 || threshold > 100)
		return rv_err_set(RV_INVALID,
				  "the repack threshold must be a percentage "
				  "from 1 to 100, not %d",
				  threshold);
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.s = s;
	p.o = o;
	p.r = out;
	rv_buf_init(&p.chunk, 2 * store_chunk_size(s) + (1u << 20));

	rc = cat_prune_plan(&packs, &n, &unknown, c);
	fates = calloc(n ? n : 1, sizeof(*fates));
	if (!rc && !fates)
		rc = rv_err_set(RV_NOMEM, "out of memory");
	if (!rc)
		rc = foreign_packs(&foreign, &p);
	for (size_t i = 0; !rc && i < n; i++) {
		fates[i] = pack_fate(&packs[i], threshold);
		if (fates[i] != KEEP &&
		    rv_set_has(&foreign, packs[i].pack_id, 64)) {
			rv_info("prune: pack %.12s is kept: a snapshot this "
				"catalog does not know (another host's) needs "
				"it",
				packs[i].pack_id);
			fates[i] = KEEP;
			out->packs_foreign++;
		}
		out->packs_total++;
		out->bytes_total += packs[i].size;
		if (fates[i] == DROP) {
			out->packs_deleted++;
			out->bytes_deleted += packs[i].size;
		} else if (fates[i] == REPACK) {
			out->packs_repacked++;
			out->bytes_repacked += packs[i].size;
		}
		going += fates[i] != KEEP;
	}
	if (!rc && unknown)
		rv_info("prune: %llu blob(s) were recorded before catalog "
			"schema 4: the index of each pack that goes is read "
			"to keep their entries",
			(unsigned long long)unknown);
	if (!rc && o->dry_run) {
		for (size_t i = 0; i < n; i++)
			if (fates[i] == REPACK)
				out->bytes_written += packs[i].live_bytes;
		rc = count_dead(&p);
		if (!rc)
			rc = delete_queued(&p);
		goto done;
	}

	/* 2. repack into new packs, on every target */
	store_set_quorum(s, 0);
	{
		uint64_t to_move = 0;

		for (size_t i = 0; i < n; i++)
			if (fates[i] == REPACK)
				to_move += packs[i].live_bytes;
		rv_meter_start(&p.meter, "prune", "packs", going, to_move);
	}
	for (size_t i = 0; !rc && i < n; i++) {
		char where[32];

		if (fates[i] == KEEP)
			continue;
		snprintf(where, sizeof(where), "pack %.12s", packs[i].pack_id);
		rv_meter_where(&p.meter, where);
		rv_meter_show(&p.meter);
		if (fates[i] == REPACK)
			rc = move_chunks(&p, packs[i].pack_id);
		if (!rc && (packs[i].entries || unknown))
			rc = carry_entries(&p, packs[i].pack_id, unknown > 0);
		p.meter.done++;
	}
	if (!rc)
		rc = flush_record(&p);
	/* 3. seals; 4. the catalog */
	if (!rc && going)
		rc = reseal(&p);
	if (!rc)
		rc = cat_begin(c);
	if (!rc) {
		rc = cat_prune_drop_dead(&out->manifests_dropped,
					 &out->blobs_dropped, c);
		for (size_t i = 0; !rc && i < n; i++)
			if (fates[i] != KEEP)
				rc = cat_pack_drop(c, packs[i].pack_id, o->now);
		if (!rc)
			rc = cat_commit(c);
		if (rc)
			cat_rollback(c);
	}
	/* 5. the files */
	if (!rc)
		rc = delete_queued(&p);
done:
	rv_progress_done();
	cat_prune_end(c);
	rv_set_release(&foreign);
	rv_set_release(&p.carried);
	rv_buf_release(&p.chunk);
	free(fates);
	free(packs);
	return rc;
}
