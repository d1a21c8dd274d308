/* main.c - global options and the command table. */
#include "cli/cli.h"

#include "util/err.h"
#include "util/log.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifndef REGVAULT_VERSION
#define REGVAULT_VERSION "0.1.0"
#endif

static const struct command commands[] = {
    {"init", cmd_init, "init",
     "create the store on every target and a first key slot"},
    {"backup", cmd_backup, "backup [--source REGISTRY] [--json]",
     "take a snapshot of every source (or one)"},
    {"snapshots", cmd_snapshots, "snapshots [--json]",
     "list the snapshots in the catalog"},
    {"restore", cmd_restore,
     "restore (SNAPSHOT | --at TIME) --to REGISTRY [--repo GLOB]... "
     "[--map FROM=TO]... [--tag REPO:TAG]... [--force] [--dry-run] [--json]",
     "replay a snapshot (an id, a unique prefix or 'latest'; or the newest "
     "at or before --at) into a registry, under other names with --map; "
     "tags that differ on the destination are kept unless --force"},
    {"export", cmd_export,
     "export SNAPSHOT --repo REPO[:TAG] (--oci-layout DIR | --oci-archive "
     "FILE) [--json]",
     "write a repository's tags (or one tag) of a snapshot as an OCI image "
     "layout folder or OCI archive, for skopeo and other OCI tools; "
     "foreign layers are left out"},
    {"drill", cmd_drill,
     "drill --to REGISTRY [--snapshot ID|latest] [--repo GLOB]... "
     "[--sample N] [--json] [--report FILE]",
     "restore a snapshot (or N random tags) into a scratch registry, check "
     "every tag and blob there independently, report throughput, RPO and "
     "projected RTO"},
    {"catalog", cmd_catalog,
     "catalog rebuild --from TARGET [--force] [--json] | catalog history "
     "REPO:TAG [--json] | catalog ls SNAPSHOT [REPO] [--json] | catalog "
     "diff A B [--json] | catalog stats [--snapshot SNAPSHOT] [--json] | "
     "catalog find DIGEST [--json] | catalog help",
     "rebuild the catalog from one target and the key; history: what a tag "
     "pointed to in every snapshot, oldest first, marking where it changed; "
     "ls, diff, stats, find: what a snapshot holds, what changed between "
     "two, each repository's logical, unique and shared bytes, who holds a "
     "blob or manifest (catalog only: work with the targets unreachable)"},
    {"repair", cmd_repair, "repair [--dry-run] [--json]",
     "copy what a target lacks or holds damaged from a target whose copy "
     "checks out"},
    {"verify", cmd_verify,
     "verify [--level quick|hash|deep] [--target NAME] [--snapshot ID|latest] "
     "[--sample PERCENT] [--keyless] [--public-key FILE] [--json] "
     "[--report FILE] | verify --history [--json]",
     "check that the snapshots can still be restored (quick: every pack is "
     "there; hash, the default: every pack hashes to its id, no key needed; "
     "deep: every chunk and blob checks out) and say what is at risk and "
     "whether 'regvault repair' can mend it from another target; exit 4 "
     "when anything is damaged"},
    {"key", cmd_key,
     "key add [--passphrase-file FILE] | key list [--json] | key remove ID",
     "manage key slots: another passphrase or key file opens the same "
     "store (the new passphrase comes from $REGVAULT_NEW_PASSWORD or the "
     "file)"},
    {"schedule", cmd_schedule,
     "schedule list [--json] | schedule run-due [--json] | schedule history "
     "[--json] [--limit N]",
     "the schedules in the config: list them with their last and next run; "
     "run-due runs each job whose slot has come since its last run, once "
     "(for a crontab line: * * * * * regvault -q schedule run-due); history "
     "lists the jobs that ran"},
    {"forget", cmd_forget,
     "forget [--source REGISTRY] [--keep-last N] [--keep-hourly N] "
     "[--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N] "
     "[--keep-within DURATION] [--timezone ZONE] [--dry-run] [--prune] "
     "[--json]",
     "remove the snapshots a retention policy does not keep, per source "
     "(restic's rules; --dry-run lists what would be kept and why); their "
     "data stays until prune"},
    {"prune", cmd_prune,
     "prune [--dry-run] [--repack-threshold PERCENT] [--json]",
     "delete the packs no snapshot needs from every target and repack "
     "packs whose unused share exceeds the threshold (default 50); holds "
     "the exclusive lock on the targets"},
    {"unlock", cmd_unlock, "unlock [--all] [--json]",
     "remove stale locks from the targets (a dead process on this host, or "
     "not refreshed for locks.stale_seconds); --all removes every lock"},
    {"daemon", cmd_daemon, "daemon",
     "run the schedules in the foreground (for systemd): each job when due, "
     "one at a time; SIGTERM finishes the current job and exits, a second "
     "SIGTERM abandons it; SIGHUP reloads the config between jobs"},
};

const struct command *cli_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: regvault [--config FILE] [-q|--quiet] [-v|--verbose] "
		"COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-70s\n      %s\n", commands[i].usage,
			commands[i].summary);
	fprintf(f,
		"\nThe config file is --config FILE, else $REGVAULT_CONFIG, "
		"else /etc/regvault/regvault.yml.\n"
		"The store passphrase comes from $REGVAULT_PASSWORD or "
		"key.passphrase_file.\n"
		"Exit codes: 0 ok, 1 failure, 2 usage or config error, 3 wrong "
		"passphrase or key,\n4 integrity error, 5 locked by another "
		"run.\n");
}

int cli_usage(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "regvault: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "\nusage: regvault %s\n", cmd->usage);
	else
		fprintf(stderr, "\n(see 'regvault --help')\n");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct app a;
	const struct command *cmd;
	int i, code;

	memset(&a, 0, sizeof(a));
	a.lock_fd = -1;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "--config") || !strcmp(o, "-c")) {
			if (++i == argc)
				return cli_usage(NULL, "--config needs a file");
			a.config_path = argv[i];
		} else if (!strncmp(o, "--config=", 9)) {
			a.config_path = o + 9;
		} else if (!strcmp(o, "-q") || !strcmp(o, "--quiet")) {
			rv_log_set_level(RV_LOG_WARN);
		} else if (!strcmp(o, "-v") || !strcmp(o, "--verbose")) {
			rv_log_set_level(RV_LOG_DEBUG);
		} else if (!strcmp(o, "--json")) {
			a.json = 1;
		} else if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(o, "--version")) {
			printf("regvault %s\n", REGVAULT_VERSION);
			return EXIT_OK;
		} else {
			return cli_usage(NULL, "unknown option '%s'", o);
		}
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	cmd = cli_command(argv[i]);
	if (!cmd)
		return cli_usage(NULL, "unknown command '%s'", argv[i]);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "regvault: error: cannot initialise libcurl\n");
		return EXIT_FAIL;
	}
	code = cmd->run(&a, argc - i, argv + i);
	app_close(&a);
	curl_global_cleanup();
	return code;
}
