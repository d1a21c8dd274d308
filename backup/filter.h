/* filter.h - what a backup source keeps: tag regexes, the newest N tags,
 * index platforms, and the referrer tag names (docs/DESIGN.md, "Filters
 * (issue 6)"). Pure functions of their input: no I/O.
 */
#ifndef BACKUP_FILTER_H
#define BACKUP_FILTER_H

#include "util/buf.h"
#include "util/strlist.h"

#include <stddef.h>
#include <stdint.h>

struct backup_tag_filter;

/* Compile the include and exclude regexes (POSIX extended; either list
 * NULL or empty). *out owned by the caller. RV_INVALID naming the regex
 * that does not compile. */
int backup_filter_new(struct backup_tag_filter **out,
		      const struct rv_strlist *include,
		      const struct rv_strlist *exclude);
void backup_filter_free(struct backup_tag_filter *f);

/* 1 when tag matches some include (or there is none) and no exclude. */
int backup_filter_tag_kept(const struct backup_tag_filter *f, const char *tag);

/* A referrer tag of the fallback scheme (`sha256-<64 hex>`) or of cosign
 * (`sha256-<64 hex>.sig|.att|.sbom`, or any other `.suffix`): 1 and the
 * subject "sha256:<hex>" in subject (RV_DIGEST_MAX bytes), else 0. */
int backup_filter_referrer_tag(char *subject, const char *tag);

/* Parse the "created" of an image config (RFC 3339, "Z" or an offset,
 * fractional seconds kept): nanoseconds since the epoch into *ns.
 * RV_NOTFOUND when the config has no readable time. */
int backup_filter_config_created(int64_t *ns, const void *config, size_t len);

/* One tag ranked by keep_newest. */
struct backup_tag_time {
	const char *tag;
	int64_t created; /* ns since the epoch, valid when has_time */
	int has_time;
};

/* Order tags newest first; tags without a readable time last; ties (and
 * the timeless) by tag name, ascending. The first N are kept. */
void backup_filter_newest_sort(struct backup_tag_time *tags, size_t n);

/* 1 when platform ("os/arch[/variant]") matches one of patterns: a pattern
 * without a variant matches every variant of its os/arch. An empty
 * platform never matches. */
int backup_filter_platform_match(const struct rv_strlist *patterns,
				 const char *platform);

/* Rewrite an image index (OCI index or Docker list) keeping only the
 * children whose platform matches patterns. Kept too: children that are
 * indexes themselves (no platform to judge), and, when keep_attestations
 * is 1, Docker buildx attestation manifests whose
 * "vnd.docker.reference.digest" names a kept child. Every other member
 * (mediaType, annotations, subject, ...) is kept as it was; the text is
 * compact JSON. *kept receives the number of children kept, *dropped the
 * number dropped; out is left empty when none was dropped (the original
 * bytes stand). RV_CORRUPT when body is not an index. */
int backup_filter_index(struct rv_buf *out, size_t *kept, size_t *dropped,
			const void *body, size_t len,
			const struct rv_strlist *patterns,
			int keep_attestations);

#endif
