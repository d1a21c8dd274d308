/* filter.c - tag regexes, newest-N ordering, index platform rewriting. */
#include "backup/filter.h"

#include "util/digest.h"
#include "util/err.h"

#include <ctype.h>
#include <jansson.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Regexes per list: a config with more is a mistake, not a need. */
#define FILTER_REGEX_MAX 256

struct backup_tag_filter {
	regex_t *include;
	size_t n_include;
	regex_t *exclude;
	size_t n_exclude;
};

static int compile_list(regex_t **out, size_t *n, const struct rv_strlist *l,
			const char *what)
{
	regex_t *re;
	size_t count = l ? l->n : 0;

	*out = NULL;
	*n = 0;
	if (!count)
		return 0;
	if (count > FILTER_REGEX_MAX)
		return rv_err_set(RV_INVALID, "%s: %zu regexes is more than %d",
				  what, count, FILTER_REGEX_MAX);
	re = calloc(count, sizeof(*re));
	if (!re)
		return rv_err_set(RV_NOMEM, "out of memory");
	for (size_t i = 0; i < count; i++) {
		int rc = regcomp(&re[i], l->items[i], REG_EXTENDED | REG_NOSUB);
		if (rc) {
			char msg[256];
			regerror(rc, &re[i], msg, sizeof(msg));
			for (size_t j = 0; j < i; j++)
				regfree(&re[j]);
			free(re);
			return rv_err_set(RV_INVALID,
					  "%s: regex '%.200s' does not "
					  "compile: %s (POSIX extended syntax, "
					  "as grep -E)",
					  what, l->items[i], msg);
		}
		*n = i + 1;
	}
	*out = re;
	return 0;
}

void backup_filter_free(struct backup_tag_filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_include; i++)
		regfree(&f->include[i]);
	for (size_t i = 0; i < f->n_exclude; i++)
		regfree(&f->exclude[i]);
	free(f->include);
	free(f->exclude);
	free(f);
}

int backup_filter_new(struct backup_tag_filter **out,
		      const struct rv_strlist *include,
		      const struct rv_strlist *exclude)
{
	struct backup_tag_filter *f = calloc(1, sizeof(*f));
	int rc;

	*out = NULL;
	if (!f)
		return rv_err_set(RV_NOMEM, "out of memory");
	rc = compile_list(&f->include, &f->n_include, include, "tags_include");
	if (!rc)
		rc = compile_list(&f->exclude, &f->n_exclude, exclude,
				  "tags_exclude");
	if (rc) {
		backup_filter_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

int backup_filter_tag_kept(const struct backup_tag_filter *f, const char *tag)
{
	int in;

	if (!f)
		return 1;
	in = f->n_include == 0;
	for (size_t i = 0; !in && i < f->n_include; i++)
		in = regexec(&f->include[i], tag, 0, NULL, 0) == 0;
	for (size_t i = 0; in && i < f->n_exclude; i++)
		if (regexec(&f->exclude[i], tag, 0, NULL, 0) == 0)
			in = 0;
	return in;
}

int backup_filter_referrer_tag(char *subject, const char *tag)
{
	const char *p;

	if (strncmp(tag, "sha256-", 7) != 0)
		return 0;
	p = tag + 7;
	for (int i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)p[i]) ||
		    isupper((unsigned char)p[i]))
			return 0;
	if (p[64] != '\0' && (p[64] != '.' || p[65] == '\0'))
		return 0;
	snprintf(subject, RV_DIGEST_MAX, "sha256:%.64s", p);
	return 1;
}

/* n digits at *p into *v, advancing *p. */
static int digits(int *v, const char **p, int n)
{
	int x = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		x = x * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*v = x;
	return 0;
}

/* RFC 3339 date-time into ns since the epoch; -1 when malformed. */
static int parse_rfc3339(int64_t *ns, const char *s)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, scale = 1000000000;
	const char *p = s;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (digits(&y, &p, 4) || *p++ != '-' || digits(&mo, &p, 2) ||
	    *p++ != '-' || digits(&d, &p, 2))
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (digits(&h, &p, 2) || *p++ != ':' || digits(&mi, &p, 2) ||
	    *p++ != ':' || digits(&sec, &p, 2))
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&oh, &p, 2) || *p++ != ':' || digits(&om, &p, 2))
			return -1;
	} else {
		return -1;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60 || oh > 23 || om > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	t -= sign * (oh * 3600 + om * 60);
	/* int64 ns covers 1678..2262 */
	if (t < -9000000000LL || t > 9000000000LL)
		return -1;
	*ns = (int64_t)t * 1000000000 + frac;
	return 0;
}

int backup_filter_config_created(int64_t *ns, const void *config, size_t len)
{
	json_t *root = json_loadb(config ? config : "", len, 0, NULL);
	const char *created =
	    json_string_value(json_object_get(root, "created"));
	int rc = 0;

	if (!created || parse_rfc3339(ns, created) < 0)
		rc = RV_NOTFOUND;
	json_decref(root);
	return rc;
}

static int newest_cmp(const void *a, const void *b)
{
	const struct backup_tag_time *x = a, *y = b;

	if (x->has_time != y->has_time)
		return x->has_time ? -1 : 1;
	if (x->has_time && x->created != y->created)
		return x->created > y->created ? -1 : 1;
	return strcmp(x->tag, y->tag);
}

void backup_filter_newest_sort(struct backup_tag_time *tags, size_t n)
{
	if (n > 1)
		qsort(tags, n, sizeof(*tags), newest_cmp);
}

int backup_filter_platform_match(const struct rv_strlist *patterns,
				 const char *platform)
{
	if (!platform || !*platform || !patterns)
		return 0;
	for (size_t i = 0; i < patterns->n; i++) {
		const char *pat = patterns->items[i];
		size_t plen = strlen(pat);
		int slashes = 0;

		for (const char *q = pat; *q; q++)
			slashes += *q == '/';
		if (!strcmp(pat, platform))
			return 1;
		/* "os/arch" matches "os/arch/<any variant>" */
		if (slashes == 1 && !strncmp(pat, platform, plen) &&
		    platform[plen] == '/')
			return 1;
	}
	return 0;
}

/* "os/arch[/variant]" of an index entry; "" without a platform. */
static void entry_platform(char *out, size_t cap, json_t *entry)
{
	json_t *p = json_object_get(entry, "platform");
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *arch =
	    json_string_value(json_object_get(p, "architecture"));
	const char *variant = json_string_value(json_object_get(p, "variant"));

	out[0] = '\0';
	if (!os || !arch || !*os || !*arch)
		return;
	if (variant && *variant)
		snprintf(out, cap, "%s/%s/%s", os, arch, variant);
	else
		snprintf(out, cap, "%s/%s", os, arch);
}

static int entry_is_index(json_t *entry)
{
	const char *mt = json_string_value(json_object_get(entry, "mediaType"));
	return mt && (!strcmp(mt, "application/vnd.oci.image.index.v1+json") ||
		      !strcmp(mt, "application/vnd.docker.distribution."
				  "manifest.list.v2+json"));
}

/* The digest a buildx attestation manifest describes, or NULL. */
static const char *attestation_of(json_t *entry)
{
	json_t *ann = json_object_get(entry, "annotations");
	const char *type = json_string_value(
	    json_object_get(ann, "vnd.docker.reference.type"));
	if (!type || strcmp(type, "attestation-manifest"))
		return NULL;
	return json_string_value(
	    json_object_get(ann, "vnd.docker.reference.digest"));
}

int backup_filter_index(struct rv_buf *out, size_t *kept, size_t *dropped,
			const void *body, size_t len,
			const struct rv_strlist *patterns,
			int keep_attestations)
{
	json_t *root = NULL, *list, *entry, *keep = NULL;
	char *text = NULL;
	char platform[256];
	size_t i;
	int rc;

	*kept = 0;
	*dropped = 0;
	rv_buf_reset(out);
	root = json_loadb(body ? body : "", len, 0, NULL);
	list = json_is_object(root) ? json_object_get(root, "manifests") : NULL;
	if (!json_is_array(list)) {
		rc = rv_err_set(RV_CORRUPT,
				"cannot filter platforms: the manifest is not "
				"an image index");
		goto done;
	}
	keep = json_array();
	if (!keep) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	/* platforms first, then attestations of what was kept */
	json_array_foreach(list, i, entry)
	{
		entry_platform(platform, sizeof(platform), entry);
		if (attestation_of(entry))
			continue;
		if (entry_is_index(entry) ||
		    backup_filter_platform_match(patterns, platform)) {
			if (json_array_append(keep, entry)) {
				rc = rv_err_set(RV_NOMEM, "out of memory");
				goto done;
			}
		}
	}
	json_array_foreach(list, i, entry)
	{
		const char *of = attestation_of(entry);
		size_t j;
		json_t *k;
		int found = 0;

		if (!of || !keep_attestations)
			continue;
		json_array_foreach(keep, j, k)
		{
			const char *d =
			    json_string_value(json_object_get(k, "digest"));
			if (d && !strcmp(d, of))
				found = 1;
		}
		if (found && json_array_append(keep, entry)) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
	}
	*kept = json_array_size(keep);
	*dropped = json_array_size(list) - *kept;
	rc = 0;
	if (!*dropped)
		goto done;
	/* keep document order: rebuild the list in the original order */
	{
		json_t *ordered = json_array();
		if (!ordered) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
		json_array_foreach(list, i, entry)
		{
			size_t j;
			json_t *k;
			json_array_foreach(keep, j, k)
			{
				/* a failed append shows in the size check */
				if (k == entry) {
					json_array_append(ordered, entry);
					break;
				}
			}
		}
		if (json_array_size(ordered) != *kept) {
			json_decref(ordered);
			rc = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
		if (json_object_set_new(root, "manifests", ordered)) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
	}
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	rc = rv_buf_add(out, text, strlen(text));
done:
	free(text);
	json_decref(keep);
	json_decref(root);
	return rc;
}
