/* restore.h - replay a snapshot into a registry, digest for digest.
 *
 * For each selected repository: blobs first (HEAD to skip those already
 * there, a cross-repository mount when this run already pushed the blob
 * elsewhere, otherwise a streaming upload from the packs), then child
 * manifests by digest, then indexes, then referrers, then tags (tags in
 * the referrers tag schema, `sha256-<hex>[suffix]`, after the others).
 * Large blobs go up in PATCH chunks that resume after a cut (the reader
 * can start anywhere in a stored blob). Blobs go up several at once, each
 * on its own connection (restore/upload_pool.h), and each manifest is put
 * as soon as its blobs and child manifests are in. At the end every
 * restored tag is read back from the destination (HEAD) and its digest
 * compared.
 */
#ifndef RESTORE_RESTORE_H
#define RESTORE_RESTORE_H

#include "util/strlist.h"

#include <stdint.h>
#include <stdio.h>

struct cat;
struct store;
struct reg;
struct rv_set;

/* What to do with a tag that already exists on the destination. */
enum restore_tag_policy {
	RESTORE_TAGS_PUSH = 0, /* push every tag without looking (drills) */
	RESTORE_TAGS_KEEP,     /* HEAD first: equal -> nothing to do,
				  different -> left alone with a note */
	RESTORE_TAGS_FORCE,    /* HEAD first: different -> overwritten */
};

struct restore_opts {
	const char *snapshot;		/* a full snapshot id */
	const struct rv_strlist *repos; /* globs; empty: every repository */
	int dry_run; /* print the plan to `plan`, push nothing */
	FILE *plan;
	/* For drills; leave NULL for a plain restore. */
	/* Keys "REPO:TAG" (no NUL): restore only these tags of the selected
	 * repositories. NULL: every tag. */
	const struct rv_set *tags;
	/* When set, a repository that fails is reported here (rc and its
	 * message); when it returns 0 the run goes on with the next one
	 * (the failed repository's tags are not read back) and restore_run
	 * returns the first such code at the end, with its message set
	 * again; when it returns a negative code the run stops with it.
	 * NULL: the run stops at the first failure. */
	int (*repo_failed)(void *arg, const char *repo, int rc,
			   const char *msg);
	void *arg;
	/* Destination names: items "FROM=TO", prefix mappings of repository
	 * names (the longest FROM that starts the name wins; "team-a/=dr/
	 * team-a/"). A mapped name that is not a valid repository name, or
	 * two repositories mapped to one name, is RV_INVALID before anything
	 * is pushed. NULL or empty: the snapshot's names. --repo globs and
	 * tags keys use the snapshot's names. */
	const struct rv_strlist *map;
	enum restore_tag_policy tag_policy;
	/* 1: every key of `tags` must be in the selection, RV_NOTFOUND
	 * (naming the first missing one) otherwise. */
	int tags_strict;
	/* The most connections to the destination at once (its
	 * registries[].max_connections): dst for manifests and tags, and
	 * clones of it uploading blobs in parallel. 0: 4; at most 16; 1:
	 * every blob on dst, one at a time. */
	int max_connections;
};

struct restore_stats {
	uint64_t repositories;
	uint64_t tags;
	uint64_t manifests_pushed;
	uint64_t blobs_pushed;
	uint64_t blobs_mounted;
	uint64_t blobs_skipped; /* already present at the destination */
	uint64_t bytes_pushed;
	uint64_t tags_verified; /* digest read back and equal */
	uint64_t blobs_planned;
	uint64_t bytes_planned;
	uint64_t bytes_skipped; /* of the blobs already present */
	uint64_t bytes_mounted; /* of the blobs mounted from another repo */
	/* tag policy KEEP/FORCE: tags found on the destination */
	uint64_t tags_unchanged;   /* same digest: nothing to do */
	uint64_t tags_kept;	   /* different digest, left alone */
	uint64_t tags_overwritten; /* different digest, forced */
	uint64_t referrers_pushed; /* recorded through the referrers API */
	uint64_t referrer_indexes; /* fallback `sha256-<hex>` indexes written
				      for a destination without the API */
};

/* dst may be NULL for a dry run (then the plan cannot say which tags
 * exist). RV_NOTFOUND when no tag matches the selection; RV_INVALID for a
 * bad mapping; RV_CORRUPT when stored data fails its checks or a restored
 * tag reads back with another digest. Tags kept (policy KEEP) are not an
 * error: each gets a warning and is counted in st->tags_kept. */
int restore_run(struct restore_stats *st, struct cat *c, struct store *s,
		struct reg *dst, const struct restore_opts *o);

#endif
