/* internal.h - shared by the maint/ sources only.
 *
 * The recorder (record.c) writes what pack indexes say into the catalog
 * in the order its invariants need: packs with their chunks first, then
 * blobs (their chunks may sit in packs recorded later), then manifests
 * (children before parents). Rebuild feeds it every pack of one target;
 * adoption only the packs the catalog does not know.
 */
#ifndef MAINT_INTERNAL_H
#define MAINT_INTERNAL_H

#include "maint/maint.h"

#include "store/pack.h"
#include "util/set.h"
#include "util/strlist.h"

#include <stddef.h>
#include <stdint.h>

/* Manifest bytes are read back whole; the backup engine refuses larger
 * ones, so none is stored. */
#define MAINT_MANIFEST_MAX ((size_t)4 << 20)

/* Append an item (copies of the strings; target may be NULL). why is a
 * printf format. RV_NOMEM. */
int maint_list_add(struct maint_list *l, const char *what, const char *target,
		   const char *why, ...) __attribute__((format(printf, 4, 5)));
/* 1 if an item has this what (and this target, unless target is NULL). */
int maint_list_has(const struct maint_list *l, const char *what,
		   const char *target);
void maint_list_release(struct maint_list *l);

/* 1 if s is exactly 64 lowercase hex digits. */
int maint_hex64(const char *s);

/* "packs/ab/<id>" for a pack id (buffer of at least 80 bytes). */
void maint_pack_name(char *out, size_t size, const char *pack_id);
/* The pack id in a listed name "packs/<2 hex>/<64 hex>" whose folder
 * matches the id, or NULL when the name is something else. */
const char *maint_pack_id_of(const char *name);

/* Every pack each target lists: sets[i] holds the ids (64 hex, without
 * the NUL) listed on target i, ids[i] the same in listing order. ok[i] is
 * 0 when the listing failed (reported in st->failed): nothing is known of
 * that target then, and nothing is written to it. */
struct maint_listing {
	size_t n;
	struct rv_set *sets;
	struct rv_strlist *ids;
	int *ok;
};
int maint_listing_load(struct maint_listing *l, struct maint_stats *st,
		       struct store *s);
void maint_listing_release(struct maint_listing *l);
/* 1 when target i listed pack_id. */
int maint_listing_has(const struct maint_listing *l, size_t i,
		      const char *pack_id);

/* Adoption over an existing listing; dry_run checks the unknown packs and
 * lists them in st->adopted without recording anything. */
int maint_adopt_listed(struct maint_stats *st, struct cat *c, struct store *s,
		       const struct maint_listing *l, int dry_run);

struct maint_rec {
	struct cat *c;
	struct store *s;
	struct maint_stats *st;
	struct pack_blob *blobs; /* pending, chunk lists owned */
	char (*blob_packs)[65];	 /* the pack whose index lists blobs[i] */
	size_t n_blobs, cap_blobs;
};

void maint_rec_init(struct maint_rec *r, struct cat *c, struct store *s,
		    struct maint_stats *st);
/* Record a checked pack (size bytes), its locations (target names) and
 * chunks in one transaction; keep its blobs for maint_rec_finish (their
 * chunk lists are taken from ix). */
int maint_rec_pack(struct maint_rec *r, const char *pack_id, uint64_t size,
		   struct pack_index *ix, const struct rv_strlist *targets);
/* Record the pending blobs whose chunks are all recorded, then the
 * manifests among them whose children are all recorded. What cannot be
 * recorded goes to st->skipped. */
int maint_rec_finish(struct maint_rec *r);
void maint_rec_release(struct maint_rec *r);

#endif
