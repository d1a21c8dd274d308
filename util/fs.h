/* fs.h - durable file operations.
 *
 * A file is written under a temporary name in the same folder, fsynced,
 * renamed over its final name, and the folder fsynced: readers see the old
 * file or the new one, never a part.
 */
#ifndef RV_FS_H
#define RV_FS_H

#include <stddef.h>
#include <sys/types.h>

struct rv_buf;

/* mkdir -p; existing folders are fine. RV_IO/RV_NOSPC with message. */
int rv_fs_mkdirs(const char *path, mode_t mode);
/* fsync the folder itself (after a rename or create inside it). */
int rv_fs_fsync_dir(const char *dir);
/* Write data to path atomically (temp + fsync + rename + fsync dir). */
int rv_fs_write_atomic(const char *path, const void *data, size_t len,
		       mode_t mode);
/* Create a unique temp file "<dir>/.<prefix>.XXXXXX"; fd and its path
 * (malloc'd) out. */
int rv_fs_tmpfile(int *fd, char **path, const char *dir, const char *prefix);
/* fsync fd, rename tmp over final, fsync final's folder. tmp is removed on
 * failure. fd is not closed. */
int rv_fs_commit_tmp(int fd, const char *tmp, const char *final);
/* Read a whole file into out (bounded by out->max). RV_NOTFOUND if absent. */
int rv_fs_read_file(struct rv_buf *out, const char *path);
/* write(2) all of it, retrying on EINTR and short writes. */
int rv_fs_write_all(int fd, const void *data, size_t len, const char *what);
/* The folder part of path (malloc'd; "." when none). */
char *rv_fs_dirname(const char *path);

#endif
