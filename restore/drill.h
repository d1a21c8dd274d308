/* drill.h - a disaster-recovery drill: restore a snapshot (or a random
 * sample of its tags) into a scratch registry, then prove independently
 * that what arrived there is the snapshot.
 *
 * The drill checks the snapshot against the targets (restore_check_snapshot),
 * restores the selection with restore_run (one run that goes on past a
 * failing repository; a failed repository is then retried tag by tag so
 * that only the tags that really cannot be restored are named), and then,
 * with a second registry client that shares nothing with the restore's,
 * reads back every selected tag: HEAD by tag (digest equal to the
 * snapshot's), GET of every reachable manifest by digest (re-parsed), HEAD
 * of every child manifest and every blob it names (non-distributable
 * layers skipped) in that repository. It measures the restore's
 * throughput and computes the RPO (age of the newest snapshot, overall and
 * per source) and a projected RTO (distinct blob bytes of each source's
 * newest snapshot over the measured rate).
 */
#ifndef RESTORE_DRILL_H
#define RESTORE_DRILL_H

#include "util/strlist.h"

#include <stddef.h>
#include <stdint.h>

struct cat;
struct store;
struct reg;
struct rv_buf;

struct drill_opts {
	const char *snapshot;		/* a full snapshot id */
	const struct rv_strlist *repos; /* globs; empty: every repository */
	size_t sample;			/* N random tags; 0: every tag */
	const char *registry;		/* the scratch registry's name or URL */
	const char *store_id;		/* for the report */
};

/* A tag that did not check out (or could not be restored). */
struct drill_failure {
	char *repo;
	char *tag;    /* NULL: the failure concerns the whole drill */
	char *digest; /* the snapshot's digest of the tag, or NULL */
	char *reason;
};

/* RPO and projected RTO of one source. */
struct drill_source {
	char source[256];
	char snapshot[65]; /* its newest snapshot */
	int64_t time;
	int64_t rpo_seconds;
	uint64_t bytes;	    /* distinct blob bytes that snapshot needs */
	double rto_seconds; /* < 0: no rate measured */
};

struct drill_result {
	char snapshot[65];
	char source[256];
	int64_t snapshot_time;
	int64_t started, finished; /* unix seconds */
	uint64_t tags_selected;
	uint64_t tags_checked;
	uint64_t tags_ok;
	uint64_t manifests_checked;
	uint64_t blobs_checked; /* (repository, blob) pairs */
	uint64_t blobs_missing; /* absent or with the wrong size */
	uint64_t bytes_pushed;
	uint64_t bytes_present; /* already in the repository (HEAD) */
	uint64_t bytes_mounted; /* mounted from another repository */
	uint64_t bytes;		/* bytes_pushed + bytes_present */
	double seconds;		/* the restore's wall time */
	double throughput;	/* bytes / seconds; 0 when unmeasured */
	int64_t rpo_seconds;	/* -1: no snapshot */
	uint64_t rto_bytes;	/* distinct blob bytes of every source's
				   newest snapshot */
	double rto_seconds;	/* rto_bytes over the rate; < 0: no rate */
	struct drill_source *sources;
	size_t n_sources;
	struct rv_strlist sampled; /* "REPO:TAG" of the selection */
	struct drill_failure *failures;
	size_t n_failures;
	int restore_rc;	     /* first restore failure, 0 when none */
	char *restore_error; /* its message, or NULL */
	int rc;		     /* what drill_run returned */
	char *error;	     /* its message, or NULL */
};

/* Run a drill. dst receives the restore; check must be another client
 * for the same registry (it is used for the independent checks only).
 * *out is always set (unless RV_NOMEM before anything ran) and owned by
 * the caller, also on failure, so that the report can be written.
 * Returns 0 when every selected tag checks out; RV_CORRUPT when the
 * snapshot disagrees with the targets, stored data is damaged or missing
 * (a pack no target holds), or an independent check finds a wrong digest
 * or a missing blob; the restore's own code when it failed otherwise
 * (network, registry); RV_NOTFOUND when nothing matches the selection. */
int drill_run(struct drill_result **out, struct cat *c, struct store *s,
	      struct reg *dst, struct reg *check, const struct drill_opts *o);
void drill_result_free(struct drill_result *r);

/* The JSON summary (one object, see README.md) into a malloc'd string. */
int drill_json(char **out, const struct drill_result *r,
	       const struct drill_opts *o, int exit_code);
/* The Markdown report: date, store, snapshot, what was checked, the
 * figures, what failed and what to do. */
int drill_report(struct rv_buf *out, const struct drill_result *r,
		 const struct drill_opts *o, int exit_code);

#endif
