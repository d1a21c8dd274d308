/* lock.c - locks on the targets (store/lock.h).
 *
 * Taking a lock writes first and looks second: our file goes to every
 * target, then every other lock file is read. Two runs that race both see
 * each other's file, so at worst both back off; neither can miss the
 * other. The refresh thread works on the lock's own target handles, which
 * nobody else touches while it runs (acquire finishes before it starts,
 * release joins it before deleting).
 */
#include "store/lock.h"

#include "store/target.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/progress.h"
#include "util/strlist.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOCK_PREFIX "locks/"
#define LOCK_PREFIX_LEN 6
#define LOCK_ID_HEX 16
#define LOCK_FILE_MAX (64u * 1024u) /* a lock document is ~150 bytes */
#define LOCK_LIST_MAX 100000	    /* lock files per target we look at */
#define LOCK_STALE_DEFAULT 1800
#define LOCK_REFRESH_DEFAULT 300
#define LOCK_VERSION 1
#define LOCK_RETRY_MS 1000 /* between attempts, plus up to as much again */
#define LOCK_HOLDER_MAX 1024

struct store_lock {
	struct target **targets;
	size_t n;
	char name[32];
	const char *kind;
	char command[32];
	char host[256];
	int64_t pid;
	int64_t created;
	int64_t refresh_seconds;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	int sync_ready; /* mu and cond initialised */
	int stop;
	int thread_started;
	pthread_t thread;
};

/* The thread's error, kept across cleanup that may set its own. */
struct saved_err {
	int code;
	char msg[2048];
};

static void err_save(struct saved_err *s)
{
	s->code = rv_err_code();
	snprintf(s->msg, sizeof(s->msg), "%s", rv_err_msg());
}

static void err_restore(const struct saved_err *s)
{
	if (s->code)
		rv_err_set(s->code, "%s", s->msg);
	else
		rv_err_clear();
}

static int64_t effective_stale(int64_t stale_seconds)
{
	return stale_seconds > 0 ? stale_seconds : LOCK_STALE_DEFAULT;
}

static void this_host(char *host, size_t size)
{
	if (gethostname(host, size) < 0 || !host[0])
		snprintf(host, size, "unknown");
	host[size - 1] = '\0';
}

/* Copy text from outside into a fixed field: truncated, and with control
 * characters replaced, so that a forged lock cannot drive the terminal. */
static void copy_text(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i]; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	dst[i] = '\0';
}

static int is_lock_name(const char *name)
{
	if (strncmp(name, LOCK_PREFIX, LOCK_PREFIX_LEN))
		return 0;
	name += LOCK_PREFIX_LEN;
	for (int i = 0; i < LOCK_ID_HEX; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		      (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return name[LOCK_ID_HEX] == '\0';
}


static int lock_is_stale(const struct store_lock_info *in, int64_t stale,
			 int64_t now, const char *host)
{
	if (now - in->refreshed > stale)
		return 1;
	/* kill(pid, 0) says whether the process exists; EPERM means it
	 * does (someone else's) */
	if (!strcmp(in->host, host) && in->pid > 0 && in->pid <= INT_MAX &&
	    kill((pid_t)in->pid, 0) < 0 && errno == ESRCH)
		return 1;
	return 0;
}

static int get_int_field(int64_t *out, json_t *doc, const char *key, int64_t lo,
			 int64_t hi)
{
	json_t *v = json_object_get(doc, key);

	if (!json_is_integer(v))
		return -1;
	if (json_integer_value(v) < lo || json_integer_value(v) > hi)
		return -1;
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* Fill info from a lock document; -1 when it is not one. */
static int parse_lock(struct store_lock_info *info, const struct rv_buf *b)
{
	json_error_t jerr;
	json_t *doc = json_loadb((const char *)b->data, b->len,
				 JSON_REJECT_DUPLICATES, &jerr);
	const char *kind, *command, *host;
	int64_t version;
	int rc = -1;

	if (!json_is_object(doc))
		goto done;
	kind = json_string_value(json_object_get(doc, "kind"));
	command = json_string_value(json_object_get(doc, "command"));
	host = json_string_value(json_object_get(doc, "host"));
	if (!kind || !command || !host || !*host)
		goto done;
	if (strcmp(kind, "shared") && strcmp(kind, "exclusive"))
		goto done;
	if (get_int_field(&version, doc, "version", 1, INT_MAX) ||
	    get_int_field(&info->pid, doc, "pid", 1, INT_MAX) ||
	    get_int_field(&info->created, doc, "created", 0, RV_TIME_MAX) ||
	    get_int_field(&info->refreshed, doc, "refreshed", 0, RV_TIME_MAX))
		goto done;
	copy_text(info->kind, sizeof(info->kind), kind);
	copy_text(info->command, sizeof(info->command), command);
	copy_text(info->host, sizeof(info->host), host);
	rc = 0;
done:
	json_decref(doc);
	return rc;
}

/* A listed name and the index of a target that holds it. */
struct lock_seen {
	char *name;
	size_t target;
};

static int cmp_seen(const void *pa, const void *pb)
{
	const struct lock_seen *a = pa, *b = pb;
	int c = strcmp(a->name, b->name);

	if (c)
		return c;
	return a->target < b->target ? -1 : a->target > b->target;
}

/* Every (name, target) pair under locks/, sorted by name, then target. */
static int list_all(struct lock_seen **out, size_t *n_out,
		    struct target **targets, size_t n)
{
	struct lock_seen *seen = NULL, *grown;
	size_t n_seen = 0, cap = 0;
	int rc = 0;

	for (size_t t = 0; !rc && t < n; t++) {
		struct rv_strlist names = RV_STRLIST_INIT;

		rc = target_list(targets[t], LOCK_PREFIX, &names);
		if (!rc && names.n > LOCK_LIST_MAX)
			rc = rv_err_set(RV_TOOBIG,
					"target '%s': more than %d files under "
					"'locks/'; remove the ones that are no "
					"locks",
					targets[t]->name, LOCK_LIST_MAX);
		for (size_t i = 0; !rc && i < names.n; i++) {
			if (!is_lock_name(names.items[i])) {
				rv_debug("target '%s': '%.200s' is not a lock "
					 "name; ignored",
					 targets[t]->name, names.items[i]);
				continue;
			}
			if (n_seen == cap) {
				cap = cap ? cap * 2 : 16;
				grown = realloc(seen, cap * sizeof(*seen));
				if (!grown) {
					rc = rv_err_set(RV_NOMEM,
							"out of memory");
					break;
				}
				seen = grown;
			}
			seen[n_seen].name = names.items[i];
			seen[n_seen].target = t;
			names.items[i] = NULL; /* owned by seen now */
			n_seen++;
		}
		for (size_t i = 0; i < names.n; i++)
			free(names.items[i]);
		free(names.items);
	}
	if (rc) {
		for (size_t i = 0; i < n_seen; i++)
			free(seen[i].name);
		free(seen);
		return rc;
	}
	if (n_seen)
		qsort(seen, n_seen, sizeof(*seen), cmp_seen);
	*out = seen;
	*n_out = n_seen;
	return 0;
}

/* Read the lock seen[first..end) names (one name, several targets): from
 * the first target that still has it. 1 when it vanished everywhere. */
static int read_lock(struct store_lock_info *info, struct target **targets,
		     const struct lock_seen *seen, size_t first, size_t end)
{
	struct rv_buf b = RV_BUF_INIT(LOCK_FILE_MAX);
	int rc = 1;

	for (size_t i = first; i < end; i++) {
		struct target *t = targets[seen[i].target];

		rv_buf_reset(&b);
		rc = target_get(t, seen[i].name, &b);
		if (rc == RV_NOTFOUND) {
			rc = 1; /* released between list and read */
			continue;
		}
		memset(info, 0, sizeof(*info));
		copy_text(info->name, sizeof(info->name), seen[i].name);
		copy_text(info->target, sizeof(info->target), t->name);
		if (rc == RV_TOOBIG || (!rc && parse_lock(info, &b))) {
			info->unreadable = 1;
			rc = 0;
		}
		break;
	}
	rv_buf_release(&b);
	return rc;
}

int store_lock_list(struct store_lock_info **out, size_t *n_out,
		    struct target **targets, size_t n, int64_t stale_seconds,
		    int64_t now)
{
	struct lock_seen *seen = NULL;
	struct store_lock_info *infos = NULL;
	size_t n_seen = 0, n_infos = 0;
	char host[256];
	int64_t stale = effective_stale(stale_seconds);
	int rc;

	*out = NULL;
	*n_out = 0;
	this_host(host, sizeof(host));
	rc = list_all(&seen, &n_seen, targets, n);
	if (rc)
		return rc;
	if (n_seen) {
		infos = calloc(n_seen, sizeof(*infos));
		if (!infos) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
	}
	for (size_t i = 0; i < n_seen;) {
		size_t end = i + 1;
		struct store_lock_info *info = &infos[n_infos];

		while (end < n_seen && !strcmp(seen[end].name, seen[i].name))
			end++;
		rc = read_lock(info, targets, seen, i, end);
		if (rc < 0)
			goto done;
		if (rc == 0) {
			if (!info->unreadable)
				info->stale =
				    lock_is_stale(info, stale, now, host);
			n_infos++;
		}
		rc = 0;
		i = end;
	}
	*out = infos;
	*n_out = n_infos;
	infos = NULL;
done:
	for (size_t i = 0; i < n_seen; i++)
		free(seen[i].name);
	free(seen);
	free(infos);
	return rc;
}

int store_lock_remove(struct target **targets, size_t n, const char *name)
{
	struct saved_err first;
	int rc = 0;

	if (!is_lock_name(name))
		return rv_err_set(RV_INVALID,
				  "'%.200s' is not a lock name (want "
				  "'locks/<16 hex>')",
				  name);
	for (size_t i = 0; i < n; i++) {
		int r = target_del(targets[i], name);
		if (r && !rc) {
			rc = r;
			err_save(&first);
		}
	}
	if (rc)
		err_restore(&first);
	return rc;
}

/* ---- one held lock ----------------------------------------------------*/

static char *lock_document(const struct store_lock *l, int64_t refreshed)
{
	json_t *doc = json_pack("{s:s, s:I, s:s, s:s, s:I, s:I, s:i}",
				"command", l->command, "created",
				(json_int_t)l->created, "host", l->host, "kind",
				l->kind, "pid", (json_int_t)l->pid, "refreshed",
				(json_int_t)refreshed, "version", LOCK_VERSION);
	char *text =
	    doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(doc);
	if (!text)
		rv_err_set(RV_NOMEM, "out of memory");
	return text;
}

/* Put the lock file on every target; *written says on how many it went. */
static int put_all(size_t *written, struct store_lock *l, int64_t refreshed)
{
	char *text = lock_document(l, refreshed);
	int rc = 0;

	*written = 0;
	if (!text)
		return RV_NOMEM;
	for (size_t i = 0; !rc && i < l->n; i++) {
		rc = target_put_buf(l->targets[i], l->name, text, strlen(text));
		if (!rc)
			(*written)++;
	}
	free(text);
	return rc;
}

/* Delete our file from targets[0..upto); failures are warned about and
 * leave the thread's error as it was. */
static void delete_ours(struct store_lock *l, size_t upto)
{
	struct saved_err saved;

	err_save(&saved);
	for (size_t i = 0; i < upto; i++)
		if (target_del(l->targets[i], l->name))
			rv_warn("cannot remove lock '%s' from target '%s': "
				"%s; it goes stale by itself ('regvault "
				"unlock' removes it)",
				l->name, l->targets[i]->name, rv_err_msg());
	err_restore(&saved);
}

static void lock_free(struct store_lock *l)
{
	if (!l)
		return;
	if (l->sync_ready) {
		pthread_cond_destroy(&l->cond);
		pthread_mutex_destroy(&l->mu);
	}
	for (size_t i = 0; i < l->n; i++)
		target_free(l->targets[i]);
	free(l->targets);
	free(l);
}

static void refresh_once(struct store_lock *l)
{
	int64_t now;

	if (rv_now(&now)) {
		rv_warn("cannot refresh lock '%s': %s", l->name, rv_err_msg());
		return;
	}
	/* a target that fails does not stop the others being refreshed */
	for (size_t i = 0; i < l->n; i++) {
		char *text = lock_document(l, now);
		int rc = text ? target_put_buf(l->targets[i], l->name, text,
					       strlen(text))
			      : RV_NOMEM;
		free(text);
		if (rc)
			rv_warn("cannot refresh lock '%s' on target '%s': %s",
				l->name, l->targets[i]->name, rv_err_msg());
	}
}

static void *refresh_main(void *arg)
{
	struct store_lock *l = arg;

	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		struct timespec next;
		int r = 0;

		clock_gettime(CLOCK_MONOTONIC, &next);
		next.tv_sec += (time_t)l->refresh_seconds;
		while (!l->stop && r != ETIMEDOUT)
			r = pthread_cond_timedwait(&l->cond, &l->mu, &next);
		if (l->stop)
			break;
		pthread_mutex_unlock(&l->mu);
		refresh_once(l);
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static int start_refresh(struct store_lock *l)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int e;

	if (pthread_condattr_init(&ca))
		return rv_err_set(RV_NOMEM, "out of memory");
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	e = pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (e)
		return rv_err_errno(RV_NOMEM, e,
				    "cannot start the lock's "
				    "refresh thread");
	if ((e = pthread_mutex_init(&l->mu, NULL))) {
		pthread_cond_destroy(&l->cond);
		return rv_err_errno(RV_NOMEM, e,
				    "cannot start the lock's "
				    "refresh thread");
	}
	l->sync_ready = 1;
	/* signals are for the thread that runs the command */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&l->thread, NULL, refresh_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e)
		return rv_err_errno(RV_NOMEM, e,
				    "cannot start the lock's "
				    "refresh thread");
	l->thread_started = 1;
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static unsigned random_below(unsigned n)
{
	unsigned r = 0;

	if (!n)
		return 0;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (unsigned)getpid() ^ (unsigned)mono_ms();
	return r % n;
}

/* Does a (readable, live, not ours) lock keep us out? */
static int conflicts(const struct store_lock *l,
		     const struct store_lock_info *in)
{
	if (in->unreadable || in->stale || !strcmp(in->name, l->name))
		return 0;
	return !strcmp(l->kind, "exclusive") || !strcmp(in->kind, "exclusive");
}

/* Warn once per run about each lock that is skipped as stale or
 * unreadable. */
static void warn_skipped(struct rv_strlist *warned,
			 const struct store_lock_info *in, int64_t stale,
			 int64_t now)
{
	char age[48];

	if (!in->stale && !in->unreadable)
		return;
	if (rv_strlist_has(warned, in->name) ||
	    rv_strlist_add(warned, in->name))
		return;
	if (in->unreadable) {
		rv_warn("ignoring '%s' on target '%s': not a lock file; "
			"'regvault unlock' removes it",
			in->name, in->target);
		return;
	}
	rv_human_age(age, sizeof(age), (long long)now - in->refreshed);
	rv_warn("ignoring stale lock '%s' (%s on host '%s', pid %lld, "
		"refreshed %s: %s); 'regvault unlock' removes it",
		in->name, in->command, in->host, (long long)in->pid, age,
		now - in->refreshed > stale ? "not refreshed in time"
					    : "no such process on this host");
}

static void describe(char *buf, size_t size, const struct store_lock_info *in,
		     int64_t now)
{
	char age[48];

	rv_human_age(age, sizeof(age), (long long)now - in->refreshed);
	snprintf(buf, size,
		 "'%s' on host '%s' (pid %lld, %s lock '%s' on target '%s', "
		 "refreshed %s)",
		 in->command, in->host, (long long)in->pid, in->kind, in->name,
		 in->target, age);
}

/* One attempt: put ours, look at the others. 0 when we hold the lock,
 * 1 when a conflicting lock was found (described in holder; ours removed
 * again), else the error (ours removed again). */
static int try_once(struct store_lock *l, int64_t stale,
		    struct rv_strlist *warned, char *holder, size_t size)
{
	struct store_lock_info *infos = NULL;
	size_t n_infos = 0, written = 0;
	int64_t now;
	int rc, found = 0;

	rc = rv_now(&now);
	if (rc)
		return rc;
	l->created = now;
	rc = put_all(&written, l, now);
	if (!rc)
		rc = store_lock_list(&infos, &n_infos, l->targets, l->n, stale,
				     now);
	if (rc) {
		delete_ours(l, written);
		return rc;
	}
	for (size_t i = 0; i < n_infos; i++) {
		warn_skipped(warned, &infos[i], stale, now);
		if (!found && conflicts(l, &infos[i])) {
			describe(holder, size, &infos[i], now);
			found = 1;
		}
	}
	free(infos);
	if (found)
		delete_ours(l, l->n);
	return found;
}

int store_lock_acquire(struct store_lock **out, struct target **targets,
		       size_t n, const struct store_lock_opts *o)
{
	struct store_lock *l = NULL;
	struct rv_strlist warned = RV_STRLIST_INIT;
	char holder[LOCK_HOLDER_MAX];
	unsigned char id[LOCK_ID_HEX / 2];
	int64_t stale = effective_stale(o->stale_seconds);
	int64_t start, wait_ms;
	int rc;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l) {
		for (size_t i = 0; i < n; i++)
			target_free(targets[i]);
		free(targets);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	l->targets = targets;
	l->n = n;
	if (!n || !o->command || !*o->command ||
	    (o->kind != STORE_LOCK_SHARED && o->kind != STORE_LOCK_EXCLUSIVE) ||
	    o->wait_seconds < 0 || o->stale_seconds < 0 ||
	    o->refresh_seconds < 0 ||
	    (o->refresh_seconds > 0 && o->refresh_seconds * 2 >= stale)) {
		rc = rv_err_set(RV_INVALID,
				"bad lock options: want targets, a command, "
				"and a refresh interval under half the stale "
				"time (%lld s)",
				(long long)stale);
		goto fail;
	}
	/* the default refresh keeps a live lock well clear of staleness */
	l->refresh_seconds = o->refresh_seconds;
	if (!l->refresh_seconds) {
		l->refresh_seconds = stale / 3 < LOCK_REFRESH_DEFAULT
					 ? stale / 3
					 : LOCK_REFRESH_DEFAULT;
		if (l->refresh_seconds < 1)
			l->refresh_seconds = 1;
	}
	l->kind = o->kind == STORE_LOCK_EXCLUSIVE ? "exclusive" : "shared";
	copy_text(l->command, sizeof(l->command), o->command);
	this_host(l->host, sizeof(l->host));
	l->pid = (int64_t)getpid();
	if (RAND_bytes(id, sizeof(id)) != 1) {
		rc = rv_err_set(RV_ERROR, "cannot make a lock id: the random "
					  "generator failed");
		goto fail;
	}
	memcpy(l->name, LOCK_PREFIX, LOCK_PREFIX_LEN);
	for (size_t i = 0; i < sizeof(id); i++)
		snprintf(l->name + LOCK_PREFIX_LEN + 2 * i, 3, "%02x", id[i]);

	wait_ms = o->wait_seconds > INT64_MAX / 2000 ? INT64_MAX / 2
						     : o->wait_seconds * 1000;
	start = mono_ms();
	for (int attempt = 0;; attempt++) {
		int64_t left;

		rc = try_once(l, stale, &warned, holder, sizeof(holder));
		if (rc <= 0)
			break;
		left = wait_ms - (mono_ms() - start);
		if (left <= 0) {
			char waited[64] = "";

			if (o->wait_seconds)
				snprintf(waited, sizeof(waited),
					 " (still, after waiting %lld s)",
					 (long long)o->wait_seconds);
			rc = rv_err_set(
			    RV_LOCKED,
			    "the store is locked by %s%s; try again when it "
			    "has finished%s (if that run is gone, 'regvault "
			    "unlock --all' removes its lock)",
			    holder, waited,
			    o->wait_seconds ? ""
					    : " or set locks.wait_seconds to "
					      "wait for it");
			break;
		}
		if (!attempt)
			rv_info("waiting up to %lld s for the store: locked by "
				"%s",
				(long long)o->wait_seconds, holder);
		{
			int64_t pause =
			    LOCK_RETRY_MS + random_below(LOCK_RETRY_MS);
			sleep_ms(pause < left ? pause : left);
		}
	}
	if (rc)
		goto fail;
	rc = start_refresh(l);
	if (rc) {
		delete_ours(l, l->n);
		goto fail;
	}
	rv_debug("took the %s lock '%s' on %zu target(s)", l->kind, l->name,
		 l->n);
	rv_strlist_release(&warned);
	*out = l;
	return 0;
fail:
	rv_strlist_release(&warned);
	lock_free(l);
	return rc;
}

void store_lock_release(struct store_lock *l)
{
	struct saved_err saved;

	if (!l)
		return;
	if (l->thread_started) {
		pthread_mutex_lock(&l->mu);
		l->stop = 1;
		pthread_cond_signal(&l->cond);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
	}
	err_save(&saved);
	delete_ours(l, l->n);
	err_restore(&saved);
	lock_free(l);
}

const char *store_lock_name(const struct store_lock *l)
{
	return l->name;
}
