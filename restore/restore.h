/* restore.h - replay a snapshot into a registry, digest for digest.
 *
 * For each selected repository: blobs first (HEAD to skip those already
 * there, a cross-repository mount when this run already pushed the blob
 * elsewhere, otherwise a streaming upload from the packs), then child
 * manifests by digest, then indexes, then tags. At the end every restored
 * tag is read back from the destination (HEAD) and its digest compared.
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
};

/* dst may be NULL for a dry run. RV_NOTFOUND when no tag matches the
 * selection; RV_CORRUPT when stored data fails its checks or a restored
 * tag reads back with another digest. */
int restore_run(struct restore_stats *st, struct cat *c, struct store *s,
		struct reg *dst, const struct restore_opts *o);

#endif
