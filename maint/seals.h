/* seals.h - writing seals: a new snapshot's, and rewriting them when
 * forget and prune change the store.
 *
 * Forget and prune keep the chain of seals whole (store/sealtext.h): the rewritten seal
 * keeps its sequence and previous and lists the hash of the text it
 * replaces in "former". Both put the new seal on EVERY target and fail
 * when any target does not take it (the caller then stops before deleting
 * anything): a target left with the old text would name packs that prune
 * is about to delete. A format 1 store has no seals: both return 0 and do
 * nothing.
 */
#ifndef MAINT_SEALS_H
#define MAINT_SEALS_H

#include <stdint.h>

struct cat;
struct store;

/* The seal of a snapshot just added to the catalog, inside the open
 * transaction: the packs it needs (cat_snapshot_packs), the hash of its
 * record, its source and time, and the next place in the store's chain
 * (catalog meta "seal_sequence" and "seal_last", which are advanced in
 * the same transaction). Put with the write policy, like the record. A
 * format 1 store: nothing. */
int maint_seal_new(struct store *s, struct cat *c, const char *snap_id,
		   const char *source, int64_t time, const char *record_hash);

/* Replace snap_id's seal by a signed tombstone ("kind":"forgotten",
 * "forgotten": now). The current seal is read and verified first
 * (store_get_seal); RV_NOTFOUND when no target has one (nothing to do for
 * the caller: an interrupted snapshot). Idempotent: a seal that is already
 * a tombstone is left as it is. */
int maint_seal_forget(struct store *s, const char *snap_id, int64_t now);

/* Re-sign snap_id's seal with the packs the catalog now says the snapshot
 * needs (cat_snapshot_packs, after a repack was committed). Nothing is
 * written when the list is unchanged (*changed = 0); else *changed = 1. */
int maint_seal_refresh(int *changed, struct store *s, struct cat *c,
		       const char *snap_id);

#endif
