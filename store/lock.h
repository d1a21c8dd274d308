/* lock.h - locks on the targets, so that runs on different hosts that
 * share one store keep out of each other's way.
 *
 * The local run lock (a flock beside the catalog, cli/app.c) keeps two
 * runs of one host apart. Hosts that share a store do not share a catalog
 * or a file system, so the targets themselves carry the locks, as restic
 * does: a lock is a small JSON file `locks/<16 hex>` put on every target:
 *
 *   {"command":"backup","created":1795000000,"host":"backup-1",
 *    "kind":"shared","pid":4242,"refreshed":1795000300,"version":1}
 *
 * - shared: backup, restore, drill, verify, forget, repair. Any number of
 *   shared locks may be held at once.
 * - exclusive: prune. It is held only when no other lock (shared or
 *   exclusive) that is not stale exists on any target.
 *
 * Taking a lock: put our file on every target, then list locks/ on every
 * target and read the others; if one conflicts, delete ours again and
 * either give up (RV_LOCKED, message naming the holder: command, host,
 * pid, age) or, when wait_seconds > 0, retry every few seconds until the
 * deadline. Two runs that take conflicting locks at the same instant both
 * see each other and both back off (and retry with a random delay), so
 * exclusivity holds.
 *
 * A held lock is refreshed by a thread of its own (on target handles of
 * its own: target handles are not shared between threads) every
 * refresh_seconds, rewriting `refreshed`. A lock is stale when its
 * `refreshed` time is older than stale_seconds, or when its host is this
 * host and no process with its pid exists (kill(pid, 0) fails with
 * ESRCH). Stale locks never conflict; they are left for `regvault unlock`
 * to remove (and are reported by name).
 *
 * Lock files are not secret and not sealed: a forged lock can only delay
 * work, never change what is stored or restored.
 */
#ifndef STORE_LOCK_H
#define STORE_LOCK_H

#include <stddef.h>
#include <stdint.h>

struct target;

enum store_lock_kind {
	STORE_LOCK_SHARED = 0,
	STORE_LOCK_EXCLUSIVE = 1,
};

struct store_lock_opts {
	enum store_lock_kind kind;
	const char *command;   /* "backup", "prune", ... (in the file) */
	int64_t wait_seconds;  /* 0: fail at once with RV_LOCKED */
	int64_t stale_seconds; /* 0: default 1800 (30 min) */
	int64_t refresh_seconds; /* 0: default 300 (5 min); must be less
				     than stale_seconds / 2 */
};

struct store_lock;

/* Take a lock on every target in targets[0..n). The lock takes ownership
 * of the targets (and of the array) on success and on failure; they must
 * be handles that nobody else uses (open a second set: the refresh thread
 * uses them). RV_LOCKED when a conflicting lock that is not stale is held
 * and the wait ran out; a target that cannot be written fails the whole
 * acquisition (RV_IO/RV_NET/..., message names the target), with what was
 * written removed again. */
int store_lock_acquire(struct store_lock **out, struct target **targets,
		       size_t n, const struct store_lock_opts *o);

/* Stop the refresh thread and delete the lock file from every target.
 * NULL is a no-op. Failing to delete is warned about, not returned (the
 * lock goes stale by itself). */
void store_lock_release(struct store_lock *l);

/* The lock file's name, "locks/<16 hex>". */
const char *store_lock_name(const struct store_lock *l);

/* One lock file as found on the targets. */
struct store_lock_info {
	char name[32];	 /* "locks/<16 hex>" */
	char kind[16];	 /* "shared" / "exclusive" */
	char command[32];
	char host[256];
	int64_t pid;
	int64_t created, refreshed;
	int stale;	 /* by the rules above, at `now` */
	int unreadable;	 /* not a lock document (listed, never honoured
			    as a conflict; removable by unlock) */
	char target[64]; /* the first target it was found on */
};

/* Every lock on any of targets[0..n) (each name once), sorted by name.
 * stale_seconds 0 = the default. The targets stay the caller's. */
int store_lock_list(struct store_lock_info **out, size_t *n_out,
		    struct target **targets, size_t n, int64_t stale_seconds,
		    int64_t now);

/* Delete lock `name` ("locks/<16 hex>") from every target (absent is not
 * an error). */
int store_lock_remove(struct target **targets, size_t n, const char *name);

#endif
