/* queries.h - read-only questions about the snapshots in the catalog:
 * what a snapshot holds (ls), what changed between two (diff), how much
 * each repository takes and shares (usage), and who holds a digest (find).
 *
 * Only the catalog is read: no store, key or network. Snapshot ids given
 * here are full 64-hex ids (resolve "latest" or a prefix first with
 * cat_snapshot_find). docs/CATALOG.md ("Queries") defines every figure.
 *
 * What a tag "reaches": its manifest; through an index, every child
 * manifest (recursively); the config and layers of every image manifest
 * reached. Foreign (nondistributable) layers are not stored and never
 * counted. The referrers recorded for a repository in a snapshot
 * (cat_snapshot_referrer_add) and what they reach count as reached by
 * that repository, but not by any one tag. Sizes are the blobs' byte
 * lengths (a manifest's size is its own bytes); each distinct digest
 * counts once per set being measured.
 */
#ifndef CAT_QUERIES_H
#define CAT_QUERIES_H

#include "util/digest.h"

#include <stddef.h>
#include <stdint.h>

struct cat;

/* ---- ls: the tags of a snapshot, by repository ---- */

struct cat_ls_tag {
	char *tag;
	char digest[RV_DIGEST_MAX]; /* the tag's manifest */
	char media_type[128];	    /* the manifest's media type */
	int64_t size;		    /* bytes the tag reaches, each once */
	int64_t objects;	    /* blobs and manifests it reaches */
};

struct cat_ls_repo {
	char *repo;
	struct cat_ls_tag *tags; /* by tag (byte order) */
	size_t n_tags;
	int64_t logical_size; /* bytes the repository reaches, each once */
	int64_t objects;      /* blobs and manifests it reaches */
};

struct cat_ls {
	struct cat_ls_repo *repos; /* by repository name (byte order) */
	size_t n_repos;
};

/* The repositories of snapshot snap_id with their tags; only `repo` when
 * it is not NULL. RV_INVALID for a malformed snap_id; RV_NOTFOUND when
 * the snapshot is not recorded, or holds no tag in `repo` (message set).
 * Release *out with cat_ls_release (also after a failure). */
int cat_query_ls(struct cat_ls *out, struct cat *c, const char *snap_id,
		 const char *repo);
void cat_ls_release(struct cat_ls *ls);

/* ---- diff: from snapshot A to snapshot B ---- */

enum cat_diff_kind {
	CAT_DIFF_ADDED,	  /* in B, not in A: new_digest set, old "" */
	CAT_DIFF_REMOVED, /* in A, not in B: old_digest set, new "" */
	CAT_DIFF_MOVED,	  /* in both with different manifests */
};

struct cat_diff_tag {
	enum cat_diff_kind kind;
	char *repo;
	char *tag;
	char old_digest[RV_DIGEST_MAX];
	char new_digest[RV_DIGEST_MAX];
};

struct cat_diff {
	struct cat_diff_tag *tags; /* by repository, then tag */
	size_t n_tags;
	size_t n_added, n_removed, n_moved;
	int64_t unchanged;     /* tags in both with the same manifest */
	int64_t bytes_added;   /* reached from B, not from A */
	int64_t objects_added; /* how many blobs and manifests that is */
	int64_t bytes_removed; /* reached from A, not from B */
	int64_t objects_removed;
};

/* Compare the tags of snapshots snap_a and snap_b (full ids; they may be
 * the same). RV_INVALID for a malformed id, RV_NOTFOUND when one is not
 * recorded. Release *out with cat_diff_release (also after a failure). */
int cat_query_diff(struct cat_diff *out, struct cat *c, const char *snap_a,
		   const char *snap_b);
void cat_diff_release(struct cat_diff *d);

/* ---- usage: per repository of one snapshot ---- */

struct cat_repo_usage {
	char *repo;
	int64_t tags;
	int64_t objects;	/* blobs and manifests reached */
	int64_t logical_size;	/* bytes reached, each once */
	int64_t unique_objects; /* reached by no other repository */
	int64_t unique_size;
	int64_t shared_objects; /* also reached by another repository */
	int64_t shared_size;	/* logical = unique + shared */
};

struct cat_usage {
	struct cat_repo_usage *repos; /* by repository name */
	size_t n_repos;
	int64_t logical_size; /* sum of the repositories' logical sizes */
	int64_t dedup_size;   /* bytes reached by any repository, once */
	int64_t objects;      /* distinct blobs and manifests reached */
};

/* Per repository of snapshot snap_id: what it reaches, and how much of
 * that no other repository of the snapshot reaches. RV_INVALID for a
 * malformed id, RV_NOTFOUND when not recorded. Release *out with
 * cat_usage_release (also after a failure). */
int cat_query_usage(struct cat_usage *out, struct cat *c, const char *snap_id);
void cat_usage_release(struct cat_usage *u);

/* ---- find: who holds a digest ---- */

/* How the digest hangs off its parent. */
enum cat_via {
	CAT_VIA_TAG = 0,	 /* it is the tag's manifest (no parent) */
	CAT_VIA_REFERRER = 1,	 /* a referrer manifest; parent: its subject */
	CAT_VIA_INDEX_CHILD = 2, /* parent is an index listing it */
	CAT_VIA_CONFIG = 3,	 /* parent is an image manifest; its config */
	CAT_VIA_LAYER = 4,	 /* parent is an image manifest; a layer */
};

/* "tag", "referrer", "index_child", "config", "layer". */
const char *cat_via_name(enum cat_via via);

struct cat_holder {
	char snap_id[65];
	int64_t time;
	char source[256];
	char *repo;
	char *tag;		  /* NULL when reached from a referrer */
	char root[RV_DIGEST_MAX]; /* the tag's manifest, or the referrer */
	enum cat_via via;
	char parent[RV_DIGEST_MAX]; /* "" for CAT_VIA_TAG */
};

struct cat_found {
	char digest[RV_DIGEST_MAX];
	int is_manifest;      /* 1: a manifest (media_type set), 0: a blob */
	char media_type[128]; /* "" for a plain blob */
	int64_t size;
	struct cat_holder *holders; /* by snapshot time, snapshot, repo,
				       tag, parent, via */
	size_t n_holders;	    /* 0: recorded, but no snapshot holds it */
};

/* Every snapshot, repository and tag that holds `digest` ("sha256:<hex>"),
 * and how. RV_INVALID for a malformed digest, RV_NOTFOUND when the
 * catalog records no blob or manifest with that digest. Release *out
 * with cat_found_release (also after a failure). */
int cat_query_find(struct cat_found *out, struct cat *c, const char *digest);
void cat_found_release(struct cat_found *f);

/* ---- totals and targets: what `regvault status` shows ---- */

struct cat_totals {
	int64_t snapshots;
	int64_t logical_size; /* over every snapshot: the bytes it reaches,
				 each once per snapshot (what restoring
				 every snapshot would write) */
	int64_t unique_size;  /* every recorded blob and manifest, once */
	int64_t packs;
	int64_t packed_size;  /* the packs' bytes (one copy) */
};
/* The catalog's totals. One recursive query over every snapshot: its cost
 * grows with snapshots times objects (about a second for 100 snapshots of
 * 10,000 objects). */
int cat_query_totals(struct cat_totals *out, struct cat *c);

struct cat_target_packs {
	char *target; /* a target name recorded in the catalog */
	int64_t packs; /* packs recorded on it */
	int64_t bytes;
	int64_t oldest_verified; /* the least recent verification of a pack
				    on it (unix seconds); 0: one never was */
};
/* Per target the catalog knows (by name), what it records there. *out is
 * malloc'd (NULL when none); release with cat_target_packs_free. */
int cat_query_target_packs(struct cat_target_packs **out, size_t *n,
			   struct cat *c);
void cat_target_packs_free(struct cat_target_packs *t, size_t n);

#endif
