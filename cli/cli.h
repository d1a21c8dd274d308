/* cli.h - what the command files share: the application context, the
 * command table, and the mapping from error codes to exit codes.
 *
 * Exit codes (README.md lists them):
 *   0 success; 1 failure; 2 usage or config error; 3 wrong passphrase or
 *   key; 4 integrity error (a digest or authentication tag did not match);
 *   5 locked by another run.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include "cli/config.h"
#include <stdio.h>
#include "util/strlist.h"

#include <stddef.h>

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_KEY = 3,
	EXIT_INTEGRITY = 4,
	EXIT_LOCKED = 5,
};

struct cat;
struct store;
struct reg;

struct store_lock;

struct app {
	const char *config_path;
	int json;
	struct config *cfg;
	struct cat *cat;
	struct store *store;
	int lock_fd;
	struct store_lock *tlock; /* the lock on the targets, if taken */
	/* dir targets whose folder is missing are made (repair: a target
	 * that was lost is written again); others refuse them */
	int create_targets;
	/* app_open_registry: retries per request for a configured registry
	 * (0: the config's); config check asks for 1, to answer quickly */
	int registry_retries;
	/* metrics (cli/metrics.c): without --json, a job still writes its
	 * JSON result here (cli_result_file), for the figures */
	FILE *result;
};

struct command {
	const char *name;
	int (*run)(struct app *a, int argc, char **argv);
	const char *usage;
	const char *summary;
};

/* The exit code for an rv_code. */
int cli_exit_code(int rc);
/* Print the thread's error message as "regvault: error: ..." and return
 * the exit code for rc. */
int cli_fail(int rc);
/* Print a usage error for cmd and return EXIT_USAGE. */
int cli_usage(const struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const struct command *cli_command(const char *name);

/* Load the config named by a->config_path. */
int app_load_config(struct app *a);
/* The config file a->config_path, else $REGVAULT_CONFIG, else the
 * default path names. */
const char *app_config_path(const struct app *a);
/* The same, collecting every unknown or repeated key (cfg_load_all). */
int app_load_config_all(struct app *a, struct rv_strlist *problems);
/* Take the run lock (a flock on "<catalog>.lock"): RV_LOCKED when another
 * run holds it. */
int app_lock(struct app *a);
/* Take a lock on the targets for this run (store/lock.h): shared
 * (exclusive = 0) or exclusive (exclusive = 1: prune), with a second set of target handles
 * opened from the config for the lock's refresh thread. Waits up to
 * cfg->lock_wait seconds for a conflicting lock, then RV_LOCKED (exit 5)
 * with a message naming the holder. Released by app_close. A read-only
 * command (restore, verify, drill) passes read_only = 1: a target that
 * refuses the lock file (read-only credentials) is then warned about and
 * the run goes on without a lock; RV_LOCKED still stops it. */
int app_lock_targets(struct app *a, int exclusive, const char *command,
		     int read_only);
/* Open the catalog (creating its folder and file when missing) and check
 * it belongs to the opened store, if one is open. */
int app_open_catalog(struct app *a);
/* Under the run lock and a lock on the targets: remove what killed runs
 * left in staging and adopt the packs they put on the targets but never
 * recorded (RV_CORRUPT when the catalog records packs no target has). */
int app_resume(struct app *a);
/* Open every configured target (none created) without unlocking the
 * store: for keyless work. *out is a calloc'd array of n_targets; the
 * caller frees the targets and the array. */
struct target;
int app_open_targets(struct target ***out, const struct config *cfg);
/* Open one configured target (a dir target's folder made when create). */
int app_open_target(struct target **out, const struct cfg_target *t,
		    int create);
/* Open every target and unlock the store with the passphrase. */
int app_open_store(struct app *a);
/* A registry client for a config name or an http(s) URL. */
int app_open_registry(struct reg **out, struct app *a, const char *name_or_url);
void app_close(struct app *a);

int cmd_init(struct app *a, int argc, char **argv);
int cmd_backup(struct app *a, int argc, char **argv);
int cmd_snapshots(struct app *a, int argc, char **argv);
int cmd_restore(struct app *a, int argc, char **argv);
int cmd_catalog(struct app *a, int argc, char **argv);
int cmd_repair(struct app *a, int argc, char **argv);
int cmd_key(struct app *a, int argc, char **argv);
int cmd_verify(struct app *a, int argc, char **argv);
int cmd_drill(struct app *a, int argc, char **argv);
int cmd_schedule(struct app *a, int argc, char **argv);
int cmd_daemon(struct app *a, int argc, char **argv);
int cmd_forget(struct app *a, int argc, char **argv);
int cmd_prune(struct app *a, int argc, char **argv);
int cmd_unlock(struct app *a, int argc, char **argv);
int cmd_export(struct app *a, int argc, char **argv);
int cmd_status(struct app *a, int argc, char **argv);
int cmd_config(struct app *a, int argc, char **argv);

/* One pass of the scheduler (cmd_schedule.c), shared by `schedule
 * run-due` and `daemon`: takes the scheduler lock "<catalog>.schedule.lock"
 * (RV_LOCKED, message set, when another pass holds it), opens the catalog,
 * runs every due job of cfg in order with the same command functions the
 * CLI uses (each with a fresh struct app that reads cfg->path), prints a
 * line per job that ran (unless quiet; with json, a JSON array of them
 * instead), and sets *exit_code to 0 when every job that ran succeeded,
 * else the first failing job's exit code. stop(stop_arg) != 0 ends the
 * pass before the next job (*stopped is set then). Returns 0 or the
 * scheduler's own error (lock, catalog). */
int cli_schedule_pass(int *exit_code, int *stopped, const struct config *cfg,
		      int json, int (*stop)(void *), void *stop_arg);

/* The lists of a struct maint_stats as JSON (NULL on NOMEM) or as
 * "LABEL: what on 'target': why" lines (cli/maint_out.c). */
struct maint_list;
typedef struct json_t json_t;
json_t *cli_maint_items_json(const struct maint_list *l);
void cli_maint_items_print(const char *label, const struct maint_list *l);

/* Print doc as indented JSON on stdout and release it (NULL, a failed
 * json_pack, is RV_NOMEM). */
int cli_print_json(json_t *doc);
/* The same on f (and release it). */
int cli_print_json_to(FILE *f, json_t *doc);
/* Where a command writes its JSON result: stdout with --json, else
 * a->result (metrics are on), else NULL (nowhere). */
FILE *cli_result_file(const struct app *a);

/* RFC 3339 UTC time of a unix timestamp into buf (>= 21 bytes). */
void cli_time(char *buf, size_t size, long long t);

#endif
