/* referrers.h - what the backup engine needs to follow referrers
 * (signatures, attestations, SBOMs) of the manifests it backs up: the
 * limits of the walk and the parsing of reg_referrers() answers. Pure
 * functions: the walk itself is in backup.c.
 */
#ifndef BACKUP_REFERRERS_H
#define BACKUP_REFERRERS_H

#include "util/strlist.h"

#include <stddef.h>

/* Referrers of referrers are followed up to this depth (a signature's
 * signature is depth 2). */
#define BACKUP_REFERRERS_DEPTH_MAX 8
/* At most this many referrer manifests per subject, and per run. */
#define BACKUP_REFERRERS_PER_SUBJECT_MAX 1000
#define BACKUP_REFERRERS_PER_RUN_MAX 100000

/* Append to digests the digest of every descriptor in text, the JSON
 * array reg_referrers() produced, in order, each once; a descriptor whose
 * digest equals subject (a referrer of itself) is left out. RV_CORRUPT
 * when text is not an array of descriptors with sha256 digests. */
int backup_referrers_parse(struct rv_strlist *digests, const char *text,
			   size_t len, const char *subject);

#endif
