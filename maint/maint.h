/* maint.h - keeping the catalog and the targets whole: rebuild the
 * catalog from one target, repair targets from each other, adopt packs a
 * killed run left on the targets. docs/OPERATIONS.md explains them to
 * operators.
 *
 * All three take the run lock's protection for granted: the caller holds
 * it (cli/app.c, app_lock), so no backup writes while they run.
 *
 * Results go into a struct maint_stats that the caller zeroes before the
 * first call (memset or `= {0}`) and releases with maint_stats_release.
 * Problems that do not stop the work (a damaged pack, a snapshot whose
 * manifests are missing) are listed there, not returned; the return value
 * is 0 or the negative rv_code of a failure that stopped the work (the
 * catalog or the staging folder failed, out of memory).
 */
#ifndef MAINT_MAINT_H
#define MAINT_MAINT_H

#include <stddef.h>
#include <stdint.h>

struct cat;
struct store;

/* One reported thing: what (a store name such as "packs/ab/<id>" or
 * "snapshots/<id>", or a digest), where (a target name, or NULL when it is
 * not about one target) and why (a short lowercase phrase). */
struct maint_item {
	char *what;
	char *target;
	char *why;
};

struct maint_list {
	struct maint_item *items;
	size_t n, cap;
};

struct maint_stats {
	/* Recorded in the catalog by rebuild or adoption. */
	uint64_t packs, pack_bytes, chunks, blobs, manifests, snapshots;
	/* Rebuild and adoption. */
	struct maint_list damaged;   /* copies that fail their check */
	struct maint_list skipped;   /* blobs, manifests, snapshots left out */
	struct maint_list adopted;   /* unknown packs recorded (dry run:
					that would be) */
	struct maint_list removable; /* unknown packs that cannot be adopted
					(reported, never deleted) */
	struct maint_list vanished;  /* recorded packs that no target lists
					(every listing succeeded) */
	/* Repair. */
	uint64_t packs_checked;	  /* distinct packs looked at */
	uint64_t copies_checked;  /* pack copies hashed */
	uint64_t bytes_checked;	  /* bytes hashed */
	uint64_t bytes_copied;	  /* bytes written to targets */
	uint64_t locations_added; /* pack_locations rows added */
	uint64_t locations_removed;
	struct maint_list copied; /* what -> target, why = "from 'T'" */
	struct maint_list lost;	  /* no good copy anywhere */
	struct maint_list failed; /* a target failed (listing, reading or
				     writing); the rest went on */
	struct maint_list notes;  /* conflicts left alone, for the report */
};

void maint_stats_release(struct maint_stats *st);

/* Rebuild: record in c (an empty catalog) everything target number
 * `from` of s holds: its packs (each read whole and checked: sha256 =
 * id, index authenticated), their location on that target, chunks,
 * blobs, manifests (bytes read back, digest checked, parsed; children
 * first) and snapshots (records opened with the key; one whose manifests
 * are missing is skipped). Sets meta "store_id" (and "fingerprint" for a
 * signing store). A damaged pack is listed
 * in st->damaged and what it held ends up in st->skipped. */
int maint_rebuild(struct maint_stats *st, struct cat *c, struct store *s,
		  size_t from);

/* The same into a new file: rebuild into "<catalog_path>.rebuild" beside
 * it and rename that over catalog_path only when complete (the old
 * catalog, if any, stays untouched on any failure). The caller has
 * decided whether an existing catalog may be replaced. */
int maint_rebuild_file(struct maint_stats *st, const char *catalog_path,
		       struct store *s, size_t from);

/* Adoption: list packs/ on every target (one listing each); every pack
 * the catalog does not know (a run killed after its upload) is read whole
 * from each target holding it. When a copy checks out the pack is
 * recorded with the targets whose copies check out, its chunks, the blobs
 * that completed in it (whose chunks are all recorded) and the manifests
 * among them whose bytes and children are all recorded; a copy that fails
 * goes to st->damaged. A pack no copy of which checks out goes to
 * st->removable (nothing is deleted). Known packs cost nothing beyond the
 * listing. */
int maint_adopt(struct maint_stats *st, struct cat *c, struct store *s);

/* Repair: adopt (dry_run: only check) unknown packs; then, for every pack
 * the catalog knows, hash every target's copy, and put a copy that hashes
 * to its id on each target that lacks it or holds a damaged one (fetched
 * into a temporary file under staging_dir and hashed again on the way);
 * update pack_locations (add where now present, remove where absent and
 * unrepairable, mark verified). Then snapshot records (a copy that opens
 * with the key), their seals in a signing store (a copy whose signature
 * verifies), key slots (a copy whose name matches its hash) and
 * regvault.json (a copy naming this store) are copied to targets that
 * lack them or hold a bad copy. dry_run reports the same and changes
 * nothing. Anything without a good copy anywhere goes to st->lost. */
int maint_repair(struct maint_stats *st, struct cat *c, struct store *s,
		 const char *staging_dir, int dry_run);

#endif
