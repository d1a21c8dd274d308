/* metrics.c - the Prometheus text file and the webhook after each job.
 *
 * The state of every job kind and scope lives in the catalog (meta key
 * "metrics_state", a small JSON document), because the runs table records
 * only verify, drill and scheduled jobs, and a direct backup must not
 * drop the last verify's samples. The update of that state, the rendering
 * and the rename of the file happen inside one catalog write transaction,
 * so two jobs that end together cannot leave a file older than the state.
 */
#include "cli/metrics.h"

#include "catalog/catalog.h"
#include "cli/cli.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATE_KEY "metrics_state"
#define STATE_VERSION 1
#define STATE_JOBS_MAX 256	       /* kinds x scopes kept; oldest go */
#define OUTPUT_MAX (16u << 20)	       /* a job's --json output, parsed */
#define TEXT_MAX (16u << 20)	       /* the rendered file */
#define HEADER_FILE_MAX 8192	       /* the webhook's header line */
#define SUMMARY_MAX (1u << 20)	       /* the result sent in the webhook */
#define WEBHOOK_CONNECT_MAX_SECONDS 10 /* of timeout_seconds */

/* ---- the job a command line is ---- */

/* The value of --flag (or short) in argv, the last one given, as
 * getopt_long takes it; NULL when absent. */
static const char *arg_value(int argc, char **argv, const char *flag,
			     const char *short_flag)
{
	size_t n = strlen(flag);
	const char *v = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if ((!strcmp(argv[i], flag) ||
		     (short_flag && !strcmp(argv[i], short_flag))) &&
		    i + 1 < argc)
			v = argv[++i];
		else if (!strncmp(argv[i], flag, n) && argv[i][n] == '=')
			v = argv[i] + n + 1;
	}
	return v;
}

static int has_flag(int argc, char **argv, const char *flag)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], flag))
			return 1;
	}
	return 0;
}

/* s as printable UTF-8 into out: control characters and bytes that are
 * not UTF-8 become '?', so that the value is a valid JSON string and
 * Prometheus label value. */
static void printable(char *out, size_t size, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	json_t *check;

	while (*p && o + 5 < size) {
		unsigned char c = *p;
		size_t n = c < 0x80		? 1
			   : (c & 0xe0) == 0xc0 ? 2
			   : (c & 0xf0) == 0xe0 ? 3
			   : (c & 0xf8) == 0xf0 ? 4
						: 0;
		size_t i = 1;

		while (i < n && (p[i] & 0xc0) == 0x80)
			i++;
		if (!n || i < n || c < 0x20 || c == 0x7f) {
			out[o++] = '?';
			p++;
			continue;
		}
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
	/* overlong forms and surrogates: jansson is the judge */
	check = json_string(out);
	if (!check)
		for (char *q = out; *q; q++)
			if ((unsigned char)*q >= 0x80)
				*q = '?';
	json_decref(check);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_now(void)
{
	int64_t now;

	if (rv_now(&now)) {
		rv_err_clear();
		now = (int64_t)time(NULL);
	}
	return now;
}

int cli_job_start(struct cli_job *out, int argc, char **argv, int global_json)
{
	const char *name = argc > 0 ? argv[0] : "";
	const char *label = NULL, *scope = NULL;

	memset(out, 0, sizeof(*out));
	if (!strcmp(name, "backup")) {
		label = "source";
		scope = arg_value(argc, argv, "--source", "-s");
		scope = scope ? scope : "all";
	} else if (!strcmp(name, "verify")) {
		if (has_flag(argc, argv, "--history"))
			return 0;
		label = "target";
		scope = arg_value(argc, argv, "--target", NULL);
		scope = scope ? scope : "all";
	} else if (!strcmp(name, "drill") || !strcmp(name, "restore")) {
		if (has_flag(argc, argv, "--dry-run"))
			return 0;
		scope = arg_value(argc, argv, "--to", NULL);
		label = scope ? "registry" : NULL;
	} else if (!strcmp(name, "prune")) {
		if (has_flag(argc, argv, "--dry-run"))
			return 0;
	} else if (!strcmp(name, "forget")) {
		if (!has_flag(argc, argv, "--prune") ||
		    has_flag(argc, argv, "--dry-run"))
			return 0;
		label = "source";
		scope = arg_value(argc, argv, "--source", NULL);
		scope = scope ? scope : "all";
	} else {
		return 0;
	}
	snprintf(out->kind, sizeof(out->kind), "%s", name);
	out->label = label;
	if (scope)
		printable(out->scope, sizeof(out->scope), scope);
	out->json = global_json || has_flag(argc, argv, "--json");
	out->started = wall_now();
	out->mono_ms = mono_ms();
	return 1;
}

/* ---- figures from a job's JSON result ---- */

static void put_count(json_t *figs, const char *key, json_t *v)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		json_object_set_new(figs, key,
				    json_integer(json_integer_value(v)));
}

/* {"bytes_stored", "blobs", "tags", "errors"}, each where the kind's
 * result has it. NULL on NOMEM. */
static json_t *figures_of(const char *kind, json_t *r)
{
	json_t *figs = json_object();

	if (!figs || !json_is_object(r))
		return figs;
	if (!strcmp(kind, "backup")) {
		put_count(figs, "bytes_stored",
			  json_object_get(r, "bytes_written"));
		put_count(figs, "blobs", json_object_get(r, "blobs_fetched"));
		put_count(figs, "tags", json_object_get(r, "tags"));
		put_count(figs, "errors", json_object_get(r, "tags_failed"));
	} else if (!strcmp(kind, "verify")) {
		json_t *damaged = json_object_get(r, "damaged");

		put_count(figs, "blobs", json_object_get(r, "blobs_checked"));
		if (json_is_array(damaged))
			json_object_set_new(
			    figs, "errors",
			    json_integer((json_int_t)json_array_size(damaged)));
	} else if (!strcmp(kind, "drill")) {
		json_t *checked = json_object_get(r, "tags_checked");
		json_t *ok = json_object_get(r, "tags_ok");

		put_count(figs, "tags", checked);
		put_count(figs, "blobs", json_object_get(r, "blobs_checked"));
		if (json_is_integer(checked) && json_is_integer(ok) &&
		    json_integer_value(checked) >= json_integer_value(ok))
			json_object_set_new(
			    figs, "errors",
			    json_integer(json_integer_value(checked) -
					 json_integer_value(ok)));
	} else if (!strcmp(kind, "restore")) {
		put_count(figs, "tags", json_object_get(r, "tags"));
		put_count(figs, "blobs", json_object_get(r, "blobs_pushed"));
	}
	return figs;
}

/* A verify or drill run without --json printed no JSON, but recorded its
 * report in the runs table: the newest one, if this job wrote it. */
static json_t *recorded_summary(struct cat *cat, const struct cli_job *job)
{
	struct cat_run *runs = NULL;
	size_t n = 0;
	json_t *doc = NULL;

	if (cat_run_list(&runs, &n, cat, job->kind, 1)) {
		rv_err_clear();
		return NULL;
	}
	if (n && runs[0].started >= job->started - 2)
		doc = json_loads(runs[0].summary, 0, NULL);
	cat_run_list_free(runs, n);
	return doc;
}

/* ---- the state of every job ---- */

static int nomem(void)
{
	return rv_err_set(RV_NOMEM, "out of memory");
}

static int same_str(json_t *v, const char *s)
{
	if (!s)
		return json_is_null(v) || !v;
	return json_is_string(v) && !strcmp(json_string_value(v), s);
}

/* The catalog's state, or a fresh one when it has none or it does not
 * parse (it is only a cache of the last runs). */
static int state_load(json_t **out, struct cat *cat)
{
	char *text = NULL;
	json_t *doc = NULL;
	int rc = cat ? cat_meta_get(&text, cat, STATE_KEY) : RV_NOTFOUND;

	*out = NULL;
	if (rc && rc != RV_NOTFOUND)
		return rc;
	rv_err_clear();
	if (text)
		doc = json_loads(text, 0, NULL);
	free(text);
	if (doc && (!json_is_object(doc) ||
		    !json_is_array(json_object_get(doc, "jobs")))) {
		json_decref(doc);
		doc = NULL;
	}
	if (!doc)
		doc =
		    json_pack("{s:i, s:[]}", "version", STATE_VERSION, "jobs");
	if (!doc)
		return nomem();
	*out = doc;
	return 0;
}

/* Put this run into state: replace the entry of the same kind and scope
 * (keeping its last success when this run failed), drop the oldest
 * entries beyond STATE_JOBS_MAX. */
static int state_merge(json_t *state, const struct cli_job *job,
		       int64_t finished, double duration, int exit_code,
		       json_t *figures)
{
	json_t *jobs = json_object_get(state, "jobs"), *e;
	int64_t last_success = 0;
	size_t i;

	for (i = 0; i < json_array_size(jobs); i++) {
		json_t *old = json_array_get(jobs, i);

		if (!same_str(json_object_get(old, "kind"), job->kind) ||
		    !same_str(json_object_get(old, "label"), job->label) ||
		    !same_str(json_object_get(old, "scope"),
			      job->label ? job->scope : NULL))
			continue;
		last_success =
		    json_integer_value(json_object_get(old, "last_success"));
		json_array_remove(jobs, i);
		break;
	}
	if (exit_code == 0)
		last_success = finished;
	e = json_pack(
	    "{s:s, s:o, s:o, s:I, s:I, s:f, s:i, s:I, s:O}", "kind", job->kind,
	    "label", job->label ? json_string(job->label) : json_null(),
	    "scope", job->label ? json_string(job->scope) : json_null(),
	    "started", (json_int_t)job->started, "last_run",
	    (json_int_t)finished, "duration", duration, "exit_code", exit_code,
	    "last_success", (json_int_t)last_success, "figures", figures);
	if (!e || json_array_append_new(jobs, e))
		return nomem();
	while (json_array_size(jobs) > STATE_JOBS_MAX) {
		size_t oldest = 0;

		for (i = 1; i < json_array_size(jobs); i++)
			if (json_integer_value(json_object_get(
				json_array_get(jobs, i), "last_run")) <
			    json_integer_value(json_object_get(
				json_array_get(jobs, oldest), "last_run")))
				oldest = i;
		json_array_remove(jobs, oldest);
	}
	return 0;
}

static int state_save(struct cat *cat, json_t *state)
{
	char *text = json_dumps(state, JSON_COMPACT);
	int rc = text ? cat_meta_set(cat, STATE_KEY, text) : nomem();

	free(text);
	return rc;
}

/* ---- the text file ---- */

/* s as a label value: backslash, double quote and newline escaped. */
static int label_value(struct rv_buf *out, const char *s)
{
	int rc = 0;

	for (; !rc && *s; s++) {
		if (*s == '\\')
			rc = rv_buf_puts(out, "\\\\");
		else if (*s == '"')
			rc = rv_buf_puts(out, "\\\"");
		else if (*s == '\n')
			rc = rv_buf_puts(out, "\\n");
		else
			rc = rv_buf_add(out, s, 1);
	}
	return rc;
}

static int family_head(struct rv_buf *out, const char *name, const char *help)
{
	return rv_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help,
			     name);
}

/* The metrics of the job entries, in this order. */
static const struct family {
	const char *name;
	const char *help;
	const char *field; /* member of the entry */
	int figure;	   /* field is in the entry's "figures" */
	int success;	   /* 1 when field (the exit code) is 0 */
} families[] = {
    {"regvault_last_run_timestamp_seconds",
     "When the last run of a job ended (unix seconds).", "last_run", 0},
    {"regvault_last_success_timestamp_seconds",
     "When a run of the job last ended with exit code 0 (unix seconds; 0: "
     "none recorded).",
     "last_success", 0},
    {"regvault_last_run_duration_seconds", "How long the last run took.",
     "duration", 0},
    {"regvault_last_run_success",
     "1 when the last run ended with exit code 0, else 0.", "exit_code", 0, 1},
    {"regvault_last_run_exit_code",
     "Exit code of the last run (0 ok, 1 failure, 2 usage or config, 3 "
     "key, 4 integrity, 5 locked).",
     "exit_code", 0},
    {"regvault_last_run_bytes_stored",
     "Bytes the last backup wrote to the targets (bytes_written of its "
     "JSON result).",
     "bytes_stored", 1},
    {"regvault_last_run_blobs",
     "Blobs of the last run: fetched (backup), pushed (restore), checked "
     "(verify, drill).",
     "blobs", 1},
    {"regvault_last_run_tags",
     "Tags of the last run: backed up (backup), restored (restore), "
     "checked (drill).",
     "tags", 1},
    {"regvault_last_run_errors",
     "What the last run found wrong: tags that failed (backup, drill), "
     "damaged copies (verify).",
     "errors", 1},
};

static int cmp_entry(const void *pa, const void *pb)
{
	json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	const char *keys[] = {"kind", "label", "scope"};

	for (size_t i = 0; i < 3; i++) {
		const char *x = json_string_value(json_object_get(a, keys[i]));
		const char *y = json_string_value(json_object_get(b, keys[i]));
		int c = strcmp(x ? x : "", y ? y : "");

		if (c)
			return c;
	}
	return 0;
}

/* An entry read back from the catalog is printed only when its kind
 * and label name are ones this file writes (the kind and the label name
 * are not escaped). */
static int entry_ok(json_t *e)
{
	static const char *const kinds[] = {"backup", "verify",	 "drill",
					    "prune",  "restore", "forget"};
	static const char *const labels[] = {"source", "target", "registry"};
	const char *kind = json_string_value(json_object_get(e, "kind"));
	json_t *label = json_object_get(e, "label");
	int ok = 0;

	for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(*kinds); i++)
		ok |= !strcmp(kind, kinds[i]);
	if (!ok || json_is_null(label))
		return ok;
	if (!json_is_string(json_object_get(e, "scope")))
		return 0;
	for (size_t i = 0; i < sizeof(labels) / sizeof(*labels); i++)
		if (same_str(label, labels[i]))
			return 1;
	return 0;
}

static int render_jobs(struct rv_buf *out, json_t *jobs)
{
	size_t n = json_array_size(jobs);
	json_t **sorted = calloc(n ? n : 1, sizeof(*sorted));
	int rc = sorted ? 0 : nomem();

	for (size_t i = 0; i < n && sorted; i++)
		sorted[i] = json_array_get(jobs, i);
	if (sorted)
		qsort(sorted, n, sizeof(*sorted), cmp_entry);
	for (size_t f = 0; !rc && f < sizeof(families) / sizeof(*families);
	     f++) {
		const struct family *fam = &families[f];
		int headed = 0;

		for (size_t i = 0; !rc && i < n; i++) {
			json_t *e = sorted[i];
			json_t *v = json_object_get(
			    fam->figure ? json_object_get(e, "figures") : e,
			    fam->field);
			const char *label =
			    json_string_value(json_object_get(e, "label"));
			const char *scope =
			    json_string_value(json_object_get(e, "scope"));

			if (!json_is_number(v) || !entry_ok(e))
				continue;
			if (!headed++)
				rc = family_head(out, fam->name, fam->help);
			if (!rc)
				rc = rv_buf_printf(
				    out, "%s{kind=\"%s\"", fam->name,
				    json_string_value(
					json_object_get(e, "kind")));
			if (!rc && label && scope) {
				rc = rv_buf_printf(out, ",%s=\"", label);
				if (!rc)
					rc = label_value(out, scope);
				if (!rc)
					rc = rv_buf_puts(out, "\"");
			}
			if (rc)
				break;
			if (fam->success)
				rc = rv_buf_printf(out, "} %d\n",
						   json_integer_value(v) == 0);
			else if (json_is_real(v))
				rc = rv_buf_printf(out, "} %.3f\n",
						   json_real_value(v));
			else
				rc = rv_buf_printf(
				    out, "} %lld\n",
				    (long long)json_integer_value(v));
		}
	}
	free(sorted);
	return rc;
}

/* Packs and bytes per target, from the catalog: every configured target
 * (0 when it holds nothing), then any other the catalog names. */
static int render_targets(struct rv_buf *out, struct cat *cat,
			  const struct config *cfg)
{
	struct cat_pack *packs = NULL;
	size_t n_packs = 0, n_names = 0;
	struct tgt {
		const char *name;
		long long packs, bytes;
	} *t = NULL;
	int rc = cat_pack_list(&packs, &n_packs, cat);

	if (rc)
		return rc;
	/* at most every configured target plus every location */
	{
		size_t cap = cfg->n_targets;

		for (size_t i = 0; i < n_packs; i++)
			cap += packs[i].targets.n;
		t = calloc(cap ? cap : 1, sizeof(*t));
		if (!t) {
			rc = nomem();
			goto done;
		}
	}
	for (size_t i = 0; i < cfg->n_targets; i++)
		t[n_names++].name = cfg->targets[i].name;
	for (size_t i = 0; i < n_packs; i++) {
		for (size_t j = 0; j < packs[i].targets.n; j++) {
			const char *name = packs[i].targets.items[j];
			size_t k = 0;

			while (k < n_names && strcmp(t[k].name, name))
				k++;
			if (k == n_names)
				t[n_names++].name = name;
			t[k].packs++;
			t[k].bytes += (long long)packs[i].size;
		}
	}
	for (int which = 0; !rc && which < 2 && n_names; which++) {
		const char *name =
		    which ? "regvault_target_bytes" : "regvault_target_packs";

		rc = family_head(out, name,
				 which ? "Bytes of the packs the catalog "
					 "records on each target."
				       : "Packs the catalog records on each "
					 "target.");
		for (size_t k = 0; !rc && k < n_names; k++) {
			char shown[256];

			printable(shown, sizeof(shown), t[k].name);
			rc = rv_buf_printf(out, "%s{target=\"", name);
			if (!rc)
				rc = label_value(out, shown);
			if (!rc)
				rc = rv_buf_printf(out, "\"} %lld\n",
						   which ? t[k].bytes
							 : t[k].packs);
		}
	}
done:
	free(t);
	cat_pack_list_free(packs, n_packs);
	return rc;
}

/* Merge this run into the catalog's state and write the file from it, in
 * one catalog transaction. Warnings only. */
static void write_textfile(const struct config *cfg, struct cat *cat,
			   const struct cli_job *job, int64_t finished,
			   double duration, int exit_code, json_t *figures)
{
	const char *path = cfg->metrics.textfile;
	struct rv_buf text = RV_BUF_INIT(TEXT_MAX);
	json_t *state = NULL;
	int in_tx = 0, saved = 0, rc = 0;

	if (cat) {
		rc = cat_begin(cat);
		in_tx = !rc;
		if (!rc)
			rc = state_load(&state, cat);
		if (rc) {
			rv_warn("metrics: cannot read the state of the other "
				"jobs from catalog '%s': %s; '%s' holds this "
				"job only",
				cfg->catalog, rv_err_msg(), path);
			if (in_tx)
				cat_rollback(cat);
			in_tx = 0;
			cat = NULL;
		}
	}
	if (!state && (rc = state_load(&state, NULL)))
		goto done;
	rc = state_merge(state, job, finished, duration, exit_code, figures);
	if (rc)
		goto done;
	if (in_tx) {
		if (state_save(cat, state))
			rv_warn("metrics: cannot keep this job's state in "
				"catalog '%s': %s",
				cfg->catalog, rv_err_msg());
		else
			saved = 1;
	}
	rc = render_jobs(&text, json_object_get(state, "jobs"));
	if (!rc && cat && render_targets(&text, cat, cfg))
		rv_warn("metrics: cannot count the targets' packs in catalog "
			"'%s': %s",
			cfg->catalog, rv_err_msg());
	if (rc)
		goto done;
	rc = rv_fs_write_atomic(path, text.data ? (const void *)text.data : "",
				text.len, 0644);
	if (rc)
		goto done;
	rv_debug("metrics written to '%s'", path);
done:
	if (rc)
		rv_warn("cannot write the metrics file '%s': %s (the job's "
			"exit code is unchanged)",
			path, rv_err_msg());
	if (in_tx && saved && cat_commit(cat))
		rv_warn("metrics: cannot keep this job's state in catalog "
			"'%s': %s",
			cfg->catalog, rv_err_msg());
	else if (in_tx && !saved)
		cat_rollback(cat);
	json_decref(state);
	rv_buf_release(&text);
}

/* ---- the webhook ---- */

/* The URL as messages show it: scheme, host and port only (the userinfo,
 * path and query of a webhook URL often hold its secret). */
static void url_shown(char *out, size_t size, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;

	snprintf(out, size, "(an unparsable URL)");
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		curl_url_get(u, CURLUPART_PATH, &path, 0);
		snprintf(out, size, "%s://%s%s%s%s", scheme, host,
			 port ? ":" : "", port ? port : "",
			 path && strcmp(path, "/") ? "/..." : "");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
}

/* The header line of header_file: "Name: value", one line (one trailing
 * newline allowed). The caller wipes and frees *out. The content is never
 * put in a message. */
static int read_header(char **out, const char *path)
{
	struct rv_buf b = RV_BUF_INIT(HEADER_FILE_MAX);
	size_t name_len;
	int rc = rv_fs_read_file(&b, path);

	*out = NULL;
	if (rc) {
		rc = rv_err_set(rc,
				"cannot read the webhook header_file "
				"'%s': %s",
				path, rv_err_msg());
		goto done;
	}
	if (b.len && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	if (b.len && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	name_len = strspn((const char *)b.data ? (const char *)b.data : "",
			  "!#$%&'*+-.^_`|~0123456789"
			  "abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
	if (!b.len || !name_len || b.data[name_len] != ':' ||
	    memchr(b.data, '\n', b.len) || memchr(b.data, '\r', b.len) ||
	    memchr(b.data, '\0', b.len)) {
		rc = rv_err_set(RV_INVALID,
				"the webhook header_file '%s' must hold one "
				"line 'Name: value'",
				path);
		goto done;
	}
	*out = rv_buf_detach(&b, NULL);
	if (!*out)
		rc = nomem();
done:
	if (b.data)
		OPENSSL_cleanse(b.data, b.cap);
	rv_buf_release(&b);
	return rc;
}

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/* POST body to the webhook. Returns 0 or a code with the message set
 * (naming the URL as url_shown does). */
static int webhook_post(const struct cfg_webhook *w, const char *body,
			size_t len)
{
	char shown[512], errbuf[CURL_ERROR_SIZE] = "";
	char *header = NULL;
	struct curl_slist *headers = NULL, *h;
	CURL *c = NULL;
	CURLcode cc;
	long status = 0;
	int rc = 0;

	url_shown(shown, sizeof(shown), w->url);
	if (w->header_file && (rc = read_header(&header, w->header_file)))
		goto done;
	c = curl_easy_init();
	if (!c) {
		rc = rv_err_set(RV_NOMEM, "cannot start libcurl");
		goto done;
	}
	h = curl_slist_append(NULL, "Content-Type: application/json");
	if (h)
		headers = h;
	if (h && (h = curl_slist_append(headers, "Expect:")))
		headers = h;
	if (h && (h = curl_slist_append(headers, "User-Agent: regvault")))
		headers = h;
	if (h && header && (h = curl_slist_append(headers, header)))
		headers = h;
	if (!h) {
		rc = nomem();
		goto done;
	}
	curl_easy_setopt(c, CURLOPT_URL, w->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)w->timeout_seconds);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
			 (long)(w->timeout_seconds < WEBHOOK_CONNECT_MAX_SECONDS
				    ? w->timeout_seconds
				    : WEBHOOK_CONNECT_MAX_SECONDS));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		rc = rv_err_set(RV_NET, "webhook %s: %s", shown,
				*errbuf ? errbuf : curl_easy_strerror(cc));
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299)
		rc = rv_err_set(RV_NET, "webhook %s answered HTTP %ld", shown,
				status);
	else
		rv_debug("webhook %s answered HTTP %ld", shown, status);
done:
	for (h = headers; h; h = h->next)
		OPENSSL_cleanse(h->data, strlen(h->data));
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	if (header) {
		OPENSSL_cleanse(header, strlen(header));
		free(header);
	}
	return rc;
}

static void send_webhook(const struct cfg_webhook *w, const struct cli_job *job,
			 int64_t finished, double duration, int exit_code,
			 json_t *summary)
{
	char started_s[32], finished_s[32], host[256] = "", host_ok[256];
	char *body = NULL, *sum_text = NULL;
	json_t *doc = NULL, *sum = NULL;

	cli_time(started_s, sizeof(started_s), job->started);
	cli_time(finished_s, sizeof(finished_s), finished);
	if (gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	printable(host_ok, sizeof(host_ok), host);
	if (json_is_object(summary)) {
		sum_text = json_dumps(summary, JSON_COMPACT);
		sum = sum_text && strlen(sum_text) <= SUMMARY_MAX
			  ? json_incref(summary)
			  : json_pack("{s:s}", "omitted",
				      "the job's result is larger than 1 MiB");
		free(sum_text);
	} else {
		sum = json_object();
	}
	doc = json_pack("{s:s, s:o, s:s, s:i, s:s, s:s, s:f, s:o, s:s}", "job",
			job->kind, "source",
			job->label && !strcmp(job->label, "source")
			    ? json_string(job->scope)
			    : json_null(),
			"outcome", exit_code == 0 ? "ok" : "failed",
			"exit_code", exit_code, "started", started_s,
			"finished", finished_s, "duration_seconds", duration,
			"summary", sum, "host", host_ok);
	if (doc && job->label && strcmp(job->label, "source"))
		json_object_set_new(doc, job->label, json_string(job->scope));
	body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	if (!body)
		rv_warn("webhook: out of memory");
	else if (webhook_post(w, body, strlen(body)))
		rv_warn("%s (the job's exit code is unchanged)", rv_err_msg());
	free(body);
	json_decref(doc);
}

/* ---- after a job ---- */

static int metrics_on(const struct config *cfg)
{
	return cfg && (cfg->metrics.textfile || cfg->metrics.webhook.url);
}

static int file_exists(const char *path)
{
	struct stat sb;

	return path && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

void cli_job_finish(const struct cli_job *job, const struct config *cfg,
		    int exit_code, json_t *result)
{
	const struct cfg_metrics *m;
	struct cat *cat = NULL;
	json_t *summary = NULL, *figures = NULL;
	int64_t finished;
	double duration;

	if (!metrics_on(cfg))
		return;
	m = &cfg->metrics;
	finished = wall_now();
	if (finished < job->started)
		finished = job->started;
	duration = (double)(mono_ms() - job->mono_ms) / 1000.0;
	summary = json_incref(result);
	/* the catalog only when it is there: a job that failed before
	 * making one must not make it */
	if ((m->textfile || (!summary && (!strcmp(job->kind, "verify") ||
					  !strcmp(job->kind, "drill")))) &&
	    file_exists(cfg->catalog) && cat_open(&cat, cfg->catalog)) {
		rv_warn("metrics: cannot open catalog '%s': %s", cfg->catalog,
			rv_err_msg());
		cat = NULL;
	}
	if (!summary && cat &&
	    (!strcmp(job->kind, "verify") || !strcmp(job->kind, "drill")))
		summary = recorded_summary(cat, job);
	figures = figures_of(job->kind, summary);
	if (!figures)
		rv_warn("metrics: out of memory");
	else if (m->textfile)
		write_textfile(cfg, cat, job, finished, duration, exit_code,
			       figures);
	cat_close(cat);
	if (m->webhook.url &&
	    (exit_code != 0 ||
	     (m->webhook.on && !strcmp(m->webhook.on, "always"))))
		send_webhook(&m->webhook, job, finished, duration, exit_code,
			     summary);
	json_decref(figures);
	json_decref(summary);
}

/* ---- main's call ---- */

/* Point stdout at a fresh temporary file; *saved is the old stdout. */
static int capture_begin(int *saved, FILE **tmp)
{
	fflush(stdout);
	*saved = -1;
	*tmp = tmpfile();
	if (!*tmp)
		return rv_err_errno(RV_IO, errno,
				    "cannot create a temporary file for the "
				    "job's output");
	*saved = dup(STDOUT_FILENO);
	if (*saved < 0 || dup2(fileno(*tmp), STDOUT_FILENO) < 0) {
		int rc = rv_err_errno(RV_IO, errno,
				      "cannot redirect the job's output");
		if (*saved >= 0)
			close(*saved);
		*saved = -1;
		fclose(*tmp);
		*tmp = NULL;
		return rc;
	}
	return 0;
}

/* Put stdout back, copy what the job printed to it, and parse it (NULL
 * when it is not one JSON document or larger than OUTPUT_MAX). */
static json_t *capture_end(int saved, FILE *tmp)
{
	struct rv_buf out = RV_BUF_INIT(OUTPUT_MAX);
	char chunk[65536];
	size_t got;
	int keep = 1;
	json_t *doc = NULL;

	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(tmp);
	while ((got = fread(chunk, 1, sizeof(chunk), tmp)) > 0) {
		if (rv_fs_write_all(STDOUT_FILENO, chunk, got, "stdout"))
			keep = 0;
		if (keep && rv_buf_add(&out, chunk, got))
			keep = 0;
	}
	if (ferror(tmp))
		keep = 0;
	fclose(tmp);
	if (keep && out.len)
		doc = json_loadb((const char *)out.data, out.len, 0, NULL);
	rv_err_clear();
	rv_buf_release(&out);
	return doc;
}

int cli_run_command(const struct command *cmd, struct app *a, int argc,
		    char **argv)
{
	struct cli_job job;
	struct config *cfg = NULL;
	const char *path;
	json_t *doc = NULL;
	FILE *tmp = NULL;
	char *copy = NULL;
	size_t copy_len = 0;
	int code, saved = -1;

	if (!cli_job_start(&job, argc, argv, a->json))
		return cmd->run(a, argc, argv);
	path = app_config_path(a);
	/* a config that does not load is the command's to report */
	if (cfg_load(&cfg, path))
		rv_err_clear();
	if (!metrics_on(cfg)) {
		cfg_free(cfg);
		return cmd->run(a, argc, argv);
	}
	if (job.json && capture_begin(&saved, &tmp))
		rv_warn("metrics: %s; the job's figures are not kept",
			rv_err_msg());
	/* without --json the command writes its result here too */
	if (!job.json && !(a->result = open_memstream(&copy, &copy_len)))
		rv_warn("metrics: cannot keep the job's figures: %s",
			strerror(errno));
	code = cmd->run(a, argc, argv);
	if (tmp)
		doc = capture_end(saved, tmp);
	if (a->result) {
		fclose(a->result);
		a->result = NULL;
		if (copy && copy_len)
			doc = json_loadb(copy, copy_len, 0, NULL);
		free(copy);
	}
	cli_job_finish(&job, cfg, code, doc);
	json_decref(doc);
	cfg_free(cfg);
	return code;
}
