/* cmd_verify.c - regvault verify [--level quick|hash|deep] [--target NAME]
 * [--snapshot ID|latest] [--sample PERCENT] [--keyless] [--public-key FILE]
 * [--json] [--report FILE] | verify --history [--json] [--limit N]
 *
 * Only --level deep unlocks the store (it decrypts chunks); quick and hash
 * open the targets with regvault.json's public key alone, after checking
 * it against what the catalog and the config pin. Each run is recorded in
 * the catalog's runs table, which --history lists.
 */
#include "cli/cli.h"

#include "catalog/catalog.h"
#include "restore/verify.h"
#include "store/sign.h"
#include "store/store.h"
#include "store/target.h"
#include "store/target_s3.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"

#include <getopt.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* "damaged, but every damaged copy has a good copy on another target":
 * README.md lists it beside the codes of cli.h. */
/* Damage that another target can heal is still damage: exit 4 as for a
 * loss (the contract); the JSON outcome and the message say
 * "repairable" and what to do. */

static int open_keyless(struct app *a)
{
	struct target **ts = NULL;
	int rc = app_open_targets(&ts, a->cfg);

	if (!rc)
		rc = store_open_keyless(&a->store, ts, a->cfg->n_targets);
	if (rc && ts)
		for (size_t i = 0; i < a->cfg->n_targets; i++)
			target_free(ts[i]);
	free(ts);
	return rc;
}

/* --public-key FILE: the 64-hex public key, or its "sha256:" fingerprint. */
static int read_pinned(char fp[SIGN_FINGERPRINT_MAX], const char *path)
{
	struct rv_buf b = RV_BUF_INIT(4096);
	unsigned char pub[SIGN_KEY_LEN];
	char *text;
	size_t len;
	int rc = rv_fs_read_file(&b, path);

	if (rc) {
		rc = rv_err_set(RV_INVALID, "cannot read --public-key '%s': %s",
				path, rv_err_msg());
		goto done;
	}
	text = (char *)b.data;
	len = b.len;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
		       text[len - 1] == ' '))
		text[--len] = '\0';
	if (len == 64 && !rv_hex_decode(pub, sizeof(pub), text)) {
		sign_fingerprint(fp, pub);
	} else if (len == 71 && !strncmp(text, "sha256:", 7) &&
		   !rv_hex_decode(pub, sizeof(pub), text + 7)) {
		snprintf(fp, SIGN_FINGERPRINT_MAX, "%s", text);
	} else {
		rc = rv_err_set(RV_INVALID,
				"--public-key '%s' holds neither a 64-hex "
				"public key nor a sha256:<hex> fingerprint",
				path);
	}
done:
	rv_buf_release(&b);
	return rc;
}

static int pin_check(const char *store_fp, const char *pinned,
		     const char *where)
{
	if (!pinned || !*pinned)
		return 0;
	if (store_fp && !strcmp(store_fp, pinned))
		return 0;
	return rv_err_set(RV_CORRUPT,
			  "the store's signing key %s does not match %s (%s): "
			  "the targets were replaced or regvault.json altered",
			  store_fp ? store_fp : "(none: format 1 store)",
			  pinned, where);
}

/* The catalog must describe this store and pin this key. */
static int catalog_check(struct app *a, int required)
{
	char *bound = NULL;
	int rc = cat_meta_get(&bound, a->cat, "store_id");

	if (rc == RV_NOTFOUND) {
		free(bound);
		if (!required)
			return 0;
		return rv_err_set(RV_INVALID,
				  "catalog '%s' knows no snapshot of this "
				  "store: run 'regvault backup' or 'regvault "
				  "catalog rebuild', or verify from the seals "
				  "with --keyless",
				  a->cfg->catalog);
	}
	if (!rc && strcmp(bound, store_id(a->store)))
		rc = rv_err_set(RV_INVALID,
				"catalog '%s' belongs to store %s, but the "
				"targets hold store %s",
				a->cfg->catalog, bound, store_id(a->store));
	free(bound);
	bound = NULL;
	if (!rc && store_fingerprint(a->store)) {
		rc = cat_meta_get(&bound, a->cat, "fingerprint");
		if (rc == RV_NOTFOUND)
			rc = 0;
		else if (!rc)
			rc = pin_check(store_fingerprint(a->store), bound,
				       "the key the catalog has pinned");
	}
	free(bound);
	return rc;
}

static int file_exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && sb.st_size > 0;
}

/* A string member of a run's summary, "" when absent. */
static const char *jstr(json_t *sum, const char *key)
{
	const char *v = json_string_value(json_object_get(sum, key));

	return v ? v : "";
}

static int history(struct app *a)
{
	struct cat_run *runs = NULL;
	size_t n = 0;
	int rc = 0;

	if (file_exists(a->cfg->catalog))
		rc = app_open_catalog(a);
	if (!rc && a->cat)
		rc = cat_run_list(&runs, &n, a->cat, NULL, 0);
	if (rc)
		return cli_fail(rc);
	if (a->json) {
		json_t *arr = json_array();
		char *text = NULL;

		for (size_t i = 0; arr && i < n; i++) {
			if (!strcmp(runs[i].kind, "job"))
				continue; /* schedule history lists those */
			char started[32], finished[32];
			json_t *sum = json_loads(runs[i].summary, 0, NULL);
			json_t *o;

			cli_time(started, sizeof(started), runs[i].started);
			cli_time(finished, sizeof(finished), runs[i].finished);
			o = json_pack(
			    "{s:I, s:s, s:s, s:s, s:i, s:s, s:s, s:s, "
			    "s:o}",
			    "id", (json_int_t)runs[i].id, "kind", runs[i].kind,
			    "started", started, "finished", finished,
			    "exit_code", runs[i].exit_code, "level",
			    jstr(sum, "level"), "scope", jstr(sum, "scope"),
			    "outcome", jstr(sum, "outcome"), "summary",
			    sum ? sum : json_object());
			if (!o || json_array_append_new(arr, o))
				rc = rv_err_set(RV_NOMEM, "out of memory");
		}
		text = arr && !rc ? json_dumps(arr, JSON_INDENT(2)) : NULL;
		if (text)
			printf("%s\n", text);
		else
			rc = rv_err_set(RV_NOMEM, "out of memory");
		free(text);
		json_decref(arr);
	} else {
		printf("%-20s  %-7s  %-5s  %-10s  %-4s  %s\n", "date", "kind",
		       "level", "outcome", "exit", "scope");
		for (size_t i = 0; i < n; i++) {
			if (!strcmp(runs[i].kind, "job"))
				continue;
			char started[32];
			json_t *sum = json_loads(runs[i].summary, 0, NULL);
			const char *level =
			    json_string_value(json_object_get(sum, "level"));
			const char *outcome =
			    json_string_value(json_object_get(sum, "outcome"));
			const char *scope =
			    json_string_value(json_object_get(sum, "scope"));

			cli_time(started, sizeof(started), runs[i].started);
			printf("%-20s  %-7s  %-5s  %-10s  %-4d  %s\n", started,
			       runs[i].kind, level ? level : "-",
			       outcome ? outcome : "-", runs[i].exit_code,
			       scope ? scope : "-");
			json_decref(sum);
		}
		if (!n)
			printf("(no verify or drill runs recorded)\n");
	}
	cat_run_list_free(runs, n);
	return rc ? cli_fail(rc) : EXIT_OK;
}

static int exit_for(enum verify_outcome o)
{
	switch (o) {
	case VERIFY_OK:
		return EXIT_OK;
	case VERIFY_REPAIRABLE:
		return EXIT_INTEGRITY;
	case VERIFY_FAILED:
		return EXIT_FAIL;
	default:
		return EXIT_INTEGRITY;
	}
}

static int parse_sample(unsigned *out, const char *text)
{
	char *end = NULL;
	unsigned long v;

	if (!text || !*text || *text == '-')
		return -1;
	v = strtoul(text, &end, 10);
	if (*end == '%')
		end++;
	if (*end || v < 1 || v > 100)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int cmd_verify(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"level", required_argument, NULL, 'l'},
	    {"target", required_argument, NULL, 't'},
	    {"snapshot", required_argument, NULL, 's'},
	    {"sample", required_argument, NULL, 'p'},
	    {"keyless", no_argument, NULL, 'k'},
	    {"public-key", required_argument, NULL, 'K'},
	    {"json", no_argument, NULL, 'j'},
	    {"report", required_argument, NULL, 'r'},
	    {"history", no_argument, NULL, 'H'},
	    {NULL, 0, NULL, 0},
	};
	const struct command *cmd = cli_command("verify");
	struct verify_opts o;
	struct verify_result r;
	struct rv_buf report = RV_BUF_INIT((size_t)64 << 20);
	const char *report_path = NULL, *pub_path = NULL;
	char pinned[SIGN_FINGERPRINT_MAX] = "";
	char *summary = NULL;
	int c, rc, show_history = 0, code;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	o.level = VERIFY_HASH;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (verify_level_parse(optarg) < 0)
				return cli_usage(cmd,
						 "--level must be quick, hash "
						 "or deep, not '%s'",
						 optarg);
			o.level = (enum verify_level)verify_level_parse(optarg);
			break;
		case 't':
			o.target = optarg;
			break;
		case 's':
			o.snapshot = optarg;
			break;
		case 'p':
			if (parse_sample(&o.sample, optarg))
				return cli_usage(cmd,
						 "--sample takes a percentage "
						 "from 1 to 100, not '%s'",
						 optarg);
			break;
		case 'k':
			o.keyless = 1;
			break;
		case 'K':
			pub_path = optarg;
			break;
		case 'j':
			a->json = 1;
			break;
		case 'r':
			report_path = optarg;
			break;
		case 'H':
			show_history = 1;
			break;
		default:
			return cli_usage(cmd, "bad option");
		}
	}
	if (optind < argc)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	if (o.keyless && o.level == VERIFY_DEEP)
		return cli_usage(cmd, "--level deep decrypts every chunk and "
				      "needs the key: it cannot be --keyless");
	rc = app_load_config(a);
	if (rc)
		return cli_fail(rc);
	if (show_history)
		return history(a);
	o.store_label = a->cfg->path;
	if (pub_path) {
		rc = read_pinned(pinned, pub_path);
		if (rc)
			return cli_fail(rc);
	}
	if (o.level == VERIFY_DEEP) {
		rc = app_open_store(a);
		if (!rc)
			rc = app_lock_targets(a, 0, "verify", 1);
		if (!rc)
			rc = app_open_catalog(a);
		if (!rc)
			rc = catalog_check(a, 1);
	} else {
		rc = open_keyless(a);
		if (!rc)
			rc = app_lock_targets(a, 0, "verify", 1);
		if (!rc)
			rc = pin_check(store_fingerprint(a->store),
				       a->cfg->fingerprint,
				       "key.fingerprint in the config");
		if (!rc)
			rc = pin_check(store_fingerprint(a->store), pinned,
				       "--public-key");
		if (!rc && o.keyless && !*pinned && !a->cfg->fingerprint)
			rc = rv_err_set(
			    RV_INVALID,
			    "--keyless trusts only a pinned signing key: set "
			    "key.fingerprint in the config or give "
			    "--public-key FILE (the key or fingerprint "
			    "'regvault init' printed)");
		/* keyless works without a catalog; with one, it says what
		 * damage takes with it and remembers what was verified */
		if (!rc && (!o.keyless || file_exists(a->cfg->catalog))) {
			char *dir = rv_fs_dirname(a->cfg->catalog);

			if (!dir)
				rc = rv_err_set(RV_NOMEM, "out of memory");
			if (!rc)
				rc = rv_fs_mkdirs(dir, 0700);
			free(dir);
			if (!rc)
				rc = cat_open(&a->cat, a->cfg->catalog);
			if (!rc)
				rc = catalog_check(a, !o.keyless);
		}
	}
	if (!rc)
		rc = verify_run(&r, a->cat, a->store, &o);
	if (rc) {
		verify_result_release(&r);
		return cli_fail(rc);
	}
	code = exit_for(r.outcome);
	rc = verify_result_json(&summary, &r, code, 0);
	if (!rc && a->cat &&
	    cat_run_add(a->cat, "verify", r.started, r.finished, code,
			summary) < 0)
		rv_warn("cannot record this run in the catalog: %s",
			rv_err_msg());
	if (!rc && a->json) {
		char *pretty = NULL;

		rc = verify_result_json(&pretty, &r, code, 1);
		if (!rc)
			printf("%s\n", pretty);
		free(pretty);
	} else if (!rc) {
		verify_print_text(stdout, &r);
	}
	if (!rc && report_path) {
		rc = verify_report_markdown(&report, &r, code);
		if (!rc)
			rc = rv_fs_write_atomic(report_path, report.data,
						report.len, 0644);
		if (!rc && !a->json)
			printf("report written to %s\n", report_path);
	}
	free(summary);
	rv_buf_release(&report);
	fflush(stdout);
	if (rc) {
		verify_result_release(&r);
		return cli_fail(rc);
	}
	if (code == EXIT_INTEGRITY && r.outcome == VERIFY_REPAIRABLE)
		fprintf(stderr,
			"regvault: error: verify found %zu damaged or missing "
			"cop%s, each with a good copy on another target; run "
			"'regvault repair'\n",
			r.damaged.n, r.damaged.n == 1 ? "y" : "ies");
	else if (code == EXIT_INTEGRITY)
		fprintf(stderr,
			"regvault: error: verify found damage with no good "
			"copy on any target (%zu damaged cop%s, %zu "
			"problem(s)); see 'at risk' above\n",
			r.damaged.n, r.damaged.n == 1 ? "y" : "ies",
			r.problems.n);
	else if (code == EXIT_FAIL)
		fprintf(stderr,
			"regvault: error: %zu read(s) from the targets failed; "
			"run verify again when they are reachable\n",
			r.failed.n);
	verify_result_release(&r);
	return code;
}
