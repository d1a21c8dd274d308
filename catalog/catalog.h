/* catalog.h - the SQLite restore catalog.
 *
 * A cache of what the targets hold: which packs exist and where, which
 * chunks each pack holds, which blobs and manifests are complete (all their
 * chunks in recorded packs), and every snapshot's tags. SQLite in WAL mode,
 * foreign keys on, synchronous=FULL, schema versioned by user_version with
 * migrations (docs/CATALOG.md). Holds no secrets.
 *
 * Invariants the writers keep:
 *  - a pack row exists only once the pack is durable on its targets;
 *  - a blob row exists only when its digest was verified and all its
 *    chunks are in recorded packs;
 *  - a manifest row exists only when its own bytes are a recorded blob and
 *    every child (blob or manifest) is recorded.
 */
#ifndef CAT_CATALOG_H
#define CAT_CATALOG_H

#include "util/digest.h"
#include "util/strlist.h"

#include <stddef.h>
#include <stdint.h>

struct cat;

/* Open or create the catalog at path (its folder must exist), apply
 * migrations. RV_CORRUPT if the file is not a catalog, RV_UNSUPPORTED if
 * it was written by a newer regvault (user_version too high). */
int cat_open(struct cat **out, const char *path);
/* A second, read-only connection to c's file, for a thread that looks
 * things up while c writes (WAL: it sees what c has committed). Only the
 * lookups (cat_*_has, cat_*_get) may be used on it. */
int cat_open_reader(struct cat **out, const struct cat *c);
void cat_close(struct cat *c);

/* Transactions (BEGIN IMMEDIATE / COMMIT / ROLLBACK). */
int cat_begin(struct cat *c);
int cat_commit(struct cat *c);
void cat_rollback(struct cat *c);

/* Key/value settings, e.g. "store_id". RV_NOTFOUND when unset. */
int cat_meta_get(char **value, struct cat *c, const char *key);
int cat_meta_set(struct cat *c, const char *key, const char *value);

/* 1 present, 0 absent, <0 error. */
int cat_blob_has(struct cat *c, const char *digest);
int cat_manifest_has(struct cat *c, const char *digest);
int cat_chunk_has(struct cat *c, const unsigned char id[32]);

/* Recording a durable pack: call inside one transaction, in this order. */
int cat_pack_add(struct cat *c, const char *pack_id, uint64_t size,
		 int64_t created);
int cat_pack_location_add(struct cat *c, const char *pack_id,
			  const char *target);
/* The chunk lives in pack_id at [offset, offset+length). A chunk already
 * recorded (in another pack) is left as it is. */
int cat_chunk_add(struct cat *c, const unsigned char id[32],
		  const char *pack_id, uint64_t offset, uint32_t length,
		  uint32_t plain_len);
/* A complete blob: its ordered chunks (each already recorded). An
 * existing row with the same digest is left as it is. */
int cat_blob_add(struct cat *c, const char *digest, int64_t size,
		 const unsigned char (*chunk_ids)[32], size_t n_chunks);

/* A manifest's reference to a child. */
struct cat_ref {
	char digest[RV_DIGEST_MAX];
	int is_manifest;        /* 1: child manifest (index entry); 0: blob */
	int64_t size;
	char media_type[128];
	int nondistributable;   /* foreign layer: not stored, not restored */
};

/* A complete manifest: its bytes are the blob with the same digest (which
 * must be recorded), refs are its children in document order (each
 * recorded, except nondistributable ones). Existing rows are kept. */
int cat_manifest_add(struct cat *c, const char *digest,
		     const char *media_type, int64_t size,
		     const struct cat_ref *refs, size_t n_refs);

struct cat_manifest {
	char digest[RV_DIGEST_MAX];
	char media_type[128];
	int64_t size;
	struct cat_ref *refs;
	size_t n_refs;
};
/* RV_NOTFOUND when absent. Free with cat_manifest_free. */
int cat_manifest_get(struct cat_manifest **out, struct cat *c,
		     const char *digest);
void cat_manifest_free(struct cat_manifest *m);

/* Where a blob's chunks are, in order. */
struct cat_chunk_loc {
	unsigned char id[32];
	char pack_id[65];
	uint64_t offset;
	uint32_t length;
	uint32_t plain_len;
};
/* RV_NOTFOUND when the blob is absent. *locs is malloc'd. */
int cat_blob_chunks(struct cat_chunk_loc **locs, size_t *n, int64_t *size,
		    struct cat *c, const char *digest);

/* Snapshots. */
struct cat_snapshot {
	char id[65];        /* 64 hex */
	int64_t time;       /* unix seconds, UTC */
	char source[256];   /* the source's registry name */
	char url[512];      /* the registry URL at backup time */
	int64_t n_repos;
	int64_t n_tags;
};

/* Record a snapshot with its tags: call inside a transaction, add the
 * snapshot then each tag. The manifest of each tag must be recorded. */
int cat_snapshot_add(struct cat *c, const struct cat_snapshot *s);
int cat_snapshot_tag_add(struct cat *c, const char *snap_id, const char *repo,
			 const char *tag, const char *manifest_digest);

/* All snapshots, oldest first. *out malloc'd. */
int cat_snapshot_list(struct cat_snapshot **out, size_t *n, struct cat *c);
/* Resolve "latest", a full id, or a unique id prefix (>= 4 chars).
 * RV_NOTFOUND when none matches; RV_INVALID when a prefix is ambiguous. */
int cat_snapshot_find(struct cat_snapshot *out, struct cat *c,
		      const char *ref);

/* Called for each tag of a snapshot, ordered by repo then tag; return
 * non-zero to stop (that value is returned). */
typedef int (*cat_tag_fn)(void *arg, const char *repo, const char *tag,
			  const char *manifest_digest);
int cat_snapshot_tags(struct cat *c, const char *snap_id, cat_tag_fn fn,
		      void *arg);

/* Called for each pack a snapshot needs (every chunk of every blob and
 * manifest its tags reach), ordered by pack id; non-zero stops. */
typedef int (*cat_pack_fn)(void *arg, const char *pack_id, uint64_t size);
/* RV_NOTFOUND when the snapshot is not in the catalog. Works inside the
 * transaction that adds the snapshot. */
int cat_snapshot_packs(struct cat *c, const char *snap_id, cat_pack_fn fn,
		       void *arg);

/* The trail of verify and drill runs (schema v2). */
struct cat_run {
	int64_t id;
	char kind[16];     /* "verify", "drill" */
	int64_t started;   /* unix seconds */
	int64_t finished;
	int exit_code;
	char *summary;     /* JSON text, malloc'd */
};
/* Record a finished run; summary is the run's JSON report. */
int cat_run_add(struct cat *c, const char *kind, int64_t started,
		int64_t finished, int exit_code, const char *summary);
/* The newest `limit` runs (0: all) of kind (NULL: every kind), newest
 * first. Free with cat_run_list_free. */
int cat_run_list(struct cat_run **out, size_t *n, struct cat *c,
		 const char *kind, size_t limit);
void cat_run_list_free(struct cat_run *runs, size_t n);

/* Totals for reports. */
struct cat_stats {
	int64_t packs;
	int64_t pack_bytes;
	int64_t chunks;
	int64_t blobs;
	int64_t blob_bytes;
	int64_t manifests;
	int64_t snapshots;
};
int cat_stats_get(struct cat_stats *out, struct cat *c);

/* ---- maintenance: rebuild, repair, adoption (catalog/maint.c) ---- */

/* 1 when pack_id is recorded, 0 when not, <0 on error. */
int cat_pack_has(struct cat *c, const char *pack_id);

/* A recorded pack and the targets recorded as holding it. */
struct cat_pack {
	char pack_id[65];
	uint64_t size;
	int64_t created;
	struct rv_strlist targets; /* target names, sorted */
};
/* Every recorded pack with its locations, ordered by pack id. *out is
 * malloc'd (NULL when there are none); free with cat_pack_list_free. */
int cat_pack_list(struct cat_pack **out, size_t *n, struct cat *c);
void cat_pack_list_free(struct cat_pack *packs, size_t n);

/* Forget that target holds pack_id (its copy is gone and could not be
 * replaced). Absent rows are not an error. */
int cat_pack_location_del(struct cat *c, const char *pack_id,
			  const char *target);
/* Record that target's copy of pack_id hashed to its id at `when` (unix
 * seconds). RV_NOTFOUND when that location is not recorded. */
int cat_pack_location_verified(struct cat *c, const char *pack_id,
			       const char *target, int64_t when);

/* Append to snap_ids (sorted, each once) every snapshot that needs
 * pack_id: a tag whose manifest, a child manifest of it, or a blob one of
 * them refers to has its bytes in a chunk of that pack. */
int cat_pack_snapshots(struct rv_strlist *snap_ids, struct cat *c,
		       const char *pack_id);

/* Copy the write-ahead log into the database file and truncate the log,
 * so the file can be renamed on its own (no transaction may be open). */
int cat_checkpoint(struct cat *c);

/* ---- referrers (catalog/referrers.c, schema v5) ---- */

/* Record that manifest_digest (recorded) refers to subject_digest in repo,
 * found through the referrers API, for snapshot snap_id: inside the
 * transaction that adds the snapshot. */
int cat_snapshot_referrer_add(struct cat *c, const char *snap_id,
			      const char *repo, const char *subject_digest,
			      const char *manifest_digest);
/* Each referrer of a snapshot, ordered by repo, subject, manifest digest;
 * non-zero from fn stops. */
typedef int (*cat_referrer_fn)(void *arg, const char *repo,
			       const char *subject_digest,
			       const char *manifest_digest);
int cat_snapshot_referrers(struct cat *c, const char *snap_id,
			   cat_referrer_fn fn, void *arg);

/* ---- history (catalog/history.c) ---- */

/* The newest snapshot taken at or before t (of source, or any source when
 * source is NULL). RV_NOTFOUND when none. */
int cat_snapshot_at(struct cat_snapshot *out, struct cat *c, int64_t t,
		    const char *source);

/* One snapshot's view of a tag. */
struct cat_tag_state {
	char snap_id[65];
	int64_t time;
	char source[256];
	char digest[RV_DIGEST_MAX]; /* "" when the tag was absent */
};
/* Every snapshot, oldest first, with the digest repo:tag had in it ("" in
 * snapshots without it, but only after the tag first appeared and only
 * snapshots of a source that ever had it). *out malloc'd. */
int cat_tag_history(struct cat_tag_state **out, size_t *n, struct cat *c,
		    const char *repo, const char *tag);

/* ---- forget and prune (catalog/prune.c, schema v4) ---- */

/* Delete a snapshot and its tags. RV_NOTFOUND when it is not recorded. */
int cat_snapshot_del(struct cat *c, const char *snap_id);

/* Record that pack_id's index lists blob `digest` (the pack in which the
 * blob was recorded). Both must be recorded (RV_NOTFOUND otherwise). An
 * entry already set is only replaced when replace is 1 (prune moved it);
 * else the first one stays (rebuild meets a blob in several packs). */
int cat_blob_entry_set(struct cat *c, const char *digest, const char *pack_id,
		       int replace);

/* A pack as prune sees it: what its chunks hold, and how much of that the
 * snapshots still need. Lengths are the sealed frames' lengths. */
struct cat_prune_pack {
	char pack_id[65];
	uint64_t size;
	uint64_t n_chunks, n_live;
	uint64_t bytes, live_bytes;
	uint64_t entries; /* live blobs whose index entry is in this pack */
};

/* Work out what every snapshot in the catalog needs (manifests reachable
 * from their tags, the blobs of those, the chunks of those blobs) into
 * temporary tables that the other cat_prune_* calls read, then describe
 * every recorded pack, ordered by pack id. *unknown_entries: live blobs
 * whose entry pack is not recorded (rows from before schema v4). Call
 * outside a transaction; the tables live until cat_prune_end or close. */
int cat_prune_plan(struct cat_prune_pack **out, size_t *n,
		   uint64_t *unknown_entries, struct cat *c);
void cat_prune_end(struct cat *c);

/* Live chunks of pack_id, by offset (pack_id filled in each). */
int cat_prune_live_chunks(struct cat_chunk_loc **out, size_t *n,
			  struct cat *c, const char *pack_id);
/* Live blobs whose index entry is in pack_id, sorted. */
int cat_prune_entries(struct rv_strlist *digests, struct cat *c,
		      const char *pack_id);
/* 1 when blob `digest` is live, 0 when not (or unknown), <0 on error. */
int cat_prune_blob_live(struct cat *c, const char *digest);
/* A manifest's media type when digest is a recorded manifest (*out
 * malloc'd), RV_NOTFOUND when it is a plain blob. */
int cat_manifest_media_type(char **out, struct cat *c, const char *digest);

/* Move a recorded chunk to another recorded pack (repack). */
int cat_chunk_move(struct cat *c, const unsigned char id[32],
		   const char *pack_id, uint64_t offset, uint32_t length);

/* Delete the manifests and blobs no snapshot needs (live tables of
 * cat_prune_plan); *manifests and *blobs receive the counts. Call inside
 * a transaction. */
int cat_prune_drop_dead(uint64_t *manifests, uint64_t *blobs, struct cat *c);

/* Drop pack_id from the catalog (its chunks, locations and row) and, in
 * the same call, record each of its locations in prune_pending so that
 * the files are deleted later even if this run dies. RV_INVALID when a
 * blob still uses one of its chunks (the caller planned wrong). Call
 * inside a transaction. */
int cat_pack_drop(struct cat *c, const char *pack_id, int64_t now);

/* Pack copies waiting for deletion. */
struct cat_pending {
	char pack_id[65];
	char target[256];
	uint64_t size;
	int64_t since;
	char why[512];
};
int cat_pending_list(struct cat_pending **out, size_t *n, struct cat *c);
/* 1 when pack_id waits for deletion on some target, 0 if not. */
int cat_pending_has(struct cat *c, const char *pack_id);
/* The copy is gone (deleted == 1: remove the row) or still there (set
 * why). */
int cat_pending_done(struct cat *c, const char *pack_id, const char *target,
		     int deleted, const char *why);

/* ---- verification (catalog/verify.c) ---- */

/* A pack as one target's verification history sees it. */
struct cat_pack_seen {
	char pack_id[65];
	uint64_t size;
	int located;	     /* 1 when pack_locations records it there */
	int64_t verified_at; /* unix seconds of the last good check; 0 never */
};
/* Every recorded pack with target's verification time, least recently
 * verified first: never verified (or not recorded on target) first, then
 * by verified_at, then by pack id. *out malloc'd (NULL when none). */
int cat_pack_verify_times(struct cat_pack_seen **out, size_t *n, struct cat *c,
			  const char *target);

/* The chunks recorded in pack_id, by offset (pack_id filled in each).
 * *out malloc'd (NULL when none); an unknown pack gives n = 0. */
int cat_pack_chunks(struct cat_chunk_loc **out, size_t *n, struct cat *c,
		    const char *pack_id);

/* Append to digests (sorted, each once) every blob (manifests' bytes
 * included) with at least one chunk in pack_id. */
int cat_pack_blobs(struct rv_strlist *digests, struct cat *c,
		   const char *pack_id);

/* A tag that can no longer be restored. */
struct cat_needs_tag {
	char snap_id[65];
	char *repo;
	char *tag;
	char manifest[RV_DIGEST_MAX];
};
/* What needs a set of packs. */
struct cat_needs {
	struct rv_strlist blobs;     /* configs and layers with a chunk in
					them (sorted) */
	struct rv_strlist manifests; /* manifests whose bytes or any child
					(through index entries) need them */
	struct rv_strlist snapshots; /* snapshots with such a tag (sorted) */
	struct cat_needs_tag *tags;  /* by snapshot time, repo, tag */
	size_t n_tags;
};
/* Everything that cannot be restored without the packs in pack_ids (an
 * empty list gives empty answers; unknown packs are ignored). Release
 * with cat_needs_release (also after a failure). */
int cat_packs_needed_by(struct cat_needs *out, struct cat *c,
			const struct rv_strlist *pack_ids);
void cat_needs_release(struct cat_needs *nd);

/* ---- schedules (catalog/schedules.c, schema v3) ----
 * One row per schedule name: the newest slot handed out, and how the job
 * started for it went. A job's history row goes into `runs` (kind "job",
 * the schedule's name in the summary). */

#define CAT_SCHED_TIMING_MAX 640
struct cat_sched_state {
	int64_t last_slot;     /* newest slot claimed or recorded at first
				  sight (unix seconds) */
	int64_t last_started;  /* when its job started; 0: no job ever */
	int64_t last_finished; /* when it ended (valid when finished) */
	int finished;	       /* 1: the last job ended (or none started);
				  0: it started and never ended */
	int last_exit;	       /* its exit code; -1: interrupted */
	char timing[CAT_SCHED_TIMING_MAX]; /* cron + zone the slot is for */
};
/* The row of schedule `name`; RV_NOTFOUND when there is none yet. */
int cat_sched_state_get(struct cat_sched_state *out, struct cat *c,
			const char *name);
/* Record `slot` as done without running it (first sight, or the timing
 * changed): insert the row or set its last_slot and timing; the last
 * job's figures are kept. */
int cat_sched_state_reset(struct cat *c, const char *name, const char *timing,
			  int64_t slot);
/* Claim `slot` for a job starting at `started`, atomically: 1 when this
 * caller got it (the row's last_slot was older; it now holds slot and the
 * job is marked running), 0 when last_slot is already >= slot (someone
 * ran it: do not run it again), RV_NOTFOUND when there is no row. */
int cat_sched_claim(struct cat *c, const char *name, int64_t slot,
		    int64_t started);
/* The claimed job ended at `finished` with exit_code (-1: interrupted). */
int cat_sched_finish(struct cat *c, const char *name, int64_t finished,
		     int exit_code);

#endif
