/* heads.h - the tag walk's HEAD requests, several at once.
 *
 * A backup with nothing new is one HEAD per tag; on a repository with
 * thousands of tags the round trips, not the bytes, are the cost. The
 * HEADs of one repository are spread over up to `conns` connections: the
 * caller's client and clones of it (reg_clone), one thread each, the
 * clones kept for the whole run. Results come back in tag order, so the
 * caller logs and decides exactly as it does for a single HEAD.
 */
#ifndef BACKUP_HEADS_H
#define BACKUP_HEADS_H

#include "registry/registry.h"

#include <stddef.h>

struct heads;

/* conns: the most connections to use (1: never clone). */
int heads_new(struct heads **out, struct reg *r, int conns);
/* Adds the clones' stats (and budget shares) back into r, frees them. */
void heads_free(struct heads *h);

/* One HEAD's outcome: rc as reg_manifest_head returns it; msg its
 * message when rc != 0 (malloc'd; NULL otherwise). */
struct head_result {
	struct reg_desc d;
	int rc;
	char *msg;
};

/* HEAD repo:tags[i] for every i into res[i] (zeroed by the caller).
 * Returns 0, or RV_NOMEM; per-tag failures are in res. Free the messages
 * with heads_results_release. Fewer than 4 tags, or a client
 * that cannot be cloned, are done one by one on r. */
int heads_run(struct heads *h, const char *repo, const char *const *tags,
	      size_t n, struct head_result *res);
void heads_results_release(struct head_result *res, size_t n);

#endif
