#include "cli/config.h"

#include "schedules/cron.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"

#include <openssl/crypto.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <regex.h>
#include <yaml.h>

#define CFG_MAX_BYTES (1u << 20)
#define SECRET_MAX_BYTES 4096

struct cfg_ctx {
	yaml_document_t *doc;
	const char *path;
	/* cfg_load_all: unknown and repeated keys are collected here (and
	 * skipped) instead of stopping the load */
	struct rv_strlist *problems;
};

/* A problem that need not stop the load: collected (0, or 1 for "skip
 * this key") when collecting, else the code it was set with. */
static int cfg_collect(const struct cfg_ctx *x, int rc, int skip)
{
	if (!x->problems || rc != RV_INVALID)
		return rc;
	if (rv_strlist_add(x->problems, rv_err_msg()))
		return RV_NOMEM;
	rv_err_clear();
	return skip;
}

static int cfg_err(const struct cfg_ctx *x, const yaml_node_t *n,
		   const char *what)
{
	return rv_err_set(RV_INVALID, "config '%s' line %lu: %s", x->path,
			  n ? (unsigned long)n->start_mark.line + 1 : 0UL,
			  what);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE
		   ? (const char *)n->data.scalar.value
		   : NULL;
}

static int get_str(char **out, const struct cfg_ctx *x, const yaml_node_t *v,
		   const char *key)
{
	char msg[256];
	const char *s = scalar(v);
	if (!s || !*s) {
		snprintf(msg, sizeof(msg), "'%s' must be a non-empty string",
			 key);
		return cfg_err(x, v, msg);
	}
	free(*out);
	*out = strdup(s);
	return *out ? 0 : rv_err_set(RV_NOMEM, "out of memory");
}

static int get_bool(int *out, const struct cfg_ctx *x, const yaml_node_t *v,
		    const char *key)
{
	char msg[256];
	const char *s = scalar(v);
	if (s && (!strcmp(s, "true") || !strcmp(s, "yes"))) {
		*out = 1;
		return 0;
	}
	if (s && (!strcmp(s, "false") || !strcmp(s, "no"))) {
		*out = 0;
		return 0;
	}
	snprintf(msg, sizeof(msg), "'%s' must be true or false", key);
	return cfg_err(x, v, msg);
}

static int get_int(int *out, const struct cfg_ctx *x, const yaml_node_t *v,
		   const char *key)
{
	char msg[256], *end = NULL;
	const char *s = scalar(v);
	long n = s ? strtol(s, &end, 10) : -1;
	if (!s || !*s || *end || n < 0 || n > 1000000) {
		snprintf(msg, sizeof(msg),
			 "'%s' must be a whole number from 0 to 1000000", key);
		return cfg_err(x, v, msg);
	}
	*out = (int)n;
	return 0;
}

static int get_strlist(struct rv_strlist *out, const struct cfg_ctx *x,
		       yaml_node_t *v, const char *key)
{
	char msg[256];
	if (v->type != YAML_SEQUENCE_NODE) {
		snprintf(msg, sizeof(msg), "'%s' must be a list of strings",
			 key);
		return cfg_err(x, v, msg);
	}
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(x->doc, *it);
		const char *s = scalar(item);
		int rc;
		if (!s || !*s) {
			snprintf(msg, sizeof(msg),
				 "'%s' must be a list of strings", key);
			return cfg_err(x, item, msg);
		}
		if ((rc = rv_strlist_add(out, s)))
			return rc;
	}
	return 0;
}

static int unknown_key(const struct cfg_ctx *x, const yaml_node_t *k,
		       const char *where)
{
	char msg[512];
	snprintf(msg, sizeof(msg),
		 "unknown key '%s' in %s (see the README's config reference)",
		 scalar(k) ? scalar(k) : "?", where);
	return cfg_collect(x, cfg_err(x, k, msg), 0);
}

/* A key given twice in one mapping: libyaml keeps both, and taking the
 * last would silently drop the first (and leak what it allocated). The
 * keys before p are known keys, each once, so the scan stays short. */
static int dup_key(const struct cfg_ctx *x, const yaml_node_t *m,
		   const yaml_node_pair_t *p)
{
	const char *ks = scalar(yaml_document_get_node(x->doc, p->key));
	char msg[512];

	for (const yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p;
	     q++) {
		const char *qs = scalar(yaml_document_get_node(x->doc, q->key));
		if (ks && qs && !strcmp(ks, qs)) {
			snprintf(msg, sizeof(msg),
				 "key '%.200s' is given twice in the same "
				 "mapping",
				 ks);
			return cfg_collect(
			    x,
			    cfg_err(x, yaml_document_get_node(x->doc, p->key),
				    msg),
			    1);
		}
	}
	return 0;
}

/* One key of a mapping: where its value goes, or why it is refused. */
enum field_kind { F_STR, F_BOOL, F_LIST, F_INT, F_SECRET, F_RETENTION };

struct field {
	const char *key;
	enum field_kind kind;
	size_t offset;	  /* into the struct being filled */
	const char *hint; /* F_SECRET: what to use instead */
};

struct cfg_schedule;
static int get_retention(struct cfg_schedule *s, const struct cfg_ctx *x,
			 yaml_node_t *v);

#define FIELD(type, kind, member)                                              \
	{                                                                      \
#member, kind, offsetof(type, member), NULL                    \
	}

/* Fill obj from the mapping m according to fields. */
static int parse_fields(void *obj, const struct cfg_ctx *x, yaml_node_t *m,
			const struct field *fields, const char *where)
{
	char msg[512];
	if (m->type != YAML_MAPPING_NODE) {
		snprintf(msg, sizeof(msg), "%s must be a mapping", where);
		return cfg_err(x, m, msg);
	}
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
	     p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
		const char *ks = scalar(k);
		const struct field *f = fields;
		char *dst;
		int rc;

		if (!ks)
			return cfg_err(x, k, "keys must be strings");
		while (f->key && strcmp(f->key, ks))
			f++;
		if (!f->key) {
			if ((rc = unknown_key(x, k, where)))
				return rc;
			continue;
		}
		if ((rc = dup_key(x, m, p)) > 0)
			continue; /* collected */
		if (rc)
			return rc;
		dst = (char *)obj + f->offset;
		switch (f->kind) {
		case F_STR:
			rc = get_str((char **)dst, x, v, ks);
			break;
		case F_BOOL:
			rc = get_bool((int *)dst, x, v, ks);
			break;
		case F_LIST:
			rc = get_strlist((struct rv_strlist *)dst, x, v, ks);
			break;
		case F_INT:
			rc = get_int((int *)dst, x, v, ks);
			break;
		case F_RETENTION:
			rc = get_retention((struct cfg_schedule *)obj, x, v);
			break;
		default:
			snprintf(msg, sizeof(msg),
				 "'%s' is a secret and is never written in "
				 "the config; use %s",
				 ks, f->hint);
			rc = cfg_err(x, k, msg);
			break;
		}
		if (rc)
			return rc;
	}
	return 0;
}

static const struct field registry_fields[] = {
    FIELD(struct cfg_registry, F_STR, name),
    FIELD(struct cfg_registry, F_STR, url),
    FIELD(struct cfg_registry, F_STR, username),
    FIELD(struct cfg_registry, F_STR, password_file),
    FIELD(struct cfg_registry, F_STR, password_env),
    FIELD(struct cfg_registry, F_STR, ca_file),
    FIELD(struct cfg_registry, F_BOOL, insecure),
    FIELD(struct cfg_registry, F_STR, docker_config),
    FIELD(struct cfg_registry, F_STR, client_cert),
    FIELD(struct cfg_registry, F_STR, client_key),
    FIELD(struct cfg_registry, F_INT, max_connections),
    FIELD(struct cfg_registry, F_INT, request_budget),
    FIELD(struct cfg_registry, F_INT, retries),
    FIELD(struct cfg_registry, F_INT, upload_chunk_mb),
    {"password", F_SECRET, 0, "password_file or password_env"},
    {NULL, F_STR, 0, NULL},
};

static const struct field source_fields[] = {
    FIELD(struct cfg_source, F_STR, registry),
    FIELD(struct cfg_source, F_LIST, repositories),
    FIELD(struct cfg_source, F_LIST, exclude),
    FIELD(struct cfg_source, F_LIST, tags_include),
    FIELD(struct cfg_source, F_LIST, tags_exclude),
    FIELD(struct cfg_source, F_INT, keep_newest),
    FIELD(struct cfg_source, F_LIST, platforms),
    FIELD(struct cfg_source, F_BOOL, referrers),
    {NULL, F_STR, 0, NULL},
};

static const struct field target_fields[] = {
    FIELD(struct cfg_target, F_STR, name),
    FIELD(struct cfg_target, F_STR, type),
    FIELD(struct cfg_target, F_STR, path),
    FIELD(struct cfg_target, F_STR, endpoint),
    FIELD(struct cfg_target, F_STR, bucket),
    FIELD(struct cfg_target, F_STR, prefix),
    FIELD(struct cfg_target, F_STR, region),
    FIELD(struct cfg_target, F_BOOL, path_style),
    FIELD(struct cfg_target, F_STR, access_key_id_env),
    FIELD(struct cfg_target, F_STR, access_key_id_file),
    FIELD(struct cfg_target, F_STR, secret_access_key_env),
    FIELD(struct cfg_target, F_STR, secret_access_key_file),
    FIELD(struct cfg_target, F_INT, object_lock_days),
    FIELD(struct cfg_target, F_STR, ca_file),
    FIELD(struct cfg_target, F_BOOL, insecure),
    FIELD(struct cfg_target, F_INT, part_size_mb),
    {"access_key_id", F_SECRET, 0, "access_key_id_env or access_key_id_file"},
    {"secret_access_key", F_SECRET, 0,
     "secret_access_key_env or secret_access_key_file"},
    {NULL, F_STR, 0, NULL},
};

static const struct field key_fields[] = {
    FIELD(struct config, F_STR, passphrase_file),
    FIELD(struct config, F_STR, fingerprint),
    {"passphrase", F_SECRET, 0, "passphrase_file or REGVAULT_PASSWORD"},
    {NULL, F_STR, 0, NULL},
};

static const struct field lock_fields[] = {
    {"wait_seconds", F_INT, offsetof(struct config, lock_wait), NULL},
    {"stale_seconds", F_INT, offsetof(struct config, lock_stale), NULL},
    {NULL, F_STR, 0, NULL},
};

static const struct field schedule_fields[] = {
    FIELD(struct cfg_schedule, F_STR, name),
    FIELD(struct cfg_schedule, F_STR, cron),
    FIELD(struct cfg_schedule, F_STR, timezone),
    FIELD(struct cfg_schedule, F_STR, job),
    FIELD(struct cfg_schedule, F_STR, source),
    FIELD(struct cfg_schedule, F_STR, level),
    FIELD(struct cfg_schedule, F_INT, sample),
    FIELD(struct cfg_schedule, F_STR, to),
    FIELD(struct cfg_schedule, F_INT, repack_threshold),
    {"retention", F_RETENTION, 0, NULL},
    {NULL, F_STR, 0, NULL},
};

/* retention: { keep_last: N, keep_hourly: N, ..., keep_within: "30d" }
 * (the flags of `regvault forget`; N = -1 is not offered here). */
static int get_retention(struct cfg_schedule *s, const struct cfg_ctx *x,
			 yaml_node_t *v)
{
	static const struct {
		const char *key;
		size_t off;
	} counts[] = {
	    {"keep_last", offsetof(struct sched_keep, last)},
	    {"keep_hourly", offsetof(struct sched_keep, hourly)},
	    {"keep_daily", offsetof(struct sched_keep, daily)},
	    {"keep_weekly", offsetof(struct sched_keep, weekly)},
	    {"keep_monthly", offsetof(struct sched_keep, monthly)},
	    {"keep_yearly", offsetof(struct sched_keep, yearly)},
	};
	struct sched_keep *k = &s->retention;
	char msg[512];
	int any = 0;

	if (v->type != YAML_MAPPING_NODE)
		return cfg_err(x, v,
			       "'retention' must be a mapping such as "
			       "{ keep_daily: 7, keep_weekly: 4 }");
	memset(k, 0, sizeof(*k));
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(x->doc, p->value);
		const char *ks = scalar(kn);
		size_t i;
		int rc;

		if (!ks)
			return cfg_err(x, kn, "keys must be strings");
		if ((rc = dup_key(x, v, p)) > 0)
			continue; /* collected */
		if (rc)
			return rc;
		if (!strcmp(ks, "keep_within")) {
			const char *d = scalar(vn);
			if (!d)
				return cfg_err(x, vn,
					       "'keep_within' must be a "
					       "duration such as 30d or 1y6m");
			rc = sched_duration_parse_cal(&k->within, d);
			if (rc) {
				snprintf(msg, sizeof(msg), "'keep_within': %s",
					 rv_err_msg());
				return cfg_err(x, vn, msg);
			}
			any |= k->within.years || k->within.months ||
			       k->within.days || k->within.hours;
			continue;
		}
		for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
			if (!strcmp(ks, counts[i].key))
				break;
		if (i == sizeof(counts) / sizeof(counts[0])) {
			if ((rc = unknown_key(x, kn, "'retention'")))
				return rc;
			continue;
		}
		rc = get_int((int *)((char *)k + counts[i].off), x, vn, ks);
		if (rc)
			return rc;
		any |= *(int *)((char *)k + counts[i].off) > 0;
	}
	if (!any) {
		snprintf(msg, sizeof(msg),
			 "schedule '%s': 'retention' keeps nothing; give at "
			 "least one keep_* above 0 (an empty policy would "
			 "keep every snapshot anyway)",
			 s->name ? s->name : "?");
		return cfg_err(x, v, msg);
	}
	s->has_retention = 1;
	return 0;
}

static int parse_registry(struct cfg_registry *r, const struct cfg_ctx *x,
			  yaml_node_t *m)
{
	int rc = parse_fields(r, x, m, registry_fields, "a registry");
	if (rc)
		return rc;
	if (!r->name || !r->url)
		return cfg_err(x, m, "a registry needs 'name' and 'url'");
	if (strncmp(r->url, "http://", 7) && strncmp(r->url, "https://", 8))
		return cfg_err(x, m,
			       "registry 'url' must start with http:// or "
			       "https://");
	if (r->password_file && r->password_env)
		return cfg_err(x, m,
			       "give either password_file or password_env, "
			       "not both");
	return 0;
}

/* A tag regex must compile (POSIX extended, as regcomp takes it). */
static int check_regexes(const struct cfg_ctx *x, yaml_node_t *m,
			 const struct rv_strlist *l, const char *key)
{
	char msg[512], why[128];

	for (size_t i = 0; i < l->n; i++) {
		regex_t re;
		int rc = regcomp(&re, l->items[i], REG_EXTENDED | REG_NOSUB);

		if (rc == 0) {
			regfree(&re);
			continue;
		}
		regerror(rc, &re, why, sizeof(why));
		snprintf(msg, sizeof(msg),
			 "'%s': '%.200s' is not a regular expression (%s)",
			 key, l->items[i], why);
		return cfg_err(x, m, msg);
	}
	return 0;
}

/* "os/arch" or "os/arch/variant", each part [a-z0-9._-]+. */
static int platform_ok(const char *p)
{
	int parts = 1, len = 0;

	for (; *p; p++) {
		if (*p == '/') {
			if (!len)
				return 0;
			parts++;
			len = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-'))
			return 0;
		len++;
	}
	return len && (parts == 2 || parts == 3);
}

static int parse_source(struct cfg_source *s, const struct cfg_ctx *x,
			yaml_node_t *m)
{
	char msg[512];
	int rc;

	s->referrers = 1;
	rc = parse_fields(s, x, m, source_fields, "a source");
	if (!rc && !s->registry)
		rc = cfg_err(x, m, "a source needs 'registry'");
	if (!rc)
		rc = check_regexes(x, m, &s->tags_include, "tags_include");
	if (!rc)
		rc = check_regexes(x, m, &s->tags_exclude, "tags_exclude");
	for (size_t i = 0; !rc && i < s->platforms.n; i++) {
		if (platform_ok(s->platforms.items[i]))
			continue;
		snprintf(msg, sizeof(msg),
			 "'platforms': '%.100s' is not os/arch or "
			 "os/arch/variant (e.g. linux/amd64, linux/arm64/v8)",
			 s->platforms.items[i]);
		rc = cfg_err(x, m, msg);
	}
	return rc;
}

static int parse_target(struct cfg_target *t, const struct cfg_ctx *x,
			yaml_node_t *m)
{
	int rc = parse_fields(t, x, m, target_fields, "a target");
	if (rc)
		return rc;
	if (!t->name || !t->type)
		return cfg_err(x, m, "a target needs 'name' and 'type'");
	if (!strcmp(t->type, "dir")) {
		if (!t->path)
			return cfg_err(x, m, "a 'dir' target needs 'path'");
		if (t->endpoint || t->bucket)
			return cfg_err(x, m,
				       "'endpoint' and 'bucket' belong to s3 "
				       "targets, not 'dir'");
		return 0;
	}
	if (strcmp(t->type, "s3"))
		return cfg_err(x, m, "target 'type' must be 'dir' or 's3'");
	if (!t->endpoint || !t->bucket)
		return cfg_err(x, m, "an 's3' target needs 'endpoint' and "
				     "'bucket'");
	if (!!t->access_key_id_env + !!t->access_key_id_file != 1)
		return cfg_err(x, m,
			       "an 's3' target needs exactly one of "
			       "access_key_id_env and access_key_id_file");
	if (!!t->secret_access_key_env + !!t->secret_access_key_file != 1)
		return cfg_err(x, m,
			       "an 's3' target needs exactly one of "
			       "secret_access_key_env and "
			       "secret_access_key_file");
	if (t->path)
		return cfg_err(x, m, "'path' belongs to dir targets; s3 "
				     "targets use 'prefix'");
	return 0;
}

/* Names show up in logs, history and the catalog: keep them plain. */
static int schedule_name_ok(const char *name)
{
	size_t len = strlen(name);
	if (len > 64 || !((name[0] >= 'a' && name[0] <= 'z') ||
			  (name[0] >= 'A' && name[0] <= 'Z') ||
			  (name[0] >= '0' && name[0] <= '9')))
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		      *p == '.'))
			return 0;
	return 1;
}

/* A key that belongs to other jobs: refused rather than ignored. */
static int job_key_err(const struct cfg_ctx *x, const yaml_node_t *m,
		       const struct cfg_schedule *s, const char *key,
		       const char *owners)
{
	char msg[512];
	snprintf(msg, sizeof(msg),
		 "schedule '%s': '%s' belongs to %s jobs, not '%s'", s->name,
		 key, owners, s->job);
	return cfg_err(x, m, msg);
}

static int parse_schedule(struct cfg_schedule *s, const struct cfg_ctx *x,
			  yaml_node_t *m)
{
	char msg[1024];
	int rc;

	s->sample = -1;
	s->repack_threshold = -1;
	s->line = (unsigned long)m->start_mark.line + 1;
	rc = parse_fields(s, x, m, schedule_fields, "a schedule");
	if (rc)
		return rc;
	if (!s->name || !s->cron || !s->job)
		return cfg_err(x, m,
			       "a schedule needs 'name', 'cron' and 'job'");
	if (!schedule_name_ok(s->name)) {
		snprintf(msg, sizeof(msg),
			 "schedule name '%.100s' must be 1-64 letters, digits, "
			 "'-', '_' or '.', starting with a letter or digit",
			 s->name);
		return cfg_err(x, m, msg);
	}
	if (!strcmp(s->job, "forget")) {
		snprintf(msg, sizeof(msg),
			 "schedule '%s': there is no 'forget' job; give the "
			 "backup schedule a 'retention' and add a 'prune' "
			 "schedule",
			 s->name);
		return cfg_err(x, m, msg);
	}
	if (strcmp(s->job, "backup") && strcmp(s->job, "verify") &&
	    strcmp(s->job, "drill") && strcmp(s->job, "prune")) {
		snprintf(msg, sizeof(msg),
			 "schedule '%s': job must be backup, verify, drill or "
			 "prune, not '%.100s'",
			 s->name, s->job);
		return cfg_err(x, m, msg);
	}
	if (s->has_retention && strcmp(s->job, "backup"))
		return job_key_err(x, m, s, "retention", "backup");
	if (s->repack_threshold >= 0 && strcmp(s->job, "prune"))
		return job_key_err(x, m, s, "repack_threshold", "prune");
	if (s->repack_threshold == 0 || s->repack_threshold > 100) {
		snprintf(msg, sizeof(msg),
			 "schedule '%s': 'repack_threshold' is a percentage "
			 "from 1 to 100",
			 s->name);
		return cfg_err(x, m, msg);
	}
	if (s->source && strcmp(s->job, "backup"))
		return job_key_err(x, m, s, "source", "backup");
	if (s->level && strcmp(s->job, "verify"))
		return job_key_err(x, m, s, "level", "verify");
	if (s->to && strcmp(s->job, "drill"))
		return job_key_err(x, m, s, "to", "drill");
	if (s->sample >= 0 && !strcmp(s->job, "backup"))
		return job_key_err(x, m, s, "sample", "verify and drill");
	if (s->level && strcmp(s->level, "quick") && strcmp(s->level, "hash") &&
	    strcmp(s->level, "deep")) {
		snprintf(msg, sizeof(msg),
			 "schedule '%s': level must be quick, hash or deep, "
			 "not '%.100s'",
			 s->name, s->level);
		return cfg_err(x, m, msg);
	}
	if (!strcmp(s->job, "verify") && s->sample >= 0 &&
	    (s->sample < 1 || s->sample > 100)) {
		snprintf(msg, sizeof(msg),
			 "schedule '%s': a verify 'sample' is a percentage "
			 "from 1 to 100",
			 s->name);
		return cfg_err(x, m, msg);
	}
	if (!strcmp(s->job, "drill") && !s->to) {
		snprintf(msg, sizeof(msg),
			 "schedule '%s': a drill needs 'to' (the scratch "
			 "registry it restores into: a name from 'registries' "
			 "or a URL)",
			 s->name);
		return cfg_err(x, m, msg);
	}
	rc = sched_cron_parse(&s->parsed, s->cron, s->timezone);
	if (rc) {
		snprintf(msg, sizeof(msg), "schedule '%s': %s", s->name,
			 rv_err_msg());
		return rc == RV_INVALID ? cfg_err(x, m, msg)
					: rv_err_set(rc, "%s", msg);
	}
	return 0;
}

/* write_policy: all | { quorum: N } */
static int parse_write_policy(struct config *c, const struct cfg_ctx *x,
			      yaml_node_t *v)
{
	const char *s = scalar(v);
	if (s && !strcmp(s, "all")) {
		c->quorum = 0;
		return 0;
	}
	if (v->type == YAML_MAPPING_NODE &&
	    v->data.mapping.pairs.top - v->data.mapping.pairs.start == 1) {
		yaml_node_pair_t *p = v->data.mapping.pairs.start;
		yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
		yaml_node_t *n = yaml_document_get_node(x->doc, p->value);
		if (scalar(k) && !strcmp(scalar(k), "quorum")) {
			int rc = get_int(&c->quorum, x, n, "quorum");
			if (!rc && c->quorum < 1)
				rc = cfg_err(x, n, "'quorum' must be at least 1");
			return rc;
		}
	}
	return cfg_err(x, v, "'write_policy' must be 'all' or { quorum: N }");
}

/* ---- metrics: (cli/metrics.h) ---- */

static const struct field webhook_fields[] = {
    FIELD(struct cfg_webhook, F_STR, url),
    FIELD(struct cfg_webhook, F_STR, on),
    FIELD(struct cfg_webhook, F_STR, header_file),
    FIELD(struct cfg_webhook, F_INT, timeout_seconds),
    {NULL, F_STR, 0, NULL},
};

/* The value node of key in mapping m (for the line of a message), else
 * m itself. */
static yaml_node_t *map_value(const struct cfg_ctx *x, yaml_node_t *m,
			      const char *key)
{
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
	     p < m->data.mapping.pairs.top; p++) {
		const char *ks = scalar(yaml_document_get_node(x->doc, p->key));
		if (ks && !strcmp(ks, key))
			return yaml_document_get_node(x->doc, p->value);
	}
	return m;
}

/* The URL is not quoted in messages: it may carry a secret. */
static int parse_webhook(struct cfg_webhook *w, const struct cfg_ctx *x,
			 yaml_node_t *m)
{
	int rc;

	w->timeout_seconds = -1;
	rc = parse_fields(w, x, m, webhook_fields, "'metrics.webhook'");
	if (rc)
		return rc;
	if (!w->url)
		return cfg_err(x, m, "'metrics.webhook' needs 'url'");
	if (strncmp(w->url, "http://", 7) && strncmp(w->url, "https://", 8))
		return cfg_err(x, map_value(x, m, "url"),
			       "webhook 'url' must start with http:// or "
			       "https://");
	for (const unsigned char *c = (const unsigned char *)w->url; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return cfg_err(x, map_value(x, m, "url"),
				       "webhook 'url' must not contain spaces "
				       "or control characters");
	if (w->on && strcmp(w->on, "failure") && strcmp(w->on, "always"))
		return cfg_err(x, map_value(x, m, "on"),
			       "webhook 'on' must be 'failure' (the default) "
			       "or 'always'");
	if (w->timeout_seconds == -1)
		w->timeout_seconds = 10;
	else if (w->timeout_seconds < 1 || w->timeout_seconds > 3600)
		return cfg_err(x, map_value(x, m, "timeout_seconds"),
			       "webhook 'timeout_seconds' must be from 1 to "
			       "3600");
	return 0;
}

/* metrics: { textfile: FILE.prom, webhook: {...} } */
static int parse_metrics(struct cfg_metrics *mt, const struct cfg_ctx *x,
			 yaml_node_t *m)
{
	const char *base;
	size_t len;

	if (m->type != YAML_MAPPING_NODE)
		return cfg_err(x, m,
			       "'metrics' must be a mapping such as { "
			       "textfile: /var/lib/node_exporter/textfile/"
			       "regvault.prom }");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
	     p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
		const char *ks = scalar(k);
		int rc;

		if (!ks)
			return cfg_err(x, k, "keys must be strings");
		if ((rc = dup_key(x, m, p)) > 0)
			continue; /* collected */
		if (rc)
			return rc;
		if (!strcmp(ks, "textfile"))
			rc = get_str(&mt->textfile, x, v, ks);
		else if (!strcmp(ks, "webhook"))
			rc = parse_webhook(&mt->webhook, x, v);
		else
			rc = unknown_key(x, k, "'metrics'");
		if (rc)
			return rc;
	}
	if (!mt->textfile && !mt->webhook.url)
		return cfg_err(x, m,
			       "'metrics' needs 'textfile', 'webhook' or both");
	if (!mt->textfile)
		return 0;
	/* node_exporter reads only *.prom; a dot file is hidden from it
	 * (and is how the temporary file is named) */
	base = strrchr(mt->textfile, '/');
	base = base ? base + 1 : mt->textfile;
	len = strlen(base);
	if (len <= 5 || strcmp(base + len - 5, ".prom") || base[0] == '.')
		return cfg_err(x, map_value(x, m, "textfile"),
			       "metrics 'textfile' must name a file ending in "
			       "'.prom' and not starting with '.' "
			       "(node_exporter's textfile collector reads "
			       "only those)");
	return 0;
}

/* Allocate n zeroed elements of a sequence node and parse each. */
#define PARSE_SEQ(x, node, arr, count, fn, what)                               \
	do {                                                                   \
		size_t n_ = 0;                                                 \
		if ((node)->type != YAML_SEQUENCE_NODE)                        \
			return cfg_err(x, node, "'" what "' must be a list");  \
		n_ = (size_t)((node)->data.sequence.items.top -                \
			      (node)->data.sequence.items.start);              \
		if (n_ > 1000)                                                 \
			return cfg_err(x, node, "too many " what);             \
		(arr) = calloc(n_ ? n_ : 1, sizeof(*(arr)));                   \
		if (!(arr))                                                    \
			return rv_err_set(RV_NOMEM, "out of memory");          \
		(count) = n_;                                                  \
		for (size_t i_ = 0; i_ < n_; i_++) {                           \
			int rc_ =                                              \
			    fn(&(arr)[i_], x,                                  \
			       yaml_document_get_node(                         \
				   (x)->doc,                                   \
				   (node)->data.sequence.items.start[i_]));    \
			if (rc_)                                               \
				return rc_;                                    \
		}                                                              \
	} while (0)

static int parse_root(struct config *c, const struct cfg_ctx *x,
		      yaml_node_t *root)
{
	if (!root)
		return cfg_err(x, NULL, "the file is empty");
	if (root->type != YAML_MAPPING_NODE)
		return cfg_err(x, root, "the top level must be a mapping");
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
		const char *ks = scalar(k);
		int rc = 0;
		if (ks && (rc = dup_key(x, root, p)) > 0)
			continue; /* collected */
		if (rc)
			return rc;
		if (!ks)
			rc = cfg_err(x, k, "keys must be strings");
		else if (!strcmp(ks, "catalog"))
			rc = get_str(&c->catalog, x, v, ks);
		else if (!strcmp(ks, "key"))
			rc = parse_fields(c, x, v, key_fields, "'key'");
		else if (!strcmp(ks, "registries"))
			PARSE_SEQ(x, v, c->registries, c->n_registries,
				  parse_registry, "registries");
		else if (!strcmp(ks, "sources"))
			PARSE_SEQ(x, v, c->sources, c->n_sources, parse_source,
				  "sources");
		else if (!strcmp(ks, "write_policy"))
			rc = parse_write_policy(c, x, v);
		else if (!strcmp(ks, "targets"))
			PARSE_SEQ(x, v, c->targets, c->n_targets, parse_target,
				  "targets");
		else if (!strcmp(ks, "locks"))
			rc = parse_fields(c, x, v, lock_fields, "'locks'");
		else if (!strcmp(ks, "schedules"))
			PARSE_SEQ(x, v, c->schedules, c->n_schedules,
				  parse_schedule, "schedules");
		else if (!strcmp(ks, "metrics"))
			rc = parse_metrics(&c->metrics, x, v);
		else
			rc = unknown_key(x, k, "the top level");
		if (rc)
			return rc;
	}
	return 0;
}

/* An error about the schedule written at line `line`. */
static int sched_err(const struct cfg_ctx *x, unsigned long line,
		     const char *what)
{
	return rv_err_set(RV_INVALID, "config '%s' line %lu: %s", x->path, line,
			  what);
}

static int validate_schedules(const struct config *c, const struct cfg_ctx *x)
{
	char msg[512];
	for (size_t i = 0; i < c->n_schedules; i++) {
		const struct cfg_schedule *s = &c->schedules[i];
		int found = 0;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s->name, c->schedules[j].name)) {
				snprintf(msg, sizeof(msg),
					 "schedule name '%s' is used twice",
					 s->name);
				return sched_err(x, s->line, msg);
			}
		if (!strcmp(s->job, "backup") && !c->n_sources) {
			snprintf(msg, sizeof(msg),
				 "schedule '%s' backs up, but the config has "
				 "no 'sources'",
				 s->name);
			return sched_err(x, s->line, msg);
		}
		for (size_t j = 0; s->source && j < c->n_sources; j++)
			found |= !strcmp(s->source, c->sources[j].registry);
		if (s->source && !found) {
			snprintf(msg, sizeof(msg),
				 "schedule '%s': source '%s' is not the "
				 "registry of any entry in 'sources'",
				 s->name, s->source);
			return sched_err(x, s->line, msg);
		}
		if (s->to && strncmp(s->to, "http://", 7) &&
		    strncmp(s->to, "https://", 8) &&
		    !cfg_registry_find(c, s->to)) {
			snprintf(msg, sizeof(msg),
				 "schedule '%s': 'to: %s' is neither a name "
				 "from 'registries' nor an http(s) URL",
				 s->name, s->to);
			return sched_err(x, s->line, msg);
		}
	}
	return 0;
}

static int validate(const struct config *c, const struct cfg_ctx *x)
{
	char msg[512];
	if (!c->catalog)
		return cfg_err(x, NULL,
			       "'catalog' (the catalog file's path) "
			       "is required");
	if (!c->n_targets)
		return cfg_err(x, NULL,
			       "at least one entry in 'targets' is "
			       "required");
	if ((size_t)c->quorum > c->n_targets) {
		snprintf(msg, sizeof(msg),
			 "write_policy quorum %d is more than the %zu "
			 "target(s)",
			 c->quorum, c->n_targets);
		return cfg_err(x, NULL, msg);
	}
	for (size_t i = 0; i < c->n_registries; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->registries[i].name,
				    c->registries[j].name)) {
				snprintf(msg, sizeof(msg),
					 "registry name '%s' is used twice",
					 c->registries[i].name);
				return cfg_err(x, NULL, msg);
			}
	for (size_t i = 0; i < c->n_targets; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->targets[i].name, c->targets[j].name)) {
				snprintf(msg, sizeof(msg),
					 "target name '%s' is used twice",
					 c->targets[i].name);
				return cfg_err(x, NULL, msg);
			}
	for (size_t i = 0; i < c->n_sources; i++)
		if (!cfg_registry_find(c, c->sources[i].registry)) {
			snprintf(msg, sizeof(msg),
				 "source names registry '%s', which is not in "
				 "'registries'",
				 c->sources[i].registry);
			return cfg_err(x, NULL, msg);
		}
	return validate_schedules(c, x);
}

int cfg_load(struct config **out, const char *path)
{
	return cfg_load_all(out, path, NULL);
}

int cfg_load_all(struct config **out, const char *path,
		 struct rv_strlist *problems)
{
	struct rv_buf text = RV_BUF_INIT(CFG_MAX_BYTES);
	yaml_parser_t parser;
	yaml_document_t doc;
	struct config *c = NULL;
	struct cfg_ctx x = {&doc, path, problems};
	int rc, have_parser = 0, have_doc = 0;

	*out = NULL;
	rc = rv_fs_read_file(&text, path);
	if (rc) {
		if (rc == RV_NOTFOUND)
			rv_err_set(RV_NOTFOUND,
				   "config file '%s' does not exist (give "
				   "--config FILE or set REGVAULT_CONFIG)",
				   path);
		goto done;
	}
	if (!yaml_parser_initialize(&parser)) {
		rc = rv_err_set(RV_NOMEM, "out of memory (yaml)");
		goto done;
	}
	have_parser = 1;
	yaml_parser_set_input_string(
	    &parser, text.data ? text.data : (const unsigned char *)"",
	    text.len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = rv_err_set(RV_INVALID, "config '%s' line %lu: %s", path,
				(unsigned long)parser.problem_mark.line + 1,
				parser.problem ? parser.problem
					       : "not valid YAML");
		goto done;
	}
	have_doc = 1;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(path))) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	rc = parse_root(c, &x, yaml_document_get_root_node(&doc));
	if (!rc)
		rc = validate(c, &x);
	if (!rc && problems && problems->n)
		rc = rv_err_set(RV_INVALID, "%s", problems->items[0]);
	else if (rc && rc != RV_NOMEM && problems &&
		 rv_strlist_add(problems, rv_err_msg()))
		rc = RV_NOMEM;
	if (!rc) {
		*out = c;
		c = NULL;
	}
done:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	cfg_free(c);
	rv_buf_release(&text);
	return rc;
}

void cfg_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_registries; i++) {
		struct cfg_registry *r = &c->registries[i];
		free(r->name);
		free(r->url);
		free(r->username);
		free(r->password_file);
		free(r->password_env);
		free(r->ca_file);
		free(r->docker_config);
		free(r->client_cert);
		free(r->client_key);
	}
	for (size_t i = 0; i < c->n_sources; i++) {
		free(c->sources[i].registry);
		rv_strlist_release(&c->sources[i].repositories);
		rv_strlist_release(&c->sources[i].exclude);
		rv_strlist_release(&c->sources[i].tags_include);
		rv_strlist_release(&c->sources[i].tags_exclude);
		rv_strlist_release(&c->sources[i].platforms);
	}
	for (size_t i = 0; i < c->n_targets; i++) {
		struct cfg_target *t = &c->targets[i];
		free(t->name);
		free(t->type);
		free(t->path);
		free(t->endpoint);
		free(t->bucket);
		free(t->prefix);
		free(t->region);
		free(t->access_key_id_env);
		free(t->access_key_id_file);
		free(t->secret_access_key_env);
		free(t->secret_access_key_file);
		free(t->ca_file);
	}
	for (size_t i = 0; i < c->n_schedules; i++) {
		struct cfg_schedule *s = &c->schedules[i];
		free(s->name);
		free(s->cron);
		free(s->timezone);
		free(s->job);
		free(s->source);
		free(s->level);
		free(s->to);
		sched_cron_free(s->parsed);
	}
	free(c->metrics.textfile);
	free(c->metrics.webhook.url);
	free(c->metrics.webhook.on);
	free(c->metrics.webhook.header_file);
	free(c->schedules);
	free(c->registries);
	free(c->sources);
	free(c->targets);
	free(c->catalog);
	free(c->passphrase_file);
	free(c->fingerprint);
	free(c->path);
	free(c);
}

const struct cfg_registry *cfg_registry_find(const struct config *c,
					     const char *name)
{
	for (size_t i = 0; i < c->n_registries; i++)
		if (!strcmp(c->registries[i].name, name))
			return &c->registries[i];
	return NULL;
}

/* Read a one-line secret file; one trailing newline (and \r) stripped. */
static int read_secret(char **out, size_t *len, const char *path,
		       const char *what)
{
	struct rv_buf b = RV_BUF_INIT(SECRET_MAX_BYTES);
	int rc = rv_fs_read_file(&b, path);
	if (rc) {
		OPENSSL_cleanse(b.data, b.cap);
		rv_buf_release(&b);
		if (rc == RV_NOTFOUND)
			rc = RV_INVALID;
		return rv_err_set(rc, "cannot read the %s file '%s': %s", what,
				  path, rv_err_msg());
	}
	if (b.len && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	if (b.len && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	*out = rv_buf_detach(&b, len);
	return *out ? 0 : rv_err_set(RV_NOMEM, "out of memory");
}

int cfg_passphrase(char **out, size_t *len, const struct config *c)
{
	const char *env = getenv("REGVAULT_PASSWORD");
	*out = NULL;
	if (env && *env) {
		*out = strdup(env);
		*len = strlen(env);
		return *out ? 0 : rv_err_set(RV_NOMEM, "out of memory");
	}
	if (c->passphrase_file) {
		int rc =
		    read_secret(out, len, c->passphrase_file, "passphrase");
		if (!rc && *len == 0) {
			free(*out);
			*out = NULL;
			return rv_err_set(RV_INVALID,
					  "the passphrase file '%s' is empty",
					  c->passphrase_file);
		}
		return rc;
	}
	return rv_err_set(RV_INVALID,
			  "no passphrase: set REGVAULT_PASSWORD or "
			  "key.passphrase_file in '%s'",
			  c->path);
}

/* A secret from the environment variable env or the file file. */
static int read_env_or_file(char **out, const char *env, const char *file,
			    const char *what, const char *owner)
{
	size_t len;
	*out = NULL;
	if (env) {
		const char *v = getenv(env);
		if (!v || !*v)
			return rv_err_set(RV_INVALID,
					  "%s: environment variable '%s' (%s) "
					  "is not set",
					  owner, env, what);
		*out = strdup(v);
		return *out ? 0 : rv_err_set(RV_NOMEM, "out of memory");
	}
	if (file)
		return read_secret(out, &len, file, what);
	return 0;
}

int cfg_target_s3_keys(char **key_id, char **secret,
		       const struct cfg_target *t)
{
	char owner[300];
	int rc;
	snprintf(owner, sizeof(owner), "target '%s'", t->name);
	rc = read_env_or_file(key_id, t->access_key_id_env,
			      t->access_key_id_file, "access key id", owner);
	if (!rc)
		rc = read_env_or_file(secret, t->secret_access_key_env,
				      t->secret_access_key_file,
				      "secret access key", owner);
	if (rc) {
		free(*key_id);
		*key_id = NULL;
	}
	return rc;
}

int cfg_registry_password(char **out, const struct cfg_registry *r)
{
	size_t len;
	*out = NULL;
	if (r->password_env) {
		const char *v = getenv(r->password_env);
		if (!v)
			return rv_err_set(RV_INVALID,
					  "registry '%s': environment variable "
					  "'%s' (password_env) is not set",
					  r->name, r->password_env);
		*out = strdup(v);
		return *out ? 0 : rv_err_set(RV_NOMEM, "out of memory");
	}
	if (r->password_file)
		return read_secret(out, &len, r->password_file, "password");
	return 0;
}
