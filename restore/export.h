/* export.h - write a snapshot's tags of one repository as an OCI image
 * layout (a folder) or an OCI archive (the same layout as one tar file).
 *
 * The layout follows the OCI image-layout spec: `oci-layout`
 * ({"imageLayoutVersion":"1.0.0"}), `index.json` with one descriptor per
 * tag annotated "org.opencontainers.image.ref.name": TAG, and
 * `blobs/sha256/<hex>` for every manifest, child manifest and blob the tags
 * reach, with the exact bytes the store holds, re-hashed while written.
 * `skopeo copy oci:DIR:TAG ...` and `skopeo copy oci-archive:FILE:TAG ...`
 * read it.
 *
 * Only digests (checked) name files; repository and tag names go only into
 * annotations. Non-distributable (foreign) layers are not stored by
 * regvault: they are left out of blobs/ and counted in the stats (the
 * manifests still name them, with their URLs).
 *
 * Nothing partial ever carries the final name: a layout is built in
 * "<DIR>.tmp-XXXXXX" beside DIR and renamed to DIR at the end; an archive
 * is written to a temporary file beside FILE, fsynced and renamed over it.
 * On any failure the temporary folder or file is removed.
 */
#ifndef RESTORE_EXPORT_H
#define RESTORE_EXPORT_H

#include <signal.h>
#include <stdint.h>

struct cat;
struct store;

enum export_format {
	EXPORT_LAYOUT = 0,  /* an OCI image layout folder */
	EXPORT_ARCHIVE = 1, /* the same as a tar file (oci-archive) */
};

struct export_opts {
	const char *snapshot; /* a full snapshot id */
	const char *repo;     /* the repository, exactly as in the catalog */
	const char *tag;      /* one tag, or NULL for every tag of repo */
	const char *path;     /* the final folder or archive file */
	enum export_format format;
	/* When set and non-zero (a signal arrived), the export stops at the
	 * next chunk with RV_CANCELLED and removes what it wrote. */
	const volatile sig_atomic_t *stop;
};

struct export_stats {
	uint64_t tags;
	uint64_t manifests;    /* distinct manifests written (indexes too) */
	uint64_t blobs;	       /* distinct configs and layers written */
	uint64_t bytes;	       /* of manifests and blobs */
	uint64_t foreign;      /* distinct foreign layers left out */
	int64_t snapshot_time; /* unix seconds of the snapshot */
};

/* 1 when tag is a valid OCI tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127},
 * ASCII only), else 0. */
int export_tag_valid(const char *tag);

/* Export o->repo (every tag, or o->tag) of snapshot o->snapshot to
 * o->path; *st receives the counts (also filled as far as it got on
 * failure).
 * Returns 0, or:
 *   RV_NOTFOUND  the snapshot has no such repository or tag;
 *   RV_INVALID   o->path exists and is not an empty folder (layout), or
 *                is a folder (archive); o->tag is not a valid tag; bad
 *                options;
 *   RV_CORRUPT   a manifest is missing from the catalog, a digest or a
 *                tag in the catalog is malformed, or a stored blob does
 *                not reassemble to its digest and size;
 *   RV_CANCELLED *o->stop was set;
 *   RV_IO / RV_NOSPC / RV_NOMEM and the store's read errors.
 * The message is set in every case. */
int export_run(struct export_stats *st, struct cat *c, struct store *s,
	       const struct export_opts *o);

#endif
