/* metrics.h - after every job: a Prometheus text file for node_exporter's
 * textfile collector, and a webhook (the config's `metrics:` section;
 * docs/OPERATIONS.md, "Metrics and alerts").
 *
 * A job is a backup, verify, drill, prune, restore or forget --prune (not
 * a --dry-run, not `verify --history`), run directly (main.c) or by
 * `schedule run-due` / `daemon` (cmd_schedule.c). When it ends, its state
 * (when, how long, exit code, the figures of its JSON result) is merged
 * into the state the catalog keeps of every job kind and scope (meta key
 * "metrics_state"), and the whole file is rendered again from that state
 * and the catalog's packs, so a backup never erases the last verify's
 * samples. The file is written atomically (util/fs.h, mode 0644). Nothing
 * here changes a job's exit code: a file, catalog or webhook failure is a
 * warning on stderr, and no secret (the webhook's header, the URL's
 * userinfo, path or query) is ever printed.
 */
#ifndef CLI_METRICS_H
#define CLI_METRICS_H

#include <stdint.h>

struct app;
struct command;
struct config;
typedef struct json_t json_t;

/* A command line seen as a job: its kind and the label that scopes it
 * ("source" for backup and forget, "target" for verify, "registry" for
 * drill and restore, none for prune) with its value ("all" when a backup,
 * forget or verify covers everything). */
struct cli_job {
	char kind[16];
	const char *label; /* static; NULL: no scope label */
	char scope[256];   /* printable UTF-8 */
	int json;	   /* the command line asks for --json */
	int64_t started;   /* unix seconds (util/clock.h) */
	int64_t mono_ms;   /* CLOCK_MONOTONIC at the start */
};

/* Whether argv (argv[0] is the command's name) is a job; global_json is
 * the global --json. Returns 1 and fills *out (its clock started) for a
 * job, 0 for anything else. */
int cli_job_start(struct cli_job *out, int argc, char **argv, int global_json);

/* The job ended with exit_code; result is its JSON output (NULL when it
 * printed none; borrowed). When cfg has a metrics section: update the
 * catalog's state (when cfg->catalog exists), write the text file and
 * call the webhook as configured. Prints warnings only; cannot fail. */
void cli_job_finish(const struct cli_job *job, const struct config *cfg,
		    int exit_code, json_t *result);

/* main's call of cmd->run. Runs the command; when it is a job and the
 * config (a->config_path, else $REGVAULT_CONFIG, else the default path)
 * has a metrics section, records it with cli_job_finish. With --json the
 * command's stdout goes to a temporary file while it runs and is then
 * copied to stdout unchanged and parsed as the job's result; without it,
 * the command writes its JSON result to a->result (a memory stream) as
 * well as its text (cli_result_file). Returns the command's exit code. */
int cli_run_command(const struct command *cmd, struct app *a, int argc,
		    char **argv);

#endif
