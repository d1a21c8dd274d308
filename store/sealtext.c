/* sealtext.c - parse and format the text of a snapshot seal.
 *
 * The text is what the signature covers, so this is the only place that
 * knows its shape; every reader and writer goes through here. Parsing is
 * strict about what it needs (types, hex lengths, bounds) and ignores
 * members it does not know, so that a later minor addition does not make
 * an older regvault refuse a seal it can still check.
 */
#include "store/sealtext.h"

#include "util/digest.h"
#include "util/err.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* A source name comes from the config; anything longer is not one. */
#define SEAL_SOURCE_MAX 4096

static int hex_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

static int bad(const char *field)
{
	return rv_err_set(RV_CORRUPT, "seal text: '%s' is missing or malformed",
			  field);
}

/* A required string member that is n hex digits (or "" when empty_ok). */
static int get_hex(char *dst, json_t *doc, const char *key, size_t n,
		   int empty_ok)
{
	const char *v = json_string_value(json_object_get(doc, key));

	if (!v || !((empty_ok && !*v) || hex_ok(v, n)))
		return bad(key);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int get_int(json_int_t *out, json_t *doc, const char *key,
		   json_int_t min)
{
	json_t *v = json_object_get(doc, key);

	if (!json_is_integer(v) || json_integer_value(v) < min)
		return bad(key);
	*out = json_integer_value(v);
	return 0;
}

static int parse_packs(struct seal_text *out, json_t *doc)
{
	json_t *arr = json_object_get(doc, "packs"), *p;
	size_t i, n;

	if (!json_is_array(arr))
		return bad("packs");
	n = json_array_size(arr);
	if (n > SEAL_PACKS_MAX)
		return rv_err_set(RV_CORRUPT,
				  "seal text: %zu packs, more than %d", n,
				  SEAL_PACKS_MAX);
	if (!n)
		return 0;
	out->packs = calloc(n, sizeof(*out->packs));
	if (!out->packs)
		return rv_err_set(RV_NOMEM, "out of memory");
	json_array_foreach(arr, i, p)
	{
		json_int_t size = 0;

		if (!json_is_object(p) ||
		    get_hex(out->packs[i].id, p, "id", 64, 0) ||
		    get_int(&size, p, "size", 0))
			return rv_err_set(
			    RV_CORRUPT, "seal text: pack %zu is malformed", i);
		out->packs[i].size = (uint64_t)size;
		out->n_packs = i + 1;
	}
	return 0;
}

static int parse_former(struct seal_text *out, json_t *doc)
{
	json_t *arr = json_object_get(doc, "former"), *h;
	size_t i, n;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return bad("former");
	n = json_array_size(arr);
	if (n > SEAL_FORMER_MAX)
		return rv_err_set(RV_CORRUPT,
				  "seal text: %zu former hashes, more than %d",
				  n, SEAL_FORMER_MAX);
	if (!n)
		return 0;
	out->former = calloc(n, sizeof(*out->former));
	if (!out->former)
		return rv_err_set(RV_NOMEM, "out of memory");
	json_array_foreach(arr, i, h)
	{
		const char *v = json_string_value(h);

		if (!v || !hex_ok(v, 64))
			return rv_err_set(RV_CORRUPT,
					  "seal text: former hash %zu is "
					  "malformed",
					  i);
		memcpy(out->former[i], v, 65);
		out->n_former = i + 1;
	}
	return 0;
}

int seal_text_parse(struct seal_text *out, const char *text, size_t len)
{
	unsigned char sha[RV_SHA256_LEN];
	json_t *doc = NULL, *kind_v;
	json_int_t version = 0, sequence = 0, time_v = 0, forgotten_at = 0;
	const char *kind = "snapshot", *source;
	int rc;

	memset(out, 0, sizeof(*out));
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(doc)) {
		rc = rv_err_set(RV_CORRUPT, "seal text is not a JSON object");
		goto done;
	}
	rc = get_int(&version, doc, "version", 1);
	if (rc)
		goto done;
	if (version > SEAL_TEXT_VERSION_MAX) {
		rc = rv_err_set(RV_UNSUPPORTED,
				"seal text version %lld is newer than this "
				"regvault reads (%d); upgrade regvault",
				(long long)version, SEAL_TEXT_VERSION_MAX);
		goto done;
	}
	out->version = (int)version;
	kind_v = json_object_get(doc, "kind");
	if (kind_v && !(kind = json_string_value(kind_v))) {
		rc = bad("kind");
		goto done;
	}
	if (!strcmp(kind, "forgotten") && version >= 2) {
		out->forgotten = 1;
	} else if (strcmp(kind, "snapshot")) {
		rc = bad("kind");
		goto done;
	}
	if (version < 2 && json_object_get(doc, "former")) {
		rc = bad("former");
		goto done;
	}
	rc = get_hex(out->store_id, doc, "store_id", 32, 0);
	if (!rc)
		rc = get_hex(out->snapshot, doc, "snapshot", 64, 0);
	if (!rc)
		rc = get_hex(out->record, doc, "record", 64, out->forgotten);
	if (!rc && out->forgotten && *out->record)
		rc = bad("record");
	if (!rc)
		rc = get_hex(out->previous, doc, "previous", 64, 1);
	if (!rc)
		rc = get_int(&sequence, doc, "sequence", 1);
	if (!rc)
		rc = get_int(&time_v, doc, "time", 0);
	if (rc)
		goto done;
	out->sequence = (long long)sequence;
	out->time = (int64_t)time_v;
	source = json_string_value(json_object_get(doc, "source"));
	if (!source || strlen(source) > SEAL_SOURCE_MAX) {
		rc = bad("source");
		goto done;
	}
	out->source = strdup(source);
	if (!out->source) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	rc = parse_packs(out, doc);
	if (!rc && out->forgotten && out->n_packs)
		rc = bad("packs");
	if (!rc)
		rc = parse_former(out, doc);
	if (rc)
		goto done;
	if (out->forgotten) {
		rc = get_int(&forgotten_at, doc, "forgotten", 0);
		if (rc)
			goto done;
		out->forgotten_at = (int64_t)forgotten_at;
	} else if (json_object_get(doc, "forgotten")) {
		rc = bad("forgotten");
		goto done;
	}
	rc = rv_sha256_buf(sha, text, len);
	if (!rc)
		rv_hex_encode(out->self, sha, sizeof(sha));
done:
	json_decref(doc);
	return rc;
}

/* By id, then size: qsort is not stable, so without the tie-break two
 * entries with one id would come out in either order and the same seal
 * would format to two texts. */
static int pack_cmp(const void *a, const void *b)
{
	const struct seal_pack *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c ? c : (x->size > y->size) - (x->size < y->size);
}

/* What format refuses to write: the same bounds parse checks. */
static int check_in(const struct seal_text *in)
{
	const char *what = NULL;

	if (!hex_ok(in->store_id, 32))
		what = "store_id";
	else if (!hex_ok(in->snapshot, 64))
		what = "snapshot";
	else if (in->forgotten ? *in->record != '\0' : !hex_ok(in->record, 64))
		what = "record";
	else if (*in->previous && !hex_ok(in->previous, 64))
		what = "previous";
	else if (in->sequence < 1)
		what = "sequence";
	else if (in->time < 0 || (in->forgotten && in->forgotten_at < 0))
		what = "time";
	else if (!in->source || strlen(in->source) > SEAL_SOURCE_MAX)
		what = "source";
	else if (in->n_packs > SEAL_PACKS_MAX || (in->forgotten && in->n_packs))
		what = "packs";
	else if (in->n_former > SEAL_FORMER_MAX)
		what = "former";
	for (size_t i = 0; !what && i < in->n_packs; i++)
		if (!hex_ok(in->packs[i].id, 64) ||
		    in->packs[i].size > (uint64_t)INT64_MAX)
			what = "packs";
	for (size_t i = 0; !what && i < in->n_former; i++)
		if (!hex_ok(in->former[i], 64))
			what = "former";
	if (what)
		return rv_err_set(RV_INVALID,
				  "cannot write a seal of snapshot %.64s: "
				  "'%s' is malformed",
				  in->snapshot, what);
	return 0;
}

int seal_text_format(char **out, const struct seal_text *in)
{
	struct seal_pack *sorted = NULL;
	json_t *doc = NULL, *packs = NULL, *former = NULL;
	int v2 = in->forgotten || in->n_former > 0;
	int rc, failed = 0;

	*out = NULL;
	rc = check_in(in);
	if (rc)
		return rc;
	if (in->n_packs) {
		sorted = malloc(in->n_packs * sizeof(*sorted));
		if (!sorted)
			return rv_err_set(RV_NOMEM, "out of memory");
		memcpy(sorted, in->packs, in->n_packs * sizeof(*sorted));
		qsort(sorted, in->n_packs, sizeof(*sorted), pack_cmp);
	}
	packs = json_array();
	doc = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "version",
			v2 ? 2 : 1, "store_id", in->store_id, "snapshot",
			in->snapshot, "record", in->record, "previous",
			in->previous, "sequence", (json_int_t)in->sequence,
			"time", (json_int_t)in->time, "source", in->source);
	failed = !packs || !doc;
	for (size_t i = 0; !failed && i < in->n_packs; i++)
		failed = json_array_append_new(
		    packs, json_pack("{s:s, s:I}", "id", sorted[i].id, "size",
				     (json_int_t)sorted[i].size));
	if (!failed) {
		failed = json_object_set(doc, "packs", packs);
	}
	if (!failed && v2) {
		former = json_array();
		failed = !former;
		for (size_t i = 0; !failed && i < in->n_former; i++)
			failed = json_array_append_new(
			    former, json_string(in->former[i]));
		if (!failed)
			failed = json_object_set(doc, "former", former) ||
				 json_object_set_new(
				     doc, "kind",
				     json_string(in->forgotten ? "forgotten"
							       : "snapshot"));
		if (!failed && in->forgotten)
			failed = json_object_set_new(
			    doc, "forgotten",
			    json_integer((json_int_t)in->forgotten_at));
	}
	if (!failed)
		*out = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (!*out)
		rc = rv_err_set(RV_NOMEM, "out of memory");
	json_decref(former);
	json_decref(packs);
	json_decref(doc);
	free(sorted);
	return rc;
}

void seal_text_release(struct seal_text *s)
{
	if (!s)
		return;
	free(s->source);
	free(s->packs);
	free(s->former);
	memset(s, 0, sizeof(*s));
}

int seal_text_has_hash(const struct seal_text *s, const char *hash)
{
	if (!hash || !*hash)
		return 0;
	if (!strcmp(s->self, hash))
		return 1;
	for (size_t i = 0; i < s->n_former; i++)
		if (!strcmp(s->former[i], hash))
			return 1;
	return 0;
}
