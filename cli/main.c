/* main.c - global options and the command table. */
#include "cli/cli.h"
#include "cli/metrics.h"

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
    {"init", cmd_init, "init [--json]",
     "create the store on every target and a first key slot"},
    {"backup", cmd_backup, "backup [--source REGISTRY] [--json]",
     "take a snapshot of every source (or one)"},
    {"status", cmd_status, "status [--json]",
     "at a glance: each source's newest snapshot, each schedule's last job, "
     "the last verify and drill, what each target holds, the store's size "
     "and ratios, and what needs attention (a failing or stale schedule, a "
     "damaged target, a source without a snapshot); exit 1 when anything "
     "does. Reads only the config and the catalog"},
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
    {"config", cmd_config, "config check [--json]",
     "check the config file before a run: the file itself (as every command "
     "loads it), the files and variables it names, its repository globs, "
     "each registry's API check, that each target and the catalog's folder "
     "can be written; every problem with its line; exit 0 ready, 2 a "
     "problem in the file, 1 a registry or target problem"},
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

/* ---- --help and --man ----
 *
 * `regvault --help` and the regvault(1) man page (`regvault --man`, run
 * at build time) print the same tables: commands[] above, and the global
 * options, environment, files and exit codes below, each written once. */

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define DEFAULT_CONFIG "/etc/regvault/regvault.yml"
#define SYNOPSIS                                                               \
	"[--config FILE] [-q|--quiet] [-v|--verbose] [--log-format text|json] " \
	"[--json] COMMAND [ARGS]"

struct doc_item {
	const char *name; /* an option, a variable or a file */
	const char *text;
};

static const struct doc_item global_options[] = {
    {"-c, --config FILE",
     "the config file (else $REGVAULT_CONFIG, else " DEFAULT_CONFIG ")"},
    {"-q, --quiet", "print warnings and errors only"},
    {"-v, --verbose", "print debug lines too"},
    {"--log-format text|json",
     "log lines as text (the default) or as one JSON object per line "
     "(time, level, program, msg) for log shippers; json never draws the "
     "progress line"},
    {"--json", "machine-readable output, as the command's own --json"},
    {"-h, --help", "print this help and exit"},
    {"--version", "print the version and exit"},
};

static const struct doc_item environment[] = {
    {"REGVAULT_CONFIG", "the config file when --config is not given"},
    {"REGVAULT_PASSWORD",
     "the store passphrase; wins over key.passphrase_file"},
    {"REGVAULT_NEW_PASSWORD",
     "key add: the passphrase of the new key slot (unless "
     "--passphrase-file)"},
};

static const struct doc_item files[] = {
    {DEFAULT_CONFIG, "the config file when neither --config nor "
		     "$REGVAULT_CONFIG names one (YAML; regvault.example.yml "
		     "in the documentation folder lists every key)"},
    {"CATALOG.lock, CATALOG.staging/",
     "beside the catalog file (the config's 'catalog'): the run lock and "
     "the packs being written"},
};

static const struct {
	int code;
	const char *text;
} exit_codes[] = {
    {EXIT_OK, "ok"},
    {EXIT_FAIL, "failure: network, registry, target or catalog error; the "
		"message says which"},
    {EXIT_USAGE, "usage or config error: unknown command or option, bad "
		 "YAML, unknown key, missing passphrase"},
    {EXIT_KEY, "wrong passphrase or key"},
    {EXIT_INTEGRITY,
     "integrity error: a digest or authentication tag did not match, or "
     "verify or drill found something damaged or missing"},
    {EXIT_LOCKED, "locked by another run: another run holds the catalog's "
		  "lock, or a lock on the targets conflicts"},
};

/* "  NAME  text", the text folded at 79 columns under column `col`. */
static void help_item(FILE *f, const char *name, const char *text, int col)
{
	int at = fprintf(f, "  %s", name);

	if (at > col - 2) {
		fputc('\n', f);
		at = 0;
	}
	while (*text) {
		size_t word = strcspn(text, " ");

		if (at + 1 + (int)word > 79 && at > col) {
			fputc('\n', f);
			at = 0;
		}
		if (at < col)
			at += fprintf(f, "%*s", col - at, "");
		else
			at += fprintf(f, " ");
		at += fprintf(f, "%.*s", (int)word, text);
		text += word;
		text += strspn(text, " ");
	}
	fputc('\n', f);
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: regvault " SYNOPSIS "\n\ncommands:\n");
	for (i = 0; i < ARRAY_LEN(commands); i++)
		fprintf(f, "  %-70s\n      %s\n", commands[i].usage,
			commands[i].summary);
	fprintf(f, "\nglobal options:\n");
	for (i = 0; i < ARRAY_LEN(global_options); i++)
		help_item(f, global_options[i].name, global_options[i].text,
			  25);
	fprintf(f, "\nenvironment:\n");
	for (i = 0; i < ARRAY_LEN(environment); i++)
		help_item(f, environment[i].name, environment[i].text, 25);
	fprintf(f, "\nfiles:\n");
	for (i = 0; i < ARRAY_LEN(files); i++)
		help_item(f, files[i].name, files[i].text, 25);
	fprintf(f, "\nexit codes:\n");
	for (i = 0; i < ARRAY_LEN(exit_codes); i++) {
		char code[16];

		snprintf(code, sizeof(code), "%d", exit_codes[i].code);
		help_item(f, code, exit_codes[i].text, 6);
	}
}

/* len bytes of s as roff text: backslash, hyphen, quotes and a control
 * character ('.' or '\'') at the start of a line escaped. bol: s starts
 * a line. */
static void roff_textn(FILE *f, const char *s, size_t len, int bol)
{
	for (const char *end = s + len; s < end; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		bol = 0;
		switch (*s) {
		case '\\':
			fputs("\\e", f);
			break;
		case '-':
			fputs("\\-", f);
			break;
		case '\'':
			fputs("\\(aq", f);
			break;
		case '"':
			fputs("\\(dq", f);
			break;
		case '\n':
			fputc('\n', f);
			bol = 1;
			break;
		default:
			fputc(*s, f);
			break;
		}
	}
}

static void roff_text(FILE *f, const char *s, int bol)
{
	roff_textn(f, s, strlen(s), bol);
}

/* ".TP", the bold tag, its text. */
static void roff_item(FILE *f, const char *name, const char *text)
{
	fputs(".TP\n\\fB", f);
	roff_text(f, name, 0);
	fputs("\\fR\n", f);
	roff_text(f, text, 1);
	fputc('\n', f);
}

/* A command's usage, one line per form: "catalog ls ... | catalog diff
 * ..." is two forms; "restore (SNAPSHOT | --at TIME) ..." is one. */
static void roff_forms(FILE *f, const struct command *c)
{
	size_t name_len = strlen(c->name);
	const char *form = c->usage, *p = c->usage, *bar;

	for (;;) {
		bar = strstr(p, " | ");
		if (bar && (strncmp(bar + 3, c->name, name_len) ||
			    (bar[3 + name_len] != ' ' && bar[3 + name_len]))) {
			p = bar + 3; /* an alternative inside one form */
			continue;
		}
		fputs(".SY regvault\n", f);
		roff_textn(f, form, bar ? (size_t)(bar - form) : strlen(form),
			   1);
		fputs("\n.YS\n", f);
		if (!bar)
			break;
		form = p = bar + 3;
	}
}

static void man_page(FILE *f)
{
	size_t i;

	fputs(".\\\" regvault(1): made by 'regvault --man' from the tables "
	      "behind 'regvault --help'.\n",
	      f);
	fputs(".TH REGVAULT 1 \"\" \"regvault " REGVAULT_VERSION
	      "\" \"User Commands\"\n",
	      f);
	fputs(".SH NAME\nregvault \\- backup and disaster recovery for "
	      "container registries\n",
	      f);
	fputs(".SH SYNOPSIS\n.SY regvault\n", f);
	roff_text(f, SYNOPSIS, 1);
	fputs("\n.YS\n.SY regvault\n\\-\\-help | \\-\\-version\n.YS\n", f);
	fputs(".SH DESCRIPTION\n"
	      "regvault walks an OCI distribution registry, stores every blob "
	      "and manifest once in compressed, encrypted packs on one or "
	      "more targets (local folders, S3\\-compatible object storage), "
	      "records each snapshot in a SQLite catalog and in a signed seal "
	      "on the targets, and restores a snapshot into any registry "
	      "digest for digest.\n"
	      ".PP\n"
	      "Global options come before the command. The configuration is "
	      "one YAML file (see \\fBFILES\\fR); secrets are never written in "
	      "it, but read from files or the environment.\n",
	      f);
	fputs(".SH COMMANDS\n", f);
	for (i = 0; i < ARRAY_LEN(commands); i++) {
		fputs(".SS \"", f);
		roff_text(f, commands[i].name, 0);
		fputs("\"\n", f);
		fputs(".PD 0\n", f);
		roff_forms(f, &commands[i]);
		fputs(".PD\n", f);
		fputs(".RS 4\n", f);
		roff_text(f, commands[i].summary, 1);
		fputs("\n.RE\n", f);
	}
	fputs(".SH \"GLOBAL OPTIONS\"\n", f);
	for (i = 0; i < ARRAY_LEN(global_options); i++)
		roff_item(f, global_options[i].name, global_options[i].text);
	fputs(".SH ENVIRONMENT\n", f);
	for (i = 0; i < ARRAY_LEN(environment); i++)
		roff_item(f, environment[i].name, environment[i].text);
	fputs(".SH FILES\n", f);
	for (i = 0; i < ARRAY_LEN(files); i++)
		roff_item(f, files[i].name, files[i].text);
	fputs(".SH \"EXIT STATUS\"\n", f);
	for (i = 0; i < ARRAY_LEN(exit_codes); i++) {
		char code[16];

		snprintf(code, sizeof(code), "%d", exit_codes[i].code);
		roff_item(f, code, exit_codes[i].text);
	}
	fputs(".SH \"SEE ALSO\"\n"
	      ".BR crontab (5),\n"
	      ".BR systemd.timer (5),\n"
	      ".BR skopeo (1)\n"
	      ".PP\n"
	      "README.md (the configuration reference), OPERATIONS.md and "
	      "FORMAT.md in the documentation folder, share/doc/regvault "
	      "under the install prefix.\n",
	      f);
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
		} else if (!strcmp(o, "--log-format") ||
			   !strncmp(o, "--log-format=", 13)) {
			const char *f = o[12] == '=' ? o + 13 : NULL;
			if (!f && ++i == argc)
				return cli_usage(NULL,
						 "--log-format needs text or "
						 "json");
			if (!f)
				f = argv[i];
			if (!strcmp(f, "json"))
				rv_log_set_format(RV_LOG_JSON);
			else if (!strcmp(f, "text"))
				rv_log_set_format(RV_LOG_TEXT);
			else
				return cli_usage(NULL,
						 "--log-format is text or "
						 "json, not '%s'",
						 f);
		} else if (!strcmp(o, "--json")) {
			a.json = 1;
		} else if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(o, "--version")) {
			printf("regvault %s\n", REGVAULT_VERSION);
			return EXIT_OK;
		} else if (!strcmp(o, "--man")) {
			/* hidden: the man page, made at build time */
			man_page(stdout);
			return fflush(stdout) || ferror(stdout) ? EXIT_FAIL
								: EXIT_OK;
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
	/* a job (backup, verify, ...) is followed by its metrics */
	code = cli_run_command(cmd, &a, argc - i, argv + i);
	app_close(&a);
	curl_global_cleanup();
	return code;
}
