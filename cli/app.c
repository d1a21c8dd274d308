#include "cli/cli.h"

#include "catalog/catalog.h"
#include "maint/maint.h"
#include "registry/registry.h"
#include "store/lock.h"
#include "store/store.h"
#include "store/target.h"
#include "store/target_s3.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

int cli_exit_code(int rc)
{
	switch (rc) {
	case RV_OK:
		return EXIT_OK;
	case RV_INVALID:
		return EXIT_USAGE;
	case RV_KEY:
		return EXIT_KEY;
	case RV_CORRUPT:
		return EXIT_INTEGRITY;
	case RV_LOCKED:
		return EXIT_LOCKED;
	default:
		return EXIT_FAIL;
	}
}

int cli_fail(int rc)
{
	const char *msg = rv_err_msg();
	rv_log(RV_LOG_ERROR, "%s", *msg ? msg : rv_code_name(rc));
	return cli_exit_code(rc);
}

int cli_print_json(json_t *doc)
{
	return cli_print_json_to(stdout, doc);
}

FILE *cli_result_file(const struct app *a)
{
	return a->json ? stdout : a->result;
}

int cli_print_json_to(FILE *f, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;

	json_decref(doc);
	if (!text)
		return rv_err_set(RV_NOMEM, "out of memory");
	fprintf(f, "%s\n", text);
	free(text);
	return 0;
}

void cli_time(char *buf, size_t size, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int app_load_config(struct app *a)
{
	return app_load_config_all(a, NULL);
}

const char *app_config_path(const struct app *a)
{
	const char *path = a->config_path;

	if (!path)
		path = getenv("REGVAULT_CONFIG");
	if (!path || !*path)
		path = "/etc/regvault/regvault.yml";
	return path;
}

int app_load_config_all(struct app *a, struct rv_strlist *problems)
{
	int rc = cfg_load_all(&a->cfg, app_config_path(a), problems);
	/* a missing or broken config is a usage error */
	return rc == RV_NOTFOUND ? RV_INVALID : rc;
}

static int catalog_dir(const struct app *a)
{
	char *dir = rv_fs_dirname(a->cfg->catalog);
	int rc;
	if (!dir)
		return rv_err_set(RV_NOMEM, "out of memory");
	rc = rv_fs_mkdirs(dir, 0700);
	free(dir);
	return rc;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int app_lock(struct app *a)
{
	struct rv_buf path = RV_BUF_INIT(8192);
	int64_t deadline = 0;
	int waited = 0;
	int rc = catalog_dir(a);
	if (!rc)
		rc = rv_buf_printf(&path, "%s.lock", a->cfg->catalog);
	if (rc)
		goto done;
	a->lock_fd =
	    open(rv_buf_cstr(&path), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (a->lock_fd < 0) {
		rc =
		    rv_err_errno(RV_IO, errno, "cannot open the lock file '%s'",
				 rv_buf_cstr(&path));
		goto done;
	}
	/* locks.wait_seconds: poll, so that a run started by cron while
	 * the previous one finishes goes ahead instead of failing */
	deadline = mono_ms() + (int64_t)a->cfg->lock_wait * 1000;
	while (flock(a->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK && mono_ms() < deadline) {
			struct timespec pause = {0, 200 * 1000000L};
			if (!waited++)
				rv_info("waiting up to %d s for another "
					"regvault run to release '%s'",
					a->cfg->lock_wait, rv_buf_cstr(&path));
			nanosleep(&pause, NULL);
			continue;
		}
		if (errno == EWOULDBLOCK && a->cfg->lock_wait)
			rc = rv_err_set(RV_LOCKED,
					"another regvault run holds the lock "
					"'%s' (still, after waiting %d s); "
					"wait for it to finish",
					rv_buf_cstr(&path), a->cfg->lock_wait);
		else if (errno == EWOULDBLOCK)
			rc = rv_err_set(RV_LOCKED,
					"another regvault run holds the lock "
					"'%s'; wait for it to finish (or set "
					"locks.wait_seconds)",
					rv_buf_cstr(&path));
		else
			rc = rv_err_errno(RV_IO, errno, "cannot lock '%s'",
					  rv_buf_cstr(&path));
		close(a->lock_fd);
		a->lock_fd = -1;
		break;
	}
done:
	rv_buf_release(&path);
	return rc;
}

int app_open_catalog(struct app *a)
{
	char *bound = NULL;
	int rc = catalog_dir(a);
	if (!rc)
		rc = cat_open(&a->cat, a->cfg->catalog);
	if (rc || !a->store)
		return rc;
	rc = cat_meta_get(&bound, a->cat, "store_id");
	if (rc == RV_NOTFOUND)
		rc = cat_meta_set(a->cat, "store_id", store_id(a->store));
	else if (!rc && strcmp(bound, store_id(a->store)))
		rc = rv_err_set(RV_INVALID,
				"catalog '%s' belongs to store %s, but the "
				"targets hold store %s; point 'catalog' at "
				"another file",
				a->cfg->catalog, bound, store_id(a->store));
	free(bound);
	bound = NULL;
	if (rc || !store_fingerprint(a->store))
		return rc;
	/* the catalog pins the signing key it first saw (as ssh pins host
	 * keys); the config may pin it too (key.fingerprint) */
	rc = cat_meta_get(&bound, a->cat, "fingerprint");
	if (rc == RV_NOTFOUND)
		rc = cat_meta_set(a->cat, "fingerprint",
				  store_fingerprint(a->store));
	else if (!rc && strcmp(bound, store_fingerprint(a->store)))
		rc = rv_err_set(RV_CORRUPT,
				"the store's signing key %s is not the one "
				"catalog '%s' has pinned (%s): the targets "
				"were replaced or regvault.json altered",
				store_fingerprint(a->store), a->cfg->catalog,
				bound);
	free(bound);
	return rc;
}

int app_open_target(struct target **out, const struct cfg_target *t,
		    int create)
{
	struct target_s3_config s3;
	char *key_id = NULL, *secret = NULL;
	int rc;

	if (!strcmp(t->type, "dir"))
		return target_dir_open(out, t->name, t->path, create);
	rc = cfg_target_s3_keys(&key_id, &secret, t);
	if (rc)
		return rc;
	memset(&s3, 0, sizeof(s3));
	s3.name = t->name;
	s3.endpoint = t->endpoint;
	s3.bucket = t->bucket;
	s3.prefix = t->prefix ? t->prefix : "";
	s3.region = t->region;
	s3.path_style = t->path_style;
	s3.access_key_id = key_id;
	s3.secret_access_key = secret;
	s3.object_lock_days = t->object_lock_days;
	s3.ca_file = t->ca_file;
	s3.insecure = t->insecure;
	s3.part_size = (uint64_t)t->part_size_mb << 20;
	rc = target_s3_open(out, &s3);
	if (key_id)
		OPENSSL_cleanse(key_id, strlen(key_id));
	if (secret)
		OPENSSL_cleanse(secret, strlen(secret));
	free(key_id);
	free(secret);
	return rc;
}

static int open_targets(struct target ***out, const struct config *cfg,
			int create);

int app_open_targets(struct target ***out, const struct config *cfg)
{
	return open_targets(out, cfg, 0);
}

static int open_targets(struct target ***out, const struct config *cfg,
			int create)
{
	struct target **ts = calloc(cfg->n_targets, sizeof(*ts));
	int rc = 0;
	if (!ts)
		return rv_err_set(RV_NOMEM, "out of memory");
	for (size_t i = 0; !rc && i < cfg->n_targets; i++)
		rc = app_open_target(&ts[i], &cfg->targets[i], create);
	if (rc) {
		for (size_t i = 0; i < cfg->n_targets; i++)
			target_free(ts[i]);
		free(ts);
		return rc;
	}
	*out = ts;
	return 0;
}

static void free_targets(struct target **ts, size_t n)
{
	if (!ts)
		return;
	for (size_t i = 0; i < n; i++)
		target_free(ts[i]);
	free(ts);
}

/* A read-only run that could not put its lock file still keeps out of
 * an exclusive lock's way: list the locks and refuse while one is live. */
static int check_no_exclusive(struct app *a)
{
	struct target **ts = NULL;
	struct store_lock_info *infos = NULL;
	size_t n = 0;
	int64_t now;
	int rc = rv_now(&now);

	if (!rc)
		rc = open_targets(&ts, a->cfg, a->create_targets);
	if (!rc)
		rc = store_lock_list(&infos, &n, ts, a->cfg->n_targets,
				     a->cfg->lock_stale, now);
	for (size_t i = 0; !rc && i < n; i++) {
		const struct store_lock_info *in = &infos[i];
		if (in->stale || in->unreadable ||
		    strcmp(in->kind, "exclusive"))
			continue;
		rc = rv_err_set(RV_LOCKED,
				"the store is locked by '%s' on host '%s' "
				"(pid %lld, exclusive lock '%s' on target "
				"'%s'); try again when it has finished (if "
				"that run is gone, 'regvault unlock --all' "
				"removes its lock)",
				in->command, in->host, (long long)in->pid,
				in->name, in->target);
	}
	free(infos);
	free_targets(ts, a->cfg->n_targets);
	return rc;
}

int app_lock_targets(struct app *a, int exclusive, const char *command,
		     int read_only)
{
	struct target **ts = NULL;
	struct store_lock_opts o;
	int rc;

	/* a second call (a backup that goes on to forget, say) takes the
	 * new kind: our own shared lock would keep an exclusive one out */
	store_lock_release(a->tlock);
	a->tlock = NULL;
	/* handles of its own: the lock's refresh thread uses them */
	rc = open_targets(&ts, a->cfg, a->create_targets);
	if (rc)
		return rc;
	memset(&o, 0, sizeof(o));
	o.kind = exclusive ? STORE_LOCK_EXCLUSIVE : STORE_LOCK_SHARED;
	o.command = command;
	o.wait_seconds = a->cfg->lock_wait;
	o.stale_seconds = a->cfg->lock_stale;
	rc = store_lock_acquire(&a->tlock, ts, a->cfg->n_targets, &o);
	if (!rc || !read_only || rc == RV_LOCKED || rc == RV_NOMEM ||
	    rc == RV_INVALID || rc == RV_CANCELLED)
		return rc;
	/* read-only credentials may refuse the lock file; reading is
	 * still safe as long as no prune runs */
	rv_warn("cannot put a lock on the targets (%s); %s goes on without "
		"one",
		rv_err_msg(), command);
	rc = check_no_exclusive(a);
	if (rc && rc != RV_LOCKED) {
		rv_warn("cannot list the locks on the targets either (%s); "
			"going on",
			rv_err_msg());
		rc = 0;
	}
	return rc;
}

int cmd_init(struct app *a, int argc, char **argv)
{
	struct target **ts = NULL;
	char *pass = NULL;
	size_t pass_len = 0;
	char id[STORE_ID_HEX];
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			a->json = 1;
		else
			return cli_usage(cli_command("init"),
					 "unexpected argument '%s'", argv[i]);
	}
	rc = app_load_config(a);
	if (!rc)
		rc = app_lock(a);
	if (!rc)
		rc = cfg_passphrase(&pass, &pass_len, a->cfg);
	if (!rc)
		rc = open_targets(&ts, a->cfg, 1);
	if (!rc)
		rc = store_init(ts, a->cfg->n_targets, pass, pass_len, id);
	free_targets(ts, a->cfg ? a->cfg->n_targets : 0);
	ts = NULL;
	if (!rc)
		rc = app_open_store(a);
	if (!rc)
		rc = app_open_catalog(a);
	if (pass) {
		OPENSSL_cleanse(pass, pass_len);
		free(pass);
	}
	if (rc)
		return cli_fail(rc);
	if (a->json)
		printf("{\"store_id\":\"%s\",\"targets\":%zu,"
		       "\"fingerprint\":\"%s\"}\n",
		       id, a->cfg->n_targets, store_fingerprint(a->store));
	else
		printf("initialised store %s on %zu target(s)\n"
		       "signing key fingerprint: %s\n"
		       "pin it in the config so that a swapped store is "
		       "refused:\n  key:\n    fingerprint: %s\n",
		       id, a->cfg->n_targets, store_fingerprint(a->store),
		       store_fingerprint(a->store));
	return EXIT_OK;
}

int app_open_store(struct app *a)
{
	struct target **ts = NULL;
	struct rv_buf staging = RV_BUF_INIT(8192);
	char *pass = NULL;
	size_t pass_len = 0;
	int rc = cfg_passphrase(&pass, &pass_len, a->cfg);
	if (!rc)
		rc = open_targets(&ts, a->cfg, a->create_targets);
	if (!rc)
		rc = rv_buf_printf(&staging, "%s.staging", a->cfg->catalog);
	if (!rc)
		rc = store_open(&a->store, ts, a->cfg->n_targets, pass,
				pass_len, rv_buf_cstr(&staging));
	if (!rc)
		store_set_quorum(a->store, (size_t)a->cfg->quorum);
	if (rc == RV_KEY)
		rv_err_set(RV_KEY,
			   "%s; check REGVAULT_PASSWORD or key.passphrase_file "
			   "(the passphrase given at 'regvault init')",
			   rv_err_msg());

	if (rc && ts)
		free_targets(ts, a->cfg->n_targets);
	else
		free(ts); /* the store owns the targets now */
	if (!rc && a->cfg->fingerprint &&
	    (!store_fingerprint(a->store) ||
	     strcmp(a->cfg->fingerprint, store_fingerprint(a->store))))
		rc = rv_err_set(RV_CORRUPT,
				"the store's signing key %s does not match "
				"key.fingerprint %s in '%s': the targets were "
				"replaced or regvault.json altered",
				store_fingerprint(a->store)
				    ? store_fingerprint(a->store)
				    : "(none: format 1 store)",
				a->cfg->fingerprint, a->cfg->path);
	if (pass) {
		OPENSSL_cleanse(pass, pass_len);
		free(pass);
	}
	rv_buf_release(&staging);
	return rc;
}

int app_open_registry(struct reg **out, struct app *a, const char *name)
{
	const struct cfg_registry *cr = cfg_registry_find(a->cfg, name);
	struct reg_config rc_cfg;
	char *password = NULL;
	int rc;

	memset(&rc_cfg, 0, sizeof(rc_cfg));
	if (!cr) {
		if (strncmp(name, "http://", 7) && strncmp(name, "https://", 8))
			return rv_err_set(RV_INVALID,
					  "'%s' is neither a registry name "
					  "from the config nor an http(s) URL",
					  name);
		rc_cfg.name = name;
		rc_cfg.url = name;
		return reg_new(out, &rc_cfg);
	}
	rc = cfg_registry_password(&password, cr);
	if (rc)
		return rc;
	rc_cfg.name = cr->name;
	rc_cfg.url = cr->url;
	rc_cfg.username = cr->username;
	rc_cfg.password = password;
	rc_cfg.ca_file = cr->ca_file;
	rc_cfg.insecure = cr->insecure;
	rc_cfg.docker_config = cr->docker_config;
	rc_cfg.client_cert = cr->client_cert;
	rc_cfg.client_key = cr->client_key;
	rc_cfg.request_budget = (uint64_t)cr->request_budget;
	rc_cfg.retries = a->registry_retries ? a->registry_retries
					     : cr->retries;
	rc_cfg.upload_chunk = (uint64_t)cr->upload_chunk_mb << 20;
	rc = reg_new(out, &rc_cfg);
	if (password) {
		OPENSSL_cleanse(password, strlen(password));
		free(password);
	}
	return rc;
}

void app_close(struct app *a)
{
	/* the target lock covers the store's last writes, so it goes
	 * after the store and before the local run lock */
	store_free(a->store);
	store_lock_release(a->tlock);
	a->tlock = NULL;
	cat_close(a->cat);
	cfg_free(a->cfg);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	a->store = NULL;
	a->cat = NULL;
	a->cfg = NULL;
	a->lock_fd = -1;
}

int app_resume(struct app *a)
{
	/* we hold the lock: whatever is in staging is a killed run's */
	size_t removed = 0;
	int rc = store_staging_clean(a->store, &removed);

	if (!rc && removed)
		rv_info("removed %zu unfinished file(s) left by an "
			"interrupted run",
			removed);
	if (!rc) {
		/* packs a killed run put on the targets but never recorded:
		 * adopt them rather than fetch their blobs again */
		struct maint_stats ms;
		memset(&ms, 0, sizeof(ms));
		rc = maint_adopt(&ms, a->cat, a->store);
		if (!rc && ms.adopted.n)
			rv_info("adopted %zu pack(s) left by an interrupted "
				"run",
				ms.adopted.n);
		if (!rc && ms.removable.n)
			rv_warn("%zu pack(s) on the targets are unknown and do "
				"not check out; 'regvault repair' lists them",
				ms.removable.n);
		if (!rc && ms.vanished.n)
			rc = rv_err_set(
			    RV_CORRUPT,
			    "%zu pack(s) recorded in the catalog are on no "
			    "target (first: %s): a prune run from another "
			    "host removed them, or the targets lost them; a "
			    "backup now could refer to data that is gone. Run "
			    "'regvault verify' to see what is affected, then "
			    "'regvault catalog rebuild --from TARGET --force'",
			    ms.vanished.n, ms.vanished.items[0].what);
		maint_stats_release(&ms);
	}
	return rc;
}
