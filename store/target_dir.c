/* target_dir.c - a target that is a folder on a local or mounted file
 * system.
 *
 * Every file is written under a temporary name beginning with '.' in its
 * own folder, fsynced, renamed over the final name and the folder fsynced,
 * so a reader sees no file or the whole file. Names whose components begin
 * with '.' are refused, which keeps every stored file listable and every
 * temporary file out of listings.
 */
#include "store/target.h"

#include "util/err.h"
#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_COPY_BLOCK (1u << 20)
#define DIR_NAME_MAX 1024
#define DIR_COMPONENT_MAX 255
#define DIR_WALK_DEPTH 16

struct target_dir {
	struct target base;
	char *root;
	dev_t root_dev; /* the folder opened: a put into anything else */
	ino_t root_ino; /* (unmounted, removed, replaced) is refused */
};

static struct target_dir *to_dir(struct target *t)
{
	return (struct target_dir *)t;
}

/* Check one '/'-separated run of components (the whole name, or the
 * folder part of a list prefix). */
static int dir_name_check(const struct target *t, const char *name,
			  const char *what)
{
	size_t len = strlen(name), comp = 0;

	if (len == 0 || len > DIR_NAME_MAX || name[0] == '/')
		goto bad;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '/' || c == '\0') {
			if (comp == 0)
				goto bad; /* empty component */
			if (name[i - comp] == '.')
				goto bad; /* ".", "..", or a hidden name */
			comp = 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			goto bad;
		if (++comp > DIR_COMPONENT_MAX)
			goto bad;
	}
	return 0;
bad:
	for (size_t i = 0; i < len && i < 200; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return rv_err_set(RV_INVALID,
					  "target '%s': bad %s (control "
					  "characters)",
					  t->name, what);
	return rv_err_set(RV_INVALID,
			  "target '%s': bad %s '%.200s' (want a relative "
			  "path without empty, '.' or '..' parts)",
			  t->name, what, name);
}

static char *dir_path(const struct target_dir *d, const char *name)
{
	size_t n = strlen(d->root) + strlen(name) + 2;
	char *p = malloc(n);

	if (!p) {
		rv_err_set(RV_NOMEM, "out of memory");
		return NULL;
	}
	snprintf(p, n, "%s/%s", d->root, name);
	return p;
}

static int dir_write_err(const struct target *t, const char *name, int e)
{
	return rv_err_errno(
	    rv_err_from_errno(e) == RV_NOTFOUND ? RV_IO : rv_err_from_errno(e),
	    e, "target '%s': cannot write '%s'", t->name, name);
}

static int dir_write_all(const struct target *t, const char *name, int fd,
			 const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return dir_write_err(t, name, errno);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copy src_fd to fd: copy_file_range where the file systems allow it (a
 * reflink or an in-kernel copy), else read/write in 1 MiB blocks. */
static int dir_copy(const struct target *t, const char *name, int fd,
		    int src_fd, const char *src)
{
	unsigned char *block = NULL;
	int rc = 0, fast = 1;

	for (;;) {
		ssize_t n;
		if (fast) {
			n = copy_file_range(src_fd, NULL, fd, NULL,
					    DIR_COPY_BLOCK, 0);
			if (n > 0)
				continue;
			if (n == 0)
				break;
			if (errno == EINTR)
				continue;
			if (errno == ENOSPC || errno == EDQUOT) {
				rc = dir_write_err(t, name, errno);
				break;
			}
			/* EXDEV, ENOSYS, EINVAL, EOPNOTSUPP, ...: fall back
			 * to plain reads from where the copy stopped. */
			fast = 0;
			continue;
		}
		if (!block) {
			block = malloc(DIR_COPY_BLOCK);
			if (!block) {
				rc = rv_err_set(RV_NOMEM, "out of memory");
				break;
			}
		}
		n = read(src_fd, block, DIR_COPY_BLOCK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc =
			    rv_err_errno(RV_IO, errno, "cannot read '%s'", src);
			break;
		}
		if (n == 0)
			break;
		rc = dir_write_all(t, name, fd, block, (size_t)n);
		if (rc)
			break;
	}
	free(block);
	return rc;
}

/* This host, as 8 hex digits (FNV-1a of its name) in temporary names. */
static unsigned host_tag(void)
{
	char host[256] = "";
	unsigned h = 2166136261u;

	gethostname(host, sizeof(host) - 1);
	for (const char *p = host; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

/* A temporary file of a writer on this host that is no longer running:
 * ".<name>.<pid>-<host>.XXXXXX". */
static int temp_is_orphan(const char *fname, unsigned me)
{
	const char *end = strrchr(fname, '.'), *p;
	long pid;
	unsigned host;
	char tail;

	if (fname[0] != '.' || !end || end == fname)
		return 0;
	for (p = end - 1; p > fname && *p != '.'; p--)
		;
	if (p == fname ||
	    sscanf(p + 1, "%ld-%8x%c", &pid, &host, &tail) != 3 ||
	    tail != '.' || host != me || pid <= 0 || pid == (long)getpid())
		return 0;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* Remove the orphan temporary files in one folder (best effort). */
static void sweep_folder(const char *path, unsigned me)
{
	DIR *dir = opendir(path);
	struct dirent *e;

	if (!dir)
		return;
	while ((e = readdir(dir)))
		if (temp_is_orphan(e->d_name, me))
			(void)unlinkat(dirfd(dir), e->d_name, 0);
	closedir(dir);
}

/* Temporary files that writers on this host killed mid-put left (a put
 * is a temporary file renamed into place): they are never listed, so
 * nothing else would ever remove them. Those of live writers and of
 * other hosts are left alone. */
static void dir_sweep(struct target_dir *d)
{
	static const char *const folders[] = {"", "/locks", "/seals",
					      "/snapshots", "/keys"};
	unsigned me = host_tag();
	size_t n = strlen(d->root) + 16;
	char *path = malloc(n);

	if (!path)
		return;
	for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		snprintf(path, n, "%s%s", d->root, folders[i]);
		sweep_folder(path, me);
	}
	for (int i = 0; i < 256; i++) {
		snprintf(path, n, "%s/packs/%02x", d->root, i);
		sweep_folder(path, me);
	}
	free(path);
}

/* The path name gets and its folder, made if missing below the root.
 * The root itself must still be the folder opened: a target unmounted or
 * removed mid-run is an error, never re-created empty. */
static int dir_place(struct target_dir *d, const char *name, char **final,
		     char **folder)
{
	struct stat st;
	int rc;

	if (stat(d->root, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_dev != d->root_dev || st.st_ino != d->root_ino)
		return rv_err_set(RV_IO,
				  "target '%s': folder '%s' is gone or is no "
				  "longer the one opened (unmounted or "
				  "removed?); mount or restore it, then run "
				  "again",
				  d->base.name, d->root);
	*final = dir_path(d, name);
	*folder = *final ? rv_fs_dirname(*final) : NULL;
	if (!*folder)
		return rv_err_set(RV_NOMEM, "out of memory");
	rc = rv_fs_mkdirs(*folder, 0700);
	if (rc && rc != RV_NOMEM)
		rc = rv_err_set(rc, "target '%s': %s", d->base.name,
				rv_err_msg());
	return rc;
}

/* Write name from src_fd (when >= 0) or from data, atomically. */
static int dir_put(struct target *t, const char *name, int src_fd,
		   const char *src, const void *data, size_t len)
{
	struct target_dir *d = to_dir(t);
	char *final = NULL, *folder = NULL, *tmp = NULL;
	const char *base;
	int fd = -1, rc;

	rc = dir_name_check(t, name, "object name");
	if (rc)
		return rc;
	rc = dir_place(d, name, &final, &folder);
	if (rc)
		goto done;
	base = strrchr(name, '/');
	{
		char prefix[160];

		/* ".<name>.<pid>-<host>.XXXXXX": who wrote it, so a
		 * killed writer's file can be told from a live one's */
		snprintf(prefix, sizeof(prefix), "%.100s.%ld-%08x",
			 base ? base + 1 : name, (long)getpid(), host_tag());
		rc = rv_fs_tmpfile(&fd, &tmp, folder, prefix);
	}
	if (rc)
		goto done;
	if (src_fd >= 0)
		rc = dir_copy(t, name, fd, src_fd, src);
	else
		rc = dir_write_all(t, name, fd, data, len);
	if (rc)
		goto done;
	if (fsync(fd) < 0) {
		rc = dir_write_err(t, name, errno);
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = dir_write_err(t, name, errno);
		goto done;
	}
	fd = -1;
	if (rename(tmp, final) < 0) {
		rc = rv_err_errno(
		    rv_err_from_errno(errno) == RV_NOSPC ? RV_NOSPC : RV_IO,
		    errno, "target '%s': cannot rename '%s' to '%s'", t->name,
		    tmp, final);
		goto done;
	}
	free(tmp);
	tmp = NULL;
	rc = rv_fs_fsync_dir(folder);
done:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(folder);
	free(final);
	return rc;
}

static int dir_put_file(struct target *t, const char *name,
			const char *src_path)
{
	int src_fd, rc;

	src_fd = open(src_path, O_RDONLY | O_CLOEXEC);
	if (src_fd < 0)
		return rv_err_errno(RV_IO, errno, "cannot open '%s'", src_path);
	rc = dir_put(t, name, src_fd, src_path, NULL, 0);
	close(src_fd);
	return rc;
}

/* The file is durable where it is: a rename into place is the whole put
 * when both live on one file system; otherwise copy it. */
static int dir_move_file(struct target *t, const char *name,
			 const char *src_path)
{
	struct target_dir *d = to_dir(t);
	char *final = NULL, *folder = NULL;
	int rc;

	rc = dir_name_check(t, name, "object name");
	if (rc)
		return rc;
	rc = dir_place(d, name, &final, &folder);
	if (rc)
		goto done;
	if (rename(src_path, final) == 0) {
		rc = rv_fs_fsync_dir(folder);
		goto done;
	}
	if (errno == EXDEV)
		rc = dir_put_file(t, name, src_path);
	else
		rc = rv_err_errno(
		    rv_err_from_errno(errno) == RV_NOSPC ? RV_NOSPC : RV_IO,
		    errno, "target '%s': cannot move '%s' to '%s'", t->name,
		    src_path, final);
done:
	free(folder);
	free(final);
	return rc;
}

static int dir_put_buf(struct target *t, const char *name, const void *data,
		       size_t len)
{
	return dir_put(t, name, -1, NULL, data, len);
}

static int dir_get_range(struct target *t, const char *name, uint64_t off,
			 uint64_t len, struct rv_buf *out)
{
	struct target_dir *d = to_dir(t);
	char *path = NULL;
	struct stat st;
	uint64_t size, done_bytes = 0;
	int fd = -1, rc;

	rc = dir_name_check(t, name, "object name");
	if (rc)
		return rc;
	path = dir_path(d, name);
	if (!path)
		return RV_NOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			rc = rv_err_set(RV_NOTFOUND,
					"target '%s': '%s' does not exist",
					t->name, name);
		else
			rc = rv_err_errno(RV_IO, errno,
					  "target '%s': cannot open '%s'",
					  t->name, name);
		goto done;
	}
	if (fstat(fd, &st) < 0) {
		rc = rv_err_errno(RV_IO, errno, "target '%s': cannot stat '%s'",
				  t->name, name);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = rv_err_set(RV_NOTFOUND, "target '%s': '%s' is not a file",
				t->name, name);
		goto done;
	}
	size = (uint64_t)st.st_size;
	if (off > size || (len && len > size - off)) {
		rc = rv_err_set(RV_CORRUPT,
				"target '%s': '%s' is %llu bytes, shorter than "
				"the range asked (%llu+%llu)",
				t->name, name, (unsigned long long)size,
				(unsigned long long)off,
				(unsigned long long)len);
		goto done;
	}
	if (!len)
		len = size - off;
	if (len > SIZE_MAX || rv_buf_reserve(out, (size_t)len)) {
		rc = rv_err_set(RV_TOOBIG,
				"target '%s': '%s' (%llu bytes) is larger than "
				"allowed (%zu bytes)",
				t->name, name, (unsigned long long)len,
				out->max - out->len);
		goto done;
	}
	while (done_bytes < len) {
		ssize_t n = pread(fd, out->data + out->len + done_bytes,
				  (size_t)(len - done_bytes),
				  (off_t)(off + done_bytes));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = rv_err_errno(RV_IO, errno,
					  "target '%s': cannot read '%s'",
					  t->name, name);
			goto done;
		}
		if (n == 0) {
			rc = rv_err_set(RV_CORRUPT,
					"target '%s': '%s' shrank while being "
					"read",
					t->name, name);
			goto done;
		}
		done_bytes += (uint64_t)n;
	}
	out->len += (size_t)len;
	out->data[out->len] = '\0';
done:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

static int dir_stat(struct target *t, const char *name, uint64_t *size)
{
	struct stat st;
	char *path;
	int rc;

	rc = dir_name_check(t, name, "object name");
	if (rc)
		return rc;
	path = dir_path(to_dir(t), name);
	if (!path)
		return RV_NOMEM;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			rc = rv_err_set(RV_NOTFOUND,
					"target '%s': '%s' does not exist",
					t->name, name);
		else
			rc = rv_err_errno(RV_IO, errno,
					  "target '%s': cannot stat '%s'",
					  t->name, name);
	} else if (!S_ISREG(st.st_mode)) {
		rc = rv_err_set(RV_NOTFOUND, "target '%s': '%s' is not a file",
				t->name, name);
	} else {
		*size = (uint64_t)st.st_size;
	}
	free(path);
	return rc;
}

/* rel is the folder being walked, relative to the root ("" for the root
 * itself); it grows and shrinks as the walk goes down and up. */
static int dir_walk(struct target_dir *d, struct rv_buf *rel,
		    const char *prefix, struct rv_strlist *names, int depth)
{
	struct target *t = &d->base;
	size_t rel_len = rel->len, plen = strlen(prefix);
	char *path = NULL;
	DIR *dir = NULL;
	struct dirent *de;
	int rc = 0;

	if (depth > DIR_WALK_DEPTH)
		return rv_err_set(RV_IO,
				  "target '%s': folders nested deeper "
				  "than %d under '%s'",
				  t->name, DIR_WALK_DEPTH, rv_buf_cstr(rel));
	path = rel->len ? dir_path(d, rv_buf_cstr(rel)) : strdup(d->root);
	if (!path)
		return rv_err_set(RV_NOMEM, "out of memory");
	dir = opendir(path);
	if (!dir) {
		if (errno != ENOENT && errno != ENOTDIR)
			rc = rv_err_errno(RV_IO, errno,
					  "target '%s': cannot list '%s'",
					  t->name, path);
		goto done;
	}
	for (;;) {
		int is_dir = 0, is_reg = 0;
		const char *child;

		errno = 0;
		de = readdir(dir);
		if (!de) {
			if (errno)
				rc = rv_err_errno(RV_IO, errno,
						  "target '%s': cannot list "
						  "'%s'",
						  t->name, path);
			break;
		}
		if (de->d_name[0] == '.')
			continue; /* ".", "..", temporary files */
		if (de->d_type == DT_DIR) {
			is_dir = 1;
		} else if (de->d_type == DT_REG) {
			is_reg = 1;
		} else {
			struct stat st;
			if (fstatat(dirfd(dir), de->d_name, &st, 0) < 0)
				continue; /* vanished or a dangling link */
			is_dir = S_ISDIR(st.st_mode);
			is_reg = S_ISREG(st.st_mode);
		}
		rel->len = rel_len;
		if (rel_len)
			rc = rv_buf_add(rel, "/", 1);
		if (!rc)
			rc = rv_buf_puts(rel, de->d_name);
		if (rc)
			break;
		child = rv_buf_cstr(rel);
		if (is_reg && !strncmp(child, prefix, plen)) {
			rc = rv_strlist_add(names, child);
		} else if (is_dir) {
			/* Go down only where a match can be: the folder is
			 * inside the prefix or the prefix inside it. */
			size_t clen = rel->len;
			int inside = clen >= plen
					 ? !strncmp(child, prefix, plen)
					 : (!strncmp(prefix, child, clen) &&
					    prefix[clen] == '/');
			if (inside)
				rc = dir_walk(d, rel, prefix, names, depth + 1);
		}
		if (rc)
			break;
	}
done:
	rel->len = rel_len;
	if (rel->data)
		rel->data[rel_len] = '\0';
	if (dir)
		closedir(dir);
	free(path);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int dir_list(struct target *t, const char *prefix,
		    struct rv_strlist *names)
{
	struct rv_buf rel = RV_BUF_INIT(DIR_NAME_MAX * 4);
	const char *slash = strrchr(prefix, '/');
	size_t start = names->n;
	int rc = 0;

	for (const char *p = prefix; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return rv_err_set(RV_INVALID,
					  "target '%s': bad list prefix "
					  "(control characters)",
					  t->name);
	if (slash) {
		rc = rv_buf_add(&rel, prefix, (size_t)(slash - prefix));
		if (!rc)
			rc =
			    dir_name_check(t, rv_buf_cstr(&rel), "list prefix");
		if (rc)
			goto done;
	}
	rc = dir_walk(to_dir(t), &rel, prefix, names, 0);
	if (!rc && names->n - start > 1)
		qsort(names->items + start, names->n - start,
		      sizeof(*names->items), cmp_name);
done:
	rv_buf_release(&rel);
	return rc;
}

static int dir_del(struct target *t, const char *name)
{
	char *path = NULL, *folder = NULL;
	int rc;

	rc = dir_name_check(t, name, "object name");
	if (rc)
		return rc;
	path = dir_path(to_dir(t), name);
	if (!path)
		return RV_NOMEM;
	if (unlink(path) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			rc = rv_err_errno(RV_IO, errno,
					  "target '%s': cannot delete '%s'",
					  t->name, name);
		goto done;
	}
	folder = rv_fs_dirname(path);
	if (!folder) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	rc = rv_fs_fsync_dir(folder);
done:
	free(folder);
	free(path);
	return rc;
}

static void dir_free(struct target *t)
{
	struct target_dir *d = to_dir(t);

	free(d->root);
	free(d->base.name);
	free(d);
}

static const struct target_ops dir_ops = {
    .put_file = dir_put_file,
    .move_file = dir_move_file,
    .put_buf = dir_put_buf,
    .get_range = dir_get_range,
    .stat = dir_stat,
    .list = dir_list,
    .del = dir_del,
    .free = dir_free,
};

int target_dir_open(struct target **out, const char *name, const char *path,
		    int create)
{
	struct target_dir *d = NULL;
	struct stat st;
	size_t len = strlen(path);
	int rc;

	*out = NULL;
	if (!name)
		name = path;
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 0)
		return rv_err_set(RV_INVALID, "target '%s': empty folder path",
				  name);
	d = calloc(1, sizeof(*d));
	if (!d)
		return rv_err_set(RV_NOMEM, "out of memory");
	target_base_init(&d->base, &dir_ops);
	d->base.name = strdup(name);
	d->root = strndup(path, len);
	if (!d->base.name || !d->root) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto fail;
	}
	if (create) {
		rc = rv_fs_mkdirs(d->root, 0700);
		if (rc)
			goto fail;
	}
	if (stat(d->root, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			rc = rv_err_set(
			    RV_NOTFOUND,
			    "target '%s': folder '%s' does not exist", name,
			    d->root);
		else
			rc =
			    rv_err_errno(RV_IO, errno,
					 "target '%s': cannot open folder '%s'",
					 name, d->root);
		goto fail;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = rv_err_set(RV_INVALID, "target '%s': '%s' is not a folder",
				name, d->root);
		goto fail;
	}
	d->root_dev = st.st_dev;
	d->root_ino = st.st_ino;
	dir_sweep(d);
	*out = &d->base;
	return 0;
fail:
	dir_free(&d->base);
	return rc;
}
