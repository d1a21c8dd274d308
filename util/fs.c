#include "fs.h"

#include "buf.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rv_fs_mkdirs(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp))
		return rv_err_set(RV_INVALID, "bad folder path '%s'", path);
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return rv_err_errno(rv_err_from_errno(errno), errno,
					    "cannot create folder '%s'", tmp);
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return rv_err_errno(rv_err_from_errno(errno), errno,
				    "cannot create folder '%s'", tmp);
	return 0;
}

int rv_fs_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return rv_err_errno(RV_IO, errno, "cannot open folder '%s'",
				    dir);
	if (fsync(fd) < 0 && errno != EINVAL) {
		int e = errno;
		close(fd);
		return rv_err_errno(rv_err_from_errno(e), e,
				    "cannot fsync folder '%s'", dir);
	}
	close(fd);
	return 0;
}

char *rv_fs_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int rv_fs_write_all(int fd, const void *data, size_t len, const char *what)
{
	const unsigned char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return rv_err_errno(rv_err_from_errno(errno), errno,
					    "cannot write '%s'", what);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int rv_fs_tmpfile(int *fd, char **path, const char *dir, const char *prefix)
{
	size_t n = strlen(dir) + strlen(prefix) + 16;
	char *tmpl = malloc(n);
	if (!tmpl)
		return rv_err_set(RV_NOMEM, "out of memory");
	snprintf(tmpl, n, "%s/.%s.XXXXXX", dir, prefix);
	*fd = mkostemp(tmpl, O_CLOEXEC);
	if (*fd < 0) {
		int e = errno;
		free(tmpl);
		return rv_err_errno(
		    rv_err_from_errno(e) == RV_NOTFOUND ? RV_IO
							: rv_err_from_errno(e),
		    e, "cannot create a temporary file in '%s'", dir);
	}
	*path = tmpl;
	return 0;
}

int rv_fs_commit_tmp(int fd, const char *tmp, const char *final)
{
	char *dir = NULL;
	int rc;

	if (fsync(fd) < 0) {
		rc = rv_err_errno(rv_err_from_errno(errno), errno,
				  "cannot fsync '%s'", tmp);
		unlink(tmp);
		return rc;
	}
	if (rename(tmp, final) < 0) {
		rc = rv_err_errno(rv_err_from_errno(errno), errno,
				  "cannot rename '%s' to '%s'", tmp, final);
		unlink(tmp);
		return rc;
	}
	dir = rv_fs_dirname(final);
	if (!dir)
		return rv_err_set(RV_NOMEM, "out of memory");
	rc = rv_fs_fsync_dir(dir);
	free(dir);
	return rc;
}

int rv_fs_write_atomic(const char *path, const void *data, size_t len,
		       mode_t mode)
{
	char *dir = rv_fs_dirname(path), *tmp = NULL;
	const char *base = strrchr(path, '/');
	int fd = -1, rc;

	if (!dir)
		return rv_err_set(RV_NOMEM, "out of memory");
	rc = rv_fs_tmpfile(&fd, &tmp, dir, base ? base + 1 : path);
	if (rc)
		goto done;
	if (fchmod(fd, mode) < 0) {
		rc = rv_err_errno(RV_IO, errno, "cannot chmod '%s'", tmp);
		unlink(tmp);
		goto done;
	}
	rc = rv_fs_write_all(fd, data, len, tmp);
	if (rc) {
		unlink(tmp);
		goto done;
	}
	rc = rv_fs_commit_tmp(fd, tmp, path);
done:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(dir);
	return rc;
}

int rv_fs_read_file(struct rv_buf *out, const char *path)
{
	unsigned char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return rv_err_set(RV_NOTFOUND, "'%s' does not exist",
					  path);
		return rv_err_errno(RV_IO, errno, "cannot open '%s'", path);
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = rv_err_errno(RV_IO, errno, "cannot read '%s'",
					  path);
			break;
		}
		if (n == 0)
			break;
		rc = rv_buf_add(out, chunk, (size_t)n);
		if (rc) {
			if (rc == RV_TOOBIG)
				rv_err_set(RV_TOOBIG,
					   "'%s' is larger than %zu bytes",
					   path, out->max);
			break;
		}
	}
	close(fd);
	return rc;
}
