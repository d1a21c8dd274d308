/* target.h - where the store's files live: a small table of operations.
 *
 * Names are relative paths with '/' separators, e.g. "regvault.json",
 * "keys/<id>", "packs/ab/<id>", "snapshots/<id>". A back end fills
 * struct target_ops; callers use the target_* wrappers only. Adding a back
 * end (s3, ...) is a new file, not an `if` in the callers.
 */
#ifndef STORE_TARGET_H
#define STORE_TARGET_H

#include "util/buf.h"
#include "util/strlist.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct target;

struct target_ops {
	/* Store the file at src_path under name, atomically: readers see
	 * no file or the whole file. Overwrites. */
	int (*put_file)(struct target *t, const char *name,
			const char *src_path);
	/* Optional (NULL: put_file is used): the same, but src_path may be
	 * taken rather than copied (renamed into place when it is on the
	 * same file system); its bytes must be durable already (fsynced by
	 * the caller). On success src_path may be gone. */
	int (*move_file)(struct target *t, const char *name,
			 const char *src_path);
	/* Same for bytes in memory. */
	int (*put_buf)(struct target *t, const char *name, const void *data,
		       size_t len);
	/* Append bytes [off, off+len) of name to out; len 0 means to the
	 * end. RV_NOTFOUND if absent, RV_CORRUPT if shorter than asked. */
	int (*get_range)(struct target *t, const char *name, uint64_t off,
			 uint64_t len, struct rv_buf *out);
	/* Size of name; RV_NOTFOUND if absent. */
	int (*stat)(struct target *t, const char *name, uint64_t *size);
	/* Append the names of all files whose name starts with prefix
	 * (temporary files are never listed). */
	int (*list)(struct target *t, const char *prefix,
		    struct rv_strlist *names);
	/* Remove name; absent is not an error. RV_LOCKED: retained by
	 * Object Lock (s3); the object is left as it is (still readable;
	 * its versions that were not locked are deleted). */
	int (*del)(struct target *t, const char *name);
	void (*free)(struct target *t);
};

/* A target handle may be shared by threads: the target_* wrappers take
 * its mutex around each call, so a back end never sees two calls at once
 * (an s3 target reuses one libcurl handle). Threads that want puts to
 * overlap open handles of their own. */
struct target {
	const struct target_ops *ops;
	char *name; /* the configured name, for messages */
	pthread_mutex_t mu;
};

/* For back ends: set ops and ready the mutex (call first, before any
 * failure path can reach target_free). */
void target_base_init(struct target *t, const struct target_ops *ops);

/* Open a `dir` target rooted at path. create=1 makes the folder (and
 * parents) when missing; create=0 gives RV_NOTFOUND when it is missing. */
int target_dir_open(struct target **out, const char *name, const char *path,
		    int create);

int target_put_file(struct target *t, const char *name, const char *src);
/* put_file that may consume src (see target_ops.move_file). */
int target_move_file(struct target *t, const char *name, const char *src);
int target_put_buf(struct target *t, const char *name, const void *data,
		   size_t len);
int target_get_range(struct target *t, const char *name, uint64_t off,
		     uint64_t len, struct rv_buf *out);
int target_get(struct target *t, const char *name, struct rv_buf *out);
int target_stat(struct target *t, const char *name, uint64_t *size);
int target_list(struct target *t, const char *prefix, struct rv_strlist *names);
int target_del(struct target *t, const char *name);
void target_free(struct target *t);

#endif
