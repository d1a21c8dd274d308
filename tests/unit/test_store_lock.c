/* test_store_lock.c - locks on the targets: shared and exclusive,
 * staleness by age and by a dead process, waiting, refreshing, listing
 * and removing, on two dir targets in a temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/lock.h"
#include "store/target.h"
#include "util/buf.h"
#include "util/err.h"

#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_TARGETS 2

struct fixture {
	char root[64];
	char path[N_TARGETS][128];
	char host[256];
};

static int rm_cb(const char *p, const struct stat *sb, int flag,
		 struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/rv-lock-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	for (int i = 0; i < N_TARGETS; i++)
		snprintf(f->path[i], sizeof(f->path[i]), "%s/t%d", f->root,
			 i + 1);
	if (gethostname(f->host, sizeof(f->host)) < 0)
		return -1;
	f->host[sizeof(f->host) - 1] = '\0';
	unsetenv("REGVAULT_TEST_NOW");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* A fresh set of handles on the two targets (a lock takes ownership). */
static struct target **open_set(struct fixture *f)
{
	struct target **ts = calloc(N_TARGETS, sizeof(*ts));

	assert_non_null(ts);
	for (int i = 0; i < N_TARGETS; i++) {
		char name[8];
		snprintf(name, sizeof(name), "t%d", i + 1);
		assert_int_equal(target_dir_open(&ts[i], name, f->path[i], 1),
				 0);
	}
	return ts;
}

static void free_set(struct target **ts)
{
	for (int i = 0; i < N_TARGETS; i++)
		target_free(ts[i]);
	free(ts);
}

static int take(struct store_lock **out, struct fixture *f,
		enum store_lock_kind kind, const char *command,
		int64_t wait_seconds)
{
	struct store_lock_opts o;

	memset(&o, 0, sizeof(o));
	o.kind = kind;
	o.command = command;
	o.wait_seconds = wait_seconds;
	return store_lock_acquire(out, open_set(f), N_TARGETS, &o);
}

static int file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* 1 when target i (0-based) holds the file name. */
static int on_target(struct fixture *f, int i, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", f->path[i], name);
	return file_exists(path);
}

static void write_file(struct fixture *f, int i, const char *name,
		       const char *text)
{
	struct target *t = NULL;

	assert_int_equal(target_dir_open(&t, "hand", f->path[i], 1), 0);
	assert_int_equal(target_put_buf(t, name, text, strlen(text)), 0);
	target_free(t);
}

/* A lock document written by hand, as another run would. */
static void write_lock(struct fixture *f, int i, const char *name,
		       const char *kind, const char *command, const char *host,
		       long long pid, long long refreshed)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "{\"command\":\"%s\",\"created\":%lld,\"host\":\"%s\","
		 "\"kind\":\"%s\",\"pid\":%lld,\"refreshed\":%lld,"
		 "\"version\":1}",
		 command, refreshed - 60, host, kind, pid, refreshed);
	write_file(f, i, name, text);
}

static int list(struct store_lock_info **out, size_t *n, struct fixture *f,
		int64_t stale_seconds)
{
	struct target **ts = open_set(f);
	int rc = store_lock_list(out, n, ts, N_TARGETS, stale_seconds,
				 (int64_t)time(NULL));
	free_set(ts);
	return rc;
}

static const struct store_lock_info *
find_info(const struct store_lock_info *infos, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(infos[i].name, name))
			return &infos[i];
	return NULL;
}

static void test_lock_shared_and_shared_coexist(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL, *b = NULL;
	struct store_lock_info *infos = NULL;
	size_t n = 0;

	assert_int_equal(take(&a, f, STORE_LOCK_SHARED, "backup", 0), 0);
	assert_int_equal(take(&b, f, STORE_LOCK_SHARED, "restore", 0), 0);
	assert_string_not_equal(store_lock_name(a), store_lock_name(b));
	for (int i = 0; i < N_TARGETS; i++) {
		assert_true(on_target(f, i, store_lock_name(a)));
		assert_true(on_target(f, i, store_lock_name(b)));
	}
	assert_int_equal(list(&infos, &n, f, 0), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(infos[i].kind, "shared");
		assert_string_equal(infos[i].host, f->host);
		assert_int_equal(infos[i].pid, getpid());
		assert_false(infos[i].stale);
		assert_false(infos[i].unreadable);
		assert_string_equal(infos[i].target, "t1");
	}
	assert_non_null(find_info(infos, n, store_lock_name(a)));
	assert_string_equal(find_info(infos, n, store_lock_name(a))->command,
			    "backup");
	free(infos);
	store_lock_release(a);
	store_lock_release(b);
}

static void test_lock_document_has_the_documented_fields(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL;
	char path[256];
	json_error_t jerr;
	json_t *doc;
	long long now = (long long)time(NULL);

	assert_int_equal(take(&a, f, STORE_LOCK_EXCLUSIVE, "prune", 0), 0);
	assert_int_equal(strlen(store_lock_name(a)), 6 + 16);
	assert_memory_equal(store_lock_name(a), "locks/", 6);
	snprintf(path, sizeof(path), "%s/%s", f->path[1], store_lock_name(a));
	doc = json_load_file(path, 0, &jerr);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")),
			    "exclusive");
	assert_string_equal(json_string_value(json_object_get(doc, "command")),
			    "prune");
	assert_string_equal(json_string_value(json_object_get(doc, "host")),
			    f->host);
	assert_int_equal(json_integer_value(json_object_get(doc, "pid")),
			 getpid());
	assert_int_equal(json_integer_value(json_object_get(doc, "version")),
			 1);
	assert_true(json_integer_value(json_object_get(doc, "created")) >=
		    now - 5);
	assert_true(json_integer_value(json_object_get(doc, "refreshed")) >=
		    json_integer_value(json_object_get(doc, "created")));
	json_decref(doc);
	store_lock_release(a);
}

static void test_lock_exclusive_refused_while_shared_held(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL, *b = NULL;
	struct store_lock_info *infos = NULL;
	size_t n = 0;

	assert_int_equal(take(&a, f, STORE_LOCK_SHARED, "backup", 0), 0);
	assert_int_equal(take(&b, f, STORE_LOCK_EXCLUSIVE, "prune", 0),
			 RV_LOCKED);
	assert_null(b);
	/* the message names the holder: command, host, pid, lock */
	assert_non_null(strstr(rv_err_msg(), "'backup'"));
	assert_non_null(strstr(rv_err_msg(), f->host));
	assert_non_null(strstr(rv_err_msg(), store_lock_name(a)));
	/* the refused attempt took its own file away again */
	assert_int_equal(list(&infos, &n, f, 0), 0);
	assert_int_equal(n, 1);
	assert_string_equal(infos[0].name, store_lock_name(a));
	free(infos);
	store_lock_release(a);
	/* and once the shared lock is gone, prune gets in */
	assert_int_equal(take(&b, f, STORE_LOCK_EXCLUSIVE, "prune", 0), 0);
	store_lock_release(b);
}

static void test_lock_shared_refused_while_exclusive_held(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL, *b = NULL;

	assert_int_equal(take(&a, f, STORE_LOCK_EXCLUSIVE, "prune", 0), 0);
	assert_int_equal(take(&b, f, STORE_LOCK_SHARED, "backup", 0),
			 RV_LOCKED);
	assert_non_null(strstr(rv_err_msg(), "'prune'"));
	assert_non_null(strstr(rv_err_msg(), "exclusive"));
	store_lock_release(a);
}

static void test_lock_exclusive_refused_while_exclusive_held(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL, *b = NULL;

	assert_int_equal(take(&a, f, STORE_LOCK_EXCLUSIVE, "prune", 0), 0);
	assert_int_equal(take(&b, f, STORE_LOCK_EXCLUSIVE, "prune", 0),
			 RV_LOCKED);
	assert_null(b);
	store_lock_release(a);
}

static void test_lock_stale_by_age_does_not_conflict(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL;
	struct store_lock_info *infos = NULL;
	size_t n = 0;
	long long now = (long long)time(NULL);

	/* another host's exclusive lock, not refreshed for 2 h */
	write_lock(f, 0, "locks/00000000000000aa", "exclusive", "prune",
		   "old-host", 4242, now - 7200);
	assert_int_equal(list(&infos, &n, f, 0), 0);
	assert_int_equal(n, 1);
	assert_true(infos[0].stale);
	assert_false(infos[0].unreadable);
	assert_string_equal(infos[0].host, "old-host");
	assert_int_equal(infos[0].pid, 4242);
	assert_int_equal(infos[0].refreshed, now - 7200);
	free(infos);
	assert_int_equal(take(&a, f, STORE_LOCK_EXCLUSIVE, "prune", 0), 0);
	/* stale locks are left for unlock, not removed by others */
	assert_true(on_target(f, 0, "locks/00000000000000aa"));
	store_lock_release(a);
}

static void test_lock_stale_seconds_sets_the_age_limit(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL;
	struct store_lock_info *infos = NULL;
	struct store_lock_opts o;
	size_t n = 0;
	long long now = (long long)time(NULL);

	write_lock(f, 0, "locks/00000000000000ab", "exclusive", "prune",
		   "old-host", 4242, now - 120);
	/* 2 min old: fresh by the default (30 min), stale by 60 s */
	assert_int_equal(list(&infos, &n, f, 0), 0);
	assert_int_equal(n, 1);
	assert_false(infos[0].stale);
	free(infos);
	assert_int_equal(list(&infos, &n, f, 60), 0);
	assert_true(infos[0].stale);
	free(infos);
	assert_int_equal(take(&a, f, STORE_LOCK_SHARED, "backup", 0),
			 RV_LOCKED);
	memset(&o, 0, sizeof(o));
	o.kind = STORE_LOCK_SHARED;
	o.command = "backup";
	o.stale_seconds = 60;
	assert_int_equal(store_lock_acquire(&a, open_set(f), N_TARGETS, &o), 0);
	store_lock_release(a);
}

static void test_lock_dead_pid_on_this_host_is_stale(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL;
	struct store_lock_info *infos = NULL;
	size_t n = 0;
	pid_t child = fork();

	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	/* fresh, but the process that wrote it on this host is gone */
	write_lock(f, 1, "locks/00000000000000ac", "exclusive", "prune",
		   f->host, (long long)child, (long long)time(NULL));
	assert_int_equal(list(&infos, &n, f, 0), 0);
	assert_int_equal(n, 1);
	assert_true(infos[0].stale);
	assert_string_equal(infos[0].target, "t2");
	free(infos);
	assert_int_equal(take(&a, f, STORE_LOCK_EXCLUSIVE, "prune", 0), 0);
	store_lock_release(a);
}

static void test_lock_other_host_fresh_conflicts(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL;
	struct store_lock_info *infos = NULL;
	size_t n = 0;
	pid_t child = fork();

	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	/* a dead pid means nothing for a lock from another host */
	write_lock(f, 0, "locks/00000000000000ad", "exclusive", "prune",
		   "far-away-host", (long long)child, (long long)time(NULL));
	assert_int_equal(list(&infos, &n, f, 0), 0);
	assert_int_equal(n, 1);
	assert_false(infos[0].stale);
	free(infos);
	assert_int_equal(take(&a, f, STORE_LOCK_SHARED, "backup", 0),
			 RV_LOCKED);
	assert_non_null(strstr(rv_err_msg(), "far-away-host"));
	assert_non_null(strstr(rv_err_msg(), "locks/00000000000000ad"));
}

struct release_later {
	struct store_lock *l;
	unsigned delay_ms;
};

static void *release_after(void *arg)
{
	struct release_later *r = arg;
	struct timespec ts = {r->delay_ms / 1000,
			      (long)(r->delay_ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
	store_lock_release(r->l);
	return NULL;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_lock_wait_succeeds_once_released(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL, *b = NULL;
	struct release_later r;
	struct timespec t0;
	pthread_t th;
	double took;

	assert_int_equal(take(&a, f, STORE_LOCK_EXCLUSIVE, "prune", 0), 0);
	r.l = a;
	r.delay_ms = 1000;
	assert_int_equal(pthread_create(&th, NULL, release_after, &r), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(take(&b, f, STORE_LOCK_SHARED, "backup", 20), 0);
	took = seconds_since(&t0);
	pthread_join(th, NULL);
	assert_true(took >= 0.9);
	assert_true(took < 10.0);
	assert_true(on_target(f, 0, store_lock_name(b)));
	store_lock_release(b);
}

static void test_lock_wait_runs_out(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL, *b = NULL;
	struct timespec t0;
	double took;

	assert_int_equal(take(&a, f, STORE_LOCK_SHARED, "backup", 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(take(&b, f, STORE_LOCK_EXCLUSIVE, "prune", 2),
			 RV_LOCKED);
	took = seconds_since(&t0);
	assert_true(took >= 1.9);
	assert_true(took < 6.0);
	assert_non_null(strstr(rv_err_msg(), "after waiting 2 s"));
	store_lock_release(a);
}

static void test_lock_release_deletes_the_file(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL;
	char name[32];

	assert_int_equal(take(&a, f, STORE_LOCK_SHARED, "verify", 0), 0);
	snprintf(name, sizeof(name), "%s", store_lock_name(a));
	assert_true(on_target(f, 0, name));
	assert_true(on_target(f, 1, name));
	store_lock_release(a);
	assert_false(on_target(f, 0, name));
	assert_false(on_target(f, 1, name));
	store_lock_release(NULL);
}

static long long field_of(struct fixture *f, const char *name, const char *key)
{
	char path[256];
	json_error_t jerr;
	json_t *doc;
	long long v;

	snprintf(path, sizeof(path), "%s/%s", f->path[0], name);
	doc = json_load_file(path, 0, &jerr);
	assert_non_null(doc);
	v = (long long)json_integer_value(json_object_get(doc, key));
	json_decref(doc);
	return v;
}

static void test_lock_refresh_thread_rewrites_refreshed(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL;
	struct store_lock_opts o;
	struct timespec pause = {2, 500000000};
	long long created, refreshed;

	/* the real clock: a frozen one would refresh to the same time */
	unsetenv("REGVAULT_TEST_NOW");
	memset(&o, 0, sizeof(o));
	o.kind = STORE_LOCK_SHARED;
	o.command = "backup";
	o.refresh_seconds = 1;
	assert_int_equal(store_lock_acquire(&a, open_set(f), N_TARGETS, &o), 0);
	created = field_of(f, store_lock_name(a), "created");
	assert_int_equal(field_of(f, store_lock_name(a), "refreshed"), created);
	nanosleep(&pause, NULL);
	refreshed = field_of(f, store_lock_name(a), "refreshed");
	assert_true(refreshed > created);
	assert_int_equal(field_of(f, store_lock_name(a), "created"), created);
	store_lock_release(a);
}

static void test_lock_refresh_must_be_under_half_stale(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL;
	struct store_lock_opts o;

	memset(&o, 0, sizeof(o));
	o.kind = STORE_LOCK_SHARED;
	o.command = "backup";
	o.stale_seconds = 60;
	o.refresh_seconds = 30;
	/* the targets are the lock's even on failure (valgrind: no leak) */
	assert_int_equal(store_lock_acquire(&a, open_set(f), N_TARGETS, &o),
			 RV_INVALID);
	assert_null(a);
	assert_false(on_target(f, 0, "locks")); /* nothing was written */
}

static void test_lock_unreadable_file_is_listed_and_ignored(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL;
	struct store_lock_info *infos = NULL;
	struct target **ts;
	size_t n = 0;

	write_file(f, 0, "locks/00000000000000ae", "this is not json {");
	write_file(f, 1, "locks/00000000000000af",
		   "{\"kind\":\"exclusive\",\"host\":\"h\"}");
	assert_int_equal(list(&infos, &n, f, 0), 0);
	assert_int_equal(n, 2);
	assert_true(infos[0].unreadable);
	assert_false(infos[0].stale);
	assert_string_equal(infos[0].name, "locks/00000000000000ae");
	assert_true(infos[1].unreadable);
	assert_string_equal(infos[1].target, "t2");
	free(infos);
	/* neither keeps an exclusive lock out */
	assert_int_equal(take(&a, f, STORE_LOCK_EXCLUSIVE, "prune", 0), 0);
	store_lock_release(a);
	ts = open_set(f);
	assert_int_equal(
	    store_lock_remove(ts, N_TARGETS, "locks/00000000000000ae"), 0);
	free_set(ts);
	assert_false(on_target(f, 0, "locks/00000000000000ae"));
}

static void test_lock_list_merges_targets_and_remove_deletes(void **state)
{
	struct fixture *f = *state;
	struct store_lock_info *infos = NULL;
	struct target **ts;
	size_t n = 0;
	long long now = (long long)time(NULL);

	/* one lock on both targets, one only on the second, and a file
	 * under locks/ that is no lock name (not listed) */
	write_lock(f, 0, "locks/00000000000000b2", "shared", "backup", "h1", 10,
		   now);
	write_lock(f, 1, "locks/00000000000000b2", "shared", "backup", "h1", 10,
		   now);
	write_lock(f, 1, "locks/00000000000000b1", "exclusive", "prune", "h2",
		   11, now - 30);
	write_file(f, 0, "locks/README", "not a lock");
	assert_int_equal(list(&infos, &n, f, 0), 0);
	assert_int_equal(n, 2);
	assert_string_equal(infos[0].name, "locks/00000000000000b1");
	assert_string_equal(infos[0].kind, "exclusive");
	assert_string_equal(infos[0].command, "prune");
	assert_string_equal(infos[0].host, "h2");
	assert_string_equal(infos[0].target, "t2");
	assert_int_equal(infos[0].refreshed, now - 30);
	assert_int_equal(infos[0].created, now - 90);
	assert_string_equal(infos[1].name, "locks/00000000000000b2");
	assert_string_equal(infos[1].target, "t1");
	free(infos);

	ts = open_set(f);
	assert_int_equal(
	    store_lock_remove(ts, N_TARGETS, "locks/00000000000000b2"), 0);
	/* absent is not an error */
	assert_int_equal(
	    store_lock_remove(ts, N_TARGETS, "locks/00000000000000b2"), 0);
	assert_int_equal(store_lock_remove(ts, N_TARGETS, "locks/README"),
			 RV_INVALID);
	assert_int_equal(store_lock_remove(ts, N_TARGETS, "packs/../x"),
			 RV_INVALID);
	free_set(ts);
	assert_false(on_target(f, 0, "locks/00000000000000b2"));
	assert_false(on_target(f, 1, "locks/00000000000000b2"));
	assert_true(on_target(f, 1, "locks/00000000000000b1"));
	assert_true(on_target(f, 0, "locks/README"));
	assert_int_equal(list(&infos, &n, f, 0), 0);
	assert_int_equal(n, 1);
	free(infos);
}

static void test_lock_list_of_empty_store_is_empty(void **state)
{
	struct fixture *f = *state;
	struct store_lock_info *infos = NULL;
	size_t n = 7;

	assert_int_equal(list(&infos, &n, f, 0), 0);
	assert_int_equal(n, 0);
	free(infos);
}

static void test_lock_unwritable_target_fails_and_cleans_up(void **state)
{
	struct fixture *f = *state;
	struct store_lock *a = NULL;
	struct store_lock_info *infos = NULL;
	size_t n = 0;
	char path[256];
	FILE *fp;
	int rc;

	/* on the second target, "locks" is a file: no lock can go there */
	assert_int_equal(mkdir(f->path[1], 0700), 0);
	snprintf(path, sizeof(path), "%s/locks", f->path[1]);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	rc = take(&a, f, STORE_LOCK_SHARED, "backup", 0);
	assert_true(rc < 0);
	assert_int_not_equal(rc, RV_LOCKED);
	assert_null(a);
	assert_non_null(strstr(rv_err_msg(), "t2"));
	/* what went to the first target was taken away again */
	assert_int_equal(list(&infos, &n, f, 0), 0);
	assert_int_equal(n, 0);
	free(infos);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_lock_shared_and_shared_coexist,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_lock_document_has_the_documented_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_lock_exclusive_refused_while_shared_held, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_lock_shared_refused_while_exclusive_held, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_lock_exclusive_refused_while_exclusive_held, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_lock_stale_by_age_does_not_conflict, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_lock_stale_seconds_sets_the_age_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_lock_dead_pid_on_this_host_is_stale, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_lock_other_host_fresh_conflicts, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_lock_wait_succeeds_once_released, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lock_wait_runs_out, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_lock_release_deletes_the_file,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_lock_refresh_thread_rewrites_refreshed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_lock_refresh_must_be_under_half_stale, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_lock_unreadable_file_is_listed_and_ignored, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_lock_list_merges_targets_and_remove_deletes, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_lock_list_of_empty_store_is_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_lock_unwritable_target_fails_and_cleans_up, setup,
		teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
