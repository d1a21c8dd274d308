/* prune.h - forget snapshots by a retention policy, and give back the
 * space that no remaining snapshot needs.
 *
 * forget removes snapshots: each forgotten snapshot's seal is replaced by
 * a signed tombstone on every target (so the chain of seals stays whole
 * and a later verify knows it was forgotten on purpose, not deleted by
 * someone else), then its catalog row goes, then its record on the
 * targets. Its data stays until prune.
 *
 * prune, in an order that never loses a kept snapshot's data:
 *   1. plan from the catalog: the live manifests, blobs and chunks, and
 *      per pack how much of it is still needed;
 *   2. repack: the live chunks of every pack whose unused share is above
 *      the threshold, and the index entries of the live blobs indexed by
 *      any pack that goes, are written into new packs, put on every target
 *      (all of them: prune does not run under a quorum) and recorded;
 *   3. re-sign the seal of every kept snapshot whose packs changed (every
 *      target must take it);
 *   4. in one catalog transaction: drop the dead manifests and blobs, drop
 *      the packs that go and queue their copies for deletion (the queue is
 *      in the catalog, so a killed prune deletes them next time);
 *   5. delete the queued copies from every target. A copy retained by
 *      Object Lock (RV_LOCKED from the target) stays queued with the
 *      reason and is retried by the next prune.
 * The caller holds the run lock and the exclusive lock on the targets.
 */
#ifndef MAINT_PRUNE_H
#define MAINT_PRUNE_H

#include "schedules/retention.h"

#include <stddef.h>
#include <stdint.h>

struct cat;
struct store;

/* ---- forget ---- */

struct forget_opts {
	const char *source; /* NULL: every source */
	struct sched_keep keep;
	const char *timezone; /* NULL/"": UTC */
	int dry_run;
	int64_t now;
};

struct forget_snap {
	char id[65];
	int64_t time;
	int keep;
	char reasons[SCHED_REASONS_MAX];
};

struct forget_group {
	char source[256];
	struct forget_snap *snaps; /* newest first */
	size_t n;
};

struct forget_result {
	struct forget_group *groups; /* by source name */
	size_t n_groups;
	size_t kept, forgotten;
	size_t records_left; /* records a target failed to delete (warned) */
};

/* Apply the policy to each source's snapshots in the catalog and, unless
 * dry_run, forget those it does not keep. RV_INVALID for an empty policy
 * (it would keep everything: say so rather than do nothing) or an unknown
 * source. */
int maint_forget(struct forget_result *out, struct cat *c, struct store *s,
		 const struct forget_opts *o);
void maint_forget_release(struct forget_result *r);

/* ---- prune ---- */

struct prune_opts {
	int dry_run;
	int repack_threshold; /* percent of a pack's bytes unused above which
				 it is repacked; 0 = default 50 */
	int64_t now;
};

struct prune_pending_item {
	char pack_id[65];
	char target[256];
	char why[512];
};

struct prune_result {
	uint64_t packs_total, bytes_total;	 /* recorded before */
	uint64_t packs_deleted, bytes_deleted;	 /* dropped whole */
	uint64_t packs_repacked, bytes_repacked; /* dropped after repack */
	/* packs this catalog would drop that a snapshot of another catalog
	 * (host) needs, by the seals on the targets: kept */
	uint64_t packs_foreign;
	uint64_t packs_written, bytes_written;	 /* new packs */
	uint64_t chunks_moved, entries_moved;
	uint64_t manifests_dropped, blobs_dropped;
	uint64_t snapshots_resealed;
	uint64_t copies_deleted;	    /* files removed from targets */
	uint64_t copies_bytes;		    /* their bytes */
	struct prune_pending_item *pending; /* copies still on a target */
	size_t n_pending;
};

/* RV_INVALID for a threshold outside 1-100. The figures are what was done
 * (or, with dry_run, what would be: nothing is written or deleted). */
int maint_prune(struct prune_result *out, struct cat *c, struct store *s,
		const struct prune_opts *o);
void maint_prune_release(struct prune_result *r);

#endif
