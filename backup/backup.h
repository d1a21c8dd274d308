/* backup.h - the snapshot engine: walk -> fetch -> pack -> commit.
 *
 * One call backs up one source (a registry and its repository filters)
 * into one snapshot. What the catalog already holds is never fetched
 * again: a known manifest digest costs one HEAD, a known blob nothing.
 * A pack is recorded in the catalog only after it is durable on every
 * target; a blob only after its digest matched; the snapshot only after
 * every tag's manifest is recorded and the sealed record is on the targets.
 *
 * A tag in a format we refuse (Docker schema 1) is skipped with a warning.
 * When any tag fails (a blob with the wrong bytes, a network error), the
 * packs already written are kept and recorded (the next run does not fetch
 * them again) but no snapshot is written: a snapshot is always complete.
 */
#ifndef BACKUP_BACKUP_H
#define BACKUP_BACKUP_H

#include "util/strlist.h"

#include <stdint.h>

struct cat;
struct store;
struct reg;

struct backup_source {
	const char *name;		  /* registry name in the config */
	const struct rv_strlist *include; /* repo globs; empty: all */
	const struct rv_strlist *exclude;
	/* Tag filters (backup/filter.c), NULL or empty: none. Regexes are
	 * POSIX extended, matched against the whole tag only when the user
	 * anchors them (as grep -E). keep_newest: per repository, the N tags
	 * whose image config says they were created last (0: all). */
	const struct rv_strlist *tags_include;
	const struct rv_strlist *tags_exclude;
	int keep_newest;
	/* Index filter: only these "os/arch[/variant]" children of an index
	 * are backed up; the index is rewritten with those children only,
	 * under its own digest, which the snapshot's tag points to
	 * (docs/DESIGN.md, "Filters (issue 6)"). NULL or empty: every
	 * platform, the index byte for byte. */
	const struct rv_strlist *platforms;
	/* 1: back up the referrers of every manifest (OCI 1.1 API, else the
	 * `sha256-<hex>` fallback tags). */
	int referrers;
	/* The most connections to the registry at once (the tag walk's
	 * HEADs); 0: BACKUP_CONNS_DEFAULT. */
	int max_connections;
};

#define BACKUP_CONNS_DEFAULT 4

struct backup_stats {
	char snapshot[65]; /* "" when none was written */
	uint64_t repositories;
	uint64_t tags;
	uint64_t tags_failed;
	uint64_t repos_failed;      /* tag list could not be read */
	uint64_t tags_skipped; /* refused formats (schema 1), warned */
	uint64_t manifest_heads;
	uint64_t manifests_fetched;
	uint64_t blobs_fetched;
	uint64_t bytes_fetched; /* blob and manifest bytes received */
	uint64_t chunks_written;
	uint64_t bytes_written; /* pack bytes put on the targets (per copy) */
	uint64_t packs_written;
	/* from the registry client (filled by the caller) */
	uint64_t requests, retries, throttled, resumed;
};

/* Back up one source. stats accumulates (the caller zeroes it).
 * Returns 0, or the code of the first failure (RV_CORRUPT for a digest
 * mismatch, ...); the message names what failed. */
int backup_run(struct backup_stats *stats, struct cat *c, struct store *s,
	       struct reg *r, const struct backup_source *src);

#endif
