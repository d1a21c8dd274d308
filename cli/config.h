/* config.h - the YAML configuration file (README.md has the reference).
 *
 * Unknown keys are errors (a typo must not silently disable a setting).
 * Secrets are never stored in the file: passwords come from *_file keys
 * or the environment and are read when needed.
 */
#ifndef CLI_CONFIG_H
#define CLI_CONFIG_H

#include "schedules/retention.h"
#include "util/strlist.h"

#include <stddef.h>

struct cfg_registry {
	char *name;
	char *url;
	char *username;
	char *password_file;
	char *password_env;
	char *ca_file;
	int insecure;
	char *docker_config; /* path to Docker's config.json (auths,
				credHelpers, credsStore) */
	char *client_cert;   /* mutual TLS: PEM certificate ... */
	char *client_key;    /* ... and its key */
	int max_connections; /* concurrency cap (0: default) */
	int request_budget;  /* requests per run (0: none) */
	int retries;	     /* per request (0: default) */
	int upload_chunk_mb; /* restore: PATCH chunk size (0: default) */
};

struct cfg_source {
	char *registry;
	struct rv_strlist repositories; /* globs; empty: every repository */
	struct rv_strlist exclude;
	struct rv_strlist tags_include; /* POSIX extended regexes, anchored
					   by the user; empty: every tag */
	struct rv_strlist tags_exclude;
	int keep_newest;	       /* per repository, by the image
					  config's created time; 0: all */
	struct rv_strlist platforms;   /* "os/arch[/variant]"; empty: all */
	int referrers;		       /* 1 (default): back up referrers */
};

struct cfg_target {
	char *name;
	char *type; /* "dir" or "s3" */
	char *path; /* dir */
	/* s3 */
	char *endpoint;
	char *bucket;
	char *prefix;
	char *region;
	int path_style;
	char *access_key_id_env;
	char *access_key_id_file;
	char *secret_access_key_env;
	char *secret_access_key_file;
	int object_lock_days;
	char *ca_file;
	int insecure;
	int part_size_mb;
};

/* A schedule (README.md, "Schedules"; docs/SCHEDULES.md). Validated at
 * load: the cron expression parses in its zone, the name is unique, and
 * each job has only its own keys. */
struct sched_cron;
struct cfg_schedule {
	char *name;
	char *cron;	/* the expression as written */
	char *timezone; /* IANA name; NULL: UTC */
	char *job;	/* "backup", "verify", "drill" or "prune" */
	char *source;	/* backup: one source's registry; NULL: all */
	char *level;	/* verify: quick|hash|deep; NULL: verify's default */
	int sample;	/* verify: percent 1-100; drill: tags; -1 unset */
	char *to;	/* drill: registry name or URL (required) */
	int has_retention;	  /* backup: forget by this policy after a
				     successful backup of each source */
	struct sched_keep retention;
	int repack_threshold;	  /* prune: percent 1-100; -1 unset */
	struct sched_cron *parsed; /* cron in its zone, owned */
	unsigned long line;	   /* where it is written (for messages) */
};

/* metrics: { textfile: FILE.prom, webhook: { url, on, header_file,
 * timeout_seconds } } (cli/metrics.h; docs/OPERATIONS.md, "Metrics and
 * alerts"). Both parts are optional; NULL when not configured. */
struct cfg_webhook {
	char *url;	     /* http:// or https:// */
	char *on;	     /* "failure" (the default) or "always" */
	char *header_file;   /* one "Name: value" line, a secret; or NULL */
	int timeout_seconds; /* 1-3600 (default 10) */
};

struct cfg_metrics {
	char *textfile;		    /* "*.prom", written after every job */
	struct cfg_webhook webhook; /* url NULL: no webhook */
};

struct config {
	char *path;
	char *catalog;
	char *passphrase_file;
	char *fingerprint; /* key.fingerprint: the pinned signing key */
	struct cfg_registry *registries;
	size_t n_registries;
	struct cfg_source *sources;
	size_t n_sources;
	struct cfg_target *targets;
	size_t n_targets;
	int quorum; /* write_policy: 0 = all, else { quorum: N } */
	/* locks: { wait_seconds: N, stale_seconds: N } (store/lock.h):
	 * how long a run waits for a conflicting lock (local run lock or a
	 * target lock) before exit 5; 0 = do not wait. stale_seconds: a
	 * target lock not refreshed for this long is stale (0 = default). */
	int lock_wait;
	int lock_stale;
	struct cfg_schedule *schedules; /* in the order written */
	size_t n_schedules;
	struct cfg_metrics metrics; /* metrics: (cli/metrics.h) */
};

/* Load and validate path. RV_NOTFOUND if it does not exist, RV_INVALID
 * with "config 'PATH' line N: ..." for anything wrong in it. */
int cfg_load(struct config **out, const char *path);
/* cfg_load that does not stop at an unknown or repeated key: each such
 * problem (and the one that stopped the load, if any) is added to
 * problems as "config 'PATH' line N: ..."; RV_INVALID (message: the
 * first) when there is any. */
int cfg_load_all(struct config **out, const char *path,
		 struct rv_strlist *problems);
void cfg_free(struct config *c);

/* The registry with this name, or NULL. */
const struct cfg_registry *cfg_registry_find(const struct config *c,
					     const char *name);

/* The store passphrase: $REGVAULT_PASSWORD, else key.passphrase_file
 * (one trailing newline stripped). RV_INVALID when neither is set. The
 * caller wipes and frees *out. */
int cfg_passphrase(char **out, size_t *len, const struct config *c);

/* An s3 target's access key id and secret key, from their _env or _file
 * keys. The caller wipes and frees both. */
int cfg_target_s3_keys(char **key_id, char **secret,
		       const struct cfg_target *t);

/* A registry's password from password_file or password_env (NULL in
 * *out when none is configured). */
int cfg_registry_password(char **out, const struct cfg_registry *r);

#endif
