/* export.c - a snapshot's tags as an OCI image layout or OCI archive.
 *
 * Two passes: the plan (tags, then every manifest and blob they reach,
 * each once, from the catalog) and the write (each object streamed chunk by
 * chunk from the packs into a sink, hashed on the way). The sink is a file
 * per blob in a temporary folder, or a tar entry in a temporary file; only
 * a complete result is renamed to the final name.
 */
#include "restore/export.h"

#include "catalog/catalog.h"
#include "store/store.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/progress.h"
#include "util/set.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXPORT_NEST_MAX 8
#define OCI_INDEX_TYPE "application/vnd.oci.image.index.v1+json"
#define OCI_REF_NAME "org.opencontainers.image.ref.name"
#define OCI_LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"
#define SHA256_PREFIX "sha256:"
#define SHA256_PREFIX_LEN 7

int export_tag_valid(const char *tag)
{
	size_t n;

	if (!tag)
		return 0;
	for (n = 0; tag[n]; n++) {
		char ch = tag[n];
		int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			 (ch >= '0' && ch <= '9') || ch == '_';
		if (n > 127)
			return 0;
		if (!ok && (n == 0 || (ch != '.' && ch != '-')))
			return 0;
	}
	return n > 0;
}

struct xtag {
	char *tag;
	char digest[RV_DIGEST_MAX];
	char media_type[128];
	int64_t size;
};

struct xobj {
	char digest[RV_DIGEST_MAX];
	int64_t size;
	int is_manifest;
};

struct ex {
	struct cat *c;
	struct store *s;
	const struct export_opts *o;
	struct export_stats *st;
	struct xtag *tags;
	size_t n_tags, cap_tags;
	struct rv_set seen;    /* digests planned (manifests and blobs) */
	struct rv_set foreign; /* foreign layers left out */
	struct xobj *objs;
	size_t n_objs, cap_objs;
	struct rv_buf chunk;
	/* the sink: a layout folder or an archive */
	char *tmp_path; /* temporary folder or file, removed on failure */
	int tmp_fd;	/* the archive's file */
	struct archive *ar;
};

static int collect_tag(void *arg, const char *repo, const char *tag,
		       const char *digest)
{
	struct ex *x = arg;
	struct xtag *t;
	int rc;

	if (strcmp(repo, x->o->repo) || (x->o->tag && strcmp(tag, x->o->tag)))
		return 0;
	if (!export_tag_valid(tag))
		return rv_err_set(RV_CORRUPT,
				  "the catalog holds an invalid tag '%.200s' "
				  "in '%s' (rebuild the catalog from the "
				  "targets)",
				  tag, repo);
	if (!rv_digest_valid(digest))
		return rv_err_set(RV_CORRUPT,
				  "the catalog holds a malformed digest for "
				  "'%s:%s'",
				  repo, tag);
	rc = rv_array_grow((void **)&x->tags, &x->cap_tags, x->n_tags + 1,
			   sizeof(*x->tags));
	if (rc)
		return rc;
	t = &x->tags[x->n_tags];
	memset(t, 0, sizeof(*t));
	t->tag = strdup(tag);
	if (!t->tag)
		return rv_err_set(RV_NOMEM, "out of memory");
	snprintf(t->digest, sizeof(t->digest), "%s", digest);
	x->n_tags++;
	return 0;
}

static int add_obj(struct ex *x, const char *digest, int64_t size,
		   int is_manifest)
{
	struct xobj *ob;
	int rc;

	if (!rv_digest_valid(digest))
		return rv_err_set(RV_CORRUPT,
				  "the catalog holds a malformed digest "
				  "'%.80s' (rebuild the catalog from the "
				  "targets)",
				  digest);
	if (size < 0)
		return rv_err_set(
		    RV_CORRUPT, "the catalog gives %s a negative size", digest);
	rc = rv_set_add(&x->seen, digest, strlen(digest));
	if (rc <= 0)
		return rc;
	rc = rv_array_grow((void **)&x->objs, &x->cap_objs, x->n_objs + 1,
			   sizeof(*x->objs));
	if (rc)
		return rc;
	ob = &x->objs[x->n_objs++];
	snprintf(ob->digest, sizeof(ob->digest), "%s", digest);
	ob->size = size;
	ob->is_manifest = is_manifest;
	return 0;
}

/* Plan manifest `digest` and everything below it, each object once. For a
 * tag's own manifest, t receives its media type and size. */
static int plan_manifest(struct ex *x, const char *digest, int depth,
			 struct xtag *t)
{
	struct cat_manifest *m = NULL;
	int rc;

	if (depth > EXPORT_NEST_MAX)
		return rv_err_set(RV_CORRUPT, "manifest %s nests too deep",
				  digest);
	if (!t && rv_set_has(&x->seen, digest, strlen(digest)))
		return 0;
	rc = cat_manifest_get(&m, x->c, digest);
	if (rc)
		return rc == RV_NOTFOUND
			   ? rv_err_set(RV_CORRUPT,
					"the catalog lacks manifest %s that "
					"the snapshot needs",
					digest)
			   : rc;
	if (t) {
		snprintf(t->media_type, sizeof(t->media_type), "%s",
			 m->media_type);
		t->size = m->size;
		if (rv_set_has(&x->seen, digest, strlen(digest)))
			goto done; /* another tag has the same manifest */
	}
	rc = add_obj(x, digest, m->size, 1);
	for (size_t i = 0; !rc && i < m->n_refs; i++) {
		const struct cat_ref *ref = &m->refs[i];

		if (ref->is_manifest) {
			rc = plan_manifest(x, ref->digest, depth + 1, NULL);
		} else if (ref->nondistributable) {
			rc = rv_set_add(&x->foreign, ref->digest,
					strlen(ref->digest));
			if (rc == 1)
				rv_warn("%s: foreign layer %s is not stored "
					"by regvault: left out of the export "
					"(its manifest still names its URLs)",
					digest, ref->digest);
			rc = rc < 0 ? rc : 0;
		} else {
			rc = add_obj(x, ref->digest, ref->size, 0);
		}
	}
done:
	cat_manifest_free(m);
	return rc;
}

/* ---- sinks ------------------------------------------------------------- */

static mode_t current_umask(void)
{
	mode_t m = umask(022);
	umask(m);
	return m;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Remove the temporary folder or file (after a failure). */
static void sink_discard(struct ex *x)
{
	if (x->ar) {
		archive_write_free(x->ar); /* closes, but not tmp_fd */
		x->ar = NULL;
	}
	if (x->tmp_fd >= 0) {
		close(x->tmp_fd);
		x->tmp_fd = -1;
	}
	if (!x->tmp_path)
		return;
	if (x->o->format == EXPORT_LAYOUT)
		nftw(x->tmp_path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else
		unlink(x->tmp_path);
	free(x->tmp_path);
	x->tmp_path = NULL;
}

static int archive_fail(struct ex *x, const char *what)
{
	const char *why = archive_error_string(x->ar);
	int e = archive_errno(x->ar);

	return rv_err_set(e == ENOSPC ? RV_NOSPC : RV_IO,
			  "cannot write %s into archive '%s': %s", what,
			  x->o->path, why ? why : "unknown error");
}

static int archive_header(struct ex *x, const char *name, int is_dir,
			  int64_t size)
{
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	if (!e)
		return rv_err_set(RV_NOMEM, "out of memory");
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, is_dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, is_dir ? 0755 : 0644);
	archive_entry_set_size(e, is_dir ? 0 : size);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	/* the snapshot's time: the same snapshot exports to the same bytes */
	archive_entry_set_mtime(e, (time_t)x->st->snapshot_time, 0);
	if (archive_write_header(x->ar, e) != ARCHIVE_OK)
		rc = archive_fail(x, name);
	archive_entry_free(e);
	return rc;
}

static int sink_open(struct ex *x)
{
	const char *path = x->o->path;
	struct stat sb;
	char *dir = NULL, *base_copy = NULL;
	int rc = 0;

	if (x->o->format == EXPORT_LAYOUT) {
		size_t n = strlen(path) + sizeof(".tmp-XXXXXX");
		char sub[PATH_MAX];

		if (stat(path, &sb) == 0) {
			DIR *d;
			struct dirent *de;
			int empty = 1;

			if (!S_ISDIR(sb.st_mode))
				return rv_err_set(RV_INVALID,
						  "'%s' exists and is not a "
						  "folder; choose another "
						  "name for the layout",
						  path);
			d = opendir(path);
			if (!d)
				return rv_err_errno(RV_IO, errno,
						    "cannot read folder '%s'",
						    path);
			while (empty && (de = readdir(d)))
				empty = !strcmp(de->d_name, ".") ||
					!strcmp(de->d_name, "..");
			closedir(d);
			if (!empty)
				return rv_err_set(RV_INVALID,
						  "folder '%s' exists and is "
						  "not empty; remove it or "
						  "choose another name for the "
						  "layout",
						  path);
		} else if (errno != ENOENT) {
			return rv_err_errno(RV_IO, errno, "cannot stat '%s'",
					    path);
		}
		if (n > PATH_MAX)
			return rv_err_set(RV_INVALID,
					  "path '%.200s...' is too long", path);
		x->tmp_path = malloc(n);
		if (!x->tmp_path)
			return rv_err_set(RV_NOMEM, "out of memory");
		snprintf(x->tmp_path, n, "%s.tmp-XXXXXX", path);
		if (!mkdtemp(x->tmp_path)) {
			rc =
			    rv_err_errno(rv_err_from_errno(errno) == RV_NOTFOUND
					     ? RV_IO
					     : rv_err_from_errno(errno),
					 errno,
					 "cannot create a temporary folder "
					 "beside '%s'",
					 path);
			free(x->tmp_path);
			x->tmp_path = NULL;
			return rc;
		}
		/* mkdtemp makes it 0700; the layout gets the usual mode */
		if (chmod(x->tmp_path, 0777 & ~current_umask()) < 0)
			return rv_err_errno(RV_IO, errno, "cannot chmod '%s'",
					    x->tmp_path);
		for (int i = 0; i < 2; i++) {
			if (snprintf(sub, sizeof(sub), "%s/%s", x->tmp_path,
				     i ? "blobs/sha256" : "blobs") >=
			    (int)sizeof(sub))
				return rv_err_set(RV_INVALID,
						  "path '%.200s...' is too "
						  "long",
						  path);
			if (mkdir(sub, 0777) < 0)
				return rv_err_errno(rv_err_from_errno(errno),
						    errno,
						    "cannot create folder "
						    "'%s'",
						    sub);
		}
		return 0;
	}

	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return rv_err_set(RV_INVALID,
				  "'%s' is a folder; give the archive's file "
				  "name (or use --oci-layout)",
				  path);
	dir = rv_fs_dirname(path);
	base_copy = strdup(strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	if (!dir || !base_copy) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	rc = rv_fs_tmpfile(&x->tmp_fd, &x->tmp_path, dir, base_copy);
	if (rc)
		goto done;
	if (fchmod(x->tmp_fd, 0666 & ~current_umask()) < 0) {
		rc = rv_err_errno(RV_IO, errno, "cannot chmod '%s'",
				  x->tmp_path);
		goto done;
	}
	x->ar = archive_write_new();
	if (!x->ar) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	/* ustar, with pax headers only where ustar cannot say it: what
	 * skopeo's oci-archive reader (Go's archive/tar) takes */
	if (archive_write_set_format_pax_restricted(x->ar) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(x->ar, 10240) != ARCHIVE_OK ||
	    archive_write_open_fd(x->ar, x->tmp_fd) != ARCHIVE_OK) {
		rc = archive_fail(x, "the header");
		goto done;
	}
	rc = archive_header(x, "blobs/", 1, 0);
	if (!rc)
		rc = archive_header(x, "blobs/sha256/", 1, 0);
done:
	free(dir);
	free(base_copy);
	return rc;
}

/* One object's destination while it is written. */
struct obj_out {
	int fd; /* layout: the blob file */
	char path[PATH_MAX];
};

static int obj_begin(struct obj_out *oo, struct ex *x, const char *name,
		     int64_t size)
{
	oo->fd = -1;
	if (x->o->format == EXPORT_ARCHIVE)
		return archive_header(x, name, 0, size);
	if (snprintf(oo->path, sizeof(oo->path), "%s/%s", x->tmp_path, name) >=
	    (int)sizeof(oo->path))
		return rv_err_set(RV_INVALID, "path '%.200s...' is too long",
				  x->o->path);
	oo->fd = open(oo->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (oo->fd < 0)
		return rv_err_errno(rv_err_from_errno(errno) == RV_NOTFOUND
					? RV_IO
					: rv_err_from_errno(errno),
				    errno, "cannot create '%s'", oo->path);
	return 0;
}

static int obj_write(struct obj_out *oo, struct ex *x, const void *data,
		     size_t len)
{
	if (x->o->format == EXPORT_ARCHIVE) {
		la_ssize_t n = archive_write_data(x->ar, data, len);
		if (n < 0 || (size_t)n != len)
			return archive_fail(x, "a blob");
		return 0;
	}
	return rv_fs_write_all(oo->fd, data, len, oo->path);
}

static int obj_end(struct obj_out *oo, struct ex *x)
{
	int rc = 0;

	if (x->o->format == EXPORT_ARCHIVE)
		return archive_write_finish_entry(x->ar) == ARCHIVE_OK
			   ? 0
			   : archive_fail(x, "a blob");
	if (fsync(oo->fd) < 0)
		rc = rv_err_errno(rv_err_from_errno(errno), errno,
				  "cannot fsync '%s'", oo->path);
	if (close(oo->fd) < 0 && !rc)
		rc = rv_err_errno(rv_err_from_errno(errno), errno,
				  "cannot write '%s'", oo->path);
	oo->fd = -1;
	return rc;
}

static int write_small(struct ex *x, const char *name, const char *text)
{
	struct obj_out oo;
	int rc = obj_begin(&oo, x, name, (int64_t)strlen(text));

	if (!rc)
		rc = obj_write(&oo, x, text, strlen(text));
	if (!rc)
		rc = obj_end(&oo, x);
	if (oo.fd >= 0)
		close(oo.fd);
	return rc;
}

static int check_stop(const struct ex *x)
{
	if (x->o->stop && *x->o->stop)
		return rv_err_set(RV_CANCELLED,
				  "export interrupted; nothing was written "
				  "under '%s'",
				  x->o->path);
	return 0;
}

/* Stream one stored object into the sink, chunk by chunk, checking that
 * it reassembles to its digest and its size. */
static int write_obj(struct ex *x, const struct xobj *ob)
{
	struct cat_chunk_loc *locs = NULL;
	struct rv_sha256 sha = {NULL};
	struct obj_out oo = {-1, ""};
	unsigned char md[RV_SHA256_LEN];
	char name[sizeof("blobs/sha256/") + 64], got[RV_DIGEST_MAX];
	size_t n_locs = 0;
	int64_t size = 0;
	uint64_t total = 0;
	int rc;

	snprintf(name, sizeof(name), "blobs/sha256/%s",
		 ob->digest + SHA256_PREFIX_LEN);
	rc = cat_blob_chunks(&locs, &n_locs, &size, x->c, ob->digest);
	if (rc == RV_NOTFOUND)
		rc = rv_err_set(RV_CORRUPT,
				"the catalog lacks %s %s that the snapshot "
				"needs",
				ob->is_manifest ? "manifest" : "blob",
				ob->digest);
	if (rc)
		goto done;
	if (size != ob->size) {
		rc = rv_err_set(RV_CORRUPT,
				"the catalog gives %s two sizes (%lld and "
				"%lld); rebuild the catalog from the targets",
				ob->digest, (long long)size,
				(long long)ob->size);
		goto done;
	}
	rc = rv_sha256_init(&sha);
	if (!rc)
		rc = obj_begin(&oo, x, name, size);
	for (size_t i = 0; !rc && i < n_locs; i++) {
		const struct cat_chunk_loc *l = &locs[i];

		rc = check_stop(x);
		if (rc)
			break;
		rv_buf_reset(&x->chunk);
		rc = store_read_chunk(x->s, l->pack_id, l->offset, l->length,
				      l->id, &x->chunk);
		if (rc)
			break;
		if (x->chunk.len != l->plain_len ||
		    total + x->chunk.len > (uint64_t)size) {
			rc = rv_err_set(RV_CORRUPT,
					"a chunk of %s in pack %s has the "
					"wrong length; run 'regvault verify'",
					ob->digest, l->pack_id);
			break;
		}
		rc = rv_sha256_update(&sha, x->chunk.data, x->chunk.len);
		if (!rc)
			rc = obj_write(&oo, x, x->chunk.data, x->chunk.len);
		total += x->chunk.len;
	}
	if (rc)
		goto done;
	rc = rv_sha256_final(&sha, md);
	if (rc)
		goto done;
	rv_digest_format(got, md);
	if (strcmp(got, ob->digest) || total != (uint64_t)size) {
		rc = rv_err_set(RV_CORRUPT,
				"stored %s %s does not reassemble to its "
				"digest (got %s, %llu bytes); run 'regvault "
				"verify' and 'regvault repair'",
				ob->is_manifest ? "manifest" : "blob",
				ob->digest, got, (unsigned long long)total);
		goto done;
	}
	rc = obj_end(&oo, x);
	if (!rc) {
		x->st->bytes += total;
		if (ob->is_manifest)
			x->st->manifests++;
		else
			x->st->blobs++;
	}
done:
	if (oo.fd >= 0)
		close(oo.fd);
	rv_sha256_release(&sha);
	free(locs);
	return rc;
}

static int index_json(char **out, const struct ex *x)
{
	json_t *doc = NULL, *list = NULL;
	int rc = 0;

	*out = NULL;
	list = json_array();
	doc = json_pack("{s:i, s:s}", "schemaVersion", 2, "mediaType",
			OCI_INDEX_TYPE);
	if (!list || !doc) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < x->n_tags; i++) {
		const struct xtag *t = &x->tags[i];
		json_t *d = json_pack("{s:s, s:I, s:{s:s}}", "digest",
				      t->digest, "size", (json_int_t)t->size,
				      "annotations", OCI_REF_NAME, t->tag);
		if (d && t->media_type[0] &&
		    json_object_set_new(d, "mediaType",
					json_string(t->media_type)) < 0) {
			json_decref(d);
			d = NULL;
		}
		if (!d || json_array_append_new(list, d) < 0) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
	}
	if (json_object_set(doc, "manifests", list) < 0) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	*out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!*out)
		rc = rv_err_set(RV_NOMEM, "out of memory");
done:
	json_decref(list);
	json_decref(doc);
	return rc;
}

static int fsync_sub(const struct ex *x, const char *sub)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s%s", x->tmp_path, sub) >= (int)sizeof(p))
		return rv_err_set(RV_INVALID, "path '%.200s...' is too long",
				  x->o->path);
	return rv_fs_fsync_dir(p);
}

/* Make the result final: a complete layout or archive gets its name. */
static int sink_commit(struct ex *x)
{
	char *parent = NULL;
	int rc;

	if (x->o->format == EXPORT_ARCHIVE) {
		if (archive_write_close(x->ar) != ARCHIVE_OK)
			return archive_fail(x, "the end");
		archive_write_free(x->ar);
		x->ar = NULL;
		rc = check_stop(x);
		if (!rc)
			rc = rv_fs_commit_tmp(x->tmp_fd, x->tmp_path,
					      x->o->path);
		if (!rc || access(x->tmp_path, F_OK) < 0) {
			/* renamed, or rv_fs_commit_tmp removed it */
			free(x->tmp_path);
			x->tmp_path = NULL;
		}
		return rc;
	}
	rc = fsync_sub(x, "/blobs/sha256");
	if (!rc)
		rc = fsync_sub(x, "/blobs");
	if (!rc)
		rc = fsync_sub(x, "");
	if (!rc)
		rc = check_stop(x);
	if (rc)
		return rc;
	if (rename(x->tmp_path, x->o->path) < 0) {
		if (errno == ENOTEMPTY || errno == EEXIST || errno == ENOTDIR)
			return rv_err_set(RV_INVALID,
					  "'%s' appeared while the export ran "
					  "and is not an empty folder; the "
					  "export was not written",
					  x->o->path);
		return rv_err_errno(rv_err_from_errno(errno), errno,
				    "cannot rename '%s' to '%s'", x->tmp_path,
				    x->o->path);
	}
	free(x->tmp_path);
	x->tmp_path = NULL;
	parent = rv_fs_dirname(x->o->path);
	if (!parent)
		return rv_err_set(RV_NOMEM, "out of memory");
	rc = rv_fs_fsync_dir(parent);
	free(parent);
	return rc;
}

int export_run(struct export_stats *st, struct cat *c, struct store *s,
	       const struct export_opts *o)
{
	struct cat_snapshot snap;
	struct ex x;
	char *index = NULL, hb[32];
	int rc;

	memset(st, 0, sizeof(*st));
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.s = s;
	x.o = o;
	x.st = st;
	x.tmp_fd = -1;
	rv_buf_init(&x.chunk, 2 * store_chunk_size(s) + (1u << 20));
	if (!o->snapshot || !o->repo || !o->repo[0] || !o->path ||
	    !o->path[0]) {
		rc = rv_err_set(RV_INVALID,
				"export needs a snapshot, a repository and a "
				"path");
		goto done;
	}
	if (o->tag && !export_tag_valid(o->tag)) {
		rc = rv_err_set(RV_INVALID, "'%.200s' is not a valid tag",
				o->tag);
		goto done;
	}
	rc = cat_snapshot_find(&snap, c, o->snapshot);
	if (rc)
		goto done;
	st->snapshot_time = snap.time;
	rc = cat_snapshot_tags(c, snap.id, collect_tag, &x);
	if (rc)
		goto done;
	if (x.n_tags == 0) {
		rc = rv_err_set(RV_NOTFOUND,
				"snapshot %.12s has no %s '%s%s%s' (see "
				"'regvault snapshots')",
				snap.id, o->tag ? "tag" : "repository", o->repo,
				o->tag ? ":" : "", o->tag ? o->tag : "");
		goto done;
	}
	for (size_t i = 0; !rc && i < x.n_tags; i++)
		rc = plan_manifest(&x, x.tags[i].digest, 0, &x.tags[i]);
	if (rc)
		goto done;
	st->tags = x.n_tags;
	st->foreign = x.foreign.n;
	rv_info("exporting %zu tag(s) of '%s' from snapshot %.12s: %zu "
		"object(s)",
		x.n_tags, o->repo, snap.id, x.n_objs);
	rc = sink_open(&x);
	if (rc)
		goto done;
	rc = write_small(&x, "oci-layout", OCI_LAYOUT_JSON);
	for (size_t i = 0; !rc && i < x.n_objs; i++) {
		rv_progress("export: %zu/%zu objects, %s", i + 1, x.n_objs,
			    rv_human_bytes(hb, sizeof(hb), st->bytes));
		rc = write_obj(&x, &x.objs[i]);
	}
	if (!rc)
		rc = index_json(&index, &x);
	if (!rc)
		rc = write_small(&x, "index.json", index);
	if (!rc)
		rc = sink_commit(&x);
done:
	rv_progress_done();
	sink_discard(&x);
	free(index);
	for (size_t i = 0; i < x.n_tags; i++)
		free(x.tags[i].tag);
	free(x.tags);
	free(x.objs);
	rv_set_release(&x.seen);
	rv_set_release(&x.foreign);
	rv_buf_release(&x.chunk);
	return rc;
}
